"""``gamedyn mnist``: train an MNIST GAN with checkpoints, evaluate it, its spectra.

``gamedyn mnist --steps N --out DIR [options]`` trains (resuming from the newest good
checkpoint in DIR when there is one: the result equals an unbroken run of N steps;
other settings on the same DIR, or a smaller N than the run there reached, are
refused), then writes ``DIR/metrics.json`` (the step, the players' losses on a fixed
evaluation batch at the final params, the classifier FID on ``--fid-samples``
samples, the Inception Score, the per-class counts), ``DIR/samples.png``,
``DIR/metrics.jsonl`` (the log), ``DIR/config.json`` and the checkpoints. With
``--spectrum K`` it also computes, at every checkpoint in DIR, the top-K eigenvalues
of the game Jacobian and of each player's Hessian (matrix-free) and plots them as
Berard et al. (2020) do: ``DIR/spectrum.json`` and ``DIR/spectrum.png``. DIR is
locked while the command runs: a second command on it stops at once. A run killed
at any point (even ``kill -9``) resumes by running the same command again; see
docs/runs.md. The work is :func:`gamedyn.experiments.mnist.run`."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import warnings
from io import BytesIO
from typing import Any

from gamedyn import io
from gamedyn.cli._common import (
    UsageError,
    add_instance_noise,
    add_loss,
    add_optimizer,
    add_out,
    add_output_switches,
    add_parser,
    add_regularizer,
    add_rule,
    add_seed,
    add_steps,
    bar_callback,
    check_out,
    nonneg_float,
    nonneg_int,
    positive_float,
    positive_int,
    progress_bar,
)
from gamedyn.experiments import mnist as ex
from gamedyn.games.mnist import MODELS

_RUN_ARGS = (
    "chunk",
    "checkpoint_every",
    "keep",
    "log_every",
    "fid_samples",
    "fid_every",
    "fid_log_samples",
    "classifier",
    "spectrum",
)
_FLAGS = {"out_dir": "--out", "target_step": "--steps"}
_FLAGS.update({n: "--" + n.replace("_", "-") for n in ex.Config._fields + _RUN_ARGS})
_NAME = re.compile(r"^([a-z][a-z0-9_]*)(?=[: ])")


def _samples(allow_zero: bool):
    def parse(text: str) -> int:
        value = nonneg_int(text)
        if value < 2 and not (allow_zero and value == 0):
            what = "0 or an integer >= 2" if allow_zero else "an integer >= 2"
            raise argparse.ArgumentTypeError(f"expected {what}, got {text}")
        return value

    return parse


def register(subparsers) -> None:
    """Adds ``gamedyn mnist``."""
    d = ex.Config()
    p = add_parser(
        subparsers,
        "mnist",
        "train an MNIST GAN with checkpoints; FID, samples, spectra",
        __doc__,
    )
    add_steps(p, None, minimum=0)
    add_out(p)
    p.add_argument("--model", choices=MODELS, default=d.model, help="the players")
    p.add_argument("--conditional", action="store_true", help="class-conditional GAN")
    add_loss(p, d.loss)
    add_regularizer(p, d.regularizer, d.gamma)
    add_rule(p, d.rule)
    add_optimizer(p, d.optimizer, d.lr_g, d.beta1, d.beta2)
    p.add_argument(
        "--lr-g",
        type=positive_float,
        default=None,
        help="generator's rate (None: --lr)",
    )
    p.add_argument(
        "--lr-d",
        type=positive_float,
        default=None,
        help="discriminator's rate (None: --lr)",
    )
    p.add_argument(
        "--batch-size", type=positive_int, default=d.batch_size, help="samples per step"
    )
    p.add_argument(
        "--latent-dim", type=positive_int, default=d.latent_dim, help="latent dimension"
    )
    p.add_argument(
        "--width", type=positive_int, default=d.width, help="None: MLP 256, DCGAN 64"
    )
    add_instance_noise(p, d.instance_noise)
    p.add_argument(
        "--generator-penalty",
        type=nonneg_float,
        default=d.generator_penalty,
        help="Nagarajan-Kolter gradient-norm penalty weight on the generator",
    )
    p.add_argument(
        "--train-size",
        type=positive_int,
        default=None,
        help="use the first N training images (None: all)",
    )
    add_seed(p, d.seed)
    p.add_argument(
        "--chunk", type=positive_int, default=100, help="steps per compiled scan"
    )
    p.add_argument(
        "--unroll",
        action="store_true",
        help="unroll each chunk (faster DCGAN on CPU; use a small --chunk)",
    )
    p.add_argument(
        "--checkpoint-every",
        type=positive_int,
        default=1000,
        help="steps between checkpoints",
    )
    p.add_argument(
        "--keep", type=nonneg_int, default=5, help="checkpoints kept (0: all)"
    )
    p.add_argument("--log-every", type=positive_int, default=None, help="None: --chunk")
    p.add_argument(
        "--fid-samples", type=_samples(True), default=10000, help="0 skips the FID"
    )
    p.add_argument(
        "--fid-every",
        type=nonneg_int,
        default=0,
        help="also log an FID every N steps (0: never)",
    )
    p.add_argument(
        "--fid-log-samples",
        type=_samples(False),
        default=2000,
        help="samples of each logged FID",
    )
    p.add_argument(
        "--classifier",
        default=None,
        metavar="FILE",
        help="classifier file for the FID (None: the cached default, trained once)",
    )
    p.add_argument(
        "--spectrum",
        type=nonneg_int,
        default=0,
        metavar="K",
        help="top-K spectra at every checkpoint (0: none)",
    )
    add_output_switches(p)
    p.set_defaults(func=run)


def _config(args: argparse.Namespace) -> ex.Config:
    return ex.Config(
        model=args.model,
        conditional=args.conditional,
        loss=args.loss,
        regularizer=args.regularizer,
        gamma=args.gamma,
        rule=args.rule,
        rule_param=args.rule_param,
        optimizer=args.optimizer,
        lr_g=args.lr_g if args.lr_g is not None else args.lr,
        lr_d=args.lr_d if args.lr_d is not None else args.lr,
        beta1=args.beta1,
        beta2=args.beta2,
        momentum=args.momentum,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        width=args.width,
        instance_noise=args.instance_noise,
        generator_penalty=args.generator_penalty,
        seed=args.seed,
        train_size=args.train_size,
    )


def _flagged(fn, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; a ValueError or TypeError whose message starts with
    an argument's name becomes a :class:`UsageError` naming its flag."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        message = str(e)
        m = _NAME.match(message)
        if m is None or m.group(1) not in _FLAGS:
            raise
        raise UsageError(_FLAGS[m.group(1)] + message[m.end() :]) from e


class _Bars:
    """Progress bars of :func:`gamedyn.experiments.mnist.run`'s stages."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.bars: dict[str, Any] = {}
        self.start = 0

    def __call__(self, stage: str, done: int, total: int, info: dict) -> None:
        if not self.enabled:
            return
        if stage == "resume":
            print(f"resuming from {info['path']} (step {done})", file=sys.stderr)
            self.start = done
            return
        if stage not in self.bars:
            self.close()  # the previous stage is over
            if stage == "classifier":
                print(
                    "training the MNIST classifier for the FID (once; cached in "
                    f"{info['path']})",
                    file=sys.stderr,
                )
            initial = self.start if stage == "train" else 0
            unit = "checkpoint" if stage == "spectra" else "step"
            bar = progress_bar(total, stage, True, initial, unit)
            self.bars[stage] = (bar, bar_callback(bar))
        self.bars[stage][1](done, info)

    def close(self) -> None:
        for bar, _ in self.bars.values():
            bar.close()  # closing twice is harmless


@contextlib.contextmanager
def _warnings_as_lines():
    """Shows each :class:`gamedyn.io.RunWarning` as one line on stderr,
    ``gamedyn mnist: warning: ...``."""
    with warnings.catch_warnings():
        warnings.simplefilter("always", io.RunWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, io.RunWarning):
                return shown(message, category, filename, lineno, file, line)
            text = " ".join(str(message).split())
            print(f"gamedyn mnist: warning: {text}", file=sys.stderr)

        warnings.showwarning = show
        yield


def _savefig(fig, path: str) -> None:
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=100, bbox_inches="tight")
    io.atomic_write(path, buffer.getvalue())


def _save_figures(out: str, cfg: ex.Config, result: ex.Result) -> None:
    from matplotlib.figure import Figure

    from gamedyn.plotting.mnist import plot_samples, plot_spectra

    labels = " (rows: digits 0-9)" if cfg.conditional else ""
    fig = Figure(figsize=(6, 6))
    plot_samples(
        result.samples,
        nrow=10,
        ax=fig.subplots(),
        title=f"{cfg.model} GAN, {cfg.rule}, step {int(result.state.step)}{labels}",
    )
    _savefig(fig, os.path.join(out, "samples.png"))
    if result.spectra:
        fig = plot_spectra(result.spectra, fig=Figure(figsize=(15, 4.5)))
        _savefig(fig, os.path.join(out, "spectrum.png"))


def run(args: argparse.Namespace) -> int:
    """Runs ``gamedyn mnist``."""
    cfg = _config(args)
    _flagged(ex.check, cfg)
    if args.classifier is not None and not os.path.isfile(args.classifier):
        raise UsageError(f"--classifier: no classifier file at {args.classifier}")
    out = check_out(args.out)
    bars = _Bars(not args.no_progress)
    with (
        _warnings_as_lines(),
        io.lock_directory(out, name="--out", command="gamedyn mnist"),
    ):
        try:
            result = _flagged(
                ex.run,
                cfg,
                out,
                target_step=args.steps,
                chunk=args.chunk,
                unroll=args.unroll,
                checkpoint_every=args.checkpoint_every,
                keep=args.keep or None,
                log_every=args.log_every,
                fid_samples=args.fid_samples,
                fid_every=args.fid_every,
                fid_log_samples=args.fid_log_samples,
                classifier=args.classifier,
                spectrum=args.spectrum,
                progress=bars,
            )
        except KeyboardInterrupt:
            bars.close()
            print(
                "gamedyn mnist: interrupted; run the same command again to resume",
                file=sys.stderr,
            )
            return 130
        finally:
            bars.close()
        if not args.no_plots:
            _save_figures(out, cfg, result)
    m = result.metrics
    summary = {k: m[k] for k in ("step", "loss_g", "loss_d", "fid") if k in m}
    if "diverged_step" in m:
        summary["diverged_step"] = m["diverged_step"]
    if "spectrum_skipped" in m:
        summary["spectrum_skipped"] = m["spectrum_skipped"]
    print(json.dumps(io.jsonable(summary)))
    return 0

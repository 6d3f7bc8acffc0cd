"""``gamedyn mnist``: train an MNIST GAN with checkpoints, evaluate it, its spectra.

``gamedyn mnist --out DIR [--steps N] [options]`` trains (by default 40,000 steps of
an MLP GAN with R1, Adam 5e-4 and a moving average of the generator: classifier FID
about 11 in 3-4 minutes on 2 CPU cores; resuming from the newest good
checkpoint in DIR when there is one: the result equals an unbroken run of N steps;
other settings on the same DIR, or a smaller N than the run there reached, are
refused), then writes ``DIR/metrics.json`` (the step, the players' losses on a fixed
evaluation batch at the final params, the classifier FID on ``--fid-samples``
samples, the Inception Score, the per-class counts), ``DIR/samples.png``,
``DIR/metrics.jsonl`` (the log), ``DIR/config.json`` and the checkpoints. With
``--spectrum K`` it also computes, at every checkpoint in DIR, the top-K eigenvalues
of the game Jacobian and of each player's Hessian (matrix-free) and plots them as
Berard et al. (2020) do: ``DIR/spectrum.json``, ``DIR/spectrum.png`` and, over the
training steps, the top-K eigenvalues by magnitude and by imaginary part (the
rotation) with their imaginary share, ``DIR/spectrum_steps.png``. ``--seeds N``
trains N GANs of these settings (seeds --seed, --seed + 1, ...) together as one
vmapped program, split over the devices; ``metrics.json`` then holds each seed's
evaluation and their mean and standard deviation, ``samples.png`` one grid per seed.
DIR is locked while the command runs: a second command on it stops at once. A run
killed at any point (even ``kill -9``) resumes by running the same command again;
see docs/runs.md. Under ``--coordinator/--num-processes/--process-id`` (or a
cluster launcher) every process runs the command; the seeds are split over all
processes' devices and process 0 alone writes, prints and draws progress. The work
is `gamedyn.experiments.mnist.run`."""

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
from gamedyn.cli import _distributed
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
    fraction,
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
    add_steps(p, ex.DEFAULT_STEPS, minimum=0)
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
        "--ema",
        type=fraction,
        default=d.ema,
        metavar="DECAY",
        help="sample with a moving average of the generator, in [0, 1) (0: none)",
    )
    p.add_argument(
        "--train-size",
        type=positive_int,
        default=None,
        help="use the first N training images (None: all)",
    )
    add_seed(p, d.seed)
    p.add_argument(
        "--seeds",
        type=positive_int,
        default=d.seeds,
        metavar="N",
        help="train N GANs (seeds --seed .. --seed + N - 1) together, vmapped",
    )
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
    _distributed.add_arguments(p)
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
        ema=args.ema,
        seed=args.seed,
        train_size=args.train_size,
        seeds=args.seeds,
    )


def _flagged(fn, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)``; a ValueError or TypeError whose message starts with
    an argument's name becomes a `UsageError` naming its flag."""
    try:
        return fn(*args, **kwargs)
    except (ValueError, TypeError) as e:
        message = str(e)
        m = _NAME.match(message)
        if m is None or m.group(1) not in _FLAGS:
            raise
        raise UsageError(_FLAGS[m.group(1)] + message[m.end() :]) from e


class _Bars:
    """Progress bars of `gamedyn.experiments.mnist.run`'s stages."""

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
    """Shows each `gamedyn.io.RunWarning` and
    `gamedyn.analysis.SpectrumWarning` as one line on stderr,
    ``gamedyn mnist: warning: ...``."""
    from gamedyn.analysis import SpectrumWarning

    kinds = (io.RunWarning, SpectrumWarning)
    with warnings.catch_warnings():
        warnings.simplefilter("always", io.RunWarning)
        warnings.simplefilter("always", SpectrumWarning)
        shown = warnings.showwarning

        def show(message, category, filename, lineno, file=None, line=None):
            if not issubclass(category, kinds):
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

    from gamedyn.plotting.mnist import (
        plot_samples,
        plot_spectra,
        plot_spectra_over_steps,
    )

    labels = " (rows: digits 0-9)" if cfg.conditional else ""
    extras = "" if cfg.regularizer == "none" else f" + {cfg.regularizer} {cfg.gamma:g}"
    extras += f", EMA {cfg.ema:g}" if cfg.ema else ""
    title = (
        f"{cfg.model} GAN, {cfg.rule}{extras}, step {int(result.state.step)}{labels}"
    )
    seeds = ex.seed_list(cfg)
    if cfg.seeds == 1:
        fig = Figure(figsize=(6, 6))
        plot_samples(result.samples, nrow=10, ax=fig.subplots(), title=title)
    else:
        cols = min(len(seeds), 4)
        rows = -(-len(seeds) // cols)
        fig = Figure(figsize=(4 * cols, 4.3 * rows + 0.4))
        fig.suptitle(title)
        axes = fig.subplots(rows, cols, squeeze=False).ravel()
        for ax, images, seed in zip(axes, result.samples, seeds):
            plot_samples(images, nrow=10, ax=ax, title=f"seed {seed}")
        for ax in axes[len(seeds) :]:
            ax.set_axis_off()
    _savefig(fig, os.path.join(out, "samples.png"))
    if result.spectra:
        first = [r for r in result.spectra if r.get("seed", seeds[0]) == seeds[0]]
        if first:
            fig = plot_spectra(first, fig=Figure(figsize=(15, 4.5)))
            if cfg.seeds > 1:
                fig.suptitle(f"seed {seeds[0]} of {len(seeds)}")
            _savefig(fig, os.path.join(out, "spectrum.png"))
        fig = plot_spectra_over_steps(result.spectra, fig=Figure(figsize=(15, 4.2)))
        _savefig(fig, os.path.join(out, "spectrum_steps.png"))


def run(args: argparse.Namespace) -> int:
    """Runs ``gamedyn mnist`` (files, printing and progress on process 0 only,
    holding the lock on ``--out``)."""
    cfg = _config(args)
    _flagged(ex.check, cfg)
    if args.classifier is not None and not os.path.isfile(args.classifier):
        raise UsageError(f"--classifier: no classifier file at {args.classifier}")
    writer = _distributed.setup(args)  # before any JAX computation
    if not writer:
        try:
            _train(args, cfg, None)
        except RuntimeError as e:  # process 0 stopped; it says why
            raise UsageError(str(e)) from None
        return 0
    out = check_out(args.out)
    with (
        _warnings_as_lines(),
        io.lock_directory(out, name="--out", command="gamedyn mnist"),
    ):
        result = _train(args, cfg, _Bars(not args.no_progress))
        if result is None:
            return 130
        if not args.no_plots:
            _save_figures(out, cfg, result)
    m = result.metrics
    if cfg.seeds == 1:
        summary = {k: m[k] for k in ("step", "loss_g", "loss_d", "fid") if k in m}
        if "diverged_step" in m:
            summary["diverged_step"] = m["diverged_step"]
    else:
        summary = {"step": m["step"], "seeds": m["seeds"]}
        for k in ("fid", "loss_g", "loss_d"):
            if k in m["mean"]:
                summary[k] = m["mean"][k]
                summary[f"{k}_std"] = m["std"][k]
        if m["diverged_seeds"]:
            summary["diverged_seeds"] = m["diverged_seeds"]
    if "spectrum_skipped" in m:
        summary["spectrum_skipped"] = m["spectrum_skipped"]
    print(json.dumps(io.jsonable(summary)))
    return 0


def _train(args: argparse.Namespace, cfg: ex.Config, bars: _Bars | None):
    """`gamedyn.experiments.mnist.run` with the command's settings; None when
    interrupted (Ctrl-C), after saying how to resume."""
    try:
        return _flagged(
            ex.run,
            cfg,
            args.out,
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
        if bars is None:
            raise
        bars.close()
        print(
            "gamedyn mnist: interrupted; run the same command again to resume",
            file=sys.stderr,
        )
        return None
    finally:
        if bars is not None:
            bars.close()

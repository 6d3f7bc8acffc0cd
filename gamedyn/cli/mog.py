"""``gamedyn mog``: the mixture-of-Gaussians mode-collapse benchmark.

Trains small MLP GANs on the ring of 8 or the grid of 25 with a chosen loss,
regularizer, update rule and optimizer, several seeds vmapped in one program, and
scores 2500 samples per seed with the PacGAN / VEEGAN metrics (modes captured,
high-quality samples, reverse KL). Writes ``metrics.json`` (means and stds over the
seeds, and per seed) and ``samples.png`` (samples of the first seed over the modes
at a few points of training). The defaults are the best stable configuration found
(``docs/gans.md``). The work is `gamedyn.experiments.mog.run`. ``--out`` is
locked while the command runs (a second command on it stops at once), and a
directory holding another program's ``metrics.json`` or ``config.json`` is refused.

With ``--coordinator HOST:PORT --num-processes N --process-id I`` (or under a
cluster launcher such as ``srun``) it is one of several processes joined by
``jax.distributed``: the seeds are split over the devices of all of them, and
process 0 alone writes ``--out`` and prints (``docs/multihost.md``).
"""

from __future__ import annotations

import argparse
import os
from io import BytesIO

from gamedyn import io
from gamedyn.cli import _common, _distributed
from gamedyn.cli._common import UsageError
from gamedyn.experiments import mog

_FLAGS = {"ema_decay": "--ema", "spectral_norm": "--spectral-norm"}
"""Config fields whose flag is not ``--`` + the field with dashes."""


def _dim(text: str) -> int:
    value = _common.positive_int(text)
    if value < 2:
        raise argparse.ArgumentTypeError(f"expected an integer >= 2, got {text}")
    return value


def register(subparsers) -> None:
    """Adds ``gamedyn mog``."""
    d = mog.Config()
    p = _common.add_parser(
        subparsers,
        "mog",
        "mixture-of-Gaussians mode-collapse benchmark (ring of 8 / grid of 25)",
        __doc__,
    )
    p.add_argument("--dataset", choices=mog.DATASETS, default=d.dataset, help="data")
    p.add_argument(
        "--dim",
        type=_dim,
        default=d.dim,
        help="ambient dimension: > 2 puts the mixture on a random plane of R^dim",
    )
    _common.add_loss(p, d.loss)
    _common.add_regularizer(p, d.regularizer, d.gamma)
    p.add_argument(
        "--spectral-norm",
        action="store_true",
        help="spectral normalization of every discriminator kernel",
    )
    p.add_argument(
        "--clip",
        type=_common.positive_float,
        default=d.clip,
        metavar="C",
        help="WGAN weight clipping: the discriminator's weights stay in [-C, C]",
    )
    _common.add_rule(p, d.rule, mog.RULES)
    _common.add_optimizer(p, d.optimizer, d.lr, d.beta1, d.beta2)
    p.add_argument(
        "--d-lr-factor",
        type=_common.positive_float,
        default=d.d_lr_factor,
        help="discriminator rate / generator rate (TTUR)",
    )
    p.add_argument(
        "--schedule",
        choices=mog.SCHEDULES,
        default=d.schedule,
        help="learning-rate schedule over the run (cosine: decay to 0)",
    )
    for flag, default, what in (
        ("--batch-size", d.batch_size, "samples per minibatch"),
        ("--latent-dim", d.latent_dim, "dimension of the generator's noise"),
        ("--hidden", d.hidden, "units per hidden layer"),
        ("--g-layers", d.g_layers, "hidden layers of the generator"),
        ("--d-layers", d.d_layers, "hidden layers of the discriminator"),
    ):
        p.add_argument(flag, type=_common.positive_int, default=default, help=what)
    p.add_argument(
        "--num-generators",
        type=_common.positive_int,
        default=d.num_generators,
        help="n-player game: a uniform mixture of this many generators",
    )
    _common.add_instance_noise(p, d.instance_noise)
    p.add_argument(
        "--generator-penalty",
        type=_common.nonneg_float,
        default=d.generator_penalty,
        help="Nagarajan-Kolter eta (gradient-norm penalty of the generator)",
    )
    p.add_argument(
        "--ema",
        type=_common.fraction,
        default=d.ema_decay,
        help="decay of the generator's moving average, which is scored (0: off)",
    )
    _common.add_steps(p, mog.DEFAULT_STEPS)
    p.add_argument(
        "--seed",
        type=_common.nonneg_int,
        default=0,
        help="first PRNG seed (the seeds are SEED .. SEED + SEEDS - 1)",
    )
    p.add_argument(
        "--seeds",
        type=_common.positive_int,
        default=1,
        help="number of seeds, vmapped in one program split over all devices",
    )
    p.add_argument(
        "--snapshots",
        type=_common.positive_int,
        default=4,
        help="points of training shown in samples.png (at most --steps)",
    )
    _common.add_out(p)
    _common.add_output_switches(p)
    _distributed.add_arguments(p)
    p.set_defaults(func=run)


def config(args: argparse.Namespace) -> mog.Config:
    """The `Config` of parsed arguments.

    Raises:
      UsageError: naming the flag of a bad value.
    """
    cfg = mog.Config(
        dataset=args.dataset,
        dim=args.dim,
        loss=args.loss,
        regularizer=args.regularizer,
        gamma=args.gamma,
        spectral_norm=args.spectral_norm,
        clip=args.clip,
        rule=args.rule,
        rule_param=args.rule_param,
        optimizer=args.optimizer,
        lr=args.lr,
        schedule=args.schedule,
        d_lr_factor=args.d_lr_factor,
        beta1=args.beta1,
        beta2=args.beta2,
        momentum=args.momentum,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        hidden=args.hidden,
        g_layers=args.g_layers,
        d_layers=args.d_layers,
        num_generators=args.num_generators,
        instance_noise=args.instance_noise,
        generator_penalty=args.generator_penalty,
        ema_decay=args.ema,
    )
    try:
        mog.check(cfg)
    except (TypeError, ValueError) as e:
        field, _, rest = str(e).partition(":")
        name, _, detail = field.partition(" ")
        flag = _FLAGS.get(name, "--" + name.replace("_", "-"))
        raise UsageError(f"{flag}{' ' + detail if detail else ''}:{rest}") from None
    return cfg


def _check_foreign(out: str) -> None:
    """Refuses an ``--out`` that holds another program's results."""
    if os.path.isfile(os.path.join(out, "config.json")):
        raise UsageError(
            f"--out: {out} holds another program's run (config.json); use another "
            "directory"
        )
    path = os.path.join(out, "metrics.json")
    if os.path.isfile(path):
        try:
            record = io.read_json(path)
        except ValueError:
            record = None
        config = record.get("config") if isinstance(record, dict) else None
        if not isinstance(config, dict) or not set(config) <= set(mog.Config._fields):
            raise UsageError(
                f"--out: {path} was not written by gamedyn mog (another program's "
                "file?); use another directory"
            )


def run(args: argparse.Namespace) -> int:
    """Runs ``gamedyn mog``: checks every value and ``--out``, trains, writes.

    Under ``jax.distributed`` every process trains its devices' share of the seeds
    and receives all of them; process 0 (the writer) alone checks, locks and writes
    ``--out``, prints and draws the progress bar.
    """
    cfg = config(args)
    if args.snapshots > args.steps:
        raise UsageError(
            f"--snapshots: expected at most --steps ({args.steps}), got "
            f"{args.snapshots}"
        )
    if args.seed + args.seeds > 2**32:
        raise UsageError(
            f"--seeds: the seeds must stay below 2**32, got --seed {args.seed} and "
            f"--seeds {args.seeds}"
        )
    writer = _distributed.setup(args)  # before any JAX computation
    if not writer:
        return _run(args, cfg, writer)
    _common.check_out(args.out)
    with io.lock_directory(args.out, name="--out", command="gamedyn mog"):
        _check_foreign(args.out)
        return _run(args, cfg, writer)


def _run(args: argparse.Namespace, cfg: mog.Config, writer: bool) -> int:
    seeds = tuple(range(args.seed, args.seed + args.seeds))
    shown = writer and not args.no_progress
    bar = _common.progress_bar(
        args.steps, f"mog {cfg.dataset} x{len(seeds)} seeds", shown
    )
    with bar:
        result = mog.run(
            cfg,
            steps=args.steps,
            seeds=seeds,
            snapshots=args.snapshots,
            progress=_common.bar_callback(bar),
        )
    if not writer:  # every process holds every seed's result; process 0 writes it
        return 0
    record = mog.summary(cfg, result, seeds)
    io.write_json(os.path.join(args.out, "metrics.json"), record)
    if not args.no_plots:
        _plot(cfg, result, seeds[0], os.path.join(args.out, "samples.png"))
    print(
        f"{cfg.dataset}: modes {record['modes']:.2f}/{record['num_modes']}, high "
        f"quality {100 * record['high_quality']:.1f}%, reverse KL "
        f"{record['reverse_kl']:.3f} (mean of {len(seeds)} seeds, "
        f"{record['seconds']:.0f} s) -> {args.out}"
    )
    return 0


def _plot(cfg: mog.Config, result: mog.Result, seed: int, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gamedyn.data import mixtures
    from gamedyn.plotting.mog import plot_mog_samples

    where = cfg.dataset if cfg.dim == 2 else f"{cfg.dataset} on a plane of R^{cfg.dim}"
    penalty = cfg.regularizer + (", SN" if cfg.spectral_norm else "")
    penalty += f", clip {cfg.clip:g}" if cfg.clip is not None else ""
    fig = plot_mog_samples(
        result.snapshots[0],
        result.steps,
        mixtures.get(cfg.dataset, cfg.dim).planar(),
        title=f"{where}: {cfg.loss}, {cfg.rule}, {penalty} (seed {seed})",
    )
    buffer = BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    io.atomic_write(path, buffer.getvalue())

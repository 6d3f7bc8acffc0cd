"""``gamedyn mog``: the command line of :mod:`gamedyn.experiments.mog`."""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from gamedyn.experiments.mog import *  # noqa: F403 (being split)


def register(subparsers) -> None:
    """Adds ``gamedyn mog``."""
    d = Config()
    p = subparsers.add_parser(
        "mog",
        help="mixture-of-Gaussians mode-collapse benchmark (ring of 8 / grid of 25)",
        description=__doc__,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--dataset", choices=("ring", "grid"), default=d.dataset)
    p.add_argument(
        "--dim",
        type=int,
        default=d.dim,
        help="ambient dimension: > 2 puts the mixture on a random plane of R^dim",
    )
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--loss", choices=loss_names(), default=d.loss)
    p.add_argument(
        "--regularizer",
        choices=REGULARIZERS,
        default=d.regularizer,
        help="r1/r2/gp: gradient penalties (weight --gamma); sn: spectral "
        "normalization; clip: weight clipping at --gamma",
    )
    p.add_argument("--gamma", type=float, default=d.gamma)
    p.add_argument("--rule", choices=RULES, default=d.rule, help="update rule")
    p.add_argument("--optimizer", choices=OPTIMIZERS, default=d.optimizer)
    p.add_argument("--lr", type=float, default=d.lr)
    p.add_argument(
        "--d-lr-factor",
        type=float,
        default=d.d_lr_factor,
        help="discriminator rate / generator rate (TTUR)",
    )
    p.add_argument("--beta1", type=float, default=d.beta1)
    p.add_argument(
        "--schedule",
        choices=SCHEDULES,
        default=d.schedule,
        help="learning-rate schedule over the run",
    )
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--latent-dim", type=int, default=d.latent_dim)
    p.add_argument("--hidden", type=int, default=d.hidden)
    p.add_argument("--g-layers", type=int, default=d.g_layers)
    p.add_argument("--d-layers", type=int, default=d.d_layers)
    p.add_argument(
        "--num-generators",
        type=int,
        default=d.num_generators,
        help="n-player game: a uniform mixture of this many generators",
    )
    p.add_argument("--instance-noise", type=float, default=d.instance_noise)
    p.add_argument(
        "--generator-penalty",
        type=float,
        default=d.generator_penalty,
        help="Nagarajan-Kolter eta",
    )
    p.add_argument(
        "--ema",
        type=float,
        default=d.ema_decay,
        help="EMA decay of the generator (0: off)",
    )
    p.add_argument("--steps", type=int, default=DEFAULT_STEPS)
    p.add_argument("--seeds", type=int, default=1, help="seeds 0..n-1, vmapped")
    p.add_argument("--snapshots", type=int, default=4)
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=run)


def _positive(name: str, value: int) -> None:
    if value < 1:
        raise ValueError(f"--{name}: expected a positive integer, got {value}")


def run(args: argparse.Namespace) -> int:
    """Runs ``gamedyn mog``."""
    for name in ("steps", "seeds", "snapshots"):
        _positive(name, getattr(args, name))
    cfg = Config(
        dataset=args.dataset,
        dim=args.dim,
        loss=args.loss,
        regularizer=args.regularizer,
        gamma=args.gamma,
        rule=args.rule,
        optimizer=args.optimizer,
        lr=args.lr,
        d_lr_factor=args.d_lr_factor,
        beta1=args.beta1,
        schedule=args.schedule,
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
    check(cfg)
    os.makedirs(args.out, exist_ok=True)
    seeds = tuple(range(args.seeds))
    result = train(
        cfg,
        steps=args.steps,
        seeds=seeds,
        snapshots=args.snapshots,
        progress=not args.no_progress,
    )
    out = summary(cfg, result, seeds)
    with open(os.path.join(args.out, "metrics.json"), "w") as f:
        json.dump(out, f, indent=2)
    from gamedyn.plotting.mog import plot_mog_samples

    where = cfg.dataset if cfg.dim == 2 else f"{cfg.dataset} on a plane of R^{cfg.dim}"
    fig = plot_mog_samples(
        result.snapshots[0],
        result.steps,
        mixtures.get(cfg.dataset, cfg.dim).planar(),
        title=f"{where}: {cfg.loss}, {cfg.rule}, {cfg.regularizer} (seed 0)",
    )
    fig.savefig(os.path.join(args.out, "samples.png"), dpi=110)
    import matplotlib.pyplot as plt

    plt.close(fig)
    print(
        f"{cfg.dataset}: modes {out['modes']:.2f}/{out['num_modes']}, high quality "
        f"{100 * out['high_quality']:.1f}%, reverse KL {out['reverse_kl']:.3f} "
        f"(mean of {len(seeds)} seeds, {out['seconds']:.0f} s) -> {args.out}"
    )
    return 0

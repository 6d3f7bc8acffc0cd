"""``gamedyn dirac``: the Dirac-GAN study of Mescheder, Geiger & Nowozin (2018).

Simulates every update rule and regularizer of the study from ``(theta, psi) = (1, 1)``
with step size ``h = 0.2`` for 500 steps (the reference notebook's settings), draws
each trajectory over its vector field, classifies the outcome and writes
``summary.json`` and PNG figures.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, NamedTuple

import jax
import numpy as np
import optax
from tqdm.auto import tqdm

from gamedyn import dynamics as rules
from gamedyn import games, outcomes, regularizers
from gamedyn.simulation import simulate
from gamedyn.transforms import clip_params


class Variant(NamedTuple):
    """A Dirac-GAN setting of the study."""

    loss: str = "standard"
    regularizer: str = "none"
    gamma: float = 0.0
    instance_noise: float = 0.0
    clip: float | None = None
    consensus: float = 0.0


VARIANTS: dict[str, Variant] = {
    "gan": Variant(),
    "nsgan": Variant(loss="non_saturating"),
    "wgan": Variant(loss="wgan", clip=1.0),
    "wgan_gp": Variant(loss="wgan", regularizer="gp", gamma=0.7),
    "instance_noise": Variant(instance_noise=0.7),
    "r1": Variant(regularizer="r1", gamma=0.3),
    "consensus": Variant(consensus=1.0),
}
"""The study's variants, with the reference notebook's settings."""

METHODS = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "sga",
    "cgd",
    "lookahead",
    "unrolled",
)
REGULARIZERS = {
    "none": None,
    "r1": regularizers.r1,
    "r2": regularizers.r2,
    "gp": lambda gamma: regularizers.gradient_penalty(gamma, 1.0),
}


def default_runs() -> list[tuple[str, str]]:
    """(method, variant) pairs of the study: simultaneous and alternating GD on every
    variant, extragradient and optimistic on the unregularized GAN."""
    runs = [(m, v) for m in ("simultaneous", "alternating") for v in VARIANTS]
    return runs + [("extragradient", "gan"), ("optimistic", "gan")]


def build(method: str, variant: Variant, lr: float, start=(1.0, 1.0)):
    """The game (for the vector field) and the dynamics of one run."""
    reg = REGULARIZERS[variant.regularizer]
    game = games.dirac_gan(
        variant.loss,
        None if reg is None else reg(variant.gamma),
        instance_noise=variant.instance_noise,
        start=start,
    )
    if variant.consensus:
        game = games.consensus_game(game, variant.consensus)
    d_opt = optax.sgd(lr)
    if variant.clip is not None:
        d_opt = optax.chain(d_opt, clip_params(variant.clip))
    opt = (optax.sgd(lr), d_opt)
    if method in ("simultaneous", "alternating", "extragradient", "optimistic"):
        dyn = getattr(rules, method)(game, opt)
    elif method == "sga":
        dyn = rules.sga(game, opt)
    elif method == "cgd":
        dyn = rules.cgd(game, opt, lr)
    elif method == "lookahead":
        dyn = rules.lookahead(rules.alternating(game, opt), 5, 0.5)
    elif method == "unrolled":
        dyn = rules.unrolled(game, opt, 5)
    else:
        raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    return game, dyn


def outcome(distance: np.ndarray) -> int:
    """Classifies one run (an index into :data:`gamedyn.outcomes.OUTCOMES`).

    :func:`gamedyn.outcomes.classify` with a 5% radius (instance noise leaves a small
    noise floor), and a run whose tail is still contracting towards the equilibrium
    (extragradient, optimistic GD: linear but slow rates at ``h = 0.2``) also counts
    as converged.
    """
    code = int(outcomes.classify(distance, tol=5e-2, growth=1.5))
    if code == outcomes.CYCLES:
        d0, d_tail, d_end = (
            distance[0],
            distance[int(0.8 * len(distance))],
            distance[-1],
        )
        if d_end < 0.8 * d_tail and d_end < 0.25 * d0:
            code = outcomes.CONVERGED
    return code


def run_study(
    runs: list[tuple[str, str, Variant]],
    *,
    lr: float = 0.2,
    steps: int = 500,
    start=(1.0, 1.0),
    seed: int = 0,
    progress: bool = True,
) -> list[dict[str, Any]]:
    """Simulates each ``(method, variant_name, variant)``; returns one record per run
    (with the trajectory and game under the keys ``"trajectory"`` and ``"game"``)."""
    results = []
    key = jax.random.key(seed)
    for method, name, variant in tqdm(runs, desc="dirac", disable=not progress):
        game, dyn = build(method, variant, lr, start)
        traj = simulate(
            dyn,
            game.init(None),
            steps,
            key=key,
            metrics=("distance",),
            equilibrium=(0.0, 0.0),
        )
        dist = np.asarray(traj.metrics["distance"], float)
        code = outcome(dist)
        results.append(
            {
                "method": method,
                "variant": name,
                **variant._asdict(),
                "lr": lr,
                "steps": steps,
                "outcome": outcomes.OUTCOMES[code],
                "final_distance": float(dist[-1]),
                "final": [float(x) for x in traj.final],
                "diverged_step": int(traj.diverged_step),
                "trajectory": traj,
                "game": game,
            }
        )
    return results


def plot_study(results, out: str) -> list[str]:
    """Writes the overview figure, one figure per run and the distance plot."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from gamedyn.plotting import plot_distances, plot_trajectory, plot_vector_field

    paths = []
    ncols = min(len(results), len(VARIANTS))
    nrows = -(-len(results) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.6 * ncols, 2.75 * nrows), squeeze=False
    )
    colors = {"converged": "C2", "diverged": "C3", "cycles": "C1"}
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    for ax, r in zip(axes.flat, results):
        plot_vector_field(r["game"], ax, key=jax.random.key(0), num=15)
        plot_trajectory(r["trajectory"], ax, color=colors[r["outcome"]])
        ax.set_title(f"{r['method']}\n{r['variant']}: {r['outcome']}", fontsize=8)
        ax.tick_params(labelsize=6)
        ax.xaxis.label.set_size(7)
        ax.yaxis.label.set_size(7)
    fig.suptitle("Dirac-GAN (Mescheder et al. 2018): trajectories from (1, 1)")
    fig.tight_layout()
    path = os.path.join(out, "dirac_overview.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    for r in results:
        fig, ax = plt.subplots(figsize=(4, 4))
        plot_vector_field(r["game"], ax, key=jax.random.key(0))
        plot_trajectory(r["trajectory"], ax, color=colors[r["outcome"]])
        ax.set_title(
            f"{r['method']} GD, {r['variant']} (h={r['lr']}): {r['outcome']}",
            fontsize=9,
        )
        fig.tight_layout()
        path = os.path.join(out, f"dirac_{r['method']}_{r['variant']}.png")
        fig.savefig(path, dpi=100)
        plt.close(fig)
        paths.append(path)
    fig, ax = plt.subplots(figsize=(7, 4))
    plot_distances(
        {
            f"{r['method']}/{r['variant']}": r["trajectory"].metrics["distance"]
            for r in results
        },
        ax,
    )
    ax.set_title("Distance to the equilibrium (0, 0)")
    fig.tight_layout()
    path = os.path.join(out, "dirac_distance.png")
    fig.savefig(path, dpi=110)
    plt.close(fig)
    paths.append(path)
    return paths


def format_table(results) -> str:
    """The summary as a plain-text table."""
    lines = [f"{'method':<14}{'variant':<16}{'outcome':<11}{'final distance':>15}"]
    lines.append("-" * len(lines[0]))
    for r in results:
        lines.append(
            f"{r['method']:<14}{r['variant']:<16}{r['outcome']:<11}"
            f"{r['final_distance']:>15.3g}"
        )
    return "\n".join(lines)


def _positive_float(name):
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"{name}: expected a number, got {text!r}"
            ) from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"{name}: expected > 0, got {text}")
        return value

    return parse


def _nonneg_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "dirac",
        help="reproduce the Dirac-GAN study of Mescheder et al. 2018",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--out", default="runs/dirac", help="output folder")
    p.add_argument(
        "--method",
        nargs="+",
        choices=METHODS,
        help="update rules (default: the study's: simultaneous and alternating on "
        "every variant, extragradient and optimistic on the plain GAN)",
    )
    p.add_argument(
        "--variant", nargs="+", choices=sorted(VARIANTS), help="study variants"
    )
    p.add_argument(
        "--loss",
        choices=("standard", "non_saturating", "wgan"),
        help="custom variant: the loss",
    )
    p.add_argument(
        "--regularizer", choices=sorted(REGULARIZERS), help="custom variant: penalty"
    )
    p.add_argument("--gamma", type=float, help="custom variant: penalty weight")
    p.add_argument("--noise", type=float, help="custom variant: instance noise std")
    p.add_argument("--clip", type=_positive_float("--clip"), help="WGAN clip value")
    p.add_argument(
        "--consensus", type=float, help="custom variant: consensus weight gamma"
    )
    p.add_argument("--lr", type=_positive_float("--lr"), default=0.2, help="step size")
    p.add_argument("--steps", type=_nonneg_int, default=500, help="steps per run")
    p.add_argument(
        "--start", type=float, nargs=2, default=(1.0, 1.0), metavar=("THETA", "PSI")
    )
    p.add_argument("--seed", type=int, default=0, help="PRNG seed (instance noise)")
    p.add_argument("--no-plots", action="store_true", help="skip the figures")
    p.set_defaults(func=run)


def run(args) -> int:
    t0 = time.perf_counter()
    custom = {
        k: v
        for k, v in {
            "loss": args.loss,
            "regularizer": args.regularizer,
            "gamma": args.gamma,
            "instance_noise": args.noise,
            "clip": args.clip,
            "consensus": args.consensus,
        }.items()
        if v is not None
    }
    if custom.get("regularizer", "none") != "none" and "gamma" not in custom:
        custom["gamma"] = 0.3
    variants = {v: VARIANTS[v] for v in (args.variant or [])}
    if custom:
        variants["custom"] = Variant(**custom)
    if args.method:
        names = variants or VARIANTS
        runs = [(m, v, names[v]) for m in args.method for v in names]
    elif variants:
        runs = [
            (m, v, variants[v])
            for m in ("simultaneous", "alternating")
            for v in variants
        ]
    else:
        runs = [(m, v, VARIANTS[v]) for m, v in default_runs()]
    os.makedirs(args.out, exist_ok=True)
    results = run_study(
        runs, lr=args.lr, steps=args.steps, start=tuple(args.start), seed=args.seed
    )
    figures = [] if args.no_plots else plot_study(results, args.out)
    summary = {
        "study": "Dirac-GAN, Mescheder, Geiger & Nowozin 2018",
        "start": list(args.start),
        "lr": args.lr,
        "steps": args.steps,
        "runs": [
            {k: v for k, v in r.items() if k not in ("trajectory", "game")}
            for r in results
        ],
        "figures": [os.path.basename(f) for f in figures],
    }
    with open(os.path.join(args.out, "summary.json"), "w") as f:
        json.dump(summary, f, indent=2)
    print(format_table(results))
    print(
        f"\nwrote {os.path.join(args.out, 'summary.json')} and {len(figures)} figures "
        f"in {time.perf_counter() - t0:.1f} s"
    )
    return 0

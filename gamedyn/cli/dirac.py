"""`gamedyn dirac`: the Dirac-GAN study of Mescheder, Geiger & Nowozin (2018).

Simulates every update rule and regularizer of the study from (theta, psi) = (1, 1)
with step size h = 0.2 for 500 steps (the reference notebook's settings), draws each
trajectory over its vector field, classifies the outcome with
gamedyn.outcomes.classify_runs (converged within 5% of the start's distance,
diverged beyond 1.5 times it, slow when still approaching steadily, else cycles)
and writes summary.json and PNG figures. The study itself is
gamedyn.experiments.dirac.

Default: gamedyn's conventions (alternating GD moves the discriminator first,
consensus adds the exact gradient of 1/2 ||xi||^2): simultaneous and alternating GD
on gan, nsgan, wgan with clipping at 1, wgan_gp with gamma 0.7, instance_noise with
std 0.7, r1 with gamma 0.3 and consensus with gamma 1, plus extragradient and
optimistic GD on the plain GAN.

--paper: the reference notebook's conventions and panels: alternating GD moves the
generator first, the notebook's consensus field, float64, and all nine of its
variants (the above, r1_critical with gamma 1 and nsgan_r1); the deterministic
panels reproduce the notebook's trajectories to round-off.

--loss/--regularizer/--gamma/--instance-noise/--clip/--consensus define a custom
variant.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from typing import Any

import numpy as np

from gamedyn.cli import _common
from gamedyn.experiments import dirac


def register(subparsers) -> None:
    """Adds `gamedyn dirac`."""
    p = _common.add_parser(
        subparsers,
        "dirac",
        "reproduce the Dirac-GAN study of Mescheder et al. 2018",
        __doc__,
    )
    _common.add_out(p, "runs/dirac")
    _common.add_rule(p, default=None, choices=dirac.RULES, nargs="+")
    p.add_argument(
        "--variant",
        nargs="+",
        choices=sorted(dirac.VARIANTS),
        help="study variants (default: all, or none with a custom variant)",
    )
    _common.add_loss(p, default=None)
    _common.add_regularizer(p, default=None, gamma=None)
    _common.add_instance_noise(p, default=None)
    p.add_argument(
        "--clip", type=_common.positive_float, help="custom variant: WGAN clip value"
    )
    p.add_argument(
        "--consensus",
        type=_common.nonneg_float,
        help="custom variant: weight of the consensus term added to the game",
    )
    _common.add_lr(p, 0.2)
    _common.add_steps(p, 500)
    p.add_argument(
        "--start",
        type=_common.finite_float,
        nargs=2,
        default=(1.0, 1.0),
        metavar=("THETA", "PSI"),
        help="starting point",
    )
    _common.add_seed(p)
    p.add_argument(
        "--paper",
        action="store_true",
        help="the reference notebook's conventions and panels (generator first in "
        "alternating GD, the notebook's consensus field, float64, nine variants)",
    )
    _common.add_output_switches(p)
    p.add_argument(
        "--animate",
        action="store_true",
        help="also write dirac.gif: every run moving over the vector field",
    )
    p.set_defaults(func=run)


def config_from_args(args) -> dirac.Config:
    """The `Config` of the parsed arguments."""
    custom = {
        k: v
        for k, v in {
            "loss": args.loss,
            "regularizer": args.regularizer,
            "gamma": args.gamma,
            "instance_noise": args.instance_noise,
            "clip": args.clip,
            "consensus": args.consensus,
        }.items()
        if v is not None
    }
    if custom.get("regularizer", "none") != "none" and "gamma" not in custom:
        from gamedyn import regularizers

        custom["gamma"] = regularizers.spec(custom["regularizer"]).default
    return dirac.Config(
        rules=tuple(args.rule) if args.rule else None,
        variants=tuple(args.variant) if args.variant else None,
        custom=dirac.Variant(**custom) if custom else None,
        rule_param=args.rule_param,
        lr=args.lr,
        steps=args.steps,
        start=tuple(args.start),
        seed=args.seed,
        paper=args.paper,
    )


def animate_study(results: list[dirac.RunResult], out: str) -> str:
    """Writes `out/dirac.gif`: every run of the study over the first run's field
    (the variants' fields differ; the animation shows the unregularized one)."""
    from gamedyn.plotting import animate

    return animate(
        {f"{r.rule}/{r.variant}": r.trajectory for r in results},
        os.path.join(out, "dirac.gif"),
        field=results[0].field,
        frames=60,
        title="Dirac-GAN: every run of the study",
    )


def _markers(outcomes: list[str]) -> list:
    """Legend entries of the trajectory panels: the outcomes' colours (in the order
    of `gamedyn.outcomes.OUTCOMES`) and the start, end and equilibrium."""
    from matplotlib.lines import Line2D

    from gamedyn.outcomes import OUTCOMES
    from gamedyn.plotting import OUTCOME_COLORS

    present = [o for o in OUTCOMES if o in outcomes]
    return [
        *(Line2D([], [], color=OUTCOME_COLORS[o], lw=1.6, label=o) for o in present),
        Line2D([], [], ls="none", marker="o", color="0.3", ms=5, label="start"),
        Line2D(
            [], [], ls="none", marker="s", color="0.3", mfc="white", ms=5, label="end"
        ),
        Line2D([], [], ls="none", marker="*", color="k", ms=9, label="equilibrium"),
    ]


def overview_figure(
    results: list[dirac.RunResult],
    caption: str | None = None,
    start: tuple[float, float] = (1.0, 1.0),
):
    """Every run over its vector field, one panel each (a row per rule, a column
    per variant when they fill a grid), coloured by outcome
    (`gamedyn.plotting.OUTCOME_COLORS`), with one legend under the panels;
    `caption` (`gamedyn.experiments.dirac.conventions`) goes under the
    title."""
    import matplotlib.pyplot as plt

    from gamedyn.plotting import (
        OUTCOME_COLORS,
        plot_trajectory,
        plot_vector_field,
        style,
    )

    ncols = min(len(results), len({r.variant for r in results}))
    nrows = -(-len(results) // ncols)
    fig, axes = plt.subplots(
        nrows, ncols, figsize=(2.4 * ncols, 2.5 * nrows + 1.2), squeeze=False
    )
    for ax in axes.flat[len(results) :]:
        ax.axis("off")
    for i, (ax, r) in enumerate(zip(axes.flat, results)):
        plot_vector_field(r.field, ax)
        plot_trajectory(r.trajectory, ax, color=OUTCOME_COLORS[r.outcome])
        ax.set_title(f"{r.rule}, {r.variant}\n{r.outcome}", fontsize=8)
        ax.tick_params(labelsize=6)
        # axis labels on the outer panels only: the bottom one of each column, the
        # first of each row
        ax.set_xlabel(ax.get_xlabel() if i + ncols >= len(results) else "", size=7)
        ax.set_ylabel(ax.get_ylabel() if i % ncols == 0 else "", size=7)
    title = (
        "Dirac-GAN (Mescheder et al. 2018): trajectories from "
        f"({start[0]:g}, {start[1]:g})"
    )
    fig.suptitle(title if caption is None else f"{title}\n{caption}", fontsize=10)
    style.figure_legend(fig, handles=_markers([r.outcome for r in results]))
    return fig


def run_figure(r: dirac.RunResult):
    """One run over its vector field, coloured by its outcome."""
    import matplotlib.pyplot as plt

    from gamedyn.plotting import (
        OUTCOME_COLORS,
        plot_trajectory,
        plot_vector_field,
        style,
    )

    fig, ax = plt.subplots(figsize=(4.3, 4.0))
    plot_vector_field(r.field, ax)
    plot_trajectory(r.trajectory, ax, color=OUTCOME_COLORS[r.outcome])
    ax.set_title(f"Dirac-GAN: {r.rule}, {r.variant}: {r.outcome}", fontsize=9)
    style.figure_legend(fig, handles=_markers([r.outcome]))
    return fig


def distance_figure(results: list[dirac.RunResult]):
    """The distance to the equilibrium of every run, one line each: the variant
    gives the colour, the rule the line style and marker
    (`gamedyn.plotting.encodings`), so no two runs look alike; the legend,
    which names each run's outcome, goes right of the axes; a log scale when the
    distances span decades."""
    import matplotlib.pyplot as plt

    from gamedyn.plotting import plot_distances

    fig, ax = plt.subplots(figsize=(9, 4.5))
    plot_distances(
        {
            f"{r.rule}/{r.variant} ({r.outcome})": r.trajectory.metrics["distance"]
            for r in results
        },
        ax,
        steps=np.asarray(results[0].trajectory.steps),
    )
    ax.set_title("Dirac-GAN: distance to the equilibrium (0, 0)")
    fig.tight_layout()
    return fig


def figures(
    results: list[dirac.RunResult],
    caption: str | None = None,
    start: tuple[float, float] = (1.0, 1.0),
) -> Iterator[tuple[str, Any]]:
    """The study's figures, made one at a time (close each before the next): file
    name and matplotlib figure of the overview, of each run and of the
    distances."""
    yield "dirac_overview.png", overview_figure(results, caption, start)
    for r in results:
        yield f"dirac_{r.rule}_{r.variant}.png", run_figure(r)
    yield "dirac_distance.png", distance_figure(results)


def plot_study(
    results: list[dirac.RunResult],
    out: str,
    caption: str | None = None,
    start: tuple[float, float] = (1.0, 1.0),
) -> list[str]:
    """Writes the overview figure, one figure per run and the distance plot
    (`figures`) as PNGs under `out`; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    for name, fig in figures(results, caption, start):
        paths.append(os.path.join(out, name))
        fig.savefig(paths[-1], dpi=110, bbox_inches="tight")
        plt.close(fig)
    return paths


def run(args) -> int:
    """Runs `gamedyn dirac` (holding the lock on `--out` throughout)."""
    from gamedyn import io

    config = dirac.check(config_from_args(args))
    _common.check_out(args.out)
    with io.lock_directory(args.out, name="--out", command="gamedyn dirac"):
        return _run(args, config)


def _run(args, config: dirac.Config) -> int:
    from gamedyn.io import write_json

    t0 = time.perf_counter()
    total = len(dirac.runs(config))
    with _common.progress_bar(total, "dirac", not args.no_progress, unit="run") as bar:
        results = dirac.run(config, progress=_common.bar_callback(bar))
    caption = dirac.conventions(config)
    figures = (
        []
        if args.no_plots
        else plot_study(results, args.out, caption, tuple(config.start))
    )
    if args.animate:
        figures.append(animate_study(results, args.out))
    summary = dirac.summary(config, results)
    summary["figures"] = [os.path.basename(f) for f in figures]
    path = os.path.join(args.out, "summary.json")
    write_json(path, summary)
    print(dirac.format_table(results))
    print(f"\n{caption}")
    print(
        f"\nwrote {path} and {len(figures)} figures in {time.perf_counter() - t0:.1f} s"
    )
    return 0

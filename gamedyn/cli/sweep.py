"""`gamedyn sweep`: a learning-rate x gamma phase diagram of the Dirac-GAN.

Trains the Dirac-GAN (Mescheder, Geiger & Nowozin 2018) with plain SGD for every
(lr, gamma) of a grid in one compiled, chunked program sharded over all devices
(gamedyn.sweep), classifies each run (converged / diverged / cycles / slow), fits
its empirical rate, and writes DIR/sweep.npz and DIR/phase.png with the closed-form
stability boundary rho = 1 of the linearised update overlaid. Ranges are
start:stop:num (num evenly spaced values, both ends included) or one number. The
study itself is gamedyn.experiments.dirac_sweep.

--mode local (default) starts every run near the equilibrium, at (0.01, 0.01): the
outcome map then follows the linear theory (local stability). --mode basin starts
from --start (default the paper's (1, 1)) and marks the cells that are stable in
theory but diverged from that start as "outside basin" (reachability).

Example:

  gamedyn sweep --rule simultaneous --lr 0.01:1:64 --gamma 0:2:64 --out runs/sweep
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from gamedyn import losses
from gamedyn.cli import _common, _distributed
from gamedyn.experiments import dirac_sweep

GAMES = ("dirac",)


def parse_range(text: str, name: str = "range") -> np.ndarray:
    """`"start:stop:num"` -> `np.linspace(start, stop, num)`; one number -> it.

    Raises:
      ValueError: naming `name` when the text is not a range of finite numbers.
    """
    parts = text.split(":")
    try:
        if len(parts) == 1:
            start, stop, num = float(parts[0]), float(parts[0]), 1
        elif len(parts) == 3:
            start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
        else:
            raise ValueError
    except ValueError:
        raise ValueError(
            f"{name}: expected start:stop:num (e.g. 0.01:1:64) or one number, got "
            f"{text!r}"
        ) from None
    if num < 1:
        raise ValueError(f"{name}: expected num >= 1 in start:stop:num, got {num}")
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise ValueError(f"{name}: expected finite numbers, got {text!r}")
    return np.linspace(start, stop, num)


def _range_type(name: str, positive: bool):
    def parse(text: str) -> np.ndarray:
        try:
            values = parse_range(text, name)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None
        if positive and np.any(values <= 0):
            raise argparse.ArgumentTypeError(f"expected values > 0, got {text!r}")
        if not positive and np.any(values < 0):
            raise argparse.ArgumentTypeError(f"expected values >= 0, got {text!r}")
        return values

    return parse


def register(subparsers) -> None:
    """Adds `gamedyn sweep`."""
    d = dirac_sweep.Config()
    p = _common.add_parser(
        subparsers,
        "sweep",
        "phase diagram of an update rule over a learning-rate x gamma grid",
        __doc__,
    )
    p.add_argument("--game", choices=GAMES, default="dirac", help="the game")
    _common.add_rule(p, default=d.rule, choices=dirac_sweep.RULES)
    p.add_argument(
        "--lr",
        type=_range_type("--lr", True),
        default="0.01:1:64",
        help="learning rates, start:stop:num",
    )
    p.add_argument(
        "--gamma",
        type=_range_type("--gamma", False),
        default="0:2:64",
        help="regularizer weights, start:stop:num",
    )
    p.add_argument("--loss", choices=losses.names(), default=d.loss, help="GAN loss")
    p.add_argument(
        "--regularizer",
        choices=dirac_sweep.REGULARIZERS,
        default=d.regularizer,
        help="the penalty whose weight is gamma",
    )
    _common.add_steps(p, d.steps)
    p.add_argument(
        "--every",
        type=_common.positive_int,
        default=d.every,
        help="record the distance every this many steps (at most --steps / 2)",
    )
    p.add_argument(
        "--mode",
        choices=dirac_sweep.MODES,
        default=d.mode,
        help="local: start near the equilibrium (local stability); basin: start "
        "at --start and mark stable cells that diverged as outside basin",
    )
    p.add_argument(
        "--start",
        type=_common.finite_float,
        nargs=2,
        default=None,
        metavar=("THETA", "PSI"),
        help="starting point (default: (0.01, 0.01) with --mode local, (1, 1) with "
        "--mode basin)",
    )
    p.add_argument(
        "--chunk-size",
        type=_common.positive_int,
        default=d.chunk_size,
        help="configurations per compiled call (bounds memory)",
    )
    _common.add_out(p)
    _common.add_output_switches(p)
    _distributed.add_arguments(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Runs the sweep and writes `sweep.npz` and `phase.png` (process 0 only,
    holding the lock on `--out`)."""
    param = args.rule_param
    if param is not None and args.rule != "consensus":
        raise _common.UsageError(
            f"--rule-param: the rule {args.rule!r} takes no parameter here, got {param}"
        )
    config = dirac_sweep.Config(
        rule=args.rule,
        lr=tuple(args.lr.tolist()),
        gamma=tuple(args.gamma.tolist()),
        loss=args.loss,
        regularizer=args.regularizer,
        steps=args.steps,
        every=args.every,
        start=None if args.start is None else tuple(args.start),
        consensus=dirac_sweep.Config().consensus if param is None else param,
        chunk_size=args.chunk_size,
        mode=args.mode,
    )
    if args.every > args.steps // 2:
        raise _common.UsageError(
            f"--every: expected at most --steps / 2, got {args.every} with --steps "
            f"{args.steps}"
        )
    writer = _distributed.setup(args)  # before any JAX computation
    if not writer:
        return _run(args, config, writer)
    _common.check_out(args.out)
    from gamedyn import io

    with io.lock_directory(args.out, name="--out", command="gamedyn sweep"):
        return _run(args, config, writer)


def phase_figure(result: dirac_sweep.Result, config: dirac_sweep.Config):
    """The phase diagram of a sweep (`gamedyn.plotting.phase_diagram`):
    outcomes over learning rate x gamma, rate contours and the boundary
    `rho = 1`, the legend right of the heat map."""
    import matplotlib.pyplot as plt

    from gamedyn.plotting import phase_diagram

    start = dirac_sweep.start_of(config)
    fig, ax = plt.subplots(figsize=(7, 4.8))
    phase_diagram(
        result.outcome,
        result.lr,
        result.gamma,
        rate=result.rate,
        theory=result.theory,
        xlabel="learning rate $h$",
        ylabel=rf"regularizer weight $\gamma$ ({config.regularizer})",
        title=(
            f"Dirac-GAN, {config.rule} GD, {config.loss} loss, {config.steps} steps\n"
            f"{config.mode} mode: from ({start[0]:g}, {start[1]:g})"
        ),
        ax=ax,
    )
    fig.tight_layout()
    return fig


def _run(args: argparse.Namespace, config: dirac_sweep.Config, writer: bool) -> int:
    import jax

    from gamedyn.outcomes import OUTCOMES

    num = args.lr.size * args.gamma.size
    start = dirac_sweep.start_of(config)
    header = (
        f"sweep: {args.rule} on the Dirac-GAN ({args.loss} loss, "
        f"{args.regularizer}), {args.lr.size} x {args.gamma.size} = {num} configs x "
        f"{args.steps} steps from ({start[0]:g}, {start[1]:g}) ({args.mode} mode) "
        f"on {len(jax.devices())} {jax.devices()[0].platform} device(s)"
    )
    if writer:
        print(header)
    t0 = time.perf_counter()
    shown = writer and not args.no_progress
    with _common.progress_bar(num, "sweep", shown, unit="config") as bar:
        result = dirac_sweep.run(config, progress=_common.bar_callback(bar))
    elapsed = time.perf_counter() - t0
    if not writer:  # every process holds the result; process 0 writes it
        return 0
    path = os.path.join(args.out, "sweep.npz")
    np.savez(
        path,
        lr=result.lr,
        gamma=result.gamma,
        outcomes=np.asarray(OUTCOMES),
        theory=result.theory,
        outcome=result.outcome,
        rate=result.rate,
        distance=result.distance,
        diverged_step=result.diverged_step,
        mode=np.asarray(result.mode),
        start=np.asarray(result.start),
    )
    counts = np.bincount(result.outcome.ravel(), minlength=len(OUTCOMES))
    print(f"{num} configs in {elapsed:.2f} s ({num / elapsed:.0f} configs/s)")
    print("outcomes: " + ", ".join(f"{n} {c}" for n, c in zip(OUTCOMES, counts)))
    print(
        "agreement with the linear theory (rho < 1 <=> converging): "
        f"{result.agreement:.1%}"
    )
    print(f"wrote {path}")
    if not args.no_plots:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig = phase_figure(result, config)
        png = os.path.join(args.out, "phase.png")
        fig.savefig(png, dpi=130, bbox_inches="tight")
        plt.close(fig)
        print(f"wrote {png}")
    return 0

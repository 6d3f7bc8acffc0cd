"""``gamedyn sweep``: a learning-rate x gamma phase diagram of the Dirac-GAN.

Trains the Dirac-GAN (Mescheder, Geiger & Nowozin 2018) with plain SGD for every
``(lr, gamma)`` of a grid in one compiled, chunked program sharded over all devices
(:func:`gamedyn.sweep`), classifies each run (converged / diverged / cycles / slow),
fits its empirical rate, and writes ``DIR/sweep.npz`` and ``DIR/phase.png`` with the
closed-form stability boundary ``rho = 1`` of the linearised update overlaid.
Ranges are ``start:stop:num`` (``num`` evenly spaced values, both ends included).

Example::

  gamedyn sweep --game dirac --method simultaneous --lr 0.01:1:64 --gamma 0:2:64 \\
      --out runs/sweep
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from gamedyn import losses

GAMES = ("dirac",)


def parse_range(text: str, name: str = "range") -> np.ndarray:
    """``"start:stop:num"`` -> ``np.linspace(start, stop, num)``; a single number -> it.

    Raises:
      ValueError: naming ``name`` when the text is not a range.
    """
    parts = text.split(":")
    try:
        if len(parts) == 1:
            return np.asarray([float(parts[0])])
        if len(parts) != 3:
            raise ValueError
        start, stop, num = float(parts[0]), float(parts[1]), int(parts[2])
    except ValueError:
        raise ValueError(
            f"{name}: expected start:stop:num (e.g. 0.01:1:64) or one number, got "
            f"{text!r}"
        ) from None
    if num < 1:
        raise ValueError(f"{name}: expected num >= 1 in start:stop:num, got {num}")
    if not (np.isfinite(start) and np.isfinite(stop)):
        raise ValueError(f"{name}: expected finite start and stop, got {text!r}")
    return np.linspace(start, stop, num)


def _range_type(name: str):
    def parse(text: str) -> np.ndarray:
        try:
            return parse_range(text, name)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None

    return parse


def _positive_int(name: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = 0
        if value < 1:
            raise argparse.ArgumentTypeError(
                f"{name}: expected a positive integer, got {text!r}"
            )
        return value

    return parse


def run(args: argparse.Namespace) -> int:
    """Runs the sweep and writes ``sweep.npz`` and ``phase.png``."""
    import jax

    from gamedyn.outcomes import OUTCOMES
    from gamedyn.sweep import dirac_run, dirac_spectral_radius, sweep

    if np.any(args.lr <= 0):
        raise SystemExit("gamedyn sweep: error: --lr: expected positive learning rates")
    if np.any(args.gamma < 0):
        raise SystemExit("gamedyn sweep: error: --gamma: expected non-negative values")
    if args.every > args.steps // 2:
        raise SystemExit(
            "gamedyn sweep: error: --every: expected at most --steps / 2, got "
            f"{args.every} with --steps {args.steps}"
        )
    fn = dirac_run(
        args.method,
        loss=args.loss,
        regularizer=args.regularizer,
        num_steps=args.steps,
        every=args.every,
        start=tuple(args.start),
        consensus=args.consensus,
    )
    grid = {"lr": args.lr, "gamma": args.gamma}
    num = args.lr.size * args.gamma.size
    print(
        f"sweep: {args.method} on the Dirac-GAN ({args.loss} loss, "
        f"{args.regularizer}), {args.lr.size} x {args.gamma.size} = {num} configs x "
        f"{args.steps} steps on {len(jax.devices())} {jax.devices()[0].platform} "
        "device(s)"
    )
    t0 = time.perf_counter()
    out = sweep(fn, grid, chunk_size=args.chunk_size, progress=True)
    elapsed = time.perf_counter() - t0
    rho = dirac_spectral_radius(
        args.method,
        args.lr[:, None],
        args.gamma[None, :],
        loss=args.loss,
        regularizer=args.regularizer,
        consensus=args.consensus,
    )
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "sweep.npz")
    np.savez(
        path,
        lr=args.lr,
        gamma=args.gamma,
        outcomes=np.asarray(OUTCOMES),
        theory=rho,
        **{k: np.asarray(v) for k, v in out.items()},
    )
    counts = np.bincount(out["outcome"].ravel(), minlength=len(OUTCOMES))
    stable = rho < 1
    agree = np.mean(np.isin(out["outcome"], (0, 3)) == stable)
    print(f"{num} configs in {elapsed:.2f} s ({num / elapsed:.0f} configs/s)")
    print("outcomes: " + ", ".join(f"{n} {c}" for n, c in zip(OUTCOMES, counts)))
    print(f"agreement with the linear theory (rho < 1 <=> converging): {agree:.1%}")
    print(f"wrote {path}")
    if not args.no_plot:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from gamedyn.plotting.phase import phase_diagram

        fig, ax = plt.subplots(figsize=(6, 4.8))
        phase_diagram(
            out["outcome"],
            args.lr,
            args.gamma,
            rate=out["rate"],
            theory=rho,
            ylabel=rf"$\gamma$ ({args.regularizer})",
            title=f"Dirac-GAN, {args.method} GD, {args.loss} loss, {args.steps} steps",
            ax=ax,
        )
        fig.tight_layout()
        png = os.path.join(args.out, "phase.png")
        fig.savefig(png, dpi=130)
        plt.close(fig)
        print(f"wrote {png}")
    return 0


def register(subparsers) -> None:
    """Adds the ``sweep`` subcommand."""
    from gamedyn.sweep import DIRAC_METHODS, DIRAC_REGULARIZERS

    p = subparsers.add_parser(
        "sweep",
        help="phase diagram of an update rule over a learning-rate x gamma grid",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--game", choices=GAMES, default="dirac", help="the game")
    p.add_argument(
        "--method", choices=DIRAC_METHODS, default="simultaneous", help="update rule"
    )
    p.add_argument(
        "--lr",
        type=_range_type("--lr"),
        default=parse_range("0.01:1:64"),
        help="learning rates start:stop:num (default 0.01:1:64)",
    )
    p.add_argument(
        "--gamma",
        type=_range_type("--gamma"),
        default=parse_range("0:2:64"),
        help="regularizer weights start:stop:num (default 0:2:64)",
    )
    p.add_argument(
        "--loss", choices=losses.names(), default="standard", help="GAN loss"
    )
    p.add_argument(
        "--regularizer",
        choices=DIRAC_REGULARIZERS,
        default="r1",
        help="the penalty whose weight is gamma",
    )
    p.add_argument(
        "--consensus",
        type=float,
        default=1.0,
        help="consensus weight (--method consensus)",
    )
    p.add_argument(
        "--steps", type=_positive_int("--steps"), default=500, help="steps per run"
    )
    p.add_argument(
        "--every",
        type=_positive_int("--every"),
        default=5,
        help="record the distance every this many steps",
    )
    p.add_argument(
        "--start",
        type=float,
        nargs=2,
        default=(1.0, 1.0),
        metavar=("THETA", "PSI"),
        help="starting point",
    )
    p.add_argument(
        "--chunk-size",
        type=_positive_int("--chunk-size"),
        default=1024,
        help="configurations per compiled call (bounds memory)",
    )
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--no-plot", action="store_true", help="skip phase.png")
    p.set_defaults(func=run)

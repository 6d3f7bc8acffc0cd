"""Trajectories of two-parameter games drawn over their vector field."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamedyn.analysis.field import FieldGrid
from gamedyn.plotting import style
from gamedyn.simulation import Trajectory


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def plot_vector_field(field: FieldGrid, ax=None, *, color: str = "0.6"):
    """Streamlines of a descent direction evaluated on a grid.

    Args:
      field: a `gamedyn.analysis.FieldGrid`, e.g.
        `gamedyn.analysis.vector_field_grid(game, key=jax.random.key(0))`.
      ax: matplotlib axes (default: the current ones).
      color: streamline colour.

    Returns:
      The axes.
    """
    if not all(hasattr(field, a) for a in ("x", "y", "u", "v")):
        raise TypeError(
            "field: expected a FieldGrid (from gamedyn.analysis.vector_field_grid), "
            f"got {type(field).__name__}"
        )
    x, y = np.asarray(field.x, float), np.asarray(field.y, float)
    u, v = np.asarray(field.u, float), np.asarray(field.v, float)
    shape = (y.size, x.size)
    if x.ndim != 1 or y.ndim != 1 or u.shape != shape or v.shape != shape:
        raise ValueError(
            f"field: expected 1-D x, y and u, v of shape (len(y), len(x)) = {shape}, "
            f"got x {x.shape}, y {y.shape}, u {u.shape}, v {v.shape}"
        )
    ax = _ax(ax)
    ax.streamplot(x, y, u, v, color=color, density=0.8, linewidth=0.7, arrowsize=0.8)
    ax.set_xlim(x[0], x[-1])
    ax.set_ylim(y[0], y[-1])
    return ax


def plot_trajectory(
    trajectory: Trajectory,
    ax=None,
    *,
    equilibrium: Sequence[float] | None = (0.0, 0.0),
    color: str | None = None,
    label: str | None = None,
    labels: tuple[str, str] = (r"$\theta$ (generator)", r"$\psi$ (discriminator)"),
):
    """Draws the path of a two-scalar-player trajectory, its start and its end.

    The path breaks where the trajectory is not finite (no line across the gap);
    the start is a filled dot, the last finite point an open square.

    Args:
      trajectory: from `gamedyn.simulate`, params two scalars per record.
      ax: matplotlib axes (default: the current ones).
      equilibrium: drawn as a black star (None to omit).
      color: line colour (default: the label's, `gamedyn.plotting.encoding`,
        or the first colour of the palette).
      label: legend label; its encoding also gives the line style.
      labels: axis labels.

    Returns:
      The axes.
    """
    ax = _ax(ax)
    x, y = (np.asarray(p, dtype=float) for p in trajectory.params[:2])
    enc = style.encoding(label) if label else dict(style.RULE_STYLES["simultaneous"])
    color = color or enc["color"]
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = np.where(ok, x, np.nan), np.where(ok, y, np.nan)
    ax.plot(x, y, color=color, ls=enc["linestyle"], lw=1.4, label=label, zorder=3)
    first, last = np.flatnonzero(ok)[[0, -1]] if ok.any() else (None, None)
    if first is not None:
        ax.plot(x[first], y[first], "o", color=color, ms=5, zorder=4)
        if last != first:
            ax.plot(x[last], y[last], "s", color=color, ms=5, mfc="white", zorder=4)
    if equilibrium is not None:
        ax.plot(*equilibrium, "*", color="k", ms=10, zorder=5)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_aspect("equal")
    return ax


def plot_distances(
    distances: dict[str, np.ndarray],
    ax=None,
    *,
    steps: np.ndarray | None = None,
    log: bool | None = None,
    legend: bool = True,
):
    """Distance to the equilibrium over training, one line per run.

    Each run has its label's encoding (`gamedyn.plotting.encodings`: rules and
    variants keep theirs in every figure, and no two runs look alike), with markers
    staggered between runs so that lines lying on top of each other stay visible.
    Non-finite distances (diverged runs) leave a gap. The legend goes outside the
    axes when it would cover data.

    Args:
      distances: run label -> `(T,)` distances.
      ax: matplotlib axes (default: the current ones).
      steps: the step of each record (default `0..T-1`).
      log: logarithmic y axis (default: when the distances span more than a
        decade).
      legend: draw the legend.

    Returns:
      The axes.
    """
    ax = _ax(ax)
    enc = style.encodings(distances)
    count = len(distances)
    values = []
    for i, (name, d) in enumerate(distances.items()):
        d = np.asarray(d, float)
        d = np.where(np.isfinite(d), d, np.nan)
        values.append(d)
        x = np.arange(len(d)) if steps is None else np.asarray(steps)
        ax.plot(
            x,
            d,
            label=name,
            lw=1.3,
            ms=6,
            mec="white",
            mew=0.5,
            markevery=style.markevery(len(d), i, count),
            **enc[name],
        )
    allv = np.concatenate(values) if values else np.ones(1)
    if log or (log is None and style.log_scale_if_wide(ax, allv, decades=1.0)):
        ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(r"distance to equilibrium $\|w_t - w^*\|$")
    ax.grid(alpha=0.3)
    if legend:
        style.legend(ax)
    return ax

"""Trajectories of two-parameter games drawn over their vector field."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamedyn.analysis.field import FieldGrid
from gamedyn.simulation import Trajectory


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def plot_vector_field(field: FieldGrid, ax=None, *, color: str = "0.6"):
    """Streamlines of a descent direction evaluated on a grid.

    Args:
      field: a :class:`gamedyn.analysis.FieldGrid`, e.g.
        ``gamedyn.analysis.vector_field_grid(game, key=jax.random.key(0))``.
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
    color: str = "C3",
    label: str | None = None,
    labels: tuple[str, str] = (r"$\theta$ (generator)", r"$\psi$ (discriminator)"),
):
    """Draws the path of a two-scalar-player trajectory, its start and its end.

    Args:
      trajectory: from :func:`gamedyn.simulate`, params two scalars per record.
      ax: matplotlib axes (default: the current ones).
      equilibrium: drawn as a star (None to omit).
      color: line colour.
      label: legend label.
      labels: axis labels.

    Returns:
      The axes.
    """
    ax = _ax(ax)
    x, y = (np.asarray(p, dtype=float) for p in trajectory.params[:2])
    ok = np.isfinite(x) & np.isfinite(y)
    x, y = x[ok], y[ok]
    ax.plot(x, y, color=color, lw=1.4, label=label)
    ax.plot(x[:1], y[:1], "o", color=color, ms=5)
    if len(x) > 1:
        ax.plot(x[-1:], y[-1:], "s", color=color, ms=5, mfc="white")
    if equilibrium is not None:
        ax.plot(*equilibrium, "*", color="k", ms=10)
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_aspect("equal")
    return ax


def plot_distances(
    distances: dict[str, np.ndarray],
    ax=None,
    *,
    steps: np.ndarray | None = None,
    log: bool = True,
):
    """Distance to the equilibrium over training, one line per run.

    Args:
      distances: run label -> ``(T,)`` distances.
      ax: matplotlib axes (default: the current ones).
      steps: the step of each record (default ``0..T-1``).
      log: logarithmic y axis.

    Returns:
      The axes.
    """
    ax = _ax(ax)
    for name, d in distances.items():
        d = np.asarray(d, float)
        ax.plot(np.arange(len(d)) if steps is None else steps, d, label=name, lw=1.2)
    if log:
        ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("distance to equilibrium")
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    return ax

"""Trajectories of two-parameter games drawn over their vector field."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._game import Game, vector_field
from gamedyn.simulation import Trajectory


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def plot_vector_field(
    game: Game,
    ax=None,
    *,
    bounds: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0),
    num: int = 25,
    key: jax.Array | None = None,
    color: str = "0.6",
):
    """Streamlines of the descent direction ``-xi`` of a game with two scalar players.

    Args:
      game: a game whose params are two scalars (e.g. the Dirac-GAN).
      ax: matplotlib axes (default: the current ones).
      bounds: ``(x_min, x_max, y_min, y_max)`` of the first and second player.
      num: grid points per axis.
      key: key for stochastic games (a fixed key: one fixed minibatch).
      color: streamline colour.

    Returns:
      The axes.
    """
    ax = _ax(ax)
    xs = np.linspace(bounds[0], bounds[1], num)
    ys = np.linspace(bounds[2], bounds[3], num)
    gx, gy = np.meshgrid(xs, ys)
    xi = vector_field(game)
    field = jax.jit(jax.vmap(lambda a, b: xi((a, b), key)))
    u, v = field(jnp.asarray(gx.ravel()), jnp.asarray(gy.ravel()))
    u, v = -np.asarray(u).reshape(gx.shape), -np.asarray(v).reshape(gx.shape)
    ax.streamplot(xs, ys, u, v, color=color, density=0.8, linewidth=0.7, arrowsize=0.8)
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
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

"""Panels shared by the gallery's figures (drawn from `Reproduction.data` only)."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from matplotlib.figure import Figure

from gamedyn.plotting import style


def figure(ncols: int, nrows: int = 1, *, width: float = 4.2, height: float = 3.6):
    """A figure of `nrows x ncols` panels (not attached to pyplot)."""
    fig = Figure(figsize=(width * ncols, height * nrows))
    axes = fig.subplots(nrows, ncols, squeeze=False)
    return fig, axes


def panel_title(ax, letter: str, text: str) -> None:
    """`(a) text` as the panel's title, left-aligned as in the papers."""
    ax.set_title(f"({letter}) {text}", loc="left", fontsize="medium")


def paths(
    ax,
    runs: Mapping[str, np.ndarray],
    *,
    xlabel: str,
    ylabel: str,
    equilibrium=(0.0, 0.0),
    limit: float | None = None,
) -> None:
    """Two-dimensional paths (`(T, 2)` each), start dot, end square, one
    encoding per label; the equilibrium as a black star."""
    enc = style.encodings(runs)
    for name, xy in runs.items():
        xy = np.asarray(xy, float)
        ok = np.all(np.isfinite(xy), axis=1)
        xy = np.where(ok[:, None], xy, np.nan)
        e = enc[name]
        ax.plot(
            xy[:, 0], xy[:, 1], color=e["color"], ls=e["linestyle"], lw=1.2, label=name
        )
        if ok.any():
            first, last = np.flatnonzero(ok)[[0, -1]]
            ax.plot(*xy[first], "o", color=e["color"], ms=5)
            ax.plot(*xy[last], marker=e["marker"], color=e["color"], ms=6, mfc="white")
    if equilibrium is not None:
        ax.plot(*equilibrium, "*", color="k", ms=10, zorder=5)
    if limit is not None:
        ax.set_xlim(-limit, limit)
        ax.set_ylim(-limit, limit)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def distances(
    ax,
    steps: np.ndarray,
    runs: Mapping[str, np.ndarray],
    *,
    rates: Mapping[str, float] | None = None,
    ylabel: str = r"$\|w_t - w^*\|$",
) -> None:
    """Distances to the equilibrium against the step, log scale, with the closed
    form `C rho^t` of each run (through its last finite record) as a thin black
    dotted line."""
    enc = style.encodings(runs)
    count = len(runs)
    labelled = False
    for i, (name, d) in enumerate(runs.items()):
        d = np.asarray(d, float)
        d = np.where(np.isfinite(d) & (d > 0), d, np.nan)
        t = np.asarray(steps, float)[: len(d)]
        ax.plot(
            t,
            d,
            label=name,
            lw=1.3,
            ms=5,
            mec="white",
            mew=0.5,
            markevery=style.markevery(len(d), i, count),
            **enc[name],
        )
        ok = np.flatnonzero(np.isfinite(d))
        if rates is not None and name in rates and ok.size:
            last = ok[-1]
            rho = float(rates[name])
            ax.plot(
                t,
                d[last] * rho ** (t - t[last]),
                color="k",
                lw=0.8,
                ls=":",
                label=None if labelled else r"closed form $C \rho^t$",
            )
            labelled = True
    ax.set_yscale("log")
    ax.set_xlabel("step $t$")
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, which="both")


def rates(
    ax,
    x: np.ndarray,
    closed: Mapping[str, np.ndarray],
    ours: Mapping[str, np.ndarray],
    *,
    xlabel: str,
    ylabel: str = r"rate per step $\rho$",
    x_ours: np.ndarray | None = None,
) -> None:
    """Rates against a parameter: the closed forms as lines, ours as markers, and
    the stability boundary `rho = 1`."""
    enc = style.encodings(closed)
    for name, values in closed.items():
        e = enc[name]
        ax.plot(
            x,
            values,
            color=e["color"],
            ls=e["linestyle"],
            lw=1.4,
            label=f"{name}: closed form",
        )
        if name in ours:
            xo = x if x_ours is None else x_ours
            ax.plot(
                xo,
                ours[name],
                ls="none",
                marker=e["marker"],
                color=e["color"],
                mfc="white",
                ms=6,
                label=f"{name}: gamedyn",
            )
    ax.axhline(1.0, color="0.3", lw=0.8, ls="--")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3)


def field_paths(
    ax,
    field,
    runs: Mapping[str, np.ndarray],
    *,
    xlabel: str,
    ylabel: str,
    styles: Mapping[str, dict] | None = None,
) -> None:
    """Trajectories (`(T, 2)` each) over the streamlines of the descent field
    `(x, y, u, v)` (a `gamedyn.analysis.FieldGrid` as a tuple), clipped to the
    field's box, start dot and end marker, the equilibrium a black star."""
    from gamedyn.analysis import FieldGrid
    from gamedyn.plotting import plot_vector_field

    plot_vector_field(FieldGrid(*field), ax, color="0.75")
    enc = dict(styles) if styles is not None else style.encodings(runs)
    for name, xy in runs.items():
        xy = np.asarray(xy, float)
        xy = np.where(np.all(np.isfinite(xy), axis=1)[:, None], xy, np.nan)
        e = enc[name]
        ax.plot(
            xy[:, 0],
            xy[:, 1],
            color=e["color"],
            ls=e["linestyle"],
            lw=1.5,
            label=name,
            zorder=3,
        )
        ax.plot(*xy[0], "o", color=e["color"], ms=5, zorder=4)
        ok = np.flatnonzero(np.all(np.isfinite(xy), axis=1))
        if ok.size:
            ax.plot(
                *xy[ok[-1]],
                marker=e["marker"],
                color=e["color"],
                ms=6,
                mfc="white",
                zorder=4,
                clip_on=True,
            )
    ax.plot(0, 0, "*", color="k", ms=10, zorder=5)
    ax.set_aspect("equal")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)

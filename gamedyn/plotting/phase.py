"""Phase diagrams: outcomes of a sweep over two hyperparameters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from gamedyn.outcomes import OUTCOMES
from gamedyn.plotting import style

OUTCOME_COLORS = {
    "converged": "#4c9f70",
    "diverged": "#d1495b",
    "cycles": "#edae49",
    "slow": "#66a3d2",
    "outside basin": "#8e6bb8",
}
"""The colour of each outcome in `gamedyn.outcomes.OUTCOMES`."""


def _axis(name: str, values: Any, size: int) -> np.ndarray:
    values = np.asarray(values, dtype=float)
    if values.ndim != 1 or values.shape[0] != size:
        raise ValueError(
            f"{name}: expected a 1-D array of {size} values (the outcome grid's axis), "
            f"got shape {values.shape}"
        )
    return values


def phase_diagram(
    outcome: Any,
    x: Any,
    y: Any,
    *,
    rate: Any = None,
    theory: Any = None,
    rate_levels: Sequence[float] = (0.9, 0.99, 0.999),
    xlabel: str = "learning rate $h$",
    ylabel: str = r"$\gamma$",
    title: str | None = None,
    ax: Any = None,
    legend: bool = True,
):
    """A heatmap of outcomes over two hyperparameters, with rate contours.

    Cells are coloured by outcome (`OUTCOME_COLORS`; `"outside basin"`
    marks cells stable in theory whose run diverged from its start, see
    `gamedyn.outcomes.outside_basin`); contours of the empirical per-step
    rate (`gamedyn.outcomes.rate`) are drawn at `rate_levels` over the
    cells that did not diverge, and the theoretical
    stability boundary `rho = 1` (e.g.
    `gamedyn.experiments.dirac_sweep.dirac_spectral_radius`) as a dashed black
    line.

    Args:
      outcome: `(len(x), len(y))` int codes from
        `gamedyn.outcomes.classify_runs` (the layout `gamedyn.sweep`
        returns for a grid `{x: ..., y: ...}`).
      x: the first axis's values (horizontal).
      y: the second axis's values (vertical).
      rate: `(len(x), len(y))` empirical rates, or None.
      theory: `(len(x), len(y))` theoretical spectral radii, or None.
      rate_levels: rate contour levels.
      xlabel: the x-axis label.
      ylabel: the y-axis label.
      title: the figure's title.
      ax: a matplotlib Axes (default: a new figure's).
      legend: draw the legend.

    Returns:
      The matplotlib Axes.
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    outcome = np.asarray(outcome)
    if outcome.ndim != 2:
        raise ValueError(
            f"outcome: expected a 2-D array of outcome codes, got shape {outcome.shape}"
        )
    if not np.issubdtype(outcome.dtype, np.integer):
        raise ValueError(f"outcome: expected integer codes, got dtype {outcome.dtype}")
    if outcome.size and (outcome.min() < 0 or outcome.max() >= len(OUTCOMES)):
        raise ValueError(
            f"outcome: expected codes in [0, {len(OUTCOMES)}), got values in "
            f"[{outcome.min()}, {outcome.max()}]"
        )
    x = _axis("x", x, outcome.shape[0])
    y = _axis("y", y, outcome.shape[1])
    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 4.5))
    cmap = ListedColormap([OUTCOME_COLORS[n] for n in OUTCOMES])
    norm = BoundaryNorm(np.arange(len(OUTCOMES) + 1) - 0.5, len(OUTCOMES))
    ax.pcolormesh(x, y, outcome.T, cmap=cmap, norm=norm, shading="nearest")
    handles = [
        Patch(color=OUTCOME_COLORS[OUTCOMES[c]], label=OUTCOMES[c])
        for c in np.unique(outcome)
    ]
    two_d = len(x) > 1 and len(y) > 1
    if rate is not None:
        rate = np.asarray(rate, dtype=float)
        if rate.shape != outcome.shape:
            raise ValueError(f"rate: expected shape {outcome.shape}, got {rate.shape}")
        levels = sorted(float(v) for v in rate_levels)
        finite = np.isfinite(rate) & ~np.isin(
            outcome, (OUTCOMES.index("diverged"), OUTCOMES.index("outside basin"))
        )
        if two_d and finite.any():
            lo, hi = np.nanmin(rate[finite]), np.nanmax(rate[finite])
            levels = [v for v in levels if lo < v < hi]
            if levels:
                cs = ax.contour(
                    x,
                    y,
                    np.where(finite, rate, np.nan).T,
                    levels=levels,
                    colors="0.25",
                    linewidths=0.8,
                )
                ax.clabel(cs, fmt="%g", fontsize=7)
                handles.append(
                    Line2D([], [], color="0.25", lw=0.8, label="empirical rate")
                )
    if theory is not None:
        theory = np.asarray(theory, dtype=float)
        if theory.shape != outcome.shape:
            raise ValueError(
                f"theory: expected shape {outcome.shape}, got {theory.shape}"
            )
        # radii equal to 1 up to round-off (a centre, e.g. alternating GD without
        # a regularizer) lie on the boundary: one unbroken line through them,
        # rather than fragments wherever the round-off crosses 1 (just above 1,
        # the contour passes through those cells)
        theory = np.where(np.abs(theory - 1.0) <= 1e-9, 1.0 + 1e-9, theory)
        if two_d and np.nanmin(theory) < 1 < np.nanmax(theory):
            ax.contour(
                x,
                y,
                theory.T,
                levels=[1.0],
                colors="k",
                linestyles="--",
                linewidths=1.5,
            )
            handles.append(
                Line2D([], [], color="k", ls="--", label=r"theory: $\rho = 1$")
            )
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title is not None:
        ax.set_title(title)
    if legend:  # the heat map fills the axes: the legend goes outside
        style.legend(ax, handles, where="outside", fontsize=7)
    return ax

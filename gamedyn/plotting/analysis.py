"""Spectra in the complex plane with the stability regions of update rules drawn,
stability over (step size, parameter) with the gradient flow as its `h -> 0`
limit, spectral radius against step size, path-angle plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gamedyn.analysis.stability import PathAngle, RegionGrid, StabilityMap
from gamedyn.plotting import style

FLOW_LABEL = "flow (h -> 0)"
"""The legend label of the continuous-time limit (`limit=True`)."""

FLOW_COLOR = "0.35"
"""The colour of the gradient flow's region and verdicts."""

FLOW_MARKERS = {
    "stable": {"marker": "o", "facecolors": FLOW_COLOR, "edgecolors": "k"},
    "marginal": {"marker": "o", "facecolors": "white", "edgecolors": "k"},
    "unstable": {"marker": "X", "facecolors": "tab:red", "edgecolors": "k"},
    "not stationary": {"marker": "s", "facecolors": "0.85", "edgecolors": "0.4"},
}
"""The markers of the flow's verdicts at `h -> 0` on a `StabilityMap`:
filled (stable), open (marginal), a red cross (unstable)."""


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _check_region(region, maps: bool = False) -> RegionGrid:
    if not isinstance(region, RegionGrid):
        also = " or a StabilityMap (gamedyn.analysis.stability_map)" if maps else ""
        raise TypeError(
            "region: expected a RegionGrid (from gamedyn.analysis.stability_region)"
            f"{also}, got {type(region).__name__}"
        )
    shape = (np.size(region.im), np.size(region.re))
    if np.shape(region.radius) != shape:
        raise ValueError(
            f"region: expected radius of shape (len(im), len(re)) = {shape}, got "
            f"{np.shape(region.radius)}"
        )
    return region


def _region_label(region: RegionGrid) -> str:
    beta = rf", $\beta = {region.momentum:g}$" if region.rule == "momentum" else ""
    return rf"{region.rule} stable, $h = {region.step_size:g}${beta}"


def _crosses_one(values: np.ndarray) -> bool:
    finite = values[np.isfinite(values)]
    return finite.size > 0 and finite.min() < 1.0 < finite.max()


def _draw_region(ax, x, y, rho, color, linestyle, fill, label, alpha=0.2) -> None:
    from matplotlib.colors import to_rgba

    if fill:
        ax.contourf(x, y, rho, levels=[0.0, 1.0], colors=[color], alpha=alpha)
    if _crosses_one(rho):
        ax.contour(
            x,
            y,
            rho,
            levels=[1.0],
            colors=[color],
            linewidths=1.5,
            linestyles=[linestyle],
        )
    ax.fill(  # the legend's entry: the shading and the boundary's line style
        [],
        [],
        facecolor=to_rgba(color, alpha if fill else 0.0),
        edgecolor=color,
        linestyle=linestyle,
        linewidth=1.5,
        label=label,
    )


def _flow_limit(re: np.ndarray, im: np.ndarray) -> RegionGrid:
    """`gamedyn.analysis.flow_region` on the grid of `re` and `im`."""
    from gamedyn.analysis.modified import flow_region

    num = max(re.size, im.size, 2)
    span = max(abs(float(re[0])), abs(float(re[-1])), 1e-300)
    # T = 1 / span keeps exp(-T Re lambda) within [e^-1, e] whatever the grid
    return flow_region(bounds=(re[0], re[-1], im[0], im[-1]), num=num, time=1.0 / span)


def _draw_flow_limit(ax, re: np.ndarray, im: np.ndarray) -> None:
    flow = _flow_limit(re, im)
    label = rf"{FLOW_LABEL}: Re $\lambda > 0$"
    _draw_region(
        ax, flow.re, flow.im, flow.radius, FLOW_COLOR, "--", True, label, alpha=0.12
    )


def _check_map(region: StabilityMap) -> StabilityMap:
    h = np.ravel(np.asarray(region.step_sizes, float))
    v = np.ravel(np.asarray(region.values, float))
    if h.size < 2 or v.size < 2:
        raise ValueError(
            "region: expected at least 2 step sizes and 2 values to draw a map, got "
            f"{h.size} and {v.size}"
        )
    if np.shape(region.radius) != (v.size, h.size):
        raise ValueError(
            f"region: expected radius of shape (len(values), len(step_sizes)) = "
            f"{(v.size, h.size)}, got {np.shape(region.radius)}"
        )
    if np.shape(region.flow_verdict) != (v.size,):
        raise ValueError(
            f"region: expected one flow_verdict per value ({v.size}), got shape "
            f"{np.shape(region.flow_verdict)}"
        )
    return region


def _plot_map(region: StabilityMap, ax, color, fill, label, limit):
    region = _check_map(region)
    enc = style.encoding(region.rule)
    color = color or enc["color"]
    h = np.asarray(region.step_sizes, float)
    v = np.asarray(region.values, float)
    rho = np.asarray(region.radius, float)
    hi, vi = np.argsort(h), np.argsort(v)
    h, v, rho = h[hi], v[vi], rho[np.ix_(vi, hi)]
    verdicts = np.asarray(region.flow_verdict, str)[vi]
    _draw_region(
        ax, h, v, rho, color, enc["linestyle"], fill, label or f"{region.rule} stable"
    )
    left = h[0]
    if limit:
        ax.axvline(0.0, color=FLOW_COLOR, lw=0.8, zorder=1)
        for verdict, marker in FLOW_MARKERS.items():
            at = verdicts == verdict
            if at.any():
                ax.scatter(
                    np.zeros(int(at.sum())),
                    v[at],
                    s=36,
                    linewidths=0.8,
                    zorder=5,
                    clip_on=False,
                    label=f"{FLOW_LABEL}: {verdict}",
                    **marker,
                )
        left = -0.03 * h[-1]
    ax.set_xlim(left, h[-1])
    ax.set_ylim(v[0], v[-1])
    ax.set_xlabel("step size $h$")
    ax.set_ylabel(region.name)
    return ax


def plot_stability_region(
    region: RegionGrid | StabilityMap,
    ax=None,
    *,
    color: str | None = None,
    fill: bool = True,
    label: str | None = None,
    limit: bool = False,
):
    """Draws where a rule's step is stable and sets the axes to its grid: in the
    plane of eigenvalues `lambda` (a `gamedyn.analysis.RegionGrid`, the
    region `{lambda : radius < 1}`, `gamedyn.analysis.stability_region`) or
    over (step size `h`, game parameter) (a
    `gamedyn.analysis.StabilityMap`, `radius < 1`,
    `gamedyn.analysis.stability_map`).

    With `limit=True` the continuous-time answer is drawn as the `h -> 0`
    limit, labelled `"flow (h -> 0)"` in the legend: on a `RegionGrid` the
    gradient flow's region, the half-plane `Re lambda > 0`
    (`gamedyn.analysis.flow_region` on the same grid, lightly shaded grey
    whatever `fill` says, dashed boundary), which the regions of every
    consistent rule fill as `h -> 0` (simultaneous GD's discs
    `|1 - h lambda| < 1`); on a `StabilityMap` the flow's verdict per
    parameter as markers at `h = 0`, the map's left edge (its `flow_verdict`;
    filled circle stable, open circle marginal, red cross unstable, see
    `FLOW_MARKERS`).

    Args:
      region: a `gamedyn.analysis.RegionGrid` or
        `gamedyn.analysis.StabilityMap`.
      ax: matplotlib axes (default: the current ones).
      color: colour (default the rule's, `gamedyn.plotting.encoding`); the
        boundary takes the rule's line style.
      fill: shade the region (else draw its boundary only).
      label: legend label (default the rule's name; `"<rule> stable"` for a map).
      limit: also draw the gradient flow's answer, the `h -> 0` limit.

    Returns:
      the axes.
    """
    if isinstance(region, StabilityMap):
        return _plot_map(region, _ax(ax), color, fill, label, limit)
    region = _check_region(region, maps=True)
    ax = _ax(ax)
    enc = style.encoding(region.rule)
    color = color or enc["color"]
    re, im = np.asarray(region.re, float), np.asarray(region.im, float)
    rho = np.asarray(region.radius, float)
    _draw_region(ax, re, im, rho, color, enc["linestyle"], fill, label or region.rule)
    if limit and region.rule != "flow":
        _draw_flow_limit(ax, re, im)
    ax.set_xlim(re[0], re[-1])
    ax.set_ylim(im[0], im[-1])
    return ax


def plot_eigenvalues(
    eigenvalues,
    ax=None,
    *,
    region: RegionGrid | None = None,
    reference=None,
    label: str = "eigenvalues of J",
    title: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
    legend: bool = True,
    limit: bool = False,
):
    """Eigenvalues of a game Jacobian in the complex plane, optionally over a rule's
    stability region (an eigenvalue inside it is contracted by that step), with the
    gradient flow's region `Re lambda > 0` as its `h -> 0` limit, and with
    reference values (e.g. closed forms) as rings.

    The default limits are a square around the points that no outlier sets:
    eigenvalues much farther from the origin than all the others
    (`gamedyn.plotting.style.outliers`) are drawn on the edge as open
    triangles, their values in the legend.

    Args:
      eigenvalues: complex array.
      ax: matplotlib axes (default: the current ones).
      region: a `gamedyn.analysis.RegionGrid` to shade
        (`gamedyn.analysis.stability_region`; give it a grid covering
        `bounds`).
      reference: complex array drawn as open circles (labelled "closed form").
      label: legend label of the eigenvalues.
      title: axes title.
      bounds: `(re_min, re_max, im_min, im_max)` (default: the region's grid
        widened to the points, or a square around the points).
      legend: draw the legend (where it covers no data, else outside the axes).
      limit: also shade the gradient flow's region (`"flow (h -> 0)"`, see
        `plot_stability_region`) over the region's grid, or over `bounds`
        without a region.

    Returns:
      the axes.
    """
    ax = _ax(ax)
    lam = np.ravel(np.asarray(eigenvalues, np.complex128))
    ref = None if reference is None else np.ravel(np.asarray(reference, np.complex128))
    pts = lam if ref is None else np.concatenate([lam, ref])
    pts = pts[np.isfinite(pts)]
    if bounds is None:
        inliers = pts[~style.outliers(np.abs(pts))]
        r = 1.2 * max(float(np.max(np.abs(inliers))) if inliers.size else 1.0, 1e-3)
        bounds = (-r, r, -r, r)
        if region is not None:
            _check_region(region)
            bounds = (
                min(bounds[0], float(region.re[0])),
                max(bounds[1], float(region.re[-1])),
                min(bounds[2], float(region.im[0])),
                max(bounds[3], float(region.im[-1])),
            )
    if region is not None:
        plot_stability_region(region, ax, label=_region_label(region), limit=limit)
    elif limit:
        grid = (np.linspace(*bounds[:2], 200), np.linspace(*bounds[2:], 200))
        _draw_flow_limit(ax, *grid)
    ax.axhline(0.0, color="0.5", lw=0.8, zorder=1)
    ax.axvline(0.0, color="0.5", lw=0.8, zorder=1)
    ax.scatter(lam.real, lam.imag, s=18, color="k", zorder=3, label=label)
    if ref is not None:
        ax.scatter(
            ref.real,
            ref.imag,
            s=90,
            facecolors="none",
            edgecolors="tab:red",
            zorder=4,
            label="closed form",
        )
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    style.mark_outliers(ax, pts.real, pts.imag, bounds[:2], bounds[2:])
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_aspect("equal", adjustable="box")
    if title:
        ax.set_title(title)
    if legend:
        style.legend(ax)
    return ax


def plot_spectral_radii(
    step_sizes,
    radii: Mapping[str, Sequence[float]],
    ax=None,
    *,
    title: str | None = None,
    ylim: tuple[float, float] | None = None,
    legend: bool = True,
):
    """Spectral radius of the linearised step against the step size, one curve per
    rule (each in its encoding, `gamedyn.plotting.encodings`), with the
    convergence threshold 1.

    Args:
      step_sizes: `(m,)` step sizes `h`.
      radii: rule name -> `(m,)` spectral radii (e.g. from
        `gamedyn.analysis.spectral_radius_by_step`).
      ax: matplotlib axes (default: the current ones).
      title: axes title.
      ylim: y limits (default: all the curves; a log scale when they span more
        than a decade).
      legend: draw the legend (where it covers no data, else outside the axes).

    Returns:
      the axes.
    """
    h = np.ravel(np.asarray(step_sizes, float))
    curves = {name: np.ravel(np.asarray(rho, float)) for name, rho in radii.items()}
    for name, rho in curves.items():
        if rho.shape != h.shape:
            raise ValueError(
                f"radii[{name!r}]: expected {h.size} values (one per step size), got "
                f"{rho.size}"
            )
    ax = _ax(ax)
    enc = style.encodings(curves)
    for i, (name, rho) in enumerate(curves.items()):
        ax.plot(
            h,
            rho,
            label=name,
            lw=1.4,
            ms=6,
            mec="white",
            mew=0.5,
            markevery=style.markevery(h.size, i, len(curves)),
            **enc[name],
        )
    ax.axhline(1.0, color="k", ls="--", lw=1, label=r"threshold $\rho = 1$", zorder=1)
    if ylim is not None:
        ax.set_ylim(*ylim)
    elif curves:
        style.log_scale_if_wide(ax, np.concatenate([*curves.values(), [1.0]]))
    ax.set_xlabel("step size $h$")
    ax.set_ylabel(r"spectral radius $\rho$ of the step")
    if title:
        ax.set_title(title)
    if legend:
        style.legend(ax)
    return ax


def plot_path_angle(result: PathAngle, ax=None, *, title: str | None = None):
    """Path-angle plot (Berard et al. 2020): the cosine between `xi` and the
    segment against the position `alpha`, with `||xi||` on a twin axis (right,
    in its own colour and line style; both axes linear, both curves in one
    legend).

    Args:
      result: a `gamedyn.analysis.PathAngle`
        (`gamedyn.analysis.path_angle`).
      ax: matplotlib axes (default: the current ones).
      title: axes title.

    Returns:
      the axes of the cosine.
    """
    ax = _ax(ax)
    backward = getattr(result, "direction", "forward") == "backward"
    d = r"w_0 - w_1" if backward else r"w_1 - w_0"
    alpha = np.asarray(result.alpha, float)
    ax.plot(alpha, result.cosine, color="k", lw=1.6, label="cosine, all players")
    players = np.asarray(result.player_cosines)
    names = ("generator", "discriminator") if players.shape[1] == 2 else None
    for i in range(players.shape[1]):
        name = names[i] if names else f"player {i}"
        enc = style.PLAYER_STYLES.get(name) or style.encoding(name)
        ax.plot(
            alpha,
            players[:, i],
            lw=1.0,
            color=enc["color"],
            ls=enc["linestyle"],
            label=f"cosine, {name}",
        )
    ax.axvline(0.0, color="0.6", lw=0.8, zorder=1)
    ax.axvline(1.0, color="0.6", lw=0.8, zorder=1)
    ax.set_xlabel(r"$\alpha$ on $w_\alpha = (1 - \alpha) w_0 + \alpha w_1$")
    ax.set_ylabel(rf"$\cos(\xi(w_\alpha),\ {d})$")
    twin = ax.twinx()
    norm_color = "tab:purple"
    (norm,) = twin.plot(
        alpha,
        result.grad_norm,
        color=norm_color,
        lw=1.2,
        ls=style.LONG_DASH,
        label=r"$\|\xi(w_\alpha)\|$ (right axis)",
    )
    twin.set_ylabel(r"$\|\xi(w_\alpha)\|$", color=norm_color)
    twin.tick_params(axis="y", colors=norm_color)
    handles, labels = ax.get_legend_handles_labels()
    style.legend(
        twin,
        [*handles, norm],
        [*labels, norm.get_label()],
        avoid=(ax,),
        fallback="below",
    )
    if title:
        ax.set_title(title)
    return ax

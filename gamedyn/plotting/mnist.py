"""Plots for image GANs: sample grids, FID curves, top-k spectra at checkpoints."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gamedyn.plotting import style


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def image_grid(images, nrow: int = 10, pad: int = 2) -> np.ndarray:
    """Tiles `(n, h, w[, 1])` images into one 2-D array, `nrow` per row.

    Float images are read as `[-1, 1]`, uint8 as `0..255`; the grid is in
    `[0, 1]` with a white `pad`.
    """
    x = np.asarray(images)
    if x.ndim == 4 and x.shape[-1] == 1:
        x = x[..., 0]
    if x.ndim != 3:
        raise ValueError(f"images: expected (n, h, w) or (n, h, w, 1), got {x.shape}")
    if isinstance(nrow, bool) or not isinstance(nrow, int) or nrow < 1:
        raise ValueError(f"nrow: expected a positive integer, got {nrow!r}")
    x = x / 255.0 if x.dtype == np.uint8 else (np.clip(x, -1, 1) + 1) / 2
    n, h, w = x.shape
    rows = -(-n // nrow)
    grid = np.ones((rows * (h + pad) + pad, nrow * (w + pad) + pad))
    for i in range(n):
        r, c = divmod(i, nrow)
        grid[pad + r * (h + pad) : pad + r * (h + pad) + h,
             pad + c * (w + pad) : pad + c * (w + pad) + w] = x[i]  # fmt: skip
    return grid


def plot_samples(images, nrow: int = 10, ax=None, title: str = ""):
    """Shows a grid of generated (or real) digits, white on black.

    Args:
      images: `(n, 28, 28[, 1])`, float in [-1, 1] or uint8.
      nrow: images per row.
      ax: matplotlib axes (default: the current ones).
      title: the axes' title.

    Returns:
      the axes.
    """
    ax = _ax(ax)
    grid = image_grid(images, nrow)
    ax.imshow(1.0 - grid, cmap="Greys", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title)
    return ax


def plot_fid_curve(
    steps: Sequence[int],
    fid: Sequence[float],
    ax=None,
    label: str | None = None,
    *,
    log: bool | None = None,
):
    """FID against training steps.

    Args:
      steps: the training step of each value.
      fid: the FIDs.
      ax: matplotlib axes (default: the current ones).
      label: legend label (its encoding, `gamedyn.plotting.encoding`, gives
        the colour, line style and marker).
      log: logarithmic y axis (default: when the values span more than a decade).

    Returns:
      the axes.
    """
    ax = _ax(ax)
    fid = np.asarray(fid, float)
    enc = style.encoding(label) if label else dict(style.RULE_STYLES["simultaneous"])
    ax.plot(np.asarray(steps), fid, label=label, ms=5, **enc)
    if log or (log is None and style.log_scale_if_wide(ax, fid, decades=1.0)):
        ax.set_yscale("log")
    ax.set_xlabel("training step $t$")
    ax.set_ylabel("FID (MNIST classifier features)")
    ax.set_title("FID during training")
    ax.grid(True, alpha=0.3)
    if label:
        style.legend(ax)
    return ax


_EIG_GID = "gamedyn-eigenvalues"


def _as_complex(values) -> np.ndarray:
    lam = np.asarray(values)
    if lam.ndim == 2 and lam.shape[-1] == 2 and not np.iscomplexobj(lam):
        lam = lam[:, 0] + 1j * lam[:, 1]
    return np.ravel(lam.astype(np.complex128))


def plot_complex_eigenvalues(
    eigenvalues,
    ax=None,
    label: str | None = None,
    *,
    scale: str = "auto",
    legend: bool = True,
    **kw,
):
    """Eigenvalues as points of the complex plane (Berard et al. 2020, Fig. 4).

    The limits cover every set of eigenvalues drawn on the axes by this function
    (call it once per set, or give a mapping) and the origin, and no outlier sets
    them (`gamedyn.plotting.style.robust_limits` on each axis): values much
    farther out than the rest are drawn on the edge as open triangles with their
    values in the legend, and an axis whose values take both signs, most of them
    far smaller than the largest, is symmetric-log, so a few large eigenvalues do
    not squeeze the rest into a dot.

    Args:
      eigenvalues: complex array, `[[re, im], ...]`, or a mapping label -> either
        (one series each, in its encoding, `gamedyn.plotting.encodings`).
      ax: matplotlib axes.
      label: legend label (of a single array).
      scale: `"auto"`, `"linear"` or `"symlog"` for both axes.
      legend: draw the legend (where it covers no data, else outside the axes).
      kw: passed to `ax.scatter` (e.g. `color`, `marker`, `s`).

    Returns:
      the axes.
    """
    ax = _ax(ax)
    if isinstance(eigenvalues, Mapping):
        series = {str(k): _as_complex(v) for k, v in eigenvalues.items()}
    else:
        series = {label: _as_complex(eigenvalues)}
    named = [k for k in series if k is not None]
    enc = style.encodings(named)
    taken = [c for c in ax.collections if c.get_gid() == _EIG_GID]
    for i, (name, lam) in enumerate(series.items()):
        opts = {"s": 28, "zorder": 3}
        if name is not None:
            opts.update(color=enc[name]["color"], marker=enc[name]["marker"])
        elif "color" not in kw:
            opts.update(color=style.PALETTE[(len(taken) + i) % len(style.PALETTE)])
        opts.update(kw)
        ax.scatter(lam.real, lam.imag, label=name, gid=_EIG_GID, **opts)
    points = np.concatenate(
        [
            np.asarray(c.get_offsets(), float)
            for c in ax.collections
            if c.get_gid() == _EIG_GID
        ]
    )
    for a in [*ax.collections, *ax.lines]:
        if a.get_gid() in (style.OUTLIER_GID, _EIG_GID + "-axis"):
            a.remove()
    ax.axhline(0, color="0.5", lw=0.8, zorder=1, gid=_EIG_GID + "-axis")
    ax.axvline(0, color="0.5", lw=0.8, zorder=1, gid=_EIG_GID + "-axis")
    points = points[np.all(np.isfinite(points), axis=1)]
    centre = np.median(points, axis=0) if len(points) else np.zeros(2)
    far = style.outliers(np.hypot(*(points - centre).T))
    xl = style.robust_limits(points[~far, 0], scale=scale, clip=False, include=0.0)
    yl = style.robust_limits(points[~far, 1], scale=scale, clip=False, include=0.0)
    style.apply_limits(ax, xl, "x")
    style.apply_limits(ax, yl, "y")
    style.mark_outliers(ax, points[:, 0], points[:, 1], (xl.lo, xl.hi), (yl.lo, yl.hi))
    ax.set_xlabel(r"Re $\lambda$" + (" (symlog)" if xl.scale == "symlog" else ""))
    ax.set_ylabel(r"Im $\lambda$" + (" (symlog)" if yl.scale == "symlog" else ""))
    if legend:
        style.legend(ax)
    return ax


def _checkpoint_styles(steps: Sequence) -> list[dict]:
    import matplotlib

    cmap = matplotlib.colormaps["viridis"]
    n = len(steps)
    return [
        {
            "color": cmap(0.9 * j / max(1, n - 1)),
            "linestyle": style.SLOTS[j % len(style.SLOTS)][0],
            "marker": style.SLOTS[j % len(style.SLOTS)][1],
        }
        for j in range(n)
    ]


def plot_hessian_ends(
    records: Sequence[dict], player: str, ax=None, *, legend: bool = True
):
    """The bottom-k and the top-k eigenvalues of one player's Hessian at each
    checkpoint, as two separate series per checkpoint: ranks `1..k` (the smallest)
    on the left, `n-k+1..n` (the largest) on the right, with the eigenvalues
    in between (not computed) marked as a gap that no line crosses. The y axis is
    symmetric-log where the values take both signs over decades
    (`gamedyn.plotting.style.robust_limits`).

    Args:
      records: from `gamedyn.experiments.mnist.spectra`.
      player: `"g"` or `"d"`.
      ax: matplotlib axes.
      legend: draw the legend.

    Returns:
      the axes.
    """
    ax = _ax(ax)
    if player not in ("g", "d"):
        raise ValueError(f"player: expected 'g' or 'd', got {player!r}")
    if not records:
        raise ValueError("records: expected at least one checkpoint's spectra")
    styles = _checkpoint_styles([r["step"] for r in records])
    kb = max(len(r[f"hessian_{player}_bottom"]) for r in records)
    kt = max(len(r[f"hessian_{player}_top"]) for r in records)
    xs, values = [], []
    for rec, enc in zip(records, styles):
        bottom = np.sort(np.asarray(rec[f"hessian_{player}_bottom"], float))
        top = np.sort(np.asarray(rec[f"hessian_{player}_top"], float))
        x_bottom = np.arange(1, bottom.size + 1)
        x_top = np.arange(kb + 2 + kt - top.size, kb + 2 + kt)
        opts = {**enc, "ms": 5, "lw": 1.2}
        ax.plot(x_bottom, bottom, label=f"step {rec['step']}", **opts)
        ax.plot(x_top, top, **opts)  # a separate line: none across the gap
        xs += [x_bottom, x_top]
        values += [bottom, top]
    ax.axvspan(kb + 0.5, kb + 1.5, color="0.92", zorder=0, lw=0)
    ax.text(
        kb + 1,
        0.5,
        "...",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="center",
        color="0.4",
    )
    ticks = [*range(1, kb + 1), *range(kb + 2, kb + 2 + kt)]
    names = [str(i) for i in range(1, kb + 1)]
    names += [f"n-{kt - j}" if kt - j else "n" for j in range(1, kt + 1)]
    ax.set_xticks(ticks, names, fontsize="small")
    ax.set_xlim(0.4, kb + kt + 1.6)
    xs, values = np.concatenate(xs), np.concatenate(values)
    limits = style.robust_limits(values)
    style.apply_limits(ax, limits, "y")
    style.mark_outliers(
        ax, xs, values, ax.get_xlim(), (limits.lo, limits.hi), values=values
    )
    ax.axhline(0, color="k", lw=0.6, zorder=1)
    ax.set_xlabel("rank $i$ of $\\lambda_i$ (1: smallest, n: largest)")
    ax.set_ylabel(
        r"eigenvalue $\lambda_i$" + (" (symlog)" if limits.scale == "symlog" else "")
    )
    if legend:
        style.legend(ax, title="checkpoint")
    return ax


def plot_spectra(records: Sequence[dict], fig=None):
    """The spectra of `gamedyn.experiments.mnist.spectra`, one colour (viridis,
    early to late) and marker per checkpoint.

    Left: the game Jacobian's top-k eigenvalues in the complex plane, real part
    against imaginary part (rotation shows as large imaginary parts;
    `plot_complex_eigenvalues`). Middle and right: the bottom-k and top-k
    eigenvalues of the generator's and the discriminator's Hessians
    (`plot_hessian_ends`: two series per checkpoint, no line across the
    eigenvalues in between; negative ones mean the point is not a local minimum for
    that player). As in Berard et al. 2020. One legend, right of the panels, names
    the checkpoints; the figure uses matplotlib's constrained layout.

    Args:
      records: from `gamedyn.experiments.mnist.spectra`.
      fig: the figure to draw in (default: a new one).

    Returns:
      the figure.
    """
    import matplotlib.pyplot as plt

    if not records:
        raise ValueError("records: expected at least one checkpoint's spectra")
    if fig is None:
        fig = plt.figure(figsize=(15, 4.5))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, 3)
    styles = _checkpoint_styles([r["step"] for r in records])
    for rec, enc in zip(records, styles):
        plot_complex_eigenvalues(
            rec["jacobian"],
            axes[0],
            label=f"step {rec['step']}",
            color=enc["color"],
            marker=enc["marker"],
            legend=False,
        )
    axes[0].set_title("game Jacobian: top-k eigenvalues")
    for ax, name, who in zip(axes[1:], ("g", "d"), ("generator", "discriminator")):
        plot_hessian_ends(records, name, ax, legend=False)
        ax.set_title(f"{who} Hessian: extreme eigenvalues")
    handles, labels = axes[1].get_legend_handles_labels()
    fig.legend(
        handles,
        labels,
        title="checkpoint",
        loc="outside right upper",
        fontsize="small",
    )
    for ax in axes:  # the values beyond the limits, if any
        marks = [
            (h, t)
            for h, t in zip(*ax.get_legend_handles_labels())
            if h.get_gid() == style.OUTLIER_GID
        ]
        if marks:
            style.legend(ax, *zip(*marks))
    return fig


def _by_seed(records: Sequence[dict]) -> dict:
    """Records grouped by their `"seed"` (None for a run of one seed), by step."""
    groups: dict = {}
    for rec in records:
        groups.setdefault(rec.get("seed"), []).append(rec)
    return {s: sorted(rs, key=lambda r: r["step"]) for s, rs in groups.items()}


def plot_spectra_over_steps(records: Sequence[dict], fig=None):
    """The game Jacobian's top-k eigenvalues along training (Berard et al. 2020).

    Three panels over the training step, one colour per seed
    (`gamedyn.plotting.encodings`): the top-k eigenvalues by magnitude
    (`"jacobian"`: `|Im l|` filled, `Re l` open, a line through the largest
    `|Im l|`), the top-k by imaginary part (`"jacobian_imag"`, ARPACK's
    `which="LI"`: the rotation where it exists, drawn the same way), and the
    rotation share `sum |Im l| / sum |l|` of the former (`"rotation"`; 0: real
    eigenvalues, no rotation; 1: purely imaginary). The two eigenvalues of a
    conjugate pair fall on one point. Symmetric-log y axes where the values span
    decades (`gamedyn.plotting.style.robust_limits`).

    Args:
      records: `gamedyn.experiments.mnist.spectra`'s records (with
        `"jacobian_imag"` and `"rotation"`; one seed or several).
      fig: the figure to draw in (default: a new one).

    Returns:
      the figure.
    """
    import matplotlib.pyplot as plt

    if not records:
        raise ValueError("records: expected at least one checkpoint's spectra")
    missing = [
        k for k in ("jacobian", "jacobian_imag", "rotation") if k not in records[0]
    ]
    if missing:
        raise ValueError(
            f"records: expected spectra with {missing} (gamedyn.experiments.mnist."
            "spectra of this version)"
        )
    if fig is None:
        fig = plt.figure(figsize=(15, 4.2))
    fig.set_layout_engine("constrained")
    axes = fig.subplots(1, 3)
    groups = _by_seed(records)
    names = {s: "run" if s is None else f"seed {s}" for s in groups}
    enc = style.encodings(names.values())
    for ax, key, title in (
        (axes[0], "jacobian", "top-k by magnitude"),
        (axes[1], "jacobian_imag", "top-k by imaginary part (LI)"),
    ):
        values = []
        for seed, recs in groups.items():
            e = enc[names[seed]]
            steps, top = [], []
            for rec in recs:
                lam = _as_complex(rec[key])  # a conjugate pair draws one point
                x = np.full(lam.size, rec["step"], float)
                ax.scatter(x, np.abs(lam.imag), color=e["color"], marker=e["marker"],
                           s=22, zorder=3)  # fmt: skip
                ax.scatter(x, lam.real, facecolors="none", edgecolors=e["color"],
                           marker=e["marker"], s=22, zorder=3)  # fmt: skip
                values += [np.abs(lam.imag), lam.real]
                steps.append(rec["step"])
                top.append(np.max(np.abs(lam.imag)) if lam.size else np.nan)
            ax.plot(steps, top, color=e["color"], linestyle=e["linestyle"], lw=1.2,
                    label=names[seed])  # fmt: skip
        limits = style.robust_limits(np.concatenate(values), clip=False, include=0.0)
        style.apply_limits(ax, limits, "y")
        ax.axhline(0, color="0.5", lw=0.8, zorder=1)
        ax.set_title(f"game Jacobian: {title}")
        ax.set_xlabel("training step $t$")
        ax.set_ylabel(
            r"$|\mathrm{Im}\,\lambda|$ (filled), $\mathrm{Re}\,\lambda$ (open)"
            + (" (symlog)" if limits.scale == "symlog" else "")
        )
        ax.grid(True, alpha=0.3)
    for seed, recs in groups.items():
        e = enc[names[seed]]
        axes[2].plot([r["step"] for r in recs], [r["rotation"] for r in recs],
                     ms=5, label=names[seed], **e)  # fmt: skip
    axes[2].set_ylim(-0.02, 1.02)
    axes[2].set_title("rotation: share of the imaginary parts")
    axes[2].set_xlabel("training step $t$")
    axes[2].set_ylabel(r"$\sum|\mathrm{Im}\,\lambda| \,/\, \sum|\lambda|$ (top-k)")
    axes[2].grid(True, alpha=0.3)
    style.legend(axes[2])
    return fig

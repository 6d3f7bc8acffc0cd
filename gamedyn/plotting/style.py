"""The figure style shared by every plot of gamedyn.

One encoding per series name: each update rule of the registry
(`gamedyn.dynamics.names`, plus the analysis-only `"momentum"`), each variant
of the Dirac-GAN study (`gamedyn.experiments.dirac.VARIANTS`) and each player
has a fixed colour, line style and marker, so a rule looks the same in every figure;
other labels get the unused combinations in order (`encodings`), distinct for
up to 100 series. Legends go where they cover no data, else outside the axes
(`legend`); one legend outside them all serves the panels of a figure
(`figure_legend`). Spectra get limits that one outlier cannot set, with the
outliers marked at the edge, and a symmetric-log scale where signs mix over decades
(`robust_limits`, `mark_outliers`); positive quantities spanning decades
get a log scale (`log_scale_if_wide`).
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Iterable, Sequence
from typing import Any, Literal, NamedTuple

import numpy as np

PALETTE: tuple[str, ...] = (
    "tab:blue",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:brown",
    "tab:pink",
    "tab:olive",
    "tab:cyan",
    "tab:gray",
)
"""The colours, in the order labels without a fixed entry receive them."""

LONG_DASH = (0, (6, 2))
DASH_DOT_DOT = (0, (4, 1.5, 1, 1.5, 1, 1.5))

SLOTS: tuple[tuple[Any, str], ...] = (
    ("-", "o"),
    ("--", "s"),
    ("-.", "^"),
    (":", "v"),
    (LONG_DASH, "D"),
    (DASH_DOT_DOT, "P"),
    ("--", "X"),
    ("-.", "*"),
    (":", "h"),
    ("-", "p"),
)
"""(line style, marker) pairs: one per rule, cycled for other labels."""

RULE_STYLES: dict[str, dict[str, Any]] = {
    rule: {"color": color, "linestyle": ls, "marker": marker}
    for rule, color, (ls, marker) in zip(
        (
            "simultaneous",
            "alternating",
            "extragradient",
            "optimistic",
            "consensus",
            "sga",
            "cgd",
            "lookahead",
            "unrolled",
            "momentum",
        ),
        PALETTE,
        SLOTS,
        strict=True,
    )
}
"""The fixed encoding of every update rule (registry names, and `"momentum"`)."""

VARIANT_STYLES: dict[str, dict[str, Any]] = {
    variant: {"color": color, "linestyle": "-", "marker": marker}
    for variant, color, marker in zip(
        (
            "gan",
            "nsgan",
            "wgan",
            "wgan_gp",
            "instance_noise",
            "r1",
            "r1_critical",
            "consensus",
            "nsgan_r1",
        ),
        PALETTE[:9],
        ("o", "s", "^", "v", "D", "P", "X", "*", "h"),
        strict=True,
    )
}
"""The fixed encoding of the Dirac-GAN study's variants. In a label
`"rule/variant"` the variant gives the colour and the rule the line style and
marker, so the runs of one variant share a colour."""

PLAYER_STYLES: dict[str, dict[str, Any]] = {
    "generator": {"color": "tab:blue", "linestyle": "-", "marker": "o"},
    "discriminator": {"color": "tab:orange", "linestyle": "--", "marker": "s"},
}
"""The fixed encoding of the two players of a GAN."""

OUTLIER_COLOR = "tab:red"
"""The colour of the markers of values beyond the axes' limits."""

OUTLIER_GID = "gamedyn-outliers"
"""The `gid` of the artists `mark_outliers` draws."""

_LEGEND_SPOTS = (
    "upper right",
    "upper left",
    "lower left",
    "lower right",
    "center right",
    "center left",
    "upper center",
    "lower center",
)


ALIASES: dict[str, str] = {
    "extra": "extragradient",
    "eg": "extragradient",
    "ogda": "optimistic",
    "omd": "optimistic",
    "sim": "simultaneous",
    "alt": "alternating",
    "heavy_ball": "momentum",
}
"""Other names of rules, looked up like the rules' own."""


def _normalise(text: str) -> str:
    return re.sub(r"[\s\-]+", "_", text.strip().lower())


def _lookup(text: str, tables: Sequence[dict[str, dict]]) -> dict | None:
    whole = _normalise(text)
    word = re.split(r"[\s(,:;=+]", text.strip(), maxsplit=1)[0]
    keys = (whole, _normalise(word), _normalise(word.split("-")[0]))
    for key in keys:
        for table in tables:
            found = table.get(key) or table.get(ALIASES.get(key, ""))
            if found is not None:
                return found
    return None


def _fixed(label: str) -> dict | None:
    if "/" in label:
        rule, variant = label.split("/", 1)
        r = _lookup(rule, (RULE_STYLES,))
        v = _lookup(variant, (VARIANT_STYLES,))
        if r is not None and v is not None:
            return {**r, "color": v["color"]}
    return _lookup(label, (RULE_STYLES, VARIANT_STYLES, PLAYER_STYLES))


def encoding(label: str) -> dict[str, Any]:
    """The colour, line style and marker of one series.

    Rules (`"extragradient"`, also `"extragradient SGD"` or `"SGA (lambda=1)"`:
    the first word is looked up), the Dirac-GAN variants (`"wgan_gp"`,
    `"WGAN-GP"`), `"rule/variant"` (the variant's colour, the rule's line style
    and marker) and the players have fixed entries; any other label gets an entry
    from a hash of its text. Within one figure use `encodings`, which keeps the
    fixed entries and makes every series distinct.

    Args:
      label: the series' name.

    Returns:
      `{"color": ..., "linestyle": ..., "marker": ...}`, keywords of
      `Axes.plot`.
    """
    if not isinstance(label, str):
        raise TypeError(f"label: expected a string, got {type(label).__name__}")
    fixed = _fixed(label)
    if fixed is not None:
        return dict(fixed)
    h = zlib.crc32(label.encode())
    ls, marker = SLOTS[(h // len(PALETTE)) % len(SLOTS)]
    return {"color": PALETTE[h % len(PALETTE)], "linestyle": ls, "marker": marker}


def _combination(enc: dict[str, Any]) -> tuple:
    return enc["color"], enc["linestyle"], enc["marker"]


def encodings(labels: Iterable[str]) -> dict[str, dict[str, Any]]:
    """Distinct encodings for the series of one figure.

    Labels with a fixed entry (`encoding`) keep it; a second label on the
    same entry (`"optimistic SGD"` and `"optimistic Adam"`) keeps the colour and
    takes the next free line style and marker. Other labels take, in order, the
    colours no series of the figure uses yet, each with its own line style and
    marker, then the remaining combinations. Every series differs from every other
    in colour or in line style and marker, for up to `len(PALETTE) * len(SLOTS)`
    series.

    Args:
      labels: the series' names, in drawing order (duplicates are drawn alike).

    Returns:
      label -> `{"color", "linestyle", "marker"}`.
    """
    labels = list(dict.fromkeys(labels))
    out: dict[str, dict[str, Any]] = {}
    taken: set[tuple] = set()
    others = []
    for label in labels:
        fixed = _fixed(label) if isinstance(label, str) else None
        if fixed is None:
            others.append(label)
            continue
        enc = dict(fixed)
        if _combination(enc) in taken:
            free = [
                {**enc, "linestyle": ls, "marker": marker}
                for ls, marker in SLOTS
                if (enc["color"], ls, marker) not in taken
            ]
            if not free:  # every style of this colour is taken
                others.append(label)
                continue
            enc = free[0]
        taken.add(_combination(enc))
        out[label] = enc
    n = len(PALETTE) * len(SLOTS)
    candidates = []
    for i in range(n):  # round r gives colour c the slot c + r: all pairs differ
        ls, marker = SLOTS[(i % len(PALETTE) + i // len(PALETTE)) % len(SLOTS)]
        candidates.append(
            {"color": PALETTE[i % len(PALETTE)], "linestyle": ls, "marker": marker}
        )
    for label in others:
        colours = {c for c, _, _ in taken}
        free = [c for c in candidates if _combination(c) not in taken]
        if not free:
            raise ValueError(f"labels: expected at most {n} distinct series")
        fresh = [c for c in free if c["color"] not in colours]
        enc = dict((fresh or free)[0])
        taken.add(_combination(enc))
        out[label] = enc
    return {label: out[label] for label in labels}


def markevery(
    num_points: int, index: int = 0, count: int = 1, markers: int = 8
) -> tuple[int, int]:
    """Where to put the markers of series `index` of `count` drawn together:
    about `markers` per line, staggered between series so that markers of lines
    lying on top of each other stay visible.

    Args:
      num_points: points of the line.
      index: which series.
      count: how many series share the axes.
      markers: markers per line.

    Returns:
      a `markevery` value for `Axes.plot`.
    """
    every = max(1, int(num_points) // max(1, markers))
    return (int(index * every // max(1, count)) % every, every)


# ------------------------------------------------------------------------------
# Legends.


def _finite_runs(xy: np.ndarray) -> list[np.ndarray]:
    ok = np.all(np.isfinite(xy), axis=1)
    if ok.all():
        return [xy]
    edges = np.flatnonzero(np.diff(np.r_[0, ok.astype(int), 0]))
    return [xy[a:b] for a, b in zip(edges[::2], edges[1::2])]


def _segments_hit(xy: np.ndarray, box) -> bool:
    from matplotlib.path import Path

    for run in _finite_runs(xy):
        if len(run) == 1:
            if box.contains(*run[0]):
                return True
        elif len(run) > 1 and Path(run).intersects_bbox(box, filled=False):
            return True
    return False


def _points_hit(xy: np.ndarray, box, radius: float = 0.0) -> bool:
    xy = xy[np.all(np.isfinite(xy), axis=1)]
    if not len(xy):
        return False
    return bool(
        np.any(
            (xy[:, 0] >= box.x0 - radius)
            & (xy[:, 0] <= box.x1 + radius)
            & (xy[:, 1] >= box.y0 - radius)
            & (xy[:, 1] <= box.y1 + radius)
        )
    )


def _is_drawn_line(line) -> bool:
    return line.get_linestyle() not in ("None", "none", "", " ")


def covers_data(ax, box) -> bool:
    """Whether a box (display coordinates) overlaps anything drawn in the axes:
    lines, markers, scatter points, collections (contours, streamlines, meshes),
    patches (bars, circles, arrows), images and texts.

    Args:
      ax: matplotlib axes.
      box: a `matplotlib.transforms.Bbox` in display coordinates.

    Returns:
      True when the box covers some of the axes' contents.
    """
    from matplotlib.collections import LineCollection, PathCollection

    ax.get_xlim(), ax.get_ylim()  # settle autoscaling before reading transforms
    dpi = ax.figure.dpi
    for line in ax.get_lines():
        if not line.get_visible():
            continue
        xy = line.get_transform().transform(np.asarray(line.get_xydata(), float))
        radius = 0.5 * line.get_markersize() * dpi / 72.0
        if line.get_marker() not in (None, "None", "none", "", " "):
            if _points_hit(xy, box, radius):
                return True
        if _is_drawn_line(line) and _segments_hit(xy, box):
            return True
    for coll in ax.collections:
        if not coll.get_visible():
            continue
        if isinstance(coll, PathCollection):
            offsets = np.asarray(coll.get_offsets(), float)
            xy = coll.get_offset_transform().transform(offsets)
            sizes = coll.get_sizes()
            radius = 0.5 * np.sqrt(np.max(sizes)) * dpi / 72.0 if len(sizes) else 0
            if _points_hit(xy, box, radius):
                return True
            continue
        paths = coll.get_paths()
        filled = not isinstance(coll, LineCollection) and bool(
            len(coll.get_facecolor()) and np.any(coll.get_facecolor()[:, 3] > 0)
        )
        transform = coll.get_transform()
        if not filled and paths:
            for p in paths:
                if _segments_hit(transform.transform(p.vertices), box):
                    return True
        elif coll.get_window_extent().overlaps(box):
            for p in paths or []:
                if transform.transform_path(p).intersects_bbox(box, filled=True):
                    return True
            if not paths:
                return True
    for artist in [*ax.patches, *ax.images, *ax.texts]:
        if not artist.get_visible():
            continue
        extent = artist.get_window_extent()
        if np.all(np.isfinite(extent.get_points())) and extent.overlaps(box):
            return True  # (an empty legend proxy has an infinite, inverted extent)
    return False


def legend(
    ax,
    handles: Sequence | None = None,
    labels: Sequence[str] | None = None,
    *,
    where: Literal["auto", "outside", "below"] = "auto",
    max_inside: int = 8,
    avoid: Sequence = (),
    fallback: Literal["outside", "below"] = "outside",
    **kwargs,
):
    """Draws a legend where it covers no data.

    `where="auto"` tries the corners and edges of the axes and keeps the first
    spot where the legend covers nothing drawn (`covers_data`); with no such
    spot, or more than `max_inside` entries, it goes outside (`fallback`: right
    of the axes, or below them).
    Call it after the axes' contents and limits are final. `tight_layout` and
    `savefig(bbox_inches="tight")` make room for a legend outside.

    Args:
      ax: matplotlib axes.
      handles: artists (default: the axes' labelled artists).
      labels: their labels (default: the artists' labels).
      where: `"auto"`, `"outside"` (right of the axes) or `"below"` (under
        the axes, in columns).
      max_inside: at most this many entries go inside the axes.
      avoid: other axes over the same area (e.g. a twin) whose contents the legend
        must not cover either.
      fallback: where `"auto"` puts a legend that fits nowhere inside.
      kwargs: passed to `Axes.legend` (with `loc`, the legend goes there).

    Returns:
      the legend, or None when there is nothing to label (no legend is drawn).
    """
    if where not in ("auto", "outside", "below"):
        raise ValueError(f"where: expected 'auto', 'outside' or 'below', got {where!r}")
    if handles is None:
        handles, found = ax.get_legend_handles_labels()
        labels = found if labels is None else labels
    elif labels is None:
        labels = [h.get_label() for h in handles]
    old = ax.get_legend()
    if old is not None:
        old.remove()
    if not len(handles):
        return None
    kwargs.setdefault("fontsize", "small")
    kwargs.setdefault("framealpha", 0.9)
    if "loc" in kwargs:  # the caller's choice
        return ax.legend(handles, labels, **kwargs)
    if where == "auto" and len(handles) <= max_inside:
        for spot in _LEGEND_SPOTS:
            leg = ax.legend(handles, labels, loc=spot, **kwargs)
            box = leg.get_window_extent()
            box = box.expanded(1.02, 1.05)
            if not any(covers_data(a, box) for a in (ax, *avoid)):
                return leg
            leg.remove()
    if where == "auto":
        where = fallback
    if where == "below":
        from matplotlib.transforms import offset_copy

        ncol = min(len(handles), kwargs.pop("ncol", 3))
        ax.get_xlim(), ax.get_ylim()
        # under the tick labels and the x label, a fixed distance in points (the
        # axes may still be resized by the layout)
        below = ax.get_window_extent().y0
        below -= min(a.get_tightbbox().y0 for a in (ax, *avoid)) - 4
        return ax.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            bbox_transform=offset_copy(
                ax.transAxes,
                fig=ax.figure,
                y=-below * 72 / ax.figure.dpi,
                units="points",
            ),
            ncol=ncol,
            borderaxespad=0.0,
            **kwargs,
        )
    kwargs.setdefault("ncol", 1 if len(handles) <= 18 else 2)
    return ax.legend(
        handles,
        labels,
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        borderaxespad=0.0,
        **kwargs,
    )


def _collect(axes) -> tuple[list, list[str]]:
    """The labelled artists of several axes (and the entries of their legends,
    which are removed), one per label, in order."""
    found: dict[str, Any] = {}
    for ax in axes:
        leg = ax.get_legend()
        if leg is not None:
            handles = list(leg.legend_handles)
            labels = [t.get_text() for t in leg.get_texts()]
            leg.remove()
        else:
            handles, labels = ax.get_legend_handles_labels()
        for handle, label in zip(handles, labels):
            if handle is not None and not label.startswith("_"):
                found.setdefault(label, handle)
    return list(found.values()), list(found)


def figure_legend(
    fig,
    axes: Sequence | None = None,
    handles: Sequence | None = None,
    labels: Sequence[str] | None = None,
    *,
    where: Literal["below", "right"] = "below",
    **kwargs,
):
    """One legend for several axes, outside all of them, and the figure's layout.

    Lists the labelled artists of `axes` (or the entries of the legends they
    already have), one entry per label, removes the axes' own legends, and puts the
    legend under the axes (in as many columns as fit the figure's width) or right
    of them: the figure is laid out (`tight_layout`), then grows by the legend's
    strip, the axes keeping their size. Call it last: a later `tight_layout`
    would give the legend's strip to the axes.

    Args:
      fig: a matplotlib figure.
      axes: the axes whose entries the legend lists (default: all of the
        figure's).
      handles: artists to list instead of the axes' entries (`labels` default
        to theirs).
      labels: their labels.
      where: `"below"` or `"right"`.
      kwargs: passed to `Figure.legend`.

    Returns:
      the legend, or None when there is nothing to label (the figure is still
      laid out).
    """
    if where not in ("below", "right"):
        raise ValueError(f"where: expected 'below' or 'right', got {where!r}")
    axes = list(fig.axes) if axes is None else list(np.ravel(np.asarray(axes, object)))
    if handles is None:
        handles, found = _collect(axes)
        labels = found if labels is None else labels
    else:
        for ax in axes:  # the figure's legend replaces theirs
            if ax.get_legend() is not None:
                ax.get_legend().remove()
        if labels is None:
            labels = [h.get_label() for h in handles]
    if not len(handles):
        fig.tight_layout()
        return None
    kwargs.setdefault("fontsize", "small")
    kwargs.setdefault("frameon", False)
    width = fig.get_size_inches()[0] * fig.dpi
    if where == "right":
        kwargs.setdefault("ncol", 1 if len(handles) <= 18 else 2)
        leg = fig.legend(
            handles, labels, loc="center right", bbox_to_anchor=(1.0, 0.5), **kwargs
        )
        _layout(fig, leg, "right")
        return leg
    ncol = min(len(handles), kwargs.pop("ncol", len(handles)))
    while True:  # the most columns that fit the figure's width
        leg = fig.legend(
            handles,
            labels,
            loc="lower center",
            bbox_to_anchor=(0.5, 0.0),
            ncol=ncol,
            **kwargs,
        )
        box = leg.get_window_extent()
        if box.width <= 0.98 * width or ncol == 1:
            break
        leg.remove()
        ncol -= 1
    _layout(fig, leg, "below")
    return leg


def _layout(fig, leg, where: str) -> None:
    """`tight_layout`, then the figure grows by the legend's strip (below or
    right) with the axes keeping their size in inches (so axes of fixed aspect
    keep their layout too)."""
    fig.tight_layout()
    w, h = fig.get_size_inches()
    p = fig.subplotpars
    left, right, bottom, top = p.left, p.right, p.bottom, p.top
    box = leg.get_window_extent()
    if where == "right":
        extra = box.width / fig.dpi + 0.1
        fig.set_size_inches(w + extra, h)
        fig.subplots_adjust(left=left * w / (w + extra), right=right * w / (w + extra))
    else:
        extra = box.height / fig.dpi + 0.12
        fig.set_size_inches(w, h + extra)
        fig.subplots_adjust(
            bottom=(bottom * h + extra) / (h + extra),
            top=(top * h + extra) / (h + extra),
        )


# ------------------------------------------------------------------------------
# Limits and scales.


class Limits(NamedTuple):
    """Axis limits from `robust_limits`.

    Attributes:
      lo: the limits.
      hi: the limits.
      scale: `"linear"` or `"symlog"`.
      linthresh: the linear range of `"symlog"` (else None).
      outside: a bool mask of the values (finite ones) beyond `[lo, hi]`.
    """

    lo: float
    hi: float
    scale: str
    linthresh: float | None
    outside: np.ndarray


def outliers(
    distance: np.ndarray, *, gap: float = 4.0, max_fraction: float = 0.05
) -> np.ndarray:
    """The points much farther out than all the others.

    Sorted by `distance` (e.g. from the median), the `k` farthest points are
    outliers when the `k`-th is more than `gap` times as far as the next, for
    the `k <= max(1, max_fraction * n)` with the largest such ratio. Nothing is an
    outlier among fewer than 10 points, nor when the others all lie at distance 0.

    Args:
      distance: `(n,)` non-negative distances.
      gap: the ratio that separates outliers from the rest.
      max_fraction: at most this fraction of the points (at least one) are
        outliers.

    Returns:
      `(n,)` bool mask.
    """
    d = np.asarray(distance, float)
    mask = np.zeros(d.shape, bool)
    ok = np.isfinite(d)
    n = int(ok.sum())
    if n < 10:
        return mask
    order = np.argsort(-np.where(ok, d, -np.inf))[:n]
    s = d[order]
    kmax = min(n - 2, max(1, int(max_fraction * n)))
    ratios = s[:kmax] / np.maximum(s[1 : kmax + 1], 1e-300)
    ratios[s[1 : kmax + 1] <= 1e-12 * s[0]] = 0.0  # the rest sit on one point
    k = int(np.argmax(ratios)) + 1
    if ratios[k - 1] > gap:
        mask[order[:k]] = True
    return mask


def _symlog_threshold(values: np.ndarray, top: float) -> float:
    mags = np.abs(values)
    mags = mags[mags > 1e-4 * top]
    base = float(np.percentile(mags, 10)) if mags.size else top * 1e-3
    return float(10 ** np.floor(np.log10(base)))


def robust_limits(
    values,
    *,
    scale: Literal["auto", "linear", "symlog"] = "auto",
    gap: float = 4.0,
    max_fraction: float = 0.05,
    decades: float = 2.0,
    pad: float = 0.06,
    clip: bool = True,
    include: float | None = None,
) -> Limits:
    """Axis limits for a spectrum that no single value sets.

    Values much farther from the median than all the rest (`outliers`) are
    left out of the limits (`clip=True`); draw them at the edge with
    `mark_outliers`. Then, with `scale="auto"`, values of both signs whose
    nonzero magnitudes span more than `decades` decades from their 25th
    percentile to the largest get a symmetric-log scale (its linear range the power
    of ten below the 10th percentile of the magnitudes, at most four decades below
    the largest), so that the large values do not squeeze the small ones into a
    dot; otherwise the scale is linear.

    Args:
      values: real values (non-finite ones are ignored).
      scale: `"auto"`, `"linear"` or `"symlog"`.
      gap: see `outliers`.
      max_fraction: see `outliers`.
      decades: the spread of magnitudes that calls for a symmetric-log scale.
      pad: margin, a fraction of the range (in the scale's coordinates).
      clip: leave outliers out of the limits.
      include: a value the limits must contain (e.g. 0, the stability boundary of
        real parts).

    Returns:
      a `Limits`.
    """
    if scale not in ("auto", "linear", "symlog"):
        raise ValueError(f"scale: expected 'auto', 'linear' or 'symlog', got {scale!r}")
    x = np.ravel(np.asarray(values, float))
    finite = np.isfinite(x)
    out = np.zeros(x.shape, bool)
    if not finite.any():
        return Limits(-1.0, 1.0, "linear", None, out)
    if clip:
        med = float(np.median(x[finite]))
        out[finite] = outliers(
            np.abs(x[finite] - med), gap=gap, max_fraction=max_fraction
        )
    inl = x[finite & ~out]
    if include is not None:
        inl = np.r_[inl, float(include)]
    lo, hi = float(inl.min()), float(inl.max())
    top = float(np.max(np.abs(inl)))
    mags = np.abs(inl[np.abs(inl) > 1e-12 * top])
    squeezed = (
        mags.size >= 3
        and lo < 0 < hi
        and top > 10**decades * float(np.percentile(mags, 25))
    )
    if scale == "symlog" or (scale == "auto" and squeezed):
        t = _symlog_threshold(inl, top) if top > 0 else 1.0

        def fwd(v):
            return np.sign(v) * np.log10(1 + np.abs(v) / t)

        def inv(u):
            return np.sign(u) * t * (10 ** np.abs(u) - 1)

        a, b = fwd(lo), fwd(hi)
        m = pad * max(b - a, 1e-12)
        return Limits(float(inv(a - m)), float(inv(b + m)), "symlog", t, out)
    span = hi - lo
    if span <= 0:
        span = abs(hi) if hi != 0 else 1.0
    m = pad * span
    return Limits(lo - m, hi + m, "linear", None, out)


def _symlog_ticks(lo: float, hi: float, linthresh: float) -> list[float]:
    top = max(abs(lo), abs(hi), linthresh)
    k0 = int(np.ceil(np.log10(linthresh) - 1e-9))
    k1 = int(np.floor(np.log10(top) + 1e-9))
    if k1 - k0 >= 2:  # no labels at +-linthresh, next to the one at 0
        k0 += 1
    step = max(1, int(np.ceil((k1 - k0 + 1) / 4)))
    powers = [10.0**k for k in range(k1, k0 - 1, -step)]
    ticks = [0.0, *powers, *(-p for p in powers)]
    return sorted(t for t in ticks if lo <= t <= hi)


def apply_limits(ax, limits: Limits, axis: Literal["x", "y"] = "y") -> None:
    """Sets an axis' scale, limits and (for symlog) ticks from
    `robust_limits`: 0 and every few powers of ten, labels that do not
    collide.

    Args:
      ax: matplotlib axes.
      limits: a `Limits`.
      axis: `"x"` or `"y"`.
    """
    from matplotlib.ticker import FixedLocator, NullLocator

    which = ax.xaxis if axis == "x" else ax.yaxis
    if limits.scale == "symlog":
        (ax.set_xscale if axis == "x" else ax.set_yscale)(
            "symlog", linthresh=limits.linthresh, linscale=0.5
        )
        which.set_major_locator(
            FixedLocator(_symlog_ticks(limits.lo, limits.hi, limits.linthresh))
        )
        which.set_minor_locator(NullLocator())
    else:
        (ax.set_xscale if axis == "x" else ax.set_yscale)(limits.scale)
    (ax.set_xlim if axis == "x" else ax.set_ylim)(limits.lo, limits.hi)


def _fmt(v: complex | float) -> str:
    v = complex(v)
    if abs(v.imag) <= 1e-12 * max(abs(v.real), 1e-300):
        return f"{v.real:.3g}"
    return f"{v.real:.3g}{v.imag:+.3g}i"


def mark_outliers(
    ax,
    x,
    y,
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
    *,
    values=None,
    color: str = OUTLIER_COLOR,
    label: str | None = "beyond the limits",
) -> int:
    """Draws the points beyond the limits on the edge of the axes, as open
    triangles pointing outwards, and lists their values in the legend.

    Args:
      ax: matplotlib axes.
      x: the points' x coordinates (all of them; those inside are skipped).
      y: the points' y coordinates.
      xlim: the x limits (default: the axes' current ones).
      ylim: the y limits (default: the axes' current ones).
      values: the value of each point the legend shows (default `x + iy`).
      color: marker colour.
      label: legend label, followed by the values (None: no legend entry).

    Returns:
      the number of points marked.
    """
    x = np.ravel(np.asarray(x, float))
    y = np.ravel(np.asarray(y, float))
    xlim = tuple(ax.get_xlim()) if xlim is None else xlim
    ylim = tuple(ax.get_ylim()) if ylim is None else ylim
    (x0, x1), (y0, y1) = sorted(xlim), sorted(ylim)
    ok = np.isfinite(x) & np.isfinite(y)
    beyond = ok & ((x < x0) | (x > x1) | (y < y0) | (y > y1))
    if not beyond.any():
        return 0
    vals = (x + 1j * y if values is None else np.ravel(np.asarray(values)))[beyond]
    xb, yb = x[beyond], y[beyond]
    direction = np.where(
        xb > x1, ">", np.where(xb < x0, "<", np.where(yb > y1, "^", "v"))
    )
    opts = {
        "s": 60,
        "facecolors": "white",
        "edgecolors": color,
        "linewidths": 1.5,
        "gid": OUTLIER_GID,
    }
    for m in np.unique(direction):
        sel = direction == m
        ax.scatter(
            np.clip(xb[sel], x0, x1),
            np.clip(yb[sel], y0, y1),
            marker=str(m),
            zorder=6,
            clip_on=False,
            **opts,
        )
    if label is not None:
        shown = ", ".join(_fmt(v) for v in vals[:3])
        more = f", ... ({beyond.sum()} in all)" if beyond.sum() > 3 else ""
        ax.scatter([], [], marker=">", label=f"{label}: {shown}{more}", **opts)
    return int(beyond.sum())


def log_scale_if_wide(
    ax, values, axis: Literal["x", "y"] = "y", *, decades: float = 1.0
) -> bool:
    """Sets a log scale when positive values span more than `decades` decades.

    Args:
      ax: matplotlib axes.
      values: the values drawn on that axis.
      axis: `"x"` or `"y"`.
      decades: the spread (`log10(max / min)`) that calls for a log scale.

    Returns:
      whether the scale is now logarithmic.
    """
    v = np.ravel(np.asarray(values, float))
    v = v[np.isfinite(v)]
    wide = bool(v.size and v.min() > 0 and np.log10(v.max() / v.min()) > decades)
    if wide:
        (ax.set_xscale if axis == "x" else ax.set_yscale)("log")
    return wide

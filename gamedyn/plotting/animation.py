"""Animations of two-parameter trajectories moving over a vector field."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from gamedyn.analysis import FieldGrid
from gamedyn.simulation import Trajectory


def _paths(trajectories: Any) -> dict[str, np.ndarray]:
    if isinstance(trajectories, Trajectory):
        trajectories = {"": trajectories}
    elif not isinstance(trajectories, Mapping):
        trajectories = {str(i): t for i, t in enumerate(trajectories)}
    out = {}
    for label, t in trajectories.items():
        if not isinstance(t, Trajectory):
            raise TypeError(
                "trajectories: expected gamedyn.Trajectory values, got "
                f"{type(t).__name__}"
            )
        if t.params is None:
            raise ValueError(
                "trajectories: expected recorded params, got a run made with "
                "record_params=False"
            )
        if len(t.params) != 2 or any(np.ndim(p) != 1 for p in t.params):
            raise ValueError(
                "trajectories: expected two players with one scalar each (records "
                "of shape (T,)), got shapes "
                f"{[np.shape(p) for p in t.params]}"
            )
        out[str(label)] = np.stack([np.asarray(p, float) for p in t.params], axis=1)
    if not out:
        raise ValueError("trajectories: expected at least one trajectory")
    return out


def animate(
    trajectories: Trajectory | Sequence[Trajectory] | Mapping[str, Trajectory],
    path: str | os.PathLike,
    *,
    field: FieldGrid | None = None,
    frames: int = 100,
    fps: int = 20,
    trail: int | None = None,
    title: str | None = None,
    labels: tuple[str, str] = (r"$\theta$ (generator)", r"$\psi$ (discriminator)"),
    dpi: int = 80,
) -> str:
    """Writes an animation of trajectories moving over a vector field.

    Each frame draws every trajectory's path up to that record (its last `trail`
    records, or all of them) and a marker at its current point, over the
    streamlines of `field`; each label has its encoding
    (`gamedyn.plotting.encodings`) and the legend sits right of the axes, the
    figure widened to hold it. The records are subsampled to `frames` frames. A
    `.gif` path uses Pillow (no system package needed); `.mp4` needs ffmpeg. The
    animation is drawn on a figure of its own, outside pyplot: the caller's
    backend (a notebook's inline one) and open figures are left alone.

    Args:
      trajectories: one `gamedyn.Trajectory`, a sequence, or a dict label ->
        trajectory, each with two scalar players and recorded params (records that
        are not finite, after a divergence, are left out of the path).
      path: the output file, `.gif` or `.mp4`.
      field: the vector field to draw under them
        (`gamedyn.analysis.vector_field_grid`); its bounds set the axes.
      frames: number of frames (at most the number of records).
      fps: frames per second.
      trail: records of the path drawn behind the current point (None: all).
      title: the figure's title.
      labels: the axes' labels.
      dpi: resolution.

    Returns:
      The path written.
    """
    from matplotlib.animation import FFMpegWriter, PillowWriter
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from gamedyn.plotting import style
    from gamedyn.plotting.trajectories import plot_vector_field

    paths = _paths(trajectories)
    path = os.fspath(path)
    ext = os.path.splitext(path)[1].lower()
    if ext not in (".gif", ".mp4"):
        raise ValueError(f"path: expected a .gif or .mp4 file, got {path!r}")
    if not isinstance(frames, int) or frames < 1:
        raise ValueError(f"frames: expected an integer >= 1, got {frames!r}")
    num = max(len(p) for p in paths.values())
    index = np.unique(np.linspace(0, num - 1, min(frames, num)).round().astype(int))

    fig = Figure(figsize=(4.6, 4.4))
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    if field is not None:
        plot_vector_field(field, ax)
    else:
        pts = np.concatenate([p[np.isfinite(p).all(1)] for p in paths.values()])
        lo, hi = pts.min(0), pts.max(0)
        pad = 0.1 * np.maximum(hi - lo, 1e-3)
        ax.set_xlim(lo[0] - pad[0], hi[0] + pad[0])
        ax.set_ylim(lo[1] - pad[1], hi[1] + pad[1])
    ax.plot(0.0, 0.0, "*", color="k", ms=9, label="equilibrium")
    ax.set_xlabel(labels[0])
    ax.set_ylabel(labels[1])
    ax.set_aspect("equal")
    if title:
        ax.set_title(title, fontsize=9)
    artists = []
    names = [label or f"run {i}" for i, label in enumerate(paths)]
    enc = style.encodings(names)
    for name, label in zip(names, paths):
        e = enc[name]
        (line,) = ax.plot(
            [], [], color=e["color"], ls=e["linestyle"], lw=1.4, label=label or None
        )
        (dot,) = ax.plot([], [], marker=e["marker"], ls="none", color=e["color"], ms=5)
        artists.append((line, dot))
    if any(paths):  # right of the axes, the figure widened to hold it
        leg = style.legend(ax, where="outside", fontsize=7, framealpha=0.0)
        width = leg.get_window_extent().width / fig.dpi
        fig.set_size_inches(4.6 + width + 0.15, 4.4)
    fig.tight_layout()
    counter = ax.text(0.02, 0.02, "", transform=ax.transAxes, fontsize=7, color="0.3")

    writer = PillowWriter(fps=fps) if ext == ".gif" else FFMpegWriter(fps=fps)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    # the writer grabs each frame once (FuncAnimation would draw it twice)
    with writer.saving(fig, path, dpi):
        for t in index:
            for (line, dot), p in zip(artists, paths.values()):
                start = 0 if trail is None else max(0, t + 1 - trail)
                seg = p[start : t + 1]
                seg = seg[np.isfinite(seg).all(1)]
                line.set_data(seg[:, 0], seg[:, 1])
                dot.set_data(seg[-1:, 0], seg[-1:, 1])
            counter.set_text(f"record {t}")
            writer.grab_frame()
    return path

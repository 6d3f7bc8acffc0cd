"""Figures of the `lin2018_pacgan` entry: PacGAN's Table 1 with our rows beside
the published ones, and the samples of each trained generator (Lin et al. 2018)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction


def _fmt(values, scale: float = 1.0, digits: int = 2) -> str:
    v = np.asarray(values, float) * scale
    return f"{v.mean():.{digits}f} ± {v.std():.{digits}f}"


def table1(rep: Reproduction) -> Figure:
    """Table 1: for each data set the published rows, then ours (mean ± std over
    the seeds)."""
    d = rep.data
    header = ["data", "row", "modes", "high quality %", "reverse KL"]
    cells, colours = [], []
    for name, rows in d["rows"].items():
        k = len(d["centers"][name])
        for label, (modes, hq, rkl) in d["published"][name].items():
            cells.append(
                [
                    f"{name} ({k})",
                    f"{label}, published",
                    f"{modes:.1f}",
                    f"{hq:.1f}",
                    f"{rkl:.2f}",
                ]
            )
            colours.append("0.93")
        for label, r in rows.items():
            cells.append(
                [
                    f"{name} ({k})",
                    f"{label}, gamedyn",
                    _fmt(r["modes"], digits=1),
                    _fmt(r["high_quality"], digits=1),
                    _fmt(r["reverse_kl"], digits=3),
                ]
            )
            colours.append("white")
    fig = Figure(figsize=(7.6, 0.34 * (len(cells) + 1) + 0.8))
    ax = fig.subplots()
    ax.axis("off")
    table = ax.table(
        cellText=cells,
        colLabels=header,
        cellColours=[[c] * len(header) for c in colours],
        loc="center",
        cellLoc="center",
    )
    table.auto_set_font_size(False)
    table.set_fontsize(9)
    table.scale(1.0, 1.35)
    s = d["settings"]
    ax.set_title(
        f"PacGAN Table 1 (10 runs, 400000 steps)\nbeside gamedyn ({s['seeds']} seeds; "
        + ", ".join(f"{n} {k} steps" for n, k in s["steps"].items())
        + f"; {d['num_eval']} samples each)",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def samples(rep: Reproduction) -> Figure:
    """One panel per data set and row: 1000 samples of seed 0 over the modes."""
    d = rep.data
    panels = [(name, label) for name in d["samples"] for label in d["samples"][name]]
    fig = Figure(figsize=(3.0 * len(panels), 3.7))
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, (name, label) in zip(axes, panels, strict=True):
        x = np.asarray(d["samples"][name][label], float)
        c = np.asarray(d["centers"][name], float)
        extent = np.abs(c).max() * 1.4 + 0.3
        ax.scatter(
            c[:, 0],
            c[:, 1],
            s=30,
            facecolors="none",
            edgecolors="tab:red",
            linewidths=0.8,
            zorder=2,
        )
        ax.scatter(x[:, 0], x[:, 1], s=2, c="k", alpha=0.4, linewidths=0, zorder=3)
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        modes = int(np.asarray(d["rows"][name][label]["modes"])[0])
        ax.set_title(f"{name}, {label}: {modes} modes", fontsize=9)
        ax.set_xlabel("$x_1$")
    axes[0].set_ylabel("$x_2$")
    fig.suptitle(
        "1000 samples of seed 0 (black) over the modes (red circles)", fontsize=9
    )
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The entry's figures, keyed by file stem."""
    return {"table1": table1(rep), "samples": samples(rep)}

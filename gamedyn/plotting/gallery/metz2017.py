"""Figures of the `metz2017` entry: Figure 2 of Metz et al. (2017), the
generator's samples over training with and without unrolling, beside the target."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style


def _key(table: dict, k: int):
    return table[k] if k in table else table[str(k)]


def _heatmap(ax, x: np.ndarray, extent: float, bins: int = 80) -> None:
    h, xe, ye = np.histogram2d(
        x[:, 0], x[:, 1], bins=bins, range=[[-extent, extent], [-extent, extent]]
    )
    ax.imshow(
        np.log1p(h.T),
        origin="lower",
        extent=(xe[0], xe[-1], ye[0], ye[-1]),
        cmap="Greens",
        interpolation="nearest",
        aspect="equal",
    )


def fig2_samples(rep: Reproduction) -> Figure:
    """Figure 2: one row per number of unrolled steps (most unrolling on top), one
    column per snapshot of training, the target distribution last."""
    d = rep.data
    steps = np.asarray(d["steps"])
    ks = sorted(d["unroll"], reverse=True)
    extent = 2.6
    cols = steps.size + 1
    fig = Figure(figsize=(1.75 * cols, 1.95 * len(ks) + 0.6))
    axes = fig.subplots(len(ks), cols, squeeze=False)
    centers = np.asarray(d["centers"], float)
    for row, k in zip(axes, ks, strict=True):
        snaps = np.asarray(_key(d["snapshots"], k), float)
        counts = np.asarray(_key(d["snapshot_modes"], k))[0]
        for j, ax in enumerate(row[:-1]):
            _heatmap(ax, snaps[j], extent)
            ax.scatter(
                centers[:, 0],
                centers[:, 1],
                s=14,
                facecolors="none",
                edgecolors="tab:red",
                linewidths=0.6,
                zorder=3,
            )
            ax.set_title(f"step {int(steps[j])}: modes {int(counts[j])}", fontsize=8)
        name = "standard GAN (K = 0)" if k == 0 else f"unrolled, K = {k}"
        row[0].set_ylabel(name, fontsize=9)
    for ax in axes[:, -1]:
        _heatmap(ax, np.asarray(d["data"], float), extent)
        ax.set_title("target", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.suptitle(
        "generator samples over training on the ring of 8 Gaussians (Metz et al. "
        "2017, Fig. 2); modes: 3-std criterion, seed 0",
        fontsize=9,
    )
    fig.tight_layout()
    return fig


def modes(rep: Reproduction) -> Figure:
    """Modes covered over training (one line per seed) for each `K`."""
    d = rep.data
    steps = np.asarray(d["steps"])
    labels = {
        k: ("standard GAN (K = 0)" if k == 0 else f"unrolled, K = {k}")
        for k in d["unroll"]
    }
    enc = {
        k: style.encoding("simultaneous" if k == 0 else "unrolled") for k in d["unroll"]
    }
    fig = Figure(figsize=(5.4, 3.8))
    ax = fig.subplots()
    for k in d["unroll"]:
        per_seed = np.asarray(_key(d["snapshot_modes"], k))
        for i, counts in enumerate(per_seed):
            ax.plot(
                steps,
                counts,
                color=enc[k]["color"],
                ls=enc[k]["linestyle"],
                marker=enc[k]["marker"],
                ms=5,
                alpha=0.8,
                label=labels[k] if i == 0 else None,
            )
    ax.set_ylim(-0.3, 8.5)
    ax.set_xlabel("training step")
    ax.set_ylabel("modes covered (of 8)")
    ax.set_title(
        "modes among 1000 samples of each snapshot, one line per seed", fontsize=9
    )
    style.legend(ax)
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The entry's figures, keyed by file stem."""
    return {"fig2_samples": fig2_samples(rep), "modes": modes(rep)}

"""Figures of the mixture-of-Gaussians benchmark: samples over the true modes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from gamedyn.plotting import style

MODE_COLOR = "tab:red"
"""The colour of the true modes (small open circles under the samples)."""

SAMPLE_COLOR = "k"
"""The colour of generated samples."""


def plot_mog_samples(
    snapshots: np.ndarray,
    steps: Sequence[int],
    mixture,
    *,
    title: str | None = None,
    threshold: float = 3.0,
    size: float = 2.6,
):
    """Generated samples at a few points of training, over the true modes.

    Each panel shows one snapshot's samples (translucent black dots, drawn on top)
    over the mixture's centres (small open red circles, so samples on a mode stay
    visible) and circles of radius `threshold * std` (the high-quality region of
    `gamedyn.metrics.mode_coverage`). One legend, under the panels, serves
    them all.

    Args:
      snapshots: `(num_snapshots, n, 2)` samples.
      steps: the training step of each snapshot.
      mixture: a `gamedyn.data.Mixture` (`centers`, `std`).
      title: figure title.
      threshold: radius of the circles, in units of the std.
      size: inches per panel.

    Returns:
      The matplotlib figure.
    """
    import matplotlib.pyplot as plt
    from matplotlib.lines import Line2D

    snapshots = np.asarray(snapshots)
    if snapshots.ndim != 3 or snapshots.shape[-1] != 2:
        raise ValueError(
            f"snapshots: expected shape (num_snapshots, n, 2), got {snapshots.shape}"
        )
    if len(steps) != snapshots.shape[0]:
        raise ValueError(
            f"steps: expected {snapshots.shape[0]} steps (one per snapshot), got "
            f"{len(steps)}"
        )
    centers = np.asarray(mixture.centers)
    extent = np.abs(centers).max() * 1.5 + 0.5
    n = snapshots.shape[0]
    fig, axes = plt.subplots(1, n, figsize=(size * n, size + 0.4), squeeze=False)
    for ax, x, step in zip(axes[0], snapshots, steps, strict=True):
        for c in centers:
            ax.add_patch(
                plt.Circle(
                    c,
                    threshold * mixture.std,
                    fill=False,
                    ec=MODE_COLOR,
                    lw=0.5,
                    alpha=0.6,
                    zorder=1,
                )
            )
        ax.scatter(
            centers[:, 0],
            centers[:, 1],
            marker="o",
            facecolors="none",
            edgecolors=MODE_COLOR,
            s=25,
            linewidths=0.9,
            zorder=2,
            label=f"modes (circles: {threshold:g} std)",
        )
        ax.scatter(
            x[:, 0],
            x[:, 1],
            s=3,
            c=SAMPLE_COLOR,
            alpha=0.5,
            linewidths=0,
            zorder=3,
            label="generated",
        )
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.set_title(f"step {int(step)}", fontsize=9)
        ax.set_xlabel("$x_1$", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("$x_2$", fontsize=8)
    if title:
        fig.suptitle(title, fontsize=10)
    handles = [  # legend markers a little larger than the points they stand for
        Line2D([], [], ls="none", marker="o", mfc="none", mec=MODE_COLOR, ms=6),
        Line2D([], [], ls="none", marker="o", color=SAMPLE_COLOR, alpha=0.6, ms=3),
    ]
    labels = [c.get_label() for c in axes[0, 0].collections[-2:]]
    style.figure_legend(fig, axes[0], handles, labels, fontsize=8)
    return fig


def plot_mode_histogram(counts: np.ndarray, ax=None, *, label: str | None = None):
    """Bar chart of high-quality samples per mode (from
    `gamedyn.metrics.mode_counts`), with the uniform level dashed.

    Args:
      counts: `(K,)` samples per mode.
      ax: matplotlib axes (default: the current ones).
      label: legend label of the bars (its encoding,
        `gamedyn.plotting.encoding`, gives their colour).

    Returns:
      the axes.
    """
    import matplotlib.pyplot as plt

    counts = np.asarray(counts)
    if counts.ndim != 1:
        raise ValueError(f"counts: expected shape (K,), got {counts.shape}")
    ax = plt.gca() if ax is None else ax
    color = style.encoding(label)["color"] if label else style.PALETTE[0]
    ax.bar(np.arange(len(counts)), counts, color=color, label=label, zorder=2)
    if counts.sum() > 0:
        level = counts.sum() / len(counts)
        ax.axhline(level, ls="--", c="0.3", lw=1, zorder=3, label="uniform")
    else:
        ax.text(
            0.5,
            0.5,
            "no high-quality samples",
            transform=ax.transAxes,
            ha="center",
            va="center",
            color="0.4",
        )
    ax.set_xticks(np.arange(len(counts)))
    ax.set_xlabel("mode $k$")
    ax.set_ylabel("high-quality samples")
    ax.grid(axis="y", alpha=0.3, zorder=0)
    style.legend(ax, fontsize=8)
    return ax

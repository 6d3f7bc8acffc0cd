"""Figures of the mixture-of-Gaussians benchmark: samples over the true modes."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


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

    Each panel shows one snapshot's samples (black dots) with the mixture's centres
    (red crosses) and circles of radius ``threshold * std`` (the high-quality region
    of :func:`gamedyn.metrics.mode_coverage`).

    Args:
      snapshots: ``(num_snapshots, n, 2)`` samples.
      steps: the training step of each snapshot.
      mixture: a :class:`gamedyn.data.Mixture` (``centers``, ``std``).
      title: figure title.
      threshold: radius of the circles, in units of the std.
      size: inches per panel.

    Returns:
      The matplotlib figure.
    """
    import matplotlib.pyplot as plt

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
        ax.scatter(x[:, 0], x[:, 1], s=2, c="k", alpha=0.4, label="generated")
        ax.scatter(
            centers[:, 0], centers[:, 1], marker="x", c="C3", s=25, label="modes"
        )
        for c in centers:
            ax.add_patch(
                plt.Circle(c, threshold * mixture.std, fill=False, ec="C3", lw=0.6)
            )
        ax.set_xlim(-extent, extent)
        ax.set_ylim(-extent, extent)
        ax.set_aspect("equal")
        ax.set_title(f"step {int(step)}", fontsize=9)
        ax.set_xlabel("$x_1$", fontsize=8)
        ax.tick_params(labelsize=7)
    axes[0, 0].set_ylabel("$x_2$", fontsize=8)
    axes[0, -1].legend(loc="lower right", fontsize=7, markerscale=3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    return fig


def plot_mode_histogram(counts: np.ndarray, ax=None, *, label: str | None = None):
    """Bar chart of high-quality samples per mode (from
    :func:`gamedyn.metrics.mode_counts`), with the uniform level dashed."""
    import matplotlib.pyplot as plt

    counts = np.asarray(counts)
    if counts.ndim != 1:
        raise ValueError(f"counts: expected shape (K,), got {counts.shape}")
    ax = plt.gca() if ax is None else ax
    ax.bar(np.arange(len(counts)), counts, label=label)
    if counts.sum() > 0:
        ax.axhline(counts.sum() / len(counts), ls="--", c="0.4", label="uniform")
    ax.set_xlabel("mode")
    ax.set_ylabel("high-quality samples")
    ax.legend(fontsize=8)
    return ax

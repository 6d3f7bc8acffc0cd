"""Plots for image GANs: sample grids, FID curves, top-k spectra at checkpoints."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def image_grid(images, nrow: int = 10, pad: int = 2) -> np.ndarray:
    """Tiles ``(n, h, w[, 1])`` images into one 2-D array, ``nrow`` per row.

    Float images are read as ``[-1, 1]``, uint8 as ``0..255``; the grid is in
    ``[0, 1]`` with a white ``pad``.
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
      images: ``(n, 28, 28[, 1])``, float in [-1, 1] or uint8.
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
    steps: Sequence[int], fid: Sequence[float], ax=None, label: str | None = None
):
    """FID against training steps (log scale).

    Returns:
      the axes.
    """
    ax = _ax(ax)
    ax.plot(np.asarray(steps), np.asarray(fid), marker="o", label=label)
    ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel("FID (MNIST classifier features)")
    ax.set_title("FID during training")
    ax.grid(True, alpha=0.3)
    if label:
        ax.legend()
    return ax


def plot_complex_eigenvalues(eigenvalues, ax=None, label: str | None = None, **kw):
    """Eigenvalues as points of the complex plane (Berard et al. 2020, Fig. 4).

    Args:
      eigenvalues: complex array, or ``[[re, im], ...]``.
      ax: matplotlib axes.
      label: legend label.
      kw: passed to ``ax.scatter``.

    Returns:
      the axes.
    """
    ax = _ax(ax)
    lam = np.asarray(eigenvalues)
    if lam.ndim == 2 and lam.shape[-1] == 2 and not np.iscomplexobj(lam):
        lam = lam[:, 0] + 1j * lam[:, 1]
    ax.scatter(lam.real, lam.imag, label=label, **kw)
    ax.axhline(0, color="k", lw=0.5)
    ax.axvline(0, color="k", lw=0.5)
    ax.set_xlabel("real part")
    ax.set_ylabel("imaginary part")
    return ax


def plot_spectra(records: Sequence[dict], fig=None):
    """The spectra of :func:`gamedyn.experiments.mnist.spectra`, one colour per
    checkpoint.

    Left: the game Jacobian's top-k eigenvalues in the complex plane (rotation shows
    as large imaginary parts). Middle and right: the top-k and bottom-k eigenvalues of
    the generator's and the discriminator's Hessians, sorted (negative ones mean the
    point is not a local minimum for that player). As in Berard et al. 2020.

    Returns:
      the figure.
    """
    import matplotlib.pyplot as plt

    if not records:
        raise ValueError("records: expected at least one checkpoint's spectra")
    if fig is None:
        fig = plt.figure(figsize=(15, 4.5))
    axes = fig.subplots(1, 3)
    cmap = plt.get_cmap("viridis")
    for j, rec in enumerate(records):
        color = cmap(j / max(1, len(records) - 1))
        plot_complex_eigenvalues(
            rec["jacobian"], axes[0], label=f"step {rec['step']}", color=color, s=18
        )
        for ax, name in zip(axes[1:], ("g", "d")):
            vals = np.sort(
                np.concatenate(
                    [rec[f"hessian_{name}_bottom"], rec[f"hessian_{name}_top"]]
                )
            )
            ax.plot(vals, marker=".", color=color, label=f"step {rec['step']}")
    axes[0].set_title("game Jacobian: top-k eigenvalues")
    axes[0].legend(fontsize="small")
    for ax, who in zip(axes[1:], ("generator", "discriminator")):
        ax.axhline(0, color="k", lw=0.5)
        ax.set_title(f"{who} Hessian: bottom-k and top-k eigenvalues")
        ax.set_xlabel("index (sorted)")
        ax.set_ylabel("eigenvalue")
        ax.set_yscale("symlog", linthresh=1e-3)
        ax.legend(fontsize="small")
    fig.tight_layout()
    return fig

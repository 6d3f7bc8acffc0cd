"""Spectra in the complex plane with the stability regions of update rules drawn,
spectral radius against step size, path-angle plots."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from gamedyn.analysis.stability import SPECTRAL_RULES, PathAngle, step_radius

_COLORS = {
    "simultaneous": "tab:blue",
    "extragradient": "tab:green",
    "optimistic": "tab:orange",
    "momentum": "tab:purple",
    "alternating": "tab:red",
    "consensus": "tab:brown",
}


def _ax(ax):
    if ax is None:
        import matplotlib.pyplot as plt

        ax = plt.gca()
    return ax


def _region_grid(bounds, num, h, rule, momentum):
    x0, x1, y0, y1 = bounds
    re, im = np.meshgrid(np.linspace(x0, x1, num), np.linspace(y0, y1, num))
    rho = step_radius(h * (re + 1j * im), rule, momentum=momentum)
    return re, im, rho


def plot_stability_region(
    rule: str,
    step_size: float = 1.0,
    ax=None,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    momentum: float = 0.0,
    num: int = 400,
    color: str | None = None,
    fill: bool = True,
    label: str | None = None,
):
    """Draws ``{lambda : max |mu(h lambda)| < 1}``, the eigenvalues of ``J`` for which
    the rule's step of size ``h`` contracts (see
    :func:`gamedyn.analysis.multipliers`). With ``step_size=1`` the axes are
    ``z = h lambda``.

    Args:
      rule: one of :data:`gamedyn.analysis.SPECTRAL_RULES`.
      step_size: ``h``; the region scales as ``1 / h``.
      ax: matplotlib axes (default: the current ones).
      bounds: ``(re_min, re_max, im_min, im_max)`` (default ``[-1, 3] x [-2, 2] / h``).
      momentum: ``beta`` for ``"momentum"``.
      num: grid points per axis.
      color: colour (default one per rule).
      fill: shade the region (else draw its boundary only).
      label: legend label (default the rule's name).

    Returns:
      the axes.
    """
    ax = _ax(ax)
    if rule not in SPECTRAL_RULES:
        raise ValueError(f"rule: expected one of {SPECTRAL_RULES}, got {rule!r}")
    if bounds is None:
        bounds = (-1.0 / step_size, 3.0 / step_size, -2.0 / step_size, 2.0 / step_size)
    color = color or _COLORS.get(rule, "tab:gray")
    re, im, rho = _region_grid(bounds, num, step_size, rule, momentum)
    if fill:
        ax.contourf(re, im, rho, levels=[0.0, 1.0], colors=[color], alpha=0.25)
    ax.contour(re, im, rho, levels=[1.0], colors=[color], linewidths=1.5)
    ax.plot(
        [],
        [],
        color=color,
        lw=6 if fill else 1.5,
        alpha=0.4 if fill else 1.0,
        label=label or rule,
    )
    ax.set_xlim(bounds[0], bounds[1])
    ax.set_ylim(bounds[2], bounds[3])
    return ax


def plot_eigenvalues(
    eigenvalues,
    ax=None,
    *,
    rule: str | None = None,
    step_size: float | None = None,
    momentum: float = 0.0,
    reference=None,
    label: str = "eigenvalues of J",
    title: str | None = None,
    bounds: tuple[float, float, float, float] | None = None,
):
    """Eigenvalues of a game Jacobian in the complex plane, optionally with the
    stability region of ``rule`` at step size ``step_size`` (an eigenvalue inside it is
    contracted by that step) and reference values (e.g. closed forms) as rings.

    Args:
      eigenvalues: complex array.
      ax: matplotlib axes (default: the current ones).
      rule: draw this rule's stability region (needs ``step_size``).
      step_size: the step size ``h`` of the region.
      momentum: ``beta`` for ``"momentum"``.
      reference: complex array drawn as open circles (labelled "closed form").
      label: legend label of the eigenvalues.
      title: axes title.
      bounds: ``(re_min, re_max, im_min, im_max)`` (default: around the points and
        the region).

    Returns:
      the axes.
    """
    ax = _ax(ax)
    lam = np.ravel(np.asarray(eigenvalues, np.complex128))
    pts = (
        lam
        if reference is None
        else np.concatenate([lam, np.ravel(np.asarray(reference, np.complex128))])
    )
    if bounds is None:
        r = 1.2 * max(float(np.max(np.abs(pts))) if pts.size else 1.0, 1e-3)
        if step_size is not None:
            r = max(r, 2.2 / step_size)
        bounds = (-r, r, -r, r)
    if rule is not None:
        if step_size is None:
            raise ValueError("step_size: expected a positive number when rule is given")
        plot_stability_region(
            rule,
            step_size,
            ax,
            bounds=bounds,
            momentum=momentum,
            label=f"{rule} stable, h={step_size:g}",
        )
    ax.axhline(0.0, color="0.5", lw=0.8)
    ax.axvline(0.0, color="0.5", lw=0.8)
    ax.scatter(lam.real, lam.imag, s=18, color="k", zorder=3, label=label)
    if reference is not None:
        ref = np.ravel(np.asarray(reference, np.complex128))
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
    ax.set_xlabel(r"Re $\lambda$")
    ax.set_ylabel(r"Im $\lambda$")
    ax.set_aspect("equal", adjustable="box")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small", loc="upper left")
    return ax


def plot_spectral_radii(
    step_sizes,
    radii: Mapping[str, Sequence[float]],
    ax=None,
    *,
    title: str | None = None,
):
    """Spectral radius of the linearised step against the step size, one curve per
    rule, with the convergence threshold 1 (e.g. from
    :func:`gamedyn.analysis.spectral_radii`).

    Returns:
      the axes.
    """
    ax = _ax(ax)
    for name, rho in radii.items():
        ax.plot(step_sizes, rho, label=name, color=_COLORS.get(name))
    ax.axhline(1.0, color="k", ls="--", lw=1, label="threshold")
    ax.set_xlabel("step size h")
    ax.set_ylabel("spectral radius of the step")
    if title:
        ax.set_title(title)
    ax.legend(fontsize="small")
    return ax


def plot_path_angle(result: PathAngle, ax=None, *, title: str | None = None):
    """Path-angle plot (Berard et al. 2020): the cosine between ``xi`` and the
    segment, and ``||xi||`` on a twin axis, against the position ``alpha``.

    Returns:
      the axes of the cosine.
    """
    ax = _ax(ax)
    ax.plot(result.alpha, result.cosine, color="tab:blue", label="cosine (all)")
    for i in range(result.player_cosines.shape[1]):
        ax.plot(
            result.alpha,
            result.player_cosines[:, i],
            lw=0.8,
            ls=":",
            label=f"cosine (player {i})",
        )
    ax.axvline(0.0, color="0.6", lw=0.8)
    ax.axvline(1.0, color="0.6", lw=0.8)
    ax.set_xlabel(r"$\alpha$ (0: start, 1: end)")
    ax.set_ylabel("cos(xi, end - start)")
    twin = ax.twinx()
    twin.plot(result.alpha, result.grad_norm, color="tab:red", lw=1, label="||xi||")
    twin.set_ylabel("||xi||", color="tab:red")
    ax.legend(fontsize="small", loc="lower left")
    if title:
        ax.set_title(title)
    return ax

"""Figures of the `mescheder2017` gallery entry (consensus optimization)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.gallery import _common

RULES = {
    "simultaneous": "simultaneous gradient ascent (RMSProp)",
    "consensus": "consensus optimization (γ = 10)",
}


def _eigenvalues(d: dict) -> Figure:
    fig, axes = _common.figure(2, width=5.0, height=4.4)
    a, b = axes[0]
    sigma = np.asarray(d["sigma"], float)
    gammas = [float(g) for g in d["gammas"]]
    top = max(gammas)
    for s in sigma:  # the closed form's path as gamma grows: -gamma s^2 +- i s
        for sign in (1, -1):
            a.plot(
                [0, -top * s**2],
                [sign * s, sign * s],
                color="0.6",
                lw=1.0,
                ls="--",
                zorder=1,
            )
    a.plot(
        [],
        [],
        color="0.6",
        lw=1.0,
        ls="--",
        label=r"paper: $-\gamma\sigma^2 \pm i\sigma$, $\gamma \geq 0$",
    )
    labels = [rf"gamedyn, $\gamma = {g:g}$" for g in gammas]
    enc = style.encodings(labels)
    for g, label in zip(gammas, labels):
        ours = np.asarray(d["spectra"][str(g)]["ours"])
        a.plot(
            ours.real,
            ours.imag,
            ls="none",
            marker=enc[label]["marker"],
            color=enc[label]["color"],
            ms=7,
            mfc="none",
            mew=1.4,
            label=label,
        )
    a.axvline(0.0, color="k", lw=0.8)
    a.set_xscale("symlog", linthresh=0.02, linscale=0.3)
    left = top * sigma.max() ** 2
    a.set_xlim(-1.8 * left, 0.01)
    ticks = [t for t in (-10.0, -3.0, -1.0, -0.3, -0.1, -0.03) if t > -1.8 * left]
    a.set_xticks([*ticks, 0.0], [f"{t:g}" for t in ticks] + ["0"])
    a.minorticks_off()
    a.set_xlabel(r"Re $\lambda$ (symmetric log)")
    a.set_ylabel(r"Im $\lambda$")
    a.grid(alpha=0.3)
    _common.panel_title(
        a, "a", r"eigenvalues of $v' - \gamma v'^\top v'$ on $x^\top A y$"
    )
    gam = np.asarray(gammas[1:])
    ratio = [
        np.max(
            np.abs(
                np.asarray(d["spectra"][str(g)]["ours"]).imag
                / np.asarray(d["spectra"][str(g)]["ours"]).real
            )
        )
        for g in gam
    ]
    grid = np.geomspace(gam.min() / 2, gam.max() * 2, 50)
    b.plot(
        grid,
        1.0 / (grid * sigma.min()),
        color="k",
        lw=1.2,
        label=r"paper: $1 / (\gamma \sigma_{\min})$",
    )
    b.plot(
        gam, ratio, "o", color="tab:purple", mfc="white", ms=7, mew=1.4, label="gamedyn"
    )
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_xlabel(r"consensus weight $\gamma$")
    b.set_ylabel(r"largest $|\mathrm{Im}\,\lambda / \mathrm{Re}\,\lambda|$")
    b.grid(alpha=0.3, which="both")
    _common.panel_title(b, "b", "rotation against damping")
    style.legend(b)
    fig.suptitle(
        "Mescheder et al. 2017, Sections 3-4: consensus moves the "
        "eigenvalues off the imaginary axis",
        fontsize="medium",
    )
    style.figure_legend(fig, [a], where="below", ncol=3)
    return fig


def _mog(m: dict) -> Figure:
    steps = np.asarray(m["steps"])
    centers = np.asarray(m["centers"])
    ncols = len(steps)
    fig, axes = _common.figure(ncols, 2, width=2.4, height=2.6)
    for row, (rule, title) in enumerate(RULES.items()):
        run = m["runs"][rule]
        for col, step in enumerate(steps):
            ax = axes[row, col]
            x = np.asarray(run["samples"][col], float)
            ok = np.all(np.isfinite(x), axis=1)
            ax.plot(
                x[ok, 0],
                x[ok, 1],
                ".",
                ms=1.5,
                alpha=0.5,
                color=style.encoding(rule)["color"],
            )
            ax.plot(centers[:, 0], centers[:, 1], "x", color="k", ms=5, mew=1.0)
            ax.set_xlim(-1.6, 1.6)
            ax.set_ylim(-1.6, 1.6)
            ax.set_aspect("equal")
            ax.set_xticks([-1, 0, 1])
            ax.set_yticks([-1, 0, 1])
            ax.set_title(
                f"step {int(step)}: {int(run['modes'][col])}/8 modes", fontsize="small"
            )
            if col == 0:
                ax.set_ylabel(f"{title}\n$x_2$", fontsize="small")
            if row == 1:
                ax.set_xlabel("$x_1$")
    fig.suptitle(
        "Section 5: the ring of 8 Gaussians (std 0.01); black crosses: the modes",
        fontsize="medium",
    )
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """`eigenvalues` (before/after consensus on the bilinear game, and the
    imaginary-to-real ratio against `gamma`) and, in the full setting, `mog`
    (samples of both rules at the snapshots)."""
    out = {"eigenvalues": _eigenvalues(rep.data)}
    if "mog" in rep.data:
        out["mog"] = _mog(rep.data["mog"])
    return out

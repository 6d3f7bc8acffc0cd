"""Figures of the `berard2020` entry: path-angle and spectra at the start and at
the end of training (Berard et al. 2020, in the layout of their
`plot_path_tools.py`)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style

WHEN = {"start": ("tab:gray", "o", "start of training"), "end": ("tab:red", "s", "end")}
"""Colour, marker and label of the two checkpoints."""


def path_angle(rep: Reproduction) -> Figure:
    """Their path-angle plot: the cosine above, `||xi||` (log scale) below, on a
    shared `alpha` axis, sign changes of the cosine dashed."""
    d = rep.data
    alpha = np.asarray(d["alpha"], float)
    cos = np.asarray(d["cosine"], float)
    fig = Figure(figsize=(5.6, 5.0))
    top, bottom = fig.subplots(2, 1, sharex=True)
    top.plot(
        alpha, cos, color="tab:red", lw=1.6, label=r"$\cos(\xi(w_\alpha), w_0 - w_1)$"
    )
    players = np.asarray(d["player_cosines"], float)
    for i, name in enumerate(("generator", "discriminator")):
        enc = style.PLAYER_STYLES[name]
        top.plot(
            alpha,
            players[:, i],
            color=enc["color"],
            ls=enc["linestyle"],
            lw=1.0,
            label=f"cosine, {name} only",
        )
    flips = np.flatnonzero(np.sign(cos[1:]) * np.sign(cos[:-1]) < 0)
    for i in flips:
        top.axvline(alpha[i + 1], color="k", ls="--", lw=0.8)
    top.axhline(0.0, color="k", ls="--", lw=0.8)
    top.set_ylim(-1.05, 1.05)
    top.set_ylabel("path-angle (cosine)")
    top.set_title(
        r"path from the start $w_0$ ($\alpha = 0$) to the end $w_1$ ($\alpha = 1$)",
        fontsize=10,
    )
    bottom.plot(
        alpha, d["grad_norm"], color="tab:purple", lw=1.4, label=r"$\|\xi(w_\alpha)\|$"
    )
    bottom.set_yscale("log")
    for a in (0.0, 1.0):
        bottom.axvline(a, color="k", ls="--", lw=0.8)
    bottom.set_ylabel(r"$\|\xi(w_\alpha)\|$")
    bottom.set_xlabel(r"$\alpha$ on $w_\alpha = (1 - \alpha) w_0 + \alpha w_1$")
    fig.suptitle(
        "NSGAN on a 1-D mixture of Gaussians (Berard et al. 2020)", fontsize=10
    )
    style.figure_legend(fig, [top, bottom])
    return fig


def eigenvalues(rep: Reproduction) -> Figure:
    """The top-k eigenvalues of the game Jacobian (complex plane) and of each
    player's Hessian (bars), at the start and at the end of training."""
    d = rep.data
    fig = Figure(figsize=(12.5, 4.2))
    game, gen, dis = fig.subplots(1, 3, gridspec_kw={"width_ratios": [1.25, 1, 1]})
    for when, (color, marker, label) in WHEN.items():
        lam = np.asarray(d["game_eigs"][when], complex)
        game.scatter(
            lam.real,
            lam.imag,
            color=color,
            marker=marker,
            s=36,
            alpha=0.85,
            label=f"{label}",
            zorder=3,
        )
    game.axvline(0.0, color="k", lw=0.8, ls=":")
    game.axhline(0.0, color="k", lw=0.8, ls=":")
    game.set_xscale("symlog", linthresh=1.0, linscale=0.6)
    game.set_xlabel(r"Re $\lambda$ (symmetric log scale)")
    game.set_ylabel(r"Im $\lambda$")
    game.set_title(f"game Jacobian: top-{d['k']} by magnitude", fontsize=10)
    style.legend(game, fallback="below")
    width = 0.4
    for ax, key, name in (
        (gen, "gen_eigs", "generator"),
        (dis, "dis_eigs", "discriminator"),
    ):
        for j, (when, (color, _, label)) in enumerate(WHEN.items()):
            v = np.sort(np.asarray(d[key][when], float))[::-1]
            ax.bar(
                np.arange(v.size) + (j - 0.5) * width,
                v,
                width,
                color=color,
                label=label,
            )
        ax.axhline(0.0, color="k", lw=0.8)
        ax.set_xlabel("top-k by magnitude, sorted")
        ax.set_ylabel("eigenvalue")
        ax.set_yscale("symlog", linthresh=1e-3, linscale=0.5)
        ax.set_title(f"{name}: Hessian of its loss", fontsize=10)
        style.legend(ax)
    fig.suptitle(
        "eigenvalues at the start and at the end of training (Berard et al. 2020)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def samples(rep: Reproduction) -> Figure:
    """Histograms of the data and of the generator at the start and at the end."""
    d = rep.data
    fig = Figure(figsize=(5.6, 3.4))
    ax = fig.subplots()
    s = d["samples"]
    bins = np.linspace(-7, 7, 71)
    ax.hist(s["data"], bins=bins, density=True, color="0.75", label="data")
    for when, (color, _, label) in WHEN.items():
        ax.hist(
            s[when],
            bins=bins,
            density=True,
            histtype="step",
            lw=1.5,
            color=color,
            label=f"generator, {label}",
        )
    ax.set_xlabel("$x$")
    ax.set_ylabel("density")
    ax.set_title(r"data $\frac{1}{2}N(-2, 1) + \frac{1}{2}N(2, 1)$", fontsize=10)
    style.legend(ax)
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The entry's figures, keyed by file stem."""
    return {
        "path_angle": path_angle(rep),
        "eigenvalues": eigenvalues(rep),
        "samples": samples(rep),
    }

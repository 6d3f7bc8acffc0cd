"""Figures of the `nagarajan2017` entry: the generator's gradient penalty on the
Dirac-GAN (Nagarajan & Kolter 2017)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.analysis import FieldGrid
from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.trajectories import plot_vector_field

PENALTY_COLORS = {"plain": "tab:red", "penalty": "tab:blue"}
"""The runs without the penalty (diverging) and with it."""


def streamlines(rep: Reproduction) -> Figure:
    """The descent field and a simultaneous-GD run: GAN and WGAN (rows), without
    and with the penalty (columns)."""
    d = rep.data
    labels = d["labels"]
    names = list(d["losses"])
    fig = Figure(figsize=(7.4, 7.2))
    axes = fig.subplots(len(names), 2, squeeze=False)
    for row, name in zip(axes, names, strict=True):
        mine = [x for x in labels if x.startswith(f"{name},")]
        for ax, label in zip(row, mine, strict=True):
            plot_vector_field(FieldGrid(**d["fields"][label]), ax)
            p = np.asarray(d["paths"][label], float)
            plain = label in d["plain"]
            color = PENALTY_COLORS["plain" if plain else "penalty"]
            ax.plot(
                p[:, 0],
                p[:, 1],
                color=color,
                lw=1.1,
                label=(
                    f"simultaneous GD, h = {d['step']:g}"
                    + (" (diverges)" if plain else " (converges)")
                ),
            )
            ax.plot(*d["start"], "k*", ms=9, zorder=5, label="start (1, 1)")
            ax.plot(0.0, 0.0, "kx", ms=7, mew=1.5, zorder=5, label="equilibrium")
            eta = 0.0 if plain else d["eta"]
            ax.set_title(rf"{name}, $\eta = {eta:g}$", fontsize=10)
            ax.set_xlabel(r"generator $\theta$")
            ax.set_aspect("equal")
        row[0].set_ylabel(r"discriminator $\psi$")
    fig.suptitle(
        r"Dirac-GAN with the generator penalty $\eta\,\|\nabla_\psi V\|^2$ "
        "(Nagarajan & Kolter 2017)",
        fontsize=10,
    )
    style.figure_legend(fig, axes)
    return fig


def spectrum(rep: Reproduction) -> Figure:
    """The descent field's eigenvalues at the equilibrium as the penalty grows:
    the closed form of Section 5 (line) and gamedyn's (markers)."""
    d = rep.data
    names = list(d["losses"])
    fig = Figure(figsize=(4.6 * len(names), 4.3))
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    for ax, name in zip(axes, names, strict=True):
        fp0 = d["losses"][name]["fp0"]
        locus = np.asarray(d["locus"][name], complex)
        for j in range(locus.shape[1]):
            ax.plot(
                locus[:, j].real,
                locus[:, j].imag,
                color="0.35",
                lw=1.2,
                label=r"closed form, $\eta$ from 0 up" if j == 0 else None,
            )
        etas = np.asarray(d["etas"][name], float)
        ours = np.asarray(d["eig_ours"][name], complex)
        points = ax.scatter(
            ours.real.ravel(),
            ours.imag.ravel(),
            c=np.repeat(etas, ours.shape[1]),
            cmap="viridis",
            s=30,
            zorder=4,
            edgecolors="k",
            linewidths=0.5,
            label="gamedyn eigenvalues",
        )
        fig.colorbar(points, ax=ax, label=r"penalty weight $\eta$", shrink=0.8)
        ax.axvline(0.0, color="k", lw=0.8, ls=":")
        ax.set_xlabel(r"Re $\lambda$ (stable: $> 0$)")
        ax.set_ylabel(r"Im $\lambda$")
        ax.set_title(
            rf"{name}: $f'(0) = {fp0:g}$; $\lambda = \eta f'^2 \pm i f'"
            r"\sqrt{1 - \eta^2 f'^2}$",
            fontsize=9,
        )
        style.legend(ax, fallback="below")
    fig.suptitle(
        "eigenvalues of the descent field at the equilibrium (Nagarajan & Kolter "
        "2017, Section 5)",
        fontsize=10,
    )
    fig.tight_layout()
    return fig


def distance(rep: Reproduction) -> Figure:
    """Distance to the equilibrium of the four runs, with the rates from the
    paper's Jacobian."""
    d = rep.data
    fig = Figure(figsize=(5.8, 4.0))
    ax = fig.subplots()
    labels = d["labels"]
    enc = style.encodings(labels)
    for i, label in enumerate(labels):
        r = np.asarray(d["distance"][label], float)
        t = np.arange(r.size)
        ax.plot(
            t,
            r,
            lw=1.3,
            ms=5,
            markevery=style.markevery(t.size, i, len(labels)),
            label=label.replace("eta", r"$\eta$")
            + rf": $\rho$ = {d['rate_paper'][label]:.4f}",
            **enc[label],
        )
    ax.set_yscale("log")
    ax.set_xlabel(f"simultaneous GD step (h = {d['step']:g})")
    ax.set_ylabel(r"distance to the equilibrium $\|(\theta, \psi)\|$")
    ax.set_title(
        r"$\rho = \sqrt{1 - 2 h \eta f'(0)^2 + h^2 f'(0)^2}$ per step", fontsize=10
    )
    style.legend(ax)
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The entry's figures, keyed by file stem."""
    return {
        "streamlines": streamlines(rep),
        "spectrum": spectrum(rep),
        "distance": distance(rep),
    }

"""Figures of the `mescheder2018` gallery entry (the Dirac-GAN study)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.gallery import _common

RULES = {"simultaneous": "SimGD", "alternating": "AltGD (generator first)"}


def _panel(ax, run: dict, letter: str, title: str) -> None:
    enc = style.encoding(f"{run['rule']}/{run['variant']}")
    xy = np.stack([run["theta"], run["psi"]], axis=1)
    _common.field_paths(
        ax,
        run["field"],
        {title: xy},
        xlabel=r"$\theta$ (generator)",
        ylabel=r"$\psi$ (discriminator)",
        styles={title: {**enc, "color": "tab:blue", "linestyle": "-"}},
    )
    if run.get("clip") is not None:  # the forbidden values of psi (WGAN clipping)
        lo, hi = ax.get_ylim()
        ax.axhspan(run["clip"], hi, color="0.85", zorder=0)
        ax.axhspan(lo, -run["clip"], color="0.85", zorder=0)
        ax.set_ylim(lo, hi)
    _common.panel_title(ax, letter, f"{title}\n{run['outcome']}")


def _grid(runs: list[dict], rule: str, heading: str) -> Figure:
    chosen = [r for r in runs if r["rule"] == rule]
    n = len(chosen)
    ncols = min(n, 3 if n > 4 else n)
    nrows = -(-n // ncols)
    fig, axes = _common.figure(ncols, nrows, width=3.3, height=3.6)
    for ax, letter, run in zip(axes.ravel(), "abcdefghijkl", chosen):
        _panel(ax, run, letter, run["name"])
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    fig.suptitle(heading, fontsize="medium")
    fig.tight_layout()
    return fig


def _spectra(spectra: dict) -> Figure:
    items = list(spectra.items())
    ncols = 4
    nrows = -(-len(items) // ncols)
    fig, axes = _common.figure(ncols, nrows, width=3.0, height=3.0)
    for ax, letter, (name, s) in zip(axes.ravel(), "abcdefghijkl", items):
        paper, ours = np.asarray(s["paper"]), np.asarray(s["ours"])
        ax.plot(
            paper.real,
            paper.imag,
            "o",
            ms=11,
            mfc="none",
            mec="k",
            mew=1.2,
            label="paper (closed form)",
        )
        ax.plot(
            ours.real, ours.imag, "x", ms=7, color="tab:red", mew=1.5, label="gamedyn"
        )
        if s["kind"] == "operator":
            t = np.linspace(0, 2 * np.pi, 200)
            ax.plot(np.cos(t), np.sin(t), color="0.6", lw=0.8, ls="--")
        else:
            ax.axvline(0.0, color="0.6", lw=0.8, ls="--")
        anchor = 1.0 if s["kind"] == "operator" else 0.0  # the stability boundary
        values = np.concatenate([paper, ours, [anchor]])
        span = max(np.max(np.abs(values - values.mean())), 0.3)
        c = values.mean()
        ax.set_xlim(c.real - 1.3 * span, c.real + 1.3 * span)
        ax.set_ylim(c.imag - 1.3 * span, c.imag + 1.3 * span)
        ax.set_aspect("equal")
        ax.set_xlabel(r"Re $\lambda$")
        ax.set_ylabel(r"Im $\lambda$")
        ax.grid(alpha=0.3)
        _common.panel_title(ax, letter, name)
    for ax in axes.ravel()[len(items) :]:
        ax.set_visible(False)
    fig.suptitle(
        "Eigenvalues at the equilibrium, the paper's ascent convention: the "
        "field's Jacobian (stable: Re < 0, dashed), the update operators (stable: "
        "inside the dashed unit circle)",
        fontsize="medium",
    )
    style.figure_legend(fig, list(axes.ravel()[:1]), where="below")
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """`fig1_unregularized` (SimGD and AltGD on the unregularized Dirac-GAN),
    `fig2_altgd` and `fig3_simgd` (every method), `eigenvalues` (the closed
    forms against gamedyn's spectra)."""
    runs = rep.data["runs"]
    fig1, axes = _common.figure(2, width=3.6, height=3.9)
    for ax, letter, rule in zip(axes[0], "ab", RULES):
        run = next(r for r in runs if r["rule"] == rule and r["variant"] == "gan")
        _panel(ax, run, letter, RULES[rule])
    fig1.suptitle("Unregularized Dirac-GAN, h = 0.2, from (1, 1)", fontsize="medium")
    fig1.tight_layout()
    return {
        "fig1_unregularized": fig1,
        "fig2_altgd": _grid(
            runs, "alternating", "Alternating GD (generator first), h = 0.2, 500 steps"
        ),
        "fig3_simgd": _grid(
            runs, "simultaneous", "Simultaneous GD, h = 0.2, 500 steps"
        ),
        "eigenvalues": _spectra(rep.data["spectra"]),
    }

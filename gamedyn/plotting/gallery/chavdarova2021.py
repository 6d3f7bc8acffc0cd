"""Figures of the `chavdarova2021` entry: lookahead-minmax on the bilinear game
(Chavdarova et al. 2021)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style

RULE_OF = {
    "GDA": "simultaneous",
    "GDA eta=1e-4": "simultaneous, eta 1e-4",
    "EG": "extragradient",
    "LA-GDA alpha=0.5": "lookahead, GDA 0.5",
    "LA-GDA alpha=0.4": "lookahead, GDA 0.4",
    "LA-EG alpha=0.5": "lookahead, EG 0.5",
}
"""Each curve's encoding key: the gamedyn rule that runs it (lookahead's colour
for every lookahead curve, told apart by line style and marker)."""

PRETTY = {
    "GDA": r"GDA, $\eta = 0.3$",
    "GDA eta=1e-4": r"GDA, $\eta = 10^{-4}$",
    "EG": r"EG, $\eta = 0.3$",
    "LA-GDA alpha=0.5": r"LA-GDA, $\alpha = 0.5$",
    "LA-GDA alpha=0.4": r"LA-GDA, $\alpha = 0.4$",
    "LA-EG alpha=0.5": r"LA-EG, $\alpha = 0.5$",
}


def _encodings(labels) -> dict:
    enc = style.encodings([RULE_OF[x] for x in RULE_OF])
    return {x: enc[RULE_OF[x]] for x in labels}


def _key(table: dict, alpha: float):
    return table[alpha] if alpha in table else table[str(alpha)]


def distance(rep: Reproduction) -> Figure:
    """The full-batch figure: distance to the optimum against the evaluations,
    beside the first coordinate pair's trajectory."""
    d = rep.data
    labels = d["labels"]
    enc = _encodings(labels)
    fig = Figure(figsize=(10.0, 4.2))
    left, right = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.45, 1]})
    for i, x in enumerate(labels):
        r = np.asarray(d["distance"][x], float)
        t = np.asarray(d["evals"][x])
        left.plot(
            t,
            r,
            label=PRETTY[x],
            lw=1.4,
            ms=5,
            markevery=style.markevery(t.size, i, len(labels)),
            **enc[x],
        )
    left.set_yscale("log")
    left.set_xlabel("vector-field evaluations (GDA 1 per step, EG 2)")
    left.set_ylabel(r"distance to the optimum $\|(x_t, y_t)\|$")
    left.set_title(
        rf"$\min_x \max_y x^\top y$, $d = {d['d']}$, $k = {d['k']}$", fontsize=10
    )
    for i, x in enumerate(d["xy_paths"]):
        p = np.asarray(d["xy_paths"][x], float)[:61]
        right.plot(
            p[:, 0],
            p[:, 1],
            lw=1.1,
            ms=3.5,
            markevery=style.markevery(len(p), i, len(d["xy_paths"]), 10),
            **enc[x],
        )
    right.plot(1.0, 0.0, "k*", ms=9, zorder=5, label="start")
    right.plot(0.0, 0.0, "kx", ms=7, mew=1.5, zorder=5, label="optimum")
    right.set_xlim(-1.6, 1.6)
    right.set_ylim(-1.6, 1.6)
    right.set_aspect("equal")
    right.set_xlabel("$x_1$")
    right.set_ylabel("$y_1$")
    right.set_title("the first coordinate pair, 60 steps", fontsize=10)
    fig.suptitle(
        "Lookahead-minmax on the bilinear game (Chavdarova et al. 2021)", fontsize=11
    )
    style.figure_legend(fig, [left, right])
    return fig


def rate_vs_k(rep: Reproduction) -> Figure:
    """LA-GDA's rate per step against `k`: the closed form and gamedyn's."""
    d = rep.data
    k = np.asarray(d["k_grid"])
    fig = Figure(figsize=(5.4, 3.9))
    ax = fig.subplots()
    ours = d.get("k_ours") or {}
    enc = _encodings(["LA-GDA alpha=0.5", "LA-GDA alpha=0.4"])
    for alpha in d["alphas"]:
        e = enc[f"LA-GDA alpha={alpha:g}"]
        ax.plot(
            k,
            _key(d["k_closed"], alpha),
            color=e["color"],
            ls=e["linestyle"],
            lw=1.4,
            label=rf"$|1 - \alpha + \alpha \mu^k|^{{1/k}}$, $\alpha = {alpha:g}$",
        )
        if ours:
            ax.plot(
                k,
                _key(ours, alpha),
                ls="none",
                marker=e["marker"],
                color=e["color"],
                mfc="none",
                ms=7,
                label=rf"gamedyn spectral radius, $\alpha = {alpha:g}$",
            )
    gda = float(np.sqrt(1 + d["eta"] ** 2))
    ax.axhline(
        gda,
        color=style.encoding("simultaneous")["color"],
        lw=1,
        ls="--",
        label=r"GDA alone: $|\mu| = \sqrt{1 + \eta^2}$",
    )
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label=r"$\rho = 1$")
    ax.set_xlabel("fast steps per lookahead $k$")
    ax.set_ylabel(r"rate per step $\rho$")
    ax.set_title(
        rf"LA-GDA on $x y$, $\eta = {d['eta']:g}$, $\mu = 1 - i\eta$", fontsize=10
    )
    style.legend(ax)
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The entry's figures, keyed by file stem."""
    return {"bilinear_distance": distance(rep), "rate_vs_k": rate_vs_k(rep)}

"""Figures of the `schaefer2019` entry: Figures 2 and 3 of Schäfer & Anandkumar
(2019), and the rates of the updates against the step size."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style

RULE_OF = {
    "GDA": "simultaneous",
    "LCGD": "sga",
    "SGA": "consensus",
    "ConOpt": "consensus",
    "OGDA": "optimistic",
    "CGD": "cgd",
}
"""Each method's encoding: that of the gamedyn rule that runs it."""

LABEL = {
    "SGA": "SGA = ConOpt",
    "GDA": "GDA",
}

FLOOR = 1e-16
"""The lowest distance drawn on the log axes of Figure 3."""

CEILING = 1e16
"""The highest distance drawn on the log axes of Figure 3."""


def _enc(method: str) -> dict:
    return style.encoding(RULE_OF[method])


def _key(table: dict, alpha: float):
    """`table[alpha]`, whether the keys are floats or (from JSON) strings."""
    return table[alpha] if alpha in table else table[str(alpha)]


def fig2_bilinear(rep: Reproduction) -> Figure:
    """Figure 2: the first 50 iterates of every method on `alpha x^T y`."""
    d = rep.data
    alphas = d["alphas"]
    fig = Figure(figsize=(3.3 * len(alphas), 3.6))
    axes = fig.subplots(1, len(alphas), squeeze=False)[0]
    for ax, alpha in zip(axes, alphas, strict=True):
        paths = _key(d["paths"], alpha)
        for i, m in enumerate(d["methods"]):
            p = np.asarray(paths[m])
            ax.plot(
                p[:, 0],
                p[:, 1],
                label=LABEL.get(m, m),
                lw=1.3,
                ms=4,
                markevery=style.markevery(len(p), i, len(d["methods"]), 10),
                **_enc(m),
            )
        ax.plot(*d["start"], "k*", ms=9, zorder=5, label="start")
        ax.plot(0.0, 0.0, "kx", ms=7, mew=1.5, zorder=5, label="equilibrium")
        ax.set_xlim(-2.0, 2.0)
        ax.set_ylim(-2.0, 2.0)
        ax.set_aspect("equal")
        ax.set_xlabel("$x$")
        ax.set_title(rf"$f = {alpha:g}\,x y$, $\eta = {d['eta']:g}$")
    axes[0].set_ylabel("$y$")
    fig.suptitle(
        "Schäfer & Anandkumar 2019, Fig. 2:\nthe first 50 iterations on "
        r"$\alpha\, x y$",
        fontsize=10,
    )
    style.figure_legend(fig, axes)
    return fig


def fig3_separable(rep: Reproduction) -> Figure:
    """Figure 3: distance to the origin on the separable problems, log scale."""
    d = rep.data
    alphas, problems = d["alphas"], list(d["separable"])
    fig = Figure(figsize=(3.2 * len(alphas), 2.8 * len(problems) + 0.4))
    axes = fig.subplots(len(problems), len(alphas), squeeze=False)
    wanted = {"convex-concave": "convergence wanted", "concave-convex": "divergence"}
    formula = {
        "convex-concave": r"{a}\,(x^2 - y^2)",
        "concave-convex": r"{a}\,(-x^2 + y^2)",
    }
    for row, problem in zip(axes, problems, strict=True):
        for ax, alpha in zip(row, alphas, strict=True):
            curves = _key(d["separable"][problem], alpha)
            for i, m in enumerate(d["separable_methods"]):
                r = np.asarray(curves[m], float)
                k = np.arange(r.size)
                label = "GDA = SGA = LCGD = CGD" if m == "GDA" else m
                r = np.where(r >= FLOOR, r, np.nan)  # the line ends at round-off
                ax.plot(
                    k,
                    r,
                    label=label,
                    lw=1.4,
                    ms=4,
                    markevery=style.markevery(r.size, i, 3),
                    **_enc(m),
                )
            ax.set_yscale("log")
            ax.set_ylim(FLOOR, CEILING)
            ax.set_xlabel("iteration $k$")
            f = formula[problem].format(a=f"{alpha:g}")
            ax.set_title(rf"$f = {f}$ ({wanted[problem]})", fontsize=9)
        row[0].set_ylabel(r"$\|(x_k, y_k)\|$")
    fig.suptitle(
        "Schäfer & Anandkumar 2019, Fig. 3:\nseparable problems, where CGD = GDA",
        fontsize=10,
    )
    style.figure_legend(fig, axes)
    return fig


def rates(rep: Reproduction) -> Figure:
    """The rate per step of every method on `x y` against the step size."""
    d = rep.data
    h = np.asarray(d["eta_grid"], float)
    fig = Figure(figsize=(5.6, 4.0))
    ax = fig.subplots()
    ours = d.get("grid_ours") or {}
    for i, m in enumerate(d["methods"]):
        enc = _enc(m)
        closed = np.asarray(d["grid_closed"][m], float)
        ax.plot(
            h,
            closed,
            color=enc["color"],
            ls=enc["linestyle"],
            lw=1.4,
            label=f"{LABEL.get(m, m)}: closed form",
        )
        if m in ours:
            ax.plot(
                h,
                ours[m],
                ls="none",
                marker=enc["marker"],
                color=enc["color"],
                ms=5,
                mfc="none",
                markevery=style.markevery(h.size, i, len(d["methods"]), 12),
                label=f"{LABEL.get(m, m)}: gamedyn",
            )
    ax.axhline(1.0, color="k", lw=0.8, ls=":", label=r"$\rho = 1$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(r"step size $\eta$ (game $x y$; $\gamma = 1$)")
    ax.set_ylabel(r"rate per step $\rho$")
    ax.set_title(r"CGD: $\rho = 1/\sqrt{1 + \eta^2} < 1$ for every $\eta$", fontsize=10)
    style.legend(ax, where="outside")
    fig.tight_layout()
    return fig


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The entry's figures, keyed by file stem."""
    return {
        "fig2_bilinear": fig2_bilinear(rep),
        "fig3_separable": fig3_separable(rep),
        "rates": rates(rep),
    }

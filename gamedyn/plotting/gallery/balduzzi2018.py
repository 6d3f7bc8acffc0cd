"""Figures of the `balduzzi2018` gallery entry (SGA on two-player games)."""

from __future__ import annotations

from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.gallery import _common

STYLES = {
    "gradient descent": style.encoding("simultaneous"),
    "SGA": style.encoding("sga"),
    "SGA (aligned)": style.encoding("sga"),
    "SGA, lambda > 0 imposed": {
        **style.encoding("sga"),
        "color": "tab:red",
        "linestyle": "--",
    },
}


def figures(rep: Reproduction) -> dict[str, Figure]:
    """`games`: one panel per game, the runs over the game's descent field."""
    panels = rep.data["panels"]
    fig, axes = _common.figure(2, 2, width=4.6, height=4.4)
    for ax, letter, p in zip(axes.ravel(), "abcd", panels.values()):
        runs = {label.replace("lambda", "λ"): xy for label, xy in p["paths"].items()}
        styles = {label.replace("lambda", "λ"): STYLES[label] for label in p["paths"]}
        _common.field_paths(
            ax,
            p["field"],
            runs,
            xlabel="$x$ (player 1)",
            ylabel="$y$ (player 2)",
            styles=styles,
        )
        _common.panel_title(
            ax, letter, f"{p['title']}\n$h = {p['step']:g}$, $\\lambda = {p['lam']:g}$"
        )
        style.legend(ax, where="below")
    fig.suptitle(
        "Balduzzi et al. 2018: symplectic gradient adjustment against gradient descent",
        fontsize="medium",
    )
    fig.tight_layout()
    return {"games": fig}

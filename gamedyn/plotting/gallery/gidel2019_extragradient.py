"""Figures of the `gidel2019_extragradient` gallery entry."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.gallery import _common

NAMES = {
    "simultaneous": "simultaneous",
    "alternated": "alternating (θ first)",
    "extrapolation": "extragradient",
}


def figures(rep: Reproduction) -> dict[str, Figure]:
    """`bilinear`: (a) the iterates and their uniform averages in the
    `(theta, phi)` plane (markers every 20 iterations, as in the paper's Figure 1),
    (b) their distances to the equilibrium against the step, with `1/t` and the
    closed-form rates."""
    d = rep.data
    labels = []
    for k in NAMES:
        labels += [NAMES[k], f"{NAMES[k]}, average"]
    enc = style.encodings(NAMES.values())
    for name in NAMES.values():  # an average: its rule's colour, dotted, open marker
        enc[f"{name}, average"] = {**enc[name], "linestyle": ":", "mfc": "white"}
    fig, axes = _common.figure(2, width=5.0, height=4.6)
    a, b = axes[0]
    shown = 200
    for k, name in NAMES.items():
        for series, label in (
            (d["paths"][k], name),
            (d["averages"][k], f"{name}, average"),
        ):
            xy = np.asarray(series, float)[:shown]
            e = enc[label]
            a.plot(xy[:, 0], xy[:, 1], lw=1.3, ms=4, markevery=20, label=label, **e)
    a.plot(*d["start"], "o", color="k", ms=5)
    a.plot(0, 0, "*", color="k", ms=11, zorder=5)
    a.set_xlim(-2.5, 2.5)
    a.set_ylim(-2.5, 2.5)
    a.set_aspect("equal")
    a.set_xlabel(r"$\theta$ (minimises $\theta\phi$)")
    a.set_ylabel(r"$\phi$ (maximises $\theta\phi$)")
    a.grid(alpha=0.3)
    _common.panel_title(a, "a", f"first {shown} iterations, $\\eta = {d['step']:g}$")
    for k, name in NAMES.items():
        for series, label in (
            (d["distance"][k], name),
            (d["average_distance"][k], f"{name}, average"),
        ):
            dist = np.asarray(series, float)
            t = np.arange(1, len(dist) + 1)
            b.plot(
                t,
                np.where(dist > 0, dist, np.nan),
                lw=1.2,
                ms=5,
                markevery=style.markevery(len(dist), labels.index(label), 6),
                label=label,
                **enc[label],
            )
    t = np.arange(1, len(d["distance"]["alternated"]) + 1)
    ref = d["average_distance"]["alternated"][len(t) // 10] * (len(t) // 10 + 1) / t
    b.plot(t, ref, color="k", lw=0.8, ls=":", label=r"$O(1/t)$")
    rho = d["closed_form"]["extrapolation"]
    b.plot(
        t,
        d["distance"]["extrapolation"][0] * rho ** (t - 1),
        color="0.4",
        lw=0.8,
        ls="--",
        label=rf"$\sqrt{{1-\eta^2+\eta^4}}^{{\,t}}$ = {rho:.4f}$^t$",
    )
    b.set_xscale("log")
    b.set_yscale("log")
    b.set_ylim(1e-6, 1e4)
    b.set_xlabel("iteration $t$")
    b.set_ylabel(r"$\|w_t - w^*\|$ (last iterate or average)")
    b.grid(alpha=0.3, which="major")
    _common.panel_title(b, "b", "distance to the equilibrium")
    fig.suptitle(
        "Gidel et al. 2019, Proposition 1 and Section 3 on "
        r"$\min_\theta \max_\phi \theta\phi$",
        fontsize="medium",
    )
    style.figure_legend(fig, [a, b], where="below")
    return {"bilinear": fig}

"""Figures of the `gidel2019_negative_momentum` gallery entry."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.gallery import _common


def figures(rep: Reproduction) -> dict[str, Figure]:
    """`momentum`: (a) the rate per step against the momentum `beta` for
    simultaneous and alternating steps (closed form and gamedyn), the optimal
    negative momentum marked; (b) trajectories in the `(theta, phi)` plane."""
    d = rep.data
    fig, axes = _common.figure(2, width=5.0, height=4.4)
    a, b = axes[0]
    betas = np.asarray(d["betas"])
    _common.rates(
        a,
        betas,
        {k: np.asarray(v) for k, v in d["rate_closed"].items()},
        {k: np.asarray(v) for k, v in d["rate_ours"].items()},
        xlabel=r"momentum $\beta$",
    )
    a.axvline(d["beta_star"], color="0.4", lw=0.8, ls=":")
    a.plot(
        d["beta_star"],
        d["rho_star"],
        "*",
        color="k",
        ms=11,
        zorder=5,
        label=rf"optimal $\beta^* = {d['beta_star']:.3f}$, "
        rf"$\rho^* = {d['rho_star']:.4f}$",
    )
    a.axvline(0.0, color="0.7", lw=0.6)
    _common.panel_title(a, "a", rf"bilinear game, $\eta\sigma = {d['step']:g}$")
    shown = 60
    _common.paths(
        b,
        {k: np.asarray(v)[:shown] for k, v in d["paths"].items()},
        xlabel=r"$\theta$",
        ylabel=r"$\phi$",
        limit=2.5,
    )
    _common.panel_title(b, "b", f"first {shown} steps from (1, 1)")
    fig.suptitle(
        "Gidel et al. 2019b: simultaneous steps diverge for every momentum; "
        "alternating steps converge with negative momentum",
        fontsize="medium",
    )
    style.figure_legend(fig, [a, b], where="below", ncol=3)
    return {"momentum": fig}

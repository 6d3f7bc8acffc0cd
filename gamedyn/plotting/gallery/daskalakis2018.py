"""Figures of the `daskalakis2018` gallery entry (GD vs OMD on bilinear games)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction
from gamedyn.plotting import style
from gamedyn.plotting.gallery import _common

GD = "simultaneous GD"
OMD = "optimistic (OMD)"


def figures(rep: Reproduction) -> dict[str, Figure]:
    """`bilinear`: (a) GD and OMD along the top singular pair of `A`, (b) the
    last iterate's distance with the closed-form rates, (c) the rates against the
    step size, closed form and gamedyn's."""
    d = rep.data
    names = {"GD": GD, "OMD": OMD}
    fig, axes = _common.figure(3, width=4.4, height=4.0)
    a, b, c = axes[0]
    shown = 50
    _common.paths(
        a,
        {names[k]: v[:shown] for k, v in d["pair"].items()},
        xlabel=r"$u_1^\top x$",
        ylabel=r"$v_1^\top y$",
    )
    _common.panel_title(a, "a", f"first {shown} steps, $h = {d['step']:g}$")
    style.legend(a)
    _common.distances(
        b,
        d["steps"],
        {names[k]: v for k, v in d["distance"].items()},
        rates={names[k]: v for k, v in d["closed_form"].items()},
    )
    _common.panel_title(b, "b", r"last iterate on $x^\top A y$")
    style.legend(b)
    _common.rates(
        c,
        np.asarray(d["step_grid"]),
        {names[k]: np.asarray(v) for k, v in d["rate_closed"].items()},
        {names[k]: np.asarray(v) for k, v in d["rate_ours"].items()},
        xlabel=r"step size $h\,\sigma_{\max}(A)$",
    )
    _common.panel_title(c, "c", "rate per step against the step size")
    style.legend(c)
    fig.suptitle(
        "Daskalakis et al. 2018, Section 3: GD spirals out, OMD's last iterate "
        "converges",
        fontsize="medium",
    )
    fig.tight_layout()
    return {"bilinear": fig}

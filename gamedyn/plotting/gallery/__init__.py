"""Figures of the reproduction gallery, in each paper's layout.

Each entry `gamedyn.experiments.reproduce.<name>` has a module
`gamedyn.plotting.gallery.<name>` with `figures(rep) -> dict[str, Figure]`: the
figures drawn from the `Reproduction`'s `data`
(the key is the PNG file's stem). Nothing here runs a game.
"""

from __future__ import annotations

import importlib

from matplotlib.figure import Figure

from gamedyn.experiments.reproduce import Reproduction


def figures(rep: Reproduction) -> dict[str, Figure]:
    """The figures of one reproduction, keyed by file stem.

    Args:
      rep: a gallery entry's result (from `gd.experiments.reproduce.run`).

    Returns:
      A dict from a file stem (`"fig1_trajectories"`) to its matplotlib figure.
    """
    module = importlib.import_module(f"{__name__}.{rep.name}")
    return module.figures(rep)


__all__ = ["figures"]

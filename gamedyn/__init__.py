"""gamedyn: training dynamics of GANs and differentiable games, in JAX."""

from gamedyn import (
    analysis,
    data,
    dynamics,
    games,
    losses,
    metrics,
    models,
    outcomes,
    regularizers,
    train,
    transforms,
)
from gamedyn._game import Game, hamiltonian, vector_field
from gamedyn.dynamics import Dynamics
from gamedyn.simulate import METRICS, Trajectory, simulate
from gamedyn.sweep import sweep, sweep_keys

__version__ = "0.1.0"


def __getattr__(name: str):
    # gd.plotting imports matplotlib: load it on first use only.
    if name == "plotting":
        import importlib

        return importlib.import_module("gamedyn.plotting")
    raise AttributeError(f"module 'gamedyn' has no attribute {name!r}")


__all__ = [
    "METRICS",
    "Dynamics",
    "Game",
    "Trajectory",
    "analysis",
    "data",
    "dynamics",
    "games",
    "hamiltonian",
    "losses",
    "metrics",
    "models",
    "outcomes",
    "plotting",
    "regularizers",
    "simulate",
    "sweep",
    "sweep_keys",
    "train",
    "transforms",
    "vector_field",
]

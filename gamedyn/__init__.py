"""gamedyn: training dynamics of GANs and differentiable games, in JAX."""

from gamedyn import (
    dynamics,
    games,
    losses,
    metrics,
    outcomes,
    regularizers,
    transforms,
)
from gamedyn._game import Game, hamiltonian, vector_field
from gamedyn.dynamics import Dynamics
from gamedyn.simulate import METRICS, Trajectory, simulate

__version__ = "0.1.0"

__all__ = [
    "METRICS",
    "Dynamics",
    "Game",
    "Trajectory",
    "dynamics",
    "games",
    "hamiltonian",
    "losses",
    "metrics",
    "outcomes",
    "regularizers",
    "simulate",
    "transforms",
    "vector_field",
]

"""gamedyn: training dynamics of GANs and differentiable games, in JAX.

Layers, bottom to top (a module imports only from its own layer or below):

    _game, _validate, losses, regularizers, transforms, optimizers, io, results,
    outcomes, data, models, metrics            leaves: no games, no dynamics
    games                                      players and losses
    dynamics                                   update rules (init/step pairs)
    simulation, train, flows                   the scan core, long runs, ODE flows
    analysis                                   Jacobians, spectra, stability
    sweeps, distributed                        grids: vmapped, chunked, sharded
    experiments                                studies as library code
    plotting                                   figures from result values
    cli                                        argument parsing, printing, files
"""

from gamedyn import (
    analysis,
    data,
    distributed,
    dynamics,
    experiments,
    flows,
    games,
    io,
    losses,
    metrics,
    models,
    optimizers,
    outcomes,
    regularizers,
    results,
    simulation,
    sweeps,
    train,
    transforms,
)
from gamedyn._game import Game, hamiltonian, vector_field
from gamedyn.dynamics import Dynamics
from gamedyn.flows import FlowTrajectory, flow
from gamedyn.results import load, save
from gamedyn.simulation import METRICS, Trajectory, simulate
from gamedyn.sweeps import sweep, sweep_keys

__version__ = "0.2.0"


def __getattr__(name: str):
    # gd.plotting imports matplotlib: load it on first use only.
    if name == "plotting":
        import importlib

        return importlib.import_module("gamedyn.plotting")
    raise AttributeError(f"module 'gamedyn' has no attribute {name!r}")


__all__ = [
    "METRICS",
    "Dynamics",
    "FlowTrajectory",
    "Game",
    "Trajectory",
    "analysis",
    "data",
    "distributed",
    "dynamics",
    "experiments",
    "flow",
    "flows",
    "games",
    "hamiltonian",
    "io",
    "losses",
    "metrics",
    "models",
    "optimizers",
    "outcomes",
    "plotting",
    "regularizers",
    "results",
    "save",
    "load",
    "simulate",
    "simulation",
    "sweep",
    "sweep_keys",
    "sweeps",
    "train",
    "transforms",
    "vector_field",
]

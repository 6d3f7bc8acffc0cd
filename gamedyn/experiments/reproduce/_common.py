"""Helpers shared by the gallery entries (not an entry: the name starts with `_`)."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn import outcomes
from gamedyn.simulation import Trajectory, simulate

JUDGE = {"tol": 1e-2, "growth": 2.0, "tail": 0.2}
"""The outcome judge's parameters for the gallery's deterministic linear games
(`gamedyn.outcomes.classify_runs`): converged within 1% of the start's distance
over the last fifth of the run, diverged beyond twice it."""


def zeros_like(params) -> Any:
    """The equilibrium `0` with the structure and dtype of `params`."""
    return jax.tree.map(jnp.zeros_like, params)


def run_distance(dynamics, params, steps: int, *, every: int = 1) -> Trajectory:
    """One run with its distance to the origin (the equilibrium of every linear
    game of the gallery) recorded."""
    return simulate(
        dynamics,
        params,
        steps,
        every=every,
        metrics=("distance",),
        equilibrium=zeros_like(params),
    )


def outcome(distance, **judge) -> str:
    """`gamedyn.outcomes.classify_runs` of one run, by name."""
    kwargs = {**JUDGE, **judge}
    return outcomes.OUTCOMES[
        int(outcomes.classify_runs(jnp.asarray(distance), **kwargs))
    ]


def last_iterate(name: str) -> str:
    """The verdict on the last iterate the papers state: an outcome name of
    `gamedyn.outcomes` mapped to `"converges"` or `"does not converge"`."""
    return "converges" if name == "converged" else "does not converge"


def rate(distance, tail: float = 0.5) -> float:
    """The empirical rate per step of one run (`gamedyn.outcomes.rate`)."""
    return float(outcomes.rate(jnp.asarray(distance), tail=tail))


def numpy(tree) -> Any:
    """Every leaf as a NumPy array (for `Reproduction.data`)."""
    return jax.tree.map(np.asarray, tree)


def path(traj: Trajectory) -> np.ndarray:
    """`(T, n)` the concatenated players' params of each record."""
    return np.concatenate(
        [np.asarray(p).reshape(np.shape(p)[0], -1) for p in traj.params], axis=1
    )

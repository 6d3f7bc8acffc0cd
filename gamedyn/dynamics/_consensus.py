"""Consensus optimization."""

from __future__ import annotations

import jax

from gamedyn._game import Game, xi_and_grad_hamiltonian
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    PlayersState,
    apply,
    check_optimizer,
    player_updates,
    players_init,
)


def consensus(game: Game, optimizer: Optimizer, gamma: float | jax.Array) -> Dynamics:
    """Consensus optimization (Mescheder, Nowozin, Geiger 2017).

    Every player descends on `xi + gamma * grad(1/2 ||xi||^2) = xi + gamma J^T xi`,
    with `J` the Jacobian of `xi`: the Hamiltonian term pulls the dynamics towards
    stationary points and moves the Jacobian's eigenvalues away from the imaginary
    axis. With `optax.sgd(h)`: `w <- w - h (xi + gamma J^T xi)`.

    Args:
      game: the game.
      optimizer: one optax `GradientTransformation` or a tuple with one per player.
      gamma: weight of the consensus term (a number or a traced array).

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.

    References:
      Mescheder, Nowozin, Geiger 2017, The Numerics of GANs. NeurIPS.
    """
    check_optimizer(optimizer)
    if isinstance(gamma, (int, float)) and gamma < 0:
        raise ValueError(f"gamma: expected a non-negative number, got {gamma}")
    fields = xi_and_grad_hamiltonian(game)

    def step(params, state: PlayersState, key=None):
        xi, grad_h = fields(params, key)
        g = jax.tree.map(lambda a, b: a + gamma * b, xi, grad_h)
        updates, opt_states = player_updates(optimizer, g, state.opt_states, params)
        return apply(params, updates), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)

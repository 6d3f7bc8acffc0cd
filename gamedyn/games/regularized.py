"""Games transformed by a regularizer on the vector field."""

from __future__ import annotations

import jax

from gamedyn._game import Game, hamiltonian


def consensus_game(game: Game, gamma: float | jax.Array) -> Game:
    """Adds the consensus term `gamma * 1/2 ||xi||^2` to every player's loss.

    Each player's gradient becomes `xi_i + gamma * grad_i(1/2 ||xi||^2)`, so
    simultaneous play on this game is `gamedyn.dynamics.consensus`, and any
    other rule (alternating, extragradient, ...) gets its consensus variant
    (Mescheder, Nowozin, Geiger 2017).

    Args:
      game: the game.
      gamma: weight of the consensus term.

    Returns:
      A `gamedyn.Game` with the same `init`.
    """
    if isinstance(gamma, (int, float)) and gamma < 0:
        raise ValueError(f"gamma: expected a non-negative number, got {gamma}")
    ham = hamiltonian(game)

    def losses(params, key=None):
        h = ham(params, key)
        return tuple(loss + gamma * h for loss in game.losses(params, key))

    return Game(init=game.init, losses=losses)

"""Optimistic gradient descent-ascent (OGDA) and optimistic Adam."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gamedyn._game import Game, check_params, vector_field
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    apply,
    check_optimizer,
    per_player,
    player_updates,
)


class OptimisticState(NamedTuple):
    """State of :func:`optimistic`.

    Attributes:
      opt_states: each player's optimizer state.
      prev_updates: the previous step's optimizer updates ``u_{k-1}`` (``-h
        xi(w_{k-1})`` with SGD).
      started: False before the first step, when there is no previous update.
    """

    opt_states: tuple[Any, ...]
    prev_updates: tuple[Any, ...]
    started: jax.Array


def optimistic(game: Game, optimizer: Optimizer) -> Dynamics:
    """Optimistic gradient descent (Daskalakis et al. 2018; Gidel et al. 2019).

    With ``optax.sgd(h)``: ``w_{k+1} = w_k - 2 h xi(w_k) + h xi(w_{k-1})``. In general
    ``w_{k+1} = w_k + 2 u_k - u_{k-1}`` with ``u_k`` the optimizer's update for
    ``xi(w_k)``: with Adam this is optimistic Adam. The previous update is kept in the
    state; the first step, having none, takes ``u_{-1} = u_0`` (a plain step,
    ``w_1 = w_0 - h xi(w_0)``).

    Args:
      game: the game.
      optimizer: one optax ``GradientTransformation`` or a tuple with one per player.

    Returns:
      A :class:`gamedyn.Dynamics` with state :class:`OptimisticState`.

    References:
      Daskalakis, Ilyas, Syrgkanis, Zeng 2018, Training GANs with Optimism. ICLR.
    """
    check_optimizer(optimizer)
    xi = vector_field(game)

    def init(params) -> OptimisticState:
        check_params(params)
        opts = per_player(optimizer, len(params))
        return OptimisticState(
            opt_states=tuple(o.init(p) for o, p in zip(opts, params)),
            prev_updates=jax.tree.map(jnp.zeros_like, params),
            started=jnp.asarray(False),
        )

    def step(params, state: OptimisticState, key=None):
        updates, opt_states = player_updates(
            optimizer, xi(params, key), state.opt_states, params
        )
        prev = jax.tree.map(
            lambda p, u: jnp.where(state.started, p, u), state.prev_updates, updates
        )
        combined = jax.tree.map(lambda u, p: 2 * u - p, updates, prev)
        new_state = OptimisticState(opt_states, updates, jnp.asarray(True))
        return apply(params, combined), new_state

    return Dynamics(init, step)

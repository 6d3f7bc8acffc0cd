"""Simultaneous and alternating gradient play."""

from __future__ import annotations

import jax
import optax

from gamedyn._game import Game, player_loss, replace_player, vector_field
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    PlayersState,
    apply,
    check_optimizer,
    per_player,
    player_updates,
    players_init,
    split_key,
)


def simultaneous(game: Game, optimizer: Optimizer) -> Dynamics:
    """Simultaneous gradient play: every player steps on ``xi(w)`` at once.

    With ``optax.sgd(h)``: ``w <- w - h xi(w)``. With another optax optimizer each
    player feeds its own gradient ``grad_i L_i`` to its own optimizer state (e.g.
    two-timescale rates with a tuple of optimizers; Heusel et al. 2017).

    Args:
      game: the game.
      optimizer: one optax ``GradientTransformation`` for every player, or a tuple with
        one per player.

    Returns:
      A :class:`gamedyn.Dynamics` with state :class:`PlayersState`.
    """
    check_optimizer(optimizer)
    xi = vector_field(game)

    def step(params, state: PlayersState, key=None):
        updates, opt_states = player_updates(
            optimizer, xi(params, key), state.opt_states, params
        )
        return apply(params, updates), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)


def alternating(game: Game, optimizer: Optimizer) -> Dynamics:
    """Alternating (Gauss-Seidel) gradient play: the last player (the discriminator)
    moves first, then the others in reverse order, each seeing the newest parameters.

    With ``optax.sgd(h)`` on a GAN: ``phi <- phi - h xi_D(theta, phi)``, then
    ``theta <- theta - h xi_G(theta, phi_new)``. Each player's evaluation uses its own
    key ``fold_in(key, i)``, i.e. a fresh minibatch on a stochastic game.

    Args:
      game: the game.
      optimizer: one optax ``GradientTransformation`` or a tuple with one per player.

    Returns:
      A :class:`gamedyn.Dynamics` with state :class:`PlayersState`.

    References:
      Gidel et al. 2019, Negative Momentum for Improved Game Dynamics.
    """
    check_optimizer(optimizer)

    def step(params, state: PlayersState, key=None):
        n = len(params)
        opts = per_player(optimizer, n)
        opt_states = list(state.opt_states)
        keys = split_key(key, n)
        for i in reversed(range(n)):
            g = jax.grad(player_loss(game, i))(params[i], params, keys[i])
            u, opt_states[i] = opts[i].update(g, opt_states[i], params[i])
            params = replace_player(params, i, apply((params[i],), (u,))[0])
        return params, PlayersState(tuple(opt_states))

    return Dynamics(players_init(optimizer), step)


def simultaneous_with_loss(game: Game, optimizer: Optimizer) -> Dynamics:
    """Simultaneous gradient play that also hands each player's loss to its optimizer.

    Like :func:`gamedyn.dynamics.simultaneous`, but each player's update is
    ``opt_i.update(g_i, s_i, w_i, loss=L_i(w))``, so loss-aware transformations such
    as :func:`gamedyn.transforms.scale_by_loss_balance` can be used; plain optax
    transformations ignore the extra argument.

    Args:
      game: the game.
      optimizer: one optax transformation or a tuple with one per player.

    Returns:
      A :class:`gamedyn.Dynamics` with state
      :class:`gamedyn.dynamics.PlayersState`.
    """
    check_optimizer(optimizer)

    def step(params, state, key=None):
        opts = per_player(optimizer, len(params))
        updates, states = [], []
        for i, (o, s) in enumerate(zip(opts, state.opt_states, strict=True)):
            loss, g = jax.value_and_grad(player_loss(game, i))(params[i], params, key)
            u, s = optax.with_extra_args_support(o).update(g, s, params[i], loss=loss)
            updates.append(u)
            states.append(s)
        return apply(params, tuple(updates)), PlayersState(tuple(states))

    return Dynamics(players_init(optimizer), step)

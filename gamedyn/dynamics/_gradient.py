"""Simultaneous and alternating gradient play."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import numpy as np
import optax

from gamedyn._game import (
    Game,
    check_params,
    player_loss,
    replace_player,
    vector_field,
)
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
    """Simultaneous gradient play: every player steps on `xi(w)` at once.

    With `optax.sgd(h)`: `w <- w - h xi(w)`. With another optax optimizer each
    player feeds its own gradient `grad_i L_i` to its own optimizer state (e.g.
    two-timescale rates with a tuple of optimizers; Heusel et al. 2017).

    Args:
      game: the game.
      optimizer: one optax `GradientTransformation` for every player, or a tuple with
        one per player.

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.
    """
    check_optimizer(optimizer)
    xi = vector_field(game)

    def step(params, state: PlayersState, key=None):
        updates, opt_states = player_updates(
            optimizer, xi(params, key), state.opt_states, params
        )
        return apply(params, updates), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)


def _check_order(order) -> tuple[int, ...] | None:
    if order is None:
        return None
    try:
        order = tuple(order)
    except TypeError:
        raise TypeError(
            "order: expected None or a sequence of player indices, got "
            f"{type(order).__name__}"
        ) from None
    for i in order:
        if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
            raise TypeError(
                f"order: expected a sequence of integer player indices, got {order!r}"
            )
    order = tuple(int(i) for i in order)
    if sorted(order) != list(range(len(order))):
        raise ValueError(
            "order: expected each player index 0..n-1 exactly once (a permutation), "
            f"got {order!r}"
        )
    return order


def _move_order(order: tuple[int, ...] | None, num_players: int) -> tuple[int, ...]:
    if order is None:
        return tuple(reversed(range(num_players)))
    if len(order) != num_players:
        raise ValueError(
            f"order: expected a permutation of the {num_players} player indices "
            f"0..{num_players - 1}, got {order!r}"
        )
    return order


def alternating(
    game: Game, optimizer: Optimizer, order: Sequence[int] | None = None
) -> Dynamics:
    """Alternating (Gauss-Seidel) gradient play: the players move one after the
    other, each on the newest parameters.

    `order` lists the player indices in the order they move. The default, None,
    is "last player first": on a GAN `(generator, discriminator)` the
    discriminator moves first, `phi <- phi - h xi_D(theta, phi)`, then the
    generator, `theta <- theta - h xi_G(theta, phi_new)` (most GAN code; Gidel et
    al. 2019). `order=(0, 1)` moves the generator first, as Mescheder et al.
    (2018) and their Dirac-GAN notebook (`trajectory_altgd`) do. Both orders have
    the same spectrum at a fixed point (the step matrices `(I - h P_0 J)(I - h
    P_1 J)` and `(I - h P_1 J)(I - h P_0 J)` are similar), but not the same
    trajectory. Each player's evaluation uses its own key, entry `i` of
    `split(key, n)` for player `i` whatever the order (a fresh minibatch on a
    stochastic game).

    Args:
      game: the game.
      optimizer: one optax `GradientTransformation` or a tuple with one per player.
      order: the player indices in the order they move (a permutation of
        `0..n-1`); None: `(n-1, ..., 1, 0)`.

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.

    Raises:
      TypeError: when `order` is not a sequence of integers.
      ValueError: when it is not a permutation of the player indices.

    References:
      Gidel et al. 2019, Negative Momentum for Improved Game Dynamics. AISTATS.
      Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
      Converge? ICML.
    """
    check_optimizer(optimizer)
    order = _check_order(order)

    def init(params) -> PlayersState:
        _move_order(order, len(check_params(params)))
        return players_init(optimizer)(params)

    def step(params, state: PlayersState, key=None):
        n = len(params)
        opts = per_player(optimizer, n)
        opt_states = list(state.opt_states)
        keys = split_key(key, n)
        for i in _move_order(order, n):
            g = jax.grad(player_loss(game, i))(params[i], params, keys[i])
            u, opt_states[i] = opts[i].update(g, opt_states[i], params[i])
            params = replace_player(params, i, apply((params[i],), (u,))[0])
        return params, PlayersState(tuple(opt_states))

    return Dynamics(init, step)


def simultaneous_with_loss(game: Game, optimizer: Optimizer) -> Dynamics:
    """Simultaneous gradient play that also hands each player's loss to its optimizer.

    Like `gamedyn.dynamics.simultaneous`, but each player's update is
    `opt_i.update(g_i, s_i, w_i, loss=L_i(w))`, so loss-aware transformations such
    as `gamedyn.transforms.scale_by_loss_balance` can be used; plain optax
    transformations ignore the extra argument.

    Args:
      game: the game.
      optimizer: one optax transformation or a tuple with one per player.

    Returns:
      A `gamedyn.Dynamics` with state
      `gamedyn.dynamics.PlayersState`.
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

"""Extragradient and extra-Adam."""

from __future__ import annotations

from gamedyn._game import Game, vector_field
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    PlayersState,
    apply,
    check_optimizer,
    player_updates,
    players_init,
    split_key,
)


def extragradient(game: Game, optimizer: Optimizer) -> Dynamics:
    """Extragradient (Korpelevich 1976; Gidel et al. 2019): look ahead, then step from
    the original point with the look-ahead gradient.

    With `optax.sgd(h)`: `w~ = w - h xi(w)`; `w <- w - h xi(w~)`. With another
    optimizer both half-steps go through (and update) the optimizer state, which with
    Adam is extra-Adam (Gidel et al. 2019, Alg. 4). On a stochastic game the two
    evaluations use independent keys (fresh minibatches).

    Args:
      game: the game.
      optimizer: one optax `GradientTransformation` or a tuple with one per player.

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.

    References:
      Gidel, Berard, Vignoud, Vincent, Lacoste-Julien 2019, A Variational Inequality
      Perspective on Generative Adversarial Networks. ICLR.
    """
    check_optimizer(optimizer)
    xi = vector_field(game)

    def step(params, state: PlayersState, key=None):
        k1, k2 = split_key(key, 2)
        u1, opt_states = player_updates(
            optimizer, xi(params, k1), state.opt_states, params
        )
        lookahead = apply(params, u1)
        u2, opt_states = player_updates(
            optimizer, xi(lookahead, k2), opt_states, lookahead
        )
        return apply(params, u2), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)

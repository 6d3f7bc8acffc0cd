"""Unrolled GAN updates for the generator."""

from __future__ import annotations

import jax

from gamedyn._game import Game, player_loss, replace_player
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


def unrolled(game: Game, optimizer: Optimizer, unroll_steps: int = 5) -> Dynamics:
    """Unrolled updates (Metz et al. 2017): the generator differentiates through
    `K` steps of the discriminator's optimizer.

    The discriminator (last player) takes its ordinary step on `grad_D L_D(w)`; every
    other player `i` steps on `d/dw_i L_i(w_i, ..., D_K(w))`, where `D_K` is the
    discriminator after `K = unroll_steps` steps of its own optimizer (from its
    current optimizer state) against the current players, and the gradient flows
    through the unrolled steps. `unroll_steps=0` is simultaneous play. To
    differentiate through Adam, give it `eps_root > 0` (e.g.
    `optax.adam(lr, eps_root=1e-8)`): `sqrt(nu)` has an infinite derivative where
    a gradient is exactly zero.

    Args:
      game: the game (discriminator last).
      optimizer: one optax `GradientTransformation` or a tuple with one per player.
      unroll_steps: `K`.

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.

    References:
      Metz, Poole, Pfau, Sohl-Dickstein 2017, Unrolled Generative Adversarial
      Networks. ICLR.
    """
    check_optimizer(optimizer)
    if (
        not isinstance(unroll_steps, int)
        or isinstance(unroll_steps, bool)
        or (unroll_steps < 0)
    ):
        raise ValueError(
            f"unroll_steps: expected a non-negative integer, got {unroll_steps!r}"
        )

    def step(params, state: PlayersState, key=None):
        n = len(params)
        last = n - 1
        d_opt = per_player(optimizer, n)[last]
        d_grad = jax.grad(player_loss(game, last))
        k_now, k_unroll = split_key(key, 2)
        unroll_keys = split_key(k_unroll, max(unroll_steps, 1))

        def unrolled_d(ps):
            d, s = ps[last], state.opt_states[last]
            for k in range(unroll_steps):
                g = d_grad(d, replace_player(ps, last, d), unroll_keys[k])
                u, s = d_opt.update(g, s, d)
                d = apply((d,), (u,))[0]
            return d

        grads = []
        for i in range(last):

            def loss_i(p_i, i=i):
                ps = replace_player(params, i, p_i)
                ps = replace_player(ps, last, unrolled_d(ps))
                return game.losses(ps, k_now)[i]

            grads.append(jax.grad(loss_i)(params[i]))
        grads.append(d_grad(params[last], params, k_now))
        updates, opt_states = player_updates(
            optimizer, tuple(grads), state.opt_states, params
        )
        return apply(params, updates), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)

"""Symplectic gradient adjustment."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax

from gamedyn._game import Game, vector_field
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    PlayersState,
    apply,
    check_optimizer,
    player_updates,
    players_init,
)


def sga(
    game: Game,
    optimizer: Optimizer,
    lam: float | jax.Array = 1.0,
    *,
    align: bool = True,
    eps: float = 0.1,
) -> Dynamics:
    """Symplectic gradient adjustment (Balduzzi et al. 2018).

    Players step on `xi + lambda A^T xi`, where `A = (J - J^T) / 2` is the
    antisymmetric part of the game Jacobian `J` (so `A^T xi = (J^T xi - J xi) / 2`,
    one JVP and one VJP). With `align=True` the sign of `lambda` is chosen each
    step by alignment with the Hamiltonian's gradient `J^T xi`:
    `sign(<xi, J^T xi> <A^T xi, J^T xi> / d + eps)` (Balduzzi et al. 2018, Alg. 1).

    Args:
      game: the game.
      optimizer: one optax `GradientTransformation` or a tuple with one per player.
      lam: the adjustment's magnitude `lambda`.
      align: choose the sign of `lambda` by alignment (else always `+lambda`).
      eps: the alignment threshold `epsilon`.

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.

    References:
      Balduzzi, Racaniere, Martens, Foerster, Tuyls, Graepel 2018, The Mechanics of
      n-Player Differentiable Games. ICML.
    """
    check_optimizer(optimizer)
    xi_fn = vector_field(game)

    def step(params, state: PlayersState, key=None):
        def field(p):
            return xi_fn(p, key)

        xi, vjp = jax.vjp(field, params)
        jt_xi = vjp(xi)[0]
        j_xi = jax.jvp(field, (params,), (xi,))[1]
        at_xi = jax.tree.map(lambda a, b: 0.5 * (a - b), jt_xi, j_xi)
        if align:
            d = sum(x.size for x in jax.tree.leaves(params))
            score = (
                optax.tree_utils.tree_vdot(xi, jt_xi)
                * optax.tree_utils.tree_vdot(at_xi, jt_xi)
                / d
            )
            coef = lam * jnp.sign(score + eps)
        else:
            coef = lam
        g = jax.tree.map(lambda a, b: a + coef * b, xi, at_xi)
        updates, opt_states = player_updates(optimizer, g, state.opt_states, params)
        return apply(params, updates), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)

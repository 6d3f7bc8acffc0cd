"""Competitive gradient descent."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax
from jax.scipy.sparse.linalg import gmres

from gamedyn._game import Game, player_loss
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    PlayersState,
    apply,
    check_optimizer,
    player_updates,
    players_init,
)


def _sub(a, b, scale):
    return jax.tree.map(lambda x, y: x - scale * y, a, b)


def cgd(
    game: Game,
    optimizer: Optimizer,
    eta: float | jax.Array,
    *,
    tol: float = 1e-6,
    maxiter: int = 50,
) -> Dynamics:
    """Competitive gradient descent (Schäfer & Anandkumar 2019), two players.

    Each player plays the Nash equilibrium of the bilinear approximation of the game
    at the current point. With `f = L_x`, `g = L_y` and step `eta`:

    `Δx = -eta (I - eta^2 D_xy f D_yx g)^-1 (grad_x f - eta D_xy f grad_y g)`,
    `Δy = -eta (I - eta^2 D_yx g D_xy f)^-1 (grad_y g - eta D_yx g grad_x f)`.

    The mixed second derivatives are applied matrix-free (JVPs of the gradients) and
    the linear systems solved with GMRES. The "competitive gradients" `-Δ / eta` are
    fed to `optimizer`: with `optax.sgd(eta)` this is exactly CGD.

    Args:
      game: a two-player game.
      optimizer: one optax `GradientTransformation` or a tuple with one per player.
      eta: the step size in the bilinear approximation.
      tol: GMRES relative tolerance.
      maxiter: GMRES restarts.

    Returns:
      A `gamedyn.Dynamics` with state `PlayersState`.

    References:
      Schäfer & Anandkumar 2019, Competitive Gradient Descent. NeurIPS.
    """
    check_optimizer(optimizer)
    grad_f = jax.grad(player_loss(game, 0))
    grad_g = jax.grad(player_loss(game, 1))

    def step(params, state: PlayersState, key=None):
        if len(params) != 2:
            raise ValueError(
                f"params: cgd is defined for two players, got {len(params)}"
            )
        x, y = params

        def gx(x_, y_):  # grad_x f as a function of both players
            return grad_f(x_, (x_, y_), key)

        def gy(x_, y_):  # grad_y g
            return grad_g(y_, (x_, y_), key)

        fx, gy0 = gx(x, y), gy(x, y)

        def dxy_f(v):  # D_xy f v, v in y-space
            return jax.jvp(lambda y_: gx(x, y_), (y,), (v,))[1]

        def dyx_g(u):  # D_yx g u, u in x-space
            return jax.jvp(lambda x_: gy(x_, y), (x,), (u,))[1]

        def op_x(u):
            return _sub(u, dxy_f(dyx_g(u)), eta**2)

        def op_y(v):
            return _sub(v, dyx_g(dxy_f(v)), eta**2)

        rhs_x = _sub(fx, dxy_f(gy0), eta)
        rhs_y = _sub(gy0, dyx_g(fx), eta)
        cx = _solve(op_x, rhs_x, tol, maxiter)
        cy = _solve(op_y, rhs_y, tol, maxiter)
        updates, opt_states = player_updates(
            optimizer, (cx, cy), state.opt_states, params
        )
        return apply(params, updates), PlayersState(opt_states)

    return Dynamics(players_init(optimizer), step)


def _solve(op, rhs, tol: float, maxiter: int | None):
    """`op^-1 rhs` by GMRES on the unit-norm right-hand side, scaled back.

    The operators are linear, so the scaling is exact; without it GMRES treats a
    right-hand side below its breakdown threshold (norms near 1e-16 in float64) as
    zero and returns its initial guess, and CGD would silently take the linearised
    step near the equilibrium instead of converging.
    """
    norm = optax.global_norm(rhs)
    scale = jnp.where(norm > 0, norm, jnp.ones_like(norm))
    unit = jax.tree.map(lambda a: a / scale, rhs)
    solution = gmres(op, unit, x0=unit, tol=tol, maxiter=maxiter)[0]
    return jax.tree.map(lambda a: a * scale, solution)

"""Optimistic gradient descent-ascent (OGDA) and optimistic Adam."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from gamedyn._game import Game, check_params, vector_field
from gamedyn._validate import check_choice, check_fraction
from gamedyn.dynamics._base import (
    Dynamics,
    Optimizer,
    apply,
    check_optimizer,
    per_player,
    player_updates,
)

INITIAL = ("zero", "plain")
"""The choices of `optimistic`'s `initial`."""


class OptimisticState(NamedTuple):
    """State of `optimistic`.

    Attributes:
      opt_states: each player's optimizer state.
      prev_updates: the previous step's optimizer updates `u_{k-1}` (`-h
        xi(w_{k-1})` with SGD); zero before the first step.
      count: the number of steps taken (int32).
    """

    opt_states: tuple[Any, ...]
    prev_updates: tuple[Any, ...]
    count: jax.Array


def _bias_correction(t, b1: float, b2: float):
    return jnp.sqrt(1 - b2**t) / (1 - b1**t)


def optimistic(
    game: Game,
    optimizer: Optimizer,
    *,
    initial: Literal["zero", "plain"] = "zero",
    bias_correction: tuple[float, float] | None = None,
) -> Dynamics:
    """Optimistic gradient descent (Daskalakis et al. 2018; Gidel et al. 2019).

    With `optax.sgd(h)`: `w_{k+1} = w_k - 2 h xi(w_k) + h xi(w_{k-1})`. In general
    `w_{k+1} = w_k + 2 u_k - u_{k-1}` with `u_k` the optimizer's update for
    `xi(w_k)`: with Adam this is optimistic Adam. The previous update is kept in
    the state.

    The first step has no previous update. `initial="zero"` (the default) takes
    `u_{-1} = 0`, as Daskalakis et al.'s code does (its memory starts at zero):
    `w_1 = w_0 - 2 h xi(w_0)` with SGD. The initial state is then the rule's
    steady state at a fixed point (`xi = 0` makes `u = 0`), so
    `gamedyn.analysis.spectral_radius` of the initial state is the true
    rate. `initial="plain"` takes `u_{-1} = u_0`, a plain first step `w_1 =
    w_0 - h xi(w_0)` (optax's `optimistic_gradient_descent`).

    With Adam, `u_{k-1}` is by default the previous update as Adam produced it,
    with its own bias correction `c_{t-1}`, `c_t = sqrt(1 - b2^t) / (1 - b1^t)`
    (step `t = k + 1`). Daskalakis et al.'s code (`optimAdam`) applies the
    current step's `lr_t = lr c_t` to both terms,
    `w_{t+1} = w_t - lr_t (2 m_t / (sqrt(v_t) + eps) - m_{t-1} / (sqrt(v_{t-1}) +
    eps))`; `bias_correction=(b1, b2)` (Adam's betas) rescales the memory to it,
    `u_{k-1} c_t / c_{t-1}`. With `optax.adam(lr, b1, b2, eps=0)` that is the
    reference exactly; with `eps > 0` the two differ only in where `eps` sits
    (optax adds it to `sqrt(v / (1 - b2^t))`, the code to `sqrt(v)`). Both
    conventions agree once `c_t` has converged to 1.

    Args:
      game: the game.
      optimizer: one optax `GradientTransformation` or a tuple with one per player.
      initial: `"zero"` or `"plain"`: the previous update before the first step.
      bias_correction: None, or the `(b1, b2)` of an Adam `optimizer` to
        rescale the memory to the current step's bias correction.

    Returns:
      A `gamedyn.Dynamics` with state `OptimisticState`.

    References:
      Daskalakis, Ilyas, Syrgkanis, Zeng 2018, Training GANs with Optimism. ICLR.
      Code: github.com/vsyrgkanis/optimistic_GAN_training (script/optimizer.py).
    """
    check_optimizer(optimizer)
    check_choice("initial", initial, INITIAL)
    if bias_correction is not None:
        if not isinstance(bias_correction, tuple) or len(bias_correction) != 2:
            raise TypeError(
                "bias_correction: expected None or Adam's (b1, b2), got "
                f"{bias_correction!r}"
            )
        b1 = check_fraction("bias_correction (b1)", bias_correction[0])
        b2 = check_fraction("bias_correction (b2)", bias_correction[1])
    xi = vector_field(game)

    def init(params) -> OptimisticState:
        check_params(params)
        opts = per_player(optimizer, len(params))
        return OptimisticState(
            opt_states=tuple(o.init(p) for o, p in zip(opts, params)),
            prev_updates=jax.tree.map(jnp.zeros_like, params),
            count=jnp.zeros((), jnp.int32),
        )

    def step(params, state: OptimisticState, key=None):
        updates, opt_states = player_updates(
            optimizer, xi(params, key), state.opt_states, params
        )
        prev = state.prev_updates
        if initial == "plain":
            first = state.count == 0
            prev = jax.tree.map(lambda p, u: jnp.where(first, u, p), prev, updates)
        if bias_correction is not None:
            t = (state.count + 1).astype(jnp.result_type(float))
            ratio = jnp.where(
                state.count > 0,
                _bias_correction(t, b1, b2)
                / _bias_correction(jnp.maximum(t - 1, 1), b1, b2),
                1.0,
            )
            prev = jax.tree.map(lambda p: (ratio * p).astype(p.dtype), prev)
        combined = jax.tree.map(lambda u, p: 2 * u - p, updates, prev)
        new_state = OptimisticState(opt_states, updates, state.count + 1)
        return apply(params, combined), new_state

    return Dynamics(init, step)

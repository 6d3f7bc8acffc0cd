"""Lookahead-minmax, wrapping any update rule."""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from gamedyn._game import Params
from gamedyn.dynamics._base import Dynamics


class LookaheadState(NamedTuple):
    """State of `lookahead`.

    Attributes:
      inner: the wrapped rule's state.
      slow: the slow ("anchor") parameters.
      count: steps taken.
    """

    inner: Any
    slow: Params
    count: jax.Array


def lookahead(
    dynamics: Dynamics, sync_period: int = 5, alpha: float | jax.Array = 0.5
) -> Dynamics:
    """Lookahead-minmax (Chavdarova et al. 2021) around any update rule.

    The wrapped rule moves the fast parameters for `k = sync_period` steps; then all
    players jointly move back towards the slow ones:
    `w_slow <- w_slow + alpha (w_fast - w_slow)`, `w_fast <- w_slow`.

    The step depends on the step count (it synchronises when `count % k == 0`),
    so the rule is periodic: its `period` is `lcm(k, dynamics.period)`. Near a
    fixed point where one inner step is the linear map `S`, one period maps
    `w` to `((1 - alpha) I + alpha S^k) w`: the local rate per step is
    `rho((1 - alpha) I + alpha S^k)^(1/k)`, e.g.
    `|1 - alpha + alpha mu^k|^(1/k)` for a multiplier `mu` of `S`
    (`gamedyn.analysis.spectral_radius` computes it over the period).

    Args:
      dynamics: the rule to wrap (e.g. `alternating` with Adam).
      sync_period: `k`, fast steps per synchronisation.
      alpha: interpolation weight in `(0, 1]`.

    Returns:
      A `gamedyn.Dynamics` with state `LookaheadState` and
      `period = lcm(k, dynamics.period)`.

    References:
      Chavdarova, Pagliardini, Stich, Fleuret, Jaggi 2021, Taming GANs with
      Lookahead-Minmax. ICLR.
    """
    if not isinstance(dynamics, Dynamics):
        raise TypeError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    if (
        not isinstance(sync_period, int)
        or isinstance(sync_period, bool)
        or (sync_period < 1)
    ):
        raise ValueError(
            f"sync_period: expected a positive integer, got {sync_period!r}"
        )
    if isinstance(alpha, (int, float)) and not 0 < alpha <= 1:
        raise ValueError(f"alpha: expected a number in (0, 1], got {alpha}")

    def init(params) -> LookaheadState:
        return LookaheadState(dynamics.init(params), params, jnp.asarray(0))

    def step(params, state: LookaheadState, key=None):
        fast, inner = dynamics.step(params, state.inner, key)
        count = state.count + 1
        sync = count % sync_period == 0
        slow = jax.tree.map(
            lambda s, f: jnp.where(sync, s + alpha * (f - s), s), state.slow, fast
        )
        fast = jax.tree.map(lambda s, f: jnp.where(sync, s, f), slow, fast)
        return fast, LookaheadState(inner, slow, count)

    return Dynamics(init, step, math.lcm(sync_period, dynamics.period))

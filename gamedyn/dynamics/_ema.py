"""Exponential moving averages of players' params (generator EMA)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from gamedyn._validate import check_fraction
from gamedyn.dynamics._base import Dynamics


class EMAState(NamedTuple):
    """State of `ema`.

    Attributes:
      inner: the wrapped dynamics' state.
      average: the moving averages of the averaged players' params, a tuple in the
        order of `players`.
    """

    inner: Any
    average: tuple[Any, ...]


def ema(
    dynamics: Dynamics,
    decay: float | jax.Array = 0.999,
    players: tuple[int, ...] = (0,),
) -> Dynamics:
    """Keeps an exponential moving average of some players' params (the generator).

    `bar_w <- decay * bar_w + (1 - decay) * w` after every step of `dynamics`,
    starting from the initial params. The dynamics themselves are unchanged; the
    averages live in the state (`trajectory.state.average`). Averaging the
    generator's iterates damps the rotation of game dynamics (Yazıcı et al. 2019;
    Gidel et al. 2019).

    Args:
      dynamics: the update rule to wrap.
      decay: in `[0, 1)`.
      players: indices of the players to average (default the generator, 0).

    Returns:
      A `gamedyn.Dynamics` with state `EMAState`.

    References:
      Yazıcı et al. 2019, The Unusual Effectiveness of Averaging in GAN Training.
      ICLR.
    """
    if not isinstance(dynamics, Dynamics):
        raise TypeError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    if not isinstance(decay, jax.Array):
        decay = check_fraction("decay", decay)
    players = tuple(players)
    if not players or not all(isinstance(i, int) for i in players):
        raise ValueError(f"players: expected a tuple of player indices, got {players}")

    def init(params):
        for i in players:
            if not -len(params) <= i < len(params):
                raise ValueError(
                    f"players: index {i} out of range for {len(params)} players"
                )
        return EMAState(dynamics.init(params), tuple(params[i] for i in players))

    def step(params, state: EMAState, key=None):
        params, inner = dynamics.step(params, state.inner, key)
        average = tuple(
            jax.tree.map(lambda a, w: decay * a + (1 - decay) * w, avg, params[i])
            for avg, i in zip(state.average, players, strict=True)
        )
        return params, EMAState(inner, average)

    return Dynamics(init, step, period=dynamics.period)

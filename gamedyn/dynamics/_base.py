"""The update-rule abstraction and the per-player optimizer plumbing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import optax

from gamedyn._game import Params, check_params

Optimizer = optax.GradientTransformation | tuple[optax.GradientTransformation, ...]


class Dynamics(NamedTuple):
    """An update rule for a game, as an `init`/`step` pair of pure functions.

    Attributes:
      init: `init(params) -> state`.
      step: `step(params, state, key) -> (params, state)`; `key` is a PRNG key
        (or None) for stochastic games.
      period: the number of steps after which the step map repeats itself. A rule
        whose step depends on a step counter in its state only through
        `count % k` (lookahead synchronises every `k` steps) has period `k`;
        rules without such a counter have period 1 (the default). The local rate
        of a periodic rule is that of one whole period, taken per step
        (`gamedyn.analysis.spectral_radius`); a wrapper that builds a new
        `Dynamics` around a periodic rule passes `period=inner.period` on.
    """

    init: Callable[[Params], Any]
    step: Callable[[Params, Any, jax.Array | None], tuple[Params, Any]]
    period: int = 1


class PlayersState(NamedTuple):
    """State of a rule whose only memory is each player's optimizer state."""

    opt_states: tuple[Any, ...]


def check_optimizer(optimizer: Any) -> None:
    """Validates an `optimizer` argument without knowing the number of players."""
    if isinstance(optimizer, optax.GradientTransformation):
        return
    if (
        isinstance(optimizer, tuple)
        and optimizer
        and all(isinstance(o, optax.GradientTransformation) for o in optimizer)
    ):
        return
    raise TypeError(
        "optimizer: expected an optax GradientTransformation or a tuple with one per "
        f"player, got {type(optimizer).__name__}"
    )


def per_player(optimizer: Optimizer, num_players: int) -> tuple[Any, ...]:
    """One optimizer per player: the same one for all, or the tuple given."""
    check_optimizer(optimizer)
    if isinstance(optimizer, optax.GradientTransformation):
        return (optimizer,) * num_players
    if len(optimizer) != num_players:
        raise ValueError(
            f"optimizer: expected one optimizer or a tuple of {num_players} (one per "
            f"player), got a tuple of {len(optimizer)}"
        )
    return optimizer


def players_init(optimizer: Optimizer) -> Callable[[Params], PlayersState]:
    """`init` for rules whose state is one optimizer state per player."""

    def init(params: Params) -> PlayersState:
        check_params(params)
        opts = per_player(optimizer, len(params))
        return PlayersState(tuple(o.init(p) for o, p in zip(opts, params)))

    return init


def player_updates(
    optimizer: Optimizer, grads: Params, opt_states: tuple, params: Params
) -> tuple[Params, tuple]:
    """Each player's optimizer applied to its gradient: `(updates, new_states)`."""
    opts = per_player(optimizer, len(params))
    out = [o.update(g, s, p) for o, g, s, p in zip(opts, grads, opt_states, params)]
    return tuple(u for u, _ in out), tuple(s for _, s in out)


def apply(params: Params, updates: Params) -> Params:
    """`params + updates`, player by player."""
    return tuple(optax.apply_updates(p, u) for p, u in zip(params, updates))


def split_key(key: jax.Array | None, num: int) -> tuple[jax.Array | None, ...]:
    """`num` keys from `key`; all None when `key` is None (deterministic)."""
    if key is None:
        return (None,) * num
    return tuple(jax.random.split(key, num))

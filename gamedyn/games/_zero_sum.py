"""Two-player zero-sum games from one function."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from gamedyn._game import Game


def zero_sum(
    f: Callable[[Any, Any], jax.Array],
    init: Callable[[jax.Array], tuple[Any, Any]] | tuple[Any, Any] | None = None,
) -> Game:
    """The zero-sum game `min_x max_y f(x, y)`.

    The first player minimises `f` and the second maximises it: the losses are
    `(f(x, y), -f(x, y))`, so the descent field is
    `xi = (grad_x f, -grad_y f)` and simultaneous GD is gradient
    descent-ascent, `x <- x - h grad_x f`, `y <- y + h grad_y f`. `x` and
    `y` may be any pytrees of floating-point arrays.

    Args:
      f: `f(x, y) -> scalar`, traceable with JAX.
      init: `init(key) -> (x, y)`, or a pair `(x0, y0)` that `init` returns
        for every key; None: `game.init` raises (pass the params yourself).

    Returns:
      A `gamedyn.Game` with params `(x, y)`.

    Raises:
      TypeError: when `f` is not callable or `init` is neither a callable nor
        a pair.

    Examples:
      >>> import jax.numpy as jnp
      >>> import gamedyn as gd
      >>> game = gd.games.zero_sum(lambda x, y: x * y, (1.0, 1.0))
      >>> [float(g) for g in gd.vector_field(game)(game.init(None))]
      [1.0, -1.0]
    """
    if not callable(f):
        raise TypeError(f"f: expected a function f(x, y), got {type(f).__name__}")
    if init is None:

        def start(key):
            raise TypeError(
                "init: this zero_sum game has no init; pass zero_sum(f, init=...) "
                "or give the params (x, y) directly"
            )

    elif callable(init):
        start = init
    elif isinstance(init, (tuple, list)) and len(init) == 2:
        pair = tuple(jax.tree.map(jnp.asarray, tuple(init)))

        def start(key):
            return pair

    else:
        raise TypeError(
            "init: expected None, a function init(key) -> (x, y) or a pair (x0, "
            f"y0), got {type(init).__name__}"
        )

    def losses(params, key=None):
        x, y = params
        value = f(x, y)
        return value, -value

    return Game(init=start, losses=losses)

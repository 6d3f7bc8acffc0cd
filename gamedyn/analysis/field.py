"""The vector field of a two-scalar-player game on a grid (for streamline plots)."""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._game import Game, vector_field
from gamedyn._validate import check_bounds, check_key


class FieldGrid(NamedTuple):
    """Result of `vector_field_grid`: the descent direction on a grid.

    Attributes:
      x: `(num,)` values of the first player's parameter (horizontal axis).
      y: `(num,)` values of the second player's parameter (vertical axis).
      u: `(num, num)` first component of `-xi`; `u[i, j]` is at
        `(x[j], y[i])` (the `np.meshgrid` layout that `streamplot` expects).
      v: `(num, num)` second component of `-xi`, same layout.
    """

    x: np.ndarray
    y: np.ndarray
    u: np.ndarray
    v: np.ndarray


def _check_num(num) -> int:
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 2:
        raise ValueError(f"num: expected an integer >= 2, got {num!r}")
    return int(num)


def vector_field_grid(
    game: Game,
    *,
    bounds: tuple[float, float, float, float] = (-2.0, 2.0, -2.0, 2.0),
    num: int = 25,
    key: jax.Array | None = None,
) -> FieldGrid:
    """Evaluates the descent direction `-xi` of a game on a `num x num` grid.

    The game must have two players whose params are scalars (e.g. the Dirac-GAN,
    params `(theta, psi)`); the grid is evaluated in one jitted, vmapped call in
    the dtype of `game.init`'s params.

    Args:
      game: a game with two scalar players.
      bounds: `(x_min, x_max, y_min, y_max)` of the first and second player.
      num: grid points per axis (at least 2).
      key: PRNG key passed to the game at every point (a fixed key: one fixed
        minibatch of a stochastic game); also the key given to `game.init` to
        read the params' shapes.

    Returns:
      a `FieldGrid`.
    """
    key = check_key("key", key)
    x0, x1, y0, y1 = check_bounds("bounds", bounds)
    num = _check_num(num)
    shapes = jax.eval_shape(
        game.init, jax.random.key(0) if key is None else key
    )  # no computation: only the params' structure
    leaves = jax.tree.leaves(shapes)
    if (
        not isinstance(shapes, tuple)
        or len(shapes) != 2
        or len(leaves) != 2
        or any(leaf.shape != () for leaf in leaves)
    ):
        structure = jax.tree.map(lambda s: s.shape, shapes)
        raise ValueError(
            "game: expected two players with one scalar parameter each (e.g. the "
            f"Dirac-GAN), got params with shapes {structure}"
        )
    dtype = jnp.result_type(*leaves)
    if not jnp.issubdtype(dtype, jnp.floating):
        raise ValueError(f"game: expected floating-point params, got dtype {dtype}")
    xs = np.linspace(x0, x1, num)
    ys = np.linspace(y0, y1, num)
    gx, gy = np.meshgrid(xs, ys)
    xi = vector_field(game)
    field = jax.jit(jax.vmap(lambda a, b: xi((a, b), key)))
    u, v = field(jnp.asarray(gx.ravel(), dtype), jnp.asarray(gy.ravel(), dtype))
    return FieldGrid(
        x=xs,
        y=ys,
        u=-np.asarray(u, np.float64).reshape(gx.shape),
        v=-np.asarray(v, np.float64).reshape(gx.shape),
    )

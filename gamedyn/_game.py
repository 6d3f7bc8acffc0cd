"""The game abstraction: players, losses and the simultaneous gradient."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Params = tuple[Any, ...]
"""Per-player parameter pytrees, generator first, discriminator last."""


class Game(NamedTuple):
    """An n-player differentiable game.

    Attributes:
      init: `init(key) -> params`, a tuple with one pytree per player (generator
        first, discriminator last for GANs).
      losses: `losses(params, key) -> tuple` of scalar losses, one per player; player
        `i` minimises `losses(params, key)[i]` over `params[i]`. `key` is a PRNG
        key for stochastic games (minibatches, instance noise); deterministic games
        ignore it.
    """

    init: Callable[[jax.Array], Params]
    losses: Callable[[Params, jax.Array | None], tuple[jax.Array, ...]]


def check_params(params: Any, name: str = "params") -> Params:
    """Validates that `params` is a non-empty tuple of per-player pytrees."""
    if not isinstance(params, tuple) or len(params) == 0:
        raise TypeError(
            f"{name}: expected a non-empty tuple with one pytree per player, got "
            f"{type(params).__name__}"
        )
    return params


def replace_player(params: Params, i: int, value: Any) -> Params:
    """Returns `params` with player `i`'s entry replaced by `value`."""
    return params[:i] + (value,) + params[i + 1 :]


def check_losses(losses: Any, num_players: int) -> tuple[jax.Array, ...]:
    """Validates what a game's `losses` returned: one scalar per player."""
    if not isinstance(losses, (tuple, list)) or len(losses) != num_players:
        got = (
            f"{len(losses)} values"
            if isinstance(losses, (tuple, list))
            else type(losses).__name__
        )
        raise ValueError(
            f"game.losses: expected a tuple of {num_players} scalar losses (one per "
            f"player, as many as params has entries), got {got}"
        )
    for j, loss in enumerate(losses):
        if jnp.shape(loss) != ():
            raise ValueError(
                f"game.losses: expected scalar losses, got shape {jnp.shape(loss)} "
                f"for player {j}"
            )
    return tuple(losses)


def player_loss(game: Game, i: int) -> Callable[[Any, Params, Any], jax.Array]:
    """`fn(p_i, params, key)`: player `i`'s loss as a function of its own params."""

    def fn(p_i, params, key):
        try:
            losses = game.losses(replace_player(params, i, p_i), key)
        except ValueError as e:
            if "values to unpack" not in str(e):
                raise
            raise ValueError(
                f"params: the game's losses could not unpack the {len(params)} "
                f"players' params they were given ({e}); pass a tuple with one "
                "pytree per player of this game"
            ) from e
        return check_losses(losses, len(params))[i]

    return fn


def vector_field(game: Game) -> Callable[..., Params]:
    """The simultaneous gradient of a game.

    `xi(w) = (grad_1 L_1(w), ..., grad_n L_n(w))`: each player's gradient of its own
    loss with respect to its own parameters (Mescheder et al. 2017; Balduzzi et al.
    2018). Simultaneous gradient descent is `w <- w - h xi(w)`.

    Args:
      game: the game.

    Returns:
      `fn(params, key=None) -> tuple` of per-player gradients, shaped like `params`.
    """

    def xi(params: Params, key: jax.Array | None = None) -> Params:
        check_params(params)
        return tuple(
            jax.grad(player_loss(game, i))(params[i], params, key)
            for i in range(len(params))
        )

    return xi


def hamiltonian(game: Game) -> Callable[..., jax.Array]:
    """`fn(params, key=None) = 1/2 ||xi(params)||^2` (Balduzzi et al. 2018)."""
    xi = vector_field(game)

    def fn(params: Params, key: jax.Array | None = None) -> jax.Array:
        leaves = jax.tree.leaves(xi(params, key))
        return 0.5 * sum(jnp.sum(jnp.square(g)) for g in leaves)

    return fn


def xi_and_grad_hamiltonian(game: Game) -> Callable[..., tuple[Params, Params]]:
    """`fn(params, key=None) -> (xi, J^T xi)`: the vector field and the gradient of
    the Hamiltonian `1/2 ||xi||^2` (one VJP through `xi`)."""
    xi = vector_field(game)

    def fn(params: Params, key: jax.Array | None = None) -> tuple[Params, Params]:
        g, vjp = jax.vjp(lambda p: xi(p, key), params)
        return g, vjp(g)[0]

    return fn

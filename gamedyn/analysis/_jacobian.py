"""Dense Jacobians of a game's vector field and of an update rule's step map.

Sign convention: the Jacobian is that of the players' *descent* gradients
``xi = (grad_1 L_1, ..., grad_n L_n)``, so a fixed point is locally asymptotically
stable under gradient flow ``dw/dt = -xi(w)`` iff every eigenvalue of ``J`` has a
positive real part, and a step map ``w <- F(w)`` converges locally iff the spectral
radius of ``dF/dw`` is below 1 (Mescheder, Nowozin, Geiger 2017).
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree

from gamedyn._game import Game, Params, check_params, player_loss, vector_field
from gamedyn.dynamics._base import Dynamics


class NotAFixedPointWarning(UserWarning):
    """A spectrum was asked for at a point that is not a fixed point (stationary)."""


def _is_float(leaf: Any) -> bool:
    return jnp.issubdtype(jnp.result_type(leaf), jnp.inexact)


def check_float_params(params: Any, name: str = "params") -> Params:
    """Validates per-player params whose leaves are all floating-point arrays."""
    check_params(params, name)
    leaves = jax.tree_util.tree_leaves_with_path(params)
    if not leaves:
        raise ValueError(f"{name}: expected at least one array leaf, got none")
    for path, leaf in leaves:
        dtype = jnp.result_type(leaf)
        if not jnp.issubdtype(dtype, jnp.floating):
            raise TypeError(
                f"{name}: expected floating-point leaves, got dtype {dtype} at "
                f"{jax.tree_util.keystr(path)}; the Jacobian is defined only for "
                "real floating-point parameters"
            )
    return jax.tree.map(jnp.asarray, params)


def ravel_players(params: Params) -> tuple[jax.Array, Callable[[jax.Array], Params]]:
    """Flattens per-player params, players in order, each in ``ravel_pytree`` order.

    Returns:
      ``(flat, unravel)``: the ``(n,)`` vector and its inverse.
    """
    flats, unravels = zip(*(ravel_pytree(p) for p in params), strict=True)
    sizes = [f.size for f in flats]
    dtype = jnp.result_type(*flats)
    splits = np.cumsum(sizes)[:-1].tolist()

    def unravel(v: jax.Array) -> Params:
        return tuple(u(c) for u, c in zip(unravels, jnp.split(v, splits), strict=True))

    return jnp.concatenate([f.astype(dtype) for f in flats]), unravel


def player_sizes(params: Params) -> tuple[int, ...]:
    """Number of scalars of each player, in the order of :func:`jacobian`."""
    check_params(params)
    return tuple(int(sum(np.size(x) for x in jax.tree.leaves(p))) for p in params)


def flat_vector_field(
    game: Game, params: Params, key: jax.Array | None = None
) -> tuple[Callable[[jax.Array], jax.Array], jax.Array, Callable[[jax.Array], Params]]:
    """The vector field as a map on flat vectors.

    Returns:
      ``(field, w0, unravel)``: ``field(w) = ravel(xi(unravel(w), key))``, the flat
      point ``w0`` and the inverse of the flattening.
    """
    params = check_float_params(params)
    w0, unravel = ravel_players(params)
    xi = vector_field(game)

    def field(w: jax.Array) -> jax.Array:
        return ravel_players(xi(unravel(w), key))[0].astype(w.dtype)

    return field, w0, unravel


def _cached(factory: Callable[..., Any]) -> Callable[..., Any]:
    """Memoises ``factory`` on its (hashable) arguments, so that repeated analyses of
    the same game reuse compiled functions; unhashable arguments are not cached."""
    cached = functools.lru_cache(maxsize=32)(factory)

    def get(*args):
        try:
            return cached(*args)
        except TypeError:
            return factory(*args)

    return get


class Compiled(NamedTuple):
    """Jitted functions of ``(params, key)`` on the flattened vector field."""

    field: Callable[..., jax.Array]
    jacobian: Callable[..., jax.Array]
    jvp: Callable[..., jax.Array]
    vjp: Callable[..., jax.Array]


@_cached
def compiled(game: Game) -> Compiled:
    """The flattened vector field, its Jacobian, JVP and VJP, jitted once per game."""
    xi = vector_field(game)

    def flat(params, key):
        w0, unravel = ravel_players(params)

        def field(w):
            return ravel_players(xi(unravel(w), key))[0].astype(w.dtype)

        return field, w0

    def field(params, key):
        f, w0 = flat(params, key)
        return f(w0)

    def jac(params, key):
        f, w0 = flat(params, key)
        return jax.jacfwd(f)(w0)

    def jvp(params, key, v):
        f, w0 = flat(params, key)
        return jax.jvp(f, (w0,), (v.astype(w0.dtype),))[1]

    def vjp(params, key, v):
        f, w0 = flat(params, key)
        return jax.vjp(f, w0)[1](v.astype(w0.dtype))[0]

    return Compiled(*(jax.jit(fn) for fn in (field, jac, jvp, vjp)))


@_cached
def compiled_player(game: Game, player: int) -> tuple[Callable, Callable]:
    """``(hessian, hvp)`` of player ``player``'s own loss, jitted once per game."""
    loss = player_loss(game, player)

    def flat(params, key):
        w0, unravel = ravel_pytree(params[player])
        return (lambda v: loss(unravel(v), params, key)), w0

    def hessian(params, key):
        f, w0 = flat(params, key)
        return jax.hessian(f)(w0)

    def hvp(params, key, v):
        f, w0 = flat(params, key)
        return jax.jvp(jax.grad(f), (w0,), (v.astype(w0.dtype),))[1]

    return jax.jit(hessian), jax.jit(hvp)


def jacobian(game: Game, params: Params, *, key: jax.Array | None = None) -> jax.Array:
    """The Jacobian of the simultaneous gradient, ``J = d xi / d w``.

    ``xi = (grad_1 L_1, ..., grad_n L_n)`` flattened with the players in order and,
    within a player, in :func:`jax.flatten_util.ravel_pytree` order. The diagonal blocks
    are the players' own Hessians ``grad^2_i L_i``; in a zero-sum game the off-diagonal
    blocks are ``B`` and ``-B^T``. Built from ``n`` forward-mode JVPs (``jacfwd``).

    Args:
      game: the game.
      params: per-player params with floating-point leaves (any shapes, 0-d
        included).
      key: PRNG key of a stochastic game, fixed for every evaluation (a fixed
        minibatch); None for a deterministic game.

    Returns:
      ``(n, n)`` array in the dtype of ``params`` (float64 under x64 with float64
      params).

    Raises:
      ValueError: if ``params`` is not a tuple or has integer leaves.
    """
    params = check_float_params(params)
    return compiled(game).jacobian(params, key)


def hessian_blocks(
    game: Game, params: Params, *, key: jax.Array | None = None
) -> tuple[jax.Array, ...]:
    """Each player's Hessian of its own loss, ``grad^2_i L_i`` (the diagonal blocks of
    :func:`jacobian`), as ``(n_i, n_i)`` arrays."""
    params = check_float_params(params)
    return tuple(compiled_player(game, i)[0](params, key) for i in range(len(params)))


def eigenvalues(
    game: Game, params: Params, *, key: jax.Array | None = None
) -> np.ndarray:
    """All eigenvalues of the game Jacobian :func:`jacobian` (dense, LAPACK on host).

    Positive real parts everywhere means a locally stable fixed point of gradient
    flow; purely imaginary ones (the unregularized Dirac-GAN, ``+-f'(0) i``) mean
    rotation.

    Returns:
      complex NumPy array of shape ``(n,)`` (complex128 for float64 params), sorted by
      decreasing real part, then decreasing imaginary part.
    """
    return _sorted(np.linalg.eigvals(np.asarray(jacobian(game, params, key=key))))


def _sorted(lam: np.ndarray) -> np.ndarray:
    return lam[np.lexsort((-lam.imag, -lam.real))]


class _FloatLeaves:
    """Splits a pytree into its floating-point leaves (flattened) and the rest."""

    def __init__(self, tree: Any):
        leaves, self.treedef = jax.tree.flatten(tree)
        self.leaves = [jnp.asarray(x) for x in leaves]
        self.is_float = [_is_float(x) for x in self.leaves]
        if not any(self.is_float):
            raise ValueError("params: expected at least one floating-point leaf")
        floats = [x for x, f in zip(self.leaves, self.is_float) if f]
        self.flat, self._unravel = ravel_pytree(floats)

    def rebuild(self, flat: jax.Array) -> Any:
        floats = iter(self._unravel(flat))
        leaves = [next(floats) if f else x for x, f in zip(self.leaves, self.is_float)]
        return self.treedef.unflatten(leaves)

    def extract(self, tree: Any) -> jax.Array:
        leaves, treedef = jax.tree.flatten(tree)
        if treedef != self.treedef:
            raise ValueError(
                "dynamics: step returned a (params, state) with another structure "
                f"than it was given: {treedef} vs {self.treedef}"
            )
        floats = [
            jnp.asarray(x).astype(y.dtype)
            for x, y, f in zip(leaves, self.leaves, self.is_float)
            if f
        ]
        return ravel_pytree(floats)[0]


def _check_dynamics(dynamics: Any) -> None:
    if not isinstance(dynamics, Dynamics):
        raise TypeError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )


def _with_state(dynamics: Dynamics, params: Params, state: Any) -> tuple[Params, Any]:
    _check_dynamics(dynamics)
    check_params(params)
    params = jax.tree.map(jnp.asarray, params)
    if state is None:
        state = dynamics.init(params)
    return params, state


def flat_step(
    dynamics: Dynamics,
    params: Params,
    state: Any = None,
    key: jax.Array | None = None,
) -> tuple[Callable[[jax.Array], jax.Array], jax.Array, Callable[[jax.Array], Any]]:
    """One step of ``dynamics`` as a map on the floating-point leaves of
    ``(params, state)``; integer and boolean leaves (step counts, flags) are held
    fixed.

    Returns:
      ``(step, z0, rebuild)``: ``step(z)`` the flat next point, ``z0`` the flat point,
      ``rebuild(z) -> (params, state)``.
    """
    params, state = _with_state(dynamics, params, state)
    split = _FloatLeaves((params, state))

    def step(z: jax.Array) -> jax.Array:
        p, s = split.rebuild(z)
        return split.extract(dynamics.step(p, s, key))

    return step, split.flat, split.rebuild


@_cached
def _compiled_step(dynamics: Dynamics) -> tuple[Callable, Callable]:
    """``(step, jacobian)`` of ``(params, state, key)``, jitted once per dynamics."""

    def jac(params, state, key):
        step, z0, _ = flat_step(dynamics, params, state, key)
        return jax.jacfwd(step)(z0)

    return jax.jit(dynamics.step), jax.jit(jac)


def update_jacobian(
    dynamics: Dynamics,
    params: Params,
    *,
    state: Any = None,
    key: jax.Array | None = None,
) -> jax.Array:
    """The Jacobian of one step of an update rule, ``dF/dz`` with
    ``(params', state') = F(params, state)``.

    ``z`` collects every floating-point leaf of ``(params, state)`` (params first, in
    :func:`jax.tree.flatten` order); integer and boolean leaves (optax step counts,
    lookahead's count, optimistic's ``started`` flag) are held fixed. For rules with
    memory (optimistic, momentum, extra-Adam) the memory is part of the map, so the
    spectral radius is the true local linear rate. For :func:`gamedyn.dynamics.
    optimistic` pass a state after one step (``started=True``): the initial state
    makes the first step a plain gradient step.

    Args:
      dynamics: the update rule.
      params: per-player params.
      state: the rule's state; defaults to ``dynamics.init(params)``.
      key: fixed PRNG key for a stochastic game (None for deterministic games).

    Returns:
      ``(m, m)`` array, ``m`` the number of floating-point scalars in
      ``(params, state)``.
    """
    params, state = _with_state(dynamics, params, state)
    return _compiled_step(dynamics)[1](params, state, key)


def step_displacement(
    dynamics: Dynamics, params: Params, state: Any = None, key=None
) -> tuple[float, float]:
    """``(||params' - params||, ||params||)`` after one step of ``dynamics``."""
    params, state = _with_state(dynamics, params, state)
    new, _ = _compiled_step(dynamics)[0](params, state, key)
    diff = [
        jnp.ravel(a - b)
        for a, b in zip(jax.tree.leaves(new), jax.tree.leaves(params))
        if _is_float(a)
    ]
    norm = [jnp.ravel(b) for b in jax.tree.leaves(params) if _is_float(b)]
    return float(jnp.linalg.norm(jnp.concatenate(diff))), float(
        jnp.linalg.norm(jnp.concatenate(norm))
    )


def fixed_point_tolerance(dtype) -> float:
    """Relative tolerance for "is a fixed point" checks in a float dtype."""
    return 1e-9 if jnp.dtype(dtype) == jnp.float64 else 1e-4


def spectral_radius(
    dynamics: Dynamics,
    params: Params,
    *,
    state: Any = None,
    key: jax.Array | None = None,
) -> float:
    """Spectral radius of :func:`update_jacobian`: below 1 iff the step converges
    locally (linearly, at that rate per step) to the fixed point ``params``.

    Warns :class:`NotAFixedPointWarning` when one step moves ``params``: the local rate
    of a fixed point is then not what is measured.

    Returns:
      a Python float.
    """
    move, size = step_displacement(dynamics, params, state, key)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    if move > fixed_point_tolerance(dtype) * (1.0 + size):
        warnings.warn(
            f"params: not a fixed point of the dynamics (one step moves it by "
            f"{move:.3g}); the spectral radius is that of the local linearisation "
            "only, not a convergence rate",
            NotAFixedPointWarning,
            stacklevel=2,
        )
    m = np.asarray(update_jacobian(dynamics, params, state=state, key=key))
    return float(np.max(np.abs(np.linalg.eigvals(m))))

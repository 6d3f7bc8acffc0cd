"""Dense Jacobians of a game's vector field and of an update rule's step map.

Sign convention: the Jacobian is that of the players' *descent* gradients
`xi = (grad_1 L_1, ..., grad_n L_n)`, so a fixed point is locally asymptotically
stable under gradient flow `dw/dt = -xi(w)` iff every eigenvalue of `J` has a
positive real part, and a step map `w <- F(w)` converges locally iff the spectral
radius of `dF/dw` is below 1 (Mescheder, Nowozin, Geiger 2017).
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
from gamedyn._validate import check_int, check_key
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
        if not isinstance(leaf, jax.core.Tracer) and not np.all(np.isfinite(leaf)):
            raise ValueError(
                f"{name}: expected finite params, got NaN or inf at "
                f"{jax.tree_util.keystr(path)} (a diverged run?)"
            )
    return jax.tree.map(jnp.asarray, params)


def ravel_players(params: Params) -> tuple[jax.Array, Callable[[jax.Array], Params]]:
    """Flattens per-player params, players in order, each in `ravel_pytree` order.

    Returns:
      `(flat, unravel)`: the `(n,)` vector and its inverse.
    """
    flats, unravels = zip(*(ravel_pytree(p) for p in params), strict=True)
    sizes = [f.size for f in flats]
    dtype = jnp.result_type(*flats)
    splits = np.cumsum(sizes)[:-1].tolist()

    def unravel(v: jax.Array) -> Params:
        return tuple(u(c) for u, c in zip(unravels, jnp.split(v, splits), strict=True))

    return jnp.concatenate([f.astype(dtype) for f in flats]), unravel


def player_sizes(params: Params) -> tuple[int, ...]:
    """Number of scalars of each player, in the order of `jacobian`."""
    check_params(params)
    return tuple(int(sum(np.size(x) for x in jax.tree.leaves(p))) for p in params)


def flat_vector_field(
    game: Game, params: Params, key: jax.Array | None = None
) -> tuple[Callable[[jax.Array], jax.Array], jax.Array, Callable[[jax.Array], Params]]:
    """The vector field as a map on flat vectors.

    Returns:
      `(field, w0, unravel)`: `field(w) = ravel(xi(unravel(w), key))`, the flat
      point `w0` and the inverse of the flattening.
    """
    key = check_key("key", key)
    params = check_float_params(params)
    w0, unravel = ravel_players(params)
    xi = vector_field(game)

    def field(w: jax.Array) -> jax.Array:
        return ravel_players(xi(unravel(w), key))[0].astype(w.dtype)

    return field, w0, unravel


def _cached(factory: Callable[..., Any]) -> Callable[..., Any]:
    """Memoises `factory` on its (hashable) arguments, so that repeated analyses of
    the same game reuse compiled functions; unhashable arguments are not cached."""
    cached = functools.lru_cache(maxsize=32)(factory)

    def get(*args):
        try:
            return cached(*args)
        except TypeError:
            return factory(*args)

    return get


class Compiled(NamedTuple):
    """Jitted functions of `(params, key)` on the flattened vector field."""

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
    """`(hessian, hvp)` of player `player`'s own loss, jitted once per game."""
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
    """The Jacobian of the simultaneous gradient, `J = d xi / d w`.

    `xi = (grad_1 L_1, ..., grad_n L_n)` flattened with the players in order and,
    within a player, in `jax.flatten_util.ravel_pytree` order. The diagonal blocks
    are the players' own Hessians `grad^2_i L_i`; in a zero-sum game the off-diagonal
    blocks are `B` and `-B^T`. Built from `n` forward-mode JVPs (`jacfwd`).

    Args:
      game: the game.
      params: per-player params with floating-point leaves (any shapes, 0-d
        included).
      key: PRNG key of a stochastic game, fixed for every evaluation (a fixed
        minibatch); None for a deterministic game.

    Returns:
      `(n, n)` array in the dtype of `params` (float64 under x64 with float64
      params).

    Raises:
      ValueError: if `params` is not a tuple or has integer leaves.
    """
    key = check_key("key", key)
    params = check_float_params(params)
    return compiled(game).jacobian(params, key)


def hessian_blocks(
    game: Game, params: Params, *, key: jax.Array | None = None
) -> tuple[jax.Array, ...]:
    """Each player's Hessian of its own loss, `grad^2_i L_i` (the diagonal blocks of
    `jacobian`), as `(n_i, n_i)` arrays."""
    key = check_key("key", key)
    params = check_float_params(params)
    return tuple(compiled_player(game, i)[0](params, key) for i in range(len(params)))


def eigenvalues(
    game: Game, params: Params, *, key: jax.Array | None = None
) -> np.ndarray:
    """All eigenvalues of the game Jacobian `jacobian` (dense, LAPACK on host).

    Positive real parts everywhere means a locally stable fixed point of gradient
    flow; purely imaginary ones (the unregularized Dirac-GAN, `+-f'(0) i`) mean
    rotation.

    Returns:
      complex NumPy array of shape `(n,)` (complex128 for float64 params), sorted by
      decreasing real part, then decreasing imaginary part.
    """
    key = check_key("key", key)
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
    """One step of `dynamics` as a map on the floating-point leaves of
    `(params, state)`; integer and boolean leaves (step counts, flags) are held
    fixed.

    Returns:
      `(step, z0, rebuild)`: `step(z)` the flat next point, `z0` the flat point,
      `rebuild(z) -> (params, state)`.
    """
    key = check_key("key", key)
    params, state = _with_state(dynamics, params, state)
    split = _FloatLeaves((params, state))

    def step(z: jax.Array) -> jax.Array:
        p, s = split.rebuild(z)
        return split.extract(dynamics.step(p, s, key))

    return step, split.flat, split.rebuild


def _dynamics_period(dynamics: Dynamics) -> int:
    period = dynamics.period
    if isinstance(period, bool) or not isinstance(period, (int, np.integer)):
        raise TypeError(
            f"dynamics: expected an integer period, got {type(period).__name__}"
        )
    if period < 1:
        raise ValueError(f"dynamics: expected a period >= 1, got {period}")
    return int(period)


def _float_part(tree: Any) -> jax.Array:
    """The floating-point leaves of `tree`, flattened (`ravel_pytree` order)."""
    return ravel_pytree([x for x in jax.tree.leaves(tree) if _is_float(x)])[0]


def _with_floats(z: jax.Array, like: Any) -> Any:
    """`like` with its floating-point leaves replaced by the flat vector `z`."""
    leaves, treedef = jax.tree.flatten(like)
    floats = [x for x in leaves if _is_float(x)]
    new = iter(ravel_pytree(floats)[1](z))
    return treedef.unflatten([next(new) if _is_float(x) else x for x in leaves])


def _flat_map(dynamics: Dynamics, like: Any, key, steps: int):
    """`z -> floats(F^steps(with_floats(z, like)))`: `steps` steps of the rule
    as a map on the floating-point leaves of `(params, state)`; integer and
    boolean leaves (counters, flags) start from `like` and evolve with the
    steps."""
    dtypes = [jnp.result_type(x) for x in jax.tree.leaves(like) if _is_float(x)]

    def fn(z: jax.Array) -> jax.Array:
        tree = _with_floats(z, like)
        if steps <= 8:  # straight-line code for short periods
            for _ in range(steps):
                tree = dynamics.step(*tree, key)
        else:
            tree = jax.lax.fori_loop(
                0, steps, lambda _, t: dynamics.step(*t, key), tree
            )
        out = [x for x in jax.tree.leaves(tree) if _is_float(x)]
        if len(out) != len(dtypes):
            raise ValueError(
                "dynamics: step returned a (params, state) with another structure "
                "than it was given"
            )
        return ravel_pytree([x.astype(d) for x, d in zip(out, dtypes)])[0]

    return fn


class _Steps(NamedTuple):
    advance: Callable[..., Any]
    jacobian: Callable[..., jax.Array]
    steady: Callable[..., Any]


@_cached
def _compiled_steps(dynamics: Dynamics, steps: int) -> _Steps:
    """Jitted once per dynamics and number of steps: `advance(params, state,
    key)` (`steps` steps), the Jacobian of those steps, and `steady(params,
    state, key) -> (state_s, jacobian, params_after, state_after_one_step)`: the
    state advanced by `steps` steps at `params`, the Jacobian of `steps`
    steps from there, the params after them and the state after one step (one
    compiled program for `spectral_radius`)."""

    def advance(params, state, key):
        return jax.lax.fori_loop(
            0, steps, lambda _, t: dynamics.step(*t, key), (params, state)
        )

    def jac(params, state, key):
        like = (params, state)
        return jax.jacfwd(_flat_map(dynamics, like, key, steps))(_float_part(like))

    def steady(params, state, key):
        if jax.tree.leaves(state):  # a stateless rule is always in its steady state
            _, state = advance(params, state, key)
        like = (params, state)
        fn = _flat_map(dynamics, like, key, steps)

        def with_value(z):
            out = fn(z)
            return out, out

        m, out = jax.jacfwd(with_value, has_aux=True)(_float_part(like))
        moved = _with_floats(out, like)[0]
        if not jax.tree.leaves(state):
            return state, m, moved, state
        return state, m, moved, dynamics.step(params, state, key)[1]

    return _Steps(jax.jit(advance), jax.jit(jac), jax.jit(steady))


@_cached
def _compiled_probe(dynamics: Dynamics, steps: int) -> Callable[..., jax.Array]:
    """`probe(params, state, key, v)`: the products `J_j v` of the one-step
    Jacobians `J_j` along `steps` consecutive steps, `(steps, m)`."""

    def probe(params, state, key, v):
        def body(tree, _):
            one = _flat_map(dynamics, tree, key, 1)
            jv = jax.jvp(one, (_float_part(tree),), (v,))[1]
            return dynamics.step(*tree, key), jv

        return jax.lax.scan(body, (params, state), length=steps)[1]

    return jax.jit(probe)


def _fixed_leaves(tree: Any) -> list[np.ndarray]:
    out = []
    for x in jax.tree.leaves(tree):
        if _is_float(x):
            continue
        if jnp.issubdtype(jnp.result_type(x), jax.dtypes.prng_key):
            x = jax.random.key_data(x)
        out.append(np.asarray(x))
    return out


def _periodic_tolerance(dtype) -> float:
    return 1e-8 if jnp.dtype(dtype) == jnp.float64 else 1e-3


def _check_periodic(dynamics: Dynamics, params, state, after, key, period: int) -> None:
    """Raises when the step changes with a counter of the state other than with
    the declared `period` (checked with Jacobian-vector products along
    `period + max(period, 16)` steps); `after` is the state one step later."""
    before, now = _fixed_leaves(state), _fixed_leaves(after)
    if all(np.array_equal(a, b) for a, b in zip(before, now, strict=True)):
        return  # no counter moves: the step map is the same at every step
    z0 = _float_part((params, state))
    v = np.random.default_rng(0).standard_normal(z0.shape)
    v = jnp.asarray(v / np.linalg.norm(v), z0.dtype)
    window = period + max(period, 16)
    jv = np.asarray(_compiled_probe(dynamics, window)(params, state, key, v))
    tol = _periodic_tolerance(z0.dtype)
    for j in range(period, window):
        a, b = jv[j], jv[j - period]
        scale = max(np.linalg.norm(a), np.linalg.norm(b), 1.0)
        if not np.linalg.norm(a - b) <= tol * scale:
            raise ValueError(
                "dynamics: the step changes with a step counter in its state "
                f"(steps {j - period} and {j} differ, period {period}), so its "
                "linearisation has no constant rate. Adam's bias correction and "
                "learning-rate schedules do this (a rate exists only in the limit "
                "of many steps); a rule whose step depends on count % k must "
                "declare it, Dynamics(init, step, period=k), and a wrapper around "
                "a periodic rule must pass period=inner.period on. Pass steps= for "
                "the Jacobian of a given number of steps from the given state"
            )


def _steady(dynamics: Dynamics, params, state, key):
    """`(period, state, jacobian, params after one period)` in the steady state:
    the state advanced by one period at `params` (the memory and flags of the
    rule at their steady values, counters at the same phase), after checking that
    the step is periodic with that period."""
    period = _dynamics_period(dynamics)
    state, m, moved, after = _compiled_steps(dynamics, period).steady(
        params, state, key
    )
    _check_periodic(dynamics, params, state, after, key, period)
    return period, state, m, moved


def update_jacobian(
    dynamics: Dynamics,
    params: Params,
    *,
    state: Any = None,
    key: jax.Array | None = None,
    steps: int | None = None,
) -> jax.Array:
    """The Jacobian of an update rule's step map at `params`, over one period.

    `z` collects every floating-point leaf of `(params, state)` (params first,
    in `jax.tree.flatten` order); integer and boolean leaves (optax step
    counts, lookahead's count) are not differentiated but advance with the steps.
    The memory of stateful rules (optimistic's previous update, momentum's trace,
    Adam's moments) is part of `z`, so the spectrum is the true local rate.

    By default (`steps=None`) the Jacobian is that of the rule in its steady
    state, `dF^p/dz` for one period `p = dynamics.period` (the product of the
    `p` one-step Jacobians; `p = 1` for every rule but lookahead): `state`
    (default `dynamics.init(params)`) is first advanced by one period at
    `params`, so that memory and flags take their steady values (optimistic's
    `initial="plain"` first step is skipped) while counters keep their phase,
    and the step is checked to be periodic with period `p`. Its spectral radius
    is `rho^p`, `rho` the rate per step (`spectral_radius`).

    Args:
      dynamics: the update rule.
      params: per-player params (a fixed point, for rates).
      state: the rule's state; defaults to `dynamics.init(params)`.
      key: fixed PRNG key for a stochastic game (None for deterministic games),
        used by every step.
      steps: None (one period in the steady state), or a number of steps: the
        Jacobian of exactly that many steps from `state` as given, with no
        settling and no check.

    Returns:
      `(m, m)` array, `m` the number of floating-point scalars in
      `(params, state)`.

    Raises:
      TypeError: when `dynamics` is not a `gamedyn.Dynamics`.
      ValueError: when `steps` is None and the step changes with a counter of
        the state other than with `dynamics.period` (Adam's bias correction, a
        learning-rate schedule, a wrapper that dropped the period): no constant
        linearisation exists.
    """
    key = check_key("key", key)
    params, state = _with_state(dynamics, params, state)
    if steps is not None:
        steps = check_int("steps", steps, 1)
        return _compiled_steps(dynamics, steps).jacobian(params, state, key)
    return _steady(dynamics, params, state, key)[2]


def step_displacement(
    dynamics: Dynamics, params: Params, state: Any = None, key=None, steps: int = 1
) -> tuple[float, float]:
    """`(||params' - params||, ||params||)` after `steps` steps of
    `dynamics`."""
    key = check_key("key", key)
    params, state = _with_state(dynamics, params, state)
    new, _ = _compiled_steps(dynamics, steps).advance(params, state, key)
    return _displacement(params, new)


def _displacement(params, new) -> tuple[float, float]:
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
    """The local linear rate per step of an update rule at the fixed point
    `params`: below 1 iff the rule converges locally, at that rate.

    `rho = rho(dF^p/dz)^(1/p)`: the spectral radius of `update_jacobian`
    over one period `p = dynamics.period` in the rule's steady state, taken per
    step (Floquet's multipliers of a periodic map). For rules with memory the
    memory is included (optimistic: `mu^2 - (1 - 2z) mu - z = 0`); for
    lookahead over `k` steps of a rule with step matrix `S`,
    `rho((1 - alpha) I + alpha S^k)^(1/k)`. Any `state` the user holds gives
    the same answer (the default initial state included): the state is first
    advanced by one period at `params`.

    Warns `NotAFixedPointWarning` when one period moves `params`: the
    local rate of a fixed point is then not what is measured.

    Args:
      dynamics: the update rule.
      params: the fixed point.
      state: the rule's state; defaults to `dynamics.init(params)`.
      key: fixed PRNG key for a stochastic game.

    Returns:
      a Python float.

    Raises:
      ValueError: when the step changes with a step counter other than with
        `dynamics.period` (see `update_jacobian`).
    """
    key = check_key("key", key)
    params, state = _with_state(dynamics, params, state)
    period, state, m, moved = _steady(dynamics, params, state, key)
    move, size = _displacement(params, moved)
    dtype = jnp.result_type(*jax.tree.leaves(params))
    if move > fixed_point_tolerance(dtype) * (1.0 + size):
        warnings.warn(
            f"params: not a fixed point of the dynamics (one period of {period} "
            f"step(s) moves it by {move:.3g}); the spectral radius is that of the "
            "local linearisation only, not a convergence rate",
            NotAFixedPointWarning,
            stacklevel=2,
        )
    m = np.asarray(m)
    radius = float(np.max(np.abs(np.linalg.eigvals(m)))) if m.size else 0.0
    return radius ** (1.0 / period)

"""Continuous time: gradient flows of games, integrated with diffrax.

`flow(game, params, t1)` solves `dw/dt = -xi(w)` from `w(0) = params` to
`t1`, where `xi` is the game's descent field (`gamedyn.vector_field`) or any
field shaped like it: the consensus field, the SGA field, the gradient of the
Hamiltonian (below), or the modified field of a discrete rule
(`gamedyn.analysis.modified.modified_field`). Simultaneous gradient descent
with step `h` is the explicit Euler method of this ODE; the flow is its `h -> 0`
limit.

References:
  Kidger 2021, On Neural Differential Equations (diffrax). PhD thesis, Oxford.
  Mescheder, Nowozin, Geiger 2017, The Numerics of GANs. NeurIPS.
  Balduzzi et al. 2018, The Mechanics of n-Player Differentiable Games. ICML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

import diffrax
import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._game import (
    Game,
    Params,
    check_params,
    vector_field,
    xi_and_grad_hamiltonian,
)
from gamedyn._validate import (
    check_float,
    check_int,
    check_key,
    check_positive,
    is_traced,
)

Field = Callable[..., Params]
"""`fn(params, key=None) -> tuple` shaped like `params` (as
`gamedyn.vector_field` returns)."""


class FlowTrajectory(NamedTuple):
    """The record of a flow (the continuous-time `gamedyn.Trajectory`).

    Attributes:
      params: the params at `times`, stacked on a leading axis; None when
        `saveat=None`. Records at or after `diverged_time` are NaN.
      final: the params at `t1`; NaN when the integration stopped early.
      times: `(m,)` the record times (`(0,)` when `saveat=None`).
      diverged_time: the time at which the integration stopped before `t1`: the
        params left the ball `||w|| < max_norm` or stopped being finite (a
        blow-up), or the solver gave up (`max_steps` reached, step size
        underflow, which is how a finite-time blow-up usually shows); `inf`
        when it reached `t1`. Never raised: a vmapped batch with one diverging
        member returns the others.
      num_steps: the solver's steps (accepted and rejected).
      dense: with `dense=True`, diffrax's `DenseInterpolation` of the solution
        (`traj.dense.evaluate(t)`, valid on `[0, t_end]`); else None.
    """

    params: Params | None
    final: Params
    times: jax.Array
    diverged_time: jax.Array
    num_steps: jax.Array
    dense: Any


def _hashable_cache(factory):
    """Memoises `factory` on its argument (a game or a field), so that repeated
    flows of one game reuse diffrax's compiled solve; unhashables are not cached."""
    cached = functools.lru_cache(maxsize=64)(factory)

    def get(arg):
        try:
            return cached(arg)
        except TypeError:
            return factory(arg)

    return get


@_hashable_cache
def _game_field(game: Game) -> Field:
    return vector_field(game)


@_hashable_cache
def _descent_term(field: Field) -> diffrax.ODETerm:
    def rhs(t, y, args):
        key, _ = args
        return jax.tree.map(jnp.negative, field(y, key))

    return diffrax.ODETerm(rhs)


def _norm(tree) -> jax.Array:
    return jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree)))


def _left_the_ball(t, y, args, **kwargs) -> jax.Array:
    """diffrax event: `||y|| >= max_norm` or `y` not finite."""
    return ~(_norm(y) < args[1])


_BLOW_UP = diffrax.Event(_left_the_ball)


def _weight(name: str, value: Any, *, signed: bool = False) -> Any:
    """A finite weight (`>= 0` unless `signed`); traced arrays pass."""
    return check_float(name, value, minimum=None if signed else 0.0)


def _check_game(game: Any, field: Any) -> None:
    if game is None and field is not None:
        return
    if not isinstance(game, Game):
        raise TypeError(f"game: expected a gamedyn.Game, got {type(game).__name__}")


def _check_float_params(params: Any) -> Params:
    check_params(params)
    params = jax.tree.map(jnp.asarray, params)
    for leaf in jax.tree.leaves(params):
        if not jnp.issubdtype(leaf.dtype, jnp.floating):
            raise TypeError(
                "params: expected floating-point leaves, got a leaf of dtype "
                f"{leaf.dtype}"
            )
    finite = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(params)]
    if finite and not any(is_traced(f) for f in finite) and not all(map(bool, finite)):
        raise ValueError("params: the starting point must be finite (got NaN or inf)")
    return params


def _record_times(saveat: Any, t1: Any, dtype) -> jax.Array | None:
    """The record times from `saveat` (None, an int or a 1-D array)."""
    if saveat is None:
        return None
    if isinstance(saveat, (int, np.integer)) and not isinstance(saveat, bool):
        num = check_int("saveat", saveat, 2)
        return jnp.linspace(0.0, jnp.asarray(t1, dtype), num)
    if not isinstance(saveat, (jax.Array, np.ndarray, list, tuple)):
        raise TypeError(
            "saveat: expected None, an integer >= 2 (evenly spaced records on "
            f"[0, t1]) or a 1-D array of times, got {type(saveat).__name__}"
        )
    ts = jnp.asarray(saveat)
    if ts.ndim != 1 or ts.shape[0] == 0:
        raise ValueError(
            f"saveat: expected a non-empty 1-D array of times, got shape {ts.shape}"
        )
    if not jnp.issubdtype(ts.dtype, jnp.floating) and not jnp.issubdtype(
        ts.dtype, jnp.integer
    ):
        raise TypeError(f"saveat: expected real times, got dtype {ts.dtype}")
    ts = ts.astype(dtype)
    if not is_traced(ts):
        host = np.asarray(ts)
        if not np.all(np.isfinite(host)) or np.any(np.diff(host) < 0):
            raise ValueError(
                f"saveat: expected finite non-decreasing times, got {host}"
            )
        if host[0] < 0 or (not is_traced(t1) and host[-1] > float(t1)):
            raise ValueError(
                f"saveat: expected times in [0, t1] = [0, {t1}], got "
                f"[{host[0]}, {host[-1]}]"
            )
    return ts


def flow(
    game: Game | None,
    params: Params,
    t1: float | jax.Array,
    *,
    field: Field | None = None,
    saveat: int | jax.Array | None = 101,
    solver: diffrax.AbstractSolver | None = None,
    key: jax.Array | None = None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
    dt0: float | None = None,
    stepsize_controller: diffrax.AbstractStepSizeController | None = None,
    max_steps: int = 4096,
    max_norm: float | None = 1e8,
    dense: bool = False,
    adjoint: diffrax.AbstractAdjoint | None = None,
) -> FlowTrajectory:
    """Integrates the flow `dw/dt = -field(w)` from `w(0) = params` to `t1`.

    `field` defaults to the game's descent field `xi` (`gamedyn.
    vector_field`), so the default is the gradient flow of the game, the `h -> 0`
    limit of simultaneous gradient descent `w <- w - h xi(w)`. Other fields built
    from the game: `consensus_field` (`xi + gamma J^T xi`), `sga_field`
    (`xi + lam A^T xi`), `hamiltonian_field` (`J^T xi`, descent on
    `1/2 ||xi||^2`), or the modified field of a discrete rule
    (`gamedyn.analysis.modified.modified_field`).

    The ODE is solved by `diffrax.diffeqsolve` (adaptive Tsit5 with a PID
    step-size controller by default), which is jit-compiled and cached: a second
    call with the same game (or the same `field` object), settings and shapes does
    not re-trace. The result is differentiable (reverse mode through diffrax's
    checkpointed adjoint) and the call works under `jax.jit` and `jax.vmap`,
    `t1` and `saveat` times included. A blow-up is a value, never an error: the
    solve stops when `||w|| >= max_norm` or `w` is not finite (a diffrax
    event) or when the solver gives up, `diverged_time` says when, and later
    records and `final` are NaN.

    Args:
      game: the game (may be None when `field` is given).
      params: the start, a tuple with one pytree per player (finite floats).
      t1: the final time (> 0; may be traced).
      field: `fn(params, key=None)` shaped like `gd.vector_field(game)`'s
        output; the flow descends it. Default: `gd.vector_field(game)`.
      saveat: the record times: an integer `m >= 2` (`linspace(0, t1, m)`), a
        1-D array of non-decreasing times in `[0, t1]`, or None (`final` only).
      solver: a diffrax solver (default `diffrax.Tsit5()`).
      key: PRNG key passed to `field` at every evaluation (a fixed minibatch of a
        stochastic game); None for a deterministic game.
      rtol: relative tolerance of the default `diffrax.PIDController`.
      atol: absolute tolerance of the default `diffrax.PIDController`.
      dt0: the initial step (None: chosen by the controller). Required by
        fixed-step solvers (e.g. `diffrax.Euler()`), which then take constant
        steps `dt0`.
      stepsize_controller: a diffrax step-size controller, replacing the default.
      max_steps: the solver's step budget (integer >= 1).
      max_norm: the blow-up threshold on `||w||` (None: only non-finite params
        and solver failures stop the solve).
      dense: also return the dense interpolation of the solution.
      adjoint: a diffrax adjoint (default diffrax's, reverse mode; pass
        `diffrax.ForwardMode()` for `jax.jacfwd`).

    Returns:
      A `FlowTrajectory`.

    Raises:
      TypeError: `game` is not a Game, `params` not a tuple of float pytrees,
        `field` not callable, `solver` not a diffrax solver.
      ValueError: `t1 <= 0`, non-finite `params`, `saveat` times outside
        `[0, t1]`, a fixed-step solver without `dt0`.

    Example:
      >>> import gamedyn as gd
      >>> from gamedyn.flows import flow
      >>> game = gd.games.dirac_gan()
      >>> traj = flow(game, game.init(None), 10.0, saveat=5)
      >>> traj.times.shape, traj.params[0].shape
      ((5,), (5,))
    """
    key = check_key("key", key)
    _check_game(game, field)
    if field is None:
        field = _game_field(game)
    elif not callable(field):
        raise TypeError(
            "field: expected a function fn(params, key=None) shaped like "
            f"gd.vector_field(game), got {type(field).__name__}"
        )
    params = _check_float_params(params)
    t1 = check_positive("t1", t1)
    if jnp.ndim(t1) != 0:
        raise ValueError(f"t1: expected a scalar, got shape {jnp.shape(t1)}")
    # times in the params' precision (float32 params stay float32 under x64), and
    # arrays, not Python numbers: diffrax's filter_jit would bake numbers into the
    # compiled solve and re-trace for every new t1 / dt0
    time_dtype = jnp.result_type(*jax.tree.leaves(params))
    ts = _record_times(saveat, t1, time_dtype)
    t1 = jnp.asarray(t1, time_dtype)
    if solver is None:
        solver = diffrax.Tsit5()
    elif not isinstance(solver, diffrax.AbstractSolver):
        raise TypeError(
            f"solver: expected a diffrax solver, got {type(solver).__name__}"
        )
    if stepsize_controller is None:
        if isinstance(solver, diffrax.AbstractAdaptiveSolver):
            stepsize_controller = diffrax.PIDController(
                rtol=check_positive("rtol", rtol), atol=check_positive("atol", atol)
            )
        else:
            stepsize_controller = diffrax.ConstantStepSize()
    if dt0 is None:
        if isinstance(stepsize_controller, diffrax.ConstantStepSize):
            raise ValueError(
                f"dt0: a fixed-step solver ({type(solver).__name__}) needs the step "
                "dt0, got None"
            )
    else:
        dt0 = jnp.asarray(check_positive("dt0", dt0), time_dtype)
    max_steps = check_int("max_steps", max_steps, 1)
    max_norm = jnp.inf if max_norm is None else check_positive("max_norm", max_norm)
    if not isinstance(dense, bool):
        raise TypeError(f"dense: expected a bool, got {type(dense).__name__}")
    subs = [diffrax.SubSaveAt(t1=True)]
    if ts is not None:
        subs.append(diffrax.SubSaveAt(ts=ts))
    extra = {} if adjoint is None else {"adjoint": adjoint}
    sol = diffrax.diffeqsolve(
        _descent_term(field),
        solver,
        0.0,
        t1,
        dt0,
        params,
        args=(key, jnp.asarray(max_norm, time_dtype)),
        saveat=diffrax.SaveAt(subs=subs, dense=dense),
        stepsize_controller=stepsize_controller,
        event=_BLOW_UP,
        max_steps=max_steps,
        throw=False,
        **extra,
    )
    finished = sol.result == diffrax.RESULTS.successful
    end = sol.ts[0][0]
    diverged_time = jnp.where(finished, jnp.inf, end)
    final = jax.tree.map(lambda y: jnp.where(finished, y[0], jnp.nan), sol.ys[0])
    records, times = None, jnp.zeros((0,), time_dtype)
    if ts is not None:
        # diffrax leaves inf in the records it did not reach; the record at the
        # stopping time itself is masked too (it is beyond the blow-up threshold).
        kept = finished | (ts < end)

        def mask(y):
            k = jnp.reshape(kept, kept.shape + (1,) * (y.ndim - 1))
            return jnp.where(k, y, jnp.nan)

        records, times = jax.tree.map(mask, sol.ys[1]), ts
    return FlowTrajectory(
        params=records,
        final=final,
        times=times,
        diverged_time=diverged_time,
        num_steps=sol.stats["num_steps"],
        dense=sol.interpolation if dense else None,
    )


def consensus_field(game: Game, gamma: float | jax.Array = 1.0) -> Field:
    """The consensus field `xi + gamma grad(1/2 ||xi||^2) = xi + gamma J^T xi`.

    Consensus optimization (Mescheder, Nowozin, Geiger 2017) descends it; its flow
    moves the Jacobian's eigenvalues away from the imaginary axis.

    Args:
      game: the game.
      gamma: the weight of the Hamiltonian term (a number or a traced array).

    Returns:
      `fn(params, key=None)` shaped like `gd.vector_field(game)`'s output.
    """
    _check_game(game, None)
    gamma = _weight("gamma", gamma)
    fields = xi_and_grad_hamiltonian(game)

    def fn(params: Params, key: jax.Array | None = None) -> Params:
        xi, grad_h = fields(params, key)
        return jax.tree.map(lambda a, b: a + gamma * b, xi, grad_h)

    return fn


def sga_field(game: Game, lam: float | jax.Array = 1.0) -> Field:
    """The symplectic gradient adjustment `xi + lam A^T xi` (Balduzzi et al. 2018).

    `A = (J - J^T) / 2` is the antisymmetric part of the game Jacobian, so
    `A^T xi = (J^T xi - J xi) / 2` (one VJP and one JVP). The sign of `lam` is
    fixed (no alignment switching, which would make the flow discontinuous).

    Args:
      game: the game.
      lam: the adjustment's weight.

    Returns:
      `fn(params, key=None)` shaped like `gd.vector_field(game)`'s output.
    """
    _check_game(game, None)
    lam = _weight("lam", lam, signed=True)
    xi_fn = vector_field(game)

    def fn(params: Params, key: jax.Array | None = None) -> Params:
        xi, vjp = jax.vjp(lambda p: xi_fn(p, key), params)
        jt_xi = vjp(xi)[0]
        j_xi = jax.jvp(lambda p: xi_fn(p, key), (params,), (xi,))[1]
        return jax.tree.map(lambda x, a, b: x + lam * 0.5 * (a - b), xi, jt_xi, j_xi)

    return fn


def hamiltonian_field(game: Game) -> Field:
    """`grad H = J^T xi`, the gradient of the Hamiltonian `H = 1/2 ||xi||^2`.

    Its flow `dw/dt = -J^T xi` descends `H` (`dH/dt = -||J^T xi||^2 <= 0`)
    towards the game's stationary points, Nash or not (Balduzzi et al. 2018;
    Mescheder et al. 2017 call `H` the consensus term).

    Returns:
      `fn(params, key=None)` shaped like `gd.vector_field(game)`'s output.
    """
    _check_game(game, None)
    fields = xi_and_grad_hamiltonian(game)

    def fn(params: Params, key: jax.Array | None = None) -> Params:
        return fields(params, key)[1]

    return fn

"""Running an update rule: one jit-compiled `lax.scan` per run."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._game import Game, Params, check_params, hamiltonian, vector_field
from gamedyn._validate import check_int, check_key
from gamedyn.dynamics._base import Dynamics

METRICS = ("losses", "grad_norms", "hamiltonian", "distance")
"""Names accepted by `simulate(..., metrics=...)`."""


class Trajectory(NamedTuple):
    """The record of a run.

    Attributes:
      params: the parameters stacked on a leading axis: the start, then the params after
        every `every` steps (`num_steps // every + 1` records); None when the run
        was made with `record_params=False`.
      final: the params after the last step.
      diverged_step: int array, the first step (1-based, counted from the run's
        `start_step`, so a continued run reports global steps) whose params or
        the update rule's state (optimizer moments, ...) are not all finite, or
        -1. From that step on the run is over: later records and `final` are NaN
        (so are the metrics; `state` is not meaningful).
      steps: the global step index of each record (`start_step`,
        `start_step + every`, ...).
      metrics: dict of per-record metrics (see `simulate`).
      state: the dynamics' state after the last step (to continue the run).
    """

    params: Params
    final: Params
    diverged_step: jax.Array
    steps: jax.Array
    metrics: dict[str, jax.Array]
    state: Any

    def __repr__(self) -> str:
        """Shapes and the run's summary, not the numbers (like equinox's trees)."""

        def leaf(x) -> str:
            if not hasattr(x, "shape"):
                return repr(x)
            dtype = jnp.dtype(x.dtype).name if hasattr(x, "dtype") else "?"
            short = {"float32": "f32", "float64": "f64", "int32": "i32"}.get(
                dtype, dtype
            )
            return f"{short}[{','.join(map(str, x.shape))}]"

        def tree(t) -> str:
            return str(jax.tree.map(leaf, t)).replace("'", "")

        steps = self.steps
        if _is_concrete(steps) and np.ndim(steps) == 1 and np.size(steps):
            span = f"{int(steps[0])}..{int(steps[-1])} ({np.size(steps)} records)"
        else:
            span = leaf(steps)
        diverged = self.diverged_step
        if _is_concrete(diverged) and np.ndim(diverged) == 0:
            diverged = int(diverged)
        else:
            diverged = leaf(diverged)
        return (
            f"Trajectory(steps={span}, diverged_step={diverged}, "
            f"params={tree(self.params)}, final={tree(self.final)}, "
            f"metrics={tree(self.metrics)}, state={type(self.state).__name__})"
        )


def _all_finite(tree) -> jax.Array:
    """Whether every floating-point leaf of `tree` is finite (other leaves, such
    as step counters and PRNG keys, are ignored)."""
    leaves = [
        x
        for x in jax.tree.leaves(tree)
        if jnp.issubdtype(jnp.result_type(x), jnp.inexact)
    ]
    if not leaves:
        return jnp.asarray(True)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def _where(cond, a, b):
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


def _is_concrete(tree) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(tree))


def _metric_fn(game: Game | None, names: tuple[str, ...]):
    if not names:
        return None
    xi = vector_field(game) if game is not None else None
    ham = hamiltonian(game) if game is not None else None

    def fn(params, key, equilibrium):
        out = {}
        if "losses" in names:
            out["losses"] = jnp.stack(game.losses(params, key))
        if "grad_norms" in names:
            g = xi(params, key)
            out["grad_norms"] = jnp.stack(
                [
                    jnp.sqrt(sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(gi)))
                    for gi in g
                ]
            )
        if "hamiltonian" in names:
            out["hamiltonian"] = ham(params, key)
        if "distance" in names:
            sq = jax.tree.map(
                lambda a, b: jnp.sum(jnp.square(a - b)), params, equilibrium
            )
            out["distance"] = jnp.sqrt(sum(jax.tree.leaves(sq)))
        return out

    return fn


@partial(
    jax.jit,
    static_argnames=(
        "dynamics",
        "num_steps",
        "every",
        "game",
        "names",
        "record_params",
        "unroll",
    ),
)
def _run(
    dynamics,
    num_steps,
    every,
    game,
    names,
    record_params,
    unroll,
    params,
    state,
    key,
    equilibrium,
    start_step,
):
    metric_fn = _metric_fn(game, names)
    metric_key = jax.random.fold_in(key, -1 % 2**31)

    # Divergence is tracked by counting finite steps (no select on the iterate: a
    # per-step select halves the throughput of small vmapped games); records mask
    # the params from the diverging step on.
    def one_step(carry, _):
        p, s, ok, num_ok, t = carry
        p, s = dynamics.step(p, s, jax.random.fold_in(key, t))
        ok = ok & _all_finite(p) & _all_finite(s)
        return (p, s, ok, num_ok + ok.astype(jnp.int32), t + 1), None

    def current(carry):
        p, ok = carry[0], carry[2]
        return jax.tree.map(lambda x: jnp.where(ok, x, jnp.nan), p)

    def record(p, t):
        kept = p if record_params else None
        if metric_fn is None:
            return kept, {}
        return kept, metric_fn(p, jax.random.fold_in(metric_key, t), equilibrium)

    def chunk(carry, _):
        carry, _ = jax.lax.scan(one_step, carry, length=every, unroll=unroll)
        return carry, record(current(carry), carry[4])

    zero = jnp.asarray(0, jnp.int32)
    carry = (params, state, jnp.asarray(True), zero, start_step)
    first = record(params, start_step)
    carry, recs = jax.lax.scan(chunk, carry, length=num_steps // every)
    if num_steps % every:
        carry, _ = jax.lax.scan(
            one_step, carry, length=num_steps % every, unroll=unroll
        )
    stacked = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, recs)
    steps = start_step + jnp.arange(num_steps // every + 1, dtype=jnp.int32) * every
    return Trajectory(
        params=stacked[0],
        final=current(carry),
        diverged_step=jnp.where(carry[2], -1, start_step + carry[3] + 1),
        steps=steps,
        metrics=stacked[1],
        state=carry[1],
    )


def simulate(
    dynamics: Dynamics,
    params: Params,
    num_steps: int,
    key: jax.Array | int | None = None,
    every: int = 1,
    *,
    state: Any = None,
    start_step: int | jax.Array = 0,
    metrics: Sequence[str] = (),
    game: Game | None = None,
    equilibrium: Params | None = None,
    record_params: bool = True,
    unroll: int | bool = 1,
) -> Trajectory:
    """Runs `num_steps` steps of `dynamics` from `params` in one `lax.scan`.

    The run is jit-compiled (a second call with the same dynamics, settings and
    shapes does not re-trace), works under `jax.vmap` and on any device, and never
    raises on divergence: the first step whose params are not finite is reported in
    `diverged_step` and later records are NaN.

    Keys follow the global step: step `t` of the run (0-based) uses
    `fold_in(key, start_step + t)`. So a run continued from its own end,
    `b = simulate(dyn, a.final, m, key, state=a.state, start_step=n)` after
    `a = simulate(dyn, p, n, key)`, equals one unbroken run of `n + m` steps to
    the last bit (same backend), minibatches and noise included.

    Args:
      dynamics: the update rule.
      params: the start, a tuple with one pytree per player (finite floats).
      num_steps: number of steps (integer >= 0).
      key: PRNG key (or integer seed) for stochastic games; None means
        `jax.random.key(0)`.
      every: record the params every `every` steps (integer >= 1).
      state: the dynamics' state to start from (default `dynamics.init(params)`),
        e.g. `trajectory.state` to continue a run.
      start_step: the global index of the first step (integer >= 0, may be
        traced): keys, `steps` and `diverged_step` count from it.
      metrics: names from `METRICS` to record with the params: `"losses"`
        (`(n,)` players' losses), `"grad_norms"` (`(n,)` norms of each player's
        `grad_i L_i`), `"hamiltonian"` (`1/2 ||xi||^2`), `"distance"` (to
        `equilibrium`). All but `"distance"` need `game`.
      game: the game, for the metrics.
      equilibrium: params of a known equilibrium, for `"distance"`.
      record_params: keep the params at every record (default). With False the
        trajectory keeps only the metrics, `final` and `state`
        (`params=None`), so memory no longer grows with the parameter count times
        the number of records.
      unroll: `lax.scan`'s unrolling of the inner loop (`True` compiles the
        steps between records as straight-line code, faster for convolutional
        models on XLA:CPU; results are bitwise identical).

    Returns:
      A `Trajectory`.
    """
    check_params(params)
    check_int("num_steps", num_steps, 0)
    check_int("every", every, 1)
    if not isinstance(record_params, bool):
        raise TypeError(
            f"record_params: expected a bool, got {type(record_params).__name__}"
        )
    if isinstance(start_step, (jax.Array, np.ndarray)):
        if jnp.ndim(start_step) != 0 or not jnp.issubdtype(
            jnp.result_type(start_step), jnp.integer
        ):
            raise TypeError(
                "start_step: expected an integer or an integer scalar array, got "
                f"shape {jnp.shape(start_step)} and dtype {jnp.result_type(start_step)}"
            )
        if _is_concrete(start_step) and int(start_step) < 0:
            raise ValueError(f"start_step: expected an integer >= 0, got {start_step}")
        start_step = jnp.asarray(start_step, jnp.int32)
    else:
        start_step = jnp.asarray(check_int("start_step", start_step, 0), jnp.int32)
    params = jax.tree.map(jnp.asarray, params)
    for leaf in jax.tree.leaves(params):
        if not jnp.issubdtype(leaf.dtype, jnp.inexact):
            raise TypeError(
                "params: expected floating-point leaves, got a leaf of dtype "
                f"{leaf.dtype}"
            )
    finite = _all_finite(params)
    if _is_concrete(finite) and not bool(finite):
        raise ValueError("params: the starting point must be finite (got NaN or inf)")
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"metrics: expected names from {METRICS}, got {unknown}")
    if any(m != "distance" for m in names) and game is None:
        raise TypeError("game: the metrics losses/grad_norms/hamiltonian need the game")
    if "distance" in names:
        if equilibrium is None:
            raise ValueError("equilibrium: the 'distance' metric needs an equilibrium")
        equilibrium = jax.tree.map(jnp.asarray, equilibrium)
        if jax.tree.structure(equilibrium) != jax.tree.structure(params) or any(
            jnp.shape(e) != jnp.shape(p)
            for e, p in zip(jax.tree.leaves(equilibrium), jax.tree.leaves(params))
        ):
            raise ValueError(
                "equilibrium: expected a pytree shaped like params, got "
                f"{jax.tree.map(jnp.shape, equilibrium)} for params of shapes "
                f"{jax.tree.map(jnp.shape, params)}"
            )
    else:
        equilibrium = None
    if not isinstance(dynamics, Dynamics):
        raise TypeError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    if state is None:
        state = dynamics.init(params)
    key = check_key("key", key)
    if key is None:
        key = jax.random.key(0)
    return _run(
        dynamics,
        num_steps,
        every,
        game if names else None,
        names,
        record_params,
        unroll,
        params,
        state,
        key,
        equilibrium,
        start_step,
    )

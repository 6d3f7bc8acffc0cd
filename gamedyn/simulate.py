"""Running an update rule: one jit-compiled ``lax.scan`` per run."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._game import Game, Params, check_params, hamiltonian, vector_field
from gamedyn.dynamics._base import Dynamics

METRICS = ("losses", "grad_norms", "hamiltonian", "distance")
"""Names accepted by ``simulate(..., metrics=...)``."""


class Trajectory(NamedTuple):
    """The record of a run.

    Attributes:
      params: the parameters stacked on a leading axis: the start, then the params after
        every ``every`` steps (``num_steps // every + 1`` records).
      final: the params after the last step.
      diverged_step: int array, the first step (1-based) whose params are not all
        finite, or -1. From that step on the run is over: later records and
        ``final`` are NaN (so are the metrics; ``state`` is not meaningful).
      steps: the step index of each record (``0, every, 2 every, ...``).
      metrics: dict of per-record metrics (see :func:`simulate`).
      state: the dynamics' state after the last step (to continue the run).
    """

    params: Params
    final: Params
    diverged_step: jax.Array
    steps: jax.Array
    metrics: dict[str, jax.Array]
    state: Any


def _all_finite(tree) -> jax.Array:
    leaves = jax.tree.leaves(tree)
    return jnp.all(jnp.stack([jnp.all(jnp.isfinite(x)) for x in leaves]))


def _where(cond, a, b):
    return jax.tree.map(lambda x, y: jnp.where(cond, x, y), a, b)


def _is_concrete(tree) -> bool:
    return not any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(tree))


def _check_int(name: str, value, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"{name}: expected an integer >= {minimum}, got {type(value).__name__} "
            f"{value!r}"
        )
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")


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


@partial(jax.jit, static_argnames=("dynamics", "num_steps", "every", "game", "names"))
def _run(dynamics, num_steps, every, game, names, params, state, key, equilibrium):
    metric_fn = _metric_fn(game, names)
    metric_key = jax.random.fold_in(key, -1 % 2**31)

    # Divergence is tracked by counting finite steps (no select on the iterate: a
    # per-step select halves the throughput of small vmapped games); records mask
    # the params from the diverging step on.
    def one_step(carry, _):
        p, s, ok, num_ok, t = carry
        p, s = dynamics.step(p, s, jax.random.fold_in(key, t))
        ok = ok & _all_finite(p)
        return (p, s, ok, num_ok + ok.astype(jnp.int32), t + 1), None

    def current(carry):
        p, ok = carry[0], carry[2]
        return jax.tree.map(lambda x: jnp.where(ok, x, jnp.nan), p)

    def record(p, t):
        if metric_fn is None:
            return p, {}
        return p, metric_fn(p, jax.random.fold_in(metric_key, t), equilibrium)

    def chunk(carry, _):
        carry, _ = jax.lax.scan(one_step, carry, length=every)
        return carry, record(current(carry), carry[4])

    zero = jnp.asarray(0, jnp.int32)
    carry = (params, state, jnp.asarray(True), zero, zero)
    first = record(params, zero)
    carry, recs = jax.lax.scan(chunk, carry, length=num_steps // every)
    if num_steps % every:
        carry, _ = jax.lax.scan(one_step, carry, length=num_steps % every)
    stacked = jax.tree.map(lambda a, b: jnp.concatenate([a[None], b]), first, recs)
    steps = jnp.arange(num_steps // every + 1, dtype=jnp.int32) * every
    return Trajectory(
        params=stacked[0],
        final=current(carry),
        diverged_step=jnp.where(carry[2], -1, carry[3] + 1),
        steps=steps,
        metrics=stacked[1],
        state=carry[1],
    )


def simulate(
    dynamics: Dynamics,
    params: Params,
    num_steps: int,
    key: jax.Array | None = None,
    every: int = 1,
    *,
    state: Any = None,
    metrics: Sequence[str] = (),
    game: Game | None = None,
    equilibrium: Params | None = None,
) -> Trajectory:
    """Runs ``num_steps`` steps of ``dynamics`` from ``params`` in one ``lax.scan``.

    The run is jit-compiled (a second call with the same dynamics, settings and
    shapes does not re-trace), works under ``jax.vmap`` and on any device, and never
    raises on divergence: the first step whose params are not finite is reported in
    ``diverged_step`` and later records are NaN. Step ``t`` (0-based) uses
    the key ``fold_in(key, t)``.

    Args:
      dynamics: the update rule.
      params: the start, a tuple with one pytree per player (finite floats).
      num_steps: number of steps (integer >= 0).
      key: PRNG key for stochastic games; None means ``jax.random.key(0)``.
      every: record the params every ``every`` steps (integer >= 1).
      state: the dynamics' state to start from (default ``dynamics.init(params)``),
        e.g. ``trajectory.state`` to continue a run.
      metrics: names from :data:`METRICS` to record with the params: ``"losses"``
        (``(n,)`` players' losses), ``"grad_norms"`` (``(n,)`` norms of each player's
        ``grad_i L_i``), ``"hamiltonian"`` (``1/2 ||xi||^2``), ``"distance"`` (to
        ``equilibrium``). All but ``"distance"`` need ``game``.
      game: the game, for the metrics.
      equilibrium: params of a known equilibrium, for ``"distance"``.

    Returns:
      A :class:`Trajectory`.
    """
    check_params(params)
    _check_int("num_steps", num_steps, 0)
    _check_int("every", every, 1)
    params = jax.tree.map(jnp.asarray, params)
    for leaf in jax.tree.leaves(params):
        if not jnp.issubdtype(leaf.dtype, jnp.inexact):
            raise ValueError(
                "params: expected floating-point leaves, got a leaf of dtype "
                f"{leaf.dtype}"
            )
    if _is_concrete(params) and not bool(_all_finite(params)):
        raise ValueError("params: the starting point must be finite (got NaN or inf)")
    if isinstance(metrics, str):
        metrics = (metrics,)
    names = tuple(metrics)
    unknown = [m for m in names if m not in METRICS]
    if unknown:
        raise ValueError(f"metrics: expected names from {METRICS}, got {unknown}")
    if any(m != "distance" for m in names) and game is None:
        raise ValueError(
            "game: the metrics losses/grad_norms/hamiltonian need the game"
        )
    if "distance" in names:
        if equilibrium is None:
            raise ValueError("equilibrium: the 'distance' metric needs an equilibrium")
        equilibrium = jax.tree.map(jnp.asarray, equilibrium)
        if jax.tree.structure(equilibrium) != jax.tree.structure(params):
            raise ValueError("equilibrium: expected a pytree shaped like params")
    else:
        equilibrium = None
    if not isinstance(dynamics, Dynamics):
        raise ValueError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    if state is None:
        state = dynamics.init(params)
    if key is None:
        key = jax.random.key(0)
    return _run(
        dynamics,
        num_steps,
        every,
        game if names else None,
        names,
        params,
        state,
        key,
        equilibrium,
    )

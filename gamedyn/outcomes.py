"""Classifying runs: converged, diverged, cycling or slow; empirical rates.

Everything here is vectorised over leading axes (a whole sweep at once) and works
under ``jit`` and ``vmap``: the input is a series of distances to a known
equilibrium, time last, or any other quantity that vanishes at the solution, such
as the norm of the vector field ``||xi||``. (:func:`classify_runs` judges runs;
:func:`gamedyn.analysis.classify` judges points of a game.)
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

OUTCOMES = ("converged", "diverged", "cycles", "slow")
"""Outcome names; :func:`classify_runs` returns indices into this tuple."""

CONVERGED, DIVERGED, CYCLES, SLOW = range(4)


def _tail_start(num: int, tail: float) -> int:
    if not 0 <= tail <= 1:
        raise ValueError(f"tail: expected a fraction in [0, 1], got {tail}")
    return max(0, min(num - 1, int(num * (1 - tail))))


def _fit_slope(logd: jax.Array, mask: jax.Array) -> jax.Array:
    """Least-squares slope of ``logd`` against the record index, masked, last axis."""
    t = jnp.arange(logd.shape[-1], dtype=logd.dtype)
    w = mask.astype(logd.dtype)
    n = jnp.sum(w, axis=-1)
    safe_n = jnp.maximum(n, 1)
    t_mean = jnp.sum(w * t, axis=-1) / safe_n
    y_mean = jnp.sum(w * logd, axis=-1) / safe_n
    dt = (t - t_mean[..., None]) * w
    var = jnp.sum(dt * dt, axis=-1)
    cov = jnp.sum(dt * jnp.where(mask, logd - y_mean[..., None], 0), axis=-1)
    return jnp.where(n >= 2, cov / jnp.where(var > 0, var, 1), jnp.nan)


def rate(distance: jax.Array, *, tail: float = 0.5, every: int = 1) -> jax.Array:
    """The empirical linear rate: ``distance_t ~ C rate^t``, fitted on the tail.

    The rate is ``exp(s / every)`` with ``s`` the least-squares slope of
    ``log distance`` against the record index over the last ``tail`` fraction of the
    records, so it is a per-step factor comparable with the spectral radius of the
    update's Jacobian (``< 1`` converging, ``> 1`` diverging). Records that are not
    finite or below the smallest normal float (converged to round-off) are left
    out of the fit; when fewer than two tail records remain, all the usable records
    are fitted; with fewer than two, the rate is NaN.

    Args:
      distance: ``(..., T)`` distances to the equilibrium (or norms of ``xi``),
        time last, recorded every ``every`` steps.
      tail: fraction of the records to fit.
      every: steps between records.

    Returns:
      float array of shape ``distance.shape[:-1]``.
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every: expected an integer >= 1, got {every!r}")
    distance = _as_float(distance)
    _tail_start(distance.shape[-1], tail)
    return _rate(distance, float(tail), every)


def _as_float(distance) -> jax.Array:
    distance = jnp.asarray(distance)
    if not jnp.issubdtype(distance.dtype, jnp.floating):
        distance = distance.astype(float)
    return distance


@partial(jax.jit, static_argnums=(1, 2))
def _rate(distance: jax.Array, tail: float, every: int) -> jax.Array:
    num = distance.shape[-1]
    start = _tail_start(num, tail)
    if num - start < 2:
        start = max(0, num - 2)
    usable = jnp.isfinite(distance) & (distance >= jnp.finfo(distance.dtype).tiny)
    logd = jnp.log(jnp.where(usable, distance, 1))
    in_tail = jnp.arange(num) >= start
    slope_tail = _fit_slope(logd, usable & in_tail)
    slope_all = _fit_slope(logd, usable)
    enough = jnp.sum(usable & in_tail, axis=-1) >= 2
    return jnp.exp(jnp.where(enough, slope_tail, slope_all) / every)


def classify_runs(
    distance: jax.Array,
    *,
    tol: float = 1e-2,
    growth: float = 2.0,
    tail: float = 0.2,
    shrink: float | None = None,
) -> jax.Array:
    """Classifies runs from their distance to the equilibrium over time.

    The tail is the last ``tail`` fraction of records. A run has *converged* when
    its tail stays within ``tol * d0`` of the equilibrium (``d0`` the starting
    distance), *diverged* when any distance is not finite or its tail stays beyond
    ``growth * d0``, and *cycles* otherwise. With ``shrink`` given, a run that
    would cycle is *slow* instead when it is still approaching: at the rate fitted
    on its tail (:func:`rate`), a run of the same length shrinks by at least the
    factor ``shrink`` (sweeps use ``shrink=0.5``). ``distance`` may also be the norm of
    the vector field ``||xi||``.

    Args:
      distance: ``(..., T)`` distances to the equilibrium, time last.
      tol: relative radius for convergence.
      growth: relative radius for divergence.
      tail: fraction of the records to judge by.
      shrink: None (three outcomes) or the decay over the run's length, in
        ``(0, 1)``, that makes a run *slow* rather than *cycles*.

    Returns:
      int array of shape ``distance.shape[:-1]``, indices into :data:`OUTCOMES`.
    """
    distance = _as_float(distance)
    _tail_start(distance.shape[-1], tail)
    if shrink is not None and not 0 < shrink < 1:
        raise ValueError(f"shrink: expected None or a number in (0, 1), got {shrink}")
    return _classify(distance, tol, growth, float(tail), shrink)


@partial(jax.jit, static_argnums=(3, 4))
def _classify(distance, tol, growth, tail: float, shrink: float | None) -> jax.Array:
    num = distance.shape[-1]
    start = _tail_start(num, tail)
    d0 = jnp.maximum(distance[..., 0], jnp.finfo(distance.dtype).tiny)
    rel = distance[..., start:] / d0[..., None]
    finite = jnp.all(jnp.isfinite(distance), axis=-1)
    converged = finite & (jnp.max(rel, axis=-1) < tol)
    diverged = ~finite | (jnp.min(rel, axis=-1) > growth)
    if shrink is None:
        slow = jnp.zeros(distance.shape[:-1], bool)
    else:
        slow = _rate(distance, tail, 1) ** max(num - 1, 1) < shrink
    return jnp.where(
        converged,
        CONVERGED,
        jnp.where(diverged, DIVERGED, jnp.where(slow, SLOW, CYCLES)),
    )


def outcome_names(codes: jax.Array) -> list:
    """Outcome names for an array of codes (nested lists shaped like ``codes``)."""
    return jax.tree.map(lambda c: OUTCOMES[int(c)], jnp.asarray(codes).tolist())

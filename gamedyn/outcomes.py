"""Classifying runs: converged, diverged, cycling or slow; empirical rates.

Everything here is vectorised over leading axes (a whole sweep at once) and works
under `jit`, `vmap` and `shard_map`: the input is a series of distances to a
known equilibrium, time last, or any other quantity that vanishes at the solution,
such as the norm of the vector field `||xi||`. (`classify_runs` judges
runs; `gamedyn.analysis.classify` judges points of a game.) This module is
the one outcome judge of gamedyn: the commands and experiments call it with
documented parameters.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

OUTCOMES = ("converged", "diverged", "cycles", "slow", "outside basin")
"""Outcome names; codes are indices into this tuple. `classify_runs` returns
the first four; `"outside basin"` is given by `outside_basin` to runs that
diverged from a start although the equilibrium is locally stable."""

CONVERGED, DIVERGED, CYCLES, SLOW, OUTSIDE_BASIN = range(5)

FLOOR_ULPS = 1000
"""The default round-off floor of `rate` and `classify_runs`, in units
of the dtype's machine epsilon, relative to the first record."""

_JORDAN_RSS = 1e-3  # the log t term must explain all but this fraction
_JORDAN_POWER = 0.25  # ... with an exponent this close to 1 or 2
_CONSISTENT = 0.5  # slow: residual spread at most this fraction of the trend


def _tail_start(num: int, tail: float) -> int:
    if not 0 <= tail <= 1:
        raise ValueError(f"tail: expected a fraction in [0, 1], got {tail}")
    return max(0, min(num - 1, int(num * (1 - tail))))


def _check_floor(floor: Any) -> float | None:
    if floor is None:
        return None
    if isinstance(floor, bool) or not isinstance(floor, (int, float, np.floating)):
        raise TypeError(f"floor: expected None or a number, got {floor!r}")
    if not 0 <= float(floor) < 1:
        raise ValueError(f"floor: expected None or a number in [0, 1), got {floor}")
    return float(floor)


def _as_float(distance) -> jax.Array:
    try:
        distance = jnp.asarray(distance)
    except (TypeError, ValueError):
        raise ValueError(
            "distance: expected a (..., T) array of distances, got a ragged sequence"
        ) from None
    if distance.ndim < 1 or distance.shape[-1] < 1:
        raise ValueError(
            "distance: expected at least one record per run (shape (..., T), T >= 1), "
            f"got shape {distance.shape}"
        )
    if not jnp.issubdtype(distance.dtype, jnp.floating):
        distance = distance.astype(float)
    return distance


def _wsum(x, w):
    return jnp.sum(jnp.where(w, x, 0), axis=-1)


def _line(y, x, mask):
    """Masked least-squares line `y ~ a + b x` along the last axis: the slope
    `b`, the residuals (0 outside the mask) and the number of points."""
    n = jnp.sum(mask, axis=-1).astype(y.dtype)
    safe = jnp.maximum(n, 1)[..., None]
    xc = x - (_wsum(x, mask)[..., None] / safe)
    yc = y - (_wsum(y, mask)[..., None] / safe)
    var = _wsum(xc * xc, mask)
    b = _wsum(xc * yc, mask) / jnp.where(var > 0, var, 1)
    resid = jnp.where(mask, yc - b[..., None] * xc, 0)
    return b, resid, n


def _usable(distance, floor: float | None):
    """Finite positive records before the run first reaches its round-off floor
    `floor * d0` (`d0` the first record), unless it goes on down by another
    factor `eps` (then it approaches an exact zero, every record counts); the
    number of records before the cut (all when there is none); whether the run
    reached `floor * d0` at all."""
    eps = float(jnp.finfo(distance.dtype).eps)
    floor = FLOOR_ULPS * eps if floor is None else floor
    tiny = float(jnp.finfo(distance.dtype).tiny)
    level = jnp.maximum(floor * jnp.abs(distance[..., :1]), tiny)
    finite = jnp.isfinite(distance)
    positive = finite & (distance > 0)
    low = finite & (distance <= level)
    deep = jnp.any(positive & (distance <= level * eps), axis=-1, keepdims=True)
    cut = (jnp.cumsum(low.astype(jnp.int32), axis=-1) > 0) & ~deep
    before = jnp.sum(~cut, axis=-1)
    return positive & ~cut, before, jnp.any(low, axis=-1)


def _fit(distance, tail: float, every: int, floor: float | None):
    """`(slope per record, residual spread, trend, reached floor)` of the
    log-linear fit of the tail, with the double-eigenvalue correction. The tail
    is the last `tail` fraction of the records before the round-off floor."""
    num = distance.shape[-1]
    _tail_start(num, tail)
    usable, before, reached = _usable(distance, floor)
    logd = jnp.log(jnp.where(usable, distance, 1))
    t = jnp.arange(num, dtype=distance.dtype)
    start = jnp.floor(before.astype(distance.dtype) * (1 - tail))
    start = jnp.minimum(start, jnp.maximum(before - 2, 0).astype(distance.dtype))
    in_tail = usable & (t >= start[..., None])
    enough = jnp.sum(in_tail, axis=-1) >= 2
    mask = jnp.where(enough[..., None], in_tail, usable)
    slope, resid, n = _line(logd, t, mask)
    # A double (or triple) eigenvalue makes the distance ~ C t^m rho^t: fit
    # log t as well, and keep the correction when it explains the residuals
    # (all but a fraction 1e-3) with an exponent m close to 1 or 2.
    q = jnp.log1p(t * every)
    q_slope, q_resid, _ = _line(q, t, mask)
    qq = _wsum(q_resid * q_resid, mask)
    rss = _wsum(resid * resid, mask)
    power = _wsum(resid * q_resid, mask) / jnp.where(qq > 0, qq, 1)
    rss3 = rss - power * power * qq
    whole = jnp.round(power)
    jordan = (
        (n >= 4)
        & (qq > 0)
        & (rss3 <= _JORDAN_RSS * rss)
        & ((whole == 1) | (whole == 2))
        & (jnp.abs(power - whole) <= _JORDAN_POWER)
    )
    slope = jnp.where(jordan, slope - power * q_slope, slope)
    slope = jnp.where(n >= 2, slope, jnp.nan)
    big = jnp.finfo(distance.dtype).max
    spread = jnp.max(jnp.where(mask, resid, -big), axis=-1) - jnp.min(
        jnp.where(mask, resid, big), axis=-1
    )
    span = jnp.max(jnp.where(mask, t, 0), axis=-1) - jnp.min(
        jnp.where(mask, t, num), axis=-1
    )
    return slope, spread, jnp.abs(slope) * span, reached


def rate(
    distance: jax.Array,
    *,
    tail: float = 0.5,
    every: int = 1,
    floor: float | None = None,
) -> jax.Array:
    """The empirical linear rate: `distance_t ~ C rate^t`, fitted on the tail.

    The rate is `exp(s / every)` with `s` the least-squares slope of
    `log distance` against the record index over the last `tail` fraction of
    the records, so it is a per-step factor comparable with the spectral radius
    of the update's Jacobian (`gamedyn.analysis.spectral_radius`; `< 1`
    converging, `> 1` diverging). Records that are not finite or zero are left
    out, and so is every record from the first one at the run's round-off floor
    on, `distance <= floor * d0` (`d0` the first record; a run that has
    converged to round-off only jitters there): the tail is then the last
    `tail` fraction of the records before the floor. A run that goes on down by
    another factor `eps` (a linear game converging to an exactly representable
    equilibrium has no floor) keeps all its records. When fewer than two tail
    records remain, all the usable records are fitted; with fewer than two, the
    rate is NaN.

    A double eigenvalue (a Jordan block, e.g. R1 at the critical `gamma`, or
    optimistic GD with `h sigma = 1/2` on a bilinear game) makes the distance
    decay as `C t rho^t`, and a plain fit overestimates `rho` by about
    `exp(1 / t)`. The fit then also has a `log t` term: it is kept when it
    explains all but 1e-3 of the residual sum of squares with an exponent within
    0.25 of 1 or 2 (triple eigenvalue), and the rate is the slope of the
    three-term fit.

    Args:
      distance: `(..., T)` distances to the equilibrium (or norms of `xi`),
        time last, recorded every `every` steps.
      tail: fraction of the records to fit.
      every: steps between records.
      floor: the round-off floor relative to the first record (default
        `FLOOR_ULPS` machine epsilons of the dtype: `2.2e-13` in float64,
        `1.2e-4` in float32); 0 keeps every positive record.

    Returns:
      float array of shape `distance.shape[:-1]`.
    """
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every: expected an integer >= 1, got {every!r}")
    distance = _as_float(distance)
    _tail_start(distance.shape[-1], tail)
    return _rate(distance, float(tail), every, _check_floor(floor))


@partial(jax.jit, static_argnums=(1, 2, 3))
def _rate(distance: jax.Array, tail: float, every: int, floor) -> jax.Array:
    return jnp.exp(_fit(distance, tail, every, floor)[0] / every)


def classify_runs(
    distance: jax.Array,
    *,
    tol: float = 1e-2,
    growth: float = 2.0,
    tail: float = 0.2,
    shrink: float | None = None,
    floor: float | None = None,
) -> jax.Array:
    """Classifies runs from their distance to the equilibrium over time.

    The tail is the last `tail` fraction of records, `d0` the first record.
    A run has *converged* when its tail stays within `tol * d0` of the
    equilibrium, *diverged* when any distance is not finite or its tail stays
    beyond `growth * d0`, and *cycles* otherwise. With `shrink` given, a run
    that would cycle is *slow* instead when it is still approaching steadily:

    * at the rate fitted on its tail (`rate` with this `tail`), a run of
      the same length shrinks by at least the factor `shrink` (sweeps use
      `shrink=0.5`);
    * the fit is consistent: the spread (max - min) of the residuals of
      `log distance` about the fitted line is at most half the fitted decrease
      over the tail, so a run that jumps about (Adam or momentum near an
      equilibrium: collapses and bursts) is not called slow by the luck of
      where its tail starts;
    * the run never reached its round-off floor (`floor * d0`, as in
      `rate`): one that did and came back up is not approaching.

    `distance` may also be the norm of the vector field `||xi||`.

    Args:
      distance: `(..., T)` distances to the equilibrium, time last.
      tol: relative radius for convergence.
      growth: relative radius for divergence.
      tail: fraction of the records to judge by.
      shrink: None (three outcomes) or the decay over the run's length, in
        `(0, 1)`, that makes a run *slow* rather than *cycles*.
      floor: the round-off floor relative to `d0` (see `rate`).

    Returns:
      int array of shape `distance.shape[:-1]`, indices into `OUTCOMES`.
    """
    distance = _as_float(distance)
    _tail_start(distance.shape[-1], tail)
    if shrink is not None and not 0 < shrink < 1:
        raise ValueError(f"shrink: expected None or a number in (0, 1), got {shrink}")
    return _classify(distance, tol, growth, float(tail), shrink, _check_floor(floor))


@partial(jax.jit, static_argnums=(3, 4, 5))
def _classify(distance, tol, growth, tail: float, shrink, floor) -> jax.Array:
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
        slope, spread, trend, reached = _fit(distance, tail, 1, floor)
        slow = (
            (slope * max(num - 1, 1) < np.log(shrink))
            & (spread <= _CONSISTENT * trend)
            & ~reached
        )
    return jnp.where(
        converged,
        CONVERGED,
        jnp.where(diverged, DIVERGED, jnp.where(slow, SLOW, CYCLES)),
    )


def outside_basin(outcome: Any, stable: Any) -> Any:
    """Marks runs that diverged although the equilibrium is locally stable.

    A locally stable equilibrium (e.g. spectral radius `rho < 1` of the
    linearised step, `gamedyn.analysis.spectral_radius`) attracts the
    starts of its basin; a run from a start outside it can still diverge. Those
    cells get the code `OUTSIDE_BASIN`, so a phase diagram separates local
    stability (the linear theory) from reachability (the start).

    Args:
      outcome: int codes from `classify_runs`.
      stable: booleans of the same shape, True where the equilibrium is locally
        stable.

    Returns:
      `outcome` with `DIVERGED` replaced by `OUTSIDE_BASIN` where
      `stable` (a NumPy array for NumPy input, else a JAX array).
    """
    xp = np if isinstance(outcome, np.ndarray) else jnp
    outcome = xp.asarray(outcome)
    stable = xp.asarray(stable)
    if outcome.shape != stable.shape:
        raise ValueError(
            f"stable: expected the shape of outcome {outcome.shape}, got {stable.shape}"
        )
    return xp.where(stable & (outcome == DIVERGED), OUTSIDE_BASIN, outcome)


def outcome_names(codes: jax.Array) -> list:
    """Outcome names for an array of codes (nested lists shaped like `codes`)."""
    return jax.tree.map(lambda c: OUTCOMES[int(c)], jnp.asarray(codes).tolist())

"""Classifying runs: converged, diverged or cycling, vectorised over runs."""

from __future__ import annotations

import jax
import jax.numpy as jnp

OUTCOMES = ("converged", "diverged", "cycles")
"""Outcome names; :func:`classify` returns indices into this tuple."""

CONVERGED, DIVERGED, CYCLES = range(3)


def classify(
    distance: jax.Array,
    *,
    tol: float = 1e-2,
    growth: float = 2.0,
    tail: float = 0.2,
) -> jax.Array:
    """Classifies runs from their distance to the equilibrium over time.

    The tail is the last ``tail`` fraction of records. A run has *converged* when
    its tail stays within ``tol * d0`` of the equilibrium (``d0`` the starting
    distance), *diverged* when any distance is not finite or its tail stays beyond
    ``growth * d0``, and *cycles* otherwise (it neither approaches nor escapes).

    Args:
      distance: ``(..., T)`` distances to the equilibrium, time last.
      tol: relative radius for convergence.
      growth: relative radius for divergence.
      tail: fraction of the records to judge by.

    Returns:
      int array of shape ``distance.shape[:-1]``, indices into :data:`OUTCOMES`.
    """
    distance = jnp.asarray(distance)
    num = distance.shape[-1]
    start = min(num - 1, int(num * (1 - tail)))
    d0 = jnp.maximum(distance[..., 0], jnp.finfo(distance.dtype).tiny)
    rel = distance[..., start:] / d0[..., None]
    finite = jnp.all(jnp.isfinite(distance), axis=-1)
    converged = finite & (jnp.max(rel, axis=-1) < tol)
    diverged = ~finite | (jnp.min(rel, axis=-1) > growth)
    return jnp.where(converged, CONVERGED, jnp.where(diverged, DIVERGED, CYCLES))


def outcome_names(codes: jax.Array) -> list:
    """Outcome names for an array of codes (nested lists shaped like ``codes``)."""
    return jax.tree.map(lambda c: OUTCOMES[int(c)], jnp.asarray(codes).tolist())

"""Bilinear and quadratic zero-sum games, with closed-form dynamics."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from gamedyn._game import Game


def _matrix(name: str, m, shape=None) -> jax.Array:
    m = jnp.asarray(m)
    if m.ndim != 2 or (shape is not None and m.shape != shape):
        want = "a 2-D array" if shape is None else f"shape {shape}"
        raise ValueError(f"{name}: expected {want}, got shape {m.shape}")
    if not jnp.issubdtype(m.dtype, jnp.floating):
        m = m.astype(float)
    return m


def quadratic(A, P=None, Q=None) -> Game:
    """The zero-sum quadratic game `f(x, y) = 1/2 x^T P x + x^T A y - 1/2 y^T Q y`.

    `x` minimises `f` and `y` maximises it. The vector field is linear,
    `xi(x, y) = (P x + A y, -A^T x + Q y)`, with constant Jacobian
    `[[P, A], [-A^T, Q]]`: the equilibrium `(0, 0)` is a local Nash equilibrium iff
    `P` and `Q` are positive semidefinite.

    Args:
      A: `(m, n)` coupling matrix.
      P: `(m, m)` curvature of the minimising player (default 0).
      Q: `(n, n)` curvature of the maximising player (default 0).

    Returns:
      A `gamedyn.Game` with params `(x, y)`, 1-D arrays; `init` draws them
      from a standard normal. Products run at full precision on every backend.
    """
    A = _matrix("A", A)
    m, n = A.shape
    P = jnp.zeros((m, m), A.dtype) if P is None else _matrix("P", P, (m, m))
    Q = jnp.zeros((n, n), A.dtype) if Q is None else _matrix("Q", Q, (n, n))

    def init(key):
        kx, ky = jax.random.split(key)
        return jax.random.normal(kx, (m,), A.dtype), jax.random.normal(
            ky, (n,), A.dtype
        )

    def losses(params, key=None):
        x, y = params
        # Full-precision products: on GPUs the default f32 matmul precision (TF32)
        # would round the matrices to 10 mantissa bits and spoil the closed forms.
        dot = partial(jnp.dot, precision=jax.lax.Precision.HIGHEST)
        f = 0.5 * dot(x, dot(P, x)) + dot(x, dot(A, y)) - 0.5 * dot(y, dot(Q, y))
        return f, -f

    return Game(init=init, losses=losses)


def bilinear(A) -> Game:
    """The bilinear game: `x` minimises `x^T A y`, `y` minimises `-x^T A y`.

    The equilibrium `(0, 0)` has purely imaginary Jacobian eigenvalues
    `+-i sigma_k(A)`: simultaneous GD spirals out, alternating GD cycles,
    extragradient and optimistic GD converge (Gidel et al. 2019; Mokhtari et al. 2020).

    Args:
      A: `(m, n)` matrix.

    Returns:
      A `gamedyn.Game` with params `(x, y)`, 1-D arrays.
    """
    return quadratic(A)

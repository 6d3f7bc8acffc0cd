"""Matrix-free spectra: top-k eigenvalues of the game Jacobian and of each player's
Hessian from Jacobian-vector products, never forming the matrix.

ARPACK (`scipy.sparse.linalg.eigs` / `eigsh`) runs on the host over a
`scipy.sparse.linalg.LinearOperator` whose `matvec` is a jitted JVP of the
flattened vector field (a Hessian-vector product for a single player), so memory is
`O(k n)` and each product costs a small multiple of one gradient (Berard et al.
2020).

References:
  Berard, Gidel, Almahairi, Vincent, Lacoste-Julien 2020, A Closer Look at the
  Optimization Landscapes of Generative Adversarial Networks. ICLR.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Literal

import jax
import jax.numpy as jnp
import numpy as np
from jax.flatten_util import ravel_pytree
from scipy.sparse.linalg import LinearOperator, eigs, eigsh

from gamedyn._game import Game, Params
from gamedyn._validate import check_key
from gamedyn.analysis._jacobian import (
    check_float_params,
    compiled,
    compiled_player,
    player_sizes,
)


class SpectrumWarning(UserWarning):
    """A matrix-free spectrum that is probably not the one asked for: ARPACK's
    `"LI"` returned only real eigenvalues of a Jacobian that is not symmetric."""


WHICH = ("LM", "LR", "SR", "LI", "SI")
"""Ends of the spectrum `top_eigenvalues` can target: largest magnitude,
largest / smallest real part, largest / smallest |imaginary part|."""

HESSIAN_WHICH = ("LM", "LA", "SA")
"""Ends for `top_hessian_eigenvalues`: largest magnitude, largest / smallest
(algebraic)."""


def _ranking(which: str) -> Callable[[np.ndarray], np.ndarray]:
    """A score whose decreasing order puts the `which` end of the spectrum first."""
    return {
        "LM": np.abs,
        "LR": np.real,
        "SR": lambda x: -np.real(x),
        "LI": lambda x: np.abs(np.imag(x)),
        "SI": lambda x: -np.abs(np.imag(x)),
        "LA": np.real,
        "SA": lambda x: -np.real(x),
    }[which]


def select(lam: np.ndarray, k: int, which: str) -> np.ndarray:
    """The `k` entries of a spectrum at the `which` end, best first.

    The dense counterpart of `top_eigenvalues`, for comparisons. As in ARPACK
    for real matrices, `"LI"`/`"SI"` rank by the magnitude of the imaginary part
    (eigenvalues come in conjugate pairs).
    """
    if which not in WHICH + HESSIAN_WHICH:
        raise ValueError(
            f"which: expected one of {WHICH + HESSIAN_WHICH}, got {which!r}"
        )
    lam = np.asarray(lam)
    # Primary key the `which` score; conjugate pairs tie, positive imaginary first.
    order = np.lexsort((-np.imag(lam), -_ranking(which)(lam)))
    return lam[order[:k]]


def _check_k(k, n: int) -> int:
    if not isinstance(k, (int, np.integer)) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k: expected a positive integer, got {k!r}")
    if k >= n:
        raise ValueError(
            f"k: expected fewer eigenvalues than the dimension n={n}, got k={k}; use "
            "gamedyn.analysis.eigenvalues for the full spectrum"
        )
    return int(k)


def _operator(matvec: Callable[[jax.Array], jax.Array], n: int, dtype, rmatvec=None):
    """A float64 host LinearOperator over jitted JAX products in `dtype`."""

    def wrap(fn):
        def mv(v):
            return np.asarray(fn(jnp.asarray(np.ravel(v), dtype)), np.float64)

        return mv

    return LinearOperator(
        (n, n),
        matvec=wrap(matvec),
        rmatvec=None if rmatvec is None else wrap(rmatvec),
        dtype=np.float64,
    )


def jacobian_operator(
    game: Game, params: Params, *, key: jax.Array | None = None
) -> LinearOperator:
    """The game Jacobian `J = d xi / d w` as a SciPy `LinearOperator`.

    `J v` is one jitted JVP of the flattened vector field (forward over reverse);
    `J^T v` (`rmatvec`) one VJP. Flattening as in
    `gamedyn.analysis.jacobian`. The compiled products are cached per game.
    """
    key = check_key("key", key)
    params = check_float_params(params)
    n = sum(player_sizes(params))
    dtype = jnp.result_type(*jax.tree.leaves(params))
    fns = compiled(game)
    return _operator(
        lambda v: fns.jvp(params, key, v),
        n,
        dtype,
        rmatvec=lambda v: fns.vjp(params, key, v),
    )


def _v0(n: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(n)


def top_eigenvalues(
    game: Game,
    params: Params,
    k: int,
    *,
    key: jax.Array | None = None,
    which: Literal["LM", "LR", "SR", "LI", "SI"] = "LM",
    tol: float = 0.0,
    maxiter: int | None = None,
    ncv: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """`k` eigenvalues of the game Jacobian, matrix-free (implicitly restarted
    Arnoldi over Jacobian-vector products only).

    The Jacobian of a game is not symmetric: its eigenvalues are complex, in
    conjugate pairs. Berard et al. (2020) track the largest imaginary parts
    (`"LI"`, rotation) and the largest magnitudes (`"LM"`).

    Args:
      game: the game.
      params: per-player params (floating-point leaves).
      k: number of eigenvalues, `1 <= k < n`.
      key: fixed PRNG key (a fixed minibatch) for a stochastic game.
      which: `"LM"` largest magnitude, `"LR"`/`"SR"` largest/smallest real
        part, `"LI"`/`"SI"` largest/smallest imaginary part in magnitude.
      tol: ARPACK relative accuracy (0: machine precision).
      maxiter: ARPACK restarts limit (default `10 n`).
      ncv: Arnoldi basis size (default `min(n, max(2k + 1, 20))`); memory is
        `O(ncv n)`.
      seed: seed of the deterministic starting vector.

    Returns:
      complex NumPy array `(k,)`, ordered from the `which` end inwards.

    Raises:
      ValueError: on a bad `k` or `which`, or integer leaves in `params`.

    Warns:
      SpectrumWarning: when `"LI"` gives only real eigenvalues of a Jacobian
        that is not symmetric. ARPACK finds extreme eigenvalues by magnitude
        reliably, but not the largest imaginary parts when those belong to
        eigenvalues inside the spectrum: it may converge to the dominant real
        ones instead (this happens on trained MNIST GANs).
    """
    key = check_key("key", key)
    if which not in WHICH:
        raise ValueError(f"which: expected one of {WHICH}, got {which!r}")
    op = jacobian_operator(game, params, key=key)
    n = op.shape[0]
    k = _check_k(k, n)
    if k >= n - 1:
        # ARPACK needs k < n - 1; with n - 1 wanted, the n JVPs of jacfwd are as cheap.
        dense = np.stack([op.matvec(e) for e in np.eye(n)], axis=1)
        return select(np.linalg.eigvals(dense), k, which)
    if ncv is None:
        ncv = min(n, max(2 * k + 1, 20))
    lam = eigs(
        op,
        k=k,
        which=which,
        tol=tol,
        maxiter=maxiter,
        ncv=ncv,
        v0=_v0(n, seed),
        return_eigenvectors=False,
    )
    if which == "LI" and not np.any(np.imag(lam)):
        _check_real_answer(op, seed)
    return select(lam, k, which)


def _check_real_answer(op: LinearOperator, seed: int) -> None:
    """Warns when ARPACK's `"LI"` answer (all real) is probably wrong.

    Any complex eigenvalue outranks every real one by `|Im|`, so an all-real answer
    claims that the Jacobian has no complex eigenvalue at all. That holds for a
    symmetric Jacobian (a potential game); for another one it is more likely that
    ARPACK, whose Krylov space is dominated by the largest eigenvalues, converged to
    real ones and missed eigenvalues of smaller magnitude but larger `|Im|`
    (checked on a game whose pair `1 +- 5i` sits below real eigenvalues 10-1000:
    `k = 2` finds it, `k = 10` returns ten real ones).
    """
    v = _v0(op.shape[0], seed + 1)
    jv = op.matvec(v)
    skew = np.linalg.norm(jv - op.rmatvec(v)) / max(np.linalg.norm(jv), 1e-300)
    if skew > 1e-6:
        warnings.warn(
            SpectrumWarning(
                "top_eigenvalues(which='LI'): ARPACK returned only real eigenvalues "
                "of a Jacobian that is not symmetric (||(J - J^T) v|| / ||J v|| = "
                f"{skew:.2g} for a random v), so eigenvalues of larger imaginary part "
                "were probably missed: ARPACK converges to the dominant real ones. "
                "Do not read this as 'no rotation'; compare a smaller k, or the "
                "dense gamedyn.analysis.eigenvalues on a smaller model."
            ),
            stacklevel=3,
        )


def hessian_operator(
    game: Game, params: Params, player: int, *, key: jax.Array | None = None
) -> LinearOperator:
    """Player `player`'s Hessian of its own loss, `grad^2_i L_i`, as a symmetric
    SciPy `LinearOperator` of Hessian-vector products (forward over reverse)."""
    key = check_key("key", key)
    params = check_float_params(params)
    if not isinstance(player, int) or not 0 <= player < len(params):
        raise ValueError(
            f"player: expected an index in [0, {len(params)}), got {player!r}"
        )
    flat, _ = ravel_pytree(params[player])
    hvp = compiled_player(game, player)[1]
    return _operator(lambda v: hvp(params, key, v), flat.size, flat.dtype)


def top_hessian_eigenvalues(
    game: Game,
    params: Params,
    k: int,
    player: int,
    *,
    key: jax.Array | None = None,
    which: Literal["LA", "SA", "LM"] = "LA",
    tol: float = 0.0,
    maxiter: int | None = None,
    ncv: int | None = None,
    seed: int = 0,
) -> np.ndarray:
    """`k` eigenvalues of one player's Hessian `grad^2_i L_i` (Lanczos over
    Hessian-vector products, `scipy.sparse.linalg.eigsh`).

    At a local Nash equilibrium every player's Hessian is positive semidefinite
    (`which="SA"` finds the smallest); Berard et al. (2020) plot both ends.

    Args:
      game: the game.
      params: per-player params.
      k: number of eigenvalues, `1 <= k < n_i`.
      player: the player's index (0 the generator, -1 is not accepted).
      key: fixed PRNG key for a stochastic game.
      which: `"LA"` largest, `"SA"` smallest (algebraic), `"LM"` largest
        magnitude.
      tol: as in `top_eigenvalues`.
      maxiter: as in `top_eigenvalues`.
      ncv: as in `top_eigenvalues`.
      seed: as in `top_eigenvalues`.

    Returns:
      real NumPy array `(k,)`, ordered from the `which` end inwards.
    """
    key = check_key("key", key)
    if which not in HESSIAN_WHICH:
        raise ValueError(f"which: expected one of {HESSIAN_WHICH}, got {which!r}")
    op = hessian_operator(game, params, player, key=key)
    n = op.shape[0]
    k = _check_k(k, n)
    if ncv is None:
        ncv = min(n, max(2 * k + 1, 20))
    lam = eigsh(
        op,
        k=k,
        which=which,
        tol=tol,
        maxiter=maxiter,
        ncv=ncv,
        v0=_v0(n, seed),
        return_eigenvectors=False,
    )
    return select(np.real(lam), k, which)

"""The Fréchet distance between Gaussians (the FID's formula)."""

from __future__ import annotations

import warnings

import numpy as np
import scipy.linalg


def _check_covariance(name: str, s: np.ndarray, d: int) -> None:
    if s.shape != (d, d):
        raise ValueError(f"{name}: expected shape ({d}, {d}), got {s.shape}")
    if not np.all(np.isfinite(s)):
        raise ValueError(f"{name}: expected finite entries, got NaN or inf")
    scale = float(np.max(np.abs(s), initial=0.0))
    tol = 1e-6 * max(d, 1) * scale
    if np.max(np.abs(s - s.T), initial=0.0) > tol:
        raise ValueError(f"{name}: expected a symmetric covariance matrix")
    smallest = float(np.linalg.eigvalsh((s + s.T) / 2)[0]) if d else 0.0
    if smallest < -tol:
        raise ValueError(
            f"{name}: expected a positive semi-definite covariance matrix, its "
            f"smallest eigenvalue is {smallest:.3g}"
        )


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between `N(mu1, sigma1)` and `N(mu2, sigma2)`.

    `||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))` (Heusel et al. 2017; Dowson &
    Landau 1982). Computed in float64 with `scipy.linalg.sqrtm`; a tiny imaginary
    part from round-off is dropped and a singular product is regularised by adding
    `1e-6 I` to both covariances.

    Args:
      mu1: `(d,)` finite mean of the first set.
      sigma1: `(d, d)` covariance of the first set: finite, symmetric and
        positive semi-definite (up to round-off, `1e-6 d max|S|`).
      mu2: `(d,)` finite mean of the second set.
      sigma2: `(d, d)` covariance of the second set, likewise.

    Returns:
      The distance, a Python float (>= 0).

    Raises:
      ValueError: naming the argument on shapes that do not match, non-finite
        values, or a covariance that is not symmetric positive semi-definite.
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    s1, s2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    d = mu1.shape[0]
    if mu1.ndim != 1 or mu2.shape != (d,):
        raise ValueError(f"mu2: expected shape ({d},) like mu1, got {mu2.shape}")
    for name, mu in (("mu1", mu1), ("mu2", mu2)):
        if not np.all(np.isfinite(mu)):
            raise ValueError(f"{name}: expected finite entries, got NaN or inf")
    _check_covariance("sigma1", s1, d)
    _check_covariance("sigma2", s2, d)
    with warnings.catch_warnings():
        # A singular product (rank-deficient covariances) is valid input; sqrtm
        # warns about it, and a non-finite root is regularised below.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        covmean = scipy.linalg.sqrtm(s1 @ s2)
        if not np.all(np.isfinite(covmean)):
            eps = 1e-6 * np.eye(d)
            covmean = scipy.linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))

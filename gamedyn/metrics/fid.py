"""The Fréchet distance between Gaussians (the FID's formula)."""

from __future__ import annotations

import numpy as np
import scipy.linalg


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """Fréchet distance between ``N(mu1, sigma1)`` and ``N(mu2, sigma2)``.

    ``||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2))`` (Heusel et al. 2017; Dowson &
    Landau 1982). Computed in float64 with ``scipy.linalg.sqrtm``; a tiny imaginary
    part from round-off is dropped and a singular product is regularised by adding
    ``1e-6 I`` to both covariances.

    Args:
      mu1, mu2: ``(d,)`` means.
      sigma1, sigma2: ``(d, d)`` covariances.

    Returns:
      The distance, a Python float (>= 0).

    Raises:
      ValueError: on shapes that do not match.
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
    if s1.shape != (d, d):
        raise ValueError(f"sigma1: expected shape ({d}, {d}), got {s1.shape}")
    if s2.shape != (d, d):
        raise ValueError(f"sigma2: expected shape ({d}, {d}), got {s2.shape}")
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.all(np.isfinite(covmean)):
        eps = 1e-6 * np.eye(d)
        covmean = scipy.linalg.sqrtm((s1 + eps) @ (s2 + eps))
    covmean = np.real(covmean)
    diff = mu1 - mu2
    value = diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * np.trace(covmean)
    return float(max(value, 0.0))

"""Mode coverage of samples from a mixture: the metrics of VEEGAN and PacGAN."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._validate import check_int, check_positive


def _check(samples, centers, std, threshold):
    samples = jnp.asarray(samples)
    centers = jnp.asarray(centers)
    if samples.ndim != 2:
        raise ValueError(f"samples: expected shape (n, d), got {samples.shape}")
    if centers.ndim != 2:
        raise ValueError(f"centers: expected shape (K, d), got {centers.shape}")
    if samples.shape[0] == 0:
        raise ValueError(
            f"samples: expected at least one sample, got shape {samples.shape}"
        )
    if centers.shape[0] == 0:
        raise ValueError(
            f"centers: expected at least one mode centre, got shape {centers.shape}"
        )
    if samples.shape[1] != centers.shape[1]:
        raise ValueError(
            f"samples: expected dimension d = {centers.shape[1]} like centers, got "
            f"samples of shape {samples.shape} and centers of shape {centers.shape}"
        )
    std = jnp.asarray(std, jnp.result_type(samples.dtype, float))
    if std.ndim > 1 or (std.ndim == 1 and std.shape[0] != centers.shape[0]):
        raise ValueError(
            f"std: expected a scalar or shape ({centers.shape[0]},), got {std.shape}"
        )
    if not isinstance(std, jax.core.Tracer) and not bool(jnp.all(std > 0)):
        raise ValueError(f"std: expected positive standard deviations, got {std}")
    if not isinstance(threshold, jax.core.Tracer):
        check_positive("threshold", threshold)
    return samples, centers, std


def mode_counts(
    samples: jax.Array,
    centers: jax.Array,
    std: float | jax.Array,
    threshold: float = 3.0,
) -> jax.Array:
    """High-quality samples per mode: `(K,)` counts (jit- and vmap-able).

    Each sample goes to the centre nearest in units of the std,
    `argmin_k ||x - mu_k|| / std_k`, and counts as high quality when that normalised
    distance is below `threshold` (Srivastava et al. 2017; Lin et al. 2018, whose
    code uses the same per-mode normalised distance).
    """
    samples, centers, std = _check(samples, centers, std, threshold)
    sq = jnp.sum(jnp.square(samples[:, None, :] - centers[None, :, :]), axis=-1)
    normalised = sq / jnp.square(std)
    nearest = jnp.argmin(normalised, axis=1)
    good = jnp.min(normalised, axis=1) < threshold**2
    return (
        jnp.zeros(centers.shape[0], jnp.int32).at[nearest].add(good.astype(jnp.int32))
    )


def coverage_from_counts(counts: jax.Array, num_samples: int) -> dict[str, jax.Array]:
    """`modes`, `high_quality` and `reverse_kl` from per-mode counts (arrays).

    `reverse_kl = sum_k q_k log(q_k K)` with `q = counts / sum(counts)` and
    `0 log 0 = 0`; with no high-quality sample at all `q` is undefined and the
    value is `log K`, the largest the divergence can be (all mass on one mode).

    Raises:
      ValueError: on counts without a mode axis or `num_samples < 1`.
    """
    counts = jnp.asarray(counts)
    num_modes = counts.shape[-1] if counts.ndim else 0
    if num_modes == 0:
        raise ValueError(
            f"counts: expected one count per mode (shape (..., K), K >= 1), got "
            f"shape {counts.shape}"
        )
    if not isinstance(num_samples, jax.core.Tracer):
        check_int("num_samples", num_samples, 1)
    total = jnp.sum(counts, axis=-1, keepdims=True)
    q = counts / jnp.maximum(total, 1)
    terms = jnp.where(q > 0, q * jnp.log(jnp.where(q > 0, q * num_modes, 1.0)), 0.0)
    rkl = jnp.where(total[..., 0] > 0, jnp.sum(terms, axis=-1), jnp.log(num_modes))
    return dict(
        modes=jnp.sum(counts > 0, axis=-1),
        high_quality=total[..., 0] / num_samples,
        reverse_kl=rkl,
    )


def mode_coverage(
    samples: jax.Array,
    centers: jax.Array,
    std: float | jax.Array,
    threshold: float = 3.0,
) -> dict:
    """Modes captured, fraction of high-quality samples and reverse KL (PacGAN).

    Each sample goes to its nearest centre and is *high quality* when that distance is
    below `threshold * std`; a mode is *captured* when at least one high-quality
    sample goes to it; `high_quality` is the fraction of all samples that are high
    quality; `reverse_kl = sum_k q_k log(q_k K)` is the KL divergence from the
    uniform distribution over the `K` modes to `q`, the distribution of the
    high-quality samples over the modes (`0 log 0 = 0`; `log K` when there is no
    high-quality sample). PacGAN and VEEGAN evaluate 2500 samples per trained model
    with `threshold = 3`. With a per-mode `std` the distances are measured in
    units of each mode's std, as in PacGAN's code.

    Args:
      samples: `(n, d)` generated samples.
      centers: `(K, d)` means of the modes.
      std: the modes' standard deviation, a positive scalar or `(K,)`.
      threshold: in units of the std.

    Returns:
      `dict(modes=int, high_quality=float, reverse_kl=float)`.

    Non-finite samples (a diverged generator) are never high quality.

    Raises:
      ValueError: on no samples, no centres, samples and centres of different
        dimension, non-positive `std` or `threshold`.

    References:
      Srivastava et al. 2017, VEEGAN. NeurIPS. Lin, Khetan, Fanti, Oh 2018, PacGAN:
      The power of two samples in generative adversarial networks. NeurIPS.
    """
    counts = mode_counts(samples, centers, std, threshold)
    out = coverage_from_counts(counts, np.shape(samples)[0])
    return dict(
        modes=int(out["modes"]),
        high_quality=float(out["high_quality"]),
        reverse_kl=float(out["reverse_kl"]),
    )

"""Synthetic mixtures of Gaussians: the mode-collapse benchmarks.

* Ring of 8 (Metz et al. 2017; VEEGAN, Srivastava et al. 2017): 8 equally weighted
  isotropic Gaussians with means on a circle of radius 2, std 0.02. PacGAN (Lin et al.
  2018) uses the same ring scaled by 1/2 (radius 1, std 0.01): pass `radius=1,
  std=0.01` for it; the mode metrics, measured in units of the std, are the same.
* Grid of 25 (PacGAN, Lin et al. 2018; VEEGAN): 25 equally weighted isotropic Gaussians
  with means `{-4, -2, 0, 2, 4}^2`, std 0.05.
* High-dimensional variants: `embed` places either mixture on a random 2-plane
  of `R^D` (an isometry, so the metrics in units of the std keep their meaning).
  This is gamedyn's construction, not VEEGAN's 1200-D data set.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Mixture(NamedTuple):
    """An equally weighted mixture of Gaussians, isotropic within their span.

    Attributes:
      centers: `(K, D)` means.
      std: the standard deviation of every component (a Python float).
      basis: `None` (noise in all `D` directions), or `(k, D)` orthonormal rows
        spanning the subspace the noise lives in (see `embed`).
    """

    centers: jax.Array
    std: float
    basis: jax.Array | None = None

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """`n` samples, `(n, D)`: a uniform component, then Gaussian noise."""
        k_mode, k_noise = jax.random.split(key)
        idx = jax.random.randint(k_mode, (n,), 0, self.centers.shape[0])
        if self.basis is None:
            noise = jax.random.normal(k_noise, (n, self.centers.shape[1]))
        else:
            noise = jax.random.normal(k_noise, (n, self.basis.shape[0])) @ self.basis
        return self.centers[idx] + self.std * noise

    @property
    def dim(self) -> int:
        """`D`, the dimension of the samples."""
        return int(self.centers.shape[1])

    def project(self, x: jax.Array) -> jax.Array:
        """Coordinates of `x` in the mixture's plane (`x` itself without a basis),
        for plotting a high-dimensional mixture in 2-D."""
        return x if self.basis is None else x @ self.basis.T

    def planar(self) -> Mixture:
        """The mixture in its own coordinates (itself without a basis)."""
        if self.basis is None:
            return self
        return Mixture(self.project(self.centers), self.std)


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


def ring(num_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """Gaussians with means `radius (cos 2 pi i / K, sin 2 pi i / K)`.

    The defaults are the ring of 8 of Metz et al. (2017) and VEEGAN (radius 2, std
    0.02). PacGAN's ring is `radius=1, std=0.01`.

    Args:
      num_modes: `K`.
      radius: radius of the circle of means.
      std: std of each component.

    Returns:
      A `Mixture` with `(K, 2)` centres.
    """
    if isinstance(num_modes, bool) or not isinstance(num_modes, int) or num_modes < 1:
        raise ValueError(f"num_modes: expected a positive integer, got {num_modes!r}")
    _check_positive("radius", radius)
    _check_positive("std", std)
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(jnp.asarray(centers, jnp.float32), float(std))


def grid(size: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """Gaussians on a `size x size` grid centred at 0.

    The defaults are PacGAN's grid of 25: means `{-4, -2, 0, 2, 4}^2`, std 0.05.

    Args:
      size: points per side (`K = size^2`).
      spacing: distance between neighbouring means.
      std: std of each component.

    Returns:
      A `Mixture` with `(size^2, 2)` centres, row-major in `(x, y)`.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a positive integer, got {size!r}")
    _check_positive("spacing", spacing)
    _check_positive("std", std)
    axis = spacing * (np.arange(size) - (size - 1) / 2)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return Mixture(jnp.asarray(centers, jnp.float32), float(std))


def embed(mixture: Mixture, dim: int, seed: int = 0) -> Mixture:
    """The same mixture on a random plane of `R^dim`: a high-dimensional variant.

    With `Q` a `(d, dim)` matrix of orthonormal rows (QR of a Gaussian matrix
    drawn from `seed`), the centres become `mu_k Q` and a sample
    `mu_k Q + std * eps Q` with `eps ~ N(0, I_d)`. `Q` is an isometry, so
    distances in units of the std -- the mode metrics -- mean what they mean in 2-D,
    while the generator must also learn to stay on the plane and the discriminator
    sees `dim` inputs. Off-plane error counts against high quality.

    Args:
      mixture: a mixture without a basis (e.g. `ring` or `grid`).
      dim: the ambient dimension, `>= d`.
      seed: the seed of the random plane.

    Returns:
      A `Mixture` with `(K, dim)` centres and a `(d, dim)` basis.
    """
    if mixture.basis is not None:
        raise ValueError("mixture: expected a mixture that is not already embedded")
    d = mixture.dim
    if isinstance(dim, bool) or not isinstance(dim, int) or dim < d:
        raise ValueError(f"dim: expected an integer >= {d}, got {dim!r}")
    if dim == d:
        return mixture
    q, _ = np.linalg.qr(np.random.default_rng(seed).standard_normal((dim, d)))
    basis = jnp.asarray(q.T, jnp.float32)
    return Mixture(mixture.centers @ basis, mixture.std, basis)


def get(name: str, dim: int = 2) -> Mixture:
    """`"ring"` or `"grid"` with the papers' settings, embedded in `R^dim` by
    `embed` when `dim > 2`."""
    if name == "ring":
        mixture = ring()
    elif name == "grid":
        mixture = grid()
    else:
        raise ValueError(f"dataset: expected 'ring' or 'grid', got {name!r}")
    return embed(mixture, dim)

"""Synthetic mixtures of Gaussians: the mode-collapse benchmarks.

* Ring of 8 (Metz et al. 2017; VEEGAN, Srivastava et al. 2017): 8 equally weighted
  isotropic Gaussians with means on a circle of radius 2, std 0.02. PacGAN (Lin et al.
  2018) uses the same ring scaled by 1/2 (radius 1, std 0.01): pass ``radius=1,
  std=0.01`` for it; the mode metrics, measured in units of the std, are the same.
* Grid of 25 (PacGAN, Lin et al. 2018; VEEGAN): 25 equally weighted isotropic Gaussians
  with means ``{-4, -2, 0, 2, 4}^2``, std 0.05.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class Mixture(NamedTuple):
    """An equally weighted mixture of isotropic Gaussians.

    Attributes:
      centers: ``(K, d)`` means.
      std: the standard deviation of every component (a Python float).
    """

    centers: jax.Array
    std: float

    def sample(self, key: jax.Array, n: int) -> jax.Array:
        """``n`` samples, ``(n, d)``: a uniform component, then Gaussian noise."""
        k_mode, k_noise = jax.random.split(key)
        idx = jax.random.randint(k_mode, (n,), 0, self.centers.shape[0])
        noise = jax.random.normal(k_noise, (n, self.centers.shape[1]))
        return self.centers[idx] + self.std * noise


def _check_positive(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        raise ValueError(f"{name}: expected a positive number, got {value!r}")


def ring(num_modes: int = 8, radius: float = 2.0, std: float = 0.02) -> Mixture:
    """Gaussians with means ``radius (cos 2 pi i / K, sin 2 pi i / K)``.

    The defaults are the ring of 8 of Metz et al. (2017) and VEEGAN (radius 2, std
    0.02). PacGAN's ring is ``radius=1, std=0.01``.

    Args:
      num_modes: ``K``.
      radius: radius of the circle of means.
      std: std of each component.

    Returns:
      A :class:`Mixture` with ``(K, 2)`` centres.
    """
    if isinstance(num_modes, bool) or not isinstance(num_modes, int) or num_modes < 1:
        raise ValueError(f"num_modes: expected a positive integer, got {num_modes!r}")
    _check_positive("radius", radius)
    _check_positive("std", std)
    angles = 2 * np.pi * np.arange(num_modes) / num_modes
    centers = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return Mixture(jnp.asarray(centers, jnp.float32), float(std))


def grid(size: int = 5, spacing: float = 2.0, std: float = 0.05) -> Mixture:
    """Gaussians on a ``size x size`` grid centred at 0.

    The defaults are PacGAN's grid of 25: means ``{-4, -2, 0, 2, 4}^2``, std 0.05.

    Args:
      size: points per side (``K = size^2``).
      spacing: distance between neighbouring means.
      std: std of each component.

    Returns:
      A :class:`Mixture` with ``(size^2, 2)`` centres, row-major in ``(x, y)``.
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ValueError(f"size: expected a positive integer, got {size!r}")
    _check_positive("spacing", spacing)
    _check_positive("std", std)
    axis = spacing * (np.arange(size) - (size - 1) / 2)
    xx, yy = np.meshgrid(axis, axis, indexing="ij")
    centers = np.stack([xx.ravel(), yy.ravel()], axis=1)
    return Mixture(jnp.asarray(centers, jnp.float32), float(std))


def get(name: str) -> Mixture:
    """``"ring"`` or ``"grid"`` with the papers' settings."""
    if name == "ring":
        return ring()
    if name == "grid":
        return grid()
    raise ValueError(f"dataset: expected 'ring' or 'grid', got {name!r}")

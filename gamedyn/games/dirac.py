"""The Dirac-GAN of Mescheder, Geiger & Nowozin (2018)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gamedyn._game import Game
from gamedyn.games.gan import gan
from gamedyn.losses import GANLoss
from gamedyn.regularizers import Regularizer


def dirac_gan(
    loss: str | GANLoss = "standard",
    regularizer: Regularizer | None = None,
    *,
    instance_noise: float | jax.Array = 0.0,
    num_samples: int = 1000,
    start: tuple[float, float] | None = (1.0, 1.0),
) -> Game:
    """The Dirac-GAN: data a point mass at 0, generator a point mass at ``theta``.

    The discriminator is linear, ``D(x) = psi * x``, so with no regularizer
    ``L(theta, psi) = f(psi * theta) + f(0)``; the generator minimises ``L`` and the
    discriminator maximises ``L`` minus its regularizer. The unique equilibrium is
    ``(0, 0)``, where the unregularized Jacobian has eigenvalues ``+-f'(0) i`` (purely
    imaginary: simultaneous GD diverges, alternating GD cycles). It is built with
    :func:`gamedyn.games.gan`, so its regularizers are the neural GANs' own code:
    R1 and R2 give ``gamma / 2 * psi^2``, the gradient penalty
    ``gamma / 2 * (|psi| - target)^2``.

    Args:
      loss: ``"standard"`` (``f(t) = -log(1 + e^-t)``), ``"non_saturating"``,
        ``"wgan"`` (``f(t) = t``; clip ``psi`` with
        :func:`gamedyn.transforms.clip_params`), or any registered loss.
      regularizer: e.g. ``gamedyn.regularizers.r1(0.3)``.
      instance_noise: std of the instance noise; when positive, the expectations are
        estimated from ``num_samples`` noisy samples drawn from the key.
      num_samples: samples per evaluation when ``instance_noise > 0``.
      start: the ``(theta, psi)`` that ``init`` returns (the paper starts at ``(1,
        1)``); ``None`` draws them from a standard normal.

    Returns:
      A :class:`gamedyn.Game` with params ``(theta, psi)``, scalar arrays.

    References:
      Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
      Converge? ICML.
    """
    noisy = not (isinstance(instance_noise, (int, float)) and instance_noise == 0)
    if start is not None and len(start) != 2:
        raise ValueError(f"start: expected a pair (theta, psi) or None, got {start!r}")

    def init(key):
        if start is None:
            theta, psi = jax.random.normal(key, (2,))
            return theta, psi
        return jnp.asarray(start[0], float), jnp.asarray(start[1], float)

    return gan(
        init,
        generator=lambda theta, z: theta + jnp.zeros_like(z),
        discriminator=lambda psi, x: psi * x,
        sample_data=lambda key, n: jnp.zeros((n,)),
        sample_noise=lambda key, n: jnp.zeros((n,)),
        loss=loss,
        regularizer=regularizer,
        batch_size=num_samples if noisy else 1,
        instance_noise=instance_noise,
    )

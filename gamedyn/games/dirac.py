"""The Dirac-GAN of Mescheder, Geiger & Nowozin (2018)."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from gamedyn._game import Game
from gamedyn.games._gan import check_options, is_zero
from gamedyn.losses import GANLoss
from gamedyn.losses import get as get_loss
from gamedyn.regularizers import Regularizer


def dirac_gan(
    loss: str | GANLoss = "standard",
    regularizer: Regularizer | None = None,
    *,
    instance_noise: float | jax.Array = 0.0,
    num_samples: int = 1000,
    start: tuple[float, float] | None = (1.0, 1.0),
) -> Game:
    """The Dirac-GAN: data a point mass at 0, generator a point mass at `theta`.

    The discriminator is linear, `D(x) = psi * x`, so with no regularizer
    `L(theta, psi) = f(psi * theta) + f(0)`; the generator minimises `L` and the
    discriminator maximises `L` minus its regularizer. The unique equilibrium is
    `(0, 0)`, where the unregularized Jacobian has eigenvalues `+-f'(0) i` (purely
    imaginary: simultaneous GD diverges, alternating GD cycles). It is the GAN of
    `gamedyn.games.gan` with a point-mass generator and a linear discriminator,
    written on scalars for speed; its losses and regularizers are the neural GANs' own
    code (R1 and R2 give `gamma / 2 * psi^2`, the gradient penalty
    `gamma / 2 * (|psi| - target)^2`), and it draws instance noise from the key
    exactly as `gamedyn.games.gan` does.

    Args:
      loss: `"standard"` (`f(t) = -log(1 + e^-t)`), `"non_saturating"`,
        `"wgan"` (`f(t) = t`; clip `psi` with
        `gamedyn.transforms.clip_params`), or any registered loss.
      regularizer: e.g. `gamedyn.regularizers.r1(0.3)`.
      instance_noise: std of the instance noise; when positive, the expectations are
        estimated from `num_samples` noisy samples drawn from the key.
      num_samples: samples per evaluation when `instance_noise > 0`.
      start: the `(theta, psi)` that `init` returns (the paper starts at `(1,
        1)`); `None` draws them from a standard normal.

    Returns:
      A `gamedyn.Game` with params `(theta, psi)`, scalar arrays.

    References:
      Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
      Converge? ICML.
    """
    gan_loss = get_loss(loss)
    check_options(regularizer=regularizer, instance_noise=instance_noise)
    noisy = not is_zero(instance_noise)
    if start is not None and len(start) != 2:
        raise ValueError(f"start: expected a pair (theta, psi) or None, got {start!r}")

    def init(key):
        if start is None:
            theta, psi = jax.random.normal(key, (2,))
            return theta, psi
        return jnp.asarray(start[0], float), jnp.asarray(start[1], float)

    def losses(params, key=None):
        theta, psi = params
        if key is None:
            key = jax.random.key(0)
        # the same key layout as gamedyn.games.gan: (data, noise, instance, penalty)
        _, _, k_inst, k_reg = jax.random.split(key, 4)
        x_real, x_fake = jnp.zeros_like(theta), theta
        if noisy:  # expectations over num_samples noisy samples
            k_real, k_fake = jax.random.split(k_inst)
            shape = (num_samples,) + theta.shape
            x_real = instance_noise * jax.random.normal(k_real, shape, theta.dtype)
            x_fake = theta + instance_noise * jax.random.normal(
                k_fake, shape, theta.dtype
            )

        def discriminator(x):
            return psi * x

        d_real, d_fake = discriminator(x_real), discriminator(x_fake)
        loss_g = gan_loss.generator(d_real, d_fake)
        loss_d = gan_loss.discriminator(d_real, d_fake)
        if regularizer is not None:
            loss_d = loss_d + regularizer(
                discriminator, jnp.atleast_1d(x_real), jnp.atleast_1d(x_fake), k_reg
            )
        return loss_g, loss_d

    return Game(init=init, losses=losses)

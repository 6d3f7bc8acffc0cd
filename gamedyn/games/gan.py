"""A GAN as a game: generator, discriminator, data and noise samplers."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax

from gamedyn import losses as _losses
from gamedyn._game import Game
from gamedyn.regularizers import Regularizer


def _is_zero(x) -> bool:
    return x is None or (isinstance(x, (int, float)) and x == 0)


def gan(
    init: Callable[[jax.Array], tuple[Any, Any]],
    generator: Callable[[Any, jax.Array], jax.Array],
    discriminator: Callable[[Any, jax.Array], jax.Array],
    sample_data: Callable[[jax.Array, int], jax.Array],
    sample_noise: Callable[[jax.Array, int], jax.Array],
    *,
    loss: str | _losses.GANLoss = "standard",
    regularizer: Regularizer | None = None,
    batch_size: int = 64,
    instance_noise: float | jax.Array = 0.0,
) -> Game:
    """A two-player GAN game from pure functions (Goodfellow et al. 2014).

    Each evaluation draws a real minibatch and a noise minibatch from the key, so a
    stochastic game stays a pure function of ``(params, key)``; ``key=None`` means a
    fixed key, i.e. a fixed minibatch. With ``V = E f(D(G(z))) + E f(-D(x))`` (the sign
    convention of :mod:`gamedyn.losses`) the losses are
    ``L_G = loss.generator(D(x), D(G(z)))`` and
    ``L_D = loss.discriminator(D(x), D(G(z))) + R(D, x, G(z))``.

    Args:
      init: ``init(key) -> (generator_params, discriminator_params)``.
      generator: ``generator(params, z) -> x``, batched over the leading axis.
      discriminator: ``discriminator(params, x) -> (batch,)`` outputs.
      sample_data: ``sample_data(key, n) -> x``, ``n`` real samples.
      sample_noise: ``sample_noise(key, n) -> z``, ``n`` latent vectors.
      loss: a name from :func:`gamedyn.losses.names` or a ``GANLoss``.
      regularizer: a penalty from :mod:`gamedyn.regularizers`, added to ``L_D``.
      batch_size: samples per evaluation.
      instance_noise: std of Gaussian noise added to real and generated samples
        before the discriminator sees them (Arjovsky & Bottou 2017; Sønderby et al.
        2017).

    Returns:
      A :class:`gamedyn.Game` with params ``(generator_params, discriminator_params)``.
    """
    gan_loss = _losses.get(loss)
    if regularizer is not None and not callable(regularizer):
        raise ValueError(
            "regularizer: expected None or a penalty from gamedyn.regularizers, got "
            f"{type(regularizer).__name__}"
        )
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    if isinstance(instance_noise, (int, float)) and instance_noise < 0:
        raise ValueError(
            f"instance_noise: expected a non-negative std, got {instance_noise}"
        )

    def losses(params, key=None):
        g_params, d_params = params
        if key is None:
            key = jax.random.key(0)
        k_data, k_noise, k_inst, k_reg = jax.random.split(key, 4)
        x_real = sample_data(k_data, batch_size)
        x_fake = generator(g_params, sample_noise(k_noise, batch_size))
        if not _is_zero(instance_noise):
            k_real, k_fake = jax.random.split(k_inst)
            x_real = x_real + instance_noise * jax.random.normal(
                k_real, x_real.shape, x_real.dtype
            )
            x_fake = x_fake + instance_noise * jax.random.normal(
                k_fake, x_fake.shape, x_fake.dtype
            )
        d = partial(discriminator, d_params)
        d_real, d_fake = d(x_real), d(x_fake)
        loss_g = gan_loss.generator(d_real, d_fake)
        loss_d = gan_loss.discriminator(d_real, d_fake)
        if regularizer is not None:
            loss_d = loss_d + regularizer(d, x_real, x_fake, k_reg)
        return loss_g, loss_d

    return Game(init=init, losses=losses)

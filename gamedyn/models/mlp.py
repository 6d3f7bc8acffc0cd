"""Fully connected GAN players (Goodfellow et al. 2014), optionally conditional."""

from __future__ import annotations

from collections.abc import Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class MLPGenerator(nn.Module):
    """`G(z, y)`: an MLP from latents to images in `[-1, 1]` (a `tanh` output).

    Attributes:
      features: widths of the hidden layers (ReLU).
      shape: the shape of one image, e.g. `(28, 28, 1)`.
      num_classes: 0 for an unconditional generator, else the number of classes;
        the one-hot label is then concatenated to `z` (Mirza & Osindero 2014).
    """

    features: Sequence[int] = (256, 256)
    shape: Sequence[int] = (28, 28, 1)
    num_classes: int = 0

    @nn.compact
    def __call__(
        self, z: jax.Array, y: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        del train  # no batch statistics
        h = z
        if self.num_classes:
            h = jnp.concatenate(
                [h, jax.nn.one_hot(y, self.num_classes, dtype=h.dtype)], -1
            )
        for width in self.features:
            h = nn.relu(nn.Dense(width)(h))
        size = 1
        for s in self.shape:
            size *= s
        return jnp.tanh(nn.Dense(size)(h)).reshape((z.shape[0], *self.shape))


class MLPDiscriminator(nn.Module):
    """`D(x, y)`: an MLP from images to one logit per sample (LeakyReLU 0.2).

    Attributes:
      features: widths of the hidden layers.
      num_classes: 0 for an unconditional discriminator, else the number of classes;
        the one-hot label is concatenated to the flattened image.
    """

    features: Sequence[int] = (256, 256)
    num_classes: int = 0

    @nn.compact
    def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        h = x.reshape((x.shape[0], -1))
        if self.num_classes:
            h = jnp.concatenate(
                [h, jax.nn.one_hot(y, self.num_classes, dtype=h.dtype)], -1
            )
        for width in self.features:
            h = nn.leaky_relu(nn.Dense(width)(h), 0.2)
        return nn.Dense(1)(h)[:, 0]

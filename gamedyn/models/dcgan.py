"""DCGAN players for 28x28 images (Radford, Metz, Chintala 2016).

The generator uses batch normalisation. Its statistics are *not* hidden in mutation:
``apply(..., train=True, mutable=["batch_stats"])`` normalises with the batch's own
statistics and returns the updated running averages as a value, and ``train=False``
reads the running averages passed in. The discriminator has no batch norm (optionally
layer norm): per-sample gradient penalties (R1, R2, WGAN-GP) evaluate ``D`` on one
sample at a time, where batch statistics are undefined.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


class DCGANGenerator(nn.Module):
    """``G(z, y)``: dense to ``7x7x2c``, then two stride-2 transposed convolutions.

    ``z -> Dense(7*7*2c) -> BN -> ReLU -> ConvT(c, 4x4, /2) -> BN -> ReLU ->
    ConvT(channels, 4x4, /2) -> tanh``, images ``(28, 28, channels)`` in ``[-1, 1]``.

    Attributes:
      width: ``c``, the channels of the last hidden layer.
      channels: image channels.
      num_classes: 0 for unconditional, else the one-hot label is concatenated to ``z``.
      momentum: the batch-norm running-average decay (0.9, PyTorch's 0.1 update).
    """

    width: int = 64
    channels: int = 1
    num_classes: int = 0
    momentum: float = 0.9

    @nn.compact
    def __call__(
        self, z: jax.Array, y: jax.Array | None = None, train: bool = True
    ) -> jax.Array:
        norm = lambda: nn.BatchNorm(  # noqa: E731
            use_running_average=not train, momentum=self.momentum
        )
        h = z
        if self.num_classes:
            h = jnp.concatenate(
                [h, jax.nn.one_hot(y, self.num_classes, dtype=h.dtype)], -1
            )
        h = nn.Dense(7 * 7 * 2 * self.width)(h)
        h = nn.relu(norm()(h)).reshape((z.shape[0], 7, 7, 2 * self.width))
        h = nn.ConvTranspose(self.width, (4, 4), strides=(2, 2), padding="SAME")(h)
        h = nn.relu(norm()(h))
        h = nn.ConvTranspose(self.channels, (4, 4), strides=(2, 2), padding="SAME")(h)
        return jnp.tanh(h)


class DCGANDiscriminator(nn.Module):
    """``D(x, y)``: two stride-2 convolutions and a linear logit (LeakyReLU 0.2).

    ``x -> Conv(c, 4x4, /2) -> LReLU -> Conv(2c, 4x4, /2) -> [LayerNorm] -> LReLU ->
    flatten -> phi``; ``D = w^T phi + b``, plus ``<embed(y), phi>`` when conditional
    (the projection discriminator of Miyato & Koyama 2018).

    Attributes:
      width: ``c``.
      num_classes: 0 for unconditional, else the number of classes.
      layer_norm: normalise the second layer per sample (no batch statistics).
    """

    width: int = 64
    num_classes: int = 0
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        h = nn.Conv(self.width, (4, 4), strides=(2, 2), padding="SAME")(x)
        h = nn.leaky_relu(h, 0.2)
        h = nn.Conv(2 * self.width, (4, 4), strides=(2, 2), padding="SAME")(h)
        if self.layer_norm:
            h = nn.LayerNorm()(h)
        h = nn.leaky_relu(h, 0.2).reshape((x.shape[0], -1))
        out = nn.Dense(1)(h)[:, 0]
        if self.num_classes:
            embed = nn.Embed(self.num_classes, h.shape[-1])(y)
            out = out + jnp.sum(embed * h, axis=-1)
        return out

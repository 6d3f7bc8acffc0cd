"""DCGAN players for 28x28 images (Radford, Metz, Chintala 2016).

The generator uses batch normalisation. Its statistics are *not* hidden in mutation:
`apply(..., train=True, mutable=["batch_stats"])` normalises with the batch's own
statistics and returns the updated running averages as a value, and `train=False`
reads the running averages passed in. The discriminator has no batch norm (optionally
layer norm): per-sample gradient penalties (R1, R2, WGAN-GP) evaluate `D` on one
sample at a time, where batch statistics are undefined.
"""

from __future__ import annotations

import flax.linen as nn
import jax
import jax.numpy as jnp


def _conv4x4_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """`nn.Conv(out, (4, 4), strides=(2, 2), padding="SAME")` without its bias, for
    even sizes: the 16 strided windows side by side, times the kernel (im2col)."""
    n, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    ho, wo = h // 2, w // 2
    cols = [
        xp[:, u : u + 2 * ho : 2, v : v + 2 * wo : 2, :]
        for u in range(4)
        for v in range(4)
    ]
    return jnp.concatenate(cols, axis=-1) @ kernel.reshape(16 * c, -1)


def _conv_transpose4x4_stride2(x: jax.Array, kernel: jax.Array) -> jax.Array:
    """`nn.ConvTranspose(out, (4, 4), strides=(2, 2), padding="SAME")` without its
    bias: output phase `(a, b)` (`y[2i + a, 2j + b]`) is the 2x2 windows of the
    input padded by 1 at offset `(a, b)` times the taps `kernel[a::2, b::2]`
    (the sub-pixel view of Shi et al. 2016); the four phases are interleaved."""
    n, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    phases = []
    for a in (0, 1):
        for b in (0, 1):
            cols = [
                xp[:, a + du : a + du + h, b + dv : b + dv + w, :]
                for du in (0, 1)
                for dv in (0, 1)
            ]
            taps = kernel[a::2, b::2].reshape(4 * c, -1)
            phases.append(jnp.concatenate(cols, axis=-1) @ taps)
    y = jnp.stack(phases, axis=3).reshape(n, h, w, 2, 2, -1)
    return y.transpose(0, 1, 3, 2, 4, 5).reshape(n, 2 * h, 2 * w, -1)


class Conv4x4(nn.Module):
    """A 4x4 convolution with stride 2 and `"SAME"` padding, or the transposed one
    (`transpose=True`), as matrix products.

    The same parameters (`kernel` `(4, 4, in, features)`, `bias`), the same
    initialisation and the same function as `nn.Conv(features, (4, 4),
    strides=(2, 2), padding="SAME")` (for even input sizes) or
    `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding="SAME")`, to float
    rounding; computed from strided windows of the input and matrix products (the
    transposed one phase by phase, the sub-pixel view of Shi et al. 2016). XLA:CPU
    runs convolutions inside a loop (a training scan) many times slower than
    outside (jax-ml/jax#12868), and the kernel gradient of a transposed
    convolution slowest of all; matrix products, slices and pads it runs at full
    speed everywhere, so a DCGAN trains without unrolling its scan.

    Attributes:
      features: output channels.
      transpose: the transposed convolution (twice the size) instead of the
        convolution (half the size).
    """

    features: int
    transpose: bool = False

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        c = x.shape[-1]
        kernel = self.param(
            "kernel", nn.initializers.lecun_normal(), (4, 4, c, self.features)
        )
        bias = self.param("bias", nn.initializers.zeros_init(), (self.features,))
        if self.transpose:
            return _conv_transpose4x4_stride2(x, kernel) + bias
        if x.shape[1] % 2 or x.shape[2] % 2:
            raise ValueError(f"x: expected even height and width, got {x.shape}")
        return _conv4x4_stride2(x, kernel) + bias


class DCGANGenerator(nn.Module):
    """`G(z, y)`: dense to `7x7x2c`, then two stride-2 transposed convolutions.

    `z -> Dense(7*7*2c) -> BN -> ReLU -> ConvT(c, 4x4, /2) -> BN -> ReLU ->
    ConvT(channels, 4x4, /2) -> tanh`, images `(28, 28, channels)` in `[-1, 1]`;
    the transposed convolutions are `Conv4x4` (`nn.ConvTranspose`'s
    parameters and function, as matrix products).

    Attributes:
      width: `c`, the channels of the last hidden layer.
      channels: image channels.
      num_classes: 0 for unconditional, else the one-hot label is concatenated to `z`.
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
        # nn.ConvTranspose(c, (4, 4), strides=(2, 2), padding="SAME") as products
        h = Conv4x4(self.width, transpose=True, name="ConvTranspose_0")(h)
        h = nn.relu(norm()(h))
        h = Conv4x4(self.channels, transpose=True, name="ConvTranspose_1")(h)
        return jnp.tanh(h)


class DCGANDiscriminator(nn.Module):
    """`D(x, y)`: two stride-2 convolutions and a linear logit (LeakyReLU 0.2).

    `x -> Conv(c, 4x4, /2) -> LReLU -> Conv(2c, 4x4, /2) -> [LayerNorm] -> LReLU ->
    flatten -> phi`; `D = w^T phi + b`, plus `<embed(y), phi>` when conditional
    (the projection discriminator of Miyato & Koyama 2018).

    Attributes:
      width: `c`.
      num_classes: 0 for unconditional, else the number of classes.
      layer_norm: normalise the second layer per sample (no batch statistics).
    """

    width: int = 64
    num_classes: int = 0
    layer_norm: bool = False

    @nn.compact
    def __call__(self, x: jax.Array, y: jax.Array | None = None) -> jax.Array:
        # nn.Conv(c, (4, 4), strides=(2, 2), padding="SAME") as products
        h = Conv4x4(self.width, name="Conv_0")(x)
        h = nn.leaky_relu(h, 0.2)
        h = Conv4x4(2 * self.width, name="Conv_1")(h)
        if self.layer_norm:
            h = nn.LayerNorm()(h)
        h = nn.leaky_relu(h, 0.2).reshape((x.shape[0], -1))
        out = nn.Dense(1)(h)[:, 0]
        if self.num_classes:
            embed = nn.Embed(self.num_classes, h.shape[-1])(y)
            out = out + jnp.sum(embed * h, axis=-1)
        return out

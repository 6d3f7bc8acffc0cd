"""MNIST GANs as games: MLP or DCGAN players, unconditional or class-conditional.

An MNIST GAN is just a game: `mnist_gan` returns a `gamedyn.Game` (in
`ImageGAN`) whose params are `(generator_params, discriminator_params)`, so
every loss, regularizer and update rule of gamedyn applies unchanged.

Batch norm, purely. The DCGAN generator normalises with batch statistics. Inside the
game's losses it runs in train mode: each evaluation normalises with the statistics
of its own batch (a pure function of `(params, key)`; the running averages are not
touched). The running averages, needed only to sample in eval mode, are separate
non-trainable *state*: `ImageGAN.init_state` makes them and
`ImageGAN.update_state` `(params, state, key) -> state` advances them by one
exponential-moving-average step on a fresh batch, returning new arrays; the trainer
(`gamedyn.train.train`) threads that state next to the dynamics' state and
checkpoints it. Models without batch norm have the empty state `{}`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn import losses as _losses
from gamedyn._game import Game
from gamedyn.games._gan import _two_player
from gamedyn.models import (
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
)
from gamedyn.regularizers import Regularizer

MODELS = ("mlp", "dcgan")
NUM_CLASSES = 10


class ImageGAN(NamedTuple):
    """An image GAN game with what training and evaluation need besides the game.

    Attributes:
      game: the `gamedyn.Game`; params `(generator_params, disc_params)`.
      init_state: `init_state() -> state`, the non-trainable state (batch-norm
        running averages of the generator; `{}` without batch norm; with
        `ema`, `{"batch_stats": ..., "ema": {"count", "mean"}}`).
      update_state: `update_state(params, state, key) -> state`, one running-average
        step on a fresh batch (identity without batch norm or `ema`).
      generate: `generate(params, state, z, labels=None) -> images` in eval mode
        (with the generator's average when `ema` is on),
        `(n, 28, 28, 1)` in `[-1, 1]`; `labels` (`(n,)` ints) for a
        conditional GAN (None means label 0).
      discriminate: `discriminate(disc_params, images, labels=None) -> (n,)` logits.
      sample_noise: `sample_noise(key, n) -> z`, `(n, latent_dim)` standard normal.
      latent_dim: the latent dimension.
      num_classes: 0 when unconditional, else 10.
    """

    game: Game
    init_state: Callable[[], Any]
    update_state: Callable[[Any, Any, jax.Array], Any]
    generate: Callable[..., jax.Array]
    discriminate: Callable[..., jax.Array]
    sample_noise: Callable[[jax.Array, int], jax.Array]
    latent_dim: int
    num_classes: int


def to_float(images: jax.Array) -> jax.Array:
    """uint8 images `(n, 28, 28)` (0..255) to float32 `(n, 28, 28, 1)`, [-1, 1]."""
    return (jnp.asarray(images, jnp.float32) / 127.5 - 1.0)[..., None]


def _check_positive_int(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name}: expected a positive integer, got {value!r}")


def _pack(x: jax.Array, y: jax.Array) -> jax.Array:
    """Appends the label as a constant image channel: a sample the regularizers can
    differentiate per sample while the label travels with it."""
    chan = jnp.broadcast_to(y.astype(x.dtype)[:, None, None, None], (*x.shape[:-1], 1))
    return jnp.concatenate([x, chan], axis=-1)


def _unpack(xp: jax.Array) -> tuple[jax.Array, jax.Array]:
    label = jax.lax.stop_gradient(jnp.round(xp[:, 0, 0, -1])).astype(jnp.int32)
    return xp[..., :-1], label


def mnist_gan(
    model: str = "mlp",
    *,
    conditional: bool = False,
    loss: str | _losses.GANLoss = "non_saturating",
    regularizer: Regularizer | None = None,
    batch_size: int = 64,
    instance_noise: float | jax.Array = 0.0,
    generator_penalty: float | jax.Array = 0.0,
    latent_dim: int = 64,
    width: int | None = None,
    layer_norm: bool = False,
    ema: float = 0.0,
    data: tuple[Any, Any] | None = None,
) -> ImageGAN:
    """An MNIST GAN game.

    Unconditional GANs are `gamedyn.games.gan` with flax players. A
    class-conditional GAN (Mirza & Osindero 2014) is the same game with a label per
    sample: each evaluation draws real images with their labels and generates fakes
    for the *same* labels, the discriminator sees `(x, y)`; for the regularizers the
    label rides along as a constant extra image channel that `D` reads through a
    `stop_gradient`, so `grad_x D` (R1, R2, WGAN-GP) is the gradient with
    respect to the image alone. Instance noise touches only the image.

    Args:
      model: `"mlp"` (hidden widths `(width, width)`, default 256) or `"dcgan"`
        (base channels `width`, default 64; batch norm in the generator).
      conditional: condition both players on the digit label.
      loss: a name from `gamedyn.losses.names` or a `GANLoss`.
      regularizer: a discriminator penalty from `gamedyn.regularizers`.
      batch_size: samples per evaluation.
      instance_noise: std of Gaussian noise added to the images `D` sees.
      generator_penalty: weight of the Nagarajan & Kolter (2017) gradient-norm
        penalty on the generator (see `gamedyn.games.gan`); 0 turns it off.
      latent_dim: dimension of the Gaussian latent `z`.
      width: the model's width (see `model`).
      layer_norm: layer norm in the DCGAN discriminator's second layer.
      ema: decay of an exponential moving average of the generator's params
        (Yazici et al. 2019), in `[0, 1)`; 0 turns it off. When on, the
        non-trainable state holds the average (`{"ema": ...}`, with the
        batch-norm averages under `"batch_stats"`), updated by `update_state`
        after each step as `m <- ema * m + (1 - ema) * theta_g` from `m = 0`,
        and `generate` samples with the bias-corrected average
        `m / (1 - ema^t)` (Adam's correction; the params themselves at `t = 0`).
        The game, its losses and the spectra use the params, not the average.
      data: `(images, labels)` to train on, uint8 `(N, 28, 28)` and `(N,)`;
        default the MNIST training set (`gamedyn.data.load_mnist`).

    Returns:
      An `ImageGAN`.
    """
    if model not in MODELS:
        raise ValueError(f"model: expected one of {MODELS}, got {model!r}")
    _check_positive_int("batch_size", batch_size)
    _check_positive_int("latent_dim", latent_dim)
    if width is not None:
        _check_positive_int("width", width)
    if isinstance(ema, bool) or not isinstance(ema, (int, float, np.floating)):
        raise TypeError(f"ema: expected a float in [0, 1), got {ema!r}")
    if not 0.0 <= ema < 1.0:
        raise ValueError(f"ema: expected a float in [0, 1), got {ema!r}")
    if data is None:
        from gamedyn.data import load_mnist

        data = load_mnist("train")
    images, labels = np.asarray(data[0]), np.asarray(data[1])
    if images.ndim != 3 or images.shape[1:] != (28, 28) or images.dtype != np.uint8:
        raise ValueError(
            "data: expected uint8 images of shape (N, 28, 28), got "
            f"{images.dtype} {images.shape}"
        )
    if labels.shape != (images.shape[0],):
        raise ValueError(
            f"data: expected labels of shape ({images.shape[0]},), got {labels.shape}"
        )
    images, labels = jnp.asarray(images), jnp.asarray(labels, jnp.int32)
    n_data = images.shape[0]
    num_classes = NUM_CLASSES if conditional else 0

    if model == "mlp":
        w = width or 256
        g_mod = MLPGenerator((w, w), (28, 28, 1), num_classes)
        d_mod = MLPDiscriminator((w, w), num_classes)
    else:
        w = width or 64
        g_mod = DCGANGenerator(w, 1, num_classes)
        d_mod = DCGANDiscriminator(w, num_classes, layer_norm)

    z0 = jnp.zeros((2, latent_dim), jnp.float32)
    x0 = jnp.zeros((2, 28, 28, 1), jnp.float32)
    y0 = jnp.zeros((2,), jnp.int32) if conditional else None
    g_vars0 = jax.eval_shape(lambda: g_mod.init(jax.random.key(0), z0, y0))
    has_stats = "batch_stats" in g_vars0

    @jax.jit
    def init(key):
        kg, kd = jax.random.split(key)
        g_vars = g_mod.init(kg, z0, y0)
        d_vars = d_mod.init(kd, x0, y0)
        return g_vars["params"], d_vars["params"]

    zero_stats = None
    if has_stats:  # batch norm's initial running averages: mean 0, variance 1
        zero_stats = {
            layer: {
                "mean": jnp.zeros(v["mean"].shape, v["mean"].dtype),
                "var": jnp.ones(v["var"].shape, v["var"].dtype),
            }
            for layer, v in g_vars0["batch_stats"].items()
        }

    def init_state():
        stats = {} if zero_stats is None else zero_stats
        if not ema:
            return stats
        zeros = jax.tree.map(lambda v: jnp.zeros(v.shape, v.dtype), g_vars0["params"])
        average = {"count": jnp.zeros((), jnp.int32), "mean": zeros}
        return {"batch_stats": stats, "ema": average}

    def averaged(g_params, state):
        """The bias-corrected average of the generator's params (or the params)."""
        if not ema:
            return g_params, state
        count, mean = state["ema"]["count"], state["ema"]["mean"]
        scale = 1.0 / (1.0 - jnp.float32(ema) ** jnp.maximum(count, 1))
        avg = jax.tree.map(
            lambda m, p: jnp.where(count > 0, m * scale.astype(m.dtype), p),
            mean,
            g_params,
        )
        return avg, state["batch_stats"]

    def generate_train(g_params, z, y):
        if not has_stats:
            return g_mod.apply({"params": g_params}, z, y)
        out, _ = g_mod.apply(
            {"params": g_params, "batch_stats": zero_stats},
            z,
            y,
            train=True,
            mutable=["batch_stats"],
        )
        return out

    def generate(params, state, z, labels=None):
        g_params, state = averaged(params[0], state)
        if conditional and labels is None:
            labels = jnp.zeros((z.shape[0],), jnp.int32)
        if not has_stats:
            return g_mod.apply({"params": g_params}, z, labels)
        return g_mod.apply(
            {"params": g_params, "batch_stats": state}, z, labels, train=False
        )

    def discriminate(d_params, x, labels=None):
        return d_mod.apply({"params": d_params}, x, labels)

    def sample_noise(key, n):
        return jax.random.normal(key, (n, latent_dim), jnp.float32)

    def sample_batch(key, n):
        idx = jax.random.randint(key, (n,), 0, n_data)
        return to_float(images[idx]), labels[idx]

    def update_stats(g_params, stats, key):
        if not has_stats:
            return stats
        k_data, k_noise = jax.random.split(key)
        y = sample_batch(k_data, batch_size)[1] if conditional else None
        _, new = g_mod.apply(
            {"params": g_params, "batch_stats": stats},
            sample_noise(k_noise, batch_size),
            y,
            train=True,
            mutable=["batch_stats"],
        )
        return new["batch_stats"]

    def update_state(params, state, key):
        if not ema:
            return update_stats(params[0], state, key)
        count = state["ema"]["count"] + 1
        mean = jax.tree.map(
            lambda m, p: ema * m + (1.0 - ema) * p, state["ema"]["mean"], params[0]
        )
        new = {
            "batch_stats": state["batch_stats"],
            "ema": {"count": count, "mean": mean},
        }
        g_avg, stats = averaged(params[0], new)
        return {"batch_stats": update_stats(g_avg, stats, key), "ema": new["ema"]}

    def images_only(key, n):
        return sample_batch(key, n)[0]

    def unconditional(g_params, z):
        return generate_train(g_params, z, None)

    def on_pairs(d_params, xp):  # the label rides along as an image channel
        return discriminate(d_params, *_unpack(xp))

    game = _two_player(
        init,
        generate_train if conditional else unconditional,
        on_pairs if conditional else discriminate,
        sample_batch if conditional else images_only,
        sample_noise,
        loss,
        regularizer,
        batch_size,
        instance_noise,
        generator_penalty,
        pack=_pack if conditional else None,
    )
    return ImageGAN(
        game=game,
        init_state=init_state,
        update_state=update_state,
        generate=generate,
        discriminate=discriminate,
        sample_noise=sample_noise,
        latent_dim=latent_dim,
        num_classes=num_classes,
    )


@partial(jax.jit, static_argnums=0)
def _generate(image_gan: ImageGAN, params, state, z, labels):
    return image_gan.generate(params, state, z, labels)


def sample_images(
    image_gan: ImageGAN,
    params,
    state,
    key: jax.Array,
    num: int,
    batch_size: int = 1000,
) -> np.ndarray:
    """`num` eval-mode samples as a float32 NumPy array `(num, 28, 28, 1)`.

    Generated in jitted batches of `batch_size`; a conditional GAN cycles through
    the labels `0, 1, ..., 9, 0, ...` (balanced classes).

    Args:
      image_gan: the `ImageGAN`.
      params: the players' params.
      state: the non-trainable state (batch-norm running averages).
      key: PRNG key of the latents.
      num: number of samples.
      batch_size: samples per compiled call.
    """
    _check_positive_int("num", num)
    out = []
    for i, start in enumerate(range(0, num, batch_size)):
        z = image_gan.sample_noise(jax.random.fold_in(key, i), batch_size)
        labels = None
        if image_gan.num_classes:
            labels = jnp.arange(start, start + batch_size) % image_gan.num_classes
        out.append(np.asarray(_generate(image_gan, params, state, z, labels)))
    return np.concatenate(out)[:num]

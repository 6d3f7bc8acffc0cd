"""GAN games from flax (linen) modules, with spectral normalisation as a pure
reparametrisation.

The game's params are the modules' `"params"` collections, plain pytrees of arrays,
so every update rule, the simulator and the analysis tools accept them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from gamedyn import losses as _losses
from gamedyn._game import Game
from gamedyn.games._gan import multi_gan
from gamedyn.regularizers import Regularizer


class MLP(nn.Module):
    """A fully connected network: `Dense -> activation` per hidden layer, then a
    linear `Dense(out_features)`.

    Attributes:
      hidden: widths of the hidden layers.
      out_features: width of the output.
      activation: the nonlinearity (default ReLU; `nn.leaky_relu` for
        discriminators is common).
      kernel_init: initializer of the kernels.
    """

    hidden: Sequence[int]
    out_features: int
    activation: Callable[[jax.Array], jax.Array] = nn.relu
    kernel_init: Callable = nn.initializers.lecun_normal()

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        for width in self.hidden:
            x = self.activation(nn.Dense(width, kernel_init=self.kernel_init)(x))
        return nn.Dense(self.out_features, kernel_init=self.kernel_init)(x)


def spectral_norm(w: jax.Array, num_iterations: int = 20) -> jax.Array:
    """The largest singular value of `w` reshaped to `(-1, w.shape[-1])`, by power
    iteration (Miyato et al. 2018).

    Pure: the iteration starts from the fixed vector `1 / sqrt(n)` each call, and
    `u` and `v` are treated as constants, so the derivative is `u v^T` as in the
    paper. A zero matrix gives 0 (no NaN).

    Args:
      w: a kernel, `(..., out)`.
      num_iterations: power-iteration steps.

    Returns:
      `sigma(w)`, a scalar.
    """
    mat = w.reshape(-1, w.shape[-1])
    eps = jnp.asarray(1e-12, mat.dtype)

    def normalize(x):
        return x / jnp.maximum(jnp.linalg.norm(x), eps)

    v = jnp.full((mat.shape[1],), 1.0 / jnp.sqrt(mat.shape[1]), mat.dtype)
    u = normalize(mat @ v)
    for _ in range(num_iterations):
        v = normalize(mat.T @ u)
        u = normalize(mat @ v)
    u, v = jax.lax.stop_gradient(u), jax.lax.stop_gradient(v)
    return u @ mat @ v


def spectral_normalize(params, num_iterations: int = 20):
    """Divides every `kernel` leaf (2-D or more) of a flax params tree by its
    spectral norm: `W / sigma(W)`, so every layer is 1-Lipschitz (Miyato et al.
    2018). Other leaves (biases) pass through.

    Args:
      params: a flax `"params"` collection.
      num_iterations: power-iteration steps of `spectral_norm`.

    Returns:
      The normalised tree, same structure.
    """

    def leaf(path, x):
        name = getattr(path[-1], "key", None)
        if name == "kernel" and x.ndim >= 2:
            sigma = spectral_norm(x, num_iterations)
            return x / jnp.maximum(sigma, jnp.asarray(1e-12, x.dtype))
        return x

    return jax.tree_util.tree_map_with_path(leaf, params)


def _outputs(y: jax.Array, n: int) -> jax.Array:
    if y.size != n:
        raise ValueError(
            "discriminator: expected one output per sample (shape (batch,) or "
            f"(batch, 1)), got shape {y.shape} for a batch of {n}"
        )
    return y.reshape(n)


def module_gan(
    generator: nn.Module,
    discriminator: nn.Module,
    sample_data: Callable[[jax.Array, int], jax.Array],
    sample_noise: Callable[[jax.Array, int], jax.Array],
    *,
    loss: str | _losses.GANLoss = "non_saturating",
    regularizer: Regularizer | None = None,
    batch_size: int = 64,
    instance_noise: float | jax.Array = 0.0,
    generator_penalty: float | jax.Array = 0.0,
    spectral_normalization: bool = False,
    num_generators: int = 1,
    num_discriminators: int = 1,
) -> Game:
    """A GAN game from a generator module, a discriminator module and two samplers.

    `init(key)` initialises each module (a separate key per player) on one sample
    from `sample_noise` / `sample_data` and returns their `"params"`
    collections; `losses(params, key)` draws the minibatches from the key, so the
    stochastic game is a pure function. The modules must be stateless (no batch
    statistics). The losses, regularizers, instance noise, the Nagarajan-Kolter
    generator penalty and the n-player variant are those of `gamedyn.games.gan`
    and `gamedyn.games.multi_gan`.

    Args:
      generator: `z (batch, ...) -> x (batch, ...)`.
      discriminator: `x -> (batch,)` or `(batch, 1)` outputs, high on generated
        samples in the sign convention of `gamedyn.losses`.
      sample_data: `sample_data(key, n) -> x`.
      sample_noise: `sample_noise(key, n) -> z`.
      loss: a name from `gamedyn.losses.names` or a `GANLoss`.
      regularizer: a discriminator penalty from `gamedyn.regularizers`.
      batch_size: samples per evaluation.
      instance_noise: std of the instance noise.
      generator_penalty: `eta` of the gradient-norm penalty (Nagarajan & Kolter).
      spectral_normalization: use `W / sigma(W)` for every discriminator kernel
        (`spectral_normalize`); the params stay the raw `W`.
      num_generators: generators (players `0 .. m-1`).
      num_discriminators: discriminators (the last `k` players).

    Returns:
      A `gamedyn.Game` whose players' params are flax `"params"` trees.
    """
    if not isinstance(generator, nn.Module):
        raise ValueError(
            f"generator: expected a flax.linen Module, got {type(generator).__name__}"
        )
    if not isinstance(discriminator, nn.Module):
        raise ValueError(
            "discriminator: expected a flax.linen Module, got "
            f"{type(discriminator).__name__}"
        )
    m, k = num_generators, num_discriminators

    def init(key):
        k_data, k_noise, k_players = jax.random.split(key, 3)
        z = sample_noise(k_noise, 1)
        x = sample_data(k_data, 1)
        keys = jax.random.split(k_players, m + k)
        gs = tuple(generator.init(keys[i], z)["params"] for i in range(m))
        ds = tuple(discriminator.init(keys[m + j], x)["params"] for j in range(k))
        return gs + ds

    def g_fn(p, z):
        return generator.apply({"params": p}, z)

    def d_fn(p, x):
        if spectral_normalization:
            p = spectral_normalize(p)
        return _outputs(discriminator.apply({"params": p}, x), x.shape[0])

    return multi_gan(
        init,
        g_fn,
        d_fn,
        sample_data,
        sample_noise,
        num_generators=m,
        num_discriminators=k,
        loss=loss,
        regularizer=regularizer,
        batch_size=batch_size,
        instance_noise=instance_noise,
        generator_penalty=generator_penalty,
    )


def sample_generator(
    generator: nn.Module,
    params,
    sample_noise: Callable[[jax.Array, int], jax.Array],
    key: jax.Array,
    n: int,
) -> jax.Array:
    """`n` samples `G(z)`, `z ~ sample_noise`, from one generator's params."""
    return generator.apply({"params": params}, sample_noise(key, n))

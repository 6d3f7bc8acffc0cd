"""A GAN as a game: generator, discriminator, data and noise samplers.

`gan` is the two-player game and `multi_gan` its n-player version with
several generators and/or discriminators. (The generator's moving average is a
dynamics wrapper, `gamedyn.dynamics.ema`.)
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp

from gamedyn import losses as _losses
from gamedyn._game import Game
from gamedyn.regularizers import Regularizer, squared_norm


def is_zero(x) -> bool:
    """True for None or a Python number equal to 0 (a traced value is never zero)."""
    return x is None or (isinstance(x, (int, float)) and x == 0)


def check_options(
    *, regularizer=None, batch_size=1, instance_noise=0.0, generator_penalty=0.0
) -> None:
    """Validates the options shared by the GAN games (ValueError naming the option)."""
    if regularizer is not None and not callable(regularizer):
        raise ValueError(
            "regularizer: expected None or a penalty from gamedyn.regularizers, got "
            f"{type(regularizer).__name__}"
        )
    if (
        not isinstance(batch_size, int)
        or isinstance(batch_size, bool)
        or batch_size < 1
    ):
        raise ValueError(f"batch_size: expected a positive integer, got {batch_size!r}")
    if isinstance(instance_noise, (int, float)) and instance_noise < 0:
        raise ValueError(
            f"instance_noise: expected a non-negative std, got {instance_noise}"
        )
    if isinstance(generator_penalty, (int, float)) and generator_penalty < 0:
        raise ValueError(
            "generator_penalty: expected a non-negative weight, got "
            f"{generator_penalty}"
        )


def _check_count(name: str, n) -> None:
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{name}: expected a positive integer, got {n!r}")


def _gan_losses(
    generator,
    discriminator,
    sample_data,
    sample_noise,
    gan_loss: _losses.GANLoss,
    regularizer,
    batch_size: int,
    instance_noise,
    generator_penalty,
    num_generators: int,
    num_discriminators: int,
    pack=None,
):
    """The losses of the (m + k)-player GAN; for m = k = 1 the two-player game.

    With `pack` the game is conditional: `sample_data(key, n) -> (x, c)`, the
    generators are called as `generator(g, z, c)` with the real batch's `c`, and
    the discriminators (and regularizers) see `pack(x, c)`, after instance noise.
    """
    m, k = num_generators, num_discriminators
    penalise = not is_zero(generator_penalty)

    def noisy(x, key):
        if is_zero(instance_noise):
            return x
        return x + instance_noise * jax.random.normal(key, x.shape, x.dtype)

    def losses(params, key=None):
        if len(params) != m + k:
            raise ValueError(
                f"params: expected {m + k} players ({m} generators, {k} "
                f"discriminators), got {len(params)}"
            )
        g_params, d_params = params[:m], params[m:]
        if key is None:
            key = jax.random.key(0)
        k_data, k_noise, k_inst, k_reg = jax.random.split(key, 4)
        x_real = sample_data(k_data, batch_size)
        k_real, k_fake = jax.random.split(k_inst)
        if pack is None:
            x_real = noisy(x_real, k_real)
        else:
            x_real, cond = x_real
            x_real = pack(noisy(x_real, k_real), cond)

        def fakes(g_params):
            out = []
            for i, g in enumerate(g_params):
                kn = k_noise if m == 1 else jax.random.fold_in(k_noise, i)
                kf = k_fake if m == 1 else jax.random.fold_in(k_fake, i)
                z = sample_noise(kn, batch_size)
                if pack is None:
                    out.append(noisy(generator(g, z), kf))
                else:
                    out.append(pack(noisy(generator(g, z, cond), kf), cond))
            return out

        def d_loss(d, x_fake_all, x_real):
            return gan_loss.discriminator(d(x_real), d(x_fake_all))

        x_fake = fakes(g_params)
        x_fake_all = x_fake[0] if m == 1 else jnp.concatenate(x_fake, axis=0)
        loss_g = [0.0] * m
        loss_d = []
        for j, dp in enumerate(d_params):
            d = partial(discriminator, dp)
            d_real = d(x_real)
            ld = gan_loss.discriminator(d_real, d(x_fake_all))
            for i in range(m):
                loss_g[i] = loss_g[i] + gan_loss.generator(d_real, d(x_fake[i])) / k
            if regularizer is not None:
                kr = k_reg if k == 1 else jax.random.fold_in(k_reg, j)
                ld = ld + regularizer(d, x_real, x_fake_all, kr)
            loss_d.append(ld)
        if penalise:
            # Nagarajan & Kolter 2017: each generator adds eta * ||grad_phi V||^2,
            # the discriminators' (unregularized) gradient, differentiated through.
            for i in range(m):

                def grad_d(g_i, dp, i=i):
                    gs = list(g_params)
                    gs[i] = g_i
                    xs = fakes(gs)
                    x_all = xs[0] if m == 1 else jnp.concatenate(xs, axis=0)
                    return jax.grad(
                        lambda p: d_loss(partial(discriminator, p), x_all, x_real)
                    )(dp)

                pen = sum(squared_norm(grad_d(g_params[i], dp)) for dp in d_params)
                loss_g[i] = loss_g[i] + generator_penalty * pen / k
        return tuple(loss_g) + tuple(loss_d)

    return losses


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
    generator_penalty: float | jax.Array = 0.0,
) -> Game:
    """A two-player GAN game from pure functions (Goodfellow et al. 2014).

    Each evaluation draws a real minibatch and a noise minibatch from the key, so a
    stochastic game stays a pure function of `(params, key)`; `key=None` means a
    fixed key, i.e. a fixed minibatch. With `V = E f(D(G(z))) + E f(-D(x))` (the sign
    convention of `gamedyn.losses`) the losses are
    `L_G = loss.generator(D(x), D(G(z))) + eta ||grad_phi L_D^0||^2` and
    `L_D = L_D^0 + R(D, x, G(z))` with `L_D^0 = loss.discriminator(D(x), D(G(z)))`.

    Args:
      init: `init(key) -> (generator_params, discriminator_params)`.
      generator: `generator(params, z) -> x`, batched over the leading axis.
      discriminator: `discriminator(params, x) -> (batch,)` outputs.
      sample_data: `sample_data(key, n) -> x`, `n` real samples.
      sample_noise: `sample_noise(key, n) -> z`, `n` latent vectors.
      loss: a name from `gamedyn.losses.names` or a `GANLoss`.
      regularizer: a penalty from `gamedyn.regularizers`, added to `L_D`.
      batch_size: samples per evaluation.
      instance_noise: std of Gaussian noise added to real and generated samples
        before the discriminator sees them (Arjovsky & Bottou 2017; Sønderby et al.
        2017).
      generator_penalty: `eta`, the weight of the gradient-norm penalty of
        Nagarajan & Kolter (2017) on the generator: the squared norm of the
        discriminator's gradient (for a zero-sum loss `grad_phi V`), which the
        generator differentiates through. 0 (default) turns it off.

    Returns:
      A `gamedyn.Game` with params `(generator_params, discriminator_params)`.

    References:
      Nagarajan & Kolter 2017, Gradient descent GAN optimization is locally stable.
    """
    return _two_player(
        init,
        generator,
        discriminator,
        sample_data,
        sample_noise,
        loss,
        regularizer,
        batch_size,
        instance_noise,
        generator_penalty,
    )


def _two_player(
    init,
    generator,
    discriminator,
    sample_data,
    sample_noise,
    loss,
    regularizer,
    batch_size,
    instance_noise,
    generator_penalty,
    pack=None,
) -> Game:
    """The body of `gan` (options checked here), plus `pack` as in
    `_gan_losses`, which the conditional MNIST game uses."""
    check_options(
        regularizer=regularizer,
        batch_size=batch_size,
        instance_noise=instance_noise,
        generator_penalty=generator_penalty,
    )
    losses = _gan_losses(
        generator,
        discriminator,
        sample_data,
        sample_noise,
        _losses.get(loss),
        regularizer,
        batch_size,
        instance_noise,
        generator_penalty,
        1,
        1,
        pack=pack,
    )
    return Game(init=init, losses=losses)


def multi_gan(
    init: Callable[[jax.Array], tuple[Any, ...]],
    generator: Callable[[Any, jax.Array], jax.Array],
    discriminator: Callable[[Any, jax.Array], jax.Array],
    sample_data: Callable[[jax.Array, int], jax.Array],
    sample_noise: Callable[[jax.Array, int], jax.Array],
    *,
    num_generators: int = 1,
    num_discriminators: int = 1,
    loss: str | _losses.GANLoss = "standard",
    regularizer: Regularizer | None = None,
    batch_size: int = 64,
    instance_noise: float | jax.Array = 0.0,
    generator_penalty: float | jax.Array = 0.0,
) -> Game:
    """An n-player GAN: `m` generators and `k` discriminators.

    The model distribution is the uniform mixture of the `m` generators (as in the
    mixture GANs of Arora et al. 2017 and Hoang et al. 2018, MGAN, without their
    extra terms); every discriminator `D_j` is trained against the data and the
    whole mixture (`batch_size` samples from each generator) and every generator
    `G_i` minimises the mean over discriminators of its loss on its own samples,
    `L_{G_i} = 1/k sum_j loss.generator(D_j(x), D_j(G_i(z)))` (the arithmetic-mean
    combination of GMAN, Durugkar et al. 2017). With `m = k = 1` this is
    `gan`.

    Args:
      init: `init(key) -> (g_1, ..., g_m, d_1, ..., d_k)`.
      generator: as in `gan`.
      discriminator: as in `gan`.
      sample_data: as in `gan`.
      sample_noise: as in `gan`.
      loss: as in `gan`.
      regularizer: as in `gan`.
      batch_size: as in `gan`.
      instance_noise: as in `gan`.
      generator_penalty: as in `gan`.
      num_generators: `m` (the functions are shared; the players differ by
        their parameters).
      num_discriminators: `k`.

    Returns:
      A `gamedyn.Game` with `m + k` players, generators first.

    References:
      Durugkar, Gemp, Mahadevan 2017, Generative Multi-Adversarial Networks. ICLR.
      Hoang, Nguyen, Le, Phung 2018, MGAN: Training GANs with Multiple Generators.
    """
    gan_loss = _losses.get(loss)
    check_options(
        regularizer=regularizer,
        batch_size=batch_size,
        instance_noise=instance_noise,
        generator_penalty=generator_penalty,
    )
    _check_count("num_generators", num_generators)
    _check_count("num_discriminators", num_discriminators)
    losses = _gan_losses(
        generator,
        discriminator,
        sample_data,
        sample_noise,
        gan_loss,
        regularizer,
        batch_size,
        instance_noise,
        generator_penalty,
        num_generators,
        num_discriminators,
    )
    return Game(init=init, losses=losses)

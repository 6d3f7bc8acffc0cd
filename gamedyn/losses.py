"""GAN losses, in the sign convention of Mescheder et al. (2018), Eq. (1).

The value of the game is `V = E_z f(D(G(z))) + E_x f(-D(x))`: the discriminator
maximises it (so `D` is *high on generated samples* and low on data) and, for the
minimax game, the generator minimises it. Every loss below is a pair of functions of the
discriminator's outputs on a real and on a generated batch, each returning the scalar
that its player *minimises*. Flip the sign of `D` to get the more common "high on
real" convention; the dynamics are identical up to that reflection.

References:
  Goodfellow et al. 2014, Generative Adversarial Nets.
  Arjovsky, Chintala, Bottou 2017, Wasserstein GAN.
  Mao et al. 2017, Least Squares Generative Adversarial Networks.
  Lim & Ye 2017, Geometric GAN; Miyato et al. 2018, Spectral Normalization (hinge).
  Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually Converge?
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp


class GANLoss(NamedTuple):
    """The players' losses as functions of discriminator outputs.

    Attributes:
      generator: `fn(d_real, d_fake) -> scalar` minimised by the generator.
      discriminator: `fn(d_real, d_fake) -> scalar` minimised by the discriminator
        (before its regularizer is added).
    """

    generator: Callable[[jax.Array, jax.Array], jax.Array]
    discriminator: Callable[[jax.Array, jax.Array], jax.Array]


@jax.custom_jvp
def log_sigmoid(t: jax.Array) -> jax.Array:
    """`f(t) = -log(1 + exp(-t))`, stable, with the cheap derivative
    `f'(t) = sigmoid(-t)` (autodiff of `jax.nn.log_sigmoid` costs several times
    more in a simulation loop). Differentiable to any order."""
    return -jnp.logaddexp(0.0, -t)


@log_sigmoid.defjvp
def _log_sigmoid_jvp(primals, tangents):
    (t,), (dt,) = primals, tangents
    return log_sigmoid(t), jax.nn.sigmoid(-t) * dt


def _value(f: Callable[[jax.Array], jax.Array]):
    def value(d_real: jax.Array, d_fake: jax.Array) -> jax.Array:
        return jnp.mean(f(d_fake)) + jnp.mean(f(-d_real))

    return value


def standard() -> GANLoss:
    """The original minimax GAN: `f(t) = -log(1 + exp(-t))`, a zero-sum game.

    `L_G = V`, `L_D = -V` with `V = E f(D(G(z))) + E f(-D(x))`; `f'(0) = 1/2`.
    """
    value = _value(log_sigmoid)
    return GANLoss(generator=value, discriminator=lambda r, g: -value(r, g))


def non_saturating() -> GANLoss:
    """Non-saturating GAN: the generator minimises `-E f(-D(G(z)))` instead of `V`.

    Same fixed points as `standard` but no vanishing generator gradient when the
    discriminator wins (Goodfellow et al. 2014).
    """
    value = _value(log_sigmoid)
    return GANLoss(
        generator=lambda r, g: -jnp.mean(log_sigmoid(-g)),
        discriminator=lambda r, g: -value(r, g),
    )


def wgan() -> GANLoss:
    """Wasserstein GAN: `f(t) = t`, so `V = E D(G(z)) - E D(x)` (zero-sum).

    Needs a Lipschitz constraint on `D`: weight clipping
    (`gamedyn.transforms.clip_params`) or a gradient penalty
    (`gamedyn.regularizers.gradient_penalty`).
    """
    value = _value(lambda t: t)
    return GANLoss(generator=value, discriminator=lambda r, g: -value(r, g))


def least_squares(
    real_target: float = -1.0, fake_target: float = 1.0, generator_target: float = -1.0
) -> GANLoss:
    """Least-squares GAN (Mao et al. 2017), in the "D high on generated" convention.

    `L_D = 1/2 E (D(x) - r)^2 + 1/2 E (D(G(z)) - f)^2` and
    `L_G = 1/2 E (D(G(z)) - c)^2` with `r = real_target`, `f = fake_target`,
    `c = generator_target`. Mao et al. write `D` high on data with labels `a`
    (fake), `b` (real), `c` (what the generator wants); the reflection
    `D -> -D` maps them to `f = -a`, `r = -b`, `c = -c`. The default
    `(r, f, c) = (-1, 1, -1)` is their `a = -1, b = c = 1` (the +-1 coding with
    the generator aiming at the real label); `(r, f, c) = (-1, 1, 0)` is their
    `a = -1, b = 1, c = 0`, for which minimising `L_G` minimises the Pearson
    chi^2 divergence (Mao et al., Sec. 3.2.2).

    Args:
      real_target: the output `D` is pushed to on data.
      fake_target: the output `D` is pushed to on generated samples.
      generator_target: the output the generator wants `D` to give its samples.

    Returns:
      A `GANLoss`.
    """

    def loss_d(d_real, d_fake):
        return 0.5 * jnp.mean(jnp.square(d_real - real_target)) + 0.5 * jnp.mean(
            jnp.square(d_fake - fake_target)
        )

    def loss_g(d_real, d_fake):
        del d_real
        return 0.5 * jnp.mean(jnp.square(d_fake - generator_target))

    return GANLoss(generator=loss_g, discriminator=loss_d)


def hinge() -> GANLoss:
    """Hinge loss (Lim & Ye 2017; Miyato et al. 2018), "D high on generated".

    `L_D = E max(0, 1 + D(x)) + E max(0, 1 - D(G(z)))` and `L_G = E D(G(z))`: the
    usual `E relu(1 - D(x)) + E relu(1 + D(G(z)))`, `L_G = -E D(G(z))` with
    `D -> -D`.
    """

    def loss_d(d_real, d_fake):
        return jnp.mean(jax.nn.relu(1.0 + d_real)) + jnp.mean(jax.nn.relu(1.0 - d_fake))

    def loss_g(d_real, d_fake):
        del d_real
        return jnp.mean(d_fake)

    return GANLoss(generator=loss_g, discriminator=loss_d)


_LOSSES: dict[str, Callable[[], GANLoss]] = {
    "standard": standard,
    "non_saturating": non_saturating,
    "wgan": wgan,
}


def register(name: str, factory: Callable[[], GANLoss]) -> None:
    """Adds a loss to the registry used by `get` (and the CLIs' `--loss`)."""
    _LOSSES[name] = factory


def names() -> tuple[str, ...]:
    """The names accepted by `get`."""
    return tuple(_LOSSES)


def get(loss: str | GANLoss) -> GANLoss:
    """Returns the `GANLoss` named `loss` (a `GANLoss` passes through).

    Raises:
      ValueError: if the name is unknown.
    """
    if isinstance(loss, GANLoss):
        return loss
    if loss not in _LOSSES:
        raise ValueError(
            f"loss: expected one of {sorted(_LOSSES)} or a GANLoss, got {loss!r}"
        )
    return _LOSSES[loss]()


register("least_squares", least_squares)
register("hinge", hinge)

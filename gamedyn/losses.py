"""GAN losses, in the sign convention of Mescheder et al. (2018), Eq. (1).

The value of the game is ``V = E_z f(D(G(z))) + E_x f(-D(x))``: the discriminator
maximises it (so ``D`` is *high on generated samples* and low on data) and, for the
minimax game, the generator minimises it. Every loss below is a pair of functions of the
discriminator's outputs on a real and on a generated batch, each returning the scalar
that its player *minimises*. Flip the sign of ``D`` to get the more common "high on real"
convention; the dynamics are identical up to that reflection.

References:
  Goodfellow et al. 2014, Generative Adversarial Nets.
  Arjovsky, Chintala, Bottou 2017, Wasserstein GAN.
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
      generator: ``fn(d_real, d_fake) -> scalar`` minimised by the generator.
      discriminator: ``fn(d_real, d_fake) -> scalar`` minimised by the discriminator
        (before its regularizer is added).
    """

    generator: Callable[[jax.Array, jax.Array], jax.Array]
    discriminator: Callable[[jax.Array, jax.Array], jax.Array]


def _value(f: Callable[[jax.Array], jax.Array]):
    def value(d_real: jax.Array, d_fake: jax.Array) -> jax.Array:
        return jnp.mean(f(d_fake)) + jnp.mean(f(-d_real))

    return value


def standard() -> GANLoss:
    """The original minimax GAN: ``f(t) = -log(1 + exp(-t))``, a zero-sum game.

    ``L_G = V``, ``L_D = -V`` with ``V = E f(D(G(z))) + E f(-D(x))``; ``f'(0) = 1/2``.
    """
    value = _value(jax.nn.log_sigmoid)
    return GANLoss(generator=value, discriminator=lambda r, g: -value(r, g))


def non_saturating() -> GANLoss:
    """Non-saturating GAN: the generator minimises ``-E f(-D(G(z)))`` instead of ``V``.

    Same fixed points as :func:`standard` but no vanishing generator gradient when the
    discriminator wins (Goodfellow et al. 2014).
    """
    value = _value(jax.nn.log_sigmoid)
    return GANLoss(
        generator=lambda r, g: -jnp.mean(jax.nn.log_sigmoid(-g)),
        discriminator=lambda r, g: -value(r, g),
    )


def wgan() -> GANLoss:
    """Wasserstein GAN: ``f(t) = t``, so ``V = E D(G(z)) - E D(x)`` (zero-sum).

    Needs a Lipschitz constraint on ``D``: weight clipping
    (:func:`gamedyn.transforms.clip_params`) or a gradient penalty
    (:func:`gamedyn.regularizers.gradient_penalty`).
    """
    value = _value(lambda t: t)
    return GANLoss(generator=value, discriminator=lambda r, g: -value(r, g))


_LOSSES: dict[str, Callable[[], GANLoss]] = {
    "standard": standard,
    "non_saturating": non_saturating,
    "wgan": wgan,
}


def register(name: str, factory: Callable[[], GANLoss]) -> None:
    """Adds a loss to the registry used by :func:`get` (and the CLIs' ``--loss``)."""
    _LOSSES[name] = factory


def names() -> tuple[str, ...]:
    """The names accepted by :func:`get`."""
    return tuple(_LOSSES)


def get(loss: str | GANLoss) -> GANLoss:
    """Returns the :class:`GANLoss` named ``loss`` (a ``GANLoss`` passes through).

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

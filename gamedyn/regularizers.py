"""Discriminator regularizers, computed by autodiff from `grad_x D`.

Every regularizer here has the signature
`penalty(discriminator, x_real, x_fake, key)`: `discriminator` maps a batch of
samples (leading axis) to a batch of scalar outputs, with its parameters closed over
so that the penalty is differentiable in them. The same code serves the Dirac-GAN
(`D(x) = psi * x`) and neural GANs. Gradient norms are safe at zero: no NaN from
`sqrt(0)`.

References:
  Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
  Converge? (R1, R2).
  Gulrajani et al. 2017, Improved Training of Wasserstein GANs (gradient penalty).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax

from gamedyn._validate import check_choice, check_nonnegative

Discriminator = Callable[[jax.Array], jax.Array]
Regularizer = Callable[
    [Discriminator, jax.Array, jax.Array, jax.Array | None], jax.Array
]


def input_gradients(discriminator: Discriminator, x: jax.Array) -> jax.Array:
    """Per-sample gradients `grad_x D(x_i)`, shaped like `x`."""

    def single(xi):
        return jnp.reshape(discriminator(xi[None]), ())

    return jax.vmap(jax.grad(single))(x)


def _squared_norms(g: jax.Array) -> jax.Array:
    return jnp.sum(jnp.square(g.reshape(g.shape[0], -1)), axis=1)


def _check_gamma(gamma) -> None:
    check_nonnegative("gamma", gamma)


def r1(gamma: float | jax.Array) -> Regularizer:
    """Zero-centred gradient penalty on real data (Mescheder et al. 2018).

    `R1(psi) = gamma / 2 * E_{x ~ p_D} ||grad_x D_psi(x)||^2`.

    Args:
      gamma: penalty weight (a number or a traced array).

    Returns:
      `penalty(discriminator, x_real, x_fake, key) -> scalar`.
    """
    _check_gamma(gamma)

    def penalty(discriminator, x_real, x_fake, key=None):
        del x_fake, key
        return (
            0.5
            * gamma
            * jnp.mean(_squared_norms(input_gradients(discriminator, x_real)))
        )

    return penalty


def r2(gamma: float | jax.Array) -> Regularizer:
    """Zero-centred gradient penalty on generated data (Mescheder et al. 2018).

    `R2(theta, psi) = gamma / 2 * E_{x ~ p_theta} ||grad_x D_psi(x)||^2`; the
    generated samples are treated as constants (the penalty is the discriminator's
    alone).
    """
    _check_gamma(gamma)

    def penalty(discriminator, x_real, x_fake, key=None):
        del x_real, key
        g = input_gradients(discriminator, jax.lax.stop_gradient(x_fake))
        return 0.5 * gamma * jnp.mean(_squared_norms(g))

    return penalty


def gradient_penalty(gamma: float | jax.Array, target: float = 1.0) -> Regularizer:
    """WGAN-GP penalty (Gulrajani et al. 2017), in the `gamma / 2` normalisation.

    `gamma / 2 * E_{x_hat} (||grad_x D(x_hat)|| - target)^2` on the interpolates
    `x_hat = u x_real + (1 - u) x_fake`, `u ~ U[0, 1]` drawn per sample from `key`
    (`u = 1/2` when `key` is None). Gulrajani's `lambda` is `gamma / 2`
    (`lambda = 10` is `gamma = 20`); Mescheder et al.'s Dirac-GAN study uses
    `gamma = 0.7, target = 1`. The norm is safe at zero.

    Args:
      gamma: penalty weight.
      target: the gradient norm the penalty is centred at (1 for WGAN-GP).
    """
    _check_gamma(gamma)

    def penalty(discriminator, x_real, x_fake, key=None):
        x_fake = jax.lax.stop_gradient(x_fake)
        shape = (x_real.shape[0],) + (1,) * (x_real.ndim - 1)
        if key is None:
            u = jnp.full(shape, 0.5, x_real.dtype)
        else:
            u = jax.random.uniform(key, shape, x_real.dtype)
        x_hat = u * x_real + (1 - u) * x_fake
        g = input_gradients(discriminator, x_hat)
        norms = optax.safe_norm(g.reshape(g.shape[0], -1), 0.0, axis=1)
        return 0.5 * gamma * jnp.mean(jnp.square(norms - target))

    return penalty


def combine(*regularizers: Regularizer) -> Regularizer:
    """The sum of several penalties, each with its own key (e.g. R1 plus R2).

    Args:
      *regularizers: penalties with the signature of this module.

    Returns:
      `penalty(discriminator, x_real, x_fake, key) -> scalar`, the sum.
    """
    if not regularizers or not all(callable(r) for r in regularizers):
        raise ValueError("regularizers: expected one or more penalties (callables)")

    def penalty(discriminator, x_real, x_fake, key=None):
        keys = (
            (None,) * len(regularizers)
            if key is None
            else tuple(jax.random.split(key, len(regularizers)))
        )
        return sum(
            r(discriminator, x_real, x_fake, k)
            for r, k in zip(regularizers, keys, strict=True)
        )

    return penalty


def squared_norm(tree) -> jax.Array:
    """`||tree||^2`, the sum of squares of all leaves (smooth, safe at zero)."""
    return sum(jnp.sum(jnp.square(x)) for x in jax.tree.leaves(tree))


def global_norm(tree) -> jax.Array:
    """`||tree||` with a finite derivative at zero (`optax.safe_norm`)."""
    flat = jnp.concatenate([jnp.ravel(x) for x in jax.tree.leaves(tree)])
    return optax.safe_norm(flat, 0.0)


class RegularizerSpec(NamedTuple):
    """A registry entry: `factory(gamma) -> Regularizer` and its default weight."""

    name: str
    factory: Callable[[float | jax.Array], Regularizer] | None
    default: float
    doc: str


_REGULARIZERS: dict[str, RegularizerSpec] = {}


def register(
    name: str,
    factory: Callable[[float | jax.Array], Regularizer] | None,
    default: float = 1.0,
    doc: str = "",
) -> None:
    """Adds `factory(gamma) -> Regularizer` under `name` (for `get` and
    `--regularizer`); `factory=None` registers "no penalty"."""
    _REGULARIZERS[name] = RegularizerSpec(name, factory, default, doc)


def names() -> tuple[str, ...]:
    """The names accepted by `get`."""
    return tuple(_REGULARIZERS)


def spec(name: str) -> RegularizerSpec:
    """The `RegularizerSpec` named `name`."""
    return _REGULARIZERS[check_choice("regularizer", name, names())]


def describe(name: str) -> str:
    """`name` with its default weight, for help texts."""
    s = spec(name)
    return s.name if s.factory is None else f"{s.name} (gamma {s.default:g})"


def get(name: str, gamma: float | jax.Array | None = None) -> Regularizer | None:
    """The penalty named `name` with weight `gamma` (default: its default).

    `"none"` gives None (no penalty), which every game accepts.

    Example: `gd.regularizers.get("r1", 0.3)` is `gd.regularizers.r1(0.3)`.

    Raises:
      ValueError: naming `regularizer` when the name is unknown.
    """
    s = spec(name)
    if s.factory is None:
        return None
    return s.factory(s.default if gamma is None else gamma)


register("none", None, 0.0, "no penalty")
register("r1", r1, 1.0, "gamma/2 E_data ||grad_x D||^2 (Mescheder et al. 2018)")
register("r2", r2, 1.0, "gamma/2 E_generated ||grad_x D||^2 (Mescheder et al. 2018)")
register(
    "gp",
    lambda gamma: gradient_penalty(gamma, 1.0),
    20.0,
    "WGAN-GP, gamma/2 E (||grad_x D|| - 1)^2; gamma 20 is Gulrajani's lambda 10",
)

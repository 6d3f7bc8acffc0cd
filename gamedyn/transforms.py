"""optax-compatible pieces that game training needs beyond optax itself."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import optax


def clip_params(clip: float | jax.Array) -> optax.GradientTransformation:
    """Keeps parameters in `[-clip, clip]`: WGAN weight clipping (Arjovsky et al.
    2017).

    Chain it *after* the optimizer (`optax.chain(optax.sgd(h), clip_params(c))`): the
    update becomes `clip(w + u, -c, c) - w`, so the new parameters are the clipped
    ones, exactly as the reference code post-processes each step. Needs `params`.

    Args:
      clip: the bound `c > 0`.

    Returns:
      An `optax.GradientTransformation`.
    """
    if isinstance(clip, (int, float)) and clip <= 0:
        raise ValueError(f"clip: expected a positive number, got {clip}")

    def init_fn(params):
        del params
        return optax.EmptyState()

    def update_fn(updates, state, params=None):
        if params is None:
            raise ValueError("params: clip_params needs the parameters in update()")
        new = jax.tree.map(
            lambda u, p: jnp.clip(p + u, -clip, clip) - p, updates, params
        )
        return new, state

    return optax.GradientTransformation(init_fn, update_fn)


def ttur(
    optimizer: Callable[..., optax.GradientTransformation],
    generator_lr: float | jax.Array,
    discriminator_lr: float | jax.Array,
    *,
    num_generators: int = 1,
    num_discriminators: int = 1,
    **kwargs: Any,
) -> tuple[optax.GradientTransformation, ...]:
    """Two time-scale update rule (Heusel et al. 2017): one optimizer per player.

    Builds `optimizer(generator_lr, **kwargs)` for each generator and
    `optimizer(discriminator_lr, **kwargs)` for each discriminator, in the players'
    order (generators first, discriminators last): the tuple every
    `gamedyn.dynamics` rule accepts. Heusel et al. use Adam with a discriminator
    rate several times the generator's (e.g. `1e-4` and `3e-4`).

    Args:
      optimizer: an optax factory whose first argument is the learning rate, e.g.
        `optax.adam`.
      generator_lr: the generators' rate.
      discriminator_lr: the discriminators' rate.
      num_generators: number of generator players.
      num_discriminators: number of discriminator players.
      **kwargs: passed on to `optimizer` (e.g. `b1=0.5`).

    Returns:
      A tuple of `num_generators + num_discriminators` optax transformations.

    References:
      Heusel et al. 2017, GANs Trained by a Two Time-Scale Update Rule Converge to a
      Local Nash Equilibrium. NeurIPS.
    """
    if not callable(optimizer):
        raise ValueError(
            "optimizer: expected an optax factory such as optax.adam, got "
            f"{optimizer!r}"
        )
    for name, n in (
        ("num_generators", num_generators),
        ("num_discriminators", num_discriminators),
    ):
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"{name}: expected a positive integer, got {n!r}")
    for name, lr in (
        ("generator_lr", generator_lr),
        ("discriminator_lr", discriminator_lr),
    ):
        if isinstance(lr, (int, float)) and lr <= 0:
            raise ValueError(f"{name}: expected a positive learning rate, got {lr}")
    g = optimizer(generator_lr, **kwargs)
    d = optimizer(discriminator_lr, **kwargs)
    return (g,) * num_generators + (d,) * num_discriminators


class LossBalanceState(NamedTuple):
    """State of `scale_by_loss_balance`.

    Attributes:
      average: exponential moving average of the player's loss.
      scale: the factor applied at the last update.
    """

    average: jax.Array
    scale: jax.Array


def scale_by_loss_balance(
    reference: float | jax.Array,
    *,
    sensitivity: float | jax.Array = 1.0,
    decay: float | jax.Array = 0.9,
    min_scale: float = 0.1,
    max_scale: float = 10.0,
) -> optax.GradientTransformationExtraArgs:
    """Adapts a player's step size to how far its loss is from the balanced value.

    `a_t = decay a_{t-1} + (1 - decay) L_t` (`a_0 = reference`) and the updates are
    multiplied by `s_t = clip(exp(sensitivity (a_t - reference)), min_scale,
    max_scale)`: a player whose smoothed loss is above its value at the equilibrium
    (it is losing) takes larger steps, a player below it (winning) smaller ones, which
    keeps the players in balance. For the standard GAN the discriminator's loss at the
    equilibrium `D = 0` is `2 log 2` and the non-saturating generator's is
    `log 2`. This is the loss-balance idea of BEGAN (Berthelot et al. 2017, where a
    balance term `k_t` is driven by the losses' gap) acting on the step size.

    `update(updates, state, params=None, *, loss)` needs the player's current loss
    as the extra argument `loss`; `gamedyn.dynamics.simultaneous_with_loss`
    passes it. Chain it with an optimizer:
    `optax.chain(optax.adam(1e-3), scale_by_loss_balance(...))`.

    Args:
      reference: the player's loss at the equilibrium.
      sensitivity: how strongly the gap changes the scale.
      decay: EMA decay of the loss, in `[0, 1)`.
      min_scale: lower bound of the factor, `0 < min_scale <= 1`.
      max_scale: upper bound of the factor, `max_scale >= 1`.

    Returns:
      An `optax.GradientTransformationExtraArgs` with state
      `LossBalanceState`.
    """
    if isinstance(decay, (int, float)) and not 0 <= decay < 1:
        raise ValueError(f"decay: expected a number in [0, 1), got {decay}")
    if not 0 < min_scale <= 1 <= max_scale:
        raise ValueError(
            "min_scale, max_scale: expected 0 < min_scale <= 1 <= max_scale, got "
            f"{min_scale}, {max_scale}"
        )

    def init_fn(params):
        del params
        ref = jnp.asarray(reference, jnp.result_type(float))
        return LossBalanceState(average=ref, scale=jnp.ones_like(ref))

    def update_fn(updates, state, params=None, *, loss=None, **extra):
        del params, extra
        if loss is None:
            raise ValueError(
                "loss: scale_by_loss_balance needs the player's loss, "
                "update(..., loss=L); use gamedyn.dynamics.simultaneous_with_loss"
            )
        average = decay * state.average + (1 - decay) * loss
        scale = jnp.clip(
            jnp.exp(sensitivity * (average - reference)), min_scale, max_scale
        )
        updates = jax.tree.map(lambda u: (scale * u).astype(u.dtype), updates)
        return updates, LossBalanceState(average, scale.astype(state.scale.dtype))

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)

"""optax-compatible pieces that game training needs beyond optax itself."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import optax


def clip_params(clip: float | jax.Array) -> optax.GradientTransformation:
    """Keeps parameters in ``[-clip, clip]``: WGAN weight clipping (Arjovsky et al. 2017).

    Chain it *after* the optimizer (``optax.chain(optax.sgd(h), clip_params(c))``): the
    update becomes ``clip(w + u, -c, c) - w``, so the new parameters are the clipped
    ones, exactly as the reference code post-processes each step. Needs ``params``.

    Args:
      clip: the bound ``c > 0``.

    Returns:
      An ``optax.GradientTransformation``.
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

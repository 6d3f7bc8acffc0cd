"""Named optax optimizers with the GAN literature's defaults: the `--optimizer`
vocabulary of every command and experiment.

`gd.optimizers.get(name)(lr, **options)` returns an optax
`GradientTransformation`; `lr` may be a number or an optax schedule. The
defaults are written once, here:

- `adam`: `beta1 = 0.5`, `beta2 = 0.999` (Radford et al. 2016's DCGAN setting,
  used by most GAN papers since), `eps_root = 0`;
- `sgd`: `momentum = 0` (negative values give the negative momentum of Gidel
  et al. 2019);
- `rmsprop`: `decay = 0.9` (optax's).

References:
  Kingma & Ba 2015, Adam. Radford, Metz, Chintala 2016, DCGAN (beta1 = 0.5).
  Gidel et al. 2019, Negative Momentum for Improved Game Dynamics.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import optax

from gamedyn._validate import check_choice, check_float, check_fraction

LearningRate = float | optax.Schedule


def _lr(lr: Any) -> Any:
    if callable(lr):
        return lr
    return check_float("lr", lr, minimum=0.0, exclusive_minimum=True)


def adam(
    lr: LearningRate, *, beta1: float = 0.5, beta2: float = 0.999, eps_root: float = 0.0
) -> optax.GradientTransformation:
    """Adam with GAN defaults (`beta1 = 0.5`).

    `eps_root > 0` keeps the derivative of `sqrt(nu)` finite at `nu = 0`,
    which rules that differentiate through optimizer steps (unrolled GANs) need.
    """
    check_fraction("beta1", beta1)
    check_fraction("beta2", beta2)
    check_float("eps_root", eps_root, minimum=0.0)
    return optax.adam(_lr(lr), b1=beta1, b2=beta2, eps_root=eps_root)


def sgd(lr: LearningRate, *, momentum: float = 0.0) -> optax.GradientTransformation:
    """Plain (heavy-ball) SGD; `momentum < 0` is negative momentum."""
    momentum = check_float("momentum", momentum, minimum=-1.0, maximum=1.0)
    return optax.sgd(_lr(lr), momentum=momentum or None)


def rmsprop(lr: LearningRate, *, decay: float = 0.9) -> optax.GradientTransformation:
    """RMSProp (Tieleman & Hinton 2012), optax's defaults."""
    check_fraction("decay", decay)
    return optax.rmsprop(_lr(lr), decay=decay)


class OptimizerSpec(NamedTuple):
    """A registry entry: the factory and the options it takes with their defaults."""

    name: str
    factory: Callable[..., optax.GradientTransformation]
    options: dict[str, float]


_OPTIMIZERS: dict[str, OptimizerSpec] = {}


def register(
    name: str,
    factory: Callable[..., optax.GradientTransformation],
    options: dict[str, float] | None = None,
) -> None:
    """Adds `factory(lr, **options)` under `name` (for `get` and the CLIs).

    Args:
      name: the registry name.
      factory: `factory(lr, **options) -> GradientTransformation`.
      options: the keyword options it takes, with their defaults (documentation).
    """
    _OPTIMIZERS[name] = OptimizerSpec(name, factory, dict(options or {}))


def names() -> tuple[str, ...]:
    """The names accepted by `get`."""
    return tuple(_OPTIMIZERS)


def spec(name: str) -> OptimizerSpec:
    """The `OptimizerSpec` named `name` (its options and defaults)."""
    check_choice("optimizer", name, names())
    return _OPTIMIZERS[name]


def get(name: str) -> Callable[..., optax.GradientTransformation]:
    """`factory(lr, **options)` of the optimizer named `name`.

    Raises:
      ValueError: naming `optimizer` when the name is unknown.
    """
    return spec(name).factory


def make(name: str, lr: LearningRate, **options: Any) -> optax.GradientTransformation:
    """`get(name)(lr, **options)`, passing only the options `name` takes.

    Options it does not take (`beta1` for `sgd`) are ignored, so one set of
    command-line options serves every optimizer.
    """
    s = spec(name)
    return s.factory(lr, **{k: v for k, v in options.items() if k in s.options})


register("adam", adam, {"beta1": 0.5, "beta2": 0.999, "eps_root": 0.0})
register("sgd", sgd, {"momentum": 0.0})
register("rmsprop", rmsprop, {"decay": 0.9})

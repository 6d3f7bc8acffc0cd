"""The registry of update rules: the `--rule` vocabulary of every command.

`gd.dynamics.get(name)` returns a `Rule`; calling it with a game and an
optimizer builds the `Dynamics`. Each rule has at most one number of
its own (`param`), with one default written here and nowhere else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gamedyn._game import Game
from gamedyn._validate import check_choice, check_float, check_int
from gamedyn.dynamics._base import Dynamics, Optimizer
from gamedyn.dynamics._cgd import cgd
from gamedyn.dynamics._consensus import consensus
from gamedyn.dynamics._extragradient import extragradient
from gamedyn.dynamics._gradient import alternating, simultaneous
from gamedyn.dynamics._lookahead import lookahead
from gamedyn.dynamics._optimistic import optimistic
from gamedyn.dynamics._sga import sga
from gamedyn.dynamics._unrolled import unrolled

Factory = Callable[[Game, Optimizer, Any, Any], Dynamics]


@dataclass(frozen=True)
class Rule:
    """A named update rule with its own number.

    Attributes:
      name: the registry name.
      factory: `factory(game, optimizer, param, lr) -> Dynamics`; `lr` is the
        base learning rate when the caller knows it (CGD's default `eta`).
      param: the name of the rule's own number (`"gamma"`, `"lam"`, ...), or
        None when it has none.
      default: its default (None: see `doc`).
      integer: whether `param` is a positive integer (unrolled steps).
      doc: one line for `--help` and the docs.
    """

    name: str
    factory: Factory
    param: str | None = None
    default: float | int | None = None
    integer: bool = False
    doc: str = ""

    def __call__(
        self,
        game: Game,
        optimizer: Optimizer,
        param: float | int | None = None,
        *,
        lr: Any = None,
    ) -> Dynamics:
        """Builds the rule on `game` with `optimizer`.

        Args:
          game: the game.
          optimizer: one optax transformation or a tuple with one per player.
          param: the rule's own number (default `default`); must be None for
            rules without one.
          lr: the base learning rate (CGD uses it as `eta` by default).

        Returns:
          The `Dynamics`.
        """
        return self.factory(game, optimizer, self.check(param), lr)

    def check(self, param: Any) -> Any:
        """Validates `param` (None means the default); returns the value to use."""
        if self.param is None:
            if param is not None:
                raise ValueError(
                    f"rule_param: the rule {self.name!r} takes no parameter, got "
                    f"{param!r}"
                )
            return None
        if param is None:
            return self.default
        if self.integer:
            if isinstance(param, float) and param.is_integer():
                param = int(param)
            return check_int(f"rule_param ({self.name} {self.param})", param, 1)
        return check_float(f"rule_param ({self.name} {self.param})", param)

    def describe(self) -> str:
        """`name`, or `name (param, default X)`, for help texts."""
        if self.param is None:
            return self.name
        default = "the learning rate" if self.default is None else self.default
        return f"{self.name} ({self.param}, default {default})"


_RULES: dict[str, Rule] = {}


def register(
    name: str,
    factory: Factory,
    *,
    param: str | None = None,
    default: float | int | None = None,
    integer: bool = False,
    doc: str = "",
) -> None:
    """Adds an update rule to the registry (for `get` and `--rule`).

    Args:
      name: the registry name.
      factory: `factory(game, optimizer, param, lr) -> Dynamics`.
      param: the name of the rule's own number, if any.
      default: its default.
      integer: whether the number is a positive integer.
      doc: one line describing the rule.
    """
    _RULES[name] = Rule(name, factory, param, default, integer, doc)


def names() -> tuple[str, ...]:
    """The names accepted by `get`, in registration order."""
    return tuple(_RULES)


def get(rule: str | Rule) -> Rule:
    """The `Rule` named `rule` (a `Rule` passes through).

    Example: `gd.dynamics.get("consensus")(game, optax.sgd(0.1))` is
    `gd.dynamics.consensus(game, optax.sgd(0.1), 1.0)`.

    Raises:
      ValueError: naming `rule` when the name is unknown.
    """
    if isinstance(rule, Rule):
        return rule
    return _RULES[check_choice("rule", rule, names())]


register(
    "simultaneous",
    lambda g, o, p, lr: simultaneous(g, o),
    doc="every player steps on xi(w) at once",
)
register(
    "alternating",
    lambda g, o, p, lr: alternating(g, o),
    doc="the discriminator first, then the generator on the new params",
)
register(
    "extragradient",
    lambda g, o, p, lr: extragradient(g, o),
    doc="a look-ahead step, then the step with its gradient (Korpelevich 1976)",
)
register(
    "optimistic",
    lambda g, o, p, lr: optimistic(g, o),
    doc="w - 2h xi(w_k) + h xi(w_k-1) (Daskalakis et al. 2018)",
)
register(
    "consensus",
    lambda g, o, p, lr: consensus(g, o, p),
    param="gamma",
    default=1.0,
    doc="descend on xi + gamma grad 1/2 ||xi||^2 (Mescheder et al. 2017)",
)
register(
    "sga",
    lambda g, o, p, lr: sga(g, o, p),
    param="lam",
    default=1.0,
    doc="symplectic gradient adjustment xi + lam A^T xi (Balduzzi et al. 2018)",
)


def _cgd(game, optimizer, eta, lr):
    if eta is None:
        if lr is None:
            raise ValueError(
                "rule_param: cgd needs eta (the step of its local bilinear game) or "
                "the learning rate lr"
            )
        eta = lr
    return cgd(game, optimizer, eta)


register(
    "cgd",
    _cgd,
    param="eta",
    default=None,
    doc="competitive gradient descent (Schaefer & Anandkumar 2019)",
)
register(
    "lookahead",
    lambda g, o, p, lr: lookahead(alternating(g, o), 5, p),
    param="alpha",
    default=0.5,
    doc="lookahead-minmax over alternating steps, period 5 (Chavdarova et al. 2021)",
)
register(
    "unrolled",
    lambda g, o, p, lr: unrolled(g, o, p),
    param="steps",
    default=5,
    integer=True,
    doc="the generator differentiates through K discriminator steps (Metz 2017)",
)

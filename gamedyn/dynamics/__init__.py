"""Update rules for games: each an `init`/`step` pair (`Dynamics`).

One rule per private module; everything public is re-exported here. The registry
(`get`, `names`, `register`) maps the names used by every command
and experiment (`--rule`) to the rules, each with its own number and default.
"""

from gamedyn.dynamics._base import Dynamics, PlayersState
from gamedyn.dynamics._cgd import cgd
from gamedyn.dynamics._consensus import consensus
from gamedyn.dynamics._ema import EMAState, ema
from gamedyn.dynamics._extragradient import extragradient
from gamedyn.dynamics._gradient import alternating, simultaneous, simultaneous_with_loss
from gamedyn.dynamics._lookahead import LookaheadState, lookahead
from gamedyn.dynamics._optimistic import OptimisticState, optimistic
from gamedyn.dynamics._registry import Rule, get, names, register
from gamedyn.dynamics._sga import sga
from gamedyn.dynamics._unrolled import unrolled

__all__ = [
    "Dynamics",
    "EMAState",
    "LookaheadState",
    "OptimisticState",
    "PlayersState",
    "Rule",
    "alternating",
    "cgd",
    "consensus",
    "ema",
    "extragradient",
    "get",
    "lookahead",
    "names",
    "optimistic",
    "register",
    "sga",
    "simultaneous",
    "simultaneous_with_loss",
    "unrolled",
]

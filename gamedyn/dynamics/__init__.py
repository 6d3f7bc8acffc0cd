"""Update rules for games: each an ``init``/``step`` pair (:class:`Dynamics`)."""

from gamedyn.dynamics._base import Dynamics, PlayersState
from gamedyn.dynamics.cgd import cgd
from gamedyn.dynamics.consensus import consensus
from gamedyn.dynamics.extragradient import extragradient
from gamedyn.dynamics.gradient import alternating, simultaneous
from gamedyn.dynamics.lookahead import LookaheadState, lookahead
from gamedyn.dynamics.optimistic import OptimisticState, optimistic
from gamedyn.dynamics.sga import sga
from gamedyn.dynamics.unrolled import unrolled

__all__ = [
    "Dynamics",
    "LookaheadState",
    "OptimisticState",
    "PlayersState",
    "alternating",
    "cgd",
    "consensus",
    "extragradient",
    "lookahead",
    "optimistic",
    "sga",
    "simultaneous",
    "unrolled",
]

"""The reproduction gallery: the field's classic results, each one call away.

Each entry is a module `gamedyn.experiments.reproduce.<name>` that defines

- `ENTRY`: an `Entry` (title, citation, the paper's code, what it checks);
- `run(quick: bool = False) -> Reproduction`: recomputes the paper's central
  result, compares it with the paper's published numbers or verdicts in
  `Claim` values, and returns the arrays its figures draw in `data`.

`quick=True` is the small setting the test suite runs (its claims hold there too,
at the tolerances each entry states); the default is the full setting the documentation
figures come from. Figures are drawn by `gamedyn.plotting.gallery` and the
command line is `gamedyn reproduce NAME --out DIR`.

A claim compares the paper's value with ours: `paper` is what the paper states
(a number, a list of numbers or a verdict such as `"converges"`), never a value
computed by gamedyn, so a claim can fail.
"""

from __future__ import annotations

import importlib
import math
import pkgutil
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np


class Claim(NamedTuple):
    """One statement of a paper checked against our numbers.

    Attributes:
      claim: the statement, naming the paper's section, figure, table or equation.
      paper: the paper's value or verdict.
      ours: our value or verdict.
      tolerance: how close counts as agreeing (a number, or a text such as
        `"exact"`, `"verdict"` or `"rtol 1e-6"`).
      holds: whether ours agrees with the paper within the tolerance.
    """

    claim: str
    paper: Any
    ours: Any
    tolerance: Any
    holds: bool

    def as_dict(self) -> dict:
        """The claim as a JSON-ready dict (NumPy values as Python numbers)."""
        return {k: _plain(v) for k, v in self._asdict().items()}


class Reproduction(NamedTuple):
    """What one gallery entry recomputed.

    Attributes:
      name: the entry's name (`"mescheder2018"`).
      claims: the checked claims, in the order of the paper.
      data: the arrays and values the entry's figures draw (plain NumPy and Python
        values, keyed by name; see each entry's `run`).
      quick: whether the small setting was run.
    """

    name: str
    claims: tuple[Claim, ...]
    data: dict
    quick: bool

    @property
    def holds(self) -> bool:
        """Whether every claim holds."""
        return all(c.holds for c in self.claims)


class Entry(NamedTuple):
    """A gallery entry's description.

    Attributes:
      name: the command-line name (the paper's first author and year).
      title: a one-line description of what is reproduced.
      paper: the citation (authors, year, title, venue).
      reference: where the paper's own code or text lives (a URL), or `""`.
      figures: which of the paper's figures, tables or equations are redrawn.
    """

    name: str
    title: str
    paper: str
    reference: str
    figures: str


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.ndarray | np.generic) or hasattr(value, "__array__"):
        arr = np.asarray(value)
        return _plain(arr.tolist()) if arr.ndim else _plain(arr.item())
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


def close(
    claim: str,
    paper: Any,
    ours: Any,
    *,
    rtol: float = 0.0,
    atol: float = 0.0,
) -> Claim:
    """A numeric claim: `|ours - paper| <= atol + rtol |paper|` elementwise.

    Args:
      claim: the statement, naming the paper's section, figure or equation.
      paper: the paper's number(s).
      ours: our number(s), the same shape.
      rtol: relative tolerance.
      atol: absolute tolerance.

    Returns:
      The `Claim`; non-finite values of ours never hold.
    """
    p = np.asarray(paper, dtype=float)
    o = np.asarray(ours, dtype=float)
    if p.shape != o.shape:
        raise ValueError(
            f"claim {claim!r}: paper has shape {p.shape} but ours {o.shape}"
        )
    holds = bool(
        np.all(np.isfinite(o)) and np.all(np.abs(o - p) <= atol + rtol * np.abs(p))
    )
    parts = [f"rtol {rtol:g}"] if rtol else []
    parts += [f"atol {atol:g}"] if atol or not rtol else []
    return Claim(claim, paper, ours, ", ".join(parts), holds)


def verdict(claim: str, paper: Any, ours: Any) -> Claim:
    """A qualitative claim that holds when our verdict equals the paper's.

    Args:
      claim: the statement, naming the paper's section, figure or equation.
      paper: the paper's verdict (e.g. `"converges"`, `True`).
      ours: our verdict, the same kind of value.

    Returns:
      The `Claim` with tolerance `"verdict"`.
    """
    return Claim(claim, paper, ours, "verdict", bool(_plain(paper) == _plain(ours)))


def bound(claim: str, paper: Any, ours: Any, *, upper: bool = True) -> Claim:
    """An inequality claim: `ours <= paper` (or `ours >= paper` with upper=False).

    Args:
      claim: the statement, naming the paper's section, figure or equation.
      paper: the bound the paper states.
      ours: our value(s).
      upper: whether `paper` is an upper bound.

    Returns:
      The `Claim` with tolerance `"<= bound"` or `">= bound"`.
    """
    o = np.asarray(ours, dtype=float)
    ok = o <= paper if upper else o >= paper
    holds = bool(np.all(np.isfinite(o)) and np.all(ok))
    return Claim(claim, paper, ours, "<= bound" if upper else ">= bound", holds)


def _modules() -> dict[str, Any]:
    found = {}
    for info in pkgutil.iter_modules(__path__):
        if not info.name.startswith("_"):
            found[info.name] = importlib.import_module(f"{__name__}.{info.name}")
    return found


def names() -> tuple[str, ...]:
    """The names of every gallery entry, sorted."""
    return tuple(sorted(_modules()))


def entry(name: str) -> Entry:
    """The `Entry` describing gallery entry `name`.

    Raises:
      ValueError: `name` is not an entry (the message lists them).
    """
    return _module(name).ENTRY


def entries() -> tuple[Entry, ...]:
    """Every gallery entry's `Entry`, sorted by name."""
    return tuple(entry(n) for n in names())


def _module(name: str):
    mods = _modules()
    if name not in mods:
        raise ValueError(
            f"name: unknown gallery entry {name!r}; expected one of "
            f"{', '.join(sorted(mods))}"
        )
    return mods[name]


def run(name: str, quick: bool = False) -> Reproduction:
    """Recomputes gallery entry `name`.

    Args:
      name: an entry of `names`.
      quick: the small setting (seconds; what the test suite runs) instead of the
        full one (the documentation's figures).

    Returns:
      The entry's `Reproduction`.
    """
    rep = _module(name).run(quick=quick)
    if rep.name != name:
        raise RuntimeError(f"entry {name!r} returned a reproduction named {rep.name!r}")
    return rep


RunFn = Callable[..., Reproduction]

__all__ = [
    "Claim",
    "Entry",
    "Reproduction",
    "bound",
    "close",
    "entries",
    "entry",
    "names",
    "run",
    "verdict",
]

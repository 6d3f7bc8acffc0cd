"""What every subcommand shares: flag names, value parsers, errors, progress bars.

One vocabulary for all commands: `--rule`/`--rule-param`, `--regularizer`/
`--gamma`, `--loss`, `--instance-noise`, `--optimizer`/`--lr`/`--beta1`/
`--beta2`, `--steps`, `--seed`, `--out`, `--no-plots`, `--no-progress`.
Errors a user can cause raise `UsageError` (or `ValueError`/`TypeError`/
`OSError` from the library); `gamedyn.cli.main` prints them as one line
`gamedyn <command>: error: ...` and exits 2.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import tempfile
from collections.abc import Callable, Sequence
from typing import Any

from gamedyn import dynamics, losses, optimizers, regularizers


class UsageError(Exception):
    """An error the user caused (bad option, refused resume): one line, exit 2."""


class HelpFormatter(
    argparse.ArgumentDefaultsHelpFormatter, argparse.RawDescriptionHelpFormatter
):
    """Shows each option's default and keeps the description's line breaks.

    An option whose help already says what its default is, or whose default is
    None or False (a switch), gets no `(default: ...)` suffix.
    """

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        if "(default:" in text or default is None or default is False:
            return text
        if default is argparse.SUPPRESS:
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: `gamedyn <command>: error:
    ...` (exit 2), with a pointer to `--help` instead of the usage block."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


_ROLE = re.compile(r":(?:func|class|mod|data|meth|attr):`~?([^`]+)`")


def plain(text: str | None) -> str:
    """A docstring without markup (code spans, RST roles), for `--help`."""
    if not text:
        return ""
    text = _ROLE.sub(r"\1", text)
    text = text.replace("`", "").replace("::\n", ":\n")
    return text


def add_parser(subparsers, name: str, help: str, doc: str | None):
    """A subcommand parser with the shared formatter and a plain description."""
    return subparsers.add_parser(
        name, help=help, description=plain(doc), formatter_class=HelpFormatter
    )


# --- value parsers (argparse `type=`) ------------------------------------------


def _number(text: str, kind: type) -> Any:
    try:
        value = kind(text)
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number, got {text!r}")
    return value


def finite_float(text: str) -> float:
    """A finite number."""
    return _number(text, float)


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = _number(text, float)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"expected a number > 0, got {text}")
    return value


def nonneg_float(text: str) -> float:
    """A finite number >= 0."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text}")
    return value


def fraction(text: str) -> float:
    """A number in [0, 1) (Adam's betas, decays)."""
    value = _number(text, float)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _number(text, int)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1, got {text}")
    return value


def nonneg_int(text: str) -> int:
    """An integer >= 0."""
    value = _number(text, int)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text}")
    return value


# --- shared flags ------------------------------------------------------------------


def add_rule(
    p: argparse.ArgumentParser,
    default: str | None = "simultaneous",
    choices: Sequence[str] | None = None,
    nargs: str | None = None,
) -> None:
    """`--rule` (registry names) and `--rule-param`."""
    choices = tuple(choices or dynamics.names())
    described = "; ".join(dynamics.get(r).describe() for r in choices)
    p.add_argument(
        "--rule",
        choices=choices,
        default=default,
        nargs=nargs,
        metavar="RULE",
        help=f"update rule: {described}",
    )
    p.add_argument(
        "--rule-param",
        type=finite_float,
        default=None,
        metavar="X",
        help="the rule's own number (see --rule; default: the rule's default)",
    )


def add_regularizer(
    p: argparse.ArgumentParser,
    default: str | None = "none",
    gamma: float | None = None,
    choices: Sequence[str] | None = None,
) -> None:
    """`--regularizer` (registry names) and `--gamma` (its weight)."""
    choices = tuple(choices or regularizers.names())
    p.add_argument(
        "--regularizer",
        choices=choices,
        default=default,
        help="discriminator penalty: "
        + "; ".join(regularizers.describe(r) for r in choices),
    )
    p.add_argument(
        "--gamma",
        type=nonneg_float,
        default=gamma,
        help="the regularizer's weight"
        + (
            " (default: the regularizer's own, see --regularizer)"
            if gamma is None
            else ""
        ),
    )


def add_loss(p: argparse.ArgumentParser, default: str | None = "standard") -> None:
    """`--loss` (the GAN loss registry)."""
    p.add_argument("--loss", choices=losses.names(), default=default, help="GAN loss")


def add_instance_noise(p: argparse.ArgumentParser, default: float | None = 0.0):
    """`--instance-noise STD`."""
    p.add_argument(
        "--instance-noise",
        type=nonneg_float,
        default=default,
        metavar="STD",
        help="std of the Gaussian instance noise added to real and generated samples",
    )


def add_optimizer(
    p: argparse.ArgumentParser,
    default: str = "adam",
    lr: float = 1e-3,
    beta1: float = 0.5,
    beta2: float = 0.999,
) -> None:
    """`--optimizer`, `--lr`, `--beta1`, `--beta2`, `--momentum`."""
    p.add_argument(
        "--optimizer", choices=optimizers.names(), default=default, help="optimizer"
    )
    add_lr(p, lr)
    p.add_argument("--beta1", type=fraction, default=beta1, help="Adam beta1")
    p.add_argument("--beta2", type=fraction, default=beta2, help="Adam beta2")
    p.add_argument(
        "--momentum",
        type=finite_float,
        default=0.0,
        help="SGD momentum (negative: negative momentum)",
    )


def add_lr(p: argparse.ArgumentParser, default: float) -> None:
    """`--lr`, a positive step size."""
    p.add_argument("--lr", type=positive_float, default=default, help="learning rate")


def add_steps(p: argparse.ArgumentParser, default: int | None, minimum: int = 1):
    """`--steps N`."""
    p.add_argument(
        "--steps",
        type=positive_int if minimum >= 1 else nonneg_int,
        default=default,
        required=default is None,
        help="training steps",
    )


def add_seed(p: argparse.ArgumentParser, default: int = 0) -> None:
    """`--seed`."""
    p.add_argument("--seed", type=nonneg_int, default=default, help="PRNG seed")


def add_out(p: argparse.ArgumentParser, default: str | None = None) -> None:
    """`--out DIR`."""
    p.add_argument(
        "--out",
        default=default,
        required=default is None,
        metavar="DIR",
        help="output directory",
    )


def add_output_switches(p: argparse.ArgumentParser) -> None:
    """`--no-plots` and `--no-progress`."""
    p.add_argument("--no-plots", action="store_true", help="write no figures")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


# --- checks and display --------------------------------------------------------------


def check_out(path: str) -> str:
    """Creates `--out` if needed and checks that it is a writable directory.

    Called before any computation, so a bad `--out` fails at once.

    Raises:
      UsageError: naming `--out` and the problem.
    """
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"--out: {path} exists and is not a directory")
    try:
        os.makedirs(path, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=path, prefix=".tmp_probe_")
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise UsageError(f"--out: cannot write to {path} ({e.strerror or e})") from None
    return path


def progress_bar(
    total: int, desc: str, enabled: bool, initial: int = 0, unit: str = "step"
):
    """A tqdm bar (a no-op when not `enabled`)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=initial, desc=desc, unit=unit, disable=not enabled)


def bar_callback(bar) -> Callable[..., None]:
    """`fn(done, total_or_record)`: moves `bar` to `done` (for the library's
    `progress=` callbacks)."""

    def update(done: int, info: Any = None) -> None:
        bar.update(done - bar.n)
        if isinstance(info, dict):
            shown = {
                k: f"{v:.3f}"
                for k, v in info.items()
                if k.startswith("loss") and isinstance(v, float)
            }
            if shown:
                bar.set_postfix(shown, refresh=False)

    return update

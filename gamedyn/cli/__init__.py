"""The `gamedyn` command line: one subcommand per module of this package.

Each module `gamedyn.cli.<name>` defines `register(subparsers)`, which adds its
subcommand and sets `func` (called with the parsed arguments) as the default. The
commands only parse arguments, show progress, print and write files; the work is in
`gamedyn.experiments`. Every error a user can cause is printed as one line
`gamedyn <command>: error: ...` with exit status 2; `--debug` (or
`GAMEDYN_DEBUG=1`) shows the traceback instead.
"""

from __future__ import annotations

import argparse
import importlib
import os
import pkgutil
import sys

from gamedyn.cli._common import Parser, UsageError


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("gamedyn")
    except PackageNotFoundError:  # a source tree that is not installed
        import gamedyn

        return gamedyn.__version__


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = Parser(
        prog="gamedyn", description="Training dynamics of GANs and games, in JAX."
    )
    parser.add_argument("--version", action="version", version=f"gamedyn {_version()}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="show the traceback of an error (also GAMEDYN_DEBUG=1)",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the `gamedyn` console script and `python -m gamedyn`.

    Returns:
      The exit status: 0 on success, 2 on a usage error, 130 on Ctrl-C.
    """
    parser = build_parser()
    args = parser.parse_args(argv)
    debug = args.debug or os.environ.get("GAMEDYN_DEBUG", "") not in ("", "0")
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print(f"gamedyn {args.command}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, TypeError, OSError) as e:
        if debug:
            raise
        message = " ".join(str(e).split()) or type(e).__name__
        print(f"gamedyn {args.command}: error: {message}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

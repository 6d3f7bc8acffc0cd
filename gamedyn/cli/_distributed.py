"""The flags that run a command as one of several processes (``jax.distributed``).

``--coordinator HOST:PORT --num-processes N --process-id I`` (all three, or none):
every process of the run is started with the same command and its own
``--process-id``; process 0 listens at ``HOST:PORT``. Without them, a command
started by a cluster launcher (SLURM's ``srun``, Open MPI's ``mpirun``, a Cloud
TPU pod) joins the run the launcher describes, and otherwise runs alone. Every
process computes; only process 0 (the writer) checks and writes ``--out``, prints
and draws progress bars. See ``docs/multihost.md``.

A command wires them in with `add_arguments` in ``register`` and
``writer = setup(args)`` first thing in ``run``, before any JAX computation.
"""

from __future__ import annotations

import argparse

from gamedyn import distributed
from gamedyn.cli._common import UsageError, nonneg_int, positive_int

_FLAGS = (
    ("coordinator", "--coordinator"),
    ("num_processes", "--num-processes"),
    ("process_id", "--process-id"),
)


def _address(text: str) -> str:
    try:
        distributed.parse_address(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e).split(": ", 1)[1]) from None
    return text


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Adds ``--coordinator``, ``--num-processes`` and ``--process-id``."""
    group = parser.add_argument_group(
        "several processes (jax.distributed; all three flags, or none: then a "
        "cluster launcher's environment, or one process)"
    )
    group.add_argument(
        "--coordinator",
        type=_address,
        default=None,
        metavar="HOST:PORT",
        help="where process 0 listens (the same in every process)",
    )
    group.add_argument(
        "--num-processes",
        type=positive_int,
        default=None,
        metavar="N",
        help="number of processes of the run",
    )
    group.add_argument(
        "--process-id",
        type=nonneg_int,
        default=None,
        metavar="I",
        help="this process's index, 0 .. N-1 (process 0 writes the files)",
    )


def check(args: argparse.Namespace) -> None:
    """Checks the three flags together, without starting anything.

    Raises:
      UsageError: some but not all of them, or ``--process-id`` >=
        ``--num-processes``.
    """
    given = [flag for attr, flag in _FLAGS if getattr(args, attr, None) is not None]
    if given and len(given) < len(_FLAGS):
        missing = [flag for _, flag in _FLAGS if flag not in given]
        raise UsageError(
            f"{missing[0]}: expected --coordinator, --num-processes and --process-id "
            f"together, got only {' and '.join(given)}"
        )
    if given and args.process_id >= args.num_processes:
        raise UsageError(
            f"--process-id: expected an integer < --num-processes "
            f"({args.num_processes}), got {args.process_id}"
        )


def setup(args: argparse.Namespace) -> bool:
    """Joins the run the flags (or a cluster launcher) describe, or runs alone.

    Call it before any JAX computation (``jax.devices()`` included).

    Returns:
      Whether this process writes files, prints and draws progress: process 0.

    Raises:
      UsageError: bad flags (see `check`), or a coordinator that cannot be
        reached or listened on.
    """
    check(args)
    values = [getattr(args, attr, None) for attr, _ in _FLAGS]
    try:
        distributed.initialize(*values)
    except (ValueError, OSError) as e:
        name, _, detail = str(e).partition(":")
        raise UsageError(f"{dict(_FLAGS).get(name, name)}:{detail}") from None
    return distributed.is_writer()

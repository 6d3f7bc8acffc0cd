"""File IO for runs: directory locks, atomic writes, verified checkpoints, logs.

Every file a run writes goes through here, and nothing here knows about games or
update rules:

- `lock_directory` holds an exclusive lock on a run directory for the whole
  run (`filelock`: an OS lock, released by the kernel when its process dies, so a
  killed run's lock is taken over at once). Acquiring it removes the temporary files
  that a killed writer left behind.
- `atomic_write` writes to a temporary file beside the target, flushes it to
  disk and `os.replace`-s it into place, with the user's umask: a crash never
  leaves a torn file.
- Checkpoints (`save_checkpoint`) are any pytree serialised with
  `flax.serialization`, together with the run's settings (`metadata`), under
  `directory/checkpoint_<step>.msgpack`, with a SHA-256 checksum of their content
  that `load_checkpoint` verifies. `newest_good_checkpoint` passes over
  corrupt or truncated ones (with a `RunWarning`).
- The log `metrics.jsonl` gets one strict-JSON line per record
  (`append_log`); a line torn by a crash or a full disk is set aside in
  `metrics.jsonl.torn` (`repair_log`) and the log goes on.

Nothing here prints: what a run recovers from is reported as a `RunWarning`,
which the command line shows as one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import sys
import tempfile
import time
import warnings
from collections.abc import Iterator
from typing import Any

import filelock
import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

CHECKPOINT_RE = re.compile(r"^checkpoint_(\d{9})\.msgpack$")
CHECKPOINT_FORMAT = "gamedyn-checkpoint"
CHECKPOINT_VERSION = 1
LOG_NAME = "metrics.jsonl"
TORN_SUFFIX = ".torn"
"""`metrics.jsonl.torn` keeps the log lines that were set aside."""
LOCK_NAME = ".gamedyn.lock"
OWNER_NAME = ".gamedyn.owner"
"""The lock holder's pid, host, command and start time (JSON), while it runs."""
TEMP_PREFIX, TEMP_SUFFIX = ".tmp_", ".part"


class RunWarning(UserWarning):
    """Something a run recovered from: a corrupt checkpoint passed over, a torn log
    line set aside. The command line prints it as one line."""


class CorruptCheckpointError(ValueError):
    """A checkpoint file that is truncated, corrupt or not a gamedyn checkpoint."""


class DirectoryLockedError(OSError):
    """The run directory is locked by another process."""


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- atomic writes and locks ---------------------------------------------------------


def atomic_write(path: str, data: bytes | str) -> None:
    """Writes `data` to a temporary file beside `path`, then `os.replace`.

    The file gets the permissions of the user's umask (like `open`), not the
    temporary file's 0600.

    Raises:
      OSError: naming `path` when the write fails (a full disk, ...); `path` is
        then unchanged and the temporary file removed.
    """
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=TEMP_PREFIX, suffix=TEMP_SUFFIX)
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> the user's umask
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        raise OSError(e.errno, f"cannot write {path}: {e.strerror or e}") from e
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def remove_temporary(directory: str) -> list[str]:
    """Removes the temporary files (`.tmp_*.part`) of interrupted atomic writes.

    Only safe while no other process writes to `directory` (under
    `lock_directory`, which calls it).

    Returns:
      The paths removed.
    """
    removed = []
    if os.path.isdir(directory):
        for name in sorted(os.listdir(directory)):
            if name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX):
                path = os.path.join(directory, name)
                with contextlib.suppress(FileNotFoundError):
                    os.remove(path)
                    removed.append(path)
    return removed


def _describe_owner(directory: str) -> str:
    try:
        with open(os.path.join(directory, OWNER_NAME)) as f:
            owner = json.load(f)
        return (
            f"pid {owner['pid']} on {owner['host']} ({owner['command']}, since "
            f"{owner['since']})"
        )
    except (OSError, ValueError, KeyError, TypeError):
        return "another process"


@contextlib.contextmanager
def lock_directory(
    directory: str, *, name: str = "directory", command: str | None = None
) -> Iterator[str]:
    """Holds an exclusive lock on `directory` (created if needed) while in the
    `with` block.

    The lock is `directory/.gamedyn.lock`, an OS file lock (`filelock`): it is
    released when the block ends or when the process dies, even by `kill -9`, so a
    stale lock is never in the way. The lock is reentrant within a process (a
    `gamedyn.train.train` inside an experiment's run takes it again). On first
    acquisition the temporary files of interrupted writes are removed
    (`remove_temporary`) and `directory/.gamedyn.owner` records who holds it
    (pid, host, `command`, start time), for the error of the next contender.

    Args:
      directory: the run directory.
      name: the name of the argument, for the error message (`"out_dir"`,
        `"--out"`).
      command: what holds the lock, e.g. `"gamedyn mnist"` (default: this
        program's name).

    Yields:
      `directory`.

    Raises:
      DirectoryLockedError: (an `OSError`) when another process holds the lock;
        the message names the directory and the holder.
    """
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    lock = filelock.FileLock(
        os.path.join(directory, LOCK_NAME), timeout=0, is_singleton=True
    )
    try:
        lock.acquire()
    except filelock.Timeout:
        raise DirectoryLockedError(
            f"{name}: {directory} is in use by another run: "
            f"{_describe_owner(directory)}; wait for it to end or use another "
            "directory"
        ) from None
    owner = os.path.join(directory, OWNER_NAME)
    try:
        if lock.lock_counter == 1:
            remove_temporary(directory)
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "command": command or os.path.basename(sys.argv[0] or "python"),
                "since": time.strftime("%Y-%m-%d %H:%M:%S"),
            }
            atomic_write(owner, json.dumps(info) + "\n")
        yield directory
    finally:
        if lock.lock_counter == 1:
            with contextlib.suppress(OSError):
                os.remove(owner)
        lock.release()


# --- checkpoints ---------------------------------------------------------------------


def checkpoint_path(directory: str, step: int) -> str:
    """`directory/checkpoint_<step, 9 digits>.msgpack`."""
    return os.path.join(directory, f"checkpoint_{int(step):09d}.msgpack")


def list_checkpoints(directory: str) -> list[tuple[int, str]]:
    """`[(step, path), ...]` of the checkpoint files in `directory`, by step
    (by name: unverified)."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        m = CHECKPOINT_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, name)))
    return sorted(found)


def latest_checkpoint(directory: str) -> str | None:
    """The path of the checkpoint file with the largest step, or None (unverified;
    see `newest_good_checkpoint`)."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def _digest(version: Any, body: bytes) -> str:
    """The SHA-256 of a checkpoint's format version and body."""
    return hashlib.sha256(f"{version}:".encode() + body).hexdigest()


def _encode_checkpoint(state: Any, metadata: Any) -> bytes:
    body = flax.serialization.msgpack_serialize(
        {
            "metadata": json.dumps(jsonable(metadata), allow_nan=False),
            "state": flax.serialization.to_state_dict(jax.device_get(state)),
        }
    )
    return flax.serialization.msgpack_serialize(
        {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "sha256": _digest(CHECKPOINT_VERSION, body),
            "body": body,
        }
    )


def _decode_checkpoint(path: str) -> tuple[Any, Any]:
    """`(metadata, state_dict)` of a verified checkpoint file."""
    with open(path, "rb") as f:
        data = f.read()
    try:
        outer = flax.serialization.msgpack_restore(data)
    except Exception as e:  # noqa: BLE001 - msgpack raises several types
        raise CorruptCheckpointError(
            f"{path}: truncated or corrupt checkpoint (unreadable: {e})"
        ) from None
    if not isinstance(outer, dict) or outer.get("format") != CHECKPOINT_FORMAT:
        raise CorruptCheckpointError(
            f"{path}: corrupt or not a gamedyn checkpoint (no checksummed header; "
            "files of gamedyn < 0.3 are not read)"
        )
    body, version = outer.get("body"), outer.get("version")
    if not isinstance(body, bytes) or _digest(version, body) != outer.get("sha256"):
        raise CorruptCheckpointError(
            f"{path}: corrupt checkpoint (its content does not match its checksum)"
        )
    if version != CHECKPOINT_VERSION:
        raise ValueError(
            f"{path}: checkpoint format version {version!r}, this gamedyn reads "
            f"version {CHECKPOINT_VERSION}"
        )
    inner = flax.serialization.msgpack_restore(body)
    return json.loads(inner["metadata"]), inner["state"]


def save_checkpoint(
    directory: str, state: Any, keep: int | None = None, metadata: Any = None
) -> str:
    """Writes `state` (and `metadata`) atomically to `directory`; prunes.

    The file holds the state, `metadata` and a SHA-256 checksum of both, which
    `load_checkpoint` verifies.

    Args:
      directory: where to write (created if needed).
      state: the pytree to save; it must have an integer `step` attribute
        (e.g. `gamedyn.train.TrainState`).
      keep: keep only the newest `keep` checkpoints (None keeps all).
      metadata: JSON-able data stored with the state, e.g. the run's settings
        (`checkpoint_metadata` reads it back).

    Returns:
      The checkpoint's path.
    """
    path = checkpoint_path(directory, int(state.step))
    atomic_write(path, _encode_checkpoint(state, metadata))
    if keep is not None:
        for _, old in list_checkpoints(directory)[:-keep]:
            with contextlib.suppress(FileNotFoundError):
                os.remove(old)
    return path


def checkpoint_metadata(path: str) -> Any:
    """The `metadata` saved with a checkpoint, after verifying its checksum.

    Raises:
      CorruptCheckpointError: (a `ValueError`) naming the file when it is
        truncated, corrupt or not a gamedyn checkpoint.
    """
    return _decode_checkpoint(path)[0]


def load_checkpoint(path: str, like: Any) -> Any:
    """Restores a checkpoint into the structure of `like` (a pytree of the same
    structure, e.g. `gamedyn.train.init_state`), verifying its checksum.

    Raises:
      CorruptCheckpointError: (a `ValueError`) naming the file when it is
        truncated, corrupt or not a gamedyn checkpoint.
      ValueError: when its structure does not match `like` (a checkpoint of a
        different model, update rule or optimizer).
    """
    _, state_dict = _decode_checkpoint(path)
    try:
        restored = flax.serialization.from_state_dict(jax.device_get(like), state_dict)
    except Exception as e:  # noqa: BLE001 - structure errors of several types
        raise ValueError(
            f"{path}: cannot restore the checkpoint into this run's state ({e}); it "
            "was written with different settings"
        ) from None
    shapes = jax.tree.map(lambda a: (np.shape(a), np.asarray(a).dtype), like)
    got = jax.tree.map(lambda a: (np.shape(a), np.asarray(a).dtype), restored)
    if shapes != got:
        raise ValueError(
            f"{path}: the checkpoint's arrays differ in shape or dtype from this run's "
            "state; it was written with different settings"
        )
    return jax.tree.map(jnp.asarray, restored)


def newest_good_checkpoint(
    directory: str, max_step: int | None = None
) -> tuple[int, str, Any] | None:
    """The newest checkpoint of `directory` whose checksum holds.

    Newer checkpoints that are corrupt or truncated are passed over, each with a
    `RunWarning` naming it (the file stays, and is replaced when the run
    writes that step again).

    Args:
      directory: the run directory.
      max_step: consider only checkpoints at or before this step.

    Returns:
      `(step, path, metadata)`, or None when there is no checkpoint at all.

    Raises:
      CorruptCheckpointError: when there are checkpoints but none is good.
    """
    found = [
        (s, p)
        for s, p in list_checkpoints(directory)
        if max_step is None or s <= max_step
    ]
    bad = []
    for step, path in reversed(found):
        try:
            metadata = checkpoint_metadata(path)
        except CorruptCheckpointError as e:
            bad.append(str(e))
            continue
        for reason in bad:
            warnings.warn(
                f"{reason}; passed over, resuming from {os.path.basename(path)}",
                RunWarning,
                stacklevel=2,
            )
        return step, path, metadata
    if bad:
        names = ", ".join(os.path.basename(p) for _, p in found)
        raise CorruptCheckpointError(
            f"{directory}: no good checkpoint left ({names}: all corrupt or "
            "truncated); delete them to start over, or use another directory"
        )
    return None


# --- the log ------------------------------------------------------------------------


def _parse_log(path: str) -> tuple[list[dict], list[tuple[int, str]], int]:
    """`(records, bad, last)`: the records of the log, `(line number, text)` of
    each line that is not a JSON object or lacks its newline (a write cut short),
    and the number of the line after the last newline."""
    if not os.path.isfile(path):
        return [], [], 1
    with open(path, "rb") as f:
        lines = f.read().split(b"\n")
    records, bad = [], []
    for i, raw in enumerate(lines):
        if not raw.strip():
            continue
        try:
            record = json.loads(raw.decode())
        except ValueError:  # UnicodeDecodeError and JSONDecodeError alike
            record = None
        if isinstance(record, dict) and i < len(lines) - 1:
            records.append(record)
        else:
            bad.append((i + 1, raw.decode(errors="replace")))
    return records, bad, len(lines)


def read_log(directory: str) -> list[dict]:
    """The records of `directory/metrics.jsonl`.

    A last line without its newline (a write in progress, or one torn by a crash)
    is left out.

    Raises:
      ValueError: naming the file and the line when a complete line is not a JSON
        object (`repair_log`, called when a run resumes, sets it aside).
    """
    path = os.path.join(directory, LOG_NAME)
    records, bad, last = _parse_log(path)
    for number, _ in bad:
        if number < last:
            raise ValueError(
                f"{path}: line {number} is not a JSON record; resuming the run sets "
                "it aside"
            )
    return records


def repair_log(directory: str) -> list[str]:
    """Sets aside the lines of `directory/metrics.jsonl` that are not JSON
    records: a last line torn by a crash or a full disk, or a corrupt line.

    They are appended to `metrics.jsonl.torn` (nothing is lost) and the log is
    rewritten without them, with a `RunWarning` naming the file. Call it while
    holding the directory's lock (`gamedyn.train.train` does).

    Returns:
      The lines set aside (empty when the log was sound).
    """
    path = os.path.join(directory, LOG_NAME)
    records, bad, _ = _parse_log(path)
    if not bad:
        return []
    with open(path + TORN_SUFFIX, "a") as f:
        f.write("".join(text + "\n" for _, text in bad))
        f.flush()
        os.fsync(f.fileno())
    _write_records(path, records)
    numbers = ", ".join(str(n) for n, _ in bad)
    warnings.warn(
        f"{path}: line {numbers} was torn or corrupt (an interrupted write?); set "
        f"aside in {os.path.basename(path + TORN_SUFFIX)}, the log goes on",
        RunWarning,
        stacklevel=2,
    )
    return [text for _, text in bad]


def _write_records(path: str, records: list[dict]) -> None:
    atomic_write(path, "".join(json.dumps(r, allow_nan=False) + "\n" for r in records))


def truncate_log(directory: str, step: int) -> None:
    """Drops the log records after `step` (before resuming from that step)."""
    path = os.path.join(directory, LOG_NAME)
    records, _, _ = _parse_log(path)
    kept = [r for r in records if r.get("step", 0) <= step]
    if len(kept) != len(records):
        _write_records(path, kept)


def append_log(directory: str, record: dict) -> None:
    """Appends one strict-JSON line to `directory/metrics.jsonl`.

    A torn last line left by an earlier crash is set aside first
    (`repair_log`), so the new record starts a line of its own.

    Raises:
      OSError: naming the file when the write fails (a full disk); the line may
        then be torn, and the next run sets it aside.
    """
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, LOG_NAME)
    if os.path.isfile(path) and os.path.getsize(path):
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                repair_log(directory)
    line = json.dumps(jsonable(record), allow_nan=False) + "\n"
    try:
        with open(path, "a") as f:
            f.write(line)
    except OSError as e:
        raise OSError(e.errno, f"cannot append to {path}: {e.strerror or e}") from e


# --- JSON ----------------------------------------------------------------------------


def jsonable(obj: Any) -> Any:
    """`obj` with NumPy/JAX scalars and arrays as Python values and every
    non-finite float as None, so that it serialises as strict JSON."""
    if isinstance(obj, dict):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (np.ndarray, jax.Array)):
        return jsonable(np.asarray(obj).tolist())
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if np.isfinite(obj) else None
    return obj


def write_json(path: str, obj: Any) -> None:
    """Writes `obj` as strict JSON (`jsonable`), atomically."""
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")


def read_json(path: str) -> Any:
    """The JSON value in `path`.

    Raises:
      ValueError: naming the file when it is not JSON.
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        return json.loads(data)
    except (UnicodeDecodeError, ValueError) as e:
        raise ValueError(f"{path}: not a JSON file ({e})") from None

"""File IO for runs: atomic writes, JSON-lines logs, checkpoints.

Every file a run writes goes through here. :func:`atomic_write` writes to a temporary
file beside the target, flushes it to disk and ``os.replace``-s it into place, so a
crash never leaves a torn file. Checkpoints are any pytree serialised with
``flax.serialization`` under ``directory/checkpoint_<step>.msgpack``. Nothing here
knows about games or update rules.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
from typing import Any

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np

CHECKPOINT_RE = re.compile(r"^checkpoint_(\d{9})\.msgpack$")
LOG_NAME = "metrics.jsonl"


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _to_bytes(state: Any) -> bytes:
    return flax.serialization.to_bytes(jax.device_get(state))


def checkpoint_path(directory: str, step: int) -> str:
    """``directory/checkpoint_<step, 9 digits>.msgpack``."""
    return os.path.join(directory, f"checkpoint_{int(step):09d}.msgpack")


def list_checkpoints(directory: str) -> list[tuple[int, str]]:
    """``[(step, path), ...]`` of the checkpoints in ``directory``, by step."""
    if not os.path.isdir(directory):
        return []
    found = []
    for name in os.listdir(directory):
        m = CHECKPOINT_RE.match(name)
        if m:
            found.append((int(m.group(1)), os.path.join(directory, name)))
    return sorted(found)


def latest_checkpoint(directory: str) -> str | None:
    """The path of the checkpoint with the largest step, or None."""
    found = list_checkpoints(directory)
    return found[-1][1] if found else None


def atomic_write(path: str, data: bytes | str) -> None:
    """Writes ``data`` to a temporary file beside ``path``, then ``os.replace``."""
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".tmp_", suffix=".part")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp's 0600 -> the user's umask
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(directory: str, state: Any, keep: int | None = None) -> str:
    """Writes ``state`` atomically to ``directory`` and prunes old checkpoints.

    Args:
      directory: where to write (created if needed).
      state: the pytree to save; it must have an integer ``step`` attribute
        (e.g. :class:`gamedyn.train.TrainState`).
      keep: keep only the newest ``keep`` checkpoints (None keeps all).

    Returns:
      The checkpoint's path.
    """
    path = checkpoint_path(directory, int(state.step))
    atomic_write(path, _to_bytes(state))
    if keep is not None:
        for _, old in list_checkpoints(directory)[:-keep]:
            os.remove(old)
    return path


def load_checkpoint(path: str, like: Any) -> Any:
    """Restores a checkpoint into the structure of ``like`` (a pytree of the same
    structure, e.g. :func:`gamedyn.train.init_state`).

    Raises:
      ValueError: when the file is unreadable or its structure does not match
        ``like`` (a different model, update rule or optimizer).
    """
    with open(path, "rb") as f:
        data = f.read()
    try:
        restored = flax.serialization.from_bytes(jax.device_get(like), data)
    except Exception as e:  # noqa: BLE001 - msgpack and structure errors alike
        raise ValueError(
            f"{path}: cannot restore the checkpoint into this run's state ({e}); was "
            "it written with different settings?"
        ) from e
    shapes = jax.tree.map(lambda a: (np.shape(a), np.asarray(a).dtype), like)
    got = jax.tree.map(lambda a: (np.shape(a), np.asarray(a).dtype), restored)
    if shapes != got:
        raise ValueError(
            f"{path}: the checkpoint's arrays differ in shape or dtype from this run's "
            "state; was it written with different settings?"
        )
    return jax.tree.map(jnp.asarray, restored)


def _read_log(path: str) -> list[dict]:
    if not os.path.isfile(path):
        return []
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def truncate_log(directory: str, step: int) -> None:
    """Drops the log records after ``step`` (before resuming from that step)."""
    path = os.path.join(directory, LOG_NAME)
    records = _read_log(path)
    kept = [r for r in records if r.get("step", 0) <= step]
    if len(kept) != len(records):
        atomic_write(path, "".join(json.dumps(r) + "\n" for r in kept))


def append_log(directory: str, record: dict) -> None:
    """Appends one JSON line to ``directory/metrics.jsonl``."""
    os.makedirs(directory, exist_ok=True)
    with open(os.path.join(directory, LOG_NAME), "a") as f:
        f.write(json.dumps(record) + "\n")


def read_log(directory: str) -> list[dict]:
    """The records of ``directory/metrics.jsonl``."""
    return _read_log(os.path.join(directory, LOG_NAME))


def jsonable(obj: Any) -> Any:
    """``obj`` with NumPy/JAX scalars and arrays as Python values and every
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
    """Writes ``obj`` as strict JSON (:func:`jsonable`), atomically."""
    atomic_write(path, json.dumps(jsonable(obj), indent=2, allow_nan=False) + "\n")

"""Long training runs: jit-compiled chunks of ``lax.scan`` steps, logs, checkpoints.

:func:`simulate` runs a whole trajectory in one call; :func:`train` is for runs that
take minutes to days. It advances any :class:`gamedyn.Dynamics` in chunks of
``lax.scan`` steps (one compiled function per chunk length), shows a progress bar
with the players' losses, appends them to ``metrics.jsonl`` and writes checkpoints
atomically. Step ``t`` (0-based) uses the key ``fold_in(key, t)`` whatever the chunk
boundaries, so a run resumed from a checkpoint repeats an unbroken run exactly (same
batches, same keys).

Checkpoints hold a :class:`TrainState` (params, the dynamics' state, the model's
non-trainable state such as batch-norm running averages, the step and the RNG key)
serialised with ``flax.serialization`` and written to a temporary file that
``os.replace`` moves into place, so a crash never leaves a torn checkpoint.
"""

from __future__ import annotations

import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any, NamedTuple

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
from tqdm.auto import tqdm

from gamedyn._game import Game, Params, check_params
from gamedyn.dynamics._base import Dynamics

CHECKPOINT_RE = re.compile(r"^checkpoint_(\d{9})\.msgpack$")
LOG_NAME = "metrics.jsonl"

UpdateState = Callable[[Params, Any, jax.Array], Any]


class TrainState(NamedTuple):
    """Everything a run needs to continue.

    Attributes:
      step: int32 scalar, the number of steps done.
      params: the players' params.
      dynamics_state: the update rule's state (optimizer moments, ...).
      model_state: non-trainable model state (e.g. batch-norm running averages),
        advanced by ``update_state``; ``{}`` when there is none.
      key: the run's base key as raw ``uint32`` key data; step ``t`` uses
        ``fold_in(key, t)``.
    """

    step: jax.Array
    params: Params
    dynamics_state: Any
    model_state: Any
    key: jax.Array


def init_state(
    dynamics: Dynamics,
    params: Params,
    key: jax.Array,
    model_state: Any = None,
) -> TrainState:
    """The state at step 0.

    Args:
      dynamics: the update rule (its ``init`` makes the optimizer states).
      params: the players' initial params.
      key: the run's PRNG key (typed or raw).
      model_state: non-trainable model state (default ``{}``).

    Returns:
      A :class:`TrainState`.
    """
    check_params(params)
    if not isinstance(dynamics, Dynamics):
        raise ValueError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return TrainState(
        step=jnp.asarray(0, jnp.int32),
        params=params,
        dynamics_state=dynamics.init(params),
        model_state={} if model_state is None else model_state,
        key=jnp.asarray(key, jnp.uint32),
    )


def step_key(state_key: jax.Array, t: jax.Array) -> jax.Array:
    """The key of step ``t``: ``fold_in(key, t)`` of the run's base key."""
    return jax.random.fold_in(jax.random.wrap_key_data(state_key), t)


@partial(jax.jit, static_argnames=("dynamics", "update_state", "num_steps", "unroll"))
def run_steps(
    dynamics: Dynamics,
    update_state: UpdateState | None,
    num_steps: int,
    state: TrainState,
    unroll: int | bool = 1,
) -> TrainState:
    """``num_steps`` steps of ``dynamics`` from ``state`` in one ``lax.scan``.

    Step ``t`` calls ``dynamics.step(params, dynamics_state, k_t)`` with
    ``k_t = fold_in(key, t)``, then ``update_state(new_params, model_state,
    fold_in(k_t, 1))`` when given. ``unroll`` is ``lax.scan``'s: ``True`` compiles
    the chunk as straight-line code (no loop), which XLA:CPU runs several times
    faster for convolutional models (jax-ml/jax#12868) at the price of a compile time
    that grows with ``num_steps``.
    """

    def body(s: TrainState, _):
        k = step_key(s.key, s.step)
        params, dyn_state = dynamics.step(s.params, s.dynamics_state, k)
        model_state = s.model_state
        if update_state is not None:
            model_state = update_state(params, model_state, jax.random.fold_in(k, 1))
        return TrainState(s.step + 1, params, dyn_state, model_state, s.key), None

    state, _ = jax.lax.scan(body, state, length=num_steps, unroll=unroll)
    return state


@partial(jax.jit, static_argnames="game")
def _eval_losses(game: Game, params: Params, key: jax.Array) -> jax.Array:
    return jnp.stack(game.losses(params, key))


def _to_bytes(state: TrainState) -> bytes:
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
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def save_checkpoint(directory: str, state: TrainState, keep: int | None = None) -> str:
    """Writes ``state`` atomically to ``directory`` and prunes old checkpoints.

    Args:
      directory: where to write (created if needed).
      state: the :class:`TrainState`.
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


def load_checkpoint(path: str, like: TrainState) -> TrainState:
    """Restores a checkpoint into the structure of ``like`` (e.g. ``init_state``).

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


def _check_optional_int(name, value, minimum=1):
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise ValueError(
            f"{name}: expected an integer >= {minimum} or None, got {value!r}"
        )
    if value < minimum:
        raise ValueError(f"{name}: expected an integer >= {minimum}, got {value}")


def train(
    dynamics: Dynamics,
    state: TrainState,
    num_steps: int,
    *,
    game: Game | None = None,
    update_state: UpdateState | None = None,
    eval_key: jax.Array | None = None,
    chunk: int = 100,
    unroll: int | bool = 1,
    out_dir: str | None = None,
    checkpoint_every: int | None = None,
    keep: int | None = None,
    log_every: int | None = None,
    loss_names: Sequence[str] | None = None,
    callback: Callable[[TrainState], dict | None] | None = None,
    progress: bool = True,
) -> TrainState:
    """Trains until ``state.step == num_steps``.

    The steps run in chunks that end on multiples of ``chunk``, of ``checkpoint_every``
    and of ``log_every`` (so chunk boundaries, hence compiled shapes, repeat). After
    each chunk the players' losses on the fixed evaluation key are computed (when
    ``game`` is given) and shown in the progress bar; every ``log_every`` steps they
    are appended to ``out_dir/metrics.jsonl`` together with whatever ``callback``
    returns; every ``checkpoint_every`` steps, at the end and on ``KeyboardInterrupt``
    (Ctrl-C; re-raised afterwards) a checkpoint is written.

    Args:
      dynamics: any :class:`gamedyn.Dynamics`.
      state: where to start (:func:`init_state` or :func:`load_checkpoint`).
      num_steps: the total number of steps of the run (not the number still to do).
      game: the game, to log its losses.
      update_state: ``(params, model_state, key) -> model_state`` after each step.
      eval_key: the key of the fixed evaluation batch (default ``key(0)``).
      chunk: steps per compiled ``lax.scan``.
      unroll: ``lax.scan``'s unrolling (see :func:`run_steps`; ``True`` for
        convolutional models on CPU). Resume is bitwise exact for any chunking with
        the default 1; with unrolling, when every ``num_steps`` used is a multiple
        of ``chunk`` (then all runs compile the same chunks).
      out_dir: directory for the log and the checkpoints (None: neither).
      checkpoint_every: steps between checkpoints (None: only at the end).
      keep: how many checkpoints to keep (None: all).
      log_every: steps between log records (default ``chunk``).
      loss_names: names of the players' losses in the log (default ``loss_g, loss_d``
        for two players, ``loss_0, ...`` otherwise).
      callback: ``callback(state) -> dict | None`` called at log steps; its items
        are added to the log record (e.g. an FID).
      progress: show a tqdm progress bar.

    Returns:
      The final :class:`TrainState`.
    """
    if not isinstance(state, TrainState):
        raise ValueError(f"state: expected a TrainState, got {type(state).__name__}")
    if not isinstance(dynamics, Dynamics):
        raise ValueError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    _check_optional_int("num_steps", num_steps, 0)
    _check_optional_int("chunk", chunk)
    _check_optional_int("checkpoint_every", checkpoint_every)
    _check_optional_int("keep", keep)
    _check_optional_int("log_every", log_every)
    start = int(state.step)
    if num_steps < start:
        raise ValueError(
            f"num_steps: the state is already at step {start}, got "
            f"num_steps={num_steps}"
        )
    log_every = log_every or chunk
    n_players = len(state.params)
    if loss_names is None:
        loss_names = (
            ("loss_g", "loss_d")
            if n_players == 2
            else tuple(f"loss_{i}" for i in range(n_players))
        )
    eval_key = jax.random.key(0) if eval_key is None else eval_key
    if out_dir is not None:
        os.makedirs(out_dir, exist_ok=True)
        if num_steps > start:  # the records after ``start`` belong to another past
            truncate_log(out_dir, start)

    bar = tqdm(total=num_steps, initial=start, disable=not progress, unit="step")
    t0 = time.perf_counter()
    try:
        while int(state.step) < num_steps:
            s = int(state.step)
            ends = [chunk - s % chunk, num_steps - s, log_every - s % log_every]
            if checkpoint_every:
                ends.append(checkpoint_every - s % checkpoint_every)
            n = min(ends)
            new_state = run_steps(dynamics, update_state, n, state, unroll)
            jax.block_until_ready(new_state)
            state = new_state
            s += n
            bar.update(n)
            record = {"step": s}
            if game is not None:
                values = np.asarray(_eval_losses(game, state.params, eval_key))
                record.update({k: float(v) for k, v in zip(loss_names, values)})
                bar.set_postfix({k: f"{v:.3f}" for k, v in zip(loss_names, values)})
            if s % log_every == 0 or s == num_steps:
                if callback is not None:
                    record.update(callback(state) or {})
                record["time"] = round(time.perf_counter() - t0, 3)
                if out_dir is not None:
                    append_log(out_dir, record)
            if out_dir is not None and (
                (checkpoint_every and s % checkpoint_every == 0) or s == num_steps
            ):
                save_checkpoint(out_dir, state, keep)
    except KeyboardInterrupt:
        if out_dir is not None:
            path = save_checkpoint(out_dir, state, keep)
            bar.write(f"interrupted: saved {path} at step {int(state.step)}")
        raise
    finally:
        bar.close()
    if out_dir is not None and not list_checkpoints(out_dir):
        save_checkpoint(out_dir, state, keep)
    return state

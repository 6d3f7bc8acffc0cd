"""Long training runs: jit-compiled chunks of ``lax.scan`` steps, logs, checkpoints.

:func:`simulate` runs a whole trajectory in one call; :func:`train` is for runs that
take minutes to days. It advances any :class:`gamedyn.Dynamics` in chunks of
``lax.scan`` steps (one compiled function per chunk length), reports progress
through a callback, appends the players' losses to ``metrics.jsonl`` and writes
checkpoints. Step ``t`` (0-based) uses the key ``fold_in(key, t)`` whatever the chunk
boundaries, so a run resumed from a checkpoint repeats an unbroken run exactly (same
batches, same keys).

Each chunk is one call of the library's scan core, :func:`gamedyn.simulate`, with
``start_step`` at the chunk's first step, so the key schedule is the same as in a
single ``simulate`` call. Checkpoints hold a :class:`TrainState` (params, the
dynamics' state, the model's non-trainable state such as batch-norm running
averages, the step and the RNG key) and the caller's ``metadata`` (the run's
settings), and are written through :mod:`gamedyn.io`: atomically (a crash never
leaves a torn checkpoint) and with a checksum. While it trains, :func:`train` holds
the lock of its ``out_dir`` (:func:`gamedyn.io.lock_directory`).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn import io
from gamedyn._game import Game, Params, check_params
from gamedyn._validate import check_int, check_optional_int, is_traced
from gamedyn.dynamics._base import Dynamics
from gamedyn.simulation import simulate

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
        raise TypeError(
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


@functools.lru_cache(maxsize=64)
def with_model_state(dynamics: Dynamics, update_state: UpdateState | None) -> Dynamics:
    """``dynamics`` whose state is ``(dynamics_state, model_state)``.

    After each step of ``dynamics`` (with key ``k_t``), ``update_state(new_params,
    model_state, fold_in(k_t, 1))`` advances the model's non-trainable state
    (batch-norm averages). Cached, so the same pair gives the same (hashable)
    dynamics and :func:`gamedyn.simulate` compiles once.
    """

    def init(params):
        raise TypeError(
            "with_model_state: pass the state explicitly, (dynamics_state, model_state)"
        )

    def step(params, state, key):
        dyn_state, model_state = state
        params, dyn_state = dynamics.step(params, dyn_state, key)
        if update_state is not None:
            model_state = update_state(params, model_state, jax.random.fold_in(key, 1))
        return params, (dyn_state, model_state)

    return Dynamics(init, step, period=dynamics.period)


def run_steps(
    dynamics: Dynamics,
    update_state: UpdateState | None,
    num_steps: int,
    state: TrainState,
    unroll: int | bool = 1,
) -> tuple[TrainState, jax.Array]:
    """``num_steps`` steps of ``dynamics`` from ``state``: one :func:`simulate` call.

    Step ``t`` (global) calls ``dynamics.step(params, dynamics_state, k_t)`` with
    ``k_t = fold_in(key, t)``, then ``update_state(new_params, model_state,
    fold_in(k_t, 1))`` when given. ``unroll`` is ``lax.scan``'s: ``True`` compiles
    the chunk as straight-line code (no loop), which XLA:CPU runs several times
    faster for convolutional models (jax-ml/jax#12868) at the price of a compile time
    that grows with ``num_steps``.

    Returns:
      ``(new_state, diverged_step)``; ``diverged_step`` is the global step (1-based)
      at which the params stopped being finite, or -1.
    """
    traj = simulate(
        with_model_state(dynamics, update_state),
        state.params,
        num_steps,
        jax.random.wrap_key_data(state.key),
        every=max(num_steps, 1),
        state=(state.dynamics_state, state.model_state),
        start_step=state.step if is_traced(state.step) else int(state.step),
        record_params=False,
        unroll=unroll,
    )
    dyn_state, model_state = traj.state
    new = TrainState(
        state.step + num_steps, traj.final, dyn_state, model_state, state.key
    )
    return new, traj.diverged_step


@functools.partial(jax.jit, static_argnames="game")
def eval_losses(game: Game, params: Params, key: jax.Array) -> jax.Array:
    """The players' losses ``(n,)`` at ``params`` on ``key`` (jit-compiled once per
    game; the log's losses)."""
    return jnp.stack(game.losses(params, key))


def train(
    dynamics: Dynamics,
    state: TrainState,
    target_step: int,
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
    progress: Callable[[int, dict], None] | None = None,
    metadata: Any = None,
) -> TrainState:
    """Trains until ``state.step == target_step`` (or the params diverge).

    The steps run in chunks that end on multiples of ``chunk``, of ``checkpoint_every``
    and of ``log_every`` (so chunk boundaries, hence compiled shapes, repeat). After
    each chunk the players' losses on the fixed evaluation key are computed (when
    ``game`` is given) and passed to ``progress``; every ``log_every`` steps they
    are appended to ``out_dir/metrics.jsonl`` together with whatever ``callback``
    returns; every ``checkpoint_every`` steps, at the end and on ``KeyboardInterrupt``
    (Ctrl-C; re-raised afterwards) a checkpoint is written. A chunk whose params stop
    being finite ends the run early: its record has ``"diverged_step"``, it is
    checkpointed, and the returned state is at the end of that chunk (``step <
    target_step``; its params are NaN).

    With ``out_dir``, the directory is locked for the whole call
    (:func:`gamedyn.io.lock_directory`; another process gets a
    :class:`~gamedyn.io.DirectoryLockedError`), a torn last line of the log is set
    aside (:func:`gamedyn.io.repair_log`) and the records after ``state.step``
    are dropped: they belong to a past that this call repeats.

    Args:
      dynamics: any :class:`gamedyn.Dynamics`.
      state: where to start (:func:`init_state` or :func:`gamedyn.io.load_checkpoint`).
      target_step: the step to train until (the run's total length, not the number
        of steps still to do).
      game: the game, to log its losses.
      update_state: ``(params, model_state, key) -> model_state`` after each step.
      eval_key: the key of the fixed evaluation batch (default ``key(0)``).
      chunk: steps per compiled ``lax.scan``.
      unroll: ``lax.scan``'s unrolling (see :func:`run_steps`; ``True`` for
        convolutional models on CPU). Resume is bitwise exact for any chunking with
        the default 1; with unrolling, when every ``target_step`` used is a multiple
        of ``chunk`` (then all runs compile the same chunks).
      out_dir: directory for the log and the checkpoints (None: neither).
      checkpoint_every: steps between checkpoints (None: only at the end).
      keep: how many checkpoints to keep (None: all).
      log_every: steps between log records (default ``chunk``).
      loss_names: names of the players' losses in the log (default ``loss_g, loss_d``
        for two players, ``loss_0, ...`` otherwise).
      callback: ``callback(state) -> dict | None`` called at log steps; its items
        are added to the log record (e.g. an FID).
      progress: ``progress(step, record)`` called after every chunk with the step
        reached and the chunk's record (its losses), e.g. to advance a progress bar.
      metadata: JSON-able data stored in every checkpoint (the run's settings; see
        :func:`gamedyn.io.checkpoint_metadata`).

    Returns:
      The final :class:`TrainState`.

    Raises:
      DirectoryLockedError: (an ``OSError``) when another process holds
        ``out_dir``'s lock.
    """
    if not isinstance(state, TrainState):
        raise TypeError(f"state: expected a TrainState, got {type(state).__name__}")
    if not isinstance(dynamics, Dynamics):
        raise TypeError(
            f"dynamics: expected a gamedyn.Dynamics, got {type(dynamics).__name__}"
        )
    for name, fn in (("callback", callback), ("progress", progress)):
        if fn is not None and not callable(fn):
            raise TypeError(
                f"{name}: expected a callable or None, got {type(fn).__name__}"
            )
    target_step = check_int("target_step", target_step, 0)
    chunk = check_int("chunk", chunk, 1)
    checkpoint_every = check_optional_int("checkpoint_every", checkpoint_every, 1)
    keep = check_optional_int("keep", keep, 1)
    log_every = check_optional_int("log_every", log_every, 1) or chunk
    start = int(state.step)
    if target_step < start:
        raise ValueError(
            f"target_step: the state is already at step {start}, got "
            f"target_step={target_step}"
        )
    n_players = len(state.params)
    if loss_names is None:
        loss_names = (
            ("loss_g", "loss_d")
            if n_players == 2
            else tuple(f"loss_{i}" for i in range(n_players))
        )
    eval_key = jax.random.key(0) if eval_key is None else eval_key

    def save(state: TrainState) -> None:
        io.save_checkpoint(out_dir, state, keep, metadata)

    def loop(state: TrainState) -> TrainState:
        t0 = time.perf_counter()
        try:
            while int(state.step) < target_step:
                s = int(state.step)
                ends = [chunk - s % chunk, target_step - s, log_every - s % log_every]
                if checkpoint_every:
                    ends.append(checkpoint_every - s % checkpoint_every)
                n = min(ends)
                new_state, diverged_step = run_steps(
                    dynamics, update_state, n, state, unroll
                )
                jax.block_until_ready(new_state)
                state = new_state
                s += n
                diverged = int(diverged_step) >= 0
                record: dict[str, Any] = {"step": s}
                if game is not None:
                    values = np.asarray(eval_losses(game, state.params, eval_key))
                    record.update({k: float(v) for k, v in zip(loss_names, values)})
                if diverged:
                    record["diverged_step"] = int(diverged_step)
                if s % log_every == 0 or s == target_step or diverged:
                    if callback is not None and not diverged:
                        record.update(callback(state) or {})
                    record["time"] = round(time.perf_counter() - t0, 3)
                    if out_dir is not None:
                        io.append_log(out_dir, io.jsonable(record))
                if progress is not None:
                    progress(s, record)
                if out_dir is not None and (
                    (checkpoint_every and s % checkpoint_every == 0)
                    or s == target_step
                    or diverged
                ):
                    save(state)
                if diverged:
                    break
        except KeyboardInterrupt:
            if out_dir is not None:
                save(state)
            raise
        if out_dir is not None and not io.list_checkpoints(out_dir):
            save(state)
        return state

    if out_dir is None:
        return loop(state)
    with io.lock_directory(out_dir, name="out_dir"):
        io.repair_log(out_dir)
        if target_step > start:  # the records after ``start`` belong to another past
            io.truncate_log(out_dir, start)
        return loop(state)

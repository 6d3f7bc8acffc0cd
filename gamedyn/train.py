"""Long training runs: jit-compiled chunks of `lax.scan` steps, logs, checkpoints.

`simulate` runs a whole trajectory in one call; `train` is for runs that
take minutes to days. It advances any `gamedyn.Dynamics` in chunks of
`lax.scan` steps (one compiled function per chunk length), reports progress
through a callback, appends the players' losses to `metrics.jsonl` and writes
checkpoints. Step `t` (0-based) uses the key `fold_in(key, t)` whatever the chunk
boundaries, so a run resumed from a checkpoint repeats an unbroken run exactly (same
batches, same keys).

Each chunk is one call of the library's scan core, `gamedyn.simulate`, with
`start_step` at the chunk's first step, so the key schedule is the same as in a
single `simulate` call. Checkpoints hold a `TrainState` (params, the
dynamics' state, the model's non-trainable state such as batch-norm running
averages, the step and the RNG key) and the caller's `metadata` (the run's
settings), and are written through `gamedyn.io`: atomically (a crash never
leaves a torn checkpoint) and with a checksum. While it trains, `train` holds
the lock of its `out_dir` (`gamedyn.io.lock_directory`).

Several runs of one configuration (seeds) train as one program: `stack_states`
stacks their states on a leading axis, and `run_steps` and `train` then
advance all of them in one `jax.vmap`-ed, `jax.shard_map`-ed scan over a 1-D mesh
of devices (each device trains its share of the runs, without communicating). Run
`i` of the result equals run `i` trained alone to float rounding (the batched
matrix products may add in another order); `select_run` takes one out.

On XLA:CPU the chunks draw their random numbers with a straight-line lowering of
JAX's default PRNG (`threefry_unrolled`): the same threefry2x32 bits, so the
same results, without the rolled `while` loops that JAX emits for threefry on CPU.
"""

from __future__ import annotations

import functools
import math
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gamedyn import io
from gamedyn._game import Game, Params, check_params
from gamedyn._validate import check_int, check_optional_int, is_traced
from gamedyn.dynamics._base import Dynamics
from gamedyn.simulation import _all_finite, simulate

UpdateState = Callable[[Params, Any, jax.Array], Any]


class TrainState(NamedTuple):
    """Everything a run needs to continue.

    Attributes:
      step: int32 scalar, the number of steps done.
      params: the players' params.
      dynamics_state: the update rule's state (optimizer moments, ...).
      model_state: non-trainable model state (e.g. batch-norm running averages),
        advanced by `update_state`; `{}` when there is none.
      key: the run's base key as raw `uint32` key data; step `t` uses
        `fold_in(key, t)`.

    A state of `N` runs (`stack_states`) has one `step` and every other
    leaf stacked on a leading axis of length `N` (`key` of shape `(N, 2)`).
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
      dynamics: the update rule (its `init` makes the optimizer states).
      params: the players' initial params.
      key: the run's PRNG key (typed or raw).
      model_state: non-trainable model state (default `{}`).

    Returns:
      A `TrainState`.
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


_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def _threefry2x32(k1, k2, x1, x2):
    """Threefry-2x32 with 20 rounds (Salmon et al. 2011), as straight-line code."""
    ks = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + ks[0], x2 + ks[1]
    for i in range(5):
        for r in _ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = x1 ^ (
                lax.shift_left(x2, np.uint32(r))
                | lax.shift_right_logical(x2, np.uint32(32 - r))
            )
        x1 = x1 + ks[(i + 1) % 3]
        x2 = x2 + ks[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _counters(shape: tuple[int, ...]) -> tuple[jax.Array, jax.Array]:
    """The high and low words of the flat index of each element of `shape`
    (JAX's partitionable threefry counters)."""
    lo = lax.iota(np.uint32, math.prod(shape)).reshape(shape)
    return jnp.zeros(shape, np.uint32), lo


_UNROLL_FROM = 1024
"""Draws of at least this many numbers take the straight-line rounds; smaller ones
(keys, indices) JAX's own lowering, which compiles faster."""


def _jax_threefry() -> Any:
    from jax.extend.random import threefry_prng_impl

    return threefry_prng_impl


def _split(key: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    return _jax_threefry().split(key, shape)


def _fold_in(key: jax.Array, data: Any) -> jax.Array:
    return _jax_threefry().fold_in(key, data)


def _random_bits(key: jax.Array, bit_width: int, shape: tuple[int, ...]) -> jax.Array:
    if not _UNROLL_FROM <= math.prod(shape) < 2**32 or bit_width not in (8, 16, 32):
        return _jax_threefry().random_bits(key, bit_width, shape)
    b1, b2 = _threefry2x32(key[0], key[1], *_counters(shape))
    bits = b1 ^ b2
    return bits if bit_width == 32 else bits.astype(f"uint{bit_width}")


@functools.cache
def _unrolled_impl() -> Any:
    import jax.extend.random as jex

    return jex.define_prng_impl(
        key_shape=(2,),
        seed=jex.threefry_prng_impl.seed,
        split=_split,
        random_bits=_random_bits,
        fold_in=_fold_in,
        name="threefry2x32_unrolled",
        tag="fru",
    )


def threefry_unrolled() -> Any | None:
    """JAX's default PRNG with straight-line rounds, where that is faster.

    On XLA:CPU JAX lowers threefry2x32 with rolled `while` loops (to compile
    fast), which XLA cannot fuse with the code around them (a small MLP GAN's step
    ran about 30 % faster with `unsafe_rbg`, docs/mnist.md). This PRNG
    implementation computes the same function with the 20 rounds written out: every
    `jax.random` function gives the same bits, keys and samples as with JAX's
    default implementation (tested), so runs are unchanged, only faster. Only
    draws of 1024 numbers or more (a GAN's latent batch) take the written-out
    rounds; keys, `fold_in` and small draws (minibatch indices) are JAX's own
    functions, which compile faster. `run_steps` uses it.

    Returns:
      The implementation (for `jax.random.wrap_key_data(data, impl=...)`) when
      the default PRNG is threefry2x32 with `jax_threefry_partitionable` (JAX's
      defaults) and the default backend is the CPU; None otherwise (use the
      default implementation).
    """
    if (
        jax.config.jax_default_prng_impl != "threefry2x32"
        or not jax.config.jax_threefry_partitionable
        or jax.default_backend() != "cpu"
    ):
        return None
    return _unrolled_impl()


def _wrap_key(data: jax.Array, impl: Any) -> jax.Array:
    if impl is None:
        return jax.random.wrap_key_data(data)
    return jax.random.wrap_key_data(data, impl=impl)


def num_runs(state: TrainState) -> int | None:
    """None for a state of one run; `N` for a state of `N` runs
    (`stack_states`), told by the rank of its key."""
    return None if np.ndim(state.key) == 1 else int(np.shape(state.key)[0])


def stack_states(states: Sequence[TrainState]) -> TrainState:
    """One state holding several runs at the same step, to train them together.

    Args:
      states: `TrainState` of single runs (e.g. one `init_state` per
        seed), all at the same step and of the same structure and shapes.

    Returns:
      A `TrainState` whose `step` is the runs' step and whose other leaves
      are the runs' leaves stacked on a new leading axis.

    Raises:
      TypeError: when an element is not a `TrainState`.
      ValueError: no states, states of several runs, different steps or shapes.
    """
    states = list(states)
    if not states:
        raise ValueError("states: expected at least one TrainState, got none")
    for i, st in enumerate(states):
        if not isinstance(st, TrainState):
            raise TypeError(
                f"states[{i}]: expected a TrainState, got {type(st).__name__}"
            )
        if num_runs(st) is not None:
            raise ValueError(
                f"states[{i}]: expected the state of one run, got one of "
                f"{num_runs(st)} runs"
            )
    steps = [int(st.step) for st in states]
    if len(set(steps)) > 1:
        raise ValueError(f"states: expected runs at the same step, got steps {steps}")
    shapes = jax.tree.map(jnp.shape, states[0])
    for i, st in enumerate(states[1:], 1):
        if (
            jax.tree.structure(st) != jax.tree.structure(states[0])
            or jax.tree.map(jnp.shape, st) != shapes
        ):
            raise ValueError(
                f"states[{i}]: expected the structure and shapes of states[0]"
            )
    rest = [st[1:] for st in states]
    stacked = jax.tree.map(lambda *xs: jnp.stack(xs), *rest)
    return TrainState(jnp.asarray(steps[0], jnp.int32), *stacked)


def select_run(state: TrainState, i: int) -> TrainState:
    """Run `i` of a state of several runs, as a state of one run."""
    n = num_runs(state)
    if n is None:
        raise ValueError("state: expected a state of several runs (stack_states)")
    i = check_int("i", i, -n, n - 1)
    return TrainState(state.step, *jax.tree.map(lambda x: x[i], tuple(state[1:])))


def _to_host(tree: Any) -> Any:
    """`tree` as NumPy on this process (all-gathered when it spans processes)."""
    leaves = jax.tree.leaves(tree)
    if all(getattr(x, "is_fully_addressable", True) for x in leaves):
        return jax.device_get(tree)
    from jax.experimental import multihost_utils

    return multihost_utils.process_allgather(tree, tiled=True)


def host_state(state: TrainState) -> TrainState:
    """`state` as NumPy arrays on this process.

    Runs spread over the devices of several processes are all-gathered
    (`jax.experimental.multihost_utils.process_allgather`): a collective, so
    every process must call it at the same point.
    """
    return TrainState(np.asarray(jax.device_get(state.step)), *_to_host(state[1:]))


_RUNS = "runs"


def _run_devices(n: int, devices: Sequence[Any] | None) -> tuple[Any, ...]:
    """The devices that train `n` runs: the most of `devices` (default the
    local devices) over which `n` splits evenly."""
    if devices is None:
        devices = jax.local_devices()
    devices = tuple(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(
            f"devices: expected a non-empty sequence of jax devices, got {devices!r}"
        )
    if len({d.process_index for d in devices}) > 1:
        if n % len(devices):
            raise ValueError(
                f"devices: {n} runs cannot be split evenly over {len(devices)} "
                "devices of several processes; use a multiple of the device count"
            )
        return devices
    return devices[: max(d for d in range(1, len(devices) + 1) if n % d == 0)]


def _place(tree: Any, sharding: NamedSharding) -> Any:
    """`tree`'s arrays laid out by `sharding` (host values the same on every
    process; each process places its own shards)."""

    def put(x):
        if isinstance(x, jax.Array) and x.sharding == sharding:
            return x
        if sharding.is_fully_addressable or (
            isinstance(x, jax.Array) and not x.is_fully_addressable
        ):
            return jax.device_put(x, sharding)
        host = np.asarray(x)
        return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])

    return jax.tree.map(put, tree)


@functools.lru_cache(maxsize=32)
def _runs_program(
    dynamics: Dynamics,
    update_state: UpdateState | None,
    num_steps: int,
    unroll: int | bool,
    devices: tuple[Any, ...],
    impl: Any,
):
    """`program(step, params, dyn_state, model_state, keys)`: `num_steps`
    steps of every run, vmapped on each device of a 1-D mesh over `devices`."""
    dyn = with_model_state(dynamics, update_state)
    mesh = Mesh(np.asarray(devices, dtype=object), (_RUNS,))

    def one(params, dyn_state, model_state, key, step):
        traj = simulate(
            dyn,
            params,
            num_steps,
            _wrap_key(key, impl),
            every=max(num_steps, 1),
            state=(dyn_state, model_state),
            start_step=step,
            record_params=False,
            unroll=unroll,
        )
        return traj.final, traj.state, traj.diverged_step

    def local(step, params, dyn_state, model_state, keys):
        return jax.vmap(one, in_axes=(0, 0, 0, 0, None))(
            params, dyn_state, model_state, keys, step
        )

    runs = PartitionSpec(_RUNS)
    mapped = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(PartitionSpec(), runs, runs, runs, runs),
        out_specs=runs,
        check_vma=False,
    )
    return jax.jit(mapped), mesh


@functools.lru_cache(maxsize=32)
def _runs_losses(game: Game, devices: tuple[Any, ...]):
    """`program(params, keys) -> (N, players)`: each run's losses on its key."""
    mesh = Mesh(np.asarray(devices, dtype=object), (_RUNS,))

    def local(params, keys):
        return jax.vmap(
            lambda p, k: jnp.stack(game.losses(p, jax.random.wrap_key_data(k)))
        )(params, keys)

    runs = PartitionSpec(_RUNS)
    mapped = jax.shard_map(
        local, mesh=mesh, in_specs=(runs, runs), out_specs=runs, check_vma=False
    )
    return jax.jit(mapped), mesh


def _finite_runs(state: TrainState) -> np.ndarray:
    """Whether each run's params are all finite (a host copy of `state`)."""
    n = num_runs(state)
    return np.array([bool(_all_finite(select_run(state, i).params)) for i in range(n)])


@functools.lru_cache(maxsize=64)
def with_model_state(dynamics: Dynamics, update_state: UpdateState | None) -> Dynamics:
    """`dynamics` whose state is `(dynamics_state, model_state)`.

    After each step of `dynamics` (with key `k_t`), `update_state(new_params,
    model_state, fold_in(k_t, 1))` advances the model's non-trainable state
    (batch-norm averages). Cached, so the same pair gives the same (hashable)
    dynamics and `gamedyn.simulate` compiles once.
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
    *,
    devices: Sequence[Any] | None = None,
) -> tuple[TrainState, jax.Array]:
    """`num_steps` steps of `dynamics` from `state`: one `simulate` call.

    Step `t` (global) calls `dynamics.step(params, dynamics_state, k_t)` with
    `k_t = fold_in(key, t)`, then `update_state(new_params, model_state,
    fold_in(k_t, 1))` when given. `unroll` is `lax.scan`'s: `True` compiles
    the chunk as straight-line code (no loop), which XLA:CPU runs several times
    faster for convolutional models (jax-ml/jax#12868) at the price of a compile time
    that grows with `num_steps`. The keys are JAX's default PRNG, on the CPU
    through `threefry_unrolled` (the same numbers).

    A state of `N` runs (`stack_states`) advances as one program: the runs
    are split evenly over the most of `devices` (default
    `jax.local_devices`) that divide `N`, one 1-D mesh
    (`jax.shard_map`), and vmapped on each device; each run uses its own key.
    Devices of several processes take a multiple of their count of runs, and every
    process makes the same call.

    Returns:
      `(new_state, diverged_step)`; `diverged_step` is the global step (1-based)
      at which the params stopped being finite, or -1 (one per run, `(N,)`, for
      a state of `N` runs; a run whose params were not finite already reports
      the chunk's first step).
    """
    impl = threefry_unrolled()
    n = num_runs(state)
    if n is not None:
        program, mesh = _runs_program(
            dynamics, update_state, num_steps, unroll, _run_devices(n, devices), impl
        )
        runs = NamedSharding(mesh, PartitionSpec(_RUNS))
        start = _place(np.int32(int(state.step)), NamedSharding(mesh, PartitionSpec()))
        params, (dyn_state, model_state), diverged = program(
            start, *_place(tuple(state[1:4]), runs), _place(state.key, runs)
        )
        new = TrainState(
            jnp.asarray(int(state.step) + num_steps, jnp.int32),
            params,
            dyn_state,
            model_state,
            _place(state.key, runs),
        )
        return new, diverged
    traj = simulate(
        with_model_state(dynamics, update_state),
        state.params,
        num_steps,
        _wrap_key(state.key, impl),
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
    """The players' losses `(n,)` at `params` on `key` (jit-compiled once per
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
    devices: Sequence[Any] | None = None,
) -> TrainState:
    """Trains until `state.step == target_step` (or the params diverge).

    The steps run in chunks that end on multiples of `chunk`, of `checkpoint_every`
    and of `log_every` (so chunk boundaries, hence compiled shapes, repeat). After
    each chunk the players' losses on the fixed evaluation key are computed (when
    `game` is given) and passed to `progress`; every `log_every` steps they
    are appended to `out_dir/metrics.jsonl` together with whatever `callback`
    returns; every `checkpoint_every` steps, at the end and on `KeyboardInterrupt`
    (Ctrl-C; re-raised afterwards) a checkpoint is written. A chunk whose params stop
    being finite ends the run early: its record has `"diverged_step"`, it is
    checkpointed, and the returned state is at the end of that chunk (`step <
    target_step`; its params are NaN).

    A state of `N` runs (`stack_states`) trains as one program
    (`run_steps`, over `devices`). Its records hold one value per run:
    `"loss_g": [...]`, and `"diverged_step": [...]` (-1 for the runs that did
    not diverge in that chunk) in the chunk where a run stops being finite; that
    chunk is checkpointed, and the run's params stay NaN while the others train
    on. The call ends early only when every run has diverged. When the runs span
    the devices of several processes, every process makes the same call (give
    `out_dir` in one of them): the states are gathered at checkpoint steps and
    at the end (a collective; `host_state`), the returned state is on the
    host, and Ctrl-C writes no checkpoint.

    With `out_dir`, the directory is locked for the whole call
    (`gamedyn.io.lock_directory`; another process gets a
    `DirectoryLockedError`), a torn last line of the log is set
    aside (`gamedyn.io.repair_log`) and the records after `state.step`
    are dropped: they belong to a past that this call repeats.

    Args:
      dynamics: any `gamedyn.Dynamics`.
      state: where to start (`init_state` or `gamedyn.io.load_checkpoint`;
        `stack_states` for several runs).
      target_step: the step to train until (the run's total length, not the number
        of steps still to do).
      game: the game, to log its losses.
      update_state: `(params, model_state, key) -> model_state` after each step.
      eval_key: the key of the fixed evaluation batch (default `key(0)`); for a
        state of `N` runs one key or an array of `N` keys (one per run).
      chunk: steps per compiled `lax.scan`.
      unroll: `lax.scan`'s unrolling (see `run_steps`; `True` for
        convolutional models on CPU). Resume is bitwise exact for any chunking with
        the default 1; with unrolling, when every `target_step` used is a multiple
        of `chunk` (then all runs compile the same chunks).
      out_dir: directory for the log and the checkpoints (None: neither).
      checkpoint_every: steps between checkpoints (None: only at the end).
      keep: how many checkpoints to keep (None: all).
      log_every: steps between log records (default `chunk`).
      loss_names: names of the players' losses in the log (default `loss_g, loss_d`
        for two players, `loss_0, ...` otherwise).
      callback: `callback(state) -> dict | None` called at log steps; its items
        are added to the log record (e.g. an FID).
      progress: `progress(step, record)` called after every chunk with the step
        reached and the chunk's record (its losses), e.g. to advance a progress bar.
      metadata: JSON-able data stored in every checkpoint (the run's settings; see
        `gamedyn.io.checkpoint_metadata`).
      devices: for a state of several runs, the devices to split them over
        (`run_steps`; default `jax.local_devices`).

    Returns:
      The final `TrainState`.

    Raises:
      DirectoryLockedError: (an `OSError`) when another process holds
        `out_dir`'s lock.
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
    runs = num_runs(state)
    losses_of = None
    if runs is None:

        def losses_of(params):
            return np.asarray(eval_losses(game, params, eval_key))

    else:
        use = _run_devices(runs, devices)
        spread = len({d.process_index for d in use}) > 1
        if game is not None:
            program, mesh = _runs_losses(game, use)
            keys = eval_key
            if jnp.issubdtype(keys.dtype, jax.dtypes.prng_key):
                keys = jax.random.key_data(keys)
            keys = np.broadcast_to(np.asarray(keys), (runs, np.shape(keys)[-1]))
            keys = _place(keys, NamedSharding(mesh, PartitionSpec(_RUNS)))

            def losses_of(params):
                return _to_host(program(params, keys))

    def save(state: TrainState) -> None:
        io.save_checkpoint(out_dir, state, keep, metadata)

    def loop(state: TrainState) -> TrainState:
        t0 = time.perf_counter()
        gone = None if runs is None else ~_finite_runs(host_state(state))
        try:
            while int(state.step) < target_step:
                s = int(state.step)
                ends = [chunk - s % chunk, target_step - s, log_every - s % log_every]
                if checkpoint_every:
                    ends.append(checkpoint_every - s % checkpoint_every)
                n = min(ends)
                new_state, diverged_step = run_steps(
                    dynamics, update_state, n, state, unroll, devices=devices
                )
                jax.block_until_ready(new_state)
                state = new_state
                s += n
                record: dict[str, Any] = {"step": s}
                if runs is None:
                    diverged = int(diverged_step) >= 0
                    if game is not None:
                        values = losses_of(state.params)
                        record.update({k: float(v) for k, v in zip(loss_names, values)})
                    if diverged:
                        record["diverged_step"] = int(diverged_step)
                else:
                    steps = _to_host(diverged_step)
                    fresh = (np.asarray(steps) >= 0) & ~gone
                    gone = gone | fresh
                    diverged = bool(fresh.any())
                    if game is not None:
                        values = np.asarray(losses_of(state.params))
                        record.update(
                            {
                                k: [float(v) for v in values[:, j]]
                                for j, k in enumerate(loss_names)
                            }
                        )
                    if diverged:
                        record["diverged_step"] = [
                            int(d) if f else -1 for d, f in zip(steps, fresh)
                        ]
                ended = diverged if runs is None else bool(gone.all())
                if s % log_every == 0 or s == target_step or diverged:
                    if callback is not None and not ended:
                        record.update(callback(state) or {})
                    record["time"] = round(time.perf_counter() - t0, 3)
                    if out_dir is not None:
                        io.append_log(out_dir, io.jsonable(record))
                if progress is not None:
                    progress(s, record)
                if (
                    (checkpoint_every and s % checkpoint_every == 0)
                    or s == target_step
                    or diverged
                ):
                    if runs is not None and spread:
                        state = host_state(state)  # a collective: every process
                    if out_dir is not None:
                        save(state)
                if ended:
                    break
        except KeyboardInterrupt:
            if out_dir is not None and not (runs is not None and spread):
                save(state)
            raise
        if runs is not None and spread:
            state = host_state(state)
        if out_dir is not None and not io.list_checkpoints(out_dir):
            save(state)
        return state

    if out_dir is None:
        return loop(state)
    with io.lock_directory(out_dir, name="out_dir"):
        io.repair_log(out_dir)
        if target_step > start:  # the records after `start` belong to another past
            io.truncate_log(out_dir, start)
        return loop(state)

"""Hyperparameter sweeps: one compiled, vmapped, chunked and sharded program per grid.

`sweep` evaluates a function on the Cartesian product of a grid of
hyperparameters. The configurations are flattened, cut into chunks of bounded size,
and each chunk is split over a 1-D `jax.sharding.Mesh` of devices with
`jax.shard_map`: every device `vmap`-s the function over its share. The same
call runs on one CPU, on several GPUs, or on several hosts after
`gamedyn.distributed.initialize` (every process makes the same call and
receives the whole result; see `docs/multihost.md`). Studies built on it (the
Dirac-GAN phase diagrams) live in `gamedyn.experiments`.
"""

from __future__ import annotations

import functools
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gamedyn.distributed import check_devices

_AXIS = "configs"


def sweep_keys(key: jax.Array | int, num: int) -> jax.Array:
    """`num` independent PRNG keys derived reproducibly from one key: a seed axis.

    `sweep_keys(key, n)[i]` is `jax.random.split(key, n)[i]`; the same `key`
    (or integer seed) always gives the same keys, so a sweep with a seed axis is
    reproducible. Use it as a grid value, `grid = {"key": sweep_keys(0, 8), ...}`,
    and let `fn` take `key`.

    Args:
      key: a PRNG key (new-style or raw `uint32[2]`) or an integer seed.
      num: number of keys (integer >= 1).

    Returns:
      A 1-D array of `num` new-style PRNG keys.
    """
    if isinstance(num, bool) or not isinstance(num, (int, np.integer)) or num < 1:
        raise ValueError(f"num: expected an integer >= 1, got {num!r}")
    if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
        key = jax.random.key(int(key))
    key = jnp.asarray(key) if not isinstance(key, jax.Array) else key
    if not jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if key.shape != (2,) or key.dtype != jnp.uint32:
            raise ValueError(
                "key: expected a PRNG key or an integer seed, got an array of shape "
                f"{key.shape} and dtype {key.dtype}"
            )
        key = jax.random.wrap_key_data(key)
    if key.shape != ():
        raise ValueError(f"key: expected a single PRNG key, got shape {key.shape}")
    return jax.random.split(key, int(num))


def _check_grid(fn: Callable[..., Any], grid: Any) -> dict[str, Any]:
    if not isinstance(grid, Mapping):
        raise ValueError(
            "grid: expected a dict name -> 1-D array of values, got "
            f"{type(grid).__name__}"
        )
    if not grid:
        raise ValueError(
            "grid: expected a non-empty dict name -> 1-D array of values, got an "
            "empty dict"
        )
    values = {}
    for name, value in grid.items():
        if not isinstance(name, str):
            raise ValueError(f"grid: expected string keys, got {name!r}")
        if isinstance(value, jax.Array):
            arr = value
        else:
            try:
                arr = np.asarray(value)
            except ValueError:
                raise ValueError(
                    f"grid[{name!r}]: expected a 1-D array of values, got a ragged "
                    "sequence"
                ) from None
            if not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
                raise ValueError(
                    f"grid[{name!r}]: expected numeric values, got dtype {arr.dtype}"
                )
        if arr.ndim != 1:
            raise ValueError(
                f"grid[{name!r}]: expected a 1-D array of values, got shape "
                f"{tuple(arr.shape)}"
            )
        if arr.shape[0] == 0:
            raise ValueError(f"grid[{name!r}]: expected at least one value, got none")
        values[name] = arr
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):  # builtins etc.: let the call decide
        return values
    params = sig.parameters.values()
    if not any(p.kind is p.VAR_KEYWORD for p in params):
        ok = {
            p.name
            for p in params
            if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        }
        for name in values:
            if name not in ok:
                raise ValueError(
                    f"grid: key {name!r} is not an argument of fn (it accepts "
                    f"{sorted(ok)})"
                )
    missing = [
        p.name
        for p in params
        if p.default is p.empty
        and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)
        and p.name not in values
    ]
    if missing:
        raise ValueError(
            f"grid: fn's arguments {missing} have no default and no grid axis"
        )
    return values


def _build(
    fn: Callable[..., Any],
    names: tuple[str, ...],
    sizes: tuple[int, ...],
    per_device: int,
    devices: tuple[Any, ...],
):
    """The jitted `program(start, *values)` evaluating one chunk of configs."""
    mesh = Mesh(np.asarray(devices, dtype=object), (_AXIS,))
    total = math.prod(sizes)

    def local(start, *values):
        first = start + jax.lax.axis_index(_AXIS) * per_device
        flat = jnp.minimum(first + jnp.arange(per_device, dtype=jnp.int32), total - 1)
        index = jnp.unravel_index(flat, sizes)
        points = {n: v[i] for n, v, i in zip(names, values, index)}
        return jax.vmap(lambda p: fn(**p))(points)

    mapped = jax.shard_map(
        local,
        mesh=mesh,
        in_specs=(PartitionSpec(),) * (1 + len(names)),
        out_specs=PartitionSpec(_AXIS),
        check_vma=False,
    )
    return jax.jit(mapped), mesh


_build_cached = functools.lru_cache(maxsize=64)(_build)


def _program(fn, names, sizes, per_device, devices):
    try:
        return _build_cached(fn, names, sizes, per_device, devices)
    except TypeError:  # an unhashable fn: build it afresh
        return _build(fn, names, sizes, per_device, devices)


def _put(value: Any, sharding: NamedSharding, check: bool = True) -> jax.Array:
    """`value` replicated on the devices of `sharding`.

    Across processes, every process places its own copy: arrays of this process go
    through the host (PRNG keys as their key data), in JAX's dtype (float32 without
    x64). With `check`, `jax.device_put` verifies that every process passed
    the same value (a collective); without, the copies are trusted (a chunk's
    offset, computed alike everywhere).
    """
    if sharding.is_fully_addressable or (
        isinstance(value, jax.Array) and not value.is_fully_addressable
    ):
        return jax.device_put(value, sharding)
    if isinstance(value, jax.Array) and jnp.issubdtype(
        value.dtype, jax.dtypes.prng_key
    ):
        data = _put(jax.random.key_data(value), sharding, check)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(value))
    value = np.asarray(value)
    value = value.astype(jax.dtypes.canonicalize_dtype(value.dtype))
    if check:
        return jax.device_put(value, sharding)
    return jax.make_array_from_callback(value.shape, sharding, lambda i: value[i])


def _to_host(tree):
    """A chunk's output as NumPy on this process: gathered from every process when
    the mesh spans several (a collective: every process calls it), else copied."""
    if not all(leaf.is_fully_addressable for leaf in jax.tree.leaves(tree)):
        from jax.experimental import multihost_utils

        return multihost_utils.process_allgather(tree, tiled=True)
    return jax.device_get(tree)


def sweep(
    fn: Callable[..., Any],
    grid: Mapping[str, Any],
    *,
    chunk_size: int | None = None,
    devices: Sequence[Any] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> Any:
    """Evaluates `fn` on the Cartesian product of `grid`, in one compiled program.

    The `N = prod_k len(grid[k])` configurations are numbered in C order (the last
    key varies fastest) and evaluated `chunk_size` at a time; each chunk is
    padded to a multiple of the number of devices, split over a 1-D mesh of
    `devices` (`jax.shard_map`), `jax.vmap`-ed on each device, and the
    padding (repeats of the last configuration) is trimmed. The program depends only
    on `fn`, the grid's names, sizes and dtypes, the chunk size and the devices: it
    is traced once and reused for every chunk and for later calls with new values
    of the same shapes. `fn` never stops the sweep: a configuration whose run
    diverges leaves its NaN (or the flag `fn` returns, e.g.
    `Trajectory.diverged_step`) in its cell.

    On several processes (hosts), call `gamedyn.distributed.initialize`
    first and make the same call in every process: `devices` defaults to all
    global devices, each chunk is computed by all of them and gathered
    (`jax.experimental.multihost_utils.process_allgather`), and every process
    receives the whole result and calls `progress`; write files and draw
    progress on one process (`gamedyn.distributed.is_writer`). With
    `devices=jax.local_devices()` each process instead sweeps the grid alone,
    without communicating.

    Args:
      fn: `fn(**point) -> pytree of arrays`, where `point` maps each grid name
        to one value; traceable with JAX (it is vmapped and jit-compiled).
      grid: dict name -> 1-D array of values (numbers or PRNG keys, see
        `sweep_keys`). Names must be arguments of `fn`.
      chunk_size: configurations per compiled call (rounded up to a multiple of the
        number of devices); bounds the memory to one chunk's intermediates. None
        evaluates the whole grid at once.
      devices: the devices to shard the configurations over; default
        `jax.devices()`.
      progress: `progress(done, total)` called after each chunk with the number
        of configurations finished (e.g. to advance a progress bar).

    Returns:
      `fn`'s output pytree with NumPy leaves of shape
      `(len(grid[k1]), len(grid[k2]), ...) + fn's own leaf shape`, keys in the
      dict's order.

    Examples:
      >>> import gamedyn as gd, jax.numpy as jnp
      >>> out = gd.sweep(lambda a, b: a * b, {"a": jnp.arange(3.0), "b": jnp.ones(2)})
      >>> out.shape
      (3, 2)
    """
    values = _check_grid(fn, grid)
    devices = check_devices(devices)
    names = tuple(values)
    sizes = tuple(int(v.shape[0]) for v in values.values())
    total = math.prod(sizes)
    if total >= 2**31:
        raise ValueError(f"grid: expected fewer than 2**31 configurations, got {total}")
    num_dev = len(devices)
    if chunk_size is None:
        chunk = total
    else:
        if (
            isinstance(chunk_size, bool)
            or not isinstance(chunk_size, (int, np.integer))
            or chunk_size < 1
        ):
            raise ValueError(
                f"chunk_size: expected None or an integer >= 1, got {chunk_size!r}"
            )
        chunk = min(int(chunk_size), total)
    per_device = -(-chunk // num_dev)
    chunk = per_device * num_dev
    program, mesh = _program(fn, names, sizes, per_device, devices)
    replicated = NamedSharding(mesh, PartitionSpec())
    args = [_put(v, replicated) for v in values.values()]
    starts = range(0, total, chunk)

    def offset(start: int) -> jax.Array:
        return _put(np.int32(start), replicated, check=False)

    out_shapes = jax.eval_shape(program, offset(0), *args)
    for leaf in jax.tree.leaves(out_shapes):
        if jnp.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            raise ValueError(
                "fn: returned PRNG keys, which a sweep cannot gather; return "
                "jax.random.key_data(key) instead"
            )
    result = jax.tree.map(
        lambda s: np.empty((total,) + s.shape[1:], s.dtype), out_shapes
    )

    def store(start, out):
        n = min(chunk, total - start)
        host = _to_host(out)
        jax.tree.map(
            lambda r, o: r.__setitem__(slice(start, start + n), o[:n]), result, host
        )

    pending = None
    for start in starts:
        out = program(offset(start), *args)  # dispatched asynchronously
        if pending is not None:
            store(*pending)
            if progress is not None:
                progress(min(pending[0] + chunk, total), total)
        pending = (start, out)
    store(*pending)
    if progress is not None:
        progress(total, total)
    return jax.tree.map(lambda r: r.reshape(sizes + r.shape[1:]), result)

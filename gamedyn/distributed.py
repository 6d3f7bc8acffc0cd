"""Several processes, one sweep: JAX's multi-controller runtime for gamedyn.

Every process of a multi-process run executes the same program. It calls
`initialize` once, before any JAX computation, then makes the same
`gamedyn.sweep` calls as every other process: the configurations are sharded
over the devices of all processes and every process receives the whole result.
Files, figures and printed summaries are the business of one process only,
`is_writer`.

The processes find each other through a coordinator (`HOST:PORT` of process 0),
given explicitly or detected by `jax.distributed.initialize` from a cluster
launcher's environment (SLURM's `srun`, Open MPI's `mpirun`, Cloud TPU pods,
Kubernetes); without either, `initialize` does nothing and the run is an
ordinary single-process one. On CPUs, cross-process collectives use gloo
(`jax_cpu_collectives_implementation`).

Work that is not a grid (several seeds of one training run, carried from chunk to
chunk) is split the same way with three helpers: `check_devices` (all global
devices by default), `put` (a host value, the same on every process, laid out
on a mesh without communicating) and `gather` (a result, whole, on every
process); `gamedyn.experiments.mog.run` is built on them.

Example (each of two processes, `--process-id` 0 and 1):

    import gamedyn as gd

    gd.distributed.initialize("10.0.0.1:1234", num_processes=2, process_id=0)
    out = gd.sweep(fn, grid)  # the whole result, on both processes
    if gd.distributed.is_writer():
        np.savez("sweep.npz", **out)
"""

from __future__ import annotations

import re
import socket
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from gamedyn._validate import check_int

_ADDRESS = re.compile(
    r"^(?:\[(?P<ipv6>[0-9A-Fa-f:.]+)\]|(?P<host>[^:\s\[\]]+)):(?P<port>\d+)$"
)


def parse_address(text: Any, name: str = "coordinator") -> tuple[str, int]:
    """`"HOST:PORT"` (`"[IPv6]:PORT"` for IPv6) -> `(host, port)`.

    Args:
      text: the address.
      name: the argument's name in error messages.

    Returns:
      The host (without brackets) and the port, an integer in `[1, 65535]`.

    Raises:
      TypeError: when `text` is not a string.
      ValueError: naming `name` when it is not `HOST:PORT` with a valid port.
    """
    if not isinstance(text, str):
        raise TypeError(
            f"{name}: expected a string HOST:PORT, got {type(text).__name__}"
        )
    m = _ADDRESS.match(text)
    if m is None:
        raise ValueError(
            f"{name}: expected HOST:PORT (e.g. 10.0.0.1:1234 or [::1]:1234), got "
            f"{text!r}"
        )
    port = int(m["port"])
    if not 1 <= port <= 65535:
        raise ValueError(f"{name}: expected a port in [1, 65535], got {port}")
    return m["ipv6"] or m["host"], port


def cluster_environment() -> str | None:
    """The cluster launcher that `jax.distributed.initialize` would detect.

    Asks each of JAX's cluster environments (SLURM, Open MPI, Cloud TPU, Kubernetes;
    not the opt-in `mpi4py` one) whether it is present and reports it only when it
    starts more than one process: a single-task `srun` or a single-host TPU VM
    runs as one ordinary process.

    Returns:
      The environment's name (e.g. `"SlurmCluster"`) or None.
    """
    try:
        from jax._src import clusters

        kinds = list(clusters.ClusterEnv._cluster_types)
    except (ImportError, AttributeError):  # JAX moved its private registry
        return None
    for env in kinds:
        if getattr(env, "opt_in_only_method", False):
            continue
        try:
            if env.is_env_present() and env.get_process_count() > 1:
                return env.__name__
        except Exception:  # noqa: BLE001 - a half-configured environment is absent
            continue
    return None


def initialize(
    coordinator: str | None = None,
    num_processes: int | None = None,
    process_id: int | None = None,
    *,
    timeout: int = 300,
) -> bool:
    """Joins this process to a multi-process JAX run, or does nothing.

    With `coordinator`, `num_processes` and `process_id` (all three), calls
    `jax.distributed.initialize` with them. With none of them, calls it
    without arguments when `cluster_environment` detects a launcher that
    starts several processes (JAX reads the coordinator, count and id from its
    environment), and otherwise does nothing: the run is single-process. When the
    CPU's cross-process collectives are not set
    (`jax_cpu_collectives_implementation`), gloo is chosen, so CPU devices of
    different processes can exchange data. Call it before any JAX computation, in
    every process; once joined, later calls do nothing.

    Args:
      coordinator: `"HOST:PORT"` where process 0 listens (every process passes
        the same address).
      num_processes: the number of processes (integer >= 1).
      process_id: this process's index, in `[0, num_processes)`.
      timeout: seconds to wait for all processes to connect.

    Returns:
      True when this process is part of a `jax.distributed` run, False when
      it runs alone.

    Raises:
      TypeError, ValueError: naming the argument (a partial set of the three, a
        bad address, `process_id >= num_processes`).
      OSError: when process 0 cannot listen on the coordinator's port;
        `TimeoutError` when no process 0 answers at `coordinator` within
        `timeout` (other processes).
      RuntimeError: when JAX has already computed something in this process.
    """
    given = {
        "coordinator": coordinator,
        "num_processes": num_processes,
        "process_id": process_id,
    }
    if any(v is not None for v in given.values()):
        missing = [k for k, v in given.items() if v is None]
        if missing:
            raise ValueError(
                f"{missing[0]}: expected coordinator, num_processes and process_id "
                f"together, got only {[k for k in given if k not in missing]}"
            )
        parse_address(coordinator)
        num_processes = check_int("num_processes", num_processes, 1)
        process_id = check_int("process_id", process_id, 0, num_processes - 1)
    timeout = check_int("timeout", timeout, 1)
    if jax.distributed.is_initialized():
        return True
    if coordinator is None and cluster_environment() is None:
        return False
    if coordinator is not None:
        _preflight(coordinator, process_id, timeout)
    if jax.config.jax_cpu_collectives_implementation is None:
        jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(
        coordinator_address=coordinator,
        num_processes=num_processes,
        process_id=process_id,
        initialization_timeout=timeout,
    )
    return True


def _preflight(coordinator: str, process_id: int, timeout: int) -> None:
    """Fails with a Python error where JAX would abort the process: process 0
    cannot listen on the port, or no process 0 answers within `timeout`."""
    host, port = parse_address(coordinator)
    if process_id == 0:
        try:
            if socket.has_dualstack_ipv6():  # JAX listens on [::]:port
                server = socket.create_server(
                    ("", port), family=socket.AF_INET6, dualstack_ipv6=True
                )
            else:
                server = socket.create_server(("", port))
            server.close()
        except OSError as e:
            raise OSError(
                f"coordinator: process 0 cannot listen on port {port} "
                f"({e.strerror or e})"
            ) from None
        return
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection((host, port), timeout=1.0).close()
            return
        except OSError as e:
            if time.monotonic() >= deadline:
                raise TimeoutError(
                    f"coordinator: no process 0 answered at {coordinator} within "
                    f"{timeout} s ({e.strerror or e})"
                ) from None
            time.sleep(0.1)


def is_initialized() -> bool:
    """Whether this process is part of a `jax.distributed` run."""
    return jax.distributed.is_initialized()


def is_writer() -> bool:
    """Whether this process writes files, figures and summaries: process 0.

    True in a single-process run. Every process computes; one writes. Call it after
    `initialize`: it starts JAX's backend.
    """
    return jax.process_index() == 0


def check_devices(devices: Any = None) -> tuple[jax.Device, ...]:
    """The devices a run is spread over: all of every process's by default.

    Args:
      devices: a sequence of distinct jax devices, one device, or None for
        `jax.devices` (every process's devices once `initialize` has
        joined a run; `jax.local_devices()` keeps a process to its own).

    Returns:
      The devices, as a tuple.

    Raises:
      ValueError: naming `devices` when it is empty, holds something else than
        jax devices, or repeats one.
    """
    if devices is None:
        return tuple(jax.devices())
    if isinstance(devices, jax.Device):
        return (devices,)
    try:
        devices = tuple(devices)
    except TypeError:
        raise ValueError(
            f"devices: expected a sequence of jax devices, got {type(devices).__name__}"
        ) from None
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(
            "devices: expected a non-empty sequence of jax devices (e.g. "
            f"jax.devices()), got {devices!r}"
        )
    if len(set(devices)) != len(devices):
        raise ValueError("devices: expected distinct devices, got repeats")
    return devices


def put(value: Any, sharding: jax.sharding.Sharding) -> jax.Array:
    """A host value laid out by `sharding`, each process placing its own shards.

    Every process of a multi-process run calls it with the same value (seeds, a
    chunk's offset: values computed alike everywhere) and supplies the shards of
    its own devices, without communicating; nothing checks that the values agree
    (`jax.device_put` would, with a collective). On one process it is
    `jax.device_put`. PRNG keys travel as their key data.

    Args:
      value: a NumPy array, scalar or (fully addressable) jax array, or a PRNG key
        array; converted to JAX's dtype (float32 without x64).
      sharding: where the global array lives, e.g. a
        `jax.sharding.NamedSharding` of a mesh over `check_devices`.

    Returns:
      A global `jax.Array` of `value`'s shape.
    """
    if sharding.is_fully_addressable or (
        isinstance(value, jax.Array) and not value.is_fully_addressable
    ):
        return jax.device_put(value, sharding)
    if isinstance(value, jax.Array) and jnp.issubdtype(
        value.dtype, jax.dtypes.prng_key
    ):
        data = put(jax.random.key_data(value), sharding)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(value))
    host = np.asarray(value)
    host = host.astype(jax.dtypes.canonicalize_dtype(host.dtype))
    return jax.make_array_from_callback(host.shape, sharding, lambda i: host[i])


def _identity(tree: Any) -> Any:
    return tree


def gather(tree: Any) -> Any:
    """`tree` with every leaf whole, as NumPy, on this process.

    The leaves spread over the devices of several processes are all-gathered in one
    program (every one re-laid out as replicated, as
    `jax.experimental.multihost_utils.process_allgather` does leaf by leaf):
    a collective, which every process calls with a tree of the same structure and
    shapes; the program is compiled once per structure. A leaf this process holds
    entirely is copied from its devices (never concatenated with other processes'
    copies).

    Args:
      tree: a pytree of `jax.Array` (not PRNG keys: gather their
        `jax.random.key_data`).

    Returns:
      The same pytree with the global NumPy arrays as leaves.

    Raises:
      ValueError: naming `tree` when a leaf is an array of PRNG keys.
    """
    leaves, structure = jax.tree.flatten(tree)
    for leaf in leaves:
        dtype = getattr(leaf, "dtype", None)
        if dtype is not None and jnp.issubdtype(dtype, jax.dtypes.prng_key):
            raise ValueError(
                "tree: expected arrays, got PRNG keys; gather "
                "jax.random.key_data(keys) instead"
            )
    out = [
        leaf
        if not getattr(leaf, "is_fully_addressable", True)
        else np.asarray(jax.device_get(leaf))
        for leaf in leaves
    ]
    spread = [i for i, leaf in enumerate(out) if isinstance(leaf, jax.Array)]
    on_mesh = [
        i for i in spread if isinstance(out[i].sharding, jax.sharding.NamedSharding)
    ]
    if on_mesh:
        replicated = jax.sharding.PartitionSpec()
        whole = [out[i].sharding.update(spec=replicated) for i in on_mesh]
        gathered = jax.jit(_identity, out_shardings=whole)([out[i] for i in on_mesh])
        for i, x in zip(on_mesh, gathered):
            out[i] = np.asarray(x.addressable_data(0))
    for i in spread:  # other shardings: one collective each
        if isinstance(out[i], jax.Array):
            from jax.experimental import multihost_utils

            out[i] = multihost_utils.process_allgather(out[i], tiled=True)
    return jax.tree.unflatten(structure, out)

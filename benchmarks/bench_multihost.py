"""Benchmark of gamedyn.sweep over several processes joined by jax.distributed.

Runs the same Dirac-GAN sweep (simultaneous GD with R1, ``--steps`` steps from
``(1, 1)``, an ``--lr`` x ``--gamma`` grid, chunks of ``--chunk-size``) as 1, 2 and 4
processes on this machine, each with 2 CPU devices (``XLA_FLAGS``), the processes
joined by :func:`gamedyn.distributed.initialize` (gloo collectives), and, as a
baseline, as one process with the same number of devices. Every process reports:

- ``init``: :func:`gamedyn.distributed.initialize` and the backend's start
  (``jax.devices()``, where gloo connects the processes);
- ``cold``: the first ``gd.sweep`` call (tracing, compilation, compute, gathering);
- ``warm``: the best of ``--repeat`` further calls;
- ``compute`` and ``gather``: the warm call taken apart with the engine's own
  pieces: every chunk's program run to completion, then every chunk's result
  gathered to the host (:func:`jax.experimental.multihost_utils.process_allgather`
  across processes).

The slowest process sets each time. The machine's cores are fixed, so the ideal is
flat: ``ratio`` is a run's warm time over the 1-process one. The last lines
extrapolate the compute rate to a pod-scale sweep of ``1e8`` configurations.

Usage: ``python benchmarks/bench_multihost.py [--quick] [--processes 1 2 4]``.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import textwrap
import time

WORKER = textwrap.dedent(
    """
    import json, sys, time

    t0 = time.perf_counter()
    import jax
    import numpy as np
    from jax.experimental import multihost_utils
    from jax.sharding import NamedSharding, PartitionSpec

    import gamedyn as gd
    from gamedyn import distributed, sweeps
    from gamedyn.experiments.dirac_sweep import dirac_run

    opts = json.loads(sys.argv[1])
    t_import = time.perf_counter() - t0
    t0 = time.perf_counter()
    if opts["num_processes"] > 1:
        distributed.initialize(
            opts["coordinator"], opts["num_processes"], opts["process_id"]
        )
    devices = tuple(jax.devices())  # the backend starts: gloo connects here
    t_init = time.perf_counter() - t0

    def barrier(name):
        if jax.process_count() > 1:
            multihost_utils.sync_global_devices(name)

    fn = dirac_run("simultaneous", num_steps=opts["steps"], every=5, start=(1.0, 1.0))
    lr = np.linspace(0.01, 1.0, opts["lr"])
    gamma = np.linspace(0.0, 2.0, opts["gamma"])
    grid = {"lr": lr, "gamma": gamma}
    chunk_size = opts["chunk_size"]

    def timed(name, f):  # (wall, CPU) seconds of f() in this process
        barrier(name)
        t0, c0 = time.perf_counter(), time.process_time()
        value = f()
        return value, time.perf_counter() - t0, time.process_time() - c0

    out, t_cold, _ = timed("cold", lambda: gd.sweep(fn, grid, chunk_size=chunk_size))
    warm = []
    for i in range(opts["repeat"]):
        out, *times = timed(
            f"warm{i}", lambda: gd.sweep(fn, grid, chunk_size=chunk_size)
        )
        warm.append(times)

    # the warm call taken apart: gd.sweep's chunk loop, then its gathers
    total = lr.size * gamma.size
    per_device = -(-min(chunk_size, total) // len(devices))
    chunk = per_device * len(devices)
    program, mesh = sweeps._program(
        fn, ("lr", "gamma"), (lr.size, gamma.size), per_device, devices
    )
    rep = NamedSharding(mesh, PartitionSpec())
    args = [sweeps._put(v, rep) for v in (lr, gamma)]
    offsets = [sweeps._put(np.int32(s), rep, False) for s in range(0, total, chunk)]
    compute, gather = [], []
    for i in range(opts["repeat"]):
        outs, *times = timed(
            f"compute{i}",
            lambda: jax.block_until_ready([program(o, *args) for o in offsets]),
        )
        compute.append(times)
        _, *times = timed(f"gather{i}", lambda: [sweeps._to_host(o) for o in outs])
        gather.append(times)
    nbytes = sum(x.nbytes for x in jax.tree.leaves(out))
    print("RESULT " + json.dumps({
        "process": jax.process_index(),
        "devices": len(devices),
        "configs": total,
        "result_bytes": nbytes,
        "import": t_import,
        "init": t_init,
        "cold": t_cold,
        "warm": min(warm)[0],
        "compute": min(compute)[0],
        "gather": min(gather)[0],
        "warm_cpu": min(warm)[1],
        "compute_cpu": min(compute)[1],
        "gather_cpu": min(gather)[1],
        "converged": int(np.sum(out["outcome"] == 0)),
    }), flush=True)
    """
)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("localhost", 0))
        return s.getsockname()[1]


def launch(num_processes: int, devices: int, opts: dict, timeout: float) -> dict:
    """Runs the worker as ``num_processes`` processes of ``devices`` devices each.

    Returns:
      Each time of the slowest process, and the process count and devices.
    """
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLURM_", "OMPI_", "JAX_", "TPU_")) and k != "XLA_FLAGS"
    }
    env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
    env["JAX_PLATFORMS"] = "cpu"
    coordinator = f"localhost:{free_port()}"
    procs = []
    with tempfile.TemporaryDirectory() as tmp:
        try:
            for i in range(num_processes):
                mine = dict(
                    opts,
                    coordinator=coordinator,
                    num_processes=num_processes,
                    process_id=i,
                )
                log = open(os.path.join(tmp, f"{i}.log"), "w+")  # noqa: SIM115
                procs.append(
                    (
                        subprocess.Popen(
                            [sys.executable, "-c", WORKER, json.dumps(mine)],
                            env=env,
                            stdout=log,
                            stderr=subprocess.STDOUT,
                        ),
                        log,
                    )
                )
            t0, results = time.perf_counter(), []
            for proc, log in procs:
                proc.wait(timeout=max(1.0, timeout - (time.perf_counter() - t0)))
                log.seek(0)
                text = log.read()
                lines = [x for x in text.splitlines() if x.startswith("RESULT ")]
                if proc.returncode != 0 or not lines:
                    raise RuntimeError(f"worker failed:\n{text[-3000:]}")
                results.append(json.loads(lines[-1][len("RESULT ") :]))
        finally:
            for proc, log in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
                log.close()
    keys = ("import", "init", "cold", "warm", "compute", "gather")
    row = {k: max(r[k] for r in results) for k in keys}
    for k in ("warm_cpu", "compute_cpu", "gather_cpu"):  # CPU of all processes
        row[k] = sum(r[k] for r in results)
    converged = {r["converged"] for r in results}
    if len(converged) != 1:
        raise RuntimeError(f"the processes disagree on the result: {converged}")
    row.update(
        processes=num_processes,
        devices=results[0]["devices"],
        configs=results[0]["configs"],
        result_bytes=results[0]["result_bytes"],
        converged=converged.pop(),
    )
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="a 256 x 256 grid")
    parser.add_argument("--lr", type=int, default=1024, help="learning rates")
    parser.add_argument("--gamma", type=int, default=1024, help="gammas")
    parser.add_argument("--steps", type=int, default=500, help="steps per run")
    parser.add_argument("--chunk-size", type=int, default=65536)
    parser.add_argument("--repeat", type=int, default=2, help="warm calls")
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--timeout", type=float, default=1200)
    parser.add_argument("--json", help="also write the rows to this file")
    args = parser.parse_args()
    if args.quick:
        args.lr = args.gamma = 256
    opts = {
        "lr": args.lr,
        "gamma": args.gamma,
        "steps": args.steps,
        "chunk_size": args.chunk_size,
        "repeat": args.repeat,
    }
    print(
        f"Dirac-GAN sweep: {args.lr} x {args.gamma} = {args.lr * args.gamma} configs "
        f"x {args.steps} steps, chunks of {args.chunk_size}, on {os.cpu_count()} "
        "CPU cores"
    )
    rows = []
    for p in args.processes:
        how = "jax.distributed" if p > 1 else "one process"
        rows.append(dict(launch(p, 2, opts, args.timeout), how=how))
        if p > 1:  # the same devices in one process: no processes, no gathering
            rows.append(dict(launch(1, 2 * p, opts, args.timeout), how="one process"))
    base = next(r for r in rows if r["processes"] == 1 and r["devices"] == 2)
    print(
        "wall-clock seconds of the slowest process; cpu: CPU seconds of all "
        "processes; ratio: over the 1-process run (ideal 1)"
    )
    head = (
        f"{'procs':>5} {'devs':>4} {'how':>15} {'init':>5} {'cold':>6} {'warm':>6} "
        f"{'compute':>7} {'gather':>6} {'ratio':>5} {'cpu warm':>8} "
        f"{'cpu compute':>11} {'cpu gather':>10} {'ratio':>5}"
    )
    print(head)
    for r in rows:
        r["configs_per_s"] = r["configs"] / r["warm"]
        r["ratio"] = r["warm"] / base["warm"]
        r["cpu_ratio"] = r["warm_cpu"] / base["warm_cpu"]
        print(
            f"{r['processes']:>5} {r['devices']:>4} {r['how']:>15} {r['init']:>5.2f} "
            f"{r['cold']:>6.2f} {r['warm']:>6.2f} {r['compute']:>7.2f} "
            f"{r['gather']:>6.3f} {r['ratio']:>5.2f} {r['warm_cpu']:>8.2f} "
            f"{r['compute_cpu']:>11.2f} {r['gather_cpu']:>10.3f} "
            f"{r['cpu_ratio']:>5.2f}"
        )
    # configurations per CPU-second of compute: robust to other load on the machine
    rate = base["configs"] / base["compute_cpu"]
    per_config = base["result_bytes"] / base["configs"]
    big = 1e8
    print(
        f"\nextrapolation to {big:.0e} configurations x {args.steps} steps: "
        f"{rate:.0f} configs per CPU-second of compute, so {big / rate:.0f} "
        f"CPU-seconds ({big / rate / 3600:.2f} core-hours, {big / rate / 256:.1f} s "
        f"on 256 cores); the result is {big * per_config / 1e9:.1f} GB "
        f"({per_config:.0f} bytes per configuration), which every process receives"
    )
    for r in rows:
        if r["processes"] > 1:
            print(
                f"gathering with {r['processes']} processes: "
                f"{r['result_bytes'] / r['gather'] / 1e6:.0f} MB/s of results here "
                f"({r['gather'] / r['warm']:.0%} of the warm call)"
            )
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"options": opts, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()

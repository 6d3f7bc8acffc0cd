"""Benchmark of gamedyn.sweep on Dirac-GAN phase diagrams.

Measures, in one run:

1. a 64 x 64 = 4096-configuration (lr x gamma) Dirac-GAN sweep (simultaneous GD with
   R1, 500 steps each) with :func:`gamedyn.sweep`, warm, against a warm sequential
   loop of jitted single runs of the same function (target: >= 50x) and against a
   NumPy loop (the reference implementation style of Mescheder et al.);
2. the peak memory of a 1e6-configuration sweep with chunking (each size in a fresh
   subprocess: peak RSS above the process's RSS before the sweep), against a sweep
   ten times smaller: bounded memory means the peak does not grow with the grid
   beyond the result itself;
3. scaling with the number of devices, forced on the CPU with
   ``XLA_FLAGS=--xla_force_host_platform_device_count=D`` (subprocesses).

Usage: ``python benchmarks/bench_sweep.py [--quick]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time

import numpy as np


def _best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def numpy_run(lr: float, gamma: float, steps: int, every: int) -> np.ndarray:
    """One Dirac-GAN run with simultaneous GD and R1, in NumPy: the distances.

    ``xi = (f'(psi theta) psi, -f'(psi theta) theta + gamma psi)``, ``f'(t) =
    sigmoid(-t)`` for the standard loss ``f(t) = -log(1 + e^-t)``.
    """
    w = np.array([1.0, 1.0])
    out = [np.linalg.norm(w)]
    for t in range(1, steps + 1):
        theta, psi = w
        fp = 1.0 / (1.0 + np.exp(psi * theta))
        xi = np.array([fp * psi, -fp * theta + gamma * psi])
        w = w - lr * xi
        if t % every == 0:
            out.append(np.linalg.norm(w))
    return np.asarray(out)


def speed(steps: int, num_seq: int, num_np: int) -> None:
    import jax

    import gamedyn as gd
    from gamedyn.experiments.dirac_sweep import dirac_run

    every = 5
    fn = dirac_run("simultaneous", num_steps=steps, every=every)
    lr, gamma = np.linspace(0.01, 1.0, 64), np.linspace(0.0, 2.0, 64)
    grid = {"lr": lr, "gamma": gamma}
    n = lr.size * gamma.size

    t0 = time.perf_counter()
    out = gd.sweep(fn, grid)
    cold = time.perf_counter() - t0
    warm = _best(lambda: gd.sweep(fn, grid), 5)

    points = [(a, b) for a in lr for b in gamma]
    single = jax.jit(fn)
    jax.block_until_ready(single(lr[0], gamma[0]))  # compile once: a warm loop

    def loop():
        for a, b in points[:num_seq]:
            jax.block_until_ready(single(a, b))

    seq = _best(loop, 2) * n / num_seq

    idx = np.linspace(0, n - 1, num_np).astype(int)
    t0 = time.perf_counter()
    with np.errstate(over="ignore", invalid="ignore"):
        dists = [numpy_run(*points[i], steps, every) for i in idx]
    np_time = (time.perf_counter() - t0) * n / num_np
    ref = np.array([d[-1] for d in dists])
    got = out["distance"].reshape(-1)[idx]
    # Compare the runs that converge (diverging ones amplify round-off).
    ok = out["outcome"].reshape(-1)[idx] == 0
    err = np.max(np.abs(ref[ok] - got[ok]))

    def note(k):
        return "" if k == n else f" (timed on {k}, scaled to {n})"

    print(f"== {n} Dirac-GAN configurations x {steps} steps, 1 {jax.devices()[0]} ==")
    print(f"gd.sweep, cold (incl. compile) : {cold:9.3f} s")
    print(
        f"gd.sweep, warm                 : {warm:9.4f} s   {n / warm:12.0f} configs/s"
    )
    print(
        f"warm loop of jitted runs       : {seq:9.3f} s   ratio {seq / warm:7.1f}x "
        f"(target >= 50x){note(num_seq)}"
    )
    print(
        f"NumPy loop                     : {np_time:9.3f} s   ratio "
        f"{np_time / warm:7.1f}x{note(num_np)}"
    )
    print(
        f"NumPy vs sweep final distance  : max abs. diff {err:.1e} over {ok.sum()} "
        "converging runs (float32 sweep)"
    )


_MEMORY = """
import json, resource, sys, time
import numpy as np, psutil
import gamedyn as gd
from gamedyn.experiments.dirac_sweep import dirac_run
side, chunk, steps = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
chunk = None if chunk == 0 else chunk
fn = dirac_run("simultaneous", num_steps=steps, every=5)
gd.sweep(fn, {"lr": np.linspace(0.01, 1, 4), "gamma": np.linspace(0, 2, 4)})
base = psutil.Process().memory_info().rss
grid = {"lr": np.linspace(0.01, 1, side), "gamma": np.linspace(0, 2, side)}
t0 = time.perf_counter()
out = gd.sweep(fn, grid, chunk_size=chunk)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
result = sum(v.nbytes for v in out.values())
print(json.dumps({"peak": peak - base, "result": result, "time": elapsed}))
"""


def _subprocess(code: str, args: list[str], devices: int | None = None) -> dict:
    env = dict(os.environ)
    if devices is not None:
        env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        env["JAX_PLATFORMS"] = "cpu"
    proc = subprocess.run(
        [sys.executable, "-c", code, *args], env=env, capture_output=True, text=True
    )
    if proc.returncode:
        raise RuntimeError(proc.stderr[-2000:])
    return json.loads(proc.stdout.strip().splitlines()[-1])


def memory(sides: list[int], chunk: int, steps: int) -> None:
    print(f"\n== peak memory of chunked sweeps, {steps} steps (fresh processes) ==")
    print(
        f"{'configs':>10} {'chunk':>8} {'peak RSS above start':>22} {'result':>10} "
        f"{'time':>8}"
    )
    rows = [(side, c) for side in sides for c in (0, chunk)]
    for side, c in rows:
        r = _subprocess(_MEMORY, [str(side), str(c), str(steps)])
        print(
            f"{side * side:>10} {c or 'none':>8} {r['peak'] / 2**20:>19.1f} MB "
            f"{r['result'] / 2**20:>7.1f} MB {r['time']:>7.2f}s"
        )


_SCALING = """
import json, sys, time
import jax, numpy as np
import gamedyn as gd
from gamedyn.experiments.dirac_sweep import dirac_run
side, steps = int(sys.argv[1]), int(sys.argv[2])
fn = dirac_run("simultaneous", num_steps=steps, every=5)
grid = {"lr": np.linspace(0.01, 1, side), "gamma": np.linspace(0, 2, side)}
gd.sweep(fn, grid)
times = []
for _ in range(3):
    t0 = time.perf_counter()
    gd.sweep(fn, grid)
    times.append(time.perf_counter() - t0)
print(json.dumps({"devices": len(jax.devices()), "time": min(times)}))
"""


def scaling(side: int, steps: int, counts: list[int]) -> None:
    print(
        f"\n== scaling with forced CPU devices: {side * side} configs x {steps} steps"
        f" on {os.cpu_count()} cores =="
    )
    base = None
    for d in counts:
        r = _subprocess(_SCALING, [str(side), str(steps)], devices=d)
        base = base or r["time"]
        print(
            f"{r['devices']} device(s): {r['time']:8.4f} s   speed-up "
            f"{base / r['time']:5.2f}x"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a small, fast run")
    args = parser.parse_args()
    if args.quick:
        speed(steps=500, num_seq=512, num_np=32)
        memory([100, 316], chunk=8192, steps=100)
        scaling(side=64, steps=200, counts=[1, 2, 4])
    else:
        speed(steps=500, num_seq=4096, num_np=256)
        memory([316, 1000], chunk=16384, steps=500)
        scaling(side=128, steps=500, counts=[1, 2, 4])


if __name__ == "__main__":
    main()

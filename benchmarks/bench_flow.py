"""gamedyn.flows.flow (diffrax) against a fixed-step RK4 scan and SciPy's solve_ivp.

The same problem for all: the gradient flow dw/dt = -xi(w) of the unregularized
Dirac-GAN (Mescheder et al. 2018) from (1, 1) to time T, in float64, on CPU. Measured
side by side in one run:

  1. one run: gd.flow (Tsit5, PID controller, rtol/atol), a jitted lax.scan of
     classical RK4 with a fixed step (by default the fewest steps of a grid that
     reach gd.flow's error on this run), solve_ivp (RK45 with the same tolerances, a
     NumPy right-hand side written by hand);
  2. a batch of runs from different starts: gd.flow and RK4 under jax.vmap (one
     compiled program), solve_ivp once per start in a Python loop, and solve_ivp on
     the stacked system (one shared step size for the whole batch).

Times are warm (compilation excluded, reported apart), medians over repeats; the
error is the max distance of w(T) to a DOP853 solution with rtol = atol = 1e-13.

Usage: python benchmarks/bench_flow.py [--batch 1024] [--T 20] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import jax

jax.config.update("jax_enable_x64", True)

import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from scipy.integrate import solve_ivp  # noqa: E402

import gamedyn as gd  # noqa: E402
from gamedyn.flows import flow  # noqa: E402


def dirac_rhs(t, w):
    """-xi of the standard Dirac-GAN by hand: xi = (f'(pt) p, -f'(pt) t),
    f'(s) = 1 / (1 + e^s); ``w`` is (2,) or the stacked (2 B,) system."""
    theta, psi = w[0::2], w[1::2]
    a = 1.0 / (1.0 + np.exp(psi * theta))
    out = np.empty_like(w)
    out[0::2], out[1::2] = -a * psi, a * theta
    return out


def rk4(field, params, t1, num_steps):
    """Classical fixed-step RK4 on dw/dt = -field(w) in one lax.scan."""
    dt = t1 / num_steps

    def f(w):
        return jax.tree.map(jnp.negative, field(w))

    def axpy(a, x, y):
        return jax.tree.map(lambda u, v: u + a * v, y, x)

    def step(w, _):
        k1 = f(w)
        k2 = f(axpy(dt / 2, k1, w))
        k3 = f(axpy(dt / 2, k2, w))
        k4 = f(axpy(dt, k3, w))
        inc = jax.tree.map(
            lambda a, b, c, d: (a + 2 * b + 2 * c + d) / 6, k1, k2, k3, k4
        )
        return axpy(dt, inc, w), None

    return jax.lax.scan(step, params, length=num_steps)[0]


def timed(fn, *args, repeats):
    t = time.perf_counter()
    jax.block_until_ready(fn(*args))
    first = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    warm = float(np.median(times))
    return warm, first - warm


def reference(starts, t1):
    return np.stack(
        [
            solve_ivp(dirac_rhs, (0, t1), s, method="DOP853", rtol=1e-13, atol=1e-13).y[
                :, -1
            ]
            for s in starts
        ]
    )


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=1024)
    parser.add_argument("--T", type=float, default=20.0)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--rtol", type=float, default=1e-6)
    parser.add_argument("--atol", type=float, default=1e-9)
    parser.add_argument(
        "--rk4-steps",
        type=int,
        default=None,
        help="RK4 steps (default: the fewest of a grid matching gd.flow's error)",
    )
    args = parser.parse_args()
    t1, tol = args.T, {"rtol": args.rtol, "atol": args.atol}

    game = gd.games.dirac_gan()
    xi = gd.vector_field(game)
    w0 = np.array([1.0, 1.0])
    assert np.allclose(
        -np.asarray(xi((jnp.asarray(0.3), jnp.asarray(-0.7)))),
        dirac_rhs(0.0, np.array([0.3, -0.7])),
    )
    starts = np.random.default_rng(0).uniform(-2, 2, (args.batch, 2))
    starts[0] = w0

    def by_flow(p):
        return flow(game, p, t1, saveat=None, **tol).final

    ref = reference(starts, t1)
    p0 = (jnp.asarray(w0[0]), jnp.asarray(w0[1]))
    batch = (jnp.asarray(starts[:, 0]), jnp.asarray(starts[:, 1]))
    # a separate jit for the check, so that the timing below sees the compilation
    flow_end = np.array(jax.jit(lambda p: by_flow(p))(p0))
    flow_err = float(np.max(np.abs(flow_end - ref[0])))
    num_rk4 = args.rk4_steps
    if num_rk4 is None:  # equal accuracy on the single run
        for num_rk4 in (25, 50, 75, 100, 150, 200, 300, 400, 600, 800, 1600):
            end = np.array(jax.jit(lambda p, n=num_rk4: rk4(xi, p, t1, n))(p0))
            if np.max(np.abs(end - ref[0])) <= flow_err:
                break

    def by_rk4(p):
        return rk4(xi, p, t1, num_rk4)

    one_flow, one_rk4 = jax.jit(by_flow), jax.jit(by_rk4)
    many_flow, many_rk4 = jax.jit(jax.vmap(by_flow)), jax.jit(jax.vmap(by_rk4))

    def scipy_one(s):
        return solve_ivp(dirac_rhs, (0, t1), s, method="RK45", **tol).y[:, -1]

    def scipy_loop(ss):
        return np.stack([scipy_one(s) for s in ss])

    def scipy_stacked(ss):
        out = solve_ivp(dirac_rhs, (0, t1), ss.ravel(), method="RK45", **tol)
        return out.y[:, -1].reshape(-1, 2)

    rows = []

    def add(name, fn, arg, ref_rows, repeats=args.repeats):
        warm, compile_s = timed(fn, arg, repeats=repeats)
        out = fn(arg)
        if isinstance(out, tuple):
            out = np.stack([np.asarray(o) for o in out], axis=-1)
        err = float(np.max(np.abs(np.reshape(out, (-1, 2)) - ref_rows)))
        rows.append((name, warm, compile_s, err))
        return warm

    single = {
        "gd.flow (diffrax Tsit5)": add(
            "gd.flow (diffrax Tsit5)", one_flow, p0, ref[:1]
        ),
        "RK4 lax.scan": add(f"RK4 lax.scan ({num_rk4} steps)", one_rk4, p0, ref[:1]),
        "solve_ivp RK45": add("solve_ivp RK45", scipy_one, w0, ref[:1]),
    }
    b = args.batch
    batched = {
        "gd.flow (diffrax Tsit5)": add(f"vmap gd.flow x{b}", many_flow, batch, ref),
        "RK4 lax.scan": add(f"vmap RK4 x{b}", many_rk4, batch, ref),
        "solve_ivp RK45": add(
            f"solve_ivp loop x{b}", scipy_loop, starts, ref, repeats=1
        ),
        "solve_ivp stacked": add(
            f"solve_ivp stacked x{b}", scipy_stacked, starts, ref, repeats=1
        ),
    }
    steps = int(flow(game, p0, t1, saveat=None, **tol).num_steps)

    print(
        f"machine: {platform.processor() or platform.machine()}, "
        f"{os.cpu_count()} CPUs visible, jax {jax.__version__} on "
        f"{jax.devices()[0].platform}, float64"
    )
    print(
        f"Dirac-GAN gradient flow from (1, 1) to T = {t1:g}; rtol {args.rtol:g}, "
        f"atol {args.atol:g}; Tsit5 took {steps} steps, RK4 {num_rk4}"
    )
    print(f"{'method':32s} {'warm s':>10s} {'compile s':>10s} {'max err':>10s}")
    for name, warm, compile_s, err in rows:
        jit = "n/a" if "solve_ivp" in name else f"{compile_s:.3f}"
        print(f"{name:32s} {warm:10.5f} {jit:>10s} {err:10.2e}")
    f1, fb = single["gd.flow (diffrax Tsit5)"], batched["gd.flow (diffrax Tsit5)"]
    print("ratios (time of the other / time of gd.flow; > 1: gd.flow is faster)")
    print(
        f"  single run : RK4 scan {single['RK4 lax.scan'] / f1:7.2f}   "
        f"solve_ivp {single['solve_ivp RK45'] / f1:7.2f}"
    )
    print(
        f"  {b} runs  : RK4 scan {batched['RK4 lax.scan'] / fb:7.2f}   "
        f"solve_ivp loop {batched['solve_ivp RK45'] / fb:7.2f}   "
        f"solve_ivp stacked {batched['solve_ivp stacked'] / fb:7.2f}"
    )


if __name__ == "__main__":
    main()

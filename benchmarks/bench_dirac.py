"""Dirac-GAN simulation speed: gamedyn against a plain NumPy loop.

Measures, side by side in one run:
  1. one long run of simultaneous GD (steps per second), gamedyn's jitted
     ``simulate`` against the NumPy loop of the reference code (Mescheder et al.'s
     ``diracgan/simulate.py``: arrays of shape (1,), one Python iteration per step);
  2. a vmapped batch of 1024 runs (run-steps per second) against the same NumPy loop
     vectorised over the batch.
Targets on 2 CPU cores: single run >= 100x the NumPy loop; batch >= 1e9 run-steps/s.

Usage: python benchmarks/bench_dirac.py [--quick]
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gamedyn as gd

H = 0.01


def best_time(fn, repeats: int) -> float:
    fn()  # warm-up: compilation
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def numpy_loop(theta: np.ndarray, psi: np.ndarray, steps: int):
    """The reference update: theta += h v1, psi += h v2 with the GAN vector field."""
    for _ in range(steps):
        fp = 1.0 / (1.0 + np.exp(psi * theta))  # f'(psi theta) = sigmoid(-psi theta)
        v1, v2 = -psi * fp, theta * fp
        theta, psi = theta + H * v1, psi + H * v2
    return theta, psi


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer steps")
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args()
    steps = 200_000 if args.quick else 2_000_000
    batch_steps = 5_000 if args.quick else 50_000
    np_steps = 20_000 if args.quick else 100_000
    repeats = 3

    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(H))
    p0 = game.init(None)

    print(f"devices: {jax.devices()}")
    t_single = best_time(
        lambda: jax.block_until_ready(gd.simulate(dyn, p0, steps, every=steps).final),
        repeats,
    )
    t_np = best_time(lambda: numpy_loop(np.ones(1), np.ones(1), np_steps), 1)
    single, ref = steps / t_single, np_steps / t_np
    print(
        f"single run : gamedyn {single:10.3g} steps/s | NumPy loop {ref:10.3g} "
        f"steps/s | ratio {single / ref:7.1f}x (target >= 100x)"
    )

    b = args.batch
    run = jax.jit(
        jax.vmap(
            lambda th, ps: (
                gd.simulate(dyn, (th, ps), batch_steps, every=batch_steps).final
            )
        )
    )
    start = (jnp.ones(b), jnp.ones(b))
    t_batch = best_time(lambda: jax.block_until_ready(run(*start)), repeats)
    nb_steps = max(np_steps // 20, 500)
    t_npb = best_time(lambda: numpy_loop(np.ones(b), np.ones(b), nb_steps), 1)
    batch, ref_b = b * batch_steps / t_batch, b * nb_steps / t_npb
    print(
        f"batch {b:5d}: gamedyn {batch:10.3g} run-steps/s | NumPy vectorised "
        f"{ref_b:10.3g} run-steps/s | ratio {batch / ref_b:7.1f}x "
        f"(target >= 1e9 run-steps/s: {'met' if batch >= 1e9 else 'NOT met'})"
    )

    # The ceiling: a hand-written jitted scan of the closed-form update, no gamedyn.
    def hand_step(carry, _):
        th, ps = carry
        fp = jax.nn.sigmoid(-ps * th)
        return (th - H * ps * fp, ps + H * th * fp), None

    hand = jax.jit(
        jax.vmap(
            lambda th, ps: jax.lax.scan(hand_step, (th, ps), length=batch_steps)[0]
        )
    )
    t_hand = best_time(lambda: jax.block_until_ready(hand(*start)), repeats)
    ceiling = b * batch_steps / t_hand
    print(
        f"batch {b:5d}: hand-written jitted closed-form scan {ceiling:10.3g} "
        f"run-steps/s | gamedyn at {batch / ceiling:5.0%} of it"
    )

    # Check that both compute the same trajectory.
    ours = gd.simulate(dyn, p0, 1000, every=1000).final
    theirs = numpy_loop(np.ones(1), np.ones(1), 1000)
    err = max(abs(float(ours[0]) - theirs[0][0]), abs(float(ours[1]) - theirs[1][0]))
    print(f"max |gamedyn - NumPy| after 1000 steps: {err:.2e}")


if __name__ == "__main__":
    main()

"""Matrix-free spectra of MLP GANs: top-k eigenvalues of the game Jacobian.

Measures, side by side in one run:
  1. the cost of one Jacobian-vector product of the vector field (forward over
     reverse) relative to one evaluation of the vector field (one gradient per
     player); target <= 3x;
  2. top-k eigenvalues (ARPACK over JVPs) of a >= 1M-parameter MLP GAN: wall time,
     number of JVPs, peak resident memory against the dense matrix it avoids;
  3. dense (jacfwd + LAPACK eig) against matrix-free top-k on growing GANs: the size
     where matrix-free overtakes dense.

Usage: python benchmarks/bench_spectrum.py [--quick] [--k 20] [--tol 1e-3]
"""

from __future__ import annotations

import argparse
import resource
import time

import jax
import jax.numpy as jnp
import numpy as np
from scipy.sparse.linalg import LinearOperator, eigs

import gamedyn as gd
from gamedyn.analysis._jacobian import flat_vector_field


def mlp(params, x):
    for w, b in params[:-1]:
        x = jax.nn.relu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def init_mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (i, o)) * np.sqrt(2.0 / i), jnp.zeros((o,)))
        for k, i, o in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def ring(key, n):
    """Ring of 8 Gaussians (Metz et al. 2017)."""
    kc, kn = jax.random.split(key)
    angle = 2 * jnp.pi * jax.random.randint(kc, (n,), 0, 8) / 8
    centres = 2.0 * jnp.stack([jnp.cos(angle), jnp.sin(angle)], axis=1)
    return centres + 0.02 * jax.random.normal(kn, (n, 2))


def mlp_gan(width: int, depth: int = 3, batch_size: int = 256):
    hidden = [width] * depth

    def init(key):
        kg, kd = jax.random.split(key)
        return init_mlp(kg, [2, *hidden, 2]), init_mlp(kd, [2, *hidden, 1])

    return gd.games.gan(
        init,
        generator=mlp,
        discriminator=lambda p, x: mlp(p, x)[:, 0],
        sample_data=ring,
        sample_noise=lambda k, n: jax.random.normal(k, (n, 2)),
        batch_size=batch_size,
    )


def timeit(fn, *args, repeats=5):
    jax.block_until_ready(fn(*args))  # compile
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        jax.block_until_ready(fn(*args))
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def counting(op: LinearOperator):
    count = [0]

    def mv(v):
        count[0] += 1
        return op.matvec(v)

    return LinearOperator(op.shape, matvec=mv, dtype=op.dtype), count


def matrix_free(game, params, key, k, tol, which="LM"):
    """Top-k by ARPACK over JVPs: ``(eigenvalues, cold s, warm s, JVPs)``."""
    t = time.perf_counter()
    op, count = counting(gd.analysis.jacobian_operator(game, params, key=key))
    n = op.shape[0]
    v0 = np.random.default_rng(0).standard_normal(n)
    op.matvec(v0)  # compile the JVP
    t_compile = time.perf_counter() - t
    count[0] = 0
    t = time.perf_counter()
    lam = eigs(
        op,
        k=k,
        which=which,
        tol=tol,
        ncv=min(n, 2 * k + 1),
        v0=v0,
        return_eigenvectors=False,
    )
    warm = time.perf_counter() - t
    return lam, t_compile + warm, warm, count[0]


def dense(game, params, key):
    """jacfwd + LAPACK eig: ``(eigenvalues, cold s, warm s)``."""
    field, w0, _ = flat_vector_field(game, params, key)
    jac = jax.jit(jax.jacfwd(field))
    times = []
    for _ in range(2):
        t = time.perf_counter()
        lam = np.linalg.eigvals(np.asarray(jac(w0)))
        times.append(time.perf_counter() - t)
    return lam, times[0], times[1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--k", type=int, default=20, help="eigenvalues wanted")
    parser.add_argument("--tol", type=float, default=1e-3, help="ARPACK tolerance")
    parser.add_argument(
        "--width",
        type=int,
        default=None,
        help="hidden width of the big GAN (default 512; quick 128)",
    )
    args = parser.parse_args()
    if args.k < 1:
        parser.error("--k: expected a positive integer")
    if args.tol < 0:
        parser.error("--tol: expected a non-negative number")
    width = args.width or (128 if args.quick else 512)
    key = jax.random.key(0)
    print(f"devices: {jax.devices()}")

    # 1-2: the big GAN.
    game = mlp_gan(width)
    params = game.init(jax.random.key(1))
    field, w0, _ = flat_vector_field(game, params, key)
    n = w0.size
    grad = jax.jit(field)
    jvp = jax.jit(lambda v: jax.jvp(field, (w0,), (v,))[1])
    v = jax.random.normal(jax.random.key(2), (n,))
    t_grad, t_jvp = timeit(grad, w0), timeit(jvp, v)
    print(f"\nMLP GAN, width {width}, depth 3, batch 256: n = {n:,} parameters")
    print(f"  one vector field (all players' gradients): {1e3 * t_grad:8.2f} ms")
    print(f"  one Jacobian-vector product:               {1e3 * t_jvp:8.2f} ms")
    print(
        f"  JVP / gradient:                            {t_jvp / t_grad:8.2f} x"
        "  (target <= 3)"
    )
    rss0 = rss_mb()
    lam, cold, wall, nmv = matrix_free(game, params, key, args.k, args.tol)
    rss1 = rss_mb()
    lam = lam[np.argsort(-np.abs(lam))]
    print(
        f"  top-{args.k} (LM, tol {args.tol:g}): {wall:.1f} s ({cold:.1f} s with "
        f"compilation), {nmv} JVPs ({wall / max(nmv, 1) * 1e3:.1f} ms each incl. "
        "ARPACK)"
    )
    print(
        f"  peak RSS: {rss0:.0f} MB before, {rss1:.0f} MB after "
        f"(Arnoldi basis {(2 * args.k + 1) * n * 8 / 2**20:.0f} MB; the dense "
        f"Jacobian would need {n * n * 4 / 2**30:,.0f} GiB)"
    )
    print(f"  |lambda| top 5: {np.round(np.abs(lam[:5]), 4)}")
    print(
        f"  largest |Im|: {np.max(np.abs(lam.imag)):.4g}; "
        f"min Re among them: {np.min(lam.real):.4g}"
    )

    # 3: crossover.
    widths = [4, 8, 16, 24, 32] if args.quick else [4, 8, 16, 24, 32, 48]
    print(
        f"\ndense (jacfwd + eig) vs matrix-free top-{args.k} (tol {args.tol:g}), "
        "seconds, depth 2, batch 64; cold = with compilation, err = distance to "
        "the nearest dense eigenvalue / max |lambda|:"
    )
    print(
        f"  {'n':>7} {'dense':>8} {'(cold)':>8} {'free':>8} {'(cold)':>8} "
        f"{'JVPs':>6} {'err':>9}"
    )
    crossover = None
    for w in widths:
        g = mlp_gan(w, depth=2, batch_size=64)
        p = g.init(jax.random.key(1))
        n = sum(x.size for x in jax.tree.leaves(p))
        if args.k >= n - 1:
            continue
        lam_d, c_d, t_d = dense(g, p, key)
        lam_f, c_f, t_f, nmv = matrix_free(g, p, key, args.k, args.tol)
        err = max(np.min(np.abs(lam_d - x)) for x in lam_f) / np.max(np.abs(lam_d))
        print(
            f"  {n:7d} {t_d:8.2f} {c_d:8.2f} {t_f:8.2f} {c_f:8.2f} {nmv:6d} {err:9.1e}"
        )
        if crossover is None and t_f < t_d:
            crossover = n
    print(
        f"  matrix-free (warm) overtakes dense (warm) at n ~ {crossover:,}"
        if crossover
        else "  matrix-free did not overtake dense in this range"
    )


if __name__ == "__main__":
    main()

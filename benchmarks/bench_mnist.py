"""MNIST GAN benchmark: training speed, and FID after a fixed budget per update rule.

1. Steps per second of the same MLP GAN (latent 64 -> 256 -> 256 -> 784, and
   784 -> 256 -> 256 -> 1; batch 64; Adam 2e-4, b1 0.5; non-saturating loss;
   simultaneous updates) trained three ways on the same CPU:
   gamedyn (``mnist_gan`` + ``dynamics.simultaneous`` + ``train.run_steps``), a
   hand-written minimal JAX loop (raw ``jnp`` MLPs, ``optax.adam``, one
   ``lax.scan``), and a PyTorch eager loop (optional: ``pip install torch``; best of
   1 and 2 threads). Compilation is excluded; data sampling is included everywhere.
   The two JAX loops are timed with JAX's default PRNG (threefry) and again with
   ``jax_default_prng_impl="unsafe_rbg"``: on XLA:CPU threefry's split / fold_in /
   bits are rolled ``while`` loops, which cost about a quarter of this small step.
2. FID (MNIST-classifier features, :mod:`gamedyn.metrics.classifier`) after the
   same number of steps for simultaneous / alternating Adam, extra-Adam, optimistic
   Adam, consensus optimization and simultaneous Adam with R1.

Usage: ``python benchmarks/bench_mnist.py [--quick]``.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import gamedyn as gd
from gamedyn import train as T
from gamedyn.experiments import mnist as ex
from gamedyn.games.mnist import mnist_gan, sample_images
from gamedyn.metrics import classifier as C

BATCH, LATENT, WIDTH, LR, B1 = 64, 64, 256, 2e-4, 0.5


def bench_gamedyn(x, y, steps: int, repeats: int) -> float:
    gan = mnist_gan(
        "mlp", batch_size=BATCH, latent_dim=LATENT, width=WIDTH, data=(x, y)
    )
    dyn = gd.dynamics.simultaneous(gan.game, optax.adam(LR, b1=B1))
    s = T.init_state(dyn, gan.game.init(jax.random.key(0)), jax.random.key(1))
    s, _ = jax.block_until_ready(T.run_steps(dyn, None, steps, s))  # compile
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        s, _ = jax.block_until_ready(T.run_steps(dyn, None, steps, s))
        best = min(best, time.perf_counter() - t)
    return steps / best


def bench_minimal_jax(x, steps: int, repeats: int) -> float:
    """The same GAN written directly in jax.numpy, without gamedyn."""
    data = jnp.asarray(x)

    def dense(key, n_in, n_out):
        w = jax.random.normal(key, (n_in, n_out)) * jnp.sqrt(1.0 / n_in)
        return {"w": w, "b": jnp.zeros(n_out)}

    def init(key):
        k = jax.random.split(key, 6)
        g = [
            dense(k[0], LATENT, WIDTH),
            dense(k[1], WIDTH, WIDTH),
            dense(k[2], WIDTH, 784),
        ]
        d = [dense(k[3], 784, WIDTH), dense(k[4], WIDTH, WIDTH), dense(k[5], WIDTH, 1)]
        return g, d

    def gen(g, z):
        h = jax.nn.relu(z @ g[0]["w"] + g[0]["b"])
        h = jax.nn.relu(h @ g[1]["w"] + g[1]["b"])
        return jnp.tanh(h @ g[2]["w"] + g[2]["b"])

    def disc(d, xb):
        h = jax.nn.leaky_relu(xb @ d[0]["w"] + d[0]["b"], 0.2)
        h = jax.nn.leaky_relu(h @ d[1]["w"] + d[1]["b"], 0.2)
        return (h @ d[2]["w"] + d[2]["b"])[:, 0]

    def losses(g, d, key):
        k1, k2 = jax.random.split(key)
        idx = jax.random.randint(k1, (BATCH,), 0, data.shape[0])
        real = (data[idx].astype(jnp.float32) / 127.5 - 1.0).reshape(BATCH, 784)
        fake = gen(g, jax.random.normal(k2, (BATCH, LATENT)))
        dr, df = disc(d, real), disc(d, fake)
        loss_d = -jnp.mean(jax.nn.log_sigmoid(df)) - jnp.mean(jax.nn.log_sigmoid(-dr))
        loss_g = -jnp.mean(jax.nn.log_sigmoid(-df))
        return loss_g, loss_d

    opt = optax.adam(LR, b1=B1)

    def step(carry, t):
        g, d, sg, sd, key = carry
        k = jax.random.fold_in(key, t)
        gg = jax.grad(lambda g_: losses(g_, d, k)[0])(g)
        gd_ = jax.grad(lambda d_: losses(g, d_, k)[1])(d)
        ug, sg = opt.update(gg, sg, g)
        ud, sd = opt.update(gd_, sd, d)
        return (
            optax.apply_updates(g, ug),
            optax.apply_updates(d, ud),
            sg,
            sd,
            key,
        ), None

    @jax.jit
    def run(carry):
        return jax.lax.scan(step, carry, jnp.arange(steps))[0]

    g, d = init(jax.random.key(0))
    carry = (g, d, opt.init(g), opt.init(d), jax.random.key(1))
    carry = jax.block_until_ready(run(carry))
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        carry = jax.block_until_ready(run(carry))
        best = min(best, time.perf_counter() - t)
    return steps / best


def bench_torch(x, steps: int, repeats: int, threads: int) -> float | None:
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    G = nn.Sequential(
        nn.Linear(LATENT, WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(),
        nn.Linear(WIDTH, 784), nn.Tanh(),
    )  # fmt: skip
    D = nn.Sequential(
        nn.Linear(784, WIDTH), nn.LeakyReLU(0.2), nn.Linear(WIDTH, WIDTH),
        nn.LeakyReLU(0.2), nn.Linear(WIDTH, 1),
    )  # fmt: skip
    opt_g = torch.optim.Adam(G.parameters(), LR, betas=(B1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), LR, betas=(B1, 0.999))
    data = torch.from_numpy(np.array(x))
    logsig = torch.nn.functional.logsigmoid

    def step():
        idx = torch.randint(0, data.shape[0], (BATCH,))
        real = (data[idx].float() / 127.5 - 1.0).reshape(BATCH, 784)
        fake = G(torch.randn(BATCH, LATENT))
        # Simultaneous: both gradients at the current point, then both updates.
        loss_d = -logsig(D(fake.detach())).mean() - logsig(-D(real)).mean()
        loss_g = -logsig(-D(fake)).mean()
        opt_g.zero_grad()
        opt_d.zero_grad()
        grads_d = torch.autograd.grad(loss_d, list(D.parameters()))
        grads_g = torch.autograd.grad(loss_g, list(G.parameters()))
        for p, gr in zip(D.parameters(), grads_d):
            p.grad = gr
        for p, gr in zip(G.parameters(), grads_g):
            p.grad = gr
        opt_d.step()
        opt_g.step()

    for _ in range(10):
        step()
    best = 0.0
    for _ in range(repeats):  # each repeat: `steps` steps or 10 s, whichever first
        t = time.perf_counter()
        done = 0
        while done < steps and time.perf_counter() - t < 10.0:
            step()
            done += 1
        best = max(best, done / (time.perf_counter() - t))
    return best


@contextlib.contextmanager
def prng_impl(name: str):
    """Runs the block with ``jax_default_prng_impl`` set to ``name``."""
    before = jax.config.jax_default_prng_impl
    jax.config.update("jax_default_prng_impl", name)
    try:
        yield
    finally:
        jax.config.update("jax_default_prng_impl", before)


RULES = {
    "simultaneous Adam": dict(rule="simultaneous"),
    "alternating Adam": dict(rule="alternating"),
    "extra-Adam": dict(rule="extragradient"),
    "optimistic Adam": dict(rule="optimistic"),
    "consensus (gamma 0.1)": dict(rule="consensus", rule_param=0.1),
    "simultaneous Adam + R1 (gamma 1)": dict(regularizer="r1", gamma=1.0),
}


def fid_table(steps: int, samples: int, classifier) -> list[tuple[str, float, float]]:
    rows = []
    for name, kw in RULES.items():
        cfg = ex.Config(latent_dim=LATENT, width=WIDTH, lr_g=LR, lr_d=LR, **kw)
        gan, dyn = ex.build(cfg)
        state = ex.start_state(gan, dyn, cfg.seed)
        t = time.perf_counter()
        state = T.train(dyn, state, steps, chunk=min(steps, 500))
        seconds = time.perf_counter() - t
        imgs = sample_images(
            gan, state.params, state.model_state, jax.random.key(7), samples
        )
        rows.append((name, C.mnist_fid(classifier, imgs), seconds))
        print(f"  {name:34s} FID {rows[-1][1]:8.2f}   ({seconds:.1f} s)", flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run")
    args = parser.parse_args()
    steps, repeats = (200, 2) if args.quick else (1000, 3)
    fid_steps, fid_samples = (1000, 2000) if args.quick else (5000, 10000)

    x, y = gd.data.load_mnist("train")
    print(f"device: {jax.devices()[0].platform}, {jax.device_count()} device(s)")
    print(
        f"MLP GAN, batch {BATCH}, Adam, simultaneous; {steps} steps, best of {repeats}"
    )
    rates = {}
    for impl in ("threefry2x32", "unsafe_rbg"):
        with prng_impl(impl):
            rates[impl] = (
                bench_gamedyn(x, y, steps, repeats),
                bench_minimal_jax(x, steps, repeats),
            )
    torch_rates = {n: bench_torch(x, steps, repeats, n) for n in (1, 2)}
    best = None if torch_rates[1] is None else max(torch_rates.values())
    for impl, (ours, minimal) in rates.items():
        vs = "" if best is None else f"   gamedyn / best PyTorch {ours / best:.2f}x"
        print(f"  gamedyn, PRNG {impl:12s}      {ours:9.1f} steps/s{vs}")
        print(
            f"  minimal JAX, PRNG {impl:12s}  {minimal:9.1f} steps/s   gamedyn "
            f"overhead {100 * (minimal / ours - 1):+.1f}%"
        )
    if best is None:
        print("  PyTorch eager     (torch not installed)")
    else:
        print(
            f"  PyTorch eager     {torch_rates[1]:9.1f} steps/s (1 thread), "
            f"{torch_rates[2]:.1f} (2 threads)"
        )

    print(f"\nFID after {fid_steps} steps ({fid_samples} samples, MNIST classifier):")
    clf = gd.models.load_classifier()
    noise = np.random.default_rng(0).uniform(-1, 1, (10000, 28, 28))
    print(f"  classifier test accuracy {clf.test_accuracy:.4f}")
    print(
        f"  reference: FID(train[:10000], test) {C.mnist_fid(clf, x[:10000]):.3f}, "
        f"FID(uniform noise, test) {C.mnist_fid(clf, noise):.1f}"
    )
    fid_table(fid_steps, fid_samples, clf)


if __name__ == "__main__":
    main()

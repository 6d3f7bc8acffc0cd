"""MNIST GAN benchmark: training speed, and FID after a fixed budget per update rule.

1. Steps per second of the same MLP GAN (latent 64 -> 256 -> 256 -> 784, and
   784 -> 256 -> 256 -> 1; batch 64; Adam 2e-4, b1 0.5; non-saturating loss;
   simultaneous updates) trained three ways on the same CPU:
   gamedyn (``mnist_gan`` + ``dynamics.simultaneous`` + ``train.run_steps``), a
   hand-written minimal JAX loop (raw ``jnp`` MLPs, ``optax.adam``, one
   ``lax.scan``), and a PyTorch eager loop (optional: ``pip install torch``; best of
   1 and 2 threads). Compilation is excluded; data sampling is included everywhere.
   Three PRNG settings: JAX's default PRNG (threefry2x32) as gamedyn draws it on
   the CPU (:func:`gamedyn.train.threefry_unrolled`: the same numbers, the rounds
   written out), the same PRNG with JAX's own lowering (rolled ``while`` loops on
   XLA:CPU; the minimal loop uses it), and ``jax_default_prng_impl="unsafe_rbg"``
   (other numbers).
2. The DCGAN (latent 64, dense to 7x7x128, BN, two stride-2 transposed
   convolutions; D two stride-2 convolutions and a linear logit; batch 64, Adam)
   side by side with the same architecture in PyTorch eager: gamedyn's steps/s with
   the chunk compiled as a loop (the default) and unrolled (``--unroll``), and the
   seconds to compile the first chunk of each. gamedyn's DCGAN layers are matrix
   products (:class:`gamedyn.models.dcgan.Conv4x4`): XLA:CPU's convolutions inside
   a loop, and the kernel gradient of its transposed convolution anywhere, are many
   times slower.
3. FID (MNIST-classifier features, :mod:`gamedyn.metrics.classifier`) after the
   same number of steps for simultaneous / alternating Adam, extra-Adam, optimistic
   Adam, consensus optimization and simultaneous Adam with R1
   (``benchmarks/bench_mnist_rules.py`` compares the rules at convergence).

Usage: ``python benchmarks/bench_mnist.py [--quick] [--skip speed dcgan fid]``.
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


def bench_gamedyn(
    x,
    y,
    steps: int,
    repeats: int,
    model: str = "mlp",
    unroll: bool = False,
    chunk: int | None = None,
) -> tuple[float, float]:
    """gamedyn's steps/s (best of ``repeats`` timings of ``steps`` steps, in
    compiled chunks of ``chunk``, default ``steps``) and the seconds of the first
    chunk (compilation included)."""
    chunk = chunk or steps
    gan = mnist_gan(
        model,
        batch_size=BATCH,
        latent_dim=LATENT,
        width=WIDTH if model == "mlp" else 64,
        data=(x, y),
    )
    dyn = gd.dynamics.simultaneous(gan.game, optax.adam(LR, b1=B1))
    s = T.init_state(
        dyn, gan.game.init(jax.random.key(0)), jax.random.key(1), gan.init_state()
    )

    def run(s):
        return T.run_steps(dyn, gan.update_state, chunk, s, True if unroll else 1)[0]

    t = time.perf_counter()
    s = jax.block_until_ready(run(s))  # compile
    first = time.perf_counter() - t
    n = max(steps // chunk, 1)
    best = np.inf
    for _ in range(repeats):
        t = time.perf_counter()
        for _ in range(n):
            s = run(s)
        jax.block_until_ready(s)
        best = min(best, time.perf_counter() - t)
    return n * chunk / best, first


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


def bench_torch_dcgan(x, steps: int, repeats: int, threads: int) -> float | None:
    """The DCGAN of ``gamedyn.models.dcgan`` (width 64) in PyTorch eager."""
    try:
        import torch
    except ImportError:
        return None
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    nn = torch.nn
    c = 64
    G = nn.Sequential(
        nn.Linear(LATENT, 7 * 7 * 2 * c), nn.BatchNorm1d(7 * 7 * 2 * c), nn.ReLU(),
        nn.Unflatten(1, (2 * c, 7, 7)),
        nn.ConvTranspose2d(2 * c, c, 4, 2, 1), nn.BatchNorm2d(c), nn.ReLU(),
        nn.ConvTranspose2d(c, 1, 4, 2, 1), nn.Tanh(),
    )  # fmt: skip
    D = nn.Sequential(
        nn.Conv2d(1, c, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Conv2d(c, 2 * c, 4, 2, 1), nn.LeakyReLU(0.2),
        nn.Flatten(), nn.Linear(7 * 7 * 2 * c, 1),
    )  # fmt: skip
    opt_g = torch.optim.Adam(G.parameters(), LR, betas=(B1, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), LR, betas=(B1, 0.999))
    data = torch.from_numpy(np.array(x))
    logsig = torch.nn.functional.logsigmoid

    def step():
        idx = torch.randint(0, data.shape[0], (BATCH,))
        real = (data[idx].float() / 127.5 - 1.0).reshape(BATCH, 1, 28, 28)
        fake = G(torch.randn(BATCH, LATENT))
        loss_d = -logsig(D(fake.detach())).mean() - logsig(-D(real)).mean()
        loss_g = -logsig(-D(fake)).mean()
        grads_d = torch.autograd.grad(loss_d, list(D.parameters()))
        grads_g = torch.autograd.grad(loss_g, list(G.parameters()))
        for p, gr in zip(D.parameters(), grads_d):
            p.grad = gr
        for p, gr in zip(G.parameters(), grads_g):
            p.grad = gr
        opt_d.step()
        opt_g.step()

    for _ in range(3):
        step()
    best = 0.0
    for _ in range(repeats):  # each repeat: `steps` steps or 20 s, whichever first
        t = time.perf_counter()
        done = 0
        while done < steps and time.perf_counter() - t < 20.0:
            step()
            done += 1
        best = max(best, done / (time.perf_counter() - t))
    return best


@contextlib.contextmanager
def jax_threefry_lowering():
    """Runs the block with gamedyn's chunks drawing through JAX's own threefry
    lowering instead of :func:`gamedyn.train.threefry_unrolled`."""
    before = T.threefry_unrolled
    T.threefry_unrolled = lambda: None
    try:
        yield
    finally:
        T.threefry_unrolled = before


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
    parser.add_argument(
        "--skip",
        nargs="+",
        default=[],
        choices=("speed", "dcgan", "fid"),
        help="sections to leave out",
    )
    args = parser.parse_args()
    steps, repeats = (200, 2) if args.quick else (1000, 3)
    fid_steps, fid_samples = (1000, 2000) if args.quick else (5000, 10000)

    x, y = gd.data.load_mnist("train")
    print(f"device: {jax.devices()[0].platform}, {jax.device_count()} device(s)")
    if "speed" not in args.skip:
        speed(x, y, steps, repeats)
    if "dcgan" not in args.skip:
        dcgan_speed(x, y, 20 if args.quick else 100, repeats)
    if "fid" not in args.skip:
        fid_section(x, fid_steps, fid_samples)


def speed(x, y, steps: int, repeats: int) -> None:
    print(
        f"MLP GAN, batch {BATCH}, Adam, simultaneous; {steps} steps, best of {repeats}"
    )
    rates = {}
    for impl in ("threefry2x32", "threefry2x32 (JAX lowering)", "unsafe_rbg"):
        lowering = (
            jax_threefry_lowering() if "JAX" in impl else contextlib.nullcontext()
        )
        with prng_impl(impl.split()[0]), lowering:
            rates[impl] = (
                bench_gamedyn(x, y, steps, repeats)[0],
                bench_minimal_jax(x, steps, repeats)
                if impl != "threefry2x32"
                else None,
            )
    torch_rates = {n: bench_torch(x, steps, repeats, n) for n in (1, 2)}
    best = None if torch_rates[1] is None else max(torch_rates.values())
    for impl, (ours, minimal) in rates.items():
        vs = "" if best is None else f"   gamedyn / best PyTorch {ours / best:.2f}x"
        print(f"  gamedyn, PRNG {impl:28s}      {ours:9.1f} steps/s{vs}")
        if minimal is not None:
            print(
                f"  minimal JAX, PRNG {impl:28s}  {minimal:9.1f} steps/s   gamedyn "
                f"/ minimal {ours / minimal:.2f}x"
            )
    if best is None:
        print("  PyTorch eager     (torch not installed)")
    else:
        print(
            f"  PyTorch eager     {torch_rates[1]:9.1f} steps/s (1 thread), "
            f"{torch_rates[2]:.1f} (2 threads)"
        )


def dcgan_speed(x, y, steps: int, repeats: int) -> None:
    chunk = 10
    print(
        f"\nDCGAN, batch {BATCH}, Adam, simultaneous; chunks of {chunk} steps, "
        f"{steps} steps per timing, best of {repeats}"
    )
    for unroll in (False, True):
        rate, first = bench_gamedyn(x, y, steps, repeats, "dcgan", unroll, chunk)
        how = "--unroll" if unroll else "loop (default)"
        print(
            f"  gamedyn, {how:15s} {rate:7.2f} steps/s   first chunk (compile) "
            f"{first:6.1f} s"
        )
    torch_rates = {n: bench_torch_dcgan(x, steps, repeats, n) for n in (1, 2)}
    if torch_rates[1] is None:
        print("  PyTorch eager     (torch not installed)")
    else:
        print(
            f"  PyTorch eager     {torch_rates[1]:7.2f} steps/s (1 thread), "
            f"{torch_rates[2]:.2f} (2 threads)"
        )


def fid_section(x, fid_steps: int, fid_samples: int) -> None:
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

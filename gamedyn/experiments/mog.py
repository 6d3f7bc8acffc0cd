"""``gamedyn mog``: the mixture-of-Gaussians mode-collapse benchmark.

Trains small MLP GANs on the ring of 8 or the grid of 25 (:mod:`gamedyn.data.mixtures`)
with a chosen loss, regularizer, update rule and optimizer, several seeds vmapped in
one program, and scores 2500 samples per seed with the PacGAN / VEEGAN metrics
(:func:`gamedyn.metrics.mode_coverage`). Writes ``metrics.json`` and ``samples.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm.auto import tqdm

from gamedyn import dynamics as rules
from gamedyn import regularizers
from gamedyn.data import mixtures
from gamedyn.dynamics import ema
from gamedyn.games.modules import MLP, module_gan
from gamedyn.losses import names as loss_names
from gamedyn.metrics.modes import coverage_from_counts, mode_counts
from gamedyn.simulation import simulate
from gamedyn.transforms import clip_params

NUM_EVAL_SAMPLES = 2500
"""Samples scored per trained model, as in VEEGAN and PacGAN."""

DEFAULT_STEPS = 20000
"""Training steps of ``gamedyn mog`` (90 s for one seed on a 2-core CPU)."""

RULES = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "consensus",
    "unrolled",
)
REGULARIZERS = ("none", "r1", "r2", "gp", "sn", "clip")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
SCHEDULES = ("constant", "cosine")


class Config(NamedTuple):
    """One mixture-of-Gaussians experiment (all static Python values).

    The defaults are the best stable configuration found for the ring (see
    ``docs/gans.md``).
    """

    dataset: str = "ring"
    dim: int = 2
    loss: str = "non_saturating"
    regularizer: str = "r1"
    gamma: float = 0.1
    rule: str = "alternating"
    optimizer: str = "adam"
    lr: float = 4e-3
    schedule: str = "cosine"
    d_lr_factor: float = 1.0
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 512
    latent_dim: int = 4
    hidden: int = 128
    g_layers: int = 3
    d_layers: int = 2
    num_generators: int = 1
    instance_noise: float = 0.0
    generator_penalty: float = 0.0
    ema_decay: float = 0.999
    consensus_gamma: float = 1.0
    unroll_steps: int = 5


def _regularizer(cfg: Config):
    if cfg.regularizer in ("none", "sn", "clip"):
        return None
    if cfg.regularizer == "r1":
        return regularizers.r1(cfg.gamma)
    if cfg.regularizer == "r2":
        return regularizers.r2(cfg.gamma)
    if cfg.regularizer == "gp":
        return regularizers.gradient_penalty(cfg.gamma, 1.0)
    raise ValueError(
        f"regularizer: expected one of {REGULARIZERS}, got {cfg.regularizer!r}"
    )


def _optimizer(
    cfg: Config, lr: float, steps: int | None
) -> optax.GradientTransformation:
    if cfg.schedule == "cosine" and steps is not None:
        lr = optax.cosine_decay_schedule(lr, steps)
    if cfg.optimizer == "adam":
        return optax.adam(lr, b1=cfg.beta1, b2=cfg.beta2)
    if cfg.optimizer == "sgd":
        return optax.sgd(lr)
    if cfg.optimizer == "rmsprop":
        return optax.rmsprop(lr)
    raise ValueError(f"optimizer: expected one of {OPTIMIZERS}, got {cfg.optimizer!r}")


def check(cfg: Config) -> None:
    """Validates a configuration (ValueError naming the bad field)."""
    mixtures.get(cfg.dataset)
    if isinstance(cfg.dim, bool) or not isinstance(cfg.dim, int) or cfg.dim < 2:
        raise ValueError(f"dim: expected an integer >= 2, got {cfg.dim!r}")
    if cfg.loss not in loss_names():
        raise ValueError(f"loss: expected one of {loss_names()}, got {cfg.loss!r}")
    if cfg.rule not in RULES:
        raise ValueError(f"rule: expected one of {RULES}, got {cfg.rule!r}")
    if cfg.regularizer not in REGULARIZERS:
        raise ValueError(
            f"regularizer: expected one of {REGULARIZERS}, got {cfg.regularizer!r}"
        )
    if cfg.schedule not in SCHEDULES:
        raise ValueError(f"schedule: expected one of {SCHEDULES}, got {cfg.schedule!r}")
    if cfg.optimizer not in OPTIMIZERS:
        raise ValueError(
            f"optimizer: expected one of {OPTIMIZERS}, got {cfg.optimizer!r}"
        )
    for name in ("lr", "d_lr_factor"):
        if getattr(cfg, name) <= 0:
            raise ValueError(
                f"{name}: expected a positive number, got {getattr(cfg, name)}"
            )
    for name in (
        "batch_size",
        "latent_dim",
        "hidden",
        "g_layers",
        "d_layers",
        "num_generators",
    ):
        if getattr(cfg, name) < 1:
            raise ValueError(
                f"{name}: expected a positive integer, got {getattr(cfg, name)}"
            )
    if cfg.gamma < 0:
        raise ValueError(f"gamma: expected a non-negative number, got {cfg.gamma}")
    if not 0 <= cfg.ema_decay < 1:
        raise ValueError(f"ema_decay: expected a number in [0, 1), got {cfg.ema_decay}")


class Experiment(NamedTuple):
    """What :func:`build` returns."""

    game: Any
    dynamics: Any
    generator: nn.Module
    mixture: mixtures.Mixture
    sample_noise: Any


def build(cfg: Config, steps: int | None = None) -> Experiment:
    """The game, update rule, generator module and mixture of a configuration
    (``steps``: the length of the learning-rate schedule; None: constant rates)."""
    check(cfg)
    mixture = mixtures.get(cfg.dataset, cfg.dim)
    latent = cfg.latent_dim

    def sample_noise(key, n):
        return jax.random.normal(key, (n, latent))

    generator = MLP((cfg.hidden,) * cfg.g_layers, mixture.dim)
    discriminator = MLP(
        (cfg.hidden,) * cfg.d_layers, 1, activation=lambda x: nn.leaky_relu(x, 0.2)
    )
    game = module_gan(
        generator,
        discriminator,
        mixture.sample,
        sample_noise,
        loss=cfg.loss,
        regularizer=_regularizer(cfg),
        batch_size=cfg.batch_size,
        instance_noise=cfg.instance_noise,
        generator_penalty=cfg.generator_penalty,
        spectral_normalization=cfg.regularizer == "sn",
        num_generators=cfg.num_generators,
    )
    d_opt = _optimizer(cfg, cfg.lr * cfg.d_lr_factor, steps)
    if cfg.regularizer == "clip":
        d_opt = optax.chain(d_opt, clip_params(cfg.gamma if cfg.gamma > 0 else 0.01))
    opt = (_optimizer(cfg, cfg.lr, steps),) * cfg.num_generators + (d_opt,)
    if cfg.rule == "consensus":
        dyn = rules.consensus(game, opt, cfg.consensus_gamma)
    elif cfg.rule == "unrolled":
        dyn = rules.unrolled(game, opt, cfg.unroll_steps)
    else:
        dyn = getattr(rules, cfg.rule)(game, opt)
    if cfg.ema_decay > 0:
        dyn = ema(dyn, cfg.ema_decay, tuple(range(cfg.num_generators)))
    return Experiment(game, dyn, generator, mixture, sample_noise)


class Result(NamedTuple):
    """What :func:`train` returns (numpy arrays, leading axis the seeds).

    Attributes:
      steps: the training steps of the snapshots.
      snapshots: ``(seeds, snapshots, n_plot, 2)`` generator samples (in the
        mixture's plane when ``cfg.dim > 2``).
      counts: ``(seeds, K)`` high-quality samples per mode at the end.
      metrics: ``dict`` of ``(seeds,)`` arrays: modes, high_quality, reverse_kl.
      diverged: ``(seeds,)`` bool.
      seconds: wall-clock training time (compilation included).
      params: the final params of every player, leading axis the seeds.
    """

    steps: np.ndarray
    snapshots: np.ndarray
    counts: np.ndarray
    metrics: dict[str, np.ndarray]
    diverged: np.ndarray
    seconds: float
    params: Any = None


def train(
    cfg: Config,
    *,
    steps: int = DEFAULT_STEPS,
    seeds: int | tuple[int, ...] = 1,
    snapshots: int = 4,
    num_plot: int = 500,
    progress: bool = True,
) -> Result:
    """Trains ``cfg`` for ``steps`` steps on every seed (vmapped, one program).

    The run is split into ``snapshots`` chunks (one compiled ``simulate`` call reused),
    which gives the progress bar and the samples at a few points of training. The
    final generator (its EMA when ``cfg.ema_decay > 0``) is scored on
    :data:`NUM_EVAL_SAMPLES` samples.

    Args:
      cfg: the configuration.
      steps: training steps (a multiple of ``snapshots`` is exact; otherwise the last
        chunk is rounded up).
      seeds: the number of seeds ``0..n-1``, or the seeds themselves.
      snapshots: number of chunks (and of snapshots after step 0).
      num_plot: samples per snapshot.
      progress: show a tqdm bar.

    Returns:
      A :class:`Result`.
    """
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps: expected a positive integer, got {steps!r}")
    if isinstance(snapshots, bool) or not isinstance(snapshots, int) or snapshots < 1:
        raise ValueError(f"snapshots: expected a positive integer, got {snapshots!r}")
    seed_list = tuple(range(seeds)) if isinstance(seeds, int) else tuple(seeds)
    if not seed_list:
        raise ValueError("seeds: expected at least one seed")
    chunk = -(-steps // snapshots)
    exp = build(cfg, chunk * snapshots)
    keys = jax.vmap(jax.random.key)(jnp.asarray(seed_list, jnp.uint32))
    use_ema = cfg.ema_decay > 0

    m = cfg.num_generators

    def generator_params(params, state):
        return state.average if use_ema else params[:m]

    def samples(g_params, key, n):
        # the uniform mixture of the generators: each sample picks one at random
        k_noise, k_pick = jax.random.split(key)
        z = exp.sample_noise(k_noise, n)
        xs = jnp.stack([exp.generator.apply({"params": g}, z) for g in g_params])
        if m == 1:
            return xs[0]
        pick = jax.random.randint(k_pick, (n,), 0, m)
        return xs[pick, jnp.arange(n)]

    @jax.jit
    def init(keys):
        params = jax.vmap(exp.game.init)(keys)
        return params, jax.vmap(exp.dynamics.init)(params)

    @jax.jit
    def run_chunk(params, state, keys, index):
        def one(p, s, k):
            k = jax.random.fold_in(k, index)
            traj = simulate(exp.dynamics, p, chunk, k, every=chunk, state=s)
            return traj.final, traj.state, traj.diverged_step

        return jax.vmap(one)(params, state, keys)

    @jax.jit
    def look(params, state, keys):
        plot_key = jax.vmap(lambda k: jax.random.fold_in(k, 10**6))(keys)
        eval_key = jax.vmap(lambda k: jax.random.fold_in(k, 10**6 + 1))(keys)
        g = jax.vmap(generator_params)(params, state)
        shown = jax.vmap(lambda p, k: samples(p, k, num_plot))(g, plot_key)
        shown = exp.mixture.project(shown)  # the mixture's plane, for plots
        scored = jax.vmap(lambda p, k: samples(p, k, NUM_EVAL_SAMPLES))(g, eval_key)
        counts = jax.vmap(
            lambda x: mode_counts(x, exp.mixture.centers, exp.mixture.std)
        )(scored)
        return shown, counts

    start = time.perf_counter()
    params, state = init(keys)
    shown, counts = look(params, state, keys)
    snaps, diverged = [np.asarray(shown)], np.zeros(len(seed_list), bool)
    bar = tqdm(
        total=chunk * snapshots,
        desc=f"mog {cfg.dataset} x{len(seed_list)} seeds",
        disable=not progress,
    )
    for i in range(snapshots):
        params, state, dstep = run_chunk(params, state, keys, i)
        diverged |= np.asarray(dstep) >= 0
        shown, counts = look(params, state, keys)
        snaps.append(np.asarray(shown))
        bar.update(chunk)
    bar.close()
    seconds = time.perf_counter() - start
    counts = np.asarray(counts)
    metrics = {
        k: np.asarray(v)
        for k, v in coverage_from_counts(jnp.asarray(counts), NUM_EVAL_SAMPLES).items()
    }
    return Result(
        steps=np.arange(snapshots + 1) * chunk,
        snapshots=np.stack(snaps, axis=1),
        counts=counts,
        metrics=metrics,
        diverged=diverged,
        seconds=seconds,
        params=jax.tree.map(np.asarray, params),
    )


def summary(cfg: Config, result: Result, seeds) -> dict[str, Any]:
    """The ``metrics.json`` content: means and stds over seeds, and per seed."""
    m = result.metrics
    return {
        "config": cfg._asdict(),
        "steps": int(result.steps[-1]),
        "num_eval_samples": NUM_EVAL_SAMPLES,
        "num_modes": int(result.counts.shape[1]),
        "seconds": round(result.seconds, 2),
        "modes": float(np.mean(m["modes"])),
        "high_quality": float(np.mean(m["high_quality"])),
        "reverse_kl": float(np.mean(m["reverse_kl"])),
        "std": {k: float(np.std(v)) for k, v in m.items()},
        "per_seed": [
            {
                "seed": int(s),
                "modes": int(m["modes"][i]),
                "high_quality": float(m["high_quality"][i]),
                "reverse_kl": float(m["reverse_kl"][i]),
                "diverged": bool(result.diverged[i]),
            }
            for i, s in enumerate(seeds)
        ],
    }

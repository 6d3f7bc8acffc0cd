"""The mixture-of-Gaussians mode-collapse benchmark (ring of 8, grid of 25).

Small MLP GANs trained on `gamedyn.data.mixtures` with a chosen loss,
regularizer, update rule and optimizer, several seeds vmapped in one program split
over the devices (of every process, after `gamedyn.distributed.initialize`),
scored on `NUM_EVAL_SAMPLES` samples per seed with the PacGAN / VEEGAN metrics
(`gamedyn.metrics.mode_coverage`). `Config` describes one experiment,
`build` its game and dynamics, `run` trains it and `summary` makes
the record that `gamedyn mog` writes to `metrics.json`.

Example:

    from gamedyn.experiments import mog

    cfg = mog.Config(dataset="grid")
    result = mog.run(cfg, steps=20000, seeds=10)
    print(mog.summary(cfg, result, 10)["modes"])  # mean modes over the seeds

References:
  Lin, Khetan, Fanti, Oh 2018, PacGAN: The Power of Two Samples in Generative
  Adversarial Networks. NeurIPS.
  Srivastava, Valkov, Russell, Gutmann, Sutton 2017, VEEGAN. NeurIPS.
  Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
  Converge? ICML.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from gamedyn import distributed
from gamedyn import dynamics as _dynamics
from gamedyn import losses as _losses
from gamedyn import optimizers as _optimizers
from gamedyn import regularizers as _regularizers
from gamedyn._game import Game
from gamedyn._validate import (
    check_choice,
    check_float,
    check_fraction,
    check_int,
    check_nonnegative,
    check_positive,
)
from gamedyn.data import mixtures
from gamedyn.dynamics import Dynamics, ema
from gamedyn.games.modules import MLP, module_gan
from gamedyn.metrics.modes import coverage_from_counts, mode_counts
from gamedyn.simulation import simulate
from gamedyn.transforms import clip_params

NUM_EVAL_SAMPLES = 2500
"""Samples scored per trained model, as in VEEGAN and PacGAN."""

DEFAULT_STEPS = 20000
"""Training steps of `run` (90 s for one seed on a 2-core CPU)."""

DATASETS = ("ring", "grid")
"""The mixtures (`gamedyn.data.mixtures.get`)."""

RULES = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "consensus",
    "sga",
    "cgd",
    "lookahead",
    "unrolled",
)
"""Update rules (`gamedyn.dynamics.get` names) that run on this game; `cgd`
needs `num_generators == 1`."""

SCHEDULES = ("constant", "cosine")
"""Learning-rate schedules over the run: constant, or cosine decay to 0."""

# `fold_in` data of the plotting and scoring keys: never a step index (simulate
# counts steps in int32), so never the key of a training step.
_PLOT_STREAM = 2**32 - 1
_EVAL_STREAM = 2**32 - 2

_AXIS = "seeds"
"""The mesh axis `run` splits the seeds along."""


class Config(NamedTuple):
    """One mixture-of-Gaussians experiment (all static Python values).

    The defaults are the best stable configuration found for the ring (the
    `nsgan_r01_z4_b512_ema` row of `benchmarks/bench_mog.py`, see
    `docs/gans.md`).

    Attributes:
      dataset: `"ring"` (8 modes) or `"grid"` (25 modes).
      dim: ambient dimension; `> 2` puts the mixture on a random plane of
        `R^dim` (`gamedyn.data.embed`).
      loss: a `gamedyn.losses.names` loss (default non-saturating).
      regularizer: a `gamedyn.regularizers.names` discriminator penalty
        (default R1).
      gamma: its weight (default 0.1; None: the regularizer's default).
      spectral_norm: spectrally normalise every discriminator kernel.
      clip: WGAN weight clipping of the discriminator at `[-clip, clip]`
        (None: off).
      rule: the update rule, one of `RULES` (default alternating).
      rule_param: the rule's own number (consensus gamma, SGA lambda, CGD eta,
        lookahead alpha, unrolled steps); None: the registry's default.
      optimizer: a `gamedyn.optimizers.names` optimizer (default Adam).
      lr: the generator's learning rate (default 4e-3).
      schedule: one of `SCHEDULES` (default cosine decay to 0).
      d_lr_factor: discriminator rate / generator rate (TTUR; default 1).
      beta1: Adam's beta1 (default 0.5).
      beta2: Adam's beta2 (default 0.999).
      momentum: SGD momentum (default 0; negative: negative momentum).
      batch_size: samples per minibatch (default 512).
      latent_dim: dimension of the Gaussian noise (default 4).
      hidden: units per hidden layer (default 128).
      g_layers: hidden layers of the ReLU generator (default 3).
      d_layers: hidden layers of the leaky-ReLU discriminator (default 2).
      num_generators: a uniform mixture of this many generators (n-player game).
      instance_noise: std of the instance noise (default 0).
      generator_penalty: Nagarajan-Kolter `eta` (default 0).
      ema_decay: decay of the generator's moving average, which is scored
        (default 0.999; 0: the raw generator).
    """

    dataset: str = "ring"
    dim: int = 2
    loss: str = "non_saturating"
    regularizer: str = "r1"
    gamma: float | None = 0.1
    spectral_norm: bool = False
    clip: float | None = None
    rule: str = "alternating"
    rule_param: float | None = None
    optimizer: str = "adam"
    lr: float = 4e-3
    schedule: str = "cosine"
    d_lr_factor: float = 1.0
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.0
    batch_size: int = 512
    latent_dim: int = 4
    hidden: int = 128
    g_layers: int = 3
    d_layers: int = 2
    num_generators: int = 1
    instance_noise: float = 0.0
    generator_penalty: float = 0.0
    ema_decay: float = 0.999


_NUMBERS = (
    "gamma",
    "clip",
    "rule_param",
    "lr",
    "d_lr_factor",
    "beta1",
    "beta2",
    "momentum",
    "instance_noise",
    "generator_penalty",
    "ema_decay",
)


def check(config: Config) -> None:
    """Validates a configuration.

    Raises:
      TypeError: when a field has the wrong type (the message names the field).
      ValueError: when a field has a bad value: an unknown name, a number out of
        range or not finite, a `rule_param` the rule does not take.
    """
    if not isinstance(config, Config):
        raise TypeError(
            f"config: expected a gamedyn.experiments.mog.Config, got "
            f"{type(config).__name__}"
        )
    c = config
    for name in _NUMBERS:
        if isinstance(getattr(c, name), (str, bytes)):
            raise TypeError(f"{name}: expected a number, got {getattr(c, name)!r}")
    check_choice("dataset", c.dataset, DATASETS)
    check_int("dim", c.dim, 2)
    check_choice("loss", c.loss, _losses.names())
    check_choice("regularizer", c.regularizer, _regularizers.names())
    if c.gamma is not None:
        check_nonnegative("gamma", c.gamma)
    if not isinstance(c.spectral_norm, bool):
        raise TypeError(
            f"spectral_norm: expected a bool, got {type(c.spectral_norm).__name__}"
        )
    if c.clip is not None:
        check_positive("clip", c.clip)
    check_choice("rule", c.rule, RULES)
    _dynamics.get(c.rule).check(c.rule_param)
    check_choice("optimizer", c.optimizer, _optimizers.names())
    check_positive("lr", c.lr)
    check_choice("schedule", c.schedule, SCHEDULES)
    check_positive("d_lr_factor", c.d_lr_factor)
    check_fraction("beta1", c.beta1)
    check_fraction("beta2", c.beta2)
    check_float("momentum", c.momentum, minimum=-1.0, maximum=1.0)
    for name in ("batch_size", "latent_dim", "hidden", "g_layers", "d_layers"):
        check_int(name, getattr(c, name), 1)
    check_int("num_generators", c.num_generators, 1)
    check_nonnegative("instance_noise", c.instance_noise)
    check_nonnegative("generator_penalty", c.generator_penalty)
    check_fraction("ema_decay", c.ema_decay)
    if c.rule == "cgd" and c.num_generators > 1:
        raise ValueError(
            f"num_generators: the rule 'cgd' is defined for two players, got "
            f"{c.num_generators} generators"
        )


class Experiment(NamedTuple):
    """What `build` returns.

    Attributes:
      game: the GAN game (players: the generators, then the discriminator).
      dynamics: the update rule with the optimizers (wrapped in
        `gamedyn.dynamics.ema` when `ema_decay > 0`).
      generator: the generator module (`z -> x`).
      mixture: the data.
      sample_noise: `sample_noise(key, n) -> z`.
    """

    game: Game
    dynamics: Dynamics
    generator: nn.Module
    mixture: mixtures.Mixture
    sample_noise: Callable[[jax.Array, int], jax.Array]


def _optimizer(
    config: Config, lr: float, steps: int | None
) -> optax.GradientTransformation:
    rate: Any = lr
    if config.schedule == "cosine" and steps is not None:
        rate = optax.cosine_decay_schedule(lr, steps)
    return _optimizers.make(
        config.optimizer,
        rate,
        beta1=config.beta1,
        beta2=config.beta2,
        momentum=config.momentum,
    )


def build(config: Config, steps: int | None = None) -> Experiment:
    """The game, update rule, generator module and mixture of a configuration.

    Args:
      config: the configuration (validated by `check`).
      steps: the length of the learning-rate schedule; None gives constant rates
        whatever `config.schedule` says.

    Returns:
      An `Experiment`.
    """
    check(config)
    if steps is not None:
        steps = check_int("steps", steps, 1)
    c = config
    mixture = mixtures.get(c.dataset, c.dim)
    latent = c.latent_dim

    def sample_noise(key: jax.Array, n: int) -> jax.Array:
        return jax.random.normal(key, (n, latent))

    generator = MLP((c.hidden,) * c.g_layers, mixture.dim)
    discriminator = MLP(
        (c.hidden,) * c.d_layers, 1, activation=lambda x: nn.leaky_relu(x, 0.2)
    )
    game = module_gan(
        generator,
        discriminator,
        mixture.sample,
        sample_noise,
        loss=c.loss,
        regularizer=_regularizers.get(c.regularizer, c.gamma),
        batch_size=c.batch_size,
        instance_noise=c.instance_noise,
        generator_penalty=c.generator_penalty,
        spectral_normalization=c.spectral_norm,
        num_generators=c.num_generators,
    )
    d_opt = _optimizer(c, c.lr * c.d_lr_factor, steps)
    if c.clip is not None:
        d_opt = optax.chain(d_opt, clip_params(c.clip))
    opt = (_optimizer(c, c.lr, steps),) * c.num_generators + (d_opt,)
    dyn = _dynamics.get(c.rule)(game, opt, c.rule_param, lr=c.lr)
    if c.ema_decay > 0:
        dyn = ema(dyn, c.ema_decay, tuple(range(c.num_generators)))
    return Experiment(game, dyn, generator, mixture, sample_noise)


class Result(NamedTuple):
    """What `run` returns (NumPy arrays, leading axis the seeds).

    Attributes:
      steps: `(snapshots + 1,)` the training step of each snapshot (0 first, the
        run's length last).
      snapshots: `(seeds, snapshots + 1, num_plot, 2)` generator samples (in the
        mixture's plane when `dim > 2`).
      counts: `(seeds, K)` high-quality samples per mode at the end.
      metrics: `dict` of `(seeds,)` arrays: `modes`, `high_quality`,
        `reverse_kl`.
      diverged: `(seeds,)` bool.
      seconds: wall-clock training time, compilation included (a later run of the
        same configuration with as many seeds reuses the compiled programs).
      params: the final params of every player, leading axis the seeds.
    """

    steps: np.ndarray
    snapshots: np.ndarray
    counts: np.ndarray
    metrics: dict[str, np.ndarray]
    diverged: np.ndarray
    seconds: float
    params: Any = None


def seed_tuple(seeds: int | Sequence[int]) -> tuple[int, ...]:
    """The seeds of a run: `n` means `0 .. n-1`; a sequence is taken as is.

    Raises:
      TypeError, ValueError: naming `seeds` (not integers in `[0, 2**32)`, or
        none at all).
    """
    if isinstance(seeds, (int, np.integer)) and not isinstance(seeds, bool):
        return tuple(range(check_int("seeds", seeds, 1)))
    if not isinstance(seeds, Sequence) or isinstance(seeds, str):
        raise TypeError(
            f"seeds: expected a number of seeds or a sequence of seeds, got "
            f"{type(seeds).__name__}"
        )
    if not seeds:
        raise ValueError("seeds: expected at least one seed, got none")
    return tuple(check_int(f"seeds[{i}]", s, 0, 2**32 - 1) for i, s in enumerate(seeds))


@functools.lru_cache(maxsize=8)
def _programs(
    config: Config, steps: int, num_plot: int, devices: tuple, x64: bool
) -> tuple:
    """`(mesh, init, advance, look)` of `run`: jitted programs over a 1-D
    mesh of `devices`, each device vmapping its share of the seeds. Cached (by
    `x64` too: `build` makes arrays of the current dtype), so a run with
    as many other seeds compiles nothing."""
    exp = build(config, steps)
    mesh = Mesh(np.asarray(devices, dtype=object), (_AXIS,))
    split, whole = PartitionSpec(_AXIS), PartitionSpec()
    m = config.num_generators
    use_ema = config.ema_decay > 0

    def shard(fn, *in_specs):
        # each device runs fn on its share of the seeds (axis 0 of every array)
        return jax.shard_map(
            fn, mesh=mesh, in_specs=in_specs, out_specs=split, check_vma=False
        )

    def samples(g_params, key, n):
        # the uniform mixture of the generators: each sample picks one at random
        k_noise, k_pick = jax.random.split(key)
        z = exp.sample_noise(k_noise, n)
        xs = jnp.stack([exp.generator.apply({"params": g}, z) for g in g_params])
        if m == 1:
            return xs[0]
        pick = jax.random.randint(k_pick, (n,), 0, m)
        return xs[pick, jnp.arange(n)]

    def keys_of(seeds):
        return jax.vmap(jax.random.key)(seeds)

    def start_all(seeds):
        params = jax.vmap(exp.game.init)(keys_of(seeds))
        return params, jax.vmap(exp.dynamics.init)(params)

    @functools.partial(jax.jit, static_argnums=4)
    def advance(params, state, seeds, start, length):
        def one(p, s, k):
            traj = simulate(
                exp.dynamics,
                p,
                length,
                key=k,
                every=length,
                state=s,
                start_step=start,
                record_params=False,
            )
            return traj.final, traj.state, traj.diverged_step

        def local(params, state, seeds, start):
            return jax.vmap(one)(params, state, keys_of(seeds))

        return shard(local, split, split, split, whole)(params, state, seeds, start)

    def score(params, state, seeds):
        keys = keys_of(seeds)
        g = state.average if use_ema else params[:m]
        plot_keys = jax.vmap(lambda k: jax.random.fold_in(k, _PLOT_STREAM))(keys)
        eval_keys = jax.vmap(lambda k: jax.random.fold_in(k, _EVAL_STREAM))(keys)
        shown = jax.vmap(lambda p, k: samples(p, k, num_plot))(g, plot_keys)
        shown = exp.mixture.project(shown)  # the mixture's plane, for plots
        scored = jax.vmap(lambda p, k: samples(p, k, NUM_EVAL_SAMPLES))(g, eval_keys)
        counts = jax.vmap(
            lambda x: mode_counts(x, exp.mixture.centers, exp.mixture.std)
        )(scored)
        return shown, counts

    init = jax.jit(shard(start_all, split))
    look = jax.jit(shard(score, split, split, split))

    return mesh, init, advance, look


def run(
    config: Config,
    *,
    steps: int = DEFAULT_STEPS,
    seeds: int | Sequence[int] = 1,
    snapshots: int = 4,
    num_plot: int = 500,
    progress: Callable[[int, int], Any] | None = None,
    devices: Sequence[jax.Device] | None = None,
) -> Result:
    """Trains `config` for `steps` steps on every seed (vmapped, one program).

    The run is split into `snapshots` chunks of (nearly) equal length, each one
    `gamedyn.simulate` call continuing the last (`state`, `start_step`),
    so every step `t` uses the key `fold_in(key, t)` of its seed whatever the
    chunking: the number of snapshots changes nothing but the snapshots. The final
    generator (its EMA when `ema_decay > 0`) is scored on
    `NUM_EVAL_SAMPLES` samples.

    The seeds are split over `devices` as `gamedyn.sweep` splits
    configurations: padded to a multiple of the number of devices (repeats of the
    last seed, dropped from the result), cut along a 1-D mesh
    (`jax.shard_map`) and vmapped on each device. Each seed's params stay on
    its device from chunk to chunk; the snapshots, divergence flags, counts and
    final params are gathered (`gamedyn.distributed.gather`). On several
    processes (after `gamedyn.distributed.initialize`), every process makes
    the same call, trains its devices' share and receives every seed's result.

    Args:
      config: the configuration.
      steps: training steps (the length of the cosine schedule too).
      seeds: the number of seeds `0 .. n-1`, or the seeds themselves.
      snapshots: number of chunks, i.e. of snapshots after step 0 (at most
        `steps`).
      num_plot: samples per snapshot.
      progress: called as `progress(done_steps, steps)` after each chunk.
      devices: the devices to split the seeds over; default `jax.devices`
        (every process's, in a multi-process run).

    Returns:
      A `Result`.
    """
    steps = check_int("steps", steps, 1)
    snapshots = check_int("snapshots", snapshots, 1, steps)
    num_plot = check_int("num_plot", num_plot, 1)
    seed_list = seed_tuple(seeds)
    if progress is not None and not callable(progress):
        raise TypeError(
            f"progress: expected a callable or None, got {type(progress).__name__}"
        )
    devices = distributed.check_devices(devices)
    check(config)
    bounds = [i * steps // snapshots for i in range(snapshots + 1)]
    num = len(seed_list)
    padded = seed_list + seed_list[-1:] * (-num % len(devices))
    mesh, init, advance, look = _programs(
        config, steps, num_plot, devices, bool(jax.config.jax_enable_x64)
    )

    def mine(tree):  # every seed's values on this process, without the padding
        return jax.tree.map(lambda x: x[:num], distributed.gather(tree))

    begin = time.perf_counter()
    seeds_on = distributed.put(
        np.asarray(padded, np.uint32), NamedSharding(mesh, PartitionSpec(_AXIS))
    )
    replicated = NamedSharding(mesh, PartitionSpec())
    params, state = init(seeds_on)
    shown, counts = look(params, state, seeds_on)
    snaps, diverged = [mine(shown)], np.zeros(num, bool)
    for start, stop in zip(bounds[:-1], bounds[1:]):
        offset = distributed.put(np.int32(start), replicated)
        params, state, dstep = advance(params, state, seeds_on, offset, stop - start)
        diverged |= mine(dstep) >= 0
        shown, counts = look(params, state, seeds_on)
        snaps.append(mine(shown))
        if progress is not None:
            progress(stop, steps)
    counts, params = mine(counts), mine(params)
    seconds = time.perf_counter() - begin
    coverage = coverage_from_counts(jnp.asarray(counts), NUM_EVAL_SAMPLES)
    return Result(
        steps=np.asarray(bounds),
        snapshots=np.stack(snaps, axis=1),
        counts=counts,
        metrics={k: np.asarray(v) for k, v in coverage.items()},
        diverged=diverged,
        seconds=seconds,
        params=params,
    )


def summary(
    config: Config, result: Result, seeds: int | Sequence[int]
) -> dict[str, Any]:
    """The `metrics.json` record of a run: means and stds over seeds, and per seed.

    Args:
      config: the run's configuration.
      result: what `run` returned.
      seeds: the run's `seeds` argument.

    Returns:
      A dict of Python values: the means over the seeds, their `std`, each
      seed's values (`per_seed`, with `diverged`) and `diverged_seeds` (the
      seeds whose params stopped being finite: their generators' samples count as
      no mode; non-finite metrics stay `nan`, which
      `gamedyn.io.write_json` writes as `null`).
    """
    seed_list = seed_tuple(seeds)
    m = result.metrics
    if len(seed_list) != len(m["modes"]):
        raise ValueError(
            f"seeds: expected the run's {len(m['modes'])} seeds, got {len(seed_list)}"
        )
    return {
        "config": config._asdict(),
        "steps": int(result.steps[-1]),
        "num_eval_samples": NUM_EVAL_SAMPLES,
        "num_modes": int(result.counts.shape[1]),
        "seconds": round(float(result.seconds), 2),
        "modes": float(np.mean(m["modes"])),
        "high_quality": float(np.mean(m["high_quality"])),
        "reverse_kl": float(np.mean(m["reverse_kl"])),
        "std": {k: float(np.std(v)) for k, v in m.items()},
        "diverged_seeds": [s for i, s in enumerate(seed_list) if result.diverged[i]],
        "per_seed": [
            {
                "seed": s,
                "modes": int(m["modes"][i]),
                "high_quality": float(m["high_quality"][i]),
                "reverse_kl": float(m["reverse_kl"][i]),
                "diverged": bool(result.diverged[i]),
            }
            for i, s in enumerate(seed_list)
        ],
    }

"""MNIST GANs with checkpoints, exact resume, classifier FID and spectra.

A `Config` describes one MNIST GAN (players, loss, regularizer, update rule,
optimizers, data); `build` makes its game (`gamedyn.games.mnist.mnist_gan`)
and update rule from the registries (`gamedyn.dynamics.get`,
`gamedyn.optimizers.make`, `gamedyn.regularizers.get`). `run` trains
it in a run directory with `gamedyn.train.train`, holding the directory's lock:
it resumes from the newest good checkpoint there (the result equals an unbroken run),
refuses a directory that holds a run with other settings (`config.json` and the
settings stored in every checkpoint) or another program's files, evaluates the final
params (the players' losses on a fixed batch, classifier FID, Inception Score, class
counts: `gamedyn.metrics.classifier`), samples a 10 x 10 grid of digits and,
when asked, computes the top-`k` spectra of the game Jacobian (by magnitude and by
imaginary part, with the imaginary share `rotation_share`) and of each player's
Hessian at every checkpoint (Berard et al. 2020). With `Config.seeds > 1` several
seeds of one configuration train together as one vmapped program, sharded over the
devices (`gamedyn.train.stack_states`), and are evaluated one by one and
summarised (`summarize`). It returns values and writes the
run's data files: checkpoints, the log (`metrics.jsonl`), `config.json`,
`metrics.json` (before the optional spectra) and `spectrum.json`; `gamedyn
mnist` (`gamedyn.cli.mnist`) draws the figures. `docs/runs.md` says what
survives a kill, a corrupt file or a second process.

Keys: a seed gives four keys (`keys`): parameter initialisation, training
(step `t` uses `fold_in(train_key, t)`), the fixed evaluation batch of the logged
losses and the latents of the samples.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
import time
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import numpy as np

from gamedyn import dynamics as rules
from gamedyn import io, losses, optimizers, regularizers
from gamedyn import train as trainer
from gamedyn._validate import (
    check_choice,
    check_float,
    check_fraction,
    check_int,
    check_nonnegative,
    check_optional_int,
    check_positive,
)
from gamedyn.dynamics import Dynamics
from gamedyn.games.mnist import MODELS, ImageGAN, mnist_gan, sample_images
from gamedyn.models.classifier import Classifier, default_path, load_classifier

MNIST_TRAIN_SIZE = 60000
DEFAULT_WIDTH = {"mlp": 256, "dcgan": 64}

DEFAULT_STEPS = 40000
"""`gamedyn mnist`'s default budget: with `Config`'s defaults (R1 weight 1, Adam
5e-4, generator EMA 0.999) the MLP GAN reaches classifier FID 10.9 in 3 min 16 s
on 2 CPU cores (docs/mnist.md, "Defaults")."""
"""The players' width when `Config.width` is None
(`gamedyn.games.mnist.mnist_gan`'s defaults)."""
EXPERIMENT = "gamedyn.experiments.mnist"
"""Stored in every checkpoint's metadata, with the run's `Config`."""
CONFIG_NAME = "config.json"
"""The file of a run directory that holds its `Config`."""
METRICS_NAME = "metrics.json"
"""The evaluation of the final params (`Result.metrics`)."""
SPECTRUM_NAME = "spectrum.json"
"""The spectra at the checkpoints (`Result.spectra`)."""
SUMMARY_KEYS = ("loss_g", "loss_d", "fid", "inception_score", "modes")
"""The per-seed values whose mean and standard deviation `summarize` gives."""

Progress = Callable[[str, int, int, dict], None]
"""`progress(stage, done, total, info)`; see `run`."""


class Config(NamedTuple):
    """An MNIST GAN experiment (all static Python values).

    The defaults are the settings of docs/mnist.md's search ("Defaults"): the
    non-saturating GAN with R1 (weight 1), simultaneous Adam 5e-4 (`b1 = 0.5`) and
    samples from the generator's moving average (0.999); `DEFAULT_STEPS` of them
    give clean digits. Pass `regularizer="none", ema=0.0, lr_g=2e-4, lr_d=2e-4`
    for the plain GAN of earlier versions.

    Attributes:
      model: `"mlp"` or `"dcgan"` (`gamedyn.games.mnist.mnist_gan`).
      conditional: condition both players on the digit label.
      loss: a name of `gamedyn.losses.names`.
      regularizer: a name of `gamedyn.regularizers.names` (`"none"`,
        `"r1"`, `"r2"`, `"gp"`; default `"r1"`, Mescheder et al. 2018).
      gamma: the regularizer's weight (1).
      rule: a name of `gamedyn.dynamics.names`.
      rule_param: the rule's own number; None takes the registry's default
        (consensus `gamma` 1.0, SGA `lam` 1.0, CGD `eta` = `lr_g`, lookahead
        `alpha` 0.5 over *alternating* steps with period 5, unrolled steps 5).
        Before the registry `gamedyn mnist` used consensus `gamma` 0.1 and
        lookahead over simultaneous steps: pass `rule_param=0.1` to repeat the
        former.
      optimizer: a name of `gamedyn.optimizers.names` (`"adam"`).
      lr_g: the generator's learning rate (5e-4).
      lr_d: the discriminator's learning rate (5e-4).
      beta1: Adam's `beta1` (0.5).
      beta2: Adam's `beta2` (0.999).
      momentum: SGD's momentum (0; negative is negative momentum).
      batch_size: samples per step (64).
      latent_dim: the latent dimension (64).
      width: the players' width (None: MLP 256, DCGAN 64).
      instance_noise: std of the instance noise on the discriminator's inputs (0).
      generator_penalty: weight of the Nagarajan-Kolter gradient-norm penalty on
        the generator (0).
      ema: decay of the generator's moving average that samples and the FID use
        (0.999; `gamedyn.games.mnist.mnist_gan`; 0: none).
      seed: the run's seed (see `keys`).
      train_size: train on the first `train_size` MNIST training images (None:
        all 60,000).
      seeds: how many GANs of this configuration to train together, with the seeds
        `seed, seed + 1, ..., seed + seeds - 1`, as one vmapped program (sharded
        over the devices, `gamedyn.train.run_steps`). Seed `seed + i`
        of a run of several equals the 1-seed run with that seed to float
        rounding; `metrics.json` then holds each seed's evaluation and their
        mean and standard deviation (`summarize`).
    """

    model: str = "mlp"
    conditional: bool = False
    loss: str = "non_saturating"
    regularizer: str = "r1"
    gamma: float = 1.0
    rule: str = "simultaneous"
    rule_param: float | None = None
    optimizer: str = "adam"
    lr_g: float = 5e-4
    lr_d: float = 5e-4
    beta1: float = 0.5
    beta2: float = 0.999
    momentum: float = 0.0
    batch_size: int = 64
    latent_dim: int = 64
    width: int | None = None
    instance_noise: float = 0.0
    generator_penalty: float = 0.0
    ema: float = 0.999
    seed: int = 0
    train_size: int | None = None
    seeds: int = 1


def check(config: Config) -> None:
    """Validates a configuration.

    Raises:
      TypeError: on a value of the wrong type (the message starts with the field's
        name).
      ValueError: on a bad value (likewise).
    """
    if not isinstance(config, Config):
        raise TypeError(f"config: expected a Config, got {type(config).__name__}")
    check_choice("model", config.model, MODELS)
    if not isinstance(config.conditional, (bool, np.bool_)):
        raise TypeError(
            f"conditional: expected a bool, got {type(config.conditional).__name__}"
        )
    check_choice("loss", config.loss, losses.names())
    check_choice("regularizer", config.regularizer, regularizers.names())
    check_nonnegative("gamma", config.gamma)
    rules.get(config.rule).check(config.rule_param)
    check_choice("optimizer", config.optimizer, optimizers.names())
    check_positive("lr_g", config.lr_g)
    check_positive("lr_d", config.lr_d)
    check_fraction("beta1", config.beta1)
    check_fraction("beta2", config.beta2)
    check_float("momentum", config.momentum, minimum=-1.0, maximum=1.0)
    batch_size = check_int("batch_size", config.batch_size, 1)
    check_int("latent_dim", config.latent_dim, 1)
    check_optional_int("width", config.width, 1)
    check_nonnegative("instance_noise", config.instance_noise)
    check_nonnegative("generator_penalty", config.generator_penalty)
    check_float("ema", config.ema, minimum=0.0, maximum=1.0, exclusive_maximum=True)
    check_int("seed", config.seed, 0)
    check_optional_int("train_size", config.train_size, batch_size, MNIST_TRAIN_SIZE)
    check_int("seeds", config.seeds, 1)


def make_optimizers(config: Config) -> tuple[Any, Any]:
    """The `(generator, discriminator)` optax optimizers of `config`.

    Built by `gamedyn.optimizers.make` with `beta1`, `beta2`, `momentum`
    (each optimizer takes the options it knows) and, for the unrolled rule,
    `eps_root = 1e-12`: unrolling differentiates through the discriminator's Adam
    steps, where `sqrt(nu)` has an infinite derivative at `nu = 0` (a weight
    whose gradient is exactly 0, e.g. that of a label absent from the batch).
    """
    options = dict(
        beta1=config.beta1,
        beta2=config.beta2,
        momentum=config.momentum,
        eps_root=1e-12 if config.rule == "unrolled" else 0.0,
    )
    return (
        optimizers.make(config.optimizer, config.lr_g, **options),
        optimizers.make(config.optimizer, config.lr_d, **options),
    )


def make_dynamics(config: Config, game: Any) -> Dynamics:
    """The update rule of `config` on `game`:
    `gd.dynamics.get(rule)(game, make_optimizers(config), rule_param, lr=lr_g)`."""
    check(config)
    return rules.get(config.rule)(
        game, make_optimizers(config), config.rule_param, lr=config.lr_g
    )


def build(
    config: Config, data: tuple[Any, Any] | None = None
) -> tuple[ImageGAN, Dynamics]:
    """The `ImageGAN` and the update rule of `config`.

    Args:
      config: the experiment.
      data: `(images, labels)` to train on instead of the MNIST training set
        (uint8 `(N, 28, 28)` and `(N,)`); `train_size` applies to either.

    Returns:
      `(gan, dynamics)`.
    """
    check(config)
    if data is None:
        from gamedyn.data import load_mnist

        data = load_mnist("train")
    x, y = data
    if config.train_size is not None:
        x, y = x[: config.train_size], y[: config.train_size]
    gan = mnist_gan(
        config.model,
        conditional=bool(config.conditional),
        loss=config.loss,
        regularizer=regularizers.get(config.regularizer, config.gamma),
        batch_size=config.batch_size,
        instance_noise=config.instance_noise,
        generator_penalty=config.generator_penalty,
        ema=float(config.ema),
        latent_dim=config.latent_dim,
        width=config.width,
        data=(x, y),
    )
    return gan, make_dynamics(config, gan.game)


def keys(seed: int) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """`(init, train, eval-batch, samples)` keys of a seed."""
    k = jax.random.key(seed)
    return tuple(jax.random.fold_in(k, i) for i in range(4))


def start_state(gan: ImageGAN, dynamics: Dynamics, seed: int) -> trainer.TrainState:
    """The training state at step 0 of `seed`."""
    k_init, k_train, _, _ = keys(seed)
    params = gan.game.init(k_init)
    return trainer.init_state(dynamics, params, k_train, gan.init_state())


def seed_list(config: Config) -> tuple[int, ...]:
    """The seeds of `config`: `seed, ..., seed + seeds - 1`."""
    return tuple(range(config.seed, config.seed + config.seeds))


def start_states(
    gan: ImageGAN, dynamics: Dynamics, config: Config
) -> trainer.TrainState:
    """The training state at step 0 of `config`: `start_state` of its seed,
    or, with several seeds, theirs stacked (`gamedyn.train.stack_states`)."""
    if config.seeds == 1:
        return start_state(gan, dynamics, config.seed)
    return trainer.stack_states(
        [start_state(gan, dynamics, s) for s in seed_list(config)]
    )


def num_params(gan: ImageGAN) -> tuple[int, int]:
    """The generator's and the discriminator's parameter counts."""
    shapes = jax.eval_shape(gan.game.init, jax.random.key(0))
    return tuple(
        sum(math.prod(leaf.shape) for leaf in jax.tree.leaves(p)) for p in shapes
    )


def _finite(tree: Any) -> bool:
    return all(bool(np.all(np.isfinite(x))) for x in jax.tree.leaves(tree))


def evaluate(
    gan: ImageGAN,
    state: trainer.TrainState,
    seed: int,
    num_samples: int,
    classifier: Classifier | None,
) -> dict:
    """The players' losses on the fixed evaluation batch and, with `num_samples`,
    the classifier scores of that many samples at `state`.

    Returns:
      `{"step", "loss_g", "loss_d", "diverged"}` and, when `num_samples > 0`,
      `"fid"` (None when the params are not finite) and the other items of
      `gamedyn.metrics.classifier.evaluate` with `"fid_samples"`.
    """
    from gamedyn.metrics.classifier import evaluate as scores

    _, _, k_eval, k_samples = keys(seed)
    values = np.asarray(trainer.eval_losses(gan.game, state.params, k_eval))
    finite = _finite(state.params)
    out = {
        "step": int(state.step),
        "loss_g": float(values[0]),
        "loss_d": float(values[1]),
        "diverged": not finite,
    }
    if num_samples and not finite:
        out["fid"] = None
    if num_samples and finite:
        images = sample_images(
            gan, state.params, state.model_state, k_samples, num_samples
        )
        out.update(scores(classifier, images))
        out["fid_samples"] = num_samples
    return out


def samples(gan: ImageGAN, state: trainer.TrainState, seed: int) -> np.ndarray:
    """100 eval-mode samples `(100, 28, 28, 1)` in [-1, 1] from the fixed sample
    key; for a conditional GAN ordered so that row `i` of a 10 x 10 grid holds the
    digit `i`."""
    images = sample_images(gan, state.params, state.model_state, keys(seed)[3], 100)
    if gan.num_classes:  # sample j has label j % 10
        images = images.reshape(10, 10, 28, 28, 1).transpose(1, 0, 2, 3, 4)
        images = images.reshape(100, 28, 28, 1)
    return images


def rotation_share(eigenvalues: Any) -> float:
    """The imaginary part's share of eigenvalues: `sum |Im l| / sum |l|`.

    Berard et al. (2020) read rotation in a GAN's game Jacobian from the imaginary
    parts of its top-`k` eigenvalues; this is that reading as one number: 0 when
    the eigenvalues are real (no rotation), 1 when they are purely imaginary (pure
    rotation, as for the bilinear game). Of the top-`k` by magnitude it weighs
    each eigenvalue by its size.

    Args:
      eigenvalues: complex array, or `[[re, im], ...]` as in `spectra`.

    Returns:
      The share, in `[0, 1]` (NaN for no eigenvalues or all of them 0).
    """
    lam = np.asarray(eigenvalues)
    if not np.iscomplexobj(lam) and lam.ndim == 2 and lam.shape[-1] == 2:
        lam = lam[:, 0] + 1j * lam[:, 1]
    lam = np.ravel(lam).astype(np.complex128)
    total = float(np.sum(np.abs(lam)))
    return float(np.sum(np.abs(lam.imag)) / total) if total > 0 else float("nan")


def spectra(
    gan: ImageGAN,
    directory: str,
    k: int,
    seed: int | tuple[int, ...],
    like: trainer.TrainState,
    progress: Callable[[int, int], None] | None = None,
) -> list[dict]:
    """Top-`k` spectra at every checkpoint of `directory` (Berard et al. 2020).

    For each checkpoint with finite params: the `k` eigenvalues of the game
    Jacobian of largest magnitude (`which="LM"`) and of largest imaginary part
    (`which="LI"`: the rotation), the imaginary part's share of the former
    (`rotation_share`), and the `k` largest and smallest eigenvalues of each
    player's Hessian, on the fixed evaluation batch, matrix-free
    (`gamedyn.analysis.top_eigenvalues`,
    `gamedyn.analysis.top_hessian_eigenvalues`). Checkpoints that are corrupt
    (a `gamedyn.io.RunWarning`), hold non-finite params or where ARPACK
    fails are left out (`run` says why in `spectrum_skipped`).

    Args:
      gan: the game.
      directory: the run directory.
      k: eigenvalues per spectrum, `1 <= k <` each player's parameter count.
      seed: the run's seed (its evaluation key), or the seeds of a run of several
        (`seed_list`): then every checkpoint gives one record per seed.
      like: a state of the run's structure (`start_states`).
      progress: `progress(done, total)` after each checkpoint.

    Returns:
      `[{"step", "jacobian": [[re, im], ...], "jacobian_imag": [[re, im], ...],
      "rotation", "hessian_g_top", "hessian_g_bottom", "hessian_d_top",
      "hessian_d_bottom"}, ...]` by step (and `"seed"` for several seeds, by
      step then seed). `"jacobian_imag"` is `[]`, with `"li_missed": True`
      and a `gamedyn.analysis.SpectrumWarning`, when ARPACK's `"LI"` returned
      only real eigenvalues: the rotation was probably missed, not absent.
    """
    return _spectra(gan, directory, k, seed, like, progress)[0]


def _spectrum(gan: ImageGAN, params: Any, k: int, key: jax.Array) -> dict:
    """One checkpoint's spectra (see `spectra`)."""
    from gamedyn.analysis import (
        SpectrumWarning,
        top_eigenvalues,
        top_hessian_eigenvalues,
    )

    lam = top_eigenvalues(gan.game, params, k, key=key, which="LM")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SpectrumWarning)
        rot = top_eigenvalues(gan.game, params, k, key=key, which="LI")
    missed = [w for w in caught if issubclass(w.category, SpectrumWarning)]
    for w in caught:  # others as they came
        if w not in missed:
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    rec = {
        "jacobian": [[float(z.real), float(z.imag)] for z in lam],
        # ARPACK's LI answer when it is trusted; [] when it returned only real
        # eigenvalues of this non-symmetric Jacobian (SpectrumWarning).
        "jacobian_imag": []
        if missed
        else [[float(z.real), float(z.imag)] for z in rot],
        "rotation": rotation_share(lam),
    }
    if missed:
        rec["li_missed"] = True
        warnings.warn(missed[0].message, SpectrumWarning, stacklevel=2)
    for p, name in enumerate(("g", "d")):
        for which, end in (("LA", "top"), ("SA", "bottom")):
            h = top_hessian_eigenvalues(gan.game, params, k, p, key=key, which=which)
            rec[f"hessian_{name}_{end}"] = [float(v) for v in h]
    return rec


def _spectra(gan, directory, k, seed, like, progress) -> tuple[list[dict], list[str]]:
    """`spectra`'s records and the reasons of the checkpoints left out."""
    from scipy.sparse.linalg import ArpackError

    several = not isinstance(seed, (int, np.integer))
    seeds = tuple(seed) if several else (seed,)
    out, skipped = [], []
    ckpts = io.list_checkpoints(directory)
    for i, (step, path) in enumerate(ckpts):
        try:
            st = io.load_checkpoint(path, like)
        except io.CorruptCheckpointError as e:
            warnings.warn(f"{e}; no spectrum there", io.RunWarning, stacklevel=3)
            skipped.append(f"step {step}: corrupt checkpoint")
            st = None
        for j, sd in enumerate(seeds if st is not None else ()):
            one = trainer.select_run(st, j) if several else st
            where = f"step {step}" + (f", seed {sd}" if several else "")
            if not _finite(one.params):
                skipped.append(f"{where}: params not finite")
                continue
            try:
                rec = _spectrum(gan, one.params, k, keys(sd)[2])
            except ArpackError as e:
                skipped.append(f"{where}: ARPACK failed ({' '.join(str(e).split())})")
                continue
            out.append({"step": step, **({"seed": sd} if several else {}), **rec})
        if progress is not None:
            progress(i + 1, len(ckpts))
    return out, skipped


def summarize(per_seed: Sequence[dict]) -> dict:
    """The mean and standard deviation over seeds of their evaluations.

    Args:
      per_seed: one `evaluate` dict per seed (with `"seed"`).

    Returns:
      `{"mean": {name: value}, "std": {name: value}, "num_seeds", "diverged_seeds"}`
      over `SUMMARY_KEYS` present; each statistic is over the seeds whose
      value is a finite number (a diverged seed has none: it is listed in
      `"diverged_seeds"` and left out), the standard deviation with `ddof=1`
      (None with fewer than two values, the mean None with none).
    """
    mean, std = {}, {}
    for name in SUMMARY_KEYS:
        if not any(name in m for m in per_seed):
            continue
        values = np.array(
            [
                m[name]
                for m in per_seed
                if isinstance(m.get(name), (int, float, np.number))
                and np.isfinite(m[name])
            ],
            float,
        )
        mean[name] = float(values.mean()) if values.size else None
        std[name] = float(values.std(ddof=1)) if values.size > 1 else None
    return {
        "mean": mean,
        "std": std,
        "num_seeds": len(per_seed),
        "diverged_seeds": [m["seed"] for m in per_seed if m.get("diverged")],
    }


class Result(NamedTuple):
    """What `run` returns.

    Attributes:
      state: the final `TrainState` (at `target_step`, or
        earlier when the params diverged); with several seeds, of all of them
        (`gamedyn.train.select_run` takes one out).
      metrics: `evaluate`'s dict with `"train_seconds"`, `"config"`,
        `"classifier_test_accuracy"` (when a classifier was used),
        `"diverged_step"` (when training diverged) and, with spectra,
        `"spectrum_steps"` (the checkpoints with a spectrum) and
        `"spectrum_skipped"` (why spectra were left out: the run diverged, or a
        checkpoint's reason), as written to `metrics.json`. With several seeds:
        `"step"`, `"seeds"`, `"per_seed"` (each seed's `evaluate`
        dict with `"seed"` and its `"diverged_step"`), `summarize`'s
        `"mean"`, `"std"`, `"num_seeds"` and `"diverged_seeds"`,
        `"diverged"` (all seeds diverged) and the items above. Empty in the
        processes other than process 0 of a multi-process run.
      samples: `samples` at the final state, `(100, 28, 28, 1)`; with
        several seeds one grid per seed, `(seeds, 100, 28, 28, 1)`.
      spectra: `spectra`'s records (`[]` without `spectrum`).
      resumed_from: the step of the checkpoint the run resumed from; None when it
        started at step 0.
    """

    state: trainer.TrainState
    metrics: dict
    samples: np.ndarray
    spectra: list[dict]
    resumed_from: int | None


def resolved(config: Config) -> Config:
    """`config` with each None that stands for a default replaced by the default.

    `width` (MLP 256, DCGAN 64), `rule_param` (the registry's default; CGD's
    `eta` is `lr_g`; an integer number as `int`) and `train_size` (60,000).
    Two configurations train the same run exactly when their resolved forms are
    equal: `Config(width=256)` is the default MLP.
    """
    check(config)
    rule = rules.get(config.rule)
    param = rule.check(config.rule_param)
    if param is None and rule.param is not None:  # a default that is the rate
        param = config.lr_g
    return config._replace(
        width=DEFAULT_WIDTH[config.model] if config.width is None else config.width,
        rule_param=param,
        train_size=(
            MNIST_TRAIN_SIZE if config.train_size is None else config.train_size
        ),
    )


def _settings(data: Any, where: str) -> Config:
    """The `Config` stored in `where` (`config.json`, a checkpoint)."""
    if not isinstance(data, dict) or not set(data) <= set(Config._fields):
        raise ValueError(
            f"out_dir: {where} does not hold the settings of a gamedyn mnist run "
            "(another program's file?); use another directory"
        )
    try:  # runs from before the `ema` field had none
        return resolved(Config(**{"ema": 0.0, **data}))
    except (TypeError, ValueError) as e:
        raise ValueError(
            f"out_dir: {where} holds invalid settings ({e}); use another directory"
        ) from None


def _compare(out_dir: str, stored: Config, config: Config) -> None:
    """Refuses a run directory whose run has other (resolved) settings."""
    for name, old in stored._asdict().items():
        new = getattr(config, name)
        if old != new:
            raise ValueError(
                f"out_dir: {out_dir} holds a run with {name}={old!r}, this one has "
                f"{name}={new!r}; resume with the same settings or use another "
                "directory"
            )


def _check_files(out_dir: str, config: Config) -> dict | None:
    """Checks that `config.json` and `metrics.json` of `out_dir` (when
    present) hold `config`'s settings (resolved); returns the stored
    `config.json`, or None."""
    stored = None
    for name in (METRICS_NAME, CONFIG_NAME):
        path = os.path.join(out_dir, name)
        if not os.path.isfile(path):
            continue
        try:
            data = io.read_json(path)
        except ValueError:
            data = None
        if name == METRICS_NAME:  # the settings are its "config"
            data = data.get("config") if isinstance(data, dict) else None
        else:
            stored = data
        _compare(out_dir, _settings(data, path), config)
    return stored


def _load_classifier(classifier: Any, progress: Progress | None) -> Classifier:
    if isinstance(classifier, Classifier):
        return classifier
    path = None if classifier is None else os.fspath(classifier)
    cache = path or default_path()
    report = None
    if progress is not None:

        def report(done: int, total: int) -> None:
            progress("classifier", done, total, {"path": cache})

    return load_classifier(path, progress=report)


def _prepare(
    out_dir: str, config: Config, target_step: int
) -> tuple[tuple[int, str, Any] | None, list[dict]]:
    """Checks a locked run directory for `run` and writes `config.json` when
    it is missing; returns the newest good checkpoint and the log."""
    mine = resolved(config)
    stored = _check_files(out_dir, mine)
    io.repair_log(out_dir)
    log = io.read_log(out_dir)
    reached = max(
        [s for s, _ in io.list_checkpoints(out_dir)]
        + [r["step"] for r in log if isinstance(r.get("step"), int)]
        + [0]
    )
    if reached > target_step:
        raise ValueError(
            f"target_step: {out_dir} holds a run that reached step {reached}, after "
            f"step {target_step}; continue it to step {reached} or later, or use "
            "another directory (nothing was changed)"
        )
    found = io.newest_good_checkpoint(out_dir)
    if found is not None:
        meta = found[2] if isinstance(found[2], dict) else {}
        if meta.get("experiment") != EXPERIMENT:
            raise ValueError(
                f"out_dir: {found[1]} was not written by gamedyn mnist; use another "
                "directory"
            )
        _compare(out_dir, _settings(meta.get("config"), found[1]), mine)
        stored = stored or meta["config"]
    if not os.path.isfile(os.path.join(out_dir, CONFIG_NAME)):
        io.write_json(os.path.join(out_dir, CONFIG_NAME), stored or config._asdict())
    return found, log


@functools.lru_cache(maxsize=8)
def _build(config: Config) -> tuple[ImageGAN, Dynamics]:
    """`build` on MNIST, cached by the resolved configuration: runs of one
    configuration in a process (a resume, a repeated run) share the game and its
    compiled programs."""
    return build(config)


def _first_diverged(log: list[dict], upto: int, n: int) -> list[int]:
    """Each seed's first diverged step in the log records up to step `upto`
    (-1 where none)."""
    first = [-1] * n
    for r in log:
        step, d = r.get("step"), r.get("diverged_step")
        if not isinstance(step, int) or step > upto or d is None:
            continue
        for i, v in enumerate(d if isinstance(d, list) else [d]):
            if isinstance(v, int) and v >= 0 and first[i] < 0:
                first[i] = v
    return first


def _broadcast(value: Any) -> Any:
    """Process 0's `value` on every process of a multi-process run."""
    from jax.experimental import multihost_utils

    return multihost_utils.broadcast_one_to_all(value)


def run(
    config: Config,
    out_dir: str,
    *,
    target_step: int,
    chunk: int = 100,
    unroll: bool = False,
    checkpoint_every: int | None = 1000,
    keep: int | None = 5,
    log_every: int | None = None,
    fid_samples: int = 10000,
    fid_every: int = 0,
    fid_log_samples: int = 2000,
    classifier: Classifier | str | None = None,
    spectrum: int = 0,
    progress: Progress | None = None,
    devices: Sequence[jax.Device] | None = None,
) -> Result:
    """Trains the GAN of `config` in `out_dir` until `target_step`; evaluates.

    Every argument is checked before any work (`spectrum` against the players'
    parameter counts). Then, holding `out_dir`'s lock
    (`gamedyn.io.lock_directory`) for the whole run, it checks the directory:
    `config.json`, `metrics.json` and the settings stored in the newest good
    checkpoint must be this run's (compared resolved, `resolved`; an explicit
    default equals the default), and a run there must not have got past
    `target_step`. It resumes from the newest good checkpoint (corrupt ones are
    passed over with a `gamedyn.io.RunWarning`; bitwise the unbroken run:
    see `gamedyn.train.train`), writes `config.json` when it is missing
    (from the checkpoint's settings), trains with checkpoints (each with the
    settings) and the log, evaluates the final params and writes `metrics.json`;
    then, with `spectrum`, computes the spectra (skipped, with the reason in
    `spectrum_skipped`, when the run diverged), writes `spectrum.json` and adds
    `spectrum_steps` to `metrics.json`.

    With `config.seeds > 1` the seeds train together as one program
    (`gamedyn.train.train` on `start_states`), split over `devices`;
    the log's records and the checkpoints hold every seed, each seed is evaluated
    on its own keys (`keys`), and `metrics.json` holds them and their mean
    and standard deviation (`summarize`). A seed that diverges keeps NaN
    params while the others train on.

    Under `jax.distributed` (after `gamedyn.distributed.initialize`)
    every process makes the same call: process 0 holds the lock, checks the
    directory, reads the checkpoint and sends the starting state to the others,
    and only it writes files and evaluates; the seeds are split over the devices
    of all processes (`seeds` a multiple of their count; one seed is trained by
    every process alike). The other processes return a `Result` with the
    final state and empty `metrics`.

    Args:
      config: the experiment.
      out_dir: the run directory (created when absent).
      target_step: the run's total length in steps (>= 0).
      chunk: steps per compiled scan.
      unroll: unroll each chunk (faster DCGANs on CPU; use a small `chunk`).
      checkpoint_every: steps between checkpoints (None: only at the end).
      keep: checkpoints kept (None: all).
      log_every: steps between log records (default `chunk`).
      fid_samples: samples of the final FID (0 skips the classifier scores).
      fid_every: also log an FID every this many steps (0: never).
      fid_log_samples: samples of each logged FID (>= 2).
      classifier: a `Classifier`, the path of a classifier
        file, or None for the cached default (trained on first use, about two
        minutes); used only when `fid_samples` or `fid_every`.
      spectrum: `k` of the spectra at every checkpoint (0: none); less than each
        player's parameter count.
      progress: `progress(stage, done, total, info)`: `("resume", step,
        target_step, {"path"})` once when resuming; `("classifier", done, total,
        {"path"})` while the default classifier trains; `("train", step,
        target_step, record)` after each chunk (`record` as logged: the
        losses, and `"diverged_step"` when the params diverged); `("spectra",
        done, total, {})` after each checkpoint's spectra.
      devices: the devices that share the seeds of a run of several
        (`gamedyn.train.run_steps`); default `jax.local_devices`, and
        `jax.devices` (every process's) under `jax.distributed`.

    Returns:
      A `Result`.

    Raises:
      ValueError: on a bad argument (naming it); a directory with another run's
        settings or another program's `config.json`/`metrics.json`; a run
        there past `target_step`; checkpoints of which none is good
        (`gamedyn.io.CorruptCheckpointError`); seeds that do not split
        over the devices of several processes.
      DirectoryLockedError: (an `OSError`) when another process holds
        `out_dir`'s lock.
      RuntimeError: in the other processes of a multi-process run, when process 0
        stopped with one of these errors.
    """
    check(config)
    target_step = check_int("target_step", target_step, 0)
    chunk = check_int("chunk", chunk, 1)
    checkpoint_every = check_optional_int("checkpoint_every", checkpoint_every, 1)
    keep = check_optional_int("keep", keep, 1)
    log_every = check_optional_int("log_every", log_every, 1) or chunk
    fid_samples = check_int("fid_samples", fid_samples, 0)
    if fid_samples == 1:
        raise ValueError("fid_samples: expected 0 or an integer >= 2, got 1")
    fid_every = check_int("fid_every", fid_every, 0)
    fid_log_samples = check_int("fid_log_samples", fid_log_samples, 2)
    spectrum = check_int("spectrum", spectrum, 0)
    if not isinstance(unroll, (bool, np.bool_)):
        raise TypeError(f"unroll: expected a bool, got {type(unroll).__name__}")
    if progress is not None and not callable(progress):
        raise TypeError(f"progress: expected a callable, got {type(progress).__name__}")
    if classifier is not None and not isinstance(
        classifier, (Classifier, str, os.PathLike)
    ):
        raise TypeError(
            "classifier: expected a Classifier, a file path or None, got "
            f"{type(classifier).__name__}"
        )
    if isinstance(classifier, (str, os.PathLike)) and not os.path.isfile(classifier):
        raise ValueError(f"classifier: no classifier file at {os.fspath(classifier)}")
    out_dir = os.fspath(out_dir)
    if os.path.exists(out_dir) and not os.path.isdir(out_dir):
        raise ValueError(f"out_dir: {out_dir} exists and is not a directory")
    multi = jax.process_count() > 1
    writer = jax.process_index() == 0
    if devices is None:
        devices = jax.devices() if multi else jax.local_devices()
    devices = tuple(devices)
    if not devices or not all(isinstance(d, jax.Device) for d in devices):
        raise ValueError(
            f"devices: expected a non-empty sequence of jax devices, got {devices!r}"
        )
    processes = len({d.process_index for d in devices})
    if config.seeds > 1 and processes > 1 and config.seeds % len(devices):
        raise ValueError(
            f"seeds: expected a multiple of the {len(devices)} devices of the "
            f"{processes} processes, got {config.seeds}"
        )
    gan, dyn = _build(resolved(config))
    if spectrum:
        smallest = min(num_params(gan))
        if spectrum >= smallest:
            raise ValueError(
                f"spectrum: expected an integer < {smallest} (the smaller player's "
                f"parameter count), got {spectrum}"
            )
    seeds = seed_list(config)
    with contextlib.ExitStack() as stack:
        found, log, clf, failure = None, [], None, None
        if writer:
            try:
                stack.enter_context(
                    io.lock_directory(out_dir, name="out_dir", command="gamedyn mnist")
                )
                found, log = _prepare(out_dir, config, target_step)
                if fid_samples or fid_every:
                    clf = _load_classifier(classifier, progress)
            except BaseException as e:  # the others learn of it, then it is raised
                failure = e
        if multi and int(_broadcast(np.int32(failure is not None))):
            if failure is not None:
                raise failure
            raise RuntimeError(
                "process 0 stopped the run before training (its error says why)"
            )
        if failure is not None:
            raise failure
        like = start_states(gan, dyn, config)
        state, resumed_from = like, None
        if found is not None:
            resumed_from, path, _ = found
            state = io.load_checkpoint(path, like)
            if progress is not None:
                progress("resume", resumed_from, target_step, {"path": path})
        if multi:
            start, resumed = _broadcast(
                (trainer.host_state(state), np.int32(-1 if found is None else found[0]))
            )
            state = trainer.TrainState(*start)
            resumed_from = None if int(resumed) < 0 else int(resumed)

        several = config.seeds > 1
        all_keys = [keys(s) for s in seeds]
        k_eval = all_keys[0][2]
        if several:
            k_eval = jax.numpy.stack([k[2] for k in all_keys])
        callback = None
        if fid_every:
            log_every = math.gcd(log_every, fid_every)
            from gamedyn.metrics.classifier import mnist_fid

            def callback(st: trainer.TrainState) -> dict | None:
                if int(st.step) % fid_every:
                    return None
                if several:
                    st = trainer.host_state(st)  # a collective under jax.distributed
                if not writer:
                    return None
                fids = []
                for i, k in enumerate(all_keys):
                    one = trainer.select_run(st, i) if several else st
                    imgs = sample_images(
                        gan, one.params, one.model_state, k[3], fid_log_samples
                    )
                    fids.append(mnist_fid(clf, imgs) if _finite(one.params) else None)
                return {"fid": fids if several else fids[0]}

        diverged: list[int] = []
        fresh: list[dict] = []

        def on_chunk(step: int, record: dict) -> None:
            if "diverged_step" in record:
                diverged.append(record["diverged_step"])
                fresh.append(record)
            if progress is not None:
                progress("train", step, target_step, record)

        t0 = time.perf_counter()
        if several:
            past = _first_diverged(log, resumed_from or 0, config.seeds)
            finite = [
                _finite(trainer.select_run(state, i).params) for i in range(len(seeds))
            ]
        else:
            finite = [_finite(state.params)]
        if not any(finite):  # a diverged run's last checkpoint: no steps
            if not several:
                diverged += [r["diverged_step"] for r in log if "diverged_step" in r][
                    -1:
                ]
        else:
            state = trainer.train(
                dyn,
                state,
                target_step,
                game=gan.game,
                update_state=gan.update_state,
                eval_key=k_eval,
                out_dir=out_dir if writer else None,
                log_every=log_every,
                callback=callback,
                progress=on_chunk,
                chunk=chunk,
                unroll=True if unroll else 1,
                checkpoint_every=checkpoint_every,
                keep=keep,
                metadata={"experiment": EXPERIMENT, "config": config._asdict()},
                devices=devices,
            )
        seconds = time.perf_counter() - t0
        if several:
            state = trainer.host_state(state)  # a collective under jax.distributed
        if not writer:
            return Result(state, {}, np.zeros((0,)), [], resumed_from)

        if several:
            first = _first_diverged(fresh, target_step, config.seeds)
            first = [p if p >= 0 else f for p, f in zip(past, first)]
            per = []
            for i, sd in enumerate(seeds):
                m = evaluate(gan, trainer.select_run(state, i), sd, fid_samples, clf)
                m["seed"] = sd
                if first[i] >= 0:
                    m["diverged_step"] = first[i]
                per.append(m)
            metrics = {
                "step": int(state.step),
                "seeds": list(seeds),
                **summarize(per),
                "diverged": all(m["diverged"] for m in per),
                "per_seed": per,
            }
            images = np.stack(
                [
                    samples(gan, trainer.select_run(state, i), sd)
                    for i, sd in enumerate(seeds)
                ]
            )
        else:
            metrics = evaluate(gan, state, config.seed, fid_samples, clf)
            if diverged:
                metrics["diverged_step"] = diverged[0]
            images = samples(gan, state, config.seed)
        metrics["train_seconds"] = round(seconds, 3)
        if clf is not None:
            metrics["classifier_test_accuracy"] = clf.test_accuracy
        metrics["config"] = config._asdict()
        metrics_path = os.path.join(out_dir, METRICS_NAME)
        io.write_json(metrics_path, metrics)  # before the optional analysis
        records: list[dict] = []
        if spectrum:
            if several and metrics["diverged"]:
                metrics["spectrum_skipped"] = "every seed diverged: no spectra"
            elif not several and (metrics["diverged"] or diverged):
                metrics["spectrum_skipped"] = (
                    f"the run diverged at step {(diverged or ['?'])[0]}: no spectra"
                )
            else:
                report = None
                if progress is not None:

                    def report(done: int, total: int) -> None:
                        progress("spectra", done, total, {})

                records, skipped = _spectra(
                    gan,
                    out_dir,
                    spectrum,
                    seeds if several else config.seed,
                    like,
                    report,
                )
                if skipped:
                    metrics["spectrum_skipped"] = "; ".join(skipped)
            metrics["spectrum_steps"] = sorted({r["step"] for r in records})
            io.write_json(os.path.join(out_dir, SPECTRUM_NAME), records)
            io.write_json(metrics_path, metrics)
        return Result(state, metrics, images, records, resumed_from)

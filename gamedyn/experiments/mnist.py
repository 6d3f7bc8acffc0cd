"""``gamedyn mnist``: train an MNIST GAN with checkpoints, evaluate it, its spectra.

``gamedyn mnist --steps N --out DIR [options]`` trains (resuming from the newest
checkpoint in ``DIR`` when there is one: the result equals an unbroken run of ``N``
steps), then writes ``DIR/metrics.json`` (step, the players' losses on a fixed
evaluation batch at the final params, classifier FID on ``--fid-samples`` samples,
Inception Score, per-class counts), ``DIR/samples.png``, ``DIR/metrics.jsonl`` (the
log) and ``DIR/config.json``. With ``--spectrum K`` it also computes, at every
checkpoint in ``DIR``, the top-``K`` eigenvalues of the game Jacobian and of each
player's Hessian (matrix-free, :mod:`gamedyn.analysis`) and plots them as Berard et
al. (2020) do: ``DIR/spectrum.json`` and ``DIR/spectrum.png``.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from gamedyn import dynamics as rules
from gamedyn import regularizers
from gamedyn import train as trainer
from gamedyn.games.mnist import MODELS, ImageGAN, mnist_gan, sample_images
from gamedyn.losses import names as loss_names

RULES = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "consensus",
    "sga",
    "lookahead",
    "unrolled",
)
REGULARIZERS = ("none", "r1", "r2", "gp")
OPTIMIZERS = ("adam", "sgd", "rmsprop")
STATIC_KEYS = (
    "model",
    "conditional",
    "loss",
    "regularizer",
    "gamma",
    "rule",
    "rule_param",
    "optimizer",
    "lr_g",
    "lr_d",
    "beta1",
    "beta2",
    "batch_size",
    "latent_dim",
    "width",
    "instance_noise",
    "generator_penalty",
    "seed",
    "train_size",
)
"""The settings a run's checkpoints depend on (a resumed run must repeat them)."""


class Config(NamedTuple):
    """An MNIST GAN experiment (all static Python values)."""

    model: str = "mlp"
    conditional: bool = False
    loss: str = "non_saturating"
    regularizer: str = "none"
    gamma: float = 10.0
    rule: str = "simultaneous"
    rule_param: float | None = None
    optimizer: str = "adam"
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    batch_size: int = 64
    latent_dim: int = 64
    width: int | None = None
    instance_noise: float = 0.0
    generator_penalty: float = 0.0
    seed: int = 0
    train_size: int | None = None


def check(cfg: Config) -> None:
    """Validates a configuration (ValueError naming the bad option)."""
    choices = {
        "model": MODELS,
        "loss": loss_names(),
        "regularizer": REGULARIZERS,
        "rule": RULES,
        "optimizer": OPTIMIZERS,
    }
    for name, allowed in choices.items():
        if getattr(cfg, name) not in allowed:
            raise ValueError(
                f"--{name.replace('_', '-')}: expected one of {tuple(allowed)}, got "
                f"{getattr(cfg, name)!r}"
            )
    for name in ("lr_g", "lr_d"):
        if not getattr(cfg, name) > 0:
            raise ValueError(f"--{name.replace('_', '-')}: expected a positive number")
    for name in ("gamma", "instance_noise", "generator_penalty"):
        if getattr(cfg, name) < 0:
            raise ValueError(
                f"--{name.replace('_', '-')}: expected a non-negative number"
            )
    for name in ("beta1", "beta2"):
        if not 0 <= getattr(cfg, name) < 1:
            raise ValueError(f"--{name}: expected a number in [0, 1)")
    for name in ("batch_size", "latent_dim", "width", "train_size"):
        v = getattr(cfg, name)
        if v is not None and v < 1:
            raise ValueError(f"--{name.replace('_', '-')}: expected a positive integer")
    if cfg.train_size is not None and not cfg.batch_size <= cfg.train_size <= 60000:
        raise ValueError("--train-size: expected an integer in [batch size, 60000]")


def _optimizer(cfg: Config, lr: float) -> optax.GradientTransformation:
    if cfg.optimizer == "adam":
        # Unrolled GANs differentiate through the discriminator's Adam steps, where
        # sqrt(nu) has an infinite derivative at nu = 0 (a parameter whose gradient
        # is exactly 0, e.g. the weight of a label absent from the batch): eps_root
        # keeps that derivative finite.
        eps_root = 1e-12 if cfg.rule == "unrolled" else 0.0
        return optax.adam(lr, b1=cfg.beta1, b2=cfg.beta2, eps_root=eps_root)
    if cfg.optimizer == "sgd":
        return optax.sgd(lr)
    return optax.rmsprop(lr)


def build(cfg: Config) -> tuple[ImageGAN, Any]:
    """The :class:`~gamedyn.games.mnist.ImageGAN` and the update rule of ``cfg``.

    ``rule_param`` is the rule's own number: consensus ``gamma`` (default 0.1), SGA
    ``lambda`` (1), lookahead ``alpha`` over simultaneous steps with period 5 (0.5),
    unrolled steps (5).
    """
    check(cfg)
    from gamedyn.data import load_mnist

    x, y = load_mnist("train")
    if cfg.train_size is not None:
        x, y = x[: cfg.train_size], y[: cfg.train_size]
    reg = {
        "none": None,
        "r1": lambda: regularizers.r1(cfg.gamma),
        "r2": lambda: regularizers.r2(cfg.gamma),
        "gp": lambda: regularizers.gradient_penalty(cfg.gamma),
    }[cfg.regularizer]
    gan = mnist_gan(
        cfg.model,
        conditional=cfg.conditional,
        loss=cfg.loss,
        regularizer=reg() if reg else None,
        batch_size=cfg.batch_size,
        instance_noise=cfg.instance_noise,
        generator_penalty=cfg.generator_penalty,
        latent_dim=cfg.latent_dim,
        width=cfg.width,
        data=(x, y),
    )
    return gan, make_dynamics(cfg, gan.game)


def make_dynamics(cfg: Config, game) -> Any:
    """The update rule of ``cfg`` on ``game``, with ``(G, D)`` optimizers of rates
    ``(lr_g, lr_d)``; ``rule_param`` as in :func:`build`."""
    check(cfg)
    opt = (_optimizer(cfg, cfg.lr_g), _optimizer(cfg, cfg.lr_d))
    p = cfg.rule_param
    if cfg.rule == "consensus":
        return rules.consensus(game, opt, 0.1 if p is None else p)
    if cfg.rule == "sga":
        return rules.sga(game, opt, 1.0 if p is None else p)
    if cfg.rule == "lookahead":
        return rules.lookahead(
            rules.simultaneous(game, opt), 5, 0.5 if p is None else p
        )
    if cfg.rule == "unrolled":
        return rules.unrolled(game, opt, 5 if p is None else int(p))
    return getattr(rules, cfg.rule)(game, opt)


def keys(seed: int) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    """``(init, train, eval-batch, samples)`` keys of a seed."""
    k = jax.random.key(seed)
    return tuple(jax.random.fold_in(k, i) for i in range(4))


def start_state(gan: ImageGAN, dyn, seed: int) -> trainer.TrainState:
    """The training state at step 0 of ``seed``."""
    k_init, k_train, _, _ = keys(seed)
    params = gan.game.init(k_init)
    return trainer.init_state(dyn, params, k_train, gan.init_state())


def save_samples(
    path: str, images: np.ndarray, nrow: int = 10, title: str = ""
) -> None:
    """Saves a grid of images (``(n, 28, 28[, 1])`` in [-1, 1]) as a PNG."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    from gamedyn.plotting.mnist import plot_samples

    fig, ax = plt.subplots(figsize=(6, 6))
    plot_samples(images, nrow=nrow, ax=ax, title=title)
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)


def evaluate(
    gan: ImageGAN,
    state: trainer.TrainState,
    seed: int,
    num_samples: int,
    classifier,
) -> dict:
    """Losses on the fixed evaluation batch, FID, IS and class counts at ``state``."""
    from gamedyn.metrics import classifier as clf_metrics

    _, _, k_eval, k_samples = keys(seed)
    losses = np.asarray(jax.jit(gan.game.losses)(state.params, k_eval))
    out = {
        "step": int(state.step),
        "loss_g": float(losses[0]),
        "loss_d": float(losses[1]),
    }
    finite = all(bool(np.all(np.isfinite(x))) for x in jax.tree.leaves(state.params))
    out["diverged"] = not finite
    if num_samples and not finite:
        out["fid"] = None
    if num_samples and finite:
        images = sample_images(
            gan, state.params, state.model_state, k_samples, num_samples
        )
        out.update(clf_metrics.evaluate(images, classifier))
        out["fid_samples"] = num_samples
    return out


def _config_from_args(args) -> Config:
    return Config(
        model=args.model,
        conditional=args.conditional,
        loss=args.loss,
        regularizer=args.regularizer,
        gamma=args.gamma,
        rule=args.rule,
        rule_param=args.rule_param,
        optimizer=args.optimizer,
        lr_g=args.lr_g if args.lr_g is not None else args.lr,
        lr_d=args.lr_d if args.lr_d is not None else args.lr,
        beta1=args.beta1,
        beta2=args.beta2,
        batch_size=args.batch_size,
        latent_dim=args.latent_dim,
        width=args.width,
        instance_noise=args.instance_noise,
        generator_penalty=args.generator_penalty,
        seed=args.seed,
        train_size=args.train_size,
    )


def _check_resume(out: str, cfg: Config) -> None:
    path = os.path.join(out, "config.json")
    if not os.path.isfile(path):
        return
    with open(path) as f:
        old = json.load(f)
    for k in STATIC_KEYS:
        if k in old and old[k] != getattr(cfg, k):
            raise ValueError(
                f"--out: {out} holds a run with {k}={old[k]!r}, this one has "
                f"{k}={getattr(cfg, k)!r}; resume with the same settings or use "
                "another --out"
            )


def spectra(
    gan: ImageGAN,
    directory: str,
    k: int,
    seed: int,
    like: trainer.TrainState,
    progress: bool = True,
) -> list[dict]:
    """Top-``k`` spectra at every checkpoint of ``directory`` (Berard et al. 2020).

    For each checkpoint: the ``k`` eigenvalues of largest magnitude of the game
    Jacobian and the ``k`` largest and smallest eigenvalues of each player's Hessian,
    on the fixed evaluation batch, matrix-free
    (:func:`gamedyn.analysis.top_eigenvalues`,
    :func:`gamedyn.analysis.top_hessian_eigenvalues`).

    Returns:
      ``[{"step", "jacobian": [[re, im], ...], "hessian_g_top", "hessian_g_bottom",
      "hessian_d_top", "hessian_d_bottom"}, ...]`` by step.
    """
    from tqdm.auto import tqdm

    from gamedyn.analysis import top_eigenvalues, top_hessian_eigenvalues

    _, _, k_eval, _ = keys(seed)
    out = []
    ckpts = trainer.list_checkpoints(directory)
    for step, path in tqdm(ckpts, disable=not progress, desc="spectra"):
        st = trainer.load_checkpoint(path, like)
        lam = top_eigenvalues(gan.game, st.params, k, k_eval, "LM")
        rec = {"step": step, "jacobian": [[float(z.real), float(z.imag)] for z in lam]}
        for i, name in enumerate(("g", "d")):
            for which, end in (("LA", "top"), ("SA", "bottom")):
                h = top_hessian_eigenvalues(gan.game, st.params, k, i, k_eval, which)
                rec[f"hessian_{name}_{end}"] = [float(v) for v in h]
        out.append(rec)
    return out

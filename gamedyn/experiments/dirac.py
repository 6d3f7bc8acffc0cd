"""The Dirac-GAN study of Mescheder, Geiger & Nowozin (2018), as library code.

Simulates update rules on the Dirac-GAN and its regularized variants from
``(theta, psi) = (1, 1)`` with step size ``h = 0.2`` for 500 steps (the reference
notebook's settings), classifies each run's outcome and returns the trajectories
with the vector field each is drawn over. ``gamedyn dirac`` is the command line of
:func:`run`.

References:
  Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
  Converge? ICML.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import numpy as np
import optax

from gamedyn import dynamics as _dynamics
from gamedyn import games, losses, outcomes, regularizers
from gamedyn._game import Game
from gamedyn._validate import (
    check_choice,
    check_float,
    check_int,
    check_nonnegative,
    check_positive,
)
from gamedyn.analysis import FieldGrid, vector_field_grid
from gamedyn.simulation import Trajectory, simulate
from gamedyn.transforms import clip_params


class Variant(NamedTuple):
    """A Dirac-GAN setting of the study.

    Attributes:
      loss: the GAN loss (:func:`gamedyn.losses.names`).
      regularizer: ``"none"``, ``"r1"``, ``"r2"`` or ``"gp"``
        (:func:`gamedyn.regularizers.get`).
      gamma: the regularizer's weight.
      instance_noise: std of the instance noise.
      clip: WGAN weight clipping of the discriminator at ``+-clip`` (None: off).
      consensus: weight of the consensus term added to the game (0: off).
    """

    loss: str = "standard"
    regularizer: str = "none"
    gamma: float = 0.0
    instance_noise: float = 0.0
    clip: float | None = None
    consensus: float = 0.0


VARIANTS: dict[str, Variant] = {
    "gan": Variant(),
    "nsgan": Variant(loss="non_saturating"),
    "wgan": Variant(loss="wgan", clip=1.0),
    "wgan_gp": Variant(loss="wgan", regularizer="gp", gamma=0.7),
    "instance_noise": Variant(instance_noise=0.7),
    "r1": Variant(regularizer="r1", gamma=0.3),
    "consensus": Variant(consensus=1.0),
}
"""The study's variants, with the reference notebook's settings."""

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
"""The update rules (registry names, :func:`gamedyn.dynamics.get`) the study runs."""

STUDY_RULES = ("simultaneous", "alternating")
"""The rules run on every variant by default."""


class Config(NamedTuple):
    """Which runs of the study, and their settings.

    Attributes:
      rules: rule names; None: the study's (``simultaneous`` and ``alternating`` on
        every variant, plus ``extragradient`` and ``optimistic`` on the plain GAN).
      variants: names from :data:`VARIANTS`; None: all of them (or none when
        ``custom`` is given).
      custom: an extra :class:`Variant`, run under the name ``"custom"``.
      rule_param: the rule's own number (None: the registry's default).
      lr: the step size ``h`` (plain SGD for both players).
      steps: steps per run.
      start: the starting point ``(theta, psi)``.
      seed: the PRNG seed (instance noise).
      field_points: grid points per axis of the vector field drawn under each run.
    """

    rules: tuple[str, ...] | None = None
    variants: tuple[str, ...] | None = None
    custom: Variant | None = None
    rule_param: float | None = None
    lr: float = 0.2
    steps: int = 500
    start: tuple[float, float] = (1.0, 1.0)
    seed: int = 0
    field_points: int = 25


class RunResult(NamedTuple):
    """One run of the study.

    Attributes:
      rule: the update rule's name.
      variant: the variant's name.
      settings: the :class:`Variant`.
      outcome: ``"converged"``, ``"diverged"`` or ``"cycles"`` (:func:`outcome`).
      final_distance: the distance to the equilibrium ``(0, 0)`` at the end.
      final: ``(theta, psi)`` at the end.
      diverged_step: -1 or the step at which the run diverged.
      trajectory: the :class:`gamedyn.Trajectory` (params and ``"distance"``).
      field: the game's descent field on a grid, for drawing
        (:func:`gamedyn.analysis.vector_field_grid`).
    """

    rule: str
    variant: str
    settings: Variant
    outcome: str
    final_distance: float
    final: tuple[float, float]
    diverged_step: int
    trajectory: Trajectory
    field: FieldGrid


def check_variant(variant: Variant) -> Variant:
    """Validates a :class:`Variant` (ValueError/TypeError naming the field)."""
    if not isinstance(variant, Variant):
        raise TypeError(f"variant: expected a Variant, got {type(variant).__name__}")
    check_choice("loss", variant.loss, losses.names())
    check_choice("regularizer", variant.regularizer, regularizers.names())
    check_nonnegative("gamma", variant.gamma)
    check_nonnegative("instance_noise", variant.instance_noise)
    if variant.clip is not None:
        check_positive("clip", variant.clip)
    check_nonnegative("consensus", variant.consensus)
    return variant


def check(config: Config) -> Config:
    """Validates a :class:`Config` (ValueError/TypeError naming the field)."""
    for rule in config.rules or ():
        check_choice("rules", rule, RULES)
    for name in config.variants or ():
        check_choice("variants", name, tuple(VARIANTS))
    if config.custom is not None:
        check_variant(config.custom)
    for rule in config.rules or STUDY_RULES:
        _dynamics.get(rule).check(config.rule_param)
    check_positive("lr", config.lr)
    check_int("steps", config.steps, 1)
    if len(config.start) != 2:
        raise ValueError(f"start: expected (theta, psi), got {config.start!r}")
    for x in config.start:
        check_float("start", x)
    check_int("seed", config.seed, 0)
    check_int("field_points", config.field_points, 2)
    return config


def runs(config: Config) -> list[tuple[str, str, Variant]]:
    """The ``(rule, variant name, variant)`` triples that ``config`` asks for.

    With neither ``rules`` nor variants: the study (:data:`STUDY_RULES` on every
    variant, extragradient and optimistic on the plain GAN). With variants only:
    :data:`STUDY_RULES` on them. With rules: each rule on the chosen variants
    (all variants when none is chosen).
    """
    chosen = {v: VARIANTS[v] for v in (config.variants or ())}
    if config.custom is not None:
        chosen["custom"] = config.custom
    if config.rules:
        names = chosen or VARIANTS
        return [(r, v, names[v]) for r in config.rules for v in names]
    if chosen:
        return [(r, v, chosen[v]) for r in STUDY_RULES for v in chosen]
    study = [(r, v, VARIANTS[v]) for r in STUDY_RULES for v in VARIANTS]
    return study + [
        (r, "gan", VARIANTS["gan"]) for r in ("extragradient", "optimistic")
    ]


def build(
    rule: str,
    variant: Variant,
    lr: float = 0.2,
    *,
    start: tuple[float, float] = (1.0, 1.0),
    rule_param: float | None = None,
) -> tuple[Game, _dynamics.Dynamics]:
    """The game and the dynamics of one run: plain SGD with step ``lr`` for both
    players (the discriminator's clipped when ``variant.clip`` is set)."""
    check_variant(variant)
    game = games.dirac_gan(
        variant.loss,
        regularizers.get(variant.regularizer, variant.gamma),
        instance_noise=variant.instance_noise,
        start=start,
    )
    if variant.consensus:
        game = games.consensus_game(game, variant.consensus)
    d_opt = optax.sgd(lr)
    if variant.clip is not None:
        d_opt = optax.chain(d_opt, clip_params(variant.clip))
    opt = (optax.sgd(lr), d_opt)
    return game, _dynamics.get(rule)(game, opt, rule_param, lr=lr)


def outcome(distance: np.ndarray) -> int:
    """Classifies one run (an index into :data:`gamedyn.outcomes.OUTCOMES`).

    :func:`gamedyn.outcomes.classify_runs` with a 5% radius (instance noise leaves a
    small noise floor), and a run whose tail is still contracting towards the
    equilibrium (extragradient, optimistic GD: linear but slow rates at ``h = 0.2``)
    also counts as converged.
    """
    code = int(outcomes.classify_runs(distance, tol=5e-2, growth=1.5))
    if code == outcomes.CYCLES:
        d0, d_tail, d_end = (
            distance[0],
            distance[int(0.8 * len(distance))],
            distance[-1],
        )
        if d_end < 0.8 * d_tail and d_end < 0.25 * d0:
            code = outcomes.CONVERGED
    return code


def run(
    config: Config | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunResult]:
    """Simulates every run of ``config``.

    Args:
      config: the :class:`Config` (default: the study).
      progress: ``progress(done, total)`` after each run.

    Returns:
      One :class:`RunResult` per run, in the order of :func:`runs`.
    """
    config = check(Config() if config is None else config)
    todo = runs(config)
    key = jax.random.key(config.seed)
    results = []
    for i, (rule, name, variant) in enumerate(todo):
        game, dyn = build(
            rule,
            variant,
            config.lr,
            start=tuple(config.start),
            rule_param=config.rule_param,
        )
        traj = simulate(
            dyn,
            game.init(None),
            config.steps,
            key=key,
            metrics=("distance",),
            equilibrium=(0.0, 0.0),
        )
        dist = np.asarray(traj.metrics["distance"], float)
        results.append(
            RunResult(
                rule=rule,
                variant=name,
                settings=variant,
                outcome=outcomes.OUTCOMES[outcome(dist)],
                final_distance=float(dist[-1]),
                final=tuple(float(x) for x in traj.final),
                diverged_step=int(traj.diverged_step),
                trajectory=traj,
                field=vector_field_grid(
                    game, key=jax.random.key(0), num=config.field_points
                ),
            )
        )
        if progress is not None:
            progress(i + 1, len(todo))
    return results


def summary(config: Config, results: list[RunResult]) -> dict[str, Any]:
    """The ``summary.json`` content of a study: settings and one record per run."""
    return {
        "study": "Dirac-GAN, Mescheder, Geiger & Nowozin 2018",
        "start": list(config.start),
        "lr": config.lr,
        "steps": config.steps,
        "runs": [
            {
                "rule": r.rule,
                "variant": r.variant,
                **r.settings._asdict(),
                "rule_param": config.rule_param,
                "lr": config.lr,
                "steps": config.steps,
                "outcome": r.outcome,
                "final_distance": r.final_distance,
                "final": list(r.final),
                "diverged_step": r.diverged_step,
            }
            for r in results
        ],
    }


def format_table(results: list[RunResult]) -> str:
    """The outcomes as a plain-text table."""
    lines = [f"{'rule':<14}{'variant':<16}{'outcome':<11}{'final distance':>15}"]
    lines.append("-" * len(lines[0]))
    for r in results:
        lines.append(
            f"{r.rule:<14}{r.variant:<16}{r.outcome:<11}{r.final_distance:>15.3g}"
        )
    return "\n".join(lines)

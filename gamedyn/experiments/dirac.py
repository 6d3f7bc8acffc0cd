"""The Dirac-GAN study of Mescheder, Geiger & Nowozin (2018), as library code.

Simulates update rules on the Dirac-GAN and its regularized variants from
`(theta, psi) = (1, 1)` with step size `h = 0.2` for 500 steps (the reference
notebook's settings), classifies each run's outcome with
`gamedyn.outcomes.classify_runs` and returns the trajectories with the
vector field each is drawn over. `gamedyn dirac` is the command line of
`run`.

Two sets of conventions (`conventions` says which a config uses):

* gamedyn's (default): alternating GD moves the discriminator first (most GAN
  code), consensus adds the exact gradient of `1/2 ||xi||^2`, float32.
* the reference notebook's (`Config(paper=True)`, `gamedyn dirac --paper`):
  alternating GD moves the generator first (`trajectory_altgd`), consensus uses
  the notebook's field (`GAN_Consensus`, whose second terms are half those of
  the gradient of `1/2 ||xi||^2`), float64, and the notebook's nine variants;
  the deterministic variants reproduce the notebook's trajectories to round-off.

References:
  Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
  Converge? ICML. Code: github.com/LMescheder/GAN_stability
  (notebooks/diracgan).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import optax

from gamedyn import dynamics as _dynamics
from gamedyn import games, losses, outcomes, regularizers
from gamedyn._game import Game, hamiltonian
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
      loss: the GAN loss (`gamedyn.losses.names`).
      regularizer: `"none"`, `"r1"`, `"r2"` or `"gp"`
        (`gamedyn.regularizers.get`).
      gamma: the regularizer's weight.
      instance_noise: std of the instance noise.
      clip: WGAN weight clipping of the discriminator at `+-clip` (None: off).
      consensus: weight of the consensus term added to the game (0: off).
      consensus_form: `"exact"`: every player descends on
        `xi + consensus * grad 1/2 ||xi||^2`
        (`gamedyn.games.consensus_game`); `"notebook"`: the reference
        notebook's field (`GAN_Consensus`, standard loss only), in which the
        terms `(psi^2 + theta^2) f' f'' (psi, theta)` of that gradient are
        halved. Paper mode uses `"notebook"`.
    """

    loss: str = "standard"
    regularizer: str = "none"
    gamma: float = 0.0
    instance_noise: float = 0.0
    clip: float | None = None
    consensus: float = 0.0
    consensus_form: Literal["exact", "notebook"] = "exact"


VARIANTS: dict[str, Variant] = {
    "gan": Variant(),
    "nsgan": Variant(loss="non_saturating"),
    "wgan": Variant(loss="wgan", clip=1.0),
    "wgan_gp": Variant(loss="wgan", regularizer="gp", gamma=0.7),
    "instance_noise": Variant(instance_noise=0.7),
    "r1": Variant(regularizer="r1", gamma=0.3),
    "r1_critical": Variant(regularizer="r1", gamma=1.0),
    "consensus": Variant(consensus=1.0),
    "nsgan_r1": Variant(loss="non_saturating", regularizer="r1", gamma=0.3),
}
"""Every variant of the reference notebook, with its settings (notebook names:
GAN, NSGAN, WGAN(1), WGAN_GP(0.7, 1), GAN_InstNoise(0.7), GAN_GradPenalty(0.3),
GAN_GradPenalty(1), GAN_Consensus(1), NSGAN_GradPenalty(0.3))."""

STUDY_VARIANTS = (
    "gan",
    "nsgan",
    "wgan",
    "wgan_gp",
    "instance_noise",
    "r1",
    "consensus",
)
"""The variants of the default study (the paper's Figure 3 and 4 panels)."""

PAPER_VARIANTS = tuple(VARIANTS)
"""The variants of paper mode: all nine panels of the reference notebook."""

PAPER_ORDER = (0, 1)
"""Alternating GD in the reference notebook: the generator (player 0) first."""

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
"""The update rules (registry names, `gamedyn.dynamics.get`) the study runs."""

STUDY_RULES = ("simultaneous", "alternating")
"""The rules run on every variant by default."""


class Config(NamedTuple):
    """Which runs of the study, and their settings.

    Attributes:
      rules: rule names; None: the study's (`simultaneous` and `alternating` on
        every variant, plus `extragradient` and `optimistic` on the plain GAN;
        in paper mode `simultaneous` and `alternating` only).
      variants: names from `VARIANTS`; None: `STUDY_VARIANTS` (paper
        mode: `PAPER_VARIANTS`), or none when `custom` is given.
      custom: an extra `Variant`, run under the name `"custom"`.
      rule_param: the rule's own number (None: the registry's default).
      lr: the step size `h` (plain SGD for both players).
      steps: steps per run.
      start: the starting point `(theta, psi)`.
      seed: the PRNG seed (instance noise).
      field_points: grid points per axis of the vector field drawn under each run.
      paper: the reference notebook's conventions (see the module docstring):
        alternating GD moves the generator first, the notebook's consensus
        field, float64, all nine variants.
      tol, growth, tail, shrink: the outcome judge's parameters
        (`gamedyn.outcomes.classify_runs`): converged within `tol * d0`
        (5%: instance noise leaves a noise floor of about 1% of `d0`), diverged
        beyond `growth * d0`, judged on the last `tail` of the records, and
        *slow* when still approaching steadily at a rate that shrinks a run of
        the same length by `shrink`.
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
    paper: bool = False
    tol: float = 5e-2
    growth: float = 1.5
    tail: float = 0.2
    shrink: float = 0.5


class RunResult(NamedTuple):
    """One run of the study.

    Attributes:
      rule: the update rule's name.
      variant: the variant's name.
      settings: the `Variant`.
      outcome: `"converged"`, `"diverged"`, `"cycles"` or `"slow"`
        (`gamedyn.outcomes.classify_runs` with the config's parameters).
      final_distance: the distance to the equilibrium `(0, 0)` at the end.
      final: `(theta, psi)` at the end.
      diverged_step: -1 or the step at which the run diverged.
      trajectory: the `gamedyn.Trajectory` (params and `"distance"`).
      field: the game's descent field on a grid, for drawing
        (`gamedyn.analysis.vector_field_grid`).
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
    """Validates a `Variant` (ValueError/TypeError naming the field)."""
    if not isinstance(variant, Variant):
        raise TypeError(f"variant: expected a Variant, got {type(variant).__name__}")
    check_choice("loss", variant.loss, losses.names())
    check_choice("regularizer", variant.regularizer, regularizers.names())
    check_nonnegative("gamma", variant.gamma)
    check_nonnegative("instance_noise", variant.instance_noise)
    if variant.clip is not None:
        check_positive("clip", variant.clip)
    check_nonnegative("consensus", variant.consensus)
    check_choice("consensus_form", variant.consensus_form, ("exact", "notebook"))
    if variant.consensus_form == "notebook" and variant.consensus:
        if variant.loss != "standard":
            raise ValueError(
                "consensus_form: the notebook's consensus field is that of the "
                f"standard loss, got loss {variant.loss!r}"
            )
        if variant.regularizer != "none" or variant.instance_noise:
            raise ValueError(
                "consensus_form: the notebook's consensus field is that of the "
                "unregularized GAN without instance noise"
            )
    return variant


def check(config: Config) -> Config:
    """Validates a `Config` (ValueError/TypeError naming the field)."""
    for rule in config.rules or ():
        check_choice("rules", rule, RULES)
    for name in config.variants or ():
        check_choice("variants", name, tuple(VARIANTS))
    if config.custom is not None:
        check_variant(config.custom)
        if config.paper:
            check_variant(_paper_variant(config.custom))
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
    if not isinstance(config.paper, bool):
        raise TypeError(f"paper: expected a bool, got {type(config.paper).__name__}")
    check_positive("tol", config.tol)
    check_float("growth", config.growth, minimum=1.0, exclusive_minimum=True)
    check_float("tail", config.tail, minimum=0.0, maximum=1.0, exclusive_minimum=True)
    check_float(
        "shrink",
        config.shrink,
        minimum=0.0,
        maximum=1.0,
        exclusive_minimum=True,
        exclusive_maximum=True,
    )
    return config


def conventions(config: Config) -> str:
    """One line saying which conventions `config` runs with (figure captions)."""
    if config.paper:
        return (
            "reference notebook's conventions: alternating GD moves the generator "
            "first, the notebook's consensus field, float64"
        )
    return (
        "gamedyn's conventions: alternating GD moves the discriminator first, "
        "exact consensus gradient, float32"
    )


def _paper_variant(variant: Variant) -> Variant:
    return variant._replace(consensus_form="notebook") if variant.consensus else variant


def runs(config: Config) -> list[tuple[str, str, Variant]]:
    """The `(rule, variant name, variant)` triples that `config` asks for.

    With neither `rules` nor variants: the study (`STUDY_RULES` on
    `STUDY_VARIANTS`, extragradient and optimistic on the plain GAN; in
    paper mode `STUDY_RULES` on `PAPER_VARIANTS`). With variants only:
    `STUDY_RULES` on them. With rules: each rule on the chosen variants
    (the default variants when none is chosen). In paper mode a variant with a
    consensus term uses the notebook's consensus field.
    """
    default = PAPER_VARIANTS if config.paper else STUDY_VARIANTS
    chosen = {v: VARIANTS[v] for v in (config.variants or ())}
    if config.custom is not None:
        chosen["custom"] = config.custom
    if config.rules:
        names = chosen or {v: VARIANTS[v] for v in default}
        todo = [(r, v, names[v]) for r in config.rules for v in names]
    elif chosen:
        todo = [(r, v, chosen[v]) for r in STUDY_RULES for v in chosen]
    else:
        todo = [(r, v, VARIANTS[v]) for r in STUDY_RULES for v in default]
        if not config.paper:
            todo += [
                (r, "gan", VARIANTS["gan"]) for r in ("extragradient", "optimistic")
            ]
    if config.paper:
        todo = [(r, v, _paper_variant(x)) for r, v, x in todo]
    return todo


def notebook_consensus_game(gamma: float, start=(1.0, 1.0)) -> Game:
    """The reference notebook's consensus Dirac-GAN (`GAN_Consensus`).

    Its field is `xi + gamma (1/2 grad H + 1/2 f'(psi theta)^2 (theta, psi))`
    with `H = 1/2 ||xi||^2 = 1/2 (psi^2 + theta^2) f'(psi theta)^2`: the
    notebook's `v1reg = theta f'^2 + 1/2 psi (psi^2 + theta^2) f' f''` (and
    `v2reg` likewise) halves the second term of `grad H`. The second part is
    added through each player's loss with the factor `f'^2` held constant
    (`stop_gradient`), so first derivatives (the field every gradient rule
    uses) are exact, but second derivatives of this game are not those of the
    field: do not analyse it with `gamedyn.analysis.jacobian`.
    """
    base = games.dirac_gan("standard", None, start=start)
    h = hamiltonian(base)

    def losses(params, key=None):
        theta, psi = params
        lg, ld = base.losses(params, key)
        fp2 = jax.lax.stop_gradient(jax.nn.sigmoid(-psi * theta) ** 2)
        ham = h(params, key)
        return (
            lg + gamma * (0.5 * ham + 0.25 * fp2 * theta**2),
            ld + gamma * (0.5 * ham + 0.25 * fp2 * psi**2),
        )

    return Game(init=base.init, losses=losses)


def build(
    rule: str,
    variant: Variant,
    lr: float = 0.2,
    *,
    start: tuple[float, float] = (1.0, 1.0),
    rule_param: float | None = None,
    order: tuple[int, ...] | None = None,
) -> tuple[Game, _dynamics.Dynamics]:
    """The game and the dynamics of one run: plain SGD with step `lr` for both
    players (the discriminator's clipped when `variant.clip` is set).

    `order` is the move order of alternating GD (for `"alternating"` and the
    alternating steps inside `"lookahead"`): None moves the discriminator first,
    `PAPER_ORDER` the generator.
    """
    check_variant(variant)
    if variant.consensus and variant.consensus_form == "notebook":
        game = notebook_consensus_game(variant.consensus, start)
    else:
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
    spec = _dynamics.get(rule)
    if order is not None and rule == "alternating":
        return game, _dynamics.alternating(game, opt, order)
    if order is not None and rule == "lookahead":
        alpha = spec.check(rule_param)
        inner = _dynamics.alternating(game, opt, order)
        return game, _dynamics.lookahead(inner, 5, alpha)
    return game, spec(game, opt, rule_param, lr=lr)


def run(
    config: Config | None = None,
    *,
    progress: Callable[[int, int], None] | None = None,
) -> list[RunResult]:
    """Simulates every run of `config`.

    Args:
      config: the `Config` (default: the study).
      progress: `progress(done, total)` after each run.

    Returns:
      One `RunResult` per run, in the order of `runs`.
    """
    config = check(Config() if config is None else config)
    todo = runs(config)
    order = PAPER_ORDER if config.paper else None
    results = []
    with jax.enable_x64(config.paper):
        key = jax.random.key(config.seed)
        for i, (rule, name, variant) in enumerate(todo):
            game, dyn = build(
                rule,
                variant,
                config.lr,
                start=tuple(config.start),
                rule_param=config.rule_param,
                order=order,
            )
            traj = simulate(
                dyn,
                game.init(None),
                config.steps,
                key=key,
                metrics=("distance",),
                equilibrium=(0.0, 0.0),
            )
            dist = traj.metrics["distance"]
            code = outcomes.classify_runs(
                dist,
                tol=config.tol,
                growth=config.growth,
                tail=config.tail,
                shrink=config.shrink,
            )
            results.append(
                RunResult(
                    rule=rule,
                    variant=name,
                    settings=variant,
                    outcome=outcomes.OUTCOMES[int(code)],
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
    """The `summary.json` content of a study: settings and one record per run."""
    return {
        "study": "Dirac-GAN, Mescheder, Geiger & Nowozin 2018",
        "conventions": conventions(config),
        "paper": config.paper,
        "judge": {
            "function": "gamedyn.outcomes.classify_runs",
            "tol": config.tol,
            "growth": config.growth,
            "tail": config.tail,
            "shrink": config.shrink,
        },
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

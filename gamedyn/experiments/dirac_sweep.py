"""Dirac-GAN phase diagrams: a run per `(lr, gamma)` and the closed-form boundary.

`dirac_run` trains the Dirac-GAN once as a function of `(lr, gamma)` for
`gamedyn.sweep`; `dirac_spectral_radius` is the theoretical local rate of
the same rule at the equilibrium, whose contour `rho = 1` is the stability boundary
drawn on the phase diagrams of Mescheder et al. (2018). `run` does both for a
`Config`.

A phase diagram answers one of two questions (`Config.mode`):

* `"local"` (default): is the equilibrium locally stable? Every run starts near
  it, at `LOCAL_START`, where the game is linear to a relative `1e-4`, so
  the outcome map follows the linear theory (`rho < 1` converges).
* `"basin"`: is it reached from a given start (default `BASIN_START`,
  the paper's `(1, 1)`)? A cell that is stable in theory (`rho < 1`) but whose
  run diverged from that start is marked `"outside basin"`
  (`gamedyn.outcomes.outside_basin`) rather than `"diverged"`.

References:
  Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do actually
  Converge? ICML.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import dynamics as _dynamics
from gamedyn import outcomes as _outcomes
from gamedyn import regularizers as _regularizers
from gamedyn._game import vector_field
from gamedyn._validate import check_choice, check_int
from gamedyn.analysis.stability import linear_step
from gamedyn.games.dirac import dirac_gan
from gamedyn.simulation import simulate
from gamedyn.sweeps import sweep

RULES = (
    "simultaneous",
    "alternating",
    "extragradient",
    "optimistic",
    "consensus",
)
"""Update rules (registry names) with a closed-form linearisation on the
Dirac-GAN."""

REGULARIZERS = ("r1", "r2", "none")
"""Regularizers whose weight `gamma` `dirac_run` sweeps."""

MODES = ("local", "basin")
"""The questions a phase diagram answers: local stability, or reachability."""

LOCAL_START = (0.01, 0.01)
"""The start of local-mode runs: near the equilibrium `(0, 0)`."""

BASIN_START = (1.0, 1.0)
"""The default start of basin-mode runs: the paper's."""


_CONSENSUS = _dynamics.get("consensus").default


def _check_choice(name: str, value: Any, choices: tuple[str, ...]) -> None:
    check_choice(name, value, choices)


def _dirac_dynamics(rule, game, lr, gamma_consensus):
    param = gamma_consensus if rule == "consensus" else None
    return _dynamics.get(rule)(game, optax.sgd(lr), param)


def dirac_run(
    rule: str,
    *,
    loss: str = "standard",
    regularizer: str = "r1",
    num_steps: int = 500,
    every: int = 5,
    start: tuple[float, float] = LOCAL_START,
    consensus: float = _CONSENSUS,
    tol: float = 1e-2,
    growth: float = 2.0,
    tail: float = 0.2,
    shrink: float = 0.5,
) -> Callable[..., dict[str, jax.Array]]:
    """A function of `(lr, gamma)` training the Dirac-GAN once, for `sweep`.

    Plain SGD with step `lr` on the Dirac-GAN (Mescheder et al. 2018) whose
    discriminator is penalised by `regularizer` with weight `gamma`; the run is
    summarised by its outcome (`gamedyn.outcomes.classify_runs` of the distance to
    the equilibrium `(0, 0)`) and its empirical per-step rate
    (`gamedyn.outcomes.rate` on the last half of the records, which leaves
    out records at the run's round-off floor and corrects for double
    eigenvalues).

    Args:
      rule: a name from `RULES`.
      loss: the GAN loss (`"standard"`, `"non_saturating"`, `"wgan"`, ...).
      regularizer: `"r1"`, `"r2"` or `"none"` (then `gamma` is ignored).
      num_steps: steps per run.
      every: record the distance every `every` steps.
      start: the starting point `(theta, psi)` (default near the equilibrium,
        `LOCAL_START`).
      consensus: the consensus weight for `rule="consensus"`.
      tol: passed to `gamedyn.outcomes.classify_runs`.
      growth: passed to `gamedyn.outcomes.classify_runs`.
      tail: passed to `gamedyn.outcomes.classify_runs`.
      shrink: passed to `gamedyn.outcomes.classify_runs`.

    Returns:
      `fn(lr, gamma) -> dict` with `outcome` (int code), `rate` (per step),
      `distance` (the final distance) and `diverged_step` (-1 or the step).
    """
    _check_choice("rule", rule, RULES)
    _check_choice("regularizer", regularizer, REGULARIZERS)
    num_steps = check_int("num_steps", num_steps, 1)
    every = check_int("every", every, 1)
    if num_steps // every < 2:
        raise ValueError(
            f"every: expected at least 2 records (num_steps // every >= 2), got "
            f"num_steps={num_steps}, every={every}"
        )

    def fn(lr: jax.Array, gamma: jax.Array = 0.0) -> dict[str, jax.Array]:
        reg = _regularizers.get(regularizer, gamma)
        game = dirac_gan(loss, reg, start=start)
        params = game.init(jax.random.key(0))
        zero = jax.tree.map(jnp.zeros_like, params)
        dyn = _dirac_dynamics(rule, game, lr, consensus)
        traj = simulate(
            dyn,
            params,
            num_steps,
            every=every,
            metrics=("distance",),
            equilibrium=zero,
        )
        dist = traj.metrics["distance"]
        return {
            "outcome": _outcomes.classify_runs(
                dist, tol=tol, growth=growth, tail=tail, shrink=shrink
            ),
            "rate": _outcomes.rate(dist, tail=0.5, every=every),
            "distance": dist[-1],
            "diverged_step": traj.diverged_step,
        }

    return fn


@functools.lru_cache(maxsize=16)
def _dirac_jacobian(loss: str) -> np.ndarray:
    game = dirac_gan(loss, None)
    xi = vector_field(game)
    jac = jax.jit(jax.jacfwd(lambda w: jnp.stack(xi((w[0], w[1])))))(jnp.zeros(2))
    return np.asarray(jac, dtype=float)


def dirac_jacobian(
    gamma: Any = 0.0, *, loss: str = "standard", regularizer: str = "r1"
) -> np.ndarray:
    """The Jacobian of `xi` at the Dirac-GAN's equilibrium `(0, 0)`.

    `J = [[0, f'(0)], [-f'(0), gamma]]` for R1 or R2 (`gamma / 2 psi^2` adds
    `gamma psi` to the discriminator's gradient), in the descent convention
    `w <- w - h xi`; `f'(0)` (1/2 for the standard loss, 1 for WGAN) is computed by
    autodiff from the loss.

    Args:
      gamma: regularization weights, any shape (broadcast).
      loss: the GAN loss name.
      regularizer: `"r1"`, `"r2"` or `"none"`.

    Returns:
      `gamma.shape + (2, 2)` float64 NumPy array.
    """
    _check_choice("regularizer", regularizer, REGULARIZERS)
    gamma = np.asarray(gamma, dtype=float)
    jac = np.broadcast_to(_dirac_jacobian(loss), gamma.shape + (2, 2)).copy()
    if regularizer != "none":
        jac[..., 1, 1] += gamma
    return jac


def dirac_step_matrix(
    rule: str,
    lr: Any,
    gamma: Any = 0.0,
    *,
    loss: str = "standard",
    regularizer: str = "r1",
    consensus: float = _CONSENSUS,
) -> np.ndarray:
    """The linearised step map of an update rule at the Dirac-GAN's equilibrium.

    With `J` from `dirac_jacobian` (blocks `J_gg, J_gd; J_dg, J_dd`) and
    step `h = lr`:

    - simultaneous: `I - h J`;
    - alternating (discriminator first): `[[1 - h J_gg + h^2 J_gd J_dg,
      -h J_gd (1 - h J_dd)], [-h J_dg, 1 - h J_dd]]`;
    - extragradient: `I - h J + h^2 J^2`;
    - optimistic: on `(w_k, w_{k-1})`, `[[I - 2 h J, h J], [I, 0]]`;
    - consensus: `I - h (J + c J^T J)`.

    Args:
      rule: a name from `RULES`.
      lr: step sizes, any shape; broadcast with `gamma`.
      gamma: regularization weights.
      loss: as in `dirac_run`.
      regularizer: as in `dirac_run`.
      consensus: the consensus weight `c`.

    Returns:
      `broadcast(lr, gamma).shape + (d, d)` with `d = 4` for optimistic, else 2.
    """
    _check_choice("rule", rule, RULES)
    lr, gamma = np.broadcast_arrays(np.asarray(lr, float), np.asarray(gamma, float))
    jac = dirac_jacobian(gamma, loss=loss, regularizer=regularizer)
    if rule == "optimistic":  # on (w_k, w_{k-1}), unlike linear_step's (w, u_prev)
        h, eye = lr[..., None, None], np.eye(2)
        m = np.zeros(jac.shape[:-2] + (4, 4))
        m[..., :2, :2] = eye - 2 * h * jac
        m[..., :2, 2:] = h * jac
        m[..., 2:, :2] = eye
        return m
    steps = [
        linear_step(j, h, rule, sizes=(1, 1), gamma=consensus)
        for j, h in zip(jac.reshape(-1, 2, 2), lr.reshape(-1))
    ]
    return np.reshape(steps, jac.shape)


def dirac_spectral_radius(
    rule: str,
    lr: Any,
    gamma: Any = 0.0,
    *,
    loss: str = "standard",
    regularizer: str = "r1",
    consensus: float = _CONSENSUS,
) -> np.ndarray:
    """The spectral radius of `dirac_step_matrix`: the theoretical local rate.

    The equilibrium is locally stable (the rule converges linearly from nearby
    starts, at rate `rho` per step) when `rho < 1` and unstable when
    `rho > 1`; the contour `rho = 1` is the stability boundary drawn on phase
    diagrams (`gamedyn.plotting.phase_diagram`).

    Returns:
      `broadcast(lr, gamma).shape` float64 array.
    """
    m = dirac_step_matrix(
        rule, lr, gamma, loss=loss, regularizer=regularizer, consensus=consensus
    )
    return np.max(np.abs(np.linalg.eigvals(m)), axis=-1)


class Config(NamedTuple):
    """A Dirac-GAN phase diagram: one rule over a grid of `(lr, gamma)`.

    Attributes:
      rule: a name from `RULES`.
      lr: the learning rates (1-D, positive).
      gamma: the regularizer weights (1-D, non-negative).
      loss: the GAN loss.
      regularizer: `"r1"`, `"r2"` or `"none"`: the penalty weighted by gamma.
      steps: steps per run.
      every: steps between recorded distances.
      start: the starting point `(theta, psi)`; None: `LOCAL_START` in
        local mode, `BASIN_START` in basin mode.
      consensus: the consensus weight (rule `"consensus"`).
      chunk_size: configurations per compiled call.
      mode: `"local"` (local stability: start near the equilibrium) or
        `"basin"` (reachability from `start`: stable cells whose run diverged
        are `"outside basin"`).
    """

    rule: str = "simultaneous"
    lr: tuple[float, ...] = tuple(np.linspace(0.01, 1.0, 64).tolist())
    gamma: tuple[float, ...] = tuple(np.linspace(0.0, 2.0, 64).tolist())
    loss: str = "standard"
    regularizer: str = "r1"
    steps: int = 500
    every: int = 5
    start: tuple[float, float] | None = None
    consensus: float = _CONSENSUS
    chunk_size: int | None = 1024
    mode: Literal["local", "basin"] = "local"


def start_of(config: Config) -> tuple[float, float]:
    """The start `config` runs from (its `start`, or its mode's default)."""
    _check_choice("mode", config.mode, MODES)
    if config.start is not None:
        return tuple(float(x) for x in config.start)
    return LOCAL_START if config.mode == "local" else BASIN_START


class Result(NamedTuple):
    """What `run` returns (NumPy arrays of shape `(len(lr), len(gamma))`).

    Attributes:
      lr, gamma: the grid.
      outcome: int codes into `gamedyn.outcomes.OUTCOMES` (in basin mode
        `"outside basin"` for stable cells whose run diverged).
      rate: the empirical per-step rate of each run.
      distance: the final distance to the equilibrium.
      diverged_step: -1 or the step at which the run diverged.
      theory: the spectral radius of the linearised step (`
        dirac_spectral_radius`).
      agreement: the fraction of cells where "converging" (converged or slow)
        agrees with `theory < 1`.
      mode: the config's mode.
      start: the start every run was made from.
    """

    lr: np.ndarray
    gamma: np.ndarray
    outcome: np.ndarray
    rate: np.ndarray
    distance: np.ndarray
    diverged_step: np.ndarray
    theory: np.ndarray
    agreement: float
    mode: Literal["local", "basin"] = "local"
    start: tuple[float, float] = LOCAL_START


def run(
    config: Config, *, progress: Callable[[int, int], None] | None = None
) -> Result:
    """Sweeps `config`'s grid with `gamedyn.sweep` and adds the theory.

    Args:
      config: the `Config`.
      progress: `progress(done, total)` after each chunk of configurations.

    Returns:
      A `Result`.
    """
    start = start_of(config)
    if len(start) != 2 or not np.all(np.isfinite(start)):
        raise ValueError(f"start: expected finite (theta, psi), got {config.start!r}")
    lr = np.asarray(config.lr, float)
    gamma = np.asarray(config.gamma, float)
    for name, values, positive in (("lr", lr, True), ("gamma", gamma, False)):
        if values.ndim != 1 or values.size == 0:
            raise ValueError(f"{name}: expected a non-empty 1-D sequence of numbers")
        if not np.all(np.isfinite(values)):
            raise ValueError(f"{name}: expected finite values, got {values}")
        if np.any(values <= 0 if positive else values < 0):
            raise ValueError(
                f"{name}: expected values {'> 0' if positive else '>= 0'}, got "
                f"{values.min()}"
            )
    if config.every > config.steps // 2:
        raise ValueError(
            f"every: expected at most steps / 2, got {config.every} with steps "
            f"{config.steps}"
        )
    fn = dirac_run(
        config.rule,
        loss=config.loss,
        regularizer=config.regularizer,
        num_steps=config.steps,
        every=config.every,
        start=start,
        consensus=config.consensus,
    )
    out = sweep(
        fn, {"lr": lr, "gamma": gamma}, chunk_size=config.chunk_size, progress=progress
    )
    rho = dirac_spectral_radius(
        config.rule,
        lr[:, None],
        gamma[None, :],
        loss=config.loss,
        regularizer=config.regularizer,
        consensus=config.consensus,
    )
    outcome = np.asarray(out["outcome"])
    if config.mode == "basin":
        outcome = _outcomes.outside_basin(outcome, rho < 1)
    converging = np.isin(outcome, (_outcomes.CONVERGED, _outcomes.SLOW))
    return Result(
        lr=lr,
        gamma=gamma,
        outcome=outcome,
        rate=np.asarray(out["rate"]),
        distance=np.asarray(out["distance"]),
        diverged_step=np.asarray(out["diverged_step"]),
        theory=rho,
        agreement=float(np.mean(converging == (rho < 1))),
        mode=config.mode,
        start=start,
    )

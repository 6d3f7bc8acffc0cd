"""Daskalakis et al. (2018): optimistic gradient descent-ascent on bilinear games.

Reproduces Section 3 of Daskalakis, Ilyas, Syrgkanis, Zeng 2018, *Training GANs with
Optimism* (ICLR; code github.com/vsyrgkanis/optimistic_GAN_training): on the bilinear
game `min_x max_y x^T A y` the last iterate of gradient descent-ascent (GD) does not
converge, while that of optimistic mirror descent (OMD, here OGDA) converges
(their Theorem 1).

The closed forms come from the two recursions of Section 3 (`h` the step):

* GD: `x_t = x_{t-1} - h A y_{t-1}`, `y_t = y_{t-1} + h A^T x_{t-1}`. Along the
  singular pair of a singular value `sigma` of `A` the step multiplies by
  `1 -+ i h sigma`: the iterates grow by `sqrt(1 + h^2 sigma_max^2)` per step.
* OMD: `x_t = x_{t-1} - 2h A y_{t-1} + h A y_{t-2}` (and `y` likewise). Along a
  singular pair, `z_t = (1 - 2 i h sigma) z_{t-1} + i h sigma z_{t-2}`: the rate is
  the largest root modulus of `mu^2 - (1 - 2 i h sigma) mu - i h sigma = 0` over the
  singular values (the conjugate roots for `-i`).

Ours: `gamedyn.dynamics.get("simultaneous")` and `get("optimistic")` with
`optax.sgd(h)` in float64 (the optimistic memory starts at zero, as in their code),
`gamedyn.analysis.spectral_radius` of each step map, the empirical rate
`gamedyn.outcomes.rate` of the runs and the verdict of
`gamedyn.outcomes.classify_runs`.

Setting: `A = [[1, 0.5], [0, 0.8]]` (singular values 1.203, 0.665), `h = 0.2`,
start `x = (1, 0.5)`, `y = (0.5, 1)`; the rates against the step size come from
1000-step runs vmapped over 18 step sizes. `quick` runs 1000 instead of 3000
steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import analysis, dynamics, games, outcomes
from gamedyn.experiments.reproduce import Entry, Reproduction, close, verdict
from gamedyn.experiments.reproduce import _common as common
from gamedyn.simulation import simulate

ENTRY = Entry(
    name="daskalakis2018",
    title="optimistic GDA vs GDA on bilinear games: the last iterate",
    paper=(
        "Daskalakis, Ilyas, Syrgkanis, Zeng 2018, Training GANs with Optimism, ICLR"
    ),
    reference="https://github.com/vsyrgkanis/optimistic_GAN_training",
    figures=(
        "Section 3 (bilinear games, Theorem 1): GD and OMD trajectories on x y, the "
        "last iterate's distance on x^T A y, and the rates against the step size"
    ),
)

A = ((1.0, 0.5), (0.0, 0.8))
"""The payoff matrix of the bilinear game."""

STEP = 0.2
"""The step size `h` of both rules."""

GRID_STEPS = 1000
"""Steps of each run of the rate curve against the step size."""

START = ((1.0, 0.5), (0.5, 1.0))
"""The start `(x, y)` on the matrix game."""


def gd_rate(step: float, sigma) -> float:
    """The growth per step of GD, Section 3: `max sqrt(1 + h^2 sigma^2)`."""
    return float(np.max(np.sqrt(1.0 + step**2 * np.asarray(sigma) ** 2)))


def omd_rate(step: float, sigma) -> float:
    """The rate of OMD, Section 3: the largest root modulus of
    `mu^2 - (1 - 2 i h sigma) mu - i h sigma` over the singular values."""
    roots = [np.roots([1.0, -(1.0 - 2j * step * s), -1j * step * s]) for s in sigma]
    return float(np.max(np.abs(roots)))


def _pair(values):
    return tuple(jnp.asarray(v, jnp.float64) for v in values)


def _distances(game, rule: str, start, steps: int, step_sizes) -> np.ndarray:
    """`(len(step_sizes), steps + 1)` distances of one rule's runs, vmapped over
    the step size (one compiled program)."""
    eq = common.zeros_like(start)

    def one(h):
        dyn = dynamics.get(rule)(game, optax.sgd(h))
        traj = simulate(
            dyn,
            start,
            steps,
            metrics=("distance",),
            equilibrium=eq,
            record_params=False,
        )
        return traj.metrics["distance"]

    return np.asarray(jax.jit(jax.vmap(one))(jnp.asarray(step_sizes)))


def run(quick: bool = False) -> Reproduction:
    """Recomputes Section 3: GD and OMD on the bilinear game.

    Args:
      quick: 1000 steps per run (seconds) instead of 3000.

    Returns:
      The `Reproduction`. `data`: `steps`, `distance` (rule -> `(T,)`),
      `closed_form` and `empirical` (rule -> rate at `h`), `pair` (rule ->
      `(T, 2)`: the run's coordinates along the top singular pair of `A`),
      `step_grid` (`h sigma_max`), `rate_closed` / `rate_ours` (rule ->
      rates on the grid: the closed form and the empirical rate of vmapped runs),
      `sigma` and the settings.
    """
    steps = 1000 if quick else 3000
    sigma = np.linalg.svd(np.asarray(A), compute_uv=False)
    u, _, vt = np.linalg.svd(np.asarray(A))
    grid = np.linspace(0.02, 0.7, 18)
    rules = {"GD": "simultaneous", "OMD": "optimistic"}
    closed = {"GD": gd_rate(STEP, sigma), "OMD": omd_rate(STEP, sigma)}
    with jax.enable_x64(True):
        game = games.bilinear(jnp.asarray(A, jnp.float64))
        start = _pair(START)
        eq = common.zeros_like(start)
        distance, radius, pair = {}, {}, {}
        for label, rule in rules.items():
            dyn = dynamics.get(rule)(game, optax.sgd(STEP))
            traj = common.run_distance(dyn, start, steps)
            distance[label] = np.asarray(traj.metrics["distance"])
            radius[label] = analysis.spectral_radius(dyn, eq)
            x, y = (np.asarray(p) for p in traj.params)
            pair[label] = np.stack([x @ u[:, 0], y @ vt[0]], axis=1)
        grid_runs = [
            _distances(game, rule, start, steps, grid / sigma[0])
            for rule in rules.values()
        ]
        # one call per judge: the runs at h and the grid's runs share a shape
        every = np.concatenate([np.stack(list(distance.values())), *grid_runs])
        rates = np.asarray(outcomes.rate(jnp.asarray(every), tail=0.5))
        codes = outcomes.classify_runs(jnp.asarray(every[:2]), **common.JUDGE)
    judged = dict(zip(rules, outcomes.outcome_names(codes)))
    empirical = dict(zip(rules, rates[:2].tolist()))
    rate_ours = {"GD": rates[2 : 2 + len(grid)], "OMD": rates[2 + len(grid) :]}
    rate_closed = {
        "GD": np.array([gd_rate(h, sigma) for h in grid / sigma[0]]),
        "OMD": np.array([omd_rate(h, sigma) for h in grid / sigma[0]]),
    }
    claims = (
        verdict(
            "Section 3 / abstract: the last iterate of GD on the bilinear game does "
            "not converge (ours: gamedyn.outcomes.classify_runs of the run)",
            "does not converge",
            common.last_iterate(judged["GD"]),
        ),
        close(
            "Section 3, GD recursion: along each singular value the step multiplies "
            "by 1 -+ i h sigma, so the iterates grow by sqrt(1 + h^2 sigma_max^2) per "
            "step (ours: spectral radius of the GD step map)",
            closed["GD"],
            radius["GD"],
            rtol=1e-10,
        ),
        close(
            "Section 3, GD recursion: the growth per step, against the empirical "
            "rate of the run (gamedyn.outcomes.rate)",
            closed["GD"],
            empirical["GD"],
            rtol=1e-4,
        ),
        verdict(
            "Theorem 1: the last iterate of OMD on the bilinear game converges to "
            "the equilibrium (ours: gamedyn.outcomes.classify_runs of the run)",
            "converges",
            common.last_iterate(judged["OMD"]),
        ),
        close(
            "Section 3, OMD recursion: the rate is the largest root modulus of "
            "mu^2 - (1 - 2ih sigma) mu - ih sigma over the singular values (ours: "
            "spectral radius of the optimistic step map, its memory included)",
            closed["OMD"],
            radius["OMD"],
            rtol=1e-10,
        ),
        close(
            "Section 3, OMD recursion: the rate, against the empirical rate of the run",
            closed["OMD"],
            empirical["OMD"],
            rtol=1e-4,
        ),
        close(
            "Section 3: both recursions' rates for 18 step sizes h sigma_max in "
            "[0.02, 0.7] (ours: empirical rates of runs of gamedyn's rules, "
            "vmapped over h)",
            np.stack([rate_closed["GD"], rate_closed["OMD"]]),
            np.stack([rate_ours["GD"], rate_ours["OMD"]]),
            rtol=1e-3,
        ),
    )
    data = {
        "steps": np.arange(steps + 1),
        "distance": distance,
        "closed_form": closed,
        "empirical": empirical,
        "pair": pair,
        "step_grid": grid,
        "rate_closed": rate_closed,
        "rate_ours": rate_ours,
        "sigma": sigma,
        "step": STEP,
        "A": np.asarray(A),
    }
    return Reproduction(ENTRY.name, claims, data, quick)

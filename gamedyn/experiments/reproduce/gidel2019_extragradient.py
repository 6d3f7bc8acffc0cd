"""Gidel et al. (2019): extragradient and averaging on the bilinear game.

Reproduces the bilinear example of Gidel, Berard, Vignoud, Vincent, Lacoste-Julien
2019, *A Variational Inequality Perspective on Generative Adversarial Networks*
(ICLR; code github.com/GauthierGidel/Variational-Inequality-GAN): on
`min_theta max_phi theta phi` with step `eta`,

* simultaneous gradient steps `(theta, phi) <- (theta - eta phi, phi + eta theta)`
  multiply `theta + i phi` by `1 + i eta`: the iterates diverge geometrically, by
  `sqrt(1 + eta^2)` per step, and so does their uniform average (Proposition 1);
* alternated steps (`theta` first, then `phi` with the new `theta`) have a step
  matrix of determinant 1 and trace `2 - eta^2`: for `eta < 2` its eigenvalues lie
  on the unit circle, the iterates stay bounded without converging, and their uniform
  average converges to 0 at the rate `O(1/t)` (Proposition 1);
* extrapolation (extragradient, Section 3) `w <- w - eta xi(w - eta xi(w))` multiplies
  `theta + i phi` by `1 + i eta - eta^2`: the last iterate converges linearly at the
  rate `sqrt(1 - eta^2 + eta^4)`.

Ours: `gamedyn.dynamics.get("simultaneous")`, `alternating(game, opt, order=(0, 1))`
(theta first, as in the paper) and `get("extragradient")` with `optax.sgd(eta)`,
float64, from `(1, 1)` with `eta = 0.2`; the uniform averages are taken over the
recorded iterates, the spectral radii by `gamedyn.analysis.spectral_radius`, the
verdicts by `gamedyn.outcomes.classify_runs`. The `O(1/t)` claim is the slope of
`log ||w_bar_t||` against `log t`. `quick` runs 1500 instead of 4000 steps.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import analysis, dynamics, games, outcomes
from gamedyn.experiments.reproduce import Entry, Reproduction, close, verdict
from gamedyn.experiments.reproduce import _common as common

ENTRY = Entry(
    name="gidel2019_extragradient",
    title="extragradient vs gradient steps, with and without averaging, on theta phi",
    paper=(
        "Gidel, Berard, Vignoud, Vincent, Lacoste-Julien 2019, A Variational "
        "Inequality Perspective on Generative Adversarial Networks, ICLR"
    ),
    reference="https://github.com/GauthierGidel/Variational-Inequality-GAN",
    figures=(
        "Figure 1 / Proposition 1 (the bilinear example): simultaneous, alternated "
        "and extrapolated gradient steps and their uniform averages"
    ),
)

STEP = 0.2
"""The step size `eta`."""

START = (1.0, 1.0)
"""The start `(theta, phi)`."""


def simultaneous_rate(eta: float) -> float:
    """Proposition 1: `|1 + i eta| = sqrt(1 + eta^2)`."""
    return float(np.sqrt(1.0 + eta**2))


def alternated_eigenvalues(eta: float) -> np.ndarray:
    """Proposition 1: the alternated step `theta' = theta - eta phi`,
    `phi' = phi + eta theta'` has the matrix `[[1, -eta], [eta, 1 - eta^2]]`
    (determinant 1, trace `2 - eta^2`)."""
    return np.linalg.eigvals(np.array([[1.0, -eta], [eta, 1.0 - eta**2]]))


def extragradient_rate(eta: float) -> float:
    """Section 3, extrapolation: `|1 + i eta - eta^2| = sqrt(1 - eta^2 + eta^4)`."""
    return float(np.sqrt(1.0 - eta**2 + eta**4))


def uniform_average(path: np.ndarray) -> np.ndarray:
    """`(T, n)` running uniform averages `(1/t) sum_{s < t} w_s` of the
    iterates `w_0 .. w_{T-1}` (`t = 1 .. T`)."""
    return np.cumsum(path, axis=0) / np.arange(1, len(path) + 1)[:, None]


def log_log_slope(distance: np.ndarray, first: int) -> float:
    """Least-squares slope of `log distance` against `log t` for `t >= first`
    (`t` counts iterates from 1)."""
    t = np.arange(1, len(distance) + 1)
    keep = t >= first
    return float(np.polyfit(np.log(t[keep]), np.log(distance[keep]), 1)[0])


def run(quick: bool = False) -> Reproduction:
    """Recomputes the bilinear example: three rules, last iterates and averages.

    Args:
      quick: 1500 steps (seconds) instead of 4000.

    Returns:
      The `Reproduction`. `data`: `paths` and `averages` (rule -> `(T, 2)`
      `(theta, phi)`), `distance` and `average_distance` (rule -> `(T,)`),
      `closed_form` (rule -> rate per step), `slope` (the alternated average's
      log-log slope) and the settings.
    """
    steps = 1500 if quick else 4000
    labels = {
        "simultaneous": "simultaneous",
        "alternated": "alternating",
        "extrapolation": "extragradient",
    }
    with jax.enable_x64(True):
        game = games.zero_sum(lambda x, y: x * y)
        start = tuple(jnp.asarray(v, jnp.float64) for v in START)
        eq = common.zeros_like(start)
        opt = optax.sgd(STEP)
        rules = {
            "simultaneous": dynamics.get("simultaneous")(game, opt),
            "alternated": dynamics.alternating(game, opt, order=(0, 1)),
            "extrapolation": dynamics.get("extragradient")(game, opt),
        }
        paths, radius = {}, {}
        for name, dyn in rules.items():
            paths[name] = common.path(common.run_distance(dyn, start, steps))
            radius[name] = analysis.spectral_radius(dyn, eq)
        averages = {k: uniform_average(v) for k, v in paths.items()}
        dist = {k: np.linalg.norm(v, axis=1) for k, v in paths.items()}
        avg_dist = {k: np.linalg.norm(v, axis=1) for k, v in averages.items()}
        stacked = np.stack([*dist.values(), *avg_dist.values()])
        codes = outcomes.classify_runs(jnp.asarray(stacked), **common.JUDGE)
        rates = np.asarray(outcomes.rate(jnp.asarray(stacked), tail=0.5))
    names = outcomes.outcome_names(codes)
    last = dict(zip(rules, names[:3]))
    averaged = dict(zip(rules, names[3:]))
    empirical = dict(zip(rules, rates[:3].tolist()))
    closed = {
        "simultaneous": simultaneous_rate(STEP),
        "alternated": float(np.max(np.abs(alternated_eigenvalues(STEP)))),
        "extrapolation": extragradient_rate(STEP),
    }
    slope = log_log_slope(avg_dist["alternated"], steps // 10)
    bounded = float(np.max(dist["alternated"]) / dist["alternated"][0])
    claims = (
        verdict(
            "Proposition 1: the simultaneous iterates diverge (ours: "
            "gamedyn.outcomes.classify_runs of the last iterate)",
            "diverged",
            last["simultaneous"],
        ),
        close(
            "Proposition 1: the simultaneous iterates grow geometrically by "
            "|1 + i eta| = sqrt(1 + eta^2) per step (ours: spectral radius of "
            "gamedyn's simultaneous step map)",
            closed["simultaneous"],
            radius["simultaneous"],
            rtol=1e-12,
        ),
        verdict(
            "Proposition 1: the uniform average of the simultaneous iterates "
            "diverges too (ours: classify_runs of the averages' distance)",
            "diverged",
            averaged["simultaneous"],
        ),
        verdict(
            "Proposition 1: the alternated iterates are bounded but do not "
            "converge (ours: classify_runs; 'cycles' is bounded and not converging)",
            "cycles",
            last["alternated"],
        ),
        close(
            "Proposition 1: the alternated step matrix [[1, -eta], [eta, 1 - eta^2]] "
            "has its eigenvalues on the unit circle for eta < 2 (ours: spectral "
            "radius of alternating(order=(0, 1)))",
            closed["alternated"],
            radius["alternated"],
            rtol=1e-12,
        ),
        verdict(
            "Proposition 1: the uniform average of the alternated iterates "
            "converges to the equilibrium (ours: classify_runs of the averages)",
            "converged",
            averaged["alternated"],
        ),
        close(
            "Proposition 1: ... at the rate O(1/t): the slope of log ||w_bar_t|| "
            "against log t (ours: fitted over the last 90% of the run)",
            -1.0,
            slope,
            atol=0.05,
        ),
        verdict(
            "Section 3: the last iterate of extrapolation (extragradient) converges "
            "(ours: classify_runs)",
            "converged",
            last["extrapolation"],
        ),
        close(
            "Section 3: extrapolation multiplies theta + i phi by 1 + i eta - eta^2, "
            "a linear rate sqrt(1 - eta^2 + eta^4) (ours: spectral radius of "
            "gamedyn's extragradient step map)",
            closed["extrapolation"],
            radius["extrapolation"],
            rtol=1e-12,
        ),
        close(
            "Section 3: extrapolation's linear rate, against the empirical rate of "
            "the run (gamedyn.outcomes.rate)",
            closed["extrapolation"],
            empirical["extrapolation"],
            rtol=1e-4,
        ),
    )
    data = {
        "labels": labels,
        "paths": paths,
        "averages": averages,
        "distance": dist,
        "average_distance": avg_dist,
        "closed_form": closed,
        "empirical": empirical,
        "slope": slope,
        "bounded": bounded,
        "step": STEP,
        "start": START,
    }
    return Reproduction(ENTRY.name, claims, data, quick)

"""Gidel et al. (2019b): negative momentum on the bilinear game.

Reproduces the bilinear analysis of Gidel, Askari Hemmat, Pezeshki, Le Priol, Huang,
Lacoste-Julien, Mitliagkas 2019, *Negative Momentum for Improved Game Dynamics*
(AISTATS; code github.com/ReyhaneAskari/negative_momentum_for_improved_game_dynamics):
gradient steps with heavy-ball momentum `beta` on `min_theta max_phi theta phi`
(step `eta`; along each singular value `sigma` of a matrix game the same with
`eta sigma`):

* simultaneous steps with momentum, `w_{t+1} = w_t - eta xi(w_t) + beta (w_t -
  w_{t-1})`, have the characteristic polynomial
  `(mu - 1)^2 (mu - beta)^2 + eta^2 sigma^2 mu^2 = 0`: a root lies outside the unit
  circle for every `beta`, so they diverge whatever the momentum;
* alternating steps (`theta` first, then `phi` with the new `theta`) with
  momentum have `(mu - 1)^2 (mu - beta)^2 + eta^2 sigma^2 mu^3 = 0`: with
  `beta = 0` the roots lie on the unit circle (the iterates cycle), positive momentum
  diverges, and negative momentum converges; the best momentum is negative.

The "paper" rates are the largest root moduli of these polynomials (NumPy), and the
optimal momentum minimises it on a grid of `beta` refined by Brent's method. Ours:
`optax.sgd(eta, momentum=beta)` (optax's trace is the heavy ball) with
`gamedyn.dynamics.get("simultaneous")` and `alternating(game, opt, order=(0, 1))`,
float64: `gamedyn.analysis.spectral_radius` at the chosen momenta, and the empirical
rates (`gamedyn.outcomes.rate`) of 1000-step runs vmapped over 41 values of
`beta` in `[-0.95, 0.5]`.

Setting: `eta = 0.5`, `sigma = 1`, start `(1, 1)`. `quick` runs 1500 instead of
4000 steps for the trajectories and verdicts.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
from scipy.optimize import minimize_scalar

from gamedyn import analysis, dynamics, games, outcomes
from gamedyn.experiments.reproduce import Entry, Reproduction, bound, close, verdict
from gamedyn.experiments.reproduce import _common as common
from gamedyn.simulation import simulate

ENTRY = Entry(
    name="gidel2019_negative_momentum",
    title="negative momentum with alternating steps on the bilinear game",
    paper=(
        "Gidel, Askari Hemmat, Pezeshki, Le Priol, Huang, Lacoste-Julien, Mitliagkas "
        "2019, Negative Momentum for Improved Game Dynamics, AISTATS"
    ),
    reference=(
        "https://github.com/ReyhaneAskari/negative_momentum_for_improved_game_dynamics"
    ),
    figures=(
        "the bilinear analysis: spectral radius against the momentum for simultaneous "
        "and alternating steps, the optimal negative momentum, trajectories"
    ),
)

STEP = 0.5
"""The step size `eta` (`eta sigma = 0.5`)."""

START = (1.0, 1.0)
"""The start `(theta, phi)`."""

BETAS = np.linspace(-0.95, 0.5, 41)
"""The momenta of the rate curves."""

CURVE_STEPS = 1000
"""Steps of each run of the rate curves: the fastest divergence (rate 1.27 per
step) stays below `1e150`, so that distances do not overflow in float64."""


def polynomial(beta: float, eta_sigma: float, alternating: bool) -> np.ndarray:
    """The characteristic polynomial of gradient steps with momentum on the
    bilinear game: `(mu - 1)^2 (mu - beta)^2 + (eta sigma)^2 mu^k` with `k = 3`
    for alternating and `k = 2` for simultaneous steps (coefficients, highest
    power first)."""
    base = np.polymul(np.polymul([1.0, -1.0], [1.0, -1.0]), [1.0, -2 * beta, beta**2])
    extra = np.zeros(5)
    extra[4 - (3 if alternating else 2)] = eta_sigma**2
    return base + extra


def closed_rate(beta: float, eta_sigma: float, alternating: bool) -> float:
    """The largest root modulus of `polynomial`: the rate per step."""
    return float(np.max(np.abs(np.roots(polynomial(beta, eta_sigma, alternating)))))


def optimal_momentum(eta_sigma: float) -> tuple[float, float]:
    """`(beta*, rho*)`: the momentum that minimises the alternating rate, from a
    grid on `(-1, 1)` refined by Brent's method."""
    grid = np.linspace(-0.99, 0.99, 397)
    rates = [closed_rate(b, eta_sigma, True) for b in grid]
    i = int(np.argmin(rates))
    res = minimize_scalar(
        lambda b: closed_rate(b, eta_sigma, True),
        bracket=(grid[i - 1], grid[i], grid[i + 1]),
        tol=1e-10,
    )
    return float(res.x), float(res.fun)


def _rule(game, beta, alternating: bool):
    opt = optax.sgd(STEP, momentum=beta)
    if alternating:
        return dynamics.alternating(game, opt, order=(0, 1))
    return dynamics.get("simultaneous")(game, opt)


def run(quick: bool = False) -> Reproduction:
    """Recomputes the rates against the momentum and the optimal negative momentum.

    Args:
      quick: 1500 steps per run (seconds) instead of 4000.

    Returns:
      The `Reproduction`. `data`: `betas`, `rate_closed` and `rate_ours`
      (`"simultaneous"`/`"alternating"` -> rates on `betas`), `beta_star`,
      `rho_star`, `paths` (label -> `(T, 2)` for a few momenta) and the
      settings.
    """
    steps = 1500 if quick else 4000
    beta_star, rho_star = optimal_momentum(STEP)
    with jax.enable_x64(True):
        game = games.zero_sum(lambda x, y: x * y)
        start = tuple(jnp.asarray(v, jnp.float64) for v in START)
        eq = common.zeros_like(start)

        def distances(alternating: bool):
            def one(beta):
                traj = simulate(
                    _rule(game, beta, alternating),
                    start,
                    CURVE_STEPS,
                    metrics=("distance",),
                    equilibrium=eq,
                    record_params=False,
                )
                return traj.metrics["distance"]

            return jax.jit(jax.vmap(one))(jnp.asarray(BETAS))

        curves = jnp.stack([distances(False), distances(True)])
        rate_ours = np.asarray(outcomes.rate(curves, tail=0.5))
        radius = {
            "alternating, beta = 0": analysis.spectral_radius(
                _rule(game, 0.0, True), eq
            ),
            "alternating, beta*": analysis.spectral_radius(
                _rule(game, beta_star, True), eq
            ),
            "simultaneous, beta*": analysis.spectral_radius(
                _rule(game, beta_star, False), eq
            ),
        }
        shown = {
            "β = -0.5, simultaneous": (False, -0.5),
            "β = 0, alternating": (True, 0.0),
            "β = 0.2, alternating": (True, 0.2),
            f"β* = {beta_star:.3f}, alternating": (True, beta_star),
        }
        runs = {
            label: common.run_distance(_rule(game, beta, alt), start, steps)
            for label, (alt, beta) in shown.items()
        }
        codes = outcomes.classify_runs(
            jnp.stack([r.metrics["distance"] for r in runs.values()]), **common.JUDGE
        )
    judged = dict(zip(shown, outcomes.outcome_names(codes)))
    paths = {label: common.path(r) for label, r in runs.items()}
    rate_closed = {
        "simultaneous": np.array([closed_rate(b, STEP, False) for b in BETAS]),
        "alternating": np.array([closed_rate(b, STEP, True) for b in BETAS]),
    }
    ours = {"simultaneous": rate_ours[0], "alternating": rate_ours[1]}
    grid_step = float(BETAS[1] - BETAS[0])
    beta_ours = float(BETAS[int(np.argmin(ours["alternating"]))])
    negative = BETAS < 0
    converging = rate_closed["alternating"] < 1
    alt_labels = list(shown)
    claims = (
        bound(
            "Simultaneous steps with momentum diverge on the bilinear game for every "
            "beta: the smallest rate over beta in [-0.95, 0.5] stays above 1 (ours: "
            "empirical rates of gamedyn's runs)",
            1.0,
            float(np.min(ours["simultaneous"])),
            upper=False,
        ),
        close(
            "Simultaneous steps with momentum: the rate is the largest root of "
            "(mu - 1)^2 (mu - beta)^2 + eta^2 sigma^2 mu^2 (ours: empirical rates over "
            "41 momenta)",
            rate_closed["simultaneous"],
            ours["simultaneous"],
            rtol=1e-3,
        ),
        close(
            "Alternating steps without momentum: the roots of (mu - 1)^2 mu^2 + "
            "eta^2 sigma^2 mu^3 lie on the unit circle for eta sigma < 2 (ours: "
            "spectral radius of alternating(order=(0, 1)))",
            closed_rate(0.0, STEP, True),
            radius["alternating, beta = 0"],
            rtol=1e-9,
        ),
        verdict(
            "Alternating steps without momentum do not converge: the iterates cycle "
            "(ours: gamedyn.outcomes.classify_runs)",
            "cycles",
            judged[alt_labels[1]],
        ),
        verdict(
            "Alternating steps with positive momentum diverge (ours: classify_runs, "
            "beta = 0.2)",
            "diverged",
            judged[alt_labels[2]],
        ),
        close(
            "Alternating steps with momentum: the rate is the largest root of "
            "(mu - 1)^2 (mu - beta)^2 + eta^2 sigma^2 mu^3 (ours: empirical rates over "
            "41 momenta)",
            rate_closed["alternating"],
            ours["alternating"],
            rtol=2e-3,
        ),
        verdict(
            "Alternating steps converge for the negative momenta of the polynomial's "
            "convergence range and for no positive one (ours: empirical rate < 1 "
            "on the grid)",
            (converging & negative).tolist(),
            ((ours["alternating"] < 1 - 1e-4) & negative).tolist(),
        ),
        close(
            "The optimal momentum of alternating steps is negative: beta* minimises "
            "the largest root (ours: the best of gamedyn's empirical rates on the "
            "grid, within one grid step)",
            beta_star,
            beta_ours,
            atol=grid_step,
        ),
        close(
            "... and its rate rho* (ours: spectral radius of alternating GD with "
            "momentum beta*)",
            rho_star,
            radius["alternating, beta*"],
            rtol=1e-9,
        ),
        verdict(
            "Alternating steps with the optimal negative momentum converge (ours: "
            "classify_runs)",
            "converged",
            judged[alt_labels[3]],
        ),
        verdict(
            "Simultaneous steps still diverge with that momentum (ours: "
            "classify_runs with beta = -0.5)",
            "diverged",
            judged[alt_labels[0]],
        ),
    )
    data = {
        "betas": BETAS,
        "rate_closed": rate_closed,
        "rate_ours": ours,
        "beta_star": beta_star,
        "rho_star": rho_star,
        "radius": radius,
        "paths": paths,
        "outcomes": judged,
        "step": STEP,
        "start": START,
    }
    return Reproduction(ENTRY.name, claims, data, quick)

"""Chavdarova et al. (2021): lookahead-minmax on the bilinear game.

Reproduces the full-batch bilinear experiment of Chavdarova, Pagliardini, Stich,
Fleuret, Jaggi 2021, *Taming GANs with Lookahead-Minmax* (ICLR; code
github.com/Chavdarova/LAGAN-Lookahead_Minimax, `bilinear_game/batch_methods.ipynb`):
on `min_x max_y x^T A y` with `A = I` (`d = 100`), step `eta = 0.3` and
`k = 6` fast steps per lookahead, gradient descent-ascent (GDA) diverges while
lookahead-minmax around it (LA-GDA, `alpha = 0.5` and `0.4`) converges, and
lookahead around extragradient (LA-EG) converges faster than extragradient (EG).

Lookahead-minmax (their Algorithm 1): `k` steps of the base rule from the slow
weights, then `w_slow <- w_slow + alpha (w_fast - w_slow)` for both players at
once. Near the equilibrium a base step is a linear map `S`, so one period maps
`w` to `((1 - alpha) I + alpha S^k) w`; along an eigenvector of `S` with
multiplier `mu` the rate per step is

    `rho = |1 - alpha + alpha mu^k|^(1/k)`,

with `mu = 1 -+ i eta sigma` for GDA and `mu = 1 - z + z^2` (`z = i eta sigma`)
for EG, `sigma` the singular values of `A` (all 1 here). GDA alone has
`|mu| = sqrt(1 + eta^2) > 1`: it diverges for every step size.

Ours: `gamedyn.dynamics.lookahead` around `get("simultaneous")` and
`get("extragradient")` with `optax.sgd(eta)`, in float64;
`gamedyn.analysis.spectral_radius` of each rule (over lookahead's period `k`),
`gamedyn.outcomes` for the verdicts and the empirical rates of the runs, and the
rate against `k` for `alpha = 0.4, 0.5`. The x axis of the distance figure counts
vector-field evaluations (GDA 1 per step, EG 2; the notebook counts 3 for EG, one
pass per player for the extrapolated gradient). Since `A = I` every coordinate
pair `(x_i, y_i)` follows the game `x y`: the trajectory panel draws the first
pair. `quick` runs 300 instead of 800 evaluations on `d = 10` (the same rates),
leaves out the curves of GDA with `eta = 1e-4` and of LA-GDA with
`alpha = 0.4`, the spectral radius of LA-EG and the rate against `k` (each
lookahead radius compiles for seconds), with the same tolerances.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import analysis, dynamics, games
from gamedyn.experiments.reproduce import Entry, Reproduction, close, verdict
from gamedyn.experiments.reproduce import _common as common

ENTRY = Entry(
    name="chavdarova2021",
    title="lookahead-minmax converges on the bilinear game where GDA diverges",
    paper=(
        "Chavdarova, Pagliardini, Stich, Fleuret, Jaggi 2021, Taming GANs with "
        "Lookahead-Minmax, ICLR"
    ),
    reference="https://github.com/Chavdarova/LAGAN-Lookahead_Minimax",
    figures=(
        "the full-batch bilinear experiment (distance to the optimum against the "
        "passes; GDA, EG, LA-GDA, LA-EG), trajectories on x y, and the rate "
        "|1 - alpha + alpha mu^k|^(1/k) against k"
    ),
)

ETA = 0.3
"""The step size (the notebook's `gamma`)."""

K = 6
"""Fast steps per lookahead (the notebook's `la_k`)."""

ALPHAS = (0.5, 0.4)
"""Lookahead's `alpha` of the notebook's two LA-GDA curves (`beta` there)."""

SMALL_ETA = 1e-4
"""The notebook's GDA with a tiny step, which barely moves."""


def multiplier(base: str, eta: float, sigma: float = 1.0) -> complex:
    """The base step's multiplier `mu` along a singular value `sigma` (the
    `+i` mode; the other is its conjugate)."""
    z = 1j * eta * sigma
    if base == "GDA":
        return complex(1.0 - z)
    if base == "EG":
        return complex(1.0 - z + z * z)
    raise ValueError(f"base: expected 'GDA' or 'EG', got {base!r}")


def lookahead_rate(base: str, eta: float, k: int, alpha: float) -> float:
    """`|1 - alpha + alpha mu^k|^(1/k)` (module docstring); `alpha = 1` is the
    base rule's own `|mu|`."""
    mu = multiplier(base, eta)
    return float(abs(1.0 - alpha + alpha * mu**k) ** (1.0 / k))


RUNS = {
    "GDA": ("GDA", ETA, None),
    "GDA eta=1e-4": ("GDA", SMALL_ETA, None),
    "EG": ("EG", ETA, None),
    "LA-GDA alpha=0.5": ("GDA", ETA, 0.5),
    "LA-GDA alpha=0.4": ("GDA", ETA, 0.4),
    "LA-EG alpha=0.5": ("EG", ETA, 0.5),
}
"""The notebook's curves: label -> (base rule, step, lookahead alpha or None)."""

EVALS = {"GDA": 1, "EG": 2}
"""Vector-field evaluations per step of each base rule."""


def _rule(base: str, game, eta: float, alpha: float | None, k: int = K):
    name = "simultaneous" if base == "GDA" else "extragradient"
    dyn = dynamics.get(name)(game, optax.sgd(eta))
    return dyn if alpha is None else dynamics.lookahead(dyn, k, alpha)


def _closed(label: str) -> float:
    base, eta, alpha = RUNS[label]
    return lookahead_rate(base, eta, K, 1.0 if alpha is None else alpha)


QUICK_RUNS = ("GDA", "EG", "LA-GDA alpha=0.5", "LA-EG alpha=0.5")
"""The curves of the quick setting."""

QUICK_RADII = ("GDA", "EG", "LA-GDA alpha=0.5")
"""The rules whose spectral radius the quick setting computes."""


def run(quick: bool = False) -> Reproduction:
    """Recomputes the full-batch bilinear experiment.

    Args:
      quick: `d = 10`, 300 vector-field evaluations, the curves
        `QUICK_RUNS` with the spectral radii of `QUICK_RADII`, and no
        rate against `k`; instead of `d = 100`, 800 evaluations, every curve
        and radius, and `k = 1 .. 12`.

    Returns:
      The `Reproduction`. `data`: `labels`, `evals` (label -> `(T,)`
      vector-field evaluations), `distance` (label -> `(T,)`), `closed` /
      `radius` / `empirical` (label -> rate), `xy_paths` (label -> `(T, 2)`:
      the first coordinate pair, which follows the game `x y` since `A = I`),
      `k_grid` with `k_closed` and (full setting) `k_ours` (alpha -> rates),
      and the settings.
    """
    d = 10 if quick else 100
    budget = 300 if quick else 800
    labels = QUICK_RUNS if quick else tuple(RUNS)
    with_radius = QUICK_RADII if quick else tuple(RUNS)
    k_grid = list(range(1, 13))
    rng = np.random.default_rng(3)
    x0 = rng.standard_normal(d) / np.sqrt(d)
    y0 = rng.standard_normal(d) / np.sqrt(d)
    x0[0], y0[0] = 1.0, 0.0  # the pair drawn in the x-y panel starts at (1, 0)
    with jax.enable_x64(True):
        game = games.bilinear(jnp.eye(d, dtype=jnp.float64))
        start = (jnp.asarray(x0), jnp.asarray(y0))
        eq = common.zeros_like(start)
        evals, distance, radius, empirical, judged = {}, {}, {}, {}, {}
        xy_paths = {}
        for label in labels:
            base, eta, alpha = RUNS[label]
            dyn = _rule(base, game, eta, alpha)
            steps = budget // EVALS[base]
            traj = common.run_distance(dyn, start, steps)
            distance[label] = np.asarray(traj.metrics["distance"])
            evals[label] = EVALS[base] * np.arange(steps + 1)
            xy_paths[label] = common.path(traj)[:, [0, d]]
            judged[label] = common.outcome(distance[label])
            empirical[label] = common.rate(distance[label])
            if label in with_radius:
                radius[label] = analysis.spectral_radius(dyn, eq)
        k_ours = {}
        if not quick:
            scalar = games.zero_sum(lambda x, y: x * y)
            origin = (jnp.asarray(0.0, jnp.float64), jnp.asarray(0.0, jnp.float64))
            for alpha in ALPHAS:
                k_ours[alpha] = np.asarray(
                    [
                        analysis.spectral_radius(
                            _rule("GDA", scalar, ETA, alpha, k), origin
                        )
                        for k in k_grid
                    ]
                )
    k_closed = {
        alpha: np.asarray([lookahead_rate("GDA", ETA, k, alpha) for k in k_grid])
        for alpha in ALPHAS
    }
    closed = {label: _closed(label) for label in labels}
    converging = [x for x in labels if x.startswith(("LA", "EG"))]
    fitted = [x for x in labels if x != "GDA eta=1e-4"]
    claims = (
        verdict(
            "Full-batch bilinear experiment (A = I, eta = 0.3): GDA diverges, while "
            f"{', '.join(converging)} converge (k = 6; ours: "
            "gamedyn.outcomes.classify_runs)",
            ["diverged"] + ["converged"] * len(converging),
            [judged["GDA"]] + [judged[x] for x in converging],
        ),
        close(
            "Lookahead-minmax (Alg. 1) around a base step with multiplier mu: rate "
            "|1 - alpha + alpha mu^k|^(1/k) per step, mu = 1 - i eta (GDA) or "
            "1 - i eta - eta^2 (EG); alpha = 1 for the base rules alone "
            f"({', '.join(with_radius)}; ours: gamedyn.analysis.spectral_radius "
            "over lookahead's period)",
            [closed[x] for x in with_radius],
            [radius[x] for x in with_radius],
            rtol=1e-9,
        ),
        close(
            "The same rates against the empirical rates of the runs "
            "(gamedyn.outcomes.rate; lookahead's distance is fitted across whole "
            "periods)",
            [closed[x] for x in fitted],
            [empirical[x] for x in fitted],
            rtol=2e-3,
        ),
    )
    if not quick:
        claims += (
            close(
                "The rate |1 - alpha + alpha (1 - i eta)^k|^(1/k) of LA-GDA against "
                "k = 1 .. 12 for alpha = 0.5, 0.4 on x y (ours: spectral radii of "
                "gamedyn.dynamics.lookahead)",
                [k_closed[a] for a in ALPHAS],
                [k_ours[a] for a in ALPHAS],
                rtol=1e-9,
            ),
        )
    data = {
        "d": d,
        "eta": ETA,
        "k": K,
        "alphas": list(ALPHAS),
        "labels": list(labels),
        "evals": evals,
        "distance": distance,
        "closed": closed,
        "radius": radius,
        "empirical": empirical,
        "xy_paths": xy_paths,
        "k_grid": k_grid,
        "k_closed": k_closed,
        "k_ours": k_ours,
    }
    return Reproduction(ENTRY.name, claims, data, quick)

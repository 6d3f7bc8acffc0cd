"""Schäfer & Anandkumar (2019): competitive gradient descent and strong interactions.

Reproduces Figures 2 and 3 of Schäfer, Anandkumar 2019, *Competitive Gradient
Descent* (NeurIPS; code github.com/f-t-s/CGD, `bilinear_strong.jl`,
`quadratic_equi.jl`): on `f(x, y) = alpha x^T y` (`x` minimises, `y`
maximises; scalars, start `(0.5, 0.5)`, `eta = 0.2`, `gamma = 1`,
`alpha in {1, 3, 6}`) the first 50 iterations of GDA, LCGD, SGA (ConOpt; the two
coincide on a bilinear game), OGDA and CGD, and on the separable problems
`f = alpha (x^2 - y^2)` (convergence wanted) and `f = alpha (-x^2 + y^2)`
(divergence wanted) the distance to the origin over 100 iterations.

The update rules, as in Section 3 of the paper and `optimizers_abstract.jl`
(`g = -f`; `D_xy` the mixed second derivatives):

* GDA: `Delta x = -eta grad_x f`;
* LCGD: `Delta x = -eta (grad_x f - eta D_xy f grad_y g)`;
* SGA / ConOpt: `Delta x = -eta (grad_x f - gamma D_xy f grad_y g
  + gamma D_xx f grad_x f)` (the last term is ConOpt's; 0 on bilinear games);
* OGDA: `x <- x - 2 eta grad_x f(w_k) + eta grad_x f(w_{k-1})` (memory starts at 0);
* CGD (Section 2): `Delta x = -eta (I - eta^2 D_xy f D_yx g)^-1
  (grad_x f - eta D_xy f grad_y g)` and the same for `y`.

Closed forms (linear maps; `z` the update's multiplier along one mode). On
`alpha x y` the descent field is `(alpha y, -alpha x)`, with eigenvalues
`lambda = +-i alpha`:

* GDA `|1 - eta lambda| = sqrt(1 + eta^2 alpha^2) > 1` for every `eta`;
* LCGD `|1 - eta^2 alpha^2 -+ i eta alpha|`; SGA/ConOpt
  `|1 - eta gamma alpha^2 -+ i eta alpha|`;
* OGDA the largest root modulus of `mu^2 - (1 - 2 z) mu - z`, `z = i eta alpha`;
* CGD: the Section 2 update is `(x, y) <- (x - eta alpha y, y + eta alpha x) /
  (1 + eta^2 alpha^2)`, the rotation-contraction with multipliers
  `(1 +- i eta alpha) / (1 + eta^2 alpha^2)` of modulus
  `1 / sqrt(1 + eta^2 alpha^2) < 1`: CGD converges for every step size, faster
  the stronger the interaction.

On the separable problems `D_xy f = 0`: GDA, LCGD, SGA and CGD are the same map
(one curve in the paper's Figure 3), with multiplier `1 - 2 eta s alpha`
(`s = +1` convex-concave, `-1` concave-convex); ConOpt
`1 - eta (2 s alpha + 4 gamma alpha^2)`; OGDA the roots above with
`z = 2 eta s alpha`.

Ours: `gamedyn.dynamics` rules `simultaneous`, `sga` (`lam = eta`, no
alignment: LCGD), `consensus` (`gamma`), `optimistic` and `cgd`, all with
`optax.sgd(eta)` in float64; `gamedyn.analysis.spectral_radius` of each step map,
`gamedyn.outcomes` for verdicts and rates. The runs at `alpha = 1, 3, 6` last 600,
120 and 50 steps (`STEPS`), so that CGD stays far above round-off: below
`~1e-16` gamedyn's GMRES solve returns its initial guess (the LCGD step).
`quick` runs the panels of `alpha = 6` only (Figure 2's strong interaction,
where only CGD converges; Figure 3's convex-concave problem) and skips the rates
against the step size, with the same tolerances: the games are tiny, the time goes
into compiling each rule.
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
    name="schaefer2019",
    title="competitive gradient descent: stable under strong interactions",
    paper=("Schäfer, Anandkumar 2019, Competitive Gradient Descent, NeurIPS"),
    reference="https://github.com/f-t-s/CGD",
    figures=(
        "Figure 2 (the first 50 iterations on alpha x^T y, alpha = 1, 3, 6), "
        "Figure 3 (separable problems alpha (x^2 - y^2) and alpha (-x^2 + y^2)), "
        "the CGD update of Section 2 in closed form against the step size"
    ),
)

ETA = 0.2
"""The step size `eta` of every method (Figures 2 and 3)."""

GAMMA = 1.0
"""ConOpt's / SGA's `gamma` (Figures 2 and 3)."""

ALPHAS = (1.0, 3.0, 6.0)
"""The interaction strengths of the panels."""

START = (0.5, 0.5)
"""The start `(x0, y0)` of every run."""

STEPS = {1.0: 600, 3.0: 120, 6.0: 50}
"""Steps of the runs judged and fitted at each `alpha`: CGD's distance stays
above `1e-10` (below `~1e-16` gamedyn's GMRES returns its initial guess, the
LCGD step, so the runs stop short of round-off)."""

METHODS = ("GDA", "LCGD", "SGA", "OGDA", "CGD")
"""Figure 2's methods (SGA = ConOpt on a bilinear game)."""

SEPARABLE = ("GDA", "ConOpt", "OGDA")
"""Figure 3's curves ("GDA" stands for GDA, SGA, LCGD and CGD, one map there)."""


def _dynamics(method: str, game, eta: float):
    opt = optax.sgd(eta)
    if method == "GDA":
        return dynamics.get("simultaneous")(game, opt)
    if method == "LCGD":  # SGA with lambda = eta, no alignment (zero-sum games)
        return dynamics.sga(game, opt, eta, align=False)
    if method in ("SGA", "ConOpt"):
        return dynamics.get("consensus")(game, opt, GAMMA)
    if method == "OGDA":
        return dynamics.get("optimistic")(game, opt)
    if method == "CGD":
        return dynamics.get("cgd")(game, opt, eta)
    raise ValueError(f"method: unknown {method!r}")


def _ogda_root(z: complex) -> float:
    return float(np.max(np.abs(np.roots([1.0, -(1.0 - 2.0 * z), -z]))))


def bilinear_rate(method: str, eta: float, alpha: float) -> float:
    """The closed-form rate per step on `alpha x y` (module docstring)."""
    a = eta * alpha
    if method == "GDA":
        return float(np.sqrt(1.0 + a**2))
    if method == "LCGD":
        return float(abs(complex(1.0 - a**2, a)))
    if method in ("SGA", "ConOpt"):
        return float(abs(complex(1.0 - eta * GAMMA * alpha**2, a)))
    if method == "OGDA":
        return _ogda_root(1j * a)
    if method == "CGD":  # Section 2: (1 +- i eta alpha) / (1 + eta^2 alpha^2)
        return float(abs(complex(1.0, a)) / (1.0 + a**2))
    raise ValueError(f"method: unknown {method!r}")


def separable_rate(method: str, eta: float, alpha: float, sign: float) -> float:
    """The closed-form rate on `sign alpha (x^2 - y^2)` (module docstring)."""
    if method in ("GDA", "LCGD", "SGA", "CGD"):
        return float(abs(1.0 - 2.0 * eta * sign * alpha))
    if method == "ConOpt":
        return float(abs(1.0 - eta * (2.0 * sign * alpha + 4.0 * GAMMA * alpha**2)))
    if method == "OGDA":
        return _ogda_root(2.0 * eta * sign * alpha)
    raise ValueError(f"method: unknown {method!r}")


def _verdict(rate: float) -> str:
    return "converges" if rate < 1.0 else "does not converge"


def run(quick: bool = False) -> Reproduction:
    """Recomputes Figures 2 and 3 and the CGD rate of Section 2.

    Args:
      quick: the `alpha = 6` panels only (where only CGD converges), Figure 3's
        convex-concave problem only, and no rates against the step size.

    Returns:
      The `Reproduction`. `data`: `alphas` (the panels computed), `paths`
      (alpha -> method -> `(51, 2)`), `separable` (`"convex-concave"` /
      `"concave-convex"` -> alpha -> method -> `(101,)` distances),
      `radius_ours` / `radius_closed` (alpha -> method -> rate), `eta_grid`
      with `grid_closed` and (full setting) `grid_ours` (method -> rates on
      `x y` at each step size), and the settings.
    """
    alphas = (6.0,) if quick else ALPHAS
    problems = (("convex-concave", 1.0),)
    if not quick:
        problems += (("concave-convex", -1.0),)
    grid = np.logspace(-2, 2, 25)
    grid_methods = () if quick else METHODS
    with jax.enable_x64(True):
        start = tuple(jnp.asarray(v, jnp.float64) for v in START)
        eq = common.zeros_like(start)
        paths, radius, closed, judged, empirical = {}, {}, {}, {}, {}
        for alpha in alphas:
            game = games.zero_sum(lambda x, y, a=alpha: a * x * y)
            paths[alpha], radius[alpha], closed[alpha], judged[alpha] = {}, {}, {}, {}
            for m in METHODS:
                dyn = _dynamics(m, game, ETA)
                traj = common.run_distance(dyn, start, STEPS[alpha])
                paths[alpha][m] = common.path(traj)[:51]
                dist = np.asarray(traj.metrics["distance"])
                judged[alpha][m] = common.last_iterate(common.outcome(dist))
                radius[alpha][m] = analysis.spectral_radius(dyn, eq)
                closed[alpha][m] = bilinear_rate(m, ETA, alpha)
                if m == "CGD":
                    empirical[alpha] = common.rate(dist)
        separable, sep_radius, sep_closed, cgd_vs_gda = {}, {}, {}, []
        for problem, sign in problems:
            separable[problem], sep_radius[problem], sep_closed[problem] = {}, {}, {}
            for alpha in alphas:
                game = games.zero_sum(lambda x, y, a=sign * alpha: a * (x * x - y * y))
                dist, rad = {}, {}
                for m in SEPARABLE:
                    dyn = _dynamics(m, game, ETA)
                    traj = common.run_distance(dyn, start, 100)
                    dist[m] = np.asarray(traj.metrics["distance"])
                    rad[m] = analysis.spectral_radius(dyn, eq)
                    if m == "GDA":
                        gda = common.path(traj)[:21]
                separable[problem][alpha], sep_radius[problem][alpha] = dist, rad
                sep_closed[problem][alpha] = {
                    m: separable_rate(m, ETA, alpha, sign) for m in SEPARABLE
                }
                cgd = common.path(
                    common.run_distance(_dynamics("CGD", game, ETA), start, 20)
                )
                cgd_vs_gda.append(float(np.max(np.abs(cgd - gda) / (1 + np.abs(gda)))))
        unit = games.zero_sum(lambda x, y: x * y)
        grid_ours = {
            m: np.asarray(
                [
                    analysis.spectral_radius(_dynamics(m, unit, float(h)), eq)
                    for h in grid
                ]
            )
            for m in grid_methods
        }
    grid_closed = {
        m: np.asarray([bilinear_rate(m, float(h), 1.0) for h in grid]) for m in METHODS
    }
    others = METHODS[:-1]
    claims = (
        verdict(
            "Figure 2, right (alpha = 6, eta = 0.2, gamma = 1) and abstract ('robust "
            "to strong interactions ... not the case with previous methods'): of "
            "GDA, LCGD, SGA/ConOpt, OGDA and CGD only CGD converges (ours: "
            "gamedyn.outcomes.classify_runs of 50-step runs; paper: the rates of "
            "the Section 3 updates)",
            [_verdict(bilinear_rate(m, ETA, 6.0)) for m in METHODS],
            [judged[6.0][m] for m in METHODS],
        ),
    )
    if not quick:
        claims += (
            verdict(
                "Figure 2, left and middle (alpha = 1, 3): the verdict of GDA, LCGD, "
                "SGA/ConOpt, OGDA and CGD from the rates of the Section 3 updates "
                "(GDA never converges; ConOpt sits on the unit circle at alpha = 3)",
                [[_verdict(bilinear_rate(m, ETA, a)) for m in METHODS] for a in (1, 3)],
                [[judged[a][m] for m in METHODS] for a in (1.0, 3.0)],
            ),
        )
    claims += (
        close(
            "Section 2, the CGD update on alpha x^T y contracts by "
            "1/sqrt(1 + eta^2 alpha^2) per step (ours: spectral radius of gamedyn's "
            f"cgd step, eta = 0.2, alpha = {', '.join(f'{a:g}' for a in alphas)})",
            [closed[a]["CGD"] for a in alphas],
            [radius[a]["CGD"] for a in alphas],
            rtol=1e-9,
        ),
        close(
            "Section 2, the same contraction against the empirical rate of the "
            "runs (gamedyn.outcomes.rate)",
            [closed[a]["CGD"] for a in alphas],
            [empirical[a] for a in alphas],
            rtol=1e-4,
        ),
        close(
            "Section 3 updates of GDA, LCGD, SGA/ConOpt and OGDA: their rates on "
            "alpha x^T y at eta = 0.2 (ours: spectral radii)",
            [[closed[a][m] for m in others] for a in alphas],
            [[radius[a][m] for m in others] for a in alphas],
            rtol=1e-9,
        ),
    )
    if not quick:
        claims += (
            close(
                "Section 2, CGD converges for every step size: 1/sqrt(1 + eta^2) on "
                "x y for eta from 0.01 to 100 (ours: spectral radii of gamedyn's cgd)",
                grid_closed["CGD"],
                grid_ours["CGD"],
                rtol=1e-8,
            ),
            close(
                "Section 3 updates of GDA, LCGD, SGA/ConOpt and OGDA: their rates on "
                "x y for eta from 0.01 to 100 (ours: spectral radii)",
                [grid_closed[m] for m in others],
                [grid_ours[m] for m in others],
                rtol=1e-8,
            ),
        )
    claims += (
        close(
            f"Figure 3, separable problems ({', '.join(separable)}): the rates of "
            "GDA (= SGA = LCGD = CGD), ConOpt and OGDA (ours: spectral radii)",
            [
                [[sep_closed[p][a][m] for m in SEPARABLE] for a in alphas]
                for p in separable
            ],
            [
                [[sep_radius[p][a][m] for m in SEPARABLE] for a in alphas]
                for p in separable
            ],
            rtol=1e-9,
        ),
        close(
            "Abstract ('avoids making any unnecessary changes to the gradient "
            "dynamics') and Figure 3's legend ('GDA, SGA, LCGD, CGD': one curve): "
            "without interaction CGD is GDA (ours: the largest relative difference "
            "over 20 steps of the separable problems)",
            0.0,
            max(cgd_vs_gda),
            atol=1e-12,
        ),
    )
    data = {
        "alphas": list(alphas),
        "methods": list(METHODS),
        "separable_methods": list(SEPARABLE),
        "eta": ETA,
        "gamma": GAMMA,
        "start": list(START),
        "paths": paths,
        "separable": separable,
        "radius_ours": radius,
        "radius_closed": closed,
        "separable_radius": sep_radius,
        "eta_grid": grid,
        "grid_ours": grid_ours,
        "grid_closed": grid_closed,
    }
    return Reproduction(ENTRY.name, claims, data, quick)

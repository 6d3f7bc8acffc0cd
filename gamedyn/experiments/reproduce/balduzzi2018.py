"""Balduzzi et al. (2018): symplectic gradient adjustment on two-player games.

Reproduces the mechanics of Balduzzi, Racaniere, Martens, Foerster, Tuyls, Graepel
2018, *The Mechanics of n-Player Differentiable Games* (ICML; code
github.com/deepmind/symplectic-gradient-adjustment). The game Jacobian `J` splits
into a symmetric (potential) part `S` and an antisymmetric (Hamiltonian) part
`A`; symplectic gradient adjustment (SGA, Algorithm 1) steps on
`xi + lambda A^T xi`, with the sign of `lambda` chosen by alignment,
`sign(<xi, grad H> <A^T xi, grad H> / d + epsilon)`, `grad H = J^T xi`,
`epsilon = 0.1`.

The games (two scalar players `x`, `y`; each minimises its own loss):

* the Hamiltonian game `l1 = x y = -l2` (`S = 0`): gradient descent does not
  converge (simultaneous steps spiral out), SGA converges;
* a potential game `l1 = l2 = phi` with `phi = x^2 / 2 + x y + y^2 + x^4 / 4`
  (`A = 0`): SGA is gradient descent;
* `l1 = s x^2 / 2 + a x y`, `l2 = s y^2 / 2 - a x y` with strong rotation
  `a = 10`: `J = s I + a [[0, 1], [-1, 0]]`. With `s = 1` the fixed point is
  stable but gradient descent with step `0.032` diverges (`|1 - h (s +- i a)| > 1`);
  SGA's field has the Jacobian `(I - lambda A) J` with eigenvalues
  `(s + lambda a^2) +- i a (1 - lambda s)` and converges. With `s = -1` the fixed
  point is unstable (`S < 0`): alignment picks `lambda < 0` and SGA is repelled,
  while SGA with `lambda > 0` imposed converges to the unstable point (the reason
  for the alignment criterion, Section 4).

Ours: `gamedyn.dynamics.get("sga")` (and `get("simultaneous")`) with `optax.sgd`,
float64; spectral radii by `gamedyn.analysis.spectral_radius`, `S` and `A` from
`gamedyn.analysis.jacobian`, the sign from `gamedyn.vector_field` and the Jacobian at
the start, verdicts by `gamedyn.outcomes.classify_runs`. The rotating games use
`lambda = 0.1`, the others `lambda = 1`. `quick` runs 150 instead of 400 steps
per run and draws coarser vector fields.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import analysis, dynamics, games, outcomes
from gamedyn._game import Game, vector_field
from gamedyn.experiments.reproduce import Entry, Reproduction, close, verdict
from gamedyn.experiments.reproduce import _common as common

ENTRY = Entry(
    name="balduzzi2018",
    title="symplectic gradient adjustment on Hamiltonian, potential and rotating games",
    paper=(
        "Balduzzi, Racaniere, Martens, Foerster, Tuyls, Graepel 2018, The Mechanics "
        "of n-Player Differentiable Games, ICML"
    ),
    reference="https://github.com/deepmind/symplectic-gradient-adjustment",
    figures=(
        "the two-player examples: SGA against gradient descent on a Hamiltonian, a "
        "potential and a rotating game, and the alignment sign at a stable and an "
        "unstable fixed point"
    ),
)

EPSILON = 0.1
"""The alignment threshold of Algorithm 1."""

START = (1.0, 1.0)
"""The start `(x, y)` of every run."""


def rotating_game(s: float, a: float = 10.0) -> Game:
    """`l1 = s x^2 / 2 + a x y`, `l2 = s y^2 / 2 - a x y`."""

    def losses(params, key=None):
        x, y = params
        return s * x**2 / 2 + a * x * y, s * y**2 / 2 - a * x * y

    return Game(init=lambda key: tuple(jnp.asarray(v) for v in START), losses=losses)


def potential_game() -> Game:
    """`l1 = l2 = phi`, `phi = x^2 / 2 + x y + y^2 + x^4 / 4`."""

    def losses(params, key=None):
        x, y = params
        phi = x**2 / 2 + x * y + y**2 + x**4 / 4
        return phi, phi

    return Game(init=lambda key: tuple(jnp.asarray(v) for v in START), losses=losses)


def gd_rate(step: float, s: float, a: float) -> float:
    """Simultaneous GD on the rotating game: `|1 - h (s +- i a)|`."""
    return float(abs(1.0 - step * (s + 1j * a)))


def sga_rate(step: float, lam: float, s: float, a: float) -> float:
    """SGA on the rotating game: `|1 - h ((s + lam a^2) +- i a (1 - lam s))|`
    (the Hamiltonian game is `s = 0`, `a = 1`)."""
    return float(abs(1.0 - step * ((s + lam * a**2) + 1j * a * (1.0 - lam * s))))


def alignment_sign(game: Game, params) -> int:
    """The sign Algorithm 1 gives `lambda` at `params`:
    `sign(<xi, J^T xi> <A^T xi, J^T xi> / d + epsilon)`, from gamedyn's field and
    Jacobian."""
    xi = np.array([float(v) for v in vector_field(game)(params)])
    j = np.asarray(analysis.jacobian(game, params))
    grad_h = j.T @ xi
    at_xi = 0.5 * (j.T - j) @ xi
    return int(np.sign(np.dot(xi, grad_h) * np.dot(at_xi, grad_h) / xi.size + EPSILON))


def _parts(game: Game, params) -> tuple[float, float]:
    """`(max |S|, max |A|)` of the Jacobian at `params`."""
    j = np.asarray(analysis.jacobian(game, params))
    return float(np.max(np.abs(j + j.T) / 2)), float(np.max(np.abs(j - j.T) / 2))


def run(quick: bool = False) -> Reproduction:
    """Recomputes the examples: SGA and GD on four games.

    Args:
      quick: 150 steps per run and 15 x 15 vector fields (seconds) instead of 400
        steps and 25 x 25.

    Returns:
      The `Reproduction`. `data`: `panels`, a dict from a panel name to
      `{"title", "paths" (label -> (T, 2)), "field" (x, y, u, v), "step"}`, and
      `signs`, `rates`.
    """
    steps = 150 if quick else 400
    num = 15 if quick else 25
    with jax.enable_x64(True):
        start = tuple(jnp.asarray(v, jnp.float64) for v in START)
        eq = common.zeros_like(start)
        settings = {
            "hamiltonian": (games.zero_sum(lambda x, y: x * y, start), 0.1, 1.0),
            "potential": (potential_game(), 0.1, 1.0),
            "stable": (rotating_game(1.0), 0.032, 0.1),
            "unstable": (rotating_game(-1.0), 0.032, 0.1),
        }
        runs = {
            "hamiltonian": {"gradient descent": "gd", "SGA": "sga"},
            "potential": {"gradient descent": "gd", "SGA": "sga"},
            "stable": {"gradient descent": "gd", "SGA": "sga"},
            "unstable": {"SGA, lambda > 0 imposed": "fixed", "SGA (aligned)": "sga"},
        }
        panels, dists, radius, built = {}, {}, {}, {}
        for name, (game, h, lam) in settings.items():
            opt = optax.sgd(h)
            rules = {
                "gd": dynamics.get("simultaneous")(game, opt),
                "sga": dynamics.get("sga")(game, opt, lam),
                "fixed": dynamics.sga(game, opt, lam, align=False),
            }
            paths = {}
            for label, kind in runs[name].items():
                traj = common.run_distance(rules[kind], start, steps)
                paths[label] = common.path(traj)
                dists[(name, label)] = np.asarray(traj.metrics["distance"])
                built[(name, label)] = rules[kind]
            field = analysis.vector_field_grid(
                game, bounds=(-2.0, 2.0, -2.0, 2.0), num=num
            )
            panels[name] = {
                "paths": paths,
                "field": tuple(np.asarray(f) for f in field),
                "step": h,
                "lam": lam,
            }
        for key in (
            ("hamiltonian", "SGA"),
            ("stable", "gradient descent"),
            ("stable", "SGA"),
        ):
            radius[key] = analysis.spectral_radius(built[key], eq)
        codes = outcomes.classify_runs(
            jnp.asarray(np.stack(list(dists.values()))), **common.JUDGE
        )
        ham_s, _ = _parts(settings["hamiltonian"][0], start)
        _, pot_a = _parts(settings["potential"][0], start)
        signs = {
            "stable": alignment_sign(settings["stable"][0], start),
            "unstable": alignment_sign(settings["unstable"][0], start),
            "hamiltonian": alignment_sign(settings["hamiltonian"][0], start),
        }
    judged = dict(zip(dists, outcomes.outcome_names(codes)))
    pot = panels["potential"]["paths"]
    same = float(np.max(np.abs(pot["SGA"] - pot["gradient descent"])))
    closed = {
        "hamiltonian SGA": sga_rate(0.1, 1.0, 0.0, 1.0),
        "stable GD": gd_rate(0.032, 1.0, 10.0),
        "stable SGA": sga_rate(0.032, 0.1, 1.0, 10.0),
    }
    claims = (
        close(
            "Section 3: l1 = xy = -l2 is a Hamiltonian game: the symmetric part S of "
            "its Jacobian vanishes (ours: max |S| of gamedyn.analysis.jacobian)",
            0.0,
            ham_s,
            atol=1e-12,
        ),
        verdict(
            "Section 3: on the Hamiltonian game gradient descent does not converge "
            "(ours: simultaneous GD, gamedyn.outcomes.classify_runs)",
            "does not converge",
            common.last_iterate(judged[("hamiltonian", "gradient descent")]),
        ),
        verdict(
            "Section 3-4: SGA converges on the Hamiltonian game (ours: "
            "classify_runs, lambda = 1, h = 0.1)",
            "converges",
            common.last_iterate(judged[("hamiltonian", "SGA")]),
        ),
        close(
            "SGA's field on the Hamiltonian game is (J + lambda I) w, a step "
            "multiplier |1 - h (lambda +- i)| (ours: spectral radius of SGA)",
            closed["hamiltonian SGA"],
            radius[("hamiltonian", "SGA")],
            rtol=1e-10,
        ),
        close(
            "Section 3: in a potential game (l1 = l2 = phi) the antisymmetric part A "
            "vanishes (ours: max |A| of the Jacobian)",
            0.0,
            pot_a,
            atol=1e-12,
        ),
        close(
            "Section 4: A = 0 makes SGA gradient descent: the two trajectories on the "
            "potential game agree (ours: max |SGA - GD| over the run)",
            0.0,
            same,
            atol=1e-12,
        ),
        close(
            "Rotating game (s = 1, a = 10): gradient descent with h = 0.032 has the "
            "multiplier |1 - h (s +- i a)| > 1 (ours: spectral radius of GD)",
            closed["stable GD"],
            radius[("stable", "gradient descent")],
            rtol=1e-10,
        ),
        verdict(
            "Section 4: gradient descent fails where rotation dominates: it diverges "
            "on the rotating game with h = 0.032 (ours: classify_runs)",
            "diverged",
            judged[("stable", "gradient descent")],
        ),
        close(
            "SGA on the rotating game: eigenvalues (s + lambda a^2) +- i a "
            "(1 - lambda s) of the adjusted field, multiplier |1 - h mu| (ours: "
            "spectral radius of SGA, lambda = 0.1)",
            closed["stable SGA"],
            radius[("stable", "SGA")],
            rtol=1e-10,
        ),
        verdict(
            "Section 4: SGA converges where gradient descent diverges (ours: "
            "classify_runs, same h)",
            "converged",
            judged[("stable", "SGA")],
        ),
        verdict(
            "Section 4, alignment: at a stable fixed point (S > 0) the criterion "
            "picks lambda > 0 (ours: Algorithm 1's sign at the start, from "
            "gamedyn's xi and J)",
            1,
            signs["stable"],
        ),
        verdict(
            "Section 4, alignment: at an unstable fixed point (S < 0, s = -1) the "
            "criterion picks lambda < 0",
            -1,
            signs["unstable"],
        ),
        verdict(
            "Section 4: with lambda > 0 imposed, SGA converges to the unstable fixed "
            "point (ours: sga(align=False), classify_runs)",
            "converged",
            judged[("unstable", "SGA, lambda > 0 imposed")],
        ),
        verdict(
            "Section 4: with the sign chosen by alignment SGA is repelled by the "
            "unstable fixed point (ours: classify_runs says the run leaves it)",
            "diverged",
            judged[("unstable", "SGA (aligned)")],
        ),
    )
    titles = {
        "hamiltonian": r"Hamiltonian game $\ell_1 = xy = -\ell_2$",
        "potential": r"potential game $\ell_1 = \ell_2 = \phi$",
        "stable": r"rotating game, $s = 1$ (stable)",
        "unstable": r"rotating game, $s = -1$ (unstable)",
    }
    for name, title in titles.items():
        panels[name]["title"] = title
    data = {
        "panels": panels,
        "signs": signs,
        "closed_form": closed,
        "outcomes": {f"{k[0]}/{k[1]}": v for k, v in judged.items()},
    }
    return Reproduction(ENTRY.name, claims, data, quick)

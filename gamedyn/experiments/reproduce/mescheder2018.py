"""Mescheder, Geiger, Nowozin (2018): which GAN training methods converge.

Reproduces the Dirac-GAN study of Mescheder, Geiger, Nowozin 2018, *Which Training
Methods for GANs do actually Converge?* (ICML; code github.com/LMescheder/GAN_stability,
`notebooks/diracgan`). The Dirac-GAN: data at 0, generator a point mass at
`theta`, discriminator `D(x) = psi x`, `L(theta, psi) = f(psi theta) + f(0)`
with `f(t) = -log(1 + e^-t)` (`f'(0) = 1/2`, `f''(0) = -1/4`). The paper's
Jacobians are those of the ascent field `v = -xi`: its eigenvalues are the
negatives of gamedyn's (`gamedyn.analysis`, docs/analysis.md), and ours are negated
before they are compared. Closed forms (the paper's convention):

* Lemma 2.2: the unregularized Jacobian at `(0, 0)` has eigenvalues `+-f'(0) i`;
* Lemma 2.4: simultaneous GD's update operator has eigenvalues `1 +- h f'(0) i`
  (modulus `sqrt(1 + h^2 f'(0)^2) > 1`: not convergent);
* Lemma 2.5: alternating GD (one generator, then one discriminator step) has
  `1 - alpha^2 / 2 +- sqrt((1 - alpha^2 / 2)^2 - 1)`, `alpha = h f'(0)`: on the
  unit circle for `alpha <= 2`, outside it for `alpha > 2`;
* instance noise of std `sigma`:
  `f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)`;
* zero-centred gradient penalties (R1, R2) of weight `gamma`:
  `-gamma / 2 +- sqrt(gamma^2 / 4 - f'(0)^2)` (Section 3, the Dirac-GAN case of
  Theorem 4.1).

The convergence verdicts (Sections 2-3, Figures 1-3): unregularized GAN training,
the non-saturating GAN, WGAN (clipping) and WGAN-GP do not converge with simultaneous
or alternating GD; instance noise, zero-centred gradient penalties and consensus
optimization converge. Ours: `gamedyn.experiments.dirac` in paper mode (the reference
notebook's variants and settings: `h = 0.2`, 500 steps from `(1, 1)`, the generator
moves first in alternating GD, the notebook's consensus field, float64), judged by
`gamedyn.outcomes.classify_runs` with the study's parameters; the eigenvalues by
`gamedyn.analysis.eigenvalues` and `update_jacobian`. The instance-noise Jacobian is
that of a Monte-Carlo estimate of the expectations (`4 * 10^5` samples, a fixed key).

`quick` runs four of the nine variants (GAN, WGAN, R1, consensus) with coarser
vector fields; the eigenvalue claims are the same.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import analysis, dynamics, games, regularizers
from gamedyn.experiments import dirac
from gamedyn.experiments.reproduce import Entry, Reproduction, close, verdict

ENTRY = Entry(
    name="mescheder2018",
    title="the Dirac-GAN: which training methods converge, and their eigenvalues",
    paper=(
        "Mescheder, Geiger, Nowozin 2018, Which Training Methods for GANs do "
        "actually Converge?, ICML"
    ),
    reference="https://github.com/LMescheder/GAN_stability",
    figures=(
        "Figures 1-3 (Dirac-GAN trajectories over the vector field: unregularized, "
        "then every method with alternating and simultaneous GD), Lemmas 2.2, 2.4, "
        "2.5, the instance-noise and gradient-penalty eigenvalues"
    ),
)

F1 = 0.5
"""`f'(0)` of the standard loss `f(t) = -log(1 + e^-t)`."""

F2 = -0.25
"""`f''(0)` of the standard loss."""

STEP = 0.2
"""The reference notebook's learning rate `h`."""

NAMES = {
    "gan": "GAN (unregularized)",
    "nsgan": "non-saturating GAN",
    "wgan": "WGAN (clipping at 1)",
    "wgan_gp": "WGAN-GP (γ = 0.7)",
    "instance_noise": "instance noise (σ = 0.7)",
    "r1": "R1 penalty (γ = 0.3)",
    "r1_critical": "R1 penalty (γ = 1)",
    "consensus": "consensus (γ = 1)",
    "nsgan_r1": "NS-GAN + R1 (γ = 0.3)",
}
"""Display names of the notebook's variants (`gamedyn.experiments.dirac.VARIANTS`)."""

CONVERGES = {
    "gan": ("does not converge", "Lemmas 2.4 and 2.5"),
    "nsgan": ("does not converge", "Section 2.3, Figure 2b"),
    "wgan": ("does not converge", "Lemma 3.1"),
    "wgan_gp": ("does not converge", "Section 3.2, WGAN-GP"),
    "instance_noise": ("converges", "Section 3.4, instance noise"),
    "r1": ("converges", "Section 3.5, zero-centred gradient penalties"),
    "r1_critical": ("converges", "Section 3.5, zero-centred gradient penalties"),
    "consensus": ("converges", "Section 3.3, consensus optimization"),
    "nsgan_r1": ("converges", "Theorem 4.1 (R1 for any f with f''(0) < 0)"),
}
"""The paper's verdict per variant, for simultaneous and alternating GD alike, and
where it is stated."""

QUICK_VARIANTS = ("gan", "wgan", "r1", "consensus")


def lemma_2_2() -> np.ndarray:
    """`+-f'(0) i`."""
    return np.array([-1j * F1, 1j * F1])


def lemma_2_4(h: float) -> np.ndarray:
    """`1 +- h f'(0) i`."""
    return np.array([1 - 1j * h * F1, 1 + 1j * h * F1])


def lemma_2_5(h: float) -> np.ndarray:
    """`1 - alpha^2 / 2 +- sqrt((1 - alpha^2 / 2)^2 - 1)`, `alpha = h f'(0)`."""
    alpha = h * F1
    c = 1 - alpha**2 / 2
    root = np.sqrt(complex(c**2 - 1))
    return np.array([c - root, c + root])


def instance_noise_eigenvalues(sigma: float) -> np.ndarray:
    """`f''(0) sigma^2 +- sqrt(f''(0)^2 sigma^4 - f'(0)^2)`."""
    root = np.sqrt(complex(F2**2 * sigma**4 - F1**2))
    return np.array([F2 * sigma**2 - root, F2 * sigma**2 + root])


def penalty_eigenvalues(gamma: float) -> np.ndarray:
    """`-gamma / 2 +- sqrt(gamma^2 / 4 - f'(0)^2)`."""
    root = np.sqrt(complex(gamma**2 / 4 - F1**2))
    return np.array([-gamma / 2 - root, -gamma / 2 + root])


def as_pairs(lam) -> list[list[float]]:
    """Complex values as `[re, im]` pairs sorted by (imaginary, real) part, so two
    spectra compare elementwise."""
    lam = np.asarray(lam, complex)
    order = np.lexsort((lam.real, lam.imag))
    return [[float(v.real), float(v.imag)] for v in lam[order]]


def _eigen_claims() -> tuple[list, dict]:
    eq = (jnp.asarray(0.0, jnp.float64), jnp.asarray(0.0, jnp.float64))
    claims, spectra = [], {}

    def game_claim(label, text, paper, game, key=None, atol=1e-12):
        ours = -np.asarray(analysis.eigenvalues(game, eq, key=key))  # ascent field
        spectra[label] = {"paper": paper, "ours": ours, "kind": "field"}
        claims.append(close(text, as_pairs(paper), as_pairs(ours), atol=atol))

    game_claim(
        "Lemma 2.2: GAN",
        "Lemma 2.2: the unregularized Dirac-GAN's Jacobian at the equilibrium has "
        "the eigenvalues +-f'(0) i, on the imaginary axis (ours: "
        "gamedyn.analysis.eigenvalues, negated to the paper's ascent convention)",
        lemma_2_2(),
        games.dirac_gan(),
    )
    sigma = 0.7
    game_claim(
        f"instance noise, σ = {sigma:g}",
        "Section 3.4, instance noise (sigma = 0.7): eigenvalues f''(0) sigma^2 +- "
        "sqrt(f''(0)^2 sigma^4 - f'(0)^2), negative real parts (ours: the Jacobian "
        "of a 4e5-sample Monte-Carlo estimate, fixed key)",
        instance_noise_eigenvalues(sigma),
        games.dirac_gan(instance_noise=sigma, num_samples=400_000),
        key=jax.random.key(0),
        atol=5e-3,
    )
    for name, gamma in (("R1", 0.3), ("R2", 0.3), ("R1", 1.0)):
        reg = regularizers.get(name.lower(), gamma)
        game_claim(
            f"{name}, γ = {gamma:g}",
            f"Section 3.5 / Theorem 4.1, {name} (gamma = {gamma:g}): eigenvalues "
            "-gamma/2 +- sqrt(gamma^2/4 - f'(0)^2), negative real parts",
            penalty_eigenvalues(gamma),
            games.dirac_gan(regularizer=reg),
            atol=1e-12 if gamma != 1.0 else 1e-6,
        )
    game = games.dirac_gan()
    for label, text, rule, h, paper in (
        (
            f"Lemma 2.4: SimGD, h = {STEP:g}",
            "Lemma 2.4: simultaneous GD's update operator has eigenvalues "
            "1 +- h f'(0) i, of modulus > 1 (ours: eigenvalues of "
            "gamedyn.analysis.update_jacobian, h = 0.2)",
            "simultaneous",
            STEP,
            lemma_2_4(STEP),
        ),
        (
            f"Lemma 2.5: AltGD, h = {STEP:g}",
            "Lemma 2.5: alternating GD (generator first) has eigenvalues "
            "1 - a^2/2 +- sqrt((1 - a^2/2)^2 - 1), a = h f'(0), on the unit circle "
            "(ours: update_jacobian of alternating(order=(0, 1)), h = 0.2)",
            "alternating",
            STEP,
            lemma_2_5(STEP),
        ),
        (
            "Lemma 2.5: AltGD, h = 4.5",
            "Lemma 2.5: for a = h f'(0) > 2 an eigenvalue lies outside the unit "
            "circle (h = 4.5, a = 2.25)",
            "alternating",
            4.5,
            lemma_2_5(4.5),
        ),
    ):
        opt = optax.sgd(h)
        dyn = (
            dynamics.alternating(game, opt, order=dirac.PAPER_ORDER)
            if rule == "alternating"
            else dynamics.get(rule)(game, opt)
        )
        ours = np.linalg.eigvals(np.asarray(analysis.update_jacobian(dyn, eq)))
        spectra[label] = {"paper": paper, "ours": ours, "kind": "operator"}
        claims.append(close(text, as_pairs(paper), as_pairs(ours), atol=1e-12))
    return claims, spectra


def run(quick: bool = False) -> Reproduction:
    """Recomputes the Dirac-GAN study in paper mode and the closed-form spectra.

    Args:
      quick: four variants (GAN, WGAN, R1, consensus) on 15 x 15 vector fields
        (seconds) instead of the notebook's nine on 25 x 25.

    Returns:
      The `Reproduction`. `data`: `runs` (a list of dicts: `rule`,
      `variant`, `name`, `outcome`, `clip`, `theta`, `psi` (the
      trajectory), `field` (x, y, u, v)), `spectra` (label -> `paper`,
      `ours` (complex), `kind`: `"field"` or `"operator"`), `variants`
      (in order) and the settings.
    """
    variants = QUICK_VARIANTS if quick else dirac.PAPER_VARIANTS
    config = dirac.Config(
        variants=variants, paper=True, field_points=15 if quick else 25
    )
    results = dirac.run(config)
    with jax.enable_x64(True):
        claims, spectra = _eigen_claims()
    for r in results:
        paper, where = CONVERGES[r.variant]
        ours = "converges" if r.outcome == "converged" else "does not converge"
        rule = "SimGD" if r.rule == "simultaneous" else "AltGD"
        claims.append(
            verdict(
                f"{where}: {NAMES[r.variant]} with {rule} {paper} (ours: "
                f"gamedyn.outcomes.classify_runs says {r.outcome}; h = 0.2, "
                "500 steps from (1, 1))",
                paper,
                ours,
            )
        )
    runs = [
        {
            "rule": r.rule,
            "variant": r.variant,
            "name": NAMES[r.variant],
            "outcome": r.outcome,
            "clip": r.settings.clip,
            "theta": np.asarray(r.trajectory.params[0]),
            "psi": np.asarray(r.trajectory.params[1]),
            "field": tuple(np.asarray(f) for f in r.field),
        }
        for r in results
    ]
    data = {
        "runs": runs,
        "spectra": spectra,
        "variants": list(variants),
        "step": config.lr,
        "steps": config.steps,
        "conventions": dirac.conventions(config),
    }
    return Reproduction(ENTRY.name, tuple(claims), data, quick)

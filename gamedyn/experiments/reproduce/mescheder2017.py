"""Mescheder, Nowozin, Geiger (2017): consensus optimization.

Reproduces *The Numerics of GANs* (Mescheder, Nowozin, Geiger 2017, NeurIPS; code
github.com/LMescheder/TheNumericsOfGANs). The paper writes the Jacobian `v'` of the
ascent field `v = -xi` (its eigenvalues are the negatives of gamedyn's; ours are
negated before they are compared):

* Section 3: simultaneous gradient ascent `x <- x + h v(x)` converges locally iff
  every eigenvalue `lambda` of `v'` has `|1 + h lambda| < 1`; eigenvalues on the
  imaginary axis (`Re lambda = 0`) rule it out for every `h`. On the bilinear game
  `x^T A y` (and on the Dirac-GAN) `v'` has the eigenvalues `+-i sigma_k`.
* Section 4: consensus optimization ascends on `w = v - gamma grad L`,
  `L = 1/2 ||v||^2`, whose Jacobian at a stationary point is
  `w' = v' - gamma v'^T v'`. For a normal `v'` with eigenvalues `+-i sigma` this
  gives `-gamma sigma^2 +- i sigma`: the eigenvalues move into the left half-plane,
  and the ratio of imaginary to real part, `1 / (gamma sigma)`, goes to 0 as
  `gamma` grows (their Lemma on `A - gamma A^T A`). Simultaneous steps on `w`
  then converge for small `h`, at the rate
  `max |1 - h (gamma sigma^2 +- i sigma)|`.
* Section 5, the mixture of Gaussians (their notebook `mog-eigval-dist.ipynb`: 8
  Gaussians of std 0.01 on the unit circle, generator and discriminator of 4 ReLU
  layers of 16 units, latent 16, batch 512, RMSProp with learning rate 1e-4,
  `gamma = 10`, the non-saturating generator loss): simultaneous gradient ascent
  does not converge to the mixture and misses modes, consensus optimization covers
  all 8.

Ours: `gamedyn.games.bilinear`, `dirac_gan` and `consensus_game`,
`gamedyn.analysis.eigenvalues` (float64); the step rates by
`gamedyn.analysis.spectral_radius` of `get("simultaneous")` and
`get("consensus")` with `optax.sgd`; the mixture with `gamedyn.games.module_gan`,
`get("simultaneous")` and `get("consensus")` with
`optax.rmsprop(1e-4, decay=0.9, eps=1e-10, initial_scale=1)` (TensorFlow 1's
RMSProp, whose mean square starts at 1), scored on 2500 samples per snapshot with
`gamedyn.metrics.mode_coverage` (a mode is covered when a sample lies within 3 std).

`quick` checks the eigenvalue and rate claims only (seconds): the mixture-of-Gaussians
runs (20000 steps each, about a minute on 2 CPU cores) and their claims are in the
full setting.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gamedyn import analysis, data, dynamics, games, metrics
from gamedyn.experiments.reproduce import Entry, Reproduction, bound, close, verdict
from gamedyn.simulation import simulate

ENTRY = Entry(
    name="mescheder2017",
    title="consensus optimization: eigenvalues off the imaginary axis, the ring of 8",
    paper="Mescheder, Nowozin, Geiger 2017, The Numerics of GANs, NeurIPS",
    reference="https://github.com/LMescheder/TheNumericsOfGANs",
    figures=(
        "Sections 3-4 (eigenvalues before and after consensus, rates of the "
        "simultaneous step) and Section 5's mixture of Gaussians (simultaneous "
        "gradient ascent against consensus optimization, snapshots)"
    ),
)

A = ((1.0, 0.5), (0.0, 0.8))
"""The bilinear game's matrix (singular values 1.203, 0.665)."""

GAMMAS = (0.1, 0.3, 1.0, 3.0)
"""Consensus weights of the eigenvalue claims."""

STEP = 0.1
"""The step `h` of the rate claims."""

F1 = 0.5
"""`f'(0)` of the Dirac-GAN's standard loss."""

MOG = {
    "steps": 20000,
    "snapshots": 4,
    "lr": 1e-4,
    "gamma": 10.0,
    "batch_size": 512,
    "latent": 16,
    "hidden": (16, 16, 16, 16),
    "radius": 1.0,
    "std": 0.01,
    "eval_samples": 2500,
}
"""The mixture-of-Gaussians settings of the reference notebook."""


def consensus_eigenvalues(sigma, gamma: float) -> np.ndarray:
    """Section 4: `-gamma sigma^2 +- i sigma` for each singular value (`gamma =
    0`: `v'` itself)."""
    sigma = np.asarray(sigma, float)
    return np.concatenate(
        [-gamma * sigma**2 + 1j * sigma, -gamma * sigma**2 - 1j * sigma]
    )


def step_rate(step: float, sigma, gamma: float) -> float:
    """Section 3: the rate `max |1 + h lambda|` of simultaneous steps on `v`
    (`gamma = 0`) or on `w`."""
    return float(np.max(np.abs(1.0 + step * consensus_eigenvalues(sigma, gamma))))


def as_pairs(lam) -> list[list[float]]:
    """Complex values as `[re, im]` pairs sorted by (imaginary, real) part."""
    lam = np.asarray(lam, complex)
    order = np.lexsort((lam.real, lam.imag))
    return [[float(v.real), float(v.imag)] for v in lam[order]]


def mixture_of_gaussians(steps: int, seed: int = 0) -> dict:
    """The notebook's ring of 8 with simultaneous gradient ascent and consensus.

    Args:
      steps: training steps per rule.
      seed: the PRNG seed of the initialisation and of the minibatches.

    Returns:
      `{"steps": (S,), "mixture": centers, "std", "runs": {rule: {"samples":
      (S, 500, 2), "modes": (S,), "high_quality": (S,)}}}` at `S` snapshots
      (the start included).
    """
    mog = MOG
    mixture = data.ring(8, mog["radius"], mog["std"])
    generator = games.MLP(mog["hidden"], 2)
    discriminator = games.MLP(mog["hidden"], 1)

    def noise(key, n):
        return jax.random.normal(key, (n, mog["latent"]))

    game = games.module_gan(
        generator,
        discriminator,
        mixture.sample,
        noise,
        loss="non_saturating",
        batch_size=mog["batch_size"],
    )
    opt = optax.rmsprop(mog["lr"], decay=0.9, eps=1e-10, initial_scale=1.0)
    start = game.init(jax.random.key(seed))
    every = max(1, steps // mog["snapshots"])
    rules = {
        "simultaneous": dynamics.get("simultaneous")(game, opt),
        "consensus": dynamics.get("consensus")(game, opt, mog["gamma"]),
    }
    eval_key = jax.random.fold_in(jax.random.key(seed), 2**31 - 1)

    def score(g_params):
        x = generator.apply({"params": g_params}, noise(eval_key, mog["eval_samples"]))
        return x, metrics.mode_counts(x, mixture.centers, mixture.std)

    runs, recorded = {}, None
    for name, dyn in rules.items():
        traj = simulate(dyn, start, steps, key=jax.random.key(seed + 1), every=every)
        recorded = np.asarray(traj.steps)
        x, counts = jax.vmap(score)(traj.params[0])
        cover = jax.vmap(
            lambda c: metrics.coverage_from_counts(c, mog["eval_samples"])
        )(counts)
        runs[name] = {
            "samples": np.asarray(x[:, :500]),
            "modes": np.asarray(cover["modes"]),
            "high_quality": np.asarray(cover["high_quality"]),
        }
    return {
        "steps": recorded,
        "centers": np.asarray(mixture.centers),
        "std": mixture.std,
        "runs": runs,
    }


def run(quick: bool = False) -> Reproduction:
    """Recomputes the eigenvalue analysis and (full setting) the mixture of Gaussians.

    Args:
      quick: the eigenvalue and rate claims only (seconds).

    Returns:
      The `Reproduction`. `data`: `spectra` (gamma -> paper and ours on the
      bilinear game), `sigma`, `step_grid`, `rate_closed` and `rate_ours`
      (rule -> rates of simultaneous steps on `v` and on `w` against `h`), and
      in the full setting `mog` (see `mixture_of_gaussians`).
    """
    sigma = np.linalg.svd(np.asarray(A), compute_uv=False)
    gamma_rate = 1.0
    claims, spectra = [], {}
    with jax.enable_x64(True):
        game = games.bilinear(jnp.asarray(A, jnp.float64))
        eq = (jnp.zeros(2, jnp.float64), jnp.zeros(2, jnp.float64))
        for gamma in (0.0, *GAMMAS):
            g = game if gamma == 0.0 else games.consensus_game(game, gamma)
            ours = -np.asarray(analysis.eigenvalues(g, eq))
            spectra[gamma] = {
                "paper": consensus_eigenvalues(sigma, gamma),
                "ours": ours,
            }
        dirac = games.dirac_gan()
        zero = (jnp.asarray(0.0, jnp.float64), jnp.asarray(0.0, jnp.float64))
        dirac_ours = {
            gamma: -np.asarray(
                analysis.eigenvalues(
                    dirac if gamma == 0 else games.consensus_game(dirac, gamma), zero
                )
            )
            for gamma in (0.0, 1.0)
        }
        radius = {
            "simultaneous": analysis.spectral_radius(
                dynamics.get("simultaneous")(game, optax.sgd(STEP)), eq
            ),
            "consensus": analysis.spectral_radius(
                dynamics.get("consensus")(game, optax.sgd(STEP), gamma_rate), eq
            ),
        }
    claims.append(
        close(
            "Section 3: on the bilinear game the Jacobian v' has the eigenvalues "
            "+-i sigma_k, on the imaginary axis (ours: gamedyn.analysis.eigenvalues, "
            "negated to the paper's ascent convention)",
            as_pairs(spectra[0.0]["paper"]),
            as_pairs(spectra[0.0]["ours"]),
            atol=1e-12,
        )
    )
    for gamma in GAMMAS:
        claims.append(
            close(
                f"Section 4: consensus (gamma = {gamma:g}) moves them to "
                "-gamma sigma^2 +- i sigma, into the left half-plane (ours: "
                "eigenvalues of gamedyn.games.consensus_game)",
                as_pairs(spectra[gamma]["paper"]),
                as_pairs(spectra[gamma]["ours"]),
                atol=1e-12,
            )
        )
    ratio = {
        g: float(np.max(np.abs(s["ours"].imag / s["ours"].real)))
        for g, s in spectra.items()
        if g
    }
    claims.append(
        close(
            "Section 4 (Lemma on A - gamma A^T A): the largest ratio |Im / Re| of the "
            "eigenvalues, 1 / (gamma sigma_min), falls to 0 as gamma grows",
            [1.0 / (g * sigma.min()) for g in GAMMAS],
            [ratio[g] for g in GAMMAS],
            rtol=1e-10,
        )
    )
    claims.append(
        close(
            "Sections 3-4 on the Dirac-GAN: +-f'(0) i without consensus, "
            "-gamma f'(0)^2 +- i f'(0) with it (gamma = 1)",
            [
                as_pairs([1j * F1, -1j * F1]),
                as_pairs([-(F1**2) + 1j * F1, -(F1**2) - 1j * F1]),
            ],
            [as_pairs(dirac_ours[0.0]), as_pairs(dirac_ours[1.0])],
            atol=1e-12,
        )
    )
    claims.append(
        bound(
            "Section 3: with eigenvalues on the imaginary axis simultaneous gradient "
            "steps do not converge for any h: |1 + h i sigma| > 1 (ours: spectral "
            f"radius of simultaneous GD, h = {STEP:g})",
            1.0,
            radius["simultaneous"],
            upper=False,
        )
    )
    claims.append(
        close(
            f"Sections 3-4: consensus (gamma = {gamma_rate:g}) makes simultaneous "
            "steps converge, at the rate max |1 - h (gamma sigma^2 +- i sigma)| "
            f"(ours: spectral radius of gamedyn's consensus rule, h = {STEP:g})",
            step_rate(STEP, sigma, gamma_rate),
            radius["consensus"],
            rtol=1e-10,
        )
    )
    claims.append(
        close(
            "Section 3: ... and without consensus the rate is max |1 + h i sigma| = "
            "sqrt(1 + h^2 sigma_max^2)",
            step_rate(STEP, sigma, 0.0),
            radius["simultaneous"],
            rtol=1e-10,
        )
    )
    data = {
        "spectra": {str(g): s for g, s in spectra.items()},
        "sigma": sigma,
        "gammas": (0.0, *GAMMAS),
        "step": STEP,
        "gamma_rate": gamma_rate,
        "rates": {
            "closed": [step_rate(STEP, sigma, 0.0), step_rate(STEP, sigma, 1.0)],
            "ours": [radius["simultaneous"], radius["consensus"]],
        },
    }
    if not quick:
        mog = mixture_of_gaussians(MOG["steps"])
        data["mog"] = mog
        end = {k: int(v["modes"][-1]) for k, v in mog["runs"].items()}
        claims.append(
            verdict(
                "Section 5 (mixture of Gaussians): consensus optimization covers all "
                "8 modes at the end of training (ours: gamedyn.metrics.mode_coverage "
                "of 2500 samples after 20000 steps)",
                8,
                end["consensus"],
            )
        )
        claims.append(
            verdict(
                "Section 5: simultaneous gradient ascent (RMSProp) does not: it "
                "misses modes (ours: modes covered < 8)",
                True,
                end["simultaneous"] < 8,
            )
        )
    return Reproduction(ENTRY.name, tuple(claims), data, quick)

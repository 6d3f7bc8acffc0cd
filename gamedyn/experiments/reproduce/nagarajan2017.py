"""Nagarajan & Kolter (2017): the generator's gradient penalty and the local spectrum.

Reproduces the stability analysis of Nagarajan, Kolter 2017, *Gradient descent GAN
optimization is locally stable* (NeurIPS; code
github.com/locuslab/gradient_regularized_gan) on the Dirac-GAN (Mescheder et al.
2018): data a point mass at 0, generator a point mass at `theta`, linear
discriminator `D(x) = psi x`, objective `V = E_data f(D(x)) + E_G f(-D(x))`.

The paper's Jacobian of the gradient dynamics at an equilibrium
(`theta_D' = grad_D V`, `theta_G' = -grad_G (V + eta ||grad_D V||^2)`, its
Section 3 and the regularized system of Section 5), in the order `(D, G)`:

    `J = [[2 f''(0) K_DD, f'(0) K_DG], [-f'(0) K_DG^T, -2 eta f'(0)^2 K_DG^T K_DG]]`

(the lower-left block gains a term proportional to `eta K_DD`), with
`K_DD = E_data[grad D grad D^T]` and `K_DG = int grad_theta p_G(x) grad_D D(x)^T
dx`. For the Dirac-GAN `grad_psi D(x) = x` vanishes on the data, so `K_DD = 0`
(the point mass is outside the paper's assumptions: Theorem 3.1 needs the
discriminator's curvature), and `K_DG = d/dtheta E_G[x] = 1`. Hence:

* without the penalty (`eta = 0`) the eigenvalues are `+-i f'(0)`: purely
  imaginary, no local asymptotic stability (Section 4's WGAN limit cycles, where
  `f'' = 0` makes the `D` block vanish for every model);
* with it, `lambda^2 + 2 eta f'(0)^2 lambda + f'(0)^2 = 0`: the eigenvalues of the
  descent field (gamedyn's convention, `-J`) are
  `eta f'(0)^2 +- i f'(0) sqrt(1 - eta^2 f'(0)^2)`, real part `eta f'(0)^2 > 0`
  (Section 5: the regularized system is locally exponentially stable, for the GAN
  and the WGAN alike);
* simultaneous GD with step `h` then contracts by
  `|1 - h lambda| = sqrt(1 - 2 h eta f'(0)^2 + h^2 f'(0)^2)` per step (below 1 iff
  `h < 2 eta`), and by `sqrt(1 + h^2 f'(0)^2) > 1` without the penalty.

`f(t) = -log(1 + e^-t)` (the GAN, `f'(0) = 1/2`) and `f(t) = t` (the WGAN,
`f'(0) = 1`).

Ours: the Dirac-GAN built with `gamedyn.games.gan` (its `generator_penalty` is
this penalty: the squared norm of the discriminator's gradient, which the generator
differentiates through), `gamedyn.analysis.eigenvalues` and `spectral_radius`,
simultaneous GD (`optax.sgd(0.2)`, start `(1, 1)`, Mescheder et al.'s setting)
and `gamedyn.outcomes`, all in float64. `quick` checks the eigenvalues at 3
instead of 13 penalty weights per loss and runs 400 instead of 1000 steps.
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
    name="nagarajan2017",
    title="the generator's gradient penalty moves the spectrum off the imaginary axis",
    paper=(
        "Nagarajan, Kolter 2017, Gradient descent GAN optimization is locally "
        "stable, NeurIPS"
    ),
    reference="https://github.com/locuslab/gradient_regularized_gan",
    figures=(
        "the Jacobian of Sections 3-5 with and without the penalty eta ||grad_D V||^2 "
        "on the Dirac-GAN: eigenvalues against eta, streamlines and GD runs for the "
        "GAN and the WGAN"
    ),
)

LOSSES = {"GAN": ("standard", 0.5), "WGAN": ("wgan", 1.0)}
"""Loss name in `gamedyn.losses` and `f'(0)`."""

ETA = 0.5
"""The penalty weight of the regularized runs and streamlines."""

STEP = 0.2
"""Simultaneous GD's step size `h`."""

START = (1.0, 1.0)
"""The start `(theta, psi)` (Mescheder et al. 2018)."""


def dirac_gan(loss: str, eta: float):
    """The Dirac-GAN as a `gamedyn.games.gan` with the generator penalty `eta`."""

    def generator(theta, z):
        return jnp.broadcast_to(theta, z.shape)

    def discriminator(psi, x):
        return psi * x[:, 0]

    def zeros(key, n):
        return jnp.zeros((n, 1), jnp.float64)

    return games.gan(
        lambda key: tuple(jnp.asarray(v, jnp.float64) for v in START),
        generator,
        discriminator,
        zeros,
        zeros,
        loss=loss,
        batch_size=1,
        generator_penalty=eta,
    )


def paper_jacobian(fp0: float, eta: float, fpp0: float = 0.0, k_dd: float = 0.0):
    """The paper's Jacobian (module docstring) in the order `(D, G)`, with
    `K_DG = 1`; for the Dirac-GAN `K_DD = 0`."""
    return np.array([[2 * fpp0 * k_dd, fp0], [-fp0, -2 * eta * fp0**2]], dtype=float)


def paper_eigenvalues(fp0: float, eta: float) -> np.ndarray:
    """The eigenvalues of the descent field, `-J` of the paper's Jacobian, sorted
    by imaginary part."""
    lam = -np.linalg.eigvals(paper_jacobian(fp0, eta))
    return lam[np.lexsort((lam.real, lam.imag))]


def gd_rate(fp0: float, eta: float, h: float = STEP) -> float:
    """`max |1 - h lambda|` over the eigenvalues above."""
    return float(np.max(np.abs(1.0 - h * paper_eigenvalues(fp0, eta))))


def _sorted(lam) -> np.ndarray:
    lam = np.asarray(lam, complex)
    return lam[np.lexsort((lam.real, lam.imag))]


def _split(lams) -> list:
    """Complex eigenvalues as `[real parts, imaginary parts]` for `close`."""
    lams = np.asarray(lams, complex)
    return [lams.real, lams.imag]


def run(quick: bool = False) -> Reproduction:
    """Recomputes the Dirac-GAN's spectrum with and without the penalty.

    Args:
      quick: 3 penalty weights per loss and 400 GD steps, instead of 13 and 1000.

    Returns:
      The `Reproduction`. `data`: `etas` (loss -> weights), `eig_ours` /
      `eig_paper` (loss -> `(len(etas), 2)` complex), `locus` (loss ->
      `(200, 2)`: the closed form on a fine grid of `eta`), `fields` ((loss, eta)
      label -> `{"x", "y", "u", "v"}`), `paths` and `distance` (label ->
      GD run), `rate_paper` / `rate_ours` / `rate_empirical` (label -> rate),
      `verdicts` and the settings.
    """
    steps = 400 if quick else 1000
    etas = {
        "GAN": [0.0, 0.5, 3.0] if quick else list(np.linspace(0.0, 3.0, 13)),
        "WGAN": [0.0, 0.5, 1.5] if quick else list(np.linspace(0.0, 1.5, 13)),
    }
    with jax.enable_x64(True):
        eq = (jnp.asarray(0.0, jnp.float64), jnp.asarray(0.0, jnp.float64))
        start = tuple(jnp.asarray(v, jnp.float64) for v in START)
        eig_ours, eig_paper = {}, {}
        for name, (loss, fp0) in LOSSES.items():
            eig_ours[name] = np.stack(
                [
                    _sorted(analysis.eigenvalues(dirac_gan(loss, float(e)), eq))
                    for e in etas[name]
                ]
            )
            eig_paper[name] = np.stack(
                [paper_eigenvalues(fp0, float(e)) for e in etas[name]]
            )
        fields, paths, distance, judged = {}, {}, {}, {}
        rate_paper, rate_ours, rate_empirical = {}, {}, {}
        for name, (loss, fp0) in LOSSES.items():
            for eta in (0.0, ETA):
                label = f"{name}, eta = {eta:g}"
                game = dirac_gan(loss, eta)
                grid = analysis.vector_field_grid(game, bounds=(-2, 2, -2, 2), num=21)
                fields[label] = {k: np.asarray(v) for k, v in grid._asdict().items()}
                dyn = dynamics.get("simultaneous")(game, optax.sgd(STEP))
                traj = common.run_distance(dyn, start, steps)
                paths[label] = common.path(traj)
                distance[label] = np.asarray(traj.metrics["distance"])
                judged[label] = common.last_iterate(common.outcome(distance[label]))
                rate_paper[label] = gd_rate(fp0, eta)
                rate_ours[label] = analysis.spectral_radius(dyn, eq)
                rate_empirical[label] = common.rate(distance[label])
    labels = list(paths)
    regularized = [x for x in labels if not x.endswith("= 0")]
    plain = [x for x in labels if x.endswith("= 0")]
    claims = (
        close(
            "Sections 3-4: without the penalty the Dirac-GAN (K_DD = 0, K_DG = 1) has "
            "the eigenvalues +-i f'(0): +-0.5i for the GAN, +-i for the WGAN "
            "(purely imaginary: not asymptotically stable; ours: "
            "gamedyn.analysis.eigenvalues, real and imaginary parts)",
            _split([eig_paper[n][0] for n in LOSSES]),
            _split([eig_ours[n][0] for n in LOSSES]),
            atol=1e-12,
        ),
        close(
            "Section 5: with the penalty eta ||grad_D V||^2 the generator block is "
            "-2 eta f'(0)^2 K_DG^T K_DG, so the descent field's eigenvalues are "
            "eta f'(0)^2 +- i f'(0) sqrt(1 - eta^2 f'(0)^2) (GAN eta = "
            f"{', '.join(f'{e:g}' for e in etas['GAN'])}; WGAN eta = "
            f"{', '.join(f'{e:g}' for e in etas['WGAN'])}; ours: eigenvalues of "
            "gamedyn.games.gan with generator_penalty)",
            _split([eig_paper[n] for n in LOSSES]),
            _split([eig_ours[n] for n in LOSSES]),
            rtol=1e-9,
            atol=1e-12,
        ),
        verdict(
            "Section 5: the regularized system is locally exponentially stable for "
            f"the GAN and the WGAN (eta = {ETA:g}), the unregularized one is not "
            f"(ours: simultaneous GD, h = {STEP:g}, {steps} steps from (1, 1), "
            "judged by gamedyn.outcomes.classify_runs)",
            ["converges" if x in regularized else "does not converge" for x in labels],
            [judged[x] for x in labels],
        ),
        close(
            "The discrete rate of simultaneous GD from the paper's Jacobian, "
            "|1 - h lambda| = sqrt(1 - 2 h eta f'(0)^2 + h^2 f'(0)^2) (ours: spectral "
            "radius of gamedyn's step)",
            [rate_paper[x] for x in labels],
            [rate_ours[x] for x in labels],
            rtol=1e-9,
        ),
        close(
            "The same rate of the regularized runs against their empirical rate "
            "(gamedyn.outcomes.rate; the runs start at (1, 1), outside the linear "
            "regime, so the fit uses the last half)",
            [rate_paper[x] for x in regularized],
            [rate_empirical[x] for x in regularized],
            rtol=1e-3,
        ),
    )
    data = {
        "losses": {n: {"loss": v[0], "fp0": v[1]} for n, v in LOSSES.items()},
        "eta": ETA,
        "step": STEP,
        "start": list(START),
        "etas": etas,
        "eig_ours": eig_ours,
        "eig_paper": eig_paper,
        "locus": {
            n: np.stack(
                [
                    paper_eigenvalues(fp0, float(e))
                    for e in np.linspace(0.0, etas[n][-1], 200)
                ]
            )
            for n, (_, fp0) in LOSSES.items()
        },
        "labels": labels,
        "plain": plain,
        "fields": fields,
        "paths": paths,
        "distance": distance,
        "rate_paper": rate_paper,
        "rate_ours": rate_ours,
        "rate_empirical": rate_empirical,
        "verdicts": judged,
    }
    return Reproduction(ENTRY.name, claims, data, quick)

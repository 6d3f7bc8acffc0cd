"""The nagarajan2017 gallery entry (the generator's gradient penalty), quick setting."""

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd
from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import nagarajan2017 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_nagarajan2017")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("nagarajan2017", quick=True)


def test_every_claim_holds(rep):
    assert rep.name == "nagarajan2017" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_unpenalised_game_is_the_library_dirac_gan(x64):
    ours = entry.dirac_gan("standard", 0.0)
    theirs = gd.games.dirac_gan()
    for point in [(0.0, 0.0), (0.7, -0.3), (-1.2, 0.4)]:
        p = tuple(jnp.asarray(v, jnp.float64) for v in point)
        np.testing.assert_allclose(
            gd.analysis.jacobian(ours, p), gd.analysis.jacobian(theirs, p), atol=1e-12
        )


def test_penalty_is_eta_times_the_squared_discriminator_gradient(x64):
    # V = f(psi theta) + f(0) with f(t) = -log(1 + e^-t): dV/dpsi = theta / (1 +
    # e^(psi theta)); the generator's loss gains eta (dV/dpsi)^2
    eta = 0.7
    plain, penalised = (
        entry.dirac_gan("standard", 0.0),
        entry.dirac_gan("standard", eta),
    )
    lp, lq = jax.jit(penalised.losses), jax.jit(plain.losses)
    for theta, psi in [(0.8, 0.3), (-1.1, 1.4)]:
        p = (jnp.asarray(theta), jnp.asarray(psi))
        gap = lp(p, jax.random.key(0))[0] - lq(p, jax.random.key(0))[0]
        assert float(gap) == pytest.approx(
            eta * (theta / (1 + np.exp(psi * theta))) ** 2
        )


def test_gd_run_equals_a_numpy_loop_of_the_penalised_dirac_gan(rep):
    # L = f(psi theta) + f(0), f'(t) = sigmoid(-t), f''(t) = -sigmoid(t) sigmoid(-t);
    # theta descends L + eta (f'(psi theta) theta)^2, psi ascends L
    def sig(t):
        return 1 / (1 + np.exp(-t))

    eta, h = entry.ETA, entry.STEP
    theta, psi = entry.START
    path = [(theta, psi)]
    for _ in range(100):
        t = psi * theta
        f1, f2 = sig(-t), -sig(t) * sig(-t)
        g_theta = f1 * psi + 2 * eta * f1 * theta * (f2 * t + f1)
        g_psi = -f1 * theta
        theta, psi = theta - h * g_theta, psi - h * g_psi
        path.append((theta, psi))
    ours = rep.data["paths"][f"GAN, eta = {eta:g}"][:101]
    np.testing.assert_allclose(ours, path, rtol=1e-10, atol=1e-12)


def test_figures_render_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = gallery.figures(rep)
    assert set(figs) == {"streamlines", "spectrum", "distance"}
    assert len(figs["streamlines"].axes) == 4

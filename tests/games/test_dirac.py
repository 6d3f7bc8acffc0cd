"""The Dirac-GAN against the formulas of Mescheder et al. (2018)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd


def fp(t):  # f'(t) for f(t) = -log(1 + exp(-t))
    return 1.0 / (1.0 + np.exp(t))


POINTS = [(1.0, 1.0), (-0.7, 0.3), (2.0, -1.5)]


@pytest.mark.parametrize("theta,psi", POINTS)
def test_standard_loss_value_and_field(theta, psi, x64):
    game = gd.games.dirac_gan("standard")
    params = (jnp.asarray(theta), jnp.asarray(psi))
    loss_g, loss_d = game.losses(params, None)
    f = lambda t: -np.log1p(np.exp(-t))  # noqa: E731
    assert float(loss_g) == pytest.approx(f(psi * theta) + f(0.0), rel=1e-12)
    assert float(loss_d) == pytest.approx(-(f(psi * theta) + f(0.0)), rel=1e-12)
    xi = gd.vector_field(game)(params)
    # the paper's descent directions: theta' = -psi f'(psi theta), psi' = theta f'(.)
    assert float(xi[0]) == pytest.approx(psi * fp(psi * theta), rel=1e-12)
    assert float(xi[1]) == pytest.approx(-theta * fp(psi * theta), rel=1e-12)


@pytest.mark.parametrize("theta,psi", POINTS)
def test_non_saturating_and_wgan_fields(theta, psi, x64):
    params = (jnp.asarray(theta), jnp.asarray(psi))
    xi = gd.vector_field(gd.games.dirac_gan("non_saturating"))(params)
    assert float(xi[0]) == pytest.approx(psi * fp(-psi * theta), rel=1e-12)
    assert float(xi[1]) == pytest.approx(-theta * fp(psi * theta), rel=1e-12)
    xi = gd.vector_field(gd.games.dirac_gan("wgan"))(params)
    assert float(xi[0]) == pytest.approx(psi, rel=1e-12)
    assert float(xi[1]) == pytest.approx(-theta, rel=1e-12)


@pytest.mark.parametrize("theta,psi", POINTS)
def test_regularizers_closed_forms(theta, psi, x64):
    params = (jnp.asarray(theta), jnp.asarray(psi))
    base = -theta * fp(psi * theta)
    for reg in (gd.regularizers.r1(0.3), gd.regularizers.r2(0.3)):
        xi = gd.vector_field(gd.games.dirac_gan(regularizer=reg))(params)
        assert float(xi[1]) == pytest.approx(base + 0.3 * psi, rel=1e-12)
        assert float(xi[0]) == pytest.approx(psi * fp(psi * theta), rel=1e-12)
    # WGAN-GP as in the reference: psi' = theta - gamma (|psi| - g0) sign(psi)
    game = gd.games.dirac_gan("wgan", gd.regularizers.gradient_penalty(0.7, 1.0))
    xi = gd.vector_field(game)(params)
    expected = -(theta - 0.7 * (abs(psi) - 1.0) * np.sign(psi))
    assert float(xi[1]) == pytest.approx(expected, rel=1e-12)


def test_gradient_penalty_is_safe_at_zero():
    game = gd.games.dirac_gan("wgan", gd.regularizers.gradient_penalty(1.0))
    xi = gd.vector_field(game)((jnp.asarray(0.0), jnp.asarray(0.0)))
    assert all(np.isfinite(np.asarray(x)) for x in xi)


def test_instance_noise_matches_monte_carlo_formula(x64):
    std, n = 0.7, 1000
    game = gd.games.dirac_gan(instance_noise=std, num_samples=n)
    theta, psi = 0.8, -0.4
    key = jax.random.key(3)
    xi = gd.vector_field(game)((jnp.asarray(theta), jnp.asarray(psi)), key)
    # the same samples the game draws (see gamedyn.games.gan)
    _, _, k_inst, _ = jax.random.split(key, 4)
    k_real, k_fake = jax.random.split(k_inst)
    x_eps = np.asarray(std * jax.random.normal(k_real, (n,)))
    th_eps = theta + np.asarray(std * jax.random.normal(k_fake, (n,)))
    v1 = np.mean(-psi * fp(psi * th_eps))
    v2 = np.mean(th_eps * fp(psi * th_eps) - x_eps * fp(-x_eps * psi))
    assert float(xi[0]) == pytest.approx(-v1, rel=1e-10)
    assert float(xi[1]) == pytest.approx(-v2, rel=1e-10)


def test_equilibrium_is_stationary():
    for loss in ("standard", "non_saturating", "wgan"):
        xi = gd.vector_field(gd.games.dirac_gan(loss))((jnp.zeros(()), jnp.zeros(())))
        assert float(xi[0]) == 0.0 and float(xi[1]) == 0.0


def test_init_start_and_random():
    theta, psi = gd.games.dirac_gan().init(jax.random.key(0))
    assert (float(theta), float(psi)) == (1.0, 1.0)
    assert theta.shape == () and psi.shape == ()
    a = gd.games.dirac_gan(start=None).init(jax.random.key(1))
    b = gd.games.dirac_gan(start=None).init(jax.random.key(2))
    assert float(a[0]) != float(b[0])


def test_bad_input():
    with pytest.raises(ValueError, match="loss: expected one of"):
        gd.games.dirac_gan("minimax-ish")
    with pytest.raises(ValueError, match="regularizer"):
        gd.games.dirac_gan(regularizer="r1")
    with pytest.raises(ValueError, match="gamma"):
        gd.regularizers.r1(-1.0)
    with pytest.raises(ValueError, match="instance_noise"):
        gd.games.dirac_gan(instance_noise=-0.1)
    with pytest.raises(ValueError, match="start"):
        gd.games.dirac_gan(start=(1.0, 2.0, 3.0))

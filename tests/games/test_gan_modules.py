"""GAN games from flax modules; the Nagarajan-Kolter penalty, n players, EMA, SN."""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn.dynamics import ema
from gamedyn.games import gan, multi_gan
from gamedyn.games.modules import MLP, module_gan, spectral_norm, spectral_normalize


class Point(nn.Module):
    """A generator that is a learned point: G(z) = theta."""

    @nn.compact
    def __call__(self, z):
        theta = self.param("theta", nn.initializers.constant(1.0), (1,))
        return theta + jnp.zeros_like(z)


def zeros(key, n):
    return jnp.zeros((n, 1))


def dirac_from_modules(**kwargs):
    disc = nn.Dense(1, use_bias=False, kernel_init=nn.initializers.constant(1.0))
    return module_gan(Point(), disc, zeros, zeros, batch_size=4, **kwargs)


def as_modules(theta, psi):
    return (
        {"theta": jnp.array([theta], jnp.float32)},
        {"kernel": jnp.array([[psi]], jnp.float32)},
    )


POINTS = [(1.0, 1.0), (-0.7, 0.3), (2.0, -1.5)]


@pytest.mark.parametrize("theta,psi", POINTS)
@pytest.mark.parametrize("loss", ["standard", "non_saturating", "hinge"])
def test_r1_dirac_from_modules_equals_the_analytic_one(theta, psi, loss):
    reg = gd.regularizers.r1(0.3)
    game = dirac_from_modules(loss=loss, regularizer=reg)
    analytic = gd.games.dirac_gan(loss, reg)
    xi_m = gd.vector_field(game)(as_modules(theta, psi))
    xi_a = gd.vector_field(analytic)((jnp.float32(theta), jnp.float32(psi)))
    assert float(xi_m[0]["theta"][0]) == pytest.approx(float(xi_a[0]), abs=1e-6)
    assert float(xi_m[1]["kernel"][0, 0]) == pytest.approx(float(xi_a[1]), abs=1e-6)
    # and R1 itself is gamma/2 psi^2 on top of the unregularized loss
    plain = dirac_from_modules(loss=loss).losses(as_modules(theta, psi), None)[1]
    regd = game.losses(as_modules(theta, psi), None)[1]
    assert float(regd - plain) == pytest.approx(0.15 * psi**2, rel=1e-5)


def test_init_gives_plain_pytrees():
    params = dirac_from_modules().init(jax.random.key(0))
    assert float(params[0]["theta"][0]) == 1.0
    assert float(params[1]["kernel"][0, 0]) == 1.0
    assert all(isinstance(x, jax.Array) for x in jax.tree.leaves(params))


def fp(t):  # f'(t) for f(t) = log_sigmoid(t)
    return 1.0 / (1.0 + np.exp(t))


def fpp(t):
    return -np.exp(t) / (1.0 + np.exp(t)) ** 2


@pytest.mark.parametrize("theta,psi", POINTS)
def test_nagarajan_kolter_penalty_on_the_dirac_gan(theta, psi, x64):
    # V = f(psi theta) + f(0); grad_psi V = theta f'(psi theta); the generator
    # minimises V + eta (theta f'(psi theta))^2.
    eta = 0.5
    game = gan(
        lambda key: (jnp.asarray(theta), jnp.asarray(psi)),
        lambda t, z: t + jnp.zeros_like(z),
        lambda p, x: p * x,
        lambda key, n: jnp.zeros((n,)),
        lambda key, n: jnp.zeros((n,)),
        batch_size=1,
        generator_penalty=eta,
    )
    xi = gd.vector_field(game)((jnp.asarray(theta), jnp.asarray(psi)))
    t = psi * theta
    pen_grad = eta * 2 * theta * fp(t) * (fp(t) + theta * psi * fpp(t))
    assert float(xi[0]) == pytest.approx(psi * fp(t) + pen_grad, rel=1e-10)
    assert float(xi[1]) == pytest.approx(-theta * fp(t), rel=1e-10)


def test_dirac_gan_unchanged_by_zero_penalty(x64):
    game = gd.games.dirac_gan("standard", gd.regularizers.r1(0.3))
    p = (jnp.asarray(0.4), jnp.asarray(-0.9))
    a = game.losses(p, None)
    b = gan(
        game.init,
        lambda t, z: t + jnp.zeros_like(z),
        lambda s, x: s * x,
        lambda key, n: jnp.zeros((n,)),
        lambda key, n: jnp.zeros((n,)),
        regularizer=gd.regularizers.r1(0.3),
        batch_size=1,
        generator_penalty=0.0,
    ).losses(p, None)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)


def test_multi_gan_with_one_of_each_is_gan():
    kwargs = dict(
        generator=lambda t, z: t + z,
        discriminator=lambda p, x: jnp.tanh(p * x),
        sample_data=lambda key, n: jax.random.normal(key, (n,)),
        sample_noise=lambda key, n: jax.random.normal(key, (n,)),
        batch_size=8,
        instance_noise=0.1,
    )
    p = (jnp.float32(0.3), jnp.float32(-0.8))
    key = jax.random.key(5)
    a = gan(lambda k: p, **kwargs).losses(p, key)
    b = multi_gan(lambda k: p, **kwargs).losses(p, key)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_n_player_losses():
    # two point generators, two linear discriminators, standard loss, no noise
    f = jax.nn.log_sigmoid
    game = multi_gan(
        None,
        lambda t, z: t + jnp.zeros_like(z),
        lambda p, x: p * x,
        lambda key, n: jnp.zeros((n,)),
        lambda key, n: jnp.zeros((n,)),
        num_generators=2,
        num_discriminators=2,
        batch_size=3,
    )
    t1, t2, p1, p2 = 0.5, -1.0, 0.7, 2.0
    losses = game.losses(tuple(map(jnp.float32, (t1, t2, p1, p2))), None)
    assert len(losses) == 4
    assert float(losses[0]) == pytest.approx(
        float(((f(p1 * t1) + f(0.0)) + (f(p2 * t1) + f(0.0))) / 2), rel=1e-6
    )
    # each discriminator against the uniform mixture of both generators
    mix = lambda p: (f(p * t1) + f(p * t2)) / 2 + f(0.0)  # noqa: E731
    assert float(losses[2]) == pytest.approx(float(-mix(p1)), rel=1e-6)
    assert float(losses[3]) == pytest.approx(float(-mix(p2)), rel=1e-6)
    with pytest.raises(ValueError, match="params"):
        game.losses((jnp.float32(0.0),) * 3, None)


def test_ema_matches_a_loop():
    game = gd.games.dirac_gan("standard")
    opt = optax.sgd(0.1)
    dyn = gd.dynamics.simultaneous(game, opt)
    wrapped = ema(dyn, 0.9)
    params = game.init(None)
    traj = gd.simulate(wrapped, params, 20)
    p, s, avg = params, dyn.init(params), params[0]
    for _ in range(20):
        p, s = dyn.step(p, s, None)
        avg = 0.9 * avg + 0.1 * p[0]
    np.testing.assert_allclose(np.asarray(traj.final), np.asarray(p), rtol=1e-6)
    assert float(traj.state.average[0]) == pytest.approx(float(avg), rel=1e-5)
    with pytest.raises(ValueError, match="decay"):
        ema(dyn, 1.0)


def test_spectral_norm_matches_svd():
    w = jax.random.normal(jax.random.key(0), (7, 5))
    sigma = np.linalg.svd(np.asarray(w), compute_uv=False)[0]
    assert float(spectral_norm(w, 50)) == pytest.approx(sigma, rel=1e-4)
    g = jax.grad(lambda w: spectral_norm(jnp.zeros_like(w) * w))(w)
    assert np.all(np.isfinite(np.asarray(g)))
    params = MLP((16,), 1).init(jax.random.key(1), jnp.zeros((1, 3)))["params"]
    normed = spectral_normalize(params, 50)
    for layer in normed.values():
        s = np.linalg.svd(np.asarray(layer["kernel"]), compute_uv=False)[0]
        assert s == pytest.approx(1.0, rel=1e-3)
    np.testing.assert_array_equal(
        np.asarray(normed["Dense_0"]["bias"]), np.asarray(params["Dense_0"]["bias"])
    )


def test_bad_discriminator_output():
    game = module_gan(Point(), nn.Dense(2), zeros, zeros, batch_size=3)
    with pytest.raises(ValueError, match="discriminator"):
        game.losses(game.init(jax.random.key(0)), None)
    with pytest.raises(ValueError, match="generator"):
        module_gan(lambda z: z, nn.Dense(1), zeros, zeros)
    with pytest.raises(ValueError, match="generator_penalty"):
        dirac_from_modules(generator_penalty=-1.0)


def test_short_training_run_captures_modes():
    from gamedyn.experiments.mog import Config, run

    cfg = Config(
        hidden=64, batch_size=64, latent_dim=16, lr=4e-3, gamma=1.0, ema_decay=0.0
    )
    result = run(cfg, steps=1200, seeds=1, snapshots=1, num_plot=10)
    # a collapsed or diverged run covers 0-2 modes; a working one most of the ring
    assert int(result.metrics["modes"][0]) >= 6
    assert not result.diverged.any()

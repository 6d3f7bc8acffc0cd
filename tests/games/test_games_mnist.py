"""MNIST GAN games: conditional regularizers, pure batch-norm state, errors."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd
from gamedyn.experiments import mnist as ex
from gamedyn.games import mnist as M


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, (64,), dtype=np.uint8)
    return x, y


def test_conditional_r1_is_the_image_gradient_penalty(data):
    """With labels riding as an extra channel, R1 equals gamma/2 E||grad_x D(x, y)||^2
    computed directly per sample with the labels held fixed."""
    gamma = 3.0
    kw = dict(conditional=True, width=8, batch_size=4, latent_dim=4, data=data)
    plain = M.mnist_gan("mlp", **kw)
    reg = M.mnist_gan("mlp", regularizer=gd.regularizers.r1(gamma), **kw)
    params = plain.game.init(jax.random.key(0))
    key = jax.random.key(5)
    penalty = reg.game.losses(params, key)[1] - plain.game.losses(params, key)[1]
    # The same real batch as the game draws from this key.
    k_data = jax.random.split(key, 4)[0]
    idx = jax.random.randint(k_data, (4,), 0, 64)
    x_real = M.to_float(jnp.asarray(data[0])[idx])
    y_real = jnp.asarray(data[1], jnp.int32)[idx]

    def d_single(x, y):
        return plain.discriminate(params[1], x[None], y[None])[0]

    g = jax.vmap(jax.grad(d_single))(x_real, y_real)
    expected = 0.5 * gamma * jnp.mean(jnp.sum(g.reshape(4, -1) ** 2, axis=1))
    np.testing.assert_allclose(penalty, expected, rtol=1e-4)
    assert float(expected) > 0


def test_conditioning_changes_the_generator_output(data):
    gan = M.mnist_gan("mlp", conditional=True, width=8, latent_dim=4, data=data)
    params = gan.game.init(jax.random.key(0))
    z = gan.sample_noise(jax.random.key(1), 3)
    a = gan.generate(params, {}, z, jnp.array([0, 0, 0]))
    b = gan.generate(params, {}, z, jnp.array([1, 2, 3]))
    assert a.shape == (3, 28, 28, 1) and not np.allclose(a, b)


def test_dcgan_batch_norm_state_is_explicit(data):
    gan = M.mnist_gan("dcgan", width=4, batch_size=8, latent_dim=4, data=data)
    params = gan.game.init(jax.random.key(0))
    s0 = gan.init_state()
    s1 = gan.update_state(params, s0, jax.random.key(1))
    # Pure: the old state is untouched, the new one moved by (1 - momentum).
    assert float(jnp.max(jnp.abs(s0["BatchNorm_0"]["mean"]))) == 0.0
    assert float(jnp.max(jnp.abs(s1["BatchNorm_0"]["mean"]))) > 0.0
    # Eval mode reads the running averages; the game's losses do not.
    z = gan.sample_noise(jax.random.key(2), 4)
    assert not np.allclose(gan.generate(params, s0, z), gan.generate(params, s1, z))
    l0 = gan.game.losses(params, jax.random.key(3))
    assert np.all(np.isfinite(l0))
    images = M.sample_images(gan, params, s1, jax.random.key(4), 5, batch_size=2)
    assert images.shape == (5, 28, 28, 1) and np.all(np.abs(images) <= 1)


@pytest.mark.parametrize("model", ["mlp", "dcgan"])
def test_generator_ema_samples_with_the_bias_corrected_average(data, model):
    """`generate` uses m_t / (1 - d^t) with m_t = d m_{t-1} + (1 - d) theta_t, m_0 = 0,
    computed here by an independent NumPy loop; the game's losses ignore it."""
    decay = 0.8
    kw = dict(width=4, batch_size=8, latent_dim=4, data=data)
    gan = M.mnist_gan(model, ema=decay, **kw)
    plain = M.mnist_gan(model, **kw)
    key = jax.random.key(0)
    thetas = [gan.game.init(jax.random.fold_in(key, t)) for t in range(3)]
    z = gan.sample_noise(jax.random.key(2), 4)
    state = gan.init_state()
    # Step 0: no average yet, the params themselves.
    np.testing.assert_allclose(
        gan.generate(thetas[0], state, z),
        plain.generate(thetas[0], state["batch_stats"], z),
        rtol=1e-6,
    )
    mean = jax.tree.map(lambda p: np.zeros(p.shape), thetas[0][0])
    for t, theta in enumerate(thetas, 1):
        state = gan.update_state(theta, state, jax.random.key(10 + t))
        mean = jax.tree.map(
            lambda m, p: decay * m + (1 - decay) * np.asarray(p), mean, theta[0]
        )
    assert int(state["ema"]["count"]) == 3
    average = jax.tree.map(lambda m: jnp.asarray(m / (1 - decay**3), jnp.float32), mean)
    last = thetas[-1]
    np.testing.assert_allclose(
        gan.generate(last, state, z),
        plain.generate((average, last[1]), state["batch_stats"], z),
        rtol=1e-5,
        atol=1e-6,
    )
    assert not np.allclose(
        gan.generate(last, state, z),
        plain.generate(last, state["batch_stats"], z),
    )
    np.testing.assert_array_equal(
        gan.game.losses(last, key), plain.game.losses(last, key)
    )


def test_bad_arguments(data):
    with pytest.raises(ValueError, match=r"ema: expected a float in \[0, 1\)"):
        M.mnist_gan("mlp", ema=1.0, data=data)
    with pytest.raises(ValueError, match="model: expected one of"):
        M.mnist_gan("resnet", data=data)
    with pytest.raises(ValueError, match="batch_size: expected a positive integer"):
        M.mnist_gan("mlp", batch_size=0, data=data)
    with pytest.raises(ValueError, match=r"data: expected uint8 images"):
        M.mnist_gan("mlp", data=(data[0].astype(np.float32), data[1]))
    with pytest.raises(ValueError, match=r"data: expected labels of shape \(64,\)"):
        M.mnist_gan("mlp", data=(data[0], data[1][:3]))


def _run_rules(data, rules, regs):
    for i, rule in enumerate(rules):
        gan = M.mnist_gan("mlp", conditional=True, width=4, batch_size=4,
                          latent_dim=2, regularizer=regs[i % len(regs)], loss="wgan"
                          if i % 3 == 0 else "non_saturating", data=data)  # fmt: skip
        cfg = ex.Config(rule=rule, lr_g=1e-2, lr_d=1e-2)
        dyn = ex.make_dynamics(cfg, gan.game)
        p0 = gan.game.init(jax.random.key(i))
        tr = gd.simulate(dyn, p0, 2, jax.random.key(0))
        assert int(tr.diverged_step) == -1, rule
        for new, old in zip(tr.final, p0):  # both players moved
            moved = jax.tree.map(lambda a, b: bool(np.any(a != b)), new, old)
            assert any(jax.tree.leaves(moved)), rule


def test_unrolled_conditional_gan_with_penalty_stays_finite(data):
    """Unrolling differentiates through the discriminator's Adam steps; weights of
    labels absent from a batch have zero gradients, where sqrt(nu) is not
    differentiable: the experiment's Adam uses eps_root for this rule."""
    _run_rules(data, ["unrolled"], [gd.regularizers.gradient_penalty(1.0)])


@pytest.mark.slow
def test_every_update_rule_and_regularizer_applies(data):
    """Two steps of each registered rule (the rules of `gamedyn mnist`) on a
    conditional GAN, regularizers and losses in turn: finite, and both players
    move."""
    regs = [gd.regularizers.get(name, 1.0) for name in gd.regularizers.names()]
    _run_rules(data, gd.dynamics.names(), regs)


@pytest.mark.parametrize("conditional", [False, True])
def test_generator_penalty_is_the_discriminator_gradient_norm(data, conditional):
    """Nagarajan & Kolter: L_G gains eta ||grad_phi L_D||^2 (conditional too), and
    L_D is unchanged."""
    eta = 0.7
    kw = dict(conditional=conditional, width=8, batch_size=4, latent_dim=4, data=data)
    plain = M.mnist_gan("mlp", **kw)
    pen = M.mnist_gan("mlp", generator_penalty=eta, **kw)
    params = plain.game.init(jax.random.key(1))
    key = jax.random.key(2)
    grad_d = jax.grad(lambda d: plain.game.losses((params[0], d), key)[1])(params[1])
    expected = eta * sum(jnp.sum(g**2) for g in jax.tree.leaves(grad_d))
    lg, ld = pen.game.losses(params, key)
    lg0, ld0 = plain.game.losses(params, key)
    np.testing.assert_allclose(lg - lg0, expected, rtol=1e-5)
    np.testing.assert_allclose(ld, ld0, rtol=1e-6)
    # the generator differentiates through the penalty
    g_pen = jax.grad(lambda g: pen.game.losses((g, params[1]), key)[0])(params[0])
    g_0 = jax.grad(lambda g: plain.game.losses((g, params[1]), key)[0])(params[0])
    diff = jax.tree.map(lambda a, b: jnp.max(jnp.abs(a - b)), g_pen, g_0)
    assert max(jax.tree.leaves(diff)) > 0


def test_generator_penalty_bad_value(data):
    with pytest.raises(ValueError, match="generator_penalty"):
        M.mnist_gan("mlp", generator_penalty=-1.0, data=data)

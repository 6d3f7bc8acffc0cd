"""TTUR and the loss-balance step-size rule (gamedyn.transforms)."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import transforms


def test_ttur_rates_per_player():
    opts = transforms.ttur(optax.sgd, 0.1, 0.3, num_discriminators=2)
    assert len(opts) == 3
    g = {"w": jnp.ones(2)}
    ups = [o.update(g, o.init(g))[0]["w"] for o in opts]
    np.testing.assert_allclose(ups[0], -0.1)
    np.testing.assert_allclose(ups[1], -0.3)
    np.testing.assert_allclose(ups[2], -0.3)
    with pytest.raises(ValueError, match="discriminator_lr"):
        transforms.ttur(optax.sgd, 0.1, -1.0)
    with pytest.raises(ValueError, match="num_generators"):
        transforms.ttur(optax.sgd, 0.1, 0.1, num_generators=0)


def test_ttur_in_simultaneous_play_equals_hand_steps(x64):
    game = gd.games.dirac_gan("standard")
    dyn = gd.dynamics.simultaneous(game, transforms.ttur(optax.sgd, 0.1, 0.4))
    p = game.init(None)
    p1, _ = dyn.step(p, dyn.init(p), None)
    xi = gd.vector_field(game)(p)
    assert float(p1[0]) == pytest.approx(float(p[0] - 0.1 * xi[0]), rel=1e-12)
    assert float(p1[1]) == pytest.approx(float(p[1] - 0.4 * xi[1]), rel=1e-12)


def test_loss_balance_scale_formula():
    t = transforms.scale_by_loss_balance(1.0, sensitivity=2.0, decay=0.5)
    g = jnp.array([1.0, -2.0])
    s = t.init(g)
    u, s = t.update(g, s, loss=2.0)  # average 1.5, scale e^(2 * 0.5) = e
    np.testing.assert_allclose(u, np.e * np.asarray(g), rtol=1e-6)
    u, s = t.update(g, s, loss=-3.5)  # average -1, scale e^-4 clipped to 0.1
    np.testing.assert_allclose(u, 0.1 * np.asarray(g), rtol=1e-6)
    assert float(s.scale) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="loss"):
        t.update(g, s)
    with pytest.raises(ValueError, match="decay"):
        transforms.scale_by_loss_balance(1.0, decay=1.0)


def test_simultaneous_with_loss_passes_each_players_loss(x64):
    game = gd.games.dirac_gan("standard")
    bal = optax.chain(optax.sgd(0.1), transforms.scale_by_loss_balance(0.0, decay=0.0))
    dyn = gd.dynamics.simultaneous_with_loss(game, bal)
    p = game.init(None)
    p1, state = dyn.step(p, dyn.init(p), None)
    losses = game.losses(p, None)
    xi = gd.vector_field(game)(p)
    for i in range(2):
        scale = np.clip(np.exp(float(losses[i])), 0.1, 10.0)
        assert float(p1[i]) == pytest.approx(
            float(p[i] - 0.1 * scale * xi[i]), rel=1e-10
        )
    # plain optax transformations ignore the loss: same as simultaneous play
    plain = gd.dynamics.simultaneous_with_loss(game, optax.sgd(0.1))
    ref = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    a = gd.simulate(plain, p, 10).final
    b = gd.simulate(ref, p, 10).final
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-12)

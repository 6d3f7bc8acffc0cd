"""GAN losses against their formulas (sign convention: D high on generated)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gamedyn import losses

R = np.array([-1.3, 0.2, 0.9, -0.1])  # D on real samples
G = np.array([0.7, -2.0, 0.4, 1.5])  # D on generated samples


def log_sigmoid(t):
    return -np.log1p(np.exp(-t))


def relu(t):
    return np.maximum(t, 0.0)


def test_registry_has_all_losses():
    assert {"standard", "non_saturating", "wgan", "least_squares", "hinge"} <= set(
        losses.names()
    )
    with pytest.raises(ValueError, match="loss"):
        losses.get("nope")


def test_standard_and_non_saturating(x64):
    v = np.mean(log_sigmoid(G)) + np.mean(log_sigmoid(-R))
    std = losses.get("standard")
    assert float(std.generator(R, G)) == pytest.approx(v, rel=1e-12)
    assert float(std.discriminator(R, G)) == pytest.approx(-v, rel=1e-12)
    ns = losses.get("non_saturating")
    assert float(ns.generator(R, G)) == pytest.approx(
        -np.mean(log_sigmoid(-G)), rel=1e-12
    )


def test_least_squares_formula(x64):
    ls = losses.get("least_squares")
    d = 0.5 * np.mean((R + 1) ** 2) + 0.5 * np.mean((G - 1) ** 2)
    g = 0.5 * np.mean((G + 1) ** 2)
    assert float(ls.discriminator(R, G)) == pytest.approx(d, rel=1e-12)
    assert float(ls.generator(R, G)) == pytest.approx(g, rel=1e-12)
    ls2 = losses.least_squares(real_target=1.0, fake_target=-1.0, generator_target=0.0)
    assert float(ls2.discriminator(R, G)) == pytest.approx(
        0.5 * np.mean((R - 1) ** 2) + 0.5 * np.mean((G + 1) ** 2), rel=1e-12
    )
    assert float(ls2.generator(R, G)) == pytest.approx(0.5 * np.mean(G**2), rel=1e-12)


def test_hinge_formula(x64):
    h = losses.get("hinge")
    assert float(h.discriminator(R, G)) == pytest.approx(
        np.mean(relu(1 + R)) + np.mean(relu(1 - G)), rel=1e-12
    )
    assert float(h.generator(R, G)) == pytest.approx(np.mean(G), rel=1e-12)


@pytest.mark.parametrize("name", ["least_squares", "hinge"])
def test_reflection_of_the_usual_convention(name, x64):
    # In the "D high on real" convention these are the familiar losses of D' = -D.
    loss = losses.get(name)
    if name == "hinge":
        usual_d = np.mean(relu(1 - (-R))) + np.mean(relu(1 + (-G)))
        usual_g = -np.mean(-G)
    else:  # a = -1 (fake), b = 1 (real), c = 1
        usual_d = 0.5 * np.mean((-R - 1) ** 2) + 0.5 * np.mean((-G + 1) ** 2)
        usual_g = 0.5 * np.mean((-G - 1) ** 2)
    assert float(loss.discriminator(R, G)) == pytest.approx(usual_d, rel=1e-12)
    assert float(loss.generator(R, G)) == pytest.approx(usual_g, rel=1e-12)


def test_new_losses_are_differentiable_and_jittable():
    for name in ("least_squares", "hinge"):
        loss = losses.get(name)
        g = jax.jit(jax.grad(lambda r, f, loss=loss: loss.discriminator(r, f)))(
            jnp.asarray(R, jnp.float32), jnp.asarray(G, jnp.float32)
        )
        assert np.all(np.isfinite(np.asarray(g)))

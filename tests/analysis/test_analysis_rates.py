"""The spectral radius of every registry rule is the empirical rate of a long run."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd

H = 0.2


def game():
    # A damped zero-sum quadratic game (every rule converges, at different rates):
    # f = 1/2 x^T P x + x^T A y - 1/2 y^T Q y.
    a = [[1.0, 0.3], [0.0, 0.8]]
    return gd.games.quadratic(a, [[0.3, 0.0], [0.0, 0.1]], [[0.2, 0.0], [0.0, 0.4]])


EQ = (jnp.zeros(2), jnp.zeros(2))


def empirical_rate(dyn, rho, floor=1e-11):
    start = (jnp.array([1.0, -0.5]), jnp.array([0.3, 0.8]))
    steps = int(np.log(floor) / np.log(rho))
    traj = gd.simulate(dyn, start, steps, metrics=("distance",), equilibrium=EQ)
    return float(gd.outcomes.rate(traj.metrics["distance"], tail=0.5))


@pytest.mark.parametrize("name", gd.dynamics.names())
def test_spectral_radius_is_the_empirical_rate(x64, name):
    dyn = gd.dynamics.get(name)(game(), optax.sgd(H), lr=H)
    rho = gd.analysis.spectral_radius(dyn, EQ)
    assert 0.8 < rho < 0.99
    assert empirical_rate(dyn, rho) == pytest.approx(rho, rel=2e-3)


@pytest.mark.parametrize(
    "dyn",
    [
        lambda g: gd.dynamics.simultaneous(g, optax.sgd(H, momentum=0.1)),
        lambda g: gd.dynamics.alternating(g, optax.sgd(H, momentum=-0.3)),
        lambda g: gd.dynamics.alternating(g, optax.sgd(H), order=(0, 1)),
        lambda g: gd.dynamics.optimistic(g, optax.sgd(H), initial="plain"),
        lambda g: gd.dynamics.lookahead(gd.dynamics.extragradient(g, optax.sgd(H)), 3),
    ],
    ids=["momentum", "negative-momentum-alt", "generator-first", "ogda-plain", "la-eg"],
)
def test_memory_and_period_variants(x64, dyn):
    dyn = dyn(game())
    rho = gd.analysis.spectral_radius(dyn, EQ)
    assert empirical_rate(dyn, rho) == pytest.approx(rho, rel=2e-3)


def test_move_order_changes_the_path_not_the_rate(x64):
    g = game()
    first = gd.dynamics.alternating(g, optax.sgd(H), order=(1, 0))
    last = gd.dynamics.alternating(g, optax.sgd(H), order=(0, 1))
    assert gd.analysis.spectral_radius(first, EQ) == pytest.approx(
        gd.analysis.spectral_radius(last, EQ), rel=1e-12
    )
    a = gd.simulate(first, g.init(gd.sweep_keys(0, 1)[0]), 3).final
    b = gd.simulate(last, g.init(gd.sweep_keys(0, 1)[0]), 3).final
    assert not np.allclose(np.asarray(a[0]), np.asarray(b[0]))

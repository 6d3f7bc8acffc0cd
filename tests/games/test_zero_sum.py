"""gd.games.zero_sum: a game from one function f(x, y), x minimises, y maximises."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd


def test_losses_and_field_of_a_quadratic(x64):
    a, p, q = np.array([[1.0, 2.0]]), np.array([[0.5]]), np.diag([1.0, 3.0])

    def f(x, y):
        return 0.5 * x @ p @ x + x @ a @ y - 0.5 * y @ q @ y

    game = gd.games.zero_sum(f)
    ref = gd.games.quadratic(a, p, q)
    w = (jnp.array([0.3]), jnp.array([-1.0, 2.0]))
    lx, ly = game.losses(w)
    assert float(lx) == pytest.approx(float(f(*w))) and float(ly) == -float(lx)
    for got, want in zip(gd.vector_field(game)(w), gd.vector_field(ref)(w)):
        np.testing.assert_allclose(got, want, rtol=1e-14)
    np.testing.assert_allclose(
        gd.analysis.jacobian(game, w), np.block([[p, a], [-a.T, q]]), atol=1e-14
    )


def test_gradient_descent_ascent_on_pytrees(x64):
    # f({"u": u}, y) = u . y: one GDA step is u - h y, y + h u.
    game = gd.games.zero_sum(lambda x, y: x["u"] @ y)
    w = ({"u": jnp.array([1.0, 2.0])}, jnp.array([0.5, -1.0]))
    (x, y), _ = gd.dynamics.simultaneous(game, optax.sgd(0.1)).step(
        w, gd.dynamics.simultaneous(game, optax.sgd(0.1)).init(w), None
    )
    np.testing.assert_allclose(x["u"], [1.0 - 0.05, 2.0 + 0.1])
    np.testing.assert_allclose(y, [0.5 + 0.1, -1.0 + 0.2])


def test_init_forms():
    pair = gd.games.zero_sum(lambda x, y: x * y, (1.0, -2.0))
    assert [float(v) for v in pair.init(None)] == [1.0, -2.0]
    drawn = gd.games.zero_sum(
        lambda x, y: x * y, lambda key: tuple(jax.random.normal(key, (2,)))
    )
    a = drawn.init(jax.random.key(0))
    assert np.asarray(a).shape == (2,)
    with pytest.raises(TypeError, match="init: this zero_sum game has no init"):
        gd.games.zero_sum(lambda x, y: x * y).init(None)


def test_bad_arguments():
    with pytest.raises(TypeError, match="f: expected a function"):
        gd.games.zero_sum(3.0)
    with pytest.raises(TypeError, match="init: expected None, a function"):
        gd.games.zero_sum(lambda x, y: x * y, (1.0, 2.0, 3.0))
    game = gd.games.zero_sum(lambda x, y: x + y)  # not a scalar for vectors
    with pytest.raises(ValueError, match="game.losses: expected scalar losses"):
        gd.vector_field(game)((jnp.ones(2), jnp.ones(2)))

"""Game, vector_field and hamiltonian against hand-computed values."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd


def test_vector_field_is_each_players_own_gradient(x64):
    A = jnp.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    x, y = jnp.array([1.0, -2.0, 0.5]), jnp.array([0.3, 0.7])
    xi = gd.vector_field(gd.games.bilinear(A))((x, y))
    np.testing.assert_allclose(xi[0], A @ y, rtol=1e-12)
    np.testing.assert_allclose(xi[1], -A.T @ x, rtol=1e-12)


def test_vector_field_general_sum_three_players(x64):
    # L_i = (p_i - c_i)^2 + p_i * p_{i+1}: player i's gradient only.
    c = jnp.array([1.0, 2.0, 3.0])

    def losses(params, key=None):
        p = jnp.stack(params)
        return tuple((p[i] - c[i]) ** 2 + p[i] * p[(i + 1) % 3] for i in range(3))

    game = gd.Game(init=lambda key: (0.0, 0.0, 0.0), losses=losses)
    params = (jnp.asarray(0.5), jnp.asarray(-1.0), jnp.asarray(2.0))
    xi = gd.vector_field(game)(params)
    p = np.array([0.5, -1.0, 2.0])
    expected = [2 * (p[i] - c[i]) + p[(i + 1) % 3] for i in range(3)]
    np.testing.assert_allclose(np.array(xi), expected, rtol=1e-12)


def test_hamiltonian(x64):
    A = jnp.eye(2) * 2.0
    x, y = jnp.array([1.0, 0.0]), jnp.array([0.0, 3.0])
    h = gd.hamiltonian(gd.games.bilinear(A))((x, y))
    assert float(h) == pytest.approx(0.5 * (36.0 + 4.0))


def test_vector_field_rejects_non_tuple_params():
    xi = gd.vector_field(gd.games.dirac_gan())
    with pytest.raises(TypeError, match="params: expected a non-empty tuple"):
        xi([1.0, 1.0])


def test_game_pytree_params_with_dicts(x64):
    def losses(params, key=None):
        a, b = params
        return (jnp.sum(a["w"] ** 2) * b, -b * a["w"][0])

    game = gd.Game(init=None, losses=losses)
    xi = gd.vector_field(game)(({"w": jnp.array([1.0, 2.0])}, jnp.asarray(3.0)))
    np.testing.assert_allclose(xi[0]["w"], [6.0, 12.0])
    assert float(xi[1]) == pytest.approx(-1.0)
    assert jax.tree.structure(xi[0]) == jax.tree.structure({"w": 0})


def test_player_count_mismatch_is_named():
    import optax

    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    with pytest.raises(ValueError, match="params: the game's losses could not unpack"):
        gd.simulate(dyn, (1.0, 1.0, 1.0), 3)

"""Quadratic and bilinear games."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd


def test_quadratic_field_is_linear(x64):
    rng = np.random.default_rng(0)
    A, P, Q = rng.normal(size=(3, 2)), np.eye(3) * 0.5, np.eye(2) * 2.0
    x, y = rng.normal(size=3), rng.normal(size=2)
    xi = gd.vector_field(gd.games.quadratic(A, P, Q))((jnp.asarray(x), jnp.asarray(y)))
    np.testing.assert_allclose(xi[0], P @ x + A @ y, rtol=1e-12)
    np.testing.assert_allclose(xi[1], -A.T @ x + Q @ y, rtol=1e-12)


def test_bilinear_init_shapes():
    x, y = gd.games.bilinear(np.ones((4, 3))).init(jax.random.key(0))
    assert x.shape == (4,) and y.shape == (3,)


def test_bad_shapes():
    with pytest.raises(ValueError, match="A: expected a 2-D array"):
        gd.games.bilinear(np.ones(3))
    with pytest.raises(ValueError, match=r"P: expected shape \(2, 2\)"):
        gd.games.quadratic(np.ones((2, 3)), P=np.eye(3))


def test_products_run_at_full_precision():
    """Every matrix product asks for HIGHEST precision, so GPUs do not round the
    matrices to TF32 (which moved float32 spectra by about 1e-4 on an H200)."""
    game = gd.games.quadratic(np.ones((3, 2)), np.eye(3), np.eye(2))
    params = game.init(jax.random.key(0))
    for fn in (game.losses, lambda p: jax.grad(lambda q: game.losses(q)[0])(p)):
        eqns = [
            e
            for e in jax.make_jaxpr(fn)(params).jaxpr.eqns
            if e.primitive.name == "dot_general"
        ]
        assert eqns
        for e in eqns:
            assert "HIGHEST" in str(e.params["precision"])

"""Discriminator penalties: closed forms, safe gradients at zero, combination."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd
from gamedyn import regularizers

X_REAL = jnp.array([[0.5, -1.0], [2.0, 0.3], [-0.4, 0.8]])
X_FAKE = jnp.array([[1.5, 0.0], [0.1, -0.2], [0.3, 0.3]])


def quadratic_d(w):
    # D(x) = sum_j w_j x_j^2 / 2, grad_x D = w * x
    return lambda x: 0.5 * jnp.sum(w * x**2, axis=-1)


def test_r1_r2_closed_form():
    w = jnp.array([0.7, -1.2])
    d = quadratic_d(w)
    r1 = regularizers.r1(2.0)(d, X_REAL, X_FAKE, None)
    r2 = regularizers.r2(2.0)(d, X_REAL, X_FAKE, None)
    expect1 = np.mean(np.sum((np.asarray(w) * np.asarray(X_REAL)) ** 2, axis=1))
    expect2 = np.mean(np.sum((np.asarray(w) * np.asarray(X_FAKE)) ** 2, axis=1))
    assert float(r1) == pytest.approx(expect1, rel=1e-6)
    assert float(r2) == pytest.approx(expect2, rel=1e-6)


def test_gradient_penalty_closed_form_at_the_midpoint():
    w = jnp.array([1.0, 3.0])
    d = quadratic_d(w)
    x_hat = 0.5 * (np.asarray(X_REAL) + np.asarray(X_FAKE))
    norms = np.linalg.norm(np.asarray(w) * x_hat, axis=1)
    gp = regularizers.gradient_penalty(4.0)(d, X_REAL, X_FAKE, None)
    assert float(gp) == pytest.approx(2.0 * np.mean((norms - 1) ** 2), rel=1e-6)


def test_gradient_norms_are_safe_at_zero():
    # a discriminator with zero input gradient: sqrt'(0) would give NaN
    def penalty(v):
        d = lambda x: jnp.sum(v * x, axis=-1)  # noqa: E731
        return regularizers.gradient_penalty(10.0)(d, X_REAL, X_FAKE, None)

    g = jax.grad(penalty)(jnp.zeros(2))
    assert np.all(np.isfinite(np.asarray(g)))
    g0 = jax.grad(regularizers.global_norm)({"a": jnp.zeros(3), "b": jnp.zeros(())})
    assert all(np.all(np.isfinite(np.asarray(x))) for x in jax.tree.leaves(g0))
    assert float(regularizers.global_norm({"a": jnp.array([3.0, 4.0])})) == 5.0


def test_combine_is_the_sum():
    d = quadratic_d(jnp.array([0.3, 0.9]))
    r1, r2 = regularizers.r1(1.0), regularizers.r2(3.0)
    both = regularizers.combine(r1, r2)(d, X_REAL, X_FAKE, None)
    assert float(both) == pytest.approx(
        float(r1(d, X_REAL, X_FAKE, None) + r2(d, X_REAL, X_FAKE, None)), rel=1e-6
    )
    with pytest.raises(ValueError, match="regularizers"):
        regularizers.combine()


def test_negative_gamma_rejected():
    with pytest.raises(ValueError, match="gamma"):
        regularizers.r1(-1.0)


def test_registry_names_defaults_and_equality():
    assert set(gd.regularizers.names()) >= {"none", "r1", "r2", "gp"}
    assert gd.regularizers.get("none") is None
    d = lambda x: 1.5 * x[:, 0]  # noqa: E731
    x = jnp.ones((4, 1))
    got = gd.regularizers.get("r1", 0.3)(d, x, x, None)
    np.testing.assert_allclose(got, gd.regularizers.r1(0.3)(d, x, x, None))
    default = gd.regularizers.spec("gp").default
    np.testing.assert_allclose(
        gd.regularizers.get("gp")(d, x, 2 * x, None),
        gd.regularizers.gradient_penalty(default, 1.0)(d, x, 2 * x, None),
    )
    with pytest.raises(ValueError, match="regularizer: expected one of"):
        gd.regularizers.get("r3")
    with pytest.raises(ValueError, match="gamma: expected"):
        gd.regularizers.get("r1", -1.0)

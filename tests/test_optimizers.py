"""The optimizer registry: defaults written once, equal to optax's transformations."""

import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd


def _step(opt):
    p = jnp.array([1.0, -2.0])
    g = jnp.array([0.3, 0.1])
    s = opt.init(p)
    for _ in range(3):
        u, s = opt.update(g, s, p)
        p = optax.apply_updates(p, u)
    return p


@pytest.mark.parametrize(
    "name,options,direct",
    [
        ("adam", {}, optax.adam(0.1, b1=0.5, b2=0.999)),
        ("adam", {"beta1": 0.0, "beta2": 0.9}, optax.adam(0.1, b1=0.0, b2=0.9)),
        ("sgd", {}, optax.sgd(0.1)),
        ("sgd", {"momentum": -0.5}, optax.sgd(0.1, momentum=-0.5)),
        ("rmsprop", {}, optax.rmsprop(0.1)),
    ],
)
def test_make_equals_optax(name, options, direct):
    np.testing.assert_array_equal(
        _step(gd.optimizers.make(name, 0.1, **options)), _step(direct)
    )


def test_options_an_optimizer_does_not_take_are_ignored():
    np.testing.assert_array_equal(
        _step(gd.optimizers.make("sgd", 0.1, beta1=0.9)), _step(optax.sgd(0.1))
    )


@pytest.mark.parametrize(
    "call,error,match",
    [
        (lambda: gd.optimizers.make("lbfgs", 0.1), ValueError, "optimizer: expected"),
        (lambda: gd.optimizers.adam(float("nan")), ValueError, "lr: expected"),
        (lambda: gd.optimizers.adam(0.1, beta1=5), ValueError, "beta1: expected"),
        (lambda: gd.optimizers.sgd(-1.0), ValueError, "lr: expected"),
    ],
)
def test_bad_values(call, error, match):
    with pytest.raises(error, match=match):
        call()


def test_schedules_are_accepted():
    opt = gd.optimizers.make("adam", optax.constant_schedule(0.1))
    np.testing.assert_allclose(_step(opt), _step(optax.adam(0.1, b1=0.5)), rtol=1e-6)

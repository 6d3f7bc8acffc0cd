"""The update-rule registry: names, defaults written once, and equality with the
functions it names."""

import jax
import numpy as np
import optax
import pytest

import gamedyn as gd

GAME = gd.games.bilinear(np.array([[1.0, 0.5], [0.2, 2.0]]))
P0 = GAME.init(jax.random.key(0))


def _final(dyn):
    return gd.simulate(dyn, P0, 20).final


@pytest.mark.parametrize(
    "name,param,direct",
    [
        ("simultaneous", None, lambda o: gd.dynamics.simultaneous(GAME, o)),
        ("alternating", None, lambda o: gd.dynamics.alternating(GAME, o)),
        ("extragradient", None, lambda o: gd.dynamics.extragradient(GAME, o)),
        ("optimistic", None, lambda o: gd.dynamics.optimistic(GAME, o)),
        ("consensus", None, lambda o: gd.dynamics.consensus(GAME, o, 1.0)),
        ("consensus", 0.3, lambda o: gd.dynamics.consensus(GAME, o, 0.3)),
        ("sga", None, lambda o: gd.dynamics.sga(GAME, o, 1.0)),
        ("cgd", None, lambda o: gd.dynamics.cgd(GAME, o, 0.1)),
        ("cgd", 0.05, lambda o: gd.dynamics.cgd(GAME, o, 0.05)),
        (
            "lookahead",
            None,
            lambda o: gd.dynamics.lookahead(gd.dynamics.alternating(GAME, o), 5, 0.5),
        ),
        ("unrolled", 3, lambda o: gd.dynamics.unrolled(GAME, o, 3)),
    ],
)
def test_registry_builds_the_named_rule(name, param, direct):
    opt = optax.sgd(0.1)
    rule = gd.dynamics.get(name)
    got = _final(rule(GAME, opt, param, lr=0.1))
    want = _final(direct(opt))
    for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_names_and_documented_defaults():
    assert set(gd.dynamics.names()) >= {
        "simultaneous",
        "alternating",
        "extragradient",
        "optimistic",
        "consensus",
        "sga",
        "cgd",
        "lookahead",
        "unrolled",
    }
    assert gd.dynamics.get("consensus").param == "gamma"
    assert gd.dynamics.get("consensus").default == 1.0
    assert gd.dynamics.get("unrolled").default == 5
    assert gd.dynamics.get("simultaneous").param is None
    assert "gamma, default 1.0" in gd.dynamics.get("consensus").describe()


@pytest.mark.parametrize(
    "name,param,error,match",
    [
        ("newton", None, ValueError, "rule: expected one of"),
        ("simultaneous", 0.5, ValueError, "takes no parameter"),
        ("unrolled", 0.5, TypeError, r"rule_param \(unrolled steps\): expected an int"),
        ("unrolled", 0, ValueError, r"rule_param \(unrolled steps\): expected an int"),
        ("consensus", float("nan"), ValueError, "expected a finite number"),
    ],
)
def test_bad_rule_or_param(name, param, error, match):
    with pytest.raises(error, match=match):
        gd.dynamics.get(name)(GAME, optax.sgd(0.1), param)


def test_periods_of_the_registry_rules():
    periods = {
        name: gd.dynamics.get(name)(GAME, optax.sgd(0.1), lr=0.1).period
        for name in gd.dynamics.names()
    }
    assert periods.pop("lookahead") == 5
    assert set(periods.values()) == {1}


def test_cgd_needs_eta_or_lr():
    with pytest.raises(ValueError, match="cgd needs eta"):
        gd.dynamics.get("cgd")(GAME, optax.sgd(0.1))


def test_register_a_new_rule():
    gd.dynamics.register(
        "halfstep",
        lambda g, o, p, lr: gd.dynamics.simultaneous(g, optax.scale(p)),
        param="scale",
        default=-0.05,
    )
    try:
        dyn = gd.dynamics.get("halfstep")(GAME, None)
        want = _final(gd.dynamics.simultaneous(GAME, optax.sgd(0.05)))
        np.testing.assert_allclose(_final(dyn)[0], want[0], rtol=1e-6)
    finally:
        from gamedyn.dynamics import _registry

        del _registry._RULES["halfstep"]

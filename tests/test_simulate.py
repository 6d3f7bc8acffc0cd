"""simulate: recording, metrics, vmap, no re-tracing, divergence, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd


def dirac_sim(lr, steps=100, **kwargs):
    game = gd.games.dirac_gan()
    return gd.simulate(
        gd.dynamics.simultaneous(game, optax.sgd(lr)), game.init(None), steps, **kwargs
    )


def test_records_every_and_final():
    full = dirac_sim(0.2, 10)
    sub = dirac_sim(0.2, 10, every=3)
    assert full.params[0].shape == (11,)
    assert sub.params[0].shape == (4,)  # start, 3, 6, 9
    np.testing.assert_array_equal(sub.steps, [0, 3, 6, 9])
    np.testing.assert_allclose(sub.params[0], full.params[0][::3], rtol=1e-6)
    np.testing.assert_allclose(sub.final[0], full.params[0][-1], rtol=1e-6)
    assert int(full.diverged_step) == -1


def test_zero_steps():
    t = dirac_sim(0.2, 0)
    assert t.params[0].shape == (1,) and float(t.final[0]) == 1.0


def test_vmap_over_learning_rate_equals_python_loop():
    lrs = jnp.array([0.05, 0.1, 0.2, 0.4])
    batched = jax.vmap(lambda lr: dirac_sim(lr, 50).params)(lrs)
    for i, lr in enumerate(lrs):
        single = dirac_sim(float(lr), 50).params
        np.testing.assert_allclose(batched[0][i], single[0], rtol=1e-5, atol=1e-7)
        np.testing.assert_allclose(batched[1][i], single[1], rtol=1e-5, atol=1e-7)


def test_no_retrace_on_second_call():
    traces = []

    def losses(params, key=None):
        traces.append(1)
        x, y = params
        return x * y, -x * y

    game = gd.Game(init=None, losses=losses)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    gd.simulate(dyn, (jnp.asarray(1.0), jnp.asarray(1.0)), 20)
    n = len(traces)
    gd.simulate(dyn, (jnp.asarray(0.5), jnp.asarray(-2.0)), 20)
    assert len(traces) == n


def test_divergence_is_a_value_and_later_records_are_nan():
    # simultaneous GD on the WGAN Dirac-GAN with a huge step blows up to inf.
    game = gd.games.dirac_gan("wgan")
    traj = gd.simulate(
        gd.dynamics.simultaneous(game, optax.sgd(1e30)), game.init(None), 50
    )
    k = int(traj.diverged_step)
    assert k > 0
    th, ps = np.asarray(traj.params[0]), np.asarray(traj.params[1])
    assert np.all(np.isfinite(th[:k])) and np.all(np.isfinite(ps[:k]))
    assert np.all(np.isnan(th[k:])) and np.all(np.isnan(ps[k:]))
    assert np.isnan(float(traj.final[0]))
    # an independent loop: the first step with a non-finite value
    t, p, h = np.float32(1.0), np.float32(1.0), np.float32(1e30)
    with np.errstate(over="ignore", invalid="ignore"):
        step = 0
        while np.isfinite(t) and np.isfinite(p):
            t, p, step = t - h * p, p + h * t, step + 1
    assert k == step


def test_divergence_in_a_vmapped_batch_keeps_the_others():
    game = gd.games.dirac_gan("wgan")
    p0 = game.init(None)
    run = lambda lr: gd.simulate(  # noqa: E731
        gd.dynamics.simultaneous(game, optax.sgd(lr)), p0, 50
    )
    out = jax.vmap(run)(jnp.array([0.1, 1e30]))
    assert int(out.diverged_step[0]) == -1 and int(out.diverged_step[1]) > 0
    assert np.isfinite(float(out.final[0][0]))


def test_metrics():
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.2))
    traj = gd.simulate(
        dyn,
        game.init(None),
        20,
        every=5,
        metrics=("losses", "grad_norms", "hamiltonian", "distance"),
        game=game,
        equilibrium=(0.0, 0.0),
    )
    th, ps = np.asarray(traj.params[0]), np.asarray(traj.params[1])
    np.testing.assert_allclose(traj.metrics["distance"], np.hypot(th, ps), rtol=1e-5)
    fp = 1 / (1 + np.exp(th * ps))
    np.testing.assert_allclose(
        traj.metrics["grad_norms"][:, 0], np.abs(ps) * fp, rtol=1e-5
    )
    np.testing.assert_allclose(
        traj.metrics["grad_norms"][:, 1], np.abs(th) * fp, rtol=1e-5
    )
    np.testing.assert_allclose(
        traj.metrics["hamiltonian"], 0.5 * (th**2 + ps**2) * fp**2, rtol=1e-5
    )
    f = lambda t: -np.log1p(np.exp(-t))  # noqa: E731
    np.testing.assert_allclose(
        traj.metrics["losses"][:, 0], f(th * ps) + f(0.0), rtol=1e-5
    )
    assert traj.metrics["losses"].shape == (5, 2)


def test_saturating_generator_gradient_vanishes():
    # With the standard loss, once the discriminator wins (psi * theta >> 0) the
    # generator's gradient psi f'(psi theta) vanishes; the non-saturating one does not.
    start = (3.0, 3.0)
    norms = {}
    for loss in ("standard", "non_saturating"):
        game = gd.games.dirac_gan(loss, start=start)
        traj = gd.simulate(
            gd.dynamics.simultaneous(game, optax.sgd(0.01)),
            game.init(None),
            1,
            metrics=("grad_norms",),
            game=game,
        )
        norms[loss] = float(traj.metrics["grad_norms"][0, 0])
    assert norms["standard"] == pytest.approx(3 / (1 + np.exp(9.0)), rel=1e-4)
    assert norms["non_saturating"] == pytest.approx(3 / (1 + np.exp(-9.0)), rel=1e-4)


def test_continuing_from_state_equals_one_run():
    game = gd.games.bilinear(np.array([[1.0, 0.5], [0.0, 2.0]]))
    dyn = gd.dynamics.optimistic(game, optax.adam(0.05))
    p0 = game.init(jax.random.key(0))
    whole = gd.simulate(dyn, p0, 30)
    first = gd.simulate(dyn, p0, 12)
    rest = gd.simulate(dyn, first.final, 18, state=first.state)
    np.testing.assert_allclose(rest.final[0], whole.final[0], rtol=1e-6)


def test_float64_when_x64_enabled(x64):
    t = dirac_sim(0.2, 5)
    assert t.params[0].dtype == jnp.float64


def test_float32_by_default():
    assert dirac_sim(0.2, 5).params[0].dtype == jnp.float32


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"num_steps": -1}, "num_steps: expected an integer >= 0, got -1"),
        ({"num_steps": 2.5}, "num_steps: expected an integer >= 0, got float"),
        ({"num_steps": True}, "num_steps: expected an integer"),
        ({"every": 0}, "every: expected an integer >= 1"),
        ({"params": (jnp.nan, 1.0)}, "params: the starting point must be finite"),
        ({"params": (1, 1)}, "params: expected floating-point leaves"),
        ({"params": [1.0, 1.0]}, "params: expected a non-empty tuple"),
        ({"metrics": ("speed",)}, "metrics: expected names from"),
        ({"metrics": ("distance",)}, "equilibrium: the 'distance' metric needs"),
        ({"metrics": ("losses",)}, "game: the metrics"),
    ],
)
def test_bad_input(kwargs, match):
    game = gd.games.dirac_gan()
    args = {"params": game.init(None), "num_steps": 10}
    args.update(kwargs)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    with pytest.raises(ValueError, match=match):
        gd.simulate(dyn, args.pop("params"), args.pop("num_steps"), **args)


def test_bad_dynamics():
    with pytest.raises(ValueError, match="dynamics: expected a gamedyn.Dynamics"):
        gd.simulate(lambda p: p, (jnp.asarray(1.0),), 3)

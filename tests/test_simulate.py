"""simulate: recording, metrics, vmap, no re-tracing, divergence, bad input."""

import chex
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
    # one trace per player's gradient in the first call, none in the second
    @chex.assert_max_traces(n=2)
    def losses(params, key=None):
        x, y = params
        return x * y, -x * y

    game = gd.Game(init=None, losses=losses)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    gd.simulate(dyn, (jnp.asarray(1.0), jnp.asarray(1.0)), 20)
    gd.simulate(dyn, (jnp.asarray(0.5), jnp.asarray(-2.0)), 20)
    gd.simulate(dyn, (jnp.asarray(0.5), jnp.asarray(-2.0)), 20, start_step=20)


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
    "kwargs,error,match",
    [
        ({"num_steps": -1}, ValueError, "num_steps: expected an integer >= 0, got -1"),
        (
            {"num_steps": 2.5},
            TypeError,
            "num_steps: expected an integer >= 0, got float",
        ),
        ({"num_steps": True}, TypeError, "num_steps: expected an integer"),
        ({"num_steps": np.int64(3)}, None, None),
        ({"every": 0}, ValueError, "every: expected an integer >= 1"),
        ({"start_step": -2}, ValueError, "start_step: expected an integer >= 0"),
        ({"record_params": 1}, TypeError, "record_params: expected a bool"),
        ({"key": "seed"}, TypeError, "key: expected a PRNG key"),
        ({"key": 3}, None, None),
        ({"params": (jnp.nan, 1.0)}, ValueError, "params: the starting point must be"),
        ({"params": (1, 1)}, TypeError, "params: expected floating-point leaves"),
        ({"params": [1.0, 1.0]}, TypeError, "params: expected a non-empty tuple"),
        ({"metrics": ("speed",)}, ValueError, "metrics: expected names from"),
        ({"metrics": ("distance",)}, ValueError, "equilibrium: the 'distance' metric"),
        ({"metrics": ("losses",)}, TypeError, "game: the metrics"),
        (
            {"metrics": ("distance",), "equilibrium": (jnp.zeros(3), 0.0)},
            ValueError,
            "equilibrium: expected a pytree shaped like params",
        ),
    ],
)
def test_bad_input(kwargs, error, match):
    game = gd.games.dirac_gan()
    args = {"params": game.init(None), "num_steps": 10}
    args.update(kwargs)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    if error is None:  # accepted (numpy integers, integer seeds)
        gd.simulate(dyn, args.pop("params"), args.pop("num_steps"), **args)
        return
    with pytest.raises(error, match=match):
        gd.simulate(dyn, args.pop("params"), args.pop("num_steps"), **args)


def test_bad_dynamics():
    with pytest.raises(TypeError, match="dynamics: expected a gamedyn.Dynamics"):
        gd.simulate(lambda p: p, (jnp.asarray(1.0),), 3)


def test_wrong_number_of_losses_is_named():
    game = gd.Game(init=None, losses=lambda p, key=None: (p[0] * p[1],))
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    with pytest.raises(ValueError, match="game.losses: expected a tuple of 2 scalar"):
        gd.simulate(dyn, (jnp.asarray(1.0), jnp.asarray(1.0)), 3)


def _halves_equal_whole(dyn, params, n, m, key):
    whole = gd.simulate(dyn, params, n + m, key=key)
    a = gd.simulate(dyn, params, n, key=key)
    b = gd.simulate(dyn, a.final, m, key=key, state=a.state, start_step=n)
    for x, y in zip(jax.tree.leaves(b.final), jax.tree.leaves(whole.final)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    for x, y in zip(jax.tree.leaves(b.state), jax.tree.leaves(whole.state)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    np.testing.assert_array_equal(b.steps, whole.steps[n:])
    return whole, a, b


def test_start_step_continues_an_instance_noise_run_bit_for_bit():
    game = gd.games.dirac_gan(instance_noise=0.7)
    dyn = gd.dynamics.alternating(game, optax.sgd(0.2))
    whole, a, b = _halves_equal_whole(dyn, game.init(None), 37, 25, jax.random.key(3))
    # without start_step the second half would repeat the first half's noise
    again = gd.simulate(dyn, a.final, 25, key=jax.random.key(3), state=a.state)
    assert not np.array_equal(np.asarray(again.final[0]), np.asarray(whole.final[0]))


def test_start_step_continues_a_minibatch_gan_bit_for_bit():
    import flax.linen as nn

    mixture = gd.data.ring()
    game = gd.games.module_gan(
        gd.games.MLP((16,), 2),
        gd.games.MLP((16,), 1, activation=nn.leaky_relu),
        mixture.sample,
        lambda key, n: jax.random.normal(key, (n, 4)),
        loss="non_saturating",
        regularizer=gd.regularizers.r1(0.1),
        batch_size=32,
    )
    dyn = gd.dynamics.alternating(game, optax.adam(1e-3))
    _halves_equal_whole(dyn, game.init(jax.random.key(0)), 6, 5, jax.random.key(1))


def test_start_step_is_traced_and_global():
    game = gd.games.dirac_gan(instance_noise=0.5)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.2))
    p = game.init(None)
    fn = jax.jit(lambda s: gd.simulate(dyn, p, 4, key=0, start_step=s).final)
    whole = gd.simulate(dyn, p, 4, key=0, start_step=7)
    np.testing.assert_array_equal(fn(7)[0], whole.final[0])
    t = gd.simulate(dyn, p, 6, key=0, every=3, start_step=10)
    np.testing.assert_array_equal(t.steps, [10, 13, 16])


def test_diverged_step_counts_from_start_step():
    game = gd.games.bilinear(np.eye(1))
    dyn = gd.dynamics.simultaneous(game, optax.sgd(10.0))
    p = game.init(jax.random.key(0))
    local = gd.simulate(dyn, p, 200)
    shifted = gd.simulate(dyn, p, 200, start_step=1000)
    assert int(local.diverged_step) > 0
    assert int(shifted.diverged_step) == int(local.diverged_step) + 1000


def test_record_params_false_keeps_metrics_and_final():
    game = gd.games.dirac_gan()
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.2))
    kw = dict(metrics=("distance", "losses"), game=game, equilibrium=(0.0, 0.0))
    full = gd.simulate(dyn, game.init(None), 50, every=5, **kw)
    lean = gd.simulate(dyn, game.init(None), 50, every=5, record_params=False, **kw)
    assert lean.params is None
    np.testing.assert_array_equal(lean.final[0], full.final[0])
    for name in full.metrics:
        np.testing.assert_array_equal(lean.metrics[name], full.metrics[name])


def test_record_params_false_memory_does_not_grow_with_records():
    game = gd.games.bilinear(np.eye(256))
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.01))
    p = game.init(jax.random.key(0))
    kw = dict(metrics=("distance",), equilibrium=jax.tree.map(jnp.zeros_like, p))

    def out_bytes(record_params):
        shapes = jax.eval_shape(
            lambda q: gd.simulate(dyn, q, 1000, record_params=record_params, **kw), p
        )
        return sum(x.size * x.dtype.itemsize for x in jax.tree.leaves(shapes))

    assert out_bytes(True) > 1000 * 2 * 256 * 4  # every record holds both players
    assert out_bytes(False) < 2 * 256 * 4 * 3 + 1001 * 4 * 2


def test_optimizer_state_overflow_counts_as_divergence():
    # Adam's second moment overflows (g^2 = inf in float32) while the normalised
    # step, hence the params, stays finite: the run must still be flagged.
    game = gd.Game(
        init=None,
        losses=lambda p, key=None: (1e30 * p[0] * p[1], -1e30 * p[0] * p[1]),
    )
    dyn = gd.dynamics.simultaneous(game, optax.adam(1e-3))
    traj = gd.simulate(dyn, (jnp.asarray(1.0), jnp.asarray(1.0)), 5)
    assert int(traj.diverged_step) == 1
    assert np.isnan(float(traj.final[0]))

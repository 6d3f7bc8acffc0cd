"""gamedyn.experiments.mog: validation, registries, chunking, progress, summary."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd
from gamedyn.experiments import mog

TINY = mog.Config(
    hidden=8, batch_size=16, latent_dim=2, g_layers=1, d_layers=1, ema_decay=0.9
)


def _leaves_equal(a, b) -> bool:
    return all(
        np.array_equal(x, y) for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b))
    )


def test_chunking_does_not_change_the_run():
    calls = []
    one = mog.run(TINY, steps=6, seeds=(3, 5), snapshots=1, num_plot=4)
    two = mog.run(
        TINY,
        steps=6,
        seeds=(3, 5),
        snapshots=2,
        num_plot=4,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert _leaves_equal(one.params, two.params)
    np.testing.assert_array_equal(one.counts, two.counts)
    np.testing.assert_array_equal(one.snapshots[:, -1], two.snapshots[:, -1])
    np.testing.assert_array_equal(two.steps, [0, 3, 6])
    assert two.snapshots.shape == (2, 3, 4, 2) and one.snapshots.shape == (2, 2, 4, 2)
    assert calls == [(3, 6), (6, 6)]
    # the seeds differ from each other
    assert not np.array_equal(one.snapshots[0, -1], one.snapshots[1, -1])


def test_other_seeds_reuse_the_programs_and_keep_their_own_runs(monkeypatch):
    # the arguments of test_chunking_does_not_change_the_run's second run
    kwargs = dict(steps=6, snapshots=2, num_plot=4, devices=jax.devices()[:1])
    first = mog.run(TINY, seeds=(3, 5), **kwargs)

    def no_build(*args, **kwargs):
        raise AssertionError("built (and compiled) again for other seeds")

    monkeypatch.setattr(mog, "build", no_build)
    swapped = mog.run(TINY, seeds=(5, 3), **kwargs)
    np.testing.assert_array_equal(swapped.snapshots, first.snapshots[::-1])
    np.testing.assert_array_equal(swapped.counts, first.counts[::-1])
    assert _leaves_equal(swapped.params, jax.tree.map(lambda x: x[::-1], first.params))
    with pytest.raises(AssertionError, match="built"):  # a new configuration
        mog.run(TINY._replace(hidden=9), seeds=(5, 3), **kwargs)


def test_uneven_chunks_train_exactly_the_steps():
    res = mog.run(TINY, steps=7, seeds=1, snapshots=3, num_plot=2)
    np.testing.assert_array_equal(res.steps, [0, 2, 4, 7])
    ref = mog.run(TINY, steps=7, seeds=1, snapshots=1, num_plot=2)
    assert _leaves_equal(res.params, ref.params)


def test_run_is_simulate_of_each_seed():
    cfg = TINY._replace(ema_decay=0.0)
    res = mog.run(cfg, steps=5, seeds=(4,), snapshots=1, num_plot=2)
    exp = mog.build(cfg, 5)
    key = jax.random.key(4)
    traj = gd.simulate(exp.dynamics, exp.game.init(key), 5, key=key)
    for a, b in zip(jax.tree.leaves(traj.final), jax.tree.leaves(res.params)):
        np.testing.assert_allclose(a, b[0], rtol=1e-5, atol=1e-6)
    assert not res.diverged.any()


def test_result_and_summary():
    res = mog.run(TINY, steps=4, seeds=2, snapshots=2, num_plot=3)
    assert res.counts.shape == (2, 8)
    assert set(res.metrics) == {"modes", "high_quality", "reverse_kl"}
    assert res.metrics["modes"].shape == (2,)
    np.testing.assert_array_equal(res.metrics["modes"], (res.counts > 0).sum(1))
    record = mog.summary(TINY, res, 2)
    assert record["steps"] == 4 and record["num_modes"] == 8
    assert [s["seed"] for s in record["per_seed"]] == [0, 1]
    assert record["modes"] == pytest.approx(float(res.metrics["modes"].mean()))
    assert record["config"] == TINY._asdict()
    assert record["diverged_seeds"] == []
    with pytest.raises(ValueError, match="seeds"):
        mog.summary(TINY, res, 3)
    # A diverged seed is flagged in the record, not only in its own entry.
    diverged = mog.summary(TINY, res._replace(diverged=np.array([False, True])), 2)
    assert diverged["diverged_seeds"] == [1]
    assert [s["diverged"] for s in diverged["per_seed"]] == [False, True]


def test_rule_param_goes_through_the_registry():
    params = mog.build(TINY).game.init(jax.random.key(0))
    key = jax.random.key(1)

    def step(cfg):
        dyn = mog.build(cfg._replace(ema_decay=0.0)).dynamics
        return dyn.step(params, dyn.init(params), key)[0]

    simultaneous = step(TINY._replace(rule="simultaneous"))
    zero = step(TINY._replace(rule="consensus", rule_param=0.0))
    default = step(TINY._replace(rule="consensus"))
    one = step(TINY._replace(rule="consensus", rule_param=1.0))
    for a, b in zip(jax.tree.leaves(simultaneous), jax.tree.leaves(zero)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert _leaves_equal(default, one)  # the registry's default gamma is 1
    assert not _leaves_equal(simultaneous, one)


def test_regularizer_gamma_none_is_the_registry_default():
    params = mog.build(TINY).game.init(jax.random.key(0))
    key = jax.random.key(2)
    losses = [
        mog.build(TINY._replace(gamma=g)).game.losses(params, key)
        for g in (None, 1.0, 0.1)
    ]
    np.testing.assert_array_equal(jnp.stack(losses[0]), jnp.stack(losses[1]))
    assert losses[1][1] != losses[2][1]


def test_clip_bounds_the_discriminator_only():
    cfg = TINY._replace(clip=0.05, regularizer="none", gamma=None, loss="wgan")
    res = mog.run(cfg, steps=3, seeds=1, snapshots=1, num_plot=2)
    generator, discriminator = res.params
    assert max(np.abs(x).max() for x in jax.tree.leaves(discriminator)) <= 0.05
    assert max(np.abs(x).max() for x in jax.tree.leaves(generator)) > 0.05


def test_spectral_norm_changes_the_discriminator():
    params = mog.build(TINY).game.init(jax.random.key(0))
    key = jax.random.key(3)
    plain = mog.build(TINY).game.losses(params, key)
    normed = mog.build(TINY._replace(spectral_norm=True)).game.losses(params, key)
    assert float(plain[1]) != float(normed[1])


@pytest.mark.parametrize(
    "field,value,error",
    [
        ("dataset", "spiral", ValueError),
        ("dim", 1, ValueError),
        ("dim", 2.0, TypeError),
        ("loss", "nope", ValueError),
        ("regularizer", "sn", ValueError),
        ("regularizer", "clip", ValueError),
        ("gamma", -0.1, ValueError),
        ("gamma", float("nan"), ValueError),
        ("spectral_norm", 1, TypeError),
        ("clip", 0.0, ValueError),
        ("clip", float("inf"), ValueError),
        ("rule", "bogus", ValueError),
        ("optimizer", "lion", ValueError),
        ("lr", 0.0, ValueError),
        ("lr", float("nan"), ValueError),
        ("lr", "0.1", TypeError),
        ("schedule", "linear", ValueError),
        ("d_lr_factor", float("inf"), ValueError),
        ("beta1", 1.0, ValueError),
        ("beta2", -0.1, ValueError),
        ("beta2", float("nan"), ValueError),
        ("momentum", 2.0, ValueError),
        ("batch_size", 0, ValueError),
        ("hidden", 8.0, TypeError),
        ("g_layers", True, TypeError),
        ("num_generators", 0, ValueError),
        ("instance_noise", float("-inf"), ValueError),
        ("generator_penalty", -1.0, ValueError),
        ("ema_decay", 1.0, ValueError),
    ],
)
def test_check_names_the_bad_field(field, value, error):
    with pytest.raises(error, match=f"^{field}: "):
        mog.check(TINY._replace(**{field: value}))
    with pytest.raises(error, match=f"^{field}: "):
        mog.build(TINY._replace(**{field: value}))


@pytest.mark.parametrize(
    "changes,error,match",
    [
        (
            dict(rule="simultaneous", rule_param=1.0),
            ValueError,
            r"^rule_param: .*takes no",
        ),
        (
            dict(rule="unrolled", rule_param=2.5),
            TypeError,
            r"^rule_param \(unrolled steps\)",
        ),
        (
            dict(rule="consensus", rule_param=float("nan")),
            ValueError,
            r"^rule_param \(consensus gamma\)",
        ),
        (dict(rule="cgd", num_generators=2), ValueError, r"^num_generators: .*two"),
    ],
)
def test_check_rule_param_and_rule_constraints(changes, error, match):
    with pytest.raises(error, match=match):
        mog.check(TINY._replace(**changes))


def test_check_accepts_every_rule_and_the_defaults():
    mog.check(mog.Config())
    for rule in mog.RULES:
        mog.check(TINY._replace(rule=rule))
    assert mog.Config().rule_param is None
    with pytest.raises(TypeError, match="^config: "):
        mog.check(TINY._asdict())


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(steps=0), "^steps: "),
        (dict(steps=3, snapshots=4), "^snapshots: "),
        (dict(seeds=0), "^seeds: "),
        (dict(seeds=()), "^seeds: "),
        (dict(seeds=(-1,)), r"^seeds\[0\]: "),
        (dict(num_plot=0), "^num_plot: "),
        (dict(devices=[]), "^devices: expected a non-empty sequence of jax devices"),
        (dict(devices=["cpu"]), "^devices: expected a non-empty sequence"),
        (dict(devices=jax.devices() * 2), "^devices: expected distinct devices"),
    ],
)
def test_run_checks_its_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        mog.run(TINY, **kwargs)


def test_seed_tuple():
    assert mog.seed_tuple(3) == (0, 1, 2)
    assert mog.seed_tuple([5, 9]) == (5, 9)
    assert mog.seed_tuple(np.int64(2)) == (0, 1)
    with pytest.raises(TypeError, match="^seeds: "):
        mog.seed_tuple("3")

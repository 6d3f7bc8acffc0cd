"""gamedyn.sweep: equality with a Python loop, chunking, caching, seeds, NaN."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import outcomes
from gamedyn.experiments.dirac_sweep import (
    dirac_run,
)


def _loop(fn, grid):
    """The reference: a Python loop over the Cartesian product, one jitted call each."""
    names = list(grid)
    jitted = jax.jit(fn)
    sizes = tuple(len(grid[k]) for k in names)
    outs = [
        jitted(**{k: grid[k][i] for k, i in zip(names, idx)})
        for idx in itertools.product(*(range(n) for n in sizes))
    ]
    return jax.tree.map(lambda *xs: np.stack(xs).reshape(sizes + xs[0].shape), *outs)


def _assert_trees_close(a, b, rtol):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


def test_matches_python_loop_on_dirac_gan(x64):
    for start in [(1.0, 1.0), None]:  # the paper's start, and the local default
        kw = {} if start is None else {"start": start}
        fn = dirac_run("extragradient", num_steps=60, every=6, **kw)
        grid = {"lr": np.array([0.05, 0.3, 0.9]), "gamma": np.array([0.0, 0.7])}
        out = gd.sweep(fn, grid)
        _assert_trees_close(out, _loop(fn, grid), rtol=1e-12)
        assert out["outcome"].shape == (3, 2)
        assert np.all(out["rate"] < 0.9999) and np.all(out["rate"] > 0.5)


def _records_and_rate(lr, gamma):
    """The distance records of one Dirac-GAN run and their rate, as dirac_run
    computes it: the same program as the GPU failure of issue #13."""
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(gamma), start=(1.0, 1.0))
    dyn = gd.dynamics.extragradient(game, optax.sgd(lr))
    traj = gd.simulate(
        dyn,
        game.init(None),
        60,
        every=6,
        metrics=("distance",),
        equilibrium=(0.0, 0.0),
    )
    d = traj.metrics["distance"]
    return {"records": d, "rate": outcomes.rate(d, tail=0.5, every=6)}


def test_rate_under_sweep_equals_the_rate_of_its_own_records(x64):
    # Issue #13, item 7: on an H200 the sweep's rate was exactly 1.0 while the loop
    # gave 0.69-0.9997 with equal final distances. This test tells the candidates
    # apart on any backend: the recorded distances (the scan) first, then the rate
    # fitted under shard_map + vmap against the same fit of those records outside.
    grid = {"lr": np.array([0.05, 0.3, 0.9]), "gamma": np.array([0.0, 0.7])}
    out = gd.sweep(_records_and_rate, grid)
    loop = _loop(_records_and_rate, grid)
    np.testing.assert_allclose(out["records"], loop["records"], rtol=1e-12, atol=0)
    outside = np.asarray(outcomes.rate(out["records"], tail=0.5, every=6))
    np.testing.assert_allclose(out["rate"], outside, rtol=1e-12)
    np.testing.assert_allclose(out["rate"], loop["rate"], rtol=1e-12)
    assert np.all(out["rate"] != 1.0)


def test_pytree_output_layout_and_order():
    def fn(a, b, c):
        return {"sum": a + b + c, "vec": (jnp.stack([a, b, c]), jnp.full((2, 2), a))}

    grid = {"a": [1.0, 2.0], "b": jnp.array([10.0, 20.0, 30.0]), "c": np.array([100.0])}
    out = gd.sweep(fn, grid)
    assert out["sum"].shape == (2, 3, 1)
    assert out["vec"][0].shape == (2, 3, 1, 3)
    assert out["vec"][1].shape == (2, 3, 1, 2, 2)
    a, b, c = np.meshgrid([1.0, 2.0], [10.0, 20.0, 30.0], [100.0], indexing="ij")
    np.testing.assert_array_equal(out["sum"], a + b + c)
    np.testing.assert_array_equal(out["vec"][0], np.stack([a, b, c], -1))
    assert isinstance(out["sum"], np.ndarray)


@pytest.mark.parametrize("chunk_size", [1, 4, 5, 12, 100])
def test_chunking_equals_no_chunking_and_pads(chunk_size):
    def fn(a, b):  # identity on the point: padding or misplacement shows directly
        return jnp.stack([a, b]), jnp.sin(a) * b

    grid = {"a": jnp.arange(4.0), "b": jnp.arange(3.0) + 0.5}
    whole = gd.sweep(fn, grid)
    chunked = gd.sweep(fn, grid, chunk_size=chunk_size)
    a, b = np.meshgrid(np.arange(4.0), np.arange(3.0) + 0.5, indexing="ij")
    np.testing.assert_array_equal(whole[0], np.stack([a, b], -1))
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-6)


def test_second_call_reuses_the_compiled_program():
    traces = []

    def fn(lr, gamma):
        traces.append(1)
        return lr * gamma + jnp.cos(lr)

    grid = {"lr": jnp.linspace(0.1, 1.0, 7), "gamma": jnp.linspace(0.0, 2.0, 5)}
    first = gd.sweep(fn, grid, chunk_size=8)  # 5 chunks, one program
    assert len(traces) == 1
    new = {"lr": jnp.linspace(0.2, 3.0, 7), "gamma": jnp.linspace(1.0, 2.0, 5)}
    second = gd.sweep(fn, new, chunk_size=8)
    assert len(traces) == 1
    gd.sweep(fn, {"lr": jnp.linspace(0.1, 1.0, 9), "gamma": grid["gamma"]})
    assert len(traces) == 2  # new shapes: a new program
    np.testing.assert_allclose(second, _loop(fn, new), rtol=1e-6)
    assert not np.allclose(first, second)


def test_seed_axis_is_reproducible():
    def fn(key, scale):
        return scale * jax.random.normal(key, (3,))

    keys = gd.sweep_keys(0, 4)
    np.testing.assert_array_equal(
        jax.random.key_data(keys),
        jax.random.key_data(jax.random.split(jax.random.key(0), 4)),
    )
    np.testing.assert_array_equal(
        jax.random.key_data(gd.sweep_keys(jax.random.key(0), 4)),
        jax.random.key_data(keys),
    )
    grid = {"key": keys, "scale": jnp.array([1.0, 2.0])}
    out = gd.sweep(fn, grid, chunk_size=3)
    assert out.shape == (4, 2, 3)
    np.testing.assert_allclose(out, _loop(fn, grid), rtol=1e-6)
    np.testing.assert_array_equal(
        out, gd.sweep(fn, {"key": gd.sweep_keys(0, 4), "scale": grid["scale"]})
    )
    assert not np.allclose(out[0], out[1])  # different seeds, different draws
    other = gd.sweep(fn, {"key": gd.sweep_keys(1, 4), "scale": grid["scale"]})
    assert not np.allclose(out, other)


def test_diverging_configuration_leaves_a_flag_and_nan():
    fn = dirac_run("simultaneous", loss="wgan", num_steps=400, every=4)
    out = gd.sweep(fn, {"lr": np.array([0.1, 1e4]), "gamma": np.array([0.5])})
    assert out["outcome"][:, 0].tolist() == [outcomes.CONVERGED, outcomes.DIVERGED]
    assert out["diverged_step"][0, 0] == -1 and out["diverged_step"][1, 0] > 0
    assert not np.isfinite(out["distance"][1, 0])
    assert np.isfinite(out["distance"][0, 0])


def _f(lr, gamma=1.0):
    return lr * gamma


@pytest.mark.parametrize(
    "grid, match",
    [
        ({}, "grid: expected a non-empty dict"),
        ([1.0, 2.0], "grid: expected a dict"),
        ({"lr": np.ones((2, 2))}, r"grid\['lr'\]: expected a 1-D array"),
        ({"lr": 0.5}, r"grid\['lr'\]: expected a 1-D array"),
        ({"lr": []}, r"grid\['lr'\]: expected at least one value"),
        ({"lr": [1.0], "beta": [1.0]}, "key 'beta' is not an argument of fn"),
        ({"gamma": [1.0]}, r"fn's arguments \['lr'\] have no default"),
        ({"lr": ["a", "b"]}, r"grid\['lr'\]: expected numeric values"),
    ],
)
def test_bad_grid(grid, match):
    with pytest.raises(ValueError, match=match):
        gd.sweep(_f, grid)


def test_bad_settings():
    grid = {"lr": [1.0, 2.0]}
    with pytest.raises(ValueError, match="chunk_size"):
        gd.sweep(_f, grid, chunk_size=0)
    with pytest.raises(ValueError, match="devices"):
        gd.sweep(_f, grid, devices=[])
    with pytest.raises(ValueError, match="devices"):
        gd.sweep(_f, grid, devices=["cpu"])
    with pytest.raises(ValueError, match="num"):
        gd.sweep_keys(0, 0)
    with pytest.raises(ValueError, match="fn: returned PRNG keys"):
        gd.sweep(lambda seed: jax.random.key(seed), {"seed": [1, 2]})
    # fn taking **kwargs accepts any name.
    out = gd.sweep(lambda **kw: kw["x"] * 2, {"x": [1.0, 2.0]})
    np.testing.assert_array_equal(out, [2.0, 4.0])


def test_ragged_grid_is_refused():
    with pytest.raises(ValueError, match=r"grid\['a'\]: expected a 1-D array.*ragged"):
        gd.sweep(lambda a: a, {"a": [[1.0, 2.0], [3.0]]})

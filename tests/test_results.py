"""gd.save / gd.load: exact round trips of every result type, readable by NumPy."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn.experiments import dirac, dirac_sweep


def _assert_same(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        if hasattr(x, "dtype") and jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
            x, y = jax.random.key_data(x), jax.random.key_data(y)
        assert type(x) is type(y)
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
        assert np.asarray(x).dtype == np.asarray(y).dtype


def test_trajectory_round_trip(tmp_path):
    game = gd.games.dirac_gan(instance_noise=0.3)
    dyn = gd.dynamics.optimistic(game, optax.adam(0.1))
    traj = gd.simulate(
        dyn,
        game.init(None),
        40,
        every=4,
        metrics=("distance", "losses"),
        game=game,
        equilibrium=(0.0, 0.0),
    )
    path = gd.save(tmp_path / "traj", traj)
    assert path.endswith(".npz")
    back = gd.load(path)
    assert isinstance(back, gd.Trajectory)
    assert type(back.state) is type(traj.state)
    _assert_same(back, traj)


def test_files_are_plain_numpy_without_pickle(tmp_path):
    traj = gd.simulate(
        gd.dynamics.simultaneous(gd.games.dirac_gan(), optax.sgd(0.2)), (1.0, 1.0), 5
    )
    path = gd.save(tmp_path / "t.npz", traj)
    with np.load(path, allow_pickle=False) as data:
        header = json.loads(data["__gamedyn__"].item())
        assert header["format"] == "gamedyn-result" and header["version"] == 1
        assert header["tree"]["namedtuple"] == "gamedyn.simulation:Trajectory"
        theta = header["tree"]["fields"]["params"]["tuple"][0]["array"]
        np.testing.assert_array_equal(data[f"leaf_{theta:05d}"], traj.params[0])


def test_sweep_and_experiment_results_round_trip(tmp_path):
    out = gd.sweep(
        dirac_sweep.dirac_run("simultaneous", num_steps=20, every=2),
        {"lr": np.array([0.1, 0.5]), "gamma": np.array([0.0, 1.0, 2.0])},
    )
    _assert_same(gd.load(gd.save(tmp_path / "sweep", out)), out)
    config = dirac_sweep.Config(lr=(0.1, 0.5), gamma=(0.0, 1.0), steps=20, every=2)
    result = dirac_sweep.run(config)
    back = gd.load(gd.save(tmp_path / "phase", result))
    assert isinstance(back, dirac_sweep.Result) and back.agreement == result.agreement
    _assert_same(back, result)
    runs = dirac.run(dirac.Config(rules=("alternating",), variants=("r1",), steps=30))
    back = gd.load(gd.save(tmp_path / "study", runs))
    assert isinstance(back[0], dirac.RunResult) and back[0].settings == runs[0].settings
    _assert_same(back, runs)


def test_keys_nan_and_none(tmp_path):
    value = {"key": jax.random.key(3), "keys": gd.sweep_keys(0, 4), "x": float("nan")}
    value["none"] = None
    back = gd.load(gd.save(tmp_path / "k", value))
    assert back["none"] is None and np.isnan(back["x"])
    _assert_same(back["keys"], value["keys"])
    _assert_same(back["key"], value["key"])


def test_bad_values_and_files(tmp_path):
    with pytest.raises(TypeError, match="cannot save a function"):
        gd.save(tmp_path / "f", {"f": lambda x: x})
    np.savez(tmp_path / "plain.npz", a=np.ones(2))
    with pytest.raises(ValueError, match="is not a gamedyn result"):
        gd.load(tmp_path / "plain.npz")


def test_trajectory_repr_is_short():
    game = gd.games.bilinear(np.eye(100))
    traj = gd.simulate(
        gd.dynamics.simultaneous(game, optax.sgd(0.1)),
        game.init(jax.random.key(0)),
        200,
    )
    text = repr(traj)
    assert len(text) < 300
    assert "steps=0..200 (201 records)" in text and "diverged_step=-1" in text
    assert "f32[201,100]" in text

"""gd.plotting.animate: a GIF with the expected frames, clean errors."""

import jax
import numpy as np
import optax
import pytest
from PIL import Image

import gamedyn as gd


def _runs(steps=60):
    game = gd.games.dirac_gan()
    runs = {
        name: gd.simulate(rule(game, optax.sgd(0.2)), game.init(None), steps)
        for name, rule in (
            ("simultaneous", gd.dynamics.simultaneous),
            ("alternating", gd.dynamics.alternating),
        )
    }
    return game, runs


def test_gif_has_the_expected_number_of_frames(tmp_path):
    game, runs = _runs()
    field = gd.analysis.vector_field_grid(game, key=jax.random.key(0), num=12)
    path = gd.plotting.animate(runs, tmp_path / "a.gif", field=field, frames=15)
    with Image.open(path) as im:
        assert im.n_frames == 15
        assert im.size[0] > 200


def test_frames_capped_by_records_and_diverged_runs_draw(tmp_path):
    game = gd.games.bilinear(np.eye(1))
    traj = gd.simulate(
        gd.dynamics.simultaneous(game, optax.sgd(10.0)),
        (np.ones(1, np.float32), np.ones(1, np.float32)),
        60,
    )
    assert int(traj.diverged_step) > 0
    flat = traj._replace(params=tuple(p[:, 0] for p in traj.params))
    path = gd.plotting.animate(flat, tmp_path / "d.gif", frames=500)
    with Image.open(path) as im:
        assert im.n_frames == 61


def test_bad_inputs(tmp_path):
    game, runs = _runs(5)
    with pytest.raises(ValueError, match="path: expected a .gif or .mp4"):
        gd.plotting.animate(runs, tmp_path / "a.png")
    lean = gd.simulate(
        gd.dynamics.simultaneous(game, optax.sgd(0.2)),
        (1.0, 1.0),
        5,
        record_params=False,
    )
    with pytest.raises(ValueError, match="record_params=False"):
        gd.plotting.animate(lean, tmp_path / "a.gif")
    with pytest.raises(TypeError, match="expected gamedyn.Trajectory"):
        gd.plotting.animate([np.ones(3)], tmp_path / "a.gif")


def test_leaves_the_callers_backend_alone(tmp_path):
    # a notebook's inline backend must survive: figures after an animation still
    # show (the animation draws on a figure of its own, outside pyplot)
    import matplotlib
    import matplotlib.pyplot as plt

    before = matplotlib.get_backend()
    plt.switch_backend("svg")
    try:
        opened = plt.get_fignums()
        game, runs = _runs(10)
        gd.plotting.animate(runs, tmp_path / "a.gif", frames=3)
        assert matplotlib.get_backend() == "svg"
        assert plt.get_fignums() == opened
    finally:
        plt.switch_backend(before)

"""The ring of 8 and the grid of 25 with the papers' settings."""

import itertools

import jax
import numpy as np
import pytest

from gamedyn.data import embed, grid, ring
from gamedyn.data.mixtures import get


def test_ring_settings():
    mix = ring()
    c = np.asarray(mix.centers)
    assert c.shape == (8, 2) and mix.std == 0.02
    np.testing.assert_allclose(np.linalg.norm(c, axis=1), 2.0, rtol=1e-6)
    angles = np.sort(np.mod(np.arctan2(c[:, 1], c[:, 0]), 2 * np.pi))
    np.testing.assert_allclose(angles, 2 * np.pi * np.arange(8) / 8, atol=1e-6)


def test_grid_settings():
    mix = grid()
    c = {tuple(map(float, p)) for p in np.asarray(mix.centers)}
    expected = set(itertools.product([-4.0, -2.0, 0.0, 2.0, 4.0], repeat=2))
    assert c == expected and mix.std == 0.05


def test_samples_have_the_right_moments():
    mix = grid()
    x = np.asarray(mix.sample(jax.random.key(0), 20000))
    assert x.shape == (20000, 2)
    c = np.asarray(mix.centers)
    d = x[:, None] - c[None]
    nearest = np.argmin((d**2).sum(-1), axis=1)
    resid = x - c[nearest]
    np.testing.assert_allclose(resid.std(axis=0), 0.05, rtol=0.03)
    freq = np.bincount(nearest, minlength=25) / len(x)
    np.testing.assert_allclose(freq, 1 / 25, atol=0.01)


def test_pure_sampler():
    mix = ring()
    a = mix.sample(jax.random.key(3), 10)
    b = jax.jit(mix.sample, static_argnums=1)(jax.random.key(3), 10)
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


@pytest.mark.parametrize(
    "fn,kwargs,match",
    [
        (ring, {"std": 0.0}, "std"),
        (ring, {"radius": -1.0}, "radius"),
        (ring, {"num_modes": 0}, "num_modes"),
        (grid, {"size": 0}, "size"),
        (grid, {"std": -0.1}, "std"),
    ],
)
def test_bad_settings(fn, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fn(**kwargs)


def test_embedded_mixture_is_the_same_mixture_on_a_plane():
    base = grid()
    mix = embed(base, 50, seed=1)
    q = np.asarray(mix.basis)
    assert mix.dim == 50 and q.shape == (2, 50)
    np.testing.assert_allclose(q @ q.T, np.eye(2), atol=1e-5)  # orthonormal rows
    c, c0 = np.asarray(mix.centers), np.asarray(base.centers)
    # an isometry: the pairwise distances of the centres are those of the grid
    dist = np.linalg.norm(c[:, None] - c[None], axis=-1)
    dist0 = np.linalg.norm(c0[:, None] - c0[None], axis=-1)
    np.testing.assert_allclose(dist, dist0, atol=1e-4)
    np.testing.assert_allclose(np.asarray(mix.project(mix.centers)), c0, atol=1e-5)
    x = np.asarray(mix.sample(jax.random.key(0), 20000))
    # samples lie on the plane, and in it they are the 2-D grid's samples
    np.testing.assert_allclose(x - (x @ q.T) @ q, 0.0, atol=1e-4)
    xp = np.asarray(mix.project(x))
    nearest = np.argmin(((xp[:, None] - c0[None]) ** 2).sum(-1), axis=1)
    np.testing.assert_allclose((xp - c0[nearest]).std(axis=0), 0.05, rtol=0.03)
    planar = mix.planar()
    assert planar.basis is None
    np.testing.assert_allclose(np.asarray(planar.centers), c0, atol=1e-5)
    assert embed(base, 2) is base and get("ring", 2).basis is None
    assert get("ring", 7).dim == 7


@pytest.mark.parametrize("kwargs,match", [({"dim": 1}, "dim"), ({"dim": 3.5}, "dim")])
def test_embed_bad_input(kwargs, match):
    with pytest.raises(ValueError, match=match):
        embed(ring(), **kwargs)
    with pytest.raises(ValueError, match="already embedded"):
        embed(embed(ring(), 5), 8)

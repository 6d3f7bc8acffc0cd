"""PacGAN's mode metrics against hand-computed cases."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd
from gamedyn.metrics import coverage_from_counts, mode_counts, mode_coverage

CENTERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])


def test_hand_computed_case():
    std = 0.1  # high quality: within 0.3 of the nearest centre
    samples = np.array(
        [
            [0.05, 0.0],  # mode 0, good
            [0.0, 0.29],  # mode 0, good (0.29 < 0.3)
            [0.1, -0.2],  # mode 0, good (0.224)
            [1.0, 0.1],  # mode 1, good
            [0.5, 0.45],  # nearest mode 0 at 0.673: bad
            [0.0, 0.69],  # nearest mode 2 at 0.31: bad
        ]
    )
    out = mode_coverage(samples, CENTERS, std)
    assert out["modes"] == 2
    assert out["high_quality"] == pytest.approx(4 / 6)
    q = np.array([3 / 4, 1 / 4])
    assert out["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(q * 4))), 1e-6)
    assert isinstance(out["modes"], int)
    assert isinstance(out["high_quality"], float)
    assert np.asarray(mode_counts(samples, CENTERS, std)).tolist() == [3, 1, 0, 0]


def test_uniform_coverage_has_zero_reverse_kl():
    samples = np.repeat(CENTERS, 5, axis=0) + 0.01
    out = gd.metrics.mode_coverage(samples, CENTERS, 0.05)
    assert out == {"modes": 4, "high_quality": 1.0, "reverse_kl": pytest.approx(0.0)}


def test_one_mode_and_none():
    out = mode_coverage(np.zeros((7, 2)), CENTERS, 0.1)
    assert out["modes"] == 1 and out["high_quality"] == 1.0
    assert out["reverse_kl"] == pytest.approx(np.log(4))
    far = mode_coverage(np.full((3, 2), 10.0), CENTERS, 0.1)
    assert far == {
        "modes": 0,
        "high_quality": 0.0,
        "reverse_kl": pytest.approx(np.log(4)),
    }


def test_threshold_and_per_mode_std():
    samples = np.array([[0.25, 0.0], [1.0, 0.25]])
    assert mode_coverage(samples, CENTERS, 0.1)["modes"] == 2
    assert mode_coverage(samples, CENTERS, 0.1, threshold=2.0)["modes"] == 0
    # per-mode std: mode 1 tighter, so its sample is no longer high quality
    std = np.array([0.1, 0.05, 0.1, 0.1])
    assert mode_coverage(samples, CENTERS, std)["modes"] == 1


def test_matches_an_independent_loop():
    rng = np.random.default_rng(0)
    centers = rng.normal(size=(6, 3))
    samples = centers[rng.integers(0, 6, 300)] + 0.2 * rng.normal(size=(300, 3))
    std, thr = 0.1, 3.0
    counts = np.zeros(6, int)
    for x in samples:
        d = np.linalg.norm(centers - x, axis=1)
        if d.min() < thr * std:
            counts[d.argmin()] += 1
    q = counts[counts > 0] / counts.sum()
    out = mode_coverage(samples, centers, std, thr)
    assert out["modes"] == int((counts > 0).sum())
    assert out["high_quality"] == pytest.approx(counts.sum() / 300)
    assert out["reverse_kl"] == pytest.approx(float(np.sum(q * np.log(q * 6))), 1e-5)


def test_jit_and_vmap_over_seeds():
    batch = jnp.stack([jnp.zeros((5, 2)), jnp.ones((5, 2))])
    counts = jax.jit(jax.vmap(lambda x: mode_counts(x, CENTERS, 0.1)))(batch)
    out = coverage_from_counts(counts, 5)
    assert np.asarray(out["modes"]).tolist() == [1, 1]
    np.testing.assert_allclose(out["reverse_kl"], np.log(4) * np.ones(2), rtol=1e-6)


@pytest.mark.parametrize(
    "samples,centers,std,match",
    [
        (np.zeros((4, 3)), CENTERS, 0.1, "samples"),
        (np.zeros(4), CENTERS, 0.1, "samples"),
        (np.zeros((4, 2)), np.zeros(2), 0.1, "centers"),
        (np.zeros((4, 2)), CENTERS, 0.0, "std"),
        (np.zeros((4, 2)), CENTERS, -1.0, "std"),
        (np.zeros((4, 2)), CENTERS, np.ones(3), "std"),
    ],
)
def test_bad_input(samples, centers, std, match):
    with pytest.raises(ValueError, match=match):
        mode_coverage(samples, centers, std)


def test_bad_threshold():
    with pytest.raises(ValueError, match="threshold"):
        mode_coverage(np.zeros((4, 2)), CENTERS, 0.1, threshold=0.0)


def test_empty_inputs_and_bad_thresholds_are_named():
    with pytest.raises(ValueError, match=r"samples: expected at least one sample"):
        mode_coverage(np.zeros((0, 2)), CENTERS, 0.1)
    with pytest.raises(ValueError, match=r"centers: expected at least one mode"):
        mode_coverage(np.zeros((3, 2)), np.zeros((0, 2)), 0.1)
    with pytest.raises(ValueError, match=r"threshold: expected a finite number"):
        mode_coverage(np.zeros((3, 2)), CENTERS, 0.1, threshold=float("nan"))
    with pytest.raises(ValueError, match=r"num_samples: expected an integer >= 1"):
        coverage_from_counts(jnp.zeros(4, jnp.int32), 0)
    with pytest.raises(ValueError, match=r"counts: expected one count per mode"):
        coverage_from_counts(jnp.zeros((3, 0), jnp.int32), 5)


def test_non_finite_samples_are_never_high_quality():
    samples = np.array([[np.nan, 0.0], [np.inf, 1.0], [0.0, 0.0]])
    out = mode_coverage(samples, CENTERS, 0.1)
    assert out["modes"] == 1 and out["high_quality"] == pytest.approx(1 / 3)

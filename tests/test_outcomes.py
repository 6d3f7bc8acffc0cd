"""Tests of gamedyn.outcomes: classification and empirical rates, vectorised."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gamedyn import outcomes


def geometric(r, num=101, c=2.0):
    return c * np.asarray(r, float)[..., None] ** np.arange(num)


def test_codes_and_names_keep_their_order():
    assert outcomes.OUTCOMES == ("converged", "diverged", "cycles", "slow")
    assert (outcomes.CONVERGED, outcomes.DIVERGED, outcomes.CYCLES, outcomes.SLOW) == (
        0,
        1,
        2,
        3,
    )
    assert outcomes.outcome_names(jnp.array([[0, 3], [1, 2]])) == [
        ["converged", "slow"],
        ["diverged", "cycles"],
    ]


def test_classify_synthetic_runs():
    t = np.arange(200)
    runs = np.stack(
        [
            2.0 * 0.9**t,  # converged
            2.0 * 1.05**t,  # diverged
            2.0 + np.sin(0.3 * t),  # cycles: bounded, no trend
            2.0 * 0.995**t,  # slow: approaching, far from tol
            np.where(t < 50, 2.0, np.nan),  # NaN: diverged
        ]
    )
    codes = np.asarray(outcomes.classify_runs(runs, shrink=0.5))
    assert codes.tolist() == [
        outcomes.CONVERGED,
        outcomes.DIVERGED,
        outcomes.CYCLES,
        outcomes.SLOW,
        outcomes.DIVERGED,
    ]
    # Without ``shrink`` the classification has the original three outcomes.
    assert np.asarray(outcomes.classify_runs(runs)).tolist() == [0, 1, 2, 2, 1]


def test_classify_is_vectorised_and_jittable():
    r = np.array([[0.8, 1.1, 0.997], [1.0, 0.5, 1.3]])
    d = geometric(r, 300)
    codes = outcomes.classify_runs(d, shrink=0.5)
    assert codes.shape == (2, 3)
    assert np.asarray(codes).tolist() == [[0, 1, 3], [2, 0, 1]]
    jitted = jax.jit(lambda x: outcomes.classify_runs(x, shrink=0.5))(d)
    vmapped = jax.vmap(lambda x: outcomes.classify_runs(x, shrink=0.5))(d)
    np.testing.assert_array_equal(jitted, codes)
    np.testing.assert_array_equal(vmapped, codes)


@pytest.mark.parametrize("r", [0.5, 0.9, 0.999, 1.0, 1.02])
def test_rate_of_a_geometric_series_is_its_ratio(r, x64):
    assert float(outcomes.rate(geometric(r, 60))) == pytest.approx(r, rel=1e-10)


def test_rate_is_per_step_with_every(x64):
    d = geometric(0.9**5, 40)  # records every 5 steps of a 0.9-per-step decay
    assert float(outcomes.rate(d, every=5)) == pytest.approx(0.9, rel=1e-10)


def test_rate_ignores_oscillation_over_whole_periods(x64):
    t = np.arange(80)
    d = 0.95**t * (1.5 + np.cos(2 * np.pi * t / 8))
    # A bounded oscillation barely moves the least-squares slope.
    assert float(outcomes.rate(d, tail=0.5)) == pytest.approx(0.95, rel=5e-3)


def test_rate_skips_records_below_round_off(x64):
    d = geometric(0.5, 30)
    d[20:] = 0.0  # converged to exactly zero
    assert float(outcomes.rate(d, tail=0.2)) == pytest.approx(0.5, rel=1e-10)
    assert np.isnan(float(outcomes.rate(np.full(10, np.nan))))
    assert np.isnan(float(outcomes.rate(np.ones(1))))


def test_rate_vectorised_shape():
    d = geometric(np.array([[0.5, 0.9, 1.1]]), 20)
    np.testing.assert_allclose(outcomes.rate(d), [[0.5, 0.9, 1.1]], rtol=1e-4)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"tail": 1.5}, "tail"),
        ({"tail": -0.1}, "tail"),
        ({"shrink": 1.0}, "shrink"),
        ({"shrink": 0.0}, "shrink"),
    ],
)
def test_classify_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        outcomes.classify_runs(np.ones(10), **kwargs)


def test_rate_bad_every():
    with pytest.raises(ValueError, match="every"):
        outcomes.rate(np.ones(10), every=0)

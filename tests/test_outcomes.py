"""Tests of gamedyn.outcomes: classification and empirical rates, vectorised."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import outcomes


def geometric(r, num=101, c=2.0):
    return c * np.asarray(r, float)[..., None] ** np.arange(num)


def test_codes_and_names_keep_their_order():
    # New outcomes go at the end: the codes of the old ones keep their meaning.
    assert outcomes.OUTCOMES == (
        "converged",
        "diverged",
        "cycles",
        "slow",
        "outside basin",
    )
    assert (
        outcomes.CONVERGED,
        outcomes.DIVERGED,
        outcomes.CYCLES,
        outcomes.SLOW,
        outcomes.OUTSIDE_BASIN,
    ) == (0, 1, 2, 3, 4)
    assert outcomes.outcome_names(jnp.array([[0, 3], [1, 4]])) == [
        ["converged", "slow"],
        ["diverged", "outside basin"],
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


def test_rate_ignores_records_at_the_round_off_floor(x64):
    # A run that reaches its round-off floor relative to the start (here 1e-16 d0,
    # as CGD's GMRES leaves it) only jitters there: the fit stops before it.
    t = np.arange(160)
    rng = np.random.default_rng(0)
    d = np.maximum(2.0 * 0.7**t, 2e-16 * (1 + rng.random(t.size)))  # from t ~ 103
    assert float(outcomes.rate(d)) == pytest.approx(0.7, rel=1e-9)
    assert float(outcomes.rate(d, floor=0.0)) > 0.9  # the plateau pulls it to 1
    # float32: the floor is 1000 eps ~ 1.2e-4 of the start.
    d32 = (2.0 * 0.8 ** np.arange(120)).astype(np.float32)
    d32[60:] = 3e-7
    assert float(outcomes.rate(d32)) == pytest.approx(0.8, rel=1e-4)


def test_rate_of_cgd_matches_the_spectral_radius(x64):

    game = gd.games.bilinear(np.eye(1))
    eq = (jnp.zeros(1), jnp.zeros(1))
    dyn = gd.dynamics.cgd(game, optax.sgd(2.0), 2.0)  # rho = 1/sqrt(1 + 4)
    traj = gd.simulate(
        dyn, game.init(jax.random.key(0)), 200, metrics=("distance",), equilibrium=eq
    )
    d = traj.metrics["distance"]
    assert float(d[-1]) > 0  # stalled at round-off, not at zero
    assert float(outcomes.rate(d)) == pytest.approx(1 / np.sqrt(5), rel=1e-9)


@pytest.mark.parametrize("r", [0.5, 0.9, 0.99])
@pytest.mark.parametrize("every", [1, 5])
def test_rate_of_a_double_eigenvalue(x64, r, every):
    # A Jordan block: distance ~ C (t + 1) r^t, whose plain log-linear fit says
    # about r exp(1 / t) (0.9061 for r = 0.9 over 200 records).
    steps = np.arange(0, 400, every)
    d = 3.0 * (steps + 1) * r**steps
    assert float(outcomes.rate(d, every=every)) == pytest.approx(r, rel=1e-6)
    # Triple eigenvalue: t^2 r^t.
    d = 3.0 * (steps + 1) ** 2 * r**steps
    assert float(outcomes.rate(d, every=every)) == pytest.approx(r, rel=1e-6)


def test_rate_of_optimistic_gd_at_a_double_root(x64):

    # OGDA with h = 1/2 on x * y: the multipliers are a double root (1 - i) / 2.
    game = gd.games.zero_sum(lambda x, y: x * y, (1.0, 1.0))
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    dyn = gd.dynamics.optimistic(game, optax.sgd(0.5))
    traj = gd.simulate(dyn, game.init(None), 80, metrics=("distance",), equilibrium=eq)
    got = float(outcomes.rate(traj.metrics["distance"]))
    assert got == pytest.approx(np.sqrt(0.5), rel=1e-6)
    assert got == pytest.approx(gd.analysis.spectral_radius(dyn, eq), rel=1e-6)


def test_the_log_t_term_is_not_fitted_to_oscillations(x64):
    # Rotations modulate the distance; the double-eigenvalue term must not chase
    # them (the plain fit is kept).
    for period, num in [(7.3, 100), (13, 100), (31, 300), (300, 100)]:
        t = np.arange(num)
        d = 0.99**t * np.sqrt(
            np.cos(2 * np.pi * t / period) ** 2
            + 0.1 * np.sin(2 * np.pi * t / period) ** 2
        )
        plain = np.exp(np.polyfit(t[num // 2 :], np.log(d[num // 2 :]), 1)[0])
        assert float(outcomes.rate(d)) == pytest.approx(plain, rel=1e-9)


def _series(rule, optimizer, steps=500, every=5, gamma=0.3):

    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(gamma))
    dyn = gd.dynamics.get(rule)(game, optimizer)
    traj = gd.simulate(
        dyn,
        game.init(None),
        steps,
        every=every,
        metrics=("distance",),
        equilibrium=(0.0, 0.0),
    )
    return traj.metrics["distance"]


def test_slow_is_not_drawn_on_adam_sweeps_over_beta1():
    # Adam near the Dirac-GAN's equilibrium collapses to round-off and bursts back
    # (lr 0.05), or wanders at the scale of its step (lr 0.2): never a steady
    # approach. The fitted rate of such a tail is noise, and used to make "slow"
    # stripes across beta1.

    grid = {"lr": np.array([0.05, 0.2]), "b1": np.linspace(0.0, 0.95, 20)}
    for rule in ("simultaneous", "alternating"):

        def fn(lr, b1, rule=rule):
            d = _series(rule, optax.adam(lr, b1=b1), steps=1000)
            return outcomes.classify_runs(d, shrink=0.5)

        codes = gd.sweep(fn, grid)
        assert outcomes.SLOW not in codes, (rule, codes)


@pytest.mark.parametrize(
    "rule, optimizer, want",
    [
        # heavy ball, slowly converging (rate ~ 0.993 per step, d_end / d0 ~ 0.03)
        ("simultaneous", ("sgd", 0.02, 0.6), outcomes.SLOW),
        ("alternating", ("sgd", 0.05, -0.3), outcomes.SLOW),
        # fast enough to converge within the run
        ("simultaneous", ("sgd", 0.1, 0.3), outcomes.CONVERGED),
        # momentum 0.9 at lr 0.05: rate ~ 1.0006, no approach
        ("simultaneous", ("sgd", 0.05, 0.9), outcomes.CYCLES),
        # plain SGD, slow (extragradient on R1 0.05, rate ~ 0.998)
        ("extragradient", ("sgd", 0.05, 0.0), outcomes.SLOW),
    ],
)
def test_slow_on_momentum_and_sgd_runs(rule, optimizer, want):

    _, lr, beta = optimizer
    gamma = 0.05 if rule == "extragradient" else 0.3
    d = _series(rule, optax.sgd(lr, momentum=beta), gamma=gamma)
    assert int(outcomes.classify_runs(d, shrink=0.5)) == want


def test_slow_requires_a_steady_approach():
    t = np.arange(200)
    steady = 2.0 * 0.995**t
    jumpy = steady * np.exp(3.0 * np.sin(0.7 * t))  # same trend, large jumps
    codes = outcomes.classify_runs(np.stack([steady, jumpy]), shrink=0.5)
    assert np.asarray(codes).tolist() == [outcomes.SLOW, outcomes.CYCLES]
    # A run that reached its round-off floor and came back is not approaching.
    back = steady.copy()
    back[100:110] = 0.0
    assert int(outcomes.classify_runs(back, shrink=0.5)) == outcomes.CYCLES


def test_outside_basin():
    codes = np.array([[0, 1], [1, 2]])
    stable = np.array([[True, True], [False, True]])
    out = outcomes.outside_basin(codes, stable)
    assert isinstance(out, np.ndarray)
    assert out.tolist() == [[0, outcomes.OUTSIDE_BASIN], [1, 2]]
    jitted = jax.jit(outcomes.outside_basin)(jnp.asarray(codes), jnp.asarray(stable))
    np.testing.assert_array_equal(jitted, out)
    with pytest.raises(ValueError, match="stable: expected the shape"):
        outcomes.outside_basin(codes, stable[0])


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


def test_rate_bad_every_and_floor():
    with pytest.raises(ValueError, match="every"):
        outcomes.rate(np.ones(10), every=0)
    with pytest.raises(ValueError, match="floor"):
        outcomes.rate(np.ones(10), floor=1.0)
    with pytest.raises(TypeError, match="floor"):
        outcomes.classify_runs(np.ones(10), floor="tiny")


@pytest.mark.parametrize(
    "distance,match",
    [
        ([], "distance: expected at least one record per run"),
        (np.zeros((3, 0)), "distance: expected at least one record per run"),
        ([[1.0, 0.5], [1.0]], "distance: expected a .* got a ragged sequence"),
    ],
)
def test_empty_and_ragged_runs_are_refused(distance, match):
    with pytest.raises(ValueError, match=match):
        outcomes.classify_runs(distance)
    with pytest.raises(ValueError, match=match):
        outcomes.rate(distance)

"""Matrix-free spectra against the dense routines."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import gamedyn as gd
from gamedyn import analysis
from gamedyn.analysis.spectrum import select

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_analysis_spectrum")


def quadratic_game(m=9, n=7, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(m, n))
    p, q = rng.normal(size=(m, m)), rng.normal(size=(n, n))
    return gd.games.quadratic(a, p @ p.T / m, 0.3 * q @ q.T / n)


def mlp(params, x):
    for w, b in params[:-1]:
        x = jnp.tanh(x @ w + b)
    w, b = params[-1]
    return x @ w + b


def init_mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        (jax.random.normal(k, (i, o)) / np.sqrt(i), 0.1 * jax.random.normal(k, (o,)))
        for k, i, o in zip(keys, sizes[:-1], sizes[1:])
    ]


def mlp_gan(hidden=6):
    def init(key):
        kg, kd = jax.random.split(key)
        return init_mlp(kg, [2, hidden, 2]), init_mlp(kd, [2, hidden, 1])

    return gd.games.gan(
        init,
        generator=mlp,
        discriminator=lambda p, x: mlp(p, x)[:, 0],
        sample_data=lambda k, n: 0.5 * jax.random.normal(k, (n, 2)) + 1.0,
        sample_noise=lambda k, n: jax.random.normal(k, (n, 2)),
        regularizer=gd.regularizers.r1(1.0),
        batch_size=16,
    )


def assert_ends_match(got, dense, k, which, atol):
    score = {
        "LM": np.abs,
        "LR": np.real,
        "SR": np.real,
        "LI": lambda x: np.abs(x.imag),
        "SI": lambda x: np.abs(x.imag),
    }[which]
    want = select(dense, k, which)
    assert got.shape == (k,)
    np.testing.assert_allclose(np.sort(score(got)), np.sort(score(want)), atol=atol)
    for g in got:  # each is a true eigenvalue
        assert np.min(np.abs(dense - g)) < atol


@pytest.mark.parametrize("which", ["LM", "LR", "SR", "LI", "SI"])
def test_top_eigenvalues_quadratic(x64, which):
    game = quadratic_game()
    params = game.init(jax.random.key(0))
    dense = analysis.eigenvalues(game, params)
    got = analysis.top_eigenvalues(game, params, 4, which=which)
    assert_ends_match(got, dense, 4, which, 1e-8)


@pytest.fixture(scope="module")
def gan_setup():
    with jax.enable_x64(True):
        game = mlp_gan()
        params = jax.tree.map(
            lambda x: x.astype(jnp.float64), game.init(jax.random.key(1))
        )
        key = jax.random.key(5)
        dense = analysis.eigenvalues(game, params, key=key)
        blocks = analysis.hessian_blocks(game, params, key=key)
    return game, params, key, dense, blocks


SLOW = pytest.mark.slow


@pytest.mark.parametrize(
    "which",
    ["LM", "LI", pytest.param("SR", marks=SLOW), pytest.param("LR", marks=SLOW)],
)
def test_top_eigenvalues_mlp_gan(x64, gan_setup, which):
    game, params, key, dense, _ = gan_setup
    assert dense.size == (2 * 6 + 6 + 6 * 2 + 2) + (2 * 6 + 6 + 6 + 1)  # 57
    got = analysis.top_eigenvalues(game, params, 6, key=key, which=which)
    assert_ends_match(got, dense, 6, which, 1e-7)


def test_top_eigenvalues_dirac_and_k_equal_n_minus_1(x64):
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    p = (jnp.asarray(0.0), jnp.asarray(0.0))
    got = analysis.top_eigenvalues(game, p, 1, which="LI")
    assert got[0] == pytest.approx(0.15 + 0.5j * np.sqrt(1 - 0.09), abs=1e-12)


def _hidden_rotation_game(n: int = 150):
    """J = [[D, B], [-B^T, D]]: real eigenvalues 10..1000 twice and one pair
    1 +- 5i inside the spectrum (coupling 5 between x_0 and y_0, D_00 = 1)."""
    d = jnp.linspace(10.0, 1000.0, n).at[0].set(1.0)

    def losses(p, key=None):
        x, y = p
        coupling = 5.0 * x[0] * y[0]
        return 0.5 * jnp.sum(d * x**2) + coupling, 0.5 * jnp.sum(d * y**2) - coupling

    return gd.Game(init=None, losses=losses), (jnp.zeros(n), jnp.zeros(n))


def test_li_that_misses_the_rotation_warns(x64):
    game, p = _hidden_rotation_game()
    dense = np.linalg.eigvals(np.asarray(analysis.jacobian(game, p)))
    assert np.max(np.abs(dense.imag)) == pytest.approx(5.0)
    # k = 2 finds the pair (no warning: filterwarnings is "error")...
    got = analysis.top_eigenvalues(game, p, 2, which="LI")
    np.testing.assert_allclose(np.sort_complex(got), [1 - 5j, 1 + 5j], atol=1e-9)
    # ... k = 10 converges to ten real ones: that answer is flagged, not trusted.
    with pytest.warns(analysis.SpectrumWarning, match="probably missed"):
        got = analysis.top_eigenvalues(game, p, 10, which="LI")
    assert not np.any(got.imag)


def test_li_of_a_symmetric_jacobian_is_real_without_warning(x64):
    # A potential game (both players minimize one function): J is symmetric and
    # real-spectrum answers are right.
    d = jnp.linspace(1.0, 50.0, 40)

    def f(p):
        return 0.5 * jnp.sum(d * p[0] ** 2) + 0.5 * jnp.sum(d * p[1] ** 2)

    game = gd.Game(init=None, losses=lambda p, key=None: (f(p), f(p)))
    got = analysis.top_eigenvalues(game, (jnp.ones(40), jnp.ones(40)), 4, which="LI")
    assert not np.any(got.imag)


def test_top_eigenvalues_float32():
    game = quadratic_game()
    params = game.init(jax.random.key(0))
    assert params[0].dtype == jnp.float32
    dense = np.linalg.eigvals(np.asarray(analysis.jacobian(game, params), np.float64))
    got = analysis.top_eigenvalues(game, params, 3)
    assert_ends_match(got, dense, 3, "LM", 1e-4)


@pytest.mark.parametrize(
    "which, player",
    [
        ("SA", 1),
        ("LA", 0),
        pytest.param("LM", 0, marks=SLOW),
        pytest.param("LM", 1, marks=SLOW),
        pytest.param("SA", 0, marks=SLOW),
    ],
)
def test_top_hessian_eigenvalues(x64, gan_setup, which, player):
    game, params, key, _, blocks = gan_setup
    dense = np.linalg.eigvalsh(np.asarray(blocks[player]))
    got = analysis.top_hessian_eigenvalues(
        game, params, 3, player, key=key, which=which
    )
    np.testing.assert_allclose(
        np.sort(got), np.sort(select(dense, 3, which)), atol=1e-8
    )


def test_operators_match_dense(x64):
    game = quadratic_game()
    params = game.init(jax.random.key(0))
    j = np.asarray(analysis.jacobian(game, params))
    op = analysis.jacobian_operator(game, params)
    v = np.random.default_rng(0).normal(size=j.shape[0])
    np.testing.assert_allclose(op.matvec(v), j @ v, atol=1e-12)
    np.testing.assert_allclose(op.rmatvec(v), j.T @ v, atol=1e-12)
    h = analysis.hessian_operator(game, params, 1)
    np.testing.assert_allclose(h.matvec(v[9:]), j[9:, 9:] @ v[9:], atol=1e-12)


def test_bad_arguments():
    game = quadratic_game(3, 2)
    params = game.init(jax.random.key(0))
    with pytest.raises(
        ValueError,
        match="k: expected fewer eigenvalues than the dimension n=5, got k=5",
    ):
        analysis.top_eigenvalues(game, params, 5)
    with pytest.raises(ValueError, match="k: expected a positive integer"):
        analysis.top_eigenvalues(game, params, 0)
    with pytest.raises(ValueError, match="which: expected one of"):
        analysis.top_eigenvalues(game, params, 2, which="XX")
    with pytest.raises(ValueError, match="player: expected an index in"):
        analysis.top_hessian_eigenvalues(game, params, 1, 2)
    with pytest.raises(
        ValueError, match="k: expected fewer eigenvalues than the dimension n=2"
    ):
        analysis.top_hessian_eigenvalues(game, params, 2, 1)
    with pytest.raises(TypeError, match="params: expected floating-point leaves"):
        analysis.top_eigenvalues(game, (jnp.zeros(3, int), jnp.zeros(2)), 1)


def test_nan_params_are_refused_with_a_clear_error():
    game = gd.games.bilinear(np.eye(3))
    bad = (jnp.array([1.0, jnp.nan, 0.0]), jnp.zeros(3))
    with pytest.raises(ValueError, match=r"params: expected finite params.*diverged"):
        analysis.top_eigenvalues(game, bad, 2)
    with pytest.raises(ValueError, match="params: expected finite params"):
        analysis.eigenvalues(game, bad)

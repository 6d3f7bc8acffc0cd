"""Classification, fixed points, stability regions and path-angle: closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import analysis


def scalar_quadratic(p, q, a):
    """Zero-sum game on scalars x, y: f = p/2 x^2 + a x y - q/2 y^2; J = [[p, a],
    [-a, q]]."""
    return gd.games.quadratic([[a]], [[p]], [[q]])


def zero():
    return (jnp.zeros(1), jnp.zeros(1))


def test_classify_differential_nash(x64):
    c = analysis.classify(scalar_quadratic(1.0, 2.0, 0.1), zero())
    assert c.kind == "differential Nash, stable"
    assert c.stationary and c.differential_nash and c.local_nash and c.stable
    assert not c.strict_saddle and not c.rotational
    assert c.hessian_min_eigenvalues == pytest.approx((1.0, 2.0), abs=1e-12)
    lam = np.roots([1, -3.0, 2.0 + 0.01])  # trace 3, det pq + a^2
    assert c.min_real == pytest.approx(lam.real.min(), abs=1e-12)


def test_classify_stable_not_nash(x64):
    # x's own curvature is negative, yet the eigenvalues (0.5 +- sqrt(0.25 - 14)) / 2
    # have positive real parts: stable, not Nash, rotational.
    c = analysis.classify(scalar_quadratic(-0.5, 1.0, 2.0), zero())
    assert c.kind == "stable, not Nash, rotational"
    assert c.stable and not c.local_nash and c.rotational
    assert c.min_real == pytest.approx(0.25, abs=1e-12)
    assert c.max_imag_ratio == pytest.approx(np.sqrt(13.75) / 2 / 0.25, rel=1e-12)
    assert c.hessian_min_eigenvalues == pytest.approx((-0.5, 1.0), abs=1e-12)


def test_classify_strict_saddle_and_not_stationary(x64):
    game = scalar_quadratic(-1.0, 1.0, 0.1)
    c = analysis.classify(game, zero())
    assert c.kind == "strict saddle" and c.strict_saddle and not c.stable
    assert c.min_real == pytest.approx(-np.sqrt(1 - 0.01), abs=1e-12)
    c = analysis.classify(game, (jnp.ones(1), jnp.ones(1)))
    assert c.kind == "not stationary" and not c.stationary and not c.stable
    assert c.grad_norm == pytest.approx(np.hypot(-1 + 0.1, -0.1 + 1), abs=1e-12)


def test_classify_names_nash_points_that_gradient_play_avoids(x64):
    # General-sum: L_1 = x^2/2 + 2xy, L_2 = y^2/2 + 2xy. Own Hessians 1 > 0 (a
    # differential Nash equilibrium), J = [[1, 2], [2, 1]] with eigenvalues 3 and
    # -1: gradient play is repelled (Mazumdar, Ratliff, Sastry 2020).
    def losses(params, key=None):
        x, y = params
        return 0.5 * x**2 + 2 * x * y, 0.5 * y**2 + 2 * x * y

    game = gd.Game(init=None, losses=losses)
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    c = analysis.classify(game, eq)
    assert c.kind == "differential Nash, unstable"
    assert c.differential_nash and c.strict_saddle and c.unstable_nash
    assert not c.stable
    assert c.min_real == pytest.approx(-1.0, abs=1e-12)
    assert c.hessian_min_eigenvalues == pytest.approx((1.0, 1.0), abs=1e-12)
    # Simultaneous GD from near it moves away along the eigenvector (1, -1).
    dyn = gd.dynamics.simultaneous(game, optax.sgd(0.1))
    rho = analysis.spectral_radius(dyn, eq)
    assert rho == pytest.approx(1.1, abs=1e-12)  # |1 - 0.1 * (-1)|

    # A local (not differential) Nash point that is unstable: own Hessians 0 and 1.
    def semidefinite(params, key=None):
        x, y = params
        return 2 * x * y, 0.5 * y**2 + 2 * x * y

    c = analysis.classify(gd.Game(init=None, losses=semidefinite), eq)
    assert c.kind == "local Nash, unstable" and c.unstable_nash
    # A strict saddle that is not Nash keeps its name.
    c = analysis.classify(scalar_quadratic(-1.0, 1.0, 0.1), zero())
    assert c.kind == "strict saddle" and not c.unstable_nash


def test_classify_bilinear_and_dirac(x64):
    c = analysis.classify(gd.games.bilinear(np.eye(2)), (jnp.zeros(2), jnp.zeros(2)))
    assert c.kind == "marginal, rotational"
    assert c.local_nash and not c.differential_nash and c.max_imag_ratio == np.inf
    zero = (jnp.asarray(0.0), jnp.asarray(0.0))
    c = analysis.classify(gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3)), zero)
    # Generator Hessian f''(0) psi^2 = 0, discriminator's gamma: Nash but not strict.
    assert c.kind == "local Nash, stable, rotational"
    assert c.hessian_min_eigenvalues == pytest.approx((0.0, 0.3), abs=1e-12)
    assert c.min_real == pytest.approx(0.15, abs=1e-12)


# ---------------------------------------------------- flow and step verdicts (classify)

OLD_FIELDS = (
    "kind",
    "stationary",
    "grad_norm",
    "eigenvalues",
    "min_real",
    "max_imag_ratio",
    "hessian_min_eigenvalues",
    "local_nash",
    "differential_nash",
    "stable",
    "strict_saddle",
    "rotational",
    "unstable_nash",
)


def assert_flow_agrees(game, params, c, **kw):
    """classify's flow verdict is flow_stability's (its own Jacobian, jacfwd)."""
    s = analysis.flow_stability(game, params, **kw)
    assert c.flow_verdict == s.verdict
    np.testing.assert_allclose(c.flow_real_parts, s.real_parts, atol=1e-12)


def test_classify_dirac_gan_flow_marginal_steps_differ(x64):
    # No regularizer: J = [[0, 1/2], [-1/2, 0]], lambda = +-i/2: a centre of the flow.
    game, h = gd.games.dirac_gan(), 0.2
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    c = analysis.classify(game, eq)
    assert c._fields[:13] == OLD_FIELDS  # new fields come after the old ones
    assert c.kind == "marginal, rotational" and c.flow_verdict == "marginal"
    np.testing.assert_allclose(c.flow_real_parts, [0.0, 0.0], atol=1e-15)
    assert c.step_rule is c.step_size is c.step_radius is c.step_verdict is None
    assert_flow_agrees(game, eq, c)
    z = 0.5j * h  # h lambda
    expected = {  # rule: (radius, verdict)
        "simultaneous": (abs(1 - z), "unstable"),  # sqrt(1 + h^2/4)
        "alternating": (1.0, "marginal"),  # det = 1, complex pair: |mu| = 1
        "extragradient": (abs(1 - z + z * z), "stable"),
    }
    for rule, (radius, verdict) in expected.items():
        c = analysis.classify(game, eq, rule=rule, step_size=h)
        assert (c.step_rule, c.step_size) == (rule, h)
        assert c.step_radius == pytest.approx(radius, abs=1e-12)
        assert c.step_verdict == verdict and c.flow_verdict == "marginal"
        dyn = gd.dynamics.get(rule)(game, optax.sgd(h))  # the core rule's radius
        assert analysis.spectral_radius(dyn, eq) == pytest.approx(radius, abs=1e-12)


def test_classify_r1_flow_stable_large_step_unstable(x64):
    # R1 gamma = 0.3: lambda = (0.3 +- i sqrt(0.91)) / 2, Re = 0.15 > 0. SimGD is
    # stable iff h < 2 Re lambda / |lambda|^2 = 4 gamma = 1.2.
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    lam = (0.3 + 1j * np.sqrt(0.91)) / 2
    for h, verdict in ((1.0, "stable"), (2.0, "unstable")):
        c = analysis.classify(game, eq, step_size=h)
        assert c.flow_verdict == "stable" and c.stable
        np.testing.assert_allclose(c.flow_real_parts, [0.15, 0.15], atol=1e-12)
        assert c.step_radius == pytest.approx(abs(1 - h * lam), abs=1e-12)
        assert c.step_verdict == verdict
    assert_flow_agrees(game, eq, c)
    # consensus (gamma) and heavy ball (beta) reach linear_step's parameters
    c = analysis.classify(game, eq, rule="consensus", step_size=0.5, gamma=0.5)
    j = np.array([[0.0, 0.5], [-0.5, 0.3]])
    mu = np.linalg.eigvals(np.eye(2) - 0.5 * (j + 0.5 * j.T @ j))
    assert c.step_radius == pytest.approx(np.max(np.abs(mu)), abs=1e-12)
    c = analysis.classify(game, eq, rule="momentum", step_size=0.5, momentum=-0.3)
    mu = analysis.multipliers(0.5 * lam, "momentum", momentum=-0.3)
    assert c.step_radius == pytest.approx(np.max(np.abs(mu)), abs=1e-12)


def test_classify_bilinear_and_unstable_flow(x64):
    # x^T diag(1, 0.5) y: lambda = +-i, +-0.5i. Extragradient stable iff h < 1.
    sigmas = np.array([1.0, 0.5])
    game = gd.games.bilinear(np.diag(sigmas))
    zero2 = (jnp.zeros(2), jnp.zeros(2))
    for h, verdict in ((0.5, "stable"), (1.5, "unstable")):
        c = analysis.classify(game, zero2, rule="extragradient", step_size=h)
        assert c.flow_verdict == "marginal"
        np.testing.assert_allclose(c.flow_real_parts, np.zeros(4), atol=1e-15)
        z = 1j * h * sigmas
        radius = np.max(np.abs(1 - z + z * z))  # 0.970 (sigma 0.5), 1.95 (sigma 1)
        assert c.step_radius == pytest.approx(radius, abs=1e-12)
        assert c.step_verdict == verdict
    c = analysis.classify(game, zero2, step_size=0.1)
    assert c.step_radius == pytest.approx(np.sqrt(1.01), abs=1e-12)
    assert c.step_verdict == "unstable"

    # L_1 = x^2/2 + 2xy, L_2 = y^2/2 + 2xy: lambda = 3, -1, the flow leaves.
    def losses(params, key=None):
        x, y = params
        return 0.5 * x**2 + 2 * x * y, 0.5 * y**2 + 2 * x * y

    general = gd.Game(init=None, losses=losses)
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    c = analysis.classify(general, eq, step_size=0.1)
    assert c.flow_verdict == "unstable" and c.strict_saddle
    np.testing.assert_allclose(c.flow_real_parts, [-1.0, 3.0], atol=1e-12)
    assert c.step_radius == pytest.approx(1.1, abs=1e-12)  # |1 - 0.1 (-1)|
    assert c.step_verdict == "unstable"
    assert_flow_agrees(general, eq, c)


def test_classify_flow_tolerance_and_errors(x64):
    # J = [[e, 1], [-1, e]]: lambda = e +- i. |Re| below the default tolerance
    # sqrt(eps) * max(1, |lambda|) ~ 2e-8 is marginal; a finer eig_tol decides.
    for e, fine in ((1e-12, "stable"), (-1e-12, "unstable")):
        game = scalar_quadratic(e, e, 1.0)
        c = analysis.classify(game, zero())
        assert c.flow_verdict == "marginal"
        assert_flow_agrees(game, zero(), c)
        c = analysis.classify(game, zero(), eig_tol=1e-14)
        assert c.flow_verdict == fine
        assert_flow_agrees(game, zero(), c, eig_tol=1e-14)
    c = analysis.classify(scalar_quadratic(1.0, 1.0, 0.0), (jnp.ones(1), jnp.ones(1)))
    assert c.flow_verdict == "not stationary"
    np.testing.assert_allclose(c.flow_real_parts, [1.0, 1.0], atol=1e-12)
    c = analysis.classify(
        scalar_quadratic(1.0, 1.0, 0.0), (jnp.ones(1), jnp.ones(1)), step_size=0.5
    )
    assert c.step_verdict == "not stationary" and c.step_radius == pytest.approx(0.5)
    game = scalar_quadratic(1.0, 1.0, 0.0)
    with pytest.raises(ValueError, match=r"step_size: expected a finite number in \(0"):
        analysis.classify(game, zero(), step_size=0.0)
    with pytest.raises(TypeError, match="step_size: expected a number, got str"):
        analysis.classify(game, zero(), step_size="0.1")
    with pytest.raises(ValueError, match="step_size: expected one positive number"):
        analysis.classify(game, zero(), step_size=[0.1, 0.2])
    c = analysis.classify(game, zero(), step_size=jnp.asarray(0.5))  # 0-d array
    assert c.step_size == 0.5 and c.step_radius == pytest.approx(0.5, abs=1e-12)
    with pytest.raises(ValueError, match="rule: expected one of"):
        analysis.classify(game, zero(), rule="sga", step_size=0.1)


def test_stability_map_dirac_r1_closed_form(x64):
    gammas, hs = np.array([0.0, 0.25, 0.5]), np.array([0.5, 1.5, 2.5])
    m = analysis.stability_map(
        lambda g: gd.games.dirac_gan(regularizer=gd.regularizers.r1(g)),
        (jnp.asarray(0.0), jnp.asarray(0.0)),
        "simultaneous",
        hs,
        gammas,
        name="gamma",
    )
    assert (m.rule, m.name) == ("simultaneous", "gamma")
    lam = (gammas + 1j * np.sqrt(1 - gammas**2)) / 2  # gamma < 1
    np.testing.assert_allclose(
        m.radius, np.abs(1 - hs[None, :] * lam[:, None]), atol=1e-12
    )
    np.testing.assert_array_equal(m.radius < 1, hs[None, :] < 4 * gammas[:, None])
    np.testing.assert_allclose(m.flow_min_real, gammas / 2, atol=1e-12)
    assert list(m.flow_verdict) == ["marginal", "stable", "stable"]
    with pytest.raises(ValueError, match="step_sizes: expected a non-empty 1-D"):
        analysis.stability_map(gd.games.bilinear, zero(), "simultaneous", [0.0], [1])
    with pytest.raises(ValueError, match="values: expected a non-empty 1-D"):
        analysis.stability_map(
            lambda v: scalar_quadratic(v, v, 1.0), zero(), "simultaneous", [1], []
        )
    with pytest.raises(TypeError, match="make_game: expected it to return a Game"):
        analysis.stability_map(lambda v: v, zero(), "simultaneous", [1.0], [1.0])


def shifted_quadratic(c, d):
    """f(x, y) = 1/2 |x-c|^2 + (x-c).(y-d) - 1/2 |y-d|^2 + 1/3 (x_0 - c_0)^3: one
    stationary point (c, d) near the start."""
    c, d = jnp.asarray(c), jnp.asarray(d)

    def losses(params, key=None):
        x, y = params
        u, v = x - c, y - d
        f = 0.5 * u @ u + u @ v - 0.5 * v @ v + u[0] ** 3 / 3
        return f, -f

    return gd.Game(init=None, losses=losses)


@pytest.mark.parametrize("method", ["newton", "hamiltonian"])
def test_find_fixed_point(x64, method):
    game = shifted_quadratic([1.0, -2.0], [0.5, 3.0])
    start = (jnp.array([1.3, -1.7]), jnp.array([0.1, 3.4]))
    fp = analysis.find_fixed_point(game, start, method=method, maxiter=200)
    assert fp.converged and fp.grad_norm < 1e-8
    np.testing.assert_allclose(fp.params[0], [1.0, -2.0], atol=1e-7)
    np.testing.assert_allclose(fp.params[1], [0.5, 3.0], atol=1e-7)


def test_find_fixed_point_dirac_newton(x64):
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(1.0))
    fp = analysis.find_fixed_point(game, (jnp.asarray(0.4), jnp.asarray(-0.3)))
    assert fp.converged and 0 < fp.num_steps < 20
    assert abs(float(fp.params[0])) < 1e-9 and abs(float(fp.params[1])) < 1e-9


@pytest.mark.parametrize("method", ["newton", "hamiltonian"])
def test_find_fixed_point_reports_failure(x64, method):
    # xi(w) = w^2 + 1 has no zero; H = (w^2 + 1)^2 / 2 has its minimum at w = 0.
    game = gd.Game(init=None, losses=lambda p, key=None: (p[0] ** 3 / 3 + p[0],))
    fp = analysis.find_fixed_point(game, (jnp.asarray(1.0),), method=method)
    assert not fp.converged
    assert fp.grad_norm == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="method: expected 'newton' or"):
        analysis.find_fixed_point(game, (jnp.asarray(1.0),), method="bfgs")


# ------------------------------------------------------------------ stability regions


@pytest.mark.parametrize("rule", analysis.SPECTRAL_RULES)
def test_multipliers_are_the_eigenvalues_of_the_linear_step(x64, rule):
    rng = np.random.default_rng(3)
    j = rng.normal(size=(5, 5))
    h, beta = 0.2, -0.4
    lam = np.linalg.eigvals(j)
    want = np.ravel(analysis.multipliers(h * lam, rule, momentum=beta))
    got = np.linalg.eigvals(analysis.linear_step(j, h, rule, momentum=beta))
    assert got.size == want.size
    for w in want:
        assert np.min(np.abs(got - w)) < 1e-9


def test_max_stable_step_closed_forms():
    sig = np.array([2.0, 0.5])
    bil = np.concatenate([1j * sig, -1j * sig])
    assert analysis.max_stable_step(bil, "simultaneous") == 0.0
    assert analysis.max_stable_step(bil, "extragradient") == pytest.approx(
        1 / 2.0, rel=1e-9
    )
    # OGDA on a bilinear game: |mu| = 1 at h sigma = 1 / sqrt(3).
    assert analysis.max_stable_step(bil, "optimistic") == pytest.approx(
        1 / (np.sqrt(3) * 2.0), rel=1e-9
    )
    assert analysis.multiplier_radius(1j / np.sqrt(3), "optimistic") == pytest.approx(
        1.0
    )
    lam = np.array([1 + 2j, 1 - 2j, 3.0])
    assert analysis.max_stable_step(lam, "simultaneous") == pytest.approx(2 / 5)
    # Heavy ball on real eigenvalues: 0 < h lambda < 2 (1 + beta).
    real = np.array([0.5, 4.0])
    for beta in (0.5, -0.3):
        assert analysis.max_stable_step(real, "momentum", momentum=beta) == (
            pytest.approx(2 * (1 + beta) / 4.0, rel=1e-9)
        )


def test_spectral_radii_extragradient_threshold(x64):
    game = gd.games.bilinear(np.diag([2.0, 0.5]))
    zero = (jnp.zeros(2), jnp.zeros(2))
    rho = analysis.spectral_radius_by_step(
        game, zero, "extragradient", [0.45, 0.5, 0.55]
    )
    assert rho[0] < 1 and rho[1] == pytest.approx(1.0, abs=1e-12) and rho[2] > 1
    # Alternating GD on a bilinear game: |mu| = 1 exactly while h sigma < 2.
    rho = analysis.spectral_radius_by_step(game, zero, "alternating", [0.1, 0.9, 1.1])
    np.testing.assert_allclose(rho[:2], 1.0, atol=1e-12)
    assert rho[2] > 1
    rho = analysis.spectral_radius_by_step(game, zero, "consensus", [0.1], gamma=1.0)
    assert rho[0] == pytest.approx(abs(1 - 0.1 * 0.25 - 0.1j * 0.5), abs=1e-12)


def test_region_errors_and_warnings(x64):
    game = gd.games.bilinear(np.eye(2))
    with pytest.warns(analysis.NotAFixedPointWarning, match="not a stationary point"):
        analysis.spectral_radius_by_step(
            game, (jnp.ones(2), jnp.ones(2)), "simultaneous", [0.1]
        )
    with pytest.raises(ValueError, match="rule: expected one of"):
        analysis.multipliers(0.1, "alternating")
    with pytest.raises(ValueError, match="sizes: expected per-player sizes"):
        analysis.linear_step(np.eye(4), 0.1, "alternating")
    with pytest.raises(ValueError, match="lam: expected a non-empty array"):
        analysis.max_stable_step([0.0, 1j], "extragradient")
    with pytest.raises(ValueError, match="jac: expected a square matrix"):
        analysis.linear_step(np.ones((2, 3)), 0.1, "simultaneous")


# ------------------------------------------------------------------------ path-angle


def test_path_angle_linear_game_closed_form(x64):
    rng = np.random.default_rng(4)
    a, p = rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    game = gd.games.quadratic(a, p @ p.T, np.eye(2))
    j = np.asarray(analysis.jacobian(game, (jnp.zeros(3), jnp.zeros(2))))
    start = game.init(jax.random.key(0))
    end = (jnp.zeros(3), jnp.zeros(2))
    alpha = np.array([-0.1, 0.3, 0.9, 1.1])
    res = analysis.path_angle(game, start, end, alpha=alpha)
    w0 = np.concatenate([np.asarray(s) for s in start])
    g0 = j @ w0  # xi(w_alpha) = (1 - alpha) J w0, direction -w0
    cos = -np.sign(1 - alpha) * (g0 @ w0) / (np.linalg.norm(g0) * np.linalg.norm(w0))
    np.testing.assert_allclose(res.cosine, cos, atol=1e-12)
    np.testing.assert_allclose(
        res.grad_norm, np.abs(1 - alpha) * np.linalg.norm(g0), atol=1e-12
    )
    c1 = (
        -np.sign(1 - alpha)
        * (g0[3:] @ w0[3:])
        / (np.linalg.norm(g0[3:]) * np.linalg.norm(w0[3:]))
    )
    np.testing.assert_allclose(res.player_cosines[:, 1], c1, atol=1e-12)
    # Bilinear: the field is orthogonal to any ray through the equilibrium.
    bil = gd.games.bilinear(a)
    np.testing.assert_allclose(
        analysis.path_angle(bil, start, end).cosine, 0.0, atol=1e-12
    )
    with pytest.raises(ValueError, match="end: expected the same pytree structure"):
        analysis.path_angle(game, start, (jnp.zeros(3),))


def test_path_angle_direction_of_the_reference_code(x64):
    # Berard et al.'s compute_path_stats measures cos(grad, start - end): the
    # "backward" direction gives every cosine with the opposite sign.
    rng = np.random.default_rng(5)
    a, p = rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    game = gd.games.quadratic(a, p @ p.T, np.eye(2))
    start, end = game.init(jax.random.key(1)), (jnp.zeros(3), jnp.zeros(2))
    alpha = np.linspace(-0.1, 1.1, 7)
    fwd = analysis.path_angle(game, start, end, alpha=alpha)
    bwd = analysis.path_angle(game, start, end, alpha=alpha, direction="backward")
    assert fwd.direction == "forward" and bwd.direction == "backward"
    np.testing.assert_allclose(bwd.cosine, -fwd.cosine, atol=1e-14)
    np.testing.assert_allclose(bwd.player_cosines, -fwd.player_cosines, atol=1e-14)
    np.testing.assert_allclose(bwd.grad_norm, fwd.grad_norm, atol=0)
    # A minimisation (potential) game: positive before the minimum, negative after
    # in the reference's sign.
    pot = gd.Game(init=None, losses=lambda w, key=None: (0.5 * w[0] @ w[0],))
    res = analysis.path_angle(
        pot, (jnp.ones(2),), (jnp.zeros(2),), alpha=[0.5, 1.5], direction="backward"
    )
    np.testing.assert_allclose(res.cosine, [1.0, -1.0], atol=1e-12)
    with pytest.raises(ValueError, match="direction"):
        analysis.path_angle(pot, (jnp.ones(2),), (jnp.zeros(2),), direction="up")


def test_path_angle_hits_the_end_point_exactly():
    """At alpha = 1 the interpolation is exactly ``end``: a game whose equilibrium is
    ``end`` has xi = 0 there (``start + (end - start)`` misses it by round-off)."""
    rng = np.random.default_rng(0)
    c, d = rng.normal(size=5).astype(np.float32), rng.normal(size=4).astype(np.float32)
    a = jnp.asarray(rng.normal(size=(5, 4)), jnp.float32)

    def losses(params, key=None):
        f = (params[0] - c) @ a @ (params[1] - d)
        return f, -f

    game = gd.Game(init=lambda key: (jnp.zeros(5), jnp.zeros(4)), losses=losses)
    start = (jnp.asarray(rng.normal(size=5), jnp.float32),
             jnp.asarray(rng.normal(size=4), jnp.float32))  # fmt: skip
    res = analysis.path_angle(
        game, start, (jnp.asarray(c), jnp.asarray(d)), alpha=[1.0]
    )
    assert res.grad_norm[0] == 0.0

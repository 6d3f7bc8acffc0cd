"""Dense Jacobians and update-map Jacobians against closed forms."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import analysis
from gamedyn.analysis._jacobian import flat_step


def assert_same_spectrum(got, want, atol):
    """Multiset equality of two complex spectra, by greedy nearest matching."""
    got = list(np.ravel(np.asarray(got, np.complex128)))
    want = np.ravel(np.asarray(want, np.complex128))
    assert len(got) == len(want)
    for w in want:
        i = int(np.argmin([abs(g - w) for g in got]))
        assert abs(got[i] - w) < atol, (w, got)
        got.pop(i)


def zero_point():
    return (jnp.asarray(0.0), jnp.asarray(0.0))


# --------------------------------------------------------------------------- games


def test_quadratic_jacobian_closed_form(x64):
    rng = np.random.default_rng(0)
    a, p, q = rng.normal(size=(3, 2)), rng.normal(size=(3, 3)), rng.normal(size=(2, 2))
    p, q = p @ p.T, q @ q.T
    game = gd.games.quadratic(a, p, q)
    params = game.init(jax.random.key(1))
    j = analysis.jacobian(game, params)
    want = np.block([[p, a], [-a.T, q]])
    assert j.dtype == jnp.float64
    np.testing.assert_allclose(j, want, atol=1e-12)
    np.testing.assert_allclose(
        np.sort_complex(analysis.eigenvalues(game, params)),
        np.sort_complex(np.linalg.eigvals(want)),
        atol=1e-10,
    )


def test_float32_by_default():
    game = gd.games.bilinear(np.eye(2, dtype=np.float32))
    j = analysis.jacobian(game, (jnp.zeros(2), jnp.zeros(2)))
    assert j.dtype == jnp.float32
    assert (
        analysis.eigenvalues(game, (jnp.zeros(2), jnp.zeros(2))).dtype == np.complex64
    )


def test_flattening_order_pytree_players(x64):
    # Player 0 a dict {"b": (2,), "a": ()}; ravel_pytree sorts keys: a then b.
    def losses(params, key=None):
        x, y = params
        f = 1.0 * x["a"] * y + 2.0 * x["b"][0] * y + 3.0 * x["b"][1] * y
        return f + 0.5 * x["a"] ** 2, -f

    game = gd.Game(init=None, losses=losses)
    params = ({"b": jnp.zeros(2), "a": jnp.asarray(0.0)}, jnp.asarray(0.0))
    want = np.array(
        [[1.0, 0, 0, 1], [0, 0, 0, 2], [0, 0, 0, 3], [-1, -2, -3, 0]], np.float64
    )
    np.testing.assert_allclose(analysis.jacobian(game, params), want, atol=1e-12)
    blocks = analysis.hessian_blocks(game, params)
    np.testing.assert_allclose(blocks[0], want[:3, :3], atol=1e-12)
    np.testing.assert_allclose(blocks[1], want[3:, 3:], atol=1e-12)
    assert analysis.player_sizes(params) == (3, 1)


@pytest.mark.parametrize(
    "loss, fprime", [("standard", 0.5), ("non_saturating", 0.5), ("wgan", 1.0)]
)
def test_dirac_unregularized_purely_imaginary(x64, loss, fprime):
    game = gd.games.dirac_gan(loss)
    lam = analysis.eigenvalues(game, zero_point())
    assert_same_spectrum(lam, [1j * fprime, -1j * fprime], 1e-12)


@pytest.mark.parametrize("reg", [gd.regularizers.r1, gd.regularizers.r2])
@pytest.mark.parametrize("gamma", [0.3, 1.0, 3.0])
def test_dirac_gradient_penalties(x64, reg, gamma):
    # Mescheder et al. 2018, Thm 4.1: (-gamma +- sqrt(gamma^2 - 4 f'(0)^2)) / 2 in the
    # ascent convention; the descent Jacobian's eigenvalues are their negatives.
    game = gd.games.dirac_gan(regularizer=reg(gamma))
    lam = analysis.eigenvalues(game, zero_point())
    root = np.sqrt(complex(gamma**2 - 4 * 0.25))
    want = [(gamma + root) / 2, (gamma - root) / 2]
    assert_same_spectrum(lam, want, 1e-10)
    assert np.all(lam.real > 0)


def test_dirac_instance_noise(x64):
    # Mescheder et al. 2018, Lemma D.5: -f''(0) s^2 +- sqrt(f''(0)^2 s^4 - f'(0)^2),
    # f''(0) = -1/4; estimated from 2e5 samples of the fixed key.
    s = 1.5
    game = gd.games.dirac_gan(instance_noise=s, num_samples=200_000)
    lam = analysis.eigenvalues(game, zero_point(), key=jax.random.key(3))
    root = np.sqrt(complex(s**4 / 16 - 0.25))
    assert_same_spectrum(lam, [s**2 / 4 + root, s**2 / 4 - root], 0.03)


def test_stochastic_game_fixed_key(x64):
    game = gd.games.dirac_gan(instance_noise=0.5, num_samples=64)
    p = (jnp.asarray(0.3), jnp.asarray(-0.2))
    k1, k2 = jax.random.key(0), jax.random.key(1)
    np.testing.assert_array_equal(
        analysis.jacobian(game, p, key=k1), analysis.jacobian(game, p, key=k1)
    )
    assert not np.allclose(
        analysis.jacobian(game, p, key=k1), analysis.jacobian(game, p, key=k2)
    )


def test_bad_params():
    game = gd.games.bilinear(np.eye(2))
    with pytest.raises(TypeError, match="params: expected floating-point leaves"):
        analysis.jacobian(game, (jnp.zeros(2, jnp.int32), jnp.zeros(2)))
    with pytest.raises(TypeError, match="params: expected a non-empty tuple"):
        analysis.jacobian(game, [jnp.zeros(2), jnp.zeros(2)])


# ----------------------------------------------------------------- update Jacobians

SIGMAS = np.array([1.5, 0.7, 0.2])
H = 0.3


def bilinear_game():
    rng = np.random.default_rng(1)
    u, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    v, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    return gd.games.bilinear(u @ np.diag(SIGMAS) @ v.T)


def zeros3():
    return (jnp.zeros(3), jnp.zeros(3))


def conj(z):
    return np.concatenate([z, np.conj(z)])


def test_bilinear_simultaneous(x64):
    d = gd.dynamics.simultaneous(bilinear_game(), optax.sgd(H))
    m = analysis.update_jacobian(d, zeros3())
    assert_same_spectrum(np.linalg.eigvals(m), conj(1 - 1j * H * SIGMAS), 1e-10)
    rho = analysis.spectral_radius(d, zeros3())
    assert rho == pytest.approx(np.sqrt(1 + (H * SIGMAS.max()) ** 2), abs=1e-12)


def test_bilinear_extragradient(x64):
    d = gd.dynamics.extragradient(bilinear_game(), optax.sgd(H))
    z = 1j * H * SIGMAS
    m = analysis.update_jacobian(d, zeros3())
    assert_same_spectrum(np.linalg.eigvals(m), conj(1 - z + z * z), 1e-10)


def test_bilinear_alternating(x64):
    d = gd.dynamics.alternating(bilinear_game(), optax.sgd(H))
    t = H * SIGMAS
    want = 1 - t**2 / 2 + 1j * t * np.sqrt(1 - t**2 / 4)  # trace 2 - t^2, det 1
    m = analysis.update_jacobian(d, zeros3())
    assert_same_spectrum(np.linalg.eigvals(m), conj(want), 1e-10)
    assert analysis.spectral_radius(d, zeros3()) == pytest.approx(1.0, abs=1e-10)


def test_bilinear_consensus(x64):
    gamma = 0.4
    d = gd.dynamics.consensus(bilinear_game(), optax.sgd(H), gamma)
    want = 1 - H * gamma * SIGMAS**2 - 1j * H * SIGMAS
    m = analysis.update_jacobian(d, zeros3())
    assert_same_spectrum(np.linalg.eigvals(m), conj(want), 1e-10)


def roots(b, c):
    r = np.sqrt(b * b - 4 * c + 0j)
    return np.concatenate([(-b + r) / 2, (-b - r) / 2])


def test_bilinear_optimistic_with_memory(x64):
    d = gd.dynamics.optimistic(bilinear_game(), optax.sgd(H))
    z = 1j * H * SIGMAS
    want = conj(roots(-(1 - 2 * z), -z))  # mu^2 - (1 - 2z) mu - z = 0
    # The initial state (previous update 0) is the steady state at the fixed point.
    m = analysis.update_jacobian(d, zeros3())
    assert m.shape == (12, 12)
    assert_same_spectrum(np.linalg.eigvals(m), want, 1e-9)
    # A state after one step, and the literal one-step Jacobian of the initial state.
    _, state = d.step(zeros3(), d.init(zeros3()), None)
    m1 = analysis.update_jacobian(d, zeros3(), state=state, steps=1)
    assert_same_spectrum(np.linalg.eigvals(m1), want, 1e-9)
    # initial="plain": the literal first step is a plain gradient step (1 - z and
    # zeros); the default (steady-state) Jacobian skips it.
    plain = gd.dynamics.optimistic(bilinear_game(), optax.sgd(H), initial="plain")
    m0 = analysis.update_jacobian(plain, zeros3(), steps=1)
    assert_same_spectrum(
        np.linalg.eigvals(m0), np.concatenate([conj(1 - z), np.zeros(6)]), 1e-9
    )
    assert_same_spectrum(
        np.linalg.eigvals(analysis.update_jacobian(plain, zeros3())), want, 1e-9
    )


@pytest.mark.parametrize("h, closed", [(0.5, np.sqrt(0.5)), (0.2, None)])
def test_optimistic_default_state_gives_the_true_rate(x64, h, closed):
    # The numbers on x * y: the plain-GD radius sqrt(1 + h^2) (1.118 and
    # 1.0198) was returned for the default state; the true rate is the largest
    # root of mu^2 - (1 - 2ih) mu - ih = 0 (a double root (1 - i)/2 at h = 1/2).
    game = gd.games.zero_sum(lambda x, y: x * y)
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    want = np.max(np.abs(roots(np.array([-(1 - 2j * h)]), np.array([-1j * h]))))
    if closed is not None:
        assert want == pytest.approx(closed, rel=1e-12)
    for initial in ("zero", "plain"):
        dyn = gd.dynamics.optimistic(game, optax.sgd(h), initial=initial)
        rho = analysis.spectral_radius(dyn, eq)
        # a double root is ill-conditioned: eigvals is accurate to sqrt(eps)
        assert rho == pytest.approx(want, rel=1e-7 if closed else 1e-12)
    assert want == pytest.approx({0.5: 0.7071, 0.2: 0.9789}[h], abs=1e-4)


@pytest.mark.parametrize(
    "inner, multiplier",
    [
        ("simultaneous", lambda z: 1 - z),
        ("extragradient", lambda z: 1 - z + z * z),
    ],
)
def test_lookahead_rate_over_one_period(x64, inner, multiplier):
    # Lookahead (Chavdarova et al. 2021) with k = 6, alpha = 0.4 around GDA / EG
    # with h = 0.3 on the bilinear game: |1 - alpha + alpha mu^k|^(1/k) per step
    # (0.947 and 0.912 on x * y, where the step-count-frozen linearisation said
    # 1.044 and 1.000).
    h, k, alpha = 0.3, 6, 0.4
    game = bilinear_game()
    dyn = gd.dynamics.lookahead(
        getattr(gd.dynamics, inner)(game, optax.sgd(h)), k, alpha
    )
    assert dyn.period == k
    mu = multiplier(1j * h * SIGMAS)
    want = np.max(np.abs(1 - alpha + alpha * mu**k) ** (1 / k))
    assert analysis.spectral_radius(dyn, zeros3()) == pytest.approx(want, rel=1e-10)
    # From any phase of the period: the same rate.
    state = dyn.init(zeros3())
    for _ in range(4):
        _, state = dyn.step(zeros3(), state, None)
    rho = analysis.spectral_radius(dyn, zeros3(), state=state)
    assert rho == pytest.approx(want, rel=1e-10)
    xy = gd.games.zero_sum(lambda x, y: x * y)
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    d = gd.dynamics.lookahead(getattr(gd.dynamics, inner)(xy, optax.sgd(h)), k, alpha)
    got = analysis.spectral_radius(d, eq)
    assert got == pytest.approx(
        {"simultaneous": 0.947, "extragradient": 0.912}[inner], abs=5e-4
    )


def test_lookahead_period_is_the_lcm():
    game = bilinear_game()
    inner = gd.dynamics.lookahead(gd.dynamics.simultaneous(game, optax.sgd(H)), 2)
    assert gd.dynamics.lookahead(inner, 3).period == 6
    assert gd.dynamics.simultaneous(game, optax.sgd(H)).period == 1
    assert gd.dynamics.Dynamics(None, None).period == 1


def test_counter_dependent_steps_raise_instead_of_a_wrong_number(x64):
    game = bilinear_game()
    inner = gd.dynamics.lookahead(gd.dynamics.simultaneous(game, optax.sgd(H)), 5)
    # A wrapper that drops the period: the sync step differs from the others.
    hidden = gd.dynamics.Dynamics(inner.init, inner.step)
    with pytest.raises(ValueError, match="dynamics: the step changes with a step"):
        analysis.spectral_radius(hidden, zeros3())
    with pytest.raises(ValueError, match="period=k"):
        analysis.update_jacobian(hidden, zeros3())
    # Declared, it is fine.
    declared = gd.dynamics.Dynamics(inner.init, inner.step, period=5)
    want = analysis.spectral_radius(inner, zeros3())
    assert analysis.spectral_radius(declared, zeros3()) == pytest.approx(want)


def test_adam_has_no_constant_linearisation(x64):
    # Adam's bias correction changes the step with the count.
    adam = gd.dynamics.simultaneous(bilinear_game(), optax.adam(1e-2))
    with pytest.raises(ValueError, match="bias correction"):
        analysis.spectral_radius(adam, zeros3())
    # ... but the Jacobian of a given number of steps is always available.
    assert analysis.update_jacobian(adam, zeros3(), steps=2).shape == (18, 18)
    with pytest.raises(ValueError, match="steps"):
        analysis.update_jacobian(adam, zeros3(), steps=0)
    with pytest.raises(ValueError, match="dynamics: expected a period"):
        analysis.spectral_radius(
            gd.dynamics.Dynamics(adam.init, adam.step, 0), zeros3()
        )


@pytest.mark.parametrize("beta", [0.5, -0.3])
def test_bilinear_momentum(x64, beta):
    d = gd.dynamics.simultaneous(bilinear_game(), optax.sgd(H, momentum=beta))
    z = 1j * H * SIGMAS
    m = analysis.update_jacobian(d, zeros3())
    assert_same_spectrum(
        np.linalg.eigvals(m), conj(roots(-(1 + beta - z), beta + 0 * z)), 1e-9
    )


@pytest.mark.parametrize(
    "name, make, kw",
    [
        ("simultaneous", lambda g: gd.dynamics.simultaneous(g, optax.sgd(H)), {}),
        ("alternating", lambda g: gd.dynamics.alternating(g, optax.sgd(H)), {}),
        ("extragradient", lambda g: gd.dynamics.extragradient(g, optax.sgd(H)), {}),
        (
            "consensus",
            lambda g: gd.dynamics.consensus(g, optax.sgd(H), 0.7),
            {"gamma": 0.7},
        ),
        (
            "momentum",
            lambda g: gd.dynamics.simultaneous(g, optax.sgd(H, 0.4)),
            {"momentum": 0.4},
        ),
    ],
)
def test_linear_step_matches_autodiff_on_quadratic_game(x64, name, make, kw):
    rng = np.random.default_rng(2)
    a, p = rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    game = gd.games.quadratic(a, p @ p.T, np.eye(2))
    params = game.init(jax.random.key(0))  # linear field: any point will do
    j = analysis.jacobian(game, params)
    m = analysis.update_jacobian(make(game), params)
    want = analysis.linear_step(j, H, name, sizes=(3, 2), **kw)
    np.testing.assert_allclose(m, want, atol=1e-12)


@pytest.mark.parametrize("order", [(0, 1), (1, 0), None])
def test_alternating_order_matches_autodiff_and_keeps_the_spectrum(x64, order):
    rng = np.random.default_rng(3)
    a, p = rng.normal(size=(3, 2)), rng.normal(size=(3, 3))
    game = gd.games.quadratic(a, p @ p.T, np.eye(2))
    params = game.init(jax.random.key(0))
    j = analysis.jacobian(game, params)
    dyn = gd.dynamics.alternating(game, optax.sgd(H), order)
    want = analysis.linear_step(j, H, "alternating", sizes=(3, 2), order=order)
    np.testing.assert_allclose(analysis.update_jacobian(dyn, params), want, atol=1e-12)
    default = analysis.linear_step(j, H, "alternating", sizes=(3, 2))
    assert_same_spectrum(np.linalg.eigvals(want), np.linalg.eigvals(default), 1e-10)
    with pytest.raises(ValueError, match="order"):
        analysis.linear_step(j, H, "alternating", sizes=(3, 2), order=(0, 0))


def test_integer_state_leaves_held_fixed(x64):
    game = bilinear_game()
    # Adam: the int32 count is skipped; the moments are part of the map.
    d = gd.dynamics.simultaneous(game, optax.adam(1e-2))
    p = (jnp.ones(3), -jnp.ones(3))
    m = analysis.update_jacobian(d, p, steps=1)
    assert m.shape == (18, 18)
    step, z0, _ = flat_step(d, p)
    eps = 1e-7
    for i in (0, 4, 7, 15):  # params, first and second moments: central differences
        e = jnp.zeros_like(z0).at[i].set(eps)
        fd = (step(z0 + e) - step(z0 - e)) / (2 * eps)
        np.testing.assert_allclose(m[:, i], fd, rtol=1e-4, atol=1e-6)
    # Optimistic Adam: the int count is fixed; moments and memory in the map.
    d = gd.dynamics.optimistic(game, optax.adam(1e-2))
    _, state = d.step(p, d.init(p), None)
    assert analysis.update_jacobian(d, p, state=state, steps=1).shape == (24, 24)
    # Lookahead: the integer count decides whether the step syncs.
    k, alpha = 3, 0.5
    inner = gd.dynamics.simultaneous(game, optax.sgd(H))
    d = gd.dynamics.lookahead(inner, sync_period=k, alpha=alpha)
    state = d.init(zeros3())
    j = np.asarray(analysis.jacobian(game, zeros3()))
    step = np.eye(6) - H * j
    total = np.eye(12)
    for _ in range(k):
        one = analysis.update_jacobian(d, zeros3(), state=state, steps=1)
        total = np.asarray(one) @ total
        _, state = d.step(zeros3(), state, None)
    assert int(state.count) == k
    # After a full cycle from w = slow: w+ = slow+ = (1 - alpha) slow + alpha S^k w.
    sk = np.linalg.matrix_power(step, k)
    want = np.block(
        [[alpha * sk, (1 - alpha) * np.eye(6)], [alpha * sk, (1 - alpha) * np.eye(6)]]
    )
    np.testing.assert_allclose(total, want, atol=1e-12)
    # The default Jacobian is that product: one period from the steady state.
    np.testing.assert_allclose(analysis.update_jacobian(d, zeros3()), want, atol=1e-12)
    np.testing.assert_allclose(
        analysis.update_jacobian(d, zeros3(), steps=k), want, atol=1e-12
    )


def test_spectral_radius_warns_off_fixed_point(x64):
    d = gd.dynamics.simultaneous(bilinear_game(), optax.sgd(H))
    with pytest.warns(analysis.NotAFixedPointWarning, match="not a fixed point"):
        rho = analysis.spectral_radius(d, (jnp.ones(3), jnp.ones(3)))
    assert rho == pytest.approx(np.sqrt(1 + (H * SIGMAS.max()) ** 2), abs=1e-12)


def test_update_jacobian_bad_dynamics():
    with pytest.raises(TypeError, match="dynamics: expected a gamedyn.Dynamics"):
        analysis.update_jacobian(lambda p: p, zeros3())

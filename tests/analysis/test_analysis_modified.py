"""Modified equations: closed forms, Taylor expansions of the rules' own steps, the
measured orders (discrete vs modified flow O(h^2), vs plain flow O(h)), and the
stability of flows as the h -> 0 limit of the discrete verdicts."""

import inspect

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from jax.flatten_util import ravel_pytree

import gamedyn as gd
from gamedyn.analysis.modified import (
    MODIFIED_RULES,
    FlowStability,
    flow_region,
    flow_stability,
    modified_field,
)
from gamedyn.flows import flow

TIGHT = {"rtol": 1e-11, "atol": 1e-13}


def flat(params):
    return np.concatenate([np.ravel(np.asarray(p)) for p in params])


# ------------------------------------------------------------------------------
# (a) closed forms


A = np.array([[1.0, 0.5], [-0.3, 0.8], [0.2, -0.7]])


def bilinear_closed_form(rule, h, x, y, player_order=None, gamma=1.0):
    """xi~ on x^T A y by hand: J = [[0, A], [-A^T, 0]], J xi = -(A A^T x, A^T A y)."""
    ax, ay = A @ A.T @ x, A.T @ A @ y
    xi = np.concatenate([A @ y, -A.T @ x])
    if rule == "simultaneous":
        return xi + h / 2 * np.concatenate([-ax, -ay])
    if rule in ("extragradient", "optimistic"):
        return xi - h / 2 * np.concatenate([-ax, -ay])
    if rule == "alternating":
        # the mover second flips its interaction term: y first (default) gives
        # c_x = +1/2 A A^T x; x first gives c_y = +1/2 A^T A y.
        if player_order in (None, (1, 0)):
            return xi + h / 2 * np.concatenate([ax, -ay])
        return xi + h / 2 * np.concatenate([-ax, ay])
    # consensus: g = G w with G = [[gamma A A^T, A], [-A^T, gamma A^T A]]
    m, n = A.shape
    g = np.block([[gamma * A @ A.T, A], [-A.T, gamma * A.T @ A]])
    w = np.concatenate([x, y])
    return (np.eye(m + n) + h / 2 * g) @ g @ w


@pytest.mark.parametrize(
    "rule,player_order",
    [(r, None) for r in MODIFIED_RULES] + [("alternating", (0, 1))],
)
def test_bilinear_closed_forms(x64, rule, player_order):
    game = gd.games.bilinear(A)
    x, y = np.array([0.3, -1.0, 0.5]), np.array([0.8, 0.2])
    h = 0.3
    kwargs = {"player_order": player_order} if player_order else {}
    got = modified_field(game, rule, h, **kwargs)((jnp.asarray(x), jnp.asarray(y)))
    np.testing.assert_allclose(
        flat(got),
        bilinear_closed_form(rule, h, x, y, player_order),
        rtol=1e-12,
        atol=1e-14,
    )


def dirac_closed_form(theta, psi):
    """xi and J of the standard Dirac-GAN by hand: f'(t) = 1/(1+e^t),
    f''(t) = -e^t / (1+e^t)^2, xi = (f' psi, -f' theta)."""
    t = psi * theta
    a, b = 1 / (1 + np.exp(t)), -np.exp(t) / (1 + np.exp(t)) ** 2
    xi = np.array([a * psi, -a * theta])
    jac = np.array([[b * psi**2, a + b * t], [-(a + b * t), -b * theta**2]])
    return xi, jac


@pytest.mark.parametrize("point", [(1.0, 1.0), (0.7, -1.3), (-2.0, 0.4)])
def test_dirac_closed_forms(x64, point):
    game = gd.games.dirac_gan()
    p = tuple(jnp.asarray(v) for v in point)
    xi, jac = dirac_closed_form(*point)
    jx = jac @ xi
    h = 0.2
    np.testing.assert_allclose(flat(gd.vector_field(game)(p)), xi, rtol=1e-12)
    expected = {
        "simultaneous": xi + h / 2 * jx,
        "extragradient": xi - h / 2 * jx,
        "optimistic": xi - h / 2 * jx,
        # discriminator (psi) first: theta's term J_tp xi_p flips sign
        "alternating": xi
        + h
        / 2
        * np.array(
            [
                jac[0, 0] * xi[0] - jac[0, 1] * xi[1],
                jac[1, 0] * xi[0] + jac[1, 1] * xi[1],
            ]
        ),
    }
    for rule, value in expected.items():
        got = flat(modified_field(game, rule, h)(p))
        np.testing.assert_allclose(got, value, rtol=1e-12, err_msg=rule)
    np.testing.assert_allclose(flat(modified_field(game, "simultaneous", h, 0)(p)), xi)


# ------------------------------------------------------------------------------
# Independent computation: Taylor-expand each rule's own step in h.


def taylor_field(step, params, h):
    """The modified field from the rule's step ``S(h) = w - h F - h^2 G + O(h^3)``:
    ``F + h (G + 1/2 dF F)``, with ``F = -S'(0)`` and ``G = -S''(0) / 2`` computed
    by differentiating the step itself with respect to h."""
    w0, unravel = ravel_pytree(params)

    def s(hh, w):
        return ravel_pytree(step(hh, unravel(w)))[0]

    zero = jnp.asarray(0.0, w0.dtype)

    def f(w):
        return -jax.jacfwd(s)(zero, w)

    @jax.jit
    def parts(w):
        g = -0.5 * jax.jacfwd(jax.jacfwd(s))(zero, w)
        f0, df_f = jax.jvp(f, (w,), (f(w),))
        return f0, g + 0.5 * df_f

    f0, c = parts(w0)
    return np.asarray(f0 + h * c)


def registry_step(game, rule):
    def step(hh, params):
        dyn = gd.dynamics.get(rule)(game, optax.sgd(hh))
        return dyn.step(params, dyn.init(params), None)[0]

    return step


def generator_first_step(game):
    xi = gd.vector_field(game)

    def step(hh, params):
        theta, psi = params
        theta = theta - hh * xi((theta, psi))[0]
        psi = psi - hh * xi((theta, psi))[1]
        return theta, psi

    return step


@pytest.mark.parametrize("rule", ["simultaneous", "alternating", "extragradient"])
@pytest.mark.parametrize("point", [(1.0, 1.0), (0.4, -0.9)])
def test_equals_the_taylor_expansion_of_the_rules_step(x64, rule, point):
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.7))
    p, h = tuple(jnp.asarray(v) for v in point), 0.15
    expected = taylor_field(registry_step(game, rule), p, h)
    np.testing.assert_allclose(
        flat(modified_field(game, rule, h)(p)), expected, rtol=1e-11, atol=1e-13
    )


def test_consensus_and_generator_first_equal_their_taylor_expansions(x64):
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r2(0.3))
    p, h = (jnp.asarray(0.8), jnp.asarray(-0.5)), 0.1
    step = registry_step(game, "consensus")
    np.testing.assert_allclose(
        flat(modified_field(game, "consensus", h)(p)),
        taylor_field(step, p, h),
        rtol=1e-11,
    )
    np.testing.assert_allclose(
        flat(modified_field(game, "alternating", h, player_order=(0, 1))(p)),
        taylor_field(generator_first_step(game), p, h),
        rtol=1e-11,
    )


def test_player_order_matches_the_rules_own_order(x64):
    if "order" not in inspect.signature(gd.dynamics.alternating).parameters:
        pytest.skip("gd.dynamics.alternating has no order= yet")
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.4))
    p, h = (jnp.asarray(0.6), jnp.asarray(-0.9)), 0.1
    for order in ((0, 1), (1, 0)):

        def step(hh, params, order=order):
            dyn = gd.dynamics.alternating(game, optax.sgd(hh), order=order)
            return dyn.step(params, dyn.init(params), None)[0]

        np.testing.assert_allclose(
            flat(modified_field(game, "alternating", h, player_order=order)(p)),
            taylor_field(step, p, h),
            rtol=1e-11,
        )


def test_three_players_alternating(x64):
    # Each player sees the moves of the players before it in the order.
    def losses(params, key=None):
        a, b, c = params
        return (a * b + 0.5 * a**2 * c, b * c - a * b, c * a + 0.3 * b**2 * c)

    game = gd.Game(init=None, losses=losses)
    p = (jnp.asarray(0.4), jnp.asarray(-0.7), jnp.asarray(1.1))
    xi = gd.vector_field(game)
    h = 0.05

    def step(hh, params, order=(2, 0, 1)):
        params = list(params)
        for i in order:
            params[i] = params[i] - hh * xi(tuple(params))[i]
        return tuple(params)

    np.testing.assert_allclose(
        flat(modified_field(game, "alternating", h, player_order=(2, 0, 1))(p)),
        taylor_field(step, p, h),
        rtol=1e-11,
    )
    np.testing.assert_allclose(
        flat(modified_field(game, "alternating", h)(p)),
        taylor_field(registry_step(game, "alternating"), p, h),
        rtol=1e-11,
    )


# ------------------------------------------------------------------------------
# (b) orders: the discrete run over T stays O(h^2) from the modified flow and O(h)
# from the plain flow.

HS = np.array([0.1, 0.05, 0.025, 0.0125])
T = 2.0


def slope(hs, errors):
    return float(np.polyfit(np.log(hs), np.log(errors), 1)[0])


def measured_slopes(game, p0, rule, discrete, **kwargs):
    plain = flat(flow(game, p0, T, saveat=None, **TIGHT).final)

    def modified(h):
        field = modified_field(game, rule, h, **kwargs)
        return flow(game, p0, T, field=field, saveat=None, **TIGHT).final

    mods = jax.vmap(modified)(jnp.asarray(HS))
    e_mod, e_plain = [], []
    for k, h in enumerate(HS):
        w = flat(discrete(float(h), int(round(T / h))))
        e_mod.append(np.linalg.norm(w - flat([m[k] for m in mods])))
        e_plain.append(np.linalg.norm(w - plain))
    return slope(HS, e_mod), slope(HS, e_plain)


def first_step_shift(game, rule, p0):
    """How many steps ahead of the flow the rule's first step lands: 1 for an
    optimistic start with a zero previous update (``w_1 = w_0 - 2 h xi``), else 0.

    Optimistic GD is a two-step recursion: its iterates follow the modified flow,
    shifted in time by its starting procedure (``w_k ~ w~((k + shift) h)``)."""
    h = 1e-4
    dyn = gd.dynamics.get(rule)(game, optax.sgd(h))
    w1 = flat(gd.simulate(dyn, p0, 1, record_params=False).final)
    speed = np.linalg.norm(flat(p0) - w1) / h
    return int(round(speed / np.linalg.norm(flat(gd.vector_field(game)(p0))))) - 1


@pytest.mark.parametrize(
    "rule",
    [
        "simultaneous",
        "alternating",
        # CI budget: the two extrapolating rules run with --runslow.
        pytest.param("extragradient", marks=pytest.mark.slow),
        pytest.param("optimistic", marks=pytest.mark.slow),
    ],
)
def test_discrete_rules_follow_their_modified_flow_to_second_order(x64, rule):
    game = gd.games.dirac_gan()
    p0 = game.init(None)
    shift = first_step_shift(game, rule, p0)
    assert shift in ((0, 1) if rule == "optimistic" else (0,))

    def discrete(h, n):
        dyn = gd.dynamics.get(rule)(game, optax.sgd(h))
        return gd.simulate(dyn, p0, n - shift, record_params=False).final

    s_mod, s_plain = measured_slopes(game, p0, rule, discrete)
    assert 1.85 < s_mod < 2.2, s_mod
    assert 0.85 < s_plain < 1.15, s_plain


def test_generator_first_alternating_order(x64):
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    p0 = game.init(None)
    step = generator_first_step(game)

    def discrete(h, n):
        dyn = gd.Dynamics(init=lambda p: (), step=lambda p, s, k: (step(h, p), s))
        return gd.simulate(dyn, p0, n, record_params=False).final

    s_mod, s_plain = measured_slopes(
        game, p0, "alternating", discrete, player_order=(0, 1)
    )
    assert 1.85 < s_mod < 2.2 and 0.85 < s_plain < 1.15, (s_mod, s_plain)


# ------------------------------------------------------------------------------
# Stability of flows


def test_flow_stability_on_the_dirac_gan(x64):
    game = gd.games.dirac_gan()
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    h = 0.2
    plain = flow_stability(game, eq)
    assert isinstance(plain, FlowStability)
    assert plain.verdict == "marginal" and plain.stationary
    np.testing.assert_allclose(np.sort(plain.eigenvalues.imag), [-0.5, 0.5])
    np.testing.assert_allclose(plain.real_parts, 0.0, atol=1e-15)
    # modified eigenvalues lambda + (h/2) lambda^2 = -h/8 +- i/2 (SimGD spirals out),
    # lambda - (h/2) lambda^2 (EG, OGDA spiral in), +-i sqrt(1/4 - h^2/64) (AltGD).
    sim = flow_stability(game, eq, rule="simultaneous", h=h)
    assert sim.verdict == "unstable"
    np.testing.assert_allclose(sim.real_parts, -h / 8, rtol=1e-12)
    for rule in ("extragradient", "optimistic"):
        s = flow_stability(game, eq, rule=rule, h=h)
        assert s.verdict == "stable" and s.stable
        np.testing.assert_allclose(s.real_parts, h / 8, rtol=1e-12)
    alt = flow_stability(game, eq, rule="alternating", h=h)
    assert alt.verdict == "marginal"
    np.testing.assert_allclose(
        np.sort(alt.eigenvalues.imag), np.sqrt(0.25 - h**2 / 64) * np.array([-1, 1])
    )


def test_flow_stability_verdicts_and_arrays(x64):
    r1 = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    s = flow_stability(r1, eq)
    lam = (0.3 + np.sqrt(complex(0.09 - 1.0))) / 2
    assert s.verdict == "stable" and s.min_real == pytest.approx(lam.real)
    saddle = gd.games.quadratic([[0.1]], [[-1.0]], [[1.0]])
    zero = (jnp.zeros(1), jnp.zeros(1))
    assert flow_stability(saddle, zero).verdict == "unstable"
    assert flow_stability(r1, (jnp.asarray(1.0), jnp.asarray(1.0))).verdict == (
        "not stationary"
    )
    # an array of steps: Re(lambda + (h/2) lambda^2) for each
    hs = np.array([0.0, 0.5, 2.0, 4.0])
    arr = flow_stability(r1, eq, rule="simultaneous", h=hs)
    assert arr.verdict.shape == hs.shape and arr.eigenvalues.shape == (4, 2)
    expected = (lam + hs / 2 * lam**2).real
    np.testing.assert_allclose(arr.min_real, expected, rtol=1e-12)
    assert list(arr.verdict) == ["stable" if e > 0 else "unstable" for e in expected]


def principal(mu):
    """The multiplier of a one- or two-step rule that tends to 1 as h -> 0."""
    return mu[np.argmin(np.abs(mu - 1))]


@pytest.mark.parametrize("rule", ["simultaneous", "extragradient", "optimistic"])
def test_modified_eigenvalues_match_the_discrete_multipliers(x64, rule):
    # The discrete rule multiplies the direction of eigenvalue lambda by mu(h lambda)
    # per step, i.e. by exp(-lambda~ h) with lambda~ = -log(mu) / h; the modified
    # flow's eigenvalue agrees with it to O(h^2), the plain flow's lambda to O(h).
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    eq = (jnp.asarray(0.0), jnp.asarray(0.0))
    lam = flow_stability(game, eq).eigenvalues[-1]
    hs = np.array([0.08, 0.04, 0.02, 0.01])
    mod = flow_stability(game, eq, rule=rule, h=hs).eigenvalues[:, -1]
    exact = np.array(
        [-np.log(principal(gd.analysis.multipliers(h * lam, rule))) / h for h in hs]
    )
    assert 1.9 < slope(hs, np.abs(mod - exact)) < 2.1
    assert 0.9 < slope(hs, np.abs(lam - exact)) < 1.1


def test_flow_region_is_the_limit_of_the_step_regions():
    region = flow_region(bounds=(-1.0, 2.0, -1.5, 1.5), num=31)
    lam = region.re[None, :] + 1j * region.im[:, None]
    assert region.rule == "flow" and region.radius.shape == (31, 31)
    np.testing.assert_allclose(region.radius, np.exp(-lam.real))
    h = 1e-4
    for rule in ("simultaneous", "extragradient", "optimistic"):
        limit = gd.analysis.multiplier_radius(h * lam, rule) ** (1 / h)
        np.testing.assert_allclose(limit, region.radius, rtol=1e-3)
    np.testing.assert_array_equal(region.radius < 1, lam.real > 0)


# ------------------------------------------------------------------------------
# transformations and errors


def test_traced_step_sizes_and_jit(x64):
    game = gd.games.bilinear(A)
    p = (jnp.asarray([0.3, -1.0, 0.5]), jnp.asarray([0.8, 0.2]))
    hs = jnp.array([0.1, 0.2, 0.4])
    out = jax.jit(jax.vmap(lambda h: modified_field(game, "simultaneous", h)(p)))(hs)
    for k, h in enumerate(np.asarray(hs)):
        np.testing.assert_allclose(
            flat((out[0][k], out[1][k])),
            bilinear_closed_form("simultaneous", h, np.asarray(p[0]), np.asarray(p[1])),
            rtol=1e-12,
        )


def test_same_arguments_same_field_and_no_retrace():
    game = gd.games.dirac_gan()
    a = modified_field(game, "alternating", 0.2)
    assert a is modified_field(game, "alternating", 0.2)
    assert a is not modified_field(game, "alternating", 0.1)
    traces = []
    xi = modified_field(game, "simultaneous", 0.2)

    def field(params, key=None):
        traces.append(1)
        return xi(params, key)

    p = game.init(None)
    flow(game, p, 1.0, field=field, saveat=None)
    n = len(traces)
    flow(game, tuple(v + 0.5 for v in p), 3.0, field=field, saveat=None)
    assert len(traces) == n


@pytest.mark.parametrize(
    "args,kwargs,error,match",
    [
        (("sga", 0.1), {}, ValueError, "rule: expected one of"),
        ((3, 0.1), {}, TypeError, "rule: expected one of"),
        (("simultaneous", -0.1), {}, ValueError, "h: expected"),
        (("simultaneous", 0.1, 2), {}, ValueError, r"order: expected an integer in"),
        (("simultaneous", 0.1), {"param": 1.0}, ValueError, "param: the rule"),
        (("consensus", 0.1), {"param": -1.0}, ValueError, "param: expected"),
        (("simultaneous", 0.1), {"player_order": (0, 1)}, ValueError, "player_order"),
        (("alternating", 0.1), {"player_order": 1}, TypeError, "player_order"),
    ],
)
def test_modified_field_errors(args, kwargs, error, match):
    game = gd.games.dirac_gan()
    with pytest.raises(error, match=match):
        modified_field(game, *args, **kwargs)


def test_errors_at_the_first_call_and_in_flow_stability():
    game = gd.games.dirac_gan()
    p = game.init(None)
    field = modified_field(game, "alternating", 0.1, player_order=(0, 0))
    with pytest.raises(ValueError, match="player_order: expected a permutation"):
        field(p)
    with pytest.raises(TypeError, match="game: expected a gamedyn.Game"):
        modified_field(None, "simultaneous", 0.1)
    with pytest.raises(ValueError, match="h: expected"):
        flow_stability(game, p, rule="simultaneous", h=[0.1, -0.1])
    with pytest.raises(ValueError, match="rule: param and player_order need a rule"):
        flow_stability(game, p, param=1.0)
    with pytest.raises(ValueError, match="bounds: expected"):
        flow_region(bounds=(1.0, 0.0, -1.0, 1.0))

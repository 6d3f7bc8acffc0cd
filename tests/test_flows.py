"""gamedyn.flows: gradient flows against exact solutions, jit/vmap/grad, blow-ups."""

import diffrax
import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import scipy.linalg

import gamedyn as gd
from gamedyn.flows import (
    FlowTrajectory,
    consensus_field,
    flow,
    hamiltonian_field,
    sga_field,
)

TIGHT = {"rtol": 1e-10, "atol": 1e-12}

A = np.array([[1.0, 0.5], [-0.3, 0.8], [0.2, -0.7]])
P = np.diag([0.3, 0.1, 0.2])
Q = np.diag([0.4, 0.05])


def quadratic_jacobian():
    """``J`` of gd.games.quadratic(A, P, Q): ``[[P, A], [-A^T, Q]]``."""
    return np.block([[P, A], [-A.T, Q]])


def start():
    return (jnp.array([1.0, -0.5, 0.3]), jnp.array([0.2, 0.7]))


def flat(params):
    return np.concatenate([np.ravel(np.asarray(p)) for p in params])


def test_quadratic_flow_is_the_matrix_exponential(x64):
    game = gd.games.quadratic(A, P, Q)
    times = jnp.array([0.0, 0.5, 1.7, 3.0])
    traj = flow(game, start(), 3.0, saveat=times, **TIGHT)
    assert isinstance(traj, FlowTrajectory)
    j, w0 = quadratic_jacobian(), flat(start())
    for k, t in enumerate(np.asarray(times)):
        exact = scipy.linalg.expm(-j * t) @ w0
        np.testing.assert_allclose(
            flat((traj.params[0][k], traj.params[1][k])), exact, atol=1e-9
        )
    np.testing.assert_allclose(
        flat(traj.final), scipy.linalg.expm(-3.0 * j) @ w0, atol=1e-9
    )
    np.testing.assert_array_equal(traj.times, times)
    assert np.isinf(traj.diverged_time) and traj.num_steps > 0


def test_dirac_flow_conserves_the_radius(x64):
    # xi = (f'(psi theta) psi, -f'(psi theta) theta) is orthogonal to (theta, psi):
    # the unregularized Dirac-GAN's flow circles (Mescheder et al. 2018).
    game = gd.games.dirac_gan()
    traj = flow(game, game.init(None), 20.0, saveat=64, **TIGHT)
    radius = traj.params[0] ** 2 + traj.params[1] ** 2
    np.testing.assert_allclose(radius, 2.0, rtol=1e-8)
    # and it turns: the angle covered is large
    angle = np.unwrap(np.arctan2(traj.params[1], traj.params[0]))
    assert abs(angle[-1] - angle[0]) > np.pi


def test_saveat_forms():
    game = gd.games.dirac_gan()
    p = game.init(None)
    a = flow(game, p, 2.0, saveat=5)
    np.testing.assert_allclose(a.times, np.linspace(0, 2, 5), rtol=1e-6)
    assert a.params[0].shape == (5,)
    assert float(a.params[0][0]) == 1.0 and float(a.params[1][0]) == 1.0
    b = flow(game, p, 2.0, saveat=[0.5, 2.0])
    np.testing.assert_allclose(b.params[0][1], a.params[0][-1], rtol=1e-5)
    c = flow(game, p, 2.0, saveat=None)
    assert c.params is None and c.times.shape == (0,)
    np.testing.assert_allclose(c.final[0], a.final[0], rtol=1e-5)
    d = flow(game, p, 2.0, saveat=3, dense=True)
    np.testing.assert_allclose(
        d.dense.evaluate(1.0)[0], d.params[0][1], rtol=1e-5, atol=1e-6
    )


def test_float32_params_stay_float32(x64):
    game = gd.games.dirac_gan()
    p = tuple(jnp.asarray(v, jnp.float32) for v in (1.0, 1.0))
    traj = flow(game, p, 2.0, saveat=3)
    assert traj.final[0].dtype == traj.params[1].dtype == traj.times.dtype
    assert traj.final[0].dtype == jnp.float32


def test_euler_flow_is_simultaneous_gradient_descent(x64):
    # Explicit Euler with step h on dw/dt = -xi(w) is w <- w - h xi(w).
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    p, h, n = game.init(None), 0.125, 40
    traj = flow(game, p, n * h, solver=diffrax.Euler(), dt0=h, saveat=None)
    dyn = gd.dynamics.simultaneous(game, optax.sgd(h))
    sim = gd.simulate(dyn, p, n, record_params=False)
    np.testing.assert_allclose(flat(traj.final), flat(sim.final), rtol=1e-12)


def test_jit_and_vmap_match_single_runs():
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.5))
    thetas = jnp.array([0.5, 1.0, -1.5])
    t1s = jnp.array([1.0, 2.5, 4.0])

    @jax.jit
    @jax.vmap
    def run(theta, t1):
        return flow(game, (theta, jnp.asarray(1.0)), t1, saveat=4).final

    batch = run(thetas, t1s)
    for k in range(3):
        one = flow(game, (thetas[k], jnp.asarray(1.0)), float(t1s[k]), saveat=4)
        np.testing.assert_allclose(batch[0][k], one.final[0], rtol=2e-5, atol=1e-6)
        np.testing.assert_allclose(batch[1][k], one.final[1], rtol=2e-5, atol=1e-6)


def test_stochastic_game_with_a_fixed_key():
    game = gd.games.dirac_gan(
        regularizer=gd.regularizers.r1(0.5), instance_noise=0.3, num_samples=64
    )
    p = game.init(None)
    keys = jax.random.split(jax.random.key(1), 2)
    batch = jax.vmap(lambda k: flow(game, p, 1.0, key=k, saveat=None).final)(keys)
    one = flow(game, p, 1.0, key=keys[1], saveat=None).final
    np.testing.assert_allclose(batch[0][1], one[0], rtol=1e-5)
    assert not np.allclose(batch[0][0], batch[0][1])


def test_gradients_through_the_solve(x64):
    # d w(T) / d w(0) = expm(-J T) for the linear game.
    game = gd.games.quadratic(A, P, Q)
    j, t1 = quadratic_jacobian(), 1.5

    def end(w):
        params = (w[:3], w[3:])
        return flat_jnp(flow(game, params, t1, saveat=None, **TIGHT).final)

    def end_fwd(w):
        params = (w[:3], w[3:])
        traj = flow(
            game, params, t1, saveat=None, adjoint=diffrax.ForwardMode(), **TIGHT
        )
        return flat_jnp(traj.final)

    w0 = jnp.asarray(flat(start()))
    exact = scipy.linalg.expm(-j * t1)
    np.testing.assert_allclose(jax.jacrev(end)(w0), exact, atol=1e-8)
    np.testing.assert_allclose(jax.jacfwd(end_fwd)(w0), exact, atol=1e-8)


def flat_jnp(params):
    return jnp.concatenate([jnp.ravel(p) for p in params])


def blow_up_game():
    """One player with loss -w^3/3: xi = -w^2, flow dw/dt = w^2, w(t) = w0/(1 - w0 t)
    blows up at t = 1/w0."""
    return gd.Game(
        init=lambda k: (jnp.asarray(1.0),), losses=lambda p, k=None: (-(p[0] ** 3) / 3,)
    )


def test_finite_time_blow_up_is_a_value(x64):
    game = blow_up_game()
    traj = flow(game, (jnp.asarray(2.0),), 1.0, saveat=5, max_norm=1e6, **TIGHT)
    # ||w|| = 1e6 at t = 1/2 - 1/1e6; the event fires at the end of that step.
    assert 0.5 - 1e-6 <= float(traj.diverged_time) <= 0.5
    assert np.isnan(traj.final[0])
    times = np.asarray(traj.times)
    before = times < 0.5
    np.testing.assert_allclose(
        traj.params[0][before], 2.0 / (1 - 2.0 * times[before]), rtol=1e-8
    )
    assert np.all(np.isnan(traj.params[0][~before]))


def test_a_diverging_member_does_not_stop_the_batch(x64):
    game = blow_up_game()
    w0 = jnp.array([0.5, 4.0, -1.0])  # blows up at 2, 0.25, never (w -> 0)
    out = jax.jit(
        jax.vmap(lambda w: flow(game, (w,), 1.0, saveat=None, max_norm=1e6, **TIGHT))
    )(w0)
    final, when = np.asarray(out.final[0]), np.asarray(out.diverged_time)
    np.testing.assert_allclose(final[[0, 2]], [1.0, -0.5], rtol=1e-8)
    assert np.isnan(final[1]) and np.isinf(when[[0, 2]]).all()
    assert 0.25 - 1e-6 <= when[1] <= 0.25


def test_exponential_growth_hits_max_norm(x64):
    # x's own curvature -1, no coupling: x(t) = x0 e^t leaves ||w|| < 100 at ln(100).
    game = gd.games.quadratic([[0.0]], [[-1.0]], [[1.0]])
    traj = flow(game, (jnp.ones(1), jnp.zeros(1)), 10.0, saveat=None, max_norm=100.0)
    assert np.log(100.0) <= float(traj.diverged_time) < np.log(100.0) + 0.5
    assert np.isnan(traj.final[0]).all()


def test_max_steps_is_reported_not_raised():
    game = gd.games.dirac_gan()
    traj = flow(game, game.init(None), 100.0, saveat=3, max_steps=4)
    assert np.isfinite(traj.diverged_time) and float(traj.diverged_time) < 100.0
    assert np.isnan(traj.final[0]) and np.isnan(traj.params[0][-1])
    assert float(traj.params[0][0]) == 1.0


def test_second_call_does_not_retrace():
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.1))
    xi = gd.vector_field(game)
    traces = []

    def field(params, key=None):
        traces.append(1)
        return xi(params, key)

    p = game.init(None)
    flow(game, p, 1.0, field=field, saveat=3)
    n = len(traces)
    other = (jnp.asarray(0.3, p[0].dtype), jnp.asarray(-0.2, p[1].dtype))
    flow(game, other, 2.0, field=field, saveat=3)
    assert len(traces) == n


def dense_jacobian(game, params):
    return np.asarray(gd.analysis.jacobian(game, params))


def test_fields_built_from_the_game(x64):
    game = gd.games.dirac_gan(regularizer=gd.regularizers.r2(0.4))
    p = (jnp.asarray(0.7), jnp.asarray(-0.4))
    xi = flat(gd.vector_field(game)(p))
    j = dense_jacobian(game, p)
    asym = 0.5 * (j - j.T)
    np.testing.assert_allclose(
        flat(consensus_field(game, 0.3)(p)), xi + 0.3 * j.T @ xi, rtol=1e-12
    )
    np.testing.assert_allclose(
        flat(sga_field(game, 0.8)(p)), xi + 0.8 * asym.T @ xi, rtol=1e-12
    )
    np.testing.assert_allclose(flat(hamiltonian_field(game)(p)), j.T @ xi, rtol=1e-12)
    np.testing.assert_allclose(
        flat(hamiltonian_field(game)(p)),
        flat(jax.grad(gd.hamiltonian(game))(p)),
        rtol=1e-12,
    )


def test_hamiltonian_and_consensus_flows(x64):
    # The Dirac-GAN's gradient flow circles. Descending H = 1/2 ||xi||^2 decreases H
    # monotonically: towards (0, 0) from a start with psi theta < 0, but from (1, 1)
    # along the diagonal, where f'(psi theta) -> 0 (the Hamiltonian's own descent
    # also finds the "flat" non-Nash directions). The consensus term makes (0, 0)
    # attracting.
    game = gd.games.dirac_gan()
    ham = gd.hamiltonian(game)
    traj = flow(game, game.init(None), 30.0, field=hamiltonian_field(game), saveat=16)
    values = np.array([ham((traj.params[0][k], traj.params[1][k])) for k in range(16)])
    assert np.all(np.diff(values) < 0)
    assert float(traj.final[0]) > 1.5 and float(traj.final[1]) > 1.5
    start = (jnp.asarray(0.5), jnp.asarray(-0.3))
    traj = flow(game, start, 60.0, field=hamiltonian_field(game), saveat=None)
    assert np.hypot(*map(float, traj.final)) < 1e-5
    traj = flow(game, game.init(None), 200.0, field=consensus_field(game, 1.0))
    assert np.hypot(*map(float, traj.final)) < 0.5 * np.sqrt(2.0)


@pytest.mark.parametrize(
    "kwargs,error,match",
    [
        ({"t1": -1.0}, ValueError, "t1: expected"),
        ({"t1": "1"}, TypeError, "t1: expected a number"),
        ({"saveat": 1}, ValueError, "saveat: expected an integer >= 2"),
        ({"saveat": 2.0}, TypeError, "saveat: expected None"),
        ({"saveat": [0.0, 3.0]}, ValueError, r"saveat: expected times in \[0, t1\]"),
        ({"saveat": [1.0, 0.5]}, ValueError, "saveat: expected finite non-decreas"),
        ({"field": 3}, TypeError, "field: expected a function"),
        ({"solver": "tsit5"}, TypeError, "solver: expected a diffrax solver"),
        ({"solver": diffrax.Euler()}, ValueError, "dt0: a fixed-step solver"),
        ({"max_steps": 0}, ValueError, "max_steps: expected an integer >= 1"),
        ({"max_norm": 0.0}, ValueError, "max_norm: expected"),
        ({"params": [1.0, 1.0]}, TypeError, "params: expected a non-empty tuple"),
        ({"params": (1, 1)}, TypeError, "params: expected floating-point"),
        ({"params": (jnp.nan, 1.0)}, ValueError, "params: the starting point"),
        ({"game": "dirac"}, TypeError, "game: expected a gamedyn.Game"),
    ],
)
def test_errors(kwargs, error, match):
    game = gd.games.dirac_gan()
    args = {"game": game, "params": game.init(None), "t1": 1.0}
    args.update(kwargs)
    with pytest.raises(error, match=match):
        flow(args.pop("game"), args.pop("params"), args.pop("t1"), **args)

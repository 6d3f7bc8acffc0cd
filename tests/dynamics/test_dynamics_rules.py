"""Every update rule against hand-derived iterations (bilinear game, Dirac-GAN)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd

H = 0.1
RNG = np.random.default_rng(0)
A = RNG.normal(size=(3, 2))
X0, Y0 = RNG.normal(size=3), RNG.normal(size=2)
STEPS = 7


def run(dynamics, steps=STEPS):
    traj = gd.simulate(dynamics, (jnp.asarray(X0), jnp.asarray(Y0)), steps)
    return np.asarray(traj.params[0]), np.asarray(traj.params[1])


def loop(update, steps=STEPS):
    xs, ys = [X0], [Y0]
    x, y, mem = X0, Y0, None
    for _ in range(steps):
        x, y, mem = update(x, y, mem)
        xs.append(x)
        ys.append(y)
    return np.array(xs), np.array(ys)


def check(dynamics, update, steps=STEPS):
    xs, ys = run(dynamics, steps)
    ex, ey = loop(update, steps)
    np.testing.assert_allclose(xs, ex, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(ys, ey, rtol=1e-10, atol=1e-12)


def bilinear():
    return gd.games.bilinear(A)  # built inside the test, under x64


def test_simultaneous(x64):
    check(
        gd.dynamics.simultaneous(bilinear(), optax.sgd(H)),
        lambda x, y, m: (x - H * A @ y, y + H * A.T @ x, m),
    )


def test_two_timescale_tuple_of_optimizers(x64):
    opt = (optax.sgd(H), optax.sgd(3 * H))
    check(
        gd.dynamics.simultaneous(bilinear(), opt),
        lambda x, y, m: (x - H * A @ y, y + 3 * H * A.T @ x, m),
    )


def test_alternating_discriminator_first(x64):
    def update(x, y, m):
        y = y + H * A.T @ x
        return x - H * A @ y, y, m

    check(gd.dynamics.alternating(bilinear(), optax.sgd(H)), update)
    check(gd.dynamics.alternating(bilinear(), optax.sgd(H), order=(1, 0)), update)


def test_alternating_generator_first(x64):
    # Mescheder et al. (2018) and their notebook: the generator moves first.
    def update(x, y, m):
        x = x - H * A @ y
        return x, y + H * A.T @ x, m

    check(gd.dynamics.alternating(bilinear(), optax.sgd(H), order=(0, 1)), update)
    check(gd.dynamics.alternating(bilinear(), optax.sgd(H), [0, 1]), update)


def test_alternating_order_of_three_players(x64):
    def losses(params, key=None):
        a, b, c = params
        return a * b + a * a, b * c + b * b, c * a + c * c

    game = gd.Game(init=None, losses=losses)
    p0 = (jnp.asarray(1.0), jnp.asarray(-0.5), jnp.asarray(0.3))
    got = gd.simulate(
        gd.dynamics.alternating(game, optax.sgd(H), (2, 0, 1)), p0, 1
    ).final
    a, b, c = 1.0, -0.5, 0.3
    c = c - H * (a + 2 * c)
    a = a - H * (b + 2 * a)
    b = b - H * (c + 2 * b)
    np.testing.assert_allclose([float(v) for v in got], [a, b, c], rtol=1e-12)


@pytest.mark.parametrize(
    "order, error, match",
    [
        ((0, 0), ValueError, "permutation"),
        ((0, 2), ValueError, "permutation"),
        ((0.0, 1.0), TypeError, "integer player indices"),
        (3, TypeError, "sequence of player indices"),
    ],
)
def test_alternating_bad_order(order, error, match):
    with pytest.raises(error, match=f"order: .*{match}"):
        gd.dynamics.alternating(bilinear(), optax.sgd(H), order)


def test_alternating_order_length_must_match_the_players():
    d = gd.dynamics.alternating(bilinear(), optax.sgd(H), (1, 0))
    three = (jnp.zeros(1),) * 3
    with pytest.raises(ValueError, match="order: expected a permutation of the 3"):
        d.init(three)


def test_extragradient(x64):
    def update(x, y, m):
        xt, yt = x - H * A @ y, y + H * A.T @ x
        return x - H * A @ yt, y + H * A.T @ xt, m

    check(gd.dynamics.extragradient(bilinear(), optax.sgd(H)), update)


def test_optimistic_starts_from_a_zero_previous_gradient(x64):
    # Daskalakis et al.'s code: the memory starts at zero, w_1 = w_0 - 2 h xi(w_0).
    def update(x, y, m):
        gx, gy = A @ y, -A.T @ x
        px, py = (0 * gx, 0 * gy) if m is None else m
        return x - 2 * H * gx + H * px, y - 2 * H * gy + H * py, (gx, gy)

    check(gd.dynamics.optimistic(bilinear(), optax.sgd(H)), update)


def test_optimistic_plain_first_step(x64):
    def update(x, y, m):
        gx, gy = A @ y, -A.T @ x
        px, py = (gx, gy) if m is None else m
        return x - 2 * H * gx + H * px, y - 2 * H * gy + H * py, (gx, gy)

    check(gd.dynamics.optimistic(bilinear(), optax.sgd(H), initial="plain"), update)


def consensus_update(gamma):
    def update(x, y, m):
        gx = A @ y + gamma * A @ A.T @ x
        gy = -A.T @ x + gamma * A.T @ A @ y
        return x - H * gx, y - H * gy, m

    return update


def test_consensus(x64):
    check(gd.dynamics.consensus(bilinear(), optax.sgd(H), 0.5), consensus_update(0.5))


def test_sga_is_consensus_on_bilinear(x64):
    # J is antisymmetric on a bilinear game, so A^T xi = J^T xi and the alignment
    # score is eps > 0: SGA with lambda equals consensus with gamma = lambda.
    check(gd.dynamics.sga(bilinear(), optax.sgd(H), 0.7), consensus_update(0.7))
    check(
        gd.dynamics.sga(bilinear(), optax.sgd(H), 0.7, align=False),
        consensus_update(0.7),
    )


def test_cgd(x64):
    eta = H
    m, n = A.shape

    def update(x, y, mem):
        dx = -eta * np.linalg.solve(
            np.eye(m) + eta**2 * A @ A.T, A @ y + eta * A @ A.T @ x
        )
        dy = -eta * np.linalg.solve(
            np.eye(n) + eta**2 * A.T @ A, -A.T @ x + eta * A.T @ A @ y
        )
        return x + dx, y + dy, mem

    check(gd.dynamics.cgd(bilinear(), optax.sgd(eta), eta, tol=1e-12), update)


def test_lookahead(x64):
    k, alpha = 3, 0.4

    def update(x, y, mem):
        count, sx, sy = (0, X0, Y0) if mem is None else mem
        x, y = x - H * A @ y, y + H * A.T @ x
        count += 1
        if count % k == 0:
            sx, sy = sx + alpha * (x - sx), sy + alpha * (y - sy)
            x, y = sx, sy
        return x, y, (count, sx, sy)

    inner = gd.dynamics.simultaneous(bilinear(), optax.sgd(H))
    check(gd.dynamics.lookahead(inner, k, alpha), update, steps=10)


def test_unrolled_one_step(x64):
    def update(x, y, m):
        # generator descends on f(x, y + h A^T x) = x^T A y + h x^T A A^T x
        return x - H * (A @ y + 2 * H * A @ A.T @ x), y + H * A.T @ x, m

    check(gd.dynamics.unrolled(bilinear(), optax.sgd(H), 1), update)


def test_unrolled_zero_steps_is_simultaneous(x64):
    a = run(gd.dynamics.unrolled(bilinear(), optax.sgd(H), 0))
    b = run(gd.dynamics.simultaneous(bilinear(), optax.sgd(H)))
    np.testing.assert_allclose(a[0], b[0], rtol=1e-12)


def adam_numpy(lr, b1=0.9, b2=0.999, eps=1e-8):
    def step(g, state):
        m, v, t = state if state is not None else (0 * g, 0 * g, 0)
        t += 1
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        mh, vh = m / (1 - b1**t), v / (1 - b2**t)
        return -lr * mh / (np.sqrt(vh) + eps), (m, v, t)

    return step


def test_extra_adam_matches_gidel_algorithm(x64):
    # Extra-Adam (Gidel et al. 2019, Alg. 4): both half-steps update the moments.
    adam = adam_numpy(H)

    def update(x, y, mem):
        sx, sy = (None, None) if mem is None else mem
        ux, sx = adam(A @ y, sx)
        uy, sy = adam(-A.T @ x, sy)
        xt, yt = x + ux, y + uy
        ux, sx = adam(A @ yt, sx)
        uy, sy = adam(-A.T @ xt, sy)
        return x + ux, y + uy, (sx, sy)

    check(gd.dynamics.extragradient(bilinear(), optax.adam(H)), update)


def test_optimistic_adam(x64):
    # Each update with its own bias correction; the memory starts at zero.
    adam = adam_numpy(H)

    def update(x, y, mem):
        sx, sy, prev = (None, None, None) if mem is None else mem
        ux, sx = adam(A @ y, sx)
        uy, sy = adam(-A.T @ x, sy)
        px, py = (0 * ux, 0 * uy) if prev is None else prev
        return x + 2 * ux - px, y + 2 * uy - py, (sx, sy, (ux, uy))

    check(gd.dynamics.optimistic(bilinear(), optax.adam(H)), update)


def daskalakis_optimistic_adam(lr, b1, b2, eps):
    """The reference code's optimAdam (vsyrgkanis/optimistic_GAN_training,
    script/optimizer.py) as its paper's Algorithm 1 states it:
    w_t = w_{t-1} - lr_t (2 m_t / (sqrt(v_t) + eps) - m_{t-1} / (sqrt(v_{t-1}) +
    eps)), lr_t = lr sqrt(1 - b2^t) / (1 - b1^t) for both terms, the previous
    moments zero at the first step."""

    def step(g, state):
        m, v, t = state if state is not None else (0 * g, 0 * g, 0)
        t += 1
        lr_t = lr * np.sqrt(1 - b2**t) / (1 - b1**t)
        m_t = b1 * m + (1 - b1) * g
        v_t = b2 * v + (1 - b2) * g * g
        old = m / (np.sqrt(v) + eps) if t > 1 else 0 * g  # zero memory at first
        u = -2 * lr_t * m_t / (np.sqrt(v_t) + eps) + lr_t * old
        return u, (m_t, v_t, t)

    return step


def test_optimistic_adam_with_the_reference_bias_correction(x64):
    b1, b2 = 0.5, 0.9
    ref = daskalakis_optimistic_adam(H, b1, b2, 0.0)

    def update(x, y, mem):
        sx, sy = (None, None) if mem is None else mem
        ux, sx = ref(A @ y, sx)
        uy, sy = ref(-A.T @ x, sy)
        return x + ux, y + uy, (sx, sy)

    opt = optax.adam(H, b1=b1, b2=b2, eps=0.0)
    check(gd.dynamics.optimistic(bilinear(), opt, bias_correction=(b1, b2)), update)
    # Without it, the memory keeps the previous step's bias correction: different.
    xs, _ = run(gd.dynamics.optimistic(bilinear(), opt))
    assert not np.allclose(xs, loop(update)[0], rtol=1e-6)


def test_optimistic_bad_options():
    game = bilinear()
    with pytest.raises(ValueError, match="initial"):
        gd.dynamics.optimistic(game, optax.sgd(H), initial="first")
    with pytest.raises(TypeError, match="bias_correction"):
        gd.dynamics.optimistic(game, optax.sgd(H), bias_correction=0.9)
    with pytest.raises(ValueError, match=r"bias_correction \(b2\)"):
        gd.dynamics.optimistic(game, optax.sgd(H), bias_correction=(0.9, 1.0))


def test_negative_momentum_alternating(x64):
    beta = -0.5

    def update(x, y, mem):
        mx, my = (0 * x, 0 * y) if mem is None else mem
        my = beta * my + (-A.T @ x)
        y = y - H * my
        mx = beta * mx + A @ y
        x = x - H * mx
        return x, y, (mx, my)

    check(gd.dynamics.alternating(bilinear(), optax.sgd(H, momentum=beta)), update)


# --- the Dirac-GAN, against the reference vector fields -----------------------------


def fp(t):
    return 1.0 / (1.0 + np.exp(t))


def dirac_loop(field, steps, h=0.2, alt=False, clip=None):
    th, ps = 1.0, 1.0
    out = [(th, ps)]
    for _ in range(steps):
        if alt:  # discriminator first, then the generator
            ps = ps + h * field(th, ps)[1]
            if clip is not None:
                ps = float(np.clip(ps, -clip, clip))
            th = th + h * field(th, ps)[0]
        else:
            v1, v2 = field(th, ps)
            th, ps = th + h * v1, ps + h * v2
            if clip is not None:
                ps = float(np.clip(ps, -clip, clip))
        out.append((th, ps))
    return np.array(out)


FIELDS = {
    "gan": (lambda t, p: (-p * fp(p * t), t * fp(p * t)), {}),
    "nsgan": (
        lambda t, p: (-p * fp(-p * t), t * fp(p * t)),
        {"loss": "non_saturating"},
    ),
    "r1": (
        lambda t, p: (-p * fp(p * t), t * fp(p * t) - 0.3 * p),
        {"regularizer": gd.regularizers.r1(0.3)},
    ),
    "wgan_gp": (
        lambda t, p: (-p, t - 0.7 * (abs(p) - 1.0) * np.sign(p)),
        {"loss": "wgan", "regularizer": gd.regularizers.gradient_penalty(0.7, 1.0)},
    ),
}


@pytest.mark.parametrize("name", sorted(FIELDS))
@pytest.mark.parametrize("alt", [False, True])
def test_dirac_trajectories_match_reference_fields(name, alt, x64):
    field, kwargs = FIELDS[name]
    game = gd.games.dirac_gan(**kwargs)
    rule = gd.dynamics.alternating if alt else gd.dynamics.simultaneous
    traj = gd.simulate(rule(game, optax.sgd(0.2)), game.init(None), 50)
    got = np.stack([np.asarray(traj.params[0]), np.asarray(traj.params[1])], 1)
    np.testing.assert_allclose(got, dirac_loop(field, 50, alt=alt), rtol=1e-9)


@pytest.mark.parametrize("alt", [False, True])
def test_dirac_wgan_weight_clipping(alt, x64):
    game = gd.games.dirac_gan("wgan")
    opt = (optax.sgd(0.2), optax.chain(optax.sgd(0.2), gd.transforms.clip_params(0.5)))
    rule = gd.dynamics.alternating if alt else gd.dynamics.simultaneous
    traj = gd.simulate(rule(game, opt), game.init(None), 40)
    got = np.stack([np.asarray(traj.params[0]), np.asarray(traj.params[1])], 1)
    expected = dirac_loop(lambda t, p: (-p, t), 40, alt=alt, clip=0.5)
    expected[0, 1] = 1.0  # the start is not clipped
    np.testing.assert_allclose(got, expected, rtol=1e-9)


def test_dirac_consensus_matches_reference(x64):
    gamma = 1.0

    def fp2(t):
        return -fp(t) * fp(-t)

    # The exact gradient of 1/2 ||v||^2 = 1/2 (p^2 + t^2) f'(p t)^2. (The reference
    # notebook's GAN_Consensus has 0.5 instead of 1 before the second terms.)
    def field(t, p):
        v1, v2 = -p * fp(p * t), t * fp(p * t)
        r1 = t * fp(p * t) ** 2 + p * (p**2 + t**2) * fp(p * t) * fp2(p * t)
        r2 = p * fp(p * t) ** 2 + t * (p**2 + t**2) * fp(p * t) * fp2(p * t)
        return v1 - gamma * r1, v2 - gamma * r2

    game = gd.games.dirac_gan()
    traj = gd.simulate(
        gd.dynamics.consensus(game, optax.sgd(0.2), gamma), game.init(None), 30
    )
    got = np.stack([np.asarray(traj.params[0]), np.asarray(traj.params[1])], 1)
    np.testing.assert_allclose(got, dirac_loop(field, 30), rtol=1e-9)


def test_known_qualitative_behaviour():
    """Mescheder et al. 2018: simGD diverges, altGD cycles, R1 converges."""
    game = gd.games.dirac_gan()
    p0 = game.init(None)
    dist = lambda t: float(jnp.hypot(*t.final))  # noqa: E731
    assert (
        dist(gd.simulate(gd.dynamics.simultaneous(game, optax.sgd(0.2)), p0, 500)) > 2.0
    )
    alt = dist(gd.simulate(gd.dynamics.alternating(game, optax.sgd(0.2)), p0, 500))
    assert 0.5 < alt < 2.0
    r1 = gd.games.dirac_gan(regularizer=gd.regularizers.r1(0.3))
    assert (
        dist(gd.simulate(gd.dynamics.simultaneous(r1, optax.sgd(0.2)), p0, 500)) < 1e-3
    )


def test_bad_optimizer_arguments():
    game = gd.games.dirac_gan()
    with pytest.raises(
        ValueError, match="optimizer: expected one optimizer or a tuple of 2"
    ):
        gd.dynamics.simultaneous(game, (optax.sgd(0.1),) * 3).init(game.init(None))
    with pytest.raises(TypeError, match="optimizer: expected an optax"):
        gd.dynamics.extragradient(game, 0.1)
    with pytest.raises(ValueError, match="gamma"):
        gd.dynamics.consensus(game, optax.sgd(0.1), -1.0)
    with pytest.raises(ValueError, match="sync_period"):
        gd.dynamics.lookahead(gd.dynamics.simultaneous(game, optax.sgd(0.1)), 0)
    with pytest.raises(ValueError, match="alpha"):
        gd.dynamics.lookahead(gd.dynamics.simultaneous(game, optax.sgd(0.1)), 2, 1.5)
    with pytest.raises(ValueError, match="unroll_steps"):
        gd.dynamics.unrolled(game, optax.sgd(0.1), -1)


def test_cgd_needs_two_players():
    game = gd.Game(
        init=None, losses=lambda p, key=None: (p[0] ** 2, p[1] ** 2, p[2] ** 2)
    )
    d = gd.dynamics.cgd(game, optax.sgd(0.1), 0.1)
    params = (jnp.asarray(1.0),) * 3
    with pytest.raises(ValueError, match="params: cgd is defined for two players"):
        d.step(params, d.init(params), None)


def test_stochastic_alternating_uses_fresh_keys():
    game = gd.games.dirac_gan(instance_noise=0.5, num_samples=16)
    d = gd.dynamics.alternating(game, optax.sgd(0.1))
    p0 = game.init(None)
    a = gd.simulate(d, p0, 20, key=jax.random.key(0)).final
    b = gd.simulate(d, p0, 20, key=jax.random.key(1)).final
    c = gd.simulate(d, p0, 20, key=jax.random.key(0)).final
    assert float(a[0]) != float(b[0])
    assert float(a[0]) == float(c[0])


def test_cgd_converges_below_the_gmres_breakdown_scale(x64):
    # Near the equilibrium the step's right-hand side falls below GMRES's breakdown
    # threshold; CGD must keep contracting at 1/sqrt(1 + eta^2) per step on x*y
    # (Schaefer & Anandkumar 2019) instead of stalling around 1e-17.
    eta = 0.5
    game = gd.games.bilinear(jnp.ones((1, 1)))
    dyn = gd.dynamics.cgd(game, optax.sgd(eta), eta, tol=1e-12)
    traj = gd.simulate(
        dyn,
        (jnp.ones(1), jnp.ones(1)),
        400,
        metrics=("distance",),
        equilibrium=(jnp.zeros(1), jnp.zeros(1)),
    )
    d = np.asarray(traj.metrics["distance"])
    rate = 1 / np.sqrt(1 + eta**2)
    np.testing.assert_allclose(d[-1], np.sqrt(2) * rate**400, rtol=1e-6)
    assert d[-1] < 1e-18

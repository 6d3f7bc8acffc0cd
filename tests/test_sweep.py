"""Tests of gamedyn.sweep: equality with a Python loop, chunking, caching, the
Dirac-GAN closed forms, the phase diagram and the ``gamedyn sweep`` CLI."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import outcomes
from gamedyn.cli import main
from gamedyn.plotting import phase_diagram
from gamedyn.sweep import (
    DIRAC_METHODS,
    dirac_jacobian,
    dirac_run,
    dirac_spectral_radius,
    dirac_step_matrix,
)


def _loop(fn, grid):
    """The reference: a Python loop over the Cartesian product, one jitted call each."""
    names = list(grid)
    jitted = jax.jit(fn)
    sizes = tuple(len(grid[k]) for k in names)
    outs = [
        jitted(**{k: grid[k][i] for k, i in zip(names, idx)})
        for idx in itertools.product(*(range(n) for n in sizes))
    ]
    return jax.tree.map(lambda *xs: np.stack(xs).reshape(sizes + xs[0].shape), *outs)


def _assert_trees_close(a, b, rtol):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        assert x.shape == y.shape
        np.testing.assert_allclose(x, y, rtol=rtol, atol=rtol)


def test_matches_python_loop_on_dirac_gan(x64):
    fn = dirac_run("extragradient", num_steps=60, every=6)
    grid = {"lr": np.array([0.05, 0.3, 0.9]), "gamma": np.array([0.0, 0.7])}
    out = gd.sweep(fn, grid)
    _assert_trees_close(out, _loop(fn, grid), rtol=1e-12)
    assert out["outcome"].shape == (3, 2)


def test_pytree_output_layout_and_order():
    def fn(a, b, c):
        return {"sum": a + b + c, "vec": (jnp.stack([a, b, c]), jnp.full((2, 2), a))}

    grid = {"a": [1.0, 2.0], "b": jnp.array([10.0, 20.0, 30.0]), "c": np.array([100.0])}
    out = gd.sweep(fn, grid)
    assert out["sum"].shape == (2, 3, 1)
    assert out["vec"][0].shape == (2, 3, 1, 3)
    assert out["vec"][1].shape == (2, 3, 1, 2, 2)
    a, b, c = np.meshgrid([1.0, 2.0], [10.0, 20.0, 30.0], [100.0], indexing="ij")
    np.testing.assert_array_equal(out["sum"], a + b + c)
    np.testing.assert_array_equal(out["vec"][0], np.stack([a, b, c], -1))
    assert isinstance(out["sum"], np.ndarray)


@pytest.mark.parametrize("chunk_size", [1, 4, 5, 12, 100])
def test_chunking_equals_no_chunking_and_pads(chunk_size):
    def fn(a, b):  # identity on the point: padding or misplacement shows directly
        return jnp.stack([a, b]), jnp.sin(a) * b

    grid = {"a": jnp.arange(4.0), "b": jnp.arange(3.0) + 0.5}
    whole = gd.sweep(fn, grid)
    chunked = gd.sweep(fn, grid, chunk_size=chunk_size)
    a, b = np.meshgrid(np.arange(4.0), np.arange(3.0) + 0.5, indexing="ij")
    np.testing.assert_array_equal(whole[0], np.stack([a, b], -1))
    np.testing.assert_array_equal(chunked[0], whole[0])
    np.testing.assert_allclose(chunked[1], whole[1], rtol=1e-6)


def test_second_call_reuses_the_compiled_program():
    traces = []

    def fn(lr, gamma):
        traces.append(1)
        return lr * gamma + jnp.cos(lr)

    grid = {"lr": jnp.linspace(0.1, 1.0, 7), "gamma": jnp.linspace(0.0, 2.0, 5)}
    first = gd.sweep(fn, grid, chunk_size=8)  # 5 chunks, one program
    assert len(traces) == 1
    new = {"lr": jnp.linspace(0.2, 3.0, 7), "gamma": jnp.linspace(1.0, 2.0, 5)}
    second = gd.sweep(fn, new, chunk_size=8)
    assert len(traces) == 1
    gd.sweep(fn, {"lr": jnp.linspace(0.1, 1.0, 9), "gamma": grid["gamma"]})
    assert len(traces) == 2  # new shapes: a new program
    np.testing.assert_allclose(second, _loop(fn, new), rtol=1e-6)
    assert not np.allclose(first, second)


def test_seed_axis_is_reproducible():
    def fn(key, scale):
        return scale * jax.random.normal(key, (3,))

    keys = gd.sweep_keys(0, 4)
    np.testing.assert_array_equal(
        jax.random.key_data(keys),
        jax.random.key_data(jax.random.split(jax.random.key(0), 4)),
    )
    np.testing.assert_array_equal(
        jax.random.key_data(gd.sweep_keys(jax.random.key(0), 4)),
        jax.random.key_data(keys),
    )
    grid = {"key": keys, "scale": jnp.array([1.0, 2.0])}
    out = gd.sweep(fn, grid, chunk_size=3)
    assert out.shape == (4, 2, 3)
    np.testing.assert_allclose(out, _loop(fn, grid), rtol=1e-6)
    np.testing.assert_array_equal(
        out, gd.sweep(fn, {"key": gd.sweep_keys(0, 4), "scale": grid["scale"]})
    )
    assert not np.allclose(out[0], out[1])  # different seeds, different draws
    other = gd.sweep(fn, {"key": gd.sweep_keys(1, 4), "scale": grid["scale"]})
    assert not np.allclose(out, other)


def test_diverging_configuration_leaves_a_flag_and_nan():
    fn = dirac_run("simultaneous", loss="wgan", num_steps=400, every=4)
    out = gd.sweep(fn, {"lr": np.array([0.1, 1e4]), "gamma": np.array([0.5])})
    assert out["outcome"][:, 0].tolist() == [outcomes.CONVERGED, outcomes.DIVERGED]
    assert out["diverged_step"][0, 0] == -1 and out["diverged_step"][1, 0] > 0
    assert not np.isfinite(out["distance"][1, 0])
    assert np.isfinite(out["distance"][0, 0])


def _f(lr, gamma=1.0):
    return lr * gamma


@pytest.mark.parametrize(
    "grid, match",
    [
        ({}, "grid: expected a non-empty dict"),
        ([1.0, 2.0], "grid: expected a dict"),
        ({"lr": np.ones((2, 2))}, r"grid\['lr'\]: expected a 1-D array"),
        ({"lr": 0.5}, r"grid\['lr'\]: expected a 1-D array"),
        ({"lr": []}, r"grid\['lr'\]: expected at least one value"),
        ({"lr": [1.0], "beta": [1.0]}, "key 'beta' is not an argument of fn"),
        ({"gamma": [1.0]}, r"fn's arguments \['lr'\] have no default"),
        ({"lr": ["a", "b"]}, r"grid\['lr'\]: expected numeric values"),
    ],
)
def test_bad_grid(grid, match):
    with pytest.raises(ValueError, match=match):
        gd.sweep(_f, grid)


def test_bad_settings():
    grid = {"lr": [1.0, 2.0]}
    with pytest.raises(ValueError, match="chunk_size"):
        gd.sweep(_f, grid, chunk_size=0)
    with pytest.raises(ValueError, match="devices"):
        gd.sweep(_f, grid, devices=[])
    with pytest.raises(ValueError, match="devices"):
        gd.sweep(_f, grid, devices=["cpu"])
    with pytest.raises(ValueError, match="num"):
        gd.sweep_keys(0, 0)
    with pytest.raises(ValueError, match="fn: returned PRNG keys"):
        gd.sweep(lambda seed: jax.random.key(seed), {"seed": [1, 2]})
    # fn taking **kwargs accepts any name.
    out = gd.sweep(lambda **kw: kw["x"] * 2, {"x": [1.0, 2.0]})
    np.testing.assert_array_equal(out, [2.0, 4.0])


# --- The Dirac-GAN's closed forms --------------------------------------------------


def test_dirac_jacobian_closed_form():
    np.testing.assert_allclose(
        dirac_jacobian(0.7), [[0.0, 0.5], [-0.5, 0.7]], atol=1e-7
    )  # f'(0) = 1/2 for the standard loss
    np.testing.assert_allclose(
        dirac_jacobian(0.3, loss="wgan"), [[0.0, 1.0], [-1.0, 0.3]], atol=1e-7
    )
    np.testing.assert_allclose(
        dirac_jacobian(0.3, regularizer="none"), [[0.0, 0.5], [-0.5, 0.0]], atol=1e-7
    )
    assert dirac_jacobian(np.zeros((3, 4))).shape == (3, 4, 2, 2)


def test_dirac_unregularized_spectral_radii():
    h, a = np.array([0.1, 0.5, 1.0]), 0.5
    rho = {m: dirac_spectral_radius(m, h, 0.0) for m in DIRAC_METHODS}
    np.testing.assert_allclose(rho["simultaneous"], np.sqrt(1 + (h * a) ** 2))
    np.testing.assert_allclose(rho["alternating"], 1.0)  # a rotation: cycles
    np.testing.assert_allclose(
        rho["extragradient"], np.sqrt((1 - (h * a) ** 2) ** 2 + (h * a) ** 2)
    )
    assert np.all(rho["optimistic"] < 1)
    # Consensus: J + J^T J = [[a^2, a], [-a, a^2]], eigenvalues a^2 +- i a.
    np.testing.assert_allclose(
        rho["consensus"], np.abs(1 - h * (a**2 + 1j * a)), rtol=1e-12
    )


def _dirac_dynamics(method, lr, gamma):
    game = gd.games.dirac_gan("standard", gd.regularizers.r1(gamma))
    opt = optax.sgd(lr)
    if method == "consensus":
        return gd.dynamics.consensus(game, opt, 1.0)
    return getattr(gd.dynamics, method)(game, opt)


@pytest.mark.parametrize("method", DIRAC_METHODS)
def test_step_matrix_matches_autodiff_of_the_update(method, x64):
    lr, gamma = 0.4, 0.8
    dyn = _dirac_dynamics(method, lr, gamma)
    zero = (jnp.zeros(()), jnp.zeros(()))
    state = dyn.init(zero)
    if method == "optimistic":
        state = dyn.step(zero, state, None)[1]  # started, previous update 0

        # In (w_k, w_{k-1}) coordinates the previous update is -lr J w_{k-1}.
        jac = np.asarray(dirac_jacobian(gamma))

        def step_w(z):
            prev = jnp.asarray(jac) @ z[2:]
            s = state._replace(prev_updates=(-lr * prev[0], -lr * prev[1]))
            p, _ = dyn.step((z[0], z[1]), s, None)
            return jnp.stack([p[0], p[1], z[0], z[1]])

        m = jax.jit(jax.jacfwd(step_w))(jnp.zeros(4))
    else:

        def step_w(z):
            p, _ = dyn.step((z[0], z[1]), state, None)
            return jnp.stack(p)

        m = jax.jit(jax.jacfwd(step_w))(jnp.zeros(2))
    np.testing.assert_allclose(
        dirac_step_matrix(method, lr, gamma), np.asarray(m), atol=1e-12
    )


@pytest.mark.parametrize("method", DIRAC_METHODS)
def test_spectral_radius_matches_gamedyn_analysis(method):
    # An independent numerical route: gd.analysis linearises the update rule itself.
    zero = (jnp.zeros(()), jnp.zeros(()))
    for lr, gamma in ((0.4, 0.8), (1.3, 0.2)):
        dyn = _dirac_dynamics(method, lr, gamma)
        state = dyn.init(zero)
        if method == "optimistic":
            state = dyn.step(zero, state, None)[1]
        expected = gd.analysis.spectral_radius(dyn, zero, state)
        assert float(dirac_spectral_radius(method, lr, gamma)) == pytest.approx(
            expected, rel=1e-5
        )


def test_empirical_rate_equals_the_spectral_radius(x64):
    # The WGAN Dirac-GAN is linear: the distance decays exactly at the theory's rate.
    lr, gamma = np.array([0.2, 0.5, 0.8]), np.array([0.5, 1.0])
    for method in ("simultaneous", "alternating", "extragradient", "consensus"):
        out = gd.sweep(
            dirac_run(method, loss="wgan", num_steps=300, every=3, start=(1.0, -0.3)),
            {"lr": lr, "gamma": gamma},
        )
        rho = dirac_spectral_radius(method, lr[:, None], gamma[None], loss="wgan")
        np.testing.assert_allclose(out["rate"], rho, rtol=2e-3)
        stable = rho < 0.97
        assert stable.sum() >= 3
        assert np.all(out["outcome"][stable] == outcomes.CONVERGED)


def test_dirac_outcomes_agree_with_the_boundary_away_from_it():
    lr, gamma = np.linspace(0.05, 1.6, 9), np.linspace(0.0, 2.0, 7)
    for method in ("simultaneous", "optimistic"):
        out = gd.sweep(
            dirac_run(method, loss="wgan", num_steps=600, every=6),
            {"lr": lr, "gamma": gamma},
        )
        rho = dirac_spectral_radius(method, lr[:, None], gamma[None], loss="wgan")
        far = np.abs(rho - 1) > 0.02
        assert far.sum() > 40
        converging = np.isin(out["outcome"], (outcomes.CONVERGED, outcomes.SLOW))
        np.testing.assert_array_equal(converging[far], (rho < 1)[far])


def test_dirac_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        dirac_run("sgd")
    with pytest.raises(ValueError, match="regularizer"):
        dirac_run("simultaneous", regularizer="gp")
    with pytest.raises(ValueError, match="every"):
        dirac_run("simultaneous", num_steps=10, every=6)
    with pytest.raises(ValueError, match="method"):
        dirac_spectral_radius("cgd", 0.1, 0.1)


# --- Phase diagram and CLI ---------------------------------------------------------


def test_phase_diagram_draws_outcomes_rates_and_boundary():
    import matplotlib.pyplot as plt

    lr, gamma = np.linspace(0.05, 1.5, 8), np.linspace(0.0, 2.0, 6)
    out = gd.sweep(
        dirac_run("simultaneous", loss="wgan", num_steps=200, every=4),
        {"lr": lr, "gamma": gamma},
    )
    rho = dirac_spectral_radius("simultaneous", lr[:, None], gamma[None], loss="wgan")
    ax = phase_diagram(
        out["outcome"], lr, gamma, rate=out["rate"], theory=rho, title="t"
    )
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    present = {outcomes.OUTCOMES[c] for c in np.unique(out["outcome"])}
    assert present <= set(labels) and r"theory: $\rho = 1$" in labels
    assert ax.get_title() == "t"
    with pytest.raises(ValueError, match="x: expected a 1-D array of 8"):
        phase_diagram(out["outcome"], lr[:3], gamma)
    with pytest.raises(ValueError, match="theory: expected shape"):
        phase_diagram(out["outcome"], lr, gamma, theory=rho.T)
    with pytest.raises(ValueError, match="outcome: expected codes"):
        phase_diagram(out["outcome"] + 4, lr, gamma)
    plt.close("all")


def test_cli_writes_npz_and_png(tmp_path, capsys):
    args = [
        "sweep",
        "--game",
        "dirac",
        "--method",
        "alternating",
        "--lr",
        "0.1:0.9:3",
        "--gamma",
        "0:1:2",
        "--steps",
        "60",
        "--every",
        "6",
        "--chunk-size",
        "4",
        "--out",
        str(tmp_path),
    ]
    assert main(args) == 0
    data = np.load(tmp_path / "sweep.npz")
    assert data["outcome"].shape == (3, 2) and data["theory"].shape == (3, 2)
    np.testing.assert_allclose(data["lr"], [0.1, 0.5, 0.9])
    direct = gd.sweep(
        dirac_run("alternating", num_steps=60, every=6),
        {"lr": data["lr"], "gamma": data["gamma"]},
    )
    np.testing.assert_array_equal(data["outcome"], direct["outcome"])
    assert (tmp_path / "phase.png").stat().st_size > 1000
    assert "6 configs" in capsys.readouterr().out


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--lr", "0.1:1"], "--lr: expected start:stop:num"),
        (["--gamma", "0:1:x"], "--gamma: expected start:stop:num"),
        (["--lr", "0:1:0"], "expected num >= 1"),
        (["--method", "sgd"], "invalid choice"),
        (["--steps", "0"], "--steps: expected a positive integer"),
    ],
)
def test_cli_bad_arguments(tmp_path, capsys, extra, message):
    with pytest.raises(SystemExit):
        main(["sweep", "--out", str(tmp_path), *extra])
    assert message in capsys.readouterr().err

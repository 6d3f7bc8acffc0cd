"""The Dirac-GAN phase-diagram study: closed forms against autodiff and runs, the
phase diagram."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import outcomes
from gamedyn.experiments import dirac_sweep
from gamedyn.experiments.dirac_sweep import (
    RULES,
    dirac_jacobian,
    dirac_run,
    dirac_spectral_radius,
    dirac_step_matrix,
)
from gamedyn.plotting import phase_diagram


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
    rho = {m: dirac_spectral_radius(m, h, 0.0) for m in RULES}
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


def _dirac_dynamics(rule, lr, gamma):
    game = gd.games.dirac_gan("standard", gd.regularizers.r1(gamma))
    opt = optax.sgd(lr)
    if rule == "consensus":
        return gd.dynamics.consensus(game, opt, 1.0)
    return getattr(gd.dynamics, rule)(game, opt)


@pytest.mark.parametrize("rule", RULES)
def test_step_matrix_matches_autodiff_of_the_update(rule, x64):
    lr, gamma = 0.4, 0.8
    dyn = _dirac_dynamics(rule, lr, gamma)
    zero = (jnp.zeros(()), jnp.zeros(()))
    state = dyn.init(zero)
    if rule == "optimistic":
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
        dirac_step_matrix(rule, lr, gamma), np.asarray(m), atol=1e-12
    )


@pytest.mark.parametrize("rule", RULES)
def test_spectral_radius_matches_gamedyn_analysis(rule):
    # An independent numerical route: gd.analysis linearises the update rule itself.
    zero = (jnp.zeros(()), jnp.zeros(()))
    for lr, gamma in ((0.4, 0.8), (1.3, 0.2)):
        dyn = _dirac_dynamics(rule, lr, gamma)
        state = dyn.init(zero)
        if rule == "optimistic":
            state = dyn.step(zero, state, None)[1]
        expected = gd.analysis.spectral_radius(dyn, zero, state=state)
        assert float(dirac_spectral_radius(rule, lr, gamma)) == pytest.approx(
            expected, rel=1e-5
        )


def test_empirical_rate_equals_the_spectral_radius(x64):
    # The WGAN Dirac-GAN is linear: the distance decays exactly at the theory's rate.
    lr, gamma = np.array([0.2, 0.5, 0.8]), np.array([0.5, 1.0])
    for rule in ("simultaneous", "alternating", "extragradient", "consensus"):
        out = gd.sweep(
            dirac_run(rule, loss="wgan", num_steps=300, every=3, start=(1.0, -0.3)),
            {"lr": lr, "gamma": gamma},
        )
        rho = dirac_spectral_radius(rule, lr[:, None], gamma[None], loss="wgan")
        np.testing.assert_allclose(out["rate"], rho, rtol=2e-3)
        stable = rho < 0.97
        assert stable.sum() >= 3
        assert np.all(out["outcome"][stable] == outcomes.CONVERGED)


def test_dirac_outcomes_agree_with_the_boundary_away_from_it():
    lr, gamma = np.linspace(0.05, 1.6, 9), np.linspace(0.0, 2.0, 7)
    for rule in ("simultaneous", "optimistic"):
        out = gd.sweep(
            dirac_run(rule, loss="wgan", num_steps=600, every=6),
            {"lr": lr, "gamma": gamma},
        )
        rho = dirac_spectral_radius(rule, lr[:, None], gamma[None], loss="wgan")
        far = np.abs(rho - 1) > 0.02
        assert far.sum() > 40
        converging = np.isin(out["outcome"], (outcomes.CONVERGED, outcomes.SLOW))
        np.testing.assert_array_equal(converging[far], (rho < 1)[far])


@pytest.mark.parametrize("rule", RULES)
def test_local_mode_matches_the_linear_theory_on_the_standard_loss(rule):
    # Runs start near the equilibrium by default: away from rho = 1 every rule's
    # outcome map is the linear theory's, also where the nonlinear game from (1, 1)
    # would blow up.
    lr, gamma = np.linspace(0.05, 1.6, 8), np.linspace(0.0, 2.0, 6)
    result = dirac_sweep.run(
        dirac_sweep.Config(rule=rule, lr=tuple(lr), gamma=tuple(gamma))
    )
    assert result.mode == "local" and result.start == dirac_sweep.LOCAL_START
    far = np.abs(result.theory - 1) > 0.02
    assert far.sum() > 30
    converging = np.isin(result.outcome, (outcomes.CONVERGED, outcomes.SLOW))
    np.testing.assert_array_equal(converging[far], (result.theory < 1)[far])
    assert outcomes.OUTSIDE_BASIN not in result.outcome


def test_basin_mode_marks_stable_cells_that_diverge_from_the_start(x64):
    # The cell: alternating, lr = 1, gamma = 1.7: rho = 0.862; the run from
    # (1, 1) blows up, the run from near the equilibrium converges at rho.
    rho = float(dirac_spectral_radius("alternating", 1.0, 1.7))
    assert rho == pytest.approx(0.862, abs=5e-4)
    config = dirac_sweep.Config(rule="alternating", lr=(0.5, 1.0), gamma=(0.5, 1.7))
    local = dirac_sweep.run(config)
    basin = dirac_sweep.run(config._replace(mode="basin"))
    assert basin.start == (1.0, 1.0)
    assert local.outcome.tolist() == [[outcomes.CONVERGED] * 2] * 2
    assert local.rate[1, 1] == pytest.approx(rho, rel=1e-5)
    assert basin.outcome[1, 1] == outcomes.OUTSIDE_BASIN
    assert basin.distance[1, 1] > 1e3  # it blew up
    assert basin.outcome[0].tolist() == [outcomes.CONVERGED] * 2
    assert local.agreement == 1.0 and basin.agreement == 0.75
    # From a start inside the basin, basin mode agrees with the local map.
    inside = dirac_sweep.run(config._replace(mode="basin", start=(0.1, 0.1)))
    np.testing.assert_array_equal(inside.outcome, local.outcome)
    with pytest.raises(ValueError, match="mode"):
        dirac_sweep.run(config._replace(mode="global"))


def test_phase_diagram_draws_outside_basin():
    import matplotlib.pyplot as plt

    codes = np.array([[0, 4], [1, 3]])
    ax = phase_diagram(codes, [0.1, 0.2], [0.0, 1.0])
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "outside basin" in labels and "converged" in labels
    plt.close("all")


def test_dirac_bad_arguments():
    with pytest.raises(ValueError, match="rule"):
        dirac_run("sgd")
    with pytest.raises(ValueError, match="regularizer"):
        dirac_run("simultaneous", regularizer="gp")
    with pytest.raises(ValueError, match="every"):
        dirac_run("simultaneous", num_steps=10, every=6)
    with pytest.raises(ValueError, match="rule"):
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

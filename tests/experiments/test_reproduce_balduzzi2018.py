"""The balduzzi2018 gallery entry (SGA), quick setting."""

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import balduzzi2018 as entry
from gamedyn.experiments.reproduce import verdict
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_balduzzi2018")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("balduzzi2018", quick=True)


def test_every_claim_holds(rep):
    assert [c.claim for c in rep.claims if not c.holds] == []


def _sga_loop(s, a, h, lam, steps, align=True, eps=0.1):
    # Algorithm 1 written out for the rotating game: J = s I + a [[0, 1], [-1, 0]]
    j = np.array([[s, a], [-a, s]])
    w = np.array([1.0, 1.0])
    path = [w]
    for _ in range(steps):
        xi = j @ w
        grad_h = j.T @ xi
        at_xi = 0.5 * (j.T - j) @ xi
        sign = np.sign(xi @ grad_h * (at_xi @ grad_h) / 2 + eps) if align else 1.0
        w = w - h * (xi + sign * lam * at_xi)
        path.append(w)
    return np.array(path)


def test_sga_runs_equal_algorithm_1_written_out(rep):
    panels = rep.data["panels"]
    n = len(panels["stable"]["paths"]["SGA"])
    np.testing.assert_allclose(
        panels["stable"]["paths"]["SGA"],
        _sga_loop(1.0, 10.0, 0.032, 0.1, n - 1),
        rtol=1e-10,
        atol=1e-12,
    )
    unstable = panels["unstable"]["paths"]
    np.testing.assert_allclose(
        unstable["SGA (aligned)"],
        _sga_loop(-1.0, 10.0, 0.032, 0.1, n - 1),
        rtol=1e-10,
    )
    np.testing.assert_allclose(
        unstable["SGA, lambda > 0 imposed"],
        _sga_loop(-1.0, 10.0, 0.032, 0.1, n - 1, align=False),
        rtol=1e-10,
        atol=1e-12,
    )
    # the Hamiltonian game is s = 0, a = 1
    np.testing.assert_allclose(
        panels["hamiltonian"]["paths"]["SGA"],
        _sga_loop(0.0, 1.0, 0.1, 1.0, n - 1),
        rtol=1e-10,
        atol=1e-12,
    )


def test_closed_form_rates_are_the_adjusted_jacobians():
    for s, a, lam in ((1.0, 10.0, 0.1), (0.0, 1.0, 1.0), (-1.0, 10.0, -0.1)):
        j = np.array([[s, a], [-a, s]])
        adjusted = j + lam * 0.5 * (j.T - j) @ j
        rho = np.max(np.abs(np.linalg.eigvals(np.eye(2) - 0.032 * adjusted)))
        assert entry.sga_rate(0.032, lam, s, a) == pytest.approx(rho, rel=1e-12)


def test_a_sign_claim_fails_with_the_other_sign(rep):
    c = next(c for c in rep.claims if c.paper == -1)
    assert not verdict(c.claim, 1, c.ours).holds


def test_figures_render(rep):
    figs = gallery.figures(rep)
    assert set(figs) == {"games"} and len(figs["games"].axes) == 4

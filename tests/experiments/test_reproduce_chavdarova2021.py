"""The chavdarova2021 gallery entry (lookahead-minmax), quick setting."""

import warnings

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import chavdarova2021 as entry
from gamedyn.experiments.reproduce import close
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_chavdarova2021")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("chavdarova2021", quick=True)


def test_every_claim_holds(rep):
    assert rep.name == "chavdarova2021" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def _la_matrix(step, k, alpha, extra=False):
    # one period of lookahead on x y with the state (x, y): (1 - a) I + a S^k
    j = np.array([[0.0, 1.0], [-1.0, 0.0]])  # d xi / dw of xi = (y, -x)
    s = np.eye(2) - step * j
    if extra:
        s = np.eye(2) - step * j + step**2 * j @ j
    return (1 - alpha) * np.eye(2) + alpha * np.linalg.matrix_power(s, k)


def test_rates_equal_the_numpy_period_map(rep):
    for label, extra in (("LA-GDA alpha=0.5", False), ("EG", True), ("GDA", False)):
        _, step, alpha = entry.RUNS[label]
        m = _la_matrix(step, entry.K, 1.0 if alpha is None else alpha, extra)
        rho = np.max(np.abs(np.linalg.eigvals(m))) ** (1 / entry.K)
        assert rep.data["radius"][label] == pytest.approx(rho, rel=1e-10)


def test_the_first_pair_follows_the_scalar_game(rep):
    # A = I: the pair (x_1, y_1) of the run is the game x y from (1, 0)
    p = np.array([1.0, 0.0])
    s = np.eye(2) - entry.ETA * np.array([[0.0, 1.0], [-1.0, 0.0]])
    for _ in range(30):
        p = s @ p
    np.testing.assert_allclose(rep.data["xy_paths"]["GDA"][30], p, rtol=1e-12)


def test_the_rate_claims_fail_when_the_paper_value_is_off(rep):
    rate = [c for c in rep.claims if str(c.tolerance).startswith("rtol")]
    assert rate
    for c in rate:
        off = np.asarray(c.paper, float) * (1 + 1e-2)
        assert not close(c.claim, off, c.ours, rtol=2e-3).holds


def test_figures_render_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = gallery.figures(rep)
    assert set(figs) == {"bilinear_distance", "rate_vs_k"}

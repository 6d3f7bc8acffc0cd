"""The gidel2019_negative_momentum gallery entry, quick setting."""

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import close
from gamedyn.experiments.reproduce import gidel2019_negative_momentum as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_gidel2019_negative_momentum")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("gidel2019_negative_momentum", quick=True)


def test_every_claim_holds(rep):
    assert [c.claim for c in rep.claims if not c.holds] == []


def _operator(eta, beta, alternating):
    # (theta, phi, v_theta, v_phi): heavy ball v <- beta v + g, w <- w - eta v
    first = np.array(
        [[1, -eta, -eta * beta, 0], [0, 1, 0, 0], [0, 1, beta, 0], [0, 0, 0, 1]], float
    )
    if not alternating:
        return np.array(
            [
                [1, -eta, -eta * beta, 0],
                [eta, 1, 0, -eta * beta],
                [0, 1, beta, 0],
                [-1, 0, 0, beta],
            ],
            float,
        )
    second = np.array(
        [[1, 0, 0, 0], [eta, 1, 0, -eta * beta], [0, 0, 1, 0], [-1, 0, 0, beta]], float
    )
    return second @ first


@pytest.mark.parametrize("alternating", [False, True])
@pytest.mark.parametrize("beta", [-0.9, -0.5, -0.2, 0.0, 0.3])
def test_polynomial_is_the_step_operators(beta, alternating):
    # the characteristic polynomial against the 4 x 4 step matrix, built by hand
    rho = np.max(np.abs(np.linalg.eigvals(_operator(0.5, beta, alternating))))
    assert entry.closed_rate(beta, 0.5, alternating) == pytest.approx(rho, rel=1e-9)


def test_optimal_momentum_is_the_minimum():
    beta, rho = entry.optimal_momentum(0.5)
    grid = np.linspace(-0.99, 0.5, 597)
    rates = [entry.closed_rate(b, 0.5, True) for b in grid]
    assert rho <= min(rates) + 1e-12
    assert beta == pytest.approx(grid[int(np.argmin(rates))], abs=3e-3)


def test_optimal_path_equals_an_independent_loop(rep):
    # the reference code's toy loop (x first, then y, heavy ball on each)
    label = next(k for k in rep.data["paths"] if k.startswith("β*"))
    beta, eta = rep.data["beta_star"], entry.STEP
    x, y, vx, vy = 1.0, 1.0, 0.0, 0.0
    path = [(x, y)]
    for _ in range(300):
        vx = eta * y + beta * vx
        x -= vx
        vy = eta * -x + beta * vy
        y -= vy
        path.append((x, y))
    np.testing.assert_allclose(
        rep.data["paths"][label][:301], path, rtol=1e-10, atol=1e-13
    )


def test_the_rate_claim_fails_when_off(rep):
    c = next(c for c in rep.claims if "rho*" in c.claim)
    assert not close(c.claim, c.paper + 1e-6, c.ours, rtol=1e-9).holds


def test_figures_render(rep):
    assert set(gallery.figures(rep)) == {"momentum"}

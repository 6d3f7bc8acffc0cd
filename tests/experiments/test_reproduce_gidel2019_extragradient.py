"""The gidel2019_extragradient gallery entry, quick setting."""

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import gidel2019_extragradient as entry
from gamedyn.experiments.reproduce import verdict
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_gidel2019_extragradient")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("gidel2019_extragradient", quick=True)


def test_every_claim_holds(rep):
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_paths_equal_independent_numpy_loops(rep):
    eta, (t0, p0) = entry.STEP, entry.START
    loops = {"simultaneous": [], "alternated": [], "extrapolation": []}
    for name in loops:
        t, p = t0, p0
        for _ in range(200):
            loops[name].append((t, p))
            if name == "simultaneous":
                t, p = t - eta * p, p + eta * t
            elif name == "alternated":
                t = t - eta * p
                p = p + eta * t
            else:
                tt, pp = t - eta * p, p + eta * t
                t, p = t - eta * pp, p + eta * tt
        np.testing.assert_allclose(
            rep.data["paths"][name][:200], loops[name], rtol=1e-12, atol=1e-14
        )


def test_uniform_average_and_slope():
    path = np.array([[1.0, 2.0], [3.0, 4.0], [5.0, 9.0]])
    np.testing.assert_allclose(
        entry.uniform_average(path), [[1, 2], [2, 3], [3, 5]], rtol=0
    )
    t = np.arange(1, 1001)
    assert entry.log_log_slope(3.0 / t, 100) == pytest.approx(-1.0, abs=1e-12)
    assert entry.log_log_slope(3.0 / t**2, 100) == pytest.approx(-2.0, abs=1e-12)


def test_a_verdict_claim_fails_on_the_other_outcome(rep):
    c = next(c for c in rep.claims if c.paper == "cycles")
    assert not verdict(c.claim, "converged", c.ours).holds


def test_figures_render(rep):
    assert set(gallery.figures(rep)) == {"bilinear"}

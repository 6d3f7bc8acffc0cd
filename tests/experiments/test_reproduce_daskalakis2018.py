"""The daskalakis2018 gallery entry (GD vs OMD on bilinear games), quick setting."""

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import close
from gamedyn.experiments.reproduce import daskalakis2018 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_daskalakis2018")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("daskalakis2018", quick=True)


def test_every_claim_holds(rep):
    assert rep.name == "daskalakis2018" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_runs_equal_an_independent_numpy_loop(rep):
    # Section 3's recursions written out: GD, and OMD with the memory at zero
    a = np.asarray(entry.A)
    h = entry.STEP
    x, y = (np.asarray(v, float) for v in entry.START)
    gd = [np.hypot(np.linalg.norm(x), np.linalg.norm(y))]
    for _ in range(100):
        x, y = x - h * a @ y, y + h * a.T @ x
        gd.append(np.hypot(np.linalg.norm(x), np.linalg.norm(y)))
    x, y = (np.asarray(v, float) for v in entry.START)
    gx, gy = np.zeros(2), np.zeros(2)
    omd = [np.hypot(np.linalg.norm(x), np.linalg.norm(y))]
    for _ in range(100):
        nx, ny = a @ y, -a.T @ x
        x, y = x - 2 * h * nx + h * gx, y - 2 * h * ny + h * gy
        gx, gy = nx, ny
        omd.append(np.hypot(np.linalg.norm(x), np.linalg.norm(y)))
    np.testing.assert_allclose(rep.data["distance"]["GD"][:101], gd, rtol=1e-12)
    np.testing.assert_allclose(rep.data["distance"]["OMD"][:101], omd, rtol=1e-12)


def test_the_rate_claims_fail_when_the_paper_value_is_off(rep):
    for c in rep.claims:
        if c.tolerance.startswith("rtol") and np.ndim(c.paper) == 0:
            assert not close(c.claim, c.paper * (1 + 1e-3), c.ours, rtol=1e-4).holds


def test_figures_render(rep):
    figs = gallery.figures(rep)
    assert set(figs) == {"bilinear"}
    assert len(figs["bilinear"].axes) == 3

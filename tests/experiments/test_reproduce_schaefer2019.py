"""The schaefer2019 gallery entry (competitive gradient descent), quick setting."""

import warnings

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import close
from gamedyn.experiments.reproduce import schaefer2019 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_schaefer2019")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("schaefer2019", quick=True)


def test_every_claim_holds(rep):
    assert rep.name == "schaefer2019" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_cgd_path_equals_the_section_2_update_written_out(rep):
    # the CGD update of Section 2 on alpha x y with g = -f, solved by hand:
    # Delta x = -eta (1 + eta^2 a^2)^-1 (a y + eta a^2 x), and the same for y
    a, eta = 6.0, entry.ETA
    x, y = entry.START
    path = [(x, y)]
    for _ in range(50):
        dx = -eta * (a * y + eta * a * a * x) / (1 + eta**2 * a**2)
        dy = eta * (a * x - eta * a * a * y) / (1 + eta**2 * a**2)
        x, y = x + dx, y + dy
        path.append((x, y))
    np.testing.assert_allclose(rep.data["paths"][6.0]["CGD"], path, rtol=1e-9)
    # and its multipliers are those of the rotation-contraction matrix
    m = np.array([[1.0, -eta * a], [eta * a, 1.0]]) / (1 + eta**2 * a**2)
    rho = np.max(np.abs(np.linalg.eigvals(m)))
    assert rep.data["radius_ours"][6.0]["CGD"] == pytest.approx(rho, rel=1e-10)


def test_the_rate_claims_fail_when_the_paper_value_is_off(rep):
    for c in rep.claims:
        if str(c.tolerance).startswith("rtol"):
            off = np.asarray(c.paper, float) * (1 + 1e-3)
            assert not close(c.claim, off, c.ours, rtol=1e-4).holds


def test_figures_render_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = gallery.figures(rep)
    assert set(figs) == {"fig2_bilinear", "fig3_separable", "rates"}
    assert len(figs["fig2_bilinear"].axes) == len(rep.data["alphas"])

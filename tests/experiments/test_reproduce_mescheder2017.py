"""The mescheder2017 gallery entry (consensus optimization), quick setting."""

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import close
from gamedyn.experiments.reproduce import mescheder2017 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_mescheder2017")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("mescheder2017", quick=True)


def test_every_claim_holds(rep):
    assert [c.claim for c in rep.claims if not c.holds] == []
    assert "mog" not in rep.data  # the mixture runs are in the full setting


def test_consensus_spectra_equal_the_definition(rep):
    # w' = v' - gamma v'^T v' with v' = -J the ascent Jacobian, built with NumPy
    a = np.asarray(entry.A)
    j = np.block([[np.zeros((2, 2)), a], [-a.T, np.zeros((2, 2))]])
    for gamma in rep.data["gammas"]:
        v = -j
        w = v - gamma * v.T @ v
        np.testing.assert_allclose(
            entry.as_pairs(rep.data["spectra"][str(gamma)]["ours"]),
            entry.as_pairs(np.linalg.eigvals(w)),
            atol=1e-12,
        )


def test_a_spectrum_claim_fails_when_off(rep):
    c = rep.claims[1]
    off = [[re * 1.001, im] for re, im in c.paper]
    assert not close(c.claim, off, c.ours, atol=1e-12).holds


def test_figures_render(rep):
    assert set(gallery.figures(rep)) == {"eigenvalues"}


def test_mog_figure_renders_from_small_data(rep):
    rng = np.random.default_rng(0)
    mog = {
        "steps": np.array([0, 10, 20]),
        "centers": np.stack([np.cos(np.arange(8)), np.sin(np.arange(8))], axis=1),
        "std": 0.01,
        "runs": {
            rule: {
                "samples": rng.normal(size=(3, 50, 2)),
                "modes": np.array([0, 3, 8]),
                "high_quality": np.array([0.0, 0.3, 0.9]),
            }
            for rule in ("simultaneous", "consensus")
        },
    }
    figs = gallery.figures(rep._replace(data={**rep.data, "mog": mog}))
    assert set(figs) == {"eigenvalues", "mog"} and len(figs["mog"].axes) == 6

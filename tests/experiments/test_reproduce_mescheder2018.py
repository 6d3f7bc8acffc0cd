"""The mescheder2018 gallery entry (Dirac-GAN study), quick setting."""

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import close
from gamedyn.experiments.reproduce import mescheder2018 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_mescheder2018")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("mescheder2018", quick=True)


def test_every_claim_holds(rep):
    assert [c.claim for c in rep.claims if not c.holds] == []
    verdicts = [c for c in rep.claims if c.tolerance == "verdict"]
    assert len(verdicts) == 2 * len(entry.QUICK_VARIANTS)


def test_simgd_and_altgd_equal_the_notebooks_loops(rep):
    # notebook: v1 = -psi f'(theta psi), v2 = theta f'(theta psi), f'(t) = sigmoid(-t)
    def fp(t):
        return 1.0 / (1.0 + np.exp(t))

    h = entry.STEP
    runs = {(r["rule"], r["variant"]): r for r in rep.data["runs"]}
    for rule in ("simultaneous", "alternating"):
        theta, psi = 1.0, 1.0
        path = [(theta, psi)]
        for _ in range(200):
            if rule == "simultaneous":
                d = fp(theta * psi)
                theta, psi = theta - h * psi * d, psi + h * theta * d
            else:  # the generator first, then the discriminator on the new theta
                theta = theta - h * psi * fp(theta * psi)
                psi = psi + h * theta * fp(theta * psi)
            path.append((theta, psi))
        run = runs[(rule, "gan")]
        ours = np.stack([run["theta"], run["psi"]], axis=1)[:201]
        np.testing.assert_allclose(ours, path, rtol=1e-12, atol=1e-14)


def test_closed_forms_recomputed_with_numpy():
    # the linearised operators, by hand: J (descent) = [[0, f'], [-f', 0]]
    j = np.array([[0.0, 0.5], [-0.5, 0.0]])
    h = 0.2
    sim = np.eye(2) - h * j
    gen, dis = np.diag([1.0, 0.0]), np.diag([0.0, 1.0])
    alt = (np.eye(2) - h * dis @ j) @ (np.eye(2) - h * gen @ j)
    for mine, theirs in ((sim, entry.lemma_2_4(h)), (alt, entry.lemma_2_5(h))):
        np.testing.assert_allclose(
            entry.as_pairs(np.linalg.eigvals(mine)), entry.as_pairs(theirs), atol=1e-12
        )
    # R1: the discriminator's loss gains gamma/2 psi^2: J = [[0, f'], [-f', gamma]]
    r1 = -np.linalg.eigvals(np.array([[0.0, 0.5], [-0.5, 0.3]]))
    np.testing.assert_allclose(
        entry.as_pairs(r1), entry.as_pairs(entry.penalty_eigenvalues(0.3)), atol=1e-12
    )


def test_an_eigenvalue_claim_fails_when_off(rep):
    c = rep.claims[0]
    off = [[re + 1e-6, im] for re, im in c.paper]
    assert not close(c.claim, off, c.ours, atol=1e-12).holds


def test_figures_render(rep):
    figs = gallery.figures(rep)
    assert set(figs) == {
        "fig1_unregularized",
        "fig2_altgd",
        "fig3_simgd",
        "eigenvalues",
    }
    visible = [ax for ax in figs["fig2_altgd"].axes if ax.get_visible()]
    assert len(visible) == len(entry.QUICK_VARIANTS)

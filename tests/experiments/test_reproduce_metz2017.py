"""The metz2017 gallery entry (unrolled GAN on the ring), quick setting.

The quick setting trains two GANs (one unrolled) for a few hundred steps (about 20 s
of a 2-core CPU): in the default suite, so that every entry's quick run is.
"""

import warnings

import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import metz2017 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_metz2017")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("metz2017", quick=True)


def test_every_claim_holds(rep):
    assert rep.name == "metz2017" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_snapshot_modes_recounted_with_numpy(rep):
    # a mode is covered when a sample lies within 3 std of it (nearest centre)
    c, std = rep.data["centers"], rep.data["std"]
    for k in rep.data["unroll"]:
        for j, x in enumerate(rep.data["snapshots"][k]):
            dist = np.linalg.norm(x[:, None, :] - c[None], axis=-1)
            near = dist.min(axis=1) < 3 * std
            covered = len(set(dist.argmin(axis=1)[near].tolist()))
            assert covered == rep.data["snapshot_modes"][k][0, j]


def test_the_configurations_differ_only_in_the_rule():
    plain, unrolled = entry.config(0, 16), entry.config(3, 16)
    assert (plain.rule, plain.rule_param) == ("simultaneous", None)
    assert (unrolled.rule, unrolled.rule_param) == ("unrolled", 3)
    assert plain._replace(rule="unrolled", rule_param=3) == unrolled


def test_figures_render_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = gallery.figures(rep)
    assert set(figs) == {"fig2_samples", "modes"}

"""The lin2018_pacgan gallery entry (PacGAN's Table 1), quick setting.

The quick run trains two GANs on the ring (about 12 s); the packing itself is also
checked on its own.
"""

import warnings

import jax
import numpy as np
import pytest

from gamedyn.data import mixtures
from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import lin2018_pacgan as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_lin2018_pacgan")


def test_packed_generator_is_the_generator_applied_to_each_slot():
    ring = mixtures.get("ring")
    game, generator = entry.packed_game(ring, 3, 8)
    params = jax.jit(game.init)(jax.random.key(0))
    z = jax.random.normal(jax.random.key(1), (5, 3 * entry.LATENT))
    packed = jax.jit(entry.Packed(generator, 3).apply)({"params": params[0]}, z)
    assert packed.shape == (5, 6)
    for slot in range(3):
        zs = z[:, slot * entry.LATENT : (slot + 1) * entry.LATENT]
        one = jax.jit(generator.apply)({"params": params[0]["inner"]}, zs)
        np.testing.assert_allclose(packed[:, 2 * slot : 2 * slot + 2], one, rtol=1e-6)
    # the discriminator sees 2m inputs: its first kernel has 6 rows
    kernels = [v for v in jax.tree.leaves(params[1]) if v.ndim == 2]
    assert kernels[0].shape[0] == 6
    losses = jax.jit(game.losses)(params, jax.random.key(2))
    assert all(np.isfinite(float(v)) for v in losses)


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("lin2018_pacgan", quick=True)


def test_every_claim_holds(rep):
    assert rep.name == "lin2018_pacgan" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_metrics_are_consistent(rep):
    for name, rows in rep.data["rows"].items():
        k = len(rep.data["centers"][name])
        for r in rows.values():
            assert np.all((0 <= r["modes"]) & (r["modes"] <= k))
            assert np.all((0 <= r["high_quality"]) & (r["high_quality"] <= 100))
            # no high-quality sample: the reverse KL is log K by definition
            none = r["high_quality"] == 0
            np.testing.assert_allclose(r["reverse_kl"][none], np.log(k), rtol=1e-6)


def test_figures_render_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = gallery.figures(rep)
    assert set(figs) == {"table1", "samples"}

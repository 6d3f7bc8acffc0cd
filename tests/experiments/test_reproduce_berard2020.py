"""The berard2020 gallery entry (path-angle and spectra of a GAN), quick setting.

The quick run trains a GAN and computes its spectra (about 11 s); the game is also
checked on its own.
"""

import warnings

import jax
import numpy as np
import pytest

from gamedyn.experiments import reproduce
from gamedyn.experiments.reproduce import berard2020 as entry
from gamedyn.plotting import gallery

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_reproduce_berard2020")


@pytest.fixture(scope="module")
def rep():
    return reproduce.run("berard2020", quick=True)


def test_the_game_is_deterministic_on_the_mixture(x64):
    game, x = entry.mixture_game(64, 4, 2)
    assert x.shape == (64,) and abs(x.mean()) < 1.0
    # both modes are drawn, at -2 and 2 with std 1
    assert (x < 0).sum() > 10 and (x > 0).sum() > 10
    params = jax.jit(game.init)(jax.random.key(0))
    losses = jax.jit(game.losses)
    one, two = losses(params, jax.random.key(1)), losses(params, jax.random.key(2))
    assert [float(a) for a in one] == [float(b) for b in two]  # one fixed batch


def test_every_claim_holds(rep):
    assert rep.name == "berard2020" and rep.quick
    assert [c.claim for c in rep.claims if not c.holds] == []


def test_arpack_top_k_matches_the_dense_spectrum(rep):
    # two independent routes: ARPACK on Jacobian-vector products and LAPACK on the
    # dense Jacobian give the same top-k eigenvalues at the end
    dense = np.asarray(rep.data["spectrum_end"])
    dense = dense[np.argsort(-np.abs(dense))][: entry.K]
    top = np.asarray(rep.data["game_eigs"]["end"])
    key = lambda v: (round(abs(v), 6), round(v.imag, 6))  # noqa: E731
    np.testing.assert_allclose(
        sorted(top, key=key), sorted(dense, key=key), rtol=1e-6, atol=1e-8
    )


def test_path_angle_ends_at_the_trained_params(rep):
    # alpha = 0 and 1 are the start and the end: the norm dips at the end
    alpha, norm = rep.data["alpha"], rep.data["grad_norm"]
    at = lambda a: norm[np.argmin(np.abs(alpha - a))]  # noqa: E731
    assert at(1.0) < entry.STATIONARY * at(0.0)
    assert np.all(np.abs(rep.data["cosine"]) <= 1 + 1e-12)


def test_figures_render_without_warnings(rep):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        figs = gallery.figures(rep)
    assert set(figs) == {"path_angle", "eigenvalues", "samples"}

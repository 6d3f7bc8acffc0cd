"""The Dirac-GAN study: paper mode against an independent NumPy transcription of
the reference notebook's simulator (LMescheder/GAN_stability, notebooks/diracgan),
and the one outcome judge."""

import jax
import numpy as np
import pytest

from gamedyn import outcomes
from gamedyn.experiments import dirac

# One worker runs the whole module: its module fixture is computed once.
pytestmark = pytest.mark.xdist_group("test_experiments_dirac")

# --- The reference notebook's vector fields and simulators, written from its
# formulas: v = -xi (the ascent convention), f'(t) = sigmoid(-t).


def fp(t):
    return 1.0 / (1.0 + np.exp(t))


def fp2(t):
    return -fp(t) * fp(-t)


def gan(t, p):
    return -p * fp(p * t), t * fp(p * t)


def nsgan(t, p):
    return -p * fp(-p * t), t * fp(p * t)


def wgan(t, p):
    return -p, t


def wgan_gp(reg, target):
    return lambda t, p: (-p, t - reg * (abs(p) - target) * np.sign(p))


def penalty(field, reg):
    def v(t, p):
        v1, v2 = field(t, p)
        return v1, v2 - reg * p

    return v


def notebook_consensus(reg):
    def v(t, p):
        v1, v2 = gan(t, p)
        r1 = t * fp(p * t) ** 2 + 0.5 * p * (p**2 + t**2) * fp(p * t) * fp2(p * t)
        r2 = p * fp(p * t) ** 2 + 0.5 * t * (p**2 + t**2) * fp(p * t) * fp2(p * t)
        return v1 - reg * r1, v2 - reg * r2

    return v


NOTEBOOK = {  # variant: (field, clip)
    "gan": (gan, None),
    "nsgan": (nsgan, None),
    "wgan": (wgan, 1.0),
    "wgan_gp": (wgan_gp(0.7, 1.0), None),
    "r1": (penalty(gan, 0.3), None),
    "r1_critical": (penalty(gan, 1.0), None),
    "consensus": (notebook_consensus(1.0), None),
    "nsgan_r1": (penalty(nsgan, 0.3), None),
}


def simgd(field, clip, steps, h=0.2):
    t, p = 1.0, 1.0
    out = [(t, p)]
    for _ in range(steps):
        v1, v2 = field(t, p)
        t, p = t + h * v1, p + h * v2
        if clip is not None:
            p = float(np.clip(p, -clip, clip))
        out.append((t, p))
    return np.array(out)


def altgd(field, clip, steps, h=0.2):
    t, p = 1.0, 1.0
    out = [(t, p)]
    for _ in range(steps):
        t = t + h * field(t, p)[0]  # the generator first
        p = p + h * field(t, p)[1]  # then the discriminator, on the new theta
        if clip is not None:
            p = float(np.clip(p, -clip, clip))
        out.append((t, p))
    return np.array(out)


@pytest.fixture(scope="module")
def paper_runs():
    config = dirac.Config(paper=True, variants=tuple(NOTEBOOK), field_points=2)
    return {(r.rule, r.variant): r for r in dirac.run(config)}


@pytest.mark.parametrize("variant", sorted(NOTEBOOK))
@pytest.mark.parametrize("rule", ["simultaneous", "alternating"])
def test_paper_mode_reproduces_the_notebook(paper_runs, rule, variant):
    field, clip = NOTEBOOK[variant]
    want = (simgd if rule == "simultaneous" else altgd)(field, clip, 500)
    traj = paper_runs[rule, variant].trajectory
    got = np.stack([np.asarray(traj.params[0]), np.asarray(traj.params[1])], 1)
    assert got.dtype == np.float64
    scale = np.max(np.abs(want), axis=0)
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-9 * scale.max())


def test_paper_mode_one_step_is_generator_first():
    # The numbers: one alternating step from (1, 1) with h = 0.2.
    config = dirac.Config(paper=True, rules=("alternating",), variants=("gan",))
    config = config._replace(steps=1, field_points=2)
    (run,) = dirac.run(config)
    np.testing.assert_allclose(run.final, (0.94621, 1.05292), atol=5e-6)
    (default,) = dirac.run(config._replace(paper=False))
    np.testing.assert_allclose(default.final, (0.94552, 1.05379), atol=5e-6)


def test_paper_mode_default_runs_and_conventions():
    config = dirac.Config(paper=True)
    todo = dirac.runs(config)
    assert [(r, v) for r, v, _ in todo] == [
        (r, v) for r in ("simultaneous", "alternating") for v in dirac.PAPER_VARIANTS
    ]
    consensus = [x for _, v, x in todo if v == "consensus"]
    assert all(x.consensus_form == "notebook" for x in consensus)
    assert "generator first" in dirac.conventions(config)
    assert "discriminator first" in dirac.conventions(dirac.Config())
    # The default study keeps its 16 runs.
    assert len(dirac.runs(dirac.Config())) == 16


def test_notebook_consensus_field_is_exact_to_first_order(x64):
    import gamedyn as gd

    game = dirac.notebook_consensus_game(1.0)
    for point in [(1.0, 1.0), (0.3, -0.7), (-1.2, 0.4)]:
        xi = gd.vector_field(game)(tuple(np.asarray(x) for x in point))
        v = notebook_consensus(1.0)(*point)
        np.testing.assert_allclose([float(x) for x in xi], [-v[0], -v[1]], rtol=1e-13)


def test_outcomes_come_from_the_one_judge():
    config = dirac.Config(rules=("extragradient", "alternating"), variants=("gan",))
    config = config._replace(field_points=2)
    results = dirac.run(config)
    for r in results:
        want = outcomes.classify_runs(
            r.trajectory.metrics["distance"],
            tol=config.tol,
            growth=config.growth,
            tail=config.tail,
            shrink=config.shrink,
        )
        assert r.outcome == outcomes.OUTCOMES[int(want)]
    got = {r.rule: r.outcome for r in results}
    # Extragradient on the plain GAN approaches at ~0.995 per step: slow, not
    # converged; alternating GD circles.
    assert got == {"extragradient": "slow", "alternating": "cycles"}


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"paper": 1}, TypeError, "paper"),
        ({"tol": 0.0}, ValueError, "tol"),
        ({"growth": 1.0}, ValueError, "growth"),
        ({"shrink": 1.0}, ValueError, "shrink"),
        ({"variants": ("r3",)}, ValueError, "variants"),
        (
            {"paper": True, "custom": dirac.Variant(loss="wgan", consensus=1.0)},
            ValueError,
            "consensus_form",
        ),
    ],
)
def test_bad_config(kwargs, error, match):
    with pytest.raises(error, match=match):
        dirac.check(dirac.Config(**kwargs))


def test_summary_names_the_conventions_and_the_judge():
    config = dirac.Config(paper=True, rules=("simultaneous",), variants=("r1",))
    config = config._replace(steps=20, field_points=2)
    summary = dirac.summary(config, dirac.run(config))
    assert summary["paper"] is True
    assert "generator first" in summary["conventions"]
    assert summary["judge"]["function"] == "gamedyn.outcomes.classify_runs"
    assert summary["runs"][0]["consensus_form"] == "exact"
    assert jax.numpy.zeros(()).dtype == np.float32  # paper mode left x64 off

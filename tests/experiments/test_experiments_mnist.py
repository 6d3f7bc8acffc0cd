"""gamedyn.experiments.mnist: config checks, registry-built rules, run() with exact
resume, evaluation, spectra and divergence."""

import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import gamedyn as gd
from gamedyn import io
from gamedyn.experiments import mnist as ex
from gamedyn.games.mnist import mnist_gan, sample_images

HAS_MNIST = os.path.isfile(
    os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
)
needs_mnist = pytest.mark.skipif(not HAS_MNIST, reason="needs mnist.npz")
DEFAULTS = ex.Config(width=8, latent_dim=4, batch_size=16, train_size=256)
"""`gamedyn mnist`'s defaults (R1, the generator's average) on a tiny network."""
TINY = DEFAULTS._replace(regularizer="none", ema=0.0)
"""The plain GAN on a tiny network: cheaper to compile, for the tests that are not
about the defaults."""


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (64, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, (64,), dtype=np.uint8)
    return x, y


@pytest.fixture(scope="session")
def quick_classifier(tmp_path_factory):
    """A classifier trained briefly on 4096 images, cached for the session (the same
    file as the one of tests/metrics/test_classifier.py)."""
    path = tmp_path_factory.getbasetemp() / "gamedyn_quick_classifier.msgpack"
    if not path.exists():
        gd.models.save_classifier(
            str(path), gd.models.train_classifier(train_size=4096, epochs=2)
        )
    return gd.models.load_classifier(str(path))


def _equal(a, b) -> bool:
    return all(
        jax.tree.leaves(jax.tree.map(lambda u, v: bool(np.array_equal(u, v)), a, b))
    )


def test_config_defaults():
    cfg = ex.Config()
    # The settings of docs/mnist.md's defaults search.
    assert (cfg.model, cfg.loss, cfg.regularizer, cfg.gamma) == (
        "mlp",
        "non_saturating",
        "r1",
        1.0,
    )
    assert (cfg.rule, cfg.rule_param, cfg.optimizer) == ("simultaneous", None, "adam")
    assert (cfg.lr_g, cfg.lr_d, cfg.beta1, cfg.beta2, cfg.momentum) == (
        5e-4,
        5e-4,
        0.5,
        0.999,
        0.0,
    )
    assert cfg.ema == 0.999 and ex.DEFAULT_STEPS == 40000
    assert (cfg.batch_size, cfg.latent_dim, cfg.width, cfg.seed) == (64, 64, None, 0)
    assert ex.check(cfg) is None


@pytest.mark.parametrize(
    "change,error,message",
    [
        (dict(lr_g=float("nan")), ValueError, "lr_g: expected a finite number"),
        (dict(lr_d=0.0), ValueError, "lr_d: expected a finite number in"),
        (dict(beta1=5.0), ValueError, r"beta1: expected a finite number in \[0.0"),
        (dict(beta2=1.0), ValueError, "beta2: expected"),
        (dict(gamma=-1.0), ValueError, "gamma: expected"),
        (dict(instance_noise=float("inf")), ValueError, "instance_noise: expected"),
        (dict(rule="unrolled", rule_param=0.5), TypeError, r"rule_param \(unrolled"),
        (dict(rule_param=1.0), ValueError, "rule_param: the rule 'simultaneous'"),
        (dict(rule="nope"), ValueError, "rule: expected one of"),
        (dict(loss="nope"), ValueError, "loss: expected one of"),
        (dict(model="resnet"), ValueError, "model: expected one of"),
        (dict(optimizer="lion"), ValueError, "optimizer: expected one of"),
        (dict(regularizer="sn"), ValueError, "regularizer: expected one of"),
        (dict(train_size=10), ValueError, r"train_size: expected an integer in \[64"),
        (dict(batch_size=0), ValueError, "batch_size: expected an integer >= 1"),
        (dict(width=2.5), TypeError, "width: expected an integer"),
        (dict(conditional="yes"), TypeError, "conditional: expected a bool"),
        (dict(seed=-1), ValueError, "seed: expected an integer >= 0"),
    ],
)
def test_check_names_the_bad_field(change, error, message):
    with pytest.raises(error, match=message):
        ex.check(ex.Config()._replace(**change))


def _steps(dyn, params, n):
    return gd.simulate(dyn, params, n, jax.random.key(0), record_params=False).final


def test_rules_come_from_the_registry(data):
    """The rule's default number is the registry's: consensus gamma 1.0 (it was 0.1
    before the registry) and lookahead over alternating steps."""
    adam = gd.optimizers.make("adam", ex.Config().lr_g)
    small = dict(width=4, latent_dim=2, batch_size=4)
    gan, dyn = ex.build(ex.Config(rule="consensus", **small), data)
    p0 = gan.game.init(jax.random.key(1))
    got = _steps(dyn, p0, 2)
    assert not _equal(got, p0)
    ref = gd.dynamics.consensus(gan.game, (adam, adam), 1.0)
    assert _equal(got, _steps(ref, p0, 2))
    old = gd.dynamics.consensus(gan.game, (adam, adam), 0.1)
    assert not _equal(got, _steps(old, p0, 2))

    gan, dyn = ex.build(ex.Config(rule="lookahead", **small), data)
    ref = gd.dynamics.lookahead(gd.dynamics.alternating(gan.game, (adam, adam)), 5, 0.5)
    assert _equal(_steps(dyn, p0, 5), _steps(ref, p0, 5))


def test_optimizers_and_regularizer_follow_the_config(data):
    # SGD with momentum: -lr g, then -lr (1 + momentum) g.
    opt_g, opt_d = ex.make_optimizers(
        ex.Config(optimizer="sgd", lr_g=0.1, lr_d=0.2, momentum=0.5)
    )
    g = jnp.ones(2)
    u1, s = opt_d.update(g, opt_d.init(g))
    u2, _ = opt_d.update(g, s)
    np.testing.assert_allclose(u1, -0.2 * g)
    np.testing.assert_allclose(u2, -0.2 * 1.5 * g)
    np.testing.assert_allclose(opt_g.update(g, opt_g.init(g))[0], -0.1 * g)
    assert isinstance(opt_g, optax.GradientTransformation)

    # The unrolled rule's Adam keeps the derivative of its step finite where a
    # gradient is exactly 0 (eps_root); the other rules' Adam does not.
    def update_derivative(cfg):
        opt = ex.make_optimizers(cfg)[1]
        return jax.grad(lambda g: opt.update(g, opt.init(g))[0].sum())(jnp.zeros(2))

    assert np.all(np.isfinite(update_derivative(ex.Config(rule="unrolled"))))
    assert not np.all(np.isfinite(update_derivative(ex.Config())))

    # The regularizer and its weight reach the game.
    gan, _ = ex.build(
        ex.Config(regularizer="r1", gamma=3.0, width=4, latent_dim=2, batch_size=4),
        data,
    )
    ref = mnist_gan(
        "mlp",
        regularizer=gd.regularizers.r1(3.0),
        width=4,
        latent_dim=2,
        batch_size=4,
        data=data,
    )
    p0 = gan.game.init(jax.random.key(2))
    np.testing.assert_array_equal(
        gan.game.losses(p0, jax.random.key(3)), ref.game.losses(p0, jax.random.key(3))
    )


@needs_mnist
def test_run_resumes_exactly_and_reports_through_progress(tmp_path, capsys):
    a, b = str(tmp_path / "a"), str(tmp_path / "b")
    kw = dict(chunk=4, checkpoint_every=4, fid_samples=0)
    events_a, events_b = [], []
    ra = ex.run(
        DEFAULTS, a, target_step=8, progress=lambda *e: events_a.append(e), **kw
    )
    assert ra.resumed_from is None and int(ra.state.step) == 8
    assert [(e[0], e[1], e[2]) for e in events_a] == [("train", 4, 8), ("train", 8, 8)]
    ex.run(DEFAULTS, b, target_step=4, **kw)
    rb = ex.run(
        DEFAULTS, b, target_step=8, progress=lambda *e: events_b.append(e), **kw
    )
    assert rb.resumed_from == 4
    assert events_b[0] == (
        "resume",
        4,
        8,
        {"path": os.path.join(b, "checkpoint_000000004.msgpack")},
    )
    assert [e[:3] for e in events_b[1:]] == [("train", 8, 8)]
    # Bitwise the unbroken run: state, evaluation and samples.
    assert _equal(ra.state, rb.state)
    for key in ("step", "loss_g", "loss_d", "diverged", "config"):
        assert ra.metrics[key] == rb.metrics[key], key
    np.testing.assert_array_equal(ra.samples, rb.samples)
    assert ra.samples.shape == (100, 28, 28, 1) and ra.spectra == []
    assert ra.metrics["step"] == 8 and ra.metrics["diverged"] is False
    # The reported losses are the players' losses on the fixed evaluation batch.
    gan, _ = ex.build(DEFAULTS)
    losses = gan.game.losses(ra.state.params, ex.keys(DEFAULTS.seed)[2])
    np.testing.assert_allclose(
        [ra.metrics["loss_g"], ra.metrics["loss_d"]], losses, rtol=1e-5
    )
    with open(os.path.join(b, "config.json")) as f:
        assert json.load(f) == DEFAULTS._asdict()
    assert [s for s, _ in io.list_checkpoints(b)] == [4, 8]
    assert capsys.readouterr().out == ""  # library code never prints
    # Refusals, before any training.
    with pytest.raises(ValueError, match="out_dir: .* lr_g=0.0005, this one has lr_g"):
        ex.run(DEFAULTS._replace(lr_g=0.1), b, target_step=12, **kw)
    with pytest.raises(ValueError, match="target_step: .* after step 2"):
        ex.run(DEFAULTS, str(tmp_path / "a"), target_step=2, **kw)
    with pytest.raises(ValueError, match="fid_samples: expected 0 or an integer >= 2"):
        ex.run(DEFAULTS, b, target_step=8, fid_samples=1)
    with pytest.raises(ValueError, match="classifier: no classifier file at"):
        ex.run(DEFAULTS, b, target_step=8, classifier=str(tmp_path / "none.msgpack"))
    assert [s for s, _ in io.list_checkpoints(b)] == [4, 8]


@needs_mnist
def test_run_evaluates_logs_fids_and_computes_spectra(tmp_path, quick_classifier):
    cfg = TINY._replace(conditional=True)
    out = str(tmp_path / "c")
    stages = []
    r = ex.run(
        cfg,
        out,
        target_step=4,
        chunk=2,
        checkpoint_every=2,
        fid_samples=200,
        fid_every=2,
        fid_log_samples=100,
        classifier=quick_classifier,
        spectrum=2,
        progress=lambda stage, done, total, info: stages.append((stage, done, total)),
    )
    m = r.metrics
    assert m["fid_samples"] == 200 and m["num_samples"] == 200
    assert math.isfinite(m["fid"]) and m["fid"] > 0
    assert 1.0 <= m["inception_score"] <= 10.0 and sum(m["class_counts"]) == 200
    assert m["classifier_test_accuracy"] == quick_classifier.test_accuracy
    assert m["spectrum_steps"] == [2, 4]
    assert [r_["step"] for r_ in r.spectra] == [2, 4]
    for rec in r.spectra:
        assert len(rec["jacobian"]) == 2 and len(rec["hessian_d_top"]) == 2
        assert rec["hessian_g_top"][0] >= rec["hessian_g_bottom"][0]
        # which="LI": no eigenvalue of the top-k by magnitude rotates faster
        assert len(rec["jacobian_imag"]) == 2
        most = max(abs(im) for _, im in rec["jacobian_imag"])
        assert most >= max(abs(im) for _, im in rec["jacobian"]) * (1 - 1e-6)
        assert rec["rotation"] == ex.rotation_share(rec["jacobian"])
    assert [r_["step"] for r_ in io.read_log(out) if "fid" in r_] == [2, 4]
    assert io.read_json(os.path.join(out, "metrics.json")) == io.jsonable(m)
    assert io.read_json(os.path.join(out, "spectrum.json")) == io.jsonable(r.spectra)
    assert stages == [
        ("train", 2, 4),
        ("train", 4, 4),
        ("spectra", 1, 2),
        ("spectra", 2, 2),
    ]
    # Conditional samples: row i of the 10 x 10 grid holds digit i.
    gan, _ = ex.build(cfg)
    raw = sample_images(
        gan, r.state.params, r.state.model_state, ex.keys(cfg.seed)[3], 100
    )
    np.testing.assert_array_equal(r.samples[:10], raw[0::10])
    # K must be below each player's parameter count; refused before training.
    n_g, n_d = ex.num_params(gan)
    assert n_d == sum(x.size for x in jax.tree.leaves(r.state.params[1]))
    with pytest.raises(ValueError, match=f"spectrum: expected an integer < {n_d}"):
        ex.run(cfg, str(tmp_path / "d"), target_step=2, spectrum=n_d, fid_samples=0)
    assert not os.path.exists(str(tmp_path / "d" / "config.json"))


@needs_mnist
def test_a_diverged_run_is_reported_not_raised(tmp_path):
    cfg = TINY._replace(optimizer="sgd", lr_g=1e30, lr_d=1e30, loss="wgan")
    out = str(tmp_path / "nan")
    r = ex.run(cfg, out, target_step=8, chunk=4, fid_samples=0, spectrum=2)
    assert int(r.state.step) == 4  # stopped after the chunk that diverged
    assert r.metrics["diverged"] is True and r.metrics["diverged_step"] == 2
    # No spectra, and why; the evaluation is written all the same (strict JSON).
    assert r.spectra == [] and r.metrics["spectrum_steps"] == []
    assert r.metrics["spectrum_skipped"] == "the run diverged at step 2: no spectra"
    with open(os.path.join(out, "metrics.json")) as f:
        written = json.loads(f.read(), parse_constant=lambda c: pytest.fail(c))
    assert written == io.jsonable(r.metrics) and written["loss_g"] is None
    assert io.read_json(os.path.join(out, "spectrum.json")) == []
    assert io.read_log(out)[-1]["diverged_step"] == 2
    # Resuming the diverged run does not train further and says so again.
    again = ex.run(cfg, out, target_step=12, chunk=4, fid_samples=0)
    assert again.resumed_from == 4 and int(again.state.step) == 4
    assert again.metrics["diverged_step"] == 2


def test_bad_run_arguments(tmp_path):
    file = tmp_path / "file"
    file.write_text("")
    with pytest.raises(ValueError, match="out_dir: .* is not a directory"):
        ex.run(TINY, str(file), target_step=1, fid_samples=0)
    with pytest.raises(ValueError, match="target_step: expected an integer >= 0"):
        ex.run(TINY, str(tmp_path), target_step=-1)
    with pytest.raises(ValueError, match="chunk: expected an integer >= 1"):
        ex.run(TINY, str(tmp_path), target_step=1, chunk=0)
    with pytest.raises(TypeError, match="classifier: expected a Classifier"):
        ex.run(TINY, str(tmp_path), target_step=1, classifier=3)
    with pytest.raises(TypeError, match="progress: expected a callable"):
        ex.run(TINY, str(tmp_path), target_step=1, progress=True)
    with pytest.raises(ValueError, match="lr_g: expected"):
        ex.run(TINY._replace(lr_g=-1.0), str(tmp_path), target_step=1)
    assert os.listdir(tmp_path) == ["file"]


def test_resolved_fills_the_defaults(data):
    """An explicit default is the default: the same resolved settings, the same
    game."""
    base = ex.resolved(ex.Config())
    assert (base.width, base.rule_param, base.train_size) == (256, None, 60000)
    assert ex.resolved(ex.Config(width=256)) == base
    assert ex.resolved(ex.Config(train_size=60000)) == base
    assert ex.resolved(ex.Config(width=128)) != base
    assert ex.resolved(ex.Config(model="dcgan")).width == 64
    assert ex.resolved(ex.Config(rule="consensus")).rule_param == 1.0
    assert ex.resolved(ex.Config(rule="cgd", lr_g=0.1)).rule_param == 0.1
    unrolled = ex.resolved(ex.Config(rule="unrolled", rule_param=5.0))
    assert unrolled == ex.resolved(ex.Config(rule="unrolled"))
    assert type(unrolled.rule_param) is int
    small = dict(latent_dim=2, batch_size=4)
    for model, width in ex.DEFAULT_WIDTH.items():  # the game's own defaults
        implicit = ex.num_params(ex.build(ex.Config(model=model, **small), data)[0])
        explicit = ex.build(ex.Config(model=model, width=width, **small), data)[0]
        assert implicit == ex.num_params(explicit), model
    with pytest.raises(ValueError, match="lr_g: expected"):
        ex.resolved(ex.Config(lr_g=-1.0))


@needs_mnist
def test_settings_are_compared_resolved(tmp_path):
    """config.json with the implicit default width accepts an explicit
    ``width=256`` and refuses ``width=128``; both before any training (here the run
    is then refused because its log reached step 10)."""
    out = tmp_path / "r"
    out.mkdir()
    cfg = TINY._replace(width=None)
    io.write_json(str(out / "config.json"), cfg._asdict())
    io.append_log(str(out), {"step": 10})
    with pytest.raises(ValueError, match=r"target_step: .* reached step 10, after"):
        ex.run(cfg._replace(width=256), str(out), target_step=0, fid_samples=0)
    with pytest.raises(ValueError, match="width=256, this one has width=128"):
        ex.run(cfg._replace(width=128), str(out), target_step=0, fid_samples=0)
    # A run of a version before the `ema` field stored none: it had no average.
    old = tmp_path / "old"
    old.mkdir()
    io.write_json(
        str(old / "config.json"),
        {k: v for k, v in DEFAULTS._asdict().items() if k != "ema"},
    )
    with pytest.raises(ValueError, match="ema=0.0, this one has ema=0.999"):
        ex.run(DEFAULTS, str(old), target_step=0, fid_samples=0)
    other = tmp_path / "o"
    other.mkdir()
    io.write_json(str(other / "metrics.json"), {"config": {"dataset": "ring"}})
    with pytest.raises(ValueError, match="metrics.json does not hold the settings"):
        ex.run(TINY, str(other), target_step=0, fid_samples=0)
    assert sorted(os.listdir(other)) == [".gamedyn.lock", "metrics.json"]


@needs_mnist
@pytest.mark.slow
def test_seeds_train_together_as_their_single_runs(tmp_path, quick_classifier):
    """Seed i of a 2-seed run equals the 1-seed run with that seed (to float
    rounding): state, losses, FID; metrics.json holds both and their mean and
    standard deviation; a resumed 2-seed run equals the unbroken one bitwise."""
    cfg = TINY._replace(seed=3, seeds=2)
    kw = dict(
        chunk=4,
        checkpoint_every=4,
        fid_samples=100,
        classifier=quick_classifier,
    )
    a = str(tmp_path / "a")
    many = ex.run(cfg, a, target_step=8, **kw)
    alone = ex.run(TINY._replace(seed=4), str(tmp_path / "one"), target_step=8, **kw)
    jax.tree.map(
        lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6),
        gd.train.select_run(many.state, 1),
        alone.state,
    )
    m = many.metrics
    assert m["seeds"] == [3, 4] and [p["seed"] for p in m["per_seed"]] == [3, 4]
    for key in ("loss_g", "loss_d", "fid", "inception_score"):
        np.testing.assert_allclose(
            m["per_seed"][1][key], alone.metrics[key], rtol=1e-3, err_msg=key
        )
        values = [p[key] for p in m["per_seed"]]
        assert values[0] != values[1], key
        np.testing.assert_allclose(m["mean"][key], np.mean(values), rtol=1e-12)
        np.testing.assert_allclose(m["std"][key], np.std(values, ddof=1), rtol=1e-12)
    assert m["per_seed"][1]["class_counts"] == alone.metrics["class_counts"]
    assert m["diverged"] is False and m["diverged_seeds"] == []
    assert io.read_json(os.path.join(a, "metrics.json")) == io.jsonable(m)
    assert many.samples.shape == (2, 100, 28, 28, 1)
    np.testing.assert_allclose(many.samples[1], alone.samples, atol=1e-5)
    log = io.read_log(a)
    assert [len(r["loss_g"]) for r in log] == [2, 2]
    # Killed after step 4, resumed: the unbroken run, bitwise.
    b = str(tmp_path / "b")
    ex.run(cfg, b, target_step=4, **kw)
    again = ex.run(cfg, b, target_step=8, **kw)
    assert again.resumed_from == 4
    assert _equal(again.state, many.state)
    assert again.metrics["per_seed"] == m["per_seed"]
    with pytest.raises(ValueError, match="out_dir: .* seeds=2, this one has seeds=3"):
        ex.run(cfg._replace(seeds=3), b, target_step=12, **kw)


@needs_mnist
@pytest.mark.slow
def test_seeds_that_all_diverge_stop_the_run(tmp_path):
    cfg = TINY._replace(optimizer="sgd", lr_g=1e30, lr_d=1e30, loss="wgan", seeds=2)
    r = ex.run(
        cfg, str(tmp_path / "nan"), target_step=8, chunk=4, fid_samples=0, spectrum=2
    )
    assert int(r.state.step) == 4
    m = r.metrics
    assert m["diverged"] is True and m["diverged_seeds"] == [0, 1]
    assert [p["diverged_step"] for p in m["per_seed"]] == [2, 2]
    assert m["mean"]["loss_g"] is None and m["std"]["loss_g"] is None
    assert m["spectrum_skipped"] == "every seed diverged: no spectra"


def test_rotation_share_and_summary():
    assert ex.rotation_share([1.0, -2.0]) == 0.0
    assert ex.rotation_share([2j, -2j]) == 1.0
    np.testing.assert_allclose(ex.rotation_share([[3.0, 4.0], [3.0, -4.0]]), 0.8)
    assert math.isnan(ex.rotation_share([]))
    s = ex.summarize(
        [
            {"seed": 0, "fid": 10.0, "diverged": False},
            {"seed": 1, "fid": 14.0, "diverged": False},
            {"seed": 2, "fid": None, "diverged": True},
        ]
    )
    assert s["mean"] == {"fid": 12.0} and s["std"] == {"fid": math.sqrt(8.0)}
    assert s["num_seeds"] == 3 and s["diverged_seeds"] == [2]
    with pytest.raises(ValueError, match="seeds: expected an integer >= 1"):
        ex.check(ex.Config(seeds=0))

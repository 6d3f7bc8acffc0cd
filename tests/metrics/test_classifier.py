"""MNIST classifier (gamedyn.models) and its scores (gamedyn.metrics.classifier)."""

import os
import warnings

import flax.serialization
import numpy as np
import pytest
import scipy.linalg

from gamedyn import models
from gamedyn.data import load_mnist
from gamedyn.metrics import classifier as C
from gamedyn.metrics.fid import frechet_distance
from gamedyn.models import classifier as M

pytestmark = pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
    ),
    reason="needs mnist.npz in GAMEDYN_DATA_DIR",
)


@pytest.fixture(scope="session")
def quick_classifier(tmp_path_factory):
    """A classifier trained briefly on 4096 images, cached for the session (the same
    file as the one of tests/cli/test_cli_mnist.py)."""
    path = tmp_path_factory.getbasetemp() / "gamedyn_quick_classifier.msgpack"
    if not path.exists():
        clf = models.train_classifier(train_size=4096, epochs=2)
        models.save_classifier(str(path), clf)
    return models.load_classifier(str(path))


def test_quick_classifier_learns(quick_classifier):
    xt, yt = load_mnist("test")
    acc = C.accuracy(quick_classifier, xt[:2000], yt[:2000])
    assert acc > 0.85
    assert quick_classifier.config["train_size"] == 4096
    assert quick_classifier.config["version"] == M.VERSION
    np.testing.assert_allclose(
        quick_classifier.test_accuracy, C.accuracy(quick_classifier, xt, yt)
    )


def test_training_reports_progress(monkeypatch, quick_classifier):
    # Skip the test-set evaluation: this test is about the progress calls.
    monkeypatch.setattr(
        M, "_test_evaluation", lambda params: (0.5, quick_classifier.reference)
    )
    calls = []
    clf = models.train_classifier(
        train_size=256,
        epochs=2,
        batch_size=64,
        progress=lambda done, total: calls.append((done, total)),
    )
    assert calls == [(4, 8), (8, 8)]  # 4 steps per epoch, reported after each
    assert clf.test_accuracy == 0.5 and clf.config["train_size"] == 256


def test_reference_is_the_test_set_statistics(quick_classifier):
    """The classifier value carries the test-set feature statistics; the metrics use
    them and never read the data."""
    xt, _ = load_mnist("test")
    ref = C.statistics(quick_classifier, xt)
    np.testing.assert_allclose(quick_classifier.reference.mean, ref.mean, rtol=1e-6)
    np.testing.assert_allclose(
        quick_classifier.reference.cov, ref.cov, rtol=1e-5, atol=1e-8
    )
    assert quick_classifier.reference.cov.shape == (128, 128)


def test_fid_sanity(quick_classifier):
    """FID(train, test) is near 0 and FID(noise, test) is large."""
    x, _ = load_mnist("train")
    real = C.mnist_fid(quick_classifier, x[:10000])
    rng = np.random.default_rng(0)
    noise = C.mnist_fid(
        quick_classifier, rng.uniform(-1, 1, (2000, 28, 28)).astype(np.float32)
    )
    assert real < 0.01 * noise
    # The test images themselves: exactly the reference statistics.
    xt, _ = load_mnist("test")
    assert C.mnist_fid(quick_classifier, xt) < 1e-6 * noise


def test_fid_is_the_frechet_distance_of_the_features(quick_classifier):
    x, _ = load_mnist("train")
    a, b = x[:500], x[500:1000]
    fa = C.features(quick_classifier, a)
    fb = C.features(quick_classifier, b)
    assert fa.shape == (500, 128)
    with warnings.catch_warnings():  # all 128 features, dead ones included
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        expected = frechet_distance(
            fb.mean(0), np.cov(fb, rowvar=False), fa.mean(0), np.cov(fa, rowvar=False)
        )
    np.testing.assert_allclose(C.mnist_fid(quick_classifier, a, b), expected, rtol=1e-4)
    # A reference given as statistics is the same reference.
    stats = C.statistics(quick_classifier, b)
    assert C.mnist_fid(quick_classifier, a, stats) == C.mnist_fid(
        quick_classifier, a, b
    )
    # uint8 and [-1, 1] float images are the same images.
    np.testing.assert_allclose(
        C.features(quick_classifier, a[:50].astype(np.float32) / 127.5 - 1.0),
        fa[:50],
        rtol=1e-5,
        atol=1e-5,
    )


def test_inception_score_and_class_counts(quick_classifier):
    xt, yt = load_mnist("test")
    counts = C.class_counts(quick_classifier, xt)
    assert counts.sum() == 10000 and counts.shape == (10,)
    acc = quick_classifier.test_accuracy
    # Each class count is off by at most the number of misclassified images.
    assert np.all(np.abs(counts - np.bincount(yt)) <= (1 - acc) * 10000 + 1)
    is_real = C.inception_score(quick_classifier, xt)
    assert 5.0 < is_real <= 10.0
    one_image = np.repeat(xt[:1], 100, axis=0)
    np.testing.assert_allclose(C.inception_score(quick_classifier, one_image), 1.0)
    only_ones = xt[yt == 1][:500]
    report = C.evaluate(quick_classifier, only_ones)
    assert report["modes"] <= 3 and report["num_samples"] == 500
    assert report["inception_score"] < 2.0
    assert report["inception_score"] == C.inception_score(quick_classifier, only_ones)
    assert (
        report["class_counts"] == C.class_counts(quick_classifier, only_ones).tolist()
    )
    assert report["fid"] == C.mnist_fid(quick_classifier, only_ones)


def test_cached_classifier_is_read_not_retrained(
    tmp_path, monkeypatch, quick_classifier
):
    monkeypatch.setenv("GAMEDYN_CACHE_DIR", str(tmp_path))
    path = M.default_path(train_size=4096, epochs=2)
    assert path.startswith(str(tmp_path))
    models.save_classifier(path, quick_classifier)

    def fail(**kw):
        raise AssertionError("retrained")

    monkeypatch.setattr(M, "train_classifier", fail)
    clf = models.load_classifier(train_size=4096, epochs=2)
    assert clf.test_accuracy == quick_classifier.test_accuracy
    np.testing.assert_array_equal(clf.reference.cov, quick_classifier.reference.cov)
    assert [n for n in os.listdir(tmp_path) if n.endswith(".part")] == []


def test_a_file_without_reference_statistics_gets_them(tmp_path, quick_classifier):
    """Files written before the classifier carried its reference are still read."""
    old = flax.serialization.msgpack_serialize(
        {
            "params": quick_classifier.params,
            "test_accuracy": quick_classifier.test_accuracy,
            "config": quick_classifier.config,
        }
    )
    (tmp_path / "old.msgpack").write_bytes(old)
    clf = models.read_classifier(str(tmp_path / "old.msgpack"))
    np.testing.assert_allclose(
        clf.reference.mean, quick_classifier.reference.mean, rtol=1e-6
    )


def test_bad_inputs(tmp_path, quick_classifier):
    with pytest.raises(ValueError, match=r"images: expected images of shape"):
        C.features(quick_classifier, np.zeros((3, 32, 32)))
    with pytest.raises(ValueError, match="reference: expected None"):
        C.mnist_fid(quick_classifier, np.zeros((3, 28, 28), np.float32), "train")
    with pytest.raises(ValueError, match=r"features: expected shape \(N >= 2, d\)"):
        C.mnist_fid(quick_classifier, np.zeros((1, 28, 28), np.float32))
    with pytest.raises(ValueError, match="splits: expected an integer >= 1"):
        C.inception_score(quick_classifier, np.zeros((3, 28, 28), np.float32), 0)
    with pytest.raises(ValueError, match="path: no classifier file"):
        models.load_classifier(str(tmp_path / "missing.msgpack"))
    (tmp_path / "junk.msgpack").write_bytes(b"junk")
    with pytest.raises(
        ValueError, match="junk.msgpack: not a gamedyn MNIST classifier"
    ):
        models.load_classifier(str(tmp_path / "junk.msgpack"))
    with pytest.raises(ValueError, match=r"train_size: expected an integer in \[128"):
        models.train_classifier(train_size=10)
    with pytest.raises(TypeError, match="epochs: expected an integer"):
        models.train_classifier(epochs=1.5)


@pytest.mark.slow
def test_full_classifier_reaches_99_percent(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMEDYN_CACHE_DIR", str(tmp_path))
    clf = models.load_classifier()
    assert clf.test_accuracy >= 0.99
    xt, yt = load_mnist("test")
    assert C.accuracy(clf, xt, yt) >= 0.99

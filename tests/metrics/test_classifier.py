"""MNIST classifier, classifier FID, Inception Score, class counts."""

import os
import warnings

import numpy as np
import pytest
import scipy.linalg

from gamedyn.data import load_mnist
from gamedyn.metrics import classifier as C
from gamedyn.metrics.fid import frechet_distance

pytestmark = pytest.mark.skipif(
    not os.path.isfile(
        os.path.join(os.environ.get("GAMEDYN_DATA_DIR", ""), "mnist.npz")
    ),
    reason="needs mnist.npz in GAMEDYN_DATA_DIR",
)


@pytest.fixture(scope="session")
def quick_classifier(tmp_path_factory):
    """A classifier trained briefly on 4096 images, cached for the session."""
    path = tmp_path_factory.getbasetemp() / "gamedyn_quick_classifier.msgpack"
    if not path.exists():
        clf = C.train_classifier(train_size=4096, epochs=2, progress=False)
        C.save_classifier(str(path), clf)
    return C.load_classifier(str(path))


def test_quick_classifier_learns(quick_classifier):
    xt, yt = load_mnist("test")
    acc = C.accuracy(quick_classifier, xt[:2000], yt[:2000])
    assert acc > 0.85
    assert quick_classifier.config["train_size"] == 4096
    np.testing.assert_allclose(
        quick_classifier.test_accuracy, C.accuracy(quick_classifier, xt, yt)
    )


def test_fid_sanity(quick_classifier):
    """FID(test, train) is near 0 and FID(test, noise) is large."""
    x, _ = load_mnist("train")
    real = C.mnist_fid(x[:10000], quick_classifier, "test")
    rng = np.random.default_rng(0)
    noise = C.mnist_fid(
        rng.uniform(-1, 1, (2000, 28, 28)).astype(np.float32), quick_classifier, "test"
    )
    assert real < 0.01 * noise
    # Same images: exactly the reference statistics.
    xt, _ = load_mnist("test")
    assert C.mnist_fid(xt, quick_classifier, "test") < 1e-6 * noise


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
    np.testing.assert_allclose(C.mnist_fid(a, quick_classifier, b), expected, rtol=1e-4)
    # uint8 and [-1, 1] float images are the same images.
    np.testing.assert_allclose(
        C.features(quick_classifier, a[:50].astype(np.float32) / 127.5 - 1.0),
        fa[:50],
        rtol=1e-5,
        atol=1e-5,
    )


def test_inception_score_and_class_counts(quick_classifier):
    xt, yt = load_mnist("test")
    counts = C.class_counts(xt, quick_classifier)
    assert counts.sum() == 10000 and counts.shape == (10,)
    acc = quick_classifier.test_accuracy
    # Each class count is off by at most the number of misclassified images.
    assert np.all(np.abs(counts - np.bincount(yt)) <= (1 - acc) * 10000 + 1)
    is_real = C.inception_score(xt, quick_classifier)
    assert 5.0 < is_real <= 10.0
    one_image = np.repeat(xt[:1], 100, axis=0)
    np.testing.assert_allclose(C.inception_score(one_image, quick_classifier), 1.0)
    only_ones = xt[yt == 1][:500]
    report = C.evaluate(only_ones, quick_classifier)
    assert report["modes"] <= 3 and report["num_samples"] == 500
    assert report["inception_score"] < 2.0


def test_cached_classifier_is_read_not_retrained(
    tmp_path, monkeypatch, quick_classifier
):
    monkeypatch.setenv("GAMEDYN_CACHE_DIR", str(tmp_path))
    path = C.default_path(train_size=4096, epochs=2)
    assert path.startswith(str(tmp_path))
    C.save_classifier(path, quick_classifier)

    def fail(**kw):
        raise AssertionError("retrained")

    monkeypatch.setattr(C, "train_classifier", fail)
    clf = C.load_classifier(train_size=4096, epochs=2, progress=False)
    assert clf.test_accuracy == quick_classifier.test_accuracy
    assert [n for n in os.listdir(tmp_path) if n.endswith(".part")] == []


def test_bad_inputs(tmp_path, quick_classifier):
    with pytest.raises(ValueError, match=r"images: expected images of shape"):
        C.features(quick_classifier, np.zeros((3, 32, 32)))
    with pytest.raises(ValueError, match="reference: expected 'train', 'test'"):
        C.mnist_fid(np.zeros((3, 28, 28), np.float32), quick_classifier, "val")
    with pytest.raises(ValueError, match="path: no classifier file"):
        C.load_classifier(str(tmp_path / "missing.msgpack"))
    (tmp_path / "junk.msgpack").write_bytes(b"junk")
    with pytest.raises(
        ValueError, match="junk.msgpack: not a gamedyn MNIST classifier"
    ):
        C.load_classifier(str(tmp_path / "junk.msgpack"))
    with pytest.raises(ValueError, match="train_size"):
        C.train_classifier(train_size=10)


@pytest.mark.slow
def test_full_classifier_reaches_99_percent(tmp_path, monkeypatch):
    monkeypatch.setenv("GAMEDYN_CACHE_DIR", str(tmp_path))
    clf = C.load_classifier(progress=False)
    assert clf.test_accuracy >= 0.99
    xt, yt = load_mnist("test")
    assert C.accuracy(clf, xt, yt) >= 0.99

"""Classifier-based evaluation of MNIST generators: FID, Inception Score, mode counts.

On MNIST the Inception network is replaced by a small CNN trained on MNIST itself, as
TF-GAN's MNIST evaluation and Berard et al. (2020) do: its penultimate activations
give the features of the Fréchet distance (Heusel et al. 2017) and its predictions the
Inception Score `exp(E_x KL(p(y|x) || p(y)))` (Salimans et al. 2016) and the
per-class counts of the samples (mode coverage).

Every function takes the trained classifier first: a
`gamedyn.models.Classifier` from `gamedyn.models.load_classifier` (or
`gamedyn.models.train_classifier`). Nothing here reads a data set: the FID's
default reference is the test-set feature statistics that the classifier value
carries (`reference`, computed when it is trained
or read); pass other real images (or their `FeatureStatistics`)
as `reference` to compare against them.

Images: uint8 arrays are read as pixel values 0..255, float arrays as values in
`[-1, 1]` (a generator's `tanh` output); shapes `(N, 28, 28)` or
`(N, 28, 28, 1)`.
"""

from __future__ import annotations

import warnings
from typing import Any

import jax
import numpy as np
import scipy.linalg

from gamedyn._validate import check_int
from gamedyn.metrics.fid import frechet_distance
from gamedyn.models.classifier import (
    Classifier,
    FeatureStatistics,
    apply_classifier,
    feature_statistics,
)

__all__ = [
    "Classifier",
    "FeatureStatistics",
    "accuracy",
    "class_counts",
    "class_probabilities",
    "evaluate",
    "feature_statistics",
    "features",
    "inception_score",
    "logits",
    "mnist_fid",
    "statistics",
]


def features(classifier: Classifier, images: Any, batch_size: int = 1000) -> np.ndarray:
    """Penultimate-layer features `(N, 128)` of the classifier."""
    return apply_classifier(
        classifier.params, images, features=True, batch_size=batch_size
    )


def logits(classifier: Classifier, images: Any, batch_size: int = 1000) -> np.ndarray:
    """Class logits `(N, 10)`."""
    return apply_classifier(classifier.params, images, batch_size=batch_size)


def accuracy(classifier: Classifier, images: Any, labels: Any) -> float:
    """Fraction of `images` classified as `labels`."""
    pred = np.argmax(logits(classifier, images), axis=-1)
    return float(np.mean(pred == np.asarray(labels)))


def statistics(classifier: Classifier, images: Any) -> FeatureStatistics:
    """The `FeatureStatistics` of `images`' features (at
    least 2 images)."""
    return feature_statistics(features(classifier, images))


def _reference(classifier: Classifier, reference: Any) -> FeatureStatistics:
    if reference is None:
        return classifier.reference
    if isinstance(reference, FeatureStatistics):
        return reference
    if isinstance(reference, str):
        raise ValueError(
            "reference: expected None (the classifier's test-set statistics), images "
            f"or FeatureStatistics, got {reference!r}; for another real split pass "
            "its images, e.g. gd.data.load_mnist('train')[0]"
        )
    return statistics(classifier, reference)


def mnist_fid(classifier: Classifier, images: Any, reference: Any = None) -> float:
    """Classifier-based FID between `images` and real MNIST.

    `||mu_r - mu_g||^2 + Tr(S_r + S_g - 2 (S_r S_g)^(1/2))` over the classifier's
    penultimate features (`gamedyn.metrics.frechet_distance`). Features that
    are constant and equal in both sets (dead ReLUs) add exactly 0 and are dropped,
    which keeps the covariances from being singular.

    Args:
      classifier: from `gamedyn.models.load_classifier`.
      images: the samples (at least 2; use >= 10,000 for reported numbers).
      reference: None for the MNIST test set (the statistics the classifier
        carries), real images, or their `FeatureStatistics`.

    Returns:
      The FID, a float >= 0.
    """
    mu_r, s_r = _reference(classifier, reference)
    mu_g, s_g = statistics(classifier, images)
    keep = (np.diag(s_r) > 0) | (np.diag(s_g) > 0) | (mu_r != mu_g)
    sub = np.ix_(keep, keep)
    with warnings.catch_warnings():
        # A remaining rank deficiency only costs round-off, handled in fid.py.
        warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
        return frechet_distance(mu_r[keep], s_r[sub], mu_g[keep], s_g[sub])


def class_probabilities(classifier: Classifier, images: Any) -> np.ndarray:
    """Softmax predictions `p(y|x)`, `(N, 10)` float64."""
    return np.asarray(jax.nn.softmax(logits(classifier, images), axis=-1), np.float64)


def inception_score(classifier: Classifier, images: Any, splits: int = 1) -> float:
    """Inception Score with the MNIST classifier (Salimans et al. 2016).

    `IS = exp(E_x KL(p(y|x) || p(y)))`, `p(y)` the mean prediction; between 1
    (one class, or uninformative predictions) and 10 (confident and balanced). With
    `splits > 1` the mean of the scores of that many equal parts.
    """
    splits = check_int("splits", splits, 1)
    return _inception_score(class_probabilities(classifier, images), splits)


def _inception_score(p: np.ndarray, splits: int = 1) -> float:
    scores = []
    for part in np.array_split(p, splits):
        py = part.mean(axis=0, keepdims=True)
        kl = np.sum(part * (np.log(part + 1e-12) - np.log(py + 1e-12)), axis=1)
        scores.append(float(np.exp(kl.mean())))
    return float(np.mean(scores))


def class_counts(classifier: Classifier, images: Any) -> np.ndarray:
    """How many `images` the classifier assigns to each digit, `(10,)` ints."""
    pred = np.argmax(logits(classifier, images), axis=-1)
    return np.bincount(pred, minlength=10)


def evaluate(classifier: Classifier, images: Any, reference: Any = None) -> dict:
    """FID, Inception Score and class counts of `images` in one dict.

    Args:
      classifier: the trained classifier.
      images: the samples (at least 2).
      reference: the FID's reference (see `mnist_fid`).

    Returns:
      `{"fid", "inception_score", "class_counts" (a list), "modes" (the number of
      classes with at least 1% of the samples), "num_samples"}`.
    """
    p = class_probabilities(classifier, images)
    counts = np.bincount(np.argmax(p, axis=-1), minlength=10)
    n = int(counts.sum())
    return {
        "fid": mnist_fid(classifier, images, reference),
        "inception_score": _inception_score(p),
        "class_counts": counts.tolist(),
        "modes": int(np.sum(counts >= 0.01 * n)),
        "num_samples": n,
    }

"""Evaluation metrics: Fréchet distance, mode coverage, classifier-based scores."""

from gamedyn.metrics.classifier import (
    Classifier,
    class_counts,
    inception_score,
    load_classifier,
    mnist_fid,
)
from gamedyn.metrics.fid import frechet_distance
from gamedyn.metrics.modes import coverage_from_counts, mode_counts, mode_coverage

__all__ = ["coverage_from_counts", "frechet_distance", "mode_counts", "mode_coverage"]
__all__ += [
    "Classifier",
    "class_counts",
    "inception_score",
    "load_classifier",
    "mnist_fid",
]

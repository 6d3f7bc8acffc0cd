"""Evaluation metrics: Fréchet distance, mode coverage, classifier-based scores.

The classifier-based scores (`gamedyn.metrics.classifier`) take a trained
`gamedyn.models.Classifier` as first argument; training, saving and caching
it is `gamedyn.models.classifier`'s job.
"""

from gamedyn.metrics.classifier import (
    class_counts,
    inception_score,
    mnist_fid,
)
from gamedyn.metrics.fid import frechet_distance
from gamedyn.metrics.modes import coverage_from_counts, mode_counts, mode_coverage

__all__ = [
    "class_counts",
    "coverage_from_counts",
    "frechet_distance",
    "inception_score",
    "mnist_fid",
    "mode_counts",
    "mode_coverage",
]

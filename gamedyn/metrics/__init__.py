"""Evaluation metrics: Fréchet distance, mode coverage, classifier-based scores."""

from gamedyn.metrics.fid import frechet_distance

__all__ = ["frechet_distance"]

"""Flax (linen) players for image GANs and the MNIST classifier.

Every module is used through pure `init`/`apply`: trainable weights live in the
`"params"` collection, batch-norm running averages in `"batch_stats"` (state that
the trainer threads explicitly, see `gamedyn.games.mnist`). The MNIST classifier
that scores generators is trained, saved and cached here
(`gamedyn.models.classifier`); the scores themselves are in
`gamedyn.metrics.classifier`.
"""

from gamedyn.models.classifier import (
    Classifier,
    CNNClassifier,
    FeatureStatistics,
    load_classifier,
    read_classifier,
    save_classifier,
    train_classifier,
)
from gamedyn.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gamedyn.models.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "CNNClassifier",
    "Classifier",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "FeatureStatistics",
    "MLPDiscriminator",
    "MLPGenerator",
    "load_classifier",
    "read_classifier",
    "save_classifier",
    "train_classifier",
]

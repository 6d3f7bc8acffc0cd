"""Flax (linen) players for image GANs and the MNIST classifier.

Every module is used through pure ``init``/``apply``: trainable weights live in the
``"params"`` collection, batch-norm running averages in ``"batch_stats"`` (state that
the trainer threads explicitly, see :mod:`gamedyn.games.mnist`).
"""

from gamedyn.models.classifier import CNNClassifier
from gamedyn.models.dcgan import DCGANDiscriminator, DCGANGenerator
from gamedyn.models.mlp import MLPDiscriminator, MLPGenerator

__all__ = [
    "CNNClassifier",
    "DCGANDiscriminator",
    "DCGANGenerator",
    "MLPDiscriminator",
    "MLPGenerator",
]

"""Data sets: MNIST (download, checksum, cache) and synthetic mixtures."""

from gamedyn.data.mixtures import Mixture, embed, grid, ring
from gamedyn.data.mnist import load_mnist

__all__ = ["Mixture", "embed", "grid", "ring", "load_mnist"]

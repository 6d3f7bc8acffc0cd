"""Games: analytic (Dirac-GAN, bilinear, quadratic) and GANs built from functions."""

from gamedyn.games.dirac import dirac_gan
from gamedyn.games.gan import gan
from gamedyn.games.mnist import ImageGAN, mnist_gan, sample_images
from gamedyn.games.quadratic import bilinear, quadratic
from gamedyn.games.regularized import consensus_game

__all__ = [
    "ImageGAN",
    "bilinear",
    "consensus_game",
    "dirac_gan",
    "gan",
    "mnist_gan",
    "quadratic",
    "sample_images",
]

"""Games: analytic (Dirac-GAN, bilinear, quadratic, any zero-sum `f(x, y)`) and GANs
built from functions."""

from gamedyn.games._gan import gan, multi_gan
from gamedyn.games._quadratic import bilinear, quadratic
from gamedyn.games._zero_sum import zero_sum
from gamedyn.games.dirac import dirac_gan
from gamedyn.games.mnist import ImageGAN, mnist_gan, sample_images
from gamedyn.games.modules import (
    MLP,
    module_gan,
    sample_generator,
    spectral_norm,
    spectral_normalize,
)
from gamedyn.games.regularized import consensus_game

__all__ = [
    "MLP",
    "ImageGAN",
    "bilinear",
    "consensus_game",
    "dirac_gan",
    "gan",
    "mnist_gan",
    "module_gan",
    "multi_gan",
    "quadratic",
    "sample_generator",
    "sample_images",
    "spectral_norm",
    "spectral_normalize",
    "zero_sum",
]

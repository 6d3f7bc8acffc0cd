"""Games: analytic (Dirac-GAN, bilinear, quadratic) and GANs built from functions."""

from gamedyn.games.dirac import dirac_gan
from gamedyn.games.gan import gan
from gamedyn.games.quadratic import bilinear, quadratic

__all__ = ["bilinear", "dirac_gan", "gan", "quadratic"]

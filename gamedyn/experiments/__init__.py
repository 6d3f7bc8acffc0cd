"""Studies as library code: a config, `build(config)` and `run(config, ...)`.

Each module is one study: a frozen configuration value with documented defaults,
`build` (the game and update rule it describes) and `run` returning result values
(NamedTuples of arrays). Nothing here parses arguments or prints; progress goes
through a `progress` callback. The command line (`gamedyn.cli`), the
benchmarks and the notebooks all call these.

- `dirac`: the Dirac-GAN study of Mescheder et al. (2018).
- `dirac_sweep`: Dirac-GAN phase diagrams over
  `(lr, gamma)` with the closed-form stability boundary.
- `mog`: the mixture-of-Gaussians mode-collapse benchmark.
- `mnist`: MNIST GANs with checkpoints, FID and spectra.
"""

from gamedyn.experiments import dirac, dirac_sweep, mnist, mog

__all__ = ["dirac", "dirac_sweep", "mnist", "mog"]

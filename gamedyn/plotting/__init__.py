"""Plotting (matplotlib): figures drawn from result values.

Every function here reads values and arrays (trajectories, `gamedyn.analysis`
results such as `FieldGrid` and
`RegionGrid`, sweep outcomes) and never runs a game, an update
rule or an experiment: compute with `gamedyn.analysis` or
`gamedyn.experiments`, then draw.

Every figure follows one style (`gamedyn.plotting.style`): each rule and variant
has one encoding (colour, line style, marker) in every plot (`encoding`,
`encodings`), legends cover no data (`legend`), and spectra get limits
that no outlier sets.
"""

from gamedyn.plotting import style
from gamedyn.plotting.analysis import (
    plot_eigenvalues,
    plot_path_angle,
    plot_spectral_radii,
    plot_stability_region,
)
from gamedyn.plotting.animation import animate
from gamedyn.plotting.mnist import (
    image_grid,
    plot_complex_eigenvalues,
    plot_fid_curve,
    plot_hessian_ends,
    plot_samples,
    plot_spectra,
    plot_spectra_over_steps,
)
from gamedyn.plotting.mog import plot_mode_histogram, plot_mog_samples
from gamedyn.plotting.phase import OUTCOME_COLORS, phase_diagram
from gamedyn.plotting.style import encoding, encodings, legend
from gamedyn.plotting.trajectories import (
    plot_distances,
    plot_trajectory,
    plot_vector_field,
)

__all__ = [
    "animate",
    "OUTCOME_COLORS",
    "encoding",
    "encodings",
    "image_grid",
    "legend",
    "phase_diagram",
    "plot_complex_eigenvalues",
    "plot_distances",
    "plot_eigenvalues",
    "plot_fid_curve",
    "plot_hessian_ends",
    "plot_mode_histogram",
    "plot_mog_samples",
    "plot_path_angle",
    "plot_samples",
    "plot_spectra",
    "plot_spectra_over_steps",
    "plot_spectral_radii",
    "plot_stability_region",
    "plot_trajectory",
    "plot_vector_field",
    "style",
]

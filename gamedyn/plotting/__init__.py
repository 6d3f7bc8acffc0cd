"""Plotting: trajectories over vector fields, phase diagrams of sweeps (matplotlib)."""

from gamedyn.plotting.analysis import (
    plot_eigenvalues,
    plot_path_angle,
    plot_spectral_radii,
    plot_stability_region,
)
from gamedyn.plotting.mnist import (
    image_grid,
    plot_complex_eigenvalues,
    plot_fid_curve,
    plot_samples,
    plot_spectra,
)
from gamedyn.plotting.mog import plot_mode_histogram, plot_mog_samples
from gamedyn.plotting.phase import OUTCOME_COLORS, phase_diagram
from gamedyn.plotting.trajectories import (
    plot_distances,
    plot_trajectory,
    plot_vector_field,
)

__all__ = [
    "OUTCOME_COLORS",
    "phase_diagram",
    "plot_mode_histogram",
    "plot_mog_samples",
    "plot_distances",
    "plot_eigenvalues",
    "plot_path_angle",
    "plot_spectral_radii",
    "plot_stability_region",
    "plot_trajectory",
    "plot_vector_field",
]
__all__ += [
    "image_grid",
    "plot_complex_eigenvalues",
    "plot_fid_curve",
    "plot_samples",
    "plot_spectra",
]

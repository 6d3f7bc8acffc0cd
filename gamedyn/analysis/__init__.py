"""Stability analysis: Jacobians, spectra (dense and matrix-free), classification of
equilibria, stability regions of update rules, path-angle.

Sign convention: ``jacobian`` is the Jacobian of the players' descent gradients
``xi``, so a fixed point is locally asymptotically stable under gradient flow iff every
eigenvalue has a positive real part, and a step map converges locally iff its spectral
radius is below 1.
"""

from gamedyn.analysis._jacobian import (
    NotAFixedPointWarning,
    eigenvalues,
    hessian_blocks,
    jacobian,
    player_sizes,
    spectral_radius,
    update_jacobian,
)
from gamedyn.analysis.spectrum import (
    hessian_operator,
    jacobian_operator,
    top_eigenvalues,
    top_hessian_eigenvalues,
)
from gamedyn.analysis.stability import (
    RULES,
    SPECTRAL_RULES,
    Classification,
    FixedPoint,
    PathAngle,
    classify,
    find_fixed_point,
    linear_step,
    max_stable_step,
    multipliers,
    path_angle,
    spectral_radii,
    step_radius,
)

__all__ = [
    "RULES",
    "SPECTRAL_RULES",
    "Classification",
    "FixedPoint",
    "NotAFixedPointWarning",
    "PathAngle",
    "classify",
    "eigenvalues",
    "find_fixed_point",
    "hessian_blocks",
    "hessian_operator",
    "jacobian",
    "jacobian_operator",
    "linear_step",
    "max_stable_step",
    "multipliers",
    "path_angle",
    "player_sizes",
    "spectral_radii",
    "spectral_radius",
    "step_radius",
    "top_eigenvalues",
    "top_hessian_eigenvalues",
    "update_jacobian",
]

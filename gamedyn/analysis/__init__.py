"""Stability analysis: Jacobians, spectra (dense and matrix-free), classification of
equilibria (the gradient flow's verdict beside a step's), stability regions of update
rules and maps over (step size, parameter), modified equations and the stability of
flows, path-angle, vector fields on grids.

Sign convention: `jacobian` is the Jacobian of the players' descent gradients
`xi`, so a fixed point is locally asymptotically stable under gradient flow iff every
eigenvalue has a positive real part, and a step map converges locally iff its spectral
radius is below 1. `spectral_radius` is the asymptotic rate per step of any update
rule, its memory and period (`Dynamics.period`, lookahead) included, from any state.
"""

from gamedyn.analysis import modified
from gamedyn.analysis._jacobian import (
    NotAFixedPointWarning,
    eigenvalues,
    hessian_blocks,
    jacobian,
    player_sizes,
    spectral_radius,
    update_jacobian,
)
from gamedyn.analysis.field import FieldGrid, vector_field_grid
from gamedyn.analysis.modified import (
    MODIFIED_RULES,
    FlowStability,
    flow_region,
    flow_stability,
    modified_field,
)
from gamedyn.analysis.spectrum import (
    SpectrumWarning,
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
    RegionGrid,
    StabilityMap,
    classify,
    find_fixed_point,
    linear_step,
    max_stable_step,
    multiplier_radius,
    multipliers,
    path_angle,
    spectral_radius_by_step,
    stability_map,
    stability_region,
)

__all__ = [
    "MODIFIED_RULES",
    "FlowStability",
    "flow_region",
    "flow_stability",
    "modified",
    "modified_field",
    "RULES",
    "SPECTRAL_RULES",
    "Classification",
    "FieldGrid",
    "FixedPoint",
    "NotAFixedPointWarning",
    "PathAngle",
    "RegionGrid",
    "SpectrumWarning",
    "StabilityMap",
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
    "spectral_radius_by_step",
    "spectral_radius",
    "stability_map",
    "stability_region",
    "multiplier_radius",
    "top_eigenvalues",
    "top_hessian_eigenvalues",
    "update_jacobian",
    "vector_field_grid",
]

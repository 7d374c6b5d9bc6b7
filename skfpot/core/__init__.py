"""Pure-torch core: potentials, the fixed-point c-transform and the dual loss.

Imports torch and the standard library only.
"""

from skfpot.core.fixed_point import SOLVERS, FixedPointResult, solve_c_transform
from skfpot.core.losses import (
    backward_map,
    convexity_violation,
    dual_loss,
    forward_map,
)
from skfpot.core.potentials import MLPPotential

__all__ = [
    "SOLVERS",
    "FixedPointResult",
    "MLPPotential",
    "backward_map",
    "convexity_violation",
    "dual_loss",
    "forward_map",
    "solve_c_transform",
]

"""skfpot: neural optimal transport maps by fixed-point optimization."""

from skfpot import datasets, metrics
from skfpot._conditional import ClassConditionalFixedPointOT
from skfpot._estimators import FixedPointOT
from skfpot._training import TrainingDivergedError

__all__ = [
    "ClassConditionalFixedPointOT",
    "FixedPointOT",
    "TrainingDivergedError",
    "__version__",
    "datasets",
    "metrics",
]
__version__ = "0.1.0"

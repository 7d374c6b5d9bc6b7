"""skfpot: neural optimal transport maps by fixed-point optimization."""

from skfpot._estimators import FixedPointOT

__all__ = ["FixedPointOT", "__version__"]
__version__ = "0.1.0"

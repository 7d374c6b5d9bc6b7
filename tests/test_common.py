"""scikit-learn's estimator checks.

The checks call ``fit(X, y)`` with ``y`` a 1-D label vector or None; our second
argument is an unpaired target *sample*. A test-only subclass derives one from
X (an affine image of X, in reversed row order so it is not paired).
"""

import numpy as np
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfpot import FixedPointOT

SMALL = dict(
    hidden_layer_sizes=(8,),
    max_iter=20,
    eval_interval=10,
    batch_size=16,
    random_state=0,
)


class _CheckedFixedPointOT(FixedPointOT):
    """Derives an unpaired target sample from X when given labels."""

    def fit(self, X, y=None):
        if y is None or np.asarray(y).ndim == 1:
            y = self._derived_target(X)
        return super().fit(X, y)

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def score(self, X, y=None):
        if y is None or np.asarray(y).ndim == 1:
            y = self._derived_target(X)
        return super().score(X, y)

    @staticmethod
    def _derived_target(X):
        arr = np.asarray(X)
        if arr.ndim == 2 and arr.dtype.kind in "fiu":
            return 2.0 * arr[::-1] + 1.0
        return X  # let validation of X report the problem


# Every check passes through this subclass; none is listed as expected to fail.
@parametrize_with_checks([_CheckedFixedPointOT(**SMALL)])
def test_sklearn_compatible(estimator, check):
    check(estimator)

"""scikit-learn's estimator checks.

The checks call ``fit(X, y)`` with ``y`` a 1-D label vector or None; our second
argument is an unpaired target *sample*. A test-only subclass derives one from
X (an affine image of X, in reversed row order so it is not paired). The
class-conditional subclass also derives the classes, from the rows themselves,
so that ``transform(X)`` gets the same class for a row in any batch.
"""

import numpy as np
import pytest
import torch
from sklearn.utils.estimator_checks import parametrize_with_checks

from skfpot import ClassConditionalFixedPointOT, FixedPointOT

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


class _CheckedClassConditional(ClassConditionalFixedPointOT):
    """Derives the target sample as above and two classes from the rows: a
    row's class is whether its coordinate sum exceeds the median seen at fit
    (one class when all rows of the fit have the same sum)."""

    def fit(self, X, y=None):
        Y = _CheckedFixedPointOT._derived_target(X)
        x_classes = self._derived_classes(X, fit=True)
        y_classes = None if x_classes is None else x_classes[::-1]
        return super().fit(X, Y, x_classes=x_classes, y_classes=y_classes)

    def fit_transform(self, X, y=None):
        return self.fit(X, y).transform(X)

    def transform(self, X):
        return super().transform(X, classes=self._derived_classes(X))

    def inverse_transform(self, X):
        return super().inverse_transform(X, classes=self._derived_classes(X))

    def score(self, X, y=None):
        Y = _CheckedFixedPointOT._derived_target(X)
        x_classes = self._derived_classes(X)
        y_classes = None if x_classes is None else x_classes[::-1]
        return super().score(X, Y, x_classes=x_classes, y_classes=y_classes)

    def _derived_classes(self, X, fit=False):
        arr = np.asarray(X)
        if arr.dtype.kind == "c":
            return None  # let validation of X report the problem
        try:
            arr = arr.astype(np.float64)
        except (TypeError, ValueError):
            return None
        if arr.ndim != 2 or not arr.size:
            return None
        with np.errstate(all="ignore"):
            total = arr.sum(axis=1)
        if fit:
            self.split_ = float(np.median(total))
            self.two_classes_ = bool(np.any(total > self.split_))
        if not self.two_classes_:
            return np.zeros(len(arr), dtype=int)
        return (total > self.split_).astype(int)


def _float32_products_row_invariant() -> bool:
    """Whether this host's float32 matrix products, in the shapes of the
    checks' network (3 features, one hidden layer of 8: the forward product,
    the gradient's product back through the layer, the quadratic part), give
    each row bit for bit the same result alone as within the 20-row array.
    Plain torch, none of our code: a difference here comes from the kernels
    the BLAS picks by row count."""
    gen = torch.Generator().manual_seed(0)
    x = 3 * torch.rand(20, 3, generator=gen)
    w = torch.randn(8, 3, generator=gen)
    q = torch.randn(3, 3, generator=gen)

    def products(a):
        return torch.tanh(a @ w.T) @ w + a @ q.T @ q

    rows = torch.cat([products(x[i : i + 1]) for i in range(len(x))])
    return torch.equal(products(x), rows)


# Every check passes through these subclasses; none is listed as expected to
# fail (one is excused, at run time, on hosts whose float32 kernels depend on
# the row count; see below). The checks' 20-step fits on tiny samples whose
# target is an affine image of the source often keep the closed-form start,
# which is then the answer, and say so in a warning that is expected here.
@pytest.mark.filterwarnings("ignore:training did not improve the map:UserWarning")
@parametrize_with_checks(
    [
        _CheckedFixedPointOT(**SMALL),
        _CheckedClassConditional(conditioning="embedding", **SMALL),
    ]
)
def test_sklearn_compatible(estimator, check):
    name = getattr(check, "func", check).__name__
    if name == "check_methods_subset_invariance" and torch.cuda.is_available():
        # Its tolerance (1e-7) is below float32 rounding on a GPU, where cuBLAS
        # picks kernels by row count: on an H200 a subset's transform differed
        # from the whole array's by 3e-7 (2026-11-26). Checked on the CPU.
        estimator.set_params(device="cpu")
    if name == "check_methods_subset_invariance" and not (
        _float32_products_row_invariant()
    ):
        # Our maps run in float32 and the check's tolerance for float64
        # output is 1e-7: a host whose float32 products alone already differ
        # by row count cannot pass it (a 16-core host of a lent H100 machine:
        # 3.1e-7 on the CPU, 2026-11-27). Where plain products are row
        # invariant, as on our CI machine, the check runs and must pass.
        pytest.xfail("float32 matrix products here depend on the row count")
    check(estimator)

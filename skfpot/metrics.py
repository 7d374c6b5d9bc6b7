"""Accuracy metrics for transport maps and closed forms for Gaussian transport.

The scores follow Korotin et al. (2021), "Do Neural Optimal Transport Solvers
Work? A Continuous Wasserstein-2 Benchmark": the unexplained-variance percentage
L2-UVP and the cosine between true and estimated displacements. The Gaussian
closed forms give the exact squared 2-Wasserstein distance and the exact optimal
transport map between two normal laws.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "gaussian_ot_matrix",
    "gaussian_w2_squared",
    "l2_uvp",
    "transport_cosine",
]


def _real(array: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert to a float64 array, raising a ValueError for sparse, complex,
    string and other non-real input (NumPy cast complex to real with only a
    ``ComplexWarning``)."""
    if hasattr(array, "tocsr"):  # a SciPy sparse matrix or array
        raise ValueError(
            f"{name} is a sparse matrix; pass a dense array (e.g. {name}.toarray())."
        )
    raw = np.asarray(array)
    if raw.dtype.kind not in "biuf" and raw.dtype != object:
        raise ValueError(f"{name} must hold real numbers, got dtype {raw.dtype}.")
    try:
        return raw.astype(np.float64)
    except (TypeError, ValueError) as exc:  # strings, pandas' NA, complex objects
        raise ValueError(f"{name} must hold real numbers: {exc}") from None


def _check_2d(array: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert to a float64 2-D array, raising a ValueError otherwise."""
    array = _real(array, name)
    if array.ndim != 2:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, n_features), "
            f"got an array of shape {array.shape}."
        )
    if array.shape[0] == 0:
        raise ValueError(f"{name} must contain at least one sample, got 0.")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must contain only finite values (no NaN or inf).")
    return array


def _rescaled(*arrays: NDArray[np.float64]) -> list[NDArray[np.float64]]:
    """The arrays divided by one power of two near their largest magnitude
    (exact in floating point; unchanged when that is 0)."""
    largest = max(float(np.abs(a).max()) for a in arrays)
    if largest == 0.0:
        return list(arrays)
    scale = np.ldexp(1.0, int(np.frexp(largest)[1]))
    return [a / scale for a in arrays]


def _check_same_shape(arrays: dict[str, NDArray[np.float64]]) -> None:
    """Raise a ValueError unless all named arrays share one shape."""
    names = list(arrays)
    first = names[0]
    for name in names[1:]:
        if arrays[name].shape != arrays[first].shape:
            raise ValueError(
                f"{first} and {name} must have the same shape, got "
                f"{arrays[first].shape} and {arrays[name].shape}."
            )


#: relative tolerance of the symmetry and semi-definiteness checks (round-off)
_COV_RTOL = 1e-8


def _check_cov(cov: ArrayLike, name: str) -> NDArray[np.float64]:
    """Convert to a symmetric positive semi-definite float64 square matrix.

    Asymmetry and negative eigenvalues within round-off (``_COV_RTOL`` of the
    largest entry or eigenvalue) are removed; larger ones are an error.
    """
    cov = _real(cov, name)
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(
            f"{name} must be a square 2-D array of shape (n_features, n_features), "
            f"got an array of shape {cov.shape}."
        )
    if not np.all(np.isfinite(cov)):
        raise ValueError(f"{name} must contain only finite values.")
    if cov.size == 0:
        raise ValueError(f"{name} must have at least one feature, got shape (0, 0).")
    scale = float(np.abs(cov).max())
    if float(np.abs(cov - cov.T).max()) > _COV_RTOL * scale:
        raise ValueError(f"{name} must be symmetric.")
    cov = 0.5 * (cov + cov.T)
    eigval = np.linalg.eigvalsh(cov)
    if eigval.min() < -_COV_RTOL * max(float(np.abs(eigval).max()), 1e-300):
        raise ValueError(
            f"{name} must be positive semi-definite; its smallest eigenvalue is "
            f"{eigval.min():.3g}."
        )
    return cov


def _sqrtm_psd(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    eigval, eigvec = np.linalg.eigh(0.5 * (matrix + matrix.T))
    root = (eigvec * np.sqrt(np.clip(eigval, 0.0, None))) @ eigvec.T
    return 0.5 * (root + root.T)


def _check_gaussians(
    mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike
) -> tuple[NDArray[np.float64], ...]:
    """Validate two (mean, covariance) pairs of one dimension."""
    cov1 = _check_cov(cov1, "cov1")
    cov2 = _check_cov(cov2, "cov2")
    n_features = cov1.shape[0]
    if cov2.shape != cov1.shape:
        raise ValueError(
            f"cov1 and cov2 must have the same shape, got {cov1.shape} and "
            f"{cov2.shape}."
        )
    checked = []
    for name, mean in (("mean1", mean1), ("mean2", mean2)):
        mean = _real(mean, name)
        if mean.shape != (n_features,):
            raise ValueError(
                f"{name} must be a 1-D array of shape ({n_features},) matching the "
                f"covariances, got an array of shape {mean.shape}."
            )
        if not np.all(np.isfinite(mean)):
            raise ValueError(f"{name} must contain only finite values.")
        checked.append(mean)
    return checked[0], cov1, checked[1], cov2


def l2_uvp(y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Unexplained-variance percentage (L2-UVP) of a predicted transport.

    ``100 * mean(|y_pred - y_true|^2) / Var(y_true)``, where ``Var`` is the trace
    of the covariance of ``y_true`` (the sum over coordinates of the per-coordinate
    variance, ``ddof=0``). A perfect map scores 0 and the constant map at the
    mean of ``y_true`` scores 100.

    Parameters
    ----------
    y_true : array-like of shape (n_samples, n_features)
        Images of the evaluation points under the true map.

    y_pred : array-like of shape (n_samples, n_features)
        Images of the same points under the estimated map, row for row.

    Returns
    -------
    score : float
        L2-UVP in percent (non-negative, lower is better).

    Raises
    ------
    ValueError
        If the inputs are not 2-D, differ in shape, are empty, contain NaN or
        inf, or if ``y_true`` has zero total variance.

    See Also
    --------
    transport_cosine : Cosine between true and estimated displacements.

    References
    ----------
    .. [1] A. Korotin, L. Li, A. Genevay, J. Solomon, A. Filippov and E. Burnaev,
       "Do Neural Optimal Transport Solvers Work? A Continuous Wasserstein-2
       Benchmark", NeurIPS 2021.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot.metrics import l2_uvp
    >>> y_true = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    >>> l2_uvp(y_true, y_true)
    0.0
    >>> l2_uvp(y_true, np.ones_like(y_true))
    100.0
    """
    y_true = _check_2d(y_true, "y_true")
    y_pred = _check_2d(y_pred, "y_pred")
    _check_same_shape({"y_true": y_true, "y_pred": y_pred})
    # L2-UVP is scale-free: a power of two (exact) keeps values near 1e±200
    # from overflowing or underflowing when squared
    y_true, y_pred = _rescaled(y_true, y_pred)
    variance = float(np.var(y_true, axis=0).sum())
    if not variance > 0.0:
        raise ValueError("y_true has zero total variance; L2-UVP is undefined.")
    error = float(np.mean(np.sum((y_pred - y_true) ** 2, axis=1)))
    return 100.0 * error / variance


def transport_cosine(X: ArrayLike, y_true: ArrayLike, y_pred: ArrayLike) -> float:
    """Cosine similarity between the true and the estimated displacements.

    ``E<y_true - X, y_pred - X> / sqrt(E|y_true - X|^2 * E|y_pred - X|^2)``,
    the expectations being empirical means over the rows. It equals 1 when the
    estimated map is the true one (or a positive multiple of its displacement).

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
        Evaluation points.

    y_true : array-like of shape (n_samples, n_features)
        Images of ``X`` under the true map.

    y_pred : array-like of shape (n_samples, n_features)
        Images of ``X`` under the estimated map.

    Returns
    -------
    cosine : float
        Value in ``[-1, 1]``; ``nan`` when either map is the identity on ``X``
        (zero displacement), for which the cosine is undefined.

    Raises
    ------
    ValueError
        If the inputs are not 2-D, are empty, contain NaN or inf, or differ in
        shape.

    See Also
    --------
    l2_uvp : Unexplained-variance percentage of a predicted transport.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot.metrics import transport_cosine
    >>> X = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
    >>> transport_cosine(X, X + [1.0, 0.0], X + [2.0, 0.0])
    1.0
    >>> transport_cosine(X, X + [1.0, 0.0], X + [0.0, 1.0])
    0.0
    """
    X = _check_2d(X, "X")
    y_true = _check_2d(y_true, "y_true")
    y_pred = _check_2d(y_pred, "y_pred")
    _check_same_shape({"X": X, "y_true": y_true, "y_pred": y_pred})
    true_disp = y_true - X
    pred_disp = y_pred - X
    # the cosine is scale-free: rescale so that tiny or huge displacements
    # neither underflow nor overflow
    for disp in (true_disp, pred_disp):
        peak = float(np.abs(disp).max())
        if peak > 0.0 and np.isfinite(peak):
            disp /= peak
    inner = float(np.mean(np.sum(true_disp * pred_disp, axis=1)))
    norm_true = float(np.mean(np.sum(true_disp**2, axis=1)))
    norm_pred = float(np.mean(np.sum(pred_disp**2, axis=1)))
    denominator = np.sqrt(norm_true * norm_pred)
    if not denominator > 0.0:
        return float("nan")
    return float(np.clip(inner / denominator, -1.0, 1.0))


def gaussian_w2_squared(
    mean1: ArrayLike, cov1: ArrayLike, mean2: ArrayLike, cov2: ArrayLike
) -> float:
    """Squared 2-Wasserstein distance between two Gaussian laws.

    ``|m1 - m2|^2 + tr S1 + tr S2 - 2 tr (S1^(1/2) S2 S1^(1/2))^(1/2)``, computed
    in float64 with symmetric eigendecompositions for the matrix square roots,
    the covariance term as ``min_U |S1^(1/2) - S2^(1/2) U|_F^2`` over orthogonal
    ``U`` (the same value, without the trace formula's cancellation when the
    covariances nearly coincide).

    Parameters
    ----------
    mean1 : array-like of shape (n_features,)
        Mean of the first law.

    cov1 : array-like of shape (n_features, n_features)
        Covariance of the first law (symmetric positive semi-definite).

    mean2 : array-like of shape (n_features,)
        Mean of the second law.

    cov2 : array-like of shape (n_features, n_features)
        Covariance of the second law (symmetric positive semi-definite).

    Returns
    -------
    w2_squared : float
        The squared distance (non-negative).

    Raises
    ------
    ValueError
        If the shapes are inconsistent, a value is not finite, or a
        covariance is not symmetric positive semi-definite (beyond round-off).

    See Also
    --------
    gaussian_ot_matrix : Linear part of the optimal map between Gaussians.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot.metrics import gaussian_w2_squared
    >>> gaussian_w2_squared([0.0, 0.0], np.eye(2), [3.0, 4.0], np.eye(2))
    25.0
    >>> round(gaussian_w2_squared([0.0], [[1.0]], [0.0], [[4.0]]), 6)
    1.0
    """
    mean1, cov1, mean2, cov2 = _check_gaussians(mean1, cov1, mean2, cov2)
    # The covariance (Bures) term as min over orthogonal U of
    # |S1^(1/2) - S2^(1/2) U|_F^2, U the polar factor of S2^(1/2) S1^(1/2):
    # the same value as the trace formula, whose terms cancel when the
    # covariances nearly coincide (relative error 1e-4 at a relative
    # difference of 1e-6 in d = 8, against 2e-9 so); a sum of squares, it is
    # never negative, and a small mean term next to large covariances is
    # kept.
    root1, root2 = _sqrtm_psd(cov1), _sqrtm_psd(cov2)
    left, _, right = np.linalg.svd(root2 @ root1)
    bures = float(np.sum((root1 - root2 @ (left @ right)) ** 2))
    return float(np.sum((mean1 - mean2) ** 2)) + bures


def gaussian_ot_matrix(cov1: ArrayLike, cov2: ArrayLike) -> NDArray[np.float64]:
    """Linear part of the optimal transport map between two Gaussian laws.

    ``A = S1^(-1/2) (S1^(1/2) S2 S1^(1/2))^(1/2) S1^(-1/2)``: the quadratic-cost
    optimal map from ``N(m1, S1)`` to ``N(m2, S2)`` is ``T(x) = m2 + A (x - m1)``.
    ``A`` is symmetric positive semi-definite and satisfies ``A S1 A = S2``.

    Parameters
    ----------
    cov1 : array-like of shape (n_features, n_features)
        Covariance of the source law (symmetric positive definite).

    cov2 : array-like of shape (n_features, n_features)
        Covariance of the target law (symmetric positive semi-definite).

    Returns
    -------
    matrix : ndarray of shape (n_features, n_features)
        The symmetric matrix ``A``, in float64.

    Raises
    ------
    ValueError
        If the shapes are inconsistent, ``cov1`` is not positive definite, or
        ``cov2`` is not symmetric positive semi-definite (beyond round-off).

    See Also
    --------
    gaussian_w2_squared : Squared 2-Wasserstein distance between Gaussians.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot.metrics import gaussian_ot_matrix
    >>> gaussian_ot_matrix(np.diag([1.0, 4.0]), np.diag([9.0, 1.0]))
    array([[3. , 0. ],
           [0. , 0.5]])
    """
    cov1 = _check_cov(cov1, "cov1")
    cov2 = _check_cov(cov2, "cov2")
    if cov2.shape != cov1.shape:
        raise ValueError(
            f"cov1 and cov2 must have the same shape, got {cov1.shape} and "
            f"{cov2.shape}."
        )
    # A(4^i S1, 4^j S2) = 2^(j-i) A(S1, S2): powers of four near each
    # covariance's largest entry (exact) keep the products below in range
    e1, e2 = (int(np.frexp(np.abs(c).max())[1]) // 2 for c in (cov1, cov2))
    if not np.abs(cov2).max() > 0.0:
        e2 = 0
    cov1, cov2 = np.ldexp(cov1, -2 * e1), np.ldexp(cov2, -2 * e2)
    eigval, eigvec = np.linalg.eigh(cov1)
    if not eigval.min() > 0.0:
        raise ValueError("cov1 must be positive definite.")
    root1 = (eigvec * np.sqrt(eigval)) @ eigvec.T
    inv_root1 = (eigvec / np.sqrt(eigval)) @ eigvec.T
    matrix = inv_root1 @ _sqrtm_psd(root1 @ cov2 @ root1) @ inv_root1
    return np.ldexp(0.5 * (matrix + matrix.T), e2 - e1)

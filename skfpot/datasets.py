"""Transport problems with known optimal maps, for testing and benchmarking.

Every problem shares one duck-typed interface:

- ``n_features``: the dimension ``d``;
- ``sample_source(n, random_state=None)``: ``n`` draws of the source law μ;
- ``forward_map(X)``: the true optimal map ``T*`` pushing μ onto the target ν;
- ``sample(n, m=None, random_state=None)``: an *unpaired* training pair ``(X, Y)``:
  ``X`` holds ``n`` draws of μ and ``Y`` the images under ``T*`` of ``m``
  *independent* draws of μ, so that ``Y`` follows ν and no row of ``Y`` is paired
  with a row of ``X``;
- ``w2_squared``: the squared 2-Wasserstein distance W2²(μ, ν) when it is known in
  closed form, else ``None``.

The class-conditional problem takes and returns class labels alongside the
samples. Accuracy is scored with :func:`skfpot.metrics.l2_uvp` on fresh draws::

    X = problem.sample_source(4096, random_state=rs)
    l2_uvp(problem.forward_map(X), estimator.transform(X))
    l2_uvp(X, estimator.inverse_transform(problem.forward_map(X)))
"""

from __future__ import annotations

import numbers
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import ArrayLike, NDArray
from sklearn.utils import check_random_state

from skfpot.metrics import (
    _check_cov,
    _real,
    gaussian_ot_matrix,
    gaussian_w2_squared,
    l2_uvp,
)

if TYPE_CHECKING:
    import torch

__all__ = [
    "ClassGaussianPairs",
    "GaussianPair",
    "Mix3toMix10",
    "load_mix3tomix10",
    "make_class_gaussian_pairs",
    "make_gaussian_pair",
]

RandomStateLike = int | np.random.RandomState | None

_W2BENCH_ENV = "SKFPOT_W2BENCH_DIR"
_W2BENCH_DIMENSIONS = (2, 4, 8, 16, 32, 64, 128)
_CHUNK_SIZE = 8192


# --------------------------------------------------------------------------- #
# Validation helpers
# --------------------------------------------------------------------------- #
def _check_count(value: Any, name: str) -> int:
    """Return ``value`` as a positive int, raising a ValueError otherwise."""
    if not isinstance(value, numbers.Integral) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    return int(value)


def _check_samples(X: ArrayLike, n_features: int, name: str) -> NDArray[np.float64]:
    """Return ``X`` as a C-contiguous float64 array of shape (n, n_features)."""
    X = np.ascontiguousarray(_real(X, name))
    if X.ndim != 2 or X.shape[1] != n_features:
        raise ValueError(
            f"{name} must be a 2-D array of shape (n_samples, {n_features}), "
            f"got an array of shape {X.shape}."
        )
    return X


def _check_labels(
    classes: ArrayLike, n_samples: int, n_classes: int
) -> NDArray[np.intp]:
    """Return class labels as an int array of shape (n_samples,)."""
    labels = np.asarray(classes)
    if labels.shape != (n_samples,):
        raise ValueError(
            f"classes must be a 1-D array of shape ({n_samples},), got an array "
            f"of shape {labels.shape}."
        )
    if n_samples and (
        not np.issubdtype(labels.dtype, np.integer)
        or labels.min() < 0
        or labels.max() >= n_classes
    ):
        raise ValueError(
            f"classes must hold integer labels in 0..{n_classes - 1}, got values "
            f"{np.unique(labels)[:10]}."
        )
    return labels.astype(np.intp, copy=False)


def _sqrtm_spd(matrix: NDArray[np.float64]) -> NDArray[np.float64]:
    """Symmetric square root of a symmetric positive semi-definite matrix."""
    eigval, eigvec = np.linalg.eigh(matrix)
    root = (eigvec * np.sqrt(np.clip(eigval, 0.0, None))) @ eigvec.T
    return 0.5 * (root + root.T)


def _random_rotation(
    n_features: int, random_state: np.random.RandomState
) -> NDArray[np.float64]:
    """Haar-distributed orthogonal matrix (QR of a Gaussian matrix, sign fixed)."""
    q, r = np.linalg.qr(random_state.standard_normal((n_features, n_features)))
    return q * np.where(np.diag(r) < 0.0, -1.0, 1.0)


def _w2gn_covariance(
    n_features: int,
    random_state: np.random.RandomState,
    low: float = 0.5,
    high: float = 2.0,
) -> NDArray[np.float64]:
    """``R diag(s)² Rᵀ`` with ``s`` log-spaced in ``[low, high]``, R Haar."""
    scales = np.exp(np.linspace(np.log(low), np.log(high), n_features))
    rotation = _random_rotation(n_features, random_state)
    cov = (rotation * scales**2) @ rotation.T
    return 0.5 * (cov + cov.T)


# --------------------------------------------------------------------------- #
# Gaussian to Gaussian
# --------------------------------------------------------------------------- #
class GaussianPair:
    """Two Gaussian laws and the closed-form optimal transport map between them.

    The quadratic-cost optimal map from ``N(m1, S1)`` to ``N(m2, S2)`` is
    ``T*(x) = m2 + A (x - m1)`` with the symmetric positive definite matrix
    ``A = S1^(-1/2) (S1^(1/2) S2 S1^(1/2))^(1/2) S1^(-1/2)``.

    Parameters
    ----------
    mean_source : array-like of shape (n_features,)
        Mean ``m1`` of the source law μ.

    cov_source : array-like of shape (n_features, n_features)
        Covariance ``S1`` of μ (symmetric positive definite).

    mean_target : array-like of shape (n_features,)
        Mean ``m2`` of the target law ν.

    cov_target : array-like of shape (n_features, n_features)
        Covariance ``S2`` of ν (symmetric positive definite).

    Attributes
    ----------
    mean_source, cov_source, mean_target, cov_target : ndarray
        The parameters, as float64 arrays.

    matrix : ndarray of shape (n_features, n_features)
        The matrix ``A`` of the optimal map.

    w2_squared : float
        The squared 2-Wasserstein distance W2²(μ, ν).

    n_features : int
        Dimension of the samples.

    See Also
    --------
    make_gaussian_pair : Random pair following the W2GN protocol.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot.datasets import GaussianPair
    >>> pair = GaussianPair([0.0, 0.0], np.diag([1.0, 4.0]), [1.0, 1.0], np.eye(2))
    >>> pair.matrix
    array([[1. , 0. ],
           [0. , 0.5]])
    >>> pair.forward_map([[2.0, 2.0]])
    array([[3., 2.]])
    >>> round(pair.w2_squared, 6)
    3.0
    """

    def __init__(
        self,
        mean_source: ArrayLike,
        cov_source: ArrayLike,
        mean_target: ArrayLike,
        cov_target: ArrayLike,
    ) -> None:
        cov_source = _real(cov_source, "cov_source")
        if cov_source.ndim != 2 or cov_source.shape[0] != cov_source.shape[1]:
            raise ValueError(
                "cov_source must be a square 2-D array, got an array of shape "
                f"{cov_source.shape}."
            )
        n_features = cov_source.shape[0]
        cov_target = _real(cov_target, "cov_target")
        if cov_target.shape != (n_features, n_features):
            raise ValueError(
                f"cov_target must have shape ({n_features}, {n_features}) like "
                f"cov_source, got {cov_target.shape}."
            )
        means = []
        for name, mean in (("mean_source", mean_source), ("mean_target", mean_target)):
            mean = _real(mean, name)
            if mean.shape != (n_features,):
                raise ValueError(
                    f"{name} must have shape ({n_features},), got {mean.shape}."
                )
            if not np.all(np.isfinite(mean)):
                raise ValueError(f"{name} must contain only finite values.")
            means.append(mean)
        self.mean_source, self.mean_target = means
        self.cov_source = _check_cov(cov_source, "cov_source")
        self.cov_target = _check_cov(cov_target, "cov_target")
        for name, cov in (
            ("cov_source", self.cov_source),
            ("cov_target", self.cov_target),
        ):
            if not np.linalg.eigvalsh(cov).min() > 0.0:
                raise ValueError(f"{name} must be positive definite.")
        self.matrix = gaussian_ot_matrix(self.cov_source, self.cov_target)
        self.w2_squared = gaussian_w2_squared(
            self.mean_source, self.cov_source, self.mean_target, self.cov_target
        )
        inverse = np.linalg.inv(self.matrix)
        self._inverse_matrix = 0.5 * (inverse + inverse.T)
        self._source_root = _sqrtm_spd(self.cov_source)

    @property
    def n_features(self) -> int:
        """Dimension of the samples."""
        return self.mean_source.shape[0]

    def sample_source(
        self, n: int, random_state: RandomStateLike = None
    ) -> NDArray[np.float64]:
        """Draw from the source law μ.

        Parameters
        ----------
        n : int
            Number of draws.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n, n_features)
            Draws of μ.
        """
        n = _check_count(n, "n")
        rng = check_random_state(random_state)
        noise = rng.standard_normal((n, self.n_features))
        return self.mean_source + noise @ self._source_root

    def forward_map(self, X: ArrayLike) -> NDArray[np.float64]:
        """Apply the optimal map ``T*(x) = m2 + A (x - m1)`` (μ to ν).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source points.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_features)
            Their images under ``T*``.
        """
        X = _check_samples(X, self.n_features, "X")
        return self.mean_target + (X - self.mean_source) @ self.matrix

    def inverse_map(self, Y: ArrayLike) -> NDArray[np.float64]:
        """Apply the inverse optimal map ``m1 + A^(-1) (y - m2)`` (ν to μ).

        Parameters
        ----------
        Y : array-like of shape (n_samples, n_features)
            Target points.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            Their images under ``(T*)^(-1)``.
        """
        Y = _check_samples(Y, self.n_features, "Y")
        return self.mean_source + (Y - self.mean_target) @ self._inverse_matrix

    def sample(
        self, n: int, m: int | None = None, random_state: RandomStateLike = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Draw an unpaired training pair.

        Parameters
        ----------
        n : int
            Number of source draws.

        m : int, default=None
            Number of target draws; ``None`` means ``n``.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n, n_features)
            Draws of μ.

        Y : ndarray of shape (m, n_features)
            Draws of ν: images under ``T*`` of draws of μ independent of ``X``.
        """
        rng = check_random_state(random_state)
        m = n if m is None else m
        X = self.sample_source(n, rng)
        Y = self.forward_map(self.sample_source(_check_count(m, "m"), rng))
        return X, Y

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_features={self.n_features}, "
            f"w2_squared={self.w2_squared:.4g})"
        )


def make_gaussian_pair(
    n_features: int, *, random_state: RandomStateLike = None
) -> GaussianPair:
    """Random Gaussian to Gaussian problem following the W2GN protocol.

    Each of the two laws has mean drawn from ``N(0, I)`` and covariance
    ``R diag(s)² Rᵀ`` with ``s = exp(linspace(log 0.5, log 2, n_features))`` and
    ``R`` a Haar-random rotation, drawn independently for each law (Korotin et
    al., "Wasserstein-2 Generative Networks", ICLR 2021).

    Parameters
    ----------
    n_features : int
        Dimension ``d``.

    random_state : int, RandomState instance or None, default=None
        Seeds the means and rotations.

    Returns
    -------
    pair : GaussianPair
        The problem, with its closed-form map and W2².

    Examples
    --------
    >>> from skfpot.datasets import make_gaussian_pair
    >>> from skfpot.metrics import l2_uvp
    >>> pair = make_gaussian_pair(4, random_state=0)
    >>> X, Y = pair.sample(100, 50, random_state=0)
    >>> X.shape, Y.shape
    ((100, 4), (50, 4))
    >>> X_test = pair.sample_source(4096, random_state=1)
    >>> Y_test = pair.forward_map(X_test)
    >>> l2_uvp(X_test, pair.inverse_map(Y_test)) < 1e-20
    True
    """
    n_features = _check_count(n_features, "n_features")
    rng = check_random_state(random_state)
    params = []
    for _ in range(2):
        mean = rng.standard_normal(n_features)
        params.extend([mean, _w2gn_covariance(n_features, rng)])
    return GaussianPair(*params)


# --------------------------------------------------------------------------- #
# Class-conditional Gaussians
# --------------------------------------------------------------------------- #
class ClassGaussianPairs:
    """One Gaussian to Gaussian problem per class.

    Class ``k`` transports ``μ_k = N(m1_k, S1_k)`` onto ``ν_k = N(m2_k, S2_k)``
    with the closed-form map of ``pairs[k]``. The pooled laws are the mixtures
    ``μ = Σ_k w_k μ_k`` and ``ν = Σ_k w_k ν_k``.

    Parameters
    ----------
    pairs : sequence of GaussianPair
        One problem per class, all of the same dimension.

    class_weights : array-like of shape (n_classes,), default=None
        Class shares (non-negative, normalised to sum to one); ``None`` means
        uniform.

    Attributes
    ----------
    pairs : list of GaussianPair
        The per-class problems.

    classes_ : ndarray of shape (n_classes,)
        The class labels ``0, ..., n_classes - 1``.

    class_weights : ndarray of shape (n_classes,)
        The class shares.

    class_w2_squared : ndarray of shape (n_classes,)
        W2²(μ_k, ν_k) for every class.

    w2_squared : float
        The class-weighted total ``Σ_k w_k W2²(μ_k, ν_k)``.

    See Also
    --------
    make_class_gaussian_pairs : Random problem whose pooled map is wrong.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot.datasets import ClassGaussianPairs, GaussianPair
    >>> cov = np.eye(2)
    >>> pairs = [GaussianPair([0, 0], cov, [1, 0], cov),
    ...          GaussianPair([1, 0], cov, [0, 0], cov)]
    >>> problem = ClassGaussianPairs(pairs)
    >>> problem.forward_map([[0.0, 0.0], [0.0, 0.0]], classes=[0, 1])
    array([[ 1.,  0.],
           [-1.,  0.]])
    >>> problem.class_w2_squared, problem.w2_squared
    (array([1., 1.]), 1.0)
    """

    def __init__(
        self, pairs: Sequence[GaussianPair], class_weights: ArrayLike | None = None
    ) -> None:
        self.pairs = list(pairs)
        if not self.pairs:
            raise ValueError("pairs must hold at least one GaussianPair.")
        n_features = self.pairs[0].n_features
        if any(pair.n_features != n_features for pair in self.pairs):
            raise ValueError("All pairs must have the same n_features.")
        n_classes = len(self.pairs)
        if class_weights is None:
            weights = np.full(n_classes, 1.0 / n_classes)
        else:
            weights = np.asarray(class_weights, dtype=np.float64)
            if weights.shape != (n_classes,):
                raise ValueError(
                    f"class_weights must have shape ({n_classes},), got "
                    f"{weights.shape}."
                )
            if not (
                np.all(np.isfinite(weights))
                and np.all(weights >= 0.0)
                and weights.sum() > 0.0
            ):
                raise ValueError(
                    "class_weights must be finite and non-negative with a positive sum."
                )
            weights = weights / weights.sum()
        self.classes_ = np.arange(n_classes)
        self.class_weights = weights
        self.class_w2_squared = np.array([pair.w2_squared for pair in self.pairs])
        self.w2_squared = float(weights @ self.class_w2_squared)

    @property
    def n_features(self) -> int:
        """Dimension of the samples."""
        return self.pairs[0].n_features

    @property
    def n_classes(self) -> int:
        """Number of classes."""
        return len(self.pairs)

    def sample_source(
        self, n: int, random_state: RandomStateLike = None
    ) -> tuple[NDArray[np.float64], NDArray[np.intp]]:
        """Draw labelled samples of the source mixture μ.

        Parameters
        ----------
        n : int
            Number of draws.

        random_state : int, RandomState instance or None, default=None
            Seeds the labels (drawn with ``class_weights``) and the samples.

        Returns
        -------
        X : ndarray of shape (n, n_features)
            Draws of μ.

        classes : ndarray of shape (n,)
            Their class labels.
        """
        n = _check_count(n, "n")
        rng = check_random_state(random_state)
        classes = rng.choice(self.n_classes, size=n, p=self.class_weights)
        noise = rng.standard_normal((n, self.n_features))
        X = np.empty_like(noise)
        for k, pair in enumerate(self.pairs):
            rows = classes == k
            X[rows] = pair.mean_source + noise[rows] @ pair._source_root
        return X, classes.astype(np.intp, copy=False)

    def _apply(
        self, Z: ArrayLike, classes: ArrayLike, name: str, forward: bool
    ) -> NDArray[np.float64]:
        Z = _check_samples(Z, self.n_features, name)
        labels = _check_labels(classes, Z.shape[0], self.n_classes)
        out = np.empty_like(Z)
        for k, pair in enumerate(self.pairs):
            rows = labels == k
            if rows.any():
                mapping = pair.forward_map if forward else pair.inverse_map
                out[rows] = mapping(Z[rows])
        return out

    def forward_map(self, X: ArrayLike, classes: ArrayLike) -> NDArray[np.float64]:
        """Apply the per-class optimal maps ``T*_k`` (μ_k to ν_k).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source points.

        classes : array-like of shape (n_samples,)
            Their class labels.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_features)
            ``T*_k(x)`` row by row.
        """
        return self._apply(X, classes, "X", forward=True)

    def inverse_map(self, Y: ArrayLike, classes: ArrayLike) -> NDArray[np.float64]:
        """Apply the per-class inverse maps ``(T*_k)^(-1)`` (ν_k to μ_k).

        Parameters
        ----------
        Y : array-like of shape (n_samples, n_features)
            Target points.

        classes : array-like of shape (n_samples,)
            Their class labels.

        Returns
        -------
        X : ndarray of shape (n_samples, n_features)
            ``(T*_k)^(-1)(y)`` row by row.
        """
        return self._apply(Y, classes, "Y", forward=False)

    def sample(
        self, n: int, m: int | None = None, random_state: RandomStateLike = None
    ) -> tuple[
        NDArray[np.float64], NDArray[np.float64], NDArray[np.intp], NDArray[np.intp]
    ]:
        """Draw an unpaired labelled training pair.

        The labels of each side are drawn independently with ``class_weights``,
        and ``Y`` is mapped from source draws independent of ``X``.

        Parameters
        ----------
        n : int
            Number of source draws.

        m : int, default=None
            Number of target draws; ``None`` means ``n``.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n, n_features)
            Draws of μ.

        Y : ndarray of shape (m, n_features)
            Draws of ν.

        x_classes : ndarray of shape (n,)
            Class labels of ``X``.

        y_classes : ndarray of shape (m,)
            Class labels of ``Y``.
        """
        rng = check_random_state(random_state)
        m = n if m is None else m
        X, x_classes = self.sample_source(n, rng)
        X_other, y_classes = self.sample_source(_check_count(m, "m"), rng)
        return X, self.forward_map(X_other, y_classes), x_classes, y_classes

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(n_classes={self.n_classes}, "
            f"n_features={self.n_features}, w2_squared={self.w2_squared:.4g})"
        )


def make_class_gaussian_pairs(
    n_classes: int = 3,
    n_features: int = 8,
    *,
    class_weights: ArrayLike | None = None,
    random_state: RandomStateLike = None,
) -> ClassGaussianPairs:
    """Class-conditional Gaussian problem whose pooled optimal map is wrong.

    The source class means lie evenly on a circle in a random 2-D plane, with
    radius ``2.5 / sin(pi / n_classes)`` so that neighbouring means are 5 apart;
    the target mean of class ``k`` is the source mean of class
    ``k + n_classes // 2`` (modulo ``n_classes``), the farthest position on the
    circle. Every class must thus travel across the others, whereas with
    equal class weights (the default) the pooled source and target mixtures
    nearly coincide: the class-blind optimal
    map stays close to the identity and is far from the per-class maps.
    Covariances follow the W2GN protocol at a smaller scale,
    ``R diag(s)² Rᵀ`` with ``s = exp(linspace(log 0.3, log 0.8, n_features))``
    and an independent Haar rotation ``R`` for every law.

    Parameters
    ----------
    n_classes : int, default=3
        Number of classes, at least 2.

    n_features : int, default=8
        Dimension, at least 2.

    class_weights : array-like of shape (n_classes,), default=None
        Class shares; ``None`` means uniform.

    random_state : int, RandomState instance or None, default=None
        Seeds the plane and the rotations.

    Returns
    -------
    problem : ClassGaussianPairs
        The problem, with closed-form per-class maps.

    Examples
    --------
    >>> from skfpot.datasets import make_class_gaussian_pairs
    >>> problem = make_class_gaussian_pairs(3, 4, random_state=0)
    >>> X, Y, x_classes, y_classes = problem.sample(200, 100, random_state=0)
    >>> X.shape, Y.shape, x_classes.shape, y_classes.shape
    ((200, 4), (100, 4), (200,), (100,))
    >>> problem.classes_
    array([0, 1, 2])
    """
    n_classes = _check_count(n_classes, "n_classes")
    n_features = _check_count(n_features, "n_features")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}.")
    if n_features < 2:
        raise ValueError(f"n_features must be at least 2, got {n_features}.")
    rng = check_random_state(random_state)
    frame, _ = np.linalg.qr(rng.standard_normal((n_features, 2)))
    radius = 2.5 / np.sin(np.pi / n_classes)
    angles = 2.0 * np.pi * np.arange(n_classes) / n_classes
    centers = radius * np.column_stack([np.cos(angles), np.sin(angles)]) @ frame.T
    shift = n_classes // 2
    pairs = []
    for k in range(n_classes):
        cov_source = _w2gn_covariance(n_features, rng, 0.3, 0.8)
        cov_target = _w2gn_covariance(n_features, rng, 0.3, 0.8)
        pairs.append(
            GaussianPair(
                centers[k], cov_source, centers[(k + shift) % n_classes], cov_target
            )
        )
    return ClassGaussianPairs(pairs, class_weights=class_weights)


# --------------------------------------------------------------------------- #
# Mix3toMix10 (Korotin et al. 2021)
# --------------------------------------------------------------------------- #
class _DenseICNN:
    """Dense input-convex potential ψ of the Wasserstein-2 benchmark.

    Rank-1 quadratic layers, CELU activations and a strong convexity term
    ``½ s |x|²``; the weights are held as float64 torch tensors.
    """

    def __init__(
        self, state_dict: Mapping[str, Any], strong_convexity: float = 1e-2
    ) -> None:
        import torch

        def get(key: str) -> torch.Tensor:
            if key not in state_dict:
                raise ValueError(f"ICNN state_dict lacks the key {key!r}.")
            return torch.as_tensor(state_dict[key]).detach().to(torch.float64)

        n_quadratic = 0
        while f"quadratic_layers.{n_quadratic}.weight" in state_dict:
            n_quadratic += 1
        if n_quadratic < 1:
            raise ValueError("ICNN state_dict has no quadratic layers.")
        self.quadratic = [
            (
                get(f"quadratic_layers.{i}.quadratic_decomposed"),
                get(f"quadratic_layers.{i}.weight"),
                get(f"quadratic_layers.{i}.bias"),
            )
            for i in range(n_quadratic)
        ]
        self.convex = [get(f"convex_layers.{j}.weight") for j in range(n_quadratic - 1)]
        self.final = get("final_layer.weight")
        self.strong_convexity = float(strong_convexity)
        self.n_features = self.quadratic[0][1].shape[1]

    def _quadratic(self, i: int, x: torch.Tensor) -> torch.Tensor:
        import torch

        decomposed, weight, bias = self.quadratic[i]
        squares = torch.einsum("nk,kro->nro", x, decomposed).square().sum(dim=1)
        return squares + x @ weight.T + bias

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        import torch

        z = self._quadratic(0, x)
        for j, weight in enumerate(self.convex):
            z = torch.nn.functional.celu(z @ weight.T + self._quadratic(j + 1, x))
        value = (z @ self.final.T).squeeze(1)
        return value + 0.5 * self.strong_convexity * x.square().sum(dim=1)


def _mix3_source(
    n_features: int,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Centres and linear maps of the benchmark's source mixture (seed 0)."""
    num, dist, std = 3, 1.0, 0.4
    rng = np.random.RandomState(0)
    centers = np.zeros((num, n_features))
    for k in range(n_features):
        centers[:, k] += dist * rng.choice(range(num), num, replace=False)
    centers -= dist * (num - 1) / 2
    maps = rng.normal(size=(num, n_features, n_features))
    maps /= np.linalg.norm(maps, axis=2, keepdims=True)
    mult = np.sqrt(np.mean(np.sum(centers**2, axis=1)) + n_features * std**2)
    mult /= np.sqrt(n_features)
    return centers / mult, maps / mult


class Mix3toMix10:
    """Mix3toMix10 benchmark pair of Korotin et al. (2021).

    The source μ is a 3-component Gaussian mixture; the target ν is its image
    under ``T*(x) = (∇ψ_1(x) + ∇ψ_2(x) - m) / sqrt(v)``, where ψ_1, ψ_2 are two
    pretrained dense input-convex networks and ``m``, ``v`` standardise the raw
    map on 2**14 draws of μ (ν has mean 0 and total variance ``n_features``:
    unit variance per coordinate on average, not coordinate by coordinate).
    ``T*`` is the gradient of a convex function, hence the optimal map. Usually
    built with :func:`load_mix3tomix10`.

    Parameters
    ----------
    state_dicts : sequence of two mappings
        The PyTorch ``state_dict`` of ψ_1 and ψ_2.

    random_state : int, RandomState instance or None, default=None
        Seeds the 2**14 standardisation draws; ``None`` uses the fixed seed 0, so
        that the problem is the same on every call.

    Attributes
    ----------
    n_features : int
        Dimension of the samples.

    centers : ndarray of shape (3, n_features)
        Means of the source components.

    maps : ndarray of shape (3, n_features, n_features)
        Linear maps of the source components: component ``c`` draws
        ``std * maps[c] @ z + centers[c]`` with ``z ~ N(0, I)``.

    std : float
        Scale of the source components, 0.4.

    map_mean : ndarray of shape (n_features,)
        Mean ``m`` of the raw map on the standardisation draws.

    map_scale : float
        ``sqrt(v)``, the root mean per-coordinate variance of the raw map there.

    w2_squared : None
        W2² has no closed form for this pair.

    See Also
    --------
    load_mix3tomix10 : Read the potentials from disk and build the pair.

    References
    ----------
    .. [1] A. Korotin, L. Li, A. Genevay, J. Solomon, A. Filippov and E. Burnaev,
       "Do Neural Optimal Transport Solvers Work? A Continuous Wasserstein-2
       Benchmark", NeurIPS 2021.

    Examples
    --------
    >>> from skfpot.datasets import load_mix3tomix10
    >>> problem = load_mix3tomix10(4)
    >>> problem
    Mix3toMix10(n_features=4)
    >>> problem.forward_map(problem.sample_source(5, random_state=0)).shape
    (5, 4)
    """

    w2_squared: float | None = None

    def __init__(
        self,
        state_dicts: Sequence[Mapping[str, Any]],
        *,
        random_state: RandomStateLike = None,
    ) -> None:
        if len(state_dicts) != 2:
            raise ValueError(
                f"state_dicts must hold the two potentials, got {len(state_dicts)}."
            )
        self._potentials = [_DenseICNN(state_dict) for state_dict in state_dicts]
        self.n_features = self._potentials[0].n_features
        if self._potentials[1].n_features != self.n_features:
            raise ValueError("The two potentials differ in n_features.")
        self.centers, self.maps = _mix3_source(self.n_features)
        self.std = 0.4
        rng = check_random_state(0 if random_state is None else random_state)
        raw = self._raw_map(self.sample_source(2**14, rng))
        self.map_mean = raw.mean(axis=0)
        self.map_scale = float(np.sqrt(raw.var(axis=0).mean()))

    def _raw_map(self, X: NDArray[np.float64]) -> NDArray[np.float64]:
        """``∇ψ_1 + ∇ψ_2`` by autograd in float64, in chunks of rows."""
        import torch

        out = np.empty_like(X)
        with torch.inference_mode(False), torch.enable_grad():
            for start in range(0, X.shape[0], _CHUNK_SIZE):
                stop = start + _CHUNK_SIZE
                # a copy: X may be read-only (a memmap), which from_numpy warns of
                x = torch.tensor(X[start:stop], dtype=torch.float64).requires_grad_()
                value = sum(potential(x).sum() for potential in self._potentials)
                (grad,) = torch.autograd.grad(value, x)
                out[start:stop] = grad.numpy()
        return out

    def sample_source(
        self, n: int, random_state: RandomStateLike = None
    ) -> NDArray[np.float64]:
        """Draw from the source mixture μ.

        Parameters
        ----------
        n : int
            Number of draws.

        random_state : int, RandomState instance or None, default=None
            Seeds the components (uniform) and the Gaussian noise.

        Returns
        -------
        X : ndarray of shape (n, n_features)
            Draws of μ.
        """
        n = _check_count(n, "n")
        rng = check_random_state(random_state)
        components = rng.randint(len(self.centers), size=n)
        noise = rng.standard_normal((n, self.n_features))
        X = np.empty_like(noise)
        for k, (centre, linear) in enumerate(zip(self.centers, self.maps, strict=True)):
            rows = components == k  # one matrix per component, no n × d × d
            X[rows] = centre + self.std * noise[rows] @ linear.T
        return X

    def forward_map(self, X: ArrayLike) -> NDArray[np.float64]:
        """Apply the optimal map ``T*`` (μ to ν), in chunks of 8192 rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source points.

        Returns
        -------
        Y : ndarray of shape (n_samples, n_features)
            Their images under ``T*``.
        """
        X = _check_samples(X, self.n_features, "X")
        return (self._raw_map(X) - self.map_mean) / self.map_scale

    def sample(
        self, n: int, m: int | None = None, random_state: RandomStateLike = None
    ) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Draw an unpaired training pair.

        Parameters
        ----------
        n : int
            Number of source draws.

        m : int, default=None
            Number of target draws; ``None`` means ``n``.

        random_state : int, RandomState instance or None, default=None
            Seeds the draws.

        Returns
        -------
        X : ndarray of shape (n, n_features)
            Draws of μ.

        Y : ndarray of shape (m, n_features)
            Draws of ν: images under ``T*`` of draws of μ independent of ``X``.
        """
        rng = check_random_state(random_state)
        m = n if m is None else m
        X = self.sample_source(n, rng)
        Y = self.forward_map(self.sample_source(_check_count(m, "m"), rng))
        return X, Y

    def identity_uvp(self, n: int = 4096, random_state: RandomStateLike = 0) -> float:
        """L2-UVP of the identity map, a sanity check of the construction.

        Parameters
        ----------
        n : int, default=4096
            Number of evaluation draws of μ.

        random_state : int, RandomState instance or None, default=0
            Seeds the draws.

        Returns
        -------
        score : float
            ``l2_uvp(T*(X), X)``; the published recipe gives about 32-33.5 for
            d = 2, 87-90 for d = 16 and 134.5-137 for d = 64.
        """
        X = self.sample_source(n, random_state)
        return l2_uvp(self.forward_map(X), X)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(n_features={self.n_features})"


def _default_w2bench_dirs() -> list[Path]:
    candidates = []
    env = os.environ.get(_W2BENCH_ENV)
    if env:
        candidates.append(Path(env))
    root = Path(__file__).resolve().parents[2]
    candidates.append(root / "shared" / "data" / "w2bench-mix3tomix10")
    return candidates


def load_mix3tomix10(
    n_features: int,
    *,
    data_dir: str | os.PathLike[str] | None = None,
    random_state: RandomStateLike = None,
) -> Mix3toMix10:
    """Load the Mix3toMix10 benchmark pair of Korotin et al. (2021).

    Reads the two pretrained potentials ``{d}_v1.pt`` and ``{d}_v2.pt`` (MIT
    licence) and builds :class:`Mix3toMix10`. Requires torch.

    Parameters
    ----------
    n_features : {2, 4, 8, 16, 32, 64, 128}
        Dimension ``d``.

    data_dir : str or path-like, default=None
        Folder holding the files. ``None`` uses the first existing of the
        environment variable ``SKFPOT_W2BENCH_DIR`` and
        ``<project root>/../shared/data/w2bench-mix3tomix10`` (the project
        root as seen from a source checkout or an editable install; for an
        installed wheel, set the variable or pass ``data_dir``).

    random_state : int, RandomState instance or None, default=None
        Seeds the 2**14 standardisation draws; ``None`` uses the fixed seed 0.

    Returns
    -------
    problem : Mix3toMix10
        The benchmark pair.

    Raises
    ------
    ValueError
        If ``n_features`` is not an available dimension.
    FileNotFoundError
        If the data folder or one of its files is missing.

    Examples
    --------
    >>> from skfpot.datasets import load_mix3tomix10
    >>> problem = load_mix3tomix10(2)
    >>> X, Y = problem.sample(256, 128, random_state=0)
    >>> X.shape, Y.shape
    ((256, 2), (128, 2))
    >>> 32.0 <= problem.identity_uvp() <= 33.5
    True
    """
    if (
        isinstance(n_features, bool)
        or not isinstance(n_features, numbers.Integral)
        or n_features not in _W2BENCH_DIMENSIONS
    ):
        raise ValueError(
            f"n_features must be one of {_W2BENCH_DIMENSIONS} for Mix3toMix10, "
            f"got {n_features!r}."
        )
    if data_dir is not None:
        directory = Path(data_dir)
        if not directory.is_dir():
            raise FileNotFoundError(
                f"Mix3toMix10 data directory {str(directory)!r} does not exist."
            )
    else:
        candidates = _default_w2bench_dirs()
        existing = [path for path in candidates if path.is_dir()]
        if not existing:
            tried = ", ".join(repr(str(path)) for path in candidates)
            raise FileNotFoundError(
                f"Mix3toMix10 data directory not found (tried {tried}); set the "
                f"environment variable {_W2BENCH_ENV} to the folder holding "
                "{d}_v1.pt and {d}_v2.pt, or pass data_dir."
            )
        directory = existing[0]
    import torch

    state_dicts = []
    for version in (1, 2):
        path = directory / f"{int(n_features)}_v{version}.pt"
        if not path.is_file():
            raise FileNotFoundError(f"Mix3toMix10 file {str(path)!r} not found.")
        state_dicts.append(torch.load(path, map_location="cpu", weights_only=True))
    return Mix3toMix10(state_dicts, random_state=random_state)

"""Tests for skfpot.metrics."""

import math
import re
import warnings

import numpy as np
import pytest

from skfpot.metrics import (
    gaussian_ot_matrix,
    gaussian_w2_squared,
    l2_uvp,
    transport_cosine,
)


def _random_spd(n_features: int, rng: np.random.RandomState) -> np.ndarray:
    factor = rng.standard_normal((n_features, n_features))
    return factor @ factor.T / n_features + 0.1 * np.eye(n_features)


@pytest.mark.parametrize("n_features", [1, 3, 10])
def test_l2_uvp_perfect_and_constant_maps(n_features):
    rng = np.random.RandomState(0)
    y_true = rng.standard_normal((500, n_features)) * rng.uniform(0.5, 2, n_features)
    assert l2_uvp(y_true, y_true) == 0.0
    constant = np.broadcast_to(y_true.mean(axis=0), y_true.shape)
    assert l2_uvp(y_true, constant) == pytest.approx(100.0, rel=1e-12)
    # Any constant map scores at least 100, the mean is the best one.
    assert l2_uvp(y_true, constant + 0.3) > 100.0


def test_l2_uvp_known_value():
    y_true = np.array([[0.0, 0.0], [2.0, 0.0], [0.0, 2.0], [2.0, 2.0]])
    # Var(y_true) = 1 + 1 = 2, squared error 0.5 on every row.
    y_pred = y_true + np.array([0.5, 0.5])
    assert l2_uvp(y_true, y_pred) == pytest.approx(25.0)
    assert isinstance(l2_uvp(y_true, y_pred), float)


@pytest.mark.parametrize(
    "y_true, y_pred, message",
    [
        (
            np.zeros(5),
            np.zeros(5),
            "y_true must be a 2-D array of shape (n_samples, n_features), got an "
            "array of shape (5,).",
        ),
        (
            np.ones((5, 2)),
            np.zeros((5, 2, 1)),
            "y_pred must be a 2-D array of shape (n_samples, n_features), got an "
            "array of shape (5, 2, 1).",
        ),
        (
            np.eye(5, 2),
            np.zeros((5, 3)),
            "y_true and y_pred must have the same shape, got (5, 2) and (5, 3).",
        ),
        (
            np.zeros((0, 2)),
            np.zeros((0, 2)),
            "y_true must contain at least one sample, got 0.",
        ),
        (
            np.ones((5, 2)),
            np.zeros((5, 2)),
            "y_true has zero total variance; L2-UVP is undefined.",
        ),
        (
            np.array([[np.nan, 0.0], [1.0, 2.0]]),
            np.zeros((2, 2)),
            "y_true must contain only finite values (no NaN or inf).",
        ),
        (
            np.eye(2),
            np.array([[np.inf, 0.0], [1.0, 2.0]]),
            "y_pred must contain only finite values (no NaN or inf).",
        ),
    ],
)
def test_l2_uvp_bad_input(y_true, y_pred, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        l2_uvp(y_true, y_pred)


def test_transport_cosine_known_values():
    rng = np.random.RandomState(0)
    X = rng.standard_normal((300, 4))
    matrix = np.diag([1.0, 2.0, 3.0, 4.0])
    y_true = X @ matrix + 1.0
    assert transport_cosine(X, y_true, y_true) == pytest.approx(1.0)
    assert transport_cosine(X, y_true, X + 2.0 * (y_true - X)) == pytest.approx(1.0)
    assert transport_cosine(X, y_true, X - (y_true - X)) == pytest.approx(-1.0)
    assert math.isnan(transport_cosine(X, y_true, X))
    noisy = y_true + 0.5 * rng.standard_normal(X.shape)
    assert 0.0 < transport_cosine(X, y_true, noisy) < 1.0


def test_transport_cosine_bad_input():
    with pytest.raises(
        ValueError,
        match=re.escape(
            "X and y_pred must have the same shape, got (4, 2) and (3, 2)."
        ),
    ):
        transport_cosine(np.zeros((4, 2)), np.zeros((4, 2)), np.zeros((3, 2)))


@pytest.mark.parametrize(
    "m1, s1, m2, s2",
    [(0.0, 1.0, 3.0, 2.0), (-1.5, 0.3, 2.0, 0.3), (0.5, 4.0, 0.5, 1.0)],
)
def test_gaussian_w2_one_dimensional(m1, s1, m2, s2):
    # In 1-D, W2² = (m1 - m2)² + (σ1 - σ2)²; check also against sorted samples.
    expected = (m1 - m2) ** 2 + (s1 - s2) ** 2
    value = gaussian_w2_squared([m1], [[s1**2]], [m2], [[s2**2]])
    assert value == pytest.approx(expected, rel=1e-10, abs=1e-12)
    rng = np.random.RandomState(0)
    x = np.sort(m1 + s1 * rng.standard_normal(20_000))
    y = np.sort(m2 + s2 * rng.standard_normal(20_000))
    assert np.mean((x - y) ** 2) == pytest.approx(expected, rel=0.05, abs=0.01)


def test_gaussian_w2_commuting_covariances():
    # Diagonal covariances: W2² decouples into 1-D terms.
    var1 = np.array([1.0, 4.0, 0.25])
    var2 = np.array([9.0, 1.0, 0.25])
    mean1 = np.array([0.0, 1.0, 2.0])
    mean2 = np.array([1.0, 1.0, 0.0])
    expected = np.sum((mean1 - mean2) ** 2) + np.sum(
        (np.sqrt(var1) - np.sqrt(var2)) ** 2
    )
    value = gaussian_w2_squared(mean1, np.diag(var1), mean2, np.diag(var2))
    assert value == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize("n_features", [2, 5, 12])
def test_gaussian_ot_matrix_and_w2_consistent(n_features):
    rng = np.random.RandomState(n_features)
    cov1, cov2 = _random_spd(n_features, rng), _random_spd(n_features, rng)
    mean1, mean2 = rng.standard_normal(n_features), rng.standard_normal(n_features)
    matrix = gaussian_ot_matrix(cov1, cov2)
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-12)
    assert np.linalg.eigvalsh(matrix).min() > 0.0
    # The map pushes N(m1, S1) onto N(m2, S2): A S1 A = S2.
    np.testing.assert_allclose(matrix @ cov1 @ matrix, cov2, atol=1e-9)
    # Its transport cost equals W2², exactly in expectation and by Monte-Carlo.
    w2 = gaussian_w2_squared(mean1, cov1, mean2, cov2)
    identity = np.eye(n_features)
    cost = np.sum((mean2 - mean1) ** 2) + np.trace(
        (matrix - identity) @ cov1 @ (matrix - identity)
    )
    assert w2 == pytest.approx(cost, rel=1e-9)
    X = rng.multivariate_normal(mean1, cov1, size=20_000)
    Y = mean2 + (X - mean1) @ matrix
    assert np.mean(np.sum((Y - X) ** 2, axis=1)) == pytest.approx(w2, rel=0.05)
    assert gaussian_w2_squared(mean1, cov1, mean1, cov1) == pytest.approx(0.0, abs=1e-9)
    assert gaussian_w2_squared(mean2, cov2, mean1, cov1) == pytest.approx(w2, rel=1e-9)


def test_gaussian_ot_matrix_scalar():
    np.testing.assert_allclose(gaussian_ot_matrix([[4.0]], [[9.0]]), [[1.5]])


@pytest.mark.parametrize(
    "args, message",
    [
        (
            ([0.0, 0.0], np.eye(2), [0.0], np.eye(2)),
            "mean2 must be a 1-D array of shape (2,) matching the covariances, got "
            "an array of shape (1,).",
        ),
        (
            ([0.0, 0.0], np.eye(2), [0.0, 0.0], np.eye(3)),
            "cov1 and cov2 must have the same shape, got (2, 2) and (3, 3).",
        ),
        (
            ([0.0, 0.0], np.ones((2, 3)), [0.0, 0.0], np.eye(2)),
            "cov1 must be a square 2-D array of shape (n_features, n_features), got "
            "an array of shape (2, 3).",
        ),
        (
            ([0.0, 0.0], -np.eye(2), [0.0, 0.0], np.eye(2)),
            "cov1 must be positive semi-definite; its smallest eigenvalue is -1.",
        ),
        (
            ([0.0, 0.0], np.eye(2), [0.0, 0.0], np.diag([1.0, -1.0])),
            "cov2 must be positive semi-definite; its smallest eigenvalue is -1.",
        ),
        (
            ([0.0, 0.0], [[1.0, 5.0], [0.0, 1.0]], [0.0, 0.0], np.eye(2)),
            "cov1 must be symmetric.",
        ),
        (
            ([np.nan, 0.0], np.eye(2), [0.0, 0.0], np.eye(2)),
            "mean1 must contain only finite values.",
        ),
    ],
)
def test_gaussian_w2_bad_input(args, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        gaussian_w2_squared(*args)


@pytest.mark.parametrize("scale", [1e-300, 1e-200, 1e-160, 1e160, 1e300])
def test_gaussian_ot_matrix_is_scale_free(scale):
    """A(c S1, c S2) = A(S1, S2) and A(S1, c S2) = √c A(S1, S2), to rounding,
    also where the products inside would underflow or overflow."""
    cov = np.array([[2.0, 0.5, 0.0], [0.5, 1.0, 0.2], [0.0, 0.2, 3.0]])
    expected = np.sqrt(2.0) * np.eye(3)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        both = gaussian_ot_matrix(scale * cov, 2.0 * scale * cov)
        target = gaussian_ot_matrix(cov, scale * cov)
    np.testing.assert_allclose(both, expected, rtol=0, atol=1e-14)
    np.testing.assert_allclose(target / np.sqrt(scale), np.eye(3), rtol=0, atol=1e-14)
    np.testing.assert_array_equal(gaussian_ot_matrix(cov, 0 * cov), np.zeros((3, 3)))


def test_gaussian_ot_matrix_bad_input():
    with pytest.raises(ValueError, match=re.escape("cov1 must be positive definite.")):
        gaussian_ot_matrix(np.diag([1.0, 0.0]), np.eye(2))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "cov1 and cov2 must have the same shape, got (2, 2) and (1, 1)."
        ),
    ):
        gaussian_ot_matrix(np.eye(2), np.eye(1))


def test_gaussian_w2_keeps_a_small_mean_term_beside_large_covariances():
    """The Bures term's round-off is clipped on its own, not with the means."""
    cov = 1e8 * np.eye(2)
    assert gaussian_w2_squared([0.0, 0.0], cov, [1e-4, 0.0], cov) == pytest.approx(
        1e-8, rel=1e-6
    )


def test_gaussian_closed_forms_accept_round_off_asymmetry_and_semi_definite():
    rng = np.random.default_rng(0)
    B = rng.normal(size=(4, 2))
    singular = B @ B.T  # rank 2, eigenvalues ~ ±1e-16 at the bottom
    cov = singular + 1e-13 * rng.normal(size=(4, 4))  # asymmetry at round-off
    assert np.isfinite(gaussian_w2_squared(np.zeros(4), cov, np.zeros(4), np.eye(4)))
    assert np.isfinite(gaussian_ot_matrix(np.eye(4), cov)).all()


def test_transport_cosine_is_scale_free():
    X = np.zeros((3, 2))
    true = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    pred = np.array([[1.0, 0.2], [0.1, 1.0], [1.0, 0.8]])
    reference = transport_cosine(X, true, pred)
    for scale in (1e-200, 1e200):
        assert transport_cosine(X, scale * true, scale * pred) == pytest.approx(
            reference, rel=1e-12
        )


def test_l2_uvp_is_scale_free():
    """Values near 1e±200 neither overflow (NaN before) nor underflow ("zero
    total variance" before) when squared."""
    rng = np.random.default_rng(0)
    true = rng.normal(size=(50, 3))
    pred = true + 0.1 * rng.normal(size=(50, 3))
    reference = l2_uvp(true, pred)
    for scale in (1e-200, 1e200):
        assert l2_uvp(scale * true, scale * pred) == pytest.approx(reference, rel=1e-12)


def test_metrics_refuse_inputs_that_are_not_real_arrays():
    scipy_sparse = pytest.importorskip("scipy.sparse")
    true = np.eye(3)
    for bad, message in [
        (scipy_sparse.csr_matrix(true), "y_true is a sparse matrix"),
        (true.astype(complex), "y_true must hold real numbers, got dtype complex"),
        (true.astype(str), "y_true must hold real numbers, got dtype <U"),
        (np.array([["a", 1, 2]] * 3, dtype=object), "y_true must hold real numbers"),
    ]:
        with pytest.raises(ValueError, match=re.escape(message)):
            l2_uvp(bad, true)
        with pytest.raises(ValueError, match=re.escape(message)):
            transport_cosine(true, bad, true)


def test_gaussian_metrics_and_datasets_refuse_inputs_that_are_not_real():
    # complex input lost its imaginary part with only NumPy's ComplexWarning
    # (W2 of a complex covariance was 0.0), sparse failed inside float()
    from skfpot.datasets import GaussianPair, make_gaussian_pair

    scipy_sparse = pytest.importorskip("scipy.sparse")
    eye, zero = np.eye(2), np.zeros(2)
    pair = make_gaussian_pair(2, random_state=0)
    for call, message in [
        (lambda: gaussian_w2_squared(zero, eye * (1 + 5j), zero, eye), "cov1 must"),
        (lambda: gaussian_w2_squared(zero + 0j, eye, zero, eye), "mean1 must"),
        (lambda: gaussian_ot_matrix(eye, scipy_sparse.eye(2)), "cov2 is a sparse"),
        (lambda: GaussianPair(zero, eye, zero, eye * 1j), "cov_target must"),
        (lambda: pair.forward_map(np.ones((3, 2)) * 1j), "X must hold real"),
        (lambda: pair.inverse_map(scipy_sparse.eye(2)), "Y is a sparse"),
    ]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            with pytest.raises(ValueError, match=message):
                call()


@pytest.mark.parametrize("delta", [1e-4, 1e-6, 1e-8])
def test_gaussian_w2_is_accurate_for_nearly_equal_covariances(delta):
    """Rotated diagonal covariances, whose distance is known stably:
    sum((a - b) / (sqrt a + sqrt b))^2. The trace formula cancelled (relative
    errors 1e-4 at delta = 1e-6 and 90 at 1e-8 in d = 8)."""
    rng = np.random.default_rng(0)
    d = 8
    Q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    a = rng.uniform(0.5, 2.0, size=d)
    b = a * (1 + delta * rng.normal(size=d))
    exact = np.sum(((a - b) / (np.sqrt(a) + np.sqrt(b))) ** 2)
    got = gaussian_w2_squared(np.zeros(d), Q * a @ Q.T, np.zeros(d), Q * b @ Q.T)
    assert got == pytest.approx(exact, rel=1e-5, abs=0)

"""Tests for skfpot.datasets."""

import re
import warnings

import numpy as np
import pytest

import skfpot.datasets as datasets_module
from skfpot.datasets import (
    ClassGaussianPairs,
    GaussianPair,
    load_mix3tomix10,
    make_class_gaussian_pairs,
    make_gaussian_pair,
)
from skfpot.metrics import gaussian_ot_matrix, l2_uvp


def _w2bench_dir():
    for path in datasets_module._default_w2bench_dirs():
        if path.is_dir():
            return path
    return None


W2BENCH_DIR = _w2bench_dir()
needs_w2bench = pytest.mark.w2bench  # skipped without the data (conftest.py)


# --------------------------------------------------------------------------- #
# Gaussian pair
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_features", [1, 2, 8])
def test_gaussian_pair_protocol(n_features):
    pair = make_gaussian_pair(n_features, random_state=0)
    assert pair.n_features == n_features
    scales = np.exp(np.linspace(np.log(0.5), np.log(2.0), n_features))
    for cov in (pair.cov_source, pair.cov_target):
        np.testing.assert_allclose(np.linalg.eigvalsh(cov), np.sort(scales**2))
    matrix = pair.matrix
    np.testing.assert_allclose(matrix, matrix.T, atol=1e-12)
    assert np.linalg.eigvalsh(matrix).min() > 0.0
    np.testing.assert_allclose(matrix @ pair.cov_source @ matrix, pair.cov_target)
    assert pair.w2_squared > 0.0


@pytest.mark.parametrize("n_features", [2, 8])
def test_gaussian_pair_pushes_source_to_target(n_features):
    pair = make_gaussian_pair(n_features, random_state=1)
    X = pair.sample_source(20_000, random_state=0)
    np.testing.assert_allclose(X.mean(axis=0), pair.mean_source, atol=0.05)
    np.testing.assert_allclose(
        np.cov(X.T).reshape(pair.cov_source.shape), pair.cov_source, atol=0.1
    )
    Y = pair.forward_map(X)
    np.testing.assert_allclose(Y.mean(axis=0), pair.mean_target, atol=0.05)
    np.testing.assert_allclose(
        np.cov(Y.T).reshape(pair.cov_target.shape), pair.cov_target, atol=0.1
    )
    cost = np.mean(np.sum((Y - X) ** 2, axis=1))
    assert cost == pytest.approx(pair.w2_squared, rel=0.05)
    np.testing.assert_allclose(pair.inverse_map(Y), X, atol=1e-10)
    np.testing.assert_allclose(pair.forward_map(pair.inverse_map(X)), X, atol=1e-10)


def test_gaussian_pair_sample_is_unpaired_and_reproducible():
    pair = make_gaussian_pair(3, random_state=0)
    X, Y = pair.sample(500, 300, random_state=0)
    assert X.shape == (500, 3) and Y.shape == (300, 3)
    assert not np.allclose(Y, pair.forward_map(X[:300]))
    X2, Y2 = pair.sample(500, 300, random_state=0)
    np.testing.assert_array_equal(X, X2)
    np.testing.assert_array_equal(Y, Y2)
    X3, Y3 = pair.sample(200, random_state=np.random.RandomState(1))
    assert X3.shape == Y3.shape == (200, 3)
    other = make_gaussian_pair(3, random_state=0)
    np.testing.assert_array_equal(other.matrix, pair.matrix)
    # The interface used by the evaluation protocol.
    X_test = pair.sample_source(4096, random_state=2)
    assert l2_uvp(pair.forward_map(X_test), pair.forward_map(X_test)) == 0.0
    assert l2_uvp(X_test, pair.inverse_map(pair.forward_map(X_test))) < 1e-20


def test_gaussian_pair_explicit_parameters():
    pair = GaussianPair([1.0, 0.0], np.diag([1.0, 4.0]), [0.0, 0.0], np.eye(2))
    np.testing.assert_allclose(pair.matrix, np.diag([1.0, 0.5]))
    assert pair.w2_squared == pytest.approx(1.0 + 1.0)
    np.testing.assert_allclose(pair.forward_map([[1.0, 2.0]]), [[0.0, 1.0]])
    np.testing.assert_allclose(pair.inverse_map([[0.0, 1.0]]), [[1.0, 2.0]])


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda p: p.sample_source(0),
            "n must be a positive integer, got 0.",
        ),
        (
            lambda p: p.sample(10, 2.5),
            "m must be a positive integer, got 2.5.",
        ),
        (
            lambda p: p.forward_map(np.zeros((4, 3))),
            "X must be a 2-D array of shape (n_samples, 2), got an array of shape "
            "(4, 3).",
        ),
        (
            lambda p: p.inverse_map(np.zeros(2)),
            "Y must be a 2-D array of shape (n_samples, 2), got an array of shape "
            "(2,).",
        ),
    ],
)
def test_gaussian_pair_bad_input(call, message):
    pair = make_gaussian_pair(2, random_state=0)
    with pytest.raises(ValueError, match=re.escape(message)):
        call(pair)


def test_gaussian_pair_bad_parameters():
    with pytest.raises(ValueError, match=re.escape("cov_source must be positive")):
        GaussianPair([0.0, 0.0], np.diag([1.0, 0.0]), [0.0, 0.0], np.eye(2))
    with pytest.raises(ValueError, match="cov_target must be symmetric"):
        GaussianPair([0.0, 0.0], np.eye(2), [0.0, 0.0], [[1.0, 0.5], [0.0, 1.0]])
    with pytest.raises(ValueError, match="mean_source must contain only finite"):
        GaussianPair([np.nan, 0.0], np.eye(2), [0.0, 0.0], np.eye(2))
    with pytest.raises(
        ValueError, match=re.escape("mean_target must have shape (2,), got (3,).")
    ):
        GaussianPair([0.0, 0.0], np.eye(2), [0.0, 0.0, 0.0], np.eye(2))
    with pytest.raises(
        ValueError, match=re.escape("n_features must be a positive integer, got 0.")
    ):
        make_gaussian_pair(0)


# --------------------------------------------------------------------------- #
# Class-conditional Gaussians
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("n_classes, n_features", [(2, 2), (3, 8), (5, 4)])
def test_class_pairs_per_class_maps_are_correct(n_classes, n_features):
    problem = make_class_gaussian_pairs(n_classes, n_features, random_state=0)
    assert isinstance(problem, ClassGaussianPairs)
    np.testing.assert_array_equal(problem.classes_, np.arange(n_classes))
    np.testing.assert_allclose(problem.class_weights, np.full(n_classes, 1 / n_classes))
    assert problem.n_features == n_features and problem.n_classes == n_classes
    X, classes = problem.sample_source(20_000, random_state=0)
    Y = problem.forward_map(X, classes)
    for k, pair in enumerate(problem.pairs):
        rows = classes == k
        assert abs(rows.mean() - 1 / n_classes) < 0.02
        np.testing.assert_allclose(Y[rows].mean(axis=0), pair.mean_target, atol=0.05)
        cov = np.cov(Y[rows].T).reshape(n_features, n_features)
        np.testing.assert_allclose(cov, pair.cov_target, atol=0.05)
    np.testing.assert_allclose(problem.inverse_map(Y, classes), X, atol=1e-10)
    cost = np.mean(np.sum((Y - X) ** 2, axis=1))
    assert cost == pytest.approx(problem.w2_squared, rel=0.05)
    np.testing.assert_allclose(
        problem.w2_squared, problem.class_w2_squared.mean(), rtol=1e-12
    )


@pytest.mark.parametrize("n_classes", [2, 3, 6])
def test_class_pairs_pooled_map_differs(n_classes):
    problem = make_class_gaussian_pairs(n_classes, 4, random_state=1)
    X, Y, x_classes, y_classes = problem.sample(20_000, random_state=0)
    # Class-blind linear (Gaussian) OT map fitted on the pooled, unpaired data.
    matrix = gaussian_ot_matrix(np.cov(X.T), np.cov(Y.T))
    X_test, classes = problem.sample_source(4096, random_state=1)
    pooled = Y.mean(axis=0) + (X_test - X.mean(axis=0)) @ matrix
    truth = problem.forward_map(X_test, classes)
    assert l2_uvp(truth, pooled) > 200.0
    assert l2_uvp(truth, X_test) > 200.0
    # Per class, the true map is recovered by the same closed form.
    for k in problem.classes_:
        Xk, Yk = X[x_classes == k], Y[y_classes == k]
        matrix_k = gaussian_ot_matrix(np.cov(Xk.T), np.cov(Yk.T))
        rows = classes == k
        estimate = Yk.mean(axis=0) + (X_test[rows] - Xk.mean(axis=0)) @ matrix_k
        assert l2_uvp(truth[rows], estimate) < 2.0


def test_class_pairs_sample_unpaired_and_weighted():
    problem = make_class_gaussian_pairs(
        3, 2, class_weights=[2.0, 1.0, 1.0], random_state=0
    )
    np.testing.assert_allclose(problem.class_weights, [0.5, 0.25, 0.25])
    assert problem.w2_squared == pytest.approx(
        np.dot([0.5, 0.25, 0.25], problem.class_w2_squared)
    )
    X, Y, x_classes, y_classes = problem.sample(4000, 3000, random_state=0)
    assert X.shape == (4000, 2) and Y.shape == (3000, 2)
    assert x_classes.shape == (4000,) and y_classes.shape == (3000,)
    assert abs(np.mean(x_classes == 0) - 0.5) < 0.03
    assert abs(np.mean(y_classes == 0) - 0.5) < 0.03
    assert not np.array_equal(x_classes[:3000], y_classes)
    assert not np.allclose(Y, problem.forward_map(X[:3000], x_classes[:3000]))
    again = problem.sample(4000, 3000, random_state=0)
    for first, second in zip((X, Y, x_classes, y_classes), again, strict=True):
        np.testing.assert_array_equal(first, second)


@pytest.mark.parametrize(
    "call, message",
    [
        (
            lambda p: p.forward_map(np.zeros((3, 2)), [0, 1]),
            "classes must be a 1-D array of shape (3,), got an array of shape (2,).",
        ),
        (
            lambda p: p.inverse_map(np.zeros((2, 2)), [0, 3]),
            "classes must hold integer labels in 0..2, got values [0 3].",
        ),
        (
            lambda p: p.forward_map(np.zeros((2, 3)), [0, 1]),
            "X must be a 2-D array of shape (n_samples, 2), got an array of shape "
            "(2, 3).",
        ),
        (
            lambda p: p.sample_source(-1),
            "n must be a positive integer, got -1.",
        ),
    ],
)
def test_class_pairs_bad_input(call, message):
    problem = make_class_gaussian_pairs(3, 2, random_state=0)
    with pytest.raises(ValueError, match=re.escape(message)):
        call(problem)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"n_classes": 1}, "n_classes must be at least 2, got 1."),
        ({"n_features": 1}, "n_features must be at least 2, got 1."),
        (
            {"class_weights": [1.0, 1.0]},
            "class_weights must have shape (3,), got (2,).",
        ),
        (
            {"class_weights": [1.0, -1.0, 1.0]},
            "class_weights must be finite and non-negative with a positive sum.",
        ),
        (
            {"class_weights": [np.inf, 1.0, 1.0]},
            "class_weights must be finite and non-negative with a positive sum.",
        ),
    ],
)
def test_make_class_pairs_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        make_class_gaussian_pairs(**kwargs)


# --------------------------------------------------------------------------- #
# Mix3toMix10
# --------------------------------------------------------------------------- #
@needs_w2bench
@pytest.mark.parametrize("n_features, low, high", [(2, 32.0, 33.5), (16, 87.0, 90.0)])
def test_mix3tomix10_identity_sanity(n_features, low, high):
    problem = load_mix3tomix10(n_features)
    assert problem.n_features == n_features
    assert problem.w2_squared is None
    assert low <= problem.identity_uvp(4096, random_state=0) <= high


@needs_w2bench
def test_mix3tomix10_map(monkeypatch):
    problem = load_mix3tomix10(4, random_state=3)
    X = problem.sample_source(4096, random_state=0)
    assert X.shape == (4096, 4) and X.dtype == np.float64
    # The source law is standardised: unit variance on average per coordinate.
    assert np.mean(X.var(axis=0)) == pytest.approx(1.0, abs=0.05)
    Y = problem.forward_map(X)
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=0.05)
    assert np.mean(Y.var(axis=0)) == pytest.approx(1.0, abs=0.05)
    # T* is the gradient of a convex function: monotone.
    shuffled = np.random.RandomState(0).permutation(4096)
    inner = np.sum((Y - Y[shuffled]) * (X - X[shuffled]), axis=1)
    assert inner.min() >= -1e-10
    # Chunked evaluation gives the same answer.
    monkeypatch.setattr(datasets_module, "_CHUNK_SIZE", 1000)
    np.testing.assert_allclose(problem.forward_map(X), Y, rtol=1e-12, atol=1e-12)
    # read-only input (a memmap, pandas' copy-on-write arrays): no torch warning
    X.setflags(write=False)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_array_equal(problem.forward_map(X[:1000]), Y[:1000])
    X_train, Y_train = problem.sample(300, 200, random_state=0)
    assert X_train.shape == (300, 4) and Y_train.shape == (200, 4)
    assert not np.allclose(Y_train, problem.forward_map(X_train[:200]))


@needs_w2bench
def test_mix3tomix10_data_dir_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("SKFPOT_W2BENCH_DIR", str(W2BENCH_DIR))
    default = load_mix3tomix10(2)
    explicit = load_mix3tomix10(2, data_dir=W2BENCH_DIR)
    np.testing.assert_array_equal(default.map_mean, explicit.map_mean)
    monkeypatch.setenv("SKFPOT_W2BENCH_DIR", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=re.escape("2_v1.pt' not found.")):
        load_mix3tomix10(2)


def test_mix3tomix10_bad_input(tmp_path):
    with pytest.raises(
        ValueError,
        match=re.escape(
            "n_features must be one of (2, 4, 8, 16, 32, 64, 128) for Mix3toMix10, "
            "got 3."
        ),
    ):
        load_mix3tomix10(3)
    missing = tmp_path / "missing"
    with pytest.raises(
        FileNotFoundError,
        match=re.escape(f"Mix3toMix10 data directory {str(missing)!r} does not exist."),
    ):
        load_mix3tomix10(2, data_dir=missing)


def test_mix3tomix10_missing_default_dir(monkeypatch, tmp_path):
    missing = tmp_path / "missing"
    monkeypatch.setattr(datasets_module, "_default_w2bench_dirs", lambda: [missing])
    with pytest.raises(FileNotFoundError) as excinfo:
        load_mix3tomix10(2)
    message = str(excinfo.value)
    assert message.startswith("Mix3toMix10 data directory not found (tried ")
    assert repr(str(missing)) in message
    assert "set the environment variable SKFPOT_W2BENCH_DIR" in message


@needs_w2bench
def test_mix3tomix10_source_is_the_gaussian_mixture():
    """Each draw is centre_k + std · A_k z for its component k (computed one
    component at a time: no n × d × d array, which took 16 GiB at
    n = 2**17, d = 128)."""
    from sklearn.utils import check_random_state

    problem = load_mix3tomix10(8)
    X = problem.sample_source(2000, random_state=3)
    rng = check_random_state(3)
    k = rng.randint(len(problem.centers), size=2000)
    z = rng.standard_normal((2000, 8))
    expected = problem.centers[k] + problem.std * np.einsum(
        "nij,nj->ni", problem.maps[k], z
    )
    np.testing.assert_allclose(X, expected, rtol=0, atol=1e-12)


@pytest.mark.parametrize("n_classes", [2, 3, 4, 5])
def test_class_pairs_neighbouring_means_are_5_apart_and_targets_opposite(n_classes):
    """D04: the documented geometry of make_class_gaussian_pairs."""
    problem = make_class_gaussian_pairs(n_classes, 3, random_state=0)
    sources = np.array([pair.mean_source for pair in problem.pairs])
    targets = np.array([pair.mean_target for pair in problem.pairs])
    gaps = np.linalg.norm(sources - np.roll(sources, -1, axis=0), axis=1)
    np.testing.assert_allclose(gaps, 5.0, rtol=1e-12)
    shift = n_classes // 2
    np.testing.assert_allclose(targets, np.roll(sources, -shift, axis=0), atol=1e-12)


@needs_w2bench
@pytest.mark.parametrize("n_features", [4, 16])
def test_mix3tomix10_target_is_exactly_standardised_on_its_own_draws(n_features):
    """D07: m and sqrt(v) standardise the raw map on the 2**14 draws of seed
    0, so the target has mean 0 and total variance n_features there."""
    problem = load_mix3tomix10(n_features)
    Y = problem.forward_map(problem.sample_source(2**14, random_state=0))
    np.testing.assert_allclose(Y.mean(axis=0), 0.0, atol=1e-12)
    assert Y.var(axis=0).sum() == pytest.approx(n_features, rel=1e-10)

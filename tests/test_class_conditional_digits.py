"""A miniature of examples/plot_digits_translation.py: unpaired image
translation, one map per digit, in pixel space."""

import numpy as np
import pytest
import torch
from scipy.ndimage import grey_dilation
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from sklearn.svm import SVC

from skfpot import ClassConditionalFixedPointOT

torch.set_num_threads(1)

DIGITS = [3, 5, 8]


def _energy_distance(A, B):
    """Unbiased energy distance (within-sample means over distinct pairs)."""

    def mean_distance(P, Q, same):
        d = np.linalg.norm(P[:, None, :] - Q[None, :, :], axis=-1)
        return d.sum() / (d.size - len(P)) if same else d.mean()

    return (
        2 * mean_distance(A, B, False)
        - mean_distance(A, A, True)
        - (mean_distance(B, B, True))
    )


@pytest.fixture(scope="module")
def translated():
    """Thin digits (source) and bold digits (target) from disjoint halves."""
    digits = load_digits()
    keep = np.isin(digits.target, DIGITS)
    images, labels = digits.images[keep] / 16.0, digits.target[keep]
    source, target = np.array_split(
        np.random.default_rng(0).permutation(len(labels)), 2
    )
    X = images[source].reshape(-1, 64)
    Y = np.stack([grey_dilation(im, size=(2, 2)) for im in images[target]])
    X_train, X_test, x_train, x_test = train_test_split(
        X, labels[source], test_size=0.4, stratify=labels[source], random_state=0
    )
    Y_train, Y_test, y_train, y_test = train_test_split(
        Y.reshape(-1, 64),
        labels[target],
        test_size=0.4,
        stratify=labels[target],
        random_state=0,
    )
    ot = ClassConditionalFixedPointOT(
        hidden_layer_sizes=(16,), quadratic="identity", max_iter=60, random_state=0
    ).fit(X_train, Y_train, x_classes=x_train, y_classes=y_train)
    return {
        "ot": ot,
        "train": (X_train, x_train, Y_train, y_train),
        "test": (X_test, x_test, Y_test, y_test),
    }


def test_translations_are_read_as_their_digit(translated):
    X_train, x_train, Y_train, y_train = translated["train"]
    X_test, x_test, Y_test, y_test = translated["test"]
    ot = translated["ot"]
    bold = SVC().fit(Y_train, y_train)
    thin = SVC().fit(X_train, x_train)
    # the domain gap that the map must close
    assert bold.score(X_test, x_test) < 0.8
    assert bold.score(ot.transform(X_test, classes=x_test), x_test) >= 0.9
    assert thin.score(ot.inverse_transform(Y_test, classes=y_test), y_test) >= 0.9


def test_translations_beat_the_class_mean_map(translated):
    X_train, x_train, Y_train, y_train = translated["train"]
    X_test, x_test, Y_test, y_test = translated["test"]
    Z = translated["ot"].transform(X_test, classes=x_test)
    for k in DIGITS:
        real = Y_test[y_test == k]
        template = np.repeat(Y_train[y_train == k].mean(0, keepdims=True), 30, 0)
        learned = _energy_distance(Z[x_test == k], real)
        assert learned < 0.25 * _energy_distance(template, real)

"""The plain scikit-learn domain-adaptation recipes of docs/domain_adaptation.rst.

No skada here: a transport map fitted on (X_source, X_target) is used as a
frozen pipeline step.
"""

import numpy as np
import pytest
import sklearn
import torch
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer

from skfpot import ClassConditionalFixedPointOT, FixedPointOT

torch.set_num_threads(1)

FAST = {"hidden_layer_sizes": (16,), "max_iter": 100, "random_state": 0}


@pytest.fixture(autouse=True)
def metadata_routing_off():
    """Plain scikit-learn: routing off (its default) whatever ran before, e.g.
    an ``import skada`` elsewhere in the session; the setting is restored."""
    before = sklearn.get_config()["enable_metadata_routing"]
    with sklearn.config_context(enable_metadata_routing=False):
        yield
    assert sklearn.get_config()["enable_metadata_routing"] == before


def _blobs(n, rng):
    y = rng.integers(0, 2, n)
    X = 0.5 * rng.normal(size=(n, 2))
    X[:, 0] += np.where(y == 1, 2.0, -2.0)
    return X, y


@pytest.fixture(scope="module")
def shifted():
    """Two classes split by x₀ = 0 in the source; target = source · (0.7, 1)
    + (4, 1), so a source classifier puts every target row in class 1."""
    rng = np.random.default_rng(0)
    X_source, y_source = _blobs(300, rng)
    X_target, y_target = _blobs(250, rng)
    X_target = X_target * [0.7, 1.0] + [4.0, 1.0]
    return X_source, y_source, X_target, y_target


@pytest.fixture(scope="module")
def ot(shifted):
    X_source, _, X_target, _ = shifted
    return FixedPointOT(**FAST).fit(X_source, X_target)


def test_no_adaptation_fails(shifted):
    X_source, y_source, X_target, y_target = shifted
    clf = LogisticRegression().fit(X_source, y_source)
    assert clf.score(X_target, y_target) < 0.6


def test_recipe_map_source_then_train(shifted, ot):
    """Recipe 1: train on T(X_source); predict the target with the last step."""
    X_source, y_source, X_target, y_target = shifted
    n_iter = ot.n_iter_
    pipe = make_pipeline(FrozenEstimator(ot), LogisticRegression())
    pipe.fit(X_source, y_source)  # the frozen map is not refitted
    assert ot.n_iter_ == n_iter
    # target rows are already in target coordinates: skip the map
    assert pipe[-1].score(X_target, y_target) > 0.95
    # pipe.predict would map the target rows a second time: wrong domain
    assert pipe.score(X_target, y_target) < 0.6
    # ... unless the target rows are first pulled back to the source domain
    assert pipe.score(ot.inverse_transform(X_target), y_target) > 0.95


def test_recipe_pull_target_back(shifted, ot):
    """Recipe 2: keep the source classifier, map target rows back with S."""
    X_source, y_source, X_target, y_target = shifted
    clf = LogisticRegression().fit(X_source, y_source)
    to_source = FunctionTransformer(
        ot.inverse_transform, inverse_func=ot.transform, check_inverse=False
    )
    pipe = make_pipeline(to_source, FrozenEstimator(clf))
    assert pipe.score(X_target, y_target) > 0.95
    np.testing.assert_allclose(
        pipe.predict_proba(X_target),
        clf.predict_proba(ot.inverse_transform(X_target)),
    )
    # With routing on (e.g. after ``import skada``) prediction still works, but
    # scikit-learn 1.9's Pipeline.score cannot route through FrozenEstimator.
    with sklearn.config_context(enable_metadata_routing=True):
        np.testing.assert_array_equal(
            pipe.predict(X_target), clf.predict(ot.inverse_transform(X_target))
        )


def test_plain_pipeline_passes_y_as_target_sample(shifted):
    """An unfrozen map in a Pipeline receives the labels y as its ``Y``."""
    X_source, y_source, _, _ = shifted
    pipe = make_pipeline(FixedPointOT(**FAST), LogisticRegression())
    with pytest.raises(ValueError, match="got a 1-D array.*FrozenEstimator"):
        pipe.fit(X_source, y_source)


def test_cross_validation_slices_rows_of_x_only(shifted, ot):
    """CV folds the source rows; the frozen map is shared by every fold."""
    X_source, y_source, _, _ = shifted
    state = {k: v.clone() for k, v in ot.module_.state_dict().items()}
    pipe = make_pipeline(FrozenEstimator(ot), LogisticRegression())
    scores = cross_val_score(pipe, X_source, y_source, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.95
    for k, v in ot.module_.state_dict().items():
        torch.testing.assert_close(v, state[k])


def test_recipe_class_conditional_with_routing(shifted):
    """Recipe 3: a frozen class-conditional map gets the classes by routing."""
    X_source, y_source, X_target, y_target = shifted
    cc = ClassConditionalFixedPointOT(**FAST).fit(
        X_source, X_target, x_classes=y_source, y_classes=y_target
    )
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(
            FrozenEstimator(cc.set_transform_request(classes=True)),
            LogisticRegression(),
        )
        pipe.fit(X_source, y_source, classes=y_source)
    assert pipe[-1].score(X_target, y_target) > 0.95

"""ClassConditionalFixedPointOT in a scikit-learn Pipeline: metadata routing.

The recipe of docs/user_guide.rst: fit the map beforehand, request ``classes``
with ``set_transform_request`` / ``set_inverse_transform_request``, freeze it
with :class:`~sklearn.frozen.FrozenEstimator`, and pass ``classes=...`` to the
pipeline's method with routing switched on.
"""

import copy
import re

import numpy as np
import pytest
import sklearn
import torch
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skfpot import ClassConditionalFixedPointOT

torch.set_num_threads(1)

MISSING = (
    "classes is required by ClassConditionalFixedPointOT.{method}: pass "
    "classes=<one label per row>. In a Pipeline, enable metadata routing "
    "(sklearn.set_config(enable_metadata_routing=True)), request it with "
    "set_{method}_request(classes=True) and pass classes=... to the Pipeline's "
    "method"
)


@pytest.fixture(scope="module")
def problem():
    """Two string-labelled classes that swap sides between the domains, the
    scaler fitted on the source and the map fitted in scaled coordinates."""
    rng = np.random.default_rng(0)
    names = np.array(["left", "right"])
    x_classes = names[rng.integers(0, 2, 400)]
    y_classes = names[rng.integers(0, 2, 300)]
    X = rng.normal(size=(400, 2)) + np.where(x_classes == "right", 4.0, 0.0)[:, None]
    Y = rng.normal(size=(300, 2)) + np.where(y_classes == "right", -4.0, 0.0)[:, None]
    scaler = StandardScaler().fit(X)
    ot = ClassConditionalFixedPointOT(
        hidden_layer_sizes=(16,), max_iter=100, random_state=0
    ).fit(
        scaler.transform(X),
        scaler.transform(Y),
        x_classes=x_classes,
        y_classes=y_classes,
    )
    return X, Y, x_classes, y_classes, scaler, ot


@pytest.fixture
def ot(problem):
    """A fresh copy of the fitted map: metadata requests are instance state."""
    return copy.deepcopy(problem[-1])


def _pipeline(X, ot, *last, **params):
    """StandardScaler → frozen map (→ last), fitted on the source rows; a step
    after the map makes ``fit`` call the map's ``transform`` too."""
    return make_pipeline(StandardScaler(), FrozenEstimator(ot), *last).fit(X, **params)


def _requests(estimator):
    routing = estimator.get_metadata_routing()
    methods = ("fit", "score", "transform", "inverse_transform")
    return {method: getattr(routing, method).requests for method in methods}


def test_request_setters_follow_the_method_signatures(ot):
    """scikit-learn generates one setter per method with metadata; ``X`` and
    the target sample ``Y`` are data, not metadata."""
    assert _requests(ot) == {
        "fit": {"x_classes": None, "y_classes": None},
        "score": {"x_classes": None, "y_classes": None},
        "transform": {"classes": None},
        "inverse_transform": {"classes": None},
    }
    with sklearn.config_context(enable_metadata_routing=True):
        ot.set_fit_request(x_classes=True, y_classes="y_labels")
        ot.set_transform_request(classes=True)
        ot.set_inverse_transform_request(classes="target_classes")
        ot.set_score_request(x_classes=False, y_classes=True)
        assert _requests(ot) == {
            "fit": {"x_classes": True, "y_classes": "y_labels"},
            "score": {"x_classes": False, "y_classes": True},
            "transform": {"classes": True},
            "inverse_transform": {"classes": "target_classes"},
        }


def test_setters_need_routing_switched_on(ot):
    with pytest.raises(RuntimeError, match="only available when metadata routing"):
        ot.set_transform_request(classes=True)


def test_pipeline_routes_classes_to_both_maps(problem, ot):
    X, Y, x_classes, y_classes, scaler, _ = problem
    with sklearn.config_context(enable_metadata_routing=True):
        ot.set_transform_request(classes=True)
        ot.set_inverse_transform_request(classes=True)
        pipe = _pipeline(X, ot)
        forward = pipe.transform(X, classes=x_classes)
        backward = pipe.inverse_transform(forward, classes=x_classes)
    np.testing.assert_allclose(
        forward, ot.transform(scaler.transform(X), classes=x_classes), rtol=1e-6
    )
    # the round trip T then S, undone by the scaler, gives X back
    np.testing.assert_allclose(backward, X, atol=1e-3)
    # each class went to its own target class: "right" from +4 to -4
    right = x_classes == "right"
    target_means = scaler.transform(Y[y_classes == "right"]).mean(0)
    np.testing.assert_allclose(forward[right].mean(0), target_means, atol=0.2)


def test_pipeline_predict_routes_classes_to_the_map(problem, ot):
    """A classifier after the frozen map: ``predict(X, classes=...)``."""
    X, Y, x_classes, y_classes, scaler, _ = problem
    clf = LogisticRegression().fit(scaler.transform(Y), y_classes)
    with sklearn.config_context(enable_metadata_routing=True):
        ot.set_transform_request(classes=True)
        pipe = _pipeline(X, ot, FrozenEstimator(clf), classes=x_classes)
        y_pred = pipe.predict(X, classes=x_classes)
    np.testing.assert_array_equal(
        y_pred, clf.predict(ot.transform(scaler.transform(X), classes=x_classes))
    )
    assert np.mean(y_pred == x_classes) > 0.95


@pytest.mark.parametrize("routing", [False, True])
def test_missing_classes_names_the_recipe(problem, ot, routing):
    X = problem[0]
    with sklearn.config_context(enable_metadata_routing=routing):
        if routing:
            ot.set_transform_request(classes=True)
            ot.set_inverse_transform_request(classes=True)
        pipe = _pipeline(X, ot)
        with pytest.raises(
            ValueError, match=re.escape(MISSING.format(method="transform"))
        ):
            pipe.transform(X)
        with pytest.raises(
            ValueError, match=re.escape(MISSING.format(method="inverse_transform"))
        ):
            pipe.inverse_transform(X)


def test_classes_without_routing_is_refused(problem, ot):
    X, _, x_classes, *_ = problem
    pipe = _pipeline(X, ot)
    msg = (
        "Passing extra keyword arguments to Pipeline.transform is only supported "
        "if enable_metadata_routing=True"
    )
    with pytest.raises(ValueError, match=re.escape(msg)):
        pipe.transform(X, classes=x_classes)


def test_classes_not_requested_is_refused(problem, ot):
    X, _, x_classes, *_ = problem
    with sklearn.config_context(enable_metadata_routing=True):
        # nothing requested at all: FrozenEstimator reports no metadata
        pipe = _pipeline(X, ot)
        msg = (
            "Pipeline.transform got unexpected argument(s) {'classes'}, which are "
            "not routed to any object."
        )
        with pytest.raises(TypeError, match=re.escape(msg)):
            pipe.transform(X, classes=x_classes)
        # transform requested, inverse_transform left unset
        ot.set_transform_request(classes=True)
        msg = (
            "[classes] are passed but are not explicitly set as requested or not "
            "requested for ClassConditionalFixedPointOT.inverse_transform"
        )
        with pytest.raises(UnsetMetadataPassedError, match=re.escape(msg)):
            pipe.inverse_transform(X, classes=x_classes)


def test_request_through_the_frozen_wrapper_returns_the_bare_map(ot):
    """``FrozenEstimator(ot).set_transform_request`` is delegated to ``ot`` and
    returns ``ot`` itself, unfrozen: call the setter before wrapping."""
    with sklearn.config_context(enable_metadata_routing=True):
        frozen = FrozenEstimator(ot)
        assert frozen.set_transform_request(classes=True) is ot
        assert _requests(frozen)["transform"] == {"classes": True}


def test_direct_call_without_classes_names_the_recipe(problem, ot):
    X = problem[0]
    with pytest.raises(ValueError, match=re.escape(MISSING.format(method="transform"))):
        ot.transform(X)
    fit_msg = (
        "x_classes is required by ClassConditionalFixedPointOT.fit: pass "
        "x_classes=<one label per row>. In a Pipeline, add the fitted map as a "
        "frozen step (sklearn.frozen.FrozenEstimator)"
    )
    with pytest.raises(ValueError, match=re.escape(fit_msg)):
        ClassConditionalFixedPointOT().fit(X, X)


def test_inverse_anchor_starts_stay_in_the_class():
    """The second start of a backward solve is a kept source row of the same
    class (the nearest image within the class)."""
    from skfpot import ClassConditionalFixedPointOT

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(600, 3)), rng.normal(size=(500, 3)) + 2.0
    a, b = rng.integers(0, 2, 600), rng.integers(0, 2, 500)
    cc = ClassConditionalFixedPointOT(
        hidden_layer_sizes=(16,), max_iter=50, random_state=0
    ).fit(X, Y, x_classes=a, y_classes=b)
    kept = 600 - (np.bincount(a) // 10).sum()  # a tenth of each class held out
    assert cc.anchor_classes_ is not None and len(cc.anchor_classes_) == kept
    y = torch.as_tensor(rng.normal(size=(50, 3)), dtype=torch.float32)
    k = torch.as_tensor(b[:50])
    starts = cc._anchor_start(y, k)
    rows = [int((cc.anchors_ == s).all(1).nonzero()[0]) for s in starts]
    assert (cc.anchor_classes_[rows] == k).all()

"""Tests of the skada adapter (optional extra, skipped without skada)."""

import ast
import importlib
import json
import os
import pathlib
import subprocess
import sys

import numpy as np
import pytest
import sklearn
import torch
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import DataConversionWarning
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.model_selection import GridSearchCV, cross_validate
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.utils._param_validation import InvalidParameterError

from skfpot import ClassConditionalFixedPointOT, FixedPointOT

# ``import skada`` switches scikit-learn's metadata routing on for the whole
# process. Undo it right after the import so that collecting this module does
# not change the configuration the other test modules run with; the fixture
# below switches it on for the tests of this module only.
_ROUTING_BEFORE_IMPORT = sklearn.get_config()["enable_metadata_routing"]
skada = pytest.importorskip("skada")
make_shifted_datasets = importlib.import_module("skada.datasets").make_shifted_datasets
skfpot_skada = importlib.import_module("skfpot.skada")
sklearn.set_config(enable_metadata_routing=_ROUTING_BEFORE_IMPORT)

make_da_pipeline = skada.make_da_pipeline
PredictionEntropyScorer = skada.metrics.PredictionEntropyScorer
ImportanceWeightedScorer = skada.metrics.ImportanceWeightedScorer
SourceTargetShuffleSplit = skada.model_selection.SourceTargetShuffleSplit
FixedPointOTAdapter = skfpot_skada.FixedPointOTAdapter
FixedPointOTMapping = skfpot_skada.FixedPointOTMapping

torch.set_num_threads(1)

#: small and fast: one hidden layer of 16 units, 100 optimizer steps
FAST = {"hidden_layer_sizes": (16,), "max_iter": 100, "random_state": 0}


@pytest.fixture(autouse=True)
def metadata_routing():
    """Run each test with routing on (skada needs it); restore the setting."""
    before = sklearn.get_config()["enable_metadata_routing"]
    sklearn.set_config(enable_metadata_routing=True)
    try:
        yield
    finally:
        sklearn.set_config(enable_metadata_routing=before)


@pytest.fixture(scope="module")
def conditional_shift():
    """160 source and 160 target rows, target = 0.7 · source + 1 (d=2)."""
    X, y, sample_domain = make_shifted_datasets(
        20, 20, shift="conditional_shift", noise=0.1, random_state=0
    )
    return X, y, sample_domain


def _masked(y, sample_domain):
    y = y.copy()
    y[sample_domain < 0] = -1
    return y


# ------------------------------------------------------------------ pipelines
def test_pipeline_with_sample_domain_adapts(conditional_shift):
    X, y, sd = conditional_shift
    target = sd < 0
    pipe = make_da_pipeline(
        StandardScaler(), FixedPointOTAdapter(**FAST), LogisticRegression()
    )
    pipe.fit(X, y.copy(), sample_domain=sd)
    baseline = make_da_pipeline(StandardScaler(), LogisticRegression())
    baseline.fit(X, y.copy(), sample_domain=sd)
    acc = pipe.score(X[target], y[target])
    assert acc > 0.9
    assert acc > baseline.score(X[target], y[target]) + 0.2
    # sample_domain at prediction time: all target rows, same answer
    np.testing.assert_array_equal(
        pipe.predict(X[target], sample_domain=sd[target]), pipe.predict(X[target])
    )


def test_pipeline_infers_domains_from_masked_labels(conditional_shift):
    X, y, sd = conditional_shift
    with_sd = make_da_pipeline(FixedPointOTAdapter(**FAST), LogisticRegression())
    without = clone(with_sd)
    with_sd.fit(X, y.copy(), sample_domain=sd)
    without.fit(X, _masked(y, sd))  # target rows marked by y = -1 only
    a, b = with_sd[0].get_estimator(), without[0].get_estimator()
    np.testing.assert_allclose(a.ot_.transform(X[:5]), b.ot_.transform(X[:5]))
    np.testing.assert_array_equal(
        with_sd.predict(X[sd < 0]), without.predict(X[sd < 0])
    )


def test_regression_masked_with_nan(conditional_shift):
    X, _, sd = conditional_shift
    y = X.sum(axis=1)
    y_nan = np.where(sd < 0, np.nan, y)
    pipe = make_da_pipeline(FixedPointOTAdapter(**FAST), Ridge()).fit(X, y_nan)
    adapter = pipe[0].get_estimator()
    assert adapter.ot_.n_features_in_ == 2
    assert pipe.predict(X[sd < 0]).shape == (int((sd < 0).sum()),)


def test_fit_transform_maps_source_and_passes_target(conditional_shift):
    X, y, sd = conditional_shift
    perm = np.random.default_rng(0).permutation(len(X))  # interleave domains
    X, y, sd = X[perm].astype(np.float32), y[perm], sd[perm]
    adapter = FixedPointOTAdapter(**FAST)
    Z = adapter.fit_transform(X, y, sample_domain=sd)
    source = sd >= 0
    assert Z.dtype == np.float32
    np.testing.assert_array_equal(Z[~source], X[~source])
    np.testing.assert_allclose(Z[source], adapter.ot_.transform(X[source]))
    # the source is moved onto the target: 0.7 · x + 1 in the generator
    assert np.abs(Z[source].mean(0) - X[~source].mean(0)).max() < 0.15
    assert isinstance(adapter.ot_, FixedPointOT)
    assert adapter.class_ot_ is None and adapter.n_features_in_ == 2


@pytest.mark.parametrize("dtype", [np.int64, np.bool_])
def test_integer_features_are_transported_as_floats(conditional_shift, dtype):
    # a copy of an integer X used to receive the transported rows, which
    # truncated them to integers without a word
    X, y, sd = conditional_shift
    X = np.round(4 * X).astype(dtype)
    adapter = FixedPointOTAdapter(**FAST)
    Z = adapter.fit_transform(X, y, sample_domain=sd)
    source = sd >= 0
    assert Z.dtype == np.float64
    np.testing.assert_array_equal(Z[~source], X[~source].astype(np.float64))
    expected = adapter.ot_.transform(X[source].astype(np.float64))
    np.testing.assert_allclose(Z[source], expected)
    assert not np.array_equal(Z[source], np.round(Z[source]))  # not truncated
    Z2 = adapter.transform(X, sample_domain=sd, allow_source=True)
    assert Z2.dtype == np.float64
    np.testing.assert_allclose(Z2[source], expected)


def test_transform_passes_target_and_guards_source(conditional_shift):
    X, y, sd = conditional_shift
    adapter = FixedPointOTAdapter(**FAST).fit(X, y, sample_domain=sd)
    X_target = X[sd < 0]
    np.testing.assert_array_equal(adapter.transform(X_target), X_target)
    X_source = X[sd >= 0]
    with pytest.raises(
        ValueError,
        match="Number of sources provided is 1 and 'allow_source' is set to False",
    ):
        adapter.transform(X_source, sample_domain=np.ones(len(X_source), int))
    Z = adapter.transform(
        X_source, sample_domain=np.ones(len(X_source), int), allow_source=True
    )
    np.testing.assert_allclose(Z, adapter.ot_.transform(X_source))
    with pytest.raises(
        ValueError,
        match="X has 3 features, but FixedPointOTAdapter is expecting 2 features",
    ):
        adapter.transform(np.ones((4, 3)))


@pytest.mark.parametrize(
    "case, message",
    [
        (
            "source only",
            r"FixedPointOTAdapter needs at least 2 target samples "
            r"\(sample_domain < 0\) to fit the transport map; got 0",
        ),
        (
            "target only",
            r"FixedPointOTAdapter needs at least 2 source samples "
            r"\(sample_domain >= 0\) to fit the transport map; got 0",
        ),
        (
            "no domains, no labels",
            r"FixedPointOTAdapter needs to know which rows are source and "
            r"which target: pass sample_domain",
        ),
        (
            "no domains, unmasked labels",
            r"FixedPointOTAdapter could not infer the domains: pass sample_domain "
            r"\(source >= 0, target < 0\), or mark the target rows with the "
            r"masked label y=-1 \(classification\) or y=NaN \(regression\)",
        ),
    ],
)
def test_missing_domain_errors(conditional_shift, case, message):
    X, y, sd = conditional_shift
    kwargs = {
        "source only": {"y": y, "sample_domain": np.ones(len(X), int)},
        "target only": {"y": y, "sample_domain": -np.ones(len(X), int)},
        "no domains, no labels": {},
        "no domains, unmasked labels": {"y": y},
    }[case]
    with pytest.raises(ValueError, match=message):
        FixedPointOTAdapter(**FAST).fit_transform(X, **kwargs)


@pytest.mark.parametrize(
    "case, message",
    [
        ("nan in X", "Input X contains NaN"),
        ("short y", r"inconsistent numbers of samples: \[320, 319\]"),
    ],
)
def test_input_errors_keep_their_message_when_domains_are_inferred(
    conditional_shift, case, message
):
    """Without sample_domain, an error of X or y is reported as such, not as
    a failure to infer the domains."""
    X, y, sd = conditional_shift
    y = _masked(y, sd)
    if case == "nan in X":
        X = X.copy()
        X[0, 0] = np.nan
    else:
        y = y[:-1]
    with pytest.raises(ValueError, match=message):
        FixedPointOTAdapter(**FAST).fit(X, y)


def test_sample_domain_as_list_or_column_vector(conditional_shift):
    """A list maps like the array; a column vector too, with scikit-learn's
    DataConversionWarning pointed at the caller's line."""
    X, y, sd = conditional_shift
    expected = FixedPointOTAdapter(**FAST).fit_transform(X, sample_domain=sd)
    got = FixedPointOTAdapter(**FAST).fit_transform(X, sample_domain=sd.tolist())
    np.testing.assert_array_equal(got, expected)
    adapter = FixedPointOTAdapter(**FAST)
    with pytest.warns(DataConversionWarning, match="column-vector sample_domain") as w:
        got = adapter.fit_transform(X, sample_domain=sd[:, None])
    assert w[0].filename == __file__
    np.testing.assert_array_equal(got, expected)
    with pytest.warns(DataConversionWarning, match="column-vector sample_domain"):
        got = adapter.transform(
            X, sample_domain=sd[:, None].tolist(), allow_source=True
        )
    np.testing.assert_array_equal(got, expected)


@pytest.mark.parametrize("class_conditional", [False, True])
@pytest.mark.parametrize("with_domains", [False, True])
def test_labels_as_column_vector(conditional_shift, class_conditional, with_domains):
    """A column-vector y fits like the 1-d one, with scikit-learn's warning
    (an IndexError before, when the domains were inferred or with
    class_conditional)."""
    X, y, sd = conditional_shift
    y = _masked(y, sd)
    kwargs = {"sample_domain": sd} if with_domains else {}
    params = dict(FAST, class_conditional=class_conditional)
    expected = FixedPointOTAdapter(**params).fit_transform(X, y, **kwargs)
    with pytest.warns(DataConversionWarning, match="column-vector y"):
        got = FixedPointOTAdapter(**params).fit_transform(X, y[:, None], **kwargs)
    np.testing.assert_array_equal(got, expected)


def test_boolean_labels_are_refused(conditional_shift):
    """skada masks the target labels by writing -1, which a boolean array
    stores as True: every target row would then be a known class True and
    the class-conditional map silently wrong. fit refuses booleans."""
    X, y, sd = conditional_shift
    labels = (y == y.max()).astype(bool)
    with pytest.raises(ValueError, match="y holds booleans"):
        FixedPointOTAdapter(class_conditional=True, **FAST).fit(
            X, labels, sample_domain=sd
        )
    pipe = make_da_pipeline(
        FixedPointOTAdapter(class_conditional=True, **FAST), LogisticRegression()
    )
    with pytest.raises(ValueError, match="y holds booleans"):
        pipe.fit(X, labels, sample_domain=sd)
    FixedPointOTAdapter(class_conditional=True, **FAST).fit(  # as integers: fine
        X, labels.astype(int), sample_domain=sd
    )


@pytest.mark.parametrize(
    "domains, message",
    [
        ("2-d", r"sample_domain should be a 1d array, got an array of shape"),
        ("strings", r"sample_domain must hold integer domain labels"),
        ("fractions", r"integer domain labels .* with non-integer values"),
        ("nan", r"integer domain labels .* with non-integer values"),
    ],
)
def test_sample_domain_errors(conditional_shift, domains, message):
    """Fractional domains are refused: skada would truncate -0.5 to 0, a
    source domain."""
    X, y, sd = conditional_shift
    sample_domain = {
        "2-d": np.c_[sd, sd],
        "strings": sd.astype(str),
        "fractions": np.where(sd < 0, -0.5, 1.0),
        "nan": np.where(sd < 0, np.nan, 1.0),
    }[domains]
    with pytest.raises(ValueError, match=message):
        FixedPointOTAdapter(**FAST).fit(X, sample_domain=sample_domain)


def test_transform_checks_the_length_of_y(conditional_shift):
    X, y, sd = conditional_shift
    adapter = FixedPointOTAdapter(class_conditional=True, **FAST)
    adapter.fit(X, _masked(y, sd), sample_domain=sd)
    with pytest.raises(ValueError, match="y has 317 rows but X has 320"):
        adapter.transform(X, y[:-3], sample_domain=sd, allow_source=True)


def test_class_conditional_with_fewer_source_rows_than_neighbours(conditional_shift):
    """The default pseudo-labeller asks for at most as many neighbours as
    there are source rows."""
    X, y, sd = conditional_shift
    rows = np.r_[np.flatnonzero(sd >= 0)[::40], np.flatnonzero(sd < 0)]
    assert (sd[rows] >= 0).sum() < 10
    adapter = FixedPointOTAdapter(class_conditional=True, **FAST)
    adapter.fit(X[rows], _masked(y, sd)[rows], sample_domain=sd[rows])
    assert adapter.pseudo_label_estimator_.n_neighbors == (sd[rows] >= 0).sum()


def test_missing_domain_error_through_pipeline(conditional_shift):
    X, y, sd = conditional_shift
    source = sd >= 0
    pipe = make_da_pipeline(FixedPointOTAdapter(**FAST), LogisticRegression())
    with pytest.raises(ValueError, match="needs at least 2 target samples"):
        pipe.fit(X[source], y[source], sample_domain=sd[source])


def test_invalid_parameter(conditional_shift):
    X, y, sd = conditional_shift
    with pytest.raises(InvalidParameterError, match="'pseudo_label_rounds'"):
        FixedPointOTAdapter(pseudo_label_rounds=0).fit(X, y, sample_domain=sd)


# ---------------------------------------------------------- model selection
@pytest.mark.parametrize("scorer_name", ["entropy", "importance-weighted"])
def test_cross_validate_with_skada_splitter_and_scorer(conditional_shift, scorer_name):
    # skada's scorers and routing requests need routing on: build them here
    X, y, sd = conditional_shift
    if scorer_name == "entropy":
        scorer, final = PredictionEntropyScorer(), LogisticRegression()
    else:
        scorer = ImportanceWeightedScorer()
        final = LogisticRegression().set_score_request(sample_weight=True)
    pipe = make_da_pipeline(StandardScaler(), FixedPointOTAdapter(**FAST), final)
    cv = SourceTargetShuffleSplit(n_splits=2, test_size=0.3, random_state=0)
    scores = cross_validate(
        pipe,
        X,
        _masked(y, sd),
        cv=cv,
        params={"sample_domain": sd},
        scoring=scorer,
    )["test_score"]
    assert scores.shape == (2,)
    assert np.all(np.isfinite(scores))


def test_grid_search_over_adapter_parameter(conditional_shift):
    X, y, sd = conditional_shift
    pipe = make_da_pipeline(FixedPointOTAdapter(**FAST), LogisticRegression())
    grid = GridSearchCV(
        pipe,
        {"fixedpointotadapter__max_iter": [20, 100]},
        cv=SourceTargetShuffleSplit(n_splits=2, test_size=0.3, random_state=0),
        scoring=PredictionEntropyScorer(),
    )
    grid.fit(X, _masked(y, sd), sample_domain=sd)
    assert grid.best_params_["fixedpointotadapter__max_iter"] in (20, 100)
    assert np.all(np.isfinite(grid.cv_results_["mean_test_score"]))
    best = grid.best_estimator_[0].get_estimator()
    assert best.max_iter == grid.best_params_["fixedpointotadapter__max_iter"]


def test_factory_mirrors_skada(conditional_shift):
    X, y, sd = conditional_shift
    pipe = FixedPointOTMapping(max_iter=50, random_state=0)
    assert [name for name, _ in pipe.steps] == ["fixedpointotadapter", "svc"]
    assert isinstance(pipe[-1].base_estimator, SVC)
    assert pipe.get_params()["fixedpointotadapter__max_iter"] == 50
    pipe = FixedPointOTMapping(LogisticRegression(), class_conditional=True)
    assert pipe.get_params()["fixedpointotadapter__class_conditional"] is True
    assert [name for name, _ in pipe.steps][-1] == "logisticregression"


# ---------------------------------------------------------- class-conditional
def test_class_conditional_with_pseudo_labels(conditional_shift):
    X, y, sd = conditional_shift
    source = sd >= 0
    adapter = FixedPointOTAdapter(class_conditional=True, pseudo_label_rounds=2, **FAST)
    Z = adapter.fit_transform(X, _masked(y, sd), sample_domain=sd)
    assert isinstance(adapter.class_ot_, ClassConditionalFixedPointOT)
    np.testing.assert_array_equal(adapter.classes_, [0, 1])
    assert 1 <= adapter.n_pseudo_label_rounds_ <= 2
    assert adapter.pseudo_label_estimator_ is not None
    # source rows with their labels go through the class-conditional map ...
    np.testing.assert_allclose(
        Z[source], adapter.class_ot_.transform(X[source], classes=y[source])
    )
    # ... and through the unconditional one when skada gives no labels
    Z_unlabelled = adapter.transform(
        X[source], sample_domain=sd[source], allow_source=True
    )
    np.testing.assert_allclose(Z_unlabelled, adapter.ot_.transform(X[source]))
    np.testing.assert_array_equal(Z[~source], X[~source])


def test_class_conditional_under_pandas_output(conditional_shift):
    """scikit-learn's ``transform_output="pandas"`` leaves the adapter's rows
    as they are: the maps' outputs are written by position (a DataFrame
    aligned by index left NaN rows). Here some source rows use the
    unconditional map (their class is missing in the target) and the rows
    are not sorted by class."""
    X, y, sd = conditional_shift
    keep = (sd >= 0) | (y == 0)  # the target holds class 0 only
    perm = np.random.default_rng(0).permutation(int(keep.sum()))
    X, y, sd = X[keep][perm], y[keep][perm], sd[keep][perm]
    params = dict(FAST, max_iter=50, class_conditional=True)
    reference = FixedPointOTAdapter(**params).fit(X, y, sample_domain=sd)
    expected = reference.transform(X, y, sample_domain=sd, allow_source=True)
    masked = np.where(np.arange(len(y)) % 2 == 0, y, -1)
    expected_masked = reference.transform(
        X, masked, sample_domain=sd, allow_source=True
    )
    with sklearn.config_context(transform_output="pandas"):
        adapter = FixedPointOTAdapter(**params)
        Z = adapter.fit_transform(X, y, sample_domain=sd)
        got = adapter.transform(X, masked, sample_domain=sd, allow_source=True)
    assert not np.isnan(expected).any()
    np.testing.assert_array_equal(Z, expected)
    np.testing.assert_array_equal(got, expected_masked)


def test_class_conditional_uses_known_target_labels(conditional_shift):
    X, y, sd = conditional_shift
    adapter = FixedPointOTAdapter(class_conditional=True, **FAST)
    adapter.fit(X, y, sample_domain=sd)  # no masks: every target label known
    assert adapter.n_pseudo_label_rounds_ == 0
    assert adapter.pseudo_label_estimator_ is None
    np.testing.assert_array_equal(adapter.class_ot_.classes_, [0, 1])


def test_class_conditional_in_pipeline(conditional_shift):
    X, y, sd = conditional_shift
    pipe = FixedPointOTMapping(
        LogisticRegression(), class_conditional=True, pseudo_label_rounds=1, **FAST
    )
    pipe.fit(X, y.copy(), sample_domain=sd)
    assert pipe.score(X[sd < 0], y[sd < 0]) > 0.9


@pytest.mark.parametrize(
    "labels, message",
    [
        (
            None,
            r"class_conditional=True needs the class labels y of the source "
            r"rows; got y=None",
        ),
        (
            "continuous",
            r"class_conditional=True needs classification labels, got y of "
            r"type 'continuous'",
        ),
    ],
)
def test_class_conditional_errors(conditional_shift, labels, message):
    X, y, sd = conditional_shift
    if labels == "continuous":
        labels = X[:, 0] + 0.5
    with pytest.raises(ValueError, match=message):
        FixedPointOTAdapter(class_conditional=True, **FAST).fit(
            X, labels, sample_domain=sd
        )


def test_label_errors_come_before_training_and_keep_the_previous_fit(
    conditional_shift, monkeypatch
):
    X, y, sd = conditional_shift
    adapter = FixedPointOTAdapter(class_conditional=True, **FAST)
    adapter.fit(X, _masked(y, sd), sample_domain=sd)
    before = adapter.transform(X, y, sample_domain=sd, allow_source=True)
    state = dict(vars(adapter))
    fits = []
    monkeypatch.setattr(
        FixedPointOT, "fit", lambda self, *a, **k: fits.append(1) or self
    )
    with pytest.raises(ValueError, match="needs classification labels"):
        adapter.fit(X * 10, X[:, 0] + 0.5, sample_domain=sd)
    assert not fits  # refused before any training
    monkeypatch.undo()
    assert vars(adapter).keys() == state.keys()
    assert all(vars(adapter)[k] is v for k, v in state.items())
    # an error during training (here, in the class-conditional fit) also
    # leaves the previous fit in place
    monkeypatch.setattr(
        ClassConditionalFixedPointOT,
        "fit",
        lambda self, *a, **k: (_ for _ in ()).throw(RuntimeError("boom")),
    )
    with pytest.raises(RuntimeError, match="boom"):
        adapter.fit(X * 10, _masked(y, sd), sample_domain=sd)
    np.testing.assert_array_equal(
        adapter.transform(X, y, sample_domain=sd, allow_source=True), before
    )


def test_the_pseudo_labeller_must_predict_source_classes(
    conditional_shift, monkeypatch
):
    """A regressor's predictions were cast to the labels' integer dtype (0.34
    became class 0) and the class-conditional map silently lost a class."""
    from sklearn.linear_model import LinearRegression
    from sklearn.neighbors import KNeighborsClassifier

    X, y, sd = conditional_shift
    masked = _masked(y, sd)
    fits = []
    fit = FixedPointOT.fit
    monkeypatch.setattr(
        FixedPointOT, "fit", lambda self, *a, **k: fits.append(1) or fit(self, *a, **k)
    )
    regressor = FixedPointOTAdapter(
        class_conditional=True, pseudo_label_estimator=LinearRegression(), **FAST
    )
    with pytest.raises(ValueError, match="must be a classifier.*LinearRegression"):
        regressor.fit(X, masked, sample_domain=sd)
    assert not fits  # refused before any training

    class Shifted(KNeighborsClassifier):  # a classifier that predicts other labels
        def predict(self, X):
            return super().predict(X) + 10

    shifted = FixedPointOTAdapter(
        class_conditional=True, pseudo_label_estimator=Shifted(), **FAST
    )
    with pytest.raises(
        ValueError, match=r"source rows' class labels; it predicted \[1"
    ):
        shifted.fit(X, masked, sample_domain=sd)


def test_string_labels_without_domains_say_to_pass_sample_domain(conditional_shift):
    X, y, sd = conditional_shift
    names = np.array(["cat", "dog", "owl"])[y]
    with pytest.raises(ValueError, match="y is not numeric.*pass sample_domain"):
        FixedPointOTAdapter(**FAST).fit(X, names)
    FixedPointOTAdapter(**FAST).fit(X, names, sample_domain=sd)  # with them: fine


# ------------------------------------------------------- configuration state
def test_fixture_turned_routing_on_for_this_test():
    assert sklearn.get_config()["enable_metadata_routing"] is True


def test_skfpot_never_changes_routing():
    """skfpot leaves the setting alone; only ``import skada`` switches it on."""
    code = """
import json, sklearn
r = [sklearn.get_config()["enable_metadata_routing"]]
import skfpot
r.append(sklearn.get_config()["enable_metadata_routing"])
import skada
r.append(sklearn.get_config()["enable_metadata_routing"])
sklearn.set_config(enable_metadata_routing=False)
import skfpot.skada
r.append(sklearn.get_config()["enable_metadata_routing"])
print(json.dumps(r))
"""
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    before, after_skfpot, after_skada, after_skfpot_skada = json.loads(
        out.stdout.strip().splitlines()[-1]
    )
    assert before is False and after_skfpot is False
    assert after_skada is True  # skada's own import-time switch
    assert after_skfpot_skada is False  # skfpot.skada adds no change


def test_no_set_config_call_in_skfpot():
    import skfpot

    package = pathlib.Path(skfpot.__file__).parent
    calls = []
    for path in package.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call):
                func = node.func
                name = getattr(func, "attr", None) or getattr(func, "id", None)
                if name in ("set_config", "config_context"):
                    calls.append(f"{path.name}:{node.lineno}")
    assert calls == []


@pytest.mark.parametrize("dtype", [np.int64, np.float64])
def test_class_conditional_refuses_masked_source_labels(conditional_shift, dtype):
    """S01, S09: a masked label (-1, also as the float -1.0) on some source
    rows is refused before training."""
    X, y, sd = conditional_shift
    y = _masked(y, sd).astype(dtype)
    y[np.flatnonzero(sd >= 0)[:3]] = -1
    with pytest.raises(ValueError, match="3 source rows have a masked label"):
        FixedPointOTAdapter(class_conditional=True, **FAST).fit(X, y, sample_domain=sd)


def test_one_target_row_is_not_enough(conditional_shift):
    """S03: exactly one target row is refused with the adapter's message."""
    X, y, sd = conditional_shift
    keep = (sd >= 0) | (np.arange(len(sd)) == np.flatnonzero(sd < 0)[0])
    with pytest.raises(ValueError, match=r"needs at least 2 target samples .*got 1"):
        FixedPointOTAdapter(**FAST).fit(X[keep], y[keep], sample_domain=sd[keep])


def test_target_labels_of_a_class_absent_from_the_source_are_pseudo_labelled(
    conditional_shift,
):
    """S04: a target label that no source row carries is not 'known': those
    rows are pseudo-labelled (one round here)."""
    X, y, sd = conditional_shift
    y = y.copy()
    y[np.flatnonzero(sd < 0)[:5]] = 7
    adapter = FixedPointOTAdapter(class_conditional=True, pseudo_label_rounds=1, **FAST)
    adapter.fit(X, y, sample_domain=sd)
    assert adapter.n_pseudo_label_rounds_ == 1
    assert adapter.pseudo_label_estimator_ is not None
    np.testing.assert_array_equal(adapter.classes_, [0, 1])


class _FixedRule(ClassifierMixin, BaseEstimator):
    """Labels by the sign of the first feature, whatever it was trained on."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict(self, X):
        return (X[:, 0] > np.median(X[:, 0])).astype(int)


def test_pseudo_labelling_stops_when_the_labels_are_stable(conditional_shift):
    """S07: the second round reproduces the first round's labels, so the
    loop stops after one round (and one class-conditional fit)."""
    X, y, sd = conditional_shift
    adapter = FixedPointOTAdapter(
        class_conditional=True,
        pseudo_label_estimator=_FixedRule(),
        pseudo_label_rounds=3,
        **FAST,
    )
    adapter.fit(X, _masked(y, sd), sample_domain=sd)
    assert adapter.n_pseudo_label_rounds_ == 1

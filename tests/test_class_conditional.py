"""ClassConditionalFixedPointOT: label validation and failure behaviour."""

import warnings

import numpy as np
import pytest
import torch
from skorch.callbacks import Callback

from skfpot import ClassConditionalFixedPointOT, _training

TINY = dict(hidden_layer_sizes=(8,), max_iter=30, eval_interval=10, random_state=0)


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(120, 2)), rng.normal(size=(100, 2)) + 1.0
    return X, Y, rng.integers(0, 2, len(X)), rng.integers(0, 2, len(Y))


@pytest.mark.parametrize(
    "x_classes, match",
    [
        (lambda a: np.where(a == 1, 2, a), r"only in x_classes \[2\]"),
        (lambda a: np.array([1, "a"] * 60, dtype=object), "mixes label types"),
        (lambda a: np.r_[a[:-1], np.nan], "NaN or infinite labels"),
        (
            lambda a: np.r_[a[:-1].astype(str).astype(object), np.nan],
            r"1 missing or non-finite labels \(such as nan\)",
        ),
        (
            lambda a: np.r_[a[:-1].astype(object), None],
            r"1 missing or non-finite labels \(such as None\)",
        ),
        (
            lambda a: np.where(
                a == 0, np.datetime64("2020-01-01"), np.datetime64("NaT")
            ),
            r"missing \(NaT\) labels",
        ),
        (lambda a: a[:-1], "119 labels but the data has 120 rows"),
        (lambda a: np.c_[a, a], r"x_classes should be a 1d array, got an array"),
    ],
)
def test_bad_labels_raise_at_fit(data, x_classes, match):
    X, Y, a, b = data
    with pytest.raises(ValueError, match=match):
        ClassConditionalFixedPointOT(**TINY).fit(
            X, Y, x_classes=x_classes(a), y_classes=b
        )


@pytest.mark.parametrize("dtype", ["string", "Int64", "object"])
def test_pandas_missing_labels_raise(data, dtype):
    """pandas' NA (nullable and string dtypes) is a missing label, not a
    class of its own nor a type that "cannot be ordered"."""
    pd = pytest.importorskip("pandas")
    X, Y, a, b = data
    labels = pd.Series(a.astype(str) if dtype == "string" else a, dtype=dtype)
    labels[3] = pd.NA
    with pytest.raises(ValueError, match="missing or non-finite labels|NaN or inf"):
        ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=labels, y_classes=b)


def test_column_vector_labels_warn_at_the_callers_line(data):
    from sklearn.exceptions import DataConversionWarning

    X, Y, a, b = data
    with pytest.warns(DataConversionWarning, match="column-vector y_classes") as rec:
        ot = ClassConditionalFixedPointOT(**TINY).fit(
            X, Y, x_classes=a, y_classes=b[:, None]
        )
    assert {w.filename for w in rec} == {__file__}
    with pytest.warns(DataConversionWarning, match="column-vector classes"):
        ot.transform(X, classes=a[:, None])


@pytest.mark.parametrize(
    "counts, expected",
    [
        ([40, 25, 9, 3], [4, 2, 0, 0]),  # a tenth of each class, rounded down
        ([4] * 50, None),  # no class gives a row: the largest gives one
        ([60_000, 20_000], [3072, 1024]),  # the 4096-row cap, shared out
    ],
)
def test_held_out_rows_are_stratified_by_class(counts, expected):
    """Early stopping holds out validation_fraction of every class, so a
    small class keeps its rows for training (a random tenth of 50 classes of
    4 rows took 2 rows from some of them and wrecked their maps)."""
    classes = np.repeat(np.arange(len(counts)), counts)
    np.random.default_rng(0).shuffle(classes)
    ot = ClassConditionalFixedPointOT(validation_fraction=0.1)
    quota = ot._validation_quotas(classes, classes)[0][0]  # alike on both sides
    rng = np.random.default_rng(1)
    order, n_valid = ot._split_order(len(classes), rng, classes, quota)
    assert sorted(order.tolist()) == list(range(len(classes)))
    held = np.bincount(classes[order[:n_valid]], minlength=len(counts))
    if expected is None:
        assert n_valid == 1 and held.max() == 1
    else:
        assert held.tolist() == expected
    # without early stopping nothing is held out
    ot.set_params(early_stopping=False)
    assert ot._split_order(len(classes), np.random.default_rng(1), classes)[1] == 0


def test_warm_start_needs_the_fitted_classes(data):
    X, Y, a, b = data
    ot = ClassConditionalFixedPointOT(**TINY, warm_start=True)
    ot.fit(X, Y, x_classes=a, y_classes=b)
    ot.fit(X, Y, x_classes=a, y_classes=b)  # the same classes: continues
    assert ot.n_iter_ == 2 * TINY["max_iter"]
    with pytest.raises(ValueError, match=r"fitted map of classes \[0, 1\]; got"):
        ot.fit(X, Y, x_classes=a + 1, y_classes=b + 1)
    assert ot.classes_.tolist() == [0, 1]


def test_failed_refit_keeps_the_fitted_model(data):
    """A refit whose labels are refused leaves classes_ and the model as
    they were (classes_ used to be replaced before the check failed)."""
    X, Y, a, b = data
    ot = ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=a, y_classes=b)
    before = ot.transform(X, classes=a)
    with pytest.raises(ValueError, match="class_weight must give a weight"):
        ot.set_params(class_weight={0: 1.0}).fit(
            X, Y, x_classes=np.where(a == 1, 2, a), y_classes=np.where(b == 1, 2, b)
        )
    np.testing.assert_array_equal(ot.classes_, [0, 1])
    np.testing.assert_array_equal(ot.transform(X, classes=a), before)
    with pytest.raises(ValueError, match="not seen during fit"):
        ot.transform(X, classes=np.where(a == 1, 2, a))


def test_score_needs_the_same_classes_on_both_sides(data):
    X, Y, a, b = data
    ot = ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=a, y_classes=b)
    with pytest.raises(ValueError, match=r"only in y_classes \[1\]"):
        ot.score(X[a == 0], Y, x_classes=a[a == 0], y_classes=b)
    both = ot.score(X, Y, x_classes=a, y_classes=b)
    one = ot.score(X[a == 0], Y[b == 0], x_classes=a[a == 0], y_classes=b[b == 0])
    assert np.isfinite(both) and np.isfinite(one)


def test_warns_for_a_class_with_fewer_than_two_training_rows(data):
    X, Y, a, b = data
    a, b = np.r_[2, a[1:]], np.r_[2, b[1:]]
    match = r"fewer than two training rows in X, class 2: [01] rows?; Y, class 2: "
    with pytest.warns(UserWarning, match=match):
        ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=a, y_classes=b)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        _, _, a, b = data
        ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=a, y_classes=b)


def test_second_start_within_classes(data):
    """Second starts run with class labels (a start is drawn from the same
    class only) and leave a finite map both ways."""
    X, Y, a, b = data
    cc = ClassConditionalFixedPointOT(
        **TINY, second_start_every=1, early_stopping=False
    )
    calls = []
    original = _training.nearest_rows

    def recording(y, images, y_classes=None, image_classes=None, **kwargs):
        index, found = original(y, images, y_classes, image_classes, **kwargs)
        calls.append((y_classes, image_classes, index, found))
        return index, found

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_training, "nearest_rows", recording)
        cc.fit(X, Y, x_classes=a, y_classes=b)
    assert calls, "no second start ran"
    for y_classes, image_classes, index, found in calls:
        assert y_classes is not None and image_classes is not None
        assert bool(found.all())  # every class is in each batch's source rows
        assert torch.equal(image_classes[index], y_classes)
    assert np.all(np.isfinite(cc.transform(X, classes=a)))
    assert np.all(np.isfinite(cc.inverse_transform(Y, classes=b)))


@pytest.mark.parametrize("conditioning", ["embedding", "film"])
def test_weight_average_with_class_conditioning(data, conditioning):
    """The averaged weights include the class parameters: the map changes
    and stays finite both ways, for both conditionings."""
    X, Y, a, b = data
    params = dict(TINY, conditioning=conditioning, early_stopping=False)
    last = ClassConditionalFixedPointOT(**params).fit(X, Y, x_classes=a, y_classes=b)
    avg = ClassConditionalFixedPointOT(**params, weight_average_decay=0.8)
    avg.fit(X, Y, x_classes=a, y_classes=b)
    np.testing.assert_array_equal(avg.loss_curve_, last.loss_curve_)
    mapped = avg.transform(X, classes=a)
    assert np.all(np.isfinite(mapped))
    assert np.all(np.isfinite(avg.inverse_transform(Y, classes=b)))
    assert not np.allclose(mapped, last.transform(X, classes=a), atol=1e-6)


def test_a_broken_class_map_goes_back_to_a_sane_start(wreck):
    # the spread check is per class; going back restores every class's start,
    # and the inverse's anchors are recomputed under it
    from sklearn.exceptions import ConvergenceWarning

    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(300, 3)), 2 * rng.normal(size=(300, 3)) + 3
    a, b = rng.integers(0, 2, 300), rng.integers(0, 2, 300)
    Y[b == 1] += 5
    params = dict(TINY, max_iter=10, learning_rate_init=1e-12)
    start = ClassConditionalFixedPointOT(**params).fit(X, Y, x_classes=a, y_classes=b)
    wrecked = ClassConditionalFixedPointOT(**params, callbacks=[wreck(30.0)])
    match = "trained map looks broken: it sends source points of class .*keeps the"
    with pytest.warns(ConvergenceWarning, match=match):
        wrecked.fit(X, Y, x_classes=a, y_classes=b)
    assert wrecked.kept_start_
    np.testing.assert_allclose(
        wrecked.transform(X, classes=a), start.transform(X, classes=a), atol=1e-5
    )
    Z = wrecked.transform(X[:20], classes=a[:20])
    np.testing.assert_allclose(
        wrecked.inverse_transform(Z, classes=a[:20]), X[:20], atol=1e-3
    )


def test_score_is_the_weighted_dual_and_keeps_its_precision_far_away(data):
    from test_fixed_point_ot import _dual_in_user_coordinates

    X, Y, a, b = data
    Y = Y + 3.0 * b[:, None]  # class means apart
    ot = ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=a, y_classes=b)
    score = ot.score(X, Y, x_classes=a, y_classes=b)
    w = ot.class_weight_
    weights = (w / np.bincount(a) * len(a))[a], (w / np.bincount(b) * len(b))[b]
    reference = _dual_in_user_coordinates(ot, X, Y, a, b, weights)
    assert score == pytest.approx(reference, rel=1e-5)
    # 1e8 away from the origin: the same standardised problem per class
    far = ClassConditionalFixedPointOT(**TINY).fit(
        X + 1e8, Y + 1e8, x_classes=a, y_classes=b
    )
    far_score = far.score(X + 1e8, Y + 1e8, x_classes=a, y_classes=b)
    assert far_score == pytest.approx(score, rel=1e-5)


def test_many_small_classes_keep_their_rows_with_early_stopping():
    """50 classes of 4 rows in d = 2, each translated exactly: with the
    held-out rows drawn at random, some classes lost 2 of their 4 rows on
    one side and their start's map was off by up to 8.6 (a broken-map
    warning advising a lower learning rate); stratified, none loses a row."""
    rng = np.random.default_rng(0)
    shifts, X, Y, labels = [], [], [], []
    for k in range(50):
        A = rng.normal(size=(2, 2)) * 0.3 + np.eye(2)
        mx, my = rng.normal(size=2) * 5, rng.normal(size=2) * 5
        e = rng.normal(size=(4, 2)) @ A.T
        X.append(e + mx)
        Y.append(e + my)
        shifts.append(my - mx)
        labels += [k] * 4
    X, Y, labels = np.vstack(X), np.vstack(Y), np.array(labels)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ot = ClassConditionalFixedPointOT(
            hidden_layer_sizes=(16,), max_iter=200, random_state=0
        ).fit(X, Y, x_classes=labels, y_classes=labels)
    assert not [w for w in caught if "looks broken" in str(w.message)]
    error = np.abs(ot.transform(X, classes=labels) - X - np.repeat(shifts, 4, 0))
    assert error.max() < 1.0


def test_a_class_of_identical_rows_warns():
    """One class of X collapsed to a point is named (only a sample, or every
    class, of identical rows was warned about before)."""
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(90, 2)), rng.normal(size=(90, 2)) + 1.0
    labels = np.repeat(["a", "b", "c"], 30)
    X[labels == "b"] = [3.0, 4.0]
    with pytest.warns(UserWarning, match=r"all rows of X in class 'b' are identical"):
        ot = ClassConditionalFixedPointOT(**TINY).fit(
            X, Y, x_classes=labels, y_classes=labels
        )
    assert np.isfinite(ot.transform(X, classes=labels)).all()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ClassConditionalFixedPointOT(**TINY).fit(
            rng.normal(size=(90, 2)), Y, x_classes=labels, y_classes=labels
        )
    assert not [w for w in caught if "identical" in str(w.message)]
    points = np.repeat(rng.normal(size=(3, 2)), 30, axis=0)  # every class a point
    with pytest.warns(UserWarning, match="all rows of X are identical within each"):
        ClassConditionalFixedPointOT(**TINY).fit(
            points, Y, x_classes=labels, y_classes=labels
        )


def test_transform_of_some_classes_equals_the_full_transform_there():
    """Labels are encoded against the fitted classes, not against those
    present in the call."""
    rng = np.random.default_rng(0)
    a = np.repeat(np.array(["a", "b", "c"]), 40)
    b = np.repeat(np.array(["a", "b", "c"]), 30)
    shift = {"a": 0.0, "b": 5.0, "c": -5.0}
    X = rng.normal(size=(120, 2))
    Y = rng.normal(size=(90, 2)) + np.array([shift[k] for k in b])[:, None]
    cc = ClassConditionalFixedPointOT(**TINY).fit(X, Y, x_classes=a, y_classes=b)
    full = cc.transform(X, classes=a)
    only_c = a == "c"
    np.testing.assert_allclose(
        cc.transform(X[only_c], classes=a[only_c]), full[only_c], rtol=1e-6, atol=1e-6
    )


def test_row_weights_give_each_class_its_weight_on_both_sides():
    """Source 3:1, target 1:4: the per-row weights make class k carry w_k on
    each side (w / p on the source rows, w / q on the target rows)."""
    rng = np.random.default_rng(0)
    a = np.r_[np.zeros(90, int), np.ones(30, int)]
    b = np.r_[np.zeros(20, int), np.ones(80, int)]
    X, Y = rng.normal(size=(120, 2)), rng.normal(size=(100, 2)) + 1.0
    seen = {}
    cc = ClassConditionalFixedPointOT(**TINY)
    fit = cc._fit

    def spy(X, Y, cx, cy, wx, wy):
        seen.update(cx=cx, cy=cy, wx=wx, wy=wy)
        return fit(X, Y, cx, cy, wx, wy)

    cc._fit = spy
    cc.fit(X, Y, x_classes=a, y_classes=b)
    np.testing.assert_allclose(cc.class_weight_, [0.75, 0.25])
    for k in (0, 1):
        w = cc.class_weight_[k]
        assert seen["wx"][seen["cx"] == k].sum() / len(X) == pytest.approx(w)
        assert seen["wy"][seen["cy"] == k].sum() / len(Y) == pytest.approx(w)


def test_balanced_and_dict_class_weights():
    rng = np.random.default_rng(0)
    a = np.r_[np.zeros(90, int), np.ones(30, int)]
    b = np.r_[np.zeros(20, int), np.ones(80, int)]
    X, Y = rng.normal(size=(120, 2)), rng.normal(size=(100, 2)) + 1.0
    cc = ClassConditionalFixedPointOT(**TINY, class_weight="balanced")
    cc.fit(X, Y, x_classes=a, y_classes=b)
    np.testing.assert_allclose(cc.class_weight_, [0.5, 0.5])
    cc.set_params(class_weight={0: 3.0, 1: 1.0}).fit(X, Y, x_classes=a, y_classes=b)
    np.testing.assert_allclose(cc.class_weight_, [0.75, 0.25])
    # weights near the float64 maximum: their sum overflowed (NaN weights,
    # then a "training diverged" error advising a lower learning rate)
    cc.set_params(class_weight={0: 1e308, 1: 1e308}).fit(X, Y, x_classes=a, y_classes=b)
    np.testing.assert_allclose(cc.class_weight_, [0.5, 0.5])


@pytest.mark.parametrize("weight", [0.0, -1.0, "x", None])
def test_class_weight_must_be_strictly_positive(data, weight):
    """C03: a zero (or negative) class weight is refused before training."""
    X, Y, a, b = data
    ot = ClassConditionalFixedPointOT(**TINY, class_weight={0: 1.0, 1: weight})
    with pytest.raises(ValueError, match="class_weight values must be positive"):
        ot.fit(X, Y, x_classes=a, y_classes=b)


def test_warm_start_refuses_a_subset_of_the_fitted_classes(data):
    """C07: warm_start continues only a fit of exactly the same classes."""
    X, Y, a, b = data
    ot = ClassConditionalFixedPointOT(**TINY, warm_start=True)
    ot.fit(X, Y, x_classes=a, y_classes=b)
    with pytest.raises(ValueError, match=r"fitted map of classes \[0, 1\]; got \[0\]"):
        ot.fit(X[a == 0], Y[b == 0], x_classes=a[a == 0], y_classes=b[b == 0])
    assert ot.classes_.tolist() == [0, 1]


def test_infinite_labels_in_object_arrays_are_refused(data):
    """C08: an infinite label is refused in an object array as in a float one."""
    X, Y, a, b = data
    x_classes = np.r_[a[:-1].astype(object), np.inf]
    y_classes = np.r_[b[:-1].astype(object), np.inf]
    assert x_classes.dtype == object
    match = r"1 missing or non-finite labels \(such as inf\)"
    with pytest.raises(ValueError, match=match):
        ClassConditionalFixedPointOT(**TINY).fit(
            X, Y, x_classes=x_classes, y_classes=y_classes
        )


def test_class_conditional_held_out_dual_values_are_weighted_means(data):
    """T10: held_out_dual_values normalises the class weights of each side,
    so its sum is the validation loss of the kept weights (as for
    FixedPointOT in test_held_out_dual_values_sum_to_the_kept_weights_...)."""
    X, Y, a, b = data
    seen = {}

    class Grab(Callback):
        def on_train_end(self, net, **kwargs):
            values = net.held_out_dual_values(net.train_split.keywords["valid_ds"])
            seen["weight_sums"] = [float(w.sum()) for _, w in values]
            seen["sum"] = sum(float((v * w).sum()) for v, w in values)
            stopping = dict(net.callbacks_)["early_stopping"]
            seen["restored"] = stopping.restored_best_
            seen["start"] = stopping.kept_start_, stopping.start_score_
            seen["losses"] = [v for v in net.history[:, "valid_loss"] if v]

    ot = ClassConditionalFixedPointOT(**TINY, callbacks=[Grab()])
    ot.fit(X, Y, x_classes=a, y_classes=b)
    assert seen["weight_sums"] == pytest.approx([1.0, 1.0], rel=1e-6)
    expected = min(seen["losses"]) if seen["restored"] else seen["losses"][-1]
    kept_start, start_score = seen["start"]
    expected = start_score if kept_start else expected
    assert seen["sum"] == pytest.approx(expected, rel=1e-4, abs=1e-5)
    assert ot.start_validation_score_ == -start_score


def test_the_gaussian_start_of_a_class_of_two_rows_uses_their_spread():
    # two rows are fully shrunk, not taken for a unit covariance: class 0's
    # rows lie ±10 apart on feature 0 and its target spreads by 10, so the
    # start (one step at a negligible rate) keeps their distance (a unit
    # covariance in the network's units, scale_ ≈ 4.8, doubled it)
    rng = np.random.default_rng(0)
    X0 = np.array([[-10.0, 0.0], [10.0, 0.0]])
    X = np.vstack([X0, rng.normal(size=(200, 2))])
    Y = np.vstack([10 * rng.normal(size=(200, 2)), rng.normal(size=(200, 2))])
    a, b = np.r_[0, 0, np.ones(200, int)], np.repeat([0, 1], 200)
    ot = ClassConditionalFixedPointOT(
        hidden_layer_sizes=(8,),
        max_iter=1,
        learning_rate_init=1e-12,
        early_stopping=False,
        random_state=0,
    ).fit(X, Y, x_classes=a, y_classes=b)
    images = ot.transform(X0, classes=[0, 0])
    assert 0.8 < (images[1, 0] - images[0, 0]) / 20 < 1.25


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(
    "x_counts, y_counts, held",
    [
        ([60, 60], [60, 9], [1, 0]),  # class 1 gives no target row: nor source
        ([200, 15], [200, 200], [1, 1]),  # 20 and 1 rows: weighted to the shares
        ([4, 4, 4], [3, 5, 4], [0, 1, 0]),  # no class gives one: one on each side
    ],
)
def test_held_out_classes_are_paired_and_weighted_alike(x_counts, y_counts, held):
    """The held-out dual is a weighted sum of per-class duals: every class
    held out in one sample is held out in the other, with its share w_k of
    the weights on both sides. Else it moves with per-class constants of φ,
    which leave the maps unchanged (a class held out on the source side
    only doubled start_validation_score_), and early stopping decided on it."""
    a = np.repeat(np.arange(len(x_counts)), x_counts)
    b = np.repeat(np.arange(len(y_counts)), y_counts)
    rng = np.random.default_rng(0)
    X, Y = rng.normal(size=(len(a), 2)), rng.normal(size=(len(b), 2)) + 1.0
    seen = {}

    class Grab(Callback):
        def on_train_begin(self, net, **kwargs):
            seen["valid"] = net.train_split.keywords["valid_ds"]

    ot = ClassConditionalFixedPointOT(
        hidden_layer_sizes=(8,), max_iter=1, random_state=0, callbacks=[Grab()]
    ).fit(X, Y, x_classes=a, y_classes=b)
    shares = ot.class_weight_ * held / (ot.class_weight_ * held).sum()
    valid = seen["valid"]
    for classes, weight in (
        (valid.x_classes, valid.x_weight),
        (valid.y_classes, valid.y_weight),
    ):
        counts = np.bincount(classes.numpy(), minlength=len(held))
        assert ((counts > 0) == np.array(held, bool)).all(), counts
        got = np.bincount(classes.numpy(), weight.numpy(), minlength=len(held))
        np.testing.assert_allclose(got / got.sum(), shares, rtol=1e-6)

"""Domain adaptation with skada: a fixed-point OT adapter (optional extra).

This module needs `skada <https://scikit-adaptation.github.io/>`_
(``pip install skfpot[skada]``) and is never imported by ``import skfpot``.

skada stacks the source and the target rows in one ``X`` and tells them apart
with ``sample_domain`` (source domains ``>= 0``, target domains ``< 0``), or,
when ``sample_domain`` is absent, by masked labels (``y == -1`` for
classification, ``y = NaN`` for regression mark the target rows).
:class:`FixedPointOTAdapter` learns the optimal transport map from the pooled
source rows to the pooled target rows with
:class:`~skfpot.FixedPointOT`; when the pipeline is fitted it moves the source
rows into the target domain and lets the target rows through, so the next
estimator is trained on transported source samples; at prediction time target
rows pass through unchanged. Unlike the discrete OT adapters of skada
(``OTMappingAdapter``, ``EntropicOTMappingAdapter``) it never builds an
``n_source × n_target`` cost matrix: memory grows linearly with the number of
rows and the map applies to new source points without a barycentric
out-of-sample rule.

.. note::

   ``import skada`` switches scikit-learn's metadata routing on for the whole
   process (``sklearn.set_config(enable_metadata_routing=True)``), because
   skada's pipelines route ``sample_domain`` through it. Importing this module
   imports skada and therefore has that effect too; skfpot itself never
   changes scikit-learn's configuration.

For plain scikit-learn recipes without skada (a fitted map as a frozen
pipeline step), see the "Domain adaptation" page of the documentation.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
import skada
from sklearn.base import clone, is_regressor
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline
from sklearn.svm import SVC
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import (
    check_array,
    check_consistent_length,
    check_is_fitted,
)

from skfpot import ClassConditionalFixedPointOT, FixedPointOT
from skfpot._conditional import _column_or_1d
from skfpot._estimators import _atomic_fit

__all__ = ["FixedPointOTAdapter", "FixedPointOTMapping"]

_OT_PARAMS = (
    "hidden_layer_sizes",
    "max_iter",
    "batch_size",
    "learning_rate_init",
    "early_stopping",
    "device",
    "verbose",
)


def _masked(y: np.ndarray) -> np.ndarray:
    """Rows whose label follows skada's masking convention (-1 or NaN)."""
    if y.dtype.kind == "f":
        return np.isnan(y) | (y == -1)
    if y.dtype.kind in "iu":
        return y == -1
    return np.zeros(len(y), dtype=bool)


def _check_sample_domain(sample_domain):
    """``sample_domain`` as a 1-D numeric array (a list or a column vector
    too, as scikit-learn takes labels); ``None`` stays ``None``."""
    if sample_domain is None:
        return None
    domains = _column_or_1d(sample_domain, "sample_domain")
    if domains.dtype.kind not in "biuf" or (
        domains.dtype.kind == "f"  # skada would truncate -0.5 to 0, a source
        and not (np.isfinite(domains).all() and (domains == np.round(domains)).all())
    ):
        raise ValueError(
            "sample_domain must hold integer domain labels (source >= 0, "
            f"target < 0); got dtype {domains.dtype}"
            + (" with non-integer values" if domains.dtype.kind == "f" else "")
        )
    return domains


def _check_labels(y):
    """``y`` as a 1-D array (a column vector too, with scikit-learn's
    warning); ``None`` stays ``None``. Boolean labels are refused: skada
    masks the target rows' labels by writing -1 into them, which a boolean
    array stores as True, so every masked row would read as class True."""
    if y is None:
        return None
    y = _column_or_1d(y, "y")
    if y.dtype.kind == "b":
        raise ValueError(
            "y holds booleans, which cannot carry skada's masked label -1 (a "
            "boolean array stores it as True, so masked target rows would "
            "read as class True); encode the classes as integers, for "
            "example y.astype(int)"
        )
    return y


class FixedPointOTAdapter(skada.BaseAdapter):
    """Adapter for skada pipelines that transports the source with a neural OT map.

    Fits a :class:`~skfpot.FixedPointOT` map from the source rows
    (``sample_domain >= 0``, all source domains pooled) to the target rows
    (``sample_domain < 0``, all target domains pooled). ``fit_transform``
    returns the source rows mapped into the target domain and the target rows
    unchanged; ``transform`` maps the source rows it is given (only with
    ``allow_source=True``, as skada does) and lets target rows through.
    Use it as a step of :func:`skada.make_da_pipeline`.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(64,)
        Widths of the hidden layers of the potential (see
        :class:`~skfpot.FixedPointOT`). Much smaller than the estimator's
        default: on small tabular domain-adaptation problems (a few hundred
        rows per domain, 2 to 10 features) wider or deeper networks and more
        steps did not raise the target accuracy and cost several times more
        time (pilot in ``benchmarks/results/domain_adaptation.md``).
    max_iter : int, default=300
        Optimizer steps of each transport fit.
    batch_size : int, default=256
        Rows of source and of target per minibatch.
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    early_stopping : bool, default=False
        Hold out 10 % of each domain and stop (after annealing the learning
        rate over 30 % of ``max_iter``) once the held-out dual stops
        improving; see :class:`~skfpot.FixedPointOT`. Off by default:
        on a few hundred rows the held-out split costs more than it gives.
    class_conditional : bool, default=False
        Transport each class of the source onto the target rows of the same
        class with one :class:`~skfpot.ClassConditionalFixedPointOT`. Target
        rows whose label is known (not masked) keep it; the others are
        pseudo-labelled by ``pseudo_label_estimator`` trained on the
        *transported* source rows. Needs classification labels ``y`` of the
        source rows at fit. See Notes.
    pseudo_label_estimator : classifier, default=None
        Classifier that labels the target rows when ``class_conditional`` is
        True; ``None`` means ``KNeighborsClassifier(n_neighbors=10)`` (fewer
        neighbours when there are fewer source rows). It is cloned before
        fitting, and must predict the source rows' labels: a regressor is
        refused before training, and other predictions raise a
        ``ValueError``. Unused otherwise.
    pseudo_label_rounds : int, default=3
        Rounds of pseudo-labelling when ``class_conditional`` is True: each
        round trains ``pseudo_label_estimator`` on the source rows transported
        by the current map, relabels the target and refits the
        class-conditional map. Stops early when the labels no longer change.
        Each round costs one more transport fit.
    device : str or torch.device, default="auto"
        Torch device of the training.
    random_state : int, RandomState instance or None, default=None
        Seeds every transport fit.
    verbose : int, default=0
        Verbosity of the transport fits.

    Attributes
    ----------
    ot_ : FixedPointOT
        The fitted unconditional map (source → target). With
        ``class_conditional=True`` it is the first-stage map used to
        pseudo-label the target and to transport source rows whose label is
        unknown or has no target counterpart.
    class_ot_ : ClassConditionalFixedPointOT or None
        The fitted class-conditional map, or ``None`` when
        ``class_conditional`` is False.
    classes_ : ndarray of shape (n_classes,) or None
        Classes transported class-conditionally (labels seen in the source
        and in the labelled or pseudo-labelled target), or ``None``.
    pseudo_label_estimator_ : classifier or None
        The pseudo-labelling classifier of the last round, or ``None``.
    n_pseudo_label_rounds_ : int
        Pseudo-labelling rounds run (0 without ``class_conditional`` or when
        every target label is known).
    n_features_in_ : int
        Number of features.

    See Also
    --------
    FixedPointOTMapping : Pipeline of this adapter and a classifier.
    skfpot.FixedPointOT : The transport map estimator.
    skada.OTMappingAdapter : Discrete (EMD) OT mapping with barycentric
        out-of-sample extension.

    Notes
    -----
    The domains come from ``sample_domain`` when given. Without it they are
    inferred from the labels as skada does: rows with a masked label
    (``-1`` for classification, ``NaN`` for regression) are the target, the
    others the source. A fit with fewer than two source rows or two target
    rows raises a ``ValueError`` that names the missing domain.

    Class-conditional transport matches each source class with the target rows
    of the same class, and weighs each class's target rows so that the class
    proportions of the source are kept: one class is not spread over another
    when the proportions differ between domains (target shift). Target labels
    are usually unknown (skada masks them), so they are pseudo-labelled by
    self-training: (0) an unconditional map ``T`` is fitted; then, for each of
    ``pseudo_label_rounds`` rounds, ``pseudo_label_estimator`` is trained on
    ``(T(X_source), y_source)``, predicts the target labels, and the
    class-conditional map fitted on them becomes the new ``T``. Pseudo-label
    errors become transport errors; each round corrects some of them where
    the classes are already roughly aligned. In
    ``benchmarks/results/domain_adaptation.md`` it raised the target accuracy
    under target shift (0.70 to 0.96), covariate shift (0.96 to 0.996) and a
    class-dependent shift of two moons (0.89 to 0.97), changed nothing under
    an affine conditional shift and lowered it on a real split (diabetes by
    sex: 0.75 to 0.73), for 2 to 5 times the fit time (``pseudo_label_rounds
    + 1`` transport fits). When the first map confuses the classes too often
    the pseudo-labels stay wrong and it does not help; many rounds can drift.
    Source rows transformed without labels (skada's ``transform`` receives no
    ``y``) and classes that no target row carries are transported by ``ot_``.
    Only classes known on both sides are transported class-conditionally
    (``classes_``).

    Examples
    --------
    ``import skada`` switches scikit-learn's metadata routing on for the whole
    process; the example says so explicitly with ``config_context``:

    >>> import sklearn
    >>> from sklearn.linear_model import LogisticRegression
    >>> from skada import make_da_pipeline
    >>> from skada.datasets import make_shifted_datasets
    >>> from skfpot.skada import FixedPointOTAdapter
    >>> X, y, sample_domain = make_shifted_datasets(
    ...     20, 20, shift="conditional_shift", random_state=0)
    >>> X_target, y_target = X[sample_domain < 0], y[sample_domain < 0]
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     pipe = make_da_pipeline(
    ...         FixedPointOTAdapter(hidden_layer_sizes=(16,), max_iter=100,
    ...                             random_state=0),
    ...         LogisticRegression())
    ...     pipe = pipe.fit(X, y, sample_domain=sample_domain)
    ...     accuracy = pipe.score(X_target, y_target)
    >>> float(accuracy) > 0.9
    True
    """

    _parameter_constraints: dict = {
        **{k: FixedPointOT._parameter_constraints[k] for k in _OT_PARAMS},
        "class_conditional": ["boolean"],
        "pseudo_label_estimator": [HasMethods(["fit", "predict"]), None],
        "pseudo_label_rounds": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(64,),
        max_iter=300,
        batch_size=256,
        learning_rate_init=1e-3,
        early_stopping=False,
        class_conditional=False,
        pseudo_label_estimator=None,
        pseudo_label_rounds=3,
        device="auto",
        random_state=None,
        verbose=0,
    ):
        super().__init__()
        self.hidden_layer_sizes = hidden_layer_sizes
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.early_stopping = early_stopping
        self.class_conditional = class_conditional
        self.pseudo_label_estimator = pseudo_label_estimator
        self.pseudo_label_rounds = pseudo_label_rounds
        self.device = device
        self.random_state = random_state
        self.verbose = verbose

    # ------------------------------------------------------------- domains
    def _split_domains(self, X, y, sample_domain):
        """Validated X (and y) and a boolean source mask; both sides present."""
        sample_domain = _check_sample_domain(sample_domain)
        if y is None and sample_domain is None:
            raise ValueError(
                f"{type(self).__name__} needs to know which rows are source "
                "and which target: pass sample_domain (source >= 0, target "
                "< 0), or y with the target rows' labels masked (-1 or NaN)"
            )
        y = _check_labels(y)
        if y is not None and sample_domain is None:
            # errors of X and y themselves first, with their own messages
            X = check_array(X, input_name="X")
            try:
                y_checked = check_array(
                    y, ensure_all_finite=False, ensure_2d=False, input_name="y"
                )
            except ValueError as exc:
                raise ValueError(
                    f"{type(self).__name__} could not infer the domains: y is "
                    f"not numeric (dtype {y.dtype}), so its target rows cannot "
                    "carry the masked label -1; pass sample_domain (source >= 0, "
                    "target < 0)"
                ) from exc
            check_consistent_length(X, y_checked)
            try:
                X, y, sample_domain = skada.utils.check_X_y_domain(X, y, None)
            except ValueError as exc:
                raise ValueError(
                    f"{type(self).__name__} could not infer the domains: pass "
                    "sample_domain (source >= 0, target < 0), or mark the target "
                    "rows with the masked label y=-1 (classification) or y=NaN "
                    "(regression)"
                ) from exc
        else:
            X, sample_domain = skada.utils.check_X_domain(X, sample_domain)
            if y is not None:
                if len(y) != len(X):
                    raise ValueError(
                        f"y has {len(y)} rows but X has {len(X)}; they must match"
                    )
        source = skada.utils.extract_source_indices(sample_domain)
        for name, mask, rule in (
            ("source", source, ">= 0"),
            ("target", ~source, "< 0"),
        ):
            n = int(mask.sum())
            if n < 2:
                raise ValueError(
                    f"{type(self).__name__} needs at least 2 {name} samples "
                    f"(sample_domain {rule}) to fit the transport map; got {n}"
                )
        return X, y, source

    # ---------------------------------------------------------------- fit
    def _make_ot(self, cls, seed):
        params = {k: getattr(self, k) for k in _OT_PARAMS}
        # arrays whatever scikit-learn's transform_output: the adapter writes
        # the maps' rows into arrays by position (a DataFrame would align
        # them by its index)
        return cls(**params, random_state=seed).set_output(transform="default")

    def fit(self, X, y=None, *, sample_domain=None, **params):
        """Fit the transport map from the source rows to the target rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : array-like of shape (n_samples,), default=None
            Labels; target rows masked (``-1`` or ``NaN``). Used to infer the
            domains when ``sample_domain`` is None, and for
            ``class_conditional``. Not boolean: skada masks a label by
            writing -1, which a boolean array stores as True (encode the
            classes as integers).
        sample_domain : array-like of shape (n_samples,), default=None
            Domain of every row (source ``>= 0``, target ``< 0``).
        **params : dict
            Ignored (accepted for skada's adapter protocol).

        Returns
        -------
        self : FixedPointOTAdapter
            The fitted adapter.
        """
        self._fit(X, y, sample_domain)
        return self

    @_atomic_fit  # a failed refit leaves the previous fit as it was
    def _fit(self, X, y, sample_domain):
        self._validate_params()
        X, y, source = self._split_domains(X, y, sample_domain)
        if self.class_conditional:  # before any training
            self._check_source_labels(y, source)
            est = self.pseudo_label_estimator
            if est is not None and is_regressor(est):
                raise ValueError(
                    "pseudo_label_estimator must be a classifier: its "
                    "predictions become the target rows' class labels; got "
                    f"the regressor {est!r}"
                )
        self.n_features_in_ = X.shape[1]
        rng = check_random_state(self.random_state)
        seed = rng.randint(np.iinfo(np.int32).max)
        X_source, X_target = X[source], X[~source]
        self.ot_ = self._make_ot(FixedPointOT, seed).fit(X_source, X_target)
        self.class_ot_ = None
        self.classes_ = None
        self.pseudo_label_estimator_ = None
        self.n_pseudo_label_rounds_ = 0
        if self.class_conditional:
            self._fit_class_conditional(X_source, X_target, y, source, rng)
        return X, y, source

    @staticmethod
    def _check_source_labels(y, source):
        if y is None:
            raise ValueError(
                "class_conditional=True needs the class labels y of the source "
                "rows; got y=None"
            )
        y_source = y[source]
        if _masked(y_source).any():
            raise ValueError(
                "class_conditional=True needs the labels of every source row; "
                f"{int(_masked(y_source).sum())} source rows have a masked label"
            )
        kind = type_of_target(y_source)
        if kind not in ("binary", "multiclass"):
            raise ValueError(
                "class_conditional=True needs classification labels, got y of "
                f"type {kind!r}"
            )

    def _fit_class_conditional(self, X_source, X_target, y, source, rng):
        y_source, y_target = y[source], y[~source]
        known = ~_masked(y_target) & np.isin(y_target, y_source)
        y_target = y_target.astype(y_source.dtype, copy=True)
        est = self.pseudo_label_estimator
        if est is None:
            est = KNeighborsClassifier(n_neighbors=min(10, len(y_source)))
        rounds = 0 if known.all() else self.pseudo_label_rounds
        mapped = self.ot_.transform(X_source)
        previous = None
        self.n_pseudo_label_rounds_ = 0
        for r in range(max(rounds, 1)):
            if rounds:
                self.pseudo_label_estimator_ = clone(est).fit(mapped, y_source)
                labels = np.asarray(
                    self.pseudo_label_estimator_.predict(X_target[~known])
                )
                if labels.shape != (int((~known).sum()),):
                    raise ValueError(
                        "pseudo_label_estimator must predict one class label per "
                        f"row; it predicted an array of shape {labels.shape}"
                    )
                unknown = ~np.isin(labels, y_source)
                if unknown.any():
                    raise ValueError(
                        "pseudo_label_estimator must predict the source rows' "
                        f"class labels; it predicted {labels[unknown][:5].tolist()}"
                        ", which are not among them"
                    )
                y_target[~known] = labels
                if previous is not None and np.array_equal(previous, y_target):
                    break  # the labels are stable: the last map stays
                previous = y_target.copy()
                self.n_pseudo_label_rounds_ = r + 1
            shared = np.intersect1d(y_source, y_target)
            xs, ts = np.isin(y_source, shared), np.isin(y_target, shared)
            seed = rng.randint(np.iinfo(np.int32).max)
            self.class_ot_ = self._make_ot(ClassConditionalFixedPointOT, seed).fit(
                X_source[xs],
                X_target[ts],
                x_classes=y_source[xs],
                y_classes=y_target[ts],
            )
            self.classes_ = shared
            mapped = self._map_source(X_source, y_source)

    def fit_transform(self, X, y=None, *, sample_domain=None, **params):
        """Fit the map, then transport the source rows; target rows pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source and target rows, stacked.
        y : array-like of shape (n_samples,), default=None
            Labels; target rows masked (``-1`` or ``NaN``).
        sample_domain : array-like of shape (n_samples,), default=None
            Domain of every row (source ``>= 0``, target ``< 0``); inferred
            from the masked labels when None.
        **params : dict
            Ignored (accepted for skada's adapter protocol).

        Returns
        -------
        X_t : ndarray of shape (n_samples, n_features)
            Source rows mapped into the target domain, target rows unchanged,
            in the input's row order; float32 for float32 input, float64
            otherwise.
        """
        X, y, source = self._fit(X, y, sample_domain)
        return self._adapt(X, source, y)

    # ----------------------------------------------------------- transform
    def transform(self, X, y=None, *, sample_domain=None, allow_source=False, **params):
        """Transport source rows into the target domain; target rows pass.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Rows to adapt.
        y : array-like of shape (n_samples,), default=None
            Labels of the source rows, used by ``class_conditional``; source
            rows without a usable label are transported by ``ot_``.
        sample_domain : array-like of shape (n_samples,), default=None
            Domain of every row; ``None`` means that all rows are target rows.
        allow_source : bool, default=False
            Accept source rows (skada's scorers set it).
        **params : dict
            Ignored (accepted for skada's adapter protocol).

        Returns
        -------
        X_t : ndarray of shape (n_samples, n_features)
            Adapted rows, in the input's order; float32 for float32 input,
            float64 otherwise.
        """
        check_is_fitted(self)
        X, sample_domain = skada.utils.check_X_domain(
            X, _check_sample_domain(sample_domain), allow_source=allow_source
        )
        if X.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {X.shape[1]} features, but {type(self).__name__} is "
                f"expecting {self.n_features_in_} features as input"
            )
        if y is not None:
            y = _column_or_1d(y, "y")
            if len(y) != len(X):
                raise ValueError(
                    f"y has {len(y)} rows but X has {len(X)}; they must match"
                )
        source = skada.utils.extract_source_indices(sample_domain)
        return self._adapt(X, source, y)

    def _adapt(self, X, source, y):
        # float32 and float64 keep their type, as in ``FixedPointOT.transform``;
        # integer or boolean features become float64 (a copy of an int array
        # would truncate the transported rows)
        dtype = X.dtype if X.dtype in (np.float32, np.float64) else np.float64
        out = X.astype(dtype)  # always a copy
        if source.any():
            out[source] = self._map_source(X[source], None if y is None else y[source])
        return out

    def _map_source(self, X_source, y_source):
        """``class_ot_`` for rows with a transported class, ``ot_`` otherwise."""
        mapped = self.ot_.transform(X_source)
        if self.class_ot_ is not None and y_source is not None:
            use = np.isin(y_source, self.classes_) & ~_masked(y_source)
            if use.any():
                mapped[use] = self.class_ot_.transform(
                    X_source[use], classes=y_source[use]
                )
        return mapped


def FixedPointOTMapping(  # CamelCase like skada's OTMapping factory
    base_estimator=None,
    *,
    hidden_layer_sizes=(64,),
    max_iter=300,
    batch_size=256,
    learning_rate_init=1e-3,
    early_stopping=False,
    class_conditional=False,
    pseudo_label_estimator=None,
    pseudo_label_rounds=3,
    device="auto",
    random_state=None,
    verbose=0,
) -> Pipeline:
    """Domain adaptation pipeline: a fixed-point OT adapter and an estimator.

    The counterpart of skada's ``OTMapping``: ``make_da_pipeline(
    FixedPointOTAdapter(...), base_estimator)``.

    Parameters
    ----------
    base_estimator : estimator, default=None
        Estimator trained on the transported source rows; ``None`` means
        ``SVC(kernel="rbf")``, as in skada's mapping pipelines.
    hidden_layer_sizes : tuple of int, default=(64,)
        See :class:`FixedPointOTAdapter`.
    max_iter : int, default=300
        See :class:`FixedPointOTAdapter`.
    batch_size : int, default=256
        See :class:`FixedPointOTAdapter`.
    learning_rate_init : float, default=1e-3
        See :class:`FixedPointOTAdapter`.
    early_stopping : bool, default=False
        See :class:`FixedPointOTAdapter`.
    class_conditional : bool, default=False
        See :class:`FixedPointOTAdapter`.
    pseudo_label_estimator : classifier, default=None
        See :class:`FixedPointOTAdapter`.
    pseudo_label_rounds : int, default=3
        See :class:`FixedPointOTAdapter`.
    device : str or torch.device, default="auto"
        See :class:`FixedPointOTAdapter`.
    random_state : int, RandomState instance or None, default=None
        See :class:`FixedPointOTAdapter`.
    verbose : int, default=0
        See :class:`FixedPointOTAdapter`.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        The skada pipeline (steps ``"fixedpointotadapter"`` and the
        estimator's name).

    See Also
    --------
    FixedPointOTAdapter : The adapter step.

    Examples
    --------
    >>> import sklearn
    >>> from skada.datasets import make_shifted_datasets
    >>> from skfpot.skada import FixedPointOTMapping
    >>> X, y, sample_domain = make_shifted_datasets(
    ...     20, 20, shift="conditional_shift", random_state=0)
    >>> X_target, y_target = X[sample_domain < 0], y[sample_domain < 0]
    >>> with sklearn.config_context(enable_metadata_routing=True):
    ...     pipe = FixedPointOTMapping(hidden_layer_sizes=(16,), max_iter=100,
    ...                                random_state=0)
    ...     pipe = pipe.fit(X, y, sample_domain=sample_domain)
    ...     accuracy = pipe.score(X_target, y_target)
    >>> [name for name, _ in pipe.steps]
    ['fixedpointotadapter', 'svc']
    >>> float(accuracy) > 0.9
    True
    """
    if base_estimator is None:
        base_estimator = SVC(kernel="rbf")
    adapter = FixedPointOTAdapter(
        hidden_layer_sizes=hidden_layer_sizes,
        max_iter=max_iter,
        batch_size=batch_size,
        learning_rate_init=learning_rate_init,
        early_stopping=early_stopping,
        class_conditional=class_conditional,
        pseudo_label_estimator=pseudo_label_estimator,
        pseudo_label_rounds=pseudo_label_rounds,
        device=device,
        random_state=random_state,
        verbose=verbose,
    )
    return skada.make_da_pipeline(adapter, base_estimator)

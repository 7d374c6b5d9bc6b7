"""scikit-learn estimators for neural optimal transport by fixed-point training."""

from __future__ import annotations

import copy
import functools
import math
import os
import sys
import warnings
from numbers import Integral, Real

import numpy as np
import torch
from joblib import Parallel, delayed
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.exceptions import ConvergenceWarning
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_array, check_is_fitted, validate_data
from skorch.callbacks import (
    BatchScoring,
    Callback,
    EpochScoring,
    LRScheduler,
    ProgressBar,
)
from skorch.helper import predefined_split

from skfpot._training import (
    Adam,
    AnnealOnPlateau,
    FixedPointNet,
    LearningRateSchedule,
    StandardisedRows,
    TrainingDivergedError,
    TrainingMonitor,
    UnpairedBatches,
    UnpairedData,
    ValidationBatches,
    WeightAverage,
    nearest_rows,
    significantly_worse,
    valid_losses,
)
from skfpot._training import _dual as _dual_of
from skfpot.core.losses import backward_map, forward_map
from skfpot.core.potentials import ACTIVATIONS, MLPPotential
from skfpot.metrics import gaussian_ot_matrix

__all__ = ["FixedPointOT"]

#: held-out samples per side used for the validation dual (at most)
_MAX_VALIDATION = 4096
#: about the smallest residual the float32 solves reach (standardised units;
#: a d = 8 Gaussian toy: every solve reached 3e-7, 98.8 % reached 1e-7)
_FLOAT32_TOL = 1e-7
#: standard errors of the paired differences by which trained weights must
#: score below the start on training rows, without early stopping, to be
#: replaced by it (early stopping's ``z``)
_Z_WORSE = 2.0
#: Share of ``max_iter`` over which early stopping anneals the learning rate
#: to zero. 0.3 instead of 0.1 took the d=8 Gaussian benchmark from
#: 0.015/0.019 % to 0.007/0.010 % L2-UVP (seed 1; docs/benchmarks.md).
_ANNEAL_SHARE = 0.3
#: rows per chunk in transform / inverse_transform / score
_CHUNK = 8192
#: rows of each sample (of each class; in fit's random order) the spread
#: check maps, and the ratio of median squared distances to the target mean
#: it tolerates
_SPREAD_ROWS = 1024
_SPREAD_MAX_RATIO = 10.0
#: ... and its floor (a map squeezing the source; legit maps are near 1)
_SPREAD_MIN_RATIO = 0.01
#: a broken map's message names outliers when a row lies this many times as
#: far from its sample's mean as the median row (a Gaussian sample of 10**6
#: rows: about 4)
_OUTLIER_RATIO = 100.0


def _spread_rows(order, classes):
    """The first ``_SPREAD_ROWS`` rows of ``order`` in every class."""
    if classes is None:
        return order[:_SPREAD_ROWS]
    ordered = classes[order]
    return np.concatenate(
        [order[ordered == k][:_SPREAD_ROWS] for k in np.unique(ordered)]
    )


_SOLVER_STEP = {"lbfgs": 1.0, "bfgs": 1.0, "damped": 0.5}
#: a warm start's data means this many ``scale_`` from the stored ones are
#: named as the likely cause of a broken map
_WARM_SHIFT_MAX = 3.0
#: ``fit`` warns when X spreads more than this many times as widely as Y
#: (:meth:`FixedPointOT._warn_narrow_target`)
_NARROW_TARGET = 1000.0
#: names of the callbacks ``fit`` adds itself (``_make_net``); ``fit`` finds
#: them by name, so a user's callback may not take one
_INTERNAL_CALLBACKS = (
    "early_stopping",
    "lr_schedule",
    "monitor",
    "progress",
    "weight_average",
)
#: skorch's default callbacks, which the training net keeps (the names
#: are taken: skorch refuses a user's callback of the same name)
_SKORCH_CALLBACKS = ("epoch_timer", "train_loss", "valid_loss", "print_log")
#: ``fixed_point_solver="auto"``: dense BFGS up to this dimension (measured
#: 1.2-1.6× faster than L-BFGS at d = 2-32 on Mix3toMix10, 1.1× at 64, where
#: its cache would be 520 MiB at 2**17 rows; at d = 32 the cache is 1,056
#: bytes a row, about four times the float64 data; on the d = 32 Gaussian, which the
#: quadratic part solves in about 3 evaluations, it was 1.15-1.2× slower) ...
_AUTO_BFGS_MAX_FEATURES = 32
#: ... while its per-row inverse-Hessian cache (its upper triangle in
#: float16, d (d + 1) bytes a row) fits here
_AUTO_BFGS_MAX_CACHE_BYTES = 256 * 2**20


def _resolve_solver(solver: str, n_features: int, warm_start_rows: int) -> str:
    """The iteration ``fixed_point_solver`` names; ``"auto"`` picks by size.

    Dense BFGS pays through the curvature each row carries between visits, so
    ``"auto"`` needs warm starts; it costs ``d (d + 1)`` bytes per training
    row.
    """
    if solver != "auto":
        return solver
    cache = n_features * (n_features + 1) * warm_start_rows
    if (
        warm_start_rows
        and n_features <= _AUTO_BFGS_MAX_FEATURES
        and cache <= _AUTO_BFGS_MAX_CACHE_BYTES
    ):
        return "bfgs"
    return "lbfgs"


def _mad(A) -> np.ndarray:
    """Median absolute deviation of every column of ``A`` (float64)."""
    A = np.asarray(A, dtype=np.float64)
    return np.median(np.abs(A - np.median(A, axis=0)), axis=0)


def _chunks(z, positions=None):
    """The rows ``positions`` (all when omitted) of ``z``, a tensor or
    :class:`StandardisedRows`, in float64 chunks: no copy of the sample."""
    n = len(z) if positions is None else len(positions)
    for i in range(0, n, _CHUNK):
        if positions is None:
            ix = torch.arange(i, min(i + _CHUNK, n), device="cpu")
        else:
            ix = positions[i : i + _CHUNK]
        yield z[ix].double().cpu()


def _mean_and_covariance(z, positions=None) -> tuple[torch.Tensor, np.ndarray]:
    """Mean (a float64 tensor) and sample covariance in float64 of the rows
    ``positions`` (all when omitted) of ``z``, made chunk by chunk
    (:func:`_chunks`)."""
    n = len(z) if positions is None else len(positions)
    d = z.shape[1]
    total = torch.zeros(d, dtype=torch.float64, device="cpu")
    gram = torch.zeros(d, d, dtype=torch.float64, device="cpu")
    for chunk in _chunks(z, positions):
        total += chunk.sum(0)
        gram += chunk.T @ chunk
    mean = total / n
    cov = (gram - n * torch.outer(mean, mean)) / (n - 1)
    return mean, cov.numpy()


def _float32_reach(d: int) -> float:
    """The largest standardised value the network takes in ``d`` features:
    the potential's quadratic part holds ``½|x|²``, which must stay within
    float32, with room for the rest (beyond it ``score`` returned ±inf and
    ``transform`` NaN)."""
    return float(np.sqrt(np.finfo(np.float32).max / (8 * d)))


def _scaled(weight, classes, factor) -> torch.Tensor:
    """The row weights ``weight`` (None: ones) times ``factor`` of each row's
    class code."""
    f = torch.as_tensor(factor, dtype=torch.float32, device=classes.device)[classes]
    return f if weight is None else weight * f


def _shrunk_covariance(
    z, positions=None, scale=None, moments=None
) -> tuple[np.ndarray, float]:
    """The sample covariance (:func:`_mean_and_covariance`, or ``moments``,
    the mean and covariance when already computed) shrunk towards a multiple
    of the identity in the units of ``scale`` (one per feature; default
    1), by Ledoit and Wolf's intensity (2004) there, when that is at least
    ``_GAUSSIAN_START_MIN_SHRINKAGE``; returns it with the intensity used
    (0 when not shrunk).

    The Gaussian start passes the two samples' pooled standard deviation of
    every feature as ``scale``, the same for both: in their own units,
    shrinkage pulled every feature's variance towards the sample's mean
    variance, so a feature on a smaller scale than the others was inflated,
    and the start's map of it was off whenever one sample was shrunk more
    than the other (400 rows in d = 2, one feature 1/100 of the other's
    spread: that feature's images 0.14 to 7.5 times as spread as the
    target's, depending on the draw, as either sample's intensity crossed
    1 %). Pooled, a feature that one sample does not move still gets some
    of the other's variance when shrunk, and the start's map stays finite
    along it (the digits example's Gaussian start, 54 images per digit in 64
    pixels: recognised 95.7 / 98.3 % instead of 95.0 / 96.7 %; shrunk
    towards the diagonal instead, with no pooling, its training diverged
    at the second step).

    The intensity is that of :func:`sklearn.covariance.ledoit_wolf_shrinkage`
    on the rows divided by ``scale`` (distribution-free; it needs the rows'
    fourth moments, a second pass over the chunks). It falls like ``d / n``:
    on 2**17 rows it is below 0.004 up to d = 256 on the Gaussian and
    Mix3toMix10 benchmarks, whose starts are left as they were; on the
    d = 32 Gaussians it is 0.79 with 18 rows, 0.26 with 180 and 0.058 with
    900 (unit scale), and with fewer rows than features it keeps the start's
    map finite off the rows' span. Two rows give no estimate of it (their
    formula gives 0 for any pair) and are shrunk fully.
    """
    n = len(z) if positions is None else len(positions)
    mean, cov = _mean_and_covariance(z, positions) if moments is None else moments
    d = len(cov)
    scale = np.ones(d) if scale is None else np.asarray(scale, dtype=np.float64)
    units = cov / np.outer(scale, scale)  # the covariance in those units
    if n == 2:  # two centred rows are ±v: beta is 0 whatever they are, and
        shrink = 1.0  # the rank-1 covariance would set the map off their line
    else:
        fourth = 0.0
        divide = torch.as_tensor(scale, device="cpu")
        for chunk in _chunks(z, positions):
            fourth += float(((((chunk - mean) / divide) ** 2).sum(1) ** 2).sum())
        emp = units * (n - 1) / n  # the 1 / n covariance of the formula
        mu = np.trace(emp) / d
        delta = (np.sum(emp**2) - 2 * mu * np.trace(emp) + d * mu**2) / d
        beta = (fourth / n - np.sum(emp**2)) / (d * n)
        shrink = 0.0 if not delta > 0 else float(min(beta, delta) / delta)
    if not shrink >= _GAUSSIAN_START_MIN_SHRINKAGE:
        return cov, 0.0
    target = np.trace(units) / d * np.diag(scale**2)  # mean variance, in units
    return (1 - shrink) * cov + shrink * target, shrink


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))
#: scikit-learn's ``set_output`` wraps ``transform`` and ``fit_transform``
_SET_OUTPUT_WRAPPER = os.path.join("sklearn", "utils", "_set_output.py")


def _user_stacklevel() -> int:
    """The ``stacklevel`` that makes a warning point at the first frame
    outside skfpot (the user's call, whichever public method led there)."""
    frame, level = sys._getframe(1), 1
    while frame is not None and (
        frame.f_code.co_filename.startswith(_PACKAGE_DIR + os.sep)
        or frame.f_code.co_filename.endswith(_SET_OUTPUT_WRAPPER)
    ):
        frame, level = frame.f_back, level + 1
    return level


#: relative ridge of the Gaussian start's covariances (times each feature's
#: variance; a feature without variance gets 1e-12 of the mean variance)
_GAUSSIAN_START_RIDGE = 1e-6
#: Ledoit-Wolf shrinkage of the Gaussian start's covariances is applied from
#: this intensity on; below it, it would move the start by less than the
#: covariance's own sampling error, and large samples' starts stay as they
#: were measured
_GAUSSIAN_START_MIN_SHRINKAGE = 0.01


def _index_dtype(n: int):
    """int32 row indices (half the memory of int64) when they fit."""
    return np.int32 if n < 2**31 else np.int64


def _resolve_device(device) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except RuntimeError as exc:
        raise ValueError(f"device={device!r} is not a torch device: {exc}") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; "
            "use device='auto' or 'cpu'"
        )
    if dev.type != "cpu":  # fail here, not halfway through fit
        try:  # a round trip: meta tensors, for one, hold no data to copy back
            torch.zeros(1, device=dev).cpu()
        except Exception as exc:  # noqa: BLE001 - backends raise many types
            raise ValueError(
                f"device={device!r} cannot be used on this machine: "
                f"{type(exc).__name__}: {exc}"
            ) from None
    return dev


def _architecture(module) -> tuple:
    """What a potential's weights mean: a warm start needs the same."""
    return (
        module.n_features,
        tuple(layer.out_features for layer in module.layers),
        module.activation,
        bool(module.quadratic),
        module.n_classes,
        module.conditioning,
    )


def _holds_weights(module, state) -> bool:
    """Whether ``module``'s weights and buffers equal the state dict ``state``."""
    now = module.state_dict()
    return now.keys() == state.keys() and all(
        torch.equal(now[k], state[k].to(now[k].device)) for k in now
    )


def _atomic_fit(fit):
    """A ``fit`` that fails leaves the estimator as it was before the call.

    Validation sets attributes as it goes (``n_features_in_``, ``classes_``);
    without this, an error half-way through a refit would leave the new
    attributes beside the old model.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        state = self.__dict__.copy()
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            self.__dict__.clear()
            self.__dict__.update(state)
            raise

    return wrapper


def _feature_names(A):
    """Column names of a DataFrame-like ``A`` when they are all strings."""
    columns = getattr(A, "columns", None)
    if columns is None:
        return None
    names = np.asarray(columns, dtype=object)
    if names.ndim != 1 or not all(isinstance(n, str) for n in names):
        return None
    return names


class _BaseFixedPointOT(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """Shared machinery of the unconditional and class-conditional estimators.

    Subclasses provide the class labels (or ``None``) of every sample; all the
    data handling, training and the solves live here.
    """

    _parameter_constraints: dict = {
        "hidden_layer_sizes": ["array-like"],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "quadratic": [StrOptions({"gaussian", "identity", "none"})],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate_init": [Interval(Real, 0, None, closed="neither")],
        "learning_rate_schedule": [StrOptions({"cosine", "constant"})],
        "fixed_point_solver": [StrOptions({"auto", *_SOLVER_STEP})],
        "fixed_point_memory": [Interval(Integral, 1, None, closed="left")],
        "fixed_point_tol": [Interval(Real, 0, None, closed="neither")],
        "fixed_point_max_iter": [Interval(Integral, 1, None, closed="left")],
        "fixed_point_warm_start": ["boolean"],
        "inverse_anchors": [Interval(Integral, 0, None, closed="left")],
        "convexity_penalty": [Interval(Real, 0, None, closed="left")],
        "convexity_penalty_rows": [Interval(Integral, 2, None, closed="left")],
        "second_start_every": [Interval(Integral, 0, None, closed="left")],
        "weight_average_decay": [Interval(Real, 0, 1, closed="left"), None],
        "warm_start": ["boolean"],
        "early_stopping": ["boolean"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "n_iter_no_change": [Interval(Integral, 1, None, closed="left")],
        "tol": [Interval(Real, 0, None, closed="left")],
        "eval_interval": [Interval(Integral, 1, None, closed="left")],
        "device": [str, torch.device],
        "n_jobs": [
            Interval(Integral, None, -1, closed="right"),
            Interval(Integral, 1, None, closed="left"),
            None,
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
        "callbacks": [list, None],
    }

    def __init__(
        self,
        *,
        hidden_layer_sizes=(256, 256, 256),
        activation="silu",
        quadratic="gaussian",
        max_iter=4000,
        batch_size=256,
        learning_rate_init=1e-3,
        learning_rate_schedule="cosine",
        fixed_point_solver="auto",
        fixed_point_memory=16,
        fixed_point_tol=1e-4,
        fixed_point_max_iter=100,
        fixed_point_warm_start=True,
        inverse_anchors=2048,
        convexity_penalty=0.0,
        convexity_penalty_rows=64,
        second_start_every=0,
        weight_average_decay=None,
        warm_start=False,
        early_stopping=True,
        validation_fraction=0.1,
        n_iter_no_change=10,
        tol=1e-4,
        eval_interval=100,
        device="auto",
        n_jobs=None,
        random_state=None,
        verbose=0,
        callbacks=None,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.quadratic = quadratic
        self.max_iter = max_iter
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.learning_rate_schedule = learning_rate_schedule
        self.fixed_point_solver = fixed_point_solver
        self.fixed_point_memory = fixed_point_memory
        self.fixed_point_tol = fixed_point_tol
        self.fixed_point_max_iter = fixed_point_max_iter
        self.fixed_point_warm_start = fixed_point_warm_start
        self.inverse_anchors = inverse_anchors
        self.convexity_penalty = convexity_penalty
        self.convexity_penalty_rows = convexity_penalty_rows
        self.second_start_every = second_start_every
        self.weight_average_decay = weight_average_decay
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.eval_interval = eval_interval
        self.device = device
        self.n_jobs = n_jobs
        self.random_state = random_state
        self.verbose = verbose
        self.callbacks = callbacks

    # ----------------------------------------------------------- subclass hooks
    def _module_kwargs(self) -> dict:
        """Extra keyword arguments of :class:`MLPPotential`."""
        return {}

    # ------------------------------------------------------------- validation
    def _warm(self) -> bool:
        """Whether this ``fit`` continues the fitted potential."""
        return self.warm_start and hasattr(self, "module_")

    def _check_hidden_sizes(self) -> tuple[int, ...]:
        sizes = self.hidden_layer_sizes
        try:
            sizes = tuple(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(
            isinstance(s, Integral) and not isinstance(s, bool) and s > 0 for s in sizes
        ):
            raise ValueError(
                "hidden_layer_sizes must be a sequence of positive integers, "
                f"got {self.hidden_layer_sizes!r}"
            )
        if not sizes and self.quadratic == "none":
            raise ValueError(
                "hidden_layer_sizes=() with quadratic='none' leaves the potential "
                "without parameters; give hidden layers or a quadratic part"
            )
        return tuple(int(s) for s in sizes)

    def _check_callbacks(self) -> None:
        def is_callback(cb):
            return isinstance(cb, Callback) or (
                isinstance(cb, type) and issubclass(cb, Callback)
            )

        for item in self.callbacks or []:
            if isinstance(item, tuple) and len(item) == 2:
                name, cb = item
                if isinstance(name, str) and is_callback(cb):
                    continue
            elif is_callback(item):
                continue
            raise ValueError(
                "callbacks must be a list of skorch callbacks (instances or "
                "subclasses of skorch.callbacks.Callback) or (name, callback) "
                f"pairs with a str name; got {item!r}"
            )
        names = {item[0] for item in self.callbacks or [] if isinstance(item, tuple)}
        if names & set(_INTERNAL_CALLBACKS):
            raise ValueError(
                f"callback name(s) {sorted(names & set(_INTERNAL_CALLBACKS))} are "
                f"taken by {type(self).__name__}'s own callbacks "
                f"{list(_INTERNAL_CALLBACKS)}; give the callback another name"
            )
        if names & set(_SKORCH_CALLBACKS):
            raise ValueError(
                f"callback name(s) {sorted(names & set(_SKORCH_CALLBACKS))} are "
                f"taken by skorch's default callbacks {list(_SKORCH_CALLBACKS)}, "
                f"which {type(self).__name__} keeps; give the callback another name"
            )
        for item in self.callbacks or []:
            cb = item[1] if isinstance(item, tuple) else item
            kind = cb if isinstance(cb, type) else type(cb)
            if issubclass(kind, LRScheduler):
                raise ValueError(
                    "callbacks: skorch's LRScheduler would have no effect, as the "
                    "built-in schedule sets the learning rate before every step; "
                    "use learning_rate_schedule and learning_rate_init"
                )
            if issubclass(kind, BatchScoring):
                raise ValueError(
                    "callbacks: BatchScoring scores skorch's (X, y) batches, which "
                    "the unpaired training batches are not; use "
                    "EpochScoring(..., use_caching=False)"
                )
            if issubclass(kind, EpochScoring) and getattr(cb, "use_caching", True):
                raise ValueError(
                    "callbacks: EpochScoring needs use_caching=False here (its "
                    "cache expects skorch's (X, y) datasets); its scoring "
                    "callable gets the net, whose module_ is the potential"
                )
            if isinstance(cb, EpochScoring) and not callable(cb.scoring):
                raise ValueError(
                    "callbacks: EpochScoring's scoring must be a callable "
                    "scoring(net, X, y) here, whose net.module_ is the "
                    f"potential; got {cb.scoring!r} (scikit-learn scorers "
                    "score skorch's (X, y) datasets, which the unpaired "
                    "samples are not)"
                )
            if isinstance(cb, EpochScoring) and not (
                cb.on_train or self.early_stopping
            ):
                raise ValueError(
                    "callbacks: EpochScoring with on_train=False scores the "
                    "held-out rows, which exist only with early_stopping=True, "
                    "so it would never run: set early_stopping=True, or "
                    "on_train=True to score the training rows"
                )
            monitor = getattr(cb, "monitor", None)  # EarlyStopping, Checkpoint
            if (
                not self.early_stopping
                and isinstance(monitor, str)
                and monitor.startswith("valid")
            ):
                raise ValueError(
                    f"callback {type(cb).__name__} monitors {monitor!r}, which "
                    "is recorded only on held-out rows: set early_stopping=True "
                    "(it holds out validation_fraction of each sample and "
                    "records valid_loss, the negative held-out dual) or monitor "
                    "'train_loss'"
                )

    def _validate_target(self, Y, name="Y") -> np.ndarray:
        if Y is None:
            raise ValueError(
                f"{type(self).__name__}.fit requires the target sample {name} "
                "(a 2-D array of target points, unpaired with X); got None"
            )
        if np.ndim(Y) == 1:
            raise ValueError(
                f"{type(self).__name__}.fit expects the target sample {name} as a "
                "2-D array of shape (m_samples, n_features), unpaired with X; got "
                "a 1-D array (with one feature, pass Y.reshape(-1, 1)). In a "
                "Pipeline, whose fit passes labels as y, fit "
                "the map on the two samples first and wrap it in "
                "sklearn.frozen.FrozenEstimator (user guide, 'Maps in scikit-learn "
                "pipelines', and the domain adaptation page)"
            )
        names = _feature_names(Y)
        Y = check_array(
            Y,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            input_name=name,
            estimator=self,
        )
        if Y.shape[1] != self.n_features_in_:
            raise ValueError(
                f"X has {self.n_features_in_} features but {name} has "
                f"{Y.shape[1]} features; source and target samples must live "
                "in the same space"
            )
        self._check_target_names(names, name)
        fitted = getattr(self, "feature_names_in_", None)
        if (fitted is None) != (names is None):  # as validate_data warns for X
            warnings.warn(
                f"{name} does not have valid feature names, but X has: its "
                "columns are taken to be X's, in order"
                if names is None
                else f"{name} has feature names, but X does not: they are ignored",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        return Y

    def _check_target_names(self, names, name):
        """A target sample's column names, when it has them, must be X's."""
        fitted = getattr(self, "feature_names_in_", None)
        if fitted is not None and names is not None:
            if not np.array_equal(fitted, names):
                raise ValueError(
                    f"the column names of {name} must be those of X, in the same "
                    f"order (source and target live in the same space): X has "
                    f"{fitted.tolist()}, {name} has {names.tolist()}"
                )

    # ------------------------------------------------------------------ fit
    def _fit(self, X, Y, x_classes=None, y_classes=None, x_weight=None, y_weight=None):
        """Train on validated float arrays; class arrays are int codes."""
        sizes = self._check_hidden_sizes()
        self._check_callbacks()
        if self.convexity_penalty > 0 and self.batch_size < 2:
            raise ValueError(
                "convexity_penalty needs batch_size >= 2: it pairs each row of "
                "a minibatch with another one (a secant), and a minibatch of "
                "one row has none (the penalty would be 0)"
            )
        device = _resolve_device(self.device)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        # a warm start continues the fitted potential in its units (fit has
        # checked the features against the fitted ones); its records run on
        warm = self._warm()
        before = dict(vars(self)) if warm else None

        # Exact reparametrisation: translate each sample (each class of each
        # sample) to mean zero and scale all by one common factor; optimal maps
        # are equivariant under these, so only the conditioning changes.
        with np.errstate(over="ignore"):  # overflow is checked just below
            if not warm:
                self.mean_source_ = self._sample_means(X, x_classes)
                self.mean_target_ = self._sample_means(Y, y_classes)
            ssq_x, by_class_x = self._centred_ssq(X, self.mean_source_, x_classes)
            ssq_y, by_class_y = self._centred_ssq(Y, self.mean_target_, y_classes)
            var = (ssq_x / len(X) + ssq_y / len(Y)) / (2 * X.shape[1])
        if not (
            np.isfinite(var)
            and np.isfinite(self.mean_source_).all()
            and np.isfinite(self.mean_target_).all()
        ):
            for name, A in (("X", X), ("Y", Y)):  # checked unless assume_finite
                if not all(
                    np.isfinite(A[i : i + _CHUNK]).all()
                    for i in range(0, len(A), _CHUNK)
                ):
                    raise ValueError(f"{name} contains NaN or infinity")
            raise ValueError(
                "X and Y are too large in magnitude to standardise: their means "
                "or variance overflow float64; rescale them first"
            )
        identical = {
            name: self._identical_groups(A, ssq, means, classes)
            for name, A, ssq, means, classes in (
                ("X", X, (ssq_x, by_class_x), self.mean_source_, x_classes),
                ("Y", Y, (ssq_y, by_class_y), self.mean_target_, y_classes),
            )
        }
        groups = 1 if x_classes is None else len(self.mean_source_)
        if not warm:
            every = all(len(found) == groups for found in identical.values())
            if var < np.finfo(np.float64).tiny and not every:
                raise ValueError(
                    "X and Y vary too little to standardise: their variance "
                    "underflows float64; rescale them first"
                )
            self.scale_ = float(np.sqrt(var)) if var > 0 else 1.0
        self._warn_identical_rows(identical, {"X": x_classes, "Y": y_classes})
        if not identical["Y"]:  # else warned about as identical rows
            self._warn_narrow_target(ssq_x / len(X), ssq_y / len(Y))

        # No copy of the data: minibatches are standardised from the caller's
        # arrays when drawn; a random row order makes the validation rows a
        # prefix of it.
        quotas = factors = (None, None)
        if x_classes is not None and self.early_stopping:
            quotas, factors = self._validation_quotas(x_classes, y_classes)
        px, nvx = self._split_order(len(X), rng, x_classes, quotas[0])
        py, nvy = self._split_order(len(Y), rng, y_classes, quotas[1])
        self._warn_few_rows([("X", x_classes, px[nvx:]), ("Y", y_classes, py[nvy:])])
        xs = StandardisedRows(X, px, self.mean_source_, self.scale_, device, x_classes)
        ys = StandardisedRows(Y, py, self.mean_target_, self.scale_, device, y_classes)

        def to_t(a, perm, dtype=torch.float32):
            if a is None:
                return None
            return torch.as_tensor(a[perm], dtype=dtype, device=device)

        cx, cy = to_t(x_classes, px, torch.long), to_t(y_classes, py, torch.long)
        wx, wy = to_t(x_weight, px), to_t(y_weight, py)
        # ½E|X − Y|² under independence, in normalised units: a dual bound
        bound = 0.5 * (ssq_x / len(X) + ssq_y / len(Y)) / self.scale_**2

        full = UnpairedData(xs, ys, cx, cy, wx, wy)
        if self.early_stopping:
            train = full.batch_subset(slice(nvx, None), slice(nvy, None))
            valid = full.batch_subset(slice(None, nvx), slice(None, nvy))
            if factors[0] is not None:  # each class's share of the held-out dual
                valid.x_weight = _scaled(valid.x_weight, valid.x_classes, factors[0])
                valid.y_weight = _scaled(valid.y_weight, valid.y_classes, factors[1])
        else:
            train, valid = full, None
        warm_rows = len(train.y) if self.fixed_point_warm_start else 0
        self.fixed_point_solver_ = _resolve_solver(
            self.fixed_point_solver, X.shape[1], warm_rows
        )
        net = self._make_net(sizes, device, train, valid, seed, bound, warm_rows)
        # training needs autograd, even when fit is called under no_grad or
        # inference_mode. The initial weights and the minibatches are drawn
        # from generators of the fit's own: torch's global state is not used.
        with torch.inference_mode(False), torch.enable_grad():
            net.initialize()
            if warm:
                if _architecture(net.module_) != _architecture(self.module_):
                    raise ValueError(
                        "warm_start=True continues the fitted network, so "
                        "hidden_layer_sizes, activation, quadratic ('none' or "
                        "not) and conditioning must stay as they were; use "
                        "warm_start=False to fit a new map"
                    )
                net.module_.load_state_dict(self.module_.state_dict())
            elif self.quadratic == "gaussian":
                self._gaussian_init(net.module_, train)
            stopping = dict(net.callbacks_).get("early_stopping")
            # the weights training starts from, to fall back on should the
            # trained map look broken (see _restore_sane_start); early
            # stopping copies them itself when training begins
            start = None
            if stopping is None:
                start = copy.deepcopy(net.module_.state_dict())
            try:
                net.partial_fit(train, None)
            except TrainingDivergedError as exc:
                begin = start if stopping is None else stopping.start_state_
                self._recover(net, exc, begin, warm)
            if stopping is not None:
                start = stopping.start_state_
                collapse = getattr(stopping, "restored_start_", None)
                where = "held-out"
            else:
                collapse = self._collapse_check(net, train, start)
                where = "training"
        self._keep_anchors(net.module_, train)
        monitor = dict(net.callbacks_)["monitor"]
        if collapse is None and getattr(stopping, "start_worse_", False):
            warnings.warn(
                "training did not improve the map: the trained weights were "
                "significantly worse on the held-out rows than the starting "
                f"ones, so the model keeps those ({self._start_name(warm)}"
                + (
                    ", already the answer when both samples are close to Gaussian"
                    if self.quadratic == "gaussian" and not warm
                    else ""
                )
                + "). Otherwise this is what a network does when the "
                "sample is small for it; a smaller hidden_layer_sizes or more "
                "rows can do better.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        if collapse is not None:
            warnings.warn(
                f"training made the map worse: the {where} dual fell from "
                f"{collapse[0]:.4g} at the start to {collapse[1]:.4g}, so the "
                f"model keeps the starting weights ({self._start_name(warm)}). "
                "Lower learning_rate_init.",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )
        if getattr(net, "interrupted_", False):  # scikit-learn's MLP does the same
            warnings.warn(
                f"Training interrupted by user after {monitor.step_} of "
                f"max_iter={self.max_iter} steps; the model keeps the weights "
                "reached so far",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )
        self.module_ = net.module_.cpu().eval()
        self.device_ = device
        self.history_ = net.history
        self.n_iter_ = monitor.step_
        self.loss_curve_ = list(monitor.losses_)
        self.fixed_point_n_evals_ = np.asarray(monitor.evals_)
        self.fixed_point_converged_ = np.asarray(monitor.converged_)
        self.second_start_switches_ = int(getattr(net, "second_start_switches_", 0))
        self.validation_scores_ = None
        if valid is not None:
            self.validation_scores_ = [-v for v in valid_losses(net.history)]
        converged = self.fixed_point_converged_  # this call's steps
        if warm:  # the records run on from the previous fit's
            self.n_iter_ += before["n_iter_"]
            self.loss_curve_ = before["loss_curve_"] + self.loss_curve_
            self.fixed_point_n_evals_ = np.concatenate(
                [before["fixed_point_n_evals_"], self.fixed_point_n_evals_]
            )
            self.fixed_point_converged_ = np.concatenate(
                [before["fixed_point_converged_"], converged]
            )
            self.second_start_switches_ += before["second_start_switches_"]
            if before["validation_scores_"] is not None:  # kept without ES
                self.validation_scores_ = before["validation_scores_"] + (
                    self.validation_scores_ or []
                )
        self.start_validation_score_ = None
        if stopping is not None and stopping.start_score_ is not None:
            self.start_validation_score_ = -stopping.start_score_
        self.best_validation_score_ = None
        if self.validation_scores_ is not None:
            self.best_validation_score_ = max(self.validation_scores_, default=None)
        if converged.size:
            late = converged[-max(1, len(converged) // 5) :]
            miss = 1.0 - float(late.mean())
            if miss > 0.01:
                warnings.warn(
                    f"{miss:.1%} of the fixed-point solves in the last 20% of "
                    f"training did not reach fixed_point_tol="
                    f"{self.fixed_point_tol} within fixed_point_max_iter="
                    f"{self.fixed_point_max_iter}; the dual gradient is biased. "
                    f"{self._tol_advice()}",
                    ConvergenceWarning,
                    stacklevel=_user_stacklevel(),
                )
        split = (X, Y, x_classes, y_classes, (px, nvx), (py, nvy))
        # after a cold fit mean_target_ is this sample's mean: no pass over Y
        broken = self._spread_ratio(*split, None if warm else self.mean_target_)
        if broken is not None:
            restored = self._restore_sane_start(start, train, split)
            self._warn_broken(broken, restored, warm, *split)
        # early stopping's final comparison or the broken-map check kept them
        # (or training left them as they were)
        self.kept_start_ = _holds_weights(self.module_, start)
        return self

    def _collapse_check(self, net, train, start):
        """Without early stopping, compare the trained weights with the
        starting ones on up to ``_MAX_VALIDATION`` training rows (a random
        subset: the rows are in random order): when their dual there is
        significantly below the start's (by ``tol`` plus two standard errors
        of the paired differences), training went backwards on the very rows
        it maximised the dual on, and the start is restored. Returns the two
        duals (start, trained) then, else None. Rows that training saw
        favour the trained weights, so this fires only on failed training (a
        learning rate far too large: a 400-row toy in d = 2 at
        ``learning_rate_init=1.0`` ended at 31 % L2-UVP, 5.7 standard errors
        below the start's dual, unwarned before)."""
        if start is None:
            return None
        rows = train.batch_subset(
            slice(0, min(_MAX_VALIDATION, len(train.x))),
            slice(0, min(_MAX_VALIDATION, len(train.y))),
        )
        trained = copy.deepcopy(net.module_.state_dict())
        kept = net.held_out_dual_values(rows)
        net.module_.load_state_dict(start)
        begin = net.held_out_dual_values(rows)
        if significantly_worse(kept, begin, threshold=self.tol, z=_Z_WORSE):
            return (_dual_of(begin), _dual_of(kept))
        net.module_.load_state_dict(trained)
        return None

    def _spread_ratio(self, X, Y, x_classes, y_classes, x_split, y_split, centre=None):
        """Whether the fitted map throws the source far beyond the target:
        ``(ratio, class)`` of the worst class when it does, else None.

        The held-out dual judges the map on a few rows and with their noise; a
        potential wrecked by far too large steps can pass it (a 200-point toy
        at ``learning_rate_init=1.0``: a mean squared error of 1,500 against
        0.04 at the start, undetected). This compares medians instead, within
        each class: of the squared distance of mapped source rows to the
        target mean, and of target rows to it. Fitted maps, and the Gaussian
        start, push the source onto the target, about 1×; the thresholds are
        10× and, for a map that squeezes the source onto a small part of the
        target, 1/100 (one far outlier in X: 0.002, unwarned before).
        ``x_split``, ``y_split``: fit's row orders and validation counts.
        The target's mean is this sample's: ``centre`` (its class means)
        when the caller has it, else computed (a warm start keeps the first
        fit's ``mean_target_``, which new data may lie far from).
        """
        (px, _), (py, _) = x_split, y_split
        if centre is None:
            centre = self._sample_means(Y, y_classes)
        rows_x, rows_y = _spread_rows(px, x_classes), _spread_rows(py, y_classes)
        kx = None if x_classes is None else x_classes[rows_x]
        ky = None if y_classes is None else y_classes[rows_y]
        sources, targets = X[rows_x], Y[rows_y].astype(np.float64)
        mapped = self._forward(sources, kx).astype(np.float64)
        with np.errstate(over="ignore", invalid="ignore"):
            out = ((mapped - self._class_rows(centre, kx)) ** 2).sum(1)
            spread = ((targets - self._class_rows(centre, ky)) ** 2).sum(1)
        worst, worst_class = 0.0, None
        lowest, lowest_class = np.inf, None
        squeezed = (np.inf, None, None)  # per feature: (ratio, class, feature)
        for k in [None] if kx is None else np.intersect1d(kx, ky):
            sel_x = slice(None) if k is None else kx == k
            sel_y = slice(None) if k is None else ky == k
            ref = np.median(spread[sel_y])
            if not ref > 0:  # a constant target sample (warned about in fit)
                continue
            ratio = np.median(out[sel_x]) / ref
            ratio = np.inf if np.isnan(ratio) else ratio  # NaN images: broken
            if ratio > worst:
                worst, worst_class = ratio, k
            source = sources[sel_x]
            if ratio < lowest and (source != source[:1]).any():
                # a source of one point (warned about in fit) maps to one
                # point, which may lie at the target's mean: not a squeeze
                lowest, lowest_class = ratio, k
            # one feature can be squeezed alone, which the distances hide (a
            # row of X at (1e6, 0) beside 500 standard normal ones: the first
            # feature's images collapsed to a point, unwarned): compare the
            # squared median absolute deviations feature by feature, where
            # the source varies and the target does more than negligibly
            mad_x, mad_i, mad_y = (
                _mad(A) for A in (source, mapped[sel_x], targets[sel_y])
            )
            relevant = (mad_x > 0) & (mad_y**2 > 1e-4 * ref / len(mad_y))
            if relevant.any():
                per_feature = np.full(len(mad_y), np.inf)
                per_feature[relevant] = (mad_i[relevant] / mad_y[relevant]) ** 2
                j = int(np.argmin(per_feature))
                if per_feature[j] < squeezed[0]:
                    squeezed = (per_feature[j], k, j)
        if worst > _SPREAD_MAX_RATIO:
            return worst, worst_class, None
        if lowest < _SPREAD_MIN_RATIO:  # the source squeezed onto a point
            return lowest, lowest_class, None
        if squeezed[0] < _SPREAD_MIN_RATIO:  # or along one feature
            return squeezed
        return None

    def _outlier_ratio(self, A, means, classes, order) -> float:
        """How much farther from its (class) mean the farthest row of ``A``
        lies than the median of up to ``_SPREAD_ROWS`` rows (per class: the
        largest ratio). A pass over ``A``, made only for a broken map."""
        codes = np.zeros(len(A), np.intp) if classes is None else classes
        farthest = np.zeros(int(codes.max()) + 1)  # per class code
        for i in range(0, len(A), _CHUNK):
            part = slice(i, i + _CHUNK)
            dist = ((A[part] - self._class_rows(means, classes, part)) ** 2).sum(1)
            np.maximum.at(farthest, codes[part], dist)
        rows = _spread_rows(order, classes)
        sample = ((A[rows] - self._class_rows(means, classes, rows)) ** 2).sum(1)
        ratio = 0.0
        for c in np.unique(codes[rows]):
            typical = np.median(sample[codes[rows] == c])
            if typical > 0:
                ratio = max(ratio, math.sqrt(farthest[c] / typical))
        return ratio

    def _restore_sane_start(self, start, train, split):
        """After a broken map (:meth:`_spread_ratio`), go back to the weights
        training started from (``start``, a state dict) when their map is not
        broken. Returns whether it did. The held-out dual does not decide
        here: it missed these maps (on a few rows, with their noise), and
        weights that far off can score above the dual's bound, which only an
        inexact c-transform allows. (When early stopping kept the start, a
        callback after it can still have changed the weights.)"""
        module, device = self.module_, self.device_
        kept = copy.deepcopy(module.state_dict())
        module.load_state_dict(start)
        if self._spread_ratio(*split) is not None:
            module.load_state_dict(kept)
            return False
        self._keep_anchors(module.to(device), train)
        module.cpu()
        return True

    def _warn_broken(self, broken, restored, warm, X, Y, x_classes, y_classes, *splits):
        """Warn about a broken map (``broken``: :meth:`_spread_ratio`'s),
        saying whether the starting weights replaced it (``warm``: those of
        the previous fit)."""
        worst, worst_class, feature = broken
        (px, nvx), (py, nvy) = splits
        d = X.shape[1]
        group = ""
        if worst_class is not None:
            group = f" of class {self.classes_.tolist()[worst_class]!r}"
        why = (
            "training probably diverged without being caught. Lower learning_rate_init."
        )
        if worst < 1:  # squeezed, not thrown
            why = "training collapsed. Lower learning_rate_init."
        for name, A, means, order, classes in (
            ("X", X, self.mean_source_, px, x_classes),
            ("Y", Y, self.mean_target_, py, y_classes),
        ):
            far = self._outlier_ratio(A, means, classes, order)
            if far > _OUTLIER_RATIO:
                why = (
                    f"{name} has rows far from the others (the farthest lies "
                    f"{far:.3g} times as far from its mean as the median row): "
                    "they dominate the common scale and the Gaussian start's "
                    "covariances. Remove outlying rows, or transform the "
                    "features so that none dominates."
                )
                break
        for name, order, n_valid, classes in (
            ("X", px, nvx, x_classes),
            ("Y", py, nvy, y_classes),
        ):
            counts = self._class_counts(classes, order[n_valid:])
            rows = counts[0 if classes is None else worst_class]
            if rows <= d:  # the sample covariance is singular there
                why = (
                    f"{rows} training rows of {name}{group} in {d} "
                    "dimensions determine it poorly (off their span, the "
                    "start's covariance is only its shrinkage towards the "
                    "mean variance), or training diverged. Use more rows "
                    "than features, or lower learning_rate_init."
                )
                break
        # a warm start keeps the first fit's standardisation; new data far
        # from its means is the likelier cause (zero shift for a cold fit)
        shift = max(
            np.linalg.norm(self._sample_means(A, k) - means, axis=-1).max()
            for A, k, means in (
                (X, x_classes, self.mean_source_),
                (Y, y_classes, self.mean_target_),
            )
        )
        if shift > _WARM_SHIFT_MAX * self.scale_:
            why = (
                "warm_start kept the first fit's standardisation (mean_source_, "
                f"mean_target_, scale_), and this data's means lie {shift:.3g} "
                f"from it ({shift / self.scale_:.3g} times scale_). Fit new "
                "data with warm_start=False."
            )
        where = "to NaN or infinity"
        if feature is not None:
            where = (
                f"with a spread in feature {feature} {math.sqrt(worst):.3g} "
                "times the target points' (median absolute deviations; a "
                "fitted map keeps them alike)"
            )
        elif np.isfinite(worst):
            where = (
                f"a median {math.sqrt(worst):.3g} times as far from the target's "
                "mean as the target points lie (a fitted map keeps them alike)"
            )
        which = "trained" if restored else "fitted"
        message = (
            f"the {which} map looks broken: it sends source points{group} "
            f"{where}; {why}"
        )
        if restored:
            message += (
                " The map of the weights training started from does not, so "
                f"the model keeps the starting weights ({self._start_name(warm)})."
            )
        warnings.warn(
            message,
            ConvergenceWarning,
            stacklevel=_user_stacklevel(),
        )

    @staticmethod
    def _gaussian_init(module, train):
        """Start the quadratic part of every class at the closed-form OT map
        between Gaussians with the (standardised) training covariances."""
        k_x, k_y = train.x_classes, train.y_classes
        factors = []
        for k in range(module.n_classes):
            sides = []
            for z, k_z in ((train.x, k_x), (train.y, k_y)):
                rows = None if k_z is None else (k_z == k).nonzero()[:, 0].cpu()
                size = len(z) if rows is None else len(rows)
                moments = _mean_and_covariance(z, rows) if size > 1 else None
                if moments is not None and not np.all(np.isfinite(moments[1])):
                    moments = None
                sides.append((z, rows, moments))
            # both samples' shrinkage in the units of their pooled spread
            spreads = [np.diag(m[1]) for _, _, m in sides if m is not None]
            pooled = np.mean(spreads, axis=0) if spreads else None
            scale = None
            if pooled is not None:
                scale = np.sqrt(np.where(pooled > 0, pooled, np.mean(pooled) or 1.0))
            covs = []
            for z, rows, moments in sides:
                if moments is None:
                    cov = np.eye(z.shape[1])
                else:
                    cov = _shrunk_covariance(z, rows, scale, moments)[0]
                # a ridge relative to each feature's own variance keeps
                # singular covariances invertible without bending the map
                # along features of a smaller scale (relative to the mean
                # variance, 1e-3 started a feature with 1e-4 of it 31 % too
                # narrow, and 1e-6 one with 1e-6 of it 19 %); features without
                # variance get 1e-12 of the mean variance (a sample without
                # any, 1e-15)
                mean_var = np.trace(cov) / len(cov)
                floor = max(_GAUSSIAN_START_RIDGE**2 * mean_var, 1e-15)
                ridge = np.maximum(_GAUSSIAN_START_RIDGE * np.diag(cov), floor)
                covs.append(cov + np.diag(ridge))
            a = gaussian_ot_matrix(*covs)
            w, v = np.linalg.eigh((a + a.T) / 2)
            factors.append((v * np.sqrt(np.clip(w, 0.0, None))) @ v.T)
        q = module.quad_factor
        with torch.no_grad():
            q.copy_(torch.as_tensor(np.stack(factors), dtype=q.dtype, device=q.device))

    def _keep_anchors(self, module, train):
        """Keep ``inverse_anchors`` training rows of X (a random subset: the
        rows are in random order) and their images under the fitted map."""
        k = min(self.inverse_anchors, len(train.x))
        if k == 0:
            self.anchors_ = self.anchor_images_ = self.anchor_classes_ = None
            return
        pos = torch.arange(k, device="cpu")
        anchors = train.x[pos]
        classes = None if train.x_classes is None else train.x_classes[:k]
        with torch.no_grad():
            images = forward_map(module, anchors, classes)
        self.anchors_ = anchors.cpu()
        self.anchor_images_ = images.cpu()
        self.anchor_classes_ = None if classes is None else classes.cpu()

    def _anchor_start(self, y, classes) -> torch.Tensor:
        """For every row of ``y`` (standardised), the kept source row whose
        image is nearest to it (within its class)."""
        dev = y.device
        images = self.anchor_images_.to(dev)
        anchors = self.anchors_.to(dev)
        own = None if self.anchor_classes_ is None else self.anchor_classes_.to(dev)
        best, _ = nearest_rows(y, images, classes, own)
        return anchors[best]

    def _warn_few_rows(self, sides):
        """Warn when a sample (a class of it) has fewer than two training
        rows: it has no covariance, so the Gaussian start uses the identity
        and nothing in the data fixes the map's spread there. ``sides`` holds
        ``(name, classes, training rows)`` per sample."""
        few = []
        for name, classes, rows in sides:
            counts = self._class_counts(classes, rows)
            labels = [None] if classes is None else self.classes_.tolist()
            for label, c in zip(labels, counts, strict=True):
                if c < 2:
                    where = name if label is None else f"{name}, class {label!r}"
                    few.append(f"{where}: {c} row{'' if c == 1 else 's'}")
        if few:
            warnings.warn(
                f"fewer than two training rows in {'; '.join(few)} (validation "
                "rows excluded): no spread to estimate there, so the map's "
                "start uses the identity covariance and the map is poorly "
                "determined. Use more rows, or early_stopping=False to train "
                "on all of them.",
                UserWarning,
                stacklevel=_user_stacklevel(),
            )

    def _class_counts(self, classes, rows):
        """How many of ``rows`` each class code has (one count without
        classes)."""
        if classes is None:
            return [len(rows)]
        return np.bincount(classes[rows], minlength=len(self.classes_))

    def _split_order(self, n, rng, classes=None, quota=None):
        """A random row order and the number of validation rows (a prefix).

        With ``classes`` (codes), the held-out rows are stratified: class
        ``k`` gives ``quota[k]`` rows (:meth:`_validation_quotas`, which
        pairs the two samples)."""
        order = rng.permutation(n).astype(_index_dtype(n))
        if not self.early_stopping:
            return order, 0
        # at least one row on each side (n >= 2 was checked)
        n_valid = min(_MAX_VALIDATION, max(1, int(self.validation_fraction * n)))
        if classes is None:
            return order, min(n_valid, n - 1)
        counts = np.bincount(classes, minlength=len(quota))
        # the first quota[k] rows of class k in the random order are held out
        codes = classes[order]
        by_class = np.argsort(codes, kind="stable")
        first = np.cumsum(counts) - counts  # where each class begins in it
        rank = np.empty(n, dtype=np.int64)
        rank[by_class] = np.arange(n) - np.repeat(first, counts)
        held = rank < quota[codes]
        order = np.concatenate([order[held], order[~held]])
        return order, int(held.sum())

    def _class_quota(self, counts) -> np.ndarray:
        """``validation_fraction`` of each class's rows (of the 4096 at most
        in all), rounded down, so that a class of fewer than ``1 /
        validation_fraction`` rows keeps all of them for training."""
        share = min(self.validation_fraction, _MAX_VALIDATION / counts.sum())
        return np.floor(share * counts).astype(np.int64)

    def _validation_quotas(self, x_classes, y_classes):
        """The held-out rows of each class code in X and in Y, and the
        factors that give each held-out row of class ``k`` its class's
        share ``w_k`` of the held-out dual (``counts / quota``, times the
        row's weight ``w_k / p_k``; 0 where nothing is held out).

        A class is held out on both sides or on neither (:meth:`_class_quota`
        of each side, and 0 on both unless both give a row); when none is,
        the class with the most rows on its smaller side gives one row on
        each. Held out on one side only, a class's source terms entered the
        held-out dual without its target terms (or with the largest class
        of each side giving the row, of two different classes): the value
        then moved with per-class constants of φ, which do not change the
        maps (twice the true value with 9 target rows of a class), and
        early stopping decided on it. The rounding down, too, shifted the
        classes' shares, differently on each side."""
        k = int(max(x_classes.max(), y_classes.max())) + 1
        counts = [np.bincount(c, minlength=k) for c in (x_classes, y_classes)]
        quotas = [self._class_quota(c) for c in counts]
        both = (quotas[0] > 0) & (quotas[1] > 0)
        for q in quotas:
            q[~both] = 0
        if not both.any():
            largest = np.argmax(np.minimum(*counts))
            for q in quotas:
                q[largest] = 1
        factors = [
            np.divide(c, q, out=np.zeros(k), where=q > 0)
            for c, q in zip(counts, quotas, strict=True)
        ]
        return quotas, factors

    @staticmethod
    def _sample_means(A, classes) -> np.ndarray:
        """The mean of ``A`` (one row per class code), accumulated in float64."""
        if classes is None:
            return A.mean(axis=0, dtype=np.float64)
        k = range(int(classes.max()) + 1)
        return np.stack([A[classes == i].mean(0, dtype=np.float64) for i in k])

    def _centred_ssq(self, A, means, classes) -> tuple[float, np.ndarray | None]:
        """Sum of squared deviations from the (class) means, in chunks, and
        with ``classes`` the sums per class code (else None)."""
        total = 0.0
        per_class = None if classes is None else np.zeros(len(means))
        for i in range(0, len(A), _CHUNK):
            rows = slice(i, i + _CHUNK)
            c = None if classes is None else classes[rows]
            with np.errstate(invalid="ignore"):  # non-finite: refused after
                dev = A[rows].astype(np.float64, copy=False) - self._class_rows(
                    means, c
                )
            total += float((dev**2).sum())
            if per_class is not None:
                per_class += np.bincount(c, (dev**2).sum(1), minlength=len(means))
        return total, per_class

    @staticmethod
    def _identical_groups(A, ssq, means, classes) -> list:
        """The groups of ``A`` whose rows are all one point, up to a few
        units in the last place: ``[None]`` or ``[]`` without classes, else
        the class codes. ``ssq`` (:meth:`_centred_ssq`) screens, against the
        rounding of each group's float64 mean (which can be off by far more
        than the rows' rounding for data far from the origin); the rows
        confirm. A sample of one row has no group (it is warned about
        elsewhere); a class of one row is one."""
        if len(A) < 2:
            return []
        if classes is None:
            groups, sums, centres = [None], [ssq[0]], means[None]
        else:
            groups, sums, centres = range(len(means)), ssq[1], means
        counts = (
            [len(A)] if classes is None else np.bincount(classes, minlength=len(means))
        )
        found = []
        for k, total, centre, n in zip(groups, sums, centres, counts, strict=True):
            rounding = 1e-9 * float(np.abs(centre).max())
            if total > n * A.shape[1] * rounding**2:
                continue
            rows = A if k is None else A[classes == k]
            first = rows[0].astype(np.float64)
            ulps = 4 * np.finfo(rows.dtype).eps * np.abs(first)
            if not any(
                np.any(np.abs(rows[i : i + _CHUNK] - first) > ulps)
                for i in range(0, len(rows), _CHUNK)
            ):
                found.append(k)
        return found

    def _warn_narrow_target(self, var_x, var_y):
        """Warn when Y spreads far less than X (``var_x``, ``var_y``: mean
        squared deviations): the solves' tolerance is in units of the common
        scale, which X sets, so they resolve Y's points coarsely (Gaussians
        in d = 2, 500 rows, one training step: the round trip ``T(S(y))``
        off by 7.9e-5, 9.0e-4, 1.0e-2 and 7.6e-2 of Y's spread with X 100,
        1e3, 1e4 and 1e5 times as wide, against 1.6e-6 for equal spreads
        with the Gaussian start; a Y that wide instead: 6e-8 to 9e-7)."""
        if not (var_y > 0 and var_x > _NARROW_TARGET**2 * var_y):
            return
        ratio = math.sqrt(var_x / var_y)
        warnings.warn(
            f"X spreads {ratio:.3g} times as widely as Y (root mean square "
            "deviations, to which far rows count), and fixed_point_tol "
            "is in units of their common scale: the fixed-point solves (the "
            "inverse map, and training's c-transforms) resolve Y's points "
            "only coarsely (on Gaussians, round trips transform("
            "inverse_transform(Y)) off by 1e-3 of Y's spread at 1,000 times, "
            "1e-2 at 10,000). Optimal maps commute with scaling either sample "
            f"by a constant: fit on (X, c * Y) with c near {ratio:.3g}, then "
            "divide transform's output by c and multiply inverse_transform's "
            "input by c.",
            UserWarning,
            stacklevel=_user_stacklevel(),
        )

    def _warn_identical_rows(self, identical, classes):
        """Warn when all rows of a sample, of each class, or of some classes
        (of at least two rows) are one point: a map from one point is
        determined at that point only. ``identical`` maps ``"X"`` and
        ``"Y"`` to :meth:`_identical_groups`, ``classes`` them to their class
        codes (or None)."""
        for name, found in identical.items():
            what = "transform" if name == "X" else "inverse_transform"
            codes = classes[name]
            if codes is None or len(found) == len(self.classes_):
                if found:
                    where = "" if codes is None else " within each class"
                    warnings.warn(
                        f"all rows of {name} are identical{where}: a transport "
                        f"map from one point is determined only at that point, "
                        f"so {what} is meaningful only there",
                        UserWarning,
                        stacklevel=_user_stacklevel(),
                    )
                continue
            counts = self._class_counts(codes, slice(None))
            some = [self.classes_[k] for k in found if counts[k] >= 2]
            if some:
                labels = ", ".join(repr(v) for v in np.asarray(some).tolist()[:5])
                more = f" and {len(some) - 5} more" if len(some) > 5 else ""
                warnings.warn(
                    f"all rows of {name} in class{'es' if len(some) > 1 else ''} "
                    f"{labels}{more} are identical: a transport map from one "
                    f"point is determined only at that point, so {what} of "
                    f"such a class is meaningful only there",
                    UserWarning,
                    stacklevel=_user_stacklevel(),
                )

    def _make_net(self, sizes, device, train, valid, seed, bound, warm_rows):
        schedule = LearningRateSchedule(
            self.learning_rate_init, self.max_iter, self.learning_rate_schedule
        )
        cbs = [("monitor", TrainingMonitor(bound)), ("lr_schedule", schedule)]
        averaged = self.weight_average_decay is not None
        if averaged:  # before early stopping: its final check sees the average
            cbs.append(("weight_average", WeightAverage(self.weight_average_decay)))
        if valid is not None:
            cbs.append(
                (
                    "early_stopping",
                    AnnealOnPlateau(
                        schedule,
                        patience=self.n_iter_no_change,
                        threshold=self.tol,
                        anneal_steps=max(
                            self.eval_interval, round(_ANNEAL_SHARE * self.max_iter)
                        ),
                        valid=valid,
                        compare_always=averaged,
                        start_margin=0.25 * bound,
                    ),
                )
            )
        if self.verbose:  # one bar per evaluation interval, of its exact length
            per_bar = min(self.eval_interval, self.max_iter)
            cbs.append(("progress", ProgressBar(batches_per_epoch=per_bar)))
        cbs.extend(self.callbacks or [])
        return FixedPointNet(
            MLPPotential,
            module__n_features=train.x.shape[1],
            module__hidden_layer_sizes=sizes,
            module__activation=self.activation,
            module__quadratic=self.quadratic != "none",
            # built on the CPU in float32 whatever torch's defaults; the net
            # moves it to ``device``
            module__generator=torch.Generator(device="cpu").manual_seed(seed),
            module__device="cpu",
            module__dtype=torch.float32,
            **{f"module__{k}": v for k, v in self._module_kwargs().items()},
            criterion=torch.nn.Identity,
            optimizer=Adam,
            lr=self.learning_rate_init,
            max_epochs=math.ceil(self.max_iter / self.eval_interval),
            batch_size=self.batch_size,
            iterator_train=UnpairedBatches,
            iterator_train__steps_per_pass=self.eval_interval,
            iterator_train__max_steps=self.max_iter,
            iterator_train__seed=seed,
            iterator_valid=ValidationBatches,
            train_split=None if valid is None else predefined_split(valid),
            callbacks=cbs,
            device=device,
            verbose=int(self.verbose),
            solver_options=self._solver_options(),
            warm_start_rows=warm_rows,
            convexity_penalty=self.convexity_penalty,
            convexity_penalty_rows=self.convexity_penalty_rows,
            second_start_every=self.second_start_every,
        )

    def _solver_options(self) -> dict:
        """Options of every solve; the solver is the one ``fit`` resolved."""
        solver = self.fixed_point_solver_
        return {
            "method": solver,
            "memory": self.fixed_point_memory,
            "step_size": _SOLVER_STEP[solver],
            "tol": self.fixed_point_tol,
            "max_iter": self.fixed_point_max_iter,
        }

    def _start_name(self, warm) -> str:
        """What the weights training started from are, for warnings."""
        if warm:
            return "those of the previous fit, which warm_start=True continued"
        if self.quadratic == "gaussian":
            return (
                "with quadratic='gaussian', the closed-form map between "
                "Gaussian fits of the samples"
            )
        return "the initial weights"

    def _recover(self, net, exc, start, warm):
        """Training diverged (``exc``): go back to the last weights that a
        whole evaluation interval trained on without diverging, or else to
        ``start``, the weights training started from (``warm``: those of the
        previous fit), when the first step's dual (which judged them) was
        sane; raise when neither exists."""
        monitor = dict(net.callbacks_)["monitor"]
        advice = "Lower learning_rate_init or raise fixed_point_max_iter."
        if monitor.last_good_ is None:
            first = -monitor.losses_[0] if len(monitor.losses_) > 1 else math.nan
            if start is None or not abs(first) <= 10.0 * monitor.bound:
                raise TrainingDivergedError(
                    f"{exc} before any evaluation interval's weights had been "
                    "trained on without diverging, and the starting weights "
                    f"diverged too, so there are no good weights to restore. "
                    f"{advice}",
                    exc.step,
                ) from exc
            net.module_.load_state_dict(start)
            warnings.warn(
                f"{exc}; stopped before the first evaluation, and the model "
                f"keeps the starting weights ({self._start_name(warm)}). "
                f"{advice}",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )
            return
        net.module_.load_state_dict(monitor.last_good_)
        warnings.warn(
            f"{exc}; stopped and restored the weights of step "
            f"{monitor.last_good_step_}. {advice}",
            ConvergenceWarning,
            stacklevel=_user_stacklevel(),
        )

    # ---------------------------------------------------------------- mapping
    def _check_input(self, X, name="X"):
        check_is_fitted(self)
        if name == "X":
            X = validate_data(self, X, dtype=[np.float64, np.float32], reset=False)
        else:
            names = _feature_names(X)
            X = check_array(
                X, dtype=[np.float64, np.float32], input_name=name, estimator=self
            )
            if X.shape[1] != self.n_features_in_:
                raise ValueError(
                    f"{name} has {X.shape[1]} features, but "
                    f"{type(self).__name__} is expecting {self.n_features_in_} "
                    "features as input"
                )
            self._check_target_names(names, name)
            # scikit-learn's warnings for X (validate_data), for Y as well
            fitted = getattr(self, "feature_names_in_", None)
            if (fitted is None) != (names is None):
                cls = type(self).__name__
                warnings.warn(
                    f"{name} does not have valid feature names, but {cls} was "
                    "fitted with feature names"
                    if names is None
                    else f"{name} has feature names, but {cls} was fitted "
                    "without feature names",
                    UserWarning,
                    stacklevel=_user_stacklevel(),
                )
        return X

    def _compute_device(self) -> torch.device:
        """The training device when this machine has it, else the CPU (a model
        trained on a GPU and loaded where that GPU is missing)."""
        if self.device_.type == "cpu":
            return self.device_
        try:
            torch.empty(0, device=self.device_)
        except Exception:  # torch raises several types (ImportError for hpu)
            return torch.device("cpu")
        return self.device_

    def _chunks(self, fn, A, classes, chunk=_CHUNK, means=None):
        """Apply ``fn(module, a, k, rows, z)`` to row chunks of ``A``, in
        parallel threads, and return the results in order: ``rows`` is the
        chunk's slice of ``A``, ``z`` its rows in float64, standardised
        around ``means`` when given (chunk by chunk: no standardised copy of
        ``A``), ``a`` those as a float32 tensor on the compute device and
        ``k`` their class codes (or None)."""
        device = self._compute_device()
        # ordinary tensors even under the caller's inference_mode, which the
        # worker threads do not inherit
        with torch.inference_mode(False):
            module = copy.deepcopy(self.module_).to(device)
        starts = range(0, len(A), chunk)

        def run(i):
            rows = slice(i, i + chunk)
            k_rows = None if classes is None else classes[rows]
            z = A[rows]
            if means is not None:
                z = self._standardise(z, means, k_rows)
            if z.size and not np.abs(z).max() <= _float32_reach(z.shape[1]):
                if not np.isfinite(A[rows]).all():  # checked unless assume_finite
                    raise ValueError("the input contains NaN or infinity")
                raise ValueError(
                    "the input lies too far from the training data: in the "
                    "standardised units the network works in, some values "
                    f"exceed {_float32_reach(z.shape[1]):.3g}, beyond which "
                    "its float32 arithmetic overflows (a row's squared norm)"
                )
            a = torch.as_tensor(z, dtype=torch.float32, device=device)
            k = None
            if classes is not None:
                k = torch.as_tensor(k_rows, device=device)
            return fn(module, a, k, rows, z)

        if self.n_jobs in (None, 1) or len(starts) == 1:
            return [run(i) for i in starts]
        return Parallel(n_jobs=self.n_jobs, prefer="threads")(
            delayed(run)(i) for i in starts
        )

    @staticmethod
    def _class_rows(means, classes, rows=None):
        """The mean of every row's class (the one mean when unconditional),
        for ``classes[rows]`` when ``rows`` is given."""
        if classes is None:
            return means
        return means[classes if rows is None else classes[rows]]

    def _standardise(self, A, means, classes):
        """``A`` in the network's units; values beyond float32 are refused
        (in ``_chunks``, :func:`_float32_reach`), so overflow here needs no
        warning."""
        with np.errstate(over="ignore"):
            return (A - self._class_rows(means, classes)) / self.scale_

    def _forward(self, X, classes=None) -> np.ndarray:
        """``T(X)`` in ``X``'s float dtype, written chunk by chunk into the
        output: beyond it, memory does not grow with the rows."""
        out = np.empty(X.shape, dtype=X.dtype)

        def forward(m, a, k, rows, z):
            part = self.scale_ * forward_map(m, a, k).cpu().numpy().astype(np.float64)
            part += self._class_rows(self.mean_target_, classes, rows)
            out[rows] = part

        self._chunks(forward, X, classes, means=self.mean_source_)
        return out

    def _backward(self, Y, classes=None) -> tuple[np.ndarray, np.ndarray]:
        """``S(Y)`` in ``Y``'s float dtype, written chunk by chunk into the
        output, and which solves converged."""
        out = np.empty(Y.shape, dtype=Y.dtype)

        def finish(module, k, rows, w, x):
            out[rows] = (
                self._class_rows(self.mean_source_, classes, rows) + self.scale_ * x
            )

        converged = self._solve_backward(Y, classes, finish)
        return out, converged

    def _solve_backward(self, Y, classes, finish) -> np.ndarray:
        """Solve the backward map of the rows of ``Y`` (standardised chunk
        by chunk around ``mean_target_``) and call ``finish(module, k,
        rows, w, x)`` on every chunk (:meth:`_chunks`' arguments), ``w`` its
        standardised rows and ``x`` their images in the network's units
        (both float64); return which solves converged, and warn when some
        did not."""
        opts = self._solver_options()

        anchored = self.anchors_ is not None

        def solve(m, a, k, rows, w):
            r = backward_map(m, a, k, **opts)
            x, converged = r.x, r.converged
            if anchored:  # a second start; the lower inner objective wins
                r2 = backward_map(m, a, k, x0=self._anchor_start(a, k), **opts)
                take = r2.converged & ((r2.value < r.value) | ~r.converged)
                x = torch.where(take[:, None], r2.x, x)
                converged = converged | r2.converged
            converged = converged.cpu().numpy()
            finish(m, k, rows, w, x.cpu().numpy().astype(np.float64))
            return converged, w[~converged]

        chunk = _CHUNK
        if opts["method"] == "bfgs":  # a d × d matrix per row: ≤ 64 MiB
            chunk = min(_CHUNK, max(64, 2**24 // Y.shape[1] ** 2))
        parts = self._chunks(solve, Y, classes, chunk, means=self.mean_target_)
        converged = np.concatenate([p[0] for p in parts])
        miss = 1.0 - converged.mean()
        if miss > 0:
            missed = np.concatenate([p[1] for p in parts])
            warnings.warn(
                f"the fixed-point solve did not converge for {miss:.2%} of the "
                f"samples ({int((~converged).sum())} of {len(converged)}) within "
                f"fixed_point_max_iter={self.fixed_point_max_iter} at "
                f"fixed_point_tol={self.fixed_point_tol}; their inverse images "
                f"are approximate. {self._miss_advice(missed)}",
                ConvergenceWarning,
                stacklevel=_user_stacklevel(),
            )
        return converged

    def _miss_advice(self, missed) -> str:
        """What to change when the solves of the standardised rows
        ``missed`` did not converge. Far from the data the float32 solve
        cannot resolve ``fixed_point_tol``: its residual is rounding of about
        1.2e-7 of the point's distance (a d = 2 toy: the solves failed from
        1,000 ``scale_`` out, with relative residuals |T(S(y)) − y| / |y|
        near 2e-7, as accurate as float32 allows, at any
        ``fixed_point_max_iter``)."""
        reach = np.finfo(np.float32).eps * np.abs(missed).max(axis=1)
        far = reach > 0.5 * self.fixed_point_tol
        if far.all() and self.fixed_point_tol >= _FLOAT32_TOL:
            distance = float(np.linalg.norm(missed, axis=1).min())
            return (
                "They lie far outside the data (at least "
                f"{distance:.3g} times scale_ from the target's mean), where "
                "float32 rounding, about 1.2e-7 of that distance, exceeds "
                "fixed_point_tol: their images are as accurate as float32 "
                "allows, and more iterations do not help. This far out the "
                "map is an extrapolation."
            )
        if far.any() and self.fixed_point_tol >= _FLOAT32_TOL:
            return (
                f"{self._tol_advice()} ({int(far.sum())} of them lie so far "
                "outside the data that float32 rounding exceeds "
                "fixed_point_tol there.)"
            )
        return self._tol_advice()

    def _tol_advice(self) -> str:
        """What to change when solves miss ``fixed_point_tol``."""
        if self.fixed_point_tol < _FLOAT32_TOL:
            return (
                f"fixed_point_tol={self.fixed_point_tol} is below what the "
                f"float32 solves resolve (about {_FLOAT32_TOL:g} in "
                "standardised units): raise it."
            )
        return "Increase fixed_point_max_iter."

    def _dual(
        self, X, Y, x_classes=None, y_classes=None, x_weight=None, y_weight=None
    ) -> float:
        # mean φ(X) + mean φ^c(Y) with φ(x) = ½|x|² − ψ(x) and
        # φ^c(y) = ψ(x̂) − ⟨x̂, y⟩ + ½|y|², x̂ the backward image of y. In the
        # user's coordinates ½|x|² and ψ(x) cancel catastrophically for data
        # far from the origin (offset 1e8, spread 1: the score was off by
        # 20 %), so expand them in the network's units: x = μ_s + s z,
        # y = μ_t + s w, ψ(x) = ⟨x, μ_t⟩ + s² ψ_n(z), with μ_s, μ_t the
        # means of the row's class. Every term is then of the size of the
        # spread, except the constants ½|μ_s − μ_t|² − ½|μ_t|² (source rows)
        # and ½|μ_t|² (target rows); with μ_t = c + δ_k, c the mean over the
        # classes, the ½|c|² parts cancel exactly (both averages are
        # normalised) and are left out. Rows are standardised chunk by
        # chunk: memory beyond the data is one number per row of each.
        s = self.scale_
        gap = self.mean_source_ - self.mean_target_
        level = 0.0  # one class: μ_t = c
        if self.mean_target_.ndim == 2:  # a row of means per class
            c = self.mean_target_.mean(0)
            delta = self.mean_target_ - c
            level = delta @ c + 0.5 * (delta * delta).sum(1)

        def psi_n(module, a, k) -> np.ndarray:  # ψ = ½|·|² − φ, network units
            with torch.no_grad():  # worker threads do not inherit grad mode
                return module.psi(a, k).cpu().numpy().astype(np.float64)

        source, target = np.empty(len(X)), np.empty(len(Y))

        def source_terms(module, a, k, rows, z):
            kx = None if x_classes is None else x_classes[rows]
            gx = self._class_rows(gap, kx)
            source[rows] = (
                s * (gx * z).sum(1)
                + s**2 * (0.5 * (z * z).sum(1) - psi_n(module, a, k))
                + 0.5 * (gx * gx).sum(-1)
                - self._class_rows(level, kx)
            )

        def finish(module, k, rows, w, z_hat):
            ky = None if y_classes is None else y_classes[rows]
            gy = self._class_rows(gap, ky)
            device = next(module.parameters()).device
            a = torch.as_tensor(z_hat, dtype=torch.float32, device=device)
            target[rows] = (
                -s * (gy * w).sum(1)
                + s**2
                * (psi_n(module, a, k) - (z_hat * w).sum(1) + 0.5 * (w * w).sum(1))
                + self._class_rows(level, ky)
            )

        self._chunks(source_terms, X, x_classes, means=self.mean_source_)
        self._solve_backward(Y, y_classes, finish)
        return float(
            np.average(source, weights=x_weight) + np.average(target, weights=y_weight)
        )

    def __getstate__(self):
        state = super().__getstate__()
        if "module_" in state:  # always pickle a CPU module
            state["module_"] = copy.deepcopy(state["module_"]).cpu()
        return state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.transformer_tags.preserves_dtype = ["float64", "float32"]
        tags.non_deterministic = self.random_state is None
        return tags


class FixedPointOT(_BaseFixedPointOT):
    """Neural optimal transport map learned by fixed-point optimization.

    One neural potential φ is trained on the Kantorovich dual of the quadratic
    transport cost between an unpaired source sample ``X`` and target sample
    ``Y``. Its c-transform is computed as a proximal fixed-point problem, and
    the envelope theorem gives the training gradient without differentiating
    through the solver. The forward map ``T(x) = x − ∇φ(x)`` (source → target)
    and the backward map ``S(y) = argmin_x ½|x − y|² − φ(x)`` (target → source,
    the fixed point of ``x = y + ∇φ(x)``) both come from the one network.

    Parameters
    ----------
    hidden_layer_sizes : tuple of int, default=(256, 256, 256)
        Widths of the hidden layers of the potential's multilayer perceptron.
    activation : {"silu", "softplus", "tanh"}, default="silu"
        Smooth activation of the perceptron.
    quadratic : {"gaussian", "identity", "none"}, default="gaussian"
        The learned quadratic and linear part of the potential (its gradient
        is an affine map; it captures the affine component of the transport
        exactly and preconditions the fixed-point solves). ``"gaussian"``
        starts it at the closed-form optimal map between Gaussians with the
        samples' means and covariances (shrunk towards their mean variance,
        in units of each feature's spread pooled over both samples, by
        Ledoit and Wolf's intensity when that is at least 1 %, as on small
        samples), ``"identity"`` at the identity map
        (up to the translation between the means), ``"none"`` leaves it out.
        The perceptron starts at zero, so training starts from that map.
    max_iter : int, default=4000
        Number of optimizer steps (one step = one minibatch of X and one of Y).
    batch_size : int, default=256
        Rows of X and of Y per minibatch.
    learning_rate_init : float, default=1e-3
        Adam's learning rate.
    learning_rate_schedule : {"cosine", "constant"}, default="cosine"
        Cosine decay of the learning rate to zero over ``max_iter`` steps, or
        a constant rate.
    fixed_point_solver : {"auto", "lbfgs", "bfgs", "damped"}, default="auto"
        Iteration of the c-transform solve: the damped proximal fixed-point
        step accelerated by a limited-memory quasi-Newton model (``"lbfgs"``),
        by a dense BFGS model per sample (``"bfgs"``), or the plain damped
        step (``"damped"``, step 0.5). All backtrack per sample on the inner
        objective, which keeps the solve bounded. With ``"bfgs"`` and
        ``fixed_point_warm_start``, each target row also keeps its curvature
        estimate from visit to visit (the upper triangle in float16,
        ``d (d + 1)`` bytes per training row of Y):
        on Mix3toMix10 it needed 27-50 % fewer gradient evaluations per
        solve and trained 1.2-1.6× faster than ``"lbfgs"`` at d = 2-32, to
        the same accuracy (controlled A/Bs, see the benchmarks). At d=64
        the ``d × d`` updates eat most of that (334 against 368 s, 2,500
        steps, side by side) for a 520 MiB cache at 2**17 rows. Where the
        quadratic part alone nearly solves the problem (Gaussians, about 3
        evaluations per solve) it gains nothing: 96 against 78-83 s on
        the d=32 Gaussian. ``"auto"`` takes ``"bfgs"`` when warm starts are
        on, ``n_features <= 32`` and the curvature cache takes at most
        256 MiB (at d=16: up to 986,895 training rows of Y; at d=32:
        254,200), and ``"lbfgs"`` otherwise; the choice is
        ``fixed_point_solver_``.
    fixed_point_memory : int, default=16
        Secant pairs kept by the ``"lbfgs"`` solver. On Mix3toMix10 (2,500-step
        A/Bs) 8 needs 8-12 % more gradient evaluations than 16 at d=16-64
        and trains in the same time at d=32 and 64 (side by side; before
        the L-BFGS step was made cheaper, 8 was 7-8 % faster).
    fixed_point_tol : float, default=1e-4
        A sample's solve stops when ``|x − y − ∇φ(x)|₂ / √d`` (in units of the
        standardised data, ``scale_``) falls below this value (so a Y far
        narrower than X is resolved coarsely: ``fit`` warns from 1,000
        times). On Mix3toMix10 d=16
        (2,500-step A/B), ``1e-4`` instead of ``1e-5`` saved 13 % (``"bfgs"``)
        and 15 % (``"lbfgs"``) of the gradient evaluations, same maps; looser
        solves bias the training gradient (the envelope theorem needs the
        exact minimiser).
    fixed_point_max_iter : int, default=100
        Iteration cap per sample of each solve.
    fixed_point_warm_start : bool, default=True
        During training, start each target sample's solve from its solution
        at the previous visit (one cached float16 row per training row of Y,
        ``2 d`` bytes) instead of the inverse of the quadratic part.
        Measured on Mix3toMix10 d=16 (``"lbfgs"``, 2,500-step A/B): 18 %
        fewer gradient evaluations per solve after the first 20 % of
        training, the same forward map.
    inverse_anchors : int, default=2048
        Training rows of X kept (standardised) after ``fit`` to give every
        backward solve (``inverse_transform``, ``score``) a second start:
        the kept row whose forward image is nearest to the target point. The
        solve that ends with the lower inner objective wins (the c-transform
        is a global minimum, and a network potential can make the inner
        problem non-convex, so the affine start alone can end in a local
        minimum). Costs a second solve, which starts close to its solution.
        ``0`` keeps nothing and solves once.
    convexity_penalty : float, default=0.0
        Weight of a training penalty that pushes ``ψ = ½|x|² − φ`` towards
        convexity, so that the inner problem of the backward map has a single
        basin and ``inverse_transform`` inverts ``transform``. It is a
        penalty on sampled secants, not a guarantee: on one fresh
        Mix3toMix10 d = 8 seed a deeper spurious basin survived it (see
        ``second_start_every``, which finds and corrects such basins). On
        64 source rows of each minibatch (``convexity_penalty_rows``) it
        takes a secant towards another row and penalises
        ``relu(−m)²``, ``m = ⟨∇ψ(a) − ∇ψ(b), a − b⟩ / |a − b|²`` (zero
        exactly when ``∇ψ`` is monotone on the secants, as for the optimal
        ``ψ``). Costs two gradient evaluations of φ on those rows per step
        (+11-18 % fit time at batch 256, Mix3toMix10 d = 8 and 16). ``100``
        is the measured setting when the inverse map matters at d ≥ 8: on
        Mix3toMix10 it brought the
        worst of three seeds' inverse L2-UVP from 0.769 % to 0.702 % at d = 8
        and from 1.465 % to 0.490 % at d = 16, forward unchanged. It is off by
        default because it cost forward accuracy at d = 2 (0.074 % → 0.128 %
        on seed 0) and slightly at d = 4. ``1000`` hurt the forward map at
        d = 8.
    convexity_penalty_rows : int, default=64
        Source rows of each minibatch on which the convexity penalty is
        evaluated (the whole minibatch when larger than ``batch_size``; at
        least 2, as each row's secant goes towards another). On
        Mix3toMix10 d = 8 with penalty 100 (20,000 steps, batch 256), the
        whole batch gave inverse L2-UVP 0.374 / 0.140 / 0.199 % on three seeds
        for about +50 % fit time, 64 rows 0.702 / 0.193 / 0.222 % for
        +11-18 %.
    second_start_every : int, default=0
        Every this many training steps (``0``: never), solve the
        minibatch's c-transforms a second time, each target row from the
        source row of the minibatch (of its class) whose current forward
        image is nearest, and keep, per row, the lower inner objective (the
        training counterpart of ``inverse_anchors``). The envelope gradient
        is exact only at the global minimiser; warm-started solves stay in
        their basin, so a deeper basin of a non-convex ``ψ`` that forms
        elsewhere is otherwise never seen, nor corrected, by training, and
        ``inverse_transform`` later finds it (a learned map sending two
        source regions to the same point). Costs a forward image of the
        source batch and a cold solve on those steps (``16``: about 6 % of
        the fit time at d = 8, 13-14 % at d = 16, 11 % at d = 32). On
        Mix3toMix10 d = 8 with
        ``convexity_penalty=100, convexity_penalty_rows=256``, ``16`` brought
        the one seed of seven whose inverse L2-UVP missed 0.7 % from
        1.333 % to 0.571 % (``4``: 0.392 %), forward unchanged; on the
        other seeds it changed the inverse by little, except one that went
        from 0.374 % to 0.686 % (see the benchmarks). At d = 16 without
        ``convexity_penalty`` it repaired the seed whose inverse missed
        (1.465 % to 0.484 %), as the cheaper penalty does; at d = 32 with
        the penalty it took the inverse from 2.330 % to 0.384 % (seed 0,
        forward 1.496 % to 1.618 %) and from 0.568 % to 0.494 % (seed 1).
        Off by default until measured more widely.
    weight_average_decay : float in [0, 1) or None, default=None
        Keep an exponential moving average of the potential's weights over
        the training steps (``average ← decay · average + (1 − decay) ·
        weights`` after every step) and end training with it, so that the
        fitted maps average out the minibatch noise of the last steps
        instead of keeping the final iterate's. With early stopping, its
        final paired comparison judges the average against the best
        evaluated weights, which replace it only if it is significantly
        worse on the held-out rows. ``None`` keeps the final weights (``0``
        does too). ``0.999`` (an average over about the last 1,000 steps)
        is the measured setting: on the Gaussian benchmark, 15-51 % lower
        error at d = 8-64 and nine of ten d = 8 seeds below the published
        value, at no measurable cost (measured before early stopping kept
        the Gaussian start unless training improves on it; now most
        near-Gaussian fits return that start, which averaging does not
        change); on Mix3toMix10, whose long cosine
        schedules end at a learning rate near zero, no gain (d = 8 and 16
        unchanged, d = 2 slightly worse: 0.074 / 0.080 % to 0.076 /
        0.084 %; see the paragraph "Weight averaging" in the benchmarks'
        Gaussian section). Off by
        default. The average reaches back about ``1 / (1 − decay)`` steps;
        on short fits of a problem the Gaussian start does not already
        solve, keep that to about a tenth of ``max_iter`` (Mix3toMix10
        d = 8, 500 steps: 4.39 % forward without averaging, 21.4 % with
        ``0.999``, 4.40 % with ``1 − 10 / max_iter``; d = 128, 6,000 steps
        at ``learning_rate_init=1.5e-3, convexity_penalty=100``, still
        improving at the end: ``0.999`` took seed 0 from 3.16 /
        3.20 % to 5.28 / 3.35 %, ``1 − 10 / max_iter`` to 3.21 / 2.91 %).
    warm_start : bool, default=False
        When True and the estimator is fitted, ``fit`` continues training the
        fitted potential instead of a new one (scikit-learn's convention):
        its weights are the starting point (no Gaussian start), the
        standardisation of the first fit (``mean_source_``,
        ``mean_target_``, ``scale_``) is kept, and ``max_iter`` more steps
        run with a fresh optimizer and learning-rate schedule (lower
        ``learning_rate_init`` to fine-tune). ``n_iter_``, ``loss_curve_``,
        ``validation_scores_`` and the fixed-point records run on from the
        previous fit's. The network (``hidden_layer_sizes``, ``activation``,
        whether ``quadratic`` is ``"none"``) and the features (their number
        and names) must be the fitted ones, else ``fit`` raises a
        ``ValueError``. Use it to
        resume a fit stopped with Ctrl-C or to train longer, on the same
        data or data of the same location and scale: new data far from the
        first fit's means stays badly fitted, and ``fit`` warns when its map
        then looks broken.
    early_stopping : bool, default=True
        Hold out ``validation_fraction`` of X and of Y (at most 4096 rows each),
        evaluate the dual on them every ``eval_interval`` steps, and once it
        has not improved by ``tol`` for ``n_iter_no_change`` evaluations, go
        back to the weights of the best evaluation, decay the learning rate
        from there to zero along a cosine over the next
        ``max(eval_interval, 0.3 * max_iter)`` steps (fewer when ``max_iter``
        comes first) and stop. (Stopping at once, at a high learning rate,
        keeps the minibatch noise in the weights: on the d=2 Gaussian
        benchmark, seeds 0 and 1, the best evaluation's weights score
        0.009-0.013 / 0.016-0.057 % L2-UVP forward / inverse, the annealed
        ones 0.001-0.003 / 0.001-0.002 %.) The weights of the best
        evaluation replace the annealed ones only when the annealed held-out
        dual is worse by more than ``tol`` plus two standard errors of the
        per-row differences. The weights so kept are then compared with the
        starting ones (the Gaussian start, or the fitted ones with
        ``warm_start``) on the same rows, and unless they improve the
        held-out dual by more than ``tol``, the fit ends where it started
        (``kept_start_``): on samples close to Gaussian the start is the
        plug-in estimate, and there it was the better map in 31 of 33
        Gaussian benchmark runs at d=2-16 while the held-out duals could
        not tell the two apart (d=8, four seeds: 0.004-0.006 % L2-UVP
        forward against 0.011-0.014 % for the trained weights). When the
        trained weights are significantly worse (by ``tol`` plus two
        standard errors), a warning says so: the network overfitted a small
        sample (d=32 Gaussians with 1,000 rows per side: 7.8 / 12.8 % L2-UVP
        forward / inverse without this comparison, 1.7 / 1.7 % with it, the
        start's).
    validation_fraction : float, default=0.1
        Share of each sample held out when ``early_stopping`` is True.
    n_iter_no_change : int, default=10
        Patience of early stopping, in evaluations.
    tol : float, default=1e-4
        Smallest improvement of the held-out dual (in the standardised
        units of ``validation_scores_``) that counts for early stopping.
    eval_interval : int, default=100
        Optimizer steps between two evaluations (and log lines).
    device : str or torch.device, default="auto"
        Torch device of the training; ``"auto"`` picks CUDA when available
        (on a GPU raise ``batch_size``: at the default 256 a step is bound by
        kernel launches and was no faster than on the CPU, see the user
        guide). A device that torch does not know or that this machine cannot use
        raises a ``ValueError`` in ``fit``, before any training.
    n_jobs : int, default=None
        Threads that map row chunks in parallel in ``transform``,
        ``inverse_transform`` and ``score`` (``None`` means 1).
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the validation split and the minibatches.
        Training draws from generators of its own: torch's global random
        state and default dtype are never read or changed (not even for a
        moment, so other threads are unaffected), and NumPy's global
        generator is left alone for an int or a RandomState; ``None`` draws
        one seed from it (scikit-learn's convention). Fits running in
        threads (joblib's threading backend) give the same results as serial
        fits.
    verbose : int, default=0
        When positive, print a progress bar over each ``eval_interval``
        training steps and a log line per evaluation (skorch's table: its
        ``epoch`` column counts evaluation intervals, not passes over the
        data; ``train_loss`` and ``valid_loss`` are the negative dual, which
        training minimises, so ``valid_loss`` is ``-validation_scores_``).
    callbacks : list of skorch callbacks or None, default=None
        Extra :mod:`skorch.callbacks` (instances or subclasses of
        :class:`skorch.callbacks.Callback`, or ``(name, callback)`` pairs;
        anything else raises a :class:`ValueError` in ``fit``, as do the
        names of the built-in callbacks: ``"early_stopping"``,
        ``"lr_schedule"``, ``"monitor"``, ``"progress"`` and
        ``"weight_average"``, and of skorch's defaults, which stay:
        ``"epoch_timer"``, ``"train_loss"``, ``"valid_loss"`` and
        ``"print_log"``) run during
        training after the built-in ones, e.g. to log or evaluate the model
        every ``eval_interval`` steps. They receive the
        skorch net; ``net.module_`` is the potential in standardised units.
        skorch's ``LRScheduler`` is refused (the learning rate follows
        ``learning_rate_schedule``), as is ``BatchScoring`` (the batches are
        unpaired samples, not ``(X, y)``), and ``EpochScoring`` needs
        ``use_caching=False``, a callable ``scoring(net, X, y)`` and, as it
        scores the held-out rows, ``early_stopping=True`` (or
        ``on_train=True``, the training rows). The instances are used as
        given, not copied (as in skorch): what a callback records during
        ``fit`` can be read from it afterwards (:func:`sklearn.base.clone`
        copies them).

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained potential (on the CPU; it works in standardised units).
    mean_source_, mean_target_ : ndarray of shape (n_features,)
        Means of X and Y used to standardise (one row per class,
        ``(n_classes, n_features)``, in the class-conditional estimator).
    scale_ : float
        Common scale used to standardise X and Y.
    n_iter_ : int
        Optimizer steps run.
    loss_curve_ : list of float
        Negative dual on each training minibatch (biased low: the potential
        is fitted to the minibatches it is evaluated on).
    validation_scores_ : list of float or None
        Held-out dual after every evaluation interval; None without
        ``early_stopping``. It is in the network's standardised units (each
        sample centred on its mean, or its class means, and divided by
        ``scale_``), so it is not on the scale of :meth:`score`: for
        ``FixedPointOT`` it estimates ``(score − ½|mean_source_ −
        mean_target_|²) / scale_²``. With ``warm_start`` the earlier
        fits' scores come first, and stay when the continued fit runs
        without early stopping.
    start_validation_score_ : float or None
        Held-out dual of the weights this fit started from, in the units of
        ``validation_scores_`` (None without ``early_stopping``); the fit
        keeps them unless the trained weights improve on it by more than
        ``tol`` (see ``early_stopping``).
    kept_start_ : bool
        Whether the fitted weights are those training started from (the
        Gaussian start, or the previous fit's with ``warm_start``): early
        stopping's final comparison kept them, they replaced a trained map
        that looked broken, or (without early stopping) one whose dual on
        training rows was significantly below theirs.
    best_validation_score_ : float or None
        Best of ``validation_scores_``, in their units (with
        ``warm_start``, over the earlier fits' scores too). Unless the fit
        returns its start (``kept_start_``), this fit's best-scoring weights
        are kept when the last ones are significantly worse on the held-out
        rows (see ``early_stopping``); otherwise the last ones are.
    fixed_point_solver_ : str
        The iteration used by every solve (``fixed_point_solver`` with
        ``"auto"`` resolved).
    fixed_point_n_evals_ : ndarray of shape (n_iter_,)
        Mean evaluations of ∇φ per sample in the solves of every step (on
        ``second_start_every`` steps, both solves together).
    fixed_point_converged_ : ndarray of shape (n_iter_,)
        Share of samples that reached ``fixed_point_tol`` at every step.
    anchors_, anchor_images_ : Tensor of shape (n_anchors, n_features) or None
        The kept training rows of X and their images under the fitted map,
        in standardised units (``inverse_anchors``; None when 0).
    anchor_classes_ : None
        Always None here (the class code of every kept row in
        :class:`ClassConditionalFixedPointOT`).
    second_start_switches_ : int
        Training rows (over all steps) whose c-transform solution was
        replaced by a deeper one from the second start (``second_start_every``;
        0 when off). Many switches late in training mean ``ψ`` has spurious
        basins: consider ``convexity_penalty``.
    history_ : skorch.History
        The skorch training history (per evaluation interval).
    device_ : torch.device
        Device used for training.
    n_features_in_ : int
        Number of features.
    feature_names_in_ : ndarray of shape (n_features_in_,)
        Names of features seen during fit, when X has string column names.

    See Also
    --------
    ClassConditionalFixedPointOT : One map per class from a single potential.

    Notes
    -----
    With the quadratic cost ``c(x, y) = ½|x − y|²`` the dual reads
    ``½W₂²(μ, ν) = max_φ E_μ φ(X) + E_ν φ^c(Y)`` with the c-transform
    ``φ^c(y) = min_x ½|x − y|² − φ(x)``. Its minimiser solves the fixed-point
    equation ``x = y + ∇φ(x)``, found by a safeguarded, quasi-Newton
    accelerated proximal iteration. Danskin's envelope theorem gives
    ``∇_θ φ^c(y) = −∇_θ φ(x̂)`` at the solution ``x̂``, so training back-
    propagates through two evaluations of φ only. At the optimum
    ``½|x|² − φ`` is convex and Brenier's theorem makes ``T = ∇(½|·|² − φ)``
    the optimal map and ``S = T⁻¹``.

    The data are standardised internally (each sample centred, both scaled by
    one common factor); OT maps commute with these operations, so this changes
    nothing but the conditioning.

    ``fit`` takes two *unpaired* samples of possibly different lengths. A
    scikit-learn :class:`~sklearn.pipeline.Pipeline` passes ``y`` to every step
    and cross-validation slices it by the rows of ``X``, so in a Pipeline use a
    fitted map as a frozen step (:class:`~sklearn.frozen.FrozenEstimator`); for
    domain adaptation see :mod:`skfpot.skada`.

    References
    ----------
    .. [1] Park, Gelphman, Osher and Wu Fung, "Implicit Neural Optimal Transport
       via Fixed-Point Optimization", arXiv:2605.10792, 2026.
    .. [2] Brenier, "Polar factorization and monotone rearrangement of
       vector-valued functions", Comm. Pure Appl. Math., 1991.
    .. [3] Makkuva, Taghvaei, Oh and Lee, "Optimal transport mapping via input
       convex neural networks", ICML 2020.

    Examples
    --------
    >>> import numpy as np
    >>> from skfpot import FixedPointOT
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(500, 2))
    >>> Y = 2.0 * rng.normal(size=(400, 2)) + 3.0
    >>> ot = FixedPointOT(hidden_layer_sizes=(32,), max_iter=300,
    ...                   random_state=0).fit(X, Y)
    >>> Z = ot.transform(X)
    >>> Z.mean(axis=0).round(0), Z.std(axis=0).round(0)
    (array([3., 3.]), array([2., 2.]))
    >>> np.allclose(ot.inverse_transform(ot.transform(X[:3])), X[:3], atol=1e-3)
    True
    """

    @_atomic_fit
    def fit(self, X, Y):
        """Learn the transport map from the source sample X to the target Y.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source sample.
        Y : array-like of shape (m_samples, n_features)
            Target sample; unpaired with X, ``m_samples`` may differ.

        Returns
        -------
        self : FixedPointOT
            The fitted estimator.

        Raises
        ------
        ValueError
            On invalid parameters, on samples with NaN or infinite values,
            fewer than two rows or different numbers of features (or, for
            DataFrames, different column names), on a ``device`` that is not
            available, and with ``warm_start`` on data whose features differ
            from the first fit's.
        TrainingDivergedError
            When training diverged at its first step, so that not even the
            starting weights are worth keeping (a subclass of
            ``RuntimeError``; later divergence restores the last good
            weights, or the starting ones, with a ``ConvergenceWarning``
            instead).

        Warns
        -----
        ConvergenceWarning
            When fixed-point solves late in training miss
            ``fixed_point_tol``; when training diverged or collapsed and
            earlier weights were restored; when the fitted map looks
            broken (sending the source far beyond the target), in which
            case the starting weights are kept if their map is sane.
        UserWarning
            When early stopping keeps the starting weights because the
            trained ones were significantly worse on the held-out rows;
            when a sample (a class) has fewer than two training rows or
            only identical ones; when Ctrl-C interrupted training. Each
            message, its cause and its remedy: "Troubleshooting" in the
            user guide.
        """
        self._validate_params()
        X = validate_data(
            self,
            X,
            dtype=[np.float64, np.float32],
            ensure_min_samples=2,
            reset=not self._warm(),  # a warm start keeps the fitted features
        )
        Y = self._validate_target(Y)
        return self._fit(X, Y)

    def fit_transform(self, X, Y):
        """Fit, then map X to the target domain.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source sample.
        Y : array-like of shape (m_samples, n_features)
            Target sample.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            ``T(X)``.
        """
        return self.fit(X, Y).transform(X)

    def transform(self, X):
        """Map source points to the target domain, ``T(x) = x − ∇φ(x)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source points.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            Transported points, float32 for float32 input, else float64.
        """
        return self._forward(self._check_input(X))

    def inverse_transform(self, Y):
        """Map target points back to the source domain (the fixed point).

        Parameters
        ----------
        Y : array-like of shape (n_samples, n_features)
            Target points.

        Returns
        -------
        X_new : ndarray of shape (n_samples, n_features)
            ``S(y) = argmin_x ½|x − y|² − φ(x)``, float32 for float32 input,
            else float64.

        Warns
        -----
        ConvergenceWarning
            Names the share of samples whose solve did not converge.
        """
        return self._backward(self._check_input(Y, "Y"))[0]

    def score(self, X, Y):
        """Dual estimate of ½W₂²(μ, ν) on the samples X and Y.

        ``mean φ(X) + mean φ^c(Y)``. With held-out samples and converged
        solves it estimates ½W₂² from below (weak duality) up to the sampling
        noise of the samples; on the training samples it is biased upward.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Source sample.
        Y : array-like of shape (m_samples, n_features)
            Target sample.

        Returns
        -------
        score : float
            The dual estimate (greater is better).
        """
        return self._dual(self._check_input(X), self._check_input(Y, "Y"))

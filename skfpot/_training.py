"""Private skorch glue: unpaired minibatches and the envelope-gradient step.

Training length is counted in optimizer steps. skorch's "epoch" is used as an
*evaluation interval*: ``eval_interval`` optimizer steps on random unpaired
minibatches of X and Y, followed by one evaluation of the dual on held-out
samples (which drives early stopping and the printed log).
"""

from __future__ import annotations

import copy
import functools
import math
import re
import signal
import sys
import threading
from contextlib import contextmanager

import numpy as np
import torch
from skorch import NeuralNet
from skorch.callbacks import Callback, PrintLog
from torch import Tensor

from skfpot.core.fixed_point import FixedPointResult
from skfpot.core.losses import (
    backward_map,
    convexity_violation,
    dual_loss,
    dual_values,
    forward_map,
)

__all__ = [
    "Adam",
    "AnnealOnPlateau",
    "FixedPointNet",
    "LearningRateSchedule",
    "StandardisedRows",
    "TrainingDivergedError",
    "TrainingMonitor",
    "UnpairedBatches",
    "UnpairedData",
    "nearest_rows",
    "paired_difference",
    "significantly_worse",
    "valid_losses",
]


class StandardisedRows:
    """Rows ``(A[rows] − mean) / scale`` of a host array, made on demand.

    ``A`` is the caller's array (never copied); ``rows`` the order in which its
    rows are used; ``means`` one row of means, or one per class with
    ``classes`` the class code of every row of ``A``. Indexing with positions
    (an integer tensor or array, or a slice) returns those standardised rows as
    a float32 tensor on ``device``: training touches one minibatch at a time,
    so it holds no copy of the data. :meth:`subset` returns a lazy view.
    """

    def __init__(self, array, rows, means, scale, device, classes=None):
        self.array, self.rows, self.means = array, rows, means
        self.scale, self.device, self.classes = scale, device, classes
        self.shape = (len(rows), array.shape[1])

    def __len__(self) -> int:
        return len(self.rows)

    def subset(self, ix) -> StandardisedRows:
        """The rows at positions ``ix``, still lazy."""
        return StandardisedRows(
            self.array, self.rows[ix], self.means, self.scale, self.device, self.classes
        )

    def __getitem__(self, ix) -> Tensor:
        if isinstance(ix, Tensor):
            ix = ix.cpu().numpy()
        rows = self.rows[ix]
        mean = self.means if self.classes is None else self.means[self.classes[rows]]
        z = (self.array[rows] - mean) / self.scale
        return torch.as_tensor(z, dtype=torch.float32, device=self.device)


def _subset(t, i):
    if t is None:
        return None
    return t.subset(i) if isinstance(t, StandardisedRows) else t[i]


class UnpairedData(torch.utils.data.Dataset):
    """Two samples of different lengths (and optional class labels and
    per-sample weights). Never indexed per item: batches are sliced.

    ``x`` and ``y`` are tensors or :class:`StandardisedRows`.
    """

    def __init__(
        self, x, y, x_classes=None, y_classes=None, x_weight=None, y_weight=None
    ):
        self.x, self.y = x, y
        self.x_classes, self.y_classes = x_classes, y_classes
        self.x_weight, self.y_weight = x_weight, y_weight

    def __len__(self) -> int:
        return max(len(self.x), len(self.y))

    def __getitem__(self, i):  # pragma: no cover - batches are sliced instead
        raise TypeError("UnpairedData is sliced in batches, not indexed")

    @property
    def device(self) -> torch.device:
        return self.x.device

    def batch_subset(self, ix, iy) -> UnpairedData:
        """A new dataset of the rows ``ix`` of X and ``iy`` of Y (lazy rows
        stay lazy)."""
        return UnpairedData(
            _subset(self.x, ix),
            _subset(self.y, iy),
            _subset(self.x_classes, ix),
            _subset(self.y_classes, iy),
            _subset(self.x_weight, ix),
            _subset(self.y_weight, iy),
        )

    def batch(self, ix, iy) -> tuple:
        """The minibatch of rows ``ix`` of X and rows ``iy`` of Y (tensors)."""

        def take(t, i):
            return None if t is None else t[i]

        return (
            self.x[ix],
            self.y[iy],
            take(self.x_classes, ix),
            take(self.y_classes, iy),
            take(self.x_weight, ix),
            take(self.y_weight, iy),
        )


class UnpairedBatches:
    """Iterator over random unpaired minibatches.

    One ``UnpairedBatches`` lives for one call of ``fit``: each pass yields
    ``steps_per_pass`` batches until ``max_steps`` batches were drawn in total.
    X and Y rows are drawn without replacement within a sweep of each sample
    (independent shuffles, so pairs never repeat systematically).
    """

    def __init__(
        self,
        dataset: UnpairedData,
        batch_size: int,
        *,
        steps_per_pass: int,
        max_steps: int,
        seed: int,
    ):
        self.dataset = dataset
        self.batch_size = batch_size
        self.steps_per_pass = steps_per_pass
        self.remaining = max_steps
        device = dataset.device
        self._gen = torch.Generator(device="cpu").manual_seed(seed)
        self._device = device
        self._streams = {}

    def _next_rows(self, key: str, n: int) -> torch.Tensor:
        b = min(self.batch_size, n)
        perm, pos = self._streams.get(key, (None, n))
        if pos + b > n:
            dtype = torch.int32 if n < 2**31 else torch.long
            perm = torch.randperm(n, generator=self._gen, dtype=dtype, device="cpu")
            pos = 0
        self._streams[key] = (perm, pos + b)
        return perm[pos : pos + b].to(self._device)

    def __iter__(self):
        n_steps = min(self.steps_per_pass, self.remaining)
        for _ in range(n_steps):
            self.remaining -= 1
            ix = self._next_rows("x", len(self.dataset.x))
            iy = self._next_rows("y", len(self.dataset.y))
            yield (*self.dataset.batch(ix, iy), iy)

    def __len__(self) -> int:
        return min(self.steps_per_pass, self.remaining)


class ValidationBatches:
    """The held-out samples as a single batch."""

    def __init__(self, dataset: UnpairedData, batch_size=None):
        self.dataset = dataset

    def __iter__(self):
        ds = self.dataset
        yield (*ds.batch(slice(None), slice(None)), None)


class LearningRateSchedule(Callback):
    """Per-step learning rate: constant or cosine decay to zero over
    ``max_steps``, and, once :meth:`anneal` is called, a cosine decay from the
    current rate to zero over the given number of steps."""

    def __init__(self, base: float, max_steps: int, kind: str = "cosine"):
        self.base = base
        self.max_steps = max_steps
        self.kind = kind

    def initialize(self):
        self.step_ = 0
        self.anneal_ = None  # (first step, starting rate, length)
        return self

    def rate(self, step: int) -> float:
        if self.anneal_ is not None:
            start, lr0, length = self.anneal_
            t = min((step - start) / length, 1.0)
            return lr0 * 0.5 * (1.0 + math.cos(math.pi * t))
        if self.kind == "cosine":
            t = min(step / self.max_steps, 1.0)
            return self.base * 0.5 * (1.0 + math.cos(math.pi * t))
        return self.base

    def anneal(self, length: int) -> None:
        """Decay from the current rate to zero over the next ``length`` steps."""
        self.anneal_ = (self.step_, self.rate(self.step_), max(int(length), 1))

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        lr = self.rate(self.step_)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        self.step_ += 1


_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;]*m")


def _colour_terminal() -> bool:
    """Whether standard output shows ANSI colours: a terminal, or a Jupyter
    or IPython kernel (whose output is not a terminal but renders them)."""
    isatty = getattr(sys.stdout, "isatty", None)
    return bool(isatty and isatty()) or "ipykernel" in sys.modules


class PlainPrintLog(PrintLog):
    """skorch's log table, without its colour codes when the output goes to
    a file or a pipe (where they would appear as ``\x1b[32m`` garbage)."""

    def format_row(self, row, key, color):
        text = super().format_row(row, key, color)
        if isinstance(text, str) and self.sink is print and not _colour_terminal():
            text = _ANSI_ESCAPE.sub("", text)
        return text


@contextmanager
def _recording_sigint(net):
    """Let the previous SIGINT (Ctrl-C) handler act as before (by default:
    raise ``KeyboardInterrupt``) and set ``net.interrupted_`` when it raises
    ``KeyboardInterrupt`` (a handler of the caller's that does not raise
    leaves training running). Signals reach the main thread only; elsewhere,
    or when SIGINT is ignored, nothing is installed."""
    net.interrupted_ = False
    previous = signal.getsignal(signal.SIGINT)
    if threading.current_thread() is not threading.main_thread() or not callable(
        previous
    ):
        yield
        return

    def handler(signum, frame):
        try:
            previous(signum, frame)
        except KeyboardInterrupt:
            net.interrupted_ = True
            raise

    signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def valid_losses(history) -> list[float]:
    """The held-out losses logged so far (none before the first evaluation)."""
    return [row["valid_loss"] for row in history if row.get("valid_loss") is not None]


class AnnealOnPlateau(Callback):
    """Early stopping that ends with a short learning-rate annealing.

    The weights with the best held-out dual (``valid_loss``, minimised) are
    kept. When it has not improved by ``threshold`` for ``patience``
    evaluations, training goes back to the best weights, decays the learning
    rate from its current value to zero along a cosine over the next
    ``anneal_steps`` optimizer steps and stops; if the annealed weights are
    then worse than the best by more than ``threshold`` (also at the end of a
    run without plateau), the best weights are restored. With
    ``compare_always`` the paired comparison below runs at the end whatever
    the last evaluation scored (for final weights that a callback before
    this one, :class:`WeightAverage`, has replaced after that evaluation).

    Finally the kept weights are compared with those training started from
    (the Gaussian start, or the fitted ones with ``warm_start``) on the
    same rows, and replaced by them unless their held-out dual is better by
    more than ``threshold``: training has to improve on the start by the
    margin that counts as an improvement, as the starting weights are the
    simpler model. On samples close to Gaussian the start (the plug-in
    estimate) was the more accurate map in 31 of 33 Gaussian benchmark
    runs at d=2-16, while the held-out duals could not tell the two apart
    (d=8, seeds 10, 13, 17, 19: 0.004-0.006 % L2-UVP forward at the start,
    0.011-0.014 % after training, paired differences within 2.2 standard
    errors either way); when the network does better, its held-out dual
    says so (a monotone non-linear map in d=4: 0.09 % against the start's
    0.55 %, 4.4 standard errors). ``start_worse_`` records whether the
    kept weights were worse by more than ``threshold`` plus ``z`` standard
    errors, as when a large network overfits a small sample (d=32
    Gaussians, 1,000 rows per side: 7.8 % L2-UVP after training, 1.7 % at
    the start). When they are worse by more than ``start_margin`` (a
    quarter of the problem's scale, no standard errors needed), training
    collapsed (``restored_start_`` holds both duals then).

    Why both: stopping at once at a high learning rate keeps the minibatch
    noise in the weights, which dominates the error of accurate maps (d=2
    Gaussian benchmark, seeds 0 and 1: 0.020-0.025 / 0.039-0.049 % L2-UVP
    forward / inverse at the best evaluation, 0.0006-0.0037 / 0.0008-0.0032 %
    after annealing; ``benchmarks/early_stopping_ending.py``), while
    training on past the best evaluation fits the finite sample
    (class-conditional Gaussians with 6,000 rows per class: 0.1-0.25 % at
    the best evaluation, 0.5-0.9 % when annealing from the last weights).

    "Worse" is a paired comparison on the held-out rows ``valid``: the last
    weights are replaced by the best ones only when their held-out dual is
    higher by more than ``threshold`` plus ``z`` standard errors of the
    per-row differences. The best score is the minimum of many noisy
    evaluations and is biased low; on accurate maps the differences between
    evaluations are sampling noise of the held-out rows, not quality (d=8
    Gaussian benchmark, seed 2: annealed weights 0.013 % L2-UVP, the best
    evaluation's 0.054 %, held-out duals 8.5e-4 apart).
    """

    def __init__(
        self,
        schedule,
        *,
        patience,
        threshold,
        anneal_steps,
        valid,
        z=2.0,
        compare_always=False,
        start_margin=math.inf,
        sink=print,
    ):
        self.schedule = schedule
        self.patience = patience
        self.threshold = threshold
        self.anneal_steps = anneal_steps
        self.valid = valid
        self.z = z
        self.compare_always = compare_always
        self.start_margin = start_margin
        self.sink = sink

    def initialize(self):
        self.best_ = math.inf
        self.best_state_ = None
        self.start_state_ = self.start_values_ = self.start_score_ = None
        self.kept_start_ = self.start_worse_ = False
        self.reference_ = math.inf
        self.wait_ = 0
        self.annealing_from_ = None
        self.pending_message_ = None
        return self

    def on_train_begin(self, net, **kwargs):
        # the weights training starts from, for the final comparison
        self.start_state_ = copy.deepcopy(net.module_.state_dict())
        self.start_values_ = net.held_out_dual_values(self.valid)
        self.start_score_ = -_dual(self.start_values_)  # as a valid_loss

    def on_epoch_end(self, net, **kwargs):
        batches = net.train_iterator_
        score = net.history[-1, "valid_loss"]
        if score < self.best_:
            self.best_ = score
            self.best_state_ = copy.deepcopy(net.module_.state_dict())
        if self.annealing_from_ is not None:
            if batches.remaining == 0:
                # a callback ends skorch's loop by raising, which skips the
                # callbacks after this one (the user's, the log printer):
                # let them see this last evaluation first
                self._notify_later_callbacks(net, **kwargs)
                raise KeyboardInterrupt
            return
        if score < self.reference_ - self.threshold:
            self.reference_, self.wait_ = score, 0
            return
        self.wait_ += 1
        if self.wait_ < self.patience or batches.remaining == 0:
            return
        length = min(self.anneal_steps, batches.remaining)
        self.annealing_from_ = self.schedule.step_
        net.module_.load_state_dict(self.best_state_)
        self.schedule.anneal(length)
        batches.remaining = length
        if self.sink is not None and net.verbose:  # after this evaluation's row
            self.pending_message_ = (
                f"Validation dual without improvement for {self.patience} "
                f"evaluations at step {self.schedule.step_}: back to the best "
                f"weights, annealing the learning rate to zero over the last "
                f"{length} steps."
            )

    def on_epoch_begin(self, net, **kwargs):
        if self.pending_message_ is not None:
            self.sink(self.pending_message_)
            self.pending_message_ = None

    def _notify_later_callbacks(self, net, **kwargs):
        mine = next(i for i, (_, cb) in enumerate(net.callbacks_) if cb is self)
        for _, callback in net.callbacks_[mine + 1 :]:
            callback.on_epoch_end(net, **kwargs)  # PrintLog heeds net.verbose

    def on_train_end(self, net, **kwargs):
        kept = self._keep_best_or_last(net)
        self._check_against_start(net, kept)

    def _check_against_start(self, net, kept=None):
        """Go back to the start unless the kept weights improved its held-out
        dual by more than ``threshold``. Record whether they were
        significantly worse (by more than ``threshold`` plus ``z`` standard
        errors of the paired differences) and a collapse (a learning rate
        far too large) when worse by more than ``start_margin`` (the
        estimator passes a quarter of the data's ½E|X − Y|², the scale of
        the problem, not of the dual, which is near 0 for nearby samples).
        ``kept``: the kept weights' held-out values when already
        computed."""
        self.kept_start_ = self.start_worse_ = False
        self.restored_start_ = None  # or the held-out duals (start, kept)
        if self.start_values_ is None or not valid_losses(net.history):
            return
        if kept is None:
            kept = net.held_out_dual_values(self.valid)
        start = self.start_values_
        worse, se = paired_difference(kept, start)  # > 0: the start scores better
        if worse < -self.threshold:
            return  # training improved the held-out dual by more than threshold
        net.module_.load_state_dict(self.start_state_)
        self.kept_start_ = True
        self.start_worse_ = worse > self.threshold + self.z * se
        # one held-out row on a side (se = inf) cannot tell a collapse from noise
        if worse > self.start_margin + self.threshold and math.isfinite(se):
            self.restored_start_ = (_dual(start), _dual(kept))
        if self.sink is not None and net.verbose:
            self.sink(
                "Kept the starting weights: training did not improve their "
                "held-out dual by tol (paired comparison)."
            )

    def _keep_best_or_last(self, net):
        """Keep the last or the best weights; return the kept weights'
        held-out values when the comparison computed them, else None."""
        valid = valid_losses(net.history)
        self.restored_best_ = False
        if self.best_state_ is None:
            return None
        # the last evaluation scored the final weights unless another
        # callback (WeightAverage) has replaced them since, or Ctrl-C ended
        # training between evaluations: then compare
        unscored = self.compare_always or getattr(net, "interrupted_", False)
        if not unscored and valid[-1] <= self.best_ + self.threshold:
            return None
        last_state = copy.deepcopy(net.module_.state_dict())
        last = net.held_out_dual_values(self.valid)
        net.module_.load_state_dict(self.best_state_)
        best = net.held_out_dual_values(self.valid)
        self.restored_best_ = significantly_worse(
            last, best, threshold=self.threshold, z=self.z
        )
        if not self.restored_best_:
            net.module_.load_state_dict(last_state)
        if self.sink is not None and net.verbose:
            which = "best" if self.restored_best_ else "last"
            self.sink(f"Kept the {which} weights (paired held-out comparison).")
        return best if self.restored_best_ else last


class WeightAverage(Callback):
    """Exponential moving average of the potential's weights over the
    training steps; at the end of training the module holds the average.

    ``average ← decay · average + (1 − decay) · weights`` after every
    optimizer step, starting from the weights after the first step; buffers
    that are not floating point are copied. A plateau's return to the best
    weights (:class:`AnnealOnPlateau`) is averaged in like any step. Place it
    before the early-stopping callback, whose final paired comparison then
    judges the average against the best evaluated weights.
    """

    def __init__(self, decay: float):
        self.decay = decay

    def initialize(self):
        self.average_ = None
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        with torch.no_grad():
            if self.average_ is None:
                # the state dict's tensors alias the module's (loading a state,
                # as a plateau does, copies into them), so the (average, live)
                # pairs are built once, not on every training step
                state = net.module_.state_dict()
                self.average_ = {k: v.detach().clone() for k, v in state.items()}
                pairs = [(self.average_[k], v) for k, v in state.items()]
                self._floats = [(a, v) for a, v in pairs if v.is_floating_point()]
                self._others = [(a, v) for a, v in pairs if not v.is_floating_point()]
                return
            for average, value in self._floats:
                average.lerp_(value, 1.0 - self.decay)
            for average, value in self._others:
                average.copy_(value)

    def on_train_end(self, net, **kwargs):
        if self.average_ is not None:
            net.module_.load_state_dict(self.average_)


def _dual(values) -> float:
    """The held-out dual of :meth:`FixedPointNet.held_out_dual_values`."""
    return -sum(float((v * w).sum()) for v, w in values)


def paired_difference(last, best) -> tuple[float, float]:
    """How much higher a negative dual is under ``last`` than under ``best``,
    paired over the same rows, and the standard error of that difference.

    ``last`` and ``best`` are sequences of ``(values, weights)`` pairs, one per
    sample (the X and the Y side), the values being the per-row *negative*
    dual terms and the weights summing to one on each side.

    Each side's variance is the weighted one, ``Σ w²(δ − mean)²``, corrected
    for its degrees of freedom by ``n / (n − 1)`` with ``n = 1 / Σ w²`` (the
    number of rows for equal weights, Kish's effective one otherwise). A side
    of one row gives no estimate: the standard error is then infinite, and
    nothing is significant (a single held-out row has no spread, and its 0
    made noise look significant).
    """
    diff = var = 0.0
    for (v_last, w), (v_best, _) in zip(last, best, strict=True):
        delta = (v_last - v_best).double()
        w = w.double()
        mean = float((w * delta).sum())
        diff += mean
        n = 1.0 / float((w * w).sum())
        if n < 1.0 + 1e-9:  # one row (or all weight on one)
            var = math.inf
        else:
            var += float((w * w * (delta - mean) ** 2).sum()) * n / (n - 1.0)
    return diff, math.sqrt(var)


def significantly_worse(last, best, *, threshold: float, z: float) -> bool:
    """Whether a negative dual is higher under ``last`` than under ``best`` by
    more than ``threshold + z`` standard errors (:func:`paired_difference`)."""
    diff, se = paired_difference(last, best)
    return diff > threshold + z * se


class TrainingDivergedError(RuntimeError):
    """Raised by ``fit`` when training diverged before any good weights existed.

    The training dual became non-finite, exceeded its upper bound or
    collapsed far below zero at the first step, which judges the weights
    training started from; later divergence restores the last good weights
    (those of the last sane evaluation interval, or else the starting ones)
    with a ``ConvergenceWarning`` instead.

    Parameters
    ----------
    message : str
        What happened, with the remedy.
    step : int
        The optimizer step at which it happened.

    Attributes
    ----------
    step : int
        The optimizer step at which training diverged.

    Examples
    --------
    >>> from skfpot import TrainingDivergedError
    >>> err = TrainingDivergedError("training diverged at optimizer step 3", 3)
    >>> isinstance(err, RuntimeError), err.step
    (True, 3)
    """

    def __init__(self, message: str, step: int):
        super().__init__(message)
        self.step = step


class TrainingMonitor(Callback):
    """Fixed-point diagnostics, divergence detection and a last-good snapshot
    (the weights at the end of an evaluation interval, once the next step's
    loss, which they produced, is sane).

    ``bound`` is an upper bound on the dual (½E|X − Y|² under the independent
    coupling, from the data): an exact c-transform can never exceed it, so a
    batch dual above ``10 × bound`` means the solver is being exploited. The
    zero potential's dual is 0 and the optimum's is ½W₂² ≥ 0, so a median
    batch dual over an evaluation interval more than ``10 × bound`` below
    both 0 and the first step's means the potential has collapsed (steps far
    too large); single batches may dip that low and recover on degenerate
    samples (a nearly constant Y), and on those the start's dual can be far
    below 0 already.
    """

    def __init__(self, bound: float):
        self.bound = bound

    def on_train_begin(self, net, **kwargs):
        self.step_ = 0
        self.last_good_ = None
        self.last_good_step_ = None
        self.pending_ = self.previous_good_ = None
        self.evals_ = []
        self.converged_ = []
        self.losses_ = []

    def on_epoch_begin(self, net, **kwargs):
        self.epoch_start_ = len(self.losses_)

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        self.step_ += 1
        loss = kwargs["loss"].item()
        info = kwargs["y_pred"]
        self.losses_.append(loss)
        self.evals_.append(info.n_evals.float().mean().item())
        self.converged_.append(info.converged.float().mean().item())
        if not math.isfinite(loss) or -loss > 10.0 * self.bound:
            raise TrainingDivergedError(
                f"training diverged at optimizer step {self.step_}: the dual "
                f"objective reached {-loss:.4g} (an exact c-transform keeps it "
                f"below {self.bound:.4g})",
                self.step_,
            )
        # a step's loss judges the weights it started from: the snapshot
        # taken before this step is good only now
        if self.pending_ is not None:
            self.previous_good_ = (self.last_good_, self.last_good_step_)
            self.last_good_, self.last_good_step_ = self.pending_
            self.pending_ = None

    def on_epoch_end(self, net, **kwargs):
        h = net.history
        recent = slice(self.epoch_start_, None)
        h.record("fp_evals", float(np.mean(self.evals_[recent])))
        h.record("fp_converged", float(np.mean(self.converged_[recent])))
        duals = [-v for v in self.losses_[recent]]
        typical = float(np.median(duals)) if duals else 0.0
        first = -self.losses_[0] if self.losses_ else 0.0
        floor = min(first, 0.0) - 10.0 * self.bound
        if typical < floor:  # the median: a passing dip is no collapse
            # this interval's losses judged the weights it started from, the
            # snapshot promoted at its first step: fall back to the one before
            if self.previous_good_ is not None:
                self.last_good_, self.last_good_step_ = self.previous_good_
            raise TrainingDivergedError(
                f"training diverged by optimizer step {self.step_}: the median "
                f"dual objective of the last {len(duals)} steps fell to "
                f"{typical:.4g}, from {first:.4g} at the first step (the zero "
                f"potential's is 0, an optimal one's ½W₂² ≥ 0, the data's "
                f"½E|X − Y|² {self.bound:.4g})",
                self.step_,
            )
        if all(math.isfinite(v) for v in self.losses_[recent]):
            self.pending_ = (copy.deepcopy(net.module_.state_dict()), self.step_)


#: Storage type of the warm-start cache: a starting point needs no more than
#: half precision (its rounding, ~5e-4 relative, is far below the change of a
#: solution between two visits of a row), and it halves the cache's memory.
WARM_START_DTYPE = torch.float16


@functools.lru_cache(maxsize=8)
def _upper_triangle(d: int, device) -> Tensor:
    """Row and column indices of a ``d × d`` upper triangle (made once per
    size and device: the training step packs and unpacks every step)."""
    return torch.triu_indices(d, d, device=device)


def pack_symmetric(h: Tensor) -> Tensor:
    """The upper triangles of the symmetric matrices ``h`` (n, d, d), row by
    row: ``(n, d (d + 1) / 2)``, about half the memory of ``h``."""
    rows, cols = _upper_triangle(h.shape[-1], h.device)
    return h[:, rows, cols]


def unpack_symmetric(packed: Tensor, d: int) -> Tensor:
    """The symmetric ``(n, d, d)`` matrices whose upper triangles
    :func:`pack_symmetric` returned."""
    rows, cols = _upper_triangle(d, packed.device)
    h = packed.new_empty(len(packed), d, d)
    h[:, rows, cols] = packed
    h[:, cols, rows] = packed
    return h


def nearest_rows(y, images, y_classes=None, image_classes=None, chunk=1024):
    """For every row of ``y``, the index of the nearest row of ``images``
    (within its class when both class arrays are given) and whether its class
    has any row there; ``y`` is compared in chunks of ``chunk`` rows."""
    index = torch.empty(len(y), dtype=torch.long, device=y.device)
    found = torch.empty(len(y), dtype=torch.bool, device=y.device)
    for i in range(0, len(y), chunk):
        dist = torch.cdist(y[i : i + chunk], images)
        if y_classes is not None and image_classes is not None:
            other = y_classes[i : i + chunk, None] != image_classes[None, :]
            dist = dist.masked_fill(other, math.inf)
        best = dist.argmin(1)
        index[i : i + chunk] = best
        found[i : i + chunk] = torch.isfinite(dist.gather(1, best[:, None]))[:, 0]
    return index, found


#: ``torch.optim.Adam``'s other options at the values :class:`Adam` computes
_ADAM_FIXED_OPTIONS = {
    "weight_decay": 0,
    "amsgrad": False,
    "maximize": False,
    "foreach": None,
    "capturable": False,
    "differentiable": False,
    "fused": None,
    "decoupled_weight_decay": False,
}


class Adam:
    """Adam (Kingma and Ba, 2015) exactly as ``torch.optim.Adam`` computes it
    with its defaults on the CPU (one tensor at a time; bit for bit), without
    ``torch.optim``'s machinery: every ``torch.optim.Optimizer`` imports
    ``torch._dynamo``, and with it sympy, on first use (about 70 MiB of
    memory and a second per process, measured), which training never needs.

    ``param_groups`` (``"params"``, ``"lr"``, ``"betas"``, ``"eps"``) read
    as in torch, and :meth:`state_dict` / :meth:`load_state_dict` use
    torch's format (skorch's ``Checkpoint`` saves it; a state of
    ``torch.optim.Adam`` loads, and the other way round).
    :class:`FixedPointNet` registers it with skorch.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8):
        groups = list(params)
        if groups and not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        self.defaults = {"lr": lr, "betas": betas, "eps": eps}
        self.param_groups = [
            {**self.defaults, **group, "params": list(group["params"])}
            for group in groups
        ]
        self.state = {}

    def _params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def zero_grad(self, set_to_none=True):
        for p in self._params():
            if set_to_none:
                p.grad = None
            elif p.grad is not None:
                p.grad.zero_()

    def state_dict(self) -> dict:
        """The state in ``torch.optim.Adam``'s format (parameters as
        positions, ``step`` as a float32 tensor)."""
        position = {id(p): i for i, p in enumerate(self._params())}
        groups, i = [], 0
        for group in self.param_groups:
            n = len(group["params"])
            groups.append(
                {**group, **_ADAM_FIXED_OPTIONS, "params": list(range(i, i + n))}
            )
            i += n
        state = {
            position[id(p)]: {
                "step": torch.tensor(float(st["step"])),
                "exp_avg": st["exp_avg"],
                "exp_avg_sq": st["exp_avg_sq"],
            }
            for p, st in self.state.items()
        }
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Load a state of :meth:`state_dict`'s format (also
        ``torch.optim.Adam``'s, whose other options must be their defaults)."""
        saved = state_dict["param_groups"]
        if [len(g["params"]) for g in saved] != [
            len(g["params"]) for g in self.param_groups
        ]:
            raise ValueError("the state's parameter groups do not match")
        for group in saved:
            for key in ("weight_decay", "amsgrad", "maximize"):
                if group.get(key, _ADAM_FIXED_OPTIONS[key]) != _ADAM_FIXED_OPTIONS[key]:
                    raise ValueError(
                        f"an Adam state with {key}={group[key]!r} cannot be "
                        "continued here (only torch's defaults are computed)"
                    )
        for group, old in zip(self.param_groups, saved, strict=True):
            group.update(
                {k: old[k] for k in ("lr", "betas", "eps") if k in old},
            )
        params = self._params()
        self.state = {
            params[int(i)]: {
                "step": int(st["step"]),
                "exp_avg": st["exp_avg"].to(params[int(i)]).clone(),
                "exp_avg_sq": st["exp_avg_sq"].to(params[int(i)]).clone(),
            }
            for i, st in state_dict["state"].items()
        }

    def step(self, closure=None):
        """One Adam step; ``closure`` (skorch's) computes the gradients."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        with torch.no_grad():
            for group in self.param_groups:
                lr, eps = group["lr"], group["eps"]
                beta1, beta2 = group["betas"]
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.get(p)
                    if state is None:
                        state = self.state[p] = {
                            "step": 0,
                            "exp_avg": torch.zeros_like(p),
                            "exp_avg_sq": torch.zeros_like(p),
                        }
                    state["step"] += 1
                    step, grad = state["step"], p.grad
                    exp_avg, exp_avg_sq = state["exp_avg"], state["exp_avg_sq"]
                    exp_avg.lerp_(grad, 1 - beta1)
                    exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
                    step_size = lr / (1 - beta1**step)
                    bias_correction2_sqrt = (1 - beta2**step) ** 0.5
                    denom = (exp_avg_sq.sqrt() / bias_correction2_sqrt).add_(eps)
                    p.addcdiv_(exp_avg, denom, value=-step_size)
        return loss


class FixedPointNet(NeuralNet):
    """skorch net whose step is the envelope-gradient dual step.

    ``solver_options`` are passed to :func:`skfpot.core.backward_map`.
    """

    def __init__(
        self,
        module,
        *args,
        solver_options=None,
        warm_start_rows=0,
        convexity_penalty=0.0,
        convexity_penalty_rows=64,
        second_start_every=0,
        **kwargs,
    ):
        self.solver_options = solver_options or {}
        self.warm_start_rows = warm_start_rows
        self.convexity_penalty = convexity_penalty
        self.convexity_penalty_rows = convexity_penalty_rows
        self.second_start_every = second_start_every
        super().__init__(module, *args, **kwargs)

    @property
    def _default_callbacks(self):
        return [
            (name, PlainPrintLog() if name == "print_log" else callback)
            for name, callback in super()._default_callbacks
        ]

    def initialize_optimizer(self, *args, **kwargs):
        """skorch's, then register an :class:`Adam` with skorch as it
        registers ``torch.optim`` optimizers (for stepping and ``lr``)."""
        super().initialize_optimizer(*args, **kwargs)
        if "optimizer" not in self._optimizers:
            self._register_attribute("optimizer", self.optimizer_)
        return self

    def partial_fit(self, X, y=None, classes=None, **fit_params):
        """skorch's ``partial_fit``, which ends training on any
        ``KeyboardInterrupt`` and keeps the weights; ``interrupted_`` records
        whether the user's Ctrl-C (SIGINT) ended it, rather than a callback's
        planned end (ours, or skorch's ``EarlyStopping``, raise one too)."""
        with _recording_sigint(self):
            return super().partial_fit(X, y, classes=classes, **fit_params)

    def get_iterator(self, dataset, training=False):
        iterator = super().get_iterator(dataset, training=training)
        if training:  # the early-stopping callback shortens it
            self.train_iterator_ = iterator
        return iterator

    def _warm_cache(self, name: str, shape: tuple, device) -> Tensor:
        """A per-training-row cache of ``shape``, NaN (not yet visited)."""
        cache = getattr(self, name, None)
        if cache is None:
            cache = torch.full(
                (self.warm_start_rows, *shape),
                math.nan,
                dtype=WARM_START_DTYPE,
                device=device,
            )
            setattr(self, name, cache)
        return cache

    def _solve_and_loss(self, batch):
        x, y, xc, yc, xw, yw, iy = batch
        options = dict(self.solver_options)
        warm = bool(self.warm_start_rows) and iy is not None
        dense = options.get("method") == "bfgs"
        x0 = None
        if warm:
            # rows not yet visited (NaN) start from the affine inverse
            cache = self._warm_cache("warm_start_cache_", y.shape[1:], y.device)
            x0 = cache.index_select(0, iy).to(y.dtype)
            if dense:  # and from the preconditioner as curvature estimate
                d = y.shape[1]
                h_cache = self._warm_cache(
                    "warm_start_hessian_", (d * (d + 1) // 2,), y.device
                )
                options["inverse_hessian"] = unpack_symmetric(
                    h_cache.index_select(0, iy).to(y.dtype), d
                )
        result = backward_map(self.module_, y, yc, x0=x0, **options)
        if torch.is_grad_enabled() and self._second_start_due():
            result = self._second_start(x, y, xc, yc, result)
        x_hat, h_hat = result.x, result.inverse_hessian
        if warm:
            cache[iy] = x_hat.detach().to(cache.dtype)
            if dense:
                h_cache[iy] = pack_symmetric(h_hat.to(h_cache.dtype))
        loss = dual_loss(
            self.module_,
            x,
            y,
            x_hat,
            x_classes=xc,
            y_classes=yc,
            x_weight=xw,
            y_weight=yw,
        )
        return loss, result

    def _second_start_due(self) -> bool:
        """Whether this training step solves twice (every
        ``second_start_every``-th step, the first included)."""
        if not self.second_start_every:
            return False
        step = getattr(self, "train_steps_", 0)
        self.train_steps_ = step + 1
        return step % self.second_start_every == 0

    def _second_start(self, x, y, xc, yc, result):
        """Solve the batch's c-transforms again from the source row of the
        batch (of the same class) whose current forward image is nearest to
        each target row; per row, the lower inner objective wins.

        The envelope gradient is exact only at the global minimiser: a
        single warm-started solve stays in its basin, so a deeper basin that
        appears elsewhere during training is never seen, and never corrected,
        by the dual. Returns a :class:`FixedPointResult` holding, per row, the
        kept solution (point, value, residual, convergence and ``"bfgs"``
        curvature) and the iterations and evaluations of both solves together;
        counts the rows that switched in ``second_start_switches_``.
        """
        with torch.no_grad():
            images = forward_map(self.module_, x, xc)
            nearest, has_start = nearest_rows(y, images, yc, xc)
        # a cold solve (no carried curvature) from the new start
        second = backward_map(self.module_, y, yc, x0=x[nearest], **self.solver_options)
        # a margin keeps rows that found the same basin on their warm curvature
        take = has_start & second.converged & (second.value < result.value - 1e-6)
        # a tensor sum: no device synchronisation in the training step
        self.second_start_switches_ = (
            getattr(self, "second_start_switches_", 0) + take.sum()
        )
        h_hat = result.inverse_hessian
        if h_hat is not None:
            h_hat = torch.where(take[:, None, None], second.inverse_hessian, h_hat)
        return FixedPointResult(
            x=torch.where(take[:, None], second.x, result.x),
            value=torch.where(take, second.value, result.value),
            residual=torch.where(take, second.residual, result.residual),
            n_iter=result.n_iter + second.n_iter,
            n_evals=result.n_evals + second.n_evals,
            converged=torch.where(take, second.converged, result.converged),
            inverse_hessian=h_hat,
        )

    def train_step_single(self, batch, **fit_params):
        self._set_training(True)
        loss, result = self._solve_and_loss(batch)
        objective = loss
        if self.convexity_penalty:
            x, _, xc, *_ = batch
            rows = slice(0, self.convexity_penalty_rows)  # batches are shuffled
            objective = loss + self.convexity_penalty * convexity_violation(
                self.module_, x[rows], None if xc is None else xc[rows]
            )
        objective.backward()
        return {"loss": loss, "y_pred": result}

    def held_out_dual_values(self, dataset: UnpairedData) -> list:
        """Per-row negative dual terms on ``dataset`` with their normalised
        weights, ``[(−φ(x), w_x), (−φ^c(y), w_y)]``: the validation loss is
        the sum over both sides of ``(values * weights).sum()``."""
        x, y, xc, yc, xw, yw = dataset.batch(slice(None), slice(None))
        self._set_training(False)
        with torch.no_grad():
            x_hat = backward_map(self.module_, y, yc, **self.solver_options).x
            phi_x, phi_c = dual_values(self.module_, x, y, x_hat, xc, yc)

        def weights(w, n):
            if w is None:
                w = torch.full((n,), 1.0 / n, dtype=y.dtype, device=y.device)
            return w / w.sum()

        return [(-phi_x, weights(xw, len(x))), (-phi_c, weights(yw, len(y)))]

    def validation_step(self, batch, **fit_params):
        self._set_training(False)
        with torch.no_grad():
            loss, result = self._solve_and_loss(batch)
        return {"loss": loss, "y_pred": result}

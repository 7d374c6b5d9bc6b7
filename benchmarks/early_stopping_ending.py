"""Early stopping's ending: the kept weights against the best evaluation's and the last.

Fits ``FixedPointOT`` (its defaults plus any ``--param key=value``) on a
benchmark's data (``--benchmark gaussian``: ``bench_gaussian.draw``;
``--benchmark mix3tomix10``: ``bench_mix3tomix10.draw``; n = m = 2**17 and
the same 4,096 test points) and scores three sets of weights of the same fit:

- *kept*: the ones ``fit`` keeps (annealed from the best evaluation, or the
  best evaluation's restored by the paired held-out comparison);
- *best*: the best evaluation's, which early stopping without the final
  annealing or comparison would return;
- *last*: the live weights after the last optimizer step (before any restore
  or weight averaging).

It also prints the paired held-out comparison between the last and the best
weights that ``fit`` runs at the end (the held-out dual's difference, its
standard error (``skfpot._training.paired_difference``) and whether
``fit`` restored the best). Prints only (the numbers are quoted in
``FixedPointOT``'s ``early_stopping`` docstring and in ``docs/benchmarks.md``)::

    python benchmarks/early_stopping_ending.py --dims 2 --seeds 0
    SKFPOT_W2BENCH_DIR=... python benchmarks/early_stopping_ending.py \\
        --benchmark mix3tomix10 --dims 128 --seeds 0 \\
        --param max_iter=6000 --param n_iter_no_change=20
"""

from __future__ import annotations

import argparse
import copy

import torch
from _common import parse_params
from skorch.callbacks import Callback

from skfpot import FixedPointOT
from skfpot._training import paired_difference
from skfpot.metrics import l2_uvp


class _KeepLast(Callback):
    """Keeps the net, a copy of the live weights after the final training
    step (None if training ended before ``max_iter``: a divergence guard or an
    interrupt) and the step of the best evaluation."""

    def initialize(self):
        self.steps, self.best, self.best_step = 0, float("inf"), None
        self.last_state = None
        return self

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if training:
            self.net = net
            self.steps += 1
            if net.train_iterator_.remaining == 0:  # counted down before the step
                self.last_state = copy.deepcopy(net.module_.state_dict())

    def on_epoch_end(self, net, **kwargs):
        if net.history[-1, "valid_loss"] < self.best:
            self.best, self.best_step = net.history[-1, "valid_loss"], self.steps


def _score(ot, X_test, Y_test):
    return (
        l2_uvp(Y_test, ot.transform(X_test)),
        l2_uvp(X_test, ot.inverse_transform(Y_test)),
    )


def _draw(benchmark: str):
    if benchmark == "gaussian":
        from bench_gaussian import draw
    else:
        from bench_mix3tomix10 import draw
    return draw


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--benchmark", choices=["gaussian", "mix3tomix10"], default="gaussian"
    )
    parser.add_argument("--dims", type=int, nargs="+", default=[2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    params = parse_params(args.param)
    if params.get("early_stopping") is False:
        parser.error("this script compares early stopping's weights: keep it on")
    draw = _draw(args.benchmark)
    print(f"{args.benchmark}, FixedPointOT defaults plus {params}")
    print(
        f"{'d':>4} {'seed':>4} {'steps':>6}  {'kept fwd/inv %':>17}  "
        f"{'best-eval fwd/inv %':>19} {'at step':>7}  {'last fwd/inv %':>17}  "
        "restored  best−last dual (SE)"
    )
    for d in args.dims:
        for seed in args.seeds:
            X, Y, X_test, Y_test = draw(d, seed)
            keep = _KeepLast()
            ot = FixedPointOT(
                random_state=seed, callbacks=[("keep_last", keep)], **params
            )
            ot.fit(X, Y)
            kept = _score(ot, X_test, Y_test)
            kept_state = copy.deepcopy(ot.module_.state_dict())

            early = dict(keep.net.callbacks_)["early_stopping"]
            ot.module_.load_state_dict(early.best_state_)
            best = _score(ot, X_test, Y_test)
            last, last_text = (float("nan"),) * 2, "no final step"
            if keep.last_state is not None:
                best_values = keep.net.held_out_dual_values(early.valid)
                ot.module_.load_state_dict(keep.last_state)
                last = _score(ot, X_test, Y_test)
                last_values = keep.net.held_out_dual_values(early.valid)
                diff, se = paired_difference(last_values, best_values)
                last_text = f"{diff:+.4f} ({se:.4f})"
            ot.module_.load_state_dict(kept_state)
            print(
                f"{d:>4} {seed:>4} {ot.n_iter_:>6}  "
                f"{kept[0]:>8.4f}/{kept[1]:<8.4f}  "
                f"{best[0]:>9.4f}/{best[1]:<9.4f} {keep.best_step:>7}  "
                f"{last[0]:>8.4f}/{last[1]:<8.4f}  {str(early.restored_best_):>8}  "
                f"{last_text}",
                flush=True,
            )


if __name__ == "__main__":
    main()

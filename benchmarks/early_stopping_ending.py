"""Early stopping's ending: the best evaluation's weights against the kept ones.

Fits ``FixedPointOT`` with its defaults on the Gaussian benchmark's data
(``bench_gaussian.draw``: n = m = 2**17 and the same 4,096 test points) and
scores two sets of weights of the same fit: the
ones ``fit`` keeps (annealed from the best evaluation, or the best restored by
the paired held-out comparison) and the best evaluation's, which early
stopping without the final annealing would have returned. Prints only (the
numbers are quoted in ``FixedPointOT``'s ``early_stopping`` docstring)::

    python benchmarks/early_stopping_ending.py --dims 2 --seeds 0
"""

from __future__ import annotations

import argparse

import torch
from bench_gaussian import draw
from skorch.callbacks import Callback

from skfpot import FixedPointOT
from skfpot.metrics import l2_uvp


class _KeepNet(Callback):
    def on_train_end(self, net, **kwargs):
        self.net = net


def _score(ot, X_test, Y_test):
    return (
        l2_uvp(Y_test, ot.transform(X_test)),
        l2_uvp(X_test, ot.inverse_transform(Y_test)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{'d':>4} {'seed':>4} {'steps':>6}  kept fwd/inv %  best-eval fwd/inv %")
    for d in args.dims:
        for seed in args.seeds:
            X, Y, X_test, Y_test = draw(d, seed)
            keep = _KeepNet()
            ot = FixedPointOT(random_state=seed, callbacks=[("keep", keep)])
            ot.fit(X, Y)

            kept = _score(ot, X_test, Y_test)
            early = dict(keep.net.callbacks_)["early_stopping"]
            ot.module_.load_state_dict(early.best_state_)
            best = _score(ot, X_test, Y_test)
            print(
                f"{d:>4} {seed:>4} {ot.n_iter_:>6} "
                f"{kept[0]:>8.4f}/{kept[1]:<7.4f} {best[0]:>11.4f}/{best[1]:<8.4f}",
                flush=True,
            )


if __name__ == "__main__":
    main()

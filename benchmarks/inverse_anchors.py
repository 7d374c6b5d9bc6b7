"""What ``inverse_anchors`` buys on Mix3toMix10: the backward map's second start.

Fits FixedPointOT once (defaults, or ``--param`` overrides) on the
Mix3toMix10 pair of ``bench_mix3tomix10.py`` (its ``draw``: the same samples
and test points for a seed), then maps the 4,096 test targets back twice
from the same model: with the kept anchors (the fitted model) and with one
start only (``anchors_`` set to None, which is what ``inverse_anchors=0``
gives: the anchors are used after training only). Prints both inverse
L2-UVPs, the share of the single-start squared error carried by its worst
1 % of points, how many of its 10 worst points reach a lower inner objective
when their solve starts at the true preimage (so the single start had
stopped in a worse basin), and the ``inverse_transform`` time of both
(median of ``--repeats``). Nothing is saved::

    python benchmarks/inverse_anchors.py --dims 4 --seed 0
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
from _common import Timer, machine, parse_params
from bench_mix3tomix10 import draw

from skfpot import FixedPointOT
from skfpot.core import backward_map
from skfpot.metrics import l2_uvp


def _timed(fn, arg, repeats):
    times, out = [], None
    for _ in range(repeats):
        tic = time.perf_counter()
        out = fn(arg)
        times.append(time.perf_counter() - tic)
    return out, float(np.median(times))


def run(d: int, seed: int, n: int, repeats: int, params: dict) -> str:
    X, Y, X_test, Y_test = draw(d, seed, n)
    with Timer() as fit:
        ot = FixedPointOT(**{"random_state": seed, **params}).fit(X, Y)
    if ot.anchors_ is None:
        raise SystemExit("the model keeps no anchors (inverse_anchors=0)")

    X_anch, t_anch = _timed(ot.inverse_transform, Y_test, repeats)
    ot.anchors_ = ot.anchor_images_ = None
    X_one, t_one = _timed(ot.inverse_transform, Y_test, repeats)

    err = ((X_one - X_test) ** 2).sum(axis=1)
    order = np.argsort(err)[::-1]
    top = max(1, len(err) // 100)
    share = err[order[:top]].sum() / err.sum()

    # the 10 worst single-start points, solved again from the true preimage
    worst = order[:10]
    dtype = next(ot.module_.parameters()).dtype
    y = torch.as_tensor((Y_test[worst] - ot.mean_target_) / ot.scale_, dtype=dtype)
    x0 = torch.as_tensor((X_test[worst] - ot.mean_source_) / ot.scale_, dtype=dtype)
    opts = ot._solver_options()
    own = backward_map(ot.module_, y, None, **opts)
    true = backward_map(ot.module_, y, None, x0=x0, **opts)
    deeper = int(((true.value < own.value - 1e-6) & true.converged).sum())

    return (
        f"{d:>3} {ot.n_iter_:>6} {fit.seconds:>6.0f} "
        f"{l2_uvp(X_test, X_anch):>14.3f} {l2_uvp(X_test, X_one):>12.3f} "
        f"{share:>15.0%} {deeper:>9} /10 {t_anch:>10.2f} {t_one:>8.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[4])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--n", type=int, default=2**17)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--param", action="append", default=[])
    args = parser.parse_args()
    params = parse_params(args.param)
    print(machine(), params)
    print(
        f"{'d':>3} {'steps':>6} {'fit s':>6} {'inv % anchored':>14} "
        f"{'inv % single':>12} {'worst 1 % share':>15} {'deeper of 10':>12} "
        f"{'s anchored':>10} {'s single':>8}"
    )
    for d in args.dims:
        print(run(d, args.seed, args.n, args.repeats, params), flush=True)


if __name__ == "__main__":
    main()

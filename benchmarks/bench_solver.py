"""Inner-solver A/B on Mix3toMix10: gradient evaluations per c-transform.

Fits FixedPointOT once per solver on the same data and seed (no early
stopping, so every fit runs the same number of steps) and prints the mean
number of ∇φ evaluations per sample and solve (every backtracking trial
counted) after the first 20 % of steps and per fifth of training, the fit
time, both L2-UVPs and the time of ``inverse_transform`` on the 4,096 test
points (no warm starts there: every solve starts cold). Appends rows to
``benchmarks/results/solver.json``.

Run (the measurement quoted in docs/benchmarks.md)::

    python benchmarks/bench_solver.py --dims 16 --steps 2500 \\
        --solvers bfgs lbfgs --threads 1

``--param key=value`` (repeatable) sets another estimator parameter for
every solver of the run (the A/Bs of ``fixed_point_memory``,
``fixed_point_tol`` and ``fixed_point_warm_start``), recorded in the row::

    python benchmarks/bench_solver.py --solvers lbfgs --param fixed_point_memory=8

``--warm-start-dtype float32`` stores the warm-start caches (solutions and,
for ``"bfgs"``, inverse Hessians) in single instead of half precision, to
check that half precision costs no evaluations.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import Timer, append_rows, fixed_point_stats, machine, parse_params

from skfpot import FixedPointOT, _training
from skfpot.datasets import load_mix3tomix10
from skfpot.metrics import l2_uvp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[16])
    parser.add_argument("--steps", type=int, default=2500)
    parser.add_argument("--n", type=int, default=2**17)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--solvers", nargs="+", default=["bfgs", "lbfgs"])
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument(
        "--warm-start-dtype",
        choices=["float16", "float32"],
        default="float16",
        help="storage type of the warm-start caches (the library's is float16)",
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    params = parse_params(args.param)
    fixed = {"fixed_point_solver", "max_iter", "early_stopping", "random_state"}
    if fixed & params.keys():
        parser.error(f"--param cannot set {sorted(fixed & params.keys())}")
    if args.threads:
        torch.set_num_threads(args.threads)
    _training.WARM_START_DTYPE = getattr(torch, args.warm_start_dtype)
    facts = machine()
    print(facts)
    print(
        f"{'d':>4} {'solver':>7} {'evals':>6}  per fifth{'':>22} {'fit s':>6} "
        f"{'fwd %':>7} {'inv %':>7} {'inv s':>6}"
    )
    for d in args.dims:
        problem = load_mix3tomix10(d)
        X, Y = problem.sample(args.n, random_state=1000 + args.seed)
        X_test = problem.sample_source(4096, random_state=2000 + args.seed)
        Y_test = problem.forward_map(X_test)
        for solver in args.solvers:
            ot = FixedPointOT(
                max_iter=args.steps,
                early_stopping=False,
                fixed_point_solver=solver,
                random_state=args.seed,
                **params,
            )
            with Timer() as t:
                ot.fit(X, Y)
            with Timer() as t_inv:
                X_back = ot.inverse_transform(Y_test)
            evals = np.asarray(ot.fixed_point_n_evals_)
            stats = fixed_point_stats(ot)
            row = {
                "benchmark": "mix3tomix10",
                "n_features": d,
                "n_samples": args.n,
                "seed": args.seed,
                "solver": solver,
                "params": params,
                "warm_start_dtype": args.warm_start_dtype,
                "steps": args.steps,
                "evals_after_20pct": stats["fp_evals_after_20pct"],
                "evals_per_fifth": [float(c.mean()) for c in np.array_split(evals, 5)],
                "converged_after_20pct": stats["fp_converged_after_20pct"],
                "fit_seconds": t.seconds,
                "uvp_fwd": l2_uvp(Y_test, ot.transform(X_test)),
                "uvp_inv": l2_uvp(X_test, X_back),
                "inverse_seconds": t_inv.seconds,
                **facts,
            }
            fifths = " ".join(f"{v:5.1f}" for v in row["evals_per_fifth"])
            print(
                f"{d:>4} {solver:>7} {row['evals_after_20pct']:>6.2f}  {fifths} "
                f"{row['fit_seconds']:>6.0f} {row['uvp_fwd']:>7.3f} "
                f"{row['uvp_inv']:>7.3f} {row['inverse_seconds']:>6.1f}",
                flush=True,
            )
            if not args.no_save:
                append_rows("solver", [row])


if __name__ == "__main__":
    main()

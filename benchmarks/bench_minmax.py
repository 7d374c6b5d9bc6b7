"""Mix3toMix10 benchmark of the [MM] min–max baseline (Korotin et al. 2021).

Validates :mod:`minmax_ot` against the published [MM] forward L2-UVP. For each
dimension and seed: n = m = 2**17 unpaired training points from
``problem.sample(2**17, random_state=1000 + seed)`` (the same data every method
gets), train the two-network min–max solver with Korotin's hyper-parameters
(or the overrides given), and score the forward map ``∇f`` and the inverse map
``∇g`` on ``X_test = problem.sample_source(4096, random_state=2000 + seed)``,
``Y_test = T*(X_test)``. Prints the evaluation log and a table; appends rows
(with the full evaluation history) to ``benchmarks/results/minmax.json``.

Run (one CPU thread; 50 001 steps is Korotin's budget)::

    OMP_NUM_THREADS=1 python benchmarks/bench_minmax.py --dims 8 --seeds 0 \\
        --steps 50001 --time-limit 3300

Timings taken on a shared machine are indicative only.
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from _common import append_rows, machine, peak_rss_mib, reset_peak_rss
from minmax_ot import default_hidden_sizes, fit_minmax, make_uvp_eval

from skfpot.datasets import load_mix3tomix10

#: published [MM] forward L2-UVP (%) on Mix3toMix10 (Korotin et al. 2021)
PUBLISHED_MM = {8: 0.9}
METHOD = "MM (min-max, ours)"


def run(d: int, seed: int, args: argparse.Namespace) -> dict:
    """Train and score one (dimension, seed); returns the result row."""
    problem = load_mix3tomix10(d)
    X, Y = problem.sample(args.n, random_state=1000 + seed)
    X_test = problem.sample_source(4096, random_state=2000 + seed)
    Y_test = problem.forward_map(X_test)
    sizes = tuple(args.hidden) if args.hidden else default_hidden_sizes(d)
    reset_peak_rss()  # the row's own peak, not earlier rows' of the sweep
    result = fit_minmax(
        X,
        Y,
        hidden_sizes=sizes,
        batch_size=args.batch_size,
        max_steps=args.steps,
        inner_steps=args.inner_steps,
        lr=args.lr,
        convex=args.convex,
        seed=seed,
        eval_fn=make_uvp_eval(X_test, Y_test),
        eval_every=args.eval_every,
        time_limit=args.time_limit,
        verbose=not args.quiet,
    )
    hist = result.history
    last = hist[-1]
    best = min(hist, key=lambda r: r["uvp_fwd"])
    best_inv = min(hist, key=lambda r: r["uvp_inv"])
    return {
        "benchmark": "mix3tomix10",
        "method": METHOD + (" convex" if args.convex else ""),
        "n_features": d,
        "seed": seed,
        "n_samples": args.n,
        "uvp_fwd": last["uvp_fwd"],
        "uvp_inv": last["uvp_inv"],
        "uvp_fwd_best": best["uvp_fwd"],
        "uvp_fwd_best_step": best["step"],
        "uvp_inv_best": best_inv["uvp_inv"],
        "published_mm": PUBLISHED_MM.get(d),
        "fit_seconds": result.train_seconds,
        "pretrain_seconds": result.pretrain_seconds,
        "n_steps": result.n_steps,
        "stopped_by": result.stopped_by,
        "peak_rss_mib": peak_rss_mib(),
        "hidden_sizes": list(sizes),
        "batch_size": args.batch_size,
        "inner_steps": args.inner_steps,
        "lr": args.lr,
        "eval_every": args.eval_every,
        "history": [
            [r["step"], round(r["seconds"], 2), r["uvp_fwd"], r["uvp_inv"]]
            for r in hist
        ],
        **machine(),
    }


def main() -> None:
    """Parse the arguments, run every (dimension, seed) and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--steps", type=int, default=50_001)
    parser.add_argument(
        "--time-limit", type=float, default=None, help="training seconds per run"
    )
    parser.add_argument("--n", type=int, default=2**17)
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--inner-steps", type=int, default=15)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--hidden", type=int, nargs="+", default=None)
    parser.add_argument("--convex", action="store_true", help="[MMv2]: clamp weights")
    parser.add_argument("--eval-every", type=int, default=100)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--quiet", action="store_true")
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    print(machine(), flush=True)
    rows = []
    for d in args.dims:
        for seed in args.seeds:
            row = run(d, seed, args)
            rows.append(row)
            if not args.no_save:
                append_rows("minmax", [row])
    print(
        f"{'d':>4} {'seed':>4} {'fwd %':>7} {'inv %':>7} {'best':>7} {'@step':>6} "
        f"{'publ.':>6} {'steps':>6} {'fit s':>8} {'MiB':>6}  stopped"
    )
    for r in rows:
        publ = "—" if r["published_mm"] is None else f"{r['published_mm']:.1f}"
        print(
            f"{r['n_features']:>4} {r['seed']:>4} {r['uvp_fwd']:>7.3f} "
            f"{r['uvp_inv']:>7.3f} {r['uvp_fwd_best']:>7.3f} "
            f"{r['uvp_fwd_best_step']:>6} {publ:>6} {r['n_steps']:>6} "
            f"{r['fit_seconds']:>8.1f} {r['peak_rss_mib']:>6.0f}  {r['stopped_by']}"
        )
    if len(rows) > 1:
        for key in ("uvp_fwd", "uvp_inv", "fit_seconds"):
            print(f"median {key}: {np.median([r[key] for r in rows]):.3f}")


if __name__ == "__main__":
    main()

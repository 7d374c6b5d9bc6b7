"""Mix3toMix10 benchmark (Korotin et al., NeurIPS 2021): FixedPointOT vs published.

For each dimension: load the pair from ``../shared/data/w2bench-mix3tomix10``
(the loader checks the identity-map sanity value), draw n = m = 2**17 unpaired
training points, fit FixedPointOT, and score the forward map and the inverse
map (``Ŝ(T*(x))`` against ``x``) on 4096 fresh source points. Prints a table
with the published best forward L2-UVP beside ours and appends rows to
``benchmarks/results/mix3tomix10.json``.

Run (defaults: d = 2 4 8 16, seed 0, default estimator settings)::

    python benchmarks/bench_mix3tomix10.py --dims 2 4 8 16 --seeds 0 1 2
    python benchmarks/bench_mix3tomix10.py --dims 16 --param max_iter=20000

``--param key=value`` overrides an estimator parameter (repeatable).
"""

from __future__ import annotations

import functools

import numpy as np
from _common import (
    append_rows,
    fit_and_score,
    machine,
    parse_params,
    sweep_arguments,
)

from skfpot.datasets import load_mix3tomix10

PUBLISHED_BEST = {2: 0.1, 4: 0.3, 8: 0.7, 16: 1.4, 32: 2.8, 64: 3.2, 128: 2.0}
PUBLISHED_LINEAR = {2: 14.1, 4: 14.9, 8: 27.3, 16: 41.6, 32: 55.3, 64: 63.9, 128: 63.6}
SANITY = {2: (32.0, 33.5), 16: (87.0, 90.0), 64: (134.5, 137.0)}


#: the problem of each d, read from disk once per process
_problem = functools.lru_cache(maxsize=None)(load_mix3tomix10)


def draw(d: int, seed: int, n: int = 2**17):
    """The benchmark's data for ``(d, seed)``: ``X, Y, X_test, Y_test``."""
    problem = _problem(d)
    X, Y = problem.sample(n, random_state=1000 + seed)
    X_test = problem.sample_source(4096, random_state=2000 + seed)
    return X, Y, X_test, problem.forward_map(X_test)


def run(d: int, seed: int, n: int, params: dict, method: str) -> dict:
    identity = _problem(d).identity_uvp()
    if d in SANITY:
        lo, hi = SANITY[d]
        assert lo - 0.5 <= identity <= hi + 0.5, f"sanity check failed: {identity}"
    X, Y, X_test, Y_test = draw(d, seed, n)

    return {
        "benchmark": "mix3tomix10",
        "method": method,
        "n_features": d,
        "seed": seed,
        "identity_uvp": identity,
        "published_best": PUBLISHED_BEST.get(d),
        **fit_and_score(X, Y, X_test, Y_test, params=params, seed=seed),
    }


def main() -> None:
    args = sweep_arguments(__doc__.splitlines()[0], [2, 4, 8, 16])
    params = parse_params(args.param)

    print(machine())
    header = (
        f"{'d':>4} {'seed':>4} {'fwd %':>7} {'inv %':>7} {'publ.':>6} {'lin.':>5} "
        f"{'cos':>6} {'steps':>6} {'fit s':>7} {'evals':>6} {'ev@1e-4':>7} {'MiB':>6}"
    )
    print(header)
    for d in args.dims:
        rows = []
        for seed in args.seeds:
            row = run(d, seed, args.n, params, args.method)
            rows.append(row)
            print(
                f"{d:>4} {seed:>4} {row['uvp_fwd']:>7.3f} {row['uvp_inv']:>7.3f} "
                f"{PUBLISHED_BEST[d]:>6} {PUBLISHED_LINEAR[d]:>5} "
                f"{row['cosine_fwd']:>6.4f} {row['n_iter']:>6} "
                f"{row['fit_seconds']:>7.1f} {row['fp_evals_after_20pct']:>6.2f} "
                f"{row['solve_evals_tol0.0001']:>7.2f} {row['peak_rss_mib']:>6.0f}",
                flush=True,
            )
            if not args.no_save:
                append_rows("mix3tomix10", [row])
        if len(rows) > 1:
            med = {k: np.median([r[k] for r in rows]) for k in ("uvp_fwd", "uvp_inv")}
            print(f"{d:>4}  med {med['uvp_fwd']:>7.3f} {med['uvp_inv']:>7.3f}")


if __name__ == "__main__":
    main()

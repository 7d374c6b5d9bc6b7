"""Gaussian → Gaussian benchmark (W2GN protocol): FixedPointOT vs closed form.

For each dimension: draw the W2GN pair (``make_gaussian_pair``), n = m = 2**17
unpaired training points, fit FixedPointOT, and score the forward and inverse
maps on 4096 fresh points against the closed-form maps (L2-UVP, cosine), with
the fit time, the inner solver's cost and the peak memory. The published values
(DESIGN §6) are printed beside ours; rows are appended to
``benchmarks/results/gaussian.json``.

Run::

    python benchmarks/bench_gaussian.py --dims 2 4 8 16 32 64 --seeds 0 1 2
    python benchmarks/bench_gaussian.py --dims 16 --param quadratic='"none"' \
        --method "FixedPointOT (quadratic=none)"

``--param key=value`` overrides an estimator parameter (repeatable).
"""

from __future__ import annotations

import numpy as np
from _common import (
    append_rows,
    fit_and_score,
    machine,
    parse_params,
    sweep_arguments,
)

from skfpot.datasets import make_gaussian_pair

PUBLISHED_BEST = {2: 0.010, 4: 0.021, 8: 0.012, 16: 0.15, 32: 0.31, 64: 0.41}
PUBLISHED_MMV1 = {2: 0.16, 4: 0.17, 8: 0.17, 16: 0.21, 32: 0.37, 64: 0.42}


def draw(d: int, seed: int, n: int = 2**17):
    """The benchmark's data for ``(d, seed)``: ``X, Y, X_test, Y_test``."""
    problem = make_gaussian_pair(d, random_state=seed)
    X, Y = problem.sample(n, random_state=1000 + seed)
    X_test = problem.sample_source(4096, random_state=2000 + seed)
    return X, Y, X_test, problem.forward_map(X_test)


def run(d: int, seed: int, n: int, params: dict, method: str) -> dict:
    X, Y, X_test, Y_test = draw(d, seed, n)

    return {
        "benchmark": "gaussian",
        "method": method,
        "n_features": d,
        "seed": seed,
        "published_best": PUBLISHED_BEST.get(d),
        **fit_and_score(X, Y, X_test, Y_test, params=params, seed=seed),
    }


def main() -> None:
    args = sweep_arguments(__doc__.splitlines()[0], [2, 4, 8, 16, 32, 64])
    params = parse_params(args.param)

    print(machine())
    print(
        f"{'d':>4} {'seed':>4} {'fwd %':>7} {'inv %':>7} {'publ.':>6} {'MM-v1':>6} "
        f"{'cos':>7} {'steps':>6} {'fit s':>7} {'evals':>6} {'MiB':>6} start"
    )
    for d in args.dims:
        rows = []
        for seed in args.seeds:
            row = run(d, seed, args.n, params, args.method)
            rows.append(row)
            print(
                f"{d:>4} {seed:>4} {row['uvp_fwd']:>7.4f} {row['uvp_inv']:>7.4f} "
                f"{PUBLISHED_BEST.get(d, float('nan')):>6} "
                f"{PUBLISHED_MMV1.get(d, float('nan')):>6} "
                f"{row['cosine_fwd']:>7.5f} {row['n_iter']:>6} "
                f"{row['fit_seconds']:>7.1f} {row['fp_evals_mean']:>6.2f} "
                f"{row['peak_rss_mib']:>6.0f} {'yes' if row['kept_start'] else 'no'}",
                flush=True,
            )
            if not args.no_save:
                append_rows("gaussian", [row])
        if len(rows) > 1:
            med = {k: np.median([r[k] for r in rows]) for k in ("uvp_fwd", "uvp_inv")}
            print(f"{d:>4}  med {med['uvp_fwd']:>7.4f} {med['uvp_inv']:>7.4f}")


if __name__ == "__main__":
    main()

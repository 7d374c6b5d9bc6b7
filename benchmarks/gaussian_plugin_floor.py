"""Statistical floor of the Gaussian benchmark: the plug-in estimator.

For each dimension and seed, the same training samples as
``bench_gaussian.py`` (``problem.sample(n, random_state=1000 + seed)``) give
empirical means and covariances; the closed-form OT map between those two
Gaussians (and its inverse) is scored on the benchmark's test points. For a
Gaussian pair this is about the best any estimator can do with n samples, so
it shows how far the published values are from what the data allow. Also
with the rows ``FixedPointOT`` trains on under early stopping: all but the
``min(4096, 10 %)`` it holds out for validation (it holds out a random
subset; here the last rows, which is the same in distribution since the rows
are i.i.d.). No training; a few seconds::

    python benchmarks/gaussian_plugin_floor.py --dims 2 4 8 16 32 64
"""

from __future__ import annotations

import argparse

import numpy as np

from skfpot.datasets import make_gaussian_pair
from skfpot.metrics import gaussian_ot_matrix, l2_uvp


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[2, 4, 8, 16, 32, 64])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=2**17)
    args = parser.parse_args()
    print("| d | seed | rows used | fwd L2-UVP % | inv L2-UVP % |")
    print("|---|---|---|---|---|")
    for d in args.dims:
        for seed in args.seeds:
            problem = make_gaussian_pair(d, random_state=seed)
            X, Y = problem.sample(args.n, random_state=1000 + seed)
            X_test = problem.sample_source(4096, random_state=2000 + seed)
            Y_test = problem.forward_map(X_test)
            n_valid = min(4096, int(0.1 * len(X)))  # FixedPointOT's held-out rows
            for k in (len(X), len(X) - n_valid):
                mx, my = X[:k].mean(0), Y[:k].mean(0)
                a = gaussian_ot_matrix(np.cov(X[:k].T), np.cov(Y[:k].T))
                fwd = l2_uvp(Y_test, (X_test - mx) @ a.T + my)
                inv = l2_uvp(X_test, (Y_test - my) @ np.linalg.inv(a).T + mx)
                print(f"| {d} | {seed} | {k} | {fwd:.4f} | {inv:.4f} |", flush=True)


if __name__ == "__main__":
    main()

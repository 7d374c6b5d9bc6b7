"""Scale: FixedPointOT on up to n = m = 1,000,000 points, memory against n.

Each run happens in a fresh subprocess that draws the W2GN Gaussian pair
(float64, n = m points), records its resident memory after the data exist
(after returning freed heap to the OS and resetting the kernel's high-water
mark, which a child process otherwise inherits from its parent), fits
FixedPointOT for a fixed number of optimizer steps and reports the peak
resident memory *beyond the data* (``VmHWM`` minus that ``VmRSS``),
the fit time and the forward/inverse L2-UVP on 4096 fresh points. Training
touches one minibatch per step, so the memory beyond the data should not grow
with n, except for the per-row warm-start cache (``fixed_point_warm_start``,
one float16 row per training row of Y) which is reported separately.

Run::

    python benchmarks/bench_scale.py                   # d=64, n = 2**17 ... 10**6
    python benchmarks/bench_scale.py --sizes 1000000 --steps 4000

Rows are appended to ``benchmarks/results/scale.json``.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time


def _status_mib(field: str) -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise RuntimeError(f"no {field}")


def _reset_peak() -> None:
    """Return freed heap to the OS and reset the RSS high-water mark (a child
    process otherwise starts with its parent's peak)."""
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")


def worker(n: int, d: int, steps: int, warm: bool, seed: int) -> dict:
    from skfpot import FixedPointOT
    from skfpot.datasets import make_gaussian_pair
    from skfpot.metrics import l2_uvp

    problem = make_gaussian_pair(d, random_state=seed)
    X, Y = problem.sample(n, random_state=1000 + seed)
    X_test = problem.sample_source(4096, random_state=2000 + seed)
    Y_test = problem.forward_map(X_test)
    from _common import _COMMIT_AT_START, warm_up_torch

    warm_up_torch()  # torch's lazy imports before the baseline
    _reset_peak()
    base = _status_mib("VmRSS")
    start = time.perf_counter()
    ot = FixedPointOT(
        max_iter=steps, fixed_point_warm_start=warm, random_state=seed
    ).fit(X, Y)
    fit_seconds = time.perf_counter() - start
    peak = _status_mib("VmHWM")
    return {
        "benchmark": "gaussian",
        "method": "FixedPointOT",
        "n_features": d,
        "n_samples": n,
        "seed": seed,
        "max_iter": steps,
        "n_iter": ot.n_iter_,
        "warm_start": warm,
        "data_mib": (X.nbytes + Y.nbytes) / 2**20,
        "rss_after_data_mib": base,
        "peak_extra_mib": peak - base,
        "fit_seconds": fit_seconds,
        "uvp_fwd": l2_uvp(Y_test, ot.transform(X_test)),
        "uvp_inv": l2_uvp(X_test, ot.inverse_transform(Y_test)),
        "worker_git_commit": _COMMIT_AT_START,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=[2**17, 2**18, 2**19, 1_000_000]
    )
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--warm", choices=["on", "off", "both"], default="both")
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.worker:
        print(json.dumps(worker(**json.loads(args.worker))))
        return

    sys.path.insert(0, __file__.rsplit("/", 1)[0])
    from _common import adopt_worker_commit, append_rows, machine

    print(machine())
    print(
        f"{'n':>9} {'warm':>5} {'data MiB':>9} {'extra MiB':>10} {'fit s':>7} "
        f"{'steps':>6} {'fwd %':>7} {'inv %':>7}"
    )
    warms = {"on": [True], "off": [False], "both": [False, True]}[args.warm]
    for n in args.sizes:
        for warm in warms:
            spec = dict(n=n, d=args.d, steps=args.steps, warm=warm, seed=args.seed)
            out = subprocess.run(
                [sys.executable, __file__, "--worker", json.dumps(spec)],
                capture_output=True,
                text=True,
                check=True,
            )
            row = {**json.loads(out.stdout.strip().splitlines()[-1]), **machine()}
            adopt_worker_commit(row)
            print(
                f"{n:>9} {str(warm):>5} {row['data_mib']:>9.0f} "
                f"{row['peak_extra_mib']:>10.0f} {row['fit_seconds']:>7.1f} "
                f"{row['n_iter']:>6} {row['uvp_fwd']:>7.3f} {row['uvp_inv']:>7.3f}",
                flush=True,
            )
            if not args.no_save:
                append_rows("scale", [row])


if __name__ == "__main__":
    main()

"""Does ``torch.compile`` of the potential's gradient pay? Eager against compiled.

The fixed-point solves call ``MLPPotential.value_and_grad`` (closed-form
``φ`` and ``∇φ``, no autograd) at every inner iteration; it is the training's
hot path. This script trains ``FixedPointOT`` on Mix3toMix10 (n = m = 2**17,
``early_stopping=False``, otherwise defaults) twice per repeat, each fit in a
fresh interpreter so that the compiled run pays its compilation: once as
shipped, once with ``value_and_grad`` replaced by
``torch.compile(value_and_grad, dynamic=True)`` (dynamic row counts: the
solver evaluates only its unconverged rows). It prints the fit times, their
ratio (median over repeats) and checks that both runs give the same map.
``--per-call`` times single ``value_and_grad`` calls instead.

The package does not use ``torch.compile``; this script is the measurement
behind that choice (``docs/benchmarks.md``). Run, e.g.::

    OMP_NUM_THREADS=1 taskset -c 0 python benchmarks/bench_compile.py \\
        --dims 8 --steps 1800 --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def child(args: argparse.Namespace) -> None:
    """One fit, eager or compiled; prints a JSON line."""
    import torch

    torch.set_num_threads(1)
    from skfpot import FixedPointOT
    from skfpot.core.potentials import MLPPotential
    from skfpot.datasets import load_mix3tomix10
    from skfpot.metrics import l2_uvp

    if args.child == "compiled":
        compiled = torch.compile(MLPPotential.value_and_grad, dynamic=True)

        def value_and_grad(self, x, classes=None):
            return compiled(self, x, classes)

        MLPPotential.value_and_grad = value_and_grad
    problem = load_mix3tomix10(args.d)
    X, Y = problem.sample(2**17, random_state=1000 + args.seed)
    X_test = problem.sample_source(4096, random_state=2000 + args.seed)
    start = time.perf_counter()
    ot = FixedPointOT(
        max_iter=args.steps, early_stopping=False, random_state=args.seed
    ).fit(X, Y)
    fit = time.perf_counter() - start
    T = ot.transform(X_test)
    print(
        json.dumps(
            {
                "mode": args.child,
                "fit_seconds": fit,
                "uvp_fwd": l2_uvp(problem.forward_map(X_test), T),
                "solver": ot.fixed_point_solver_,
                "checksum": float(abs(T).sum()),
            }
        )
    )


def per_call(d: int, rows=(256, 181, 97, 40, 7), repeats: int = 7) -> None:
    """Time one ``value_and_grad`` call, eager against compiled (medians)."""
    import torch

    from skfpot.core.potentials import MLPPotential

    torch.set_num_threads(1)
    torch.manual_seed(0)
    potential = MLPPotential(d)
    with torch.no_grad():  # a trained-looking, non-zero perceptron
        potential.out.normal_(0.0, 0.01)

    def eager(x):
        with torch.no_grad():
            return potential.value_and_grad(x)

    compiled = torch.compile(eager, dynamic=True)
    inputs = {n: torch.randn(n, d) for n in rows}
    start = time.perf_counter()
    for x in inputs.values():
        compiled(x)
    print(f"d = {d}: compilation and first calls {time.perf_counter() - start:.1f} s")
    for n, x in inputs.items():
        times = {}
        for name, fn in (("eager", eager), ("compiled", compiled)):
            laps = []
            for _ in range(repeats):
                t = time.perf_counter()
                for _ in range(50):
                    fn(x)
                laps.append((time.perf_counter() - t) / 50)
            times[name] = statistics.median(laps)
        gap = (eager(x)[1] - compiled(x)[1]).abs().max().item()
        print(
            f"  {n:4d} rows: eager {times['eager'] * 1e3:.3f} ms, compiled "
            f"{times['compiled'] * 1e3:.3f} ms, "
            f"{times['eager'] / times['compiled']:.2f}x, max |diff| {gap:.1e}"
        )


def run(mode: str, d: int, steps: int, seed: int) -> dict:
    """One fit in a fresh interpreter with an empty, private inductor cache
    (removed afterwards): every compiled run pays its whole compilation, and
    nothing is left in ``/tmp``."""
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", mode]
    cmd += ["--d", str(d), "--steps", str(steps), "--seed", str(seed)]
    with tempfile.TemporaryDirectory(prefix="skfpot-inductor-") as cache:
        env = {**os.environ, "TORCHINDUCTOR_CACHE_DIR": cache}
        out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[8])
    parser.add_argument("--steps", type=int, default=1800)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--per-call",
        action="store_true",
        help="only time single value_and_grad calls (default widths)",
    )
    parser.add_argument(
        "--child", choices=["eager", "compiled"], help=argparse.SUPPRESS
    )
    parser.add_argument("--d", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    if args.per_call:
        for d in args.dims:
            per_call(d)
        return
    print("   d  steps  repeat  eager s  compiled s  eager/compiled  same map")
    for d in args.dims:
        ratios, eager_s, comp_s = [], [], []
        for rep in range(args.repeats):
            e = run("eager", d, args.steps, args.seed)
            c = run("compiled", d, args.steps, args.seed)
            same = abs(e["checksum"] - c["checksum"]) <= 1e-4 * abs(e["checksum"])
            ratios.append(e["fit_seconds"] / c["fit_seconds"])
            eager_s.append(e["fit_seconds"])
            comp_s.append(c["fit_seconds"])
            print(
                f"{d:4d} {args.steps:6d} {rep:7d} {e['fit_seconds']:8.1f} "
                f"{c['fit_seconds']:11.1f} {ratios[-1]:15.2f}  {same} "
                f"(fwd {e['uvp_fwd']:.3f} / {c['uvp_fwd']:.3f} %, {e['solver']})",
                flush=True,
            )
        print(
            f"d = {d}: median eager {statistics.median(eager_s):.1f} s, compiled "
            f"{statistics.median(comp_s):.1f} s, ratio {statistics.median(ratios):.2f}"
        )


if __name__ == "__main__":
    main()

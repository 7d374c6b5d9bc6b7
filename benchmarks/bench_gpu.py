"""FixedPointOT on a GPU: the CUDA path checked, then timed against the CPU.

Needs a machine with CUDA (the package's tests never do). Three parts, each
printed as it finishes and appended to ``benchmarks/results/gpu.json`` (and,
with ``--out PATH``, also kept in ``PATH``, rewritten after every row: the
copy to fetch from a remote machine; ``--no-save`` skips the results file):

1. **check**: a fit with ``device="cuda"``; the fitted weights' forward and
   backward maps evaluated on the GPU and on the CPU must agree (relative
   difference below 1e-4, float32 kernels differ in rounding only); a
   :func:`joblib` round trip must give a CPU ``module_`` and the same map;
   ``device="auto"`` must pick CUDA.
2. **timing**: the same fixed-step fits (``early_stopping=False``, the same
   seed and data, n = m = 2**17) on CUDA and on the CPU of the same machine
   (all its cores), per problem (``--problems``) and batch size; the ratio
   CPU / GPU of fit times, each the median of ``--repeats`` fits.
3. **full**: whole fits on CUDA with the settings of the CPU
   tables in ``docs/benchmarks.md`` (Gaussian d = 64 defaults; Mix3toMix10
   d = 16 with 24,000 steps and ``convexity_penalty=100``), to compare
   accuracy and time with the CPU rows there.

Run, e.g.::

    python benchmarks/bench_gpu.py --steps 400 --repeats 3
    python benchmarks/bench_gpu.py --parts full --out "$OUT/gpu_full.json"

Mix3toMix10 needs its data (``SKFPOT_W2BENCH_DIR`` or ``../shared/data``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import joblib
import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_gaussian  # noqa: E402
import bench_mix3tomix10  # noqa: E402
from _common import _jsonable, append_rows, machine  # noqa: E402

from skfpot import FixedPointOT  # noqa: E402
from skfpot.metrics import l2_uvp  # noqa: E402


def problem_data(name: str, d: int, n: int, seed: int):
    """The data of the CPU benchmarks for ``(d, seed)``."""
    draw = bench_gaussian.draw if name == "gaussian" else bench_mix3tomix10.draw
    return draw(d, seed, n)


def timed_fit(X, Y, params: dict) -> tuple[FixedPointOT, float]:
    ot = FixedPointOT(**params)
    if params.get("device", "").startswith("cuda"):
        torch.cuda.synchronize()
    start = time.perf_counter()
    ot.fit(X, Y)  # ends by moving the module to the CPU: synchronised
    return ot, time.perf_counter() - start


def scores(ot, X_test, Y_test) -> dict:
    return {
        "uvp_fwd": l2_uvp(Y_test, ot.transform(X_test)),
        "uvp_inv": l2_uvp(X_test, ot.inverse_transform(Y_test)),
    }


def relative(a, b) -> float:
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def check(args) -> dict:
    """The CUDA path: training, maps on both devices, pickling, "auto"."""
    X, Y, X_test, Y_test = problem_data("gaussian", 8, 8192, 0)
    ot, seconds = timed_fit(
        X, Y, dict(device="cuda", max_iter=300, early_stopping=False, random_state=0)
    )
    assert ot.device_.type == "cuda", ot.device_
    assert next(ot.module_.parameters()).device.type == "cpu"
    fwd_gpu, inv_gpu = ot.transform(X_test), ot.inverse_transform(Y_test)
    on_cpu = copy.deepcopy(ot)
    on_cpu.device_ = torch.device("cpu")
    fwd_cpu, inv_cpu = on_cpu.transform(X_test), on_cpu.inverse_transform(Y_test)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "ot.joblib"
        joblib.dump(ot, path)
        loaded = joblib.load(path)
    fwd_loaded = loaded.transform(X_test)
    auto = FixedPointOT(max_iter=5, early_stopping=False, random_state=0).fit(X, Y)
    row = {
        "part": "check",
        "fit_seconds_300_steps": seconds,
        "fwd_gpu_vs_cpu": relative(fwd_gpu, fwd_cpu),
        "inv_gpu_vs_cpu": relative(inv_gpu, inv_cpu),
        "fwd_loaded_vs_gpu": relative(fwd_loaded, fwd_gpu),
        "auto_device": str(auto.device_),
        "finite": bool(np.isfinite(fwd_gpu).all() and np.isfinite(inv_gpu).all()),
        **scores(ot, X_test, Y_test),
    }
    row["ok"] = bool(
        row["fwd_gpu_vs_cpu"] < 1e-4
        and row["inv_gpu_vs_cpu"] < 1e-4
        and row["fwd_loaded_vs_gpu"] < 1e-4
        and row["auto_device"].startswith("cuda")
        and row["finite"]
    )
    return row


def timing(args, emit) -> None:
    for name, d in args.problems:
        X, Y, X_test, Y_test = problem_data(name, d, args.n, 0)
        for batch in args.batch_sizes:
            row = {"part": "timing", "problem": name, "d": d, "batch_size": batch}
            for device in ("cuda", "cpu"):
                params = dict(
                    device=device,
                    batch_size=batch,
                    max_iter=args.steps,
                    early_stopping=False,
                    random_state=0,
                )
                times = []
                for _ in range(args.repeats):
                    ot, seconds = timed_fit(X, Y, params)
                    times.append(seconds)
                row[f"{device}_seconds"] = statistics.median(times)
                row[f"{device}_all_seconds"] = times
                for key, value in scores(ot, X_test, Y_test).items():
                    row[f"{device}_{key}"] = value
            row["steps"] = args.steps
            row["cpu_over_gpu"] = row["cpu_seconds"] / row["cuda_seconds"]
            emit(row)


def problem_spec(text: str) -> tuple[str, int]:
    name, _, d = text.partition(":")
    if name not in ("gaussian", "mix3tomix10") or not d.isdigit():
        raise argparse.ArgumentTypeError(
            f"expected gaussian:D or mix3tomix10:D, got {text!r}"
        )
    return name, int(d)


def full(args, emit) -> None:
    runs = [
        ("gaussian", 64, {}),
        (
            "mix3tomix10",
            16,
            dict(max_iter=24000, early_stopping=False, convexity_penalty=100),
        ),
    ]
    for name, d, settings in runs:
        X, Y, X_test, Y_test = problem_data(name, d, args.n, 0)
        ot, seconds = timed_fit(X, Y, dict(device="cuda", random_state=0, **settings))
        row = {
            "part": "full",
            "problem": name,
            "d": d,
            "params": settings,
            "n_iter": ot.n_iter_,
            "fit_seconds": seconds,
            **scores(ot, X_test, Y_test),
        }
        emit(row)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2**17)
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--batch-sizes", type=int, nargs="+", default=[256, 1024])
    parser.add_argument(
        "--problems",
        type=problem_spec,
        nargs="+",
        default=[("gaussian", 64), ("mix3tomix10", 16)],
        metavar="NAME:D",
        help="timing part: problems as gaussian:D or mix3tomix10:D "
        "(default: gaussian:64 mix3tomix10:16)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["check", "timing", "full"],
        default=["check", "timing"],
    )
    parser.add_argument(
        "--out", default=None, help="also keep this run's rows in this file"
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        raise SystemExit("bench_gpu.py needs CUDA; this machine has none.")
    facts = {**machine(), "cpu_threads": torch.get_num_threads()}
    print(json.dumps(facts), flush=True)
    torch.zeros(1, device="cuda")  # CUDA context outside every timing
    rows = []

    def emit(row):  # print and save every row as it finishes
        print(json.dumps(row, default=_jsonable), flush=True)
        rows.append({**row, **facts})
        if not args.no_save:
            append_rows("gpu", [rows[-1]])
        if args.out:
            Path(args.out).write_text(json.dumps(rows, indent=1, default=_jsonable))

    if "check" in args.parts:
        emit(check(args))
        if not rows[0]["ok"]:
            raise SystemExit("the CUDA check failed: see the row above")
    if "timing" in args.parts:
        timing(args, emit)
    if "full" in args.parts:
        full(args, emit)


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()

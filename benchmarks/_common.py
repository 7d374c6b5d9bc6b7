"""Shared helpers of the benchmark scripts: machine facts, timing, results files."""

from __future__ import annotations

import json
import os
import platform
import resource
import sys
import time
import warnings
from datetime import date
from pathlib import Path

import numpy as np
import torch

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def git_commit() -> str | None:
    """The checked-out commit (``+dirty`` when ``skfpot/`` or the benchmark
    scripts have uncommitted changes)."""
    import subprocess

    root = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            # only code counts: docs edits and the results files that
            # benchmarks append to do not change what a run executes
            [
                "git",
                "status",
                "--porcelain",
                "--untracked-files=no",
                "--",
                "skfpot",
                "benchmarks",
                ":(exclude)benchmarks/results",
            ],
            cwd=root,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


#: the commit whose code this process imported (read once, at import time: a
#: later edit of the tree does not change the code a running benchmark uses;
#: subprocess workers import the tree anew and report their own, see
#: :func:`adopt_worker_commit`)
_COMMIT_AT_START = git_commit()


def adopt_worker_commit(row: dict) -> None:
    """Record the commit a subprocess worker ran (``row["worker_git_commit"]``,
    popped) as the row's ``git_commit`` when it differs from the parent's, which
    stays as ``parent_git_commit``, and say so: the tree changed during the run."""
    worker = row.pop("worker_git_commit", None)
    if worker is not None and worker != row.get("git_commit"):
        warnings.warn(
            f"a worker ran commit {worker}, the script started at "
            f"{row.get('git_commit')}: the tree changed during the run; the row "
            "records the worker's",
            stacklevel=2,
        )
        row["parent_git_commit"] = row.get("git_commit")
        row["git_commit"] = worker


def warm_up_torch() -> None:
    """Trigger torch's lazy imports before a memory baseline or a clock.

    The first ``torch.optim.Adam`` imports ``torch._dynamo`` (~70 MiB of
    Python modules, measured) and the first double backward initialises the
    autograd engine. The [MM] baseline's Adam pays the import once per
    process, whatever its size; FixedPointOT's own Adam (since 2026-12-08)
    does not import it, so warming up before both methods keeps that cost
    out of the baseline's peak and time and favours it, never us.
    """
    w = torch.nn.Parameter(torch.ones(4, 4))
    opt = torch.optim.Adam([w], lr=1e-3)
    x = torch.ones(2, 4, requires_grad=True)
    (g,) = torch.autograd.grad(torch.celu(x @ w).sum(), x, create_graph=True)
    (g * g).sum().backward()
    opt.step()


def machine() -> dict:
    """Facts that make a timing reproducible."""
    return {
        "git_commit": _COMMIT_AT_START,
        "date": date.today().isoformat(),
        "machine": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": torch.get_num_threads(),
        "device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
        "python": sys.version.split()[0],
    }


def reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (``VmHWM``; Linux ≥ 4.0).

    Without it the peak of a row in a sweep is the peak of every earlier row
    of the process too (and ``ru_maxrss``, which this cannot reset, even
    includes the parent's peak).
    """
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def peak_rss_mib() -> float:
    """Peak resident set size since the last :func:`reset_peak_rss`, in MiB.

    ``VmHWM`` from ``/proc/self/status``; where that is missing, the
    process-lifetime ``ru_maxrss`` (an upper bound)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return float(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def parse_params(items: list[str]) -> dict:
    """Parse ``key=value`` estimator overrides; values are read as Python literals."""
    import ast

    params = {}
    for item in items:
        key, _, value = item.partition("=")
        try:
            params[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            params[key] = value
    return params


def append_rows(name: str, rows: list[dict]) -> Path:
    """Append rows to ``benchmarks/results/<name>.json`` (a list of dicts).

    Benchmarks often run side by side (one per core): the read-modify-write
    holds an exclusive lock (POSIX; unlocked elsewhere) so no rows are lost.
    """
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    with open(RESULTS_DIR / f".{name}.lock", "w") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # pragma: no cover - not POSIX
            pass
        old = json.loads(path.read_text()) if path.exists() else []
        text = json.dumps(old + rows, indent=1, default=_jsonable) + "\n"
        path.write_text(text)
    return path


def _jsonable(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, tuple):
        return list(value)
    return str(value)


class Timer:
    """``with Timer() as t: ...`` then ``t.seconds``."""

    def __enter__(self):
        self.start = time.perf_counter()
        return self

    def __exit__(self, *exc):
        self.seconds = time.perf_counter() - self.start


def fixed_point_stats(ot) -> dict:
    """Inner-solver cost of a fitted estimator, overall and after 20 % of steps."""
    evals = np.asarray(ot.fixed_point_n_evals_)
    converged = np.asarray(ot.fixed_point_converged_)
    late = slice(len(evals) // 5, None)
    return {
        "fp_evals_mean": float(evals.mean()),
        "fp_evals_after_20pct": float(evals[late].mean()),
        "fp_evals_max_step": float(evals.max()),
        "fp_converged_min_step": float(converged.min()),
        "fp_converged_mean": float(converged.mean()),
        "fp_converged_after_20pct": float(converged[late].mean()),
    }


def inverse_solve_stats(ot, Y, tol: float) -> dict:
    """Cost of the fitted map's c-transform solves on ``Y`` at tolerance ``tol``.

    Runs the same solver as training with the given tolerance and counts the
    gradient evaluations per sample (every backtracking trial included).
    """
    from skfpot.core.losses import backward_map

    Z = (np.asarray(Y) - ot.mean_target_) / ot.scale_
    y = torch.as_tensor(Z, dtype=torch.float32)
    options = ot._solver_options()
    options["tol"] = tol
    with torch.no_grad():
        result = backward_map(ot.module_, y, None, **options)
    return {
        f"solve_evals_tol{tol:g}": float(result.n_evals.float().mean()),
        f"solve_converged_tol{tol:g}": float(result.converged.float().mean()),
        f"solve_residual_median_tol{tol:g}": float(result.residual.median()),
    }


def sweep_arguments(description: str, default_dims: list[int]):
    """Command-line arguments shared by the dimension sweeps."""
    import argparse

    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--dims", type=int, nargs="+", default=default_dims)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--n", type=int, default=2**17)
    parser.add_argument("--param", action="append", default=[])
    parser.add_argument("--method", default="FixedPointOT")
    parser.add_argument("--no-save", action="store_true")
    return parser.parse_args()


def fit_and_score(X, Y, X_test, Y_test, *, params: dict, seed: int) -> dict:
    """Fit FixedPointOT on (X, Y) and score both maps against the true pairs
    ``Y_test = T*(X_test)``: the metric part of a benchmark row."""
    from skfpot import FixedPointOT
    from skfpot.metrics import l2_uvp, transport_cosine

    ot = FixedPointOT(random_state=seed, **params)
    reset_peak_rss()  # the row's own peak (data included), not earlier rows'
    with Timer() as t, warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ot.fit(X, Y)
    fit_warnings = [f"{w.category.__name__}: {w.message}" for w in caught]
    for text in fit_warnings:  # shown, and kept in the row
        print(f"warning during fit: {text}", file=sys.stderr)
    T_hat = ot.transform(X_test)
    return {
        "n_samples": len(X),
        "uvp_fwd": l2_uvp(Y_test, T_hat),
        "uvp_inv": l2_uvp(X_test, ot.inverse_transform(Y_test)),
        "cosine_fwd": transport_cosine(X_test, Y_test, T_hat),
        "fit_seconds": t.seconds,
        "n_iter": ot.n_iter_,
        "peak_rss_mib": peak_rss_mib(),
        "params": params,
        "fixed_point_solver": ot.fixed_point_solver_,
        "convexity_penalty": ot.convexity_penalty,
        "convexity_penalty_rows": ot.convexity_penalty_rows,
        "second_start_switches": getattr(ot, "second_start_switches_", 0),
        # held-out duals: of the start, and of the best evaluation
        "start_validation_score": getattr(ot, "start_validation_score_", None),
        "best_validation_score": ot.best_validation_score_,
        "kept_start": getattr(ot, "kept_start_", None),  # the fit ended at its start
        "fit_warnings": fit_warnings,
        **fixed_point_stats(ot),
        **inverse_solve_stats(ot, Y_test, tol=1e-4),
        **machine(),
    }

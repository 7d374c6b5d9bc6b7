"""Head-to-head with POT: FixedPointOT vs POT's out-of-sample mapping estimators.

Same script, same machine, same data. For every problem, dimension ``d`` and
sample size ``n = m``, each method is fitted on ``n`` unpaired source and ``m``
target points and scored on 4096 fresh source points:

* ``fpot``: ``skfpot.FixedPointOT(random_state=seed)`` (default settings,
  ``--skfpot-param key=value`` overrides), ``transform`` / ``inverse_transform``.
* ``emd``: ``ot.da.EMDTransport(max_iter=2**31 - 1, log=True)``, exact discrete
  OT (network simplex) with POT's out-of-sample map (barycentric map of the
  nearest training point plus the offset to it, Ferradans et al. 2014). The run
  counts as failed if POT reports non-optimality (``log_["warning"]``, a
  ``"numItermax reached before optimality"`` warning, or a result code other
  than OPTIMAL); the duality gap and the dual feasibility are checked as well.
* ``sinkhorn``: ``ot.da.SinkhornTransport(reg_e=ε)`` in one or both of two
  variants (``--sinkhorn-method``): ``"sinkhorn"`` (the default, the plain
  Sinkhorn iteration) with ``out_of_sample_map="ferradans"``, the barycentric
  map of the nearest training point plus the offset to it, as for EMD; and
  ``"sinkhorn_log"`` with POT's default ``out_of_sample_map="continuous"``,
  the entropic map of Pooladian & Niles-Weed (2021) (POT forces the log
  domain for that map: it replaces ``"sinkhorn"`` with a warning). The
  first session's rows labelled only ``reg=…`` are the second variant.
  POT does not normalise the cost by default (``norm=None``), so
  ``ε = reg × mean(C)``, where ``mean(C)`` is the mean squared distance between
  the training source and target points (closed form, ``O(n d)``), for each
  ``--sinkhorn-reg`` value (default 0.01 and 0.03, the two best of 0.003,
  0.01, 0.03 and 0.1 on both problems at n = 1024, d = 8: 0.003 does not
  converge in 10**4 iterations, 0.1 is too biased; at n = 2048, 0.03 is the
  better one on the Gaussian and 0.01 on Mix3toMix10). POT's default
  tolerance ``tol=1e-8`` (marginal violation); a run that does not converge
  within ``--sinkhorn-max-iter`` iterations counts as failed.
* ``linear``: ``ot.da.LinearTransport()``, the closed-form OT map between the
  Gaussian fits of the two samples.

Problems: ``gaussian`` (W2GN pair, ``skfpot.datasets.make_gaussian_pair``,
closed-form maps) and ``mix3tomix10`` (Korotin et al. 2021, no closed-form
inverse: the inverse map is scored as ``Ŝ(T*(x))`` against ``x``). Metric:
forward and inverse L2-UVP in percent (DESIGN §6).

Each (method, problem, d, n) run is a separate subprocess (this script with
``--worker``). Peak memory is the peak RSS of the fit and the two transforms
(the kernel's high-water mark ``VmHWM``) minus the RSS after the imports and
the data generation (``VmRSS``); the high-water mark is reset (``/proc/self/
clear_refs``) just before the baseline, so that neither the data generation
nor the parent process hides it. (Before 2026-11-26 the peak was read from
``getrusage(RUSAGE_SELF).ru_maxrss``, which that reset does not clear and a
child inherits from its parent; the rows then were not affected, each child's
own peak being above the parent's, but where ``clear_refs`` is refused the
script still falls back to it.)

Before each EMD or Sinkhorn run the memory it needs is estimated from the
dense ``n × m`` arrays POT allocates (EMD: 41 bytes per entry in the fit and
up to ~46 in the out-of-sample maps, log-domain Sinkhorn: 65, plain Sinkhorn:
40; see ``BYTES_PER_ENTRY`` and ``SINKHORN_BYTES_PER_ENTRY``; measured at
n = 4096: EMD 45, Sinkhorn 65.0 and 40) and the run is skipped when that
exceeds ``--mem-cap-gib``. The run time is extrapolated from the two previous
sizes (log-log slope, clipped to [2, 3] for EMD and Sinkhorn) and the run is
skipped when the projection exceeds ``--time-cap-s``; a run that takes longer
than twice the cap is killed. Larger sizes need more, so a skip repeats for
them; after a failure the larger sizes of that method are skipped as well. The
byte counts are those of POT 0.9.7 with SciPy 1.17 (Sinkhorn's depend on
``scipy.special.logsumexp``); the ``estimated_mib`` of each row can be checked
against its measured ``peak_extra_mib``.

Honest caveat: ``LinearTransport`` is the exact OT map between the empirical
Gaussian fits, so on the Gaussian problem it is the right model class and
wins (its error is only the covariance estimation error, which vanishes as
``n`` grows). On Mix3toMix10 the optimal map is not linear and it stays at
the published "linear map" floor (about 27 % forward at d = 8).

Run::

    # quick check, nothing saved
    OMP_NUM_THREADS=1 python benchmarks/bench_pot.py --sizes 1024 2048 --no-save
    # full run: d = 8, n = 2**10 ... 2**18 and 2**20, both problems, all methods
    OMP_NUM_THREADS=1 python benchmarks/bench_pot.py
    python benchmarks/bench_pot.py --dims 16 --methods emd sinkhorn linear
    python benchmarks/bench_pot.py --skfpot-param max_iter=8000

Rows (keys ``benchmark, method, n_features, n_samples, seed, uvp_fwd, uvp_inv,
fit_seconds, peak_extra_mib, status`` and the machine facts, plus details) are
appended to ``benchmarks/results/pot.json`` as each run ends.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time

METHOD_NAMES = {
    "fpot": "FixedPointOT",
    "emd": "POT EMDTransport",
    "sinkhorn": "POT SinkhornTransport",
    "linear": "POT LinearTransport",
}
PROBLEMS = ("gaussian", "mix3tomix10")
DEFAULT_SIZES = [2**k for k in range(10, 19)] + [2**20]
N_TEST = 4096
EMD_MAX_ITER = 2**31 - 1
RESULT_PREFIX = "@@RESULT "

# Peak bytes per entry of the n x m cost matrix, counted from POT 0.9.7 (and
# SciPy 1.17) and checked against measured peaks (see the module docstring):
# EMD fit: cost_ and the coupling G (8 + 8, float64) in Python, plus the
#   network simplex arc arrays _cost, _flow (8 + 8), _source, _target (4 + 4)
#   and _state (1) in C++: 41.
# EMD out-of-sample transform (ot/da.py BaseTransport.transform): cost_,
#   coupling_, the row-normalised plan and its nan_to_num copy (4 x 8) and
#   nan_to_num's boolean masks (~6), plus a batch x n float64 distance block.
# Sinkhorn fit (log domain): cost_, Mr = -M/reg, the argument Mr + u of
#   scipy.special.logsumexp and five n x m temporaries inside it (exp(a) kept by
#   the wrapper, the copy with the maxima set to -inf, the float mask, a - a_max
#   and its exp), 8 float64 arrays, plus one boolean mask: 65. Its transform
#   works on 128 x m blocks only.
BYTES_PER_ENTRY = {"emd": 41, "sinkhorn": 65}
#: Sinkhorn per variant: log domain 65, plain iteration 40 (measured at
#: n = 4096, d = 8: 641 MiB beyond the data, 2026-11-26)
SINKHORN_BYTES_PER_ENTRY = {"sinkhorn_log": 65, "sinkhorn": 40}
#: the out-of-sample map run with each Sinkhorn method (see the docstring)
SINKHORN_MAPS = {"sinkhorn": "ferradans", "sinkhorn_log": "continuous"}
EMD_TRANSFORM_BYTES_PER_ENTRY = 38
# Run time ~ n^exponent: (default with a single smaller run, clip range of the
# exponent fitted on the last two runs). EMD's network simplex is cubic in the
# worst case but grew as n^1.3 (Mix3toMix10) and n^2.0 (Gaussian) from 4,096 to
# 16,384 points in d = 8 here (2026-11-26), so it is projected as quadratic; a
# Sinkhorn iteration costs n*m; FixedPointOT takes a fixed number of minibatch
# steps (only its validation set grows with n) and LinearTransport is O(n d^2).
TIME_EXPONENT = {
    "emd": (2.0, 1.0, 3.0),
    "sinkhorn": (2.0, 2.0, 3.0),
    "fpot": (0.0, 0.0, 1.0),
    "linear": (1.0, 0.0, 1.0),
}


# --------------------------------------------------------------------------
# worker: one (method, problem, d, n) run in its own process
# --------------------------------------------------------------------------


def _status_kib(key: str) -> float:
    """A ``/proc/self/status`` memory field (``VmRSS``, ``VmHWM``) in KiB."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return float(line.split()[1])
    raise KeyError(key)


def _release_free_memory() -> None:
    """Return freed heap pages to the OS (glibc ``malloc_trim``), if possible.

    Without it, memory freed during the data generation stays resident, the
    baseline includes it and a fit that reuses it looks smaller than it is.
    """
    import ctypes

    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _reset_peak_rss() -> bool:
    """Reset this process's RSS high-water mark (Linux ``clear_refs`` 5)."""
    try:
        with open("/proc/self/clear_refs", "w") as handle:
            handle.write("5")
        return True
    except OSError:
        return False


def _make_problem(name: str, d: int, seed: int):
    """The benchmark pair and its test data (source, images, inverse targets)."""
    from skfpot.datasets import load_mix3tomix10, make_gaussian_pair

    if name == "gaussian":
        problem = make_gaussian_pair(d, random_state=seed)
    else:
        problem = load_mix3tomix10(d)
    X_test = problem.sample_source(N_TEST, random_state=2000 + seed)
    Y_test = problem.forward_map(X_test)
    if hasattr(problem, "inverse_map"):
        X_back = problem.inverse_map(Y_test)
    else:
        X_back = X_test  # S*(T*(x)) = x
    return problem, X_test, Y_test, X_back


def _mean_sq_distance(X, Y) -> float:
    """Mean of the squared-distance cost matrix between ``X`` and ``Y``, O(n d)."""
    import numpy as np

    mx, my = X.mean(axis=0), Y.mean(axis=0)
    return float(
        np.mean(np.sum(X * X, axis=1)) + np.mean(np.sum(Y * Y, axis=1)) - 2 * mx @ my
    )


def _emd_checks(estimator) -> dict:
    """Optimality certificates of a fitted EMDTransport (after the measurement).

    Relative duality gap ``(<G, C> - <u, a> - <v, b>) / <G, C>`` and the worst
    dual violation ``min(C - u - v)`` relative to ``max C``, both ~1e-12 when
    optimal; computed in row blocks to stay small.
    """
    import numpy as np

    log = estimator.log_
    cost = estimator.cost_
    u, v = np.asarray(log["u"]), np.asarray(log["v"])
    a, b = np.asarray(estimator.mu_s), np.asarray(estimator.mu_t)
    primal = float(log["cost"])
    dual = float(u @ a + v @ b)
    violation = np.inf
    step = max(1, 2**24 // cost.shape[1])
    for start in range(0, cost.shape[0], step):
        block = cost[start : start + step] - u[start : start + step, None] - v
        violation = min(violation, float(block.min()))
    scale = float(cost.max())
    return {
        "emd_result_code": int(log["result_code"]),
        "emd_duality_gap_rel": (primal - dual) / primal,
        "emd_dual_violation_rel": min(0.0, violation) / scale,
    }


def _emd_batch(n: int) -> int:
    """Batch size of EMD's out-of-sample maps.

    POT recomputes the n x m normalised plan for every batch, so one batch of
    at most n rows (its distance block is at most one more n x m array).
    """
    return min(N_TEST, n)


def _build(method: str, spec: dict, X, Y):
    """The estimator of ``method`` and its parameters (as recorded)."""
    if method == "fpot":
        from skfpot import FixedPointOT

        params = dict(spec["skfpot_params"])
        return FixedPointOT(random_state=spec["seed"], **params), params
    import ot

    if method == "emd":
        params = {"max_iter": EMD_MAX_ITER, "log": True}
        return ot.da.EMDTransport(**params), params
    if method == "sinkhorn":
        scale = _mean_sq_distance(X, Y)
        params = {
            "method": spec["sinkhorn_method"],
            "out_of_sample_map": SINKHORN_MAPS[spec["sinkhorn_method"]],
            "reg_e": spec["sinkhorn_reg"] * scale,
            "max_iter": spec["sinkhorn_max_iter"],
            "tol": spec["sinkhorn_tol"],
            "log": True,
        }
        return ot.da.SinkhornTransport(**params), {
            **params,
            "reg_rel": spec["sinkhorn_reg"],
            "mean_cost": scale,
        }
    if method == "linear":
        return ot.da.LinearTransport(), {}
    raise ValueError(method)


def worker(spec: dict) -> dict:
    """Fit and score one method on one problem; return the measured row."""
    import gc
    import resource
    import warnings

    import numpy as np

    from skfpot.metrics import l2_uvp

    method, n, seed = spec["method"], spec["n"], spec["seed"]
    problem, X_test, Y_test, X_back = _make_problem(spec["problem"], spec["d"], seed)
    X, Y = problem.sample(n, random_state=1000 + seed)
    estimator, params = _build(method, spec, X, Y)  # imports before the baseline
    from _common import _COMMIT_AT_START, warm_up_torch

    if method == "fpot":  # torch's lazy imports before the baseline, too
        warm_up_torch()

    gc.collect()
    _release_free_memory()
    reset = _reset_peak_rss()
    baseline_kib = _status_kib("VmRSS")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        start = time.perf_counter()
        if method == "fpot":
            estimator.fit(X, Y)
        else:
            estimator.fit(Xs=X, Xt=Y)
        fit_seconds = time.perf_counter() - start
        start = time.perf_counter()
        if method == "fpot":
            T_hat = estimator.transform(X_test)
            S_hat = estimator.inverse_transform(Y_test)
        else:
            batch = _emd_batch(n) if method == "emd" else 128
            T_hat = estimator.transform(Xs=X_test, batch_size=batch)
            S_hat = estimator.inverse_transform(Xt=Y_test, batch_size=batch)
        transform_seconds = time.perf_counter() - start
    peak_kib = (
        _status_kib("VmHWM")
        if reset
        else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    )
    messages = sorted({str(w.message)[:200] for w in caught})

    row = {
        "uvp_fwd": l2_uvp(Y_test, T_hat),
        "uvp_inv": l2_uvp(X_back, S_hat),
        "fit_seconds": fit_seconds,
        "transform_seconds": transform_seconds,
        "peak_extra_mib": (peak_kib - baseline_kib) / 1024,
        "baseline_rss_mib": baseline_kib / 1024,
        "peak_reset": reset,
        "params": params,
        "warnings": messages,
        "status": "ok",
        "worker_git_commit": _COMMIT_AT_START,
    }
    if not (np.all(np.isfinite(T_hat)) and np.all(np.isfinite(S_hat))):
        row["status"] = "failed: non-finite transported points"
    if method == "emd":
        row.update(_emd_checks(estimator))
        not_optimal = [m for m in messages if "numItermax" in m]
        if estimator.log_["warning"] is not None or not_optimal:
            note = estimator.log_["warning"] or not_optimal[0]
            row["status"] = f"failed: not optimal ({note})"
        elif row["emd_result_code"] != 1:
            row["status"] = f"failed: result code {row['emd_result_code']}"
    elif method == "sinkhorn":
        log = estimator.log_
        row["sinkhorn_niter"] = int(log["niter"])
        row["sinkhorn_marginal_err"] = float(log["err"][-1])
        if any("did not converge" in m for m in messages):
            row["status"] = (
                f"failed: Sinkhorn did not converge in {params['max_iter']} "
                f"iterations (marginal error {row['sinkhorn_marginal_err']:.1e})"
            )
    elif method == "fpot":
        row["n_iter"] = int(estimator.n_iter_)
        row["kept_start"] = bool(getattr(estimator, "kept_start_", False))
    return row


# --------------------------------------------------------------------------
# driver
# --------------------------------------------------------------------------


def estimate_mib(
    method: str, n: int, d: int, sinkhorn_method: str = "sinkhorn_log"
) -> float | None:
    """Projected peak extra memory (MiB) of EMD/Sinkhorn; None for the others."""
    if method not in BYTES_PER_ENTRY:
        return None
    per_entry = BYTES_PER_ENTRY[method]
    if method == "sinkhorn":
        per_entry = SINKHORN_BYTES_PER_ENTRY[sinkhorn_method]
    entries = per_entry * n * n
    if method == "emd":
        block = 8 * _emd_batch(n) * n
        entries = max(entries, EMD_TRANSFORM_BYTES_PER_ENTRY * n * n + block)
    return (entries + 4 * n * d * 8) / 2**20


def project_seconds(method: str, n: int, history: list[tuple[int, float]]):
    """Extrapolated run time at ``n`` from the previous (n, seconds) runs.

    Returns ``(seconds, exponent)`` or ``(None, None)`` without history. The
    exponent is the log-log slope of the last two runs, clipped per method;
    with a single run the method's default exponent is used.
    """
    if not history:
        return None, None
    default, low, high = TIME_EXPONENT[method]
    n1, t1 = history[-1]
    exponent = default
    if len(history) >= 2:
        n0, t0 = history[-2]
        if n1 > n0 and t0 > 0 and t1 > 0:
            exponent = math.log(t1 / t0) / math.log(n1 / n0)
    exponent = min(max(exponent, low), high)
    return t1 * (n / n1) ** exponent, exponent


def run_worker(spec: dict, timeout: float) -> dict:
    """Run one measurement in a fresh interpreter; parse its JSON line."""
    command = [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)]
    try:
        proc = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return {"status": f"failed: killed after {timeout:.0f} s (2 x time cap)"}
    for line in reversed(proc.stdout.splitlines()):
        if line.startswith(RESULT_PREFIX):
            return json.loads(line[len(RESULT_PREFIX) :])
    if proc.returncode < 0:
        reason = f"killed by signal {-proc.returncode}"
        if proc.returncode == -9:
            reason += " (out of memory?)"
    else:
        tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        reason = f"exit code {proc.returncode}: {tail[:200]}"
    return {"status": f"failed: {reason}"}


def variants(args) -> list[tuple[str, str, dict]]:
    """``(label, method, spec)`` of every compared estimator.

    Sinkhorn gives one variant per ``--sinkhorn-reg`` value.
    """
    out = []
    for method in args.methods:
        if method == "sinkhorn":
            for kind in args.sinkhorn_method:
                for reg in args.sinkhorn_reg:
                    label = (
                        f"{METHOD_NAMES[method]}({kind}, {SINKHORN_MAPS[kind]}) "
                        f"reg={reg:g}"
                    )
                    spec = {"sinkhorn_reg": reg, "sinkhorn_method": kind}
                    out.append((label, method, spec))
        else:
            out.append((METHOD_NAMES[method], method, {}))
    return out


def skip_reason(method, n, d, history, args, variant=None) -> tuple[str | None, dict]:
    """Why a run must be skipped (or None) and the estimates behind it."""
    kind = (variant or {}).get("sinkhorn_method", "sinkhorn_log")
    estimate = estimate_mib(method, n, d, kind)
    projected, exponent = project_seconds(method, n, history)
    extra = {"estimated_mib": estimate, "projected_seconds": projected}
    if estimate is not None and estimate > args.mem_cap_gib * 1024:
        return (
            f"skipped: would need {estimate / 1024:.2f} GiB "
            f"> cap {args.mem_cap_gib:g} GiB",
            extra,
        )
    if projected is not None and projected > args.time_cap_s:
        return (
            f"skipped: projected {projected:.0f} s > cap {args.time_cap_s:g} s "
            f"(from n={history[-1][0]}, time ~ n^{exponent:.2f})",
            extra,
        )
    return None, extra


def _fmt(value, width: int, decimals: int) -> str:
    """A right-aligned number, or ``-`` when missing."""
    return f"{'-':>{width}}" if value is None else f"{value:>{width}.{decimals}f}"


def _detail(row: dict) -> str:
    """A short solver detail for the table (iterations, optimality gap)."""
    if "sinkhorn_niter" in row:  # POT's log["niter"] is the last 0-based index
        return f"it={row['sinkhorn_niter'] + 1}"
    if "emd_duality_gap_rel" in row:
        return f"gap={row['emd_duality_gap_rel']:.0e}"
    if "n_iter" in row:
        return f"steps={row['n_iter']}" + (" start" if row.get("kept_start") else "")
    return ""


HEADER = (
    f"{'method':<56} {'problem':<12} {'d':>3} {'n':>8} {'fwd %':>8} {'inv %':>8} "
    f"{'fit s':>8} {'peak MiB':>9} {'detail':>10}  status"
)


def print_row(row: dict) -> None:
    """One line of the results table."""
    print(
        f"{row['method']:<56} {row['benchmark']:<12} {row['n_features']:>3} "
        f"{row['n_samples']:>8} {_fmt(row['uvp_fwd'], 8, 3)} "
        f"{_fmt(row['uvp_inv'], 8, 3)} {_fmt(row['fit_seconds'], 8, 2)} "
        f"{_fmt(row['peak_extra_mib'], 9, 1)} {_detail(row):>10}  {row['status']}",
        flush=True,
    )


def print_stops(rows: list[dict]) -> None:
    """Where each method stops: largest n run ok, first n not run ok."""
    print("\nwhere each method stops on this machine:")
    groups: dict[tuple, list[dict]] = {}
    for row in rows:
        key = (row["method"], row["benchmark"], row["n_features"])
        groups.setdefault(key, []).append(row)
    for (label, problem, d), mine in groups.items():
        ok = [r["n_samples"] for r in mine if r["status"] == "ok"]
        bad = next((r for r in mine if r["status"] != "ok"), None)
        stop = f"n={bad['n_samples']} {bad['status']}" if bad else "ran every size"
        print(
            f"  {label:<30} {problem:<12} d={d:<3} "
            f"largest n ok: {max(ok) if ok else '-'}; {stop}"
        )


def main(argv=None) -> None:
    """Parse the options, run every (problem, d, n, method) and report."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    parser.add_argument("--problems", nargs="+", choices=PROBLEMS, default=PROBLEMS)
    parser.add_argument("--dims", type=int, nargs="+", default=[8])
    parser.add_argument("--sizes", type=int, nargs="+", default=DEFAULT_SIZES)
    parser.add_argument(
        "--methods", nargs="+", choices=list(METHOD_NAMES), default=list(METHOD_NAMES)
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--mem-cap-gib",
        type=float,
        default=16.0,
        help="skip EMD/Sinkhorn runs whose estimated memory exceeds this",
    )
    parser.add_argument(
        "--time-cap-s",
        type=float,
        default=1200.0,
        help="skip runs whose projected time exceeds this; kill at twice it",
    )
    parser.add_argument(
        "--sinkhorn-reg",
        type=float,
        nargs="+",
        default=[0.01, 0.03],
        help="entropic regularisation(s) relative to the mean squared distance",
    )
    parser.add_argument(
        "--sinkhorn-method",
        nargs="+",
        choices=sorted(SINKHORN_MAPS),
        default=["sinkhorn"],
        help="SinkhornTransport method(s); each with its out-of-sample map "
        "(sinkhorn: ferradans, sinkhorn_log: continuous)",
    )
    parser.add_argument("--sinkhorn-max-iter", type=int, default=10000)
    parser.add_argument("--sinkhorn-tol", type=float, default=1e-8)
    parser.add_argument(
        "--skfpot-param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="FixedPointOT parameter override (repeatable)",
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)

    if args.worker is not None:
        result = worker(json.loads(args.worker))
        print(RESULT_PREFIX + json.dumps(result, default=float), flush=True)
        return

    from _common import adopt_worker_commit, append_rows, machine, parse_params

    facts = {**machine(), "omp_num_threads": os.environ.get("OMP_NUM_THREADS")}
    skfpot_params = parse_params(args.skfpot_param)
    print(facts)
    print(
        f"caps: memory {args.mem_cap_gib:g} GiB, time {args.time_cap_s:g} s; "
        f"skfpot params: {skfpot_params or 'default'}; Sinkhorn reg_e = reg x mean "
        f"squared distance, tol {args.sinkhorn_tol:g}, "
        f"max_iter {args.sinkhorn_max_iter}"
    )
    print(HEADER)
    print("-" * len(HEADER))

    rows = []
    history: dict[tuple, list[tuple[int, float]]] = {}
    failed: dict[tuple, int] = {}
    for problem in args.problems:
        for d in args.dims:
            for n in sorted(args.sizes):
                for label, method, variant in variants(args):
                    key = (problem, d, label)
                    row = {
                        "benchmark": problem,
                        "method": label,
                        "n_features": d,
                        "n_samples": n,
                        "seed": args.seed,
                        "uvp_fwd": None,
                        "uvp_inv": None,
                        "fit_seconds": None,
                        "peak_extra_mib": None,
                    }
                    status, extra = skip_reason(
                        method, n, d, history.get(key, []), args, variant
                    )
                    if key in failed:
                        status = f"skipped: failed at n={failed[key]}"
                    row.update(extra)
                    if status is not None:
                        row["status"] = status
                    else:
                        spec = {
                            "method": method,
                            "problem": problem,
                            "d": d,
                            "n": n,
                            "seed": args.seed,
                            "skfpot_params": skfpot_params,
                            "sinkhorn_max_iter": args.sinkhorn_max_iter,
                            "sinkhorn_tol": args.sinkhorn_tol,
                            **variant,
                        }
                        start = time.perf_counter()
                        row.update(run_worker(spec, timeout=2 * args.time_cap_s))
                        row["wall_seconds"] = time.perf_counter() - start
                        if row["status"] == "ok":
                            spent = row["fit_seconds"] + row["transform_seconds"]
                            history.setdefault(key, []).append((n, spent))
                        else:
                            failed[key] = n
                    row.update(facts)
                    adopt_worker_commit(row)
                    rows.append(row)
                    print_row(row)
                    if not args.no_save:
                        append_rows("pot", [row])
    print_stops(rows)


if __name__ == "__main__":
    main()

"""Head-to-head on Mix3toMix10: FixedPointOT against the [MM] min–max baseline.

Same data (n = m = 2**17 points from ``problem.sample(n, random_state=1000 +
seed)``), same network widths and batch size for both methods, scored on
``X_test = problem.sample_source(4096, random_state=2000 + seed)``:

(a) **time to target**: wall time (evaluation excluded, set-up and pre-training
    included) until the forward L2-UVP first reaches ``--target`` percent,
    checked every ``--eval-every`` optimizer steps; median over seeds. For
    FixedPointOT the check is a skorch callback that maps the test points
    through the live potential exactly as ``transform`` does (verified against
    ``transform`` after training); for MM it is :func:`minmax_ot.fit_minmax`'s
    ``eval_fn``. One MM step is one update of ``f`` and ``--inner-steps``
    updates of ``g``; one FixedPointOT step is one update of φ with its
    c-transform solve.
(b) **peak memory**: each method trains ``--mem-steps`` steps in a fresh
    subprocess; reported is the peak resident set size minus the resident set
    size after imports and data loading (the kernel's peak counter is reset
    there through ``/proc/self/clear_refs`` when allowed; ``ru_maxrss`` is
    reported too).

Prints the ratios MM/ours for time and ours/MM for memory (the issue's targets:
≥ 3× less time and ≤ 0.6× the peak memory) and appends rows to
``benchmarks/results/head_to_head.json``. FixedPointOT runs with its documented
parameters only: ``hidden_layer_sizes``, ``batch_size``, ``early_stopping=False``,
``learning_rate_schedule="constant"``, ``max_iter``, ``random_state`` and
``fixed_point_solver`` (``--solver``, default ``"lbfgs"``, the solver with O(d)
state per row, in the time race and the memory run alike; the estimator's
default ``"auto"`` picks dense BFGS at d = 8, which carries ``d (d + 1)``
bytes per training row of Y, ``2 d²`` before its cache kept the upper
triangle only). ``--param key=value`` (repeatable) overrides any other
FixedPointOT parameter, in the race and the memory run alike; the rows record
the overrides.

Default widths are [MM]'s published DenseICNN widths at d = 8, (64, 64, 32),
and its batch size 1024. Timings need an unshared CPU; run e.g.::

    python benchmarks/bench_head_to_head.py --dims 8 --seeds 0 1 2 --threads 1

Smoke test::

    python benchmarks/bench_head_to_head.py --seeds 0 --target 30 \\
        --max-steps 200 --mem-steps 20 --no-save
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from _common import (
    _COMMIT_AT_START,
    adopt_worker_commit,
    append_rows,
    machine,
    parse_params,
    warm_up_torch,
)
from minmax_ot import fit_minmax, forward_map
from skorch.callbacks import Callback

from skfpot import FixedPointOT
from skfpot.core.losses import forward_map as fp_forward_map
from skfpot.datasets import load_mix3tomix10
from skfpot.metrics import l2_uvp


# --------------------------------------------------------------------- data
def load_data(d: int, seed: int, n: int) -> tuple[np.ndarray, ...]:
    """Training pair and paired test points of the benchmark's protocol."""
    problem = load_mix3tomix10(d)
    X, Y = problem.sample(n, random_state=1000 + seed)
    X_test = problem.sample_source(4096, random_state=2000 + seed)
    return X, Y, X_test, problem.forward_map(X_test)


# ----------------------------------------------------------- FixedPointOT race
class _Stop(KeyboardInterrupt):
    """Ends a skorch fit early; skorch catches KeyboardInterrupt and finishes."""


def estimator_forward(ot: FixedPointOT, module: torch.nn.Module, X: np.ndarray):
    """``ot.transform(X)`` computed with ``module`` (the live potential).

    ``mean_source_``, ``mean_target_`` and ``scale_`` are set by ``fit`` before
    training starts; the potential works in standardised units.
    """
    z = torch.as_tensor((X - ot.mean_source_) / ot.scale_, dtype=torch.float32)
    device = next(module.parameters()).device
    t = fp_forward_map(module, z.to(device)).cpu().numpy().astype(np.float64)
    return ot.mean_target_ + ot.scale_ * t


class UVPTracker(Callback):
    """Forward L2-UVP every ``eval_every`` optimizer steps, off the clock.

    ``start`` must be set (``time.perf_counter()``) just before ``fit``; the
    recorded seconds are the time since then minus the time spent here.
    Raises :class:`_Stop` when the target or the time limit is reached.
    """

    def __init__(self, ot, X_test, Y_test, eval_every, target, time_limit):
        self.ot = ot
        self.X_test, self.Y_test = X_test, Y_test
        self.eval_every = eval_every
        self.target = target
        self.time_limit = time_limit
        self.start = None

    def initialize(self):
        self.step_ = 0
        self.eval_seconds_ = 0.0
        self.history_ = []
        self.reached_ = None
        self.pending_stop_ = False
        return self

    def _evaluate(self, net):
        t0 = time.perf_counter()
        seconds = t0 - self.start - self.eval_seconds_
        uvp = l2_uvp(self.Y_test, estimator_forward(self.ot, net.module_, self.X_test))
        self.history_.append({"step": self.step_, "seconds": seconds, "uvp_fwd": uvp})
        self.eval_seconds_ += time.perf_counter() - t0
        if uvp <= self.target and self.reached_ is None:
            self.reached_ = self.history_[-1]
            raise _Stop
        if self.time_limit is not None and seconds >= self.time_limit:
            raise _Stop

    def on_train_begin(self, net, **kwargs):
        # skorch only catches the interrupt inside its loop: defer it
        try:
            self._evaluate(net)
        except _Stop:
            self.pending_stop_ = True

    def on_batch_end(self, net, batch=None, training=False, **kwargs):
        if not training:
            return
        if self.pending_stop_:
            raise _Stop
        self.step_ += 1
        if self.step_ % self.eval_every == 0:
            self._evaluate(net)


def race_ours(
    data,
    *,
    hidden,
    batch_size,
    max_steps,
    seed,
    target,
    eval_every,
    time_limit,
    solver,
    params=None,
) -> dict:
    """Train FixedPointOT until the forward L2-UVP reaches ``target``."""
    X, Y, X_test, Y_test = data
    ot = FixedPointOT(
        fixed_point_solver=solver,
        hidden_layer_sizes=hidden,
        batch_size=batch_size,
        early_stopping=False,
        learning_rate_schedule="constant",
        max_iter=max_steps,
        random_state=seed,
        **(params or {}),
    )
    tracker = UVPTracker(ot, X_test, Y_test, eval_every, target, time_limit)
    ot.set_params(callbacks=[("uvp_tracker", tracker)])
    tracker.start = time.perf_counter()
    ot.fit(X, Y)
    wall = time.perf_counter() - tracker.start
    check = np.abs(estimator_forward(ot, ot.module_, X_test) - ot.transform(X_test))
    reached = tracker.reached_
    return {
        "time_to_target": reached["seconds"] if reached else None,
        "steps_to_target": reached["step"] if reached else None,
        "n_steps": tracker.step_,
        "train_seconds": wall - tracker.eval_seconds_,
        "uvp_fwd_last": tracker.history_[-1]["uvp_fwd"],
        "callback_map_max_abs_diff": float(check.max()),
        "history": [
            [r["step"], round(r["seconds"], 3), r["uvp_fwd"]] for r in tracker.history_
        ],
    }


def race_mm(
    data,
    *,
    hidden,
    batch_size,
    max_steps,
    seed,
    target,
    eval_every,
    time_limit,
    inner_steps,
) -> dict:
    """Train the [MM] baseline until the forward L2-UVP reaches ``target``."""
    X, Y, X_test, Y_test = data

    def eval_fn(f, g):
        return l2_uvp(Y_test, forward_map(f, X_test)), float("nan")

    res = fit_minmax(
        X,
        Y,
        hidden_sizes=hidden,
        batch_size=batch_size,
        max_steps=max_steps,
        inner_steps=inner_steps,
        seed=seed,
        eval_fn=eval_fn,
        eval_every=eval_every,
        time_limit=time_limit,
        target_uvp=target,
    )
    reached = next((r for r in res.history if r["uvp_fwd"] <= target), None)
    return {
        "time_to_target": reached["seconds"] if reached else None,
        "steps_to_target": reached["step"] if reached else None,
        "n_steps": res.n_steps,
        "train_seconds": res.train_seconds,
        "pretrain_seconds": res.pretrain_seconds,
        "uvp_fwd_last": res.history[-1]["uvp_fwd"],
        "history": [
            [r["step"], round(r["seconds"], 3), r["uvp_fwd"]] for r in res.history
        ],
    }


# ------------------------------------------------------------------- memory
def _status_kib(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return float(line.split()[1])
    except OSError:
        pass
    return None


class _AnonPeak:
    """Samples ``RssAnon`` (anonymous resident memory) in a thread; keeps the max.

    File-backed pages (the parts of libtorch a method happens to execute) count
    in the RSS but are not memory the method allocates; this isolates the heap.
    :meth:`mark` splits the record at the start of the training loop.
    """

    def __init__(self, interval: float = 0.002):
        import threading

        self.interval = interval
        self.peak = _status_kib("RssAnon") or 0.0
        self.setup_peak = self.loop_start = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _sample(self):
        with self._lock:
            self.peak = max(self.peak, _status_kib("RssAnon") or 0.0)

    def _run(self):
        while not self._stop.is_set():
            self._sample()
            time.sleep(self.interval)

    def mark(self):
        """Close the set-up phase: keep its peak, restart from the current level."""
        if self.loop_start is not None:
            return
        with self._lock:
            now = _status_kib("RssAnon") or 0.0
            self.setup_peak = max(self.peak, now)
            self.loop_start = self.peak = now

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()
        self._sample()


class _MarkLoopStart(Callback):
    """Marks the start of FixedPointOT's training loop for :class:`_AnonPeak`."""

    def __init__(self, anon):
        self.anon = anon

    def on_train_begin(self, net, **kwargs):
        self.anon.mark()


def memory_child(args: argparse.Namespace) -> None:
    """Subprocess body: load data, reset the peak, train, print a JSON line.

    Reports (MiB): the peak RSS of the whole ``fit`` above the RSS before it
    (kernel counter ``VmHWM`` reset through ``/proc/self/clear_refs``), and
    from a sampled anonymous-memory trace: the peak of the whole fit, of its
    set-up (standardisation, copies, initialisation; MM: pre-training) and of
    the training loop above the level at the loop's start.
    """
    if args.threads:
        torch.set_num_threads(args.threads)
    with np.load(args.child_data) as f:
        X, Y = f["X"], f["Y"]
    warm_up_torch()
    hidden = tuple(args.hidden)
    params = parse_params(args.param)

    def fit(method, X, Y, steps, anon=None):
        if method == "ours":
            extra = [("mark", _MarkLoopStart(anon))] if anon else []
            FixedPointOT(
                fixed_point_solver=args.solver,
                hidden_layer_sizes=hidden,
                batch_size=args.batch_size,
                early_stopping=False,
                learning_rate_schedule="constant",
                max_iter=steps,
                random_state=0,
                callbacks=extra,
                **params,
            ).fit(X, Y)
        else:

            def mark(f, g):  # called once, after pre-training
                if anon:
                    anon.mark()
                return float("nan"), float("nan")

            fit_minmax(
                X,
                Y,
                hidden_sizes=hidden,
                batch_size=args.batch_size,
                max_steps=steps,
                inner_steps=args.inner_steps,
                seed=0,
                eval_fn=mark,
                eval_every=steps + 1,
            )

    if args.warm_up_fit:  # page in the method's own code before the baseline
        fit(args.child_method, X[:512], Y[:512], 3)
    gc.collect()
    try:  # reset the kernel's peak-RSS counter (VmHWM), Linux ≥ 4.0
        Path("/proc/self/clear_refs").write_text("5")
        reset = True
    except OSError:
        reset = False
    base = _status_kib("VmRSS")
    base_anon = _status_kib("RssAnon") or 0.0
    with _AnonPeak() as anon:
        fit(args.child_method, X, Y, args.mem_steps, anon)
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    hwm = _status_kib("VmHWM") if reset else None
    peak = hwm if hwm is not None else maxrss
    mib = 1 / 1024
    print(
        json.dumps(
            {
                "method": args.child_method,
                "baseline_rss_mib": base * mib if base else None,
                "peak_rss_mib": peak * mib,
                "peak_minus_baseline_mib": (peak - (base or 0)) * mib,
                "anon_peak_mib": (max(anon.peak, anon.setup_peak) - base_anon) * mib,
                "anon_setup_peak_mib": (anon.setup_peak - base_anon) * mib,
                "anon_loop_start_mib": (anon.loop_start - base_anon) * mib,
                "anon_loop_growth_mib": (anon.peak - anon.loop_start) * mib,
                "hwm_reset": reset,
                "malloc_mmap_threshold": os.environ.get("MALLOC_MMAP_THRESHOLD_"),
                "warm_up_fit": bool(args.warm_up_fit),
                "worker_git_commit": _COMMIT_AT_START,
            }
        )
    )


def measure_memory(method: str, data_path: str, args: argparse.Namespace) -> dict:
    """Run :func:`memory_child` for ``method`` in a fresh interpreter."""
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child-method",
        method,
        "--child-data",
        data_path,
        "--mem-steps",
        str(args.mem_steps),
        "--batch-size",
        str(args.batch_size),
        "--inner-steps",
        str(args.inner_steps),
        "--solver",
        args.solver,
        "--hidden",
        *map(str, args.hidden),
    ]
    for item in args.param:
        cmd += ["--param", item]
    if args.threads:
        cmd += ["--threads", str(args.threads)]
    if args.warm_up_fit:
        cmd += ["--warm-up-fit"]
    # a fixed mmap threshold makes glibc return freed large arrays at once, so
    # the RSS follows the live allocations instead of the allocator's history
    env = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(args.mmap_threshold)}
    out = subprocess.run(cmd, check=True, capture_output=True, text=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


# --------------------------------------------------------------------- main
def _median(values):
    vals = [v if v is not None else np.inf for v in values]
    return float(np.median(vals))


def main() -> None:
    """Run the races and the memory measurements; print the ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dims", type=int, nargs="+", default=[8])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--n", type=int, default=2**17)
    parser.add_argument("--hidden", type=int, nargs="+", default=[64, 64, 32])
    parser.add_argument("--batch-size", type=int, default=1024)
    parser.add_argument("--inner-steps", type=int, default=15)
    parser.add_argument(
        "--solver", default="lbfgs", help="FixedPointOT's fixed_point_solver"
    )
    parser.add_argument("--target", type=float, default=5.0, help="forward UVP, %%")
    parser.add_argument("--eval-every", type=int, default=25)
    parser.add_argument("--max-steps", type=int, default=50_000)
    parser.add_argument("--time-limit", type=float, default=3600.0)
    parser.add_argument("--mem-steps", type=int, default=200)
    parser.add_argument("--mmap-threshold", type=int, default=128 * 1024)
    parser.add_argument("--methods", nargs="+", default=["ours", "mm"])
    parser.add_argument("--skip-time", action="store_true")
    parser.add_argument("--skip-memory", action="store_true")
    parser.add_argument(
        "--warm-up-fit",
        action="store_true",
        help="before the baseline, each child runs a 3-step fit of its own "
        "method on 512 points (pages in that method's code, so the peak counts "
        "only memory that depends on the problem)",
    )
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a FixedPointOT parameter in the race and the memory run "
        "alike (repeatable; values read as Python literals)",
    )
    parser.add_argument("--no-save", action="store_true")
    parser.add_argument("--child-method", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--child-data", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child_method:
        memory_child(args)
        return
    if args.threads:
        torch.set_num_threads(args.threads)
    hidden = tuple(args.hidden)
    params = parse_params(args.param)
    print(machine(), flush=True)
    # torch.optim's lazy import of torch._dynamo (the baseline's Adam; ours
    # does not need it) stays out of the first race's clock
    warm_up_torch()
    common = {
        "benchmark": "mix3tomix10",
        "hidden_sizes": list(hidden),
        "batch_size": args.batch_size,
        "inner_steps_mm": args.inner_steps,
        "fixed_point_solver": args.solver,
        "fpot_params": params,
        "target_uvp": args.target,
        "eval_every": args.eval_every,
        **machine(),
    }
    rows = []
    for d in args.dims:
        times = {m: [] for m in args.methods}
        mem = {}
        for seed in args.seeds:
            data = load_data(d, seed, args.n)
            if not args.skip_time:
                for m in args.methods:
                    kw = dict(
                        hidden=hidden,
                        batch_size=args.batch_size,
                        max_steps=args.max_steps,
                        seed=seed,
                        target=args.target,
                        eval_every=args.eval_every,
                        time_limit=args.time_limit,
                    )
                    if m == "ours":
                        r = race_ours(data, solver=args.solver, params=params, **kw)
                    else:
                        r = race_mm(data, inner_steps=args.inner_steps, **kw)
                    times[m].append(r["time_to_target"])
                    check = r.get("callback_map_max_abs_diff")
                    t = r["time_to_target"]
                    print(
                        f"d={d} seed={seed} {m:>4}: time to {args.target}% = "
                        + ("not reached" if t is None else f"{t:.1f} s")
                        + f" at step {r['steps_to_target']} "
                        f"(last UVP {r['uvp_fwd_last']:.2f}%, {r['n_steps']} steps"
                        + ("" if check is None else f", callback map check {check:.1e}")
                        + ")",
                        flush=True,
                    )
                    rows.append(
                        {
                            **common,
                            "kind": "time",
                            "method": m,
                            "n_features": d,
                            "seed": seed,
                            **r,
                        }
                    )
            if not args.skip_memory and seed == args.seeds[0]:
                with tempfile.TemporaryDirectory() as tmp:
                    path = os.path.join(tmp, "data.npz")
                    np.savez(path, X=data[0], Y=data[1])
                    for m in args.methods:
                        mem[m] = measure_memory(m, path, args)
                        print(f"d={d} {m:>4}: memory {mem[m]}", flush=True)
                        row = {
                            **common,
                            "kind": "memory",
                            "method": m,
                            "n_features": d,
                            "mem_steps": args.mem_steps,
                            **mem[m],
                        }
                        adopt_worker_commit(row)
                        rows.append(row)
        print(f"\n=== d = {d}, widths {hidden}, batch {args.batch_size} ===")
        if not args.skip_time and {"ours", "mm"} <= set(times):
            t_ours, t_mm = _median(times["ours"]), _median(times["mm"])
            print(
                f"median time to {args.target}%: ours {t_ours:.1f} s, MM {t_mm:.1f} s"
            )
            print(f"time ratio MM / ours: {t_mm / t_ours:.2f}  (target >= 3)")
        if mem and {"ours", "mm"} <= set(mem):
            m_ours = mem["ours"]["peak_minus_baseline_mib"]
            m_mm = mem["mm"]["peak_minus_baseline_mib"]
            print(
                f"peak memory above baseline: ours {m_ours:.1f} MiB, MM {m_mm:.1f} MiB"
            )
            print(f"memory ratio ours / MM: {m_ours / m_mm:.2f}  (target <= 0.6)")
            for key, label in (
                ("anon_peak_mib", "anonymous (heap) peak of fit"),
                ("anon_setup_peak_mib", "  of which set-up peak"),
                ("anon_loop_growth_mib", "  training-loop growth"),
            ):
                a_ours, a_mm = mem["ours"][key], mem["mm"][key]
                print(
                    f"{label}: ours {a_ours:.1f} MiB, MM {a_mm:.1f} MiB, "
                    f"ratio ours / MM {a_ours / max(a_mm, 1e-9):.2f}"
                )
    if rows and not args.no_save:
        append_rows("head_to_head", rows)


if __name__ == "__main__":
    main()

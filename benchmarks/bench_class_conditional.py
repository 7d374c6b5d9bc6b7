"""Class-conditional benchmark: one network, one transport map per class.

The problem is :func:`skfpot.datasets.make_class_gaussian_pairs` (three
classes in d = 8 by default): class ``k`` of the source is a Gaussian
``N(m_k, S_k)`` and must travel to the target Gaussian of the same class,
whose mean is the source mean of class ``k + 1`` (5 units away), so every
class crosses the others while the pooled source and target mixtures nearly
coincide. The exact per-class maps are known in closed form.

For every seed the script draws a new problem and an unpaired labelled
training pair (``--n`` source and ``--n`` target rows in total, about a third
per class), then fits

- :class:`~skfpot.ClassConditionalFixedPointOT` with ``conditioning="film"``
  and with ``conditioning="embedding"`` on the labelled pair, and
- :class:`~skfpot.FixedPointOT` on the pooled pair, ignoring the labels,

all with the same settings (the estimators' defaults unless ``--param`` says
otherwise). It reports, for every class, the L2-UVP (percent of the class's
target variance, :func:`skfpot.metrics.l2_uvp`) of the forward map on fresh
source draws and of the inverse map on fresh target draws against the exact
per-class maps, and the fit time. The "done when" of the issue: every class
of the class-conditional fit at most 1 % both ways, and the pooled map at
least 5 times worse on every class.

Run::

    python benchmarks/bench_class_conditional.py --seeds 0 1
    python benchmarks/bench_class_conditional.py --quick   # smoke test, not saved

The markdown table is printed and, unless ``--no-save``, written to
``benchmarks/results/class_conditional.md`` (``--out``), or appended to it
as a new section with ``--append``.
"""

from __future__ import annotations

import argparse
import datetime
import os
import pathlib
import platform
import shlex
import sys
import time
import warnings

import numpy as np
import sklearn
import torch
from _common import git_commit, parse_params

import skfpot
from skfpot import ClassConditionalFixedPointOT, FixedPointOT
from skfpot.datasets import make_class_gaussian_pairs
from skfpot.metrics import l2_uvp

RESULTS = pathlib.Path(__file__).parent / "results" / "class_conditional.md"
MODELS = ("film", "embedding", "pooled")
NAMES = {
    "film": 'ClassConditionalFixedPointOT(conditioning="film")',
    "embedding": 'ClassConditionalFixedPointOT(conditioning="embedding")',
    "pooled": "FixedPointOT on the pooled sample (labels ignored)",
}


def run_seed(seed, n, n_test, n_classes, n_features, params, models, log):
    """Fit every model on one seed's problem and score it class by class.

    Parameters
    ----------
    seed : int
        Seeds the problem, the samples and the estimators.
    n : int
        Rows of the source and of the target training sample (all classes).
    n_test : int
        Fresh source rows and fresh target rows for the scores.
    n_classes, n_features : int
        Size of the problem.
    params : dict
        Estimator settings shared by all models.
    models : sequence of str
        Among ``"film"``, ``"embedding"``, ``"pooled"``.
    log : callable
        Progress printer.

    Returns
    -------
    rows : list of dict
        One row per model: per-class forward and inverse L2-UVP, fit time,
        optimizer steps and warnings.
    """
    problem = make_class_gaussian_pairs(n_classes, n_features, random_state=seed)
    X, Y, x_classes, y_classes = problem.sample(n, n, random_state=seed + 1000)
    X_test, c_source = problem.sample_source(n_test, random_state=seed + 2000)
    X_back, c_target = problem.sample_source(n_test, random_state=seed + 3000)
    T_true = problem.forward_map(X_test, c_source)
    Y_test = problem.forward_map(X_back, c_target)
    rows = []
    for model in models:
        if model == "pooled":
            est = FixedPointOT(random_state=seed, **params)
        else:
            est = ClassConditionalFixedPointOT(
                conditioning=model, random_state=seed, **params
            )
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tic = time.perf_counter()
            if model == "pooled":
                est.fit(X, Y)
            else:
                est.fit(X, Y, x_classes=x_classes, y_classes=y_classes)
            fit_s = time.perf_counter() - tic
            if model == "pooled":
                T_hat = est.transform(X_test)
                S_hat = est.inverse_transform(Y_test)
            else:
                T_hat = est.transform(X_test, classes=c_source)
                S_hat = est.inverse_transform(Y_test, classes=c_target)
        forward = [
            l2_uvp(T_true[c_source == k], T_hat[c_source == k])
            for k in range(n_classes)
        ]
        inverse = [
            l2_uvp(X_back[c_target == k], S_hat[c_target == k])
            for k in range(n_classes)
        ]
        row = {
            "seed": seed,
            "model": model,
            "forward": forward,
            "inverse": inverse,
            "fit_s": fit_s,
            "n_iter": est.n_iter_,
            "warnings": sorted({str(w.message).split(";")[0] for w in caught}),
        }
        log(
            f"seed {seed} {model:9s} fit {fit_s:7.1f} s, {est.n_iter_} steps, "
            f"forward {np.round(forward, 3)}, inverse {np.round(inverse, 3)}"
            + (f", warnings {row['warnings']}" if caught else "")
        )
        rows.append(row)
    return rows


def tables(rows, n_classes):
    """Markdown tables of the rows.

    Parameters
    ----------
    rows : list of dict
        Output of :func:`run_seed` for all seeds.
    n_classes : int
        Number of classes.

    Returns
    -------
    lines : list of str
        The per-fit table, the class-conditional summary and the pooled ratio.
    """
    head = ["seed", "model", "fit (s)", "steps"]
    head += [f"class {k} fwd" for k in range(n_classes)]
    head += [f"class {k} inv" for k in range(n_classes)]
    head += ["max"]
    lines = [
        "## L2-UVP (%) per class, forward and inverse, and fit time",
        "",
        "| " + " | ".join(head) + " |",
        "|" + "---|" * len(head),
    ]
    for r in rows:
        values = r["forward"] + r["inverse"]
        fmt = "{:.2f}" if r["model"] == "pooled" else "{:.3f}"
        cells = [str(r["seed"]), r["model"], f"{r['fit_s']:.1f}", str(r["n_iter"])]
        cells += [fmt.format(v) for v in values] + [fmt.format(max(values))]
        lines.append("| " + " | ".join(cells) + " |")

    lines += ["", "## FiLM against embedding (mean over seeds)", ""]
    lines += [
        "| model | mean L2-UVP (%) | worst class, either way (%) | "
        "classes ≤ 1 % both ways | fit (s) |",
        "|---|---|---|---|---|",
    ]
    for model in ("film", "embedding"):
        mine = [r for r in rows if r["model"] == model]
        if not mine:
            continue
        values = np.array([r["forward"] + r["inverse"] for r in mine])
        ok = sum(
            max(r["forward"][k], r["inverse"][k]) <= 1.0
            for r in mine
            for k in range(n_classes)
        )
        lines.append(
            f"| {NAMES[model]} | {values.mean():.3f} | {values.max():.3f} | "
            f"{ok} / {len(mine) * n_classes} | "
            f"{np.mean([r['fit_s'] for r in mine]):.1f} |"
        )

    pooled = {r["seed"]: r for r in rows if r["model"] == "pooled"}
    if pooled:
        lines += [
            "",
            "## Pooled map against the class-conditional maps",
            "",
            "Ratio of the pooled map's L2-UVP to the worse of the two "
            "class-conditional fits, per class and direction (≥ 5 wanted).",
            "",
            "| seed | "
            + " | ".join(f"class {k} fwd" for k in range(n_classes))
            + " | "
            + " | ".join(f"class {k} inv" for k in range(n_classes))
            + " | min |",
            "|" + "---|" * (2 * n_classes + 2),
        ]
        for seed, p in pooled.items():
            conditional = [
                r for r in rows if r["seed"] == seed and r["model"] != "pooled"
            ]
            if not conditional:
                continue
            worst = np.max([c["forward"] + c["inverse"] for c in conditional], 0)
            ratio = np.array(p["forward"] + p["inverse"]) / worst
            lines.append(
                f"| {seed} | "
                + " | ".join(f"{v:.0f}" for v in ratio)
                + f" | {ratio.min():.0f} |"
            )
    return lines


def main(argv=None):
    """Run the benchmark from the command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments; ``None`` reads ``sys.argv``.
    """
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument(
        "--n", type=int, default=20_000, help="training rows per side, all classes"
    )
    parser.add_argument("--n-test", type=int, default=6000, help="fresh rows per side")
    parser.add_argument("--classes", type=int, default=3)
    parser.add_argument("--dims", type=int, default=8)
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument(
        "--param",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="estimator override for all models, e.g. max_iter=2000 (repeatable)",
    )
    parser.add_argument(
        "--threads", type=int, default=None, help="torch threads (default: torch's)"
    )
    parser.add_argument(
        "--note", default="", help="free text for the results file (e.g. CPU load)"
    )
    parser.add_argument(
        "--quick", action="store_true", help="1 seed, small sizes; saves nothing"
    )
    parser.add_argument("--out", type=pathlib.Path, default=RESULTS)
    parser.add_argument(
        "--append", action="store_true", help="append to --out instead of replacing"
    )
    parser.add_argument("--no-save", action="store_true")
    args = parser.parse_args(argv)
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    params = parse_params(args.param)
    if args.quick:  # a smoke test never replaces the recorded tables
        args.no_save = True
        args.seeds, args.n, args.n_test = args.seeds[:1], 3000, 1000
        params = {"hidden_layer_sizes": (32,), "max_iter": 200, **params}

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    start = time.perf_counter()
    rows = []
    for seed in args.seeds:
        rows += run_seed(
            seed, args.n, args.n_test, args.classes, args.dims, params, args.models, log
        )
    total = time.perf_counter() - start

    command = shlex.join(
        ["python", "benchmarks/bench_class_conditional.py"]
        + list(argv if argv is not None else sys.argv[1:])
    )
    title = "# Class-conditional benchmark"
    if params:
        title += " (" + ", ".join(f"`{k}={v!r}`" for k, v in params.items()) + ")"
    header = [
        title,
        "",
        "Written by `benchmarks/bench_class_conditional.py`.",
        "",
        f"- command: `{command}`",
        f"- date: {datetime.datetime.now().strftime('%Y-%m-%dT%H:%M')}",
        f"- machine: {os.cpu_count()}-core {platform.machine()} CPU, "
        f"torch {torch.__version__}, torch threads={torch.get_num_threads()}, "
        f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, "
        f"CUDA={'yes' if torch.cuda.is_available() else 'no'}",
        f"- python {platform.python_version()}, skfpot {skfpot.__version__} "
        f"(git {git_commit() or 'unknown'}), "
        f"scikit-learn {sklearn.__version__}, torch {torch.__version__}",
        f"- total wall time: {total / 60:.1f} min",
    ]
    if args.note:
        header.append(f"- note: {args.note}")
    header += [
        "",
        "## Settings",
        "",
        f"- problem: `make_class_gaussian_pairs({args.classes}, {args.dims}, "
        "random_state=seed)`, uniform class weights; training pair "
        f"`problem.sample({args.n}, {args.n}, random_state=seed + 1000)` "
        f"({args.n:,} source and {args.n:,} target rows in total, unpaired, "
        f"about {args.n // args.classes:,} per class); scores on {args.n_test:,} "
        "fresh source rows (forward) and as many fresh target rows (inverse)",
        f"- seeds: {args.seeds}; each estimator gets `random_state=seed`",
        "- estimator settings, the same for every model: "
        + "".join(f"`{k}={v!r}`, " for k, v in params.items())
        + ("the others at " if params else "")
        + "the defaults (which are `hidden_layer_sizes=(256, 256, 256)`, "
        "`max_iter=4000`, "
        "`batch_size=256`, `learning_rate_init=1e-3`, cosine schedule, "
        "`quadratic='gaussian'`, early stopping on 10 %)",
        "- L2-UVP: `100 · mean|T̂(x) − T*(x)|² / Var(T*(x))` over the rows of one "
        "class, against the exact map of that class (inverse: against the exact "
        "inverse); the pooled map is scored against the same per-class maps",
        "",
    ]
    lines = header + tables(rows, args.classes)
    print("\n".join(lines))
    if not args.no_save:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        if args.append and args.out.exists():
            # a later run becomes a section of the same file
            lines = [
                line.replace("# ", "## ", 1) if line.startswith("#") else line
                for line in lines
            ]
            lines = [args.out.read_text().rstrip("\n"), "", *lines]
        args.out.write_text("\n".join(lines) + "\n")
        log(f"written to {args.out}")


if __name__ == "__main__":
    main()

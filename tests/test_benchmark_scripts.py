"""Smoke tests of the scripts in ``benchmarks/``: each runs end to end on a tiny
problem (a few training steps, a few hundred rows) in a fresh interpreter, exits
with status 0, prints its table, and leaves ``benchmarks/results/`` untouched
(every script that saves takes ``--no-save``, or saves nothing). The scripts run
from a copy of ``benchmarks/`` in a temporary directory, so a benchmark that a
developer runs beside the suite, appending to the real results, cannot fail
them.

The numbers these runs print mean nothing; the point is that the scripts behind
``docs/benchmarks.md`` still run against the current package. Not covered:
``bench_gpu.py`` (needs CUDA), ``bench_compile.py`` (``torch.compile`` needs a
C compiler and minutes) and ``bench_domain_adaptation.py`` (its ``--quick``
run takes two minutes; its pipelines are tested in ``test_skada.py``).
"""

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BENCHMARKS = ROOT / "benchmarks"

pytestmark = [
    pytest.mark.skipif(
        not BENCHMARKS.is_dir(), reason="benchmarks/ missing (installed package only)"
    ),
    pytest.mark.skipif(
        not sys.platform.startswith("linux"),
        reason="the benchmarks read their memory figures from /proc",
    ),
]
MIX = [pytest.mark.w2bench]  # skipped without the Mix3toMix10 data (conftest.py)
POT = [
    pytest.mark.skipif(
        importlib.util.find_spec("ot") is None,
        reason="POT not installed (it comes with the skada extra)",
    )
]

#: (script, its command line, a string its output must contain, marks)
SCRIPTS = [
    (
        "bench_gaussian.py",
        "--dims 2 --n 512 --no-save --param max_iter=20 --param eval_interval=10",
        "fwd %",
        [],
    ),
    (
        "bench_mix3tomix10.py",
        "--dims 2 --n 512 --no-save --param max_iter=20 --param eval_interval=10",
        "fwd %",
        MIX,
    ),
    (
        "bench_head_to_head.py",
        "--dims 2 --seeds 0 --n 1024 --hidden 8 --batch-size 64 --target 0.001 "
        "--eval-every 5 --max-steps 10 --mem-steps 3 --no-save",
        "memory ratio ours / MM",
        MIX,
    ),
    (
        "bench_minmax.py",
        "--dims 2 --seeds 0 --steps 10 --n 1024 --batch-size 64 --hidden 8 "
        "--eval-every 5 --no-save",
        "fwd %",
        MIX,
    ),
    ("bench_solver.py", "--dims 2 --steps 10 --n 1024 --no-save", "evals", MIX),
    (
        "bench_pot.py",
        "--problems gaussian --dims 2 --sizes 256 --sinkhorn-reg 0.03 "
        "--skfpot-param max_iter=20 --no-save",
        "where each method stops",
        POT,
    ),
    (
        "bench_scale.py",
        "--d 2 --sizes 1024 --steps 5 --warm on --no-save",
        "extra MiB",
        [],
    ),
    ("bench_class_conditional.py", "--quick --no-save", "Pooled map against", []),
    (
        "early_stopping_ending.py",
        "--dims 2 --seeds 0 --param max_iter=40 --param eval_interval=10",
        "best-eval",
        [],
    ),
    ("gaussian_plugin_floor.py", "--dims 2 --seeds 0 --n 1024", "rows used", []),
    ("first_fit_overhead.py", "--repeats 1", "maps identical: True", []),
    (
        "inverse_anchors.py",
        "--dims 2 --seed 0 --n 1024 --repeats 1 --param max_iter=20",
        "anchored",
        MIX,
    ),
]


@pytest.fixture(scope="module")
def benchmarks_copy(tmp_path_factory):
    """A private copy of ``benchmarks/`` (scripts and results, under 1 MB)."""
    copy = tmp_path_factory.mktemp("bench") / "benchmarks"
    shutil.copytree(BENCHMARKS, copy, ignore=shutil.ignore_patterns("__pycache__"))
    return copy


def _results_digest(benchmarks):
    results = benchmarks / "results"
    files = sorted(p for p in results.rglob("*") if p.is_file())
    return {
        str(p.relative_to(results)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in files
    }


def test_every_script_is_smoke_tested_or_named_as_left_out():
    tested = {script for script, *_ in SCRIPTS}
    left_out = {"bench_gpu.py", "bench_compile.py", "bench_domain_adaptation.py"}
    helpers = {"_common.py", "minmax_ot.py", "report.py"}  # run by the scripts, tables
    scripts = {p.name for p in BENCHMARKS.glob("*.py")}
    assert scripts - helpers - left_out == tested


@pytest.mark.parametrize(
    "script, args, expected",
    [
        pytest.param(script, args, expected, marks=marks, id=script)
        for script, args, expected, marks in SCRIPTS
    ],
)
def test_benchmark_script_runs(script, args, expected, benchmarks_copy):
    before = _results_digest(benchmarks_copy)
    env = dict(os.environ)
    env.setdefault("OMP_NUM_THREADS", "1")
    done = subprocess.run(
        [sys.executable, str(benchmarks_copy / script), *args.split()],
        cwd=benchmarks_copy,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert expected in done.stdout, done.stdout[-3000:]
    assert _results_digest(benchmarks_copy) == before, f"{script} wrote results/"

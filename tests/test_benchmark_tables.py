"""The results tables of ``docs/benchmarks.md`` are the ones that
``benchmarks/report.py`` prints from ``benchmarks/results/*.json``: every
row it prints appears in the document verbatim, so a result added without
its table row, or a number edited by hand in the document, fails here."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "report.py"
DOC = ROOT / "docs" / "benchmarks.md"


@pytest.mark.skipif(
    not (REPORT.is_file() and DOC.is_file()), reason="benchmarks/ or docs/ missing"
)
def test_every_reported_row_is_in_the_benchmarks_document():
    printed = subprocess.run(
        [sys.executable, str(REPORT)], capture_output=True, text=True, check=True
    ).stdout
    rows = [
        line
        for line in printed.splitlines()
        if line.startswith("| ") and not line.startswith("|---")
    ]
    assert len(rows) > 100  # the Gaussian, Mix3toMix10, POT and scale tables
    document = set(DOC.read_text().splitlines())
    missing = [row for row in rows if row not in document]
    assert not missing, (
        "rows of report.py missing from docs/benchmarks.md:\n" + "\n".join(missing[:10])
    )


EXAMPLE = ROOT / "examples" / "plot_benchmark_results.py"


@pytest.mark.skipif(not EXAMPLE.is_file(), reason="examples/ missing")
def test_the_benchmark_figure_plots_only_the_reported_settings(monkeypatch):
    # the figure's curves were medians over every row of a dimension, probes
    # included (GPU fits of 800 steps, a fit that diverged, older code): it
    # must plot the runs of the settings the summary reports, and each of them
    matplotlib = pytest.importorskip("matplotlib")
    matplotlib.use("Agg")
    import runpy

    import matplotlib.pyplot as plt

    monkeypatch.setattr(plt, "show", lambda: plt.close("all"))
    example = runpy.run_path(str(EXAMPLE))
    runs = example["runs"]
    for benchmark, recipes in example["RECIPES"].items():
        for d, params in recipes.items():
            ours = runs[
                (runs["benchmark"] == benchmark)
                & (runs["n_features"] == d)
                & (runs["method"] == "FixedPointOT")
            ]
            assert len(ours) > 0, (benchmark, d, params)
    assert not runs["git_commit"].fillna("").str.endswith("+dirty").any()
    assert (runs["uvp_inv"] < 100).all()  # not the diverged d = 128 fit
    # one row per seed and setting
    keys = ["benchmark", "method", "n_features", "seed"]
    assert not runs.duplicated(keys).any()

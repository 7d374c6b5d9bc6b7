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

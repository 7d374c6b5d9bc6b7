"""The quickstart of the documentation's front page runs and prints what it
shows (to within 0.01 L2-UVP points: the printed digits depend on the CPU's
floating-point kernels)."""

import contextlib
import io
import re
from pathlib import Path

import pytest

INDEX = Path(__file__).resolve().parents[1] / "docs" / "index.rst"


def _blocks(text, language):
    """Bodies of the ``.. code-block:: language`` directives, dedented."""
    pattern = rf"\.\. code-block:: {language}\n\n((?:(?:   .*)?\n)+)"
    return [
        "\n".join(line[3:] for line in body.splitlines())
        for body in re.findall(pattern, text)
    ]


def _numbers(text):
    return [float(v) for v in re.findall(r"L2-UVP: ([0-9.]+) %", text)]


@pytest.mark.skipif(not INDEX.is_file(), reason="docs/ not in this checkout")
def test_quickstart_prints_what_the_docs_show():
    text = INDEX.read_text()
    code = next(b for b in _blocks(text, "python") if "FixedPointOT(" in b)
    shown = next(b for b in _blocks(text, "text") if "L2-UVP" in b)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, str(INDEX), "exec"), {})
    printed = _numbers(out.getvalue())
    assert len(printed) == 2 and len(_numbers(shown)) == 2
    assert printed == pytest.approx(_numbers(shown), abs=0.01)

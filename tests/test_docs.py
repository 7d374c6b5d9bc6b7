"""Code of the documentation runs: the quickstart of the front page prints
what it shows (to within 0.01 L2-UVP points: the printed digits depend on
the CPU's floating-point kernels), and the pipeline recipes of the
domain-adaptation page and the user guide run as written."""

import contextlib
import io
import re
import textwrap
import warnings
from pathlib import Path

import numpy as np
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


DOCS = INDEX.parent


def _python_blocks(path):
    """Bodies of a page's ``.. code-block:: python`` directives (any
    indentation), dedented."""
    pattern = r"\.\. code-block:: python\n\n((?:(?:[ ]+.*)?\n)+)"
    return [textwrap.dedent(b) for b in re.findall(pattern, path.read_text())]


@pytest.fixture(scope="module")
def two_domains():
    """Two labelled classes, the target a shrunk and shifted source."""
    rng = np.random.default_rng(0)
    y_source = rng.integers(0, 2, 300)
    X_source = rng.normal(size=(300, 2)) + 3.0 * y_source[:, None]
    y_target = rng.integers(0, 2, 300)
    X_target = rng.normal(size=(300, 2)) + 3.0 * y_target[:, None]
    X_target = 0.8 * X_target + [1.0, -2.0]
    return X_source, y_source, X_target, y_target


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ not in this checkout")
def test_domain_adaptation_recipes_run(two_domains):
    """The three scikit-learn recipes of the domain-adaptation page, as
    written there (the skada section needs minutes of fits and is left to
    the skada tests), run one after the other on a small problem and
    classify the target."""
    X_source, y_source, X_target, y_target = two_domains
    blocks = _python_blocks(DOCS / "domain_adaptation.rst")
    recipes, skada_section = blocks[:3], blocks[3:]
    assert not any("skada" in b for b in recipes) and "skada" in skada_section[0]
    names = dict(
        X_source=X_source,
        y_source=y_source,
        X_target=X_target,
        y_target_labels=y_target,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny-sample warnings
        for code in recipes:
            exec(compile(code, "domain_adaptation.rst", "exec"), names)
            assert np.mean(names["y_pred"] == y_target) > 0.9


@pytest.mark.skipif(not DOCS.is_dir(), reason="docs/ not in this checkout")
def test_user_guide_routing_recipe_runs(two_domains, monkeypatch):
    """The user guide's class-conditional routing recipe runs as written and
    its comment holds: the pipeline maps as the estimator does. (The
    estimator's defaults are made small here: the recipe's wiring is under
    test, not the accuracy of a default fit.)"""
    from skfpot import ClassConditionalFixedPointOT

    defaults = ClassConditionalFixedPointOT.__init__.__kwdefaults__
    monkeypatch.setitem(defaults, "max_iter", 200)
    monkeypatch.setitem(defaults, "hidden_layer_sizes", (32,))
    X, x_classes, Y, y_classes = two_domains
    (code,) = [
        b
        for b in _python_blocks(DOCS / "user_guide.rst")
        if "set_inverse_transform_request" in b
    ]
    names = dict(
        X=X,
        Y=Y,
        x_classes=x_classes,
        y_classes=y_classes,
        X_new=X[:50],
        new_classes=x_classes[:50],
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        exec(compile(code, "user_guide.rst", "exec"), names)
    ot, scaler = names["ot"], names["scaler"]
    expected = ot.transform(scaler.transform(X[:50]), classes=x_classes[:50])
    np.testing.assert_array_equal(names["Z"], expected)
    assert names["X_back"].shape == (50, 2)

"""Sphinx configuration of the skfpot documentation.

Build (from the repository root; about two minutes on one CPU core, most of it
running the gallery examples)::

    OMP_NUM_THREADS=1 sphinx-build -W -b html docs docs/_build/html

Add ``-D plot_gallery=0`` to skip running the examples. Nothing here needs the
network (no intersphinx).
"""

import importlib
import inspect
import pkgutil
import re
import sys
from pathlib import Path

from sphinx.util import logging

import skfpot

logger = logging.getLogger(__name__)
DOCS = Path(__file__).resolve().parent
sys.path.insert(0, str(DOCS / "sphinxext"))  # gallery_order

# -- Project -------------------------------------------------------------------
project = "skfpot"
author = "skfpot developers"
copyright = "2026, skfpot developers"  # noqa: A001
version = release = skfpot.__version__

# -- General -------------------------------------------------------------------
extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "README.md", "**.ipynb_checkpoints"]
templates_path = ["_templates"]
default_role = "literal"
nitpicky = False
myst_heading_anchors = 3

# -- API reference (autodoc, autosummary, numpydoc) ----------------------------
autosummary_generate = True
autodoc_default_options = {"members": True}
autodoc_typehints = "none"
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_attributes_as_param_list = True
numpydoc_xref_param_type = False

# Every public module and every name in its ``__all__`` must appear on its API
# page; the build warns (and so fails with -W) when one is missing.
API_PAGES = {
    "skfpot": "api/estimators",
    "skfpot.metrics": "api/metrics",
    "skfpot.datasets": "api/datasets",
    "skfpot.skada": "api/skada",
    "skfpot.core": "api/core",
}

# Optional modules get their API page only when they import (``skfpot.skada``
# needs the ``skada`` extra). Everything else must import: a failure there
# should fail the build.
OPTIONAL_API_PAGES = {"api/skada": "skfpot.skada"}


def _importable(module):
    try:
        importlib.import_module(module)
    except ImportError as exc:
        return exc
    return None


_missing_api_pages = {}
for _page, _module in OPTIONAL_API_PAGES.items():
    _error = _importable(_module)
    if _error is not None:
        _missing_api_pages[_page] = f"{_module}: {_error}"
        exclude_patterns += [f"{_page}.rst", f"gen_modules/{_module}.*"]

# -- HTML ----------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skfpot {release}"
html_static_path = []
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "navbar_align": "left",
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
}
# single-page sections need no left sidebar
html_sidebars = {
    page: []
    for page in ("index", "user_guide", "domain_adaptation", "benchmarks", "changelog")
}
html_show_sourcelink = False

# -- Gallery -------------------------------------------------------------------
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    # run every plot_*.py; other scripts in examples/ (e.g. demo.py) are left out
    "filename_pattern": "/plot_",
    "ignore_pattern": r"(^|/)(?!plot_)[^/]*\.py$",
    "within_subsection_order": "gallery_order.ExampleOrder",
    "doc_module": ("skfpot",),
    "reference_url": {"skfpot": None},
    "backreferences_dir": "gen_modules/backreferences",
    "download_all_examples": False,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 1,
    "abort_on_example_error": False,
}


# -- Hooks ---------------------------------------------------------------------
def _drop_missing_api_pages(app, docname, source):
    """Remove the toctree lines of optional API pages that could not import."""
    if docname != "api/index" or not _missing_api_pages:
        return
    text = source[0]
    for page in _missing_api_pages:
        name = page.split("/", 1)[1]
        text = re.sub(rf"(?m)^\s+{re.escape(name)}\s*$\n?", "", text)
    source[0] = text


def _check_api_pages(app):
    """Warn about public modules or names that no API page lists."""
    for page, reason in _missing_api_pages.items():
        logger.info(f"[skfpot docs] API page {page} left out ({reason})", color="red")
    for info in pkgutil.iter_modules(skfpot.__path__):
        if not info.name.startswith("_") and f"skfpot.{info.name}" not in API_PAGES:
            logger.warning(f"public module skfpot.{info.name} has no API page")
    for module_name, page in API_PAGES.items():
        if page in _missing_api_pages:
            continue
        module = importlib.import_module(module_name)
        text = (DOCS / f"{page}.rst").read_text(encoding="utf-8")
        for name in getattr(module, "__all__", []):
            if name.startswith("__") or inspect.ismodule(getattr(module, name)):
                continue
            if not re.search(rf"(?m)^\s+{re.escape(name)}\s*$|:: {name}$", text):
                logger.warning(f"{module_name}.{name} is not listed on {page}.rst")


def _skip_metadata_request_methods(app, what, name, obj, skip, options):
    """Leave out the ``set_{method}_request`` methods that scikit-learn generates.

    Their docstrings link to scikit-learn's own user guide; metadata routing is
    described in the estimators' docstrings and the user guide instead.
    """
    if re.fullmatch(r"set_\w+_request", name):
        return True
    return None


_SHAPE_NAME = re.compile(r"\b([A-Za-z]\w*?)_(?=[,)])")


def _escape_shape_attributes(app, what, name, obj, options, lines):
    """Escape fitted-attribute names in shapes, e.g. ``(n_iter_,)``.

    In reST a word ending in ``_`` is a link; scikit-learn's docstring dialect
    writes ``ndarray of shape (n_iter_,)`` without backticks.
    """
    for i, line in enumerate(lines):
        if "shape (" in line and "`" not in line:
            lines[i] = _SHAPE_NAME.sub(r"\1\\_", line)


_SKLEARN_XREF = re.compile(r":(?:ref|term):`(?:([^`<]*?)\s*<[^`>]*>|([^`]*))`")


def _unlink_sklearn_references(app, what, name, obj, options, lines):
    """Turn links into scikit-learn's own docs into plain text.

    Inherited methods (``get_params``, ``set_output``, ...) keep scikit-learn's
    docstrings, whose ``:ref:`` and ``:term:`` targets live in scikit-learn's
    documentation, which this offline build cannot link to.
    """
    if not getattr(obj, "__module__", "").startswith("sklearn"):
        return
    for i, line in enumerate(lines):
        lines[i] = _SKLEARN_XREF.sub(lambda m: m.group(1) or m.group(2), line)


def setup(app):
    app.connect("autodoc-process-docstring", _unlink_sklearn_references, priority=400)
    app.connect("autodoc-process-docstring", _escape_shape_attributes, priority=400)
    app.connect("autodoc-skip-member", _skip_metadata_request_methods)
    app.connect("source-read", _drop_missing_api_pages)
    app.connect("builder-inited", _check_api_pages)

"""Print the results files of ``benchmarks/results/*.json`` as Markdown tables.

The tables of ``docs/benchmarks.md`` are pasted from this output, so that no
number is copied by hand::

    python benchmarks/report.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"

PUBLISHED = {
    "gaussian": {2: 0.010, 4: 0.021, 8: 0.012, 16: 0.15, 32: 0.31, 64: 0.41},
    "mix3tomix10": {2: 0.1, 4: 0.3, 8: 0.7, 16: 1.4, 32: 2.8, 64: 3.2, 128: 2.0},
}


def _load(name: str) -> list[dict]:
    path = RESULTS / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else []


def _fmt(value, spec: str) -> str:
    return "—" if value is None else format(value, spec)


def _settings(row: dict) -> str:
    """The non-default estimator parameters of a row, compactly, and in
    brackets the solver and convexity penalty that ran when a default chose
    them (rows from before ``fixed_point_solver="auto"`` record no solver:
    their default was L-BFGS; rows from before ``convexity_penalty`` record
    no penalty: they trained without one)."""
    params = row.get("params") or {}
    text = ", ".join(f"{k}={v}" for k, v in params.items()) or "defaults"
    chosen = []
    if "fixed_point_solver" not in params:
        chosen.append(row.get("fixed_point_solver", "lbfgs"))
    if "convexity_penalty" not in params:
        chosen.append(f"cx {row.get('convexity_penalty', 0):g}")
    return f"{text} [{', '.join(chosen)}]" if chosen else text


def accuracy_table(name: str) -> None:
    rows = _load(name)
    if not rows:
        return
    print(f"\n### {name}\n")
    print(
        "| d | settings | seed | commit | fwd L2-UVP % | inv L2-UVP % "
        "| best published % "
        "| cosine | steps | fit s | ∇φ evals/solve (after 20 %) | peak RSS MiB |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in sorted(rows, key=lambda r: r["n_features"]):  # stable: run order
        print(
            f"| {r['n_features']} | {_settings(r)} | {r['seed']} "
            f"| {r.get('git_commit') or '—'} "
            f"| {r['uvp_fwd']:.3f} | {r['uvp_inv']:.3f} "
            f"| {_fmt(PUBLISHED[name].get(r['n_features']), 'g')} "
            f"| {r['cosine_fwd']:.5f} | {r['n_iter']} | {r['fit_seconds']:.0f} "
            f"| {r['fp_evals_after_20pct']:.1f} | {r['peak_rss_mib']:.0f} |"
        )


def scale_table() -> None:
    rows = _load("scale")
    if not rows:
        return
    print("\n### scale\n")
    print(
        "| commit | n = m | d | warm start | data MiB (float64) "
        "| peak beyond data MiB | steps | fit s | fwd % | inv % |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(
            f"| {r.get('git_commit') or '—'} "
            f"| {r['n_samples']:,} | {r['n_features']} | {r['warm_start']} "
            f"| {r['data_mib']:.0f} | {r['peak_extra_mib']:.0f} | {r['n_iter']} "
            f"| {r['fit_seconds']:.0f} | {r['uvp_fwd']:.3f} | {r['uvp_inv']:.3f} |"
        )


def _method(row: dict) -> str:
    """The method's name and its FixedPointOT parameter overrides, if any
    (POT rows keep their settings in the label)."""
    params = (row.get("params") or {}) if row["method"] == "FixedPointOT" else {}
    extra = ", ".join(f"{k}={v}" for k, v in params.items())
    return f"{row['method']} ({extra})" if extra else row["method"]


def pot_table() -> None:
    rows = _load("pot")
    if not rows:
        return
    print("\n### pot\n")
    print(
        "| problem | d | n = m | method | seed | commit | fwd % | inv % | fit s "
        "| peak beyond data MiB | status |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        ok = r["status"] == "ok"
        print(
            f"| {r['benchmark']} | {r['n_features']} | {r['n_samples']:,} "
            f"| {_method(r)} | {r.get('seed', 0)} | {r.get('git_commit') or '—'} "
            f"| {_fmt(r['uvp_fwd'] if ok else None, '.3f')} "
            f"| {_fmt(r['uvp_inv'] if ok else None, '.3f')} "
            f"| {_fmt(r['fit_seconds'] if ok else None, '.1f')} "
            f"| {_fmt(r['peak_extra_mib'] if ok else None, '.0f')} "
            f"| {r['status']} |"
        )


def main() -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args()
    accuracy_table("gaussian")
    accuracy_table("mix3tomix10")
    pot_table()
    scale_table()


if __name__ == "__main__":
    main()

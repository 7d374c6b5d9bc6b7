"""
=====================================================
Benchmark results: L2-UVP against published solvers
=====================================================

This example **trains nothing**. It reads the result files that the benchmark
scripts in ``benchmarks/`` write to ``benchmarks/results/`` (the dimension
sweeps ``gaussian.json``, ``mix3tomix10.json`` and ``minmax.json``) and plots
the measured L2-UVP (the share of the target's variance left unexplained by
the learned map, in percent; Korotin et al., 2021) against the dimension, next
to published values for the same benchmarks:

* **Gaussian → Gaussian**, the W2GN protocol: covariance spectra from 0.5 to 2
  under random rotations, closed-form optimal map.
* **Mix3toMix10** (Korotin et al., 2021): a 3-component Gaussian mixture
  pushed through the gradient of two pretrained input-convex networks.

The measured values are read from the results file written by ``benchmarks/``,
not trained here; see the scripts there for the machine and the settings of
each run. The published values are hard-coded below with their sources.
"""

# %%
# Published values
# ----------------
# Forward L2-UVP (%) on Mix3toMix10, from Korotin, Li, Genevay, Solomon,
# Filippov and Burnaev, "Do Neural Optimal Transport Solvers Work? A
# Continuous Wasserstein-2 Benchmark", NeurIPS 2021: the best of the about ten
# solvers compared there (50k to 250k training iterations on a GPU) and the
# linear (Gaussian) map fitted to the two laws' means and covariances.
#
# L2-UVP (%) on the Gaussian benchmark, as reported in a later comparison by
# the same group (ICLR 2026): the best published solver and MM-v1, a single
# potential whose convex conjugate is computed by an inner optimisation loop,
# the nearest prior art of fixed-point training.
import json
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd

PUBLISHED = {
    "mix3tomix10": {
        "n_features": [2, 4, 8, 16, 32, 64, 128],
        "best published solver": [0.1, 0.3, 0.7, 1.4, 2.8, 3.2, 2.0],
        "linear (Gaussian) map": [14.1, 14.9, 27.3, 41.6, 55.3, 63.9, 63.6],
    },
    "gaussian": {
        "n_features": [2, 4, 8, 16, 32, 64],
        "best published solver": [0.010, 0.021, 0.012, 0.15, 0.31, 0.41],
        "MM-v1": [0.16, 0.17, 0.17, 0.21, 0.37, 0.42],
    },
}
TITLES = {"gaussian": "Gaussian → Gaussian", "mix3tomix10": "Mix3toMix10"}

# %%
# Read the results files
# ----------------------
# Each file holds a list of rows such as ``{"benchmark": "gaussian", "method":
# "FixedPointOT", "n_features": 16, "uvp_fwd": 0.2, "uvp_inv": 0.2,
# "fit_seconds": 90.0, ...}``. Repeated runs of one setting are summarised by
# their median.
try:
    repo_root = Path(__file__).resolve().parent.parent
except NameError:  # no __file__ under sphinx-gallery, which runs in examples/
    cwd = Path.cwd()
    repo_root = cwd if (cwd / "benchmarks").is_dir() else cwd.parent
results_dir = repo_root / "benchmarks" / "results"
# the dimension sweeps at the fixed sample size n = m = 2**17; the other
# results files (sample-size and memory scaling: pot.json, scale.json, ...)
# vary n and are not comparable across dimensions
SWEEPS = ["gaussian.json", "mix3tomix10.json", "minmax.json"]
files = [results_dir / name for name in SWEEPS if (results_dir / name).exists()]

rows = []
for path in files:
    content = json.loads(path.read_text())
    if isinstance(content, dict):  # tolerate {"rows": [...], ...}
        content = content.get("rows", [])
    for row in content:
        if {"benchmark", "method", "n_features", "uvp_fwd"} <= row.keys():
            rows.append({**row, "file": path.name})

columns = ["benchmark", "method", "n_features", "uvp_fwd", "uvp_inv", "fit_seconds"]
results = pd.DataFrame(rows).reindex(columns=columns)
if results.empty:
    print("No results in benchmarks/results/*.json: plotting published values only.")
else:
    results["benchmark"] = results["benchmark"].str.lower()
    results = (
        results.groupby(["benchmark", "method", "n_features"], as_index=False)
        .median(numeric_only=True)
        .sort_values(["benchmark", "method", "n_features"])
    )
    names = ", ".join(path.name for path in files)
    print(f"Read {len(rows)} rows from benchmarks/results/ ({names}):")
    print(results.to_string(index=False, float_format="{:.3g}".format))

# %%
# Plot L2-UVP against the dimension
# ---------------------------------
# Both axes are logarithmic. Dashed grey lines are published values (forward
# maps on Mix3toMix10); solid
# lines with filled markers are the measured forward maps (source → target),
# dotted lines with open markers the measured inverse maps. Lower is better;
# the constant map scores 100 %.
fig, axes = plt.subplots(1, 2, figsize=(13, 7.5), layout="constrained")
cycle = plt.rcParams["axes.prop_cycle"].by_key()["color"]
method_color = {
    m: cycle[i % len(cycle)] for i, m in enumerate(sorted(results["method"].unique()))
}

for ax, benchmark in zip(axes, ["gaussian", "mix3tomix10"], strict=True):
    published = PUBLISHED[benchmark]
    dims = published["n_features"]
    for (name, values), marker in zip(
        [(k, v) for k, v in published.items() if k != "n_features"], "sD", strict=True
    ):
        label = f"{name} (published)"
        ax.plot(dims, values, "--", marker=marker, c="grey", mfc="white", label=label)
    measured = results[results["benchmark"] == benchmark]
    for method, group in measured.groupby("method"):
        color = method_color[method]
        label = f"{method}, forward (benchmarks/results)"
        ax.plot(group["n_features"], group["uvp_fwd"], "-o", c=color, label=label)
        if group["uvp_inv"].notna().any():
            label = f"{method}, inverse (benchmarks/results)"
            ax.plot(
                group["n_features"],
                group["uvp_inv"],
                ":o",
                c=color,
                mfc="white",
                label=label,
            )
    if measured.empty:
        ax.text(
            0.5,
            0.5,
            "no measured results yet:\nrun the scripts in benchmarks/\n"
            "to write benchmarks/results/*.json",
            transform=ax.transAxes,
            ha="center",
            va="center",
            bbox={"boxstyle": "round", "fc": "lightyellow", "ec": "grey"},
        )
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ticks = sorted(set(dims) | set(measured["n_features"].astype(int)))
    ax.set_xticks(ticks, [str(d) for d in ticks])
    ax.set_xlabel("dimension d")
    ax.set_ylabel("L2-UVP (%)")
    ax.set_title(TITLES[benchmark])
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.14))

fig.suptitle(
    "L2-UVP vs dimension: measured values read from the results files written by "
    "benchmarks/ (not trained here) and published values"
)
plt.show()

# %%
# Training time
# -------------
# The published solvers ran 50k to 250k iterations on a GPU, for one to seven
# hours each at d = 16 (Korotin et al., 2021). The measured fit times below are
# those written by the benchmark scripts; the machine they ran on is recorded
# there.
timed = results.dropna(subset=["fit_seconds"])
if not timed.empty:
    fig, axes = plt.subplots(1, 2, figsize=(13, 4), layout="constrained")
    for ax, benchmark in zip(axes, ["gaussian", "mix3tomix10"], strict=True):
        for method, group in timed[timed["benchmark"] == benchmark].groupby("method"):
            ax.plot(
                group["n_features"],
                group["fit_seconds"],
                "-o",
                c=method_color[method],
                label=method,
            )
        dims = PUBLISHED[benchmark]["n_features"]
        shown = timed[timed["benchmark"] == benchmark]["n_features"].astype(int)
        ticks = sorted(set(dims) | set(shown))
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(ticks, [str(d) for d in ticks])
        ax.set_xlabel("dimension d")
        ax.set_ylabel("fit time (s)")
        ax.set_title(f"{TITLES[benchmark]}: fit time (benchmarks/results)")
        ax.grid(True, alpha=0.3)
        if ax.has_data():
            ax.legend(fontsize=8)
    plt.show()
else:
    print("No fit times in the results files.")

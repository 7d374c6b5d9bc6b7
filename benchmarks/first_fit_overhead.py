"""Cost of the first fit in a fresh process: skfpot's own Adam against
``torch.optim.Adam``, which imports ``torch._dynamo`` (and sympy) on first
use. Each run is a fresh interpreter that imports skfpot, then times one
small fit and reads its resident-memory growth; medians over the repeats,
the two optimizers alternating. The fits are bit-identical (the Adam steps
are torch's)::

    python benchmarks/first_fit_overhead.py --repeats 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = """
import json, sys, time
import numpy as np, torch
import skfpot._estimators as est
from skfpot import FixedPointOT
if sys.argv[1] == "torch":
    est.Adam = torch.optim.Adam
def rss():
    with open("/proc/self/status") as f:
        return int(f.read().split("VmRSS:")[1].split()[0]) / 1024
rng = np.random.default_rng(0)
X, Y = rng.normal(size=(500, 3)), 2 * rng.normal(size=(400, 3)) + 1
before, t0 = rss(), time.perf_counter()
ot = FixedPointOT(hidden_layer_sizes=(32, 32), max_iter=200, eval_interval=50,
                  random_state=0).fit(X, Y)
print(json.dumps({"seconds": time.perf_counter() - t0, "rss_mib": rss() - before,
                  "dynamo": "torch._dynamo" in sys.modules,
                  "map": float(ot.transform(X).sum())}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    runs = {"skfpot": [], "torch": []}
    for _ in range(args.repeats):
        for name in runs:
            out = subprocess.run(
                [sys.executable, "-c", CHILD, name],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            runs[name].append(json.loads(out.stdout.strip().splitlines()[-1]))
    print(f"{'optimizer':<18} {'first fit s':>11} {'RSS growth MiB':>14}  dynamo")
    for name, label in (("skfpot", "skfpot Adam"), ("torch", "torch.optim.Adam")):
        seconds = statistics.median(r["seconds"] for r in runs[name])
        rss = statistics.median(r["rss_mib"] for r in runs[name])
        dynamo = runs[name][0]["dynamo"]
        print(f"{label:<18} {seconds:>11.2f} {rss:>14.1f}  {dynamo}")
    same = {r["map"] for r in runs["skfpot"] + runs["torch"]}
    print("maps identical:", len(same) == 1)


if __name__ == "__main__":
    main()

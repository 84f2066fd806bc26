"""The table of README.md's "C8 on a scale-invariant basis" from reports/c8/*.json.

python3 c8_table.py [REPORTS]  (standard library only; run from any directory; REPORTS: a directory
of this experiment's reports, default reports/, e.g. reports-full)
"""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, sys.argv[1] if len(sys.argv) > 1 else "reports")

sys.path.insert(0, os.path.dirname(HERE))
from table_stats import spread

# (optimizer, threat, label); a run is `<optimizer>[-lr<rate>]-<threat>-s<seed>`.
GROUPS = [
    ("sgd", "linf", "L∞ 0.1 | SGD"),
    ("esgd", "linf", "L∞ 0.1 | EntropySGD"),
    ("sgd", "l2", "L2 1.0 | SGD"),
    ("esgd", "l2", "L2 1.0 | EntropySGD"),
]


def measures(path):
    """Per radius: raw κ ratio, κ_f/‖∇f‖ and R, from one report (medians over directions)."""
    with open(path) as f:
        estimate = json.load(f)["data"]["estimate"]
    loss, entropy = estimate["objectives"][0], estimate["local_entropy"]
    grad, size = loss["gradient_norm"], entropy["map_norm"]
    out = []
    for probe_f, probe_m in zip(loss["random"], entropy["random"]):
        kf, km = probe_f["summary"]["median"], probe_m["summary"]["median"]
        out.append({"raw": kf / km, "rel": kf / grad, "R": (kf / grad) / (km / size)})
    return grad, size, out


def main():
    reports = {}
    for path in sorted(glob.glob(os.path.join(REPORTS, "c8", "*.json"))):
        run, chain = os.path.basename(path)[: -len(".json")].rsplit("-L", 1)
        reports[(run, int(chain))] = measures(path)
    print(
        "| L | threat | optimizer | runs | ‖∇f‖ | ‖m‖ | raw κ_f/κ_m, r = 1e-3 | κ_f/‖∇f‖, r = 1e-3 "
        "| R, r = 1e-3 | R, r = 1e-2 |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for chain in sorted({c for _, c in reports}):
        for optimizer, threat, label in GROUPS:
            runs = [
                m
                for (run, c), m in sorted(reports.items())
                if c == chain and run.split("-")[0] == optimizer and f"-{threat}-" in run
            ]
            if not runs:
                continue
            cols = [
                [g for g, _, _ in runs],
                [s for _, s, _ in runs],
                [p[0]["raw"] for _, _, p in runs],
                [p[0]["rel"] for _, _, p in runs],
                [p[0]["R"] for _, _, p in runs],
                [p[1]["R"] for _, _, p in runs],
            ]
            print(
                f"| {chain} | {label} | {len(runs)} | " + " | ".join(spread(c) for c in cols) + " |"
            )


if __name__ == "__main__":
    main()

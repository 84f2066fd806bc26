"""Spearman's ρ of reports/relate-strength.json with 95 % intervals by resampling the runs (standard library only).

python3 relate_bootstrap.py [REPORTS [TRAIN_LOGS]]  (from any directory; REPORTS defaults to reports/, TRAIN_LOGS
to the runs' committed logs ../constraint-smoothness-strength/reports/train/; for the models trained on the full
Fashion-MNIST: reports-full ../constraint-smoothness-strength/reports-full/train. A run whose training diverged is
left out, and the output says so.)

The report has one row per run (21: 7 levels × 3 seeds) and attack (2). A bootstrap resample draws 21 runs with
replacement and keeps both attack rows of each, so the interval reflects the spread between trained models, the
unit that varies; ρ is recomputed over the resampled rows (over all rows, then per attack). 2,000 resamples from a
fixed seed.
"""

import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, sys.argv[1] if len(sys.argv) > 1 else "reports")
# The runs' training logs: a run whose training diverged is left out (table_stats.diverged).
TRAIN_LOGS = os.path.join(
    HERE, sys.argv[2] if len(sys.argv) > 2 else "../constraint-smoothness-strength/reports/train"
)

sys.path.insert(0, os.path.dirname(HERE))
from table_stats import diverged, spearman

MEASURES = [
    "hessian_top_adversarial",
    "curvature_adversarial",
    "grad_l2_adversarial",
    "grad_l2_clean",
]
KAPPAS = ["kappa_adversarial", "kappa_adversarial_random"]
RESAMPLES = 2000


def interval(runs, measure, kappa, norm, rng):
    """ρ over the rows of `runs` (run → rows) and its bootstrap 95 % interval."""

    def rho(selected):
        rows = [r for run in selected for r in runs[run] if norm in (None, r["attack"]["norm"])]
        return spearman([r[measure] for r in rows], [r[kappa] for r in rows])

    names = sorted(runs)
    draws = [rho([rng.choice(names) for _ in names]) for _ in range(RESAMPLES)]
    draws = sorted(d for d in draws if d is not None)
    lo, hi = draws[int(0.025 * len(draws))], draws[int(0.975 * len(draws)) - 1]
    return rho(names), lo, hi


def main():
    with open(os.path.join(REPORTS, "relate-strength.json")) as f:
        rows = json.load(f)["data"]["rows"]
    runs, left_out = {}, set()
    for r in rows:
        log = os.path.join(TRAIN_LOGS, os.path.basename(r["checkpoint"]) + ".json")
        with open(log) as f:
            if diverged(json.load(f)):
                left_out.add(os.path.basename(r["checkpoint"]))
                continue
        runs.setdefault(r["checkpoint"], []).append(r)
    rows = [r for rs in runs.values() for r in rs]
    if left_out:
        print("Left out, training diverged: " + ", ".join(sorted(left_out)) + "\n")
    print(f"{len(runs)} runs, {len(rows)} rows\n")
    print("| input measure | κ | rows | ρ [95 % interval over runs] | L∞ rows | L2 rows |")
    print("|---|---|---|---|---|---|")
    rng = random.Random(0)
    for kappa in KAPPAS:
        for measure in MEASURES:
            cells = []
            for norm in (None, "linf", "l2"):
                rho, lo, hi = interval(runs, measure, kappa, norm, rng)
                cells.append(f"{rho:+.2f} [{lo:+.2f}, {hi:+.2f}]")
            print(f"| {measure} | {kappa} | {len(rows)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()

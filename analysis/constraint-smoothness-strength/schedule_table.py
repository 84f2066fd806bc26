"""Each seed's κ per radius after two training schedules, side by side (README "A longer schedule").

python3 schedule_table.py SHORT LONG [SEED ...]  (standard library only; from any directory; SHORT and
LONG are report directories of this experiment, e.g. reports-full and reports-full10; seeds: 0)

For the clean standard model and each L∞-AT and L2-AT model, the median κ over the random directions at each
radius r·‖θ‖ with its 95 % bootstrap interval, from each directory's `sharpness lipschitz` report of
that seed; then the re-solved / frozen ratio at 1e-3·‖θ‖, and L∞ 0.05 against the matched L2 radius
on the same model. Each directory's training logs (train/<run>.json) give the last epoch's training
loss, its fall in that epoch and the test accuracy; a run whose training diverged (a last loss at ln 10)
keeps its training row and is left out of the κ table, which names it.
"""

import glob
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
from table_stats import diverged

SHORT, LONG = (os.path.join(HERE, d) for d in sys.argv[1:3])
SEEDS = [int(a) for a in sys.argv[3:]] or [0]
SEED = 0

MODELS = [
    ("clean-standard", "standard", "standard, clean loss", "clean"),
    ("lipschitz-linf-0.025", "linf-0.025", "L∞-AT 0.025", "adversarial"),
    ("lipschitz-linf-0.05", "linf-0.05", "L∞-AT 0.05", "adversarial"),
    ("lipschitz-linf-0.1", "linf-0.1", "L∞-AT 0.1", "adversarial"),
    ("lipschitz-linf-0.15", "linf-0.15", "L∞-AT 0.15", "adversarial"),
    ("lipschitz-l2-0.25", "l2-0.25", "L2-AT 0.25", "adversarial"),
    ("lipschitz-l2-0.5", "l2-0.5", "L2-AT 0.5", "adversarial"),
    ("lipschitz-l2-1.0", "l2-1.0", "L2-AT 1.0", "adversarial"),
    ("lipschitz-l2-1.5", "l2-1.5", "L2-AT 1.5", "adversarial"),
]


def load(path):
    with open(path) as f:
        return json.load(f)


def estimate(directory, name):
    path = os.path.join(directory, f"{name}-s{SEED}.json")
    return load(path)["data"]["estimate"] if os.path.exists(path) else None


def cell(summary):
    lo, hi = summary["median_ci"]
    return f"{summary['median']:.3g} [{lo:.3g}, {hi:.3g}]"


def training_log(directory, run):
    path = os.path.join(directory, "train", f"{run}-s{SEED}.json")
    return load(path) if os.path.exists(path) else None


def training(directory, run):
    """Last epoch of a run's training log: (epochs, training loss, its fall, clean and robust accuracy)."""
    log = training_log(directory, run)
    if log is None:
        return None
    epochs = log["data"]["epochs"]
    last, before = epochs[-1], epochs[-2]
    test = last["test"]
    return (
        last["epoch"],
        last["train_objective"]["loss"],
        before["train_objective"]["loss"] - last["train_objective"]["loss"],
        test["clean"]["accuracy"],
        [r["metrics"]["accuracy"] for r in test["robust"]],
    )


def main():
    print(f"### Seed {SEED}: training\n")
    print(
        "| model | epochs | last training loss | its fall in the last epoch | test clean | test robust (L∞ 0.1, L2 1.0) |"
    )
    print("|---|---|---|---|---|---|")
    for _, run, label, _ in MODELS:
        for directory in (SHORT, LONG):
            t = training(directory, run)
            if t:
                robust = ", ".join(f"{a:.3f}" for a in t[4])
                print(f"| {label} | {t[0]} | {t[1]:.4f} | {t[2]:.4f} | {t[3]:.3f} | {robust} |")

    radii = None
    print(f"\n### Seed {SEED}: κ per radius (median over directions [95 % interval])\n")
    rows, left_out = [], []
    for name, run, label, kind in MODELS:
        for directory in (SHORT, LONG):
            e = estimate(directory, name)
            if e is None:
                continue
            log = training_log(directory, run)
            if log is not None and diverged(log):
                left_out.append(f"{label}, {len(log['data']['epochs'])} epochs")
                continue
            radii = radii or e["relative_radii"]
            objs = {o["kind"]: o for o in e["objectives"]}
            cells = [cell(p["summary"]) for p in objs[kind]["random"]]
            ratio = "–"
            if kind == "adversarial":
                i = radii.index(1e-3)
                resolved = objs[kind]["random"][i]["summary"]["median"]
                frozen = objs["adversarial-frozen"]["random"][i]["summary"]["median"]
                ratio = f"{resolved / frozen:.2f}"
            epochs = training(directory, run)
            rows.append([label, str(epochs[0]) if epochs else "?", *cells, ratio])
    head = " | ".join(f"κ r = {r:.0e}·‖θ‖" for r in radii)
    print(f"| model | epochs | {head} | re-solved / frozen r = 1e-3 |")
    print("|---|---|" + "---|" * (len(radii) + 1))
    for row in rows:
        print("| " + " | ".join(row) + " |")
    if left_out:
        print(
            "\nLeft out, training diverged (last training loss at ln 10, uniform predictions): "
            + "; ".join(left_out)
        )

    print(f"\n### Seed {SEED}: L∞ 0.05 against the matched L2 radius on the L∞-AT 0.05 model\n")
    print("| epochs | matched ε₂ | " + " | ".join(f"L∞ / L2 r = {r:.0e}" for r in radii) + " |")
    print("|---|---|" + "---|" * len(radii))
    for directory in (SHORT, LONG):
        linf = estimate(directory, "lipschitz-linf-0.05")
        matched = glob.glob(os.path.join(directory, f"matched-l2-*-on-linf-0.05-s{SEED}.json"))
        if linf is None or not matched:
            continue
        l2 = load(matched[0])["data"]["estimate"]
        eps = os.path.basename(matched[0]).split("-")[2]
        a = [p["summary"]["median"] for p in linf["objectives"][0]["random"]]
        b = [p["summary"]["median"] for p in l2["objectives"][0]["random"]]
        epochs = training(directory, "linf-0.05")
        print(
            f"| {epochs[0] if epochs else '?'} | {eps} | "
            + " | ".join(f"{x / y:.2f}" for x, y in zip(a, b))
            + " |"
        )


if __name__ == "__main__":
    for SEED in SEEDS:
        if SEED != SEEDS[0]:
            print()
        main()

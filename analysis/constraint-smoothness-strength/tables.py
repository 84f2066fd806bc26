"""The tables of README.md from reports/*.json (standard library only).

python3 tables.py [REPORTS]  (from any directory; REPORTS defaults to reports/, e.g. reports-full/ for
the run on the full Fashion-MNIST, README "Full data")

Per model (ε level) and seed, each `sharpness lipschitz` report gives, per radius r·‖θ‖, the median
of κ over its random directions with a 95 % bootstrap interval, for the re-solved adversarial loss
and the adversarial-frozen one; the slope of log median κ against log r; and the largest RMS
movement of δ* as a fraction of the ball's L2 diameter (paper.md's C6 test). The tables give the
mean ± standard deviation of those over the three seeds.
"""

import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, sys.argv[1] if len(sys.argv) > 1 else "reports")

sys.path.insert(0, os.path.dirname(HERE))
from table_stats import diverged, last_loss, spread

MODELS = [
    ("clean-standard", "standard, clean loss"),
    ("lipschitz-linf-0.025", "L∞-AT 0.025"),
    ("lipschitz-linf-0.05", "L∞-AT 0.05"),
    ("lipschitz-linf-0.1", "L∞-AT 0.1"),
    ("lipschitz-linf-0.15", "L∞-AT 0.15"),
    ("lipschitz-l2-0.25", "L2-AT 0.25"),
    ("lipschitz-l2-0.5", "L2-AT 0.5"),
    ("lipschitz-l2-1.0", "L2-AT 1.0"),
    ("lipschitz-l2-1.5", "L2-AT 1.5"),
]


def load(path):
    with open(path) as f:
        return json.load(f)


def objectives(path):
    """kind → objective estimate of one report, and its radii as fractions of ‖θ‖."""
    estimate = load(path)["data"]["estimate"]
    objs = {o["kind"]: o for o in estimate["objectives"]}
    objs["radii"] = estimate["relative_radii"]
    return objs


RUN = re.compile(r"(standard|linf-[0-9.]+|l2-[0-9.]+)-s[0-9]+$")


def run_of(path):
    """The training run a report is about: `lipschitz-l2-0.25-s2.json` → `l2-0.25-s2`."""
    return RUN.search(os.path.basename(path).removesuffix(".json")).group(0)


def excluded():
    """The runs whose training diverged (REPORTS/train/<run>.json), with their last training loss."""
    out = {}
    for path in sorted(glob.glob(os.path.join(REPORTS, "train", "*.json"))):
        log = load(path)
        if diverged(log):
            out[os.path.basename(path).removesuffix(".json")] = last_loss(log)
    return out


def reports(prefix, pattern="{prefix}-s[0-9].json"):
    paths = sorted(glob.glob(os.path.join(REPORTS, pattern.format(prefix=prefix))))
    return [p for p in paths if run_of(p) not in EXCLUDED]


EXCLUDED = excluded()


def main():
    if EXCLUDED:
        print(
            "Left out, training diverged (last training loss at ln 10, uniform predictions): "
            + ", ".join(f"{run} ({loss:.3f})" for run, loss in EXCLUDED.items())
            + "\n"
        )
    radii = None
    print("### κ per radius (median over directions; mean ± sd over seeds)\n")
    rows = []
    for prefix, label in MODELS:
        paths = reports(prefix)
        if not paths:
            continue
        objs = [objectives(p) for p in paths]
        kind = "clean" if prefix.startswith("clean") else "adversarial"
        radii = radii or objs[0]["radii"]
        medians = [
            [o[kind]["random"][i]["summary"]["median"] for o in objs] for i in range(len(radii))
        ]
        slope = [o[kind]["scaling"]["slope"] for o in objs]
        frozen = (
            [o["adversarial-frozen"]["random"][2]["summary"]["median"] for o in objs]
            if kind == "adversarial"
            else None
        )
        ratio = (
            [o[kind]["random"][2]["summary"]["median"] / f for o, f in zip(objs, frozen)]
            if frozen
            else None
        )
        diameter = (
            [max(o[kind]["diameter"]["fraction"]) for o in objs] if kind == "adversarial" else None
        )
        rows.append((label, len(paths), medians, slope, frozen, ratio, diameter))
    head = " | ".join(f"κ r = {r:.0e}·‖θ‖" for r in radii)
    print(
        f"| model | seeds | {head} | slope of log κ vs log r | frozen κ r = 1e-3 | "
        "re-solved / frozen r = 1e-3 | max ‖Δδ*‖ / ball diameter |"
    )
    print("|---|---|" + "---|" * (len(radii) + 4))
    for label, n, medians, slope, frozen, ratio, diameter in rows:
        cells = [spread(m) for m in medians]
        extra = [
            spread(slope, 2),
            spread(frozen) if frozen else "–",
            spread(ratio, 2) if ratio else "–",
            spread(diameter, 2) if diameter else "–",
        ]
        print(f"| {label} | {n} | " + " | ".join(cells + extra) + " |")

    print("\n### Matched strength: one L∞-trained model, both norms' losses\n")
    cal = [load(p)["data"] for p in reports("calibrate", "{prefix}-*.json")]
    if cal:
        print(
            "calibrated ε₂ per seed: "
            + ", ".join(
                f"{c['eps']:.4f} (accuracy {c['metrics']['accuracy']:.3f} against "
                f"{c['reference_metrics']['accuracy']:.3f})"
                for c in cal
            )
        )
    linf = [objectives(p) for p in reports("lipschitz-linf-0.05")]
    l2 = [objectives(p) for p in reports("matched-l2", "{prefix}-*-s[0-9].json")]
    if linf and l2:
        print(
            "\n| radius | κ L∞ 0.05 | κ L2 matched | L∞ / L2 | ‖Δδ*‖/diameter L∞ | ‖Δδ*‖/diameter L2 |"
        )
        print("|---|---|---|---|---|---|")
        for i, r in enumerate(radii):
            a = [o["adversarial"]["random"][i]["summary"]["median"] for o in linf]
            b = [o["adversarial"]["random"][i]["summary"]["median"] for o in l2]
            da = [o["adversarial"]["diameter"]["fraction"][i] for o in linf]
            db = [o["adversarial"]["diameter"]["fraction"][i] for o in l2]
            print(
                f"| {r:.0e}·‖θ‖ | {spread(a)} | {spread(b)} | {spread([x / y for x, y in zip(a, b)], 2)} | "
                f"{spread(da, 2)} | {spread(db, 2)} |"
            )


def scattering():
    """Liu et al. 2020's gradient scattering: mean pairwise cosine of per-example gradients."""
    print(
        "\n### Per-example gradients (mean pairwise cosine over 32 examples; mean ± sd over seeds)\n"
    )
    print(
        "| model (attack) | seeds | adversarial gradients | clean gradients | perturbations δ | "
        "robust accuracy after the attack |"
    )
    print("|---|---|---|---|---|---|")
    models = [("standard", "standard (L∞ 0.05)")] + [
        (prefix.replace("lipschitz-", ""), label) for prefix, label in MODELS[1:]
    ]
    for name, label in models:
        paths = reports(f"perturbation-{name}")
        data = [load(p)["data"] for p in paths]
        if not data:
            continue
        cells = [
            spread([d["adversarial_gradients"]["mean"] for d in data], 2),
            spread([d["clean_gradients"]["mean"] for d in data], 2),
            spread([d["perturbations"]["mean"] for d in data], 2),
            spread([d["steps"][-1]["accuracy"] for d in data], 3),
        ]
        print(f"| {label} | {len(data)} | " + " | ".join(cells) + " |")


def accuracies():
    """The last epoch's test accuracies of every run (`train.json`, copied to REPORTS/train/)."""
    runs = [("standard", "standard")] + [
        (prefix.removeprefix("lipschitz-"), label) for prefix, label in MODELS[1:]
    ]
    rows = []
    for name, label in runs:
        paths = reports(name, "train/{prefix}-s[0-9].json")
        tests = [load(p)["data"]["epochs"][-1]["test"] for p in paths]
        if tests:
            rows.append((label, tests))
    if not rows:
        return
    attacks = [a["attack"] for a in rows[0][1][0]["robust"]]
    names = [f"PGD-{a['steps']} {a['norm']} {a['eps']:g}" for a in attacks]
    n = rows[0][1][0]["clean"]["examples"]
    print(
        f"\n### Test accuracy after the last epoch ({n} test images, PGD-10; from `{os.path.basename(REPORTS)}/train/`)\n"
    )
    print("| model | seeds | clean | " + " | ".join(names) + " |")
    print("|---|---|---|" + "---|" * len(names))
    for label, tests in rows:
        cells = [spread([t["clean"]["accuracy"] for t in tests], decimals=3)] + [
            spread([t["robust"][i]["metrics"]["accuracy"] for t in tests], decimals=3)
            for i in range(len(names))
        ]
        print(f"| {label} | {len(tests)} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
    scattering()
    accuracies()

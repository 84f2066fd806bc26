"""The APGD tables of README.md from reports/robustness/*.json (standard library only).

python3 robustness_table.py [REPORTS [KIND]]  (from any directory; REPORTS defaults to reports/, e.g. reports-full/
for the runs on the full Fashion-MNIST, README "Full data", or reports-full-test/ for their evaluation on the whole
test set, README "The whole test set"; KIND is `robustness`, the last checkpoints, by default,
or `robustness-best`, the runs' best checkpoints, README "Best checkpoints"; `robustness-val` and
`robustness-val-best` are the same for the runs that held a validation split out)

Each `advland eval` report holds the clean accuracy, each attack's (PGD-10, APGD-CE, APGD-T) and the per-example
worst case over the clean input and the three. The first table gives the mean ± standard deviation over seeds per
run family (optimizer and learning rate); the second, EntropySGD minus SGD paired by seed, for the base runs' rates
and for each optimizer's best rate (the highest mean worst case over its seeds, picked on these same images), with
a 95 % bootstrap interval of the mean difference over the test images: both models of a seed are judged on the same
images (the reports' per-example worst case), so a resample draws images (2,000 resamples, seed 0) and recomputes
the mean over seeds of the paired difference. It measures the test sample's share of the uncertainty; the seeds'
share is in the per-seed column. The third table, from the training logs (`KIND/train/*.json`), gives per family the
training objective's loss in the last epoch and how much it fell in that epoch (range over seeds; runs that
diverged to chance, a last loss above 2, are counted apart): how far from converged the runs stopped. With
`robustness-best` the third table instead gives, per family, the epoch each seed's best checkpoint is from and its
worst case against the last checkpoint's of the same run (`robustness/`, or `robustness-val/`); for runs that
held a validation split out (whose best checkpoints it ranks), also the epoch the per-epoch test subset would have
picked instead (from `robustness-val/train/`).
"""

import glob
import json
import os
import random
import re
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, sys.argv[1] if len(sys.argv) > 1 else "reports")
KIND = sys.argv[2] if len(sys.argv) > 2 else "robustness"

sys.path.insert(0, os.path.dirname(HERE))
from table_stats import spread

NAME = re.compile(r"^(?P<family>.+)-s(?P<seed>\d+)\.json$")


def families(kind=KIND):
    """family (e.g. `sgd-linf`, `sgd-lr0.1-linf`) → seed → accuracies and the checkpoint's epoch."""
    out = {}
    for path in sorted(glob.glob(os.path.join(REPORTS, kind, "*.json"))):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            data = json.load(f)["data"]
        r = data["result"]
        row = {"clean": r["clean"]["accuracy"], "epoch": data["epoch"]}
        for a in r["attacks"]:
            kind = {"pgd": "pgd", "ce": "apgd-ce", "targeted-dlr": "apgd-t"}[
                a["attack"].get("loss", a["attack"]["kind"])
            ]
            row[kind] = a["metrics"]["accuracy"]
        row["worst"] = r["worst_case"]["metrics"]["accuracy"]
        row["robust"] = r["worst_case"]["robust"]
        out.setdefault(m["family"], {})[int(m["seed"])] = row
    return out


def label(family):
    """(optimizer and rate, threat) of a run family such as `sgd-lr0.1-linf` or `esgd-linf`; a
    schedule of E epochs other than train.toml's 6 (`-eE-`) is part of the threat's group."""
    optimizer, _, rest = family.partition("-")
    name = {"sgd": "SGD", "esgd": "EntropySGD"}[optimizer]
    rate = {"sgd": "0.05 (train.toml)", "esgd": "1.0 (reference)"}[optimizer]
    if rest.startswith("lr"):
        rate, _, rest = rest[2:].partition("-")
    return f"{name} lr {rate}", rest


def shown(threat):
    """`linf` → `linf, 6 epochs`; `e15-linf` → `linf, 15 epochs`."""
    epochs, _, norm = threat.partition("-")
    if norm and epochs.startswith("e"):
        return f"{norm}, {epochs[1:]} epochs"
    return f"{threat}, 6 epochs"


def order(threat):
    """Norm, then schedule length."""
    epochs, _, norm = threat.partition("-")
    if norm and epochs.startswith("e"):
        return (norm, int(epochs[1:]))
    return (threat, 6)


def best(fams, optimizer, threat):
    """The family of `optimizer` under `threat` with the highest mean worst case."""
    mine = [f for f in fams if f.partition("-")[0] == optimizer and label(f)[1] == threat]
    return max(mine, key=lambda f: statistics.mean(r["worst"] for r in fams[f].values()))


def paired_interval(pairs, resamples=2000, seed=0):
    """95 % bootstrap interval, in points, of the mean over seeds of the paired difference in worst-case
    accuracy; `pairs` holds per seed the two models' per-example robust flags on the same images."""
    n = len(pairs[0][0])
    if any(len(a) != n or len(b) != n for a, b in pairs):
        return None
    diffs = [[int(x) - int(y) for x, y in zip(a, b)] for a, b in pairs]
    rng = random.Random(seed)
    means = []
    for _ in range(resamples):
        idx = [rng.randrange(n) for _ in range(n)]
        means.append(100 * statistics.mean(sum(d[i] for i in idx) / n for d in diffs))
    means.sort()
    return means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]


def main():
    fams = families()
    print(
        "| threat, schedule | optimizer | seeds | clean | PGD-10 | APGD-CE | APGD-T | worst case |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for family in sorted(fams, key=lambda f: (order(label(f)[1]), label(f)[0])):
        name, threat = label(family)
        rows = list(fams[family].values())
        cells = [
            spread([r[k] for r in rows], decimals=3)
            for k in ("clean", "pgd", "apgd-ce", "apgd-t", "worst")
        ]
        print(f"| {shown(threat)} | {name} | {len(rows)} | " + " | ".join(cells) + " |")

    print(
        "\n| threat, schedule | EntropySGD | SGD | EntropySGD − SGD, worst case, per seed | mean "
        "| 95 % interval over images |"
    )
    print("|---|---|---|---|---|---|")
    for threat in sorted({label(f)[1] for f in fams}, key=order):
        optimizers = {f.partition("-")[0] for f in fams if label(f)[1] == threat}
        if optimizers != {"esgd", "sgd"}:
            continue
        pairs = [(f"esgd-{threat}", f"sgd-{threat}")]
        pairs = [p for p in pairs if p[0] in fams and p[1] in fams]
        tuned = (best(fams, "esgd", threat), best(fams, "sgd", threat))
        if tuned not in pairs:
            pairs.append(tuned)
        for esgd, sgd in pairs:
            seeds = sorted(set(fams[esgd]) & set(fams[sgd]))
            diffs = [100 * (fams[esgd][s]["worst"] - fams[sgd][s]["worst"]) for s in seeds]
            per_seed = ", ".join(points(d) for d in diffs)
            rates = {
                o: sum(f.startswith(f"{o}-") and label(f)[1] == threat for f in fams)
                for o in ("esgd", "sgd")
            }
            names = [
                label(f)[0] + (" (best)" if f in tuned and rates[f.partition("-")[0]] > 1 else "")
                for f in (esgd, sgd)
            ]
            interval = paired_interval(
                [(fams[esgd][s]["robust"], fams[sgd][s]["robust"]) for s in seeds]
            )
            shown_interval = "–" if interval is None else f"{interval[0]:+.1f} … {interval[1]:+.1f}"
            print(
                f"| {shown(threat)} | {names[0]} | {names[1]} | {per_seed} points | "
                f"{statistics.mean(diffs):+.1f} | {shown_interval} |"
            )

    if not KIND.endswith("-best"):
        training_table()
    else:
        against_last(fams)


def against_last(fams):
    """Per family: the best checkpoints' epochs and worst case against the last checkpoints' of the
    same runs (`robustness-val` for `robustness-val-best`)."""
    last = families(KIND.removesuffix("-best"))
    logs = train_logs(KIND.removesuffix("-best"))
    validated = any(
        "validation" in e for runs in logs.values() for log in runs.values() for e in log
    )
    extra = " test subset's pick per seed |" if validated else ""
    print(
        "\n| threat, schedule | optimizer | epoch per seed | worst case, best | worst case, last "
        f"| best − last per seed |{extra}"
    )
    print("|---|---|---|---|---|---|" + ("---|" if validated else ""))
    for family in sorted(fams, key=lambda f: (order(label(f)[1]), label(f)[0])):
        name, threat = label(family)
        seeds = sorted(set(fams[family]) & set(last.get(family, {})))
        if not seeds:
            continue
        best_runs = [fams[family][s] for s in seeds]
        last_runs = [last[family][s] for s in seeds]
        epochs = ", ".join(str(r["epoch"]) for r in best_runs)
        diffs = ", ".join(
            points(100 * (b["worst"] - a["worst"])) for b, a in zip(best_runs, last_runs)
        )
        picks = ""
        if validated:
            runs = logs.get(family, {})
            picks = (
                " " + ", ".join(str(test_pick(runs[s])) if s in runs else "?" for s in seeds) + " |"
            )
        print(
            f"| {shown(threat)} | {name} | {epochs} | "
            f"{spread([r['worst'] for r in best_runs], decimals=3)} | "
            f"{spread([r['worst'] for r in last_runs], decimals=3)} | {diffs} points |{picks}"
        )


def train_logs(kind):
    """family → seed → the epochs of its training log (`kind/train/*.json`)."""
    out = {}
    for path in sorted(glob.glob(os.path.join(REPORTS, kind, "train", "*.json"))):
        m = NAME.match(os.path.basename(path))
        if m:
            with open(path) as f:
                log = json.load(f)
            threat = log["meta"]["config"]["adversarial"]
            epochs = log["data"]["epochs"]
            for e in epochs:
                e["threat"] = (threat["norm"], threat["eps"])
            out.setdefault(m["family"], {})[int(m["seed"])] = epochs
    return out


def test_pick(epochs):
    """The epoch the per-epoch test subset ranks first under the training threat (the earliest of
    equals), as `RUN/best` picks without a validation split."""

    def accuracy(e):
        norm, eps = e["threat"]
        robust = e["test"]["robust"]
        hit = [
            r
            for r in robust
            if r["attack"]["norm"] == norm and abs(r["attack"]["eps"] - eps) < 1e-12
        ]
        return hit[0]["metrics"]["accuracy"]

    top = max(accuracy(e) for e in epochs)
    return next(e["epoch"] for e in epochs if accuracy(e) == top)


def points(difference):
    """A difference in accuracy points to 2 decimals (one image of 2,000 is 0.05 points, of 10,000
    0.01); a rounded zero shown as 0.00."""
    shown = f"{difference:+.2f}"
    return "0.00" if shown in ("+0.00", "-0.00") else shown


def span(values):
    """`min … max` to 3 decimals (a rounded −0 shown as 0)."""
    shown = [f"{v:.3f}".replace("-0.000", "0.000") for v in (min(values), max(values))]
    return " … ".join(shown)


def training_table():
    """Last-epoch training loss and its fall in that epoch, per family, from the training logs."""
    logs = {}
    for path in sorted(glob.glob(os.path.join(REPORTS, KIND, "train", "*.json"))):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            losses = [e["train_objective"]["loss"] for e in json.load(f)["data"]["epochs"]]
        logs.setdefault(m["family"], []).append(losses)
    if not logs:
        return
    print(
        "\n| threat, schedule | optimizer | seeds | diverged | last-epoch loss | fall in the last epoch |"
    )
    print("|---|---|---|---|---|---|")
    for family in sorted(logs, key=lambda f: (order(label(f)[1]), label(f)[0])):
        name, threat = label(family)
        runs = logs[family]
        kept = [r for r in runs if r[-1] <= 2.0]
        if kept:
            last = span([r[-1] for r in kept])
            falls = [r[-2] - r[-1] for r in kept if len(r) > 1]
            fall = span(falls) if falls else "–"
        else:
            last, fall = "–", "–"
        print(
            f"| {shown(threat)} | {name} | {len(runs)} | {len(runs) - len(kept)} | {last} | {fall} |"
        )


if __name__ == "__main__":
    main()

"""The APGD tables of README.md from reports/robustness/*.json (standard library only).

python3 robustness_table.py  (from any directory)

Each `advland eval` report holds the clean accuracy, each attack's (PGD-10, APGD-CE, APGD-T) and the per-example
worst case over the clean input and the three. The first table gives the mean ± standard deviation over seeds per
run family (optimizer and learning rate); the second, EntropySGD minus SGD paired by seed, for the base runs' rates
and for each optimizer's best rate (the highest mean worst case over its seeds, picked on these same images).
"""

import glob
import json
import os
import re
import statistics

HERE = os.path.dirname(os.path.abspath(__file__))
NAME = re.compile(r"^(?P<family>.+)-s(?P<seed>\d+)\.json$")


def spread(values):
    if len(values) == 1:
        return f"{values[0]:.3f}"
    return f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f}"


def families():
    """family (e.g. `sgd-linf`, `sgd-lr0.1-linf`) → seed → accuracies."""
    out = {}
    for path in sorted(glob.glob(os.path.join(HERE, "reports", "robustness", "*.json"))):
        m = NAME.match(os.path.basename(path))
        if not m:
            continue
        with open(path) as f:
            r = json.load(f)["data"]["result"]
        row = {"clean": r["clean"]["accuracy"]}
        for a in r["attacks"]:
            kind = {"pgd": "pgd", "ce": "apgd-ce", "targeted-dlr": "apgd-t"}[
                a["attack"].get("loss", a["attack"]["kind"])
            ]
            row[kind] = a["metrics"]["accuracy"]
        row["worst"] = r["worst_case"]["metrics"]["accuracy"]
        out.setdefault(m["family"], {})[int(m["seed"])] = row
    return out


def label(family):
    """(optimizer and rate, threat) of a run family such as `sgd-lr0.1-linf` or `esgd-linf`."""
    optimizer, _, rest = family.partition("-")
    name = {"sgd": "SGD", "esgd": "EntropySGD"}[optimizer]
    default = {"sgd": "0.05", "esgd": "1.0"}[optimizer]
    rate = f"{default} (the base runs)"
    if rest.startswith("lr"):
        rate, _, rest = rest[2:].partition("-")
    return f"{name} lr {rate}", rest


def best(fams, optimizer, threat):
    """The family of `optimizer` under `threat` with the highest mean worst case."""
    mine = [f for f in fams if f.partition("-")[0] == optimizer and label(f)[1] == threat]
    return max(mine, key=lambda f: statistics.mean(r["worst"] for r in fams[f].values()))


def main():
    fams = families()
    print("| threat | optimizer | seeds | clean | PGD-10 | APGD-CE | APGD-T | worst case |")
    print("|---|---|---|---|---|---|---|---|")
    for family in sorted(fams, key=lambda f: (label(f)[1], label(f)[0])):
        name, threat = label(family)
        rows = list(fams[family].values())
        cells = [
            spread([r[k] for r in rows]) for k in ("clean", "pgd", "apgd-ce", "apgd-t", "worst")
        ]
        print(f"| {threat} | {name} | {len(rows)} | " + " | ".join(cells) + " |")

    print("\n| threat | EntropySGD | SGD | EntropySGD − SGD, worst case, per seed | mean |")
    print("|---|---|---|---|---|")
    for threat in sorted({label(f)[1] for f in fams}):
        if f"esgd-{threat}" not in fams:
            continue
        pairs = [(f"esgd-{threat}", f"sgd-{threat}")]
        tuned = (best(fams, "esgd", threat), best(fams, "sgd", threat))
        if tuned != pairs[0]:
            pairs.append(tuned)
        for esgd, sgd in pairs:
            seeds = sorted(set(fams[esgd]) & set(fams[sgd]))
            diffs = [100 * (fams[esgd][s]["worst"] - fams[sgd][s]["worst"]) for s in seeds]
            per_seed = ", ".join(f"{d:+.1f}" for d in diffs)
            rates = {
                o: sum(f.startswith(f"{o}-") and label(f)[1] == threat for f in fams)
                for o in ("esgd", "sgd")
            }
            names = [
                label(f)[0] + (" (best)" if f in tuned and rates[f.partition("-")[0]] > 1 else "")
                for f in (esgd, sgd)
            ]
            print(
                f"| {threat} | {names[0]} | {names[1]} | {per_seed} points | "
                f"{statistics.mean(diffs):+.1f} |"
            )


if __name__ == "__main__":
    main()

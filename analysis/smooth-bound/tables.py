"""The tables of README.md from reports/*/*.json (standard library only).

python3 tables.py [REPORTS]  (from any directory; REPORTS: a directory of this experiment's reports,
default reports/, e.g. reports-full)

Each `advland bound` report (one model, one attack) gives per example the face δ* lies on, μ (the
Lagrangian's concavity on it), the mixed-Hessian norm, the KKT stationarity residual and the measured
motion ‖Δδ‖/ρ of PGD's point under small random steps of θ, with the bracket check and κ. The tables
give, per model kind, norm and ε, the mean ± standard deviation over the three seeds of each report's
summary; the within-model table correlates, per model and seed, the four ε of a sweep.
"""

import glob
import json
import os
import statistics
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
REPORTS = os.path.join(HERE, sys.argv[1] if len(sys.argv) > 1 else "reports")

sys.path.insert(0, os.path.dirname(HERE))
from table_stats import spearman, spread

KINDS = [("standard", "standard"), ("l2-0.5", "L2-AT 0.5"), ("linf-0.05", "L∞-AT 0.05")]
NORMS = [("l2", "L2"), ("linf", "L∞")]


def load(path):
    """The payload, with the number of probe directions from the recorded configuration."""
    with open(path) as f:
        doc = json.load(f)
    data = doc["data"]
    data["directions"] = doc["meta"]["config"]["directions"]
    return data


def reports(kind, norm):
    """ε → the three seeds' reports of one model kind under one norm."""
    found = {}
    for path in sorted(glob.glob(os.path.join(REPORTS, f"{kind}-s[0-9]", f"{norm}-*.json"))):
        r = load(path)
        found.setdefault(r["attack"]["eps"], []).append(r)
    return dict(sorted(found.items()))


def median(values):
    return statistics.median(values) if values else None


def check(r, field):
    """A field of the motion check, or None where no pair had a bracket."""
    return r["motion_check"][field] if r["motion_check"]["pairs"] else None


def main():
    print("### Props. A/B per model and attack (medians over 64 examples; mean ± sd over seeds)\n")
    print(
        "| model | attack | concave (μ > 0) | face dim | μ | ‖PH_xθ‖ | stationarity | ‖Δδ‖/ρ | "
        "in bracket | above | κ bound | κ measured (median) | L_θθ |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for kind, label in KINDS:
        for norm, norm_label in NORMS:
            for eps, rs in reports(kind, norm).items():
                pe = [r["per_example"] for r in rs]
                row = [
                    label,
                    f"{norm_label} {eps:g}",
                    spread([r["concave"] / r["examples"] for r in rs], 2),
                    spread([median([e["face_dim"] for e in p]) for p in pe]),
                    spread([median([e["mu"] for e in p if "mu" in e]) for p in pe]),
                    spread([r["mixed"]["median"] for r in rs]),
                    spread([r["stationarity"]["median"] for r in rs], 2),
                    spread([r["motion"]["median"] for r in rs]),
                    spread(
                        [
                            r["motion_check"]["within"] if r["motion_check"]["pairs"] else None
                            for r in rs
                        ],
                        2,
                    ),
                    spread(
                        [
                            r["motion_check"]["above"] if r["motion_check"]["pairs"] else None
                            for r in rs
                        ],
                        2,
                    ),
                    spread([r.get("kappa_bound") for r in rs]),
                    spread([r["kappa"]["median"] for r in rs]),
                    spread([r["hessian_norm"] for r in rs]),
                ]
                print("| " + " | ".join(row) + " |")

    print(
        "\n### δ's measured motion against the bracket, and face changes (mean ± sd over seeds)\n"
    )
    print(
        "| model | attack | pairs in bracket | above it | of those, with a face change | measured / upper (median) | directions that changed the face | ρ(μ, motion) per example | ρ(bound, motion) per example |"
    )
    print("|---|---|---|---|---|---|---|---|---|")
    for kind, label in KINDS:
        for norm, norm_label in NORMS:
            for eps, rs in reports(kind, norm).items():
                changes = [
                    sum(e["face_changes"] for e in r["per_example"])
                    / (len(r["per_example"]) * r["directions"])
                    for r in rs
                ]
                row = [
                    label,
                    f"{norm_label} {eps:g}",
                    spread(
                        [
                            r["motion_check"]["within"] if r["motion_check"]["pairs"] else None
                            for r in rs
                        ],
                        2,
                    ),
                    spread([check(r, "above") for r in rs], 2),
                    spread(
                        [
                            r["motion_check"]["above_with_face_change"]
                            if r["motion_check"]["pairs"] and r["motion_check"]["above"]
                            else None
                            for r in rs
                        ],
                        2,
                    ),
                    spread(
                        [r["motion_check"].get("ratio_to_upper", {}).get("median") for r in rs], 2
                    ),
                    spread(changes, 2),
                    spread([r["correlations"].get("mu") for r in rs], 2),
                    spread([r["correlations"].get("motion_bound") for r in rs], 2),
                ]
                print("| " + " | ".join(row) + " |")

    print("\n### Within one model across its ε sweep (Spearman over the four ε, per seed)\n")
    print(
        "| model | attack | ρ(median μ, κ) | ρ(median ‖∇ₓℓ‖, κ) | ρ(median μ, median motion / ε) | ρ(ε, κ) |"
    )
    print("|---|---|---|---|---|---|")
    for kind, label in KINDS:
        for norm, norm_label in NORMS:
            sweep = reports(kind, norm)
            if len(sweep) < 3:
                continue
            seeds = min(len(v) for v in sweep.values())
            cols = {k: [] for k in ("mu_kappa", "grad_kappa", "mu_motion", "eps_kappa")}
            for s in range(seeds):
                rs = [sweep[eps][s] for eps in sweep]
                eps = list(sweep)
                mus = [median([e["mu"] for e in r["per_example"] if "mu" in e]) for r in rs]
                relative = [r["motion"]["median"] / e for r, e in zip(rs, eps)]
                grad = [median([e["gradient_norm"] for e in r["per_example"]]) for r in rs]
                kappa = [r["kappa"]["median"] for r in rs]
                if None not in mus:
                    cols["mu_kappa"].append(spearman(mus, kappa))
                    cols["mu_motion"].append(spearman(mus, relative))
                cols["grad_kappa"].append(spearman(grad, kappa))
                cols["eps_kappa"].append(spearman(eps, kappa))
            cells = [", ".join(f"{v:+.2f}" for v in cols[k] if v is not None) or "–" for k in cols]
            print(f"| {label} | {norm_label} | " + " | ".join(cells) + " |")


def lipschitz_table(statistic):
    """κ(r) of the adversarial loss per model and attack, from the `sharpness lipschitz` reports:
    `statistic` (median or q90) over the directions at each radius."""
    rows = [
        ("l2-0.5", "l2-0.5", "L2-AT 0.5", "L2 0.5"),
        ("standard", "l2-0.5", "standard", "L2 0.5"),
        ("linf-0.05", "linf-0.05", "L∞-AT 0.05", "L∞ 0.05"),
        ("standard", "linf-0.05", "standard", "L∞ 0.05"),
    ]
    # The L2 attack at the strength calibrated to L∞ 0.05 (the experiment's `l2_matched`).
    for path in sorted(glob.glob(os.path.join(REPORTS, "linf-0.05-s0", "lipschitz-l2-*.json"))):
        attack = os.path.basename(path)[len("lipschitz-") : -len(".json")]
        rows.append(("linf-0.05", attack, "L∞-AT 0.05", f"L2 {attack[3:]} (matched)"))
    radii = None
    lines = []
    for kind, attack, label, attack_label in rows:
        paths = sorted(
            glob.glob(os.path.join(REPORTS, f"{kind}-s[0-9]", f"lipschitz-{attack}.json"))
        )
        if not paths:
            continue
        objs = []
        for path in paths:
            with open(path) as f:
                estimate = json.load(f)["data"]["estimate"]
            radii = estimate["relative_radii"]
            objs.append({o["kind"]: o for o in estimate["objectives"]})
        adv = [o["adversarial"] for o in objs]
        medians = [
            spread([a["random"][i]["summary"][statistic] for a in adv]) for i in range(len(radii))
        ]
        bounds = []
        for path in paths:
            bound = os.path.join(os.path.dirname(path), attack + ".json")
            bounds.append(load(bound).get("kappa_bound") if os.path.exists(bound) else None)
        lines.append(
            [label, attack_label, str(len(paths)), *medians]
            + [
                spread([a["scaling"]["slope"] for a in adv], 2),
                spread([o["adversarial-frozen"]["random"][2]["summary"]["median"] for o in objs]),
                spread([a["worst_case"]["kappa"] for a in adv]),
                spread(bounds),
            ]
        )
    print(
        f"\n### κ(r) of the adversarial loss ({statistic} over 16 directions; mean ± sd over seeds)\n"
    )
    head = ["model", "attack", "seeds"] + [f"κ r = {r:g}·‖θ‖" for r in radii or []]
    head += ["slope of log κ vs log r", "frozen κ r = 1e-4", "worst-case κ", "Props. A/B bound"]
    print("| " + " | ".join(head) + " |")
    print("|" + "---|" * len(head))
    for line in lines:
        print("| " + " | ".join(line) + " |")


def radius_table():
    """The bracket check of one model per norm at several probe steps (`reports/radius/`, and the
    main reports at 1e-4·‖θ‖)."""
    print("\n### The bracket at other probe steps (seed 0)\n")
    print(
        "| model | attack | ρ/‖θ‖ | pairs in bracket | above | below | measured / upper (median) |"
    )
    print("|---|---|---|---|---|---|---|")
    for kind, label, attack in [
        ("l2-0.5", "L2-AT 0.5", "l2-0.5"),
        ("linf-0.05", "L∞-AT 0.05", "linf-0.05"),
    ]:
        paths = glob.glob(os.path.join(REPORTS, "radius", f"{kind}-s0-{attack}-r*.json"))
        paths.append(os.path.join(REPORTS, f"{kind}-s0", f"{attack}.json"))
        rows = []
        for path in paths:
            r = load(path)
            rows.append((r["probe_step"] / r["theta_norm"], r))
        for step, r in sorted(rows, key=lambda x: x[0]):
            c = r["motion_check"]
            ratio = c.get("ratio_to_upper", {}).get("median")
            ratio = "–" if ratio is None else f"{ratio:.3g}"
            print(
                f"| {label} | {attack} | {step:.0e} | {c['within']:.3f} | {c['above']:.3f} | "
                f"{c['below']:.3f} | {ratio} |"
            )


if __name__ == "__main__":
    main()
    lipschitz_table("median")
    lipschitz_table("q90")
    radius_table()

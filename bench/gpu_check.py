#!/usr/bin/env python3
"""Compares the reports of `bench/gpu.sh` run on one device with the CPU's, number by number.

    python3 bench/gpu_check.py CPU_DIR DEVICE_DIR [--json OUT.json]

Each directory holds the same report files (eval.json, hessian.json, surface.json,
flatness.json, train/train.json) computed from the same checkpoint; only the device differs.
Every numeric leaf under the report's `data` is compared; `meta` (times, cost, device) is not.
A number passes when |device - cpu| <= atol + rtol * |cpu| with the tolerance of its report
kind below. Accuracies are fractions of the examples, so one example that flips under an attack
moves them by 1/n: their tolerance is a count of examples, not a relative error.

Standard library only (the GPU machine's python3 runs it). Prints a table to stdout, exits 1 when
any number is out of tolerance.
"""

import argparse
import json
import math
import sys
from pathlib import Path

# (rtol, atol) per report kind, and the number of examples an accuracy may differ by.
# - eval: PGD takes sign(∇) steps; a gradient component within rounding of 0 can take the other
#   sign on another device, so a few examples may end elsewhere. Losses: f32 sums in another order.
# - train: one epoch of SGD amplifies rounding; the log is compared loosely (a sanity check that
#   the device trains the same model, not an equality).
# - hessian: finite-difference HVPs in f32 on the GPU (wgpu has no f64) against f64 on the CPU.
# - surface, flatness: sums of f32 losses; adversarial points re-solve PGD as eval does.
TOLERANCES = {
    "eval": (1e-3, 1e-4),
    "train": (5e-2, 1e-2),
    "sharpness": (1e-2, 1e-4),
    "surface": (1e-3, 1e-4),
    "flatness": (1e-2, 1e-4),
}
ACCURACY_EXAMPLES = 2
# Not results: run metadata and cost, and the finite-difference step, which is the precision's
# (f64: 1e-7 forward, f32: 1e-2 central, two gradients per product: gradient_evaluations).
SKIP_KEYS = {
    "meta",
    "cost",
    "seconds",
    "duration_s",
    "started_unix_s",
    "fd_step",
    "gradient_evaluations",
}


def leaves(value, path=""):
    """(path, number) for every numeric leaf of a JSON value."""
    if isinstance(value, dict):
        for k, v in value.items():
            if k not in SKIP_KEYS:
                yield from leaves(v, f"{path}.{k}" if path else k)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from leaves(v, f"{path}[{i}]")
    elif isinstance(value, (bool, int, float)):
        yield path, float(value)


def examples_of(report):
    """The number of test examples a report's accuracies are fractions of, if it says."""
    subset = report.get("meta", {}).get("data", {})
    for key in ("test_examples", "examples", "test"):
        n = subset.get(key)
        if isinstance(n, int) and n > 0:
            return n
    return None


def compare(cpu_file, dev_file):
    cpu = json.loads(Path(cpu_file).read_text())
    dev = json.loads(Path(dev_file).read_text())
    kind = cpu.get("kind", "")
    rtol, atol = TOLERANCES.get(kind, (1e-3, 1e-4))
    n = examples_of(cpu)
    a = dict(leaves(cpu.get("data", cpu)))
    b = dict(leaves(dev.get("data", dev)))
    rows = []
    for path in sorted(set(a) | set(b)):
        if path not in a or path not in b:
            rows.append((path, a.get(path), b.get(path), math.inf, False))
            continue
        x, y = a[path], b[path]
        tol = atol + rtol * abs(x)
        if "accuracy" in path and n:
            tol = max(tol, ACCURACY_EXAMPLES / n + 1e-12)
        err = abs(x - y)
        rows.append((path, x, y, err, err <= tol))
    return kind, rows


def main():
    p = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("cpu", type=Path)
    p.add_argument("device", type=Path)
    p.add_argument("--json", type=Path, help="write every comparison here")
    args = p.parse_args()
    failed = 0
    record = {}
    print("| report | numbers | out of tolerance | largest abs. difference |")
    print("|---|---|---|---|")
    for cpu_file in sorted(args.cpu.rglob("*.json")):
        rel = cpu_file.relative_to(args.cpu)
        dev_file = args.device / rel
        if not dev_file.exists():
            print(f"| {rel} | – | missing on the device | – |")
            failed += 1
            continue
        kind, rows = compare(cpu_file, dev_file)
        bad = [r for r in rows if not r[4]]
        worst = max((r[3] for r in rows), default=0.0)
        print(f"| {rel} ({kind}) | {len(rows)} | {len(bad)} | {worst:.3g} |")
        for path, x, y, err, _ in bad[:10]:
            print(f"|   {path} | cpu {x} | device {y} | {err:.3g} |")
        failed += len(bad)
        record[str(rel)] = {
            "kind": kind,
            "numbers": len(rows),
            "failed": [r[0] for r in bad],
            "max_abs_diff": worst if math.isfinite(worst) else None,
        }
    if args.json:
        args.json.write_text(json.dumps(record, indent=1) + "\n")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()

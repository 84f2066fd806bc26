"""Two advland binaries side by side on the CPU workloads whose speed depends on the GEMM:
PGD-10 and one Hessian-vector step on the full-width PreAct-ResNet-18 (random init, random
CIFAR-size images, f32), and the same on the 12,810-parameter CNN (bundled Fashion-MNIST, f32 PGD,
f64 HVP). Runs alternate A, B, A, B, … so load drifts hit both; the fastest wall time of each
counts. Also compares the two binaries' numbers (loss and accuracy of every report), so a change
of kernels that moves results shows by how much.

    python3 bench/ab.py BIN_A BIN_B [--repeat 3] [--out runs/ab]

Standard library only. Writes OUT/ab.json (every run) and prints a Markdown table with the
1-minute load average before and after.
"""

import argparse
import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path


def random_cifar(root: Path, train: int, test: int) -> Path:
    """CIFAR-10's binary layout with seeded random pixels and labels."""
    d = root / "cifar-10-batches-bin"
    d.mkdir(parents=True, exist_ok=True)
    rng = random.Random(0)

    def batch(n):
        return b"".join(bytes([rng.randrange(10)]) + rng.randbytes(3072) for _ in range(n))

    for i in range(1, 6):
        (d / f"data_batch_{i}.bin").write_bytes(batch(train))
    (d / "test_batch.bin").write_bytes(batch(test))
    return root


def run(binary, args, cwd):
    """One run under /usr/bin/time: (wall s, user s, sys s, peak RSS MiB)."""
    cmd = ["/usr/bin/time", "-f", "%e %U %S %M", binary, "-q", *args]
    p = subprocess.run(cmd, check=False, cwd=cwd, capture_output=True, text=True)
    if p.returncode != 0:
        sys.exit(f"{' '.join(map(str, cmd))} failed:\n{p.stderr}")
    wall, user, sys_, rss = p.stderr.strip().splitlines()[-1].split()
    return float(wall), float(user), float(sys_), int(rss) / 1024


def numbers(report):
    """Every loss and accuracy in an eval report, or the eigenvalue of a Hessian report."""
    data = json.loads(Path(report).read_text())["data"]
    if "result" in data:
        r = data["result"]
        out = {"clean loss": r["clean"]["loss"], "clean acc": r["clean"]["accuracy"]}
        for i, a in enumerate(r["robust"]):
            out[f"robust loss {i}"] = a["metrics"]["loss"]
            out[f"robust acc {i}"] = a["metrics"]["accuracy"]
        return out
    return {"lambda_1": data["estimate"]["eigenvalues"][0]["value"]}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("a")
    p.add_argument("b")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--out", default="runs/ab")
    args = p.parse_args()
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    a, b = (str(Path(x).resolve()) for x in (args.a, args.b))
    data = random_cifar(out / "cifar", train=16, test=128)
    # The models the workloads measure, trained (one step) by binary A, so both measure the same
    # weights; the work of PGD and an HVP does not depend on the weights' values.
    if not (out / "preact").exists():
        model = ["train", "--model", "preact-resnet18", "--dataset", "cifar10", "--data-dir"]
        sizes = (
            "--train-subset 16 --test-subset 128 --epochs 1 --batch-size 16 --seed 0 --out preact"
        )
        run(a, [*model, str(data), *sizes.split()], out)
    if not (out / "cnn").exists():
        cnn = (
            "train --model cnn --train-subset 1000 --test-subset 1000 --epochs 1 --seed 0 --out cnn"
        )
        run(a, cnn.split(), out)

    def pgd(model, eps, images):
        return (
            f"eval --checkpoint {model} --norm linf --eps {eps} --steps 10 "
            f"--test-subset {images} --batch-size {images}"
        ).split()

    def hessian_step(model, precision, images):
        return (
            f"sharpness hessian --checkpoint {model} --objective clean --k 1 --max-iter 1 "
            f"--precision {precision} --subset {images} --batch-size {images}"
        ).split()

    workloads = {
        "PreAct-ResNet-18 PGD-10 L∞ 8/255, 128 images, f32": pgd("preact", "8/255", 128),
        "PreAct-ResNet-18 one Hessian step (3 gradients), 128 images, f32": hessian_step(
            "preact", "f32", 128
        ),
        "CNN PGD-10 L∞ 0.1, 1,000 images, f32": pgd("cnn", "0.1", 1000),
        "CNN one Hessian step (2 gradients), 1,000 images, f64": hessian_step("cnn", "f64", 1000),
    }
    load_before = os.getloadavg()[0]
    results = []
    for name, wargs in workloads.items():
        row = {"workload": name, "args": wargs, "runs": {"A": [], "B": []}, "numbers": {}}
        for i in range(args.repeat):
            for side, binary in (("A", a), ("B", b)):
                report = out / f"{side}-{len(results)}.json"
                t = run(binary, [*wargs, "--out", str(report)], out)
                row["runs"][side].append(
                    dict(zip(["wall_s", "user_s", "sys_s", "peak_rss_mib"], t))
                )
                row["numbers"][side] = numbers(report)
        results.append(row)
    load_after = os.getloadavg()[0]
    record = {
        "a": a,
        "b": b,
        "repeat": args.repeat,
        "cpus": os.cpu_count(),
        "load_1min_before": load_before,
        "load_1min_after": load_after,
        "started": time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime()),
        "rows": results,
    }
    (out / "ab.json").write_text(json.dumps(record, indent=1))
    print(
        f"A = {a}\nB = {b}\nload (1 min) {load_before:.2f} before, {load_after:.2f} after; fastest of "
        f"{args.repeat} per side\n"
    )
    print(
        "| workload | A wall s | B wall s | B/A | A user s | B user s | peak RSS MiB A / B | largest relative "
        "difference of the numbers |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for row in results:
        best = {s: min(row["runs"][s], key=lambda r: r["wall_s"]) for s in "AB"}
        na, nb = row["numbers"]["A"], row["numbers"]["B"]
        diff = max(abs(na[k] - nb[k]) / max(abs(na[k]), 1e-30) for k in na)
        print(
            f"| {row['workload']} | {best['A']['wall_s']:.2f} | {best['B']['wall_s']:.2f} | "
            f"{best['B']['wall_s'] / best['A']['wall_s']:.2f} | {best['A']['user_s']:.2f} | "
            f"{best['B']['user_s']:.2f} | {best['A']['peak_rss_mib']:.0f} / {best['B']['peak_rss_mib']:.0f} | "
            f"{diff:.1e} |"
        )


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""advland against the PyTorch tools on this CPU: one table of seconds, ratios, peak RSS, GFLOP/s.

    python3 bench/compare.py [--repeat N] [--threads 2] [--only pgd,hessian,surface,train,gemm,resnet]

Standard library only; the PyTorch side runs in bench/.venv (bench/setup_venv.sh makes it,
`just bench` calls both). Every workload runs in its own process on both sides, on the same
weights (`advland export` of a checkpoint trained here once, kept in runs/bench/) and the same
1,000 evenly spaced Fashion-MNIST test images, with the same thread count (RAYON_NUM_THREADS for
advland, torch.set_num_threads for PyTorch, OMP/MKL_NUM_THREADS for both).

Seconds are the workload's own time on both sides: advland's report `meta.duration_s` (from the
start of the command's work, checkpoint and data loading included) and the same span in
bench/torch_workloads.py (weights and data loading included, interpreter start and `import torch`
excluded). The whole-process wall times are in the JSON (runs/bench/results.json). With
--repeat N each side runs N times and the fastest run counts. Peak RSS is the child's ru_maxrss.

The table goes to stdout (Markdown); progress to stderr.
"""
import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VENV_PY = ROOT / "bench/.venv/bin/python"
WORK = ROOT / "runs/bench"

# Nominal FLOPs of the CNN per example (multiply-adds x 2): conv1 16x26x26x9, conv2 32x11x11x144,
# fc1 800x10. ReLU, pooling and the loss are left out. A backward pass that computes input or
# weight gradients costs about one forward each.
FORWARD = 2 * (16 * 26 * 26 * 9 + 32 * 11 * 11 * 144 + 800 * 10)


def log(msg):
    print(f"compare: {msg}", file=sys.stderr, flush=True)


def run_child(cmd, env_extra):
    """Runs `cmd`; returns (stdout, wall seconds, peak RSS in MiB, CPU seconds). Exits on failure."""
    env = dict(os.environ, **env_extra)
    with tempfile.TemporaryFile() as out:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read().decode()
    if proc.returncode != 0:
        sys.exit(f"compare: command failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n{text}")
    return text, wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime


class Runner:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.advland)
        self.env = {
            "RAYON_NUM_THREADS": str(args.threads),
            "OMP_NUM_THREADS": str(args.threads),
            "MKL_NUM_THREADS": str(args.threads),
        }

    def advland(self, argv, report):
        """Runs advland with `argv` (which writes `report`); returns the timing record."""
        best = None
        for r in range(self.args.repeat):
            _, wall, rss, cpu = run_child([self.bin, "-q", *argv], self.env)
            data = json.loads(Path(report).read_text())
            rec = {"seconds": data["meta"]["duration_s"], "wall_s": wall, "cpu_s": cpu, "rss_mib": rss, "report": data}
            log(f"  advland run {r + 1}: {rec['seconds']:.2f} s, wall {wall:.2f} s, CPU {cpu:.2f} s, "
                f"peak RSS {rss:.0f} MiB, load {os.getloadavg()[0]:.2f}")
            best = merge(best, rec)
        return best

    def torch(self, argv):
        best = None
        for r in range(self.args.repeat):
            cmd = [VENV_PY, ROOT / "bench/torch_workloads.py", *argv, "--threads", str(self.args.threads)]
            text, wall, rss, cpu = run_child(cmd, self.env)
            data = json.loads(text.strip().splitlines()[-1])
            rec = {"seconds": data["seconds"], "wall_s": wall, "cpu_s": cpu, "rss_mib": rss, "report": data}
            log(f"  PyTorch run {r + 1}: {rec['seconds']:.2f} s, wall {wall:.2f} s, CPU {cpu:.2f} s, "
                f"peak RSS {rss:.0f} MiB, load {os.getloadavg()[0]:.2f}")
            best = merge(best, rec)
        return best


def merge(best, rec):
    """Keeps the fastest run's record and the highest peak RSS over all runs."""
    if best is None:
        return rec
    rss = max(best["rss_mib"], rec["rss_mib"])
    out = rec if rec["seconds"] < best["seconds"] else best
    out["rss_mib"] = rss
    return out


def prepare_weights(runner):
    """A checkpoint trained once (2 epochs PGD-7 L-inf on 2,000 images) and its safetensors export."""
    run_dir = WORK / "model"
    weights = WORK / "model.safetensors"
    ckpts = sorted((run_dir / "checkpoints").glob("epoch-*")) if run_dir.exists() else []
    if not ckpts:
        log("training the benchmark checkpoint once (runs/bench/model; about a minute)")
        if run_dir.exists():
            shutil.rmtree(run_dir)
        run_child(
            [runner.bin, "-q", "train", "--norm", "linf", "--eps", "0.1", "--steps", "7", "--epochs", "2",
             "--train-subset", "2000", "--eval-subset", "200", "--seed", "0", "--out", run_dir],
            runner.env,
        )
        ckpts = sorted((run_dir / "checkpoints").glob("epoch-*"))
    ckpt = ckpts[-1]
    if not weights.exists() or weights.stat().st_mtime < (ckpt / "model.safetensors").stat().st_mtime:
        run_child([runner.bin, "-q", "export", "--checkpoint", ckpt, "--out", weights], runner.env)
    return ckpt, weights


def divan_advland(args):
    """Runs advland-train's divan GEMM and batch-1,000 training-step benchmarks (burn on flex);
    returns their output text, or "" if cargo fails."""
    # Both bench crates in one call, as `just bench` builds them (alone, advland-train resolves
    # burn's features differently and rebuilds it).
    cmd = ["cargo", "bench", "-q", "-p", "advland-train", "--bench", "backends", "-p", "advland-analysis",
           "--bench", "analysis", "--", "gemm", "train_step_b1000"]
    env = dict(os.environ, RAYON_NUM_THREADS=str(args.threads))
    log("advland divan benchmarks: " + " ".join(cmd))
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        log(f"the divan benchmarks failed (exit {proc.returncode}); leaving them out\n{proc.stderr[-2000:]}")
        return ""
    sys.stderr.write(proc.stdout)
    return proc.stdout


TIME_UNITS = {"ns": 1e-9, "µs": 1e-6, "us": 1e-6, "ms": 1e-3, "s": 1.0}


def parse_divan_median_seconds(text):
    """{bench name: median seconds} from divan's table (the third time column of each row)."""
    found = {}
    for line in text.splitlines():
        m = re.match(r"^[\s│├╰─]*(\w+)\s", line)
        times = re.findall(r"([\d.]+) (ns|µs|us|ms|s)\b", line)
        if m and "─" in line[: m.start(1)] and len(times) >= 3:
            value, unit = times[2]
            found[m.group(1)] = float(value) * TIME_UNITS[unit]
    return found


UNITS = {"": 1e-9, "K": 1e-6, "M": 1e-3, "G": 1.0, "T": 1e3}


def parse_divan_throughput(text):
    """{bench name: median Gitem/s} from divan's table: under each row a line of throughputs
    (fastest, slowest, median, mean)."""
    found, name = {}, None
    for line in text.splitlines():
        rates = re.findall(r"([\d.]+) ([KMGT]?)item/s", line)
        if len(rates) >= 3 and name:
            value, unit = rates[2]
            found[name] = float(value) * UNITS[unit]
        elif not rates:
            m = re.match(r"^[\s│├╰─]*(\w+)", line)
            if m and "─" in line[: m.start(1)]:
                name = m.group(1)
    return found


def ratio(py, rs):
    return py / rs if py and rs else None


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/advland"
    p.add_argument("--advland", default=str(default_bin), help=f"the release binary (default {default_bin})")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest counts")
    p.add_argument("--surface-workers", type=int, default=1, help="advland surface --workers")
    p.add_argument("--surface-sizes", default="21,51", help="grid points per axis of the 2-D surfaces")
    p.add_argument("--only", default="pgd,hessian,surface,train,gemm", help="comma-separated groups")
    p.add_argument("--json", type=Path, default=WORK / "results.json")
    p.add_argument("--resnet-batch", type=int, default=128, help="images of the PreAct-ResNet-18 workloads")
    args = p.parse_args()
    only = set(args.only.split(","))

    if not Path(args.advland).exists():
        sys.exit(f"compare: {args.advland} not found; run `cargo build --release` first")
    if not VENV_PY.exists():
        sys.exit("compare: bench/.venv is missing; run bench/setup_venv.sh first (it installs torch, torchattacks)")
    WORK.mkdir(parents=True, exist_ok=True)
    runner = Runner(args)
    ckpt, weights = prepare_weights(runner)
    log(f"checkpoint {ckpt.relative_to(ROOT)}, weights {weights.relative_to(ROOT)}")
    load = os.getloadavg()
    rows = []
    n = 1000
    out = WORK / "out"
    out.mkdir(exist_ok=True)

    def row(name, py, rs, target, flops=None, note="", pytorch_flops=True):
        r = {
            "workload": name,
            "pytorch_s": py and py["seconds"],
            "advland_s": rs and rs["seconds"],
            "pytorch_wall_s": py and py["wall_s"],
            "advland_wall_s": rs and rs["wall_s"],
            "pytorch_cpu_s": py and py["cpu_s"],
            "advland_cpu_s": rs and rs["cpu_s"],
            "load_average": os.getloadavg(),
            "pytorch_rss_mib": py and py["rss_mib"],
            "advland_rss_mib": rs and rs["rss_mib"],
            "target": target,
            "flops": flops,
            # PyHessian's double backward has no nominal count comparable to advland's passes.
            "pytorch_flops": flops if pytorch_flops else None,
            "note": note,
        }
        r["speedup"] = ratio(r["pytorch_s"], r["advland_s"])
        rows.append(r)

    if "pgd" in only:
        for norm, eps, workload in [("linf", "0.1", "pgd-linf"), ("l2", "1.0", "pgd-l2")]:
            log(f"PGD-10 {norm} eps {eps} on {n} images, batch {n}")
            rep = out / f"eval-{norm}.json"
            rs = runner.advland(["eval", "--checkpoint", ckpt, "--test-subset", str(n), "--norm", norm, "--eps", eps,
                                 "--steps", "10", "--batch-size", str(n), "--out", rep], rep)
            py = runner.torch([workload, "--weights", weights, "--subset", str(n), "--eps", eps, "--steps", "10",
                               "--batch-size", str(n)])
            acc_rs = rs["report"]["data"]["result"]
            note = (f"robust acc advland {robust_acc(acc_rs):.3f}, torchattacks {py['report']['robust_accuracy']:.3f}")
            row(f"PGD-10 {'L∞' if norm == 'linf' else 'L2'} ε={eps}, {n} images", py, rs, 1.5, n * 22 * FORWARD, note)

    if "hessian" in only:
        log(f"Hessian top-1 eigenvalue, clean loss, tol 1e-3, {n} images")
        py = runner.torch(["hessian", "--weights", weights, "--subset", str(n), "--tol", "1e-3"])
        # Power iteration is PyHessian's algorithm; Lanczos (same tol rule, on Ritz values) is
        # the "or better" of the target: fewer products for a closer λ1.
        for prec, method in [("f32", "power"), ("f64", "power"), ("f32", "lanczos"), ("f64", "lanczos")]:
            rep = out / f"hessian-{prec}-{method}.json"
            rs = runner.advland(["sharpness", "hessian", "--checkpoint", ckpt, "--objective", "clean", "--k", "1",
                                 "--tol", "1e-3", "--subset", str(n), "--batch-size", str(n), "--precision", prec,
                                 "--method", method, "--out", rep], rep)
            lam, hvps, grads = hessian_summary(rs["report"])
            note = (f"λ1 advland {lam:.3f} ({hvps} HVPs, {grads} gradients), PyHessian "
                    f"{py['report']['eigenvalue']:.3f} ({py['report']['hvps']} HVPs)")
            # A finite-difference HVP is one (f64: forward difference from a cached ∇f(θ₀)) or two
            # (f32: central) gradients; the report counts every gradient (forward + backward each).
            row(f"Hessian λ1 tol 1e-3, {n} images (advland {prec}, {method})", py, rs, 1.5, grads * n * 3 * FORWARD, note,
                pytorch_flops=False)

    if "resnet" in only:
        # Full-width PreAct-ResNet-18 (robust_overfitting's), PyTorch's default init, batch-norm
        # in eval mode, CIFAR-size random images: the model researchers bring, read by advland
        # from the same .pt file PyTorch loads.
        b = args.resnet_batch
        rdir = WORK / "resnet"
        pt = rdir / "preact18.pt"
        if not pt.exists():
            log("writing the PreAct-ResNet-18 weights and random CIFAR-size images (runs/bench/resnet)")
            run_child([VENV_PY, ROOT / "bench/torch_workloads.py", "resnet-data", "--weights", pt, "--data-dir",
                       rdir / "data", "--subset", str(b)], runner.env)
        source = ["--weights", pt, "--model", "preact-resnet18", "--dataset", "cifar10", "--data-dir", rdir / "data"]
        log(f"PreAct-ResNet-18: PGD-10 L∞ 8/255 on {b} images, batch {b}")
        rep = out / "resnet-pgd.json"
        rs = runner.advland(["eval", *source, "--test-subset", str(b), "--norm", "linf", "--eps", "8/255",
                             "--steps", "10", "--batch-size", str(b), "--out", rep], rep)
        py = runner.torch(["resnet-pgd", "--weights", pt, "--data-dir", rdir / "data", "--eps", str(8 / 255),
                           "--steps", "10", "--batch-size", str(b)])
        note = (f"robust acc advland {robust_acc(rs['report']['data']['result']):.3f}, "
                f"torchattacks {py['report']['robust_accuracy']:.3f}")
        row(f"PreAct-ResNet-18 PGD-10 L∞ 8/255, {b} CIFAR-size images", py, rs, 1.0, None, note)
        log(f"PreAct-ResNet-18: one Hessian-vector product, clean loss, {b} images")
        rep = out / "resnet-hvp.json"
        # One power-iteration step: ∇f(θ₀) plus one central-difference HVP (two gradients) in f32.
        rs = runner.advland(["sharpness", "hessian", *source, "--objective", "clean", "--k", "1", "--max-iter", "1",
                             "--subset", str(b), "--batch-size", str(b), "--precision", "f32", "--out", rep], rep)
        py = runner.torch(["resnet-hvp", "--weights", pt, "--data-dir", rdir / "data"])
        _, hvps, grads = hessian_summary(rs["report"])
        row(f"PreAct-ResNet-18 one HVP, {b} images (advland f32 finite difference, {grads} gradients; PyTorch double "
            f"backward)", py, rs, 1.0, None, f"advland {hvps} HVPs", pytorch_flops=False)

    if "surface" in only:
        for points in [int(v) for v in args.surface_sizes.split(",")]:
            log(f"2-D clean surface {points}x{points} on {n} images, batch {n}")
            rep = out / f"surface-{points}.json"
            axis = f"-1:1:{points}"
            rs = runner.advland(["surface", "--checkpoint", ckpt, "--x", axis, "--y", axis, "--objective", "clean",
                                 "--subset", str(n), "--batch-size", str(n), "--workers", str(args.surface_workers),
                                 "--restart", "--out", rep], rep)
            py = runner.torch(["surface", "--weights", weights, "--subset", str(n), f"--grid={axis}", "--batch-size", str(n)])
            row(f"clean surface {points}×{points}, {n} images", py, rs, 2.0, points * points * n * FORWARD,
                f"advland --workers {args.surface_workers}")

    divan = divan_advland(args) if only & {"train", "gemm"} else ""
    if "train" in only:
        log("training step, batch 1000 (medians: PyTorch of 5 steps, advland divan train_step_b1000)")
        py = runner.torch(["train-step", "--weights", weights, "--batch-size", str(n), "--repeat", "5"])
        py["seconds"] = py["report"]["step_median_s"]
        step = parse_divan_median_seconds(divan).get("train_step_b1000")
        rs = step and {"seconds": step, "wall_s": None, "cpu_s": None, "rss_mib": None}
        row(f"SGD training step, batch {n} (medians, in-process)", py, rs, None, n * 3 * FORWARD)

    gemm = {}
    if "gemm" in only:
        log("GEMM peak: torch.matmul 2048² f32 and burn matmul (divan)")
        py = runner.torch(["gemm", "--repeat", "5", "--gemm-size", "2048"])
        gemm["pytorch_f32"] = py["report"]["gflops"]
        gemm.update({f"advland_{k}": v for k, v in parse_divan_throughput(divan).items()})

    peak = max([v for k, v in gemm.items() if "f32" in k] or [0]) or None
    meta = {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "threads": args.threads,
        "load_average_at_start": load,
        "load_average_at_end": os.getloadavg(),
        "repeat": args.repeat,
        "python": platform.python_version(),
        "gemm_gflops": gemm,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str))
    print_table(meta, rows, peak)
    log(f"wrote {args.json}")


def robust_acc(result):
    """Robust accuracy of the first (only) attack of an eval report's result."""
    return result["robust"][0]["metrics"]["accuracy"]


def hessian_summary(report):
    """(λ1, HVPs, gradient evaluations) of a `sharpness hessian` report."""
    data = report["data"]
    top = data["estimate"]["eigenvalues"][0]
    return top["value"], top["hvps"], data["gradient_evaluations"]


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def fmt(x, spec=".2f", none="—"):
    return none if x is None else format(x, spec)


def print_table(meta, rows, peak):
    print(f"advland vs PyTorch — {meta['cpu']}, {meta['cores']} cores, {meta['threads']} threads, {meta['date']}, "
          f"load average {meta['load_average_at_start'][0]:.2f} at start, {meta['load_average_at_end'][0]:.2f} at end")
    print()
    print("| workload | PyTorch s | advland s | speed-up | target | met | PyTorch peak RSS MiB | advland peak RSS MiB "
          "| PyTorch GFLOP/s | advland GFLOP/s | CPU s PyTorch / advland | load | notes |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        met = "—"
        if r["target"] is not None and r["speedup"] is not None:
            ok = r["speedup"] >= r["target"] and (r["advland_rss_mib"] or 0) <= (r["pytorch_rss_mib"] or 0)
            met = "yes" if ok else "no"
        def gf(seconds, flops):
            return flops / seconds / 1e9 if flops and seconds else None

        print(f"| {r['workload']} | {fmt(r['pytorch_s'], '.3f')} | {fmt(r['advland_s'], '.3f')} | "
              f"{fmt(r['speedup'], '.2f', '—')}× | {fmt(r['target'], '.1f', '—')}× | {met} | "
              f"{fmt(r['pytorch_rss_mib'], '.0f')} | {fmt(r['advland_rss_mib'], '.0f')} | "
              f"{fmt(gf(r['pytorch_s'], r['pytorch_flops']), '.1f')} | {fmt(gf(r['advland_s'], r['flops']), '.1f')} | "
              f"{fmt(r['pytorch_cpu_s'], '.1f')} / {fmt(r['advland_cpu_s'], '.1f')} | {r['load_average'][0]:.1f} | "
              f"{r['note']} |")
    g = meta["gemm_gflops"]
    if g:
        print()
        print("GEMM peak (GFLOP/s, best of 5, 2048² f32 for PyTorch; divan medians for advland): "
              + ", ".join(f"{k} {v:.1f}" for k, v in sorted(g.items())))
    if peak:
        print(f"Conv/GEMM-bound steps reach the GFLOP/s above against a measured f32 GEMM peak of {peak:.1f} GFLOP/s.")
    print("Speed-up = PyTorch seconds / advland seconds (each the workload's in-process time, loading included); "
          "'met' also needs advland's peak RSS ≤ PyTorch's. CPU s = user + system time of the whole process; "
          "load = 1-minute load average after the row.")


if __name__ == "__main__":
    main()

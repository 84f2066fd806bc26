#!/usr/bin/env python3
"""advland against the PyTorch tools on this CPU: one table of seconds, ratios, peak RSS, GFLOP/s.

    python3 bench/compare.py [--repeat N] [--threads 2] [--only pgd,hessian,surface,train,gemm,resnet]
    python3 bench/compare.py --only resnet-pgd --resnet-batch 1000   (the ResNet's PGD row alone)
    python3 bench/compare.py --only resnet-full --device cuda[,wgpu] --torch-device cuda \
        [--resnet-images 1000] [--train-images 5120] [--grid 21]

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

The group `resnet-full` is the issue "GPU and real-scale speed": the full-width PreAct-ResNet-18
(eval-mode batch norm) on random CIFAR-size images (`torch_workloads.py resnet-data`, no
network): PGD-10 L-inf 8/255 on --resnet-images against torchattacks, one PGD-AT epoch on
--train-images (batch 128, PGD-10) against robust_overfitting's loop, Hessian lambda1 (tol 1e-3,
power iteration) against PyHessian's, and the --grid x --grid clean and adversarial surfaces
against loss-landscape's plane; advland runs on each --device (its `--device`), PyTorch once on
--torch-device, both in f32 (advland's `--precision f32` where the command has the flag).
On a GPU, each side's time ends after the result is on the host (PyTorch synchronises), and
the table has each side's device memory next to its time: the peak of GPU 0's memory in use while
the child ran, above the level before it started (nvidia-smi, sampled every 50 ms: CUDA context,
allocator pools and tensors; so it assumes nothing else uses the GPU), and PyTorch's own
torch.cuda.max_memory_allocated (tensors only).

The table goes to stdout (Markdown); progress to stderr. A failed command ends the run with its
output, except an advland run of `resnet-full`, whose row then says FAILED and the run goes on to
the next (the exit code is 1 at the end).
"""
import argparse
import contextlib
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
WORK = ROOT / "runs/bench"  # --work
PYTHON = VENV_PY  # --python: the interpreter with torch (and torchattacks)

# Nominal FLOPs of the CNN per example (multiply-adds x 2): conv1 16x26x26x9, conv2 32x11x11x144,
# fc1 800x10. ReLU, pooling and the loss are left out. A backward pass that computes input or
# weight gradients costs about one forward each.
FORWARD = 2 * (16 * 26 * 26 * 9 + 32 * 11 * 11 * 144 + 800 * 10)


def log(msg):
    print(f"compare: {msg}", file=sys.stderr, flush=True)


class ChildFailed(Exception):
    pass


class GpuMemory:
    """GPU 0's memory in use while a child runs, sampled by `nvidia-smi -lms 50`; `peak_mib` is
    the highest sample above the level read just before the child started (None if there was no
    sample)."""

    QUERY = ["nvidia-smi", "--query-gpu=memory.used", "--format=csv,noheader,nounits", "-i", "0"]

    def __enter__(self):
        base = subprocess.run(self.QUERY, capture_output=True, text=True, check=True).stdout
        self.base = float(base.split()[0])
        self.file = tempfile.TemporaryFile()
        self.proc = subprocess.Popen([*self.QUERY, "-lms", "50"], stdout=self.file, stderr=subprocess.DEVNULL)
        return self

    def __exit__(self, *exc):
        self.proc.terminate()
        self.proc.wait()
        self.file.seek(0)
        samples = [float(v) for v in self.file.read().decode().split() if v.replace(".", "", 1).isdigit()]
        self.file.close()
        self.peak_mib = max(samples) - self.base if samples else None
        return False


def run_child(cmd, env_extra, gpu=False):
    """Runs `cmd`; returns (stdout, wall seconds, peak RSS in MiB, CPU seconds, peak GPU memory in
    use in MiB or None). `gpu`: sample GPU 0's memory meanwhile. Raises ChildFailed on failure."""
    env = dict(os.environ, **env_extra)
    sampler = GpuMemory() if gpu else contextlib.nullcontext()
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err, sampler:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, env=env, cwd=ROOT)
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        text, errors = out.read().decode(), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise ChildFailed(f"compare: command failed with exit code {proc.returncode}: {' '.join(map(str, cmd))}\n"
                          f"{errors}{text}")
    sys.stderr.write(errors)
    return text, wall, usage.ru_maxrss / 1024.0, usage.ru_utime + usage.ru_stime, sampler.peak_mib if gpu else None


class Runner:
    def __init__(self, args):
        self.args = args
        self.bin = Path(args.advland)
        self.env = {
            "RAYON_NUM_THREADS": str(args.threads),
            "OMP_NUM_THREADS": str(args.threads),
            "MKL_NUM_THREADS": str(args.threads),
        }
        # Sample GPU memory when either side runs on a GPU and nvidia-smi is there.
        gpu_used = args.torch_device == "cuda" or any(d != "cpu" for d in args.devices)
        self.sample_gpu = gpu_used and shutil.which("nvidia-smi") is not None
        self.torch_info = None

    def advland(self, argv, report, device=None):
        """Runs advland with `argv` (which writes `report`) on `device` (default: the first of
        --device); returns the timing record."""
        device = device or self.args.devices[0]
        best = None
        for r in range(self.args.repeat):
            _, wall, rss, cpu, gpu = run_child([self.bin, "-q", "--device", device, *argv], self.env,
                                               gpu=self.sample_gpu and device != "cpu")
            data = json.loads(Path(report).read_text())
            rec = {"seconds": data["meta"]["duration_s"], "wall_s": wall, "cpu_s": cpu, "rss_mib": rss,
                   "gpu_used_mib": gpu, "report": data}
            log(f"  advland ({device}) run {r + 1}: {rec['seconds']:.2f} s, wall {wall:.2f} s, CPU {cpu:.2f} s, "
                f"peak RSS {rss:.0f} MiB{gpu_text(gpu)}, load {os.getloadavg()[0]:.2f}")
            best = merge(best, rec)
        return best

    def torch(self, argv):
        best = None
        device = self.args.torch_device
        for r in range(self.args.repeat):
            cmd = [PYTHON, ROOT / "bench/torch_workloads.py", *argv, "--threads", str(self.args.threads),
                   "--device", device, *(["--no-tf32"] if self.args.torch_no_tf32 else [])]
            text, wall, rss, cpu, gpu = run_child(cmd, self.env, gpu=self.sample_gpu and device != "cpu")
            data = json.loads(text.strip().splitlines()[-1])
            self.torch_info = {k: data.get(k) for k in ("torch", "device", "gpu", "tf32", "threads")}
            rec = {"seconds": data["seconds"], "wall_s": wall, "cpu_s": cpu, "rss_mib": rss, "gpu_used_mib": gpu,
                   "gpu_peak_mib": data.get("gpu_peak_mib"), "report": data}
            log(f"  PyTorch ({device}) run {r + 1}: {rec['seconds']:.2f} s, wall {wall:.2f} s, CPU {cpu:.2f} s, "
                f"peak RSS {rss:.0f} MiB{gpu_text(gpu)}, load {os.getloadavg()[0]:.2f}")
            best = merge(best, rec)
        return best


def gpu_text(mib):
    return "" if mib is None else f", GPU memory in use {mib:.0f} MiB"


def merge(best, rec):
    """Keeps the fastest run's record and the highest peak memory (RSS, GPU) over all runs."""
    if best is None:
        return rec
    out = rec if rec["seconds"] < best["seconds"] else best
    for key in ("rss_mib", "gpu_used_mib", "gpu_peak_mib"):
        values = [v for v in (best.get(key), rec.get(key)) if v is not None]
        out[key] = max(values) if values else None
    return out


def prepare_weights(runner):
    """A checkpoint trained once (2 epochs PGD-7 L-inf on 2,000 images) and its safetensors export
    (on the CPU)."""
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
    global WORK, PYTHON
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    default_bin = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "release/advland"
    p.add_argument("--advland", default=str(default_bin), help=f"the release binary (default {default_bin})")
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--repeat", type=int, default=1, help="runs per side; the fastest counts")
    p.add_argument("--surface-workers", type=int, default=1, help="advland surface --workers")
    p.add_argument("--surface-sizes", default="21,51", help="grid points per axis of the 2-D surfaces")
    p.add_argument("--only", default="pgd,hessian,surface,train,gemm",
                   help="comma-separated groups: pgd, hessian, surface, train, gemm, resnet (PGD-10 and one HVP "
                   "of the PreAct-ResNet-18 on --resnet-batch images), resnet-pgd (its PGD row alone), resnet-full")
    p.add_argument("--json", type=Path, help="every number (default: results.json under --work)")
    p.add_argument("--resnet-batch", type=int, default=128, help="images of the PreAct-ResNet-18 workloads")
    p.add_argument("--device", default="cpu", help="advland's --device, comma-separated for several (cpu, cuda, "
                   "wgpu); the groups other than resnet-full use the first")
    p.add_argument("--torch-device", choices=["cpu", "cuda"], help="PyTorch's device (default: cuda when --device "
                   "names a GPU backend, else cpu)")
    p.add_argument("--torch-no-tf32", action="store_true", help="PyTorch's cuDNN convolutions in full f32 "
                   "(its default allows TF32 on the GPU)")
    p.add_argument("--python", help=f"the Python with torch (default {VENV_PY.relative_to(ROOT)}, else this one)")
    p.add_argument("--work", type=Path, default=WORK, help="models, data and reports (default runs/bench)")
    p.add_argument("--resnet-images", type=int, default=1000, help="resnet-full: test images of PGD, Hessian, surfaces")
    p.add_argument("--image-batch", type=int, help="resnet-full: batch of PGD and surfaces; resnet, resnet-pgd: of PGD (default all images at "
                   "once; the Hessian always takes them in one batch, as PyHessian does)")
    p.add_argument("--train-images", type=int, default=5120, help="resnet-full: training images of the PGD-AT epoch")
    p.add_argument("--train-batch", type=int, default=128, help="resnet-full: batch of the PGD-AT epoch")
    p.add_argument("--eval-images", type=int, default=128, help="resnet-full: test images of the epoch's PGD evaluation")
    p.add_argument("--pgd-steps", type=int, default=10, help="resnet-full: PGD steps of every attack (L-inf 8/255)")
    p.add_argument("--hessian-max-iter", type=int, default=100, help="resnet-full: power-iteration cap of both sides "
                   "(PyHessian's and advland's default, 100; smaller only for smoke runs)")
    p.add_argument("--grid", type=int, default=21, help="resnet-full: points per axis of the surfaces on [-1, 1]")
    args = p.parse_args()
    only = set(args.only.split(","))
    args.devices = args.device.split(",")
    if bad := [d for d in args.devices if d not in ("cpu", "cuda", "wgpu")]:
        p.error(f"--device: {', '.join(bad)}: expected cpu, cuda or wgpu")
    if args.torch_device is None:
        args.torch_device = "cuda" if any(d != "cpu" for d in args.devices) else "cpu"
    WORK = args.work.resolve()
    args.json = args.json or WORK / "results.json"
    PYTHON = Path(args.python) if args.python else (VENV_PY if VENV_PY.exists() else Path(sys.executable))
    try:
        status = run(args, only)
    except ChildFailed as e:
        sys.exit(str(e))
    sys.exit(status)


def run(args, only):
    """Runs the groups in `only`, prints the table, writes the JSON; returns the exit status."""
    if not Path(args.advland).exists():
        sys.exit(f"compare: {args.advland} not found; run `cargo build --release` first")
    if not PYTHON.exists() and not shutil.which(str(PYTHON)):
        sys.exit(f"compare: no Python at {PYTHON}; run bench/setup_venv.sh first (it installs torch, torchattacks into "
                 "bench/.venv) or give --python")
    WORK.mkdir(parents=True, exist_ok=True)
    runner = Runner(args)
    if only & {"pgd", "hessian", "surface", "train"}:
        ckpt, weights = prepare_weights(runner)
        log(f"checkpoint {ckpt}, weights {weights}")
    load = os.getloadavg()
    failures = []
    rows = []
    n = 1000
    out = WORK / "out"
    out.mkdir(exist_ok=True)

    def row(name, py, rs, target, flops=None, note="", pytorch_flops=True, device=None):
        r = {
            "workload": name,
            "advland_device": device or args.devices[0],
            "pytorch_device": args.torch_device,
            "pytorch_gpu_peak_mib": py and py.get("gpu_peak_mib"),
            "pytorch_gpu_used_mib": py and py.get("gpu_used_mib"),
            "advland_gpu_used_mib": rs and rs.get("gpu_used_mib"),
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

    if only & {"resnet", "resnet-pgd"}:
        # Full-width PreAct-ResNet-18 (robust_overfitting's), PyTorch's default init, batch-norm
        # in eval mode, CIFAR-size random images: the model researchers bring, read by advland
        # from the same .pt file PyTorch loads.
        b = args.resnet_batch
        rdir = WORK / f"resnet-{b}"
        pt = rdir / "preact18.pt"
        if not pt.exists():
            log(f"writing the PreAct-ResNet-18 weights and {b} random CIFAR-size images ({rdir})")
            run_child([PYTHON, ROOT / "bench/torch_workloads.py", "resnet-data", "--weights", pt, "--data-dir",
                       rdir / "data", "--subset", str(b)], runner.env)
        source = ["--weights", pt, "--model", "preact-resnet18", "--dataset", "cifar10", "--data-dir", rdir / "data"]
        # The PGD row's batch: --image-batch where all images at once would not fit in memory.
        pb = args.image_batch or b
        log(f"PreAct-ResNet-18: PGD-10 L∞ 8/255 on {b} images, batch {pb}")
        rep = out / "resnet-pgd.json"
        rs = runner.advland(["eval", *source, "--test-subset", str(b), "--norm", "linf", "--eps", "8/255",
                             "--steps", "10", "--batch-size", str(pb), "--out", rep], rep)
        py = runner.torch(["resnet-pgd", "--weights", pt, "--data-dir", rdir / "data", "--eps", str(8 / 255),
                           "--steps", "10", "--batch-size", str(pb)])
        note = (f"robust acc advland {robust_acc(rs['report']['data']['result']):.3f}, "
                f"torchattacks {py['report']['robust_accuracy']:.3f}")
        batch_note = "" if pb == b else f" in batches of {pb}"
        row(f"PreAct-ResNet-18 PGD-10 L∞ 8/255, {b} CIFAR-size images{batch_note}", py, rs, 1.0, None, note)
    if "resnet" in only:
        log(f"PreAct-ResNet-18: one Hessian-vector product, clean loss, {b} images")
        rep = out / "resnet-hvp.json"
        # One power-iteration step: ∇f(θ₀) plus one central-difference HVP (two gradients) in f32.
        rs = runner.advland(["sharpness", "hessian", *source, "--objective", "clean", "--k", "1", "--max-iter", "1",
                             "--subset", str(b), "--batch-size", str(b), "--precision", "f32", "--out", rep], rep)
        py = runner.torch(["resnet-hvp", "--weights", pt, "--data-dir", rdir / "data"])
        _, hvps, grads = hessian_summary(rs["report"])
        row(f"PreAct-ResNet-18 one HVP, {b} images (advland f32 finite difference, {grads} gradients; PyTorch double "
            f"backward)", py, rs, 1.0, None, f"advland {hvps} HVPs", pytorch_flops=False)

    if "resnet-full" in only:
        failures += resnet_full(runner, args, row)

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
        "advland_devices": args.devices,
        "pytorch_device": args.torch_device,
        "gpu": gpu_model() if runner.sample_gpu else None,
        "torch": runner.torch_info,
        "failures": failures,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"meta": meta, "rows": rows}, indent=2, default=str))
    print_table(meta, rows, peak)
    log(f"wrote {args.json}")
    for f in failures:
        log(f"FAILED: {f}")
    return 1 if failures else 0


def resnet_full(runner, args, row):
    """The issue's four workloads at real scale (module docstring); returns the failed advland
    runs' messages, after a row for each."""
    n, t, g, steps = args.resnet_images, args.train_images, args.grid, str(args.pgd_steps)
    batch = str(args.image_batch or n)
    rdir = WORK / f"resnet-full-n{n}-t{t}"
    pt, data = rdir / "preact18.pt", rdir / "data"
    if not (pt.exists() and (data / "test_batch.bin").exists()):
        log(f"writing the PreAct-ResNet-18 weights, {n} test and {t} training images (random, CIFAR-size) to {rdir}")
        run_child([PYTHON, ROOT / "bench/torch_workloads.py", "resnet-data", "--weights", pt, "--data-dir", data,
                   "--subset", str(n), "--train-images", str(t)], runner.env)
    source = ["--weights", pt, "--model", "preact-resnet18", "--dataset", "cifar10", "--data-dir", data]
    py_source = ["--weights", pt, "--data-dir", data]
    out = WORK / "out"
    out.mkdir(exist_ok=True)
    axis = f"-1:1:{g}"
    failures = []

    def each_device(title, py, advland_argv, report, note):
        """advland's run of one workload on each --device, one row each beside PyTorch's `py`."""
        for dev in args.devices:
            rep = out / f"{dev}-{report}"
            argv = advland_argv(rep)
            try:
                rs = runner.advland(argv, rep / "train.json" if report.startswith("train") else rep, dev)
                text = note(py["report"], rs["report"])
            except ChildFailed as e:
                first = next((line for line in str(e).splitlines()[1:] if line.strip()), "")
                log(f"advland on {dev} failed: {e}")
                failures.append(f"{title} on {dev}: {first[:200]}")
                rs, text = None, f"advland FAILED: {first[:200]}"
            row(f"{title}; advland on {dev}", py, rs, None, None, text, device=dev)

    log(f"PreAct-ResNet-18 PGD-{steps} L∞ 8/255 on {n} images, batch {batch}")
    py = runner.torch(["resnet-pgd", *py_source, "--subset", str(n), "--eps", "8/255", "--steps", steps,
                       "--batch-size", batch])
    each_device(f"PGD-{steps} L∞ 8/255, {n} images", py,
                lambda rep: ["eval", *source, "--test-subset", str(n), "--norm", "linf", "--eps", "8/255",
                             "--steps", steps, "--batch-size", batch, "--out", rep], "eval.json",
                lambda p, r: f"robust acc advland {robust_acc(r['data']['result']):.3f}, "
                             f"{p['peer']} {p['robust_accuracy']:.3f}")

    log(f"PreAct-ResNet-18 PGD-AT epoch: {t} images, batch {args.train_batch}, PGD-{steps}; "
        f"PGD-{steps} evaluation on {args.eval_images}")
    py = runner.torch(["resnet-train", *py_source, "--train-images", str(t), "--eval-images", str(args.eval_images),
                       "--batch-size", str(args.train_batch), "--eps", "8/255", "--pgd-alpha", "2/255",
                       "--steps", steps])
    # robust_overfitting's settings: lr 0.1 (constant over an epoch), momentum 0.9, weight decay
    # 5e-4 (advland's defaults), step 2/255 = 2.5·ε/10 (advland's default for 10 steps), inputs
    # normalised by CIFAR-10's mean and std inside the model.
    each_device(f"PGD-AT epoch, {t} images, batch {args.train_batch}, PGD-{steps}", py,
                lambda rep: ["train", "--model", "preact-resnet18", "--dataset", "cifar10", "--data-dir", data,
                             "--normalize", "cifar10", "--train-subset", str(t), "--eval-subset", str(args.eval_images),
                             "--eval-attack", f"linf:8/255:{steps}", "--epochs", "1",
                             "--batch-size", str(args.train_batch), "--lr", "0.1", "--schedule", "constant",
                             "--norm", "linf", "--eps", "8/255", "--step-size", "2/255", "--steps", steps,
                             "--seed", "0", "--overwrite", "--out", rep], "train",
                lambda p, r: f"train robust loss advland {r['data']['epochs'][0]['train_objective']['loss']:.3f}, "
                             f"robust_overfitting loop {p['train_robust_loss']:.3f}; "
                             f"evaluation on {p['eval_images']} images included")

    log(f"PreAct-ResNet-18 Hessian λ1, clean loss, tol 1e-3, {n} images in one batch")
    max_iter = str(args.hessian_max_iter)
    py = runner.torch(["resnet-hessian", *py_source, "--subset", str(n), "--tol", "1e-3", "--max-iter", max_iter])
    each_device(f"Hessian λ1 tol 1e-3, {n} images (advland f32 power iteration)", py,
                lambda rep: ["sharpness", "hessian", *source, "--objective", "clean", "--k", "1", "--tol", "1e-3",
                             "--method", "power", "--max-iter", max_iter, "--subset", str(n), "--batch-size", str(n), "--precision", "f32",
                             "--out", rep], "hessian.json",
                lambda p, r: "λ1 advland {:.4g} ({} HVPs), PyHessian {:.4g} ({} HVPs)".format(
                    *hessian_summary(r)[:2], p["eigenvalue"], p["hvps"]))

    for objective in ["clean", "adversarial"]:
        attack = ["--norm", "linf", "--eps", "8/255", "--steps", steps] if objective == "adversarial" else []
        py_attack = ["--eps", "8/255", "--steps", steps] if objective == "adversarial" else []
        label = f"adversarial (PGD-{steps} L∞ 8/255 at every point)" if objective == "adversarial" else "clean"
        log(f"PreAct-ResNet-18 {g}×{g} {label} surface, {n} images, batch {batch}")
        py = runner.torch(["resnet-surface", *py_source, "--objective", objective, *py_attack, "--subset", str(n),
                           f"--grid={axis}", "--batch-size", batch])
        each_device(f"{g}×{g} {label} surface, {n} images (advland f32)", py,
                    lambda rep: ["surface", *source, f"--x={axis}", f"--y={axis}", "--objective", objective, *attack,
                                 "--subset", str(n), "--batch-size", batch, "--precision", "f32",
                                 "--workers", str(args.surface_workers), "--restart", "--out", rep],
                    f"surface-{objective}.json",
                    lambda p, r: f"centre loss advland {surface_centre(r):.4f}, loss-landscape {p['loss_center']:.4f}")
    return failures


def surface_centre(report):
    """The loss at the centre of a 2-D surface report's grid."""
    data = report["data"]
    nx, ny = data["x"]["points"], data["y"]["points"]
    return data["values"][0]["loss"][(ny // 2) * nx + nx // 2]


def gpu_model():
    try:
        return subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader",
                               "-i", "0"], capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError) as e:
        return f"unknown ({e})"


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


def print_gpu_table(meta, rows):
    """The table of a run with a GPU on either side: device memory next to each time."""
    t = meta["torch"] or {}
    print(f"advland vs PyTorch on {meta['gpu']} — advland --device {','.join(meta['advland_devices'])}, PyTorch "
          f"{t.get('torch')} on {meta['pytorch_device']} (TF32 allowed: {t.get('tf32')}), {meta['date']}, "
          f"CPU {meta['cpu']}, {meta['threads']} threads, load {meta['load_average_at_start'][0]:.2f} at start")
    print()
    print("| workload | PyTorch s | advland s | speed-up | PyTorch GPU MiB in use (tensors) | advland GPU MiB in use "
          "| PyTorch peak RSS MiB | advland peak RSS MiB | notes |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['workload']} | {fmt(r['pytorch_s'], '.3f')} | {fmt(r['advland_s'], '.3f')} | "
              f"{fmt(r['speedup'], '.2f', '—')}× | {fmt(r['pytorch_gpu_used_mib'], '.0f')} "
              f"({fmt(r['pytorch_gpu_peak_mib'], '.0f')}) | {fmt(r['advland_gpu_used_mib'], '.0f')} | "
              f"{fmt(r['pytorch_rss_mib'], '.0f')} | {fmt(r['advland_rss_mib'], '.0f')} | {r['note']} |")
    print()
    print("Seconds: each side's in-process time, weights and data loading included (advland's report "
          "`meta.duration_s`; torch_workloads' `seconds`, read after torch.cuda.synchronize()), so CUDA context "
          "creation and run-time kernel compilation count on both sides; speed-up = PyTorch s / advland s. "
          f"Fastest of {meta['repeat']} run(s) per side. GPU MiB in use: the peak of GPU 0's memory in use while the "
          "process ran, above the level before it (nvidia-smi every 50 ms: CUDA context, allocator pools, tensors); "
          "in brackets PyTorch's torch.cuda.max_memory_allocated (tensors only). Both sides compute in f32.")


def print_table(meta, rows, peak):
    if meta.get("gpu"):
        print_gpu_table(meta, rows)
        return
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

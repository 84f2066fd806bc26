#!/usr/bin/env python3
"""The PyTorch side of `bench/compare.py`: one workload per process, on advland's exported weights.

    bench/.venv/bin/python bench/torch_workloads.py WORKLOAD --weights W.safetensors [options]

WORKLOAD is one of
  pgd-linf     torchattacks.PGD (L-inf) on the test subset, then clean and adversarial accuracy
  pgd-l2       torchattacks.PGDL2 (L2), the same
  hessian      top-1 Hessian eigenvalue of the clean loss, PyHessian's power iteration
  surface      2-D clean loss surface, loss-landscape's random filter-normalised plane
  train-step   one SGD step (forward, cross-entropy, backward, update)
  gemm         square f32 matmul, GFLOP/s (the CPU's peak as PyTorch reaches it)
  resnet-data  writes a full-width PreAct-ResNet-18 (PyTorch's default init, seeded) as a
               robust_overfitting-style .pt and --subset random CIFAR-size images in CIFAR-10's
               binary format under --data-dir, for the two workloads below and `advland --weights`
  resnet-pgd   torchattacks.PGD (L-inf, eval-mode batch norm) on those images and weights
  resnet-hvp   one Hessian-vector product of the clean loss on them, PyHessian's way (backward
               with create_graph, then one double backward)

It prints one JSON object to stdout: {"workload", "seconds", ...}. `seconds` runs from before the
weights and data are read to after the result is on the host; the interpreter start and `import
torch` are outside it (advland's `meta.duration_s` is measured the same way: from the start of the
command's work, checkpoint and data loading included). Progress goes to stderr.

PyHessian and loss-landscape are not installable packages that run as they are, so their core
algorithms are re-implemented here from the upstream code (cited at each function). torchattacks
is used as installed.
"""
import argparse
import gzip
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ASSETS = Path(__file__).resolve().parent.parent / "crates/data/assets/fashion-mnist-subset"


def log(msg):
    print(f"torch_workloads: {msg}", file=sys.stderr, flush=True)


class Cnn(nn.Module):
    """advland's CNN (`crates/train/src/model/cnn.rs`) in PyTorch's own layers:
    conv3x3(16) -> ReLU -> maxpool2 -> conv3x3(32) -> ReLU -> maxpool2 -> flatten -> Linear."""

    def __init__(self, classes=10, features=32 * 5 * 5):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 16, 3)
        self.conv2 = nn.Conv2d(16, 32, 3)
        self.fc1 = nn.Linear(features, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.conv1(x)), 2)
        x = F.max_pool2d(F.relu(self.conv2(x)), 2)
        return self.fc1(torch.flatten(x, 1))


def load_model(path):
    """The exported safetensors file, strictly: every tensor present, nothing extra."""
    from safetensors.torch import load_file

    model = Cnn()
    model.load_state_dict(load_file(str(path)), strict=True)
    return model.eval()


def read_idx(path):
    raw = gzip.decompress(Path(path).read_bytes())
    magic, n = int.from_bytes(raw[0:4], "big"), int.from_bytes(raw[4:8], "big")
    if magic == 0x803:
        h, w = int.from_bytes(raw[8:12], "big"), int.from_bytes(raw[12:16], "big")
        return np.frombuffer(raw, dtype=np.uint8, offset=16).reshape(n, 1, h, w)
    return np.frombuffer(raw, dtype=np.uint8, offset=8)


def load_test_subset(n):
    """The first `n` of advland's evenly spaced test subset (index floor(i * total / n)),
    pixels scaled to [0, 1], as advland's `Dataset::subset_evenly` picks them."""
    images = read_idx(ASSETS / "t10k-images-idx3-ubyte.gz")
    labels = read_idx(ASSETS / "t10k-labels-idx1-ubyte.gz")
    total = len(labels)
    if not 1 <= n <= total:
        sys.exit(f"torch_workloads: --subset {n} must be in 1..={total}")
    idx = np.array([(i * total) // n for i in range(n)])
    x = torch.from_numpy(images[idx].astype(np.float32) / 255.0)
    y = torch.from_numpy(labels[idx].astype(np.int64))
    return x, y


def load_train_subset(n):
    images = read_idx(ASSETS / "train-images-idx3-ubyte.gz")
    labels = read_idx(ASSETS / "train-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images[:n].astype(np.float32) / 255.0)
    y = torch.from_numpy(labels[:n].astype(np.int64))
    return x, y


def accuracy_and_loss(model, x, y, batch):
    with torch.no_grad():
        loss, correct = 0.0, 0
        for i in range(0, len(y), batch):
            out = model(x[i : i + batch])
            loss += F.cross_entropy(out, y[i : i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i : i + batch]).sum().item()
    return loss / len(y), correct / len(y)


def _attack(model, x, y, args, l2):
    """torchattacks' PGD / PGDL2 on (x, y) batch by batch, then clean and robust accuracy."""
    import torchattacks

    step = 2.5 * args.eps / args.steps
    if l2:
        atk = torchattacks.PGDL2(model, eps=args.eps, alpha=step, steps=args.steps, random_start=True)
    else:
        atk = torchattacks.PGD(model, eps=args.eps, alpha=step, steps=args.steps, random_start=True)
    torch.manual_seed(args.seed)
    clean_loss, clean_acc = accuracy_and_loss(model, x, y, args.batch_size)
    adv = torch.cat([atk(x[i : i + args.batch_size], y[i : i + args.batch_size]) for i in range(0, len(y), args.batch_size)])
    adv_loss, adv_acc = accuracy_and_loss(model, adv, y, args.batch_size)
    return {"clean_accuracy": clean_acc, "robust_accuracy": adv_acc, "robust_loss": adv_loss}


def pgd(args, l2):
    """torchattacks' PGD / PGDL2 with advland's settings (eps, step 2.5*eps/steps, random start),
    batch by batch, then clean and robust accuracy: the same work as `advland eval`."""
    t0 = time.perf_counter()
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    out = _attack(model, x, y, args, l2)
    return {"seconds": time.perf_counter() - t0, **out}


# --- PyHessian (amirgholami/PyHessian, pyhessian/hessian.py and pyhessian/utils.py) -----------
# `hessian.__init__` with a single batch: model.eval(), one forward, loss.backward(create_graph=True),
# keep (params, grads). `hessian_vector_product`: torch.autograd.grad(grads, params,
# grad_outputs=v, retain_graph=True), i.e. double backward through the kept graph.
# `eigenvalues(maxIter=100, tol=1e-3, top_n=1)`: v ~ randn, normalised (norm + 1e-6); each iteration
# Hv, lambda = <Hv, v>, v = Hv / (|Hv| + 1e-6); stop when |lambda_prev - lambda| / (|lambda_prev| + 1e-6) < tol.


def _group_product(xs, ys):
    return sum(torch.sum(a * b) for a, b in zip(xs, ys))


def _normalization(v):
    s = math.sqrt(_group_product(v, v).item())
    return [vi / (s + 1e-6) for vi in v]


def _hessian_start(model, x, y, seed):
    """PyHessian's set-up: the gradient with its graph kept, and a normalised random start."""
    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward(create_graph=True)
    grads = [p.grad for p in params]
    v = _normalization([torch.randn(p.size()) for p in params])
    return params, grads, v


def hessian(args):
    t0 = time.perf_counter()
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    params, grads, v = _hessian_start(model, x, y, args.seed)
    eigenvalue, hvps = None, 0
    for _ in range(args.max_iter):
        model.zero_grad()
        hv = torch.autograd.grad(grads, params, grad_outputs=v, only_inputs=True, retain_graph=True)
        hvps += 1
        tmp = _group_product(hv, v).item()
        v = _normalization(hv)
        if eigenvalue is None:
            eigenvalue = tmp
        elif abs(eigenvalue - tmp) / (abs(eigenvalue) + 1e-6) < args.tol:
            break
        else:
            eigenvalue = tmp
    seconds = time.perf_counter() - t0
    return {"seconds": seconds, "eigenvalue": eigenvalue, "hvps": hvps}


# --- loss-landscape (tomgoldstein/loss-landscape) ---------------------------------------------
# net_plotter.create_random_direction(net, 'weights', ignore='biasbn', norm='filter'): one randn
# tensor per parameter; 1-D tensors (biases) zeroed; every filter d_i (first axis) rescaled to
# |w_i| / (|d_i| + 1e-10). plot_surface.crunch: for every grid point, net_plotter.set_weights
# (p.data = w + dx*a + dy*b) then evaluation.eval_loss: net.eval(), torch.no_grad(), loop over the
# loader, sum loss.item()*batch and correct predictions. The HDF5 file, MPI and the per-point
# progress prints are left out (they only add time on the PyTorch side).


def _filter_normalized_direction(weights):
    direction = [torch.randn(w.size()) for w in weights]
    for d, w in zip(direction, weights):
        if d.dim() <= 1:
            d.fill_(0)
        else:
            for df, wf in zip(d, w):
                df.mul_(wf.norm() / (df.norm() + 1e-10))
    return direction


def surface(args):
    t0 = time.perf_counter()
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    torch.manual_seed(args.seed)
    weights = [p.data.clone() for p in model.parameters()]
    dx = _filter_normalized_direction(weights)
    dy = _filter_normalized_direction(weights)
    lo, hi, n = args.grid
    coords = np.linspace(lo, hi, n)
    losses = np.zeros((n, n))
    criterion = nn.CrossEntropyLoss()
    for j, b in enumerate(coords):
        for i, a in enumerate(coords):
            changes = [d0 * a + d1 * b for d0, d1 in zip(dx, dy)]
            for p, w, d in zip(model.parameters(), weights, changes):
                p.data = w + d
            model.eval()
            total, total_loss, correct = 0, 0.0, 0
            with torch.no_grad():
                for k in range(0, len(y), args.batch_size):
                    inputs, targets = x[k : k + args.batch_size], y[k : k + args.batch_size]
                    bs = inputs.size(0)
                    total += bs
                    outputs = model(inputs)
                    total_loss += criterion(outputs, targets).item() * bs
                    correct += outputs.max(1)[1].eq(targets).sum().item()
            losses[j, i] = total_loss / total
        log(f"surface row {j + 1}/{n}")
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "points": n * n,
        "loss_min": float(losses.min()),
        "loss_center": float(losses[n // 2, n // 2]),
    }


def train_step(args):
    t0 = time.perf_counter()
    model = load_model(args.weights).train()
    x, y = load_train_subset(args.batch_size)
    opt = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        opt.zero_grad()
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t)
    return {"seconds": time.perf_counter() - t0, "step_median_s": float(np.median(times)), "loss": loss.item()}


def gemm(args):
    n = args.gemm_size
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b  # warm-up
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        a @ b
        times.append(time.perf_counter() - t)
    best = min(times)
    return {"seconds": best, "gflops": 2 * n**3 / best / 1e9, "n": n}


# --- PreAct-ResNet-18 (robust_overfitting's definition, shared with the fixture script) ---------


def _preact():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_model_fixtures import PreActResNet18

    return PreActResNet18()


def _cifar_binary(data_dir):
    """CIFAR-10's binary files: label byte + 3072 pixel bytes per record."""
    x, y = [], []
    raw = (Path(data_dir) / "test_batch.bin").read_bytes()
    n = len(raw) // 3073
    rec = np.frombuffer(raw, dtype=np.uint8).reshape(n, 3073)
    y = torch.from_numpy(rec[:, 0].astype(np.int64))
    x = torch.from_numpy(rec[:, 1:].reshape(n, 3, 32, 32).astype(np.float32) / 255.0)
    return x, y


def resnet_data(args):
    """The weights and images of the ResNet workloads; `seconds` is 0 (not a workload)."""
    torch.manual_seed(args.seed)
    model = _preact()
    out = Path(args.data_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {"module." + k: v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 0}, args.weights)
    rng = np.random.default_rng(args.seed)
    for name in [f"data_batch_{i}.bin" for i in range(1, 6)] + ["test_batch.bin"]:
        labels = rng.integers(0, 10, size=(args.subset, 1), dtype=np.uint8)
        pixels = rng.integers(0, 256, size=(args.subset, 3072), dtype=np.uint8)
        (out / name).write_bytes(np.concatenate([labels, pixels], axis=1).tobytes())
    params = sum(p.numel() for p in model.parameters())
    return {"seconds": 0.0, "parameters": params}


def _load_preact(path):
    model = _preact()
    state = torch.load(path, weights_only=True)["state_dict"]
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()}, strict=True)
    return model.eval()


def resnet_pgd(args):
    t0 = time.perf_counter()
    model = _load_preact(args.weights)
    x, y = _cifar_binary(args.data_dir)
    out = _attack(model, x, y, args, l2=False)
    return {"seconds": time.perf_counter() - t0, **out}


def resnet_hvp(args):
    t0 = time.perf_counter()
    model = _load_preact(args.weights)
    x, y = _cifar_binary(args.data_dir)
    params, grads, v = _hessian_start(model, x, y, args.seed)
    hv = torch.autograd.grad(grads, params, grad_outputs=v, only_inputs=True, retain_graph=True)
    rayleigh = _group_product(hv, v).item()
    return {"seconds": time.perf_counter() - t0, "rayleigh": rayleigh, "hvps": 1}


def parse_grid(text):
    lo, hi, n = text.split(":")
    return float(lo), float(hi), int(n)


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", choices=["pgd-linf", "pgd-l2", "hessian", "surface", "train-step", "gemm",
                                        "resnet-data", "resnet-pgd", "resnet-hvp"])
    p.add_argument("--data-dir", type=Path, help="CIFAR-10 binary files of the resnet workloads")
    p.add_argument("--weights", type=Path, help="advland export output (PyTorch layout)")
    p.add_argument("--subset", type=int, default=1000, help="test examples, evenly spaced")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--eps", type=float, default=0.1)
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--tol", type=float, default=1e-3)
    p.add_argument("--max-iter", type=int, default=100)
    p.add_argument("--grid", type=parse_grid, default=(-1.0, 1.0, 21), help="MIN:MAX:POINTS on both axes")
    p.add_argument("--repeat", type=int, default=5, help="repetitions (train-step, gemm)")
    p.add_argument("--gemm-size", type=int, default=2048)
    p.add_argument("--threads", type=int, default=2, help="torch.set_num_threads")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    if args.workload != "gemm" and args.weights is None:
        p.error(f"{args.workload} needs --weights")
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    run = {
        "pgd-linf": lambda a: pgd(a, l2=False),
        "pgd-l2": lambda a: pgd(a, l2=True),
        "hessian": hessian,
        "surface": surface,
        "train-step": train_step,
        "gemm": gemm,
        "resnet-data": resnet_data,
        "resnet-pgd": resnet_pgd,
        "resnet-hvp": resnet_hvp,
    }[args.workload]
    out = run(args)
    out = {"workload": args.workload, "threads": torch.get_num_threads(), "torch": torch.__version__, **out}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

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
               robust_overfitting-style .pt and random CIFAR-size images in CIFAR-10's binary
               format under --data-dir (--subset test images; 5 x --subset, or --train-images,
               training images), for the workloads below and `advland --weights`
  resnet-pgd   torchattacks.PGD (L-inf, eval-mode batch norm) on those images and weights
  resnet-hvp   one Hessian-vector product of the clean loss on them, PyHessian's way (backward
               with create_graph, then one double backward)
  resnet-hessian  top-1 Hessian eigenvalue of the clean loss on them, PyHessian's power iteration
  resnet-surface  2-D loss surface on them, loss-landscape's random filter-normalised plane; with
               --objective adversarial, torchattacks.PGD re-run at every grid point (same seed)
  resnet-train one PGD-AT epoch on --train-images of the training files and a PGD evaluation on
               --eval-images test images, robust_overfitting's training loop (train_cifar.py)

--device cuda runs a workload on the GPU (model, data and every tensor on `cuda:0`); the clock is
read only after torch.cuda.synchronize(), and the JSON adds `gpu_peak_mib`
(torch.cuda.max_memory_allocated over the workload: tensors only, not the CUDA context or the
caching allocator's spare blocks). PyTorch's own defaults are kept: cuDNN may run f32
convolutions in TF32 (torch.backends.cudnn.allow_tf32, on by default), matrix products do not
(torch.backends.cuda.matmul.allow_tf32, off by default); --no-tf32 turns both off. The JSON says
which.

With --subset, the resnet workloads take that many evenly spaced test images (index
floor(i * total / n), as advland's --test-subset/--subset do); without it, the whole test file.

It prints one JSON object to stdout: {"workload", "seconds", ...}. `seconds` runs from before the
weights and data are read to after the result is on the host; the interpreter start and `import
torch` are outside it (advland's `meta.duration_s` is measured the same way: from the start of the
command's work, checkpoint and data loading included). Progress goes to stderr.

PyHessian, loss-landscape and robust_overfitting are not installable packages that run as they
are, so their core algorithms are re-implemented here from the upstream code (cited at each
function). torchattacks is used as installed; where it is not installed (a GPU machine without
network), PGD L-inf falls back to a re-implementation of torchattacks.PGD, and the JSON's `peer`
says which ran.
"""
import argparse
import gzip
import json
import math
import sys
import time
import warnings
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

ASSETS = Path(__file__).resolve().parent.parent / "crates/data/assets/fashion-mnist-subset"
# Where every tensor of the workload lives: set once from --device in main().
DEVICE = torch.device("cpu")


def _sync():
    """Waits for the GPU's queued work, so that a host clock read after it covers that work."""
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def _seconds_since(t0):
    _sync()
    return time.perf_counter() - t0


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
    return model.to(DEVICE).eval()


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
    return x.to(DEVICE), y.to(DEVICE)


def load_train_subset(n):
    images = read_idx(ASSETS / "train-images-idx3-ubyte.gz")
    labels = read_idx(ASSETS / "train-labels-idx1-ubyte.gz")
    x = torch.from_numpy(images[:n].astype(np.float32) / 255.0)
    y = torch.from_numpy(labels[:n].astype(np.int64))
    return x.to(DEVICE), y.to(DEVICE)


def accuracy_and_loss(model, x, y, batch):
    with torch.no_grad():
        loss, correct = 0.0, 0
        for i in range(0, len(y), batch):
            out = model(x[i : i + batch])
            loss += F.cross_entropy(out, y[i : i + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[i : i + batch]).sum().item()
    return loss / len(y), correct / len(y)


class _PgdLinf:
    """torchattacks.PGD for a machine without torchattacks: `PGD.forward` of torchattacks 3.5.1
    (Harry24k/adversarial-attacks-pytorch, torchattacks/attacks/pgd.py; untargeted, random start)
    with `Attack.__call__`'s model handling (torchattacks/attack.py: the model in eval mode during
    the attack, its mode restored after)."""

    def __init__(self, model, eps, alpha, steps):
        self.model, self.eps, self.alpha, self.steps = model, eps, alpha, steps

    def __call__(self, images, labels):
        training = self.model.training
        self.model.eval()
        images = images.clone().detach()
        labels = labels.clone().detach()
        loss = nn.CrossEntropyLoss()
        adv = images + torch.empty_like(images).uniform_(-self.eps, self.eps)
        adv = torch.clamp(adv, min=0, max=1).detach()
        for _ in range(self.steps):
            adv.requires_grad = True
            cost = loss(self.model(adv), labels)
            grad = torch.autograd.grad(cost, adv, retain_graph=False, create_graph=False)[0]
            adv = adv.detach() + self.alpha * grad.sign()
            delta = torch.clamp(adv - images, min=-self.eps, max=self.eps)
            adv = torch.clamp(images + delta, min=0, max=1).detach()
        if training:
            self.model.train()
        return adv


def _make_attack(model, eps, steps, l2):
    """(attack, peer name): torchattacks' PGD / PGDL2 with step 2.5*eps/steps and a random start,
    or the re-implementation above where torchattacks is not installed (L-inf only)."""
    step = 2.5 * eps / steps
    try:
        import torchattacks
    except ImportError:
        if l2:
            sys.exit("torch_workloads: torchattacks is not installed and PGD L2 has no fallback here; "
                     "install it (bench/setup_venv.sh, or bench/gpu.sh's wheel in bench/wheels/)")
        log("torchattacks is not installed: PGD L-inf runs the re-implementation of torchattacks.PGD")
        return _PgdLinf(model, eps, step, steps), "torch_workloads' re-implementation of torchattacks.PGD 3.5.1"
    cls = torchattacks.PGDL2 if l2 else torchattacks.PGD
    return cls(model, eps=eps, alpha=step, steps=steps, random_start=True), f"torchattacks {torchattacks.__version__}"


def _attack(model, x, y, args, l2):
    """torchattacks' PGD / PGDL2 on (x, y) batch by batch, then clean and robust accuracy."""
    atk, peer = _make_attack(model, args.eps, args.steps, l2)
    torch.manual_seed(args.seed)
    clean_loss, clean_acc = accuracy_and_loss(model, x, y, args.batch_size)
    adv = torch.cat([atk(x[i : i + args.batch_size], y[i : i + args.batch_size]) for i in range(0, len(y), args.batch_size)])
    adv_loss, adv_acc = accuracy_and_loss(model, adv, y, args.batch_size)
    return {"clean_accuracy": clean_acc, "robust_accuracy": adv_acc, "robust_loss": adv_loss, "peer": peer}


def pgd(args, l2):
    """torchattacks' PGD / PGDL2 with advland's settings (eps, step 2.5*eps/steps, random start),
    batch by batch, then clean and robust accuracy: the same work as `advland eval`."""
    t0 = time.perf_counter()
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    out = _attack(model, x, y, args, l2)
    return {"seconds": _seconds_since(t0), **out}


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
    # PyTorch warns that backward(create_graph=True) makes a reference cycle; PyHessian does it so.
    warnings.filterwarnings("ignore", message="Using backward\\(\\) with create_graph=True")
    torch.manual_seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    loss = nn.CrossEntropyLoss()(model(x), y)
    loss.backward(create_graph=True)
    grads = [p.grad for p in params]
    v = _normalization([torch.randn(p.size(), device=p.device) for p in params])
    return params, grads, v


def _power_iteration(model, x, y, args):
    """PyHessian's `eigenvalues(maxIter, tol, top_n=1)` on one batch: (eigenvalue, HVPs)."""
    model.eval()
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
    return eigenvalue, hvps


def hessian(args):
    t0 = time.perf_counter()
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    eigenvalue, hvps = _power_iteration(model, x, y, args)
    return {"seconds": _seconds_since(t0), "eigenvalue": eigenvalue, "hvps": hvps}


# --- loss-landscape (tomgoldstein/loss-landscape) ---------------------------------------------
# net_plotter.create_random_direction(net, 'weights', ignore='biasbn', norm='filter'): one randn
# tensor per parameter; 1-D tensors (biases) zeroed; every filter d_i (first axis) rescaled to
# |w_i| / (|d_i| + 1e-10). plot_surface.crunch: for every grid point, net_plotter.set_weights
# (p.data = w + dx*a + dy*b) then evaluation.eval_loss: net.eval(), torch.no_grad(), loop over the
# loader, sum loss.item()*batch and correct predictions. The HDF5 file, MPI and the per-point
# progress prints are left out (they only add time on the PyTorch side).


def _filter_normalized_direction(weights):
    direction = [torch.randn(w.size(), device=w.device) for w in weights]
    for d, w in zip(direction, weights):
        if d.dim() <= 1:
            d.fill_(0)
        else:
            for df, wf in zip(d, w):
                df.mul_(wf.norm() / (df.norm() + 1e-10))
    return direction


def _surface(model, x, y, args, attack=None):
    """The loss grid (rows: y coordinate) and the accuracy at the centre. With `attack`, every
    point's loss is on the adversarial examples of the perturbed model: torchattacks.PGD re-run at
    each point with the same seed, as the AWP authors patched loss-landscape's `eval_loss` for
    robust landscapes (shared/research/anchors.md) and as advland's `surface --objective
    adversarial` does."""
    torch.manual_seed(args.seed)
    weights = [p.data.clone() for p in model.parameters()]
    dx = _filter_normalized_direction(weights)
    dy = _filter_normalized_direction(weights)
    lo, hi, n = args.grid
    coords = np.linspace(lo, hi, n)
    losses = np.zeros((n, n))
    centre_acc = None
    criterion = nn.CrossEntropyLoss()
    for j, b in enumerate(coords):
        for i, a in enumerate(coords):
            changes = [d0 * a + d1 * b for d0, d1 in zip(dx, dy)]
            for p, w, d in zip(model.parameters(), weights, changes):
                p.data = w + d
            model.eval()
            points = x
            if attack is not None:
                torch.manual_seed(args.seed)
                points = torch.cat([attack(x[k : k + args.batch_size], y[k : k + args.batch_size])
                                    for k in range(0, len(y), args.batch_size)])
            total, total_loss, correct = 0, 0.0, 0
            with torch.no_grad():
                for k in range(0, len(y), args.batch_size):
                    inputs, targets = points[k : k + args.batch_size], y[k : k + args.batch_size]
                    bs = inputs.size(0)
                    total += bs
                    outputs = model(inputs)
                    total_loss += criterion(outputs, targets).item() * bs
                    correct += outputs.max(1)[1].eq(targets).sum().item()
            losses[j, i] = total_loss / total
            if (j, i) == (n // 2, n // 2):
                centre_acc = correct / total
        log(f"surface row {j + 1}/{n}")
    for p, w in zip(model.parameters(), weights):
        p.data = w
    return {
        "points": n * n,
        "loss_min": float(losses.min()),
        "loss_center": float(losses[n // 2, n // 2]),
        "accuracy_center": centre_acc,
    }


def surface(args):
    t0 = time.perf_counter()
    model = load_model(args.weights)
    x, y = load_test_subset(args.subset)
    out = _surface(model, x, y, args)
    return {"seconds": _seconds_since(t0), **out}


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
        times.append(_seconds_since(t))
    return {"seconds": _seconds_since(t0), "step_median_s": float(np.median(times)), "loss": loss.item()}


def gemm(args):
    n = args.gemm_size
    a, b = torch.randn(n, n, device=DEVICE), torch.randn(n, n, device=DEVICE)
    a @ b  # warm-up
    _sync()
    times = []
    for _ in range(args.repeat):
        t = time.perf_counter()
        a @ b
        times.append(_seconds_since(t))
    best = min(times)
    return {"seconds": best, "gflops": 2 * n**3 / best / 1e9, "n": n}


# --- PreAct-ResNet-18 (robust_overfitting's definition, shared with the fixture script) ---------


def _preact():
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from make_model_fixtures import PreActResNet18

    return PreActResNet18()


def _cifar_records(data_dir, names):
    """CIFAR-10's binary files, concatenated: label byte + 3072 pixel bytes per record."""
    raw = b"".join((Path(data_dir) / name).read_bytes() for name in names)
    if not raw or len(raw) % 3073:
        sys.exit(f"torch_workloads: {data_dir}: {', '.join(names)} are not CIFAR-10 binary records")
    return np.frombuffer(raw, dtype=np.uint8).reshape(len(raw) // 3073, 3073)


def _cifar_subset(rec, n, what):
    """n evenly spaced records (index floor(i * total / n), advland's `subset_evenly`), all
    when n is None, as (images in [0, 1], labels) on DEVICE."""
    total = len(rec)
    if n is not None:
        if not 1 <= n <= total:
            sys.exit(f"torch_workloads: {n} {what} asked for, the files hold {total}")
        rec = rec[[(i * total) // n for i in range(n)]]
    y = torch.from_numpy(rec[:, 0].astype(np.int64))
    x = torch.from_numpy(rec[:, 1:].reshape(len(rec), 3, 32, 32).astype(np.float32) / 255.0)
    return x.to(DEVICE), y.to(DEVICE)


def _cifar_binary(data_dir, n=None):
    """The test images (test_batch.bin)."""
    return _cifar_subset(_cifar_records(data_dir, ["test_batch.bin"]), n, "test images")


def _cifar_train(data_dir, n=None):
    """The training images (data_batch_1.bin .. data_batch_5.bin, in that order)."""
    names = [f"data_batch_{i}.bin" for i in range(1, 6)]
    return _cifar_subset(_cifar_records(data_dir, names), n, "training images")


def resnet_data(args):
    """The weights and images of the ResNet workloads; `seconds` is 0 (not a workload).
    The test file holds --subset images; each of the five training files --subset too, or
    ceil(--train-images / 5) with --train-images."""
    torch.manual_seed(args.seed)
    model = _preact()
    out = Path(args.data_dir)
    out.mkdir(parents=True, exist_ok=True)
    state = {"module." + k: v for k, v in model.state_dict().items()}
    torch.save({"state_dict": state, "epoch": 0}, args.weights)
    rng = np.random.default_rng(args.seed)
    per_train_file = -(-args.train_images // 5) if args.train_images else args.subset
    for name, count in [(f"data_batch_{i}.bin", per_train_file) for i in range(1, 6)] + [("test_batch.bin", args.subset)]:
        labels = rng.integers(0, 10, size=(count, 1), dtype=np.uint8)
        pixels = rng.integers(0, 256, size=(count, 3072), dtype=np.uint8)
        (out / name).write_bytes(np.concatenate([labels, pixels], axis=1).tobytes())
    params = sum(p.numel() for p in model.parameters())
    return {"seconds": 0.0, "parameters": params, "test_images": args.subset, "train_images": 5 * per_train_file}


def _load_preact(path):
    model = _preact()
    state = torch.load(path, weights_only=True, map_location="cpu")["state_dict"]
    model.load_state_dict({k.removeprefix("module."): v for k, v in state.items()}, strict=True)
    return model.to(DEVICE).eval()


def resnet_pgd(args):
    t0 = time.perf_counter()
    model = _load_preact(args.weights)
    x, y = _cifar_binary(args.data_dir, args.subset)
    out = _attack(model, x, y, args, l2=False)
    return {"seconds": _seconds_since(t0), "images": len(y), **out}


def resnet_hvp(args):
    t0 = time.perf_counter()
    model = _load_preact(args.weights)
    x, y = _cifar_binary(args.data_dir, args.subset)
    params, grads, v = _hessian_start(model, x, y, args.seed)
    hv = torch.autograd.grad(grads, params, grad_outputs=v, only_inputs=True, retain_graph=True)
    rayleigh = _group_product(hv, v).item()
    return {"seconds": _seconds_since(t0), "rayleigh": rayleigh, "hvps": 1}


def resnet_hessian(args):
    """PyHessian's power iteration (see `_power_iteration`) on the test images in one batch, batch
    norm in eval mode, as `hessian(model, criterion, data=(inputs, targets))` runs it."""
    t0 = time.perf_counter()
    model = _load_preact(args.weights)
    x, y = _cifar_binary(args.data_dir, args.subset)
    eigenvalue, hvps = _power_iteration(model, x, y, args)
    return {"seconds": _seconds_since(t0), "images": len(y), "eigenvalue": eigenvalue, "hvps": hvps}


def resnet_surface(args):
    """loss-landscape's random filter-normalised plane (see `_surface`), clean or adversarial."""
    t0 = time.perf_counter()
    model = _load_preact(args.weights)
    x, y = _cifar_binary(args.data_dir, args.subset)
    attack, peer = None, None
    if args.objective == "adversarial":
        attack, peer = _make_attack(model, args.eps, args.steps, l2=False)
    out = _surface(model, x, y, args, attack)
    return {"seconds": _seconds_since(t0), "images": len(y), "objective": args.objective, "peer": peer, **out}


# --- robust_overfitting (locuslab/robust_overfitting, train_cifar.py) ---------------------------
# `attack_pgd(model, X, y, epsilon, alpha, attack_iters, restarts=1, norm='l_inf')` and one epoch
# of `main()`'s loop with its defaults (PreActResNet18, batch 128, --epsilon 8, --pgd-alpha 2,
# --attack-iters 10, SGD lr 0.1 (piecewise schedule: 0.1 in the first half of training) momentum
# 0.9 weight decay 5e-4, inputs normalised by utils.py's cifar10_mean/std outside the model), then
# its test loop (eval mode, the same PGD) on --eval-images. Left out, so that both sides do the same
# work: the Crop/FlipLR augmentation and the DataLoader's workers (advland trains on the images as
# they are, held in memory; here they are on DEVICE from the start), the logging and the
# checkpoint files. Kept as upstream has it: the attack's `loss.backward()` also accumulates the
# parameters' gradients (cleared by `opt.zero_grad()` before the update), the attack runs with
# batch norm in train mode, and every batch has one more clean forward for the training accuracy.
CIFAR10_MEAN = (0.4914, 0.4822, 0.4465)  # robust_overfitting utils.py
CIFAR10_STD = (0.2471, 0.2435, 0.2616)


def _ro_clamp(x, lower, upper):
    return torch.max(torch.min(x, upper), lower)


def _ro_attack_pgd(model, normalize, X, y, epsilon, alpha, attack_iters):
    """robust_overfitting's attack_pgd, L-inf, one restart, no early stop, no mixup."""
    max_loss = torch.zeros(y.shape[0], device=X.device)
    max_delta = torch.zeros_like(X)
    delta = torch.zeros_like(X)
    delta.uniform_(-epsilon, epsilon)
    delta = _ro_clamp(delta, 0 - X, 1 - X)
    delta.requires_grad = True
    for _ in range(attack_iters):
        output = model(normalize(X + delta))
        loss = F.cross_entropy(output, y)
        loss.backward()
        grad = delta.grad.detach()
        d = torch.clamp(delta + alpha * torch.sign(grad), min=-epsilon, max=epsilon)
        d = _ro_clamp(d, 0 - X, 1 - X)
        delta.data[:, :, :, :] = d
        delta.grad.zero_()
    all_loss = F.cross_entropy(model(normalize(X + delta)), y, reduction="none")
    max_delta[all_loss >= max_loss] = delta.detach()[all_loss >= max_loss]
    return max_delta


def resnet_train(args):
    t0 = time.perf_counter()
    torch.manual_seed(args.seed)
    model = _load_preact(args.weights)
    x, y = _cifar_train(args.data_dir, args.train_images)
    xt, yt = _cifar_binary(args.data_dir, args.eval_images)
    mu = torch.tensor(CIFAR10_MEAN, device=DEVICE).view(3, 1, 1)
    std = torch.tensor(CIFAR10_STD, device=DEVICE).view(3, 1, 1)

    def normalize(inputs):
        return (inputs - mu) / std

    eps, alpha = args.eps, args.pgd_alpha
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
    criterion = nn.CrossEntropyLoss()
    model.train()
    stats = {"train_loss": 0.0, "train_acc": 0, "train_robust_loss": 0.0, "train_robust_acc": 0}
    order = torch.randperm(len(y), device=DEVICE)  # DataLoader(shuffle=True)
    for i in range(0, len(y), args.batch_size):
        idx = order[i : i + args.batch_size]
        X, Y = x[idx], y[idx]
        delta = _ro_attack_pgd(model, normalize, X, Y, eps, alpha, args.steps).detach()
        robust_output = model(normalize(torch.clamp(X + delta[: X.size(0)], min=0, max=1)))
        robust_loss = criterion(robust_output, Y)
        opt.zero_grad()
        robust_loss.backward()
        opt.step()
        output = model(normalize(X))
        loss = criterion(output, Y)
        stats["train_robust_loss"] += robust_loss.item() * Y.size(0)
        stats["train_robust_acc"] += (robust_output.max(1)[1] == Y).sum().item()
        stats["train_loss"] += loss.item() * Y.size(0)
        stats["train_acc"] += (output.max(1)[1] == Y).sum().item()
    train_s = _seconds_since(t0)
    model.eval()
    test = {"test_loss": 0.0, "test_acc": 0, "test_robust_loss": 0.0, "test_robust_acc": 0}
    for i in range(0, len(yt), args.batch_size):
        X, Y = xt[i : i + args.batch_size], yt[i : i + args.batch_size]
        delta = _ro_attack_pgd(model, normalize, X, Y, eps, alpha, args.steps).detach()
        robust_output = model(normalize(torch.clamp(X + delta[: X.size(0)], min=0, max=1)))
        output = model(normalize(X))
        test["test_robust_loss"] += criterion(robust_output, Y).item() * Y.size(0)
        test["test_robust_acc"] += (robust_output.max(1)[1] == Y).sum().item()
        test["test_loss"] += criterion(output, Y).item() * Y.size(0)
        test["test_acc"] += (output.max(1)[1] == Y).sum().item()
    seconds = _seconds_since(t0)
    out = {k: v / len(y) for k, v in stats.items()}
    out.update({k: v / len(yt) for k, v in test.items()})
    return {"seconds": seconds, "train_s": train_s, "train_images": len(y), "eval_images": len(yt), **out}


def parse_grid(text):
    lo, hi, n = text.split(":")
    return float(lo), float(hi), int(n)


def parse_eps(text):
    """A radius as a number or a fraction (8/255)."""
    num, _, den = text.partition("/")
    return float(num) / float(den) if den else float(num)


WORKLOADS = {
    "pgd-linf": lambda a: pgd(a, l2=False),
    "pgd-l2": lambda a: pgd(a, l2=True),
    "hessian": hessian,
    "surface": surface,
    "train-step": train_step,
    "gemm": gemm,
    "resnet-data": resnet_data,
    "resnet-pgd": resnet_pgd,
    "resnet-hvp": resnet_hvp,
    "resnet-hessian": resnet_hessian,
    "resnet-surface": resnet_surface,
    "resnet-train": resnet_train,
}


def main():
    global DEVICE
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("workload", choices=list(WORKLOADS))
    p.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="where the workload runs")
    p.add_argument("--no-tf32", action="store_true", help="cuDNN convolutions in full f32 (PyTorch's default allows TF32)")
    p.add_argument("--data-dir", type=Path, help="CIFAR-10 binary files of the resnet workloads")
    p.add_argument("--weights", type=Path, help="advland export output (PyTorch layout), or the resnet .pt")
    p.add_argument("--subset", type=int, help="test examples, evenly spaced (default: 1000; resnet workloads: "
                   "every image of the test file; resnet-data: images per file, 1000)")
    p.add_argument("--train-images", type=int, help="resnet-train: training images, evenly spaced (default all); "
                   "resnet-data: training images to write (default 5 x --subset)")
    p.add_argument("--eval-images", type=int, default=128, help="resnet-train: test images of its evaluation")
    p.add_argument("--batch-size", type=int, default=1000)
    p.add_argument("--eps", type=parse_eps, default=0.1, help="attack radius, e.g. 0.1 or 8/255")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--pgd-alpha", type=parse_eps, default=2 / 255, help="resnet-train: PGD step (robust_overfitting's 2/255)")
    p.add_argument("--objective", choices=["clean", "adversarial"], default="clean", help="resnet-surface")
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
    if args.workload.startswith("resnet-") and args.data_dir is None:
        p.error(f"{args.workload} needs --data-dir")
    if args.subset is None and not (args.workload.startswith("resnet-") and args.workload != "resnet-data"):
        args.subset = 1000
    if args.device == "cuda":
        if not torch.cuda.is_available():
            sys.exit(f"torch_workloads: --device cuda, but this PyTorch ({torch.__version__}) sees no CUDA GPU")
        DEVICE = torch.device("cuda", 0)
        if args.no_tf32:
            torch.backends.cudnn.allow_tf32 = False
            torch.backends.cuda.matmul.allow_tf32 = False
        # No CUDA call before the workload: the context is created inside its timed span, as
        # advland's is inside `meta.duration_s`, and max_memory_allocated starts from zero.
    torch.set_num_threads(args.threads)
    torch.set_num_interop_threads(1)
    out = WORKLOADS[args.workload](args)
    out = {"workload": args.workload, "device": str(DEVICE), "threads": torch.get_num_threads(),
           "torch": torch.__version__, **out}
    if DEVICE.type == "cuda":
        out["gpu"] = torch.cuda.get_device_name(DEVICE)
        out["gpu_peak_mib"] = torch.cuda.max_memory_allocated(DEVICE) / 2**20
        out["tf32"] = {"cudnn": torch.backends.cudnn.allow_tf32, "matmul": torch.backends.cuda.matmul.allow_tf32}
    print(json.dumps(out))


if __name__ == "__main__":
    main()

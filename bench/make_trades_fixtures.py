#!/usr/bin/env python3
"""PyTorch oracles for advland's TRADES loss and AWP perturbation (`advland train --trades-beta`,
`--awp-gamma`).

Writes `tests/fixtures/torch/mlp_trades{,_expected}.safetensors` (run from anywhere with the bench
venv: `bench/.venv/bin/python bench/make_trades_fixtures.py`); the Rust tests in
`crates/train/src/trainer/objective/tests.rs` read them. Deterministic: fixed seed, CPU, float64
references computed from the float32 weights and inputs the fixture stores.

The losses and the perturbation follow the authors' code:
- TRADES (yaodongyu/TRADES `trades.py`): CE(f(x), y) + beta * KLDivLoss(sum)(log_softmax(f(x_adv)),
  softmax(f(x))) / batch_size, gradients through both forwards.
- AWP (csdongxian/AWP `AT_AWP/utils_awp.py`, `TRADES_AWP/utils_awp.py`): a proxy copy takes one
  SGD step (lr 0.01) on minus the training loss; for every state-dict entry named `weight` with
  more than one dimension, diff = w_proxy - w is rescaled to ||w|| / (||diff|| + 1e-20); the model
  moves by gamma * diff, and the training loss is differentiated there.

Files:
- `mlp_trades.safetensors`: an advland MLP (flatten -> fc1 -> ReLU -> fc2) for 1x4x4 inputs, 6
  hidden units, 3 classes, PyTorch names and layouts, float32, weights 4x PyTorch's initial
  scale.
- `mlp_trades_expected.safetensors`: `x`, `x_adv` [5,1,4,4] float32 (x_adv in the L-inf ball of
  radius 0.3 around x, inside [0,1]), `labels` [5] int64, and float64: `trades_loss` (beta = 6),
  `trades_grad.<name>`; for AWP on PGD-AT (gamma = 0.01) `awp_at_v.<name>` (weights only) and
  `awp_at_grad.<name>` (gradient of the CE at x_adv at the perturbed weights); for AWP on TRADES
  (gamma = 0.005, beta = 6) `awp_trades_v.<name>` and `awp_trades_grad.<name>`.
"""

import copy
import os

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "torch")
BETA = 6.0
GAMMA_AT = 0.01
GAMMA_TRADES = 0.005
AWP_LR = 0.01
EPS = 1e-20


class Mlp(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 6)
        self.fc2 = nn.Linear(6, 3)

    def forward(self, x):
        return self.fc2(F.relu(self.fc1(x.flatten(1))))


def trades_loss(model, x, x_adv, y, beta):
    logits = model(x)
    loss_natural = F.cross_entropy(logits, y)
    kl = nn.KLDivLoss(reduction="sum")
    loss_robust = kl(F.log_softmax(model(x_adv), dim=1), F.softmax(model(x), dim=1)) / len(x)
    return loss_natural + beta * loss_robust


def at_loss(model, x, x_adv, y):
    return F.cross_entropy(model(x_adv), y)


def grads(model, loss):
    model.zero_grad()
    loss.backward()
    return {k: p.grad.detach().clone() for k, p in model.named_parameters()}


def awp(model, loss_fn, gamma):
    """AdvWeightPerturb.calc_awp + perturb: returns the perturbation per weight name and the
    gradient of the training loss at the perturbed weights."""
    proxy = copy.deepcopy(model)
    proxy.load_state_dict(model.state_dict())
    proxy.train()
    opt = torch.optim.SGD(proxy.parameters(), lr=AWP_LR)
    opt.zero_grad()
    (-loss_fn(proxy)).backward()
    opt.step()
    v = {}
    for (k, old), (_, new) in zip(model.state_dict().items(), proxy.state_dict().items()):
        if old.dim() <= 1 or "weight" not in k:
            continue
        diff = new - old
        v[k] = gamma * old.norm() / (diff.norm() + EPS) * diff
    perturbed = copy.deepcopy(model)
    with torch.no_grad():
        for k, p in perturbed.named_parameters():
            if k in v:
                p.add_(v[k])
    return v, grads(perturbed, loss_fn(perturbed))


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(20190124)
    model32 = Mlp()
    with torch.no_grad():
        # Larger than PyTorch's initial weights, so the KL term weighs in the loss and its gradient.
        model32.fc1.weight.mul_(4.0)
        model32.fc2.weight.mul_(4.0)
    x = torch.rand(5, 1, 4, 4)
    x_adv = (x + (torch.rand_like(x) * 0.6 - 0.3)).clamp(0, 1)
    y = torch.tensor([0, 2, 1, 2, 0])
    save_file({k: v.contiguous() for k, v in model32.state_dict().items()},
              os.path.join(OUT, "mlp_trades.safetensors"))

    model = copy.deepcopy(model32).double()
    xd, xad = x.double(), x_adv.double()
    out = {"x": x, "x_adv": x_adv, "labels": y}
    loss = trades_loss(model, xd, xad, y, BETA)
    out["trades_loss"] = loss.detach().reshape(1)
    for k, g in grads(model, loss).items():
        out[f"trades_grad.{k}"] = g
    cases = [
        ("awp_at", lambda m: at_loss(m, xd, xad, y), GAMMA_AT),
        ("awp_trades", lambda m: trades_loss(m, xd, xad, y, BETA), GAMMA_TRADES),
    ]
    for prefix, loss_fn, gamma in cases:
        v, g = awp(model, loss_fn, gamma)
        for k, t in v.items():
            out[f"{prefix}_v.{k}"] = t
        for k, t in g.items():
            out[f"{prefix}_grad.{k}"] = t
    save_file({k: t.detach().contiguous() for k, t in out.items()},
              os.path.join(OUT, "mlp_trades_expected.safetensors"))


if __name__ == "__main__":
    main()

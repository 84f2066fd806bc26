#!/usr/bin/env python3
"""PyTorch oracle for advland's per-example parameter gradients and their cosine similarities
(`advland perturbation`, Liu et al. 2020's "scattered gradients").

Writes `tests/fixtures/perturbation/gradient_cosines.json` (run with the bench venv:
`bench/.venv/bin/python bench/make_perturbation_fixture.py`); the Rust test
`crates/analysis/tests/perturbation_torch.rs` reads it. Deterministic: fixed seed, CPU,
float64.

The network is advland's MLP (flatten -> Linear -> ReLU -> Linear) with PyTorch's names
(`fc1.*`, `fc2.*`) on 1x4x4 inputs, 6 hidden units, 3 classes. Weights and inputs are rounded
to float32 values so that advland, which stores weights in f32 and computes in f64, sees the
same numbers. The inputs are fixed points x + delta in [0, 1] (as an attack would produce);
per example the gradient of the cross-entropy with respect to all parameters is taken with a
batch of one (torch.autograd.grad), flattened in state-dict order, and compared pairwise.

Fields: `state_dict` (name -> {shape, values}, PyTorch layout), `inputs` [n,1,4,4] flattened,
`labels`, `cosines` (cos(g_i, g_j) for i < j in row-major pair order), `mean_cosine`,
`norms` (||g_i||_2).
"""

import json
import os

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "perturbation", "gradient_cosines.json")
N = 6


def f32(t):
    return t.to(torch.float32).to(torch.float64)


def main():
    torch.manual_seed(2020)
    net = torch.nn.Sequential()
    net.add_module("flatten", torch.nn.Flatten())
    net.add_module("fc1", torch.nn.Linear(16, 6))
    net.add_module("relu", torch.nn.ReLU())
    net.add_module("fc2", torch.nn.Linear(6, 3))
    net = net.double()
    with torch.no_grad():
        for p in net.parameters():
            p.copy_(f32(p))
    x = torch.rand(N, 1, 4, 4, dtype=torch.float64)
    delta = (torch.rand(N, 1, 4, 4, dtype=torch.float64) * 2 - 1) * 0.1
    x_adv = f32((x + delta).clamp(0, 1))
    labels = torch.tensor([0, 1, 2, 0, 1, 2])
    params = [p for _, p in net.named_parameters()]
    grads = []
    for i in range(N):
        loss = torch.nn.functional.cross_entropy(net(x_adv[i : i + 1]), labels[i : i + 1])
        g = torch.autograd.grad(loss, params)
        grads.append(torch.cat([t.reshape(-1) for t in g]))
    g = torch.stack(grads)
    unit = g / g.norm(dim=1, keepdim=True)
    gram = unit @ unit.T
    cosines = [gram[i, j].item() for i in range(N) for j in range(i + 1, N)]
    fixture = {
        "state_dict": {
            name: {"shape": list(p.shape), "values": p.detach().reshape(-1).tolist()}
            for name, p in net.named_parameters()
        },
        "inputs": x_adv.reshape(-1).tolist(),
        "labels": labels.tolist(),
        "cosines": cosines,
        "mean_cosine": sum(cosines) / len(cosines),
        "norms": g.norm(dim=1).tolist(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""PyTorch oracles for advland's smooth-activation MLP (`model.activation = "softplus" | "gelu"`).

Writes `tests/fixtures/smooth/mlp_{softplus,gelu}{,_expected}.safetensors` (run from anywhere with the bench
venv: `bench/.venv/bin/python bench/make_smooth_fixtures.py`); read by
`crates/analysis/tests/smooth_oracle.rs`. Deterministic: fixed seed, CPU; the references are
float64 computations from the float32 weights and inputs the files store.

The model is advland's MLP with PyTorch names and layouts: flatten -> fc1 (16 -> 8) -> activation
-> fc2 (8 -> 3), weights at 3x PyTorch's initial scale so that the activation's curvature shows.
`nn.Softplus()` (beta 1, threshold 20) and `nn.GELU()` (exact erf form).

`mlp_<activation>.safetensors` holds the weights (`fc1.weight`, `fc1.bias`, `fc2.weight`,
`fc2.bias`, float32); `mlp_<activation>_expected.safetensors` the inputs `x` [5,1,4,4] float32 in [0,1] and `labels` [5] int64, and float64:
- `logits` [5,3];
- `param_hessian_eigenvalues` [163]: eigenvalues (ascending) of the Hessian in the parameters of
  the batch-mean cross-entropy, from `torch.autograd.functional.hessian` (double backward);
- `input_hessians` [5,16,16]: per example n, the Hessian in x_n of CE(f(x_n), y_n).
"""

import os

import torch
import torch.nn as nn
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "smooth")
ACTIVATIONS = {"softplus": nn.Softplus(), "gelu": nn.GELU()}


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, act in ACTIVATIONS.items():
        torch.manual_seed(20240601)
        fc1, fc2 = nn.Linear(16, 8), nn.Linear(8, 3)
        with torch.no_grad():
            fc1.weight.mul_(3.0)
            fc2.weight.mul_(3.0)
        x32 = torch.rand(5, 1, 4, 4)
        labels = torch.randint(0, 3, (5,))
        weights32 = {
            "fc1.weight": fc1.weight.detach().clone(),
            "fc1.bias": fc1.bias.detach().clone(),
            "fc2.weight": fc2.weight.detach().clone(),
            "fc2.bias": fc2.bias.detach().clone(),
        }
        w = {k: v.double() for k, v in weights32.items()}
        x = x32.double()
        shapes = [(k, v.shape) for k, v in w.items()]

        def forward(params, inputs):
            h = act(inputs.flatten(1) @ params["fc1.weight"].T + params["fc1.bias"])
            return h @ params["fc2.weight"].T + params["fc2.bias"]

        def unflatten(flat):
            out, i = {}, 0
            for k, s in shapes:
                n = s.numel()
                out[k] = flat[i:i + n].reshape(s)
                i += n
            return out

        flat = torch.cat([v.flatten() for v in w.values()])
        loss_fn = nn.CrossEntropyLoss()
        h_param = torch.autograd.functional.hessian(
            lambda p: loss_fn(forward(unflatten(p), x), labels), flat)
        eig = torch.linalg.eigvalsh(0.5 * (h_param + h_param.T))
        input_h = torch.stack([
            torch.autograd.functional.hessian(
                lambda xi: loss_fn(forward(w, xi.reshape(1, 1, 4, 4)), labels[n:n + 1]),
                x[n].flatten())
            for n in range(5)
        ])
        save_file({k: v.contiguous() for k, v in weights32.items()},
                  os.path.join(OUT, f"mlp_{name}.safetensors"))
        out = {}
        out.update({
            "x": x32,
            "labels": labels,
            "logits": forward(w, x).detach(),
            "param_hessian_eigenvalues": eig.detach(),
            "input_hessians": input_h.detach(),
        })
        path = os.path.join(OUT, f"mlp_{name}_expected.safetensors")
        save_file({k: v.contiguous() for k, v in out.items()}, path)
        mins = [float(torch.linalg.eigvalsh(h).min()) for h in input_h]
        print(f"{path}: param λ [{float(eig[0]):+.4e}, {float(eig[-1]):+.4e}], "
              f"input-Hessian λmin per example {[f'{m:+.3e}' for m in mins]}")


if __name__ == "__main__":
    main()

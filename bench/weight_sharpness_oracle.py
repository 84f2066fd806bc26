"""PyTorch oracle for `advland sharpness worst-case|awp` (crates/analysis/tests/weight_sharpness_oracle.rs).

A 16-8-10 ReLU MLP with fixed weights on 16 fixed 1x4x4 inputs, clean cross-entropy in float64,
m = 8 (two batches), no random start. For each ball (adaptive-l2, l2, linf, adaptive-linf) the
worst-case ascent, and for AWP the one-step perturbation and the ascent in the layerwise ball,
written independently of the Rust code from the definitions in
crates/analysis/src/sharpness/{ball,ascent,weight}.rs:

  delta = s * u, s = |theta0| (adaptive), 1 (plain), ||theta0_l|| (layerwise), 0 off the
  perturbed tensors (here: the weight matrices, biases fixed);
  APGD in u: step 2*rho, z = P(u + step * d(s * grad)), u' = P(u + a(z - u) + (1 - a)(u - u_prev)),
  a = 1 then 0.75; at the integer APGD checkpoints the step halves and u, grad reset to the best
  point when at most 75 % of the iterations since the last checkpoint increased the loss or the
  best loss has not moved since an unhalved checkpoint.

The weights and inputs are float32 values (advland stores them so) computed in float64.
Writes tests/fixtures/weight_sharpness/mlp.json. Run: /work/venv-bench/bin/python bench/weight_sharpness_oracle.py
"""

import json
import math
import pathlib

import torch

torch.set_default_dtype(torch.float64)
OUT = pathlib.Path(__file__).resolve().parent.parent / "tests/fixtures/weight_sharpness/mlp.json"

RHO = {"adaptive-l2": 0.1, "l2": 0.05, "linf": 0.002, "adaptive-linf": 0.02}
GAMMA = 0.05
ITERATIONS = 20
M = 8


def checkpoints(n):
    whole = lambda p: max(p * n // 100, 1)
    decrease, shortest = whole(3), whole(6)
    out, interval = [0], whole(22)
    at = interval
    while at <= n:
        out.append(at)
        interval = max(interval - decrease, shortest)
        at += interval
    return out


class Ball:
    def __init__(self, kind, rho, theta0, layers):
        self.kind, self.rho, self.layers = kind, rho, layers
        self.scale = torch.zeros_like(theta0)
        for a, b in layers:
            if kind.startswith("adaptive"):
                self.scale[a:b] = theta0[a:b].abs()
            elif kind == "layerwise":
                self.scale[a:b] = theta0[a:b].norm()
            else:
                self.scale[a:b] = 1.0

    def direction(self, g):
        if self.kind in ("l2", "adaptive-l2"):
            n = g.norm()
            return g / n if n > 0 else torch.zeros_like(g)
        if self.kind in ("linf", "adaptive-linf"):
            return torch.sign(g)
        d = torch.zeros_like(g)
        for a, b in self.layers:
            n = g[a:b].norm()
            if n > 0:
                d[a:b] = g[a:b] / n
        return d

    def project(self, u):
        u = u.clone()
        if self.kind in ("l2", "adaptive-l2"):
            n = u.norm()
            if n > self.rho:
                u = u * (self.rho / n)
        elif self.kind in ("linf", "adaptive-linf"):
            u = u.clamp(-self.rho, self.rho)
        else:
            for a, b in self.layers:
                n = u[a:b].norm()
                if n > self.rho:
                    u[a:b] = u[a:b] * (self.rho / n)
        u[self.scale == 0] = 0.0
        return u


def make_loss(x, y, shapes):
    def loss_and_grad(theta):
        theta = theta.detach().requires_grad_(True)
        parts, k = [], 0
        for shape in shapes:
            n = math.prod(shape)
            parts.append(theta[k : k + n].view(shape))
            k += n
        w1, b1, w2, b2 = parts
        logits = torch.relu(x @ w1.T + b1) @ w2.T + b2
        loss = torch.nn.functional.cross_entropy(logits, y)
        (g,) = torch.autograd.grad(loss, theta)
        return loss.item(), g

    return loss_and_grad


def ascend(f, theta0, loss0, ball, iterations):
    u = torch.zeros_like(theta0)
    first, g = f(theta0 + ball.scale * u)
    grad = ball.scale * g
    best = (first, u.clone(), grad.clone())
    prev, prev_loss = u.clone(), first
    step = 2.0 * ball.rho
    increases, halved_at_check, best_at_check = 0, True, best[0]
    cps = checkpoints(iterations)
    for it in range(1, iterations + 1):
        a = 1.0 if it == 1 else 0.75
        z = ball.project(u + step * ball.direction(grad))
        nxt = ball.project(u + a * (z - u) + (1 - a) * (u - prev))
        prev, u = u, nxt
        loss, g = f(theta0 + ball.scale * u)
        grad = ball.scale * g
        if loss > prev_loss:
            increases += 1
        prev_loss = loss
        if loss > best[0]:
            best = (loss, u.clone(), grad.clone())
        if it not in cps:
            continue
        interval = it - cps[cps.index(it) - 1]
        halve = increases <= 0.75 * interval or (not halved_at_check and best_at_check >= best[0])
        if halve:
            step *= 0.5
            u, grad = best[1].clone(), best[2].clone()
        halved_at_check, best_at_check, increases = halve, best[0], 0
    return best[0] - loss0, (ball.scale * best[1]).norm().item()


def main():
    gen = torch.Generator().manual_seed(0)
    f32 = lambda t: t.float().double()
    x = f32(torch.rand(16, 16, generator=gen))
    y = torch.randint(0, 10, (16,), generator=gen)
    w1 = f32((torch.rand(8, 16, generator=gen) * 2 - 1) * 0.5)
    b1 = f32((torch.rand(8, generator=gen) * 2 - 1) * 0.25)
    w2 = f32((torch.rand(10, 8, generator=gen) * 2 - 1) * 0.7)
    b2 = f32((torch.rand(10, generator=gen) * 2 - 1) * 0.3)
    shapes = [w1.shape, b1.shape, w2.shape, b2.shape]
    theta0 = torch.cat([w1.flatten(), b1, w2.flatten(), b2])
    # The weight matrices only (advland's default `--perturbed weights`).
    layers = [(0, 128), (136, 216)]
    expected = {"worst-case": {k: [] for k in RHO}, "awp": {"one_step": [], "increase": []}, "loss": []}
    for batch in range(2):
        rows = slice(batch * M, (batch + 1) * M)
        f = make_loss(x[rows], y[rows], shapes)
        loss0, g0 = f(theta0)
        expected["loss"].append(loss0)
        for kind, rho in RHO.items():
            inc, norm = ascend(f, theta0, loss0, Ball(kind, rho, theta0, layers), ITERATIONS)
            expected["worst-case"][kind].append({"increase": inc, "delta_norm": norm})
        ball = Ball("layerwise", GAMMA, theta0, layers)
        v = ball.scale * GAMMA * ball.direction(ball.scale * g0)
        expected["awp"]["one_step"].append(f(theta0 + v)[0] - loss0)
        expected["awp"]["increase"].append(ascend(f, theta0, loss0, ball, ITERATIONS)[0])
    fixture = {
        "generator": "bench/weight_sharpness_oracle.py (torch %s)" % torch.__version__,
        "shape": [1, 4, 4],
        "hidden": 8,
        "m": M,
        "iterations": ITERATIONS,
        "rho": RHO,
        "gamma": GAMMA,
        "images": x.flatten().tolist(),
        "labels": y.tolist(),
        "params": {
            "fc1.weight": w1.flatten().tolist(),
            "fc1.bias": b1.tolist(),
            "fc2.weight": w2.flatten().tolist(),
            "fc2.bias": b2.tolist(),
        },
        "expected": expected,
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(json.dumps(expected, indent=1))


if __name__ == "__main__":
    main()

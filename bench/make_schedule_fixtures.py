#!/usr/bin/env python3
"""Writes tests/fixtures/schedules/schedules.json, the oracle of the schedule tests in
crates/schema/src/schedule.rs: the learning rate and the training attack's radius of every
minibatch of small runs, computed by the reference implementations.

    /work/venv-bench/bin/python bench/make_schedule_fixtures.py   (needs torch and numpy)

Learning rates (`lr`): PyTorch's own schedulers stepped once per epoch, as advland's
per-epoch schedules are (`MultiStepLR` for piecewise, `CosineAnnealingLR(T_max=E, eta_min=0)`
for cosine, a warm-up W as `SequentialLR([LinearLR(start_factor=1/(W+1), total_iters=W),
schedule over E-W epochs], milestones=[W])`), and robust_overfitting's `superconverge` (cyclic)
formula `np.interp([t], [0, E*2//5, E], [0, lr_max, 0])[0]` at t = epoch + (i+1)/n, as its
`train_cifar.py` sets the rate before minibatch i of n. The cyclic case with warm-up has no
reference implementation: it is the composition the module documents, lr·(t+1)/(W+1) for
t < W, then the cycle over E-W epochs.

Radii (`eps`): Liu et al. 2020's schedule functions (liuchen11/AdversaryLossLandscape,
`util/seq_parser.py`), re-stated here: `linear` (start_v + x·slope clipped at ε) for a linear
warm-up and `cycle_cos` with `ckpt_list` = the period boundaries, `eps_max` = peak·ε and
`max` = ε for the periodic schedule, evaluated as their `util/train.py` does in batch mode at
x = epoch + idx/n.
"""
import json
import math
from pathlib import Path

import numpy as np
import torch

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/schedules/schedules.json"


def torch_rates(make, base, epochs, batches):
    """Rates of every minibatch when `make(optimizer)` builds the scheduler, stepped per epoch."""
    param = torch.nn.Parameter(torch.zeros(1))
    opt = torch.optim.SGD([param], lr=base)
    sched = make(opt)
    rates = []
    for _ in range(epochs):
        rates += [opt.param_groups[0]["lr"]] * batches
        opt.step()
        sched.step()
    return rates


def with_warmup(opt, warmup, main):
    warm = torch.optim.lr_scheduler.LinearLR(
        opt, start_factor=1.0 / (warmup + 1), end_factor=1.0, total_iters=warmup
    )
    return torch.optim.lr_scheduler.SequentialLR(opt, [warm, main], milestones=[warmup])


def superconverge(base, epochs, t):
    return float(np.interp([t], [0, epochs * 2 // 5, epochs], [0, base, 0])[0])


def cyclic_rates(base, epochs, batches, warmup=0):
    rates = []
    for epoch in range(epochs):
        for i in range(batches):
            t = epoch + (i + 1) / batches
            if t < warmup:
                rates.append(base * (t + 1) / (warmup + 1))
            else:
                rates.append(superconverge(base, epochs - warmup, t - warmup))
    return rates


def lr_case(name, schedule, base, epochs, batches, rates, warmup=0):
    return {
        "name": name,
        "schedule": schedule,
        "warmup_epochs": warmup,
        "base": base,
        "epochs": epochs,
        "batches": batches,
        "rates": rates,
    }


def lr_cases():
    lr_sched = torch.optim.lr_scheduler
    cases = [
        lr_case(
            "constant",
            {"kind": "constant"},
            0.1,
            4,
            3,
            torch_rates(lambda o: lr_sched.MultiStepLR(o, milestones=[]), 0.1, 4, 3),
        ),
        lr_case(
            "piecewise",
            {"kind": "piecewise", "milestones": [2, 4], "factor": 0.1},
            0.1,
            6,
            3,
            torch_rates(
                lambda o: lr_sched.MultiStepLR(o, milestones=[2, 4], gamma=0.1), 0.1, 6, 3
            ),
        ),
        lr_case(
            "cosine",
            {"kind": "cosine"},
            0.05,
            7,
            2,
            torch_rates(lambda o: lr_sched.CosineAnnealingLR(o, T_max=7, eta_min=0), 0.05, 7, 2),
        ),
        lr_case(
            "piecewise-warmup",
            {"kind": "piecewise", "milestones": [2], "factor": 0.5},
            0.2,
            7,
            2,
            torch_rates(
                lambda o: with_warmup(o, 2, lr_sched.MultiStepLR(o, milestones=[2], gamma=0.5)),
                0.2,
                7,
                2,
            ),
            warmup=2,
        ),
        lr_case(
            "cosine-warmup",
            {"kind": "cosine"},
            0.1,
            8,
            2,
            torch_rates(
                lambda o: with_warmup(o, 3, lr_sched.CosineAnnealingLR(o, T_max=5, eta_min=0)),
                0.1,
                8,
                2,
            ),
            warmup=3,
        ),
        lr_case(
            "constant-warmup",
            {"kind": "constant"},
            0.1,
            5,
            1,
            torch_rates(
                lambda o: with_warmup(o, 4, lr_sched.MultiStepLR(o, milestones=[])), 0.1, 5, 1
            ),
            warmup=4,
        ),
        lr_case("cyclic", {"kind": "cyclic"}, 0.2, 5, 4, cyclic_rates(0.2, 5, 4)),
        lr_case("cyclic-long", {"kind": "cyclic"}, 0.1, 13, 3, cyclic_rates(0.1, 13, 3)),
        # 2*2//5 = 0: robust_overfitting's cycle has no rising part in so short a run.
        lr_case("cyclic-two-epochs", {"kind": "cyclic"}, 0.1, 2, 3, cyclic_rates(0.1, 2, 3)),
        lr_case(
            "cyclic-warmup",
            {"kind": "cyclic"},
            0.1,
            6,
            3,
            cyclic_rates(0.1, 6, 3, warmup=1),
            warmup=1,
        ),
    ]
    return cases


def liu_linear(start_v, slope, max_v):
    return lambda x: float(np.clip(start_v + x * slope, a_min=-np.inf, a_max=max_v))


def liu_cycle_cos(eps_min, eps_max, ckpt_list, max_v):
    """`cycle_cos` of seq_parser.py: a cosine rise from eps_min towards eps_max within each
    interval of ckpt_list, clipped at max."""
    ckpt_list = sorted(ckpt_list)
    if ckpt_list[0] > 0.0:
        ckpt_list = [0.0] + ckpt_list

    def f(x):
        if x > ckpt_list[-1]:
            return float(np.clip(eps_max, a_min=-np.inf, a_max=max_v))
        if x <= ckpt_list[0]:
            return float(np.clip(eps_min, a_min=-np.inf, a_max=max_v))
        for left, right in zip(ckpt_list[:-1], ckpt_list[1:]):
            if left <= x < right:
                ratio = (x - left) / (right - left)
        value = eps_min + 0.5 * (eps_max - eps_min) * (1 - np.cos(ratio * np.pi))
        return float(np.clip(value, a_min=-np.inf, a_max=max_v))

    return f


def radii(f, epochs, batches):
    return [f(epoch + 1.0 / batches * idx) for epoch in range(epochs) for idx in range(batches)]


def eps_case(name, schedule, eps, epochs, batches, f):
    return {
        "name": name,
        "schedule": schedule,
        "eps": eps,
        "epochs": epochs,
        "batches": batches,
        "radii": radii(f, epochs, batches),
    }


def eps_cases():
    eps = 8 / 255
    return [
        eps_case(
            "linear-from-zero",
            {"kind": "linear", "epochs": 3},
            eps,
            5,
            4,
            liu_linear(0.0, eps / 3, eps),
        ),
        eps_case(
            "linear-from-start",
            {"kind": "linear", "epochs": 2, "start": 0.01},
            0.1,
            4,
            3,
            liu_linear(0.01, (0.1 - 0.01) / 2, 0.1),
        ),
        eps_case(
            "periodic-readme",
            {"kind": "periodic"},
            0.4,
            6,
            5,
            liu_cycle_cos(0.0, 0.6, [0.0, 6.0], 0.4),
        ),
        eps_case(
            "periodic-two",
            {"kind": "periodic", "periods": 2, "peak": 1.5},
            eps,
            8,
            3,
            liu_cycle_cos(0.0, 1.5 * eps, [k * (8 / 2) for k in range(3)], eps),
        ),
        # Periods of 5/3 epochs: boundaries inside epochs.
        eps_case(
            "periodic-uneven",
            {"kind": "periodic", "periods": 3, "start": 0.01, "peak": 1.0},
            0.1,
            5,
            4,
            liu_cycle_cos(0.01, 0.1, [k * (5 / 3) for k in range(4)], 0.1),
        ),
    ]


def main():
    fixture = {
        "generator": "bench/make_schedule_fixtures.py",
        "torch": torch.__version__,
        "numpy": np.__version__,
        "lr": lr_cases(),
        "eps": eps_cases(),
    }
    for case in fixture["lr"] + fixture["eps"]:
        values = case.get("rates", case.get("radii"))
        assert all(math.isfinite(v) for v in values), case["name"]
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(fixture, indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()

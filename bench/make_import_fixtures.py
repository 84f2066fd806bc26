#!/usr/bin/env python3
"""Writes tests/fixtures/import/: PyTorch weight files in the wrappers researchers publish, and
what advland must read from them (the oracle of crates/train/src/import/tests.rs).

    bench/.venv/bin/python bench/make_import_fixtures.py   (bench/setup_venv.sh makes the venv)

The models are advland's own twins: the CNN of `bench/torch_workloads.py` on 1x12x12 inputs
(conv 12 -> 10, pool 5, conv 3, pool 1: 32 features) and a 16-8-3 MLP. Every file holds the same
seeded weights, so one set of logits (PyTorch's, on a fixed batch) checks them all. Files:

  cnn_wrapped.pt          zip; {'state_dict': {'module.' + k: v, 'module.bn1.num_batches_tracked'},
                          'epoch', 'test_robust_acc', 'args': {...}, 'best_acc' and 'best_epoch'
                          as 0-d tensors, 'optimizer': SGD state}
  cnn_legacy.pth          legacy (non-zip) serialization of the bare state dict
  cnn_model_state_dict.pt {'model_state_dict': ..., 'epoch'}
  cnn_fc.pt               the classifier saved as `fc` instead of `fc1` (for --key-map)
  cnn_half.pt             every tensor f16
  cnn_mixed.pt            conv1 f64, conv2 bf16, fc1 f16
  cnn_sub_block.pt        an extra unused `sub_block1.*` tensor (RobustBench WideResNet style)
  cnn_missing.pt          conv2.bias left out
  cnn_misshaped.pt        conv1.weight with 8 filters instead of 16
  cnn_broken.pt           conv2.bias missing, conv1.weight mis-shaped, conv1.bias int64,
                          an unexpected conv3.weight: every kind of problem at once
  cnn.safetensors         the bare state dict in safetensors
  bn_net.pth              a BatchNorm network with PreAct-ResNet-18 key names, wrapped as
                          robust_overfitting saves it (`state_dict`, `module.`, test_robust_acc)
  mlp.pt, mlp_legacy.pth  the MLP's bare state dict, zip and legacy (small: the fuzz suite's inputs)
  expected.json           sha256 of every file, the extras of cnn_wrapped.pt, the fixed inputs,
                          the logits of both models, and some tensors of cnn_half.pt and
                          cnn_mixed.pt as PyTorch's `.float()` converts them
"""
import hashlib
import json
import sys
from pathlib import Path

import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from torch_workloads import Cnn  # noqa: E402

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/import"


class BnNet(nn.Module):
    """A BatchNorm network with PreAct-ResNet-18's key names (`conv1`, `layer1.0.bn1`, `bn`,
    `linear`) for the BatchNorm models to come: its buffers are what they must load."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, padding=1, bias=False)
        self.layer1 = nn.Sequential(nn.Module())
        self.layer1[0].bn1 = nn.BatchNorm2d(4)
        self.bn = nn.BatchNorm2d(4)
        self.linear = nn.Linear(4, 10)


class Mlp(nn.Module):
    """advland's MLP (`crates/train/src/model/mlp.rs`): flatten -> fc1 -> ReLU -> fc2."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(16, 8)
        self.fc2 = nn.Linear(8, 3)

    def forward(self, x):
        return self.fc2(torch.relu(self.fc1(torch.flatten(x, 1))))


def floats(t):
    return [float(v) for v in t.detach().flatten().tolist()]


def save(obj, name, **kwargs):
    torch.save(obj, OUT / name, **kwargs)


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    cnn = Cnn(classes=10, features=32).eval()
    mlp = Mlp().eval()
    sd = {k: v.detach().clone() for k, v in cnn.state_dict().items()}

    optimizer = torch.optim.SGD(cnn.parameters(), lr=0.1, momentum=0.9)
    cnn(torch.rand(2, 1, 12, 12)).sum().backward()
    optimizer.step()
    cnn.load_state_dict(sd)  # the step only fills the optimizer's buffers
    wrapped = {"module." + k: v for k, v in sd.items()}
    wrapped["module.bn1.num_batches_tracked"] = torch.tensor(5)
    extras = {"epoch": 3, "test_robust_acc": 0.51, "args": {"arch": "cnn", "lr": 0.1, "milestones": [50, 75]}}
    best = {"best_acc": torch.tensor(0.6251, dtype=torch.float64), "best_epoch": torch.tensor(2)}
    save({"state_dict": wrapped, **extras, **best, "optimizer": optimizer.state_dict()}, "cnn_wrapped.pt")
    save(sd, "cnn_legacy.pth", _use_new_zipfile_serialization=False)
    save({"model_state_dict": sd, "epoch": 7}, "cnn_model_state_dict.pt")
    save({("fc." + k[4:] if k.startswith("fc1.") else k): v for k, v in sd.items()}, "cnn_fc.pt")
    save({k: v.half() for k, v in sd.items()}, "cnn_half.pt")
    mixed = {k: v.double() if k.startswith("conv1") else v.bfloat16() if k.startswith("conv2") else v.half()
             for k, v in sd.items()}
    save(mixed, "cnn_mixed.pt")
    save({**sd, "sub_block1.layer.0.conv1.weight": torch.ones(2, 2)}, "cnn_sub_block.pt")
    save({k: v for k, v in sd.items() if k != "conv2.bias"}, "cnn_missing.pt")
    save({**sd, "conv1.weight": sd["conv1.weight"][:8].clone()}, "cnn_misshaped.pt")
    broken = {k: v for k, v in sd.items() if k != "conv2.bias"}
    broken["conv1.weight"] = sd["conv1.weight"][:8].clone()
    broken["conv1.bias"] = torch.arange(16)
    broken["conv3.weight"] = torch.zeros(4, 32, 3, 3)
    save(broken, "cnn_broken.pt")
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in sd.items()}, str(OUT / "cnn.safetensors"))
    save(mlp.state_dict(), "mlp.pt")
    save(mlp.state_dict(), "mlp_legacy.pth", _use_new_zipfile_serialization=False)

    bn_net = BnNet()
    bn_net.train()
    for _ in range(3):  # running statistics away from their initial 0 and 1
        x = torch.randn(8, 4, 2, 2) * 3 + 1
        bn_net.layer1[0].bn1(x)
        bn_net.bn(x)
    bn_sd = bn_net.state_dict()
    save({"state_dict": {"module." + k: v for k, v in bn_sd.items()}, "test_robust_acc": 0.5}, "bn_net.pth")

    generator = torch.Generator().manual_seed(1)
    x_cnn = torch.rand(4, 1, 12, 12, generator=generator)
    x_mlp = torch.rand(5, 1, 4, 4, generator=generator)
    with torch.no_grad():
        logits_cnn, logits_mlp = cnn(x_cnn), mlp(x_mlp)
    expected = {
        "sha256": {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
                   for p in sorted(OUT.iterdir()) if p.suffix in (".pt", ".pth", ".safetensors")},
        "extras": extras,
        "tensor_extras": {k: v.item() for k, v in best.items()},
        "cnn": {"input_shape": list(x_cnn.shape), "input": floats(x_cnn), "logits": floats(logits_cnn)},
        "mlp": {"input_shape": list(x_mlp.shape), "input": floats(x_mlp), "logits": floats(logits_mlp)},
        "bn_net": {k: {"shape": list(v.shape), "values": floats(v.float())}
                   for k, v in bn_sd.items()},
        # What PyTorch's own `.float()` makes of the narrower and wider dtypes.
        "converted": {
            "cnn_half.pt": {"conv1.weight": floats(sd["conv1.weight"].half().float())},
            "cnn_mixed.pt": {name: floats(mixed[name].float()) for name in ("conv1.weight", "conv2.bias", "fc1.bias")},
        },
    }
    (OUT / "expected.json").write_text(json.dumps(expected, indent=1) + "\n")
    total = sum(p.stat().st_size for p in OUT.iterdir())
    print(f"make_import_fixtures: wrote {OUT} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()

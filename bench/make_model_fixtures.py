#!/usr/bin/env python3
"""PyTorch oracles for advland's batch-norm models (`preact-resnet18`, `wide-resnet`).

Writes `tests/fixtures/torch/` (run from anywhere, with the bench venv: `bench/.venv/bin/python
bench/make_model_fixtures.py`); the Rust tests in `crates/train/src/model/torch_oracle.rs` read
it. Deterministic: fixed seeds, CPU, float64 references.

The two architectures are copied from the code bases whose checkpoints advland reads:
- PreActResNet18: robust_overfitting (Rice et al. 2020) / AWP (Wu et al. 2020), `preactresnet.py`
  (byte-identical in both), with the first stage's width as a parameter (64 there).
- WideResNet: TRADES (Zhang et al. 2019) `models/wideresnet.py` as RobustBench uses it, with the
  stem's width as a parameter (16 there) and without TRADES' unused `sub_block1` (RobustBench's
  `sub_block1=False`).

Files:
- `preact_w4.{pt,safetensors}`: PreActResNet18 of base width 4; `wrn16_2_b4.{pt,safetensors}`:
  WRN-16-2 with a stem of 4 channels, whose checkpoint records CIFAR-10 normalisation done inside
  the model (RobustBench style; the state dict has no mu/sigma). `.pt` as robust_overfitting
  saves `model_best.pth` (`module.` prefixes from DataParallel, zip format); `.safetensors` the
  plain state dict with PyTorch's names, `num_batches_tracked` included (int64).
- `<name>_expected.safetensors`: `input_u8` [4,3,32,32] (pixels; the input is byte/255 in f32), `labels` [4] (int64), float64 `eval_logits`,
  `eval_loss` (mean cross-entropy, eval mode), `train_logits` (one train-mode forward of `input`
  from the saved state), `train.<bn>.running_mean|running_var` (the statistics after it), and
  `recompute.<bn>.running_mean|running_var` (re-estimated from scratch as PyTorch does with
  `momentum=None`, the cumulative average, over the batches `recompute_batch_u8.{0,1,2}`, [6,3,32,32] each).
- `keys.json`: full-size models' state-dict keys, parameter and buffer counts.
"""

import json
import os
import sys

import torch
import torch.nn as nn
import torch.nn.functional as F
from safetensors.torch import save_file

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "tests", "fixtures", "torch")
CIFAR_MEAN = [0.4914, 0.4822, 0.4465]
CIFAR_STD = [0.2471, 0.2435, 0.2616]


# robust_overfitting/preactresnet.py
class PreActBlock(nn.Module):
    expansion = 1

    def __init__(self, in_planes, planes, stride=1):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.conv1 = nn.Conv2d(in_planes, planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, kernel_size=3, stride=1, padding=1, bias=False)
        if stride != 1 or in_planes != self.expansion * planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, self.expansion * planes, kernel_size=1, stride=stride, bias=False)
            )

    def forward(self, x):
        out = F.relu(self.bn1(x))
        shortcut = self.shortcut(out) if hasattr(self, "shortcut") else x
        out = self.conv1(out)
        out = self.conv2(F.relu(self.bn2(out)))
        out += shortcut
        return out


class PreActResNet(nn.Module):
    def __init__(self, block, num_blocks, num_classes=10, width=64):
        super().__init__()
        self.in_planes = width
        self.conv1 = nn.Conv2d(3, width, kernel_size=3, stride=1, padding=1, bias=False)
        self.layer1 = self._make_layer(block, width, num_blocks[0], stride=1)
        self.layer2 = self._make_layer(block, 2 * width, num_blocks[1], stride=2)
        self.layer3 = self._make_layer(block, 4 * width, num_blocks[2], stride=2)
        self.layer4 = self._make_layer(block, 8 * width, num_blocks[3], stride=2)
        self.bn = nn.BatchNorm2d(8 * width * block.expansion)
        self.linear = nn.Linear(8 * width * block.expansion, num_classes)

    def _make_layer(self, block, planes, num_blocks, stride):
        strides = [stride] + [1] * (num_blocks - 1)
        layers = []
        for stride in strides:
            layers.append(block(self.in_planes, planes, stride))
            self.in_planes = planes * block.expansion
        return nn.Sequential(*layers)

    def forward(self, x):
        out = self.conv1(x)
        out = self.layer1(out)
        out = self.layer2(out)
        out = self.layer3(out)
        out = self.layer4(out)
        out = F.relu(self.bn(out))
        out = F.avg_pool2d(out, 4)
        out = out.view(out.size(0), -1)
        out = self.linear(out)
        return out


def PreActResNet18(num_classes=10, width=64):
    return PreActResNet(PreActBlock, [2, 2, 2, 2], num_classes, width)


# TRADES/models/wideresnet.py
class BasicBlock(nn.Module):
    def __init__(self, in_planes, out_planes, stride, dropRate=0.0):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_planes)
        self.relu1 = nn.ReLU(inplace=True)
        self.conv1 = nn.Conv2d(in_planes, out_planes, kernel_size=3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_planes)
        self.relu2 = nn.ReLU(inplace=True)
        self.conv2 = nn.Conv2d(out_planes, out_planes, kernel_size=3, stride=1, padding=1, bias=False)
        self.droprate = dropRate
        self.equalInOut = in_planes == out_planes
        self.convShortcut = (not self.equalInOut) and nn.Conv2d(
            in_planes, out_planes, kernel_size=1, stride=stride, padding=0, bias=False
        ) or None

    def forward(self, x):
        if not self.equalInOut:
            x = self.relu1(self.bn1(x))
        else:
            out = self.relu1(self.bn1(x))
        out = self.relu2(self.bn2(self.conv1(out if self.equalInOut else x)))
        if self.droprate > 0:
            out = F.dropout(out, p=self.droprate, training=self.training)
        out = self.conv2(out)
        return torch.add(x if self.equalInOut else self.convShortcut(x), out)


class NetworkBlock(nn.Module):
    def __init__(self, nb_layers, in_planes, out_planes, block, stride, dropRate=0.0):
        super().__init__()
        self.layer = self._make_layer(block, in_planes, out_planes, nb_layers, stride, dropRate)

    def _make_layer(self, block, in_planes, out_planes, nb_layers, stride, dropRate):
        layers = []
        for i in range(int(nb_layers)):
            layers.append(block(i == 0 and in_planes or out_planes, out_planes, i == 0 and stride or 1, dropRate))
        return nn.Sequential(*layers)

    def forward(self, x):
        return self.layer(x)


class WideResNet(nn.Module):
    def __init__(self, depth=34, num_classes=10, widen_factor=10, dropRate=0.0, base=16):
        super().__init__()
        nChannels = [base, base * widen_factor, 2 * base * widen_factor, 4 * base * widen_factor]
        assert (depth - 4) % 6 == 0
        n = (depth - 4) / 6
        block = BasicBlock
        self.conv1 = nn.Conv2d(3, nChannels[0], kernel_size=3, stride=1, padding=1, bias=False)
        self.block1 = NetworkBlock(n, nChannels[0], nChannels[1], block, 1, dropRate)
        self.block2 = NetworkBlock(n, nChannels[1], nChannels[2], block, 2, dropRate)
        self.block3 = NetworkBlock(n, nChannels[2], nChannels[3], block, 2, dropRate)
        self.bn1 = nn.BatchNorm2d(nChannels[3])
        self.relu = nn.ReLU(inplace=True)
        self.fc = nn.Linear(nChannels[3], num_classes)
        self.nChannels = nChannels[3]

    def forward(self, x):
        out = self.conv1(x)
        out = self.block1(out)
        out = self.block2(out)
        out = self.block3(out)
        out = self.relu(self.bn1(out))
        out = F.avg_pool2d(out, 8)
        out = out.view(-1, self.nChannels)
        return self.fc(out)


class Normalized(nn.Module):
    """(x − mean)/std before the network, RobustBench style; no state-dict entries."""

    def __init__(self, net, mean, std):
        super().__init__()
        self.net = net
        self.mean = torch.tensor(mean).view(1, 3, 1, 1)
        self.std = torch.tensor(std).view(1, 3, 1, 1)

    def forward(self, x):
        return self.net((x - self.mean.to(x.dtype)) / self.std.to(x.dtype))


def counts(model):
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for b in model.buffers())
    keys = list(model.state_dict().keys())
    return {"params": params, "buffers": buffers, "keys": keys}


def trained_looking(model, seed):
    """Running statistics and affine parameters away from their defaults, as after training."""
    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(3):
            x = torch.rand(8, 3, 32, 32, generator=g) * 1.5 - 0.2
            model(x)
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.weight.copy_(1.0 + 0.3 * torch.randn(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    model.eval()


def bn_layers(net):
    return [(name, m) for name, m in net.named_modules() if isinstance(m, nn.BatchNorm2d)]


def write_model(name, net, model, seed):
    """`net` is the network whose state dict is saved, `model` what is evaluated (net, or net
    behind a normalisation)."""
    state = {k: v.detach().clone().contiguous() for k, v in net.state_dict().items()}
    save_file(state, os.path.join(OUT, f"{name}.safetensors"))
    torch.save(
        {
            "state_dict": {"module." + k: v for k, v in state.items()},
            "test_robust_acc": 0.5,
            "test_robust_loss": 1.25,
            "test_loss": 0.75,
            "test_acc": 0.8,
            "epoch": 3,
        },
        os.path.join(OUT, f"{name}.pt"),
    )

    g = torch.Generator().manual_seed(seed)
    # Pixels as CIFAR stores them (bytes), so the file stays small and both sides compute the
    # same f32 inputs (byte / 255).
    x_u8 = torch.randint(0, 256, (4, 3, 32, 32), generator=g, dtype=torch.uint8)
    x = x_u8.float() / 255
    y = torch.randint(0, 10, (4,), generator=g)
    expected = {"input_u8": x_u8, "labels": y.clone()}

    model64 = model.double()
    model64.eval()
    with torch.no_grad():
        logits = model64(x.double())
        expected["eval_logits"] = logits
        expected["eval_loss"] = F.cross_entropy(logits, y).reshape(1)

        # One train-mode forward from the saved state: batch statistics, PyTorch's update
        # (momentum 0.1, unbiased variance into running_var).
        model64.train()
        expected["train_logits"] = model64(x.double())
        for bn_name, m in bn_layers(net):
            expected[f"train.{bn_name}.running_mean"] = m.running_mean.clone()
            expected[f"train.{bn_name}.running_var"] = m.running_var.clone()
        net.load_state_dict({k: v.double() if v.is_floating_point() else v for k, v in state.items()})

        # Re-estimation from scratch: momentum=None is PyTorch's cumulative average.
        batches_u8 = [torch.randint(0, 256, (6, 3, 32, 32), generator=g, dtype=torch.uint8) for _ in range(3)]
        for i, b in enumerate(batches_u8):
            expected[f"recompute_batch_u8.{i}"] = b
        batches = [b.float() / 255 for b in batches_u8]
        for _, m in bn_layers(net):
            m.reset_running_stats()
            m.momentum = None
        model64.train()
        for b in batches:
            model64(b.double())
        for bn_name, m in bn_layers(net):
            expected[f"recompute.{bn_name}.running_mean"] = m.running_mean.clone()
            expected[f"recompute.{bn_name}.running_var"] = m.running_var.clone()
    save_file(
        {k: v.contiguous() for k, v in expected.items()},
        os.path.join(OUT, f"{name}_expected.safetensors"),
    )
    print(f"{name}: {counts(net)['params']} params, eval loss {expected['eval_loss'].item():.6f}")


def main():
    os.makedirs(OUT, exist_ok=True)
    torch.manual_seed(0)

    preact = PreActResNet18(width=4)
    trained_looking(preact, 1)
    write_model("preact_w4", preact, preact, 2)

    torch.manual_seed(1)
    wrn = WideResNet(depth=16, widen_factor=2, base=4)
    normalized = Normalized(wrn, CIFAR_MEAN, CIFAR_STD)
    trained_looking(normalized, 3)
    write_model("wrn16_2_b4", wrn, normalized, 4)

    full = {
        "preact-resnet18": counts(PreActResNet18()),
        "wrn-28-10": counts(WideResNet(depth=28, widen_factor=10)),
        "wrn-34-10": counts(WideResNet(depth=34, widen_factor=10)),
    }
    with open(os.path.join(OUT, "keys.json"), "w") as f:
        json.dump(full, f, indent=0)
        f.write("\n")
    for name, c in full.items():
        print(f"{name}: {c['params']:,} parameters, {c['buffers']:,} buffer values, {len(c['keys'])} keys")
    total = sum(os.path.getsize(os.path.join(OUT, f)) for f in os.listdir(OUT))
    print(f"{OUT}: {total:,} bytes", file=sys.stderr)


if __name__ == "__main__":
    main()

#!/usr/bin/env python3
"""Checks that an `advland export` file follows PyTorch's conventions, with the standard library only.

It reads the safetensors file by hand (8-byte header length, JSON header, little-endian data).
It then runs the CNN the way PyTorch defines its layers: conv weight [out, in, kh, kw],
Linear weight [out, in] with y = x W^T + b, max-pool 2x2 with floor, and flatten in (C, H, W)
order. The mean cross-entropy it computes on the bundled test images must equal the clean loss
in advland's eval report.

    advland train --epochs 1 --train-subset 500 --out runs/check
    advland export --checkpoint runs/check/checkpoints/epoch-0001 --out /tmp/cnn.safetensors
    advland eval --checkpoint runs/check/checkpoints/epoch-0001 --test-subset 50 --out /tmp/eval.json
    python3 bench/pytorch_layout_check.py /tmp/cnn.safetensors /tmp/eval.json 50
"""
import gzip
import json
import math
import struct
import sys
from pathlib import Path

ASSETS = Path(__file__).resolve().parent.parent / "crates/data/assets/fashion-mnist-subset"


def read_safetensors(path):
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    data = raw[8 + n :]
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        assert info["dtype"] == "F32", name
        a, b = info["data_offsets"]
        values = struct.unpack(f"<{(b - a) // 4}f", data[a:b])
        out[name] = (info["shape"], values)
    return out


def read_idx(path):
    raw = gzip.decompress(Path(path).read_bytes())
    magic, n = struct.unpack(">II", raw[:8])
    if magic == 0x803:
        h, w = struct.unpack(">II", raw[8:16])
        return [[v / 255.0 for v in raw[16 + i * h * w : 16 + (i + 1) * h * w]] for i in range(n)], (h, w)
    return list(raw[8 : 8 + n]), None


def conv3x3_relu(x, c_in, h, w, weight, bias, c_out):
    ho, wo = h - 2, w - 2
    out = [0.0] * (c_out * ho * wo)
    for o in range(c_out):
        for i in range(ho):
            for j in range(wo):
                s = bias[o]
                for c in range(c_in):
                    for ki in range(3):
                        row = (c * h + i + ki) * w + j
                        wbase = ((o * c_in + c) * 3 + ki) * 3
                        s += x[row] * weight[wbase] + x[row + 1] * weight[wbase + 1] + x[row + 2] * weight[wbase + 2]
                out[(o * ho + i) * wo + j] = s if s > 0 else 0.0
    return out, ho, wo


def maxpool2(x, c, h, w):
    ho, wo = h // 2, w // 2
    return [
        max(x[(k * h + 2 * i + a) * w + 2 * j + b] for a in (0, 1) for b in (0, 1))
        for k in range(c)
        for i in range(ho)
        for j in range(wo)
    ], ho, wo


def main():
    weights_path, report_path, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    t = read_safetensors(weights_path)
    images, (h, w) = read_idx(ASSETS / "t10k-images-idx3-ubyte.gz")
    labels, _ = read_idx(ASSETS / "t10k-labels-idx1-ubyte.gz")
    total = len(images)
    (c1o, c1i, _, _), w1 = t["conv1.weight"]
    _, b1 = t["conv1.bias"]
    (c2o, c2i, _, _), w2 = t["conv2.weight"]
    _, b2 = t["conv2.bias"]
    (k, f), wf = t["fc1.weight"]
    _, bf = t["fc1.bias"]
    loss = 0.0
    for idx in [(i * total) // n for i in range(n)]:
        x, hh, ww = images[idx], h, w
        x, hh, ww = conv3x3_relu(x, c1i, hh, ww, w1, b1, c1o)
        x, hh, ww = maxpool2(x, c1o, hh, ww)
        x, hh, ww = conv3x3_relu(x, c2i, hh, ww, w2, b2, c2o)
        x, hh, ww = maxpool2(x, c2o, hh, ww)
        assert len(x) == f, (len(x), f)
        logits = [bf[o] + sum(wf[o * f + q] * x[q] for q in range(f)) for o in range(k)]
        m = max(logits)
        loss += m + math.log(sum(math.exp(z - m) for z in logits)) - logits[labels[idx]]
    loss /= n
    expected = json.loads(Path(report_path).read_text())["data"]["result"]["clean"]["loss"]
    print(f"PyTorch-convention loss {loss:.7f}  advland {expected:.7f}  difference {abs(loss - expected):.2e}")
    sys.exit(0 if abs(loss - expected) <= 1e-5 * max(1.0, abs(expected)) else 1)


if __name__ == "__main__":
    main()

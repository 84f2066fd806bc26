#!/usr/bin/env python3
"""Writes tests/fixtures/cifar/: tiny CIFAR-10 / CIFAR-100 in both distributed versions, the
oracle of crates/data/tests/cifar_python.rs.

    bench/.venv/bin/python bench/make_cifar_fixtures.py   (needs numpy only)

The python version (what torchvision downloads) was written by Python 2's cPickle, protocol 2:
a dict with `str` (byte string) keys, `data` a uint8 numpy array [n, 3072] pickled through
`numpy.core.multiarray._reconstruct` + BUILD, labels as a list of ints. Python 3 cannot write
Python 2 `str`s (it pickles bytes as `_codecs.encode(...)`), so `Py2Pickler` below emits the
opcodes cPickle emits, byte by byte; every file is then read back with Python 3's
`pickle.load(encoding='bytes')` and `encoding='latin1'` (what torchvision uses) and compared.
The same images go into the binary version's records, so the Rust test checks that both
versions load to the same dataset. `py3/` holds one batch re-dumped by Python 3 with protocols
2 and 4, which some mirrors ship.

  cifar-10-batches-py/   data_batch_1..5, test_batch (3 images each), batches.meta
  cifar-10-batches-bin/  data_batch_1..5.bin, test_batch.bin
  cifar-100-python/      train (4 images), test (3), meta
  cifar-100-binary/      train.bin, test.bin
  py3/                   test_batch.protocol2, test_batch.protocol4 (CIFAR-10 test_batch)
"""
import pickle
import struct
import sys
from pathlib import Path

import numpy as np

OUT = Path(__file__).resolve().parent.parent / "tests/fixtures/cifar"
BATCHSIZE = 1000  # cPickle writes APPENDS / SETITEMS in batches of this many


class Py2Pickler:
    """The subset of Python 2.7 cPickle.dump(obj, f, protocol=2) that CIFAR's files use."""

    def __init__(self):
        self.out = bytearray(b"\x80\x02")
        self.memo = 0

    def put(self):
        self.memo += 1
        if self.memo < 256:
            self.out += b"q" + bytes([self.memo])
        else:
            self.out += b"r" + struct.pack("<I", self.memo)

    def str_(self, value):
        data = value if isinstance(value, bytes) else value.encode("ascii")
        if len(data) < 256:
            self.out += b"U" + bytes([len(data)]) + data
        else:
            self.out += b"T" + struct.pack("<i", len(data)) + data
        self.put()

    def int_(self, value):
        if 0 <= value < 256:
            self.out += b"K" + bytes([value])
        elif 0 <= value < 65536:
            self.out += b"M" + struct.pack("<H", value)
        else:
            self.out += b"J" + struct.pack("<i", value)

    def global_(self, module, name):
        self.out += b"c" + module.encode() + b"\n" + name.encode() + b"\n"
        self.put()

    def save(self, value):
        if isinstance(value, dict):
            self.out += b"}"
            self.put()
            items = list(value.items())
            for start in range(0, len(items), BATCHSIZE):
                batch = items[start:start + BATCHSIZE]
                if len(batch) > 1:
                    self.out += b"("
                for k, v in batch:
                    self.save(k)
                    self.save(v)
                self.out += b"u" if len(batch) > 1 else b"s"
        elif isinstance(value, list):
            self.out += b"]"
            self.put()
            for start in range(0, len(value), BATCHSIZE):
                batch = value[start:start + BATCHSIZE]
                if len(batch) > 1:
                    self.out += b"("
                for v in batch:
                    self.save(v)
                self.out += b"e" if len(batch) > 1 else b"a"
        elif isinstance(value, (bytes, str)):
            self.str_(value)
        elif isinstance(value, int):
            self.int_(value)
        elif isinstance(value, np.ndarray):
            self.ndarray(value)
        else:
            raise TypeError(type(value))

    def ndarray(self, array):
        assert array.dtype == np.uint8 and array.flags["C_CONTIGUOUS"]
        self.global_("numpy.core.multiarray", "_reconstruct")
        self.global_("numpy", "ndarray")
        self.int_(0)
        self.out += b"\x85"  # TUPLE1
        self.put()
        self.str_("b")
        self.out += b"\x87"  # TUPLE3
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("  # the state: (1, shape, dtype, is_fortran, raw bytes)
        self.int_(1)
        for d in array.shape:
            self.int_(d)
        self.out += {1: b"\x85", 2: b"\x86", 3: b"\x87"}[array.ndim]
        self.put()
        self.global_("numpy", "dtype")
        self.str_("u1")
        self.int_(0)
        self.int_(1)
        self.out += b"\x87"
        self.put()
        self.out += b"R"
        self.put()
        self.out += b"("
        self.int_(3)
        self.str_("|")
        self.out += b"NNN" + b"J" + struct.pack("<i", -1) + b"J" + struct.pack("<i", -1)
        self.int_(0)
        self.out += b"t"
        self.put()
        self.out += b"b"  # BUILD the dtype
        self.out += b"\x89"  # NEWFALSE: C order
        self.str_(array.tobytes())
        self.out += b"t"
        self.put()
        self.out += b"b"  # BUILD the array

    def dumps(self, value):
        self.save(value)
        return bytes(self.out + b".")


def write_py2(path, value):
    path.write_bytes(Py2Pickler().dumps(value))
    for encoding in ("bytes", "latin1"):
        with open(path, "rb") as f:
            back = pickle.load(f, encoding=encoding)
        # encoding='bytes' gives Python 2 strs back as bytes, 'latin1' as str.
        as_read = (lambda v: as_bytes(v)) if encoding == "bytes" else (lambda v: v)
        for k, v in value.items():
            got = back[as_read(k)]
            if isinstance(v, np.ndarray):
                assert got.dtype == np.uint8 and np.array_equal(got, v), (path, k)
            else:
                assert got == as_read(v), (path, k, encoding)


def as_bytes(value):
    if isinstance(value, str):
        return value.encode()
    if isinstance(value, list):
        return [as_bytes(v) for v in value]
    return value


def images(rng, n):
    return rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)


def main():
    rng = np.random.default_rng(20261204)
    for sub in ("cifar-10-batches-py", "cifar-10-batches-bin", "cifar-100-python", "cifar-100-binary", "py3"):
        (OUT / sub).mkdir(parents=True, exist_ok=True)

    batches = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for name in batches:
        data = images(rng, 3)
        labels = [int(v) for v in rng.integers(0, 10, size=3)]
        batch = {
            "batch_label": f"{name} of the advland fixture",
            "labels": labels,
            "data": data,
            "filenames": [f"{name}_{i:06d}.png" for i in range(3)],
        }
        write_py2(OUT / "cifar-10-batches-py" / name, batch)
        records = b"".join(bytes([label]) + row.tobytes() for label, row in zip(labels, data))
        (OUT / "cifar-10-batches-bin" / f"{name}.bin").write_bytes(records)
        if name == "test_batch":
            for protocol in (2, 4):
                py3 = {k.encode(): (v.encode() if isinstance(v, str) else v) for k, v in batch.items()}
                with open(OUT / "py3" / f"test_batch.protocol{protocol}", "wb") as f:
                    pickle.dump(py3, f, protocol=protocol)
    write_py2(OUT / "cifar-10-batches-py" / "batches.meta", {
        "num_cases_per_batch": 3,
        "label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"],
        "num_vis": 3072,
    })

    for name, n in (("train", 4), ("test", 3)):
        data = images(rng, n)
        fine = [int(v) for v in rng.integers(0, 100, size=n)]
        coarse = [int(v) for v in rng.integers(0, 20, size=n)]
        write_py2(OUT / "cifar-100-python" / name, {
            "filenames": [f"{name}_{i:06d}.png" for i in range(n)],
            "batch_label": f"{name} of the advland fixture",
            "fine_labels": fine,
            "coarse_labels": coarse,
            "data": data,
        })
        records = b"".join(bytes([c, f]) + row.tobytes() for c, f, row in zip(coarse, fine, data))
        (OUT / "cifar-100-binary" / f"{name}.bin").write_bytes(records)
    write_py2(OUT / "cifar-100-python" / "meta", {
        "fine_label_names": ["apple", "aquarium_fish"],
        "coarse_label_names": ["aquatic_mammals", "fish"],
    })
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"make_cifar_fixtures: wrote {OUT} ({total} bytes)", file=sys.stderr)


if __name__ == "__main__":
    main()

"""``advland export-grid``: numpy reads the files back exactly, byte for byte as np.save."""

from __future__ import annotations

import io

import numpy as np
import pytest

import advland


def test_npy_and_csv_read_back_exactly(runs, tmp_path):
    s = runs["surface"]
    out = tmp_path / "grid"
    assert advland.run("export-grid", s.path, format="npy,csv", out=out) is None
    for name, want in [
        ("x", s.x),
        ("y", s.y),
        ("clean-loss", s.loss("clean")),
        ("clean-accuracy", s.accuracy("clean")),
        ("adversarial-loss", s.loss("adversarial")),
        ("adversarial-accuracy", s.accuracy("adversarial")),
    ]:
        got = np.load(out / f"{name}.npy", allow_pickle=False)
        assert got.dtype == np.float64 and got.shape == want.shape, name
        assert np.array_equal(got, want), name
        csv = np.loadtxt(out / f"{name}.csv", delimiter=",", dtype=np.float64)
        assert np.array_equal(csv, want), f"{name}.csv"
        # numpy's own writer gives the same bytes (header, padding, data).
        buf = io.BytesIO()
        np.save(buf, want)
        assert (out / f"{name}.npy").read_bytes() == buf.getvalue(), name

    g = advland.load_grid(out)
    assert np.array_equal(g.x, s.x) and np.array_equal(g.arrays["clean-loss"], s.loss("clean"))
    assert g.sidecar["shape"] == [3, 5]
    assert g.sidecar["source"]["checkpoint_hash"] == s.checkpoint_hash
    with pytest.raises(ValueError, match="export-grid sidecar"):
        advland.load(out / "grid.json")


def test_shards_are_refused(runs, tmp_path):
    with pytest.raises(advland.AdvlandError, match="advland merge") as err:
        advland.run("export-grid", runs["shard"].path, out=tmp_path / "g")
    assert "5 of the grid's 15 points" in err.value.message
    assert not (tmp_path / "g").exists()

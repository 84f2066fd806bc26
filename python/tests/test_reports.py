"""advland.load and the typed reports, against reports the binary wrote."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import advland


def test_run_returns_typed_reports(runs):
    assert isinstance(runs["train"], advland.TrainReport)
    assert isinstance(runs["surface"], advland.SurfaceReport)
    assert isinstance(runs["hessian"], advland.SharpnessReport)
    assert isinstance(runs["eval"], advland.EvalReport)
    assert isinstance(runs["flatness"], advland.FlatnessReport)
    assert isinstance(runs["compare"], advland.CompareReport)
    # A report run() wrote to a temporary file keeps no path; one with out= keeps it.
    assert runs["hessian"].path is None
    assert runs["surface"].path == runs["dir"] / "surface.json"


def test_train_log(runs):
    t = runs["train"]
    assert [e.epoch for e in t.epochs] == [1, 2]
    assert t.checkpoints[-1] == (2, "checkpoints/epoch-0002")
    assert [r.attack.label for r in t.epochs[0].test.robust] == ["linf:0.1"]
    assert t.meta.command[:2] == ["advland", "train"]
    assert t.parameters > 0
    # Constant ε and the default per-epoch cosine rate: one radius, one rate per epoch.
    assert [e.eps for e in t.epochs] == [(0.1, 0.1), (0.1, 0.1)]
    assert [e.lr_last for e in t.epochs] == [e.lr for e in t.epochs]
    # The held-out split is evaluated under the test's attacks, on its own examples.
    v = t.epochs[0].validation
    assert v.clean.examples == 60 and [r.attack.label for r in v.robust] == ["linf:0.1"]
    frame = t.to_pandas()
    assert frame["validation_linf:0.1_accuracy"].tolist() == [
        e.validation.robust[0].metrics.accuracy for e in t.epochs
    ]


def test_train_log_without_schedule_fields_still_loads(runs, tmp_path):
    raw = json.loads((runs["dir"] / "run" / "train.json").read_text())
    for e in raw["data"]["epochs"]:
        del e["lr_last"], e["eps"], e["validation"]
    old = tmp_path / "train.json"
    old.write_text(json.dumps(raw))
    t = advland.load(old)
    assert [(e.lr_last, e.eps, e.validation) for e in t.epochs] == [(None, None, None)] * 2
    assert t.epochs[0].lr == runs["train"].epochs[0].lr


def test_surface_grids(runs):
    s = runs["surface"]
    assert s.shape == (3, 5) and s.complete and s.objectives == ["clean", "adversarial"]
    assert s.x.tolist() == [-1.0, -0.5, 0.0, 0.5, 1.0]
    assert s.y.tolist() == [-0.5, 0.0, 0.5]
    raw = json.loads(Path(s.path).read_text())["data"]["values"][1]
    loss = s.loss("adversarial")
    assert loss.shape == (3, 5)
    # Row-major, y outer: the report's k-th value is at [k // nx, k % nx].
    assert loss.ravel().tolist() == raw["loss"]
    assert s.accuracy("adversarial").ravel().tolist() == raw["accuracy"]
    assert s.loss().ravel().tolist() == s.loss("clean").ravel().tolist()
    assert s.attack.label == "linf:0.1"
    with pytest.raises(KeyError, match="adversarial-frozen"):
        s.loss("adversarial-frozen")


def test_shard_missing_points_are_nan(runs):
    s = runs["shard"]
    assert s.shard == (1, 3) and not s.complete
    grid = s.loss("clean").ravel()
    held = set(s.points)
    assert all(math.isnan(v) == (k not in held) for k, v in enumerate(grid))


def test_sharpness(runs):
    h = runs["hessian"]
    assert h.estimator == "hessian" and h.objective.kind == "clean"
    assert h.eigenvalues.shape == (2,)
    assert abs(h.eigenvalues[0]) >= abs(h.eigenvalues[1])
    kappa = runs["lipschitz"].kappa_max
    assert set(kappa) == {"adversarial", "adversarial-frozen"}
    assert all(v > 0 for v in kappa.values())
    with pytest.raises(ValueError, match="a `lipschitz` estimate, not `hessian`"):
        _ = runs["lipschitz"].eigenvalues


def test_eval_and_flatness(runs):
    e = runs["eval"].result
    assert [r.attack.label for r in e.robust] == ["linf:0.1", "l2:1"]
    assert e.worst_case_accuracy == min([e.clean.accuracy] + [r.metrics.accuracy for r in e.robust])
    f = runs["flatness"]
    assert set(f.measures) == {"clean", "adversarial"}
    q = f.measures["adversarial"]["grad_l2"].quantiles
    assert q.shape == (5,) and np.all(np.diff(q) >= 0)
    assert f.curves and f.curves[0].t.shape == f.curves[0].mean_loss.shape == (5,)


def test_perturbation_and_connectivity(runs, pandas):
    p = runs["perturbation"]
    assert isinstance(p, advland.PerturbationReport)
    assert p.gradient_examples == 4 and p.adversarial_gradients.vectors == 4
    assert -1.0 <= p.perturbations.mean <= 1.0
    assert list(p.to_pandas()["step"]) == [0, 1, 2]
    b = runs["bound"]
    assert isinstance(b, advland.BoundReport)
    assert b.examples == 6 and b.attack.norm == "l2"
    assert b.motion_check["pairs"] == 2 * b.concave
    rows = b.to_pandas()
    assert len(rows) == 6 and "mu" in rows.columns and "face_changes" in rows.columns
    cal = runs["calibrate"]
    assert cal.kind == "calibrate" and cal.meta.config["norm"] == "l2"
    c = runs["connectivity"]
    assert isinstance(c, advland.ConnectivityReport)
    assert c.objective == "clean" and c.attack is not None
    assert list(c.t) == [0.0, 0.5, 1.0]
    assert c.loss("curve")[0] == c.loss("line")[0]
    assert c.loss("line", adversarial=True).shape == (3,)
    rows = c.to_pandas()
    assert len(rows) == 6 and "adversarial_accuracy" in rows.columns


def test_to_pandas_rows(runs, pandas):
    s = runs["surface"].to_pandas()
    assert len(s) == 15 and list(s.columns[:4]) == ["i", "j", "x", "y"]
    assert "adversarial_accuracy" in s.columns
    assert s.loc[8, "x"] == 0.5 and s.loc[8, "y"] == 0.0  # k = 8: i = 3, j = 1
    t = runs["train"].to_pandas()
    assert list(t["epoch"]) == [1, 2] and "test_linf:0.1_accuracy" in t.columns
    assert len(runs["eval"].to_pandas()) == 3
    assert len(runs["hessian"].to_pandas()) == 2
    assert set(runs["lipschitz"].to_pandas()["probe"]) == {"random", "gradient_direction"}
    assert len(runs["flatness"].to_pandas()) > 10
    c = runs["compare"].to_pandas()
    assert list(c["epoch"]) == [1, 2] and list(c.columns[:2]) == ["run", "epoch"]
    with pytest.raises(NotImplementedError, match="no table form"):
        advland.Report.to_pandas(runs["train"])


@pytest.mark.parametrize(
    "text, message",
    [
        ('{"a": 1}', "bad.json: not an advland report"),
        ("{", "not JSON"),
        ('{"schema_version": 2, "kind": "eval", "meta": {}, "data": {}}', "schema_version 2"),
        (
            '{"schema_version": 1, "kind": "eval", "meta": {}, "data": {}}',
            "does not match the `eval` report schema",
        ),
    ],
)
def test_load_refuses_what_is_not_a_report(tmp_path, text, message):
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    with pytest.raises(ValueError, match=message):
        advland.load(bad)

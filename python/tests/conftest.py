"""Reports the binary writes, made once per session on a tiny MLP (seconds), for the tests.

The tests exercise the *installed* package: run them from a venv where the wheel is
installed (.ci/run does), or point ``ADVLAND_BIN`` at a built binary and put ``python/``
on ``PYTHONPATH`` (an absolute path: the README test runs elsewhere) while developing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Dict

import pytest

import advland


def pytest_report_header() -> str:
    package = Path(advland.__file__).parent
    return f"advland {advland.__version__} from {package}, binary {advland.find_binary()}"


@pytest.fixture(scope="session")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """A trained L∞-AT MLP and one report of each typed kind, keyed by name."""
    d = tmp_path_factory.mktemp("runs")
    attack = {"norm": "linf", "eps": 0.1, "steps": 2}
    out: Dict[str, Any] = {"dir": d}
    out["train"] = advland.run(
        "train",
        out=d / "run",
        model="mlp",
        hidden=16,
        epochs=2,
        train_subset=300,
        test_subset=100,
        eval_subset=50,
        validation_subset=60,
        quiet=True,
        **attack,
    )
    surface = dict(
        checkpoint=d / "run",
        objective=["clean", "adversarial"],
        x="-1:1:5",
        y="-0.5:0.5:3",
        subset=40,
        steps=2,
        quiet=True,
    )
    out["surface"] = advland.run("surface", out=d / "surface.json", **surface)
    out["shard"] = advland.run("surface", out=d / "shard.json", shard="1/3", **surface)
    small = dict(checkpoint=d / "run", subset=32, quiet=True)
    out["hessian"] = advland.run(
        "sharpness", "hessian", objective="clean", k=2, max_iter=10, **small
    )
    out["lipschitz"] = advland.run(
        "sharpness", "lipschitz", radii="1e-3,1e-2", directions=1, ascent_steps=1, **small
    )
    out["eval"] = advland.run(
        "eval",
        checkpoint=d / "run",
        test_subset=50,
        attack=["linf:0.1:3", "l2:1.0:3"],
        quiet=True,
    )
    out["flatness"] = advland.run(
        "flatness",
        steps=3,
        power_iterations=5,
        trace_samples=2,
        curve_points=5,
        random_directions=1,
        **small,
    )
    out["perturbation"] = advland.run(
        "perturbation", out=d / "perturbation.json", steps=2, gradient_examples=4, **small
    )
    out["bound"] = advland.run(
        "bound",
        out=d / "bound.json",
        norm="l2",
        eps=0.5,
        steps=3,
        lanczos_steps=3,
        directions=2,
        **{**small, "subset": 6},
    )
    out["calibrate"] = advland.run("calibrate", steps=2, max_evaluations=3, **small)
    out["connectivity"] = advland.run(
        "connect",
        checkpoint=d / "run/checkpoints/epoch-0001",
        to=d / "run/checkpoints/epoch-0002",
        out=d / "connectivity.json",
        epochs=1,
        points=3,
        subset=32,
        train_subset=64,
        scan_adversarial=True,
        steps=2,
        quiet=True,
    )
    out["compare"] = advland.run("compare", d / "run", out=d / "cmp", no_figures=True)
    return out


@pytest.fixture
def pandas() -> Any:
    """pandas, or a skip that says what went untested (CI installs pandas)."""
    try:
        import pandas
    except ImportError:
        pytest.skip(
            "SKIPPED: pandas is not installed, so to_pandas() is untested (pip install pandas)"
        )
    return pandas

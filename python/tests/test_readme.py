"""The README's Python example runs as written (headless matplotlib)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "README.md"
MARKER = "<!-- python-example: run by python/tests/test_readme.py -->"


def example() -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(re.escape(MARKER) + r"\s*```python\n(.*?)```", text, re.S)
    assert found, f"{README}: no ```python block after {MARKER}"
    return found.group(1)


def test_readme_example_is_about_15_lines():
    code = [line for line in example().splitlines() if line.strip() and not line.startswith("#")]
    assert len(code) <= 18, f"{len(code)} lines"


def test_readme_example_runs(tmp_path):
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        pytest.skip(
            "SKIPPED: matplotlib is not installed, so the README example did not run "
            "(pip install matplotlib)"
        )
    env = {**os.environ, "MPLBACKEND": "Agg"}
    done = subprocess.run(
        [sys.executable, "-c", example()], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert "top Hessian eigenvalues" in done.stdout
    png = tmp_path / "surface.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "runs/py/surface.json").is_file()

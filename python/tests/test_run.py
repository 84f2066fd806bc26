"""advland.run / call, the executable on PATH and ``python -m advland``."""

from __future__ import annotations

import subprocess
import sys

import pytest

import advland


def test_binary_and_module_report_the_package_version():
    binary = subprocess.run(
        [advland.find_binary(), "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    module = subprocess.run(
        [sys.executable, "-m", "advland", "--version"], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert binary == module and binary.startswith("advland ")
    if advland.__version__ != "unknown":
        assert binary == f"advland {advland.__version__}"


def test_errors_raise_with_advlands_message(tmp_path):
    with pytest.raises(advland.AdvlandError) as err:
        advland.run("surface", checkpoint=tmp_path / "missing")
    assert err.value.returncode == 1
    assert "missing" in err.value.message and "does not exist" in err.value.message
    assert not err.value.message.startswith("error:")
    with pytest.raises(advland.AdvlandError, match="--no-such-flag"):
        advland.run("eval", no_such_flag=3)


def test_directory_commands_need_out():
    with pytest.raises(ValueError, match=r"needs out=DIR.*train.json"):
        advland.run("train", epochs=1)


def test_flags_spell_like_the_cli(runs, tmp_path):
    # A list repeats the flag, True is a bare flag, False and None vanish.
    stdout = advland.call(
        ["eval", "--checkpoint", str(runs["dir"] / "run"), "--test-subset", "10", "-q"]
    )
    assert '"kind": "eval"' in stdout
    from advland._run import _flag_args

    assert _flag_args(
        {
            "train_subset": 2,
            "attack": ["linf:0.1", "l2:1"],
            "quiet": True,
            "resume": False,
            "seed": None,
            "out": tmp_path,
        }
    ) == [
        "--train-subset",
        "2",
        "--attack",
        "linf:0.1",
        "--attack",
        "l2:1",
        "--quiet",
        "--out",
        str(tmp_path),
    ]


def test_log_receives_advlands_output(runs, tmp_path):
    import io

    log = io.StringIO()
    advland.run("export-grid", runs["surface"].path, out=tmp_path / "g", log=log)
    assert "arrays" in log.getvalue()

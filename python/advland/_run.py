"""Running the ``advland`` executable and loading the report it writes."""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import IO, Any, Optional, Sequence

from advland._binary import find_binary
from advland._envelope import PathLike, Report
from advland._load import load

#: Commands whose ``--out`` is a directory, and the report file they write into it.
_DIRECTORY_REPORTS = {"train": "train.json", "demo": "demo.json", "compare": "compare.json"}
#: Commands whose ``--out`` is the report file itself.
_FILE_REPORTS = frozenset(
    {
        "eval",
        "sharpness",
        "flatness",
        "perturbation",
        "bound",
        "calibrate",
        "connect",
        "relate",
        "linear",
        "surface",
        "merge",
    }
)


class AdvlandError(RuntimeError):
    """``advland`` exited with an error.

    Attributes:
        message: advland's own message (its ``error: …`` lines, without the prefix).
        returncode: the exit code (1 for bad input, 2 for an internal error).
        command: the full command line that was run.
        stderr: everything advland wrote to stderr.
    """

    def __init__(self, message: str, returncode: int, command: Sequence[str], stderr: str):
        super().__init__(message)
        self.message = message
        self.returncode = returncode
        self.command = list(command)
        self.stderr = stderr


def _flag_args(flags: dict[str, Any]) -> list[str]:
    """``name=value`` pairs as advland flags (see :func:`run`)."""
    out: list[str] = []
    for name, value in flags.items():
        flag = "--" + name.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            out.append(flag)
        elif isinstance(value, (list, tuple)):
            for item in value:
                out += [flag, _text(item)]
        else:
            out += [flag, _text(value)]
    return out


def _text(value: Any) -> str:
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    return str(value)


def _error_message(stderr: str) -> str:
    """advland's message: its lines from the first ``error:`` on (clap adds usage lines)."""
    lines = stderr.splitlines()
    for i, line in enumerate(lines):
        if line.startswith("error:"):
            rest = [line[len("error:") :].strip(), *lines[i + 1 :]]
            return "\n".join(rest).strip()
    return stderr.strip() or "advland failed without a message"


def _pump(stream: IO[str], keep: list[str], log: Optional[IO[str]]) -> None:
    for line in stream:
        keep.append(line)
        if log is not None:
            log.write(line)
            log.flush()


def call(args: Sequence[str], log: Optional[IO[str]] = None) -> str:
    """Runs ``advland ARGS`` and returns its standard output.

    Args:
        args: the arguments after ``advland``.
        log: a text stream that receives advland's output (stdout and stderr) line by line as
            it comes, e.g. ``sys.stderr`` to follow a long training run; ``None`` keeps it
            quiet.

    Raises:
        AdvlandError: advland exited with a non-zero code; its message is the exception's.
        FileNotFoundError: no advland executable was found (see :func:`find_binary`).
    """
    command = [find_binary(), *args]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
        errors="replace",
    )
    out: list[str] = []
    err: list[str] = []
    # Two readers, so neither pipe can fill up and stall advland while the other is read.
    readers = [
        threading.Thread(target=_pump, args=(proc.stdout, out, log), daemon=True),
        threading.Thread(target=_pump, args=(proc.stderr, err, log), daemon=True),
    ]
    for r in readers:
        r.start()
    returncode = proc.wait()
    for r in readers:
        r.join()
    if returncode != 0:
        stderr = "".join(err)
        raise AdvlandError(_error_message(stderr), returncode, command, stderr)
    return "".join(out)


def run(
    command: str, *args: PathLike, log: Optional[IO[str]] = None, **flags: Any
) -> Optional[Report]:
    """Runs ``advland COMMAND ARGS --flag value …`` and returns the report it wrote.

    Flags are keyword arguments: ``train_subset=2000`` becomes ``--train-subset 2000``,
    ``True`` a bare ``--flag``, ``False``/``None`` nothing, and a list or tuple repeats the
    flag once per item (``attack=["linf:0.1", "l2:1.0"]``). Paths may be ``pathlib.Path``.

    The report is loaded (:func:`advland.load`) from ``out``: the file for ``eval``,
    ``sharpness``, ``flatness``, ``perturbation``, ``bound``, ``calibrate``, ``connect``,
    ``relate``, ``linear``, ``surface`` and ``merge`` (a temporary file, removed after
    loading, when ``out`` is not given); ``OUT/train.json``,
    ``OUT/demo.json`` or ``OUT/compare.json`` for ``train``, ``demo`` and ``compare``,
    which need ``out``. Other commands (``export``, ``import``, ``export-grid``, ``report``,
    ``experiment``) return ``None``.

    Example:
        >>> h = advland.run("sharpness", "hessian", checkpoint="runs/linf", k=5)  # doctest: +SKIP
        >>> h.eigenvalues  # doctest: +SKIP

    Args:
        command: the advland command (``"train"``, ``"surface"``, …).
        *args: positional arguments (``"hessian"`` of ``sharpness``, the inputs of ``merge``).
        log: a text stream that receives advland's output as it comes (see :func:`call`).
        **flags: the command's flags.

    Raises:
        AdvlandError: advland refused the input or failed; the message is advland's.
        ValueError: ``train``, ``demo`` or ``compare`` without ``out``.
    """
    argv = [command, *(_text(a) for a in args)]
    out = flags.get("out")
    if command in _DIRECTORY_REPORTS:
        if out is None:
            raise ValueError(
                f"advland.run({command!r}) needs out=DIR: the directory that holds "
                f"{_DIRECTORY_REPORTS[command]} afterwards"
            )
        call(argv + _flag_args(flags), log)
        return load(Path(_text(out)) / _DIRECTORY_REPORTS[command])
    if command in _FILE_REPORTS:
        if out is not None:
            call(argv + _flag_args(flags), log)
            return load(_text(out))
        with tempfile.TemporaryDirectory(prefix="advland-") as tmp:
            path = Path(tmp) / f"{command}.json"
            call(argv + _flag_args({**flags, "out": path}), log)
            report = load(path)
            report.path = None
            return report
    call(argv + _flag_args(flags), log)
    return None

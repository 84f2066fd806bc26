"""Finding the ``advland`` executable that this package was installed with."""

from __future__ import annotations

import os
import shutil
import sys
import sysconfig
from pathlib import Path

#: Environment variable naming an ``advland`` executable to use instead of the installed one
#: (a development build, e.g. ``target/debug/advland``).
BINARY_ENV = "ADVLAND_BIN"

_NAME = "advland.exe" if sys.platform == "win32" else "advland"


def _candidates() -> list[Path]:
    """Where a wheel puts the executable, most specific first."""
    places = []
    # The interpreter's own scripts directory: a venv's bin/, also when it is not on PATH
    # (a notebook kernel started from the venv's python).
    scripts = sysconfig.get_path("scripts")
    if scripts:
        places.append(Path(scripts))
    # `pip install --user`.
    user_scheme = "nt_user" if os.name == "nt" else "posix_user"
    try:
        user_scripts = sysconfig.get_path("scripts", scheme=user_scheme)
    except KeyError:
        user_scripts = None
    if user_scripts:
        places.append(Path(user_scripts))
    # `pip install --target DIR`: the package is DIR/advland and the scripts DIR/bin.
    places.append(Path(__file__).resolve().parent.parent / "bin")
    return [p / _NAME for p in places]


def find_binary() -> str:
    """The path of the ``advland`` executable.

    Looked up in this order: the ``ADVLAND_BIN`` environment variable, the scripts directory
    of the running interpreter (where ``pip install advland`` puts it), the user scripts
    directory, ``DIR/bin`` of ``pip install --target DIR``, then ``PATH``.

    Raises:
        FileNotFoundError: ``ADVLAND_BIN`` names no file, or no executable was found.
    """
    override = os.environ.get(BINARY_ENV)
    if override:
        if not Path(override).is_file():
            raise FileNotFoundError(f"{BINARY_ENV}={override}: no such file")
        return override
    for candidate in _candidates():
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate)
    on_path = shutil.which("advland")
    if on_path:
        return on_path
    raise FileNotFoundError(
        "the advland executable was not found next to this Python (sysconfig scripts "
        f"directory) or on PATH; reinstall with `pip install advland`, or set {BINARY_ENV} "
        "to a built binary"
    )

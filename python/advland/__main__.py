"""``python -m advland ARGS``: runs the installed ``advland`` executable with ARGS."""

from __future__ import annotations

import os
import subprocess
import sys

from advland._binary import find_binary


def main() -> None:
    """Replaces this process by ``advland`` (POSIX) or runs it and exits with its code."""
    try:
        binary = find_binary()
    except FileNotFoundError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(1)
    argv = [binary, *sys.argv[1:]]
    if sys.platform == "win32":
        sys.exit(subprocess.run(argv, check=False).returncode)
    os.execv(binary, argv)


if __name__ == "__main__":
    main()

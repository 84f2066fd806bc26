#!/usr/bin/env bash
# Creates bench/.venv (gitignored) with the Python side of the comparison: torch (CPU),
# torchattacks, safetensors, numpy. Optional for users; only `just bench` needs it.
#
# torch: the CPU-only wheel index is tried first (small, no CUDA). Where that host cannot be
# reached, PyPI's `torch` is installed instead; on Linux x86-64 it pulls the CUDA runtime
# wheels (several GB), which the CPU benchmark never loads.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
py="${PYTHON:-python3}"

if [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import torch, torchattacks, safetensors, numpy' 2>/dev/null; then
    echo "bench/setup_venv.sh: $venv already has torch, torchattacks, safetensors, numpy" >&2
    exit 0
fi

echo "bench/setup_venv.sh: installing the Python benchmark dependencies into $venv" >&2
"$py" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --disable-pip-version-check)

"${pip[@]}" numpy safetensors >&2
if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
    if "${pip[@]}" --timeout 20 --retries 1 torch --index-url https://download.pytorch.org/whl/cpu >&2; then
        echo "bench/setup_venv.sh: installed the CPU-only torch wheel" >&2
    else
        echo "bench/setup_venv.sh: the CPU wheel index is unreachable; installing torch from PyPI (includes CUDA wheels, several GB)" >&2
        "${pip[@]}" torch >&2
    fi
fi
# torchattacks declares scipy, tqdm, requests and torchvision; only its PGD/PGDL2 are used.
"${pip[@]}" torchattacks >&2
"$venv/bin/python" -c 'import torch, torchattacks; print("torch", torch.__version__, "torchattacks", torchattacks.__version__)' >&2

#!/usr/bin/env bash
# Makes bench/pytorch/.venv with CPU PyTorch and numpy for ddp_bench.py. Safe to run again:
# an existing venv with torch and numpy is left as it is.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="$here/.venv"
python="${PYTHON:-python3}"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
py="$venv/bin/python"
pip=("$py" -m pip install --quiet --disable-pip-version-check)

# A wheel like torch-X+cpu-*.whl in a local folder that pip's find-links names (this project's
# machine keeps one in /opt/wheels); prints nothing when there is none.
local_cpu_wheel() {
    local links dir
    links="$("$py" -m pip config get global.find-links 2>/dev/null || true)"
    for dir in $links; do
        [ -d "$dir" ] && ls -1 "$dir"/torch-*+cpu-*.whl 2>/dev/null | sort -V | tail -1
    done | tail -1
}

if ! "$py" -c 'import torch' 2>/dev/null; then
    # 1. PyTorch's CPU-only index (it mirrors torch's dependencies too).
    # 2. A CPU wheel already on disk; its dependencies come from PyPI.
    # 3. Plain PyPI: on Linux x86_64 that is the CUDA build, ~5 GB with its nvidia-* wheels,
    #    which runs on CPU all the same.
    if "${pip[@]}" --retries 0 --timeout 15 torch --index-url https://download.pytorch.org/whl/cpu; then
        :
    else
        echo "setup.sh: the CPU wheel index is unreachable" >&2
        wheel="$(local_cpu_wheel)"
        if [ -n "$wheel" ] && "${pip[@]}" "$wheel"; then
            echo "setup.sh: installed $wheel" >&2
        else
            echo "setup.sh: no local CPU wheel; installing torch from PyPI (CUDA build)" >&2
            "${pip[@]}" torch
        fi
    fi
fi
"$py" -c 'import numpy' 2>/dev/null || "${pip[@]}" numpy

"$py" -c 'import torch, numpy; print("torch", torch.__version__, "numpy", numpy.__version__)'

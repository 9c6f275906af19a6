#!/usr/bin/env bash
# The PyPI packages the tests read our outputs with (tensorboard's EventAccumulator), in a venv
# at .build/python (idempotent). launch/test.sh calls it. If pip cannot reach an index, it says so
# and exits 0: the tests that need the package then skip, naming this script.
set -uo pipefail
cd "$(dirname "$0")/.."
venv=.build/python
packages=(tensorboard==2.21.0)
if "$venv/bin/python" -c "import tensorboard" 2>/dev/null; then
  echo "python-env: OK ($venv)"
  exit 0
fi
python=$(command -v python3) || { echo "python-env: no python3; tests that read TensorBoard files will skip" >&2; exit 0; }
if ! "$python" -m venv "$venv" 2>/dev/null; then
  echo "python-env: python3 -m venv failed (Debian: python3-venv, installed by launch/setup.sh); TensorBoard tests will skip" >&2
  exit 0
fi
if "$venv/bin/pip" install -q --disable-pip-version-check "${packages[@]}"; then
  echo "python-env: OK ($venv: ${packages[*]})"
else
  echo "python-env: pip could not install ${packages[*]} (no package index reachable?); TensorBoard tests will skip" >&2
fi
exit 0

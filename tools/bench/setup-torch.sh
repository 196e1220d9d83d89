#!/usr/bin/env bash
# Creates .venv-bench/ at the repository root, a Python virtual environment with torch (CPU build) and numpy
# and PyYAML for tools/bench/pytorch_scn.py. Idempotent: does nothing when the environment already imports
# all three. Packages come from PyPI only (`pip install torch`: the default wheel, which also runs on the
# CPU; with its CUDA libraries it is a download of a few GiB).
#
#   tools/bench/setup-torch.sh            # create or complete .venv-bench
#   .venv-bench/bin/python tools/bench/pytorch_scn.py configs/cifar10/scn1.yaml --batch 32 --threads 1
#
# SCN_BENCH_VENV=DIR puts the environment elsewhere; PYTHON=... picks the interpreter that creates it
# (default /usr/bin/python3 when it exists, else python3 on PATH).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${SCN_BENCH_VENV:-$root/.venv-bench}"
if [[ -z "${PYTHON:-}" ]]; then
  if [[ -x /usr/bin/python3 ]]; then PYTHON=/usr/bin/python3; else PYTHON="$(command -v python3)"; fi
fi

ready() { [[ -x "$venv/bin/python" ]] && "$venv/bin/python" -c 'import torch, numpy, yaml' 2>/dev/null; }

if ready; then
  echo "setup-torch: $venv ready ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"
  exit 0
fi

if [[ ! -x "$venv/bin/python" ]]; then
  echo "setup-torch: creating $venv with $PYTHON ($("$PYTHON" --version 2>&1))"
  if ! "$PYTHON" -m venv "$venv"; then
    echo "setup-torch: '$PYTHON -m venv' failed; on Debian: apt-get install python3-venv" >&2
    exit 1
  fi
fi
pip=("$venv/bin/python" -m pip install --disable-pip-version-check --no-input)

if ! "$venv/bin/python" -c 'import torch' 2>/dev/null; then
  "${pip[@]}" torch
fi
"${pip[@]}" numpy pyyaml

ready || { echo "setup-torch: $venv still cannot import torch, numpy and yaml" >&2; exit 1; }
echo "setup-torch: $venv ready ($("$venv/bin/python" -c 'import torch; print("torch", torch.__version__)'))"

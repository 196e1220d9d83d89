#!/bin/sh
# ctest python.twin_matches_scn_CONFIG: check_twin.sh SCN_BINARY REPO CONFIG
# tools/bench/pytorch_scn.py --check: a fresh scn checkpoint of CONFIG (two one-step epochs on random images)
# against the PyTorch twin built from the same config — logits and the second step's gradients. Exit 77 without
# a Python that has torch and PyYAML (torch_python.sh).
scn=$1
repo=$2
config=$3
if [ -z "$scn" ] || [ -z "$repo" ] || [ -z "$config" ]; then
  echo "usage: $0 SCN_BINARY REPO CONFIG" >&2
  exit 2
fi
. "$repo/python/tests/torch_python.sh"
exec "$torch_python" "$repo/tools/bench/pytorch_scn.py" "$repo/$config" --check --threads 1 --scn "$scn"

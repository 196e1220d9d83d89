#!/bin/sh
# ctest python.scn_torch_matches_scn_eval: check_export.sh SCN_BINARY REPO
# Finds a Python with torch and PyYAML — $SCN_TORCH_PYTHON, then REPO/.venv-bench/bin/python
# (tools/bench/setup-torch.sh), then /usr/bin/python3 — and runs check_export.py with it. Exit 77 (ctest's
# SKIP) when there is none; a $SCN_TORCH_PYTHON that cannot import them is an error.
scn=$1
repo=$2
if [ -z "$scn" ] || [ -z "$repo" ]; then
  echo "usage: $0 SCN_BINARY REPO" >&2
  exit 2
fi
works() { "$1" -c "import torch, yaml" >/dev/null 2>&1; }
if [ -n "$SCN_TORCH_PYTHON" ]; then
  if works "$SCN_TORCH_PYTHON"; then
    exec "$SCN_TORCH_PYTHON" "$repo/python/tests/check_export.py" "$scn" "$repo"
  fi
  echo "SCN_TORCH_PYTHON=$SCN_TORCH_PYTHON cannot import torch and yaml" >&2
  exit 1
fi
for py in "$repo/.venv-bench/bin/python" /usr/bin/python3; do
  if [ -x "$py" ] && works "$py"; then
    exec "$py" "$repo/python/tests/check_export.py" "$scn" "$repo"
  fi
done
echo "SKIP: no Python with torch and PyYAML (tried \$SCN_TORCH_PYTHON, $repo/.venv-bench/bin/python," \
     "/usr/bin/python3; tools/bench/setup-torch.sh makes the second)"
exit 77

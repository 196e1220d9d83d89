#!/bin/sh
# Sourced by the python ctests with $repo set: sets $torch_python to a Python that imports torch and PyYAML —
# $SCN_TORCH_PYTHON, then $repo/.venv-bench/bin/python (tools/bench/setup-torch.sh), then /usr/bin/python3 —
# or exits 77 (ctest's SKIP) when there is none; a $SCN_TORCH_PYTHON that cannot import them is an error.
works() { "$1" -c "import torch, yaml" >/dev/null 2>&1; }
torch_python=
if [ -n "$SCN_TORCH_PYTHON" ]; then
  if works "$SCN_TORCH_PYTHON"; then
    torch_python=$SCN_TORCH_PYTHON
  else
    echo "SCN_TORCH_PYTHON=$SCN_TORCH_PYTHON cannot import torch and yaml" >&2
    exit 1
  fi
else
  for py in "$repo/.venv-bench/bin/python" /usr/bin/python3; do
    if [ -x "$py" ] && works "$py"; then
      torch_python=$py
      break
    fi
  done
fi
if [ -z "$torch_python" ]; then
  echo "SKIP: no Python with torch and PyYAML (tried \$SCN_TORCH_PYTHON, $repo/.venv-bench/bin/python," \
       "/usr/bin/python3; tools/bench/setup-torch.sh makes the second)"
  exit 77
fi

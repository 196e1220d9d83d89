#!/bin/sh
# with_torch.sh REPO SCRIPT [ARGS...]: runs the Python SCRIPT with a Python that has torch and PyYAML
# (torch_python.sh: $SCN_TORCH_PYTHON, .venv-bench/, /usr/bin/python3; exit 77, ctest's SKIP, when none has).
repo=$1
if [ -z "$repo" ] || [ -z "$2" ]; then
  echo "usage: $0 REPO SCRIPT [ARGS...]" >&2
  exit 2
fi
shift
. "$repo/python/tests/torch_python.sh"
exec "$torch_python" "$@"

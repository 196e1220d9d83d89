#!/bin/sh
# ctest python.scn_torch_matches_scn_eval: check_export.sh SCN_BINARY REPO
# Runs check_export.py with a Python that has torch and PyYAML (torch_python.sh; exit 77 when there is none).
scn=$1
repo=$2
if [ -z "$scn" ] || [ -z "$repo" ]; then
  echo "usage: $0 SCN_BINARY REPO" >&2
  exit 2
fi
. "$repo/python/tests/torch_python.sh"
exec "$torch_python" "$repo/python/tests/check_export.py" "$scn" "$repo"

#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds, and runs the whole test suite. Exit status: the tests' result.
# GPU tests report as skipped on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
tools/setup.sh
built=$(date +%s)
status=0
ctest --test-dir "${SCN_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" || status=$?
end=$(date +%s)
echo "test.sh: setup+build $((built - start)) s, tests $((end - built)) s"
exit $status

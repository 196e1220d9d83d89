#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds, and runs the whole test suite. Exit status: the tests' result.
# GPU tests report as skipped on machines without a GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
tools/setup.sh
built=$(date +%s)
status=0
# Tests run side by side, one per core; one OpenMP thread each keeps them from oversubscribing the cores
# (spinning OpenMP threads on shared cores run many times slower).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
ctest --test-dir "${SCN_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" || status=$?
end=$(date +%s)
echo "test.sh: setup+build $((built - start)) s, tests $((end - built)) s"
exit $status

#!/usr/bin/env bash
# Sets up (tools/setup.sh), builds, and runs the whole test suite. Exit status: the tests' result.
# GPU tests report as skipped on machines without a GPU.
#   tools/test.sh              the Release build in build/ (CUDA when nvcc is found)
#   tools/test.sh --sanitize   a CPU-only build with AddressSanitizer + UndefinedBehaviorSanitizer in
#                              build-sanitize/, running the same suite; any report fails the test it is in
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
if [ "${1:-}" = --sanitize ]; then
  export SCN_BUILD_DIR=${SCN_BUILD_DIR:-build-sanitize} SCN_CUDA=OFF SCN_CMAKE_ARGS="-DSCN_SANITIZE=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo"
  # halt_on_error: the first report ends the test with a failure. detect_leaks: leaks count too.
  export ASAN_OPTIONS=${ASAN_OPTIONS:-halt_on_error=1:detect_leaks=1:abort_on_error=0}
  export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
fi
# --with-torch: Debian's python3-torch, so that the python.* ctests run (they skip without a Python that imports
# torch, and a fresh clone has no .venv-bench); about 80 s of apt-get on a fresh machine, once.
tools/setup.sh --with-torch
built=$(date +%s)
status=0
# Tests run side by side, one per core; one OpenMP thread each keeps them from oversubscribing the cores
# (spinning OpenMP threads on shared cores run many times slower).
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
# The sanitizer pass leaves out the tests that run no scn binary (label python-only): they ran in the first pass.
skip=()
[ "${1:-}" = --sanitize ] && skip=(-LE python-only)
ctest --test-dir "${SCN_BUILD_DIR:-build}" --output-on-failure -j "$(nproc)" "${skip[@]}" || status=$?
end=$(date +%s)
echo "test.sh: setup+build $((built - start)) s, tests $((end - built)) s"
exit $status

#!/usr/bin/env bash
# The quick start: install and build (tools/setup.sh, which also installs Fashion-MNIST from Debian),
# train configs/quickstart.yaml on this machine's CPU (or GPU), evaluate the checkpoint on the test split,
# and draw the curves. About five minutes on 2 cores, most of it the build.
#   SCN_DEVICE=cpu|cuda|auto (default auto)    SCN_RUN=folder (default runs/quickstart)
#   SCN_SETUP=0: skip tools/setup.sh (the build is already there)
# An earlier run is never replaced: when the folder holds one, this run goes to <folder>-2 (or -3, …) and
# says so.
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# The quick start builds only the scn command, not the test suite.
if [ "${SCN_SETUP:-1}" != 0 ]; then SCN_TARGETS=${SCN_TARGETS:-scn} tools/setup.sh; fi
run=${SCN_RUN:-runs/quickstart}
device=${SCN_DEVICE:-auto}
build=${SCN_BUILD_DIR:-build}
# A folder holds a run when it has a checkpoint or an epoch's metrics (as scn train itself decides).
holds_run() { [ -e "$1/last.safetensors" ] || [ -e "$1/best.safetensors" ] || [ -s "$1/metrics.jsonl" ]; }
if holds_run "$run"; then
  n=2
  while holds_run "$run-$n"; do n=$((n + 1)); done
  echo "quickstart: $run holds an earlier run, which is kept; this run goes to $run-$n"
  run=$run-$n
fi
trained=$(date +%s)
"$build/scn" train configs/quickstart.yaml --device "$device" --out "$run"
evaluated=$(date +%s)
"$build/scn" eval configs/quickstart.yaml --checkpoint "$run/last.safetensors" --split test --device "$device"
tools/plot "$run" || echo "quickstart: no plot (matplotlib missing?)"
# The sparse model inside the trained net: coherence, local sparsity against the bounds, pursuits.
"$build/scn" analyze configs/quickstart.yaml --checkpoint "$run/last.safetensors" --images 1000 --device "$device"
end=$(date +%s)
echo "quickstart: setup+build $((trained - start)) s, training $((evaluated - trained)) s, total $((end - start)) s"
echo "quickstart: run folder $run (metrics.jsonl, curves.png, sparsity.png, last.safetensors, analysis/)"

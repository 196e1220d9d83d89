#!/usr/bin/env bash
# The quick start: install and build (tools/setup.sh, which also installs Fashion-MNIST from Debian),
# train configs/quickstart.yaml on this machine's CPU (or GPU), evaluate the checkpoint on the test split,
# and draw the curves. About five minutes on 2 cores, most of it the build.
#   SCN_DEVICE=cpu|cuda|auto (default auto)    SCN_RUN=folder (default runs/quickstart)
set -euo pipefail
cd "$(dirname "$0")/.."
start=$(date +%s)
# The quick start builds only the scn command, not the test suite.
SCN_TARGETS=${SCN_TARGETS:-scn} tools/setup.sh
run=${SCN_RUN:-runs/quickstart}
device=${SCN_DEVICE:-auto}
build=${SCN_BUILD_DIR:-build}
trained=$(date +%s)
# --force: the quick start's run folder is its own; running it again starts it over.
"$build/scn" train configs/quickstart.yaml --device "$device" --out "$run" --force
evaluated=$(date +%s)
"$build/scn" eval configs/quickstart.yaml --checkpoint "$run/last.safetensors" --split test --device "$device"
tools/plot "$run" || echo "quickstart: no plot (matplotlib missing?)"
# The sparse model inside the trained net: coherence, local sparsity against the bounds, pursuits.
"$build/scn" analyze configs/quickstart.yaml --checkpoint "$run/last.safetensors" --images 1000 --device "$device" --force
end=$(date +%s)
echo "quickstart: setup+build $((trained - start)) s, training $((evaluated - trained)) s, total $((end - start)) s"
echo "quickstart: run folder $run (metrics.jsonl, curves.png, sparsity.png, last.safetensors, analysis/)"

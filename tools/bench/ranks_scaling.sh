#!/usr/bin/env bash
# Data-parallel scaling on this machine: the same training (global batch, images, one epoch) on 1 rank and on
# 2 ranks (mpirun), one OpenMP thread per rank, then the all-reduce of the net's gradient arena alone.
#   tools/bench/ranks_scaling.sh [CONFIG] [key=value ...]     (default: configs/quickstart.yaml on 8,192 images)
# Prints images/s for 1 and 2 ranks, the scaling efficiency (rate₂ / (2 · rate₁)), and the all-reduce's time
# per step and GB/s (scn_ranks_bench) with its share of the 2-rank step; then, when a Python with torch is there
# (tools/bench/setup-torch.sh), the same net in PyTorch DistributedDataParallel on 1 and 2 processes
# (tools/bench/pytorch_ddp.py). Needs a build with MPI (tools/setup.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${SCN_BUILD_DIR:-build}
config=${1:-configs/quickstart.yaml}
shift || true
overrides=(data.limit=8192 data.test_limit=256 train.epochs=1 train.threads=1 train.log_sparsity=false "$@")
mpirun=(mpirun --allow-run-as-root --oversubscribe -np 2 --bind-to core)
work=$(mktemp -d /tmp/scn_scaling_XXXXXX)
trap 'rm -rf "$work"' EXIT
rate() { /usr/bin/python3 -c "import json,sys; print(json.loads(open(sys.argv[1]).readline())['images_per_s'])" "$1/metrics.jsonl"; }
# The global batch as scn resolves it (overrides included), from the line `scn info` prints for it.
batch=$("$build/scn" info "$config" "${overrides[@]}" | sed -n 's/^training memory at batch \([0-9]*\):.*/\1/p')
[ -n "$batch" ] || { echo "ranks_scaling: could not read the batch from 'scn info $config'" >&2; exit 1; }
OMP_NUM_THREADS=1 "$build/scn" train "$config" "${overrides[@]}" --out "$work/one" >/dev/null
OMP_NUM_THREADS=1 "${mpirun[@]}" -x OMP_NUM_THREADS "$build/scn" train "$config" "${overrides[@]}" --out "$work/two" >/dev/null
one=$(rate "$work/one")
two=$(rate "$work/two")
echo "== $config (${overrides[*]}), global batch $batch, one thread per rank"
/usr/bin/python3 - "$one" "$two" <<'PY'
import sys
one, two = float(sys.argv[1]), float(sys.argv[2])
print(f"1 rank : {one:8.1f} images/s")
print(f"2 ranks: {two:8.1f} images/s   speed-up {two / one:.2f}x, scaling efficiency {100 * two / (2 * one):.0f} %")
PY
echo
OMP_NUM_THREADS=1 "${mpirun[@]}" -x OMP_NUM_THREADS "$build/scn_ranks_bench" "$config" | tee "$work/bench.txt"
/usr/bin/python3 - "$work/bench.txt" "$two" "$batch" <<'PY'
import sys
lines = open(sys.argv[1]).read().splitlines()
two, batch = float(sys.argv[2]), int(sys.argv[3])
row = [l for l in lines if not l.startswith("sweep") and "ms" in l][-1].split()
ms = float(row[row.index("ms") - 1])
step_ms = 1e3 * batch / two
print(f"\nall-reduce of the arena: {ms:.3f} ms per step of {step_ms:.1f} ms on 2 ranks ({100 * ms / step_ms:.1f} % of the step)")
PY

torch_python=${SCN_TORCH_PYTHON:-.venv-bench/bin/python}
if [ -x "$torch_python" ] && "$torch_python" -c "import torch, yaml" 2>/dev/null; then
  echo
  OMP_NUM_THREADS=1 "$torch_python" tools/bench/pytorch_ddp.py "$config" --batch "$batch" --ranks 1 2
else
  echo "(no Python with torch: tools/bench/setup-torch.sh, then rerun for PyTorch DDP alongside)"
fi

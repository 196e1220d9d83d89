#!/usr/bin/env bash
# One device call that checks scn on a GPU and measures it. Three modes:
#
#   tools/gpu-check.sh --prepare   (here, on the CPU machine) gathers what the GPU machine lacks into .gpucarry/:
#                                  the Debian packages the build needs (.deb, unpacked there, not installed)
#                                  and Fashion-MNIST. Then call the device tool with carry [".gpucarry"] and
#                                  the command `bash tools/gpu-check.sh` (timeout ~540 s).
#   tools/gpu-check.sh             (there) unpacks the packages, builds for sm_90 with 16 jobs, runs the whole
#                                  ctest suite on the GPU, the kernel benchmarks, the fused patch pursuit against
#                                  its reference on SCN-1 and SCN-4, `scn profile` of CSCN-1 and CSCN-4 next to
#                                  PyTorch on the same nets (TF32 off, then on), and one epoch of the quick start
#                                  on the GPU. Logs and summary.md go to $OUT.
#   tools/gpu-check.sh --dry-run   (here) the same steps with the local build on the CPU, short, to check the
#                                  script itself before spending device time.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$PWD
carry=$root/.gpucarry
mode=${1:-run}

if [ "$mode" = --prepare ]; then
  set -e
  rm -rf "$carry" && mkdir -p "$carry/debs" "$carry/data/fashion-mnist"
  (cd "$carry/debs" && apt-get download -q libyaml-cpp-dev libyaml-cpp0.7 libdnnl-dev libdnnl2 libgtest-dev \
     libbenchmark-dev libbenchmark1debian libcli11-dev nlohmann-json3-dev libjpeg62-turbo-dev libjpeg62-turbo \
     libpng-dev libpng16-16 zlib1g-dev 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
  cp /usr/share/datasets/fashion-mnist/*.gz "$carry/data/fashion-mnist/"
  grep -qx '/.gpucarry/' .git/info/exclude 2>/dev/null || echo '/.gpucarry/' >> .git/info/exclude
  echo "gpu-check: carry .gpucarry ($(du -sh "$carry" | cut -f1)); working tree $(git ls-files -z | xargs -0 du -cb | tail -1 | cut -f1) bytes"
  exit 0
fi

OUT=${OUT:-$root/gpu-check-out}
mkdir -p "$OUT"
summary=$OUT/summary.md
: > "$summary"
note() { echo "$*" | tee -a "$summary"; }
step() { echo; echo "=== $*"; }

if [ "$mode" = --dry-run ]; then
  build=${SCN_BUILD_DIR:-build}
  device=cpu
  data=/usr/share/datasets/fashion-mnist
  [ -x "$build/scn" ] || { echo "gpu-check: build first (tools/setup.sh)"; exit 1; }
  steps=2
  py=/usr/bin/python3  # Debian's, with python3-torch
  note "# gpu-check dry run on the CPU ($(date -u +%F))"
else
  device=cuda
  py=python3  # the device's, with PyTorch
  data=$carry/data/fashion-mnist
  steps=20
  note "# gpu-check on $(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null || echo 'an unknown GPU') ($(date -u +%F))"
  step "unpacking the build's Debian packages"
  deps=/tmp/scn-deps
  mkdir -p "$deps"
  for d in "$carry"/debs/*.deb; do
    if command -v dpkg-deb >/dev/null; then dpkg-deb -x "$d" "$deps"; else (cd /tmp && ar x "$d" data.tar.xz && tar -xJf data.tar.xz -C "$deps"); fi
  done
  # cuDNN, cuBLAS and friends come with PyTorch's Python packages there.
  nvlibs=$(python3 -c 'import os, nvidia; r = os.path.dirname(nvidia.__path__[0] if hasattr(nvidia, "__path__") else nvidia.__file__); print(" ".join(sorted({os.path.join(dp) for dp, _, fs in os.walk(os.path.join(r, "nvidia")) if any(f.startswith("lib") and ".so" in f for f in fs)})))' 2>/dev/null)
  cudnn_root=$(python3 -c 'import nvidia.cudnn, os; print(os.path.dirname(nvidia.cudnn.__file__) if nvidia.cudnn.__file__ else list(nvidia.cudnn.__path__)[0])' 2>/dev/null)
  export LD_LIBRARY_PATH=$deps/usr/lib/x86_64-linux-gnu:$(echo $nvlibs | tr ' ' ':'):${LD_LIBRARY_PATH:-}
  export PATH=/usr/local/cuda/bin:$PATH
  step "configure and build for sm_90"
  build=$root/build-gpu
  start=$(date +%s)
  cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSCN_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 -DSCN_NATIVE=ON \
        -DCMAKE_PREFIX_PATH="$deps/usr;$deps/usr/lib/x86_64-linux-gnu/cmake" -DSCN_CUDNN_ROOT="$cudnn_root" \
        > "$OUT/configure.log" 2>&1 || { tail -30 "$OUT/configure.log"; note "configure FAILED"; exit 1; }
  cmake --build "$build" -j 16 > "$OUT/build.log" 2>&1 || { grep -E 'error' -A3 "$OUT/build.log" | head -40; note "build FAILED"; exit 1; }
  note "build: $(( $(date +%s) - start )) s"
fi

step "ctest on $device"
export SCN_FASHION_MNIST=$data
start=$(date +%s)
OMP_NUM_THREADS=2 ctest --test-dir "$build" -j "$(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 ))" --timeout 300 > "$OUT/ctest.log" 2>&1
ctest_status=$?
note "ctest: $(grep -E 'tests passed|tests failed' "$OUT/ctest.log" | tail -1) ($(( $(date +%s) - start )) s; CUDA tests $(grep -cE 'Test +#[0-9]+: .*(CudaVsCpu|Cuda|Gpu).* Passed' "$OUT/ctest.log") passed, $(grep -cE 'Test +#[0-9]+: .*(CudaVsCpu|Cuda|Gpu).*Skipped' "$OUT/ctest.log") skipped)"
grep -E '\*\*\*Failed|Failed  ' "$OUT/ctest.log" | head -20 | tee -a "$summary"
# Data parallelism on the GPU: NCCL with one rank (the GPU machine has no MPI: the multi-rank tests need it).
note "NCCL one rank: $(grep -E 'Nccl\.OneRankOnOneGpuReducesToItself' "$OUT/ctest.log" | grep -oE 'Passed|Failed|Skipped|Not Run' | head -1)"

step "kernel benchmarks"
if [ "$device" = cuda ]; then
  "$build/scn_bench" --gpu --mib 256 > "$OUT/bench.log" 2>&1
else
  "$build/scn_bench" --benchmark_min_time=0.05 --benchmark_filter='copy|ista_update_forward' > "$OUT/bench.log" 2>&1
fi
note '```'; cat "$OUT/bench.log" | tail -14 | tee -a "$summary"; note '```'
# μ(D) of SCN-4's dictionaries: cuFFT + batched CGEMM against the direct sum (exit 1 if they disagree).
"$build/scn_coherence_bench" configs/cifar10/scn4.yaml --device $device > "$OUT/coherence-bench.log" 2>&1 \
  || note "coherence bench FAILED (FFT and direct sum disagree, or an error)"
note "coherence: $(tail -1 "$OUT/coherence-bench.log")"

step "the fused patch pursuit against its unfused reference (SCN-1, SCN-4)"
# The op alone at each layer's shape (dense GFLOP/s against the device's GEMM rate), then whole nets.
for cfg in scn1 scn4; do
  "$build/scn_pursuit_bench" configs/cifar10/$cfg.yaml --device $device --batch $([ "$device" = cpu ] && echo 8 || echo 64) \
      --repeats $([ "$device" = cpu ] && echo 2 || echo 9) > "$OUT/pursuit-bench-$cfg.log" 2>&1 \
    || note "pursuit bench $cfg FAILED: $(tail -1 "$OUT/pursuit-bench-$cfg.log")"
  note '```'; tee -a "$summary" < "$OUT/pursuit-bench-$cfg.log"; note '```'
  for engine in fused reference; do
    "$build/scn" profile configs/cifar10/$cfg.yaml --device $device --batch $([ "$device" = cpu ] && echo 8 || echo 128) \
        --steps $steps --warmup 2 $([ $engine = reference ] && echo --reference-pursuit) \
        > "$OUT/profile-$cfg-$engine.log" 2>&1
    note "$cfg $engine pursuit: $(grep -E '^training' "$OUT/profile-$cfg-$engine.log" || echo "FAILED: $(tail -1 "$OUT/profile-$cfg-$engine.log")")"
  done
done

step "scn profile and PyTorch, same nets and batch"
for cfg in cscn1 cscn4; do
  for tf32 in off on; do
    if [ "$device" = cpu ] && [ $tf32 = on ]; then continue; fi
    "$build/scn" profile configs/cifar10/$cfg.yaml --device $device --batch 128 --steps $steps --warmup 3 \
        $([ $tf32 = on ] && echo --tf32) \
        --json "$OUT/profile-$cfg-tf32$tf32.json" > "$OUT/profile-$cfg-tf32$tf32.log" 2>&1
    scn_ips=$(grep -oE 'training [0-9.]+ images/s' "$OUT/profile-$cfg-tf32$tf32.log" | grep -oE '[0-9.]+')
    $py tools/bench/pytorch_scn.py configs/cifar10/$cfg.yaml --device $device --batch 128 --steps $steps \
        --warmup 3 --tf32 $tf32 > "$OUT/pytorch-$cfg-tf32$tf32.log" 2>&1
    torch_ips=$(grep -oE '[0-9.]+ images/s' "$OUT/pytorch-$cfg-tf32$tf32.log" | tail -1 | grep -oE '[0-9.]+')
    note "$cfg TF32 $tf32: scn ${scn_ips:-?} images/s, PyTorch ${torch_ips:-?} images/s (batch 128, training)"
  done
done
tail -22 "$OUT/profile-cscn1-tf32off.log"

step "quick start, one epoch on $device"
"$build/scn" train configs/quickstart.yaml --device $device --out "$OUT/quickstart" train.epochs=1 eval.every=1 \
    data.dir="$data" $([ "$device" = cpu ] && echo data.limit=2560 data.test_limit=1000) > "$OUT/quickstart.log" 2>&1
note "quickstart: $(tail -2 "$OUT/quickstart.log" | head -1)"
if [ "$device" = cuda ]; then
  "$build/scn" train configs/quickstart.yaml --device cuda --out "$OUT/quickstart-graph" train.epochs=1 eval.every=1 \
      train.cuda_graph=true data.dir="$data" > "$OUT/quickstart-graph.log" 2>&1
  note "quickstart with train.cuda_graph: $(tail -2 "$OUT/quickstart-graph.log" | head -1)"
fi

echo; echo "=== summary"; cat "$summary"
exit $ctest_status

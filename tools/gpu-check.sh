#!/usr/bin/env bash
# One device call that checks scn on a GPU and measures it, ordered by value, inside a budget. The GPU machine
# (the device tool's) has nvcc, CMake, ninja and PyTorch's Python packages, none of Debian's libraries, and
# about 15 minutes of time in all, its start included. So scn is built HERE and carried: the binaries and the
# shared libraries they load that are not NVIDIA's (found by their ldd closure); NVIDIA's (cuDNN, cuBLAS, cuFFT,
# NCCL, the CUDA runtime) are PyTorch's there. (Building there instead costs its CPU minutes of device time.)
#
#   tools/gpu-check.sh --prepare    here: builds build-device/ (sm_90, x86-64-v3, no MPI) and packs
#                                   .gpucarry/scn-device.tar.gz: bin/, lib/, a Fashion-MNIST subset, a manifest
#   tools/gpu-check.sh --rehearse   here, after --prepare: the device's run up to its first GPU call, in a fresh
#                                   Debian 12 root with nothing of ours but the carry and the working tree, the
#                                   host's CUDA toolkit mounted read-only standing in for PyTorch's NVIDIA
#                                   libraries. Last line: `gpu-check rehearsal: PASS in N s` or FAIL with why.
#   tools/gpu-check.sh              there: the device tool's run, with carry [".gpucarry"] and timeout_s 540:
#                                     1 the CUDA-vs-CPU conformance and GPU tests, then memcheck and racecheck
#                                       (compute-sanitizer) on their kernels
#                                     2 kernel benchmarks: element-wise kernels against the copy bandwidth, the
#                                       fused patch pursuit against its reference on SCN-1 and SCN-4
#                                     3 scn profile of CSCN-1, SCN-1 and SCN-4 next to PyTorch, TF32 off then on,
#                                       and the fused pursuit against its reference inside SCN-1 and SCN-4
#                                     4 the quick start, one epoch on the GPU, eager and as a CUDA graph
#                                   each step under its own time guard and all within a deadline (steps left
#                                   when it passes are skipped: the most valuable come first), $OUT/summary.md
#                                   and $OUT/logs.tar.gz (every log) rewritten after each: a call cut off still
#                                   returns what it did; ≤ 8 minutes.
#   tools/gpu-check.sh --dry-run    here: steps 1–4 with this machine's build/ on the CPU, short.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
mode=${1:---device}
carry=$repo/.gpucarry
package=$carry/scn-device.tar.gz
# The device's GPU tests: every test that needs a GPU has one of these in its name (the CPU suite runs in CI).
gpu_tests='*Cuda*:*Gpu*:*Cudnn*:Nccl.*:IstaUpdate.Undefined*:Coherence.Transforms*'
# Kernels worth a sanitizer's minutes: the conformance cases of the pursuit's and the per-channel ops.
sanitized_tests='Ops/CudaVsCpu.*patch_pursuit_c16*:Ops/CudaVsCpu.*patch_pursuit_c37*:Ops/CudaVsCpu.*active_set*:Ops/CudaVsCpu.*gram*:Ops/CudaVsCpu.*ista_update*:Ops/CudaVsCpu.*soft_threshold*:Ops/CudaVsCpu.*batch_norm_forward*'
raced_tests='Ops/CudaVsCpu.*patch_pursuit_c16_k2*:Ops/CudaVsCpu.*active_set_solve:Ops/CudaVsCpu.*gram_power*:Ops/CudaVsCpu.*reduce_dot*'

case $mode in
  --prepare)
    set -e
    build=$repo/build-device
    echo "gpu-check: building for sm_90 in $build (Release, CUDA, no MPI, x86-64-v3)"
    cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DSCN_CUDA=ON -DSCN_MPI=OFF -DSCN_NATIVE=OFF \
      -DCMAKE_CUDA_ARCHITECTURES=90 -DCMAKE_CXX_FLAGS=-march=x86-64-v3 -DCMAKE_CUDA_FLAGS=-Xcompiler=-march=x86-64-v3 \
      >/dev/null
    cmake --build "$build" -j "$(nproc)" --target scn scn_tests scn_bench scn_pursuit_bench scn_coherence_bench \
      >"$build/build.log" 2>&1 || { grep -E 'error' -A3 "$build/build.log" | head -30; exit 1; }
    stage=$(mktemp -d)
    trap 'rm -rf "$stage"' EXIT
    mkdir -p "$stage/bin" "$stage/lib" "$stage/data/fashion-mnist"
    for b in scn scn_tests scn_bench scn_pursuit_bench scn_coherence_bench; do cp "$build/$b" "$stage/bin/"; done
    # The ldd closure, less glibc's, the compiler's and zlib (newer on any machine that runs them; an older
    # libstdc++ ahead of the system's would break PyTorch there) and NVIDIA's (PyTorch's packages bring those).
    ldd "$stage"/bin/* | awk '/=> \// {print $3}' | sort -u | while read -r lib; do
      case $(basename "$lib") in
        libc.so*|libm.so*|libdl.so*|libpthread.so*|librt.so*|ld-linux*|libstdc++*|libgcc_s*|libz.so*|\
        libcuda.so*|libcudart*|libcublas*|libcufft*|libcudnn*|libnccl*|libnvrtc*|libnvJitLink*|libcurand*|\
        libcusparse*|libcusolver*) ;;
        *) cp -L "$lib" "$stage/lib/" ;;
      esac
    done
    # Fashion-MNIST: 20,000 training images and the 10,000 test ones (the whole set would fill a third of the
    # 64 MiB a call carries).
    python3 - /usr/share/datasets/fashion-mnist "$stage/data/fashion-mnist" <<'PY'
import gzip, struct, sys
src, dst = sys.argv[1], sys.argv[2]
for name, keep in (("train", 20000), ("t10k", 10000)):
    for kind, magic in (("images-idx3-ubyte", 2051), ("labels-idx1-ubyte", 2049)):
        raw = gzip.open(f"{src}/{name}-{kind}.gz").read()
        dims = 3 if magic == 2051 else 1
        header = list(struct.unpack(">" + "I" * (dims + 1), raw[:4 * (dims + 1)]))
        item = 1
        for d in header[2:]: item *= d
        header[1] = keep
        body = raw[4 * (dims + 1):4 * (dims + 1) + keep * item]
        with gzip.open(f"{dst}/{name}-{kind}.gz", "wb", compresslevel=9) as f:
            f.write(struct.pack(">" + "I" * (dims + 1), *header) + body)
PY
    {
      echo "revision $(git rev-parse --short HEAD)$(git diff --quiet || echo +changes)"
      echo "source $repo"
      echo "built $(date -u +%FT%TZ) with $(nvcc --version 2>/dev/null | tail -1 || /usr/local/cuda/bin/nvcc --version | tail -1)"
    } >"$stage/manifest"
    mkdir -p "$carry"
    tar -C "$stage" -czf "$package" .
    grep -qx '/.gpucarry/' .git/info/exclude 2>/dev/null || echo '/.gpucarry/' >>.git/info/exclude
    tree=$(git ls-files -z --cached --others --exclude-standard | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
    echo "gpu-check: $package $(du -h "$package" | cut -f1) ($(ls "$stage/lib" | wc -l) libraries); the working tree $((tree / 1048576)) MiB; 64 MiB travel"
    exit 0
    ;;
  --rehearse)
    [ "$(id -u)" = 0 ] || { echo "gpu-check: --rehearse must run as root" >&2; exit 2; }
    [ -s "$package" ] || { echo "gpu-check: run --prepare first" >&2; exit 2; }
    if [ -z "${SCN_FRESH_NS:-}" ] && unshare --mount true 2>/dev/null; then
      SCN_FRESH_NS=1 exec unshare --mount --propagation private "$(readlink -f "$0")" "$@"
    fi
    root=${SCN_FRESH_DIR:-/var/tmp/scn-fresh/gpu-root}
    base=${SCN_FRESH_BASE:-/var/tmp/scn-fresh/base.tar}
    log=${SCN_FRESH_LOG:-/var/tmp/scn-fresh/gpu-rehearsal.log}
    mkdir -p "$(dirname "$root")" "$(dirname "$log")"
    : >"$log"
    start=$(date +%s)
    say() { echo "gpu-check: [$(($(date +%s) - start)) s] $*" | tee -a "$log" >&2; }
    . "$repo/tools/fresh-root.sh"
    trap 'remove_root >/dev/null 2>&1 || true' EXIT
    fail() { echo "gpu-check rehearsal: FAIL in $(($(date +%s) - start)) s: $* (see $log)"; exit 1; }
    make_base || fail "debootstrap"
    extract_root
    copy_tree "$repo" /src/scn .gpucarry || fail "copying the tree"
    mount_system
    cuda=$(dirname "$(dirname "$(readlink -f "$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)")")")
    bind_read_only "$cuda" /usr/local/cuda || fail "could not mount the CUDA toolkit ($cuda) read-only"
    say "running tools/gpu-check.sh --rehearsal in the root (log: $log)"
    in_root chroot "$root" /bin/bash -c 'cd /src/scn && exec tools/gpu-check.sh --rehearsal' >>"$log" 2>&1 ||
      fail "$(grep -a '^gpu-check: ' "$log" | tail -1)"
    echo "gpu-check rehearsal: PASS in $(($(date +%s) - start)) s ($(grep -a '^gpu-check: ready' "$log" | tail -1 | cut -c12-))"
    exit 0
    ;;
  --device|--rehearsal|--dry-run) ;;
  *) sed -n 2,28p "$0"; exit 2 ;;
esac

OUT=${OUT:-$repo/gpu-check-out}
mkdir -p "$OUT"
# Every step's log goes to $logs; $OUT holds summary.md and logs.tar.gz, both rewritten after each step (the
# device tool returns at most 8 files from $OUT).
logs=$(mktemp -d)
rows=()
# summary.md: a header and one row per finished step, rewritten after each step.
write_summary() {
  {
    echo "# gpu-check, $mode ($(date -u +%FT%TZ))"
    echo
    echo "$machine"
    echo
    echo "| step | result | seconds | what |"
    echo "|---|---|---|---|"
    printf '%s\n' "${rows[@]}"
  } >"$OUT/summary.md"
}
row() {
  rows+=("| $1 | $2 | $3 | $4 |")
  write_summary
  tar -C "$logs" -czf "$OUT/logs.tar.gz" .
}
# guard SECONDS STEP LOG command...: the command under `timeout`, its output in LOG (logs.tar.gz); one summary row. The
# whole run has a deadline (SCN_GPU_CHECK_BUDGET seconds, 470 by default: the device call's 540 less its start
# and the transfers): a step gets at most what is left, and a step with under 10 s left is skipped.
budget=${SCN_GPU_CHECK_BUDGET:-470}
deadline=$(($(date +%s) + budget))
guard() {
  local limit=$1 name=$2 logfile=$logs/$3 t0 rc verdict left
  shift 3
  t0=$(date +%s)
  left=$((deadline - t0))
  if [ "$left" -lt 10 ]; then
    skip "$name" "the call's budget ($budget s) is spent"
    return 0
  fi
  [ "$limit" -le "$left" ] || limit=$left
  timeout --kill-after=10 "$limit" "$@" >"$logfile" 2>&1
  rc=$?
  case $rc in 0) verdict=PASS ;; 124|137) verdict="TIMEOUT ($limit s)" ;; *) verdict="FAIL ($rc)" ;; esac
  last=$(grep -aE '^\[  (PASSED|FAILED)  \]|tests? (passed|failed)|images/s|ERROR SUMMARY|FAIL|error' "$logfile" | tail -1 |
         tr '|' '/' | cut -c1-150)
  row "$name" "$verdict" "$(($(date +%s) - t0))" "${last:-see $(basename "$logfile")}"
  return $rc
}
skip() { row "$1" "skipped" 0 "$2"; }

if [ "$mode" = --dry-run ]; then
  bin=$repo/build
  data=/usr/share/datasets/fashion-mnist
  device=cpu
  py=python3
  machine="this machine's CPU, build/"
  scn_env=(env)
  [ -x "$bin/scn" ] || { echo "gpu-check: build first (tools/setup.sh)"; exit 1; }
else
  # The carry, unpacked.
  dev=/tmp/scn-device
  rm -rf "$dev" && mkdir -p "$dev" && tar -C "$dev" -xzf "$package" ||
    { echo "gpu-check: FAIL: cannot unpack $package (run --prepare here and carry .gpucarry)"; exit 1; }
  bin=$dev/bin
  data=$dev/data/fashion-mnist
  device=cuda
  # NVIDIA's libraries: PyTorch's Python packages (nvidia/<lib>/lib), else a CUDA toolkit's.
  nvlibs=$(python3 -c 'import nvidia, os
roots = list(getattr(nvidia, "__path__", []))
print(":".join(sorted(os.path.join(r, d, "lib") for r in roots for d in os.listdir(r) if os.path.isdir(os.path.join(r, d, "lib")))))' 2>/dev/null)
  # Only scn's binaries see the carried libraries (through `scn_env`): PyTorch keeps its own.
  scn_env=(env "LD_LIBRARY_PATH=$dev/lib:${nvlibs:+$nvlibs:}/usr/local/cuda/lib64:/usr/local/cuda/lib:${LD_LIBRARY_PATH:-}")
  export PATH=/usr/local/cuda/bin:$PATH
  # The tests find configs through the source folder they were built in: point it here.
  built_in=$(sed -n 's/^source //p' "$dev/manifest")
  if [ -n "$built_in" ] && [ ! -e "$built_in" ]; then mkdir -p "$(dirname "$built_in")" && ln -s "$repo" "$built_in"; fi
  missing=$("${scn_env[@]}" ldd "$bin"/* 2>&1 | grep 'not found' | sort -u | tr -s ' \t' ' ')
  if [ -n "$missing" ]; then echo "gpu-check: FAIL: libraries not found:$missing"; exit 1; fi
  py=python3
  machine="$(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null || echo 'no GPU (rehearsal)'); carry: $(head -1 "$dev/manifest")"
fi
export SCN_FASHION_MNIST=$data
write_summary
echo "gpu-check: ready in $mode ($machine)"

# --- 1: correctness first ---
guard 120 "GPU tests (conformance, layers, GPU unit tests)" gpu-tests.log "${scn_env[@]}" "$bin/scn_tests" --gtest_filter="$gpu_tests"
if [ "$mode" = --device ] && command -v compute-sanitizer >/dev/null; then
  guard 75 "memcheck: pursuit and per-channel kernels" memcheck.log \
    "${scn_env[@]}" compute-sanitizer --tool memcheck --error-exitcode 3 "$bin/scn_tests" --gtest_filter="$sanitized_tests"
  guard 45 "racecheck: shared-memory kernels" racecheck.log \
    "${scn_env[@]}" compute-sanitizer --tool racecheck --error-exitcode 3 "$bin/scn_tests" --gtest_filter="$raced_tests"
else
  skip "memcheck, racecheck" "no compute-sanitizer or no GPU"
fi
if [ "$mode" = --rehearsal ]; then
  guard 60 "the binaries run (CPU)" rehearsal-cpu.log "${scn_env[@]}" sh -c "'$bin/scn' --version && '$bin/scn' info configs/cifar10/scn1.yaml >/dev/null && '$bin/scn_tests' --gtest_filter='GpuMath.*:ChannelCursor.*:PlaneCursor.*:ChannelGrid.*' && '$bin/scn_pursuit_bench' --help"
  status=0
  grep -q '| FAIL\|| TIMEOUT' "$OUT/summary.md" && status=1
  cat "$logs"/*.log >>"$OUT/rehearsal.log"
  cat "$OUT/summary.md"
  [ $status = 0 ] && echo "gpu-check: rehearsal reached the first GPU call" || echo "gpu-check: rehearsal failed before the GPU"
  exit $status
fi

# --- 2: kernels ---
if [ "$device" = cuda ]; then
  guard 40 "element-wise kernels against the copy bandwidth" bench.log "${scn_env[@]}" "$bin/scn_bench" --gpu --mib 256
else
  guard 40 "element-wise kernels (CPU)" bench.log "${scn_env[@]}" "$bin/scn_bench" --benchmark_min_time=0.05 --benchmark_filter='copy|ista_update_forward'
fi
for cfg in scn1 scn4; do
  guard 30 "fused pursuit against reference, $cfg shapes" "pursuit-$cfg.log" \
    "${scn_env[@]}" "$bin/scn_pursuit_bench" "configs/cifar10/$cfg.yaml" --device "$device" \
    --batch "$([ "$device" = cpu ] && echo 4 || echo 64)" --repeats "$([ "$device" = cpu ] && echo 1 || echo 7)"
done

# --- 3: whole nets, next to PyTorch ---
batch=$([ "$device" = cpu ] && echo 8 || echo 128)
steps=$([ "$device" = cpu ] && echo 2 || echo 10)
for cfg in cscn1 scn1 scn4; do
  for tf32 in off on; do
    [ "$device" = cpu ] && [ $tf32 = on ] && continue
    guard 25 "scn profile $cfg, TF32 $tf32" "profile-$cfg-tf32$tf32.log" "${scn_env[@]}" "$bin/scn" profile "configs/cifar10/$cfg.yaml" \
      --device "$device" --batch "$batch" --steps "$steps" --warmup 2 $([ $tf32 = on ] && echo --tf32) \
      --json "$logs/profile-$cfg-tf32$tf32.json" --force
    [ "$cfg" = scn4 ] && [ "$device" = cpu ] && continue
    guard 30 "PyTorch $cfg, TF32 $tf32" "pytorch-$cfg-tf32$tf32.log" $py tools/bench/pytorch_scn.py \
      "configs/cifar10/$cfg.yaml" --device "$device" --batch "$batch" --steps "$steps" --warmup 2 --tf32 $tf32
  done
done
for cfg in scn1 scn4; do
  guard 25 "scn profile $cfg, reference pursuit" "profile-$cfg-reference.log" "${scn_env[@]}" "$bin/scn" profile \
    "configs/cifar10/$cfg.yaml" --device "$device" --batch "$batch" --steps "$steps" --warmup 2 --reference-pursuit
done

# --- 4: training ---
limit=$([ "$device" = cpu ] && echo "data.limit=1024 data.test_limit=500" || echo "")
guard 45 "quick start, one epoch" quickstart.log "${scn_env[@]}" "$bin/scn" train configs/quickstart.yaml --device "$device" \
  --out "$logs/quickstart" --force train.epochs=1 data.dir="$data" $limit
if [ "$device" = cuda ]; then
  guard 40 "quick start as a CUDA graph" quickstart-graph.log "${scn_env[@]}" "$bin/scn" train configs/quickstart.yaml --device cuda \
    --out "$logs/quickstart-graph" --force train.epochs=1 train.cuda_graph=true data.dir="$data"
fi
rm -rf "$logs/quickstart"/*.safetensors "$logs/quickstart-graph"/*.safetensors  # not worth a call's return
tar -C "$logs" -czf "$OUT/logs.tar.gz" .
echo
cat "$OUT/summary.md"
grep -q '| FAIL\|| TIMEOUT' "$OUT/summary.md" && exit 1
exit 0

#!/usr/bin/env bash
# Builds the libFuzzer harnesses of tests/fuzz/ and runs each for a while, one after another.
#
#   tools/fuzz.sh SECONDS [HARNESS...]     e.g. tools/fuzz.sh 60   or   tools/fuzz.sh 600 fuzz_image
#
# Harnesses: fuzz_safetensors fuzz_config fuzz_cifar_idx fuzz_gzip fuzz_image (default: all).
# The build is its own folder, build-fuzz/ (clang, AddressSanitizer + UndefinedBehaviorSanitizer + libFuzzer
# coverage over every library, no CUDA), so it never touches build/. Per harness:
#   build-fuzz/corpus/<harness>/     seeds (tests/fuzz/make_corpus.py, rewritten each run) and the inputs the
#                                    fuzzer found interesting (kept between runs: later runs start from them)
#   build-fuzz/findings/<harness>/   crash-*, leak-*, oom-*, timeout-* reproducers
#   build-fuzz/logs/<harness>.log    libFuzzer's output, with the sanitizer report and stack of a finding
# A finding stops its harness; the next one still runs. Exit status 1 when any harness found something (or
# did not build), else 0. Reproduce a finding with: build-fuzz/tests/fuzz/<harness> <artifact>
#
# Limits: an input runs at most 10 s (-timeout), and one allocation over 2 GiB or a process over 2 GiB
# resident is a finding (-malloc_limit_mb, -rss_limit_mb): a size field must never be trusted that far.
# Environment: SCN_JOBS=N build jobs (2); SCN_SKIP_APT=1 installs nothing; FUZZ_KEEP_GOING=1 runs each harness
# in libFuzzer's fork mode, which records a finding and goes on (to see what lies behind a known one);
# FUZZ_ARGS="..." extra libFuzzer flags (e.g. -use_value_profile=1). The config and safetensors harnesses get
# the dictionaries tests/fuzz/<harness>.dict (their keywords).
set -euo pipefail
cd "$(dirname "$0")/.."

all=(fuzz_safetensors fuzz_config fuzz_cifar_idx fuzz_gzip fuzz_image)
if [ $# -lt 1 ] || ! [[ $1 =~ ^[0-9]+$ ]]; then
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"  # this header
  exit 2
fi
seconds=$1
shift
harnesses=("$@")
[ ${#harnesses[@]} -gt 0 ] || harnesses=("${all[@]}")
for h in "${harnesses[@]}"; do
  [[ " ${all[*]} " == *" $h "* ]] || { echo "fuzz: unknown harness '$h' (known: ${all[*]})" >&2; exit 2; }
done

# Input size caps: large enough for every format's interesting structure, small enough to keep runs fast.
declare -A max_len=([fuzz_safetensors]=65536 [fuzz_config]=65536 [fuzz_cifar_idx]=262144 [fuzz_gzip]=262144
                    [fuzz_image]=1048576)
declare -A dict=([fuzz_config]=tests/fuzz/fuzz_config.dict [fuzz_safetensors]=tests/fuzz/fuzz_safetensors.dict)

# clang with libFuzzer's runtime (the rest of what scn needs comes from tools/setup.sh's list).
tools/install-packages.sh fuzz clang libclang-rt-14-dev libomp-14-dev

# Builds and runs are niced: fuzzing is background work next to someone's builds.
out=build-fuzz
flags="-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
nice -n 10 cmake -S . -B "$out" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSCN_FUZZ=ON -DSCN_CUDA=OFF \
  -DCMAKE_CXX_COMPILER=clang++ -DCMAKE_CXX_FLAGS="$flags" >/dev/null
/usr/bin/python3 tests/fuzz/make_corpus.py "$out/corpus"

# Sanitizer reports stop the process (libFuzzer then saves the input); the stack names files and lines.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1}
export OMP_NUM_THREADS=1
keep_going=()
[ "${FUZZ_KEEP_GOING:-0}" = 1 ] && keep_going=(-fork=1 -ignore_crashes=1 -ignore_ooms=1 -ignore_timeouts=1)
read -r -a extra <<<"${FUZZ_ARGS:-}"

status=0
mkdir -p "$out/logs"
for h in "${harnesses[@]}"; do
  # Built one by one, so a harness that does not compile (another part of the tree mid-edit) costs only itself.
  if ! nice -n 10 cmake --build "$out" -j "${SCN_JOBS:-2}" --target "$h" >"$out/logs/$h.build.log" 2>&1; then
    echo "fuzz: $h does not build, see $out/logs/$h.build.log"
    status=1
    continue
  fi
  findings="$out/findings/$h"
  mkdir -p "$findings" "$out/corpus/$h"
  before=$(ls "$findings" | sort)  # to tell new artifacts from old ones
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=2048 -max_len="${max_len[$h]}"
        -artifact_prefix="$findings/" -print_final_stats=1 "${keep_going[@]}" "${extra[@]}")
  [ -n "${dict[$h]:-}" ] && args+=(-dict="${dict[$h]}")
  start=$(date +%s)
  rc=0
  nice -n 10 "$out/tests/fuzz/$h" "${args[@]}" "$out/corpus/$h" >"$out/logs/$h.log" 2>&1 || rc=$?
  took=$(($(date +%s) - start))
  # The artifacts it names (a finding seen before is rewritten under the same name) and any new file.
  new=$( (sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$out/logs/$h.log"
          comm -13 <(echo "$before") <(ls "$findings" | sort) | sed "s|^|$findings/|") | sort -u)
  # Runs: the final stats in normal mode, the last status line (#N ...) in fork mode.
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$out/logs/$h.log" | tail -1)
  [ -n "$runs" ] || runs=$(grep -o '^#[0-9]*' "$out/logs/$h.log" | tail -1 | tr -d '#' || true)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$out/logs/$h.log" | tail -1 || true)
  if [ -n "$new" ]; then
    what=$(grep -m1 -E 'SUMMARY: |ERROR: libFuzzer|runtime error|fuzz invariant|terminate called' "$out/logs/$h.log" || true)
    for f in $new; do echo "fuzz: $h FINDING: $f (${what:-see the log}; log: $out/logs/$h.log)"; done
    status=1
  elif [ "$rc" != 0 ]; then
    echo "fuzz: $h stopped with status $rc and no artifact, see $out/logs/$h.log"
    status=1
  else
    echo "fuzz: $h ${runs:-?} runs in $took s (${cov:-no coverage line}), OK"
  fi
done
exit $status

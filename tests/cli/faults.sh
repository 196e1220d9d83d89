#!/usr/bin/env bash
# Fault tests of the scn command, as a user (or a scheduler, or a full disk) would cause them:
#   faults.sh SCN_BINARY CASE
# CASE: kill9 | enospc | readonly | sigterm | nan_checkpoint | outputs | threads
# Each case trains the quick-start net on a slice of Fashion-MNIST (Debian's dataset-fashion-mnist) and
# prints what it checks; it exits 0 when every check holds, 1 at the first that does not, and 77 (skipped)
# when the data is not installed.
set -uo pipefail
scn=$1
case_name=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "SKIP: Fashion-MNIST is not installed in $data (Debian package dataset-fashion-mnist)"
  exit 77
fi
work=$(mktemp -d /tmp/scn_faults_XXXXXX)
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
cd "$work"
config=$src/configs/quickstart.yaml
small=(data.limit=1024 data.test_limit=256 train.batch=64 eval.batch=256 train.threads=1)

fail() { echo "FAIL: $*"; exit 1; }
check() { local what=$1; shift; "$@" || fail "$what"; echo "ok: $what"; }
# The scn command's exit status and its stderr in $out.
run_scn() { "$scn" "$@" >"$work/stdout" 2>"$work/stderr"; status=$?; out=$(cat "$work/stderr"); }
contains() { grep -qF -- "$2" <<<"$1"; }

case "$case_name" in
kill9)
  # SIGKILL at random moments, checkpoints written after every step: whatever survives is a consistent
  # checkpoint that resumes, and the run completes.
  for i in 1 2 3 4 5 6 7 8; do
    resume=()
    [ -f run/last.safetensors ] && resume=(--resume run/last.safetensors)
    "$scn" train "$config" "${small[@]}" train.epochs=2 train.checkpoint_minutes=1.0e-9 --out run "${resume[@]}" \
      >"$work/kill.out" 2>"$work/kill.err" &
    pid=$!
    # Kill at a random moment after training started (loading the data set takes a while on a slow machine).
    for _ in $(seq 300); do grep -q "^training " "$work/kill.out" 2>/dev/null && break; sleep 0.05; done
    # The first run lives until it has saved once: on a slow build (the sanitizers) a step can outlast the
    # random delay below, and eight kills before any first step would leave nothing to check.
    if [ $i -eq 1 ]; then
      for _ in $(seq 1200); do [ -f run/last.safetensors ] && break; sleep 0.05; done
    fi
    sleep "0.$((RANDOM % 5))$((RANDOM % 10))"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    # A run killed after finishing is fine; an error other than the kill is not.
    if [ -s "$work/kill.err" ] && ! grep -q "already at epoch" "$work/kill.err"; then
      cat "$work/kill.err"; fail "a restart after SIGKILL failed"
    fi
  done
  check "a checkpoint survived the kills" test -f run/last.safetensors
  resume=(--resume run/last.safetensors)
  run_scn train "$config" "${small[@]}" train.epochs=2 --out run "${resume[@]}"
  check "the run resumes and completes after 8 kills (exit $status: $out)" test $status -eq 0
  run_scn eval "$config" --checkpoint run/last.safetensors "${small[@]}"
  check "its checkpoint evaluates" test $status -eq 0
  check "no temporary file of a killed write is left" test -z "$(ls run | grep '\.tmp\.')"
  ;;
enospc)
  # A file-size limit makes every write past 256 KiB fail (EFBIG, as a full disk fails with ENOSPC): the
  # save fails with a message naming the file, and the earlier checkpoint survives untouched. scn ignores
  # SIGXFSZ itself (it used to be killed by it, exit 153, without a message).
  run_scn train "$config" "${small[@]}" train.epochs=1 --out run
  check "the first epoch trains" test $status -eq 0
  before=$(md5sum run/last.safetensors)
  (ulimit -f 256; exec "$scn" train "$config" "${small[@]}" train.epochs=2 --out run \
     --resume run/last.safetensors) >/dev/null 2>"$work/stderr"
  status=$?
  out=$(cat "$work/stderr")
  check "the save fails with exit 1 (got $status)" test $status -eq 1
  check "the message names the file and the cause: $out" contains "$out" "safetensors' (a write error; the file is left as it was): File too large"
  check "the earlier checkpoint is untouched" test "$(md5sum run/last.safetensors)" = "$before"
  check "no temporary file is left" test -z "$(ls run | grep '\.tmp\.')"
  ;;
readonly)
  mkdir -p locked
  if [ "$(id -u)" = 0 ]; then
    chown 65534:65534 "$work"; chmod 555 locked
    as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups)
  else
    chmod 555 locked; as_user=()
  fi
  "${as_user[@]}" "$scn" train "$config" "${small[@]}" --out locked/run >/dev/null 2>"$work/stderr"
  status=$?
  out=$(cat "$work/stderr")
  check "a read-only run folder is refused with exit 1 (got $status)" test $status -eq 1
  check "the message names the folder: $out" contains "$out" "locked/run"
  check "and says why" contains "$out" "Permission denied"
  ;;
sigterm)
  # What schedulers send: finish the step, save, exit 128 + 15.
  "$scn" train "$config" "${small[@]}" data.limit=4000 train.epochs=1 --out run >/dev/null 2>"$work/stderr" &
  pid=$!
  for _ in $(seq 200); do [ -f run/config.yaml ] && break; sleep 0.05; done
  sleep 0.2
  kill -TERM $pid
  wait $pid
  status=$?
  check "SIGTERM exits with 143 (got $status: $(cat "$work/stderr"))" test $status -eq 143
  check "and saves last.safetensors" test -f run/last.safetensors
  run_scn train "$config" "${small[@]}" data.limit=4000 train.epochs=1 --out run --resume run/last.safetensors
  check "the saved run resumes (exit $status: $out)" test $status -eq 0
  ;;
nan_checkpoint)
  run_scn train "$config" "${small[@]}" train.epochs=1 --out run
  check "the first epoch trains" test $status -eq 0
  /usr/bin/python3 - run/last.safetensors run/nan.safetensors <<'PY'
import json, struct, sys
raw = open(sys.argv[1], "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
start = 8 + n + header["l6.weight"]["data_offsets"][0]
raw = raw[:start] + struct.pack("<f", float("nan")) + raw[start + 4:]
open(sys.argv[2], "wb").write(raw)
PY
  run_scn eval "$config" --checkpoint run/nan.safetensors "${small[@]}"
  check "eval refuses a NaN checkpoint with exit 1 (got $status)" test $status -eq 1
  check "naming the tensor: $out" contains "$out" "tensor 'l6.weight' holds 1 NaN or Inf values"
  run_scn export run/nan.safetensors --to exported.safetensors
  check "export refuses it too (exit $status: $out)" test $status -eq 1
  check "and writes nothing" test ! -e exported.safetensors
  ;;
outputs)
  run_scn train "$config" "${small[@]}" train.epochs=1 --out run
  check "the first epoch trains" test $status -eq 0
  before=$(md5sum run/last.safetensors)
  run_scn export run/last.safetensors --to run/last.safetensors --force
  check "export onto its own input is refused (exit $status: $out)" test $status -eq 1
  check "saying so" contains "$out" "is also an input of this command"
  run_scn eval "$config" --checkpoint run/last.safetensors --dump-logits run/last.safetensors --force "${small[@]}"
  check "dumping logits onto the checkpoint is refused (exit $status)" test $status -eq 1
  run_scn eval "$config" --checkpoint run/last.safetensors --dump-logits "$config" "${small[@]}"
  check "dumping logits onto the config is refused (exit $status)" test $status -eq 1
  check "the checkpoint is untouched" test "$(md5sum run/last.safetensors)" = "$before"
  run_scn export run/last.safetensors --to e.safetensors
  check "export writes a new file" test $status -eq 0
  run_scn export run/last.safetensors --to e.safetensors
  check "but does not replace one without --force (exit $status: $out)" test $status -eq 1
  check "saying how: $out" contains "$out" "exists; pass --force to replace it"
  run_scn export run/last.safetensors --to e.safetensors --force
  check "--force replaces it" test $status -eq 0
  run_scn train "$config" "${small[@]}" train.epochs=1 --out run
  check "a fresh run over an earlier one is refused (exit $status)" test $status -eq 1
  check "naming --resume and --force: $out" contains "$out" "already holds a run"
  check "the earlier checkpoint is untouched" test "$(md5sum run/last.safetensors)" = "$before"
  run_scn profile "$config" --device cpu --batch 2 --steps 1 --warmup 0 --json /nonexistent/dir/x.json
  check "profile --json into a missing folder fails (exit $status: $out)" test $status -eq 1
  check "naming the folder" contains "$out" "/nonexistent/dir"
  run_scn eval --checkpoint run/last.safetensors "${small[@]}"
  check "eval without a config uses the checkpoint's (exit $status: $out)" test $status -eq 0
  run_scn eval "$config" --checkpoint run/last.safetensors model.defaults.sparse_code.iters=3 "${small[@]}"
  check "eval refuses a config whose net differs (exit $status)" test $status -eq 1
  check "naming the first difference: $out" contains "$out" "model.layers[0].iters: 3 against 1"
  run_scn analyze "$config" --checkpoint run/last.safetensors --images 64 --no-plot "${small[@]}"
  check "analyze writes run/analysis/analysis.json (exit $status: $out)" test -s run/analysis/analysis.json
  check "with a line per dictionary layer" test "$(grep -cE '^l[0-9]+ +sparse_code' "$work/stdout")" -eq 3
  run_scn analyze "$config" --checkpoint run/last.safetensors --images 64 --no-plot "${small[@]}"
  check "analyze does not replace analysis.json without --force (exit $status: $out)" test $status -eq 1
  check "the checkpoint is untouched" test "$(md5sum run/last.safetensors)" = "$before"
  ;;
threads)
  run_scn train "$config" "${small[@]}" train.threads=100000 --out run
  check "train.threads=100000 is a config error (exit $status: $out)" test $status -eq 1
  check "naming the key" contains "$out" "train.threads: expected a non-negative integer up to 4096"
  run_scn train "$config" "${small[@]}" data.limit=128 train.epochs=1 train.threads=4000 --out run2
  check "train.threads above the cores is bounded by them (exit $status)" test $status -eq 0
  check "and says so: $out" contains "$out" "is more than the"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac
echo "PASS: $case_name"

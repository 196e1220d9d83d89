#!/usr/bin/env bash
# The failures of issue 24 ("Trust II"), as a new user ran into them, each checked through the scn command:
#   trust.sh SCN_BINARY CASE
# CASE: two_runs | foreign_resume
# Exit 0 when every check holds, 1 at the first that does not, 77 (skipped) when a case needs Fashion-MNIST
# and it is not installed.
set -uo pipefail
scn=$(readlink -f "$1")
case_name=$2
src=$(cd "$(dirname "$0")/../.." && pwd)
data=/usr/share/datasets/fashion-mnist
work=$(mktemp -d /tmp/scn_trust_XXXXXX)
children=()
cleanup() {
  for p in "${children[@]}"; do kill -9 "$p" 2>/dev/null; done
  [ -f "$work/plot.pid" ] && kill -9 "$(cat "$work/plot.pid")" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT
cd "$work"
config=$src/configs/quickstart.yaml
small=(data.limit=512 data.test_limit=128 train.batch=64 eval.batch=128 train.threads=1)
export OMP_NUM_THREADS=1

fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$work/stdout" 2>/dev/null; echo "--- stderr"; cat "$work/stderr" 2>/dev/null; exit 1; }
check() { local what=$1; shift; "$@" || fail "$what"; echo "ok: $what"; }
# The scn command's exit status in $status, its stderr in $out.
run_scn() { "$scn" "$@" >"$work/stdout" 2>"$work/stderr"; status=$?; out=$(cat "$work/stderr"); }
contains() { grep -qF -- "$2" <<<"$1"; }
lacks() { ! grep -qF -- "$2" <<<"$1"; }
needs_data() {
  if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
    echo "SKIP: Fashion-MNIST is not installed in $data (Debian package dataset-fashion-mnist)"
    exit 77
  fi
}
# A one-epoch quick-start run in folder $1 (extra overrides after it).
train_small() { local dir=$1; shift; "$scn" train "$config" "${small[@]}" train.epochs=1 --out "$dir" "$@" >/dev/null 2>"$work/train.err" || fail "training $dir: $(cat "$work/train.err")"; }
no_temporaries() { test -z "$(find "$1" -name '*.tmp*' 2>/dev/null)"; }
# PNG files without any imaging library: png PATH WIDTH HEIGHT SHADE (an RGB gradient offset by SHADE).
png() {
  /usr/bin/python3 - "$@" <<'PY'
import struct, sys, zlib
path, w, h, shade = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
raw = b"".join(b"\x00" + bytes(((x + y + shade) % 256, (x * 3 + shade) % 256, (y * 5) % 256)[c]
                               for x in range(w) for c in range(3)) for y in range(h))
chunk = lambda t, d: struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)
open(path, "wb").write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) +
                       chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
PY
}
# Sends signal SIG to PID the moment a file matching PATTERN appears (polled in a tight loop: a shell loop of
# `ls` can miss a write that lasts a few milliseconds): interrupt_when PATTERN PID SIG.
interrupt_when() {
  /usr/bin/python3 - "$@" <<'PY'
import glob, os, signal, sys, time
pattern, pid, sig = sys.argv[1], int(sys.argv[2]), getattr(signal, "SIG" + sys.argv[3])
deadline = time.time() + 120
while time.time() < deadline:
    if glob.glob(pattern):
        os.kill(pid, sig)
        sys.exit(0)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        sys.exit(1)
sys.exit(1)
PY
}
# Rewrites one metadata entry of a safetensors file: set_meta IN OUT KEY VALUE.
set_meta() {
  /usr/bin/python3 - "$@" <<'PY'
import json, struct, sys
src, dst, key, value = sys.argv[1:5]
raw = open(src, "rb").read()
n = struct.unpack("<Q", raw[:8])[0]
header = json.loads(raw[8:8 + n])
header["__metadata__"][key] = value
text = json.dumps(header).encode()
text += b" " * (-len(text) % 8)
open(dst, "wb").write(struct.pack("<Q", len(text)) + text + raw[8 + n:])
PY
}

case "$case_name" in
two_runs)
  needs_data
  # 1: two runs started 0.3 s apart into one folder: one is refused at once, the other's files are whole.
  "$scn" train "$config" "${small[@]}" data.limit=2048 train.epochs=2 --out run >"$work/a.out" 2>"$work/a.err" &
  a=$!; children+=($a)
  sleep 0.3
  "$scn" train "$config" "${small[@]}" data.limit=2048 train.epochs=2 --out run >"$work/b.out" 2>"$work/b.err"
  b_status=$?
  wait $a; a_status=$?
  echo "statuses: first $a_status, second $b_status"
  check "exactly one of the two runs is refused" test $((a_status + b_status)) -eq 1
  check "saying the folder is in use: $(cat "$work/a.err" "$work/b.err")" grep -q "run is in use by another scn train (process [0-9]*)" "$work/a.err" "$work/b.err"
  check "the other's metrics.jsonl has its 2 epochs" test "$(wc -l <run/metrics.jsonl)" -eq 2
  check "each line valid JSON" /usr/bin/python3 -c "import json,sys; [json.loads(l) for l in open('run/metrics.jsonl')]"
  ;;
foreign_resume)
  needs_data
  # 2: another run's checkpoint into a folder that holds a run.
  train_small qs
  train_small other seed=7
  before=$(md5sum qs/*.safetensors qs/metrics.jsonl qs/config.yaml)
  run_scn train "$config" "${small[@]}" train.epochs=2 seed=7 --out qs --resume other/last.safetensors
  check "resuming another run's checkpoint into qs is refused (exit $status)" test $status -eq 1
  check "saying why and what to do: $out" contains "$out" "resuming there would mix two runs' checkpoints and metrics"
  check "naming the checkpoint's own folder" contains "$out" "(--out other)"
  check "qs is untouched" test "$(md5sum qs/*.safetensors qs/metrics.jsonl qs/config.yaml)" = "$before"
  run_scn train "$config" "${small[@]}" train.epochs=2 seed=7 --out other --resume other/last.safetensors
  check "its own folder continues it (exit $status: $out)" test $status -eq 0
  run_scn train "$config" "${small[@]}" train.epochs=3 seed=7 --out qs --resume other/last.safetensors --force
  check "--force replaces the run in qs (exit $status: $out)" test $status -eq 0
  check "whose metrics hold only the resumed run's epoch" test "$(wc -l <qs/metrics.jsonl)" -eq 1
  check "and whose config.yaml names the other run" test "$(grep run_id: qs/config.yaml)" = "$(grep run_id: other/config.yaml)"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac
echo "PASS: $case_name"

#!/usr/bin/env bash
# The failures of issue 24 ("Trust II"), as a new user ran into them, each checked through the scn command:
#   trust.sh SCN_BINARY CASE
# CASE: usage | config | two_runs | foreign_resume | not_regular | file_size | signals | convert | predict |
#       analyze | synth
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
usage)
  # 10: range errors in words, not the limits of a double; NaN and numbers past the type refused.
  for bad in "train $config --collective-timeout 0" "train $config --check-ranks -1" "analyze --checkpoint $config --images 0" \
             "analyze --checkpoint $config --batch 0" "profile $config --steps 0"; do
    run_scn $bad
    check "$bad exits 2 (got $status)" test $status -eq 2
    check "and names the allowed values in words: $out" contains "$out" "expected a "
    check "without a 300-digit double" lacks "$out" "17976931348623157"
  done
  for bad in "train $config --collective-timeout nan" "train $config --collective-timeout inf" \
             "analyze --checkpoint $config --images 99999999999999999999" "synth --seed -1" "synth --seed 100000000000000000000000" \
             "data convert $work $work/out --seed -1"; do
    run_scn $bad
    check "$bad is refused with exit 2 (got $status: $out)" test $status -eq 2
  done
  # 15: an option that is a config key says how to set it; errors point to the subcommand's help.
  run_scn train "$config" --epochs 1
  check "--epochs exits 2" test $status -eq 2
  check "and hints train.epochs=1: $out" contains "$out" "set it with an override after the config: train.epochs=1"
  check "pointing to scn train --help" contains "$out" "(see scn train --help)"
  run_scn data
  check "scn data alone exits 2" test $status -eq 2
  check "naming the subcommands: $out" contains "$out" "scn data: a subcommand is required: convert, inspect (see scn data --help)"
  run_scn data convert --bogus
  check "a bad option of data convert points to its help: $out" contains "$out" "(see scn data convert --help)"
  # 13: --bn recalibrate N leaves the overrides after it alone.
  run_scn eval --checkpoint "$config" --bn recalibrate 0 data.test_limit=64
  check "--bn recalibrate 0 is refused for its count, not by swallowing the override: $out" contains "$out" "--bn recalibrate 0: expected a positive number of images"
  ;;
config)
  # 13: a doubled dot, a second document, tabs and bad SCN_MAX_* variables are named errors.
  run_scn info "$config" model..classes=3
  check "model..classes=3 is refused (exit $status): $out" contains "$out" "an empty key in the path"
  printf 'model:\n  input: [1, 8, 8]\n  classes: 2\n  layers: [{type: linear, out: 2}]\n---\nseed: 3\n' >two.yaml
  run_scn info two.yaml
  check "a second YAML document is refused (exit $status): $out" contains "$out" "two.yaml:6: a second YAML document"
  printf 'model:\n\tinput: [1, 8, 8]\n' >tab.yaml
  run_scn info tab.yaml
  check "a tab-indented config says so (exit $status): $out" contains "$out" "line 2 is indented with a tab"
  for v in SCN_MAX_DATA_FILE_BYTES=lots SCN_MAX_IMAGE_PIXELS=-1 SCN_MAX_CONFIG_BYTES=0; do
    env "$v" "$scn" info "$config" >/dev/null 2>"$work/stderr"
    status=$?
    check "$v is an error (exit $status)" test $status -eq 1
    check "naming it" contains "$(cat "$work/stderr")" "$v: expected a positive whole number"
  done
  # 19: the resolved config, as a run's config.yaml holds it, reads back as a config.
  run_scn info "$config" --resolved model.defaults.sparse_code.iters=3
  check "info --resolved prints the resolved config (exit $status)" test $status -eq 0
  cp "$work/stdout" resolved.yaml
  check "with the layers flat and the override in them" grep -q "iters: 3" resolved.yaml
  check "and every default" grep -q "recalibrate_batch_norm:" resolved.yaml
  run_scn info resolved.yaml
  check "which scn info reads back (exit $status: $out)" test $status -eq 0
  ;;
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
not_regular)
  needs_data
  # 3: outputs that are not regular files are never replaced, --force or not.
  train_small run
  mkfifo pipe; mkdir folder
  run_scn export run/last.safetensors --to pipe --force
  check "export onto a FIFO is refused (exit $status): $out" contains "$out" "pipe: exists and is a FIFO (named pipe)"
  check "and the FIFO is still there" test -p pipe
  run_scn export run/last.safetensors --to folder --force
  check "export onto a folder is refused: $out" contains "$out" "folder: exists and is a folder"
  run_scn eval --checkpoint run/last.safetensors --dump-logits pipe --force "${small[@]}"
  check "eval --dump-logits onto a FIFO is refused (exit $status): $out" contains "$out" "exists and is a FIFO"
  run_scn profile "$config" --device cpu --batch 2 --steps 1 --warmup 0 --json pipe --force
  check "profile --json onto a FIFO is refused (exit $status): $out" contains "$out" "exists and is a FIFO"
  mkdir -p an && mkfifo an/analysis.json
  run_scn analyze --checkpoint run/last.safetensors --out an --images 16 --no-plot --force "${small[@]}"
  check "analyze onto a FIFO is refused (exit $status): $out" contains "$out" "exists and is a FIFO"
  mkdir -p sy && mkfifo sy/synth.json
  run_scn synth --out sy --quick --force
  check "synth onto a FIFO is refused (exit $status): $out" contains "$out" "exists and is a FIFO"
  mkdir -p fifo_run && mkfifo fifo_run/metrics.jsonl
  timeout 60 "$scn" train "$config" "${small[@]}" train.epochs=1 --out fifo_run --force >/dev/null 2>"$work/stderr"
  status=$?; out=$(cat "$work/stderr")
  check "a run folder whose metrics.jsonl is a FIFO is refused, without hanging (exit $status): $out" contains "$out" "metrics.jsonl: exists and is a FIFO"
  check "and the FIFO is still there" test -p fifo_run/metrics.jsonl
  # 13: --out naming a file.
  echo x >plain
  run_scn train "$config" "${small[@]}" --out plain
  check "train --out a file is refused (exit $status): $out" contains "$out" "plain: exists and is not a folder"
  check "the file is untouched" test "$(cat plain)" = x
  ;;
file_size)
  needs_data
  # 5: past `ulimit -f` every writer fails with "File too large" and a message, leaving no temporary file.
  train_small run
  limited() { (ulimit -f "$1"; shift; exec "$scn" "$@") >"$work/stdout" 2>"$work/stderr"; status=$?; out=$(cat "$work/stderr"); }
  limited 8 export run/last.safetensors --to e.safetensors
  check "export fails with exit 1, not SIGXFSZ (got $status)" test $status -eq 1
  check "saying File too large: $out" contains "$out" "File too large; the unfinished temporary file was removed"
  limited 4 eval --checkpoint run/last.safetensors --dump-logits logits.safetensors "${small[@]}"
  check "eval --dump-logits fails with exit 1 (got $status): $out" contains "$out" "File too large"
  limited 4 analyze --checkpoint run/last.safetensors --out an --images 16 --no-plot "${small[@]}"
  check "analyze fails with exit 1 (got $status): $out" test $status -eq 1
  check "saying File too large" contains "$out" "File too large"
  mkdir -p imgs/a imgs/b
  for k in $(seq 20); do png imgs/a/$k.png 32 32 $k; png imgs/b/$k.png 32 32 $((k + 100)); done
  limited 50 data convert imgs converted
  check "data convert fails with exit 1 (got $status): $out" contains "$out" "(File too large); its temporary file was removed"
  check "no temporary file is left" no_temporaries "$work"
  ;;
signals)
  needs_data
  # 11: SIGINT/SIGTERM during export, data convert and analyze's plotting: a message, exit 128 + signal, and
  # no temporary file. (A background job of a script ignores SIGINT unless job control is on: `set -m` below
  # for the Ctrl-C case.)
  /usr/bin/python3 - big.safetensors <<'PY'
import json, struct, sys
n = 64 << 20  # 64 M floats: 256 MiB of zeros (a sparse file)
header = json.dumps({"__metadata__": {"format": "scn-checkpoint-2"},
                     "x.weight": {"dtype": "F32", "shape": [n], "data_offsets": [0, 4 * n]}}).encode()
header += b" " * (-len(header) % 8)
with open(sys.argv[1], "wb") as f:
    f.write(struct.pack("<Q", len(header)) + header)
    f.truncate(8 + len(header) + 4 * n)
PY
  "$scn" export big.safetensors --to e.safetensors >/dev/null 2>"$work/stderr" &
  pid=$!; children+=($pid)
  interrupt_when "$work/e.safetensors.tmp.*" $pid TERM
  check "the signal came while export wrote its temporary file" test $? -eq 0
  wait $pid; status=$?; out=$(cat "$work/stderr")
  check "export terminated exits 143 (got $status)" test $status -eq 143
  check "saying what it removed: $out" contains "$out" "removed the unfinished temporary file e.safetensors.tmp."
  check "no temporary file is left" no_temporaries "$work"
  check "and no output" test ! -e e.safetensors
  # data convert: one large image, linked 2000 times into two classes (decoding is the slow part).
  mkdir -p many/a many/b
  png one.png 512 512 1
  for k in $(seq 1000); do ln one.png many/a/$k.png; ln one.png many/b/$k.png; done
  "$scn" data convert many conv --test-fraction 0.5 >/dev/null 2>"$work/stderr" &
  pid=$!; children+=($pid)
  interrupt_when "$work/conv/*.tmp" $pid TERM
  check "the signal came while data convert had a temporary file" test $? -eq 0
  wait $pid; status=$?; out=$(cat "$work/stderr")
  check "data convert terminated exits 143 (got $status)" test $status -eq 143
  check "saying what it removed: $out" contains "$out" "removed the unfinished temporary file"
  check "no temporary file is left" no_temporaries conv
  check "and no partial data set" test ! -e conv/data_batch_1.bin
  # analyze: Ctrl-C while the plots are drawn (a stand-in plotter that takes 60 s) ends scn at once.
  train_small run
  printf '#!/bin/sh\necho $$ >%s/plot.pid\nexec sleep 60\n' "$work" >slowplot; chmod +x slowplot
  set -m
  SCN_PLOT_TOOL=$work/slowplot "$scn" analyze --checkpoint run/last.safetensors --images 16 "${small[@]}" >"$work/stdout" 2>"$work/stderr" &
  pid=$!; children+=($pid)
  set +m
  for _ in $(seq 3000); do [ -f plot.pid ] && break; kill -0 $pid 2>/dev/null || break; sleep 0.01; done
  check "the plotter started" test -f plot.pid
  kill -INT $pid
  start=$(date +%s)
  wait $pid; status=$?
  check "analyze interrupted while plotting exits 130 (got $status)" test $status -eq 130
  check "at once, not after the plotting" test $(($(date +%s) - start)) -lt 20
  check "having written analysis.json first" test -s run/analysis/analysis.json
  ;;
convert)
  needs_data
  mkdir -p imgs/a imgs/b
  for k in $(seq 12); do png imgs/a/$k.png 60 60 $k; png imgs/b/$k.png 60 60 $((k + 120)); done
  # 7: any --size reads back, in data inspect and in training.
  run_scn data convert imgs c48 --size 48 --test-fraction 0.25
  check "data convert --size 48 (exit $status: $out)" test $status -eq 0
  run_scn data inspect c48 --json
  check "data inspect reads it (exit $status: $out)" test $status -eq 0
  check "as 48x48 images" /usr/bin/python3 -c "import json,sys; d=json.load(open('$work/stdout')); sys.exit(0 if d['shape'][-2:]==[48,48] else 1)"
  cat >c48.yaml <<EOF
model: {input: [3, 48, 48], classes: 2, layers: [{type: sparse_code, out: 4, kernel: 3, iters: 1}, {type: global_avg_pool}, {type: linear, out: 2}]}
data: {format: cifar10, dir: $work/c48}
train: {epochs: 1, batch: 6, device: cpu, threads: 1}
EOF
  run_scn train c48.yaml --out c48run
  check "training reads it (exit $status: $out)" test $status -eq 0
  run_scn train c48.yaml model.input=[3,32,32] --out c32run
  check "a net of another input size is refused (exit $status): $out" contains "$out" "3x48x48"
  # 13: the output inside the input tree, and images in a class folder's sub-folder.
  run_scn data convert imgs imgs/out
  check "converting into the input tree is refused (exit $status): $out" contains "$out" "is inside the folder being converted"
  check "writing nothing there" test ! -e imgs/out
  mkdir -p imgs/a/more && png imgs/a/more/x.png 8 8 1
  run_scn data convert imgs c2
  check "a class folder's sub-folder is refused (exit $status): $out" contains "$out" "imgs/a/more: a folder inside the class folder"
  rm -r imgs/a/more
  # 3: a data file name that is a folder in the output is refused, not replaced.
  mkdir -p c3/data_batch_1.bin
  run_scn data convert imgs c3 --force
  check "an output name that is a folder is refused (exit $status): $out" contains "$out" "data_batch_1.bin: exists and is a folder"
  ;;
predict)
  needs_data
  train_small run
  mkdir -p imgs
  for k in 1 2 3; do png imgs/$k.png 28 28 $((k * 40)); done
  # 16: predict reads what export writes, and a folder of images.
  run_scn export run/last.safetensors --to e.safetensors
  check "export (exit $status)" test $status -eq 0
  run_scn predict e.safetensors imgs --top 2
  check "predict reads the export and a folder (exit $status: $out)" test $status -eq 0
  check "one line per image" test "$(grep -c 'imgs/[123].png:' "$work/stdout")" -eq 3
  run_scn predict run/last.safetensors imgs/1.png --json
  check "and still the checkpoint (exit $status)" test $status -eq 0
  run_scn train "$config" "${small[@]}" train.epochs=2 --out run --resume e.safetensors
  check "an export cannot be resumed (exit $status): $out" contains "$out" "is an scn export"
  # 9: a normalisation that is not usable, and class names with terminal escapes, are refused.
  set_meta run/last.safetensors std0.safetensors normalize_std 0
  run_scn predict std0.safetensors imgs
  check "normalize_std 0 is refused (exit $status): $out" contains "$out" "metadata 'normalize_std' value 0 is 0, expected a positive number"
  set_meta run/last.safetensors nan.safetensors normalize_mean nan
  run_scn predict nan.safetensors imgs
  check "a NaN mean is refused (exit $status): $out" contains "$out" "metadata 'normalize_mean' value 0 is not finite"
  names=$(/usr/bin/python3 -c 'import json; print(json.dumps(["\x1b[31mred"] + ["c%d" % i for i in range(9)]))')
  set_meta run/last.safetensors esc.safetensors class_names "$names"
  run_scn predict esc.safetensors imgs
  check "a class name with an escape code is refused (exit $status): $out" contains "$out" "holds a control character (code 27)"
  check "and never printed" lacks "$(cat "$work/stdout" "$work/stderr")" $'\x1b'
  few=$(/usr/bin/python3 -c 'import json; print(json.dumps(["a", "b"]))')
  set_meta run/last.safetensors few.safetensors class_names "$few"
  run_scn predict few.safetensors imgs
  check "too few class names are refused (exit $status): $out" contains "$out" "has 2 names, but the net has 10 classes"
  # 13: a device or a FIFO is named for what it is.
  run_scn predict run/last.safetensors /dev/zero
  check "/dev/zero is refused as a device (exit $status): $out" contains "$out" "/dev/zero: is a character device"
  mkfifo pipe
  run_scn predict run/last.safetensors pipe
  check "a FIFO is refused as one (exit $status): $out" contains "$out" "pipe: is a FIFO (named pipe)"
  ;;
analyze)
  needs_data
  # 13: a net without dictionaries is an error, not an empty table with exit 0.
  printf 'model: {input: [1, 28, 28], classes: 10, layers: [{type: global_avg_pool}, {type: linear, out: 10}]}\ndata: {format: fashion_mnist, dir: %s}\n' "$data" >plain.yaml
  "$scn" train plain.yaml "${small[@]}" --out plain >/dev/null 2>"$work/train.err" || fail "training plain: $(cat "$work/train.err")"
  train_small run
  run_scn analyze --checkpoint plain/last.safetensors --images 16 --no-plot "${small[@]}"
  check "analyze of a net without dictionaries exits 1 (got $status): $out" contains "$out" "its net has no dictionary layer"
  run_scn analyze --checkpoint run/last.safetensors --images 16 --no-plot "${small[@]}"
  check "a sparse-coding net still analyses (exit $status: $out)" test $status -eq 0
  ;;
synth)
  # 19: the sweeps and values are options, and synth.json records the seed.
  run_scn synth --out s --quick --seed 9 --contrast 1,0.5 --noise 0.05 --sparsity 1 --depth 2
  check "synth with chosen values (exit $status: $out)" test $status -eq 0
  check "runs the contrast sweep alone, records its seed and the values held" /usr/bin/python3 -c "
import json, sys
d = json.load(open('s/synth.json'))
assert d['seed'] == 9, d['seed']
assert [s['name'] for s in d['sweeps']] == ['contrast'], [s['name'] for s in d['sweeps']]
assert [p['value'] for p in d['sweeps'][0]['points']] == [1.0, 0.5]
assert all(p['noise'] == 0.05 and p['depth'] == 2 for p in d['sweeps'][0]['points'])
assert d['base']['noise'] == 0.05
"
  run_scn synth --out s2 --quick --depth 7
  check "a depth past the model is refused (exit $status): $out" contains "$out" "--depth 7"
  run_scn synth --out s3 --quick --sweeps noise --noise 0.1
  check "a sweep of one value is refused (exit $status): $out" contains "$out" "a sweep needs two or more"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac
echo "PASS: $case_name"

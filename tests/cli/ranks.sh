#!/usr/bin/env bash
# Faults of a data-parallel run (2 ranks under Open MPI), as a user or a dying machine causes them:
#   ranks.sh SCN_BINARY MPIRUN CASE
# CASE: interrupt (SIGINT to rank 1 alone: every rank stops after the same step, rank 0 saves, the run resumes
#       on one rank) | hang (rank 1 stopped: rank 0 gives up after the collective timeout with a message) |
#       dies (rank 1 killed: the run ends, it does not hang) | differ (ranks started with another config
#       stop before the first step, naming the rank and the key) | log (progress lines written to a file under
#       mpirun hold no carriage return or escape sequence).
# Exit 0 when every check holds, 1 at the first that does not, 77 (skipped) without Fashion-MNIST.
set -uo pipefail
scn=$(readlink -f "$1")
mpirun=$2
case_name=$3
src=$(cd "$(dirname "$0")/../.." && pwd)
data=/usr/share/datasets/fashion-mnist
if [ ! -f "$data/train-images-idx3-ubyte.gz" ]; then
  echo "SKIP: Fashion-MNIST is not installed in $data (Debian package dataset-fashion-mnist)"
  exit 77
fi
work=$(mktemp -d /tmp/scn_ranks_XXXXXX)
chmod 755 "$work"
cd "$work"
config=$src/configs/quickstart.yaml
small=(data.limit=20000 data.test_limit=256 train.batch=64 eval.batch=256 train.threads=1 train.epochs=1)
mpi=("$mpirun" --allow-run-as-root --oversubscribe -np 2)
launcher=""
cleanup() {
  [ -n "$launcher" ] && kill -9 "$launcher" 2>/dev/null
  for p in $(rank_pids); do kill -CONT "$p" 2>/dev/null; kill -9 "$p" 2>/dev/null; done
  rm -rf "$work"
}
trap cleanup EXIT

fail() { echo "FAIL: $*"; echo "--- stdout"; cat "$work/stdout" 2>/dev/null; echo "--- stderr"; cat "$work/stderr" 2>/dev/null; exit 1; }
check() { local what=$1; shift; "$@" || fail "$what"; echo "ok: $what"; }
contains() { grep -qF -- "$2" "$1"; }
# The pids of this test's ranks (scn processes whose environment says which rank they are).
rank_pids() {
  for p in $(pgrep -f -- "$scn train" 2>/dev/null); do
    grep -qz "^SCN_TEST_RUN=$work\$" "/proc/$p/environ" 2>/dev/null && echo "$p"
  done
}
rank_pid() {
  for p in $(rank_pids); do
    grep -qz "^OMPI_COMM_WORLD_RANK=$1\$" "/proc/$p/environ" 2>/dev/null && echo "$p"
  done
}
# Starts the 2-rank run in the background; returns when both ranks train (the progress line's first step).
start_run() {
  SCN_TEST_RUN=$work "${mpi[@]}" -x SCN_TEST_RUN "$scn" train "$config" "${small[@]}" --out run "$@" \
    >"$work/stdout" 2>"$work/stderr" &
  launcher=$!
  for _ in $(seq 600); do
    [ -f run/config.yaml ] && [ -n "$(rank_pid 1)" ] && break
    sleep 0.1
  done
  check "both ranks started" test -n "$(rank_pid 1)"
  sleep 1
}
# Waits up to $1 seconds for the launcher; its exit status in $status (124: still running).
wait_run() {
  status=124
  for _ in $(seq $(($1 * 10))); do
    if ! kill -0 "$launcher" 2>/dev/null; then wait "$launcher"; status=$?; launcher=""; return; fi
    sleep 0.1
  done
}

case "$case_name" in
interrupt)
  start_run --collective-timeout 60
  kill -INT "$(rank_pid 1)"
  wait_run 120
  check "the run stops after an interrupt on rank 1 (status $status)" test $status -ne 124 -a $status -ne 0
  check "rank 0 says another rank was interrupted and saved" contains "$work/stdout" "another rank was interrupted"
  check "and last.safetensors exists" test -f run/last.safetensors
  "$scn" train "$config" "${small[@]}" --out run --resume run/last.safetensors >"$work/stdout" 2>"$work/stderr"
  status=$?
  check "the 2-rank checkpoint resumes on one rank and completes (status $status)" test $status -eq 0
  ;;
hang)
  start_run --collective-timeout 5
  kill -STOP "$(rank_pid 1)"
  wait_run 90
  check "rank 0 gives up on a stopped rank instead of hanging (status $status)" test $status -ne 124 -a $status -ne 0
  check "with a message naming the wait" contains "$work/stderr" "for the other ranks: one of them died or hangs"
  ;;
dies)
  start_run --collective-timeout 30
  kill -9 "$(rank_pid 1)"
  wait_run 90
  check "the run ends when rank 1 dies (status $status)" test $status -ne 124 -a $status -ne 0
  ;;
differ)
  # MPMD: rank 1 gets another kernel (which corrupted the heap in MPI_Allreduce), then another data.limit
  # (MPI_ERR_TRUNCATE), then another lr (silently diverged replicas): every rank stops before training.
  for other in model.defaults.sparse_code.kernel=5 data.limit=19000 optimizer.lr=0.5 seed=9; do
    rm -rf run
    timeout 120 "$mpirun" --allow-run-as-root --oversubscribe -np 1 "$scn" train "$config" "${small[@]}" --out run : \
      -np 1 "$scn" train "$config" "${small[@]}" "$other" --out run >"$work/stdout" 2>"$work/stderr"
    status=$?
    key=${other%%=*}
    check "ranks with $other on rank 1 stop (status $status)" test $status -ne 0 -a $status -ne 124
    check "naming rank 1" contains "$work/stderr" "the ranks do not run the same training: rank 1 differs from rank 0 at"
    check "and the key" grep -q "rank 0 at config\.\(model\|data\|optimizer\|seed\)" "$work/stderr"
    check "once" test "$(grep -c 'the ranks do not run the same training' "$work/stderr")" -eq 1
    check "before training: no metrics.jsonl" test ! -e run/metrics.jsonl
  done
  ;;
log)
  # Rank 0's progress, redirected to a file (Open MPI gives each rank a pseudo-terminal all the same).
  "${mpi[@]}" "$scn" train "$config" "${small[@]}" data.limit=2000 train.progress_seconds=0 --out run \
    >"$work/stdout" 2>"$work/stderr"
  status=$?
  check "the run completes (status $status)" test $status -eq 0
  check "with progress lines in the log" grep -q "step [0-9]*/[0-9]*" "$work/stdout"
  check "none rewritten in place (no carriage return, no ESC[K)" test -z "$(tr -cd '\r\033' <"$work/stdout")"
  ;;
*)
  echo "unknown case $case_name"; exit 2 ;;
esac

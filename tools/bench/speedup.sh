#!/usr/bin/env bash
# Training and inference images/s of this tree against a base revision, the two binaries alternating on the same
# machine in one run (a speed claim is a ratio measured this way: machines of one kind differ by up to 4×, and one
# machine drifts between runs). Both run this tree's config, so both do the same work.
#   tools/bench/speedup.sh [--base REV] [--batches "64 128"] [--rounds N] [--steps N] [CONFIG]
# The base is built once (the scn command only, CPU) in build-base-<rev>/ from a git worktree in
# build-base-<rev>/src; this tree's build/scn must exist (tools/setup.sh). Prints, per batch, the best of the
# rounds for each binary (scn profile's training and inference images/s) and their ratios.
set -euo pipefail
cd "$(dirname "$0")/../.."
base=237c0bc
batches="64 128"
rounds=3
steps=6
config=configs/cifar10/scn1.yaml
while [ $# -gt 0 ]; do
  case $1 in
    --base) base=$2; shift 2 ;;
    --batches) batches=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --steps) steps=$2; shift 2 ;;
    -h|--help) sed -n 2,9p "$0"; exit 0 ;;
    -*) echo "speedup.sh: unknown option $1" >&2; exit 2 ;;
    *) config=$1; shift ;;
  esac
done
[ -x build/scn ] || { echo "speedup.sh: build/scn is missing: run tools/setup.sh first" >&2; exit 1; }
rev=$(git rev-parse --short "$base")
dir=build-base-$rev
if [ ! -x "$dir/scn" ]; then
  echo "speedup.sh: building $rev in $dir (once)" >&2
  [ -d "$dir/src" ] || git worktree add --detach "$dir/src" "$rev" >/dev/null
  cmake -S "$dir/src" -B "$dir/build" -DCMAKE_BUILD_TYPE=Release -DSCN_CUDA=OFF -DSCN_MPI=OFF >/dev/null
  cmake --build "$dir/build" -j "$(nproc)" --target scn >/dev/null
  cp "$dir/build/scn" "$dir/scn"
fi
threads=$(nproc)
# "training 93.9 images/s, inference 135.4 images/s" → "93.9 135.4"
rates() { "$1" profile "$config" --device cpu --batch "$2" --steps "$steps" --warmup 2 train.threads="$threads" |
          sed -n 's/^training \([0-9.]*\) images\/s, inference \([0-9.]*\) images\/s$/\1 \2/p'; }
echo "config $config, $threads threads, best of $rounds alternating rounds of $steps steps; base $rev, this tree $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes')"
printf '%-6s %-14s %-14s %-8s %-14s %-14s %-8s\n' batch "base train" "train" ratio "base infer" "infer" ratio
for b in $batches; do
  bt=0 bi=0 nt=0 ni=0
  for r in $(seq "$rounds"); do
    read -r t i < <(rates "$dir/scn" "$b")
    bt=$(python3 -c "print(max($bt, $t))"); bi=$(python3 -c "print(max($bi, $i))")
    read -r t i < <(rates build/scn "$b")
    nt=$(python3 -c "print(max($nt, $t))"); ni=$(python3 -c "print(max($ni, $i))")
  done
  python3 -c "print('%-6s %-14.1f %-14.1f %-8s %-14.1f %-14.1f %-8s' % ($b, $bt, $nt, '%.2fx' % ($nt / $bt), $bi, $ni, '%.2fx' % ($ni / $bi)))"
done

#!/usr/bin/env bash
# tools/quickstart.sh run twice keeps the first run: the second goes to <folder>-2, and nothing is passed
# --force (it used to pass --force, replacing the first run silently). A stand-in for the scn command
# records every call, so this checks the script itself, without building or training:
#   quickstart.sh SOURCE_DIR
set -uo pipefail
src=$1
work=$(mktemp -d /tmp/scn_quickstart_XXXXXX)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/build"
cat >"$work/build/scn" <<'STUB'
#!/usr/bin/env bash
echo "$*" >>"$SCN_STUB_LOG"
if [ "$1" = train ]; then
  while [ $# -gt 0 ]; do [ "$1" = --out ] && out=$2; shift; done
  mkdir -p "$out"; echo '{"epoch": 1}' >"$out/metrics.jsonl"; echo first >"$out/last.safetensors"
fi
STUB
chmod +x "$work/build/scn"
fail() { echo "FAIL: $*"; cat "$work/log"; exit 1; }
for i in 1 2; do
  SCN_SETUP=0 SCN_BUILD_DIR="$work/build" SCN_RUN="$work/runs/qs" SCN_STUB_LOG="$work/log" \
    "$src/tools/quickstart.sh" >"$work/out$i" 2>&1 || fail "quickstart run $i failed: $(cat "$work/out$i")"
done
grep -q -- "--force" "$work/log" && fail "the quick start passes --force"
grep -q "^train .* --out $work/runs/qs\$" "$work/log" || fail "the first run trains into runs/qs"
grep -q "^train .* --out $work/runs/qs-2\$" "$work/log" || fail "the second run trains into runs/qs-2"
grep -q "holds an earlier run, which is kept; this run goes to $work/runs/qs-2" "$work/out2" || fail "and says so"
echo PASS

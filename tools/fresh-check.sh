#!/usr/bin/env bash
# Proves that scn's own setup works on a fresh Debian 12 machine: debootstraps a minimal Debian 12 (bookworm,
# minbase) root, copies the working tree into it (tracked files and untracked ones git does not ignore; no build
# folders), and runs `SCN_CUDA=OFF tools/test.sh` there as root in a clean environment, so tools/setup.sh has to
# apt-get install every package the build and the tests need.
# Why: a CI on the developer's own machine cannot see a missing install step, because the package it forgot is
# already installed there by hand.
#
#   tools/fresh-check.sh [--keep]     --keep: leave the root in place after the run, for inspection (chroot into it)
#   SCN_FRESH_DIR=dir    the root       (default /var/tmp/scn-fresh/root)
#   SCN_FRESH_BASE=file  pristine debootstrapped root, made once and extracted anew each run
#                                       (default /var/tmp/scn-fresh/base.tar; delete it to debootstrap again)
#   SCN_FRESH_LOG=file   everything the run prints (default /var/tmp/scn-fresh/fresh-check.log)
# The project sits at /src/scn in the root; ../shared (test data) is bind-mounted read-only at /src/shared when
# bind mounts work, else left out (the tests that need it skip). Runs as root; the whole run is in a private
# mount namespace (unshare), so no mount outlives it even if it is killed.
# Last line: `fresh-check: PASS in N s (...)` (exit 0) or `fresh-check: FAIL in N s at STAGE (see LOG)` (exit 1).
set -euo pipefail

keep=0
for a in "$@"; do
  case $a in --keep) keep=1 ;; *) echo "usage: $0 [--keep]" >&2; exit 2 ;; esac
done
[ "$(id -u)" = 0 ] || { echo "fresh-check: must run as root" >&2; exit 2; }
# Re-run in a private mount namespace where unshare works; otherwise mounts are made (and undone) here.
if [ -z "${SCN_FRESH_NS:-}" ] && unshare --mount true 2>/dev/null; then
  SCN_FRESH_NS=1 exec unshare --mount --propagation private "$(readlink -f "$0")" "$@"
fi

proj=$(cd "$(dirname "$0")/.." && pwd)
root=${SCN_FRESH_DIR:-/var/tmp/scn-fresh/root}
base=${SCN_FRESH_BASE:-/var/tmp/scn-fresh/base.tar}
log=${SCN_FRESH_LOG:-/var/tmp/scn-fresh/fresh-check.log}
mkdir -p "$(dirname "$root")" "$(dirname "$base")" "$(dirname "$log")"
: >"$log"
start=$(date +%s)
stage=start
passed=0
timing=""

say() { echo "fresh-check: [$(($(date +%s) - start)) s] $*" | tee -a "$log" >&2; }

# shellcheck source=tools/fresh-root.sh
. "$proj/tools/fresh-root.sh"

finish() {
  local rc=$? t=$(($(date +%s) - start))
  trap - EXIT
  if [ "$keep" = 1 ]; then
    unmount_root
    say "kept the root in $root (chroot $root /bin/bash)"
  elif [ -e "$root" ]; then
    remove_root || true
  fi
  if [ "$passed" = 1 ] && [ "$rc" = 0 ]; then
    echo "fresh-check: PASS in $t s (Debian 12 root, $timing)" | tee -a "$log"
    exit 0
  fi
  echo "fresh-check: FAIL in $t s at $stage (see $log)" | tee -a "$log"
  exit 1
}
trap finish EXIT

say "checking $proj ($(git -C "$proj" rev-parse --short HEAD), $(git -C "$proj" status --porcelain | wc -l) changed files)"
stage=debootstrap
make_base

stage=root
extract_root

stage=copy
say "copying the working tree of $proj to /src/scn"
copy_tree "$proj" /src/scn

stage=mount
mount_system
if [ -d "$proj/../shared" ]; then
  if bind_read_only "$proj/../shared" /src/shared; then
    say "bind-mounted $(cd "$proj/../shared" && pwd) read-only at /src/shared"
  else
    say "could not bind-mount ../shared; tests that need its data will skip"
  fi
fi

stage=setup+build
say "running SCN_CUDA=OFF tools/test.sh in the root (setup, build, tests; log: $log)"
rc=0
in_root SCN_CUDA=OFF chroot "$root" /bin/bash -c 'cd /src/scn && exec tools/test.sh' >>"$log" 2>&1 || rc=$?
line=$(grep -a '^test.sh: setup+build [0-9]* s, tests [0-9]* s' "$log" | tail -n 1 || true)
[ -z "$line" ] || stage=tests
if [ "$rc" != 0 ] || [ -z "$line" ]; then say "tools/test.sh failed with status $rc"; exit 1; fi
timing=${line#test.sh: }
passed=1

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
mirror=http://deb.debian.org/debian
mkdir -p "$(dirname "$root")" "$(dirname "$base")" "$(dirname "$log")"
: >"$log"
start=$(date +%s)
stage=start
passed=0
timing=""

say() { echo "fresh-check: [$(($(date +%s) - start)) s] $*" | tee -a "$log" >&2; }

# Unmounts everything below the root (deepest first), then removes it; refuses if anything stays mounted.
remove_root() {
  local m
  findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  if findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | grep -q .; then
    echo "fresh-check: something is still mounted below $root; not removing it" | tee -a "$log" >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}

finish() {
  local rc=$? t=$(($(date +%s) - start))
  trap - EXIT
  if [ "$keep" = 1 ]; then
    findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | sort -r | xargs -r umount -l || true
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
if [ ! -s "$base" ]; then
  say "debootstrapping Debian 12 (minbase) into $base (made once)"
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; } >>"$log" 2>&1
  # A failed earlier debootstrap may leave a partial tree: start it over.
  rm -rf "$base.d"
  debootstrap --variant=minbase bookworm "$base.d" "$mirror" >>"$log" 2>&1
  # As on a standard install: updates and security beside main.
  printf 'deb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' "$mirror" "$mirror" \
    >>"$base.d/etc/apt/sources.list"
  rm -rf "$base.d"/var/cache/apt/archives/*.deb "$base.d"/var/lib/apt/lists/*
  tar -C "$base.d" -cf "$base.tmp" . && mv "$base.tmp" "$base" && rm -rf "$base.d"
fi

stage=root
say "extracting a pristine root into $root"
[ ! -e "$root" ] || remove_root
mkdir -p "$root"
tar -C "$root" -xf "$base"
cp -L /etc/resolv.conf "$root/etc/resolv.conf"

stage=copy
say "copying the working tree of $proj to /src/scn"
mkdir -p "$root/src/scn"
# --ignore-failed-read: a tracked file the other side of a concurrent edit just deleted is skipped, not fatal.
git -C "$proj" ls-files -z --cached --others --exclude-standard |
  tar -C "$proj" --null --ignore-failed-read -T - -cf - 2>>"$log" | tar -C "$root/src/scn" -xf -

stage=mount
mkdir -p "$root/proc" "$root/sys" "$root/dev"
mount -t proc proc "$root/proc" || say "could not mount /proc; going on without it"
mount -t sysfs -o ro sysfs "$root/sys" || say "could not mount /sys; going on without it"
{ mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"; } ||
  say "could not bind-mount /dev; using the root's own device nodes"
if [ -d "$proj/../shared" ]; then
  mkdir -p "$root/src/shared"
  if mount --bind "$proj/../shared" "$root/src/shared" && mount -o remount,bind,ro "$root/src/shared"; then
    say "bind-mounted $(cd "$proj/../shared" && pwd) read-only at /src/shared"
  else
    umount "$root/src/shared" 2>/dev/null || true; rmdir "$root/src/shared"
    say "could not bind-mount ../shared; tests that need its data will skip"
  fi
fi

stage=setup+build
say "running SCN_CUDA=OFF tools/test.sh in the root (setup, build, tests; log: $log)"
rc=0
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 CI=true SCN_CUDA=OFF \
  chroot "$root" /bin/bash -c 'cd /src/scn && exec tools/test.sh' >>"$log" 2>&1 || rc=$?
line=$(grep -a '^test.sh: setup+build [0-9]* s, tests [0-9]* s' "$log" | tail -n 1 || true)
[ -z "$line" ] || stage=tests
if [ "$rc" != 0 ] || [ -z "$line" ]; then say "tools/test.sh failed with status $rc"; exit 1; fi
timing=${line#test.sh: }
passed=1

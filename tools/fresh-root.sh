# A fresh Debian 12 root to prove something on a machine where nothing of scn's is installed; sourced by
# tools/fresh-check.sh (setup, build and tests from nothing) and tools/gpu-check.sh --rehearse (the GPU machine's
# run up to its first GPU call). Not a command.
#
# The caller sets, before calling these:
#   root   where the root goes (made anew)          base  a pristine debootstrapped root as a tar (made once)
#   log    where the commands' output goes          say   a function printing one progress line
# Runs as root, best inside a private mount namespace (unshare --mount) so that no mount outlives a killed run.

fresh_mirror=http://deb.debian.org/debian

# Unmounts everything below $root (deepest first), then removes it; refuses if anything stays mounted.
remove_root() {
  local m
  findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | sort -r | while read -r m; do
    umount -l "$m" || true
  done
  if findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | grep -q .; then
    echo "fresh-root: something is still mounted below $root; not removing it" | tee -a "$log" >&2
    return 1
  fi
  rm -rf --one-file-system "$root"
}

# Unmounts what is below $root but leaves its files (for inspection with chroot).
unmount_root() {
  findmnt -rn -o TARGET | awk -v r="$root/" 'index($0, r) == 1' | sort -r | xargs -r umount -l || true
}

# $base: debootstrap Debian 12 (minbase) once, as a standard install's sources (updates and security too).
make_base() {
  [ -s "$base" ] && return 0
  say "debootstrapping Debian 12 (minbase) into $base (made once)"
  command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap; } >>"$log" 2>&1
  rm -rf "$base.d"  # a failed earlier debootstrap may leave a partial tree: start it over
  debootstrap --variant=minbase bookworm "$base.d" "$fresh_mirror" >>"$log" 2>&1
  printf 'deb %s bookworm-updates main\ndeb %s-security bookworm-security main\n' "$fresh_mirror" "$fresh_mirror" \
    >>"$base.d/etc/apt/sources.list"
  rm -rf "$base.d"/var/cache/apt/archives/*.deb "$base.d"/var/lib/apt/lists/*
  tar -C "$base.d" -cf "$base.tmp" . && mv "$base.tmp" "$base" && rm -rf "$base.d"
}

# $root: a pristine copy of $base, with the host's resolver and the certificate authorities the host's
# network needs. A fresh machine of this kind trusts its network's own authorities (the host's
# /usr/local/share/ca-certificates, which reach HTTPS through an intercepting proxy); a minbase root does not,
# so pip's HTTPS to PyPI failed there ("self-signed certificate in certificate chain"), which no fresh machine
# would see. The host's bundle serves until Debian's ca-certificates is installed; that package then rebuilds
# the bundle from its own authorities and the local ones copied here.
extract_root() {
  say "extracting a pristine root into $root"
  [ ! -e "$root" ] || remove_root
  mkdir -p "$root"
  tar -C "$root" -xf "$base"
  cp -L /etc/resolv.conf "$root/etc/resolv.conf"
  if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
    mkdir -p "$root/usr/local/share/ca-certificates"
    cp -L /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
  fi
  if [ -s /etc/ssl/certs/ca-certificates.crt ]; then
    mkdir -p "$root/etc/ssl/certs"
    cp -L /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/ca-certificates.crt"
  fi
}

# Copies the working tree of $1 (tracked files and untracked ones git does not ignore; no build folders) to
# $root$2, plus the ignored paths named after it (relative to $1).
copy_tree() {
  local proj=$1 dest=$root$2 extra
  shift 2
  mkdir -p "$dest"
  # --ignore-failed-read: a tracked file the other side of a concurrent edit just deleted is skipped, not fatal.
  git -C "$proj" ls-files -z --cached --others --exclude-standard |
    tar -C "$proj" --null --ignore-failed-read -T - -cf - 2>>"$log" | tar -C "$dest" -xf -
  for extra in "$@"; do
    tar -C "$proj" -cf - "$extra" | tar -C "$dest" -xf -
  done
}

# /proc, /sys (read-only) and /dev in $root, each where the kernel allows it.
mount_system() {
  mkdir -p "$root/proc" "$root/sys" "$root/dev"
  mount -t proc proc "$root/proc" || say "could not mount /proc; going on without it"
  mount -t sysfs -o ro sysfs "$root/sys" || say "could not mount /sys; going on without it"
  { mount --rbind /dev "$root/dev" && mount --make-rslave "$root/dev"; } ||
    say "could not bind-mount /dev; using the root's own device nodes"
}

# Bind-mounts the host's $1 read-only at $root$2; returns 1 (and leaves nothing) when that is not possible.
bind_read_only() {
  mkdir -p "$root$2"
  if mount --bind "$1" "$root$2" && mount -o remount,bind,ro "$root$2"; then return 0; fi
  umount "$root$2" 2>/dev/null || true
  rmdir "$root$2" 2>/dev/null || true
  return 1
}

# Runs a command in $root as root in a clean environment (no variable of the caller's leaks in).
in_root() {
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 CI=true "$@"
}

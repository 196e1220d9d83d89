#!/usr/bin/env bash
# Installs the Debian packages named on the command line that are not installed yet (idempotent; root, or
# sudo). The one place the project's scripts install packages: tools/setup.sh, tools/fuzz.sh.
#   tools/install-packages.sh WHO PACKAGE...     WHO prefixes the message ("setup: installing ...")
#   SCN_SKIP_APT=1   do nothing
set -euo pipefail
who=$1
shift
[ "${SCN_SKIP_APT:-0}" != 1 ] || exit 0
missing=()
for p in "$@"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -gt 0 ] || exit 0
echo "$who: installing ${missing[*]}"
sudo_cmd=""
[ "$(id -u)" = 0 ] || sudo_cmd="sudo"
$sudo_cmd apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

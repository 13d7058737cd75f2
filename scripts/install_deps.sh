#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Install the Debian packages the suite needs to build and run, if missing.
# Usage: scripts/install_deps.sh [EXTRA_PACKAGE...]
# Needs root (or prints the apt-get command to run).  The kselftest files
# themselves come later, from scripts/ksft_fetch.sh.
set -euo pipefail

# gcc/make/libc6-dev: static test binaries; perl: kselftest's TAP prefixer;
# rsync: lib.mk's install; xz-utils: the linux-source tarball; procps
# (pgrep), python3 (an XML parser) and busybox-static (the QEMU lane's
# timeout): scripts/check_selftest.sh.
pkgs=(gcc make libc6-dev perl rsync xz-utils procps python3 busybox-static "$@")
missing=()
for p in "${pkgs[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
	echo "install_deps: missing packages: ${missing[*]}" >&2
	echo "install_deps: run: sudo apt-get install -y ${missing[*]}" >&2
	exit 1
fi
echo "install_deps: installing ${missing[*]}" >&2
if ! apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
	apt-get update -qq >/dev/null
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" >/dev/null
fi

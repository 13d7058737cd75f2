#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Standalone builds need kselftest's lib.mk, kselftest_harness.h, runner
# scripts and the kernel's uapi headers, and this suite never carries copies
# of them.  This unpacks just that subset of Debian's linux-source-6.12
# tarball into CACHE_DIR/linux-6.12 and runs the kernel's own
# "make headers_install" there, which gives CACHE_DIR/linux-6.12/usr/include
# (linux/kvm.h, asm/kvm.h, asm/unistd_64.h...).  Missing Debian packages are
# installed when running as root.
#
# Usage: scripts/ksft_fetch.sh CACHE_DIR      (e.g. .cache)
# Progress goes to stderr, the selftests folder to stdout; once
# CACHE_DIR/linux-6.12/.ksft-ready exists it exits at once and prints nothing.
set -euo pipefail

pkg=linux-source-6.12
tarball=/usr/src/$pkg.tar.xz
top=$pkg		# the tarball's top folder

say() { echo "ksft_fetch: $*" >&2; }
die() { say "error: $*"; exit 1; }
# Run a command, showing its output only if it fails.
quiet() {
	local out
	out=$("$@" 2>&1) || { echo "$out" >&2; die "$* failed"; }
}

if [ $# -ne 1 ] || [ -z "$1" ]; then
	echo "usage: $0 CACHE_DIR" >&2
	exit 2
fi
cache=${1%/}
dest=$cache/linux-6.12
[ -e "$dest/.ksft-ready" ] && exit 0

mkdir -p "$cache"
# Two makes may race to fetch: one does the work, the other waits for it.
# (flock is util-linux, essential on Debian; do without if it is missing.)
if command -v flock >/dev/null; then
	exec 9>"$cache/.lock"
	flock 9
	[ -e "$dest/.ksft-ready" ] && exit 0
fi

# Host tools "make headers_install" runs (it builds fixdep, unifdef and
# x86's relocs with gcc, then copies with rsync; no perl, bison or flex),
# plus xz for the tarball.  command:package.
missing=()
[ -f "$tarball" ] || missing+=("$pkg")
for t in make:make gcc:gcc rsync:rsync xz:xz-utils tar:tar; do
	command -v "${t%%:*}" >/dev/null || missing+=("${t#*:}")
done
# (Outputs are captured, not piped into grep -q: with pipefail, grep -q
# quitting early would fail the pipeline with SIGPIPE.)
if command -v dpkg-query >/dev/null &&
   [[ $(dpkg-query -W -f='${Status}' libc6-dev 2>/dev/null || :) != *"ok installed"* ]]; then
	missing+=(libc6-dev)
fi

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null; then
		[ -f "$tarball" ] || say "$tarball not found"
		say "missing: ${missing[*]}; run: sudo apt-get install ${missing[*]}"
		say "or pass KSFT_DIR=/path/to/linux/tools/testing/selftests (or KDIR=/path/to/linux) to make"
		exit 1
	fi
	for p in "${missing[@]}"; do
		if [[ $(apt-cache policy "$p" 2>/dev/null || :) != *"Candidate: "[!\(]* ]]; then
			say "apt-get update (no install candidate for $p)"
			quiet apt-get update
			break
		fi
	done
	say "apt-get install ${missing[*]}"
	quiet env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
		-o DPkg::Lock::Timeout=300 "${missing[@]}"
	[ -f "$tarball" ] || die "$tarball still missing after installing $pkg"
fi

# Archive members to unpack, relative to $top.  "make headers_install"
# (found by tracing it in a full tree, then checked from scratch) needs:
# the top Makefile; kbuild's scripts/Makefile.* and Kbuild.include; the
# sources of fixdep (scripts/basic), unifdef and the syscall header
# generators; headers_install.sh; x86's Makefile, syscall tables, uapi
# headers and tools/ (relocs is built by "archscripts", a prerequisite);
# include/uapi.  tools/include also provides relocs' le_byteshift.h.
members=(
	Makefile
	scripts/Kbuild.include
	scripts/Makefile
	'scripts/Makefile.*'
	scripts/basic
	scripts/include
	scripts/headers_install.sh
	scripts/subarch.include
	scripts/syscallhdr.sh
	scripts/syscalltbl.sh
	scripts/unifdef.c
	arch/x86/Makefile
	arch/x86/entry/syscalls
	arch/x86/include/uapi
	arch/x86/tools
	include/uapi
	tools/include
	tools/arch/x86/include
	tools/build/Build.include
	# kselftest: lib.mk, the harness headers, the runner and its helpers
	# (kselftest/runner.sh, prefix.pl, ktap_helpers.sh...), run_kselftest.sh,
	# kselftest_install.sh, gen_kselftest_tar.sh and the top Makefile.
	tools/testing/selftests/Makefile
	tools/testing/selftests/lib.mk
	'tools/testing/selftests/*.h'
	'tools/testing/selftests/*.sh'
	tools/testing/selftests/kselftest
)

# Build next to the destination and rename it into place at the end, so a
# make that does not take the lock never sees half a tree.
tmp=$cache/.linux-6.12.tmp.$$
rm -rf "$cache"/.linux-6.12.tmp.* "$dest"
trap 'rm -rf "$tmp"' EXIT
trap 'exit 1' HUP INT TERM
mkdir "$tmp"

say "extracting kselftest files and uapi headers from $tarball into $dest"
# The .xz has many blocks, so xz -T0 decompresses in parallel.  Wildcards do
# not match "/", so selftests/*.h and *.sh stay in that one folder.
tar -x -f "$tarball" -I 'xz -T0' -C "$tmp" --strip-components=1 --no-same-owner \
	--wildcards --no-wildcards-match-slash "${members[@]/#/$top/}"

say "make headers_install (ARCH=x86) into $dest/usr/include"
# A clean environment: when called from a make recipe, MAKEFLAGS (O=, CC=,
# V=...) and exported variables such as KBUILD_OUTPUT or LLVM would leak in.
env -i PATH="$PATH" ${TMPDIR:+TMPDIR="$TMPDIR"} LC_ALL=C \
	make -C "$tmp" -s -j"$(nproc 2>/dev/null || echo 2)" ARCH=x86 headers_install >&2

for f in tools/testing/selftests/lib.mk tools/testing/selftests/kselftest_harness.h \
	 tools/testing/selftests/kselftest.h tools/testing/selftests/kselftest/runner.sh \
	 tools/testing/selftests/kselftest/prefix.pl tools/testing/selftests/run_kselftest.sh \
	 usr/include/linux/kvm.h usr/include/asm/kvm.h usr/include/asm/unistd_64.h; do
	[ -f "$tmp/$f" ] || die "$f missing after extraction"
done

mv "$tmp" "$dest"
trap - EXIT
: >"$dest/.ksft-ready"
echo "$(cd "$dest" && pwd)/tools/testing/selftests"

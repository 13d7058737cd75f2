#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Rebuild the lane kernel's KVM modules (kvm.ko, kvm-amd.ko, kvm-intel.ko)
# from that kernel's exact source with patches applied, for
# `make vm_run_tests KVM_PATCH=...` and `make bug_corpus`.
#
# Usage: scripts/kvm_build.sh -k KERNELRELEASE -o OUTDIR PATCH...
#   KERNELRELEASE  the lane image's release, e.g. 6.12.118+deb12-amd64
#   OUTDIR         receives kvm.ko, kvm-amd.ko, kvm-intel.ko and MANIFEST
#   PATCH          patch files (-p1, against the kernel source), applied in
#                  the order given; none builds the stock modules
#
# The source is Debian's linux-source-6.12 tarball; its version must be the
# image's (both are named when they differ, and nothing is built).  The
# image's .config and Module.symvers come from linux-headers-KERNELRELEASE
# and its -common package (apt-get download + dpkg -x: nothing is installed
# into the boot set-up).  The prepared tree (olddefconfig, modules_prepare,
# one stock build of arch/x86/kvm) is cached in .cache/kvm/KERNELRELEASE/:
# the first run takes a few minutes and says what it does, later runs
# restore the KVM sources to the pristine tarball's (git, in the cache),
# apply the patches and rebuild only what they touch.  Only the KVM modules
# are rebuilt, so a patch may touch only arch/x86/kvm/, virt/kvm/ and
# headers under include/ and arch/x86/include/.
#
# Exit status: 0 built; 1 a patch does not apply or the build failed (the
# patch's hunk or the compiler's last lines are printed); 2 usage or set-up
# error (e.g. the versions differ).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
log() { echo "kvm_build: $*" >&2; }
die() { log "error: $*"; exit 2; }
fail() { log "error: $*"; exit 1; }
usage() {
	sed -n '4,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

kver= out=
while getopts "k:o:h" opt; do
	case $opt in
	k) kver=$OPTARG ;;
	o) out=$OPTARG ;;
	h) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$kver" ] && [ -n "$out" ] || { usage >&2; exit 2; }
patches=()
for p in "$@"; do
	[ -r "$p" ] && [ -f "$p" ] || die "patch '$p': no such readable file"
	patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
done

# The compiler Debian built the image with (its CONFIG_CC_VERSION_TEXT).
cc=x86_64-linux-gnu-gcc-12
"$here/scripts/install_deps.sh" linux-source-6.12 gcc-12 flex bison bc libelf-dev libssl-dev \
	dwarves kmod xz-utils git
tarball=/usr/src/linux-source-6.12.tar.xz
[ -r "$tarball" ] || die "$tarball missing after installing linux-source-6.12"

# 6.12.118+deb12-amd64 -> upstream 6.12.118; the source package's version
# 6.12.118-1~deb12u1 -> 6.12.118.
kbase=${kver%%+*}
kbase=${kbase%%-*}
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
srcbase=${srcver%%-*}
if [ "$kbase" != "$srcbase" ]; then
	die "the lane kernel is $kver (upstream $kbase) but linux-source-6.12 is $srcver" \
	    "(upstream $srcbase): the modules would not be built from that kernel's source." \
	    "Pick the matching image with KERNEL= (apt-cache search linux-image-$srcbase)" \
	    "or update the source (apt-get install linux-source-6.12)"
fi

cache=$here/.cache/kvm/$kver
src=$cache/src
mkdir -p "$cache"
exec 9>"$cache/lock"
if ! flock -n 9; then
	log "waiting for another KVM build in $cache"
	flock 9
fi

kmake() {
	env -i PATH="$PATH" HOME="${HOME:-/root}" LC_ALL=C \
		make -C "$src" ARCH=x86 CC="$cc" RUSTC=/nonexistent KERNELRELEASE="$kver" \
		-j"$(nproc)" "$@"
}
# Paths a patch may touch: what `git` in the cache tracks and restores.
kvm_paths=(arch/x86/kvm virt/kvm arch/x86/include include)

prepare() {
	local t0 hdr common d
	t0=$(date +%s)
	log "first use for $kver: preparing $src (a few minutes, once)"
	rm -rf "$cache/src" "$cache/headers" "$cache/.src.tmp"
	mkdir -p "$cache/headers" "$cache/.src.tmp"
	hdr=linux-headers-$kver
	common=linux-headers-${kver%-amd64}-common
	log "fetching $hdr and $common (apt-get download, unpacked with dpkg -x)"
	(cd "$cache/headers" && { apt-get download "$hdr" "$common" >/dev/null 2>&1 ||
		{ apt-get update -qq >/dev/null && apt-get download "$hdr" "$common" >/dev/null; }; }) ||
		die "apt-get download $hdr $common failed"
	for d in "$cache"/headers/*.deb; do dpkg -x "$d" "$cache/headers/root"; done
	rm -f "$cache"/headers/*.deb
	d=$cache/headers/root/usr/src/$hdr
	[ -r "$d/.config" ] && [ -r "$d/Module.symvers" ] ||
		die "$hdr has no .config or Module.symvers"

	log "unpacking $tarball ($srcver)"
	tar -x -f "$tarball" -I 'xz -T0' -C "$cache/.src.tmp" --strip-components=1 --no-same-owner
	mv "$cache/.src.tmp" "$src"
	# A snapshot of the sources a patch may touch, taken before anything
	# is built (-f: Debian's top-level .gitignore ignores every path).
	log "recording the pristine KVM sources (git, in the cache)"
	(cd "$src" && git init -q && git add -f -- "${kvm_paths[@]}" &&
	 git -c user.name=kvm_build -c user.email=kvm_build@localhost \
		commit -q -m "linux-source $srcver" ) >"$cache/prepare.log" 2>&1 ||
		die "git snapshot of $src failed (see $cache/prepare.log)"
	cp "$d/.config" "$src/.config"
	log "olddefconfig + modules_prepare with $($cc -dumpfullversion) (Debian's config)"
	kmake -s olddefconfig >>"$cache/prepare.log" 2>&1 ||
		{ tail -n 20 "$cache/prepare.log" >&2; die "olddefconfig failed"; }
	if ! cmp -s "$d/.config" "$src/.config"; then
		log "note: olddefconfig changed Debian's .config:"
		diff "$d/.config" "$src/.config" | grep '^[<>] CONFIG' | head -n 10 >&2 || true
	fi
	kmake -s modules_prepare >>"$cache/prepare.log" 2>&1 ||
		{ tail -n 20 "$cache/prepare.log" >&2; die "modules_prepare failed"; }
	cp "$d/Module.symvers" "$src/Module.symvers"
	log "stock build of arch/x86/kvm (later builds are incremental)"
	kmake M=arch/x86/kvm modules >>"$cache/prepare.log" 2>&1 ||
		{ tail -n 20 "$cache/prepare.log" >&2; die "stock KVM build failed"; }
	: >"$cache/.ready"
	log "prepared in $(( $(date +%s) - t0 )) s"
}
[ -e "$cache/.ready" ] || prepare

cd "$src"
# Back to the tarball's sources: reset rewrites only changed files, so the
# next build recompiles only what the previous patch (or this one) touched;
# files the previous patches created are listed in $cache/added.
git reset -q --hard
if [ -e "$cache/added" ]; then
	xargs -r rm -f -- <"$cache/added"
	rm -f "$cache/added"
fi

names=()
for p in "${patches[@]}"; do
	# The files the patch touches must be ones this build recompiles.
	bad=$(sed -n 's#^+++ [^/]*/\([^[:space:]]*\).*#\1#p' "$p" | grep -v -E \
		'^(arch/x86/kvm/|virt/kvm/|include/|arch/x86/include/)' || true)
	[ -z "$bad" ] || fail "$(basename "$p") touches $bad: only the KVM modules are rebuilt" \
		"(arch/x86/kvm, virt/kvm and headers)"
	grep -q '^+++ ' "$p" || fail "$(basename "$p"): no unified diff in it"
	if ! msg=$(patch -p1 -N --dry-run --no-backup-if-mismatch -i "$p" 2>&1); then
		echo "$msg" | sed 's/^/  /' >&2
		fail "$p does not apply to linux-source $srcver (hunks above)"
	fi
	sed -n '/^--- \/dev\/null/{n;s#^+++ [^/]*/\([^[:space:]]*\).*#\1#p}' "$p" >>"$cache/added"
	patch -p1 -N -s --no-backup-if-mismatch -i "$p" >/dev/null
	names+=("$(basename "$p")")
done

t0=$(date +%s)
log "building kvm.ko, kvm-amd.ko, kvm-intel.ko ($kver${names[*]:+ + ${names[*]}})"
if ! kmake M=arch/x86/kvm modules >"$cache/build.log" 2>&1; then
	grep -E ': error:|^ERROR:' "$cache/build.log" | head -n 10 >&2 || true
	echo "---- last lines of the build ($cache/build.log) ----" >&2
	tail -n 15 "$cache/build.log" >&2
	fail "the KVM build failed with ${names[*]:-no patch}"
fi

mkdir -p "$out"
rm -f "$out"/*.ko "$out/MANIFEST"
for m in kvm kvm-amd kvm-intel; do
	cp "arch/x86/kvm/$m.ko" "$out/$m.ko"
done
{
	echo "kernel $kver, source linux-source-6.12 $srcver"
	echo "patches: ${names[*]:-none (stock)}"
	(cd "$out" && sha256sum kvm.ko kvm-amd.ko kvm-intel.ko)
} >"$out/MANIFEST"
log "built in $(( $(date +%s) - t0 )) s into $out"

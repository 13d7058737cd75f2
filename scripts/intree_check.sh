#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Demonstrate in-tree mode: place this suite at tools/testing/selftests/kvm
# of a kernel tree (Debian's linux-source-6.12, the kselftest subset that
# scripts/ksft_fetch.sh unpacks, with its uapi headers installed) in place of
# upstream's, and run the kernel's own command:
#
#     make -C tools/testing/selftests TARGETS=kvm run_tests
#
# Every binary must build and run; a binary may end "not ok" only if one of
# its tests is a known failure on this platform (x86_64/known_failures).
#
# Usage: scripts/intree_check.sh [KERNEL_TREE]   (default: the fetched subset)
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
cache=$here/.cache
"$here/scripts/install_deps.sh" git	# git ls-files picks the suite's files below

if [ $# -ge 1 ]; then
	src=$(cd "$1" && pwd)
else
	"$here/scripts/ksft_fetch.sh" "$cache" >/dev/null
	src=$cache/linux-6.12
fi
[ -f "$src/tools/testing/selftests/kselftest_harness.h" ] ||
	{ echo "intree_check: $src is not a kernel tree with selftests" >&2; exit 2; }
[ -d "$src/usr/include/linux" ] ||
	{ echo "intree_check: run 'make headers_install' in $src first" >&2; exit 2; }

# A private copy, so the standalone cache is never modified.
tree=$cache/intree
echo "intree_check: kernel tree copy at $tree, suite at tools/testing/selftests/kvm" >&2
rm -rf "$tree"
mkdir -p "$tree"
(cd "$src" && tar -cf - --exclude=./tools/testing/selftests/kvm .) | (cd "$tree" && tar -xf -)
kvm=$tree/tools/testing/selftests/kvm
mkdir -p "$kvm"
# Tracked files plus new ones not yet committed (never build output or caches).
(cd "$here" && git ls-files -z --cached --others --exclude-standard |
	tar --null -T - -cf -) | (cd "$kvm" && tar -xf -)

log=$cache/intree-run_tests.log
set +e
make -C "$tree/tools/testing/selftests" TARGETS=kvm run_tests >"$log" 2>&1
rc=$?
set -e

platform=kvm
for m in kvm_pvm kvm_intel kvm_amd; do
	[ -d "/sys/module/$m" ] && { platform=$m; break; }
done
allowed=$(awk -v p="$platform" '$1 == p { print $2 }' "$here/x86_64/known_failures" |
	sed 's|.*/||' | sort -u)

expected=$(cd "$here" && ls -- x86_64/*_test.c lib_tests/*_test.c ltp/*.c | sed 's|.*/||; s/\.c$//' | sort)

# check_log LOG WHAT: every binary ran; "not ok" only where known failures allow.
check_log() {
	local log=$1 what=$2 t line ran=0 bad=0
	for t in $expected; do
		line=$(grep -E "^(not )?ok [0-9]+ selftests: kvm: $t( |$)" "$log" || true)
		if [ -z "$line" ]; then
			echo "intree_check: $what: $t did not run" >&2
			bad=$((bad + 1))
			continue
		fi
		ran=$((ran + 1))
		case "$line" in
		"not ok"*)
			if echo "$allowed" | grep -qx "$t" && ! echo "$line" | grep -q TIMEOUT; then
				echo "intree_check: $what: $t: not ok (has known failures on $platform)"
			else
				echo "intree_check: $what: $t: $line" >&2
				bad=$((bad + 1))
			fi ;;
		*)	echo "intree_check: $what: $t: ok" ;;
		esac
	done
	echo "intree_check: $what: $ran of $(echo "$expected" | wc -w) binaries ran, $bad unexpected;" \
	     "log $log"
	if [ $bad -ne 0 ]; then
		tail -n 80 "$log" >&2
		exit 1
	fi
}

echo "intree_check: make run_tests exited $rc"
check_log "$log" run_tests

# The route CI farms take: kselftest install, then run_kselftest.sh -c kvm
# from the installed tree (what gen_kselftest_tar.sh packs).
inst=$cache/intree-install
rm -rf "$inst"
make -C "$tree/tools/testing/selftests" TARGETS=kvm install INSTALL_PATH="$inst" \
	>"$cache/intree-install.log" 2>&1 ||
	{ tail -n 40 "$cache/intree-install.log" >&2; echo "intree_check: install failed" >&2; exit 1; }
grep -q '^kvm:' "$inst/kselftest-list.txt" ||
	{ echo "intree_check: no kvm tests in $inst/kselftest-list.txt" >&2; exit 1; }
set +e
"$inst/run_kselftest.sh" -c kvm >"$cache/intree-run_kselftest.log" 2>&1
set -e
check_log "$cache/intree-run_kselftest.log" run_kselftest.sh

#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Which of LTP's own KVM test sources build against the suite: each *.c of
# LTP_DIR is built on its own as build/ltp_ext/<name> (the Makefile's
# LTP_KVM_SRC= rule, the two passes of every LTP-form test), and one line
# per file says "built" or "FAILED" with the compiler's first error.  A
# failure does not stop the others.  Documentation/ltp-api.md, "LTP's own
# sources".
#
# Usage: scripts/ltp_ext_report.sh LTP_DIR [MAKE] [BUILD_DIR]
#   LTP_DIR    LTP's testcases/kernel/kvm (or any folder of LTP-form *.c)
#   MAKE       the make to run (default: make)
#   BUILD_DIR  the suite's build folder (default: build)
# Exits 0 if every file built, 1 if any failed, 2 on a usage error.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)

usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^Exits/p' "$0"
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
"") echo "ltp_ext_report: LTP_DIR missing (LTP_KVM_SRC=; see -h)" >&2; exit 2 ;;
-*) echo "ltp_ext_report: unknown option '$1' (see -h)" >&2; exit 2 ;;
esac
src=$(cd "$1" 2>/dev/null && pwd) || { echo "ltp_ext_report: no folder '$1'" >&2; exit 2; }
make_cmd=${2:-make}
build=$(cd "${3:-$here/build}" 2>/dev/null && pwd) || { echo "ltp_ext_report: no build folder ${3:-}" >&2; exit 2; }

shopt -s nullglob
files=("$src"/*.c)
[ ${#files[@]} -gt 0 ] || { echo "ltp_ext_report: no *.c in $src" >&2; exit 2; }

log=$(mktemp)
trap 'rm -f "$log"' EXIT
built=0
failed=0
printf '# LTP sources in %s\n' "$src"
for f in "${files[@]}"; do
	name=$(basename "$f" .c)
	if $make_cmd -s -C "$here" LTP_KVM_SRC="$src" "$build/ltp_ext/$name" >"$log" 2>&1; then
		printf '%-24s built   %s\n' "$name" "$build/ltp_ext/$name"
		built=$((built + 1))
	else
		err=$(grep -m1 -E 'error|undefined reference' "$log" || tail -n 1 "$log")
		printf '%-24s FAILED  %s\n' "$name" "$err"
		failed=$((failed + 1))
	fi
done
printf '# %d built, %d failed\n' "$built" "$failed"
[ $failed -eq 0 ]

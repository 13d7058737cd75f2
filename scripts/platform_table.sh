#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Which tests ran where: one line per test binary, one column per KVM
# platform, from the results.tap files of check.sh runs.
#
# Usage: scripts/platform_table.sh NAME=results.tap [NAME=results.tap...]
#   e.g. kvm_pvm=build/results.tap kvm_amd=build/platforms/kvm_amd/results.tap
# A cell counts the binary's results: P passed, X expected failures, S
# skipped, F failed (failures, timeouts, crashes); "-" when it did not run.
# `make platform_table` runs the host and both lanes and calls this.
set -euo pipefail

if [ $# -eq 0 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	sed -n '4,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
	[ $# -eq 0 ] && exit 2
	exit 0
fi
names=() files=()
for a in "$@"; do
	case "$a" in
	*=*) ;;
	*) echo "platform_table: '$a' is not NAME=results.tap" >&2; exit 2 ;;
	esac
	[ -r "${a#*=}" ] || { echo "platform_table: ${a#*=}: not readable" >&2; exit 2; }
	names+=("${a%%=*}")
	files+=("${a#*=}")
done

# Per file: "binary verdict" lines (verdict p, x, s or f).
verdicts() {
	sed -n 's/^\(not \)\{0,1\}ok [0-9]* \([^ :]*\)[^#]*\(# \(SKIP\|TODO\|[A-Z]*\)\)\{0,1\}.*/\1|\2|\4/p' "$1" |
	awk -F'|' '{
		v = "p"
		if ($3 == "SKIP") v = "s"
		else if ($3 == "TODO") v = "x"
		else if ($1 != "") v = "f"
		print $2, v
	}'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for i in "${!files[@]}"; do
	verdicts "${files[$i]}" >"$tmp/$i"
done
binaries=$(cat "$tmp"/* | awk '{print $1}' | LC_ALL=C sort -u)

widths=()
printf '%-24s' "test binary"
for n in "${names[@]}"; do
	w=${#n}
	[ "$w" -ge 10 ] || w=10
	widths+=("$w")
	printf ' %-*s' "$w" "$n"
done
printf '\n'
for b in $binaries; do
	b_short=${b#x86_64/}
	printf '%-24s' "${b_short#lib_tests/}"
	for i in "${!files[@]}"; do
		cell=$(awk -v b="$b" '$1 == b { c[$2]++ } END {
			s = ""
			if (c["p"]) s = s c["p"] "P "
			if (c["x"]) s = s c["x"] "X "
			if (c["s"]) s = s c["s"] "S "
			if (c["f"]) s = s c["f"] "F "
			print (s == "" ? "-" : s)
		}' "$tmp/$i")
		printf ' %-*s' "${widths[$i]}" "${cell% }"
	done
	printf '\n'
done

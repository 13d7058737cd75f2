#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make stress RUNS=N [JOBS=M]: run the suite N times and list every result
# whose verdict changed between runs (the flake guard).  Each run's TAP is
# kept in BUILD/stress/run-K.tap.  Exit status: 1 if any verdict changed.
# Usage: stress.sh BUILD RUNS [check.sh options and tests], e.g. the lane's
# "make vm_run_tests STRESS=20" passes its per-test timeout and TESTS.
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${1:?usage: stress.sh BUILD RUNS}
runs=${2:?usage: stress.sh BUILD RUNS}
shift 2
case "$runs" in ''|0|*[!0-9]*) echo "stress: RUNS wants a count >= 1, got '$runs'" >&2; exit 2 ;; esac
out=$build/stress
rm -rf "$out" && mkdir -p "$out"

declare -A first=() changed=() seen=()
for ((k = 1; k <= runs; k++)); do
	# Through this bash: the lane's initramfs has no /usr/bin/env.
	rm -f "$build/results.tap"
	"$BASH" "$here/scripts/check.sh" --build "$build" "$@" > "$out/run-$k.log" 2>&1
	if ! grep -q '^\(not \)\{0,1\}ok ' "$build/results.tap" 2>/dev/null; then
		tail -n 20 "$out/run-$k.log" >&2
		echo "stress: run $k/$runs gave no results (log: $out/run-$k.log)" >&2
		exit 2
	fi
	cp "$build/results.tap" "$out/run-$k.tap"
	# Keep the logs of a run that failed: the next run overwrites build/logs.
	grep -q '^not ok .* # \(FAIL\|TIMEOUT\|XPASS\)' "$out/run-$k.tap" &&
		cp -r "$build/logs" "$out/run-$k-logs"
	echo "stress: run $k/$runs: $(tail -n 1 "$out/run-$k.log")"
	# "ok N name # ..." / "not ok N name # KIND": the verdict is ok/not ok + directive kind.
	while IFS= read -r line; do
		[[ $line =~ ^(not\ )?ok\ [0-9]+\ ([^ ]+)(\ #\ ([A-Z]+))? ]] || continue
		name=${BASH_REMATCH[2]}
		v="${BASH_REMATCH[1]:+not }ok ${BASH_REMATCH[4]:-}"
		seen[$name]=$(( ${seen[$name]:-0} + 1 ))
		if [ -z "${first[$name]+x}" ]; then
			first[$name]=$v
		elif [ "${first[$name]}" != "$v" ]; then
			changed[$name]="run 1: ${first[$name]}, run $k: $v"
		fi
	done < "$out/run-$k.tap"
done

# A result that is missing from some runs changed too (e.g. a binary-level failure).
for name in "${!seen[@]}"; do
	[ "${seen[$name]}" -eq "$runs" ] || changed[$name]="reported in ${seen[$name]} of $runs runs"
done

if [ ${#changed[@]} -eq 0 ]; then
	echo "stress: $runs runs, ${#first[@]} results, no verdict changed"
	exit 0
fi
echo "stress: verdicts that changed over $runs runs:"
for name in "${!changed[@]}"; do
	echo "  $name: ${changed[$name]}"
done
exit 1

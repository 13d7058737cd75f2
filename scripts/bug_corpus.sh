#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make bug_corpus: run the suite in the lane once per bugs/*.patch, each
# time against KVM modules rebuilt with that one patch, and say which bugs
# the suite caught.  A patch is caught when a test its header names under
# Caught-by fails (with --all, any test of the suite).
#
# Usage: scripts/bug_corpus.sh [--all] [--lint] [NAME...]
#   NAME    patches to run: bugs/NAME.patch, NAME.patch or a path (default:
#           every bugs/*.patch)
#   --all   run the whole suite per patch, not only its Caught-by tests
#   --lint  only check the headers (bugs/README), run nothing
# Settings (environment): JOBS= lanes at a time (default: the CPU count),
# BUILD= the suite's build folder, and vm_run.sh's KERNEL, MODULES, CPU,
# ACCEL, TIMEOUT.
#
# Outputs: a table (patch, area, lane, verdict, failing tests), the kill
# rate per area and overall, in BUILD/bug_corpus/summary; each patch's run
# (console.log, results.tap, logs, vm_run's own output in run.log) in
# BUILD/bug_corpus/NAME/.  Exit status: 0 when every patch whose header says
# Catchable: yes was caught, 1 when one was missed or could not run, 2 on a
# usage or header error.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$here/build}
log() { echo "bug_corpus: $*" >&2; }
die() { log "error: $*"; exit 2; }
usage() {
	sed -n '4,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}

all= lint_only=
names=()
for a in "$@"; do
	case "$a" in
	--all) all=1 ;;
	--lint) lint_only=1 ;;
	-h|--help) usage; exit 0 ;;
	-*) usage >&2; die "unknown option '$a'" ;;
	*) names+=("$a") ;;
	esac
done
jobs=${JOBS:-$(nproc)}
case "$jobs" in ''|*[!0-9]*|0) die "JOBS must be a positive number, got '$jobs'" ;; esac

patches=()
if [ ${#names[@]} -eq 0 ]; then
	mapfile -t patches < <(find "$here/bugs" -maxdepth 1 -name '*.patch' -type f | LC_ALL=C sort)
	[ ${#patches[@]} -gt 0 ] || die "no bugs/*.patch"
fi
for n in "${names[@]}"; do
	for p in "$n" "$here/bugs/$n" "$here/bugs/$n.patch"; do
		[ -f "$p" ] && break
	done
	[ -f "$p" ] || die "no patch '$n' (looked for $n, bugs/$n, bugs/$n.patch)"
	patches+=("$(cd "$(dirname "$p")" && pwd)/$(basename "$p")")
done

# field PATCH NAME: a header field's value (the text before the diff).
field() {
	sed -n -e '/^diff \|^--- /q' -e "s/^$2:[[:space:]]*//p" "$1" | head -n 1
}
# The lane a patch runs in: the first of its Lanes.
first_lane() {
	field "$1" Lanes | tr ',' ' ' | awk '{print $1}'
}
areas="mce pio mmio coalesced-io ioeventfd emulator events msr-cpuid regs debug mmu memslot dirty-log nested-svm nested-vmx lapic ioapic irq pic pit smm tsc kvmclock"

# Header check: every field there, known area and lanes, existing tests.
lint() {	# lint PATCH -> prints problems
	local p=$1 f v t
	for f in Bug Area Rule Upstream Lanes Caught-by Catchable; do
		[ -n "$(field "$p" "$f")" ] || echo "no $f: field"
	done
	v=$(field "$p" Area)
	[ -z "$v" ] || [[ " $areas " == *" $v "* ]] || echo "Area: '$v' is not one of: $areas"
	for v in $(field "$p" Lanes | tr ',' ' '); do
		case "$v" in amd|amd-shadow|intel|intel-shadow) ;;
		*) echo "Lanes: '$v' is not amd, amd-shadow, intel or intel-shadow" ;; esac
	done
	for t in $(field "$p" Caught-by); do
		[ -f "$here/${t%%:*}.c" ] || echo "Caught-by: no test ${t%%:*} (${t%%:*}.c)"
	done
	case "$(field "$p" Catchable)" in yes|"no: "?*) ;;
	*) echo "Catchable: must be 'yes' or 'no: <reason>'" ;; esac
	grep -q '^+++ ' "$p" || echo "no unified diff"
}
bad=0
for p in "${patches[@]}"; do
	problems=$(lint "$p")
	if [ -n "$problems" ]; then
		printf '%s\n' "$problems" | sed "s|^|bug_corpus: $(basename "$p"): |" >&2
		bad=1
	fi
done
[ "$bad" = 0 ] || die "header errors above (format: bugs/README)"
if [ -n "$lint_only" ]; then
	log "${#patches[@]} patch headers well-formed"
	exit 0
fi

[ -d "$build/x86_64" ] || die "no test binaries in $build/x86_64: run make first"
out=$build/bug_corpus
rm -rf "$out" && mkdir -p "$out"

# run_one PATCH: one lane run; writes $out/NAME/verdict ("caught|missed|
# error" and the failing tests).
run_one() {
	local p=$1 name lane tdp vendor tests rc failed named t start
	name=$(basename "$p" .patch)
	start=$(date +%s)
	lane=$(first_lane "$p")
	mkdir -p "$out/$name"
	case "$lane" in
	amd|intel) tdp=1 ;;
	*-shadow) tdp=0 ;;
	esac
	vendor=${lane%-shadow}
	tests=
	[ -n "$all" ] || tests=$(field "$p" Caught-by | tr ' ' '\n' | sed 's/:.*//' | sort -u | tr '\n' ' ')
	rc=0
	BUILD=$build RESULTS=$out/$name TDP=$tdp VENDOR=$vendor TESTS="$tests" KVM_PATCH="$p" \
		"$here/scripts/vm_run.sh" >"$out/$name.run.log" 2>&1 || rc=$?
	mv "$out/$name.run.log" "$out/$name/run.log"
	echo $(( $(date +%s) - start )) >"$out/$name/seconds"
	failed=$(grep '^not ok' "$out/$name/results.tap" 2>/dev/null | grep -v '# TODO' |
		 sed 's/^not ok [0-9]* \([^ ]*\).*/\1/' | tr '\n' ' ' || true)
	named=
	for t in $(field "$p" Caught-by); do
		case " $failed" in *" ${t%%:*}:"*|*" $t "*) named=1 ;; esac
	done
	if [ "$rc" = 0 ]; then
		echo "missed" >"$out/$name/verdict"
	elif [ -z "$failed" ]; then
		echo "error vm_run exit $rc, no failing test ($(grep -E '^(vm_run|kvm_build): ' \
			"$out/$name/run.log" | tail -n 1))" >"$out/$name/verdict"
	elif [ -n "$named" ]; then
		echo "caught $failed" >"$out/$name/verdict"
	else
		echo "caught-other $failed" >"$out/$name/verdict"
	fi
}

t0=$(date +%s)
scope="Caught-by tests only"
[ -z "$all" ] || scope="the whole suite"
log "${#patches[@]} patches, $jobs lanes at a time, $scope; runs in $out/"
running=0
for p in "${patches[@]}"; do
	if [ "$running" -ge "$jobs" ]; then
		wait -n || true
		running=$((running - 1))
	fi
	log "start $(basename "$p" .patch) (lane $(first_lane "$p"))"
	run_one "$p" &
	running=$((running + 1))
done
wait || true

# The table and the kill rates.
declare -A a_total a_caught
total=0 caught=0 historic=0 uncatchable=0 missed_list=()
{
	printf '%-40s %-10s %-10s %-21s %5s %s\n' PATCH AREA LANE VERDICT SECS "FAILING TESTS"
	for p in "${patches[@]}"; do
		name=$(basename "$p" .patch)
		area=$(field "$p" Area)
		lane=$(first_lane "$p")
		read -r verdict rest <"$out/$name/verdict" || verdict=error
		[ "$(field "$p" Upstream)" = none ] || historic=$((historic + 1))
		if [[ "$(field "$p" Catchable)" == no* ]]; then
			uncatchable=$((uncatchable + 1))
			verdict="$verdict(not-counted)"
		else
			total=$((total + 1))
			a_total[$area]=$(( ${a_total[$area]:-0} + 1 ))
			case "$verdict" in
			caught|caught-other)
				caught=$((caught + 1))
				a_caught[$area]=$(( ${a_caught[$area]:-0} + 1 )) ;;
			*) missed_list+=("$name") ;;
			esac
		fi
		printf '%-40s %-10s %-10s %-21s %5s %s\n' "$name" "$area" "$lane" "$verdict" \
			"$(cat "$out/$name/seconds" 2>/dev/null || echo -)" "$rest"
	done
	echo
	echo "kill rate per area (caught / catchable):"
	for area in $areas; do
		[ -n "${a_total[$area]:-}" ] || continue
		printf '  %-10s %d/%d\n' "$area" "${a_caught[$area]:-0}" "${a_total[$area]}"
	done
	echo "overall: $caught/$total caught ($(( total ? caught * 100 / total : 0 ))%);" \
	     "${#patches[@]} patches, $historic re-introduce historic bugs," \
	     "$uncatchable not catchable on these lanes; $(( $(date +%s) - t0 )) s"
	[ ${#missed_list[@]} -eq 0 ] || echo "missed or not run: ${missed_list[*]}"
} >"$out/summary"
cat "$out/summary"
[ ${#missed_list[@]} -eq 0 ]

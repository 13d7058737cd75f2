#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: run the host unit tests and every test binary, read their TAP,
# apply the known-failures list for this platform, and exit non-zero on any
# unexpected result (an unlisted failure, a listed failure that passed, a
# crash or timeout, or a stale list entry).
#
# Usage: scripts/check.sh --build DIR [--known FILE] [--platform NAME]
#                         [--timeout SEC] [--jobs N] [--no-unit] [TEST...]
#
# --jobs N (or JOBS=N) runs N binaries at once.  Each binary has its own
# timeout and log (DIR/logs/); a live progress line shows on a terminal;
# the end is a table (pass/skip/xfail/fail/timeout, time per binary, the
# five slowest) and DIR/results.tap and DIR/junit.xml for CI systems.
#
# Kernel log: where the kernel log is readable, each binary's new kernel
# lines are checked.  WARN/BUG/Oops/KASAN/lockdep lines fail the binary; a
# KVM internal-error line fails it unless the binary had an expected
# failure (the known platform limitations show up exactly that way) or its
# own output shows it saw and judged a KVM_EXIT_INTERNAL_ERROR (like
# iofuzz's restarts).  The lines are kept beside a failing binary's log (.kmsg).
# With --jobs > 1 a kernel line is attributed to every binary running when
# it was logged; as KVM's internal-error lines rarely name a process, they
# then fail nothing (they are still shown with a failing binary's log).  CHECK_PLANT_KMSG_WARN=NAME (test-only) writes a WARNING
# line to /dev/kmsg while binary NAME runs, to show the check works.
#
# The last line is always "check: N passed, N failed, N skipped".
# Runs with GNU coreutils or busybox (the QEMU lane's initramfs).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=
known=$here/x86_64/known_failures
platform=
timeout=
jobs=${JOBS:-1}
run_unit=1
only=()

usage() {
	cat <<'EOF2'
Usage: scripts/check.sh --build DIR [--known FILE] [--platform NAME]
                        [--timeout SEC] [--jobs N] [--no-unit] [TEST...]
Runs build/unit/*_unit, build/lib_tests/*_test, build/x86_64/*_test and build/ltp/* and
build/ltp_ext/* (LTP sources built with LTP_KVM_SRC=) (or
only the TESTs named, e.g. x86_64/exception_test), N at a time, applies the
known-failures list for the platform (kvm_pvm, kvm_intel, kvm_amd; detected
from /sys/module), and exits non-zero on any unexpected result.  Logs go to
DIR/logs/, TAP to DIR/results.tap, JUnit XML to DIR/junit.xml.
EOF2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--known) known=$2; shift 2 ;;
	--platform) platform=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
	--jobs) jobs=$2; shift 2 ;;
	--no-unit) run_unit=0; shift ;;
	-h|--help) usage; exit 0 ;;
	-*) echo "check.sh: unknown option '$1' (see --help)" >&2; exit 2 ;;
	*) only+=("$1"); shift ;;
	esac
done
[ -n "$build" ] || { echo "check.sh: --build DIR is required" >&2; exit 2; }
[ -d "$build" ] || { echo "check.sh: no build folder '$build'" >&2; exit 2; }
if [ -z "$timeout" ]; then
	timeout=$(sed -n 's/^timeout=//p' "$here/settings")
fi
case "$timeout" in ''|*[!0-9]*) echo "check.sh: bad timeout '$timeout'" >&2; exit 2 ;; esac
case "$jobs" in ''|0|*[!0-9]*) echo "check.sh: --jobs wants a count >= 1, got '$jobs'" >&2
	exit 2 ;; esac

# The platform names the KVM implementation; known failures are per platform.
if [ -z "$platform" ]; then
	platform=kvm
	for m in kvm_pvm kvm_intel kvm_amd; do
		if [ -d "/sys/module/$m" ]; then platform=$m; break; fi
	done
fi
# A loaded module without its device (seen: kvm_pvm with no /dev/kvm) runs
# nothing: say so once, rather than leave 150 SKIP lines to explain it.
[ -e /dev/kvm ] || echo "# no /dev/kvm here: every test that needs KVM SKIPs (platform $platform)"

logdir=$build/logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 xfail=0 xpass=0 timeouts=0
failed_names=()
declare -a tap_lines=() junit_cases=() times=()

# Known failures: "platform binary subtest evidence...", '#' comments.
declare -A known_entry known_seen
if [ -r "$known" ]; then
	while read -r plat bin sub evidence; do
		case "$plat" in ''|'#'*) continue ;; esac
		if [ -z "$evidence" ]; then
			echo "check.sh: $known: entry '$plat $bin $sub' names no evidence" >&2
			exit 2
		fi
		[ "$plat" = "$platform" ] || continue
		known_entry["$bin:$sub"]=$evidence
	done < "$known"
fi

# Milliseconds since boot or epoch: GNU date has %N, busybox date doesn't.
if [[ $(date +%N) =~ ^[0-9]+$ ]]; then
	now_ms() { echo $(( $(date +%s%N) / 1000000 )); }
else
	now_ms() { local u; read -r u _ < /proc/uptime; echo $(( ${u/./} * 10 )); }
fi
# GNU timeout spells the kill grace period --kill-after, busybox -k.
if timeout --kill-after=1 1 true 2>/dev/null; then
	timeout_args=(timeout --kill-after=5)
else
	timeout_args=(timeout -k 5)
fi

# Kernel log: marker lines around each binary where /dev/kmsg is writable.
kmsg_state=off
if dmesg >/dev/null 2>&1 && { echo "kvm-suite-check: begin $$" > /dev/kmsg; } 2>/dev/null; then
	kmsg_state=on
else
	echo "# kernel log unreadable or /dev/kmsg not writable: no kernel-log checks"
fi
kmsg_tag() { echo "kvm-suite-check: $1 $2 $$"; }	# kmsg_tag start|end NAME
kmsg_between() {	# the kernel lines logged while NAME ran
	dmesg | awk -v s="$(kmsg_tag start "$1")" -v e="$(kmsg_tag end "$1")" \
		'index($0, e) { exit } f && !index($0, "kvm-suite-check: ") { print } index($0, s) { f = 1 }'
}
KMSG_BAD='WARNING:|BUG:|Oops|general protection fault|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|Kernel panic|kernel BUG'
KMSG_KVM_ERR='INTERNAL_ERROR|internal error|emulation failure'

tty=0
[ -t 1 ] && [ "${CHECK_PROGRESS:-1}" != 0 ] && tty=1
progress_clear() { [ $tty -eq 1 ] && printf '\r\033[K'; }

verdict() {	# verdict KIND NAME [DETAIL]
	progress_clear
	printf '%-7s %s%s\n' "$1" "$2" "${3:+  ($3)}"
}

# The replacements are quoted: bash 5.2's patsub_replacement makes an
# unquoted & in them stand for the matched text.
xml_escape() {
	local s=${1//&/'&amp;'}
	s=${s//</'&lt;'}
	s=${s//>/'&gt;'}
	s=${s//\"/'&quot;'}
	printf '%s' "$s"
}

# Record one result for TAP and JUnit.
record() {	# record KIND NAME DETAIL
	local kind=$1 name=$2 detail=${3:-} n=$(( ${#tap_lines[@]} + 1 )) bin=${2%%:*} sub=${2#*:}
	local d x
	d=$(printf '%s' "$detail" | tr '\n' ' ')
	x=$(xml_escape "$d")
	case "$kind" in
	PASS) tap_lines+=("ok $n $name")
	      junit_cases+=("<testcase classname=\"$bin\" name=\"$(xml_escape "$sub")\"/>") ;;
	SKIP) tap_lines+=("ok $n $name # SKIP $d")
	      junit_cases+=("<testcase classname=\"$bin\" name=\"$(xml_escape "$sub")\"><skipped message=\"$x\"/></testcase>") ;;
	XFAIL) tap_lines+=("not ok $n $name # TODO known failure: $d")
	       junit_cases+=("<testcase classname=\"$bin\" name=\"$(xml_escape "$sub")\"><skipped message=\"expected failure: $x\"/></testcase>") ;;
	*) tap_lines+=("not ok $n $name # $kind ${d}")
	   junit_cases+=("<testcase classname=\"$bin\" name=\"$(xml_escape "$sub")\"><failure message=\"$kind: $x\"/></testcase>") ;;
	esac
}

result() {	# result KIND NAME [DETAIL]: count, print, record
	case "$1" in
	PASS) pass=$((pass + 1)) ;;
	SKIP) skip=$((skip + 1)) ;;
	XFAIL) xfail=$((xfail + 1)) ;;
	XPASS) xpass=$((xpass + 1)); failed_names+=("$2") ;;
	TIMEOUT) timeouts=$((timeouts + 1)); fail=$((fail + 1)); failed_names+=("$2") ;;
	*) fail=$((fail + 1)); failed_names+=("$2") ;;
	esac
	verdict "$@"
	record "$@"
}

# Run one binary: its log, and beside it its exit status and time.
exec_binary() {	# exec_binary PATH NAME
	local path=$1 name=$2 log start rc pgid
	log=$logdir/${name//\//_}.log
	rm -f "$log.kmsg"
	[ $kmsg_state = on ] && echo "$(kmsg_tag start "$name")" > /dev/kmsg
	start=$(now_ms)
	# In a session of its own, so that whatever the binary left behind (a
	# forked test child after a timeout: busybox's timeout kills only its
	# direct child) goes with its process group.
	(cd "$(dirname "$path")" && exec setsid "${timeout_args[@]}" "$timeout" \
		"./$(basename "$path")") >"$log" 2>&1 &
	pgid=$!
	wait "$pgid"
	rc=$?
	kill -KILL -- "-$pgid" 2>/dev/null
	if [ "${CHECK_PLANT_KMSG_WARN:-}" = "$name" ] && [ $kmsg_state = on ]; then
		echo "WARNING: CPU: 0 PID: $$ at arch/x86/kvm/x86.c:1 planted_by_check_sh+0x0/0x10 [kvm]" \
			> /dev/kmsg
	fi
	[ $kmsg_state = on ] && echo "$(kmsg_tag end "$name")" > /dev/kmsg
	echo "$rc $(( $(now_ms) - start ))" > "$log.status"
}

# Turn a finished binary's TAP, exit status and kernel lines into verdicts.
judge_binary() {	# judge_binary NAME
	local name=$1 log rc ms seen=0 before=$((fail + xfail)) failed_before=${#failed_names[@]}
	local planned=
	log=$logdir/${name//\//_}.log
	read -r rc ms < "$log.status"
	rm -f "$log.status"
	times+=("$ms $name")

	while IFS= read -r line; do
		local ok sub directive
		if [[ -z $planned && $line =~ ^1\.\.([0-9]+) ]]; then
			planned=${BASH_REMATCH[1]}
			continue
		fi
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ ([^#]*[^#\ ])(\ #\ (.*))?$ ]]; then
			ok=${BASH_REMATCH[1]:-ok}
			sub=${BASH_REMATCH[2]}
			directive=${BASH_REMATCH[4]:-}
		else
			continue
		fi
		seen=$((seen + 1))
		local key="$name:$sub"
		if [ -n "${known_entry[$key]+x}" ]; then
			known_seen["$key"]=1
		fi
		if [[ $directive == SKIP* ]]; then
			result SKIP "$key" "${directive#SKIP }"
		elif [ "$ok" = ok ]; then
			if [ -n "${known_entry[$key]+x}" ]; then
				result XPASS "$key" "listed as a known failure of $platform but passed"
			else
				result PASS "$key"
			fi
		elif [ -n "${known_entry[$key]+x}" ]; then
			result XFAIL "$key" "${known_entry[$key]}"
		else
			result FAIL "$key"
		fi
	done < "$log"

	# A binary that died, timed out or skipped as a whole.  GNU timeout
	# exits 124 (137 after its KILL), busybox's 143 (its TERM).
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] ||
	   { [ "$rc" -eq 143 ] && [ "$ms" -ge $((timeout * 1000)) ]; }; then
		result TIMEOUT "$name" "timeout after ${timeout}s"
	elif [ $seen -eq 0 ] && [ "$rc" -eq 4 ]; then
		result SKIP "$name" "$(grep -m1 -o 'SKIP.*' "$log" || true)"
	elif [ $seen -eq 0 ]; then
		result FAIL "$name" "exit $rc, no TAP result"
	elif [ "$rc" -gt 128 ]; then
		# Even after an expected failure: a crash is never one.
		result FAIL "$name" "killed by signal $((rc - 128)) after $seen result(s)"
	elif [ -n "$planned" ] && [ "$seen" -lt "$planned" ]; then
		result FAIL "$name" "$planned results planned (TAP 1..$planned), $seen reported"
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 4 ] && [ $((fail + xfail)) -eq $before ]; then
		result FAIL "$name" "exit $rc although no result failed"
	fi
	if [ $kmsg_state = on ]; then
		local klog bad kvmerr
		klog=$(kmsg_between "$name")
		bad=$(grep -E "$KMSG_BAD" <<<"$klog" || true)
		kvmerr=$(grep -E "$KMSG_KVM_ERR" <<<"$klog" || true)
		if [ -n "$bad" ]; then
			result FAIL "$name" "kernel log: $(head -n1 <<<"$bad")"
		elif [ -n "$kvmerr" ] && [ "$jobs" -eq 1 ] && [ $((fail + xfail)) -eq $before ] &&
		     ! grep -q INTERNAL_ERROR "$log"; then
			result FAIL "$name" "kernel log: $(head -n1 <<<"$kvmerr")"
		fi
		# A failing binary gets the kernel's view of its run beside its log.
		if [ -n "$bad$kvmerr" ] || [ "${#failed_names[@]}" -gt "$failed_before" ]; then
			[ -n "$klog" ] && echo "$klog" > "$log.kmsg"
		fi
	fi
	progress_clear
	printf '        %s: %d.%03ds, log %s\n' "$name" $((ms / 1000)) $((ms % 1000)) "$log"
	if [ "${#failed_names[@]}" -gt "$failed_before" ]; then
		# The binary's own account first, then what the kernel said meanwhile.
		grep -v '^ok \|^#  *OK \|^#  RUN ' "$log" | sed 's/^/        | /' | tail -n 60
		if [ -s "$log.kmsg" ]; then
			echo "        | ---- kernel log during $name (last 20 of $(wc -l < "$log.kmsg") lines," \
			     "all in $log.kmsg) ----"
			tail -n 20 "$log.kmsg" | sed 's/^/        | /'
		fi
	fi
}

collect() {	# collect DIR PATTERN
	local f
	for f in "$build/$1"/$2; do
		[ -x "$f" ] || continue
		echo "$f"
	done
}

selected() {	# selected NAME -> 0 if no filter or NAME matches one
	local n
	[ ${#only[@]} -eq 0 ] && return 0
	for n in "${only[@]}"; do
		[ "$n" = "$1" ] || [ "$n" = "$(basename "$1")" ] && return 0
	done
	return 1
}

echo "# kvm suite check: platform $platform, timeout ${timeout}s, jobs $jobs, build $build"
programs=()
if [ $run_unit -eq 1 ]; then
	mapfile -t -O "${#programs[@]}" programs < <(collect unit '*_unit')
fi
mapfile -t -O "${#programs[@]}" programs < <(collect lib_tests '*_test')
mapfile -t -O "${#programs[@]}" programs < <(collect x86_64 '*_test')
mapfile -t -O "${#programs[@]}" programs < <(collect ltp '*')
mapfile -t -O "${#programs[@]}" programs < <(collect ltp_ext '*')
queue=()
for p in "${programs[@]}"; do
	selected "${p#"$build"/}" && queue+=("$p")
done
if [ ${#queue[@]} -eq 0 ]; then
	echo "check.sh: no test binaries matched in $build" >&2
	exit 2
fi

# Run the queue, at most $jobs at a time; judge each as it finishes.
start_all=$(now_ms)
declare -A running=()	# pid -> name
done_count=0
show_progress() {
	[ $tty -eq 1 ] || return 0
	printf '\r\033[K[%d/%d] %d passed %d failed | running: %s' "$done_count" "${#queue[@]}" \
		"$pass" "$((fail + xpass))" "$(printf '%s ' "${running[@]}" | cut -c1-60)"
}
next=0
while [ $next -lt ${#queue[@]} ] || [ ${#running[@]} -gt 0 ]; do
	while [ $next -lt ${#queue[@]} ] && [ ${#running[@]} -lt "$jobs" ]; do
		p=${queue[$next]}
		exec_binary "$p" "${p#"$build"/}" &
		running[$!]=${p#"$build"/}
		next=$((next + 1))
	done
	show_progress
	wait -n 2>/dev/null || true
	for pid in "${!running[@]}"; do
		if ! kill -0 "$pid" 2>/dev/null; then
			wait "$pid" 2>/dev/null
			judge_binary "${running[$pid]}"
			unset "running[$pid]"
			done_count=$((done_count + 1))
		fi
	done
done
progress_clear
wall=$(( $(now_ms) - start_all ))

# A list entry for this platform that matched nothing is stale (renamed or
# fixed test): the list must stay short and true.
if [ ${#only[@]} -eq 0 ]; then
	for key in "${!known_entry[@]}"; do
		if [ -z "${known_seen[$key]+x}" ]; then
			result FAIL "$key" "stale entry in $(basename "$known"): no such result"
		fi
	done
fi

# Machine-readable results.
{
	echo "TAP version 13"
	echo "1..${#tap_lines[@]}"
	printf '%s\n' "${tap_lines[@]}"
} > "$build/results.tap"
{
	echo '<?xml version="1.0" encoding="UTF-8"?>'
	printf '<testsuites><testsuite name="kvm-suite (%s)" tests="%d" failures="%d" skipped="%d" time="%d.%03d">\n' \
		"$platform" "${#tap_lines[@]}" "$((fail + xpass))" "$((skip + xfail))" \
		$((wall / 1000)) $((wall % 1000))
	printf '%s\n' "${junit_cases[@]}"
	echo '</testsuite></testsuites>'
} > "$build/junit.xml"

echo
echo "# pass $pass  skip $skip  xfail $xfail  fail $((fail - timeouts + xpass))  timeout $timeouts" \
     " (wall $((wall / 1000)).$(printf '%03d' $((wall % 1000)))s, $jobs jobs)"
echo "# slowest:"
printf '%s\n' "${times[@]}" | sort -rn | head -n 5 |
	while read -r ms name; do printf '#   %6d.%03ds  %s\n' $((ms / 1000)) $((ms % 1000)) "$name"; done
echo "# results: $build/results.tap, $build/junit.xml; logs: $logdir/"
echo "# expected failures (known-failures list, $platform): $xfail; unexpected passes: $xpass"
if [ ${#failed_names[@]} -gt 0 ]; then
	printf '# unexpected: %s\n' "${failed_names[@]}"
fi
echo "check: $pass passed, $((fail + xpass)) failed, $skip skipped"
[ $((fail + xpass)) -eq 0 ]

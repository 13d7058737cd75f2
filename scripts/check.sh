#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make check: run the host unit tests and every test binary, read their TAP,
# apply the known-failures list for this platform, and exit non-zero on any
# unexpected result (an unlisted failure, a listed failure that passed, a
# crash or timeout, or a stale list entry).
#
# Usage: scripts/check.sh --build DIR [--known FILE] [--platform NAME]
#                         [--timeout SEC] [--no-unit] [TEST...]
#
# Kernel log: where the kernel log is readable, each binary's new kernel
# lines are checked.  WARN/BUG/Oops/KASAN/lockdep lines fail the binary; a
# KVM internal-error line fails it unless the binary had an expected
# failure (the known platform limitations show up exactly that way).  The
# lines are printed with the binary's log.  (A binary whose own output
# shows it saw and judged a KVM_EXIT_INTERNAL_ERROR, like iofuzz's
# restarts, has explained it.)  CHECK_PLANT_KMSG_WARN=NAME is a
# test-only mode that writes a WARNING line to /dev/kmsg while binary NAME
# runs, to show the check works.
#
# Runs with GNU coreutils or busybox (the QEMU lane's initramfs).
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
build=
known=$here/x86_64/known_failures
platform=
timeout=
run_unit=1
only=()

usage() {
	cat <<'EOF2'
Usage: scripts/check.sh --build DIR [--known FILE] [--platform NAME]
                        [--timeout SEC] [--no-unit] [TEST...]
Runs build/unit/*_unit and build/x86_64/*_test (or only the TESTs named,
e.g. x86_64/exception_test), applies the known-failures list for the
platform (kvm_pvm, kvm_intel, kvm_amd; detected from /sys/module), and exits
non-zero on any unexpected result.  Logs go to DIR/logs/.
EOF2
}

while [ $# -gt 0 ]; do
	case "$1" in
	--build) build=$2; shift 2 ;;
	--known) known=$2; shift 2 ;;
	--platform) platform=$2; shift 2 ;;
	--timeout) timeout=$2; shift 2 ;;
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

# The platform names the KVM implementation; known failures are per platform.
if [ -z "$platform" ]; then
	platform=kvm
	for m in kvm_pvm kvm_intel kvm_amd; do
		if [ -d "/sys/module/$m" ]; then platform=$m; break; fi
	done
fi

logdir=$build/logs
mkdir -p "$logdir"
pass=0 fail=0 skip=0 xfail=0 xpass=0
failed_names=()

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
	run_timeout() { timeout --kill-after=5 "$@"; }
else
	run_timeout() { timeout -k 5 "$@"; }
fi

# Kernel log: a marker line per binary where /dev/kmsg is writable, else a
# line count (wrong only if the ring buffer wraps during one binary).
kmsg_state=unread
kmsg_mark() {	# kmsg_mark NAME -> sets kmsg_from
	if ! dmesg >/dev/null 2>&1; then
		if [ "$kmsg_state" = unread ]; then
			echo "# kernel log unreadable (dmesg: permission?): no kernel-log checks"
		fi
		kmsg_state=off
		return
	fi
	kmsg_state=on
	kmsg_tag="kvm-suite-check: start $1 $$"
	if { echo "$kmsg_tag" > /dev/kmsg; } 2>/dev/null; then
		kmsg_from=tag
	else
		kmsg_from=$(dmesg | wc -l)
	fi
}
kmsg_new() {	# the kernel lines since kmsg_mark
	if [ "$kmsg_from" = tag ]; then
		dmesg | awk -v t="$kmsg_tag" 'f; index($0, t) { f = 1 }'
	else
		dmesg | tail -n +$((kmsg_from + 1))
	fi
}
KMSG_BAD='WARNING:|BUG:|Oops|general protection fault|KASAN|UBSAN|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|Kernel panic|kernel BUG'
KMSG_KVM_ERR='INTERNAL_ERROR|internal error|emulation failure'

verdict() {	# verdict KIND NAME [DETAIL]
	printf '%-6s %s%s\n' "$1" "$2" "${3:+  ($3)}"
}

# Run one binary, then turn each TAP result line into a verdict.
run_binary() {
	local path=$1 name=$2 log rc start secs seen=0 before=$((fail + xfail))
	log=$logdir/${name//\//_}.log
	kmsg_mark "$name"
	start=$(now_ms)
	(cd "$(dirname "$path")" && run_timeout "$timeout" "./$(basename "$path")") \
		>"$log" 2>&1
	rc=$?
	secs=$(( $(now_ms) - start ))
	if [ "${CHECK_PLANT_KMSG_WARN:-}" = "$name" ] && [ "$kmsg_state" = on ]; then
		echo "WARNING: CPU: 0 PID: $$ at arch/x86/kvm/x86.c:1 planted_by_check_sh+0x0/0x10 [kvm]" \
			> /dev/kmsg
	fi

	while IFS= read -r line; do
		local ok sub directive
		if [[ $line =~ ^(not\ )?ok\ [0-9]+\ ([^#]*[^#\ ])(\ #\ (.*))?$ ]]; then
			ok=${BASH_REMATCH[1]:-ok}
			sub=${BASH_REMATCH[2]}
			directive=${BASH_REMATCH[4]:-}
		else
			continue
		fi
		seen=1
		local key="$name:$sub"
		if [ -n "${known_entry[$key]+x}" ]; then
			known_seen["$key"]=1
		fi
		if [[ $directive == SKIP* ]]; then
			skip=$((skip + 1)); verdict SKIP "$key" "${directive#SKIP }"
		elif [ "$ok" = ok ]; then
			if [ -n "${known_entry[$key]+x}" ]; then
				xpass=$((xpass + 1)); failed_names+=("$key")
				verdict XPASS "$key" "listed as a known failure of $platform but passed"
			else
				pass=$((pass + 1)); verdict PASS "$key"
			fi
		else
			if [ -n "${known_entry[$key]+x}" ]; then
				xfail=$((xfail + 1)); verdict XFAIL "$key" "${known_entry[$key]}"
			else
				fail=$((fail + 1)); failed_names+=("$key"); verdict FAIL "$key"
			fi
		fi
	done < "$log"

	# A binary that died, timed out or skipped as a whole.
	if [ $rc -eq 124 ] || [ $rc -eq 137 ]; then
		fail=$((fail + 1)); failed_names+=("$name"); verdict FAIL "$name" "timeout after ${timeout}s"
	elif [ $seen -eq 0 ] && [ $rc -eq 4 ]; then
		skip=$((skip + 1)); verdict SKIP "$name" "$(grep -m1 -o 'SKIP.*' "$log" || true)"
	elif [ $seen -eq 0 ]; then
		fail=$((fail + 1)); failed_names+=("$name"); verdict FAIL "$name" "exit $rc, no TAP result"
	elif [ $rc -ne 0 ] && [ $rc -ne 4 ] && [ $((fail + xfail)) -eq $before ]; then
		fail=$((fail + 1)); failed_names+=("$name")
		verdict FAIL "$name" "exit $rc although no result failed"
	fi
	if [ "$kmsg_state" = on ]; then
		local klog bad kvmerr
		klog=$(kmsg_new)
		bad=$(grep -E "$KMSG_BAD" <<<"$klog" || true)
		kvmerr=$(grep -E "$KMSG_KVM_ERR" <<<"$klog" || true)
		if [ -n "$bad" ]; then
			fail=$((fail + 1)); failed_names+=("$name")
			verdict FAIL "$name" "kernel log: $(head -n1 <<<"$bad")"
		elif [ -n "$kvmerr" ] && [ $((fail + xfail)) -eq $before ] &&
		     ! grep -q INTERNAL_ERROR "$log"; then
			fail=$((fail + 1)); failed_names+=("$name")
			verdict FAIL "$name" "kernel log: $(head -n1 <<<"$kvmerr")"
		fi
		# A failing binary gets the kernel's view of its run appended.
		if [ -n "$bad$kvmerr" ] || [ "${#failed_names[@]}" -gt "$failed_before" ]; then
			[ -n "$klog" ] && { echo "---- kernel log during $name ----"; echo "$klog"; } >> "$log"
		fi
	fi
	printf '       %s: %d.%03ds, log %s\n' "$name" $((secs / 1000)) $((secs % 1000)) "$log"
	if [ "${#failed_names[@]}" -gt "$failed_before" ]; then
		sed 's/^/       | /' "$log" | tail -n 60
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

echo "# kvm suite check: platform $platform, timeout ${timeout}s, build $build"
programs=()
if [ $run_unit -eq 1 ]; then
	mapfile -t -O "${#programs[@]}" programs < <(collect unit '*_unit')
fi
mapfile -t -O "${#programs[@]}" programs < <(collect x86_64 '*_test')
ran=0
for p in "${programs[@]}"; do
	name=${p#"$build"/}
	selected "$name" || continue
	failed_before=${#failed_names[@]}
	run_binary "$p" "$name"
	ran=$((ran + 1))
done
if [ $ran -eq 0 ]; then
	echo "check.sh: no test binaries matched in $build" >&2
	exit 2
fi

# A list entry for this platform that matched nothing is stale (renamed or
# fixed test): the list must stay short and true.
if [ ${#only[@]} -eq 0 ]; then
	for key in "${!known_entry[@]}"; do
		if [ -z "${known_seen[$key]+x}" ]; then
			fail=$((fail + 1)); failed_names+=("$key")
			verdict FAIL "$key" "stale entry in $(basename "$known"): no such result"
		fi
	done
fi

echo
echo "# expected failures (known-failures list, $platform): $xfail; unexpected passes: $xpass"
if [ ${#failed_names[@]} -gt 0 ]; then
	printf '# unexpected: %s\n' "${failed_names[@]}"
fi
echo "check: $pass passed, $((fail + xpass)) failed, $skip skipped"
[ $((fail + xpass)) -eq 0 ]

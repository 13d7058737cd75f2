#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The command-line contract of every test binary (developers' guide: "-h
# prints usage; a bad option or value prints a clear error and exits
# non-zero"), checked on the binaries of a build folder:
#   -h                exits 0 and prints "Usage"
#   -r no_such_test   exits non-zero, names the test in an error, runs nothing
#   -Z (no option)    exits non-zero with an error
#   a stray argument  exits non-zero with an error
# x86_64/iofuzz_test (a self-check with its own options) and the programs
# that are built but not run (bench/*, tools/*) take no test names: -h, -Z
# and a stray argument are checked there.
#
# Usage: scripts/cli_check.sh [BUILD_DIR]     (default: build)
# One line per binary; exits 1 if any check failed, 2 on a usage error.
# Needs no /dev/kvm: no check runs a test.
set -uo pipefail

usage() {
	sed -n 's/^# \{0,1\}//; /^Usage:/,/^Needs/p' "$0"
}

case "${1:-}" in
-h|--help) usage; exit 0 ;;
-*) echo "cli_check: unknown option '$1' (see -h)" >&2; exit 2 ;;
esac
[ $# -le 1 ] || { echo "cli_check: one build folder at most (see -h)" >&2; exit 2; }
build=${1:-build}
[ -d "$build/x86_64" ] || { echo "cli_check: no $build/x86_64 (build first)" >&2; exit 2; }

# A correct binary answers each of these at once; a broken one might start
# running its tests, which the timeout cuts short (and which then fails).
LIMIT=20
out=$(mktemp) || exit 2
trap 'rm -f "$out"' EXIT

# run ARGS...: the binary's exit status in $rc, stdout+stderr in $out.
run() {
	timeout -k 5 "$LIMIT" "$bin" "$@" >"$out" 2>&1 </dev/null
	rc=$?
}

# expect_error WHAT PATTERN ARGS...: non-zero exit, PATTERN in the output,
# and no TAP plan (no test was started).
expect_error() {
	local what=$1 pattern=$2

	shift 2
	run "$@"
	if [ "$rc" -eq 0 ]; then
		problems+=("$what exited 0")
	elif [ "$rc" -ge 124 ]; then
		problems+=("$what: timed out or crashed (exit $rc)")
	elif ! grep -qi -- "$pattern" "$out"; then
		problems+=("$what: exit $rc but no error naming '$pattern'")
	elif grep -q '^1\.\.' "$out"; then
		problems+=("$what: exit $rc but it printed a TAP plan")
	fi
}

failed=0
checked=0
for bin in "$build"/lib_tests/*_test "$build"/x86_64/*_test "$build"/ltp/* "$build"/ltp_ext/* \
	   "$build"/bench/* \
	   "$build"/tools/*; do
	[ -f "$bin" ] && [ -x "$bin" ] || continue
	case "$bin" in *.o|*.d) continue ;; esac
	name=${bin#"$build"/}
	problems=()
	checked=$((checked + 1))

	run -h
	if [ "$rc" -ne 0 ]; then
		problems+=("-h exited $rc")
	elif ! grep -q 'Usage' "$out"; then
		problems+=("-h printed no 'Usage'")
	fi
	expect_error "-Z" "-Z\|option" -Z
	case "$name" in
	x86_64/iofuzz_test|bench/*|tools/*)
		expect_error "stray argument" "no_such_arg" no_such_arg ;;
	*)
		expect_error "-r no_such_test" "no_such_test" -r no_such_test
		expect_error "stray argument" "no_such_arg" no_such_arg ;;
	esac

	if [ ${#problems[@]} -eq 0 ]; then
		printf 'ok    %s\n' "$name"
	else
		failed=$((failed + 1))
		printf 'FAIL  %s: %s\n' "$name" "$(IFS=';'; echo "${problems[*]}" | sed 's/;/; /g')"
	fi
done

if [ "$checked" -eq 0 ]; then
	echo "cli_check: no test binaries in $build/x86_64" >&2
	exit 2
fi
echo "cli_check: $checked binaries, $failed failed"
[ "$failed" -eq 0 ]

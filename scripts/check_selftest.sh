#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# Self-test of scripts/check.sh, the runner behind `make check`: the
# verdicts it gives decide whether CI is green, so they are checked here
# against fake test binaries (shell scripts printing TAP) and a fake
# known-failures list for a made-up platform.  No KVM needed; ~3 s.
#
# Usage: scripts/check_selftest.sh      (exit 0: every expectation held)
set -uo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/build/x86_64"
failures=0

fake() {	# fake NAME EXIT_CODE TAP_LINES...: a test binary printing TAP
	local name=$1 rc=$2
	shift 2
	{
		echo '#!/bin/sh'
		echo 'echo "TAP version 13"'
		for l in "$@"; do printf 'echo "%s"\n' "$l"; done
		echo "exit $rc"
	} > "$tmp/build/x86_64/$name"
	chmod +x "$tmp/build/x86_64/$name"
}

# One binary per situation the runner must judge.
fake a_pass_test 0 "ok 1 kvm.works"
fake b_fail_test 1 "ok 1 kvm.fine" "not ok 2 kvm.broken"
fake c_xfail_test 1 "not ok 1 kvm.listed_and_fails"
fake d_xpass_test 0 "ok 1 kvm.listed_but_passes"
fake e_skip_test 0 "ok 1 kvm.skipped # SKIP no frobnicator (needs CONFIG_FROB)"
fake f_noresult_test 0 "# said nothing"
fake g_crash_test 139 "ok 1 kvm.before_the_crash"
fake h_wholeskip_test 4 "1..0 # SKIP no /dev/kvm"
# A hung binary whose forked child would outlive it: both must go.
# The child's duration is unique to this run, so that no other "sleep" on
# the machine is taken for it.
orphan="sleep 300.$$"
printf '#!/bin/sh\n%s &\nsleep 30\n' "$orphan" > "$tmp/build/x86_64/i_hang_test"
chmod +x "$tmp/build/x86_64/i_hang_test"
fake j_xfail_crash_test 139 "1..2" "not ok 1 kvm.listed_then_crash"
fake k_short_plan_test 0 "1..3" "ok 1 kvm.one" "ok 2 kvm.two"

cat > "$tmp/known" <<'EOF'
# platform binary subtest evidence
fakeplat x86_64/c_xfail_test kvm.listed_and_fails SDM says so; reproducer: this
fakeplat x86_64/d_xpass_test kvm.listed_but_passes KVM used to get this wrong
fakeplat x86_64/a_pass_test kvm.renamed_long_ago a stale entry
fakeplat x86_64/j_xfail_crash_test kvm.listed_then_crash "quoted" <evidence> & more
otherplat x86_64/b_fail_test kvm.broken listed for another platform only
EOF

CHECK_PROGRESS=0 "$here/scripts/check.sh" --build "$tmp/build" --known "$tmp/known" \
	--platform fakeplat --timeout 1 --no-unit > "$tmp/out" 2>&1
rc=$?

expect() {	# expect REGEX WHAT
	if grep -Eq -- "$1" "$tmp/out"; then
		echo "ok   $2"
	else
		echo "FAIL $2 (no line matching '$1')"
		failures=$((failures + 1))
	fi
}

expect '^PASS +x86_64/a_pass_test:kvm.works$' "a passing test is PASS"
expect '^FAIL +x86_64/b_fail_test:kvm.broken$' \
	"an unlisted failure is FAIL (other platform's entry ignored)"
expect '^XFAIL +x86_64/c_xfail_test:kvm.listed_and_fails +\(SDM says so' \
	"a listed failure is XFAIL with its evidence"
expect '^XPASS +x86_64/d_xpass_test:kvm.listed_but_passes' "a listed failure that passes is XPASS"
expect '^SKIP +x86_64/e_skip_test:kvm.skipped +\(no frobnicator' "a SKIP keeps its reason"
expect '^FAIL +x86_64/f_noresult_test +\(exit 0, no TAP result' "a binary with no result fails"
expect '^FAIL +x86_64/g_crash_test +\(killed by signal 11 after 1 result' \
	"a crash after passing results fails"
expect '^FAIL +x86_64/j_xfail_crash_test +\(killed by signal 11' \
	"a crash after an expected failure fails"
expect '^FAIL +x86_64/k_short_plan_test +\(3 results planned \(TAP 1..3\), 2 reported' \
	"fewer results than the TAP plan fails"
expect '^SKIP +x86_64/h_wholeskip_test' "a binary that skips as a whole (exit 4) is SKIP"
expect '^TIMEOUT +x86_64/i_hang_test +\(timeout after 1s' "a hung binary is TIMEOUT"
expect '^FAIL +x86_64/a_pass_test:kvm.renamed_long_ago +\(stale entry' "a stale list entry fails"
expect '^check: 5 passed, 8 failed, 2 skipped$' "the summary line counts"
if [ $rc -ne 0 ]; then
	echo "ok   check.sh exits non-zero on unexpected results"
else
	echo "FAIL check.sh exited 0 on unexpected results"
	failures=$((failures + 1))
fi
no_orphan() {	# no_orphan WHAT: the hung binary's forked child is gone
	if pgrep -f "$orphan" >/dev/null; then
		echo "FAIL the hung binary's child outlived the timeout ($1)"
		pkill -f "$orphan"
		failures=$((failures + 1))
	else
		echo "ok   a timeout takes the binary's children with it ($1)"
	fi
}
no_orphan "$(timeout --version 2>/dev/null | head -n 1 | grep -q GNU && echo GNU || echo this) timeout"
# GNU timeout signals its whole process group by itself; busybox's (the QEMU
# lane's) only its child, so check.sh's own group kill is what is tested.
if command -v busybox >/dev/null && busybox timeout 1 true 2>/dev/null; then
	echo "# nothing listed" > "$tmp/known2"
	mkdir -p "$tmp/bb" "$tmp/bbuild/x86_64"	# a build of its own: results.tap is read below
	ln -s "$(command -v busybox)" "$tmp/bb/timeout"
	ln -s "$(command -v busybox)" "$tmp/bb/setsid"
	cp "$tmp/build/x86_64/i_hang_test" "$tmp/bbuild/x86_64/"
	PATH=$tmp/bb:$PATH CHECK_PROGRESS=0 "$here/scripts/check.sh" --build "$tmp/bbuild" \
		--known "$tmp/known2" --platform fakeplat --timeout 1 --no-unit \
		> "$tmp/out_bb" 2>&1
	if grep -Eq '^TIMEOUT +x86_64/i_hang_test' "$tmp/out_bb"; then
		echo "ok   a hung binary is TIMEOUT (busybox timeout)"
	else
		echo "FAIL a hung binary under busybox timeout:"; sed 's/^/     /' "$tmp/out_bb"
		failures=$((failures + 1))
	fi
	no_orphan "busybox timeout"
else
	echo "skip busybox timeout checks: no busybox here"
fi
# JUnit must parse: evidence with quotes, <, > and & is escaped.
if python3 -c 'import sys, xml.dom.minidom as m; m.parse(sys.argv[1])' \
	"$tmp/build/junit.xml" 2>"$tmp/xml.err"; then
	echo "ok   junit.xml is well-formed XML"
else
	echo "FAIL junit.xml: $(tail -n 1 "$tmp/xml.err")"
	failures=$((failures + 1))
fi
grep -q '^not ok [0-9]* x86_64/c_xfail_test:kvm.listed_and_fails # TODO' "$tmp/build/results.tap" &&
	grep -q '<failure message="XPASS' "$tmp/build/junit.xml" &&
	echo "ok   results.tap marks XFAIL as TODO, junit.xml fails the XPASS" ||
	{ echo "FAIL results.tap / junit.xml content"; failures=$((failures + 1)); }

# Only expected results: exit 0.
rm -f "$tmp/build/x86_64/"[b-k]_*_test
echo "# nothing listed" > "$tmp/known2"
if CHECK_PROGRESS=0 "$here/scripts/check.sh" --build "$tmp/build" --known "$tmp/known2" \
	--platform fakeplat --no-unit > "$tmp/out2" 2>&1; then
	echo "ok   check.sh exits 0 when every result is expected"
else
	echo "FAIL check.sh failed a clean run:"; sed 's/^/     /' "$tmp/out2"
	failures=$((failures + 1))
fi

if [ $failures -ne 0 ]; then
	echo "check_selftest: $failures expectation(s) failed; check.sh said:"
	sed 's/^/     /' "$tmp/out"
	exit 1
fi
echo "check_selftest: check.sh verdicts as expected"

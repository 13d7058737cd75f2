/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The controller pass of an LTP-form KVM test (kvm_test.h without
 * COMPILE_PAYLOAD): the subset of LTP's struct tst_test and host test API
 * that LTP's KVM tests use, over the suite's KVM host library (tst_kvm.h).
 * lib/tst_ltp.c runs it.
 *
 * The binary is one kselftest test named after the program: "1..1", the
 * results as "# file:line: TPASS: message" lines, then one verdict from
 * all of them (tst_kvm_verdict()): any TFAIL, TBROK or TWARN -> "not ok"
 * (exit 1) with the first of them; else any TCONF -> "ok ... # SKIP" with
 * its message (exit 4); else a TPASS -> "ok" (exit 0); nothing at all ->
 * "not ok".  TINFO lines are only printed.
 *
 * Options: -h usage, -i N iterations (each calls .test_all, or .test for
 * each of .tcnt cases, and must report a result; tst_kvm_run() gives each
 * iteration a fresh VM), -l lists the test's name, -r NAME runs it by name.
 * A bad option or argument exits 1 with an error, before any TAP output.
 *
 * Of struct tst_test: .setup, .cleanup, .test_all, .test with .tcnt,
 * .needs_root (TCONF unless root), .supported_archs (TCONF unless
 * "x86_64" is listed), .tags (printed as "# linux-git"/"# CVE" lines with
 * links), .tconf_msg (the test only reports that TCONF; see
 * TST_TEST_TCONF).  .min_kver is accepted and ignored: the suite runs on the
 * KVM under test whatever the kernel version.  For LTP's own sources
 * (Documentation/ltp-api.md): .needs_kconfigs (TCONF unless the kernel's
 * config, from KCONFIG_PATH, /proc/config.gz or /boot/config-<release>,
 * has each "CONFIG_X" or "CONFIG_X=v"; TCONF if there is no config to
 * read), .needs_drivers (TCONF unless /sys/module/<name> exists or
 * modules.dep/modules.builtin list it), .min_cpus (TCONF with fewer CPUs
 * online), .save_restore (tst_ltp.h; saved and set before setup, restored
 * at exit).  tst_cmd(), tst_parse_int(), SAFE_CLOSE, SAFE_SIGACTION, and
 * the headers tst_module.h, tst_safe_pthread.h and tst_safe_clocks.h.
 */
#ifndef KVM_SUITE_KVM_HOST_H
#define KVM_SUITE_KVM_HOST_H

#ifdef COMPILE_PAYLOAD
#error "kvm_host.h is the controller pass of kvm_test.h"
#endif

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "tst_kvm.h"
#include "tst_ltp.h"

/*
 * tst_kvm_run_instance(inst) is the document's; LTP's tests now also call
 * tst_kvm_run_instance(inst, exp_errno), which returns int
 * (tst_kvm_run_instance_errno()).  The argument count picks the function;
 * a declaration with the document's prototype still names the first.
 */
#define TST_KVM_PICK_(_1, _2, name, ...)	name
#define tst_kvm_run_instance(...)						\
	TST_KVM_PICK_(__VA_ARGS__, tst_kvm_run_instance_errno,			\
		      tst_kvm_run_instance, _)(__VA_ARGS__)

/* A controller that only reports TCONF: for a test that cannot run here. */
#define TST_TEST_TCONF(message)							\
	static struct tst_test test = { .tconf_msg = message }

/*
 * LTP's own scheme: main() is here, and the test file defines the
 * tentatively declared "static struct tst_test test".
 */
static struct tst_test test;

int main(int argc, char **argv)
{
	return tst_run_tcases(argc, argv, &test);
}

#endif /* KVM_SUITE_KVM_HOST_H */

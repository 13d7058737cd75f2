// SPDX-License-Identifier: GPL-2.0-only
/*
 * The driver of LTP-form tests (include/kvm_host.h): options, the struct
 * tst_test phases, the host tst_res()/tst_brk(), and the one kselftest
 * verdict of the binary.  Results are counted in tst_kvm_results, where
 * tst_kvm_run_instance() counts the guest's too.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "kselftest.h"
#include "test_util.h"
#include "tst_kvm.h"
#include "tst_ltp.h"

int TST_ERR;

static struct tst_test *cur_test;
static const char *test_name = "ltp_test";
static bool tap_started, cleaning_up;

static void vreport(const char *file, int lineno, int ttype, const char *fmt, va_list ap)
{
	int type = ttype & ~(TERRNO | TTERRNO);
	char msg[1024];
	size_t len;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	len = strlen(msg);
	if (ttype & TERRNO)
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(errno));
	else if (ttype & TTERRNO)
		snprintf(msg + len, sizeof(msg) - len, ": %s", strerror(TST_ERR));
	if (tst_result_index(type) < 0) {
		printf("# %s:%d: TBROK: invalid result type %d: %s\n", file, lineno, type, msg);
		tst_kvm_count(&tst_kvm_results, TBROK, "%s:%d: invalid result type %d: %s", file,
			      lineno, type, msg);
		return;
	}
	printf("# %s:%d: %s: %s\n", file, lineno, tst_result_name(type), msg);
	tst_kvm_count(&tst_kvm_results, type, "%s:%d: %s: %s", file, lineno,
		      tst_result_name(type), msg);
}

void tst_res_host_(const char *file, int lineno, int ttype, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(file, lineno, ttype, fmt, ap);
	va_end(ap);
}

void tst_brk_host_(const char *file, int lineno, int ttype, const char *fmt, ...)
{
	int type = ttype & ~(TERRNO | TTERRNO);
	va_list ap;

	va_start(ap, fmt);
	vreport(file, lineno, ttype, fmt, ap);
	va_end(ap);
	/* LTP: tst_brk() ends the test with TBROK or TCONF; anything else is broken. */
	if (type != TBROK && type != TCONF)
		tst_kvm_count(&tst_kvm_results, TBROK, "%s:%d: tst_brk() with %s", file, lineno,
			      tst_result_name(type));
	tst_ltp_exit();
}

static void start_tap(void)
{
	if (tap_started)
		return;
	tap_started = true;
	ksft_print_header();
	ksft_set_plan(1);
}

void tst_ltp_exit(void)
{
	const char *reason;
	int v;

	fflush(stdout);
	if (cur_test && cur_test->cleanup && !cleaning_up) {
		cleaning_up = true;
		cur_test->cleanup();
	}
	tst_sys_conf_restore(1);
	start_tap();
	v = tst_kvm_verdict(&tst_kvm_results, &reason);
	printf("# results: %u passed, %u failed, %u broken, %u warnings, %u skipped\n",
	       tst_kvm_results.counts[tst_result_index(TPASS)],
	       tst_kvm_results.counts[tst_result_index(TFAIL)],
	       tst_kvm_results.counts[tst_result_index(TBROK)],
	       tst_kvm_results.counts[tst_result_index(TWARN)],
	       tst_kvm_results.counts[tst_result_index(TCONF)]);
	if (v == KSFT_PASS)
		printf("ok 1 %s\n", test_name);
	else if (v == KSFT_SKIP)
		printf("ok 1 %s # SKIP %s\n", test_name, reason);
	else
		printf("not ok 1 %s # %s\n", test_name, reason);
	fflush(stdout);
	exit(v);
}

/* A library skip (no /dev/kvm, a missing capability): TCONF with its reason. */
static void skip_hook(const char *reason)
{
	tst_kvm_count(&tst_kvm_results, TCONF, "%s", reason);
	tst_ltp_exit();
}

static void usage(const char *argv0)
{
	printf("Usage: %s [-h] [-l] [-r NAME] [-i N]\n"
	       "  -h       this help\n"
	       "  -l       list the test (one per binary: %s)\n"
	       "  -r NAME  run the test NAME (only %s)\n"
	       "  -i N     run the test N times (1-100000); each iteration runs a fresh VM\n",
	       argv0, test_name, test_name);
}

static int parse_options(int argc, char **argv)
{
	int opt;

	opterr = 0;
	while ((opt = getopt(argc, argv, ":hlr:i:")) != -1) {
		switch (opt) {
		case 'h':
			usage(argv[0]);
			exit(KSFT_PASS);
		case 'l':
			printf("%s\n", test_name);
			exit(KSFT_PASS);
		case 'r':
			if (strcmp(optarg, test_name)) {
				fprintf(stderr, "%s: no test named '%s' (-l lists it)\n", argv[0],
					optarg);
				return -1;
			}
			break;
		case 'i':
			if (tst_kvm_parse_iterations(argv[0], optarg))
				return -1;
			break;
		case ':':
			fprintf(stderr, "%s: option -%c needs a value (see -h)\n", argv[0], optopt);
			return -1;
		default:
			fprintf(stderr, "%s: unknown option -%c (see -h)\n", argv[0], optopt);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument '%s' (see -h)\n", argv[0], argv[optind]);
		return -1;
	}
	return 0;
}

static void print_tags(const struct tst_tag *tags)
{
	for (; tags && tags->name; tags++) {
		if (!strcmp(tags->name, "linux-git"))
			printf("# linux-git: https://git.kernel.org/pub/scm/linux/kernel/git/"
			       "torvalds/linux.git/commit/?id=%s\n", tags->value);
		else if (!strcmp(tags->name, "CVE"))
			printf("# CVE: https://cve.mitre.org/cgi-bin/cvename.cgi?name=CVE-%s\n",
			       tags->value);
		else
			printf("# %s: %s\n", tags->name, tags->value);
	}
}

static void check_requirements(const struct tst_test *t)
{
	const char *const *arch = t->supported_archs;
	struct utsname u;

	if (t->tconf_msg)
		tst_brk_host_(__FILE__, __LINE__, TCONF, "%s", t->tconf_msg);
	if (arch) {
		uname(&u);
		while (*arch && strcmp(*arch, u.machine))
			arch++;
		if (!*arch)
			tst_brk_host_(__FILE__, __LINE__, TCONF, "test does not support %s",
				      u.machine);
	}
	if (t->needs_root && geteuid())
		tst_brk_host_(__FILE__, __LINE__, TCONF, "test needs root");
	tst_check_min_cpus(t->min_cpus);
	tst_check_kconfigs(t->needs_kconfigs);
	tst_check_drivers(t->needs_drivers);
	if (!t->test_all && !(t->test && t->tcnt))
		tst_brk_host_(__FILE__, __LINE__, TBROK, "struct tst_test has neither "
			      ".test_all nor .test with .tcnt");
}

/* Results that count for "the test reported something": all but TINFO. */
static unsigned int reported(void)
{
	unsigned int n = 0;

	for (int t = 0; t < 6; t++)
		if (t != tst_result_index(TINFO))
			n += tst_kvm_results.counts[t];
	return n;
}

static void run_one(void (*fn)(unsigned int), void (*fn_all)(void), unsigned int n,
		    unsigned int iteration)
{
	unsigned int before = reported();

	if (fn_all)
		fn_all();
	else
		fn(n);
	tst_kvm_results.runs++;
	if (reported() == before) {
		printf("# TBROK: iteration %u%s: the test reported no result\n", iteration,
		       fn_all ? "" : " case");
		tst_kvm_count(&tst_kvm_results, TBROK, "iteration %u: the test reported "
			      "no result", iteration);
	}
}

int tst_run_tcases(int argc, char **argv, struct tst_test *self)
{
	const char *slash = strrchr(argv[0], '/');

	test_name = slash ? slash + 1 : argv[0];
	if (parse_options(argc, argv))
		return KSFT_FAIL;
	setvbuf(stdout, NULL, _IOLBF, 0);
	start_tap();
	print_tags(self->tags);
	cur_test = self;
	test_skip_hook = skip_hook;
	check_requirements(self);
	if (access("/dev/kvm", R_OK | W_OK))
		tst_brk_host_(__FILE__, __LINE__, TCONF, "/dev/kvm: %s", strerror(errno));
	tst_sys_conf_save_all(self->save_restore);
	if (self->setup)
		self->setup();
	for (unsigned int i = 1; i <= tst_kvm_iterations; i++) {
		if (self->test_all)
			run_one(NULL, self->test_all, 0, i);
		else
			for (unsigned int n = 0; n < self->tcnt; n++)
				run_one(self->test, NULL, n, i);
	}
	tst_ltp_exit();
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host assertions, skips and small utilities (include/test_util.h).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "test_util.h"

void (*test_skip_hook)(const char *reason);
void (*test_fail_hook)(void);

/* Keep host output in order with the harness' own lines and with children. */
static void __attribute__((constructor)) test_util_init(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
}

void test_assert_fail(const char *expr, const char *file, unsigned int line, int err,
		      const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	fflush(stdout);
	fprintf(stderr, "# ==== Test Assertion Failure ====\n");
	if (expr)
		fprintf(stderr, "#   %s:%u: %s\n", file, line, expr);
	else
		fprintf(stderr, "#   %s:%u\n", file, line);
	fprintf(stderr, "#   pid=%d", getpid());
	if (err)
		fprintf(stderr, " errno=%d (%s)", err, strerror(err));
	fprintf(stderr, "\n");
	/* Multi-line messages keep the TAP diagnostic prefix on every line. */
	for (char *p = msg, *nl; p && *p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		fprintf(stderr, "#   %s\n", p);
	}
	if (test_fail_hook) {
		void (*hook)(void) = test_fail_hook;

		test_fail_hook = NULL;	/* no recursion if the hook asserts */
		hook();
	}
	fflush(stderr);
	exit(KSFT_FAIL);
}

void test_skip(const char *file, unsigned int line, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	fflush(stdout);
	printf("# SKIP %s (%s:%u)\n", msg, file, line);
	if (test_skip_hook)
		test_skip_hook(msg);
	fflush(stdout);
	exit(KSFT_SKIP);
}

void kvm_log(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	for (char *p = msg, *nl; p && *p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		printf("# %s\n", p);
	}
}

uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || !*s || *s == '-')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 0);
	return !errno && *end == '\0';
}

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Host-side assertions and skips.
 *
 * TEST_ASSERT*() print the failing expression, file:line, errno and a
 * formatted message, then exit with KSFT_FAIL.  TEST_REQUIRE*() exit with
 * KSFT_SKIP (4) after naming the unmet requirement, so a test that cannot
 * run here never passes silently.
 */
#ifndef KVM_SUITE_TEST_UTIL_H
#define KVM_SUITE_TEST_UTIL_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "x86/const.h"

#ifndef KSFT_PASS
#define KSFT_PASS	0
#define KSFT_FAIL	1
#define KSFT_XFAIL	2
#define KSFT_XPASS	3
#define KSFT_SKIP	4
#endif

void __attribute__((noreturn, format(printf, 5, 6)))
test_assert_fail(const char *expr, const char *file, unsigned int line, int err,
		 const char *fmt, ...);

void __attribute__((noreturn, format(printf, 3, 4)))
test_skip(const char *file, unsigned int line, const char *fmt, ...);

/* Called by test_skip() before exiting; the harness glue uses it to record the reason. */
extern void (*test_skip_hook)(const char *reason);
/* Called by test_assert_fail() before exiting, e.g. to dump extra state. */
extern void (*test_fail_hook)(void);

#define TEST_ASSERT(cond, fmt, ...) do {					\
	if (!(cond))								\
		test_assert_fail(#cond, __FILE__, __LINE__, errno,		\
				 fmt, ##__VA_ARGS__);				\
} while (0)

#define TEST_FAIL(fmt, ...)							\
	test_assert_fail(NULL, __FILE__, __LINE__, 0, fmt, ##__VA_ARGS__)

#define __TEST_ASSERT_CMP(a, op, b) do {					\
	__typeof__(a) __a = (a);						\
	__typeof__(b) __b = (b);						\
	if (!(__a op __b))							\
		test_assert_fail(#a " " #op " " #b, __FILE__, __LINE__, 0,	\
				 "%#llx (%lld) vs %#llx (%lld)",		\
				 (unsigned long long)__a, (long long)__a,	\
				 (unsigned long long)__b, (long long)__b);	\
} while (0)

#define TEST_ASSERT_EQ(a, b)	__TEST_ASSERT_CMP(a, ==, b)
#define TEST_ASSERT_NE(a, b)	__TEST_ASSERT_CMP(a, !=, b)
#define TEST_ASSERT_LT(a, b)	__TEST_ASSERT_CMP(a, <, b)
#define TEST_ASSERT_LE(a, b)	__TEST_ASSERT_CMP(a, <=, b)
#define TEST_ASSERT_GT(a, b)	__TEST_ASSERT_CMP(a, >, b)
#define TEST_ASSERT_GE(a, b)	__TEST_ASSERT_CMP(a, >=, b)

/* Skip (exit 4) naming the requirement that is not met. */
#define TEST_REQUIRE(cond) do {							\
	if (!(cond))								\
		test_skip(__FILE__, __LINE__, "requires %s", #cond);		\
} while (0)

#define TEST_REQUIRE_MSG(cond, fmt, ...) do {					\
	if (!(cond))								\
		test_skip(__FILE__, __LINE__, fmt, ##__VA_ARGS__);		\
} while (0)

#define TEST_SKIP(fmt, ...)	test_skip(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

/* Diagnostic line in TAP form ("# ..."). */
void __attribute__((format(printf, 1, 2))) kvm_log(const char *fmt, ...);

/* Monotonic clock in nanoseconds. */
uint64_t now_ns(void);

/* Parse a whole-string unsigned number (0x.., 0.., decimal); false on junk or overflow. */
bool parse_u64(const char *s, uint64_t *out);

#endif /* KVM_SUITE_TEST_UTIL_H */

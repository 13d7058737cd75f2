// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit tests of guest_vsnprintf() (guest_lib/printf.c) against glibc's
 * snprintf, which implements the same C99 contract: fixed cases for every
 * conversion, flag, width, precision and length modifier, truncation at
 * every buffer size, and a seeded random sweep of generated formats.
 *
 * PRINTF_UNIT_SEED=N replays a random sweep; PRINTF_UNIT_CASES=N sets its
 * size.  No /dev/kvm needed.
 */
#include <stdlib.h>
#include <string.h>

#include "kvm_test_harness.h"
#include "guest/printf.h"

/*
 * Format with both implementations into buffers of the given size and
 * compare return values and contents.  A macro so that the arguments keep
 * their types through both variadic calls.
 */
#define CHECK_FMT_SIZE(size, fmt, ...)						\
do {										\
	char __want[256], __got[256];						\
	int __wn, __gn;								\
										\
	memset(__want, 0x5a, sizeof(__want));					\
	memset(__got, 0x5a, sizeof(__got));					\
	__wn = snprintf(__want, size, fmt, ##__VA_ARGS__);			\
	__gn = guest_snprintf(__got, size, fmt, ##__VA_ARGS__);			\
	ASSERT_EQ(__wn, __gn) TH_LOG("format \"%s\" size %zu: returned %d, glibc %d", \
				     fmt, (size_t)(size), __gn, __wn);		\
	ASSERT_EQ(0, memcmp(__want, __got, sizeof(__want)))			\
		TH_LOG("format \"%s\" size %zu: got \"%.*s\", glibc \"%.*s\"",	\
		       fmt, (size_t)(size), (int)(size), __got, (int)(size), __want); \
} while (0)

#define CHECK_FMT(fmt, ...) CHECK_FMT_SIZE(sizeof(__want), fmt, ##__VA_ARGS__)

#pragma GCC diagnostic ignored "-Wformat"
#pragma GCC diagnostic ignored "-Wformat-extra-args"
#pragma GCC diagnostic ignored "-Wformat-zero-length"
#pragma GCC diagnostic ignored "-Wformat-truncation"
#pragma GCC diagnostic ignored "-Wformat-overflow"

KVM_TEST(plain_text_and_percent)
{
	CHECK_FMT("");
	CHECK_FMT("hello, world");
	CHECK_FMT("100%%");
	CHECK_FMT("%%%%%%");
	CHECK_FMT("%5%");
}

KVM_TEST(signed_decimal)
{
	static const long long v[] = { 0, 1, -1, 42, -42, 2147483647LL,
		-2147483647LL - 1, 9223372036854775807LL, -9223372036854775807LL - 1 };

	for (unsigned int i = 0; i < ARRAY_SIZE(v); i++) {
		CHECK_FMT("%d|%i", (int)v[i], (int)v[i]);
		CHECK_FMT("%ld|%lld|%jd|%zd|%td", (long)v[i], v[i], (intmax_t)v[i],
			  (ssize_t)v[i], (ptrdiff_t)v[i]);
		CHECK_FMT("%hd|%hhd", (int)v[i], (int)v[i]);
		CHECK_FMT("[%+d] [% d] [%+ d] [%05d] [%-5d] [%+08d] [%.3d] [%8.3d]",
			  (int)v[i], (int)v[i], (int)v[i], (int)v[i], (int)v[i],
			  (int)v[i], (int)v[i], (int)v[i]);
		CHECK_FMT("[%.0d] [%5.0d] [%-+6.2ld] [%030lld]", (int)v[i], (int)v[i],
			  (long)v[i], v[i]);
	}
}

KVM_TEST(unsigned_hex_octal)
{
	static const unsigned long long v[] = { 0, 1, 7, 8, 0xf, 0x10, 0xdeadbeef,
		0xffffffffULL, 0x123456789abcdefULL, ~0ULL };

	for (unsigned int i = 0; i < ARRAY_SIZE(v); i++) {
		unsigned int u = (unsigned int)v[i];

		CHECK_FMT("%u|%x|%X|%o", u, u, u, u);
		CHECK_FMT("%lu|%lx|%llX|%llo|%zx|%jo", (unsigned long)v[i],
			  (unsigned long)v[i], v[i], v[i], (size_t)v[i], (uintmax_t)v[i]);
		CHECK_FMT("%hu|%hx|%hhu|%hhx", u, u, u, u);
		CHECK_FMT("[%#x] [%#X] [%#o] [%#10x] [%#-10x] [%#010x] [%#.0x] [%#.0o]",
			  u, u, u, u, u, u, u, u);
		CHECK_FMT("[%08lx] [%-8lx] [%.12lx] [%16.12lx] [%#.5o] [%.0u]",
			  (unsigned long)v[i], (unsigned long)v[i], (unsigned long)v[i],
			  (unsigned long)v[i], u, u);
		/* '+' and ' ' are for signed conversions only. */
		CHECK_FMT("[%+u] [% x]", u, u);
	}
}

KVM_TEST(pointers)
{
	CHECK_FMT("%p", (void *)0);
	CHECK_FMT("[%10p] [%-10p]", (void *)0, (void *)0);
	CHECK_FMT("%p", (void *)0x1234);
	CHECK_FMT("[%20p] [%-20p] [%#p]", (void *)0xffff800012345678UL,
		  (void *)0x1000, (void *)0x1000);
}

KVM_TEST(strings_and_chars)
{
	CHECK_FMT("[%s] [%10s] [%-10s] [%.2s] [%10.2s] [%-10.0s]", "abc", "abc",
		  "abc", "abc", "abc", "abc");
	CHECK_FMT("[%s]", "");
	CHECK_FMT("[%s] [%10s] [%.6s]", (char *)NULL, (char *)NULL, (char *)NULL);
	CHECK_FMT("[%.3s]", (char *)NULL);
	CHECK_FMT("[%c] [%3c] [%-3c] [%c]", 'x', 'y', 'z', 0x41 + 256);
}

KVM_TEST(star_width_and_precision)
{
	CHECK_FMT("[%*d] [%-*d] [%*d]", 6, 42, 6, 42, -6, 42);
	CHECK_FMT("[%.*d] [%.*d] [%*.*x]", 4, 7, -1, 7, 8, 3, 0xab);
	CHECK_FMT("[%.*s] [%*s]", 2, "hello", -7, "hi");
}

KVM_TEST(truncation_at_every_size)
{
	for (size_t size = 0; size < 40; size++) {
		CHECK_FMT_SIZE(size, "%s=%#lx (%d)", "value", 0xcafef00dUL, -12345);
		CHECK_FMT_SIZE(size, "%-12s|%08x|%p", "trunc", 0x55aa, (void *)0xabc);
	}
}

KVM_TEST(unsupported_conversion_is_printed)
{
	char buf[64];
	int n;

	/* No floating point in guest code: the conversion is echoed. */
	n = guest_snprintf(buf, sizeof(buf), "a %f b %d", 7);
	EXPECT_STREQ(buf, "a %f b 7");
	EXPECT_EQ(n, (int)strlen(buf));
	n = guest_snprintf(buf, sizeof(buf), "trailing %");
	EXPECT_STREQ(buf, "trailing %");
	EXPECT_EQ(n, (int)strlen(buf));
}

/* xorshift64*: small, seedable and the same everywhere. */
static uint64_t rnd_state;

static uint64_t rnd(void)
{
	rnd_state ^= rnd_state >> 12;
	rnd_state ^= rnd_state << 25;
	rnd_state ^= rnd_state >> 27;
	return rnd_state * 0x2545f4914f6cdd1dULL;
}

static uint64_t env_u64(const char *name, uint64_t def)
{
	const char *s = getenv(name);

	return s && *s ? strtoull(s, NULL, 0) : def;
}

/* A value with interesting magnitudes: small, edge and full width. */
static uint64_t rnd_value(void)
{
	switch (rnd() % 4) {
	case 0: return rnd() % 20;
	case 1: return -(rnd() % 20);
	case 2: return 1ULL << (rnd() % 64);
	default: return rnd();
	}
}

KVM_TEST(random_formats_match_glibc)
{
	static const char *const flag_set = "-0#+ ";
	static const char *const lens[] = { "", "hh", "h", "l", "ll", "z", "t", "j" };
	static const char convs[] = "diuxXopsc";
	static const char *const strs[] = { "", "x", "hello", "a longer string", NULL };
	uint64_t seed = env_u64("PRINTF_UNIT_SEED", now_ns());
	uint64_t cases = env_u64("PRINTF_UNIT_CASES", 20000);

	TH_LOG("seed %#lx (replay with PRINTF_UNIT_SEED=%#lx), %lu cases",
	       seed, seed, cases);
	rnd_state = seed | 1;

	for (uint64_t i = 0; i < cases; i++) {
		char fmt[64], *f = fmt;
		char conv = convs[rnd() % (sizeof(convs) - 1)];
		uint64_t v = rnd_value();
		size_t size = rnd() % 4 ? 256 : rnd() % 24;

		f += sprintf(f, "<");
		for (int n = rnd() % 4; n > 0; n--)
			*f++ = flag_set[rnd() % 5];
		if (rnd() % 2)
			f += sprintf(f, "%d", (int)(rnd() % 30));
		if (rnd() % 2)
			f += sprintf(f, ".%d", (int)(rnd() % 25));
		if (strchr("diuxXo", conv))
			f += sprintf(f, "%s", lens[rnd() % 8]);
		f += sprintf(f, "%c>", conv);

		/* Each length modifier takes its own argument type. */
		if (conv == 's') {
			CHECK_FMT_SIZE(size, fmt, strs[v % 5]);
		} else if (conv == 'c') {
			CHECK_FMT_SIZE(size, fmt, (int)(' ' + v % 95));
		} else if (conv == 'p') {
			CHECK_FMT_SIZE(size, fmt, (void *)(uintptr_t)(rnd() % 3 ? v : 0));
		} else if (strstr(fmt, "ll") || strchr(fmt, 'j')) {
			CHECK_FMT_SIZE(size, fmt, (long long)v);
		} else if (strchr(fmt, 'l') || strchr(fmt, 'z') || strchr(fmt, 't')) {
			CHECK_FMT_SIZE(size, fmt, (long)v);
		} else {
			CHECK_FMT_SIZE(size, fmt, (int)v);
		}
		if (KVM_TEST_FAILED()) {
			TH_LOG("case %lu failed; replay with PRINTF_UNIT_SEED=%#lx", i, seed);
			return;
		}
	}
}

TEST_HARNESS_MAIN

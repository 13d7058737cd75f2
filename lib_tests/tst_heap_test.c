// SPDX-License-Identifier: GPL-2.0-only
/*
 * tst_heap_alloc() / tst_heap_alloc_aligned(): zeroed, aligned, disjoint
 * blocks inside the heap; running out ends the run with TBROK naming the
 * sizes instead of handing out memory past the heap.
 */
#include "tst_test.h"

static void guest_heap(void)
{
	static const size_t aligns[] = { 1, 2, 8, 16, 64, 4096, 65536, 2 * 1024 * 1024 };
	uint8_t *prev_end = NULL;
	unsigned int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(aligns); i++) {
		size_t size = 3 + i * 100;
		uint8_t *p = tst_heap_alloc_aligned(size, aligns[i]);

		if ((uintptr_t)p % aligns[i]) {
			tst_res(TFAIL, "block %p not aligned to %zu", p, aligns[i]);
			bad++;
		}
		if ((uintptr_t)p < tst_heap_base || (uintptr_t)p + size > tst_heap_end) {
			tst_res(TFAIL, "block %p+%zu outside heap [0x%lx, 0x%lx)", p, size,
				tst_heap_base, tst_heap_end);
			bad++;
		}
		if (prev_end && p < prev_end) {
			tst_res(TFAIL, "block %p overlaps the previous one (ends %p)", p, prev_end);
			bad++;
		}
		for (size_t j = 0; j < size; j++) {
			if (p[j]) {
				tst_res(TFAIL, "block %p byte %zu is 0x%x, not zero", p, j, p[j]);
				bad++;
				break;
			}
		}
		memset(p, 0xa5, size);	/* the next block must still come back zeroed */
		prev_end = p + size;
	}
	/* Plain tst_heap_alloc(): pointer-aligned. */
	for (unsigned int i = 1; i < 40; i++) {
		void *p = tst_heap_alloc(i);

		if ((uintptr_t)p % sizeof(void *)) {
			tst_res(TFAIL, "tst_heap_alloc(%u) = %p not pointer aligned", i, p);
			bad++;
		}
	}
	if (!bad)
		tst_res(TPASS, "aligned, zeroed, disjoint blocks inside [0x%lx, 0x%lx)",
			tst_heap_base, tst_heap_end);
}

TST_KVM_TEST(alloc_and_alignment, guest_heap)

static void guest_exhaust(void)
{
	size_t chunk = TST_KVM_HEAP_SIZE / 4;

	for (int i = 0; i < 8; i++) {
		uint8_t *p = tst_heap_alloc(chunk);

		/* Only reached while the heap has room. */
		if ((uintptr_t)p + chunk > tst_heap_end)
			tst_res(TFAIL, "block %p+%zu past the heap end 0x%lx", p, chunk, tst_heap_end);
	}
	tst_res(TFAIL, "8 x %zu bytes fit a %u-byte heap", chunk, TST_KVM_HEAP_SIZE);
}

/* Running out is a TBROK that names what was asked and what was left. */
KVM_TEST(exhaustion_is_tbrok_with_sizes)
{
	struct tst_kvm_summary sum;
	const char *reason;
	char want[128];

	tst_kvm_run_test(guest_exhaust, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
	EXPECT_EQ(sum.counts[tst_result_index(TBROK)], tst_kvm_iterations);
	EXPECT_EQ(sum.counts[tst_result_index(TFAIL)], 0) TH_LOG("%s", sum.first_problem);
	snprintf(want, sizeof(want), "heap exhausted: asked %u bytes aligned to 8, 0 of %u bytes left",
		 TST_KVM_HEAP_SIZE / 4, TST_KVM_HEAP_SIZE);
	EXPECT_NE(strstr(reason, want), NULL) TH_LOG("reason '%s', want '%s'", reason, want);
}

static void guest_bad_align(void)
{
	tst_heap_alloc_aligned(16, 24);
	tst_res(TFAIL, "alignment 24 accepted");
}

KVM_TEST(non_power_of_two_alignment_is_tbrok)
{
	struct tst_kvm_summary sum;
	const char *reason;

	tst_kvm_run_test(guest_bad_align, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
	EXPECT_NE(strstr(reason, "BROKEN: "), NULL) TH_LOG("%s", reason);
	EXPECT_NE(strstr(reason, "must be a power of 2"), NULL) TH_LOG("%s", reason);
}

static void guest_strings(void)
{
	char *a = tst_heap_alloc(64), *b = tst_heap_alloc(64);
	uint32_t words[LTP_ALIGN(5, 4)];

	strcpy(a, "kvm");
	strcat(a, "-guest");
	memcpy(b, a, strlen(a) + 1);
	memset(words, 0xff, sizeof(words));
	memzero(words, sizeof(words) - sizeof(words[0]));
	if (strlen(a) != 9 || strcmp(b, "kvm-guest") || ARRAY_SIZE(words) != 8)
		tst_res(TFAIL, "strings: '%s' (%zu) '%s', %zu words", a, strlen(a), b,
			ARRAY_SIZE(words));
	else if (words[6] || words[7] != 0xffffffff)
		tst_res(TFAIL, "memzero: words[6] 0x%x words[7] 0x%x", words[6], words[7]);
	else
		tst_res(TPASS, "strcpy/strcat/strlen/memcpy/memzero on heap and stack");
}

TST_KVM_TEST(string_helpers, guest_strings)

TST_KVM_MAIN

// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.3: tst_heap_alloc() and tst_heap_alloc_aligned() hand
 * out disjoint, writable blocks, the aligned ones at the asked alignment.
 * An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

void main(void)
{
	static const size_t aligns[] = { 1, 8, 64, 4096, 2 * 1024 * 1024 };
	char *prev_end = NULL;
	int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(aligns); i++) {
		char *p = tst_heap_alloc_aligned(100 + i, aligns[i]);
		char *q = tst_heap_alloc(33);

		if ((uintptr_t)p % aligns[i]) {
			tst_res(TFAIL, "tst_heap_alloc_aligned(%u, %zu) = %p: not aligned",
				100 + i, aligns[i], p);
			bad++;
		}
		if ((prev_end && p < prev_end) || q < p + 100 + i) {
			tst_res(TFAIL, "blocks overlap: %p after %p, %p after %p+%u", p, prev_end,
				q, p, 100 + i);
			bad++;
		}
		memset(p, 0x5a, 100 + i);
		memset(q, 0xa5, 33);
		if (p[99 + i] != 0x5a) {
			tst_res(TFAIL, "block %p: a write did not stick", p);
			bad++;
		}
		prev_end = q + 33;
	}
	if (!bad)
		tst_res(TPASS, "aligned, disjoint, writable heap blocks");
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */

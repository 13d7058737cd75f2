// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 3.4 and 2.2, page tables: the payload walks its 4-level
 * tables (SDM vol. 3A 4.5) from kvm_pagetable (CR3) with struct
 * page_table_entry_pae and kvm_get_page_address_pae(), which is 0 for a
 * non-present entry; low addresses translate to themselves, PS (page_type)
 * marks large pages, and 2 GiB .. 4 GiB is unmapped except the result
 * page.  The controller's tst_kvm_get_phys_address() agrees on the same
 * addresses.  An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#define RESULT_PAGE	0xfffff000UL	/* TST_KVM_RESULT_ADDR */
#define UNMAPPED	0x90000000UL	/* above 2 GiB */

static const unsigned long probes[] = { 0x1000, 0x123456, 0x3fe00abc, 0x7ffff008 };

#ifdef COMPILE_PAYLOAD

/* Translate va by walking the tables; 0 if some level is not present. */
static uintptr_t walk(uintptr_t va)
{
	const struct page_table_entry_pae *table = kvm_pagetable;

	for (int level = 3; level >= 0; level--) {
		const struct page_table_entry_pae *e = &table[(va >> (12 + 9 * level)) & 511];
		uintptr_t next = kvm_get_page_address_pae(e);

		if (!next)
			return 0;
		if (level == 0 || (level < 3 && e->page_type)) {
			uintptr_t mask = (1UL << (12 + 9 * level)) - 1;

			return (next & ~mask) | (va & mask);
		}
		table = (const struct page_table_entry_pae *)next;
	}
	return 0;
}

void main(void)
{
	struct page_table_entry_pae absent = { 0 };
	int bad = 0;

	if (sizeof(struct page_table_entry_pae) != 8) {
		tst_brk(TBROK, "struct page_table_entry_pae is not 8 bytes");
	}
	absent.address = 0x12345;
	if (kvm_get_page_address_pae(&absent))
		tst_res(TFAIL, "kvm_get_page_address_pae() of a non-present entry is not 0"), bad++;
	for (unsigned int i = 0; i < ARRAY_SIZE(probes); i++) {
		if (walk(probes[i]) != probes[i]) {
			tst_res(TFAIL, "0x%lx translates to 0x%lx", probes[i], walk(probes[i]));
			bad++;
		}
	}
	if (walk(RESULT_PAGE + 0x18) != RESULT_PAGE + 0x18)
		tst_res(TFAIL, "result page 0x%lx translates to 0x%lx", RESULT_PAGE,
			walk(RESULT_PAGE)), bad++;
	if (walk(UNMAPPED))
		tst_res(TFAIL, "0x%lx above 2 GiB is mapped (to 0x%lx)", UNMAPPED,
			walk(UNMAPPED)), bad++;
	if (!bad)
		tst_res(TPASS, "the payload's walk: low 2 GiB identity, result page mapped, "
			"0x%lx unmapped", UNMAPPED);
}

#else /* COMPILE_PAYLOAD */

static struct tst_kvm_instance inst;

static void setup(void)
{
	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
}

static void run(void)
{
	int bad = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(probes); i++) {
		if (tst_kvm_get_phys_address(&inst, probes[i]) != probes[i]) {
			tst_res(TFAIL, "tst_kvm_get_phys_address(0x%lx) = 0x%lx", probes[i],
				tst_kvm_get_phys_address(&inst, probes[i]));
			bad++;
		}
	}
	if (tst_kvm_get_phys_address(&inst, RESULT_PAGE + 8) != RESULT_PAGE + 8)
		tst_res(TFAIL, "result page: tst_kvm_get_phys_address() = 0x%lx",
			tst_kvm_get_phys_address(&inst, RESULT_PAGE + 8)), bad++;
	if (tst_kvm_get_phys_address(&inst, UNMAPPED))
		tst_res(TFAIL, "tst_kvm_get_phys_address(0x%lx) is not 0 (unmapped)", UNMAPPED),
			bad++;
	if (!bad)
		tst_res(TPASS, "tst_kvm_get_phys_address() agrees on the same addresses");
	tst_kvm_run_instance(&inst);
	tst_kvm_destroy_instance(&inst);
	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
}

static void cleanup(void)
{
	if (inst.vm)
		tst_kvm_destroy_instance(&inst);
}

static struct tst_test test = {
	.test_all = run,
	.setup = setup,
	.cleanup = cleanup,
};

#endif /* COMPILE_PAYLOAD */

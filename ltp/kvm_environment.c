// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 4, the guest environment, each promise checked from the
 * payload: 64-bit mode (EFER.LMA and CS.L, SDM vol. 3A 2.2.1, 3.4.5); the
 * low 2 GiB identity mapped INCLUDING page 0 (read and written here);
 * above 2 GiB exactly one page mapped, the result page (a walk of every
 * present entry, SDM vol. 3A 4.5); an 8 KiB stack (7 KiB of one frame
 * written below RSP, and at least 8 KiB mapped writable under it); a
 * present interrupt gate for each of the 32 exception vectors (6.14.1).
 * An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

#define TWO_GIB		0x80000000UL

static const struct page_table_entry_pae *entry_of(uintptr_t va, int *level_out)
{
	const struct page_table_entry_pae *table = kvm_pagetable, *e = NULL;

	for (int level = 3; level >= 0; level--) {
		e = &table[(va >> (12 + 9 * level)) & 511];
		*level_out = level;
		if (!e->present || level == 0 || (level < 3 && e->page_type))
			return e;
		table = (const struct page_table_entry_pae *)kvm_get_page_address_pae(e);
	}
	return e;
}

/* va maps to itself, writable at every level. */
static int identity_writable(uintptr_t va)
{
	const struct page_table_entry_pae *table = kvm_pagetable;

	for (int level = 3; level >= 0; level--) {
		const struct page_table_entry_pae *e = &table[(va >> (12 + 9 * level)) & 511];
		uintptr_t mask = (1UL << (12 + 9 * level)) - 1;

		if (!e->present || !e->writable)
			return 0;
		if (level == 0 || (level < 3 && e->page_type))
			return (kvm_get_page_address_pae(e) & ~mask) == (va & ~mask);
		table = (const struct page_table_entry_pae *)kvm_get_page_address_pae(e);
	}
	return 0;
}

/* Bytes mapped above 2 GiB under table (level 3 = PML4) covering base; *where = one of them. */
static uint64_t mapped_above(const struct page_table_entry_pae *table, int level, uint64_t base,
			     uint64_t *where)
{
	uint64_t span = 1ULL << (12 + 9 * level), total = 0;

	for (unsigned int i = 0; i < 512; i++) {
		uint64_t va = base + i * span;
		const struct page_table_entry_pae *e = &table[i];

		if (!e->present || va + span <= TWO_GIB)
			continue;
		if (level == 0 || (level < 3 && e->page_type)) {
			total += span;
			*where = va;
		} else {
			total += mapped_above((const void *)kvm_get_page_address_pae(e), level - 1,
					      va, where);
		}
	}
	return total;
}

static void check_mode_and_map(void)
{
	uint64_t where = 0, above, got;
	uint16_t cs;
	int level, bad = 0;

	asm volatile("mov %%cs, %0" : "=r"(cs));
	if (!(kvm_rdmsr(MSR_EFER) & EFER_LMA))
		tst_res(TFAIL, "EFER.LMA is clear: not IA-32e mode"), bad++;
	for (uintptr_t va = 0; va < TWO_GIB; va += 0x1000000) {
		if (!identity_writable(va) || !identity_writable(va + 0xfff000)) {
			tst_res(TFAIL, "0x%lx or 0x%lx is not identity mapped writable", va,
				va + 0xfff000);
			bad++;
			break;
		}
	}
	/* Page 0: a #PF here would end the test (no callback). */
	asm volatile("movq %1, 8\n\tmovq 8, %0" : "=r"(got) : "r"(0x5a5aUL) : "memory");
	if (got != 0x5a5a)
		tst_res(TFAIL, "page 0 does not keep a write"), bad++;
	above = mapped_above(kvm_pagetable, 3, 0, &where);
	if (above != 0x1000)
		tst_res(TFAIL, "0x%lx bytes mapped above 2 GiB (one at 0x%lx), expected the "
			"result page only", above, where), bad++;
	else if (entry_of(where, &level) && level != 0)
		tst_res(TFAIL, "the page above 2 GiB is mapped at level %d", level), bad++;
	if (!bad)
		tst_res(TPASS, "64-bit mode (CS 0x%x); 0-2 GiB identity mapped incl. page 0; one "
			"page above 2 GiB, at 0x%lx", cs, where);
}

static __attribute__((noinline)) int use_7k(void)
{
	volatile char frame[7 * 1024];

	frame[0] = 1;
	frame[sizeof(frame) - 1] = 2;
	return frame[0] + frame[sizeof(frame) - 1];
}

static void check_stack(void)
{
	uintptr_t rsp, va;

	asm volatile("mov %%rsp, %0" : "=r"(rsp));
	for (va = rsp & ~0xfffUL; va > (rsp & ~0xfffUL) - 0x10000; va -= 0x1000)
		if (!identity_writable(va))
			break;
	if (rsp - (va + 0x1000) < 8192)
		tst_res(TFAIL, "only %lu bytes mapped writable below RSP 0x%lx",
			rsp - (va + 0x1000), rsp);
	else if (use_7k() != 3)
		tst_res(TFAIL, "a 7 KiB stack frame did not keep its writes");
	else
		tst_res(TPASS, "stack: %lu bytes writable below RSP 0x%lx, a 7 KiB frame used",
			rsp - (va + 0x1000), rsp);
}

static void check_idt(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr;
	unsigned int bad = 0;

	asm volatile("sidt %0" : "=m"(idtr));
	for (unsigned int v = 0; v < 32 && idtr.limit >= 32 * 16 - 1; v++) {
		const uint32_t *gate = (const uint32_t *)(uintptr_t)(idtr.base + 16 * v);

		/* P=1 and type 0xE (64-bit interrupt gate) or 0xF (trap gate). */
		if (!(gate[1] & 0x8000) || ((gate[1] >> 8) & 0xe) != 0xe)
			bad++;
	}
	if (idtr.limit < 32 * 16 - 1 || bad)
		tst_res(TFAIL, "IDT limit 0x%x, %u exception vectors without a gate", idtr.limit,
			bad);
	else
		tst_res(TPASS, "a gate for each of the 32 exception vectors");
}

void main(void)
{
	check_mode_and_map();
	check_stack();
	check_idt();
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */

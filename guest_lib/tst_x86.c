// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP's x86 descriptor-table and register helpers (include/kvm_x86.h) on
 * the guest's live GDT and IDT: segment descriptors as SDM vol. 3A 3.4.5
 * lays them out (7.2.3 for the 16-byte system descriptors of 64-bit mode).
 */
#include "guest/tst.h"
#include "kvm_x86.h"

struct desc_reg {
	uint16_t limit;
	uint64_t base;
} __attribute__((packed));

uintptr_t tst_gdt_base(void)
{
	struct desc_reg r;

	asm volatile("sgdt %0" : "=m"(r));
	return r.base;
}

uintptr_t tst_idt_base(void)
{
	struct desc_reg r;

	asm volatile("sidt %0" : "=m"(r));
	return r.base;
}

asm(".pushsection .text\n"
    ".globl tst_l2_entry\n"
    "tst_l2_entry:\n\t"
    "call *%rax\n"
    "1:\thlt\n\t"
    "jmp 1b\n"
    ".popsection");

void kvm_read_sregs(struct kvm_sregs *buf)
{
	asm volatile("mov %%cs, %0\n\tmov %%ds, %1\n\tmov %%es, %2\n\tmov %%fs, %3\n\t"
		     "mov %%gs, %4\n\tmov %%ss, %5\n\tstr %6\n\tsldt %7"
		     : "=m"(buf->cs), "=m"(buf->ds), "=m"(buf->es), "=m"(buf->fs),
		       "=m"(buf->gs), "=m"(buf->ss), "=m"(buf->tr), "=m"(buf->ldtr));
}

void kvm_set_cr0(unsigned long val)
{
	set_cr0(val);
}

void kvm_set_cr3(unsigned long val)
{
	set_cr3(val);
}

void kvm_set_cr4(unsigned long val)
{
	set_cr4(val);
}

void kvm_set_segment_descriptor(struct segment_descriptor *dst, uint64_t baseaddr,
				uint32_t limit, unsigned int flags)
{
	/* The limit field is 20 bits (in pages with SEGFLAG_PAGE_LIMIT). */
	if (limit >> 20)
		tst_brk(TBROK, "segment limit 0x%x does not fit 20 bits", limit);
	if ((flags & SEGFLAG_NSYSTEM) && (baseaddr >> 32))
		tst_brk(TBROK, "segment base 0x%lx above 4 GiB in a code/data descriptor",
			baseaddr);
	dst->limit_lo = limit & 0xffff;
	dst->limit_hi = limit >> 16;
	dst->baseaddr_lo = baseaddr & 0xffffff;
	dst->baseaddr_hi = (baseaddr >> 24) & 0xff;
	dst->flags_lo = flags & 0xff;
	dst->flags_hi = (flags >> 8) & 0xf;
	if (!(flags & SEGFLAG_NSYSTEM)) {
		struct segment_descriptor64 *d64 = (struct segment_descriptor64 *)dst;

		d64->baseaddr_hi = baseaddr >> 24;
		d64->reserved = 0;
	}
}

void kvm_parse_segment_descriptor(struct segment_descriptor *src, uint64_t *baseaddr,
				  uint32_t *limit, unsigned int *flags)
{
	if (baseaddr)
		*baseaddr = ((uint64_t)src->baseaddr_hi << 24) | src->baseaddr_lo;
	if (limit)
		*limit = ((uint32_t)src->limit_hi << 16) | src->limit_lo;
	if (flags)
		*flags = ((unsigned int)src->flags_hi << 8) | src->flags_lo;
}

int kvm_find_free_descriptor(const struct segment_descriptor *table, size_t size)
{
	for (size_t i = 1; i < size; i++) {
		if (!(table[i].flags_lo & SEGFLAG_PRESENT))
			return i;
		if (!(table[i].flags_lo & SEGFLAG_NSYSTEM))
			i++;	/* a system descriptor: its second half */
	}
	return -1;
}

unsigned int kvm_create_stack_descriptor(struct segment_descriptor *table, size_t tabsize,
					 void *stack_base)
{
	int i = kvm_find_free_descriptor(table, tabsize);

	if (i < 0)
		tst_brk(TBROK, "no free descriptor among the first %zu", tabsize);
	/* Base 0, limit up to the page below stack_base, in pages. */
	kvm_set_segment_descriptor(table + i, 0, ((uintptr_t)stack_base - 1) >> 12,
				   SEGTYPE_STACK | SEGFLAG_PRESENT | SEGFLAG_32BIT |
				   SEGFLAG_PAGE_LIMIT);
	return i;
}

// SPDX-License-Identifier: GPL-2.0-only
/* Decode a segment of the live GDT (SDM vol. 3A 3.4.5, 7.2.3): for VMCB/VMCS set-up. */
#include "guest/guest.h"

struct gdt_segment guest_gdt_segment(uint16_t sel)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr;
	struct gdt_segment s = { .sel = sel };
	const uint64_t *gdt;
	uint64_t d;

	if (!(sel & ~7))
		return s;	/* the null selector: no descriptor */
	asm volatile("sgdt %0" : "=m"(gdtr));
	gdt = (const uint64_t *)(uintptr_t)gdtr.base;
	d = gdt[sel >> 3];
	s.desc = d;
	s.limit = (d & 0xffff) | (((d >> 48) & 0xf) << 16);
	if (d & (1ULL << 55))		/* G: limit in 4 KiB units */
		s.limit = (s.limit << 12) | 0xfff;
	s.base = ((d >> 16) & 0xffffff) | (((d >> 56) & 0xff) << 24);
	/* A system descriptor (S=0: TSS, LDT) is 16 bytes in long mode: base 63:32 follows. */
	if (!(d & (1ULL << 44)))
		s.base |= gdt[(sel >> 3) + 1] << 32;
	return s;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: what can be fuzzed (the device table), what never is (the fixed
 * exclusions), and the names of op types.
 */
#include "internal.h"

/* Ports KVM handles in the kernel (KPORTS) or hands to userspace (UPORTS). */
#define KPORTS(lo, hi)	\
	{ .beg = (lo), .end = (hi), .space = IOF_PORT, .stride = 1, .in_kernel = 1 }
#define UPORTS(lo, hi)	\
	{ .beg = (lo), .end = (hi), .space = IOF_PORT, .stride = 1, .in_kernel = 0 }
/* MMIO units are the 16-byte register slots. */
#define APIC_PAGE(lo, hi)	\
	{ .beg = (lo), .end = (hi), .space = IOF_MMIO, .stride = 16, .in_kernel = 1 }
#define MSRS(lo, hi)		\
	{ .beg = (lo), .end = (hi), .space = IOF_MSR, .stride = 1, .in_kernel = 1 }

/*
 * The ports KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 (with the dummy speaker)
 * put in the kernel, the ones the device model (model.c) answers, the two
 * MMIO pages of the in-kernel APICs and the MSR ranges KVM emulates.  MMIO
 * units are the 16-byte register slots (Intel 82093AA datasheet 3.0; SDM
 * vol. 3A 11.4.1 table 11-1).  range.id is filled in by the plan.
 */
const struct iofuzz_dev iofuzz_devs[] = {
	{ .name = "pic_master",	.mode = IOFUZZ_MODE_PORTS, .r = KPORTS(0x20, 0x21) },
	{ .name = "pit",	.mode = IOFUZZ_MODE_PORTS, .r = KPORTS(0x40, 0x43),
	  .needs_pit = true },
	{ .name = "speaker",	.mode = IOFUZZ_MODE_PORTS, .r = KPORTS(0x61, 0x61),
	  .needs_pit = true },
	{ .name = "pic_slave",	.mode = IOFUZZ_MODE_PORTS, .r = KPORTS(0xa0, 0xa1) },
	{ .name = "elcr",	.mode = IOFUZZ_MODE_PORTS, .r = KPORTS(0x4d0, 0x4d1) },
	{ .name = "cmos",	.mode = IOFUZZ_MODE_PORTS, .r = UPORTS(0x70, 0x71) },
	{ .name = "port80",	.mode = IOFUZZ_MODE_PORTS, .r = UPORTS(0x80, 0x80) },
	{ .name = "com1",	.mode = IOFUZZ_MODE_PORTS, .r = UPORTS(0x3f8, 0x3ff) },
	{ .name = "pci_conf",	.mode = IOFUZZ_MODE_PORTS, .r = UPORTS(0xcf8, 0xcff) },
	{ .name = "lapic",	.mode = IOFUZZ_MODE_MMIO,
	  .r = APIC_PAGE(APIC_DEFAULT_GPA, APIC_DEFAULT_GPA + 0xff0) },
	{ .name = "ioapic",	.mode = IOFUZZ_MODE_MMIO,
	  .r = APIC_PAGE(IOAPIC_DEFAULT_GPA, IOAPIC_DEFAULT_GPA + 0x40) },
	{ .name = "msr_arch",	.mode = IOFUZZ_MODE_MSR, .r = MSRS(0, 0x1fff) },
	{ .name = "msr_amd64",	.mode = IOFUZZ_MODE_MSR, .r = MSRS(0xc0000000, 0xc00001ff) },
	/* Denser views of msr_arch for the read oracle (oracle_msr.c): MTRRs, PAT, MCi_CTL2; banks. */
	{ .name = "msr_mtrr",	.mode = IOFUZZ_MODE_MSR, .r = MSRS(0x200, 0x2ff), .optional = true },
	{ .name = "msr_mce",	.mode = IOFUZZ_MODE_MSR, .r = MSRS(MSR_IA32_MC0_CTL, 0x47f),
	  .optional = true },
	{ .name = "msr_kvm",	.mode = IOFUZZ_MODE_MSR, .r = MSRS(MSR_KVM_WALL_CLOCK_NEW, 0x4b564d0f),
	  .optional = true },
	/* Full-range mode: every port but UCALL_PIO_PORT (the suite's own channel). */
	{ .name = "full",	.mode = IOFUZZ_MODE_PORTS, .r = UPORTS(0, 0xffff),
	  .optional = true },
};
const unsigned int iofuzz_nr_devs = ARRAY_SIZE(iofuzz_devs);
_Static_assert(ARRAY_SIZE(iofuzz_devs) <= IOFUZZ_MAX_DEVS, "IOFUZZ_MAX_DEVS");

/*
 * Never touched: the ucall port, and MSRs whose write would pull the floor
 * from under the executor itself rather than exercise KVM (EFER.LME/LMA,
 * GS.base holds the guest's per-CPU pointer, and the KVM clock MSRs, old
 * 0x11/0x12 and new MSR_KVM_WALL_CLOCK_NEW/MSR_KVM_SYSTEM_TIME_NEW
 * 0x4b564d00/01, make KVM write guest RAM at a fuzzed address:
 * Documentation/virt/kvm/x86/msr.rst).
 */
const struct iofuzz_range iofuzz_fixed_excl[IOFUZZ_NR_FIXED_EXCL] = {
	{ .beg = UCALL_PIO_PORT, .end = UCALL_PIO_PORT + 3, .space = IOF_PORT, .stride = 1 },
	{ .beg = MSR_KVM_WALL_CLOCK, .end = MSR_KVM_SYSTEM_TIME, .space = IOF_MSR, .stride = 1 },
	{ .beg = MSR_KVM_WALL_CLOCK_NEW, .end = MSR_KVM_SYSTEM_TIME_NEW, .space = IOF_MSR,
	  .stride = 1 },
	{ .beg = MSR_EFER, .end = MSR_EFER, .space = IOF_MSR, .stride = 1 },
	{ .beg = MSR_GS_BASE, .end = MSR_GS_BASE, .space = IOF_MSR, .stride = 1 },
};

static const char *const type_names[IOF_NR_TYPES] = {
	[IOF_NOP] = "nop",
	[IOF_IN] = "in",
	[IOF_OUT] = "out",
	[IOF_INS] = "ins",
	[IOF_OUTS] = "outs",
	[IOF_MMIO_RD] = "mmio_rd",
	[IOF_MMIO_WR] = "mmio_wr",
	[IOF_MSR_RD] = "msr_rd",
	[IOF_MSR_WR] = "msr_wr",
};

const char *iofuzz_type_name(unsigned int type)
{
	return type < IOF_NR_TYPES ? type_names[type] : "?";
}

/* The type called name (as in a reproducer line), or IOF_NOP for none. */
unsigned int iofuzz_type_by_name(const char *name)
{
	for (unsigned int t = IOF_NOP + 1; t < IOF_NR_TYPES; t++)
		if (!strcmp(name, type_names[t]))
			return t;
	return IOF_NOP;
}

int iofuzz_dev_by_name_len(const char *name, size_t len)
{
	for (unsigned int i = 0; i < iofuzz_nr_devs; i++)
		if (strlen(iofuzz_devs[i].name) == len && !strncmp(iofuzz_devs[i].name, name, len))
			return i;
	return -1;
}

int iofuzz_dev_by_name(const char *name)
{
	return iofuzz_dev_by_name_len(name, strlen(name));
}

/* The named device a port belongs to ("full" when none does). */
const char *iofuzz_port_dev_name(uint32_t port)
{
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++) {
		const struct iofuzz_range *r = &iofuzz_devs[d].r;

		if (r->space == IOF_PORT && !iofuzz_devs[d].optional && port >= r->beg &&
		    port <= r->end)
			return iofuzz_devs[d].name;
	}
	return "full";
}

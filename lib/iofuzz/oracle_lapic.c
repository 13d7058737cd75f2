// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the read oracle's model of the local APIC's xAPIC registers (the
 * "lapic" device, the MMIO page at 0xfee00000), from the SDM vol. 3A
 * chapter 11 as KVM implements it (arch/x86/kvm/lapic.c):
 *
 *  - 11.4.6 local APIC ID (bits 31:24 of 0x020, written whole: KVM keeps
 *    8 bits, the low 24 read 0);
 *  - 11.4.8 version (0x030, read-only): version 0x14, bits 23:16 the
 *    maximum LVT entry, the number of LVT entries minus one: KVM offers 6
 *    (timer, thermal, performance counter, LINT0, LINT1, error; no CMCI
 *    without MCG_CAP.MCG_CMCI_P), so 0x00050014;
 *  - 11.8.3.1 TPR (0x080, bits 7:0 kept, the rest read 0) and PPR (0x0a0,
 *    read-only): PPR = TPR when TPR[7:4] >= ISRV[7:4], else ISRV[7:4] << 4;
 *    the guest runs with RFLAGS.IF=0, so nothing is ever accepted into the
 *    ISR: ISRV is 0 and PPR is TPR[7:0].  ARBPRI (0x090) reads 0 in KVM;
 *  - 11.6.2.2 LDR (0x0d0, bits 31:24 kept) and DFR (0x0e0, bits 27:0 read
 *    as 1s, bits 31:28 the model);
 *  - 11.9 SVR (0x0f0): vector 7:0, APIC software enable 8, focus checking
 *    9 kept; bit 12 (EOI-broadcast suppression) reads 0 because KVM's
 *    version register does not offer it with the in-kernel I/O APIC.
 *    Clearing bit 8 sets the mask bit of every LVT entry (11.4.7.2), and
 *    while it is clear a write to an LVT entry sets its mask bit;
 *  - 11.5.1 LVT: reserved bits read 0: timer keeps vector, delivery
 *    status, mask and the timer mode (bits 18:17 with TSC-deadline in the
 *    guest's CPUID, else bit 17); thermal, performance counter and error
 *    keep vector, delivery mode (not the error entry), status, mask; LINT0
 *    and LINT1 also polarity, remote IRR and trigger mode;
 *  - 11.5.3 ESR (0x280): KVM records no error (lapic.c writes APIC_ESR
 *    only at RESET; a write of ESR does nothing in xAPIC mode), so ESR
 *    reads 0 after any write: a KVM deviation (an illegal vector sent or
 *    received would latch bits 5 and 6 at the next ESR write);
 *  - 11.6.1 ICR (0x300, 0x310): ICR low reads back what was written with
 *    delivery status (bit 12) 0 (KVM sends at once); ICR high keeps bits
 *    31:24;
 *  - 11.5.4 timer: initial count (0x380) as written; divide configuration
 *    (0x3e0) keeps bits 0, 1 and 3;
 *  - ISR (0x100-0x170) reads 0 (above); EOI (0x0b0) is write-only.
 *
 * Where KVM deliberately differs from the SDM the model follows KVM:
 *  - LVT delivery status (bit 12) and LINT0/LINT1 remote IRR (bit 14) are
 *    read-only in the SDM but stored as written (apic_lvt_mask[]'s LVT_MASK
 *    and LINT_MASK include them); so are ICR low's reserved bits;
 *  - at RESET LVT0 is ExtINT and unmasked (KVM_X86_QUIRK_LINT0_REENABLED,
 *    on by default) while SVR is 0xff;
 *  - a write to the timer's mode that enters or leaves TSC-deadline mode
 *    zeroes the initial count (apic_update_lvtt()); in TSC-deadline mode
 *    an initial count write is ignored;
 *  - kvm_amd: while CR8 writes are not intercepted (svm_update_cr8_intercept():
 *    no IRR vector at or below TPR), every VM exit copies the VMCB's V_TPR
 *    back into the TPR (sync_cr8_to_lapic() -> kvm_set_cr8() ->
 *    kvm_lapic_set_tpr()), and V_TPR holds TPR[7:4] only: TPR (and so PPR)
 *    bits 3:0 read 0 after the next exit, or as written while an IRR vector
 *    keeps the intercept on.  The SDM keeps them (figure 11-18); the model
 *    does not compare them on kvm_amd (irqchip_test's
 *    lapic_tpr_keeps_its_subclass is where that is a finding);
 *  - only a 4-byte write at the start of a 16-byte slot writes a register:
 *    any other size or alignment is dropped (apic_mmio_write(), SDM 11.4.1:
 *    "32-bit aligned");
 *  - a read of 1, 2 or 4 bytes that stays inside the slot's first dword
 *    returns those bytes of the register; a read past that dword (8-byte
 *    reads included), of an offset above 0x3f0, of a reserved or write-only
 *    offset (EOI, LVT CMCI, 0x000-0x010, 0x040-0x070, 0x0c0, 0x290-0x2e0,
 *    0x3a0-0x3d0, 0x3f0) is refused by kvm_lapic_reg_read() and the guest
 *    gets whatever the emulator's buffer held: not checked.
 *
 *  - 11.6.1-11.6.2 IPIs and the IRR (0x200-0x270), with one model per vCPU
 *    (tools/iofuzz -p; APIC ID = the vCPU's, LVT0 ExtINT on the BSP only):
 *    a fixed IPI of vector 16-255 that is not a level-triggered de-assert
 *    sets its IRR bit in every target whose APIC is software-enabled, the
 *    targets given by the shorthand or by the destination (broadcast 0xff;
 *    physical: the APIC ID; logical: the LDR by the flat or cluster DFR
 *    model, KVM's kvm_apic_match_dest()).  The guest runs with IF=0, so no
 *    IRR bit is ever cleared: a bit the model set must read 1, any other
 *    must read 0 unless a source the model does not follow may have set it
 *    (iofuzz_lapic_irr_maybe(): lowest-priority IPIs, vectors 0-15, LVT
 *    entries that can fire, I/O APIC redirection entries).
 *
 * Not checked because time or interrupt delivery decides them: the timer's
 * current count (0x390) and TMR (0x180-0x1f0).  An ICR write that sends INIT to
 * self resets the vCPU: the host restarts the VM and the chunk is not
 * checked.  A WRMSR to IA32_APIC_BASE (msr_arch runs) may disable, move or
 * switch the APIC to x2APIC mode: the LAPIC is unchecked until the next VM.
 * Any other WRMSR may program a performance counter whose overflow (a PMI)
 * sets LVTPC's mask bit: that bit is not compared after one.
 *
 * KVM_GET_LAPIC after every chunk must agree with the model for every
 * register above (ARBPRI, PPR and the ISR included) and the unused LVT
 * CMCI slot (0).
 */
#include "internal.h"

#define LAPIC_VERSION		0x00050014u	/* 11.4.8: version 0x14, max LVT entry 5 */
#define LAPIC_NR_LVT		6		/* timer .. error, 0x320-0x370 */
#define LVT_VECTOR		0xffu
#define LVT_BASE_BITS		(APIC_LVT_MASKED | APIC_DELIV_STATUS | LVT_VECTOR)
#define LINT_BITS		(LVT_BASE_BITS | APIC_DM_MASK | APIC_LVT_POLARITY | \
				 APIC_LVT_REMOTE_IRR | APIC_LVT_LEVEL)
#define LVT_TIMER_MODE_ONE	APIC_LVT_TIMER_PERIODIC		/* bit 17 only */
#define LVT_TIMER_MODE_TWO	(3u << 17)			/* bits 18:17 */
#define SVR_KEPT		0x3ffu	/* vector, software enable, focus checking */
#define DFR_FORCED		0x0fffffffu
#define XAPIC_HIGH_BYTE		0xff000000u
#define TPR_BITS		0xffu
#define TPR_SUBCLASS		0x0fu	/* 11.8.3.1: bits 3:0, the priority sub-class */
#define TDCR_BITS		0xbu	/* 11.5.4: bits 0, 1, 3 */
#define LAPIC_READ_LIMIT	0x3f0u	/* kvm_lapic_reg_read(): nothing above */

#define R(off)			((off) >> 4)

/* The mask each LVT entry keeps (SDM 11.5.1 figure 11-8, KVM's apic_lvt_mask[]). */
static const uint32_t lvt_bits[LAPIC_NR_LVT] = {
	LVT_BASE_BITS,				/* timer: mode bits added per CPUID */
	LVT_BASE_BITS | APIC_DM_MASK,		/* thermal */
	LVT_BASE_BITS | APIC_DM_MASK,		/* performance counter */
	LINT_BITS,				/* LINT0 */
	LINT_BITS,				/* LINT1 */
	LVT_BASE_BITS,				/* error */
};

static const char *const lvt_names[LAPIC_NR_LVT] = {
	"LVT timer", "LVT thermal", "LVT perfmon", "LVT LINT0", "LVT LINT1", "LVT error",
};

/*
 * KVM's RESET state (kvm_lapic_reset(), SDM 11.4.7.1) of vCPU id: the APIC
 * ID is the vCPU's; only the BSP's LVT0 is ExtINT.
 */
void iofuzz_lapic_reset(struct iofuzz_lapic *m, uint8_t id, bool tsc_deadline,
			bool svm_v_tpr)
{
	memset(m, 0, sizeof(*m));
	m->id = id;
	m->svm_v_tpr = svm_v_tpr;
	m->timer_mode_mask = tsc_deadline ? LVT_TIMER_MODE_TWO : LVT_TIMER_MODE_ONE;
	m->reg[R(APIC_ID)] = (uint32_t)id << 24;
	m->reg[R(APIC_LVR)] = LAPIC_VERSION;
	for (int i = 0; i < LAPIC_NR_LVT; i++)
		m->reg[R(APIC_LVTT) + i] = APIC_LVT_MASKED;
	if (!id)
		m->reg[R(APIC_LVT0)] = APIC_DM_EXTINT;	/* unmasked: see above */
	m->reg[R(APIC_DFR)] = ~0u;
	m->reg[R(APIC_SVR)] = 0xff;
}

void iofuzz_lapic_msr_write(struct iofuzz_lapic *m, uint32_t msr)
{
	if (msr == MSR_IA32_APICBASE)
		m->off = true;
	m->pmi_masks = true;
}

static bool lapic_sw_enabled(const struct iofuzz_lapic *m)
{
	return m->reg[R(APIC_SVR)] & APIC_SVR_ENABLE;
}

static bool timer_tsc_deadline(const struct iofuzz_lapic *m, uint32_t lvtt)
{
	return (lvtt & m->timer_mode_mask) == APIC_LVT_TIMER_TSCDEADLINE;
}

/* An LVT entry written (index 0 the timer). */
static void lvt_write(struct iofuzz_lapic *m, int i, uint32_t val)
{
	uint32_t keep = lvt_bits[i] | (i ? 0 : m->timer_mode_mask);
	uint32_t old = m->reg[R(APIC_LVTT) + i];

	if (!lapic_sw_enabled(m))
		val |= APIC_LVT_MASKED;
	m->reg[R(APIC_LVTT) + i] = val & keep;
	/* KVM: entering or leaving TSC-deadline mode zeroes the initial count. */
	if (!i && timer_tsc_deadline(m, old) != timer_tsc_deadline(m, val))
		m->reg[R(APIC_TMICT)] = 0;
}

static void svr_write(struct iofuzz_lapic *m, uint32_t val)
{
	m->reg[R(APIC_SVR)] = val & SVR_KEPT;
	if (val & APIC_SVR_ENABLE)
		return;
	for (int i = 0; i < LAPIC_NR_LVT; i++)
		m->reg[R(APIC_LVTT) + i] |= APIC_LVT_MASKED;
}

/*
 * The LVT's own interrupts (11.5): an entry that is unmasked with fixed
 * delivery may set its vector's IRR bit whenever its source fires (the
 * timer once armed, a PMI, a LINT pin, KVM's PIT-driven LVT0 delivery):
 * the model does not follow those, so after every write each entry in
 * that state makes its vector unchecked in the IRR.
 */
static void lvt_irq_sources(struct iofuzz_lapic *m)
{
	for (int i = 0; i < LAPIC_NR_LVT; i++) {
		uint32_t e = m->reg[R(APIC_LVTT) + i];

		if (e & APIC_LVT_MASKED)
			continue;
		if ((lvt_bits[i] & APIC_DM_MASK) && (e & APIC_DM_MASK) != APIC_DM_FIXED)
			continue;
		if (!i && !m->reg[R(APIC_TMICT)] && !timer_tsc_deadline(m, e))
			continue;	/* a timer not armed fires nothing */
		iofuzz_lapic_irr_maybe(m, e & LVT_VECTOR);
	}
}

void iofuzz_lapic_write(struct iofuzz_lapic *m, uint32_t off, unsigned int size, uint64_t val)
{
	uint32_t v = (uint32_t)val;

	if (size != 4 || (off & 0xf))
		return;		/* dropped: not a 32-bit aligned dword */
	switch (off) {
	case APIC_ID:
	case APIC_LDR:
	case APIC_ICR_HI:
		m->reg[R(off)] = v & XAPIC_HIGH_BYTE;
		break;
	case APIC_TPR:
		m->reg[R(APIC_TPR)] = v & TPR_BITS;
		m->reg[R(APIC_PPR)] = v & TPR_BITS;	/* ISRV is 0 */
		break;
	case APIC_DFR:
		m->reg[R(APIC_DFR)] = v | DFR_FORCED;
		break;
	case APIC_SVR:
		svr_write(m, v);
		break;
	case APIC_ICR_LO:
		m->reg[R(APIC_ICR_LO)] = v & ~APIC_DELIV_STATUS;
		break;
	case APIC_LVTT ... APIC_LVTERR:
		lvt_write(m, R(off - APIC_LVTT), v);
		break;
	case APIC_TMICT:
		if (!timer_tsc_deadline(m, m->reg[R(APIC_LVTT)]))
			m->reg[R(APIC_TMICT)] = v;
		break;
	case APIC_TDCR:
		m->reg[R(APIC_TDCR)] = v & TDCR_BITS;
		break;
	default:
		break;	/* read-only (version, PPR, ISR, ...), EOI, ESR, reserved */
	}
	lvt_irq_sources(m);
}

void iofuzz_lapic_irr_maybe(struct iofuzz_lapic *m, uint8_t vec)
{
	m->irr_maybe[vec / 32] |= 1u << (vec % 32);
}

/*
 * 11.6.2: is m's APIC a destination of ICR high's dest field?  A broadcast
 * (0xff) reaches all; physical mode matches the APIC ID; logical mode the
 * LDR, by the DFR's model: flat (1111b) any common bit of the 8-bit
 * logical ID, cluster (0000b) the same cluster (bits 7:4) and a common bit
 * of 3:0; KVM matches no other DFR value (kvm_apic_match_logical_addr()).
 */
static bool lapic_is_dest(const struct iofuzz_lapic *m, uint8_t dest, bool logical)
{
	uint8_t lid = m->reg[R(APIC_LDR)] >> 24;

	if (dest == APIC_DEST_BROADCAST)
		return true;
	if (!logical)
		return dest == m->reg[R(APIC_ID)] >> 24;
	switch (m->reg[R(APIC_DFR)] >> 28) {
	case 0xf:
		return lid & dest;
	case 0x0:
		return (lid >> 4) == (dest >> 4) && (lid & dest & 0xf);
	default:
		return false;
	}
}

/*
 * 11.6.1-11.6.2 and KVM's __apic_accept_irq(): an IPI reaches the targets of
 * its shorthand (self, all including self, all excluding self) or of its
 * destination.  A fixed IPI with a vector of 16-255, unless it is a
 * level-triggered de-assert (which KVM drops), sets the vector's IRR bit of
 * every target whose APIC is software-enabled (a disabled APIC drops it:
 * 11.4.7.2).  Lowest priority picks one target by rules KVM may vary
 * (vector hashing), vectors 0-15 are illegal (11.5.3) and not checked:
 * those may set a bit.  SMI, NMI, INIT, SIPI and ExtINT set none.
 */
void iofuzz_lapic_ipi(struct iofuzz_lapic *all, unsigned int n, unsigned int src)
{
	uint32_t icr = all[src].reg[R(APIC_ICR_LO)], dm = icr & APIC_DM_MASK;
	uint8_t vec = icr & 0xff, dest = all[src].reg[R(APIC_ICR_HI)] >> 24;
	bool sure = dm == APIC_DM_FIXED && vec >= 16 &&
		    !((icr & APIC_ICR_LEVEL_TRIG) && !(icr & APIC_LEVEL_ASSERT));

	if (dm != APIC_DM_FIXED && dm != APIC_DM_LOWEST)
		return;
	for (unsigned int t = 0; t < n; t++) {
		struct iofuzz_lapic *m = &all[t];
		bool hit;

		switch (icr & APIC_DEST_SHORT_MASK) {
		case APIC_DEST_SELF:
			hit = t == src;
			break;
		case APIC_DEST_ALLINC:
			hit = true;
			break;
		case APIC_DEST_ALLBUT:
			hit = t != src;
			break;
		default:
			hit = lapic_is_dest(m, dest, icr & APIC_DEST_LOGICAL);
		}
		if (!hit)
			continue;
		if (!sure)
			iofuzz_lapic_irr_maybe(m, vec);
		else if (lapic_sw_enabled(m))
			m->reg[R(APIC_IRR) + vec / 32] |= 1u << (vec % 32);
	}
}

/* The name of the register at off (a dword offset), or NULL if the model does not check it. */
static const char *lapic_reg_name(uint32_t reg)
{
	static const struct { uint32_t off; const char *name; } names[] = {
		{ APIC_ID, "ID" }, { APIC_LVR, "version" }, { APIC_TPR, "TPR" },
		{ APIC_ARBPRI, "ARBPRI" }, { APIC_PPR, "PPR" }, { APIC_LDR, "LDR" },
		{ APIC_DFR, "DFR" }, { APIC_SVR, "SVR" }, { APIC_ESR, "ESR" },
		{ APIC_ICR_LO, "ICR low" }, { APIC_ICR_HI, "ICR high" },
		{ APIC_TMICT, "timer initial count" }, { APIC_TDCR, "timer divide config" },
	};

	if (reg >= APIC_ISR && reg < APIC_TMR)
		return "ISR";
	if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
		return "IRR";
	if (reg >= APIC_LVTT && reg <= APIC_LVTERR)
		return lvt_names[R(reg - APIC_LVTT)];
	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (names[i].off == reg)
			return names[i].name;
	return NULL;
}

/*
 * Bits of a register the model vouches for: not LVTPC's mask after a
 * possible PMI; on kvm_amd not TPR (PPR) bits 3:0, which the V_TPR sync
 * drops (above).
 */
static uint32_t lapic_known_bits(const struct iofuzz_lapic *m, uint32_t reg)
{
	if (reg >= APIC_IRR && reg < APIC_IRR + 0x80)
		return m->irr_off ? 0 : ~(m->irr_maybe[R(reg - APIC_IRR)] & ~m->reg[R(reg)]);
	if (reg == APIC_LVTPC && m->pmi_masks)
		return ~(uint32_t)APIC_LVT_MASKED;
	if ((reg == APIC_TPR || reg == APIC_PPR) && m->svm_v_tpr)
		return ~TPR_SUBCLASS;
	return ~0u;
}

bool iofuzz_lapic_checks(uint32_t off, unsigned int size)
{
	return lapic_reg_name(off & ~0xfu) && (off & 0xf) + size <= 4 &&
	       off <= LAPIC_READ_LIMIT;
}

uint32_t iofuzz_lapic_read(const struct iofuzz_lapic *m, uint32_t off, unsigned int size,
			   uint64_t *known, char *name, size_t len)
{
	uint32_t reg = off & ~0xfu, shift = 8 * (off & 3);
	const char *n = lapic_reg_name(reg);
	uint64_t bytes = size < 8 ? (1ull << (8 * size)) - 1 : ~0ull;

	snprintf(name, len, "lapic %s+%#x", n ? n : "page", off);
	*known = 0;
	if (m->off || !iofuzz_lapic_checks(off, size))
		return 0;
	*known = (lapic_known_bits(m, reg) >> shift) & bytes;
	return m->reg[R(reg)] >> shift;
}

bool iofuzz_lapic_matches(const struct iofuzz_lapic *m, const struct kvm_lapic_state *k,
			  char *why, size_t len)
{
	if (m->off)
		return true;
	for (uint32_t reg = 0; reg <= LAPIC_READ_LIMIT; reg += 0x10) {
		const char *n = lapic_reg_name(reg);
		uint32_t kv, known = lapic_known_bits(m, reg);

		if (!n && reg != APIC_LVTCMCI)
			continue;
		memcpy(&kv, k->regs + reg, 4);
		if (!((kv ^ m->reg[R(reg)]) & known))
			continue;
		snprintf(why, len, "oracle: KVM_GET_LAPIC lapic.%s (%#x) is %#x, the model has %#x",
			 n ? n : "LVT CMCI", reg, kv & known, m->reg[R(reg)] & known);
		return false;
	}
	return true;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the read oracle.  A reference model of the devices whose guest
 * visible state is a pure function of the ops (and of IRQ lines the host
 * drives itself; for the PIT, of the clock too, which it leaves out),
 * checked against every guest read of them and against KVM_GET_IRQCHIP
 * and KVM_GET_PIT2 after every chunk of ops:
 *
 *  - the 8259A pair at 0x20-0x21 and 0xa0-0xa1 (Intel 8259A datasheet,
 *    order no. 231468: "Initialization command words" ICW1-ICW4,
 *    "Operation command words" OCW1 IMR, OCW2 EOI/rotate, OCW3 read
 *    register/poll/special mask, "The poll command", "Reading the 8259A
 *    status"), master IRQ2 the cascade input of the slave's INT;
 *  - the ELCR pair at 0x4d0-0x4d1 (Intel 82371AB PIIX4 datasheet 12.1.2,
 *    ELCR1/ELCR2: one edge/level bit per IRQ; KVM keeps IRQ 0, 1, 2, 8
 *    and 13 edge: bits fixed at 0, elcr_mask 0xf8/0xde);
 *  - the I/O APIC's IOREGSEL (offset 0x00, 8 bits) and IOWIN (0x10) at
 *    0xfec00000 (Intel 82093AA datasheet 3.0-3.2: IOAPICID bits 27:24,
 *    IOAPICVER read-only with the maximum redirection entry in bits 23:16,
 *    IOAPICARB, IOREDTBL[0-23] with Delivery Status (bit 12) and Remote IRR
 *    (bit 14) read-only);
 *  - the 8254 PIT at 0x40-0x43 (Intel 8254 Programmable Interval Timer
 *    datasheet, order no. 231164: "Control Word Format" SC/RW/M/BCD with
 *    modes 6 and 7 being 2 and 3, "Write Operations" and "Read Operations"
 *    with the LSB-then-MSB flip-flops, "Counter Latch Command" (a second
 *    latch ignored while one is pending), "Read-Back Command" (count and/or
 *    status of several counters, status byte OUTPUT, NULL COUNT, RW1-0,
 *    M2-0, BCD; a latched status is read before a latched count)) and
 *    port 0x61's counter 2 gate (bit 0) and speaker data (bit 1).  Counts
 *    follow the clock, so only what is deterministic is checked: status
 *    bits 6-0, which byte a read returns (through the flip-flops and
 *    KVM_GET_PIT2), and, for counters 1 and 2 in modes 2 and 3, that a
 *    latched count is within 1..reload.  Live (unlatched) count bytes, the
 *    status OUTPUT bit and port 0x61's bits 4-5 are not compared.
 *    KVM_GET_PIT2's per-counter reload, count_latched, status_latched,
 *    status (bits 6-0), read_state, write_state, write_latch, rw_mode, mode,
 *    bcd, gate and the speaker flag are compared after every chunk;
 *  - the local APIC's xAPIC registers at 0xfee00000 (SDM vol. 3A chapter
 *    11): the model, what it checks and KVM's deviations are in
 *    oracle_lapic.c; KVM_GET_LAPIC is compared after every chunk.
 *
 * Where KVM deliberately differs from the datasheets the model follows KVM
 * (arch/x86/kvm/i8259.c, ioapic.c), so a finding is a change of KVM's
 * behaviour, not its known deviations:
 *  - a PIC or ELCR access that is not one byte but lies inside the device's
 *    2-port range is dropped (write) or reads 0 (picdev_read/write); one
 *    reaching past it is no KVM device's and exits to userspace (unchecked);
 *  - the poll command's read clears the winning IRR bit even when it is
 *    level-triggered and clears (never sets) its ISR bit, the datasheet's
 *    poll being an INTA; a read with no request returns 0x07; the poll
 *    flag is consumed by a read of either port and not cleared by ICW1;
 *  - ICW1's SNGL and LTIM bits are ignored (cascade, edge), ICW3 is ignored;
 *  - special mask mode is stored (KVM_GET_IRQCHIP shows it) but takes no
 *    part in priority resolution;
 *  - the master sees the slave's request as a pulse on IRQ2 every time KVM
 *    re-evaluates the pair (pic_update_irq());
 *  - IOAPICARB reads as the ID; the version is 0x11 with 24 entries
 *    (0x00170011); the ID is 4 bits; IOREGSEL keeps 8 bits of the write;
 *    an IOWIN write of 1 or 2 bytes replaces the whole dword with the
 *    zero-extended value, an 8-byte write takes its low dword; an access
 *    not at offset 0x00 or 0x10 reads 0 and writes nothing; IOWIN on an
 *    unimplemented index reads 0xffffffff;
 *  - the redirection entries' reserved bits 17-55 are stored as written;
 *    Delivery Status is never set; Remote IRR is cleared by a write that
 *    makes the entry edge-triggered;
 *  - PIT (i8254.c): NULL COUNT (status bit 6) is never set; before its
 *    first control word a counter's mode is 0xff (its status reads 0x7e in
 *    bits 6-0, the count is read LSB only) and a count latch does nothing
 *    (it latches rw_mode 0); a pending count or status latch survives a new
 *    control word (the datasheet drops it when the counter is
 *    reprogrammed); the read-back command's reserved bit 0 is ignored; BCD
 *    is stored and reported, but counting is binary (count 0 is 65536);
 *    counting ignores GATE (a rising edge restarts modes 1, 2, 3, 5); a
 *    read of the control register 0x43 writes no data (not checked); an
 *    access of 2 or 4 bytes inside 0x40-0x43 or at 0x61 is one byte access
 *    (the write's low byte, the read's byte zero-extended), one reaching
 *    past 0x43 exits to userspace; in modes 2 and 3 the count is
 *    reload - (elapsed mod reload) (mode 3 counting by 2), so in 1..reload.
 *
 * What depends on time or on interrupt delivery is bounded: the guest runs
 * with RFLAGS.IF=0, so nothing acknowledges the PICs (the ISRs stay 0) and
 * the only IRQ sources are the host's KVM_IRQ_LINE levels (on GSIs routed
 * to PIC pins only, set at each chunk's start) and the PIT.  Once an op
 * wrote the PIT, the master's IRR/last_irr bits 0 and 2 (each PIT tick
 * re-evaluates the pair and pulses IRQ2 from a pending slave request),
 * I/O APIC pin 0's IRR and Remote IRR are not compared, and a master poll
 * leaves the master unchecked until the next KVM_GET_IRQCHIP round trip
 * resynchronises it.
 * A chunk cut short by a restart is not checked: the next VM starts fresh.
 */
#include "internal.h"

#define PIC_ELCR_MASK_MASTER	0xf8	/* IRQ 0, 1, 2 edge only */
#define PIC_ELCR_MASK_SLAVE	0xde	/* IRQ 8, 13 edge only */
#define IOAPIC_PINS		24
#define IOAPIC_VERSION		0x00170011u
#define REDIR_DELIV_STATUS	(1ull << 12)
#define REDIR_REMOTE_IRR	(1ull << 14)
#define REDIR_LEVEL		(1ull << 15)
#define REDIR_MASKED		(1ull << 16)
/* The host drives PIC pins 1 and 3-15 (not the PIT's 0, not the cascade) through GSIs 24+. */
#define LINE_GSI_BASE		24
#define LINE_PINS		0xfffaU
#define SALT_LINES		0x4c4e

static const char *const pic_names[2] = { "pic_master", "pic_slave" };
/* The device of the last KVM_GET_IRQCHIP field that differed. */
static int trip_dev;

/* ---- the 8259A pair, as KVM implements it ---- */

static int pic_priority(const struct kvm_pic_state *s, uint8_t mask)
{
	int p = 0;

	if (!mask)
		return 8;
	while (!(mask & (1 << ((p + s->priority_add) & 7))))
		p++;
	return p;
}

/* The IRQ the chip would raise INT for, or -1. */
static int pic_request(const struct iofuzz_oracle *o, int chip)
{
	const struct kvm_pic_state *s = &o->pic[chip];
	uint8_t in_service = s->isr;
	int p = pic_priority(s, s->irr & ~s->imr);

	if (p == 8)
		return -1;
	if (s->special_fully_nested_mode && chip == 0)
		in_service &= ~4;
	return p < pic_priority(s, in_service) ? (p + s->priority_add) & 7 : -1;
}

/* An IRQ input's new level: a rising edge or a level latches IRR. */
static void pic_input(struct kvm_pic_state *s, int irq, bool level)
{
	uint8_t m = 1 << irq;

	if (s->elcr & m) {
		s->irr = level ? s->irr | m : s->irr & ~m;
		s->last_irr = level ? s->last_irr | m : s->last_irr & ~m;
	} else if (level) {
		if (!(s->last_irr & m))
			s->irr |= m;
		s->last_irr |= m;
	} else {
		s->last_irr &= ~m;
	}
}

/* The slave's INT pulses the master's IRQ2 (KVM's pic_update_irq()). */
static void pic_update(struct iofuzz_oracle *o)
{
	if (pic_request(o, 1) >= 0) {
		pic_input(&o->pic[0], 2, true);
		pic_input(&o->pic[0], 2, false);
	}
}

/* ICW1: edge detection reset, IMR and special mask cleared, IRR read. */
static void pic_icw1(struct kvm_pic_state *s, uint8_t val)
{
	s->init4 = val & 1;
	s->last_irr = 0;
	s->irr &= s->elcr;
	s->imr = 0;
	s->priority_add = 0;
	s->special_mask = 0;
	s->read_reg_select = 0;
	if (!s->init4) {
		s->special_fully_nested_mode = 0;
		s->auto_eoi = 0;
	}
	s->init_state = 1;
}

/* OCW2: EOI (non-specific, specific, rotating) and priority rotation. */
static void pic_ocw2(struct iofuzz_oracle *o, struct kvm_pic_state *s, uint8_t val)
{
	unsigned int cmd = val >> 5;
	int irq, p;

	switch (cmd) {
	case 0:
	case 4:
		s->rotate_on_auto_eoi = cmd >> 2;
		return;
	case 1:
	case 5:
		p = pic_priority(s, s->isr);
		if (p == 8)
			return;
		irq = (p + s->priority_add) & 7;
		if (cmd == 5)
			s->priority_add = (irq + 1) & 7;
		s->isr &= ~(1 << irq);
		break;
	case 3:
		s->isr &= ~(1 << (val & 7));
		break;
	case 6:
		s->priority_add = (val + 1) & 7;
		break;
	case 7:
		s->priority_add = ((val & 7) + 1) & 7;
		s->isr &= ~(1 << (val & 7));
		break;
	default:
		return;	/* 2: no operation */
	}
	pic_update(o);
}

static void pic_write(struct iofuzz_oracle *o, int chip, unsigned int a0, uint8_t val)
{
	struct kvm_pic_state *s = &o->pic[chip];

	if (!a0) {
		if (val & 0x10) {
			pic_icw1(s, val);
		} else if (val & 0x08) {	/* OCW3 */
			if (val & 0x04)
				s->poll = 1;
			if (val & 0x02)
				s->read_reg_select = val & 1;
			if (val & 0x40)
				s->special_mask = (val >> 5) & 1;
		} else {
			pic_ocw2(o, s, val);
		}
		return;
	}
	switch (s->init_state) {
	case 0:		/* OCW1 */
		s->imr = val;
		pic_update(o);
		break;
	case 1:		/* ICW2 */
		s->irq_base = val & 0xf8;
		s->init_state = 2;
		break;
	case 2:		/* ICW3, ignored */
		s->init_state = s->init4 ? 3 : 0;
		break;
	default:	/* ICW4 */
		s->special_fully_nested_mode = (val >> 4) & 1;
		s->auto_eoi = (val >> 1) & 1;
		s->init_state = 0;
		break;
	}
}

/*
 * The master's IRR bits that follow the PIT's clock once it was written:
 * IRQ0, and IRQ2, which KVM pulses again from the slave's request at every
 * tick (kvm_pic_set_irq() -> pic_update_irq()).
 */
#define MASTER_TIMED_IRR	0x05

/* Can the master's poll result depend on the PIT's clock? */
static bool pic_poll_timed(const struct iofuzz_oracle *o, int chip)
{
	return !chip && o->irq0_timed;
}

static uint8_t pic_poll(struct iofuzz_oracle *o, int chip)
{
	struct kvm_pic_state *s = &o->pic[chip];
	int irq = pic_request(o, chip);

	if (irq < 0) {
		pic_update(o);
		return 0x07;
	}
	if (chip) {
		o->pic[0].isr &= ~4;
		o->pic[0].irr &= ~4;
	}
	s->irr &= ~(1 << irq);
	s->isr &= ~(1 << irq);
	if (chip || irq != 2)
		pic_update(o);
	return 0x80 | irq;
}

/* A byte read of a PIC port; *known: the bits the model vouches for. */
static uint8_t pic_read(struct iofuzz_oracle *o, int chip, unsigned int a0, uint8_t *known)
{
	struct kvm_pic_state *s = &o->pic[chip];
	bool irr_read = !a0 && !s->read_reg_select;

	*known = 0xff;
	if (s->poll) {
		s->poll = 0;
		if (pic_poll_timed(o, chip)) {
			o->master_stale = true;
			*known = 0;
		}
		return pic_poll(o, chip);
	}
	if (!chip && o->irq0_timed && irr_read)
		*known = (uint8_t)~MASTER_TIMED_IRR;
	return a0 ? s->imr : s->read_reg_select ? s->isr : s->irr;
}

/* ---- the I/O APIC's indirect registers ---- */

static uint32_t ioapic_indirect_read(const struct iofuzz_oracle *o, uint32_t *known)
{
	const struct kvm_ioapic_state *a = &o->ioapic;
	uint32_t index = (a->ioregsel - 0x10) >> 1;
	uint64_t e;

	*known = ~0u;
	switch (a->ioregsel) {
	case 0x01:
		return IOAPIC_VERSION;
	case 0x00:
	case 0x02:
		return (a->id & 0xf) << 24;
	}
	if (index >= IOAPIC_PINS)
		return ~0u;
	e = a->redirtbl[index].bits;
	if (index == 0 && o->irq0_timed && !(a->ioregsel & 1))
		*known = ~(uint32_t)REDIR_REMOTE_IRR;
	return a->ioregsel & 1 ? e >> 32 : (uint32_t)e;
}

static void ioapic_indirect_write(struct iofuzz_oracle *o, uint32_t val)
{
	struct kvm_ioapic_state *a = &o->ioapic;
	uint32_t index = (a->ioregsel - 0x10) >> 1;
	uint64_t e, ro;

	switch (a->ioregsel) {
	case 0x00:
		a->id = (val >> 24) & 0xf;
		return;
	case 0x01:
	case 0x02:
		return;
	}
	if (index >= IOAPIC_PINS)
		return;
	/* The entry's vector may reach any vCPU's IRR (a line, the PIT): not modelled. */
	if (!(a->ioregsel & 1))
		for (unsigned int i = 0; i < o->nr_lapics; i++)
			iofuzz_lapic_irr_maybe(&o->lapic[i], val & 0xff);
	e = a->redirtbl[index].bits;
	ro = e & (REDIR_DELIV_STATUS | REDIR_REMOTE_IRR);
	if (a->ioregsel & 1)
		e = (uint32_t)e | (uint64_t)val << 32;
	else
		e = (e & ~0xffffffffull) | val;
	e = (e & ~(REDIR_DELIV_STATUS | REDIR_REMOTE_IRR)) | ro;
	if (!(e & REDIR_LEVEL))
		e &= ~REDIR_REMOTE_IRR;
	a->redirtbl[index].bits = e;
}

/* An MMIO read of the I/O APIC page; 8-byte reads zero-extend the dword. */
static uint64_t ioapic_read(struct iofuzz_oracle *o, uint64_t off, unsigned int size,
			    uint64_t *known)
{
	uint32_t v = 0, k = ~0u;

	if (off == 0x00)
		v = o->ioapic.ioregsel;
	else if (off == 0x10)
		v = ioapic_indirect_read(o, &k);
	*known = size == 8 ? ~0ull : ((1ull << (8 * size)) - 1) & k;
	return v;
}

static void ioapic_write(struct iofuzz_oracle *o, uint64_t off, unsigned int size, uint64_t val)
{
	uint32_t data = size >= 4 ? (uint32_t)val : val & ((1u << (8 * size)) - 1);

	if (off == 0x00)
		o->ioapic.ioregsel = data & 0xff;
	else if (off == 0x10)
		ioapic_indirect_write(o, data);
}

/* ---- ops against the model ---- */

enum odev { OD_NONE, OD_PIC0, OD_PIC1, OD_ELCR, OD_IOAPIC, OD_PIT, OD_SPK, OD_LAPIC };

static enum odev op_dev(uint64_t addr, unsigned int type)
{
	if (type == IOF_MMIO_RD || type == IOF_MMIO_WR) {
		if (addr >= APIC_DEFAULT_GPA && addr < APIC_DEFAULT_GPA + PAGE_SIZE)
			return OD_LAPIC;
		return addr >= IOAPIC_DEFAULT_GPA && addr < IOAPIC_DEFAULT_GPA + 0x100 ?
		       OD_IOAPIC : OD_NONE;
	}
	if (type < IOF_IN || type > IOF_OUTS)
		return OD_NONE;
	switch (addr) {
	case 0x20 ... 0x21:
		return OD_PIC0;
	case 0xa0 ... 0xa1:
		return OD_PIC1;
	case 0x4d0 ... 0x4d1:
		return OD_ELCR;
	case 0x40 ... 0x43:
		return OD_PIT;
	case 0x61:
		return OD_SPK;
	}
	return OD_NONE;
}

bool iofuzz_oracle_wants(const struct iofuzz_op *op)
{
	enum odev d = op_dev(op->addr, op->type);

	/* An MSR op's outcome (#GP or not) and a RDMSR's value: oracle_msr.c. */
	if (op->type == IOF_MSR_RD || op->type == IOF_MSR_WR)
		return iofuzz_msr_models(op->addr);
	return (op->type == IOF_IN || op->type == IOF_MMIO_RD) && d != OD_NONE;
}

/* One byte or more to a PIC/ELCR port: KVM's device takes it only inside its 2 ports. */
static bool port_in_kernel(uint64_t port, unsigned int size)
{
	return (port & 1) + size <= 2;
}

bool iofuzz_oracle_checks(const struct iofuzz_op *op)
{
	enum odev d = op_dev(op->addr, op->type);

	if (d == OD_LAPIC)
		return op->type == IOF_MMIO_RD &&
		       iofuzz_lapic_checks(op->addr - APIC_DEFAULT_GPA, op->size);
	/* Not every PIT read is checked (live counts follow the clock). */
	return iofuzz_oracle_wants(op) && d != OD_PIT && d != OD_SPK &&
	       (op->type == IOF_MMIO_RD || port_in_kernel(op->addr, op->size));
}

bool iofuzz_oracle_models(unsigned int dev)
{
	static const char *const names[] = {
		"pic_master", "pic_slave", "elcr", "ioapic", "lapic", "msr_mtrr", "msr_mce",
	};

	for (unsigned int i = 0; i < ARRAY_SIZE(names); i++)
		if (dev < iofuzz_nr_devs && !strcmp(iofuzz_devs[dev].name, names[i]))
			return true;
	return false;
}

/* One element of a port op on a modelled port; returns the value, *known its checked bits. */
static uint32_t port_access(struct iofuzz_oracle *o, enum odev d, uint64_t port,
			    unsigned int size, bool write, uint32_t val, uint32_t *known)
{
	uint8_t k = 0xff, r = 0;

	*known = (size == 4 ? ~0u : (1u << (8 * size)) - 1);
	if (size != 1) {
		/* Non-byte: dropped, or read as 0 (picdev_read()'s memset). */
		return 0;
	}
	if (d == OD_ELCR) {
		struct kvm_pic_state *s = &o->pic[port & 1];

		if (write)
			s->elcr = val & s->elcr_mask;
		return s->elcr;
	}
	if (write) {
		pic_write(o, d == OD_PIC1, port & 1, val);
		return 0;
	}
	r = pic_read(o, d == OD_PIC1, port & 1, &k);
	if (d == OD_PIC0 && o->master_stale)
		k = 0;
	*known = k;
	return r;
}

static int odev_id(const struct iofuzz_oracle *o, enum odev d)
{
	return o->dev_id[d];
}

/* A read's check: false with the finding text when KVM's value is not the model's. */
/* -L: every checked read, for a comparison between platforms (iofuzz_readlog_compare()). */
static FILE *read_log;

void iofuzz_oracle_log(FILE *f)
{
	read_log = f;
}

static void log_read(const struct iofuzz_oracle *o, const char *reg, uint64_t actual,
		     uint64_t known)
{
	if (read_log)
		fprintf(read_log, "read %lu %u %#lx %#lx %s\n", o->idx, o->cpu, actual & known,
			known, reg);
}

static bool check_read(struct iofuzz_oracle *o, struct iofuzz_state *st, enum odev d,
		       const char *reg, uint64_t expect, uint64_t actual, uint64_t known,
		       bool planted, char *why, size_t len)
{
	if (planted)
		expect ^= 0x80;	/* the test-only planted mismatch (-F oracle) */
	if (!known)
		return true;
	log_read(o, reg, actual, known);
	st->stats[odev_id(o, d)].oracle_reads++;
	st->oracle_reads++;
	if (!((expect ^ actual) & known))
		return true;
	snprintf(why, len, "oracle: %s read %#lx, the model expects %#lx (bits compared %#lx)",
		 reg, actual & known, expect & known, known);
	return false;
}

/* ---- the 8254 PIT and the speaker port, as KVM implements them ---- */

/* The read/write flip-flop states (KVM's RW_STATE_*): LSB, MSB, LSB then MSB. */
#define PIT_RW_LSB		1
#define PIT_RW_MSB		2
#define PIT_RW_WORD0		3
#define PIT_RW_WORD1		4
#define PIT_MODE_RESET		0xff	/* no control word yet */
#define PIT_STATUS_OUT		0x80	/* follows the clock: never compared */
#define SPEAKER_TIMED		0x30	/* refresh clock (bit 4), counter 2 OUT (bit 5) */

/* KVM's reset (kvm_pit_reset()): no mode, gate 2 low, every count 0 (= 65536). */
static void pit_reset(struct iofuzz_oracle *o)
{
	for (int ch = 0; ch < 3; ch++) {
		o->pit.channels[ch].mode = PIT_MODE_RESET;
		o->pit.channels[ch].gate = ch != 2;
		o->pit.channels[ch].count = 0x10000;
		o->pit_lo[ch] = -1;
	}
}

/*
 * Counter latch command (8254 datasheet "Counter Latch Command"): ignored
 * while a latch is pending.  In modes 2 and 3 (and before any control word)
 * KVM's count lies in 1..reload (65536 reads as 0); channel 0's elapsed time
 * comes from its hrtimer, whose period KVM may clamp, so only counters 1
 * and 2 are bounded.
 */
static void pit_latch_count(struct iofuzz_oracle *o, int ch)
{
	struct kvm_pit_channel_state *c = &o->pit.channels[ch];
	bool bounded = c->mode == 2 || c->mode == 3 || c->mode == PIT_MODE_RESET;

	if (c->count_latched)
		return;
	c->count_latched = c->rw_mode;
	o->pit_bound[ch] = ch && bounded && c->count < 0x10000 ? c->count : 0;
	o->pit_lo[ch] = -1;
}

/* Read-back status: OUTPUT (bit 7, timed), NULL COUNT (bit 6), RW, mode, BCD. */
static void pit_latch_status(struct iofuzz_oracle *o, int ch)
{
	struct kvm_pit_channel_state *c = &o->pit.channels[ch];

	if (c->status_latched)
		return;
	c->status = (uint8_t)((c->rw_mode << 4) | (c->mode << 1) | c->bcd);
	c->status_latched = 1;
}

static void pit_control(struct iofuzz_oracle *o, uint8_t val)
{
	int ch = val >> 6, access = (val >> 4) & 3;
	struct kvm_pit_channel_state *c;

	if (ch == 3) {		/* read-back: bit 5 !COUNT, bit 4 !STATUS, bits 3-1 CNT2-0 */
		for (ch = 0; ch < 3; ch++) {
			if (!(val & (2 << ch)))
				continue;
			if (!(val & 0x20))
				pit_latch_count(o, ch);
			if (!(val & 0x10))
				pit_latch_status(o, ch);
		}
		return;
	}
	if (!access) {
		pit_latch_count(o, ch);
		return;
	}
	c = &o->pit.channels[ch];
	c->rw_mode = c->read_state = c->write_state = access;
	c->mode = (val >> 1) & 7;
	if (c->mode > 5)
		c->mode -= 4;	/* modes 6 and 7 are 2 and 3 */
	c->bcd = val & 1;
}

static void pit_load(struct kvm_pit_channel_state *c, uint32_t val)
{
	c->count = val ? val : 0x10000;
}

static void pit_write(struct iofuzz_oracle *o, unsigned int reg, uint8_t val)
{
	struct kvm_pit_channel_state *c = &o->pit.channels[reg & 3];

	if (reg == 3) {
		pit_control(o, val);
		return;
	}
	switch (c->write_state) {
	case PIT_RW_MSB:
		pit_load(c, val << 8);
		break;
	case PIT_RW_WORD0:
		c->write_latch = val;
		c->write_state = PIT_RW_WORD1;
		break;
	case PIT_RW_WORD1:
		pit_load(c, c->write_latch | val << 8);
		c->write_state = PIT_RW_WORD0;
		break;
	default:
		pit_load(c, val);
		break;
	}
}

/* Is a latched count's byte `got` (MSB when msb) within the latch's bound? */
static bool pit_in_bound(struct iofuzz_oracle *o, int ch, uint8_t got, bool msb)
{
	uint32_t bound = o->pit_bound[ch], v;

	if (!bound)
		return true;
	if (!msb) {
		o->pit_lo[ch] = got;
		return true;
	}
	if (o->pit_lo[ch] < 0)		/* MSB only: the count is at least got << 8 */
		return (uint32_t)got << 8 <= bound;
	v = o->pit_lo[ch] | got << 8;
	return v && v <= bound;
}

/*
 * A byte read of counter ch: a latched status first, then a latched count,
 * else the live count through the read flip-flop.  *known: the bits the
 * model vouches for; *bad: a latched count above the latch's bound.
 */
static uint8_t pit_read(struct iofuzz_oracle *o, int ch, uint8_t got, uint8_t *known, bool *bad)
{
	struct kvm_pit_channel_state *c = &o->pit.channels[ch];
	bool msb;

	*known = 0;
	*bad = false;
	if (c->status_latched) {
		c->status_latched = 0;
		*known = (uint8_t)~PIT_STATUS_OUT;
		return c->status;
	}
	if (c->count_latched) {
		msb = c->count_latched == PIT_RW_MSB;
		c->count_latched = c->count_latched == PIT_RW_WORD0 ? PIT_RW_MSB : 0;
		*bad = !pit_in_bound(o, ch, got, msb);
		return 0;
	}
	if (c->read_state == PIT_RW_WORD0)
		c->read_state = PIT_RW_WORD1;
	else if (c->read_state == PIT_RW_WORD1)
		c->read_state = PIT_RW_WORD0;
	return 0;
}

/* Port 0x61: bit 0 counter 2's gate, bit 1 speaker data; a write sets both. */
static uint8_t speaker_access(struct iofuzz_oracle *o, bool write, uint32_t val)
{
	if (write) {
		o->pit.flags = (o->pit.flags & ~KVM_PIT_FLAGS_SPEAKER_DATA_ON) |
			       (val & 2 ? KVM_PIT_FLAGS_SPEAKER_DATA_ON : 0);
		o->pit.channels[2].gate = val & 1;
		return 0;
	}
	return !!(o->pit.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) << 1 | o->pit.channels[2].gate;
}

/* Is an access of size bytes at port KVM's PIT or speaker (else it exits to userspace)? */
static bool pit_in_kernel(uint64_t port, unsigned int size)
{
	return port == 0x61 || (port & 3) + size <= 4;
}

static const char *pit_reg_name(const struct iofuzz_oracle *o, uint64_t port, char *buf,
				size_t len)
{
	const struct kvm_pit_channel_state *c = &o->pit.channels[port & 3];

	if (port == 0x61)
		return "speaker 0x61";
	if ((port & 3) == 3)
		return "pit control 0x43";
	snprintf(buf, len, "pit counter %u %s", (unsigned int)(port & 3),
		 c->status_latched ? "status (read-back)" :
		 c->count_latched == PIT_RW_MSB ? "latched count MSB" :
		 c->count_latched ? "latched count LSB" : "count");
	return buf;
}

/* One PIT or speaker op, element by element; false with the finding in why. */
static bool pit_port_op(struct iofuzz_oracle *o, struct iofuzz_state *st, enum odev d,
			const struct iofuzz_op *op, const uint8_t *data, char *why, size_t len)
{
	bool write = op->type == IOF_OUT || op->type == IOF_OUTS;
	uint8_t str[IOFUZZ_STR_MAX * 4], k;
	unsigned int port = op->addr;
	char name[64];
	const char *reg;

	if (!pit_in_kernel(op->addr, op->size))
		return true;
	if (op->type == IOF_OUTS)
		iofuzz_str_data(op, str);
	for (unsigned int e = 0; e < op->count; e++) {
		uint32_t v = 0, expect = 0, known;
		bool bad = false;

		if (op->type == IOF_OUT)
			v = op->value;
		else if (op->type == IOF_OUTS)
			memcpy(&v, str + e * op->size, op->size);
		if (write) {
			if (port == 0x61)
				speaker_access(o, true, v);
			else
				pit_write(o, port & 3, v);
			continue;
		}
		memcpy(&v, data + (op->type == IOF_INS ? e * op->size : 0), 4);
		/* Wider reads zero-extend the byte; a read of 0x43 leaves the data as it was. */
		known = (op->size == 4 ? ~0u : (1u << (8 * op->size)) - 1) & ~0xffu;
		reg = pit_reg_name(o, port, name, sizeof(name));
		if (port == 0x61) {
			expect = speaker_access(o, false, 0);
			known |= (uint8_t)~SPEAKER_TIMED;
		} else if ((port & 3) == 3) {
			known = 0;
		} else {
			expect = pit_read(o, port & 3, v, &k, &bad);
			known |= k;
		}
		if (bad) {
			st->stats[o->dev_id[d]].oracle_reads++;
			st->oracle_reads++;
			snprintf(why, len, "oracle: %s read %#x, above the count latched from "
				 "reload %#x (mode 2/3: 1..reload)", reg, v & 0xff,
				 o->pit_bound[port & 3]);
			return false;
		}
		if (!check_read(o, st, d, reg, expect, v, known, false, why, len))
			return false;
	}
	return true;
}

/* The register a port read returns, for a finding. */
static const char *port_reg_name(const struct iofuzz_oracle *o, enum odev d, uint64_t port,
				 unsigned int size)
{
	const struct kvm_pic_state *s;

	if (size != 1)
		return d == OD_ELCR ? "ELCR (non-byte)" : "PIC (non-byte)";
	if (d == OD_ELCR)
		return port & 1 ? "ELCR2 0x4d1" : "ELCR1 0x4d0";
	s = &o->pic[d == OD_PIC1];
	if (s->poll)
		return d == OD_PIC1 ? "pic_slave poll" : "pic_master poll";
	if (port & 1)
		return d == OD_PIC1 ? "pic_slave IMR" : "pic_master IMR";
	if (s->read_reg_select)
		return d == OD_PIC1 ? "pic_slave ISR (OCW3)" : "pic_master ISR (OCW3)";
	return d == OD_PIC1 ? "pic_slave IRR (OCW3)" : "pic_master IRR (OCW3)";
}

static bool port_op(struct iofuzz_oracle *o, struct iofuzz_state *st, const struct iofuzz_op *op,
		    const uint8_t *data, bool planted, char *why, size_t len)
{
	enum odev d = op_dev(op->addr, op->type);
	bool write = op->type == IOF_OUT || op->type == IOF_OUTS;
	uint8_t str[IOFUZZ_STR_MAX * 4];
	char reg[64];

	if (d == OD_PIT || d == OD_SPK) {
		o->irq0_timed |= write && d == OD_PIT;
		return pit_port_op(o, st, d, op, data, why, len);
	}
	if (!port_in_kernel(op->addr, op->size))
		return true;	/* userspace's, not KVM's */
	if (op->type == IOF_OUTS)
		iofuzz_str_data(op, str);
	for (unsigned int e = 0; e < op->count; e++) {
		uint32_t v = 0, known, r;

		if (op->type == IOF_OUT)
			v = op->value;
		else if (op->type == IOF_OUTS)
			memcpy(&v, str + e * op->size, op->size);
		snprintf(reg, sizeof(reg), "%s", port_reg_name(o, d, op->addr, op->size));
		r = port_access(o, d, op->addr, op->size, write, v, &known);
		if (write)
			continue;
		memcpy(&v, data + (op->type == IOF_INS ? e * op->size : 0), 4);
		if (!check_read(o, st, d, reg, r, v, known, planted, why, len))
			return false;
	}
	return true;
}

/*
 * A WRMSR by the vCPU whose chunk it is.  Once its APIC may have left xAPIC
 * mode (IA32_APIC_BASE), it may send IPIs the model does not see (the
 * x2APIC ICR): no vCPU's IRR is checked any more in this VM.
 */
static void lapic_msr_write(struct iofuzz_oracle *o, uint32_t msr)
{
	iofuzz_lapic_msr_write(&o->lapic[o->cpu], msr);
	if (!o->lapic[o->cpu].off)
		return;
	for (unsigned int i = 0; i < o->nr_lapics; i++)
		o->lapic[i].irr_off = true;
}

/* A local APIC MMIO op (the model: oracle_lapic.c). */
static bool lapic_op(struct iofuzz_oracle *o, struct iofuzz_state *st, const struct iofuzz_op *op,
		     const uint8_t *data, bool planted, char *why, size_t len)
{
	uint32_t off = op->addr - APIC_DEFAULT_GPA;
	uint64_t known, r, v = 0;
	char reg[64];

	struct iofuzz_lapic *m = &o->lapic[o->cpu];

	if (op->type == IOF_MMIO_WR) {
		iofuzz_lapic_write(m, off, op->size, op->value);
		if (off == APIC_ICR_LO && op->size == 4 && !m->off)
			iofuzz_lapic_ipi(o->lapic, o->nr_lapics, o->cpu);
		return true;
	}
	r = iofuzz_lapic_read(m, off, op->size, &known, reg, sizeof(reg));
	if (o->nr_lapics > 1) {
		size_t n = strlen(reg);

		snprintf(reg + n, sizeof(reg) - n, " of vCPU %u", o->cpu);
	}
	memcpy(&v, data, 8);
	return check_read(o, st, OD_LAPIC, reg, r, v, known, planted, why, len);
}

static bool mmio_op(struct iofuzz_oracle *o, struct iofuzz_state *st, const struct iofuzz_op *op,
		    const uint8_t *data, bool planted, char *why, size_t len)
{
	uint64_t off = op->addr - IOAPIC_DEFAULT_GPA, known, r, v = 0;
	char reg[64];

	if (op_dev(op->addr, op->type) == OD_LAPIC)
		return lapic_op(o, st, op, data, planted, why, len);

	if (op->type == IOF_MMIO_WR) {
		ioapic_write(o, off, op->size, op->value);
		return true;
	}
	if (off == 0x10)
		snprintf(reg, sizeof(reg), "ioapic IOWIN[%#x]", o->ioapic.ioregsel);
	else
		snprintf(reg, sizeof(reg), "ioapic %s+%#lx", off ? "page" : "IOREGSEL", off);
	r = ioapic_read(o, off, op->size, &known);
	memcpy(&v, data, 8);
	return check_read(o, st, OD_IOAPIC, reg, r, v, known, planted, why, len);
}

/*
 * An MSR op (the model: oracle_msr.c): its outcome, #GP or not, from the
 * byte the stream stored (data[8]), and a RDMSR's EDX:EAX (data[0-7]).
 */
static bool msr_op(struct iofuzz_oracle *o, struct iofuzz_state *st, const struct iofuzz_op *op,
		   const uint8_t *data, char *why, size_t len)
{
	bool rd = op->type == IOF_MSR_RD, gp = data[8], known;
	uint64_t v = 0, want = op->value;
	char name[64];
	int r;

	r = rd ? iofuzz_msr_read(&o->msrs[o->cpu], op->addr, &want, &known) :
		 iofuzz_msr_write(&o->msrs[o->cpu], op->addr, want);
	if (r == IOFUZZ_MSR_UNMODELLED)
		return true;
	iofuzz_msr_name(op->addr, name, sizeof(name));
	if (read_log) {
		char what[96];

		snprintf(what, sizeof(what), "%s %s #GP", rd ? "RDMSR" : "WRMSR", name);
		log_read(o, what, gp, 1);
	}
	if (gp != (r == IOFUZZ_MSR_GP)) {
		if (!rd)
			snprintf(why, len, "oracle: WRMSR of %#lx to %s %s, the model expects %s",
				 op->value, name, gp ? "faulted (#GP)" : "did not fault",
				 gp ? "no #GP" : "#GP");
		else
			snprintf(why, len, "oracle: RDMSR of %s %s, the model expects %s", name,
				 gp ? "faulted (#GP)" : "did not fault", gp ? "no #GP" : "#GP");
		return false;
	}
	if (!rd)
		return true;
	st->stats[st->plan.ranges[op->range].id].oracle_reads++;
	st->oracle_reads++;
	memcpy(&v, data, 8);
	if (!gp && known)
		log_read(o, name, v, ~0ULL);
	if (gp || !known || v == want)
		return true;
	snprintf(why, len, "oracle: RDMSR of %s read %#lx, the model expects %#lx", name, v, want);
	return false;
}

/* Does the plan fuzz any MSR? */
static bool plan_fuzzes_msrs(const struct iofuzz_plan *plan)
{
	for (uint32_t i = 0; i < plan->nr_ranges; i++)
		if (plan->ranges[i].space == IOF_MSR)
			return true;
	return false;
}

/* KVM_GET_MSRS of the modelled MSRs, blamed on the plan's device of the MSR that differs. */
static bool msr_round_trip(struct iofuzz_oracle *o, const struct iofuzz_plan *plan,
			   struct kvm_vcpu *const *vcpus, char *why, size_t len)
{
	uint32_t bad = 0;
	unsigned int i;
	int n = 0;

	if (!plan_fuzzes_msrs(plan))
		return true;
	/* Every vCPU's: each has its own MSRs, and its own model of them. */
	for (i = 0; i < o->nr_lapics; i++) {
		n = o->nr_lapics > 1 ? snprintf(why, len, "vCPU %u: ", i) : 0;
		if (!iofuzz_msr_matches(&o->msrs[i], vcpus[i], &bad, why + n, len - n))
			break;
	}
	if (i == o->nr_lapics)
		return true;
	trip_dev = -1;
	for (uint32_t i = 0; i < plan->nr_ranges; i++)
		if (plan->ranges[i].space == IOF_MSR && bad >= plan->ranges[i].beg &&
		    bad <= plan->ranges[i].end)
			trip_dev = plan->ranges[i].id;
	return false;
}

/* ---- lines, VM set-up, chunks ---- */

uint16_t iofuzz_oracle_lines(const struct iofuzz_plan *plan, uint64_t first)
{
	if (plan->nr_list)
		return plan->irq_lines & LINE_PINS;
	return iofuzz_rand(plan->seed, first, SALT_LINES) & LINE_PINS;
}

/* GSIs 0-23 as KVM's default routing, plus GSI 24+n to PIC pin n only. */
static void set_routing(struct kvm_vm *vm)
{
	struct {
		struct kvm_irq_routing r;
		struct kvm_irq_routing_entry e[16 * 2 + 8 + 16];
	} rt = { 0 };
	unsigned int n = 0;

	for (unsigned int gsi = 0; gsi < IOAPIC_PINS; gsi++) {
		rt.e[n++] = (struct kvm_irq_routing_entry){
			.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
			.u.irqchip = { .irqchip = KVM_IRQCHIP_IOAPIC, .pin = gsi } };
		if (gsi < 16)
			rt.e[n++] = (struct kvm_irq_routing_entry){
				.gsi = gsi, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = gsi < 8 ? KVM_IRQCHIP_PIC_MASTER :
					       KVM_IRQCHIP_PIC_SLAVE, .pin = gsi % 8 } };
	}
	for (unsigned int pin = 0; pin < 16; pin++)
		if (LINE_PINS & (1 << pin))
			rt.e[n++] = (struct kvm_irq_routing_entry){
				.gsi = LINE_GSI_BASE + pin, .type = KVM_IRQ_ROUTING_IRQCHIP,
				.u.irqchip = { .irqchip = pin < 8 ? KVM_IRQCHIP_PIC_MASTER :
					       KVM_IRQCHIP_PIC_SLAVE, .pin = pin % 8 } };
	rt.r.nr = n;
	vm_ioctl(vm, KVM_SET_GSI_ROUTING, &rt.r);
}

/* The host's IRQ levels into KVM (KVM_IRQ_LINE on the GSIs that reach PIC pins only). */
static void kvm_lines(struct kvm_vm *vm, uint16_t lines)
{
	for (unsigned int pin = 0; pin < 16; pin++) {
		struct kvm_irq_level irq = { .irq = LINE_GSI_BASE + pin,
					     .level = !!(lines & (1 << pin)) };

		if (LINE_PINS & (1 << pin))
			vm_ioctl(vm, KVM_IRQ_LINE, &irq);
	}
}

/* The host's IRQ levels for the chunk from op first: into KVM and the model alike. */
static void drive_lines(struct iofuzz_oracle *o, struct kvm_vm *vm, uint16_t lines)
{
	kvm_lines(vm, lines);
	for (unsigned int pin = 0; pin < 16; pin++) {
		if (!(LINE_PINS & (1 << pin)))
			continue;
		pic_input(&o->pic[pin >> 3], pin & 7, !!(lines & (1 << pin)));
		pic_update(o);
	}
	o->lines = lines;
}

/*
 * The VM moved (-M) and its devices' state was loaded: what lives outside
 * that state goes along, as a VMM's migration re-creates it: the GSI
 * routing, and the levels of the lines the host holds (KVM's per-source
 * line levels are not in KVM_GET_IRQCHIP).  The model does not change.
 */
void iofuzz_oracle_moved(const struct iofuzz_oracle *o, struct kvm_vm *vm)
{
	set_routing(vm);
	kvm_lines(vm, o->lines);
}

void iofuzz_oracle_start(struct iofuzz_oracle *o, const struct iofuzz_state *st,
			 struct kvm_vcpu *const *vcpus, unsigned int n, uint64_t first)
{
	struct kvm_vm *vm = vcpus[0]->vm;

	memset(o, 0, sizeof(*o));
	o->dev_id[OD_PIC0] = iofuzz_dev_by_name("pic_master");
	o->dev_id[OD_PIC1] = iofuzz_dev_by_name("pic_slave");
	o->dev_id[OD_ELCR] = iofuzz_dev_by_name("elcr");
	o->dev_id[OD_IOAPIC] = iofuzz_dev_by_name("ioapic");
	o->dev_id[OD_PIT] = iofuzz_dev_by_name("pit");
	o->dev_id[OD_SPK] = iofuzz_dev_by_name("speaker");
	o->dev_id[OD_LAPIC] = iofuzz_dev_by_name("lapic");
	pit_reset(o);
	/* The vCPU's CPUID is KVM_GET_SUPPORTED_CPUID's (vm_vcpu_add()). */
	o->nr_lapics = n;
	for (unsigned int i = 0; i < n; i++) {
		iofuzz_lapic_reset(&o->lapic[i], i, kvm_cpu_has(X86_FEATURE_TSC_DEADLINE),
				   !strcmp(kvm_platform_name(), "kvm_amd"));
		iofuzz_msr_reset(&o->msrs[i], vcpus[i]);
	}
	o->pic[0].elcr_mask = PIC_ELCR_MASK_MASTER;
	o->pic[1].elcr_mask = PIC_ELCR_MASK_SLAVE;
	o->ioapic.base_address = IOAPIC_DEFAULT_GPA;
	for (unsigned int i = 0; i < IOAPIC_PINS; i++)
		o->ioapic.redirtbl[i].bits = REDIR_MASKED;
	set_routing(vm);
	drive_lines(o, vm, iofuzz_oracle_lines(&st->plan, first));
}

/* Field by field: the first difference under mask, as a finding. */
static bool cmp_field(const char *dev, const char *field, uint64_t model, uint64_t kvm,
		      uint64_t mask, char *why, size_t len)
{
	if (!((model ^ kvm) & mask))
		return true;
	/* The ELCR lives in the PIC's state; blame the device its ports are. */
	trip_dev = iofuzz_dev_by_name(!strncmp(field, "elcr", 4) ? "elcr" : dev);
	snprintf(why, len, "oracle: %s %s.%s is %#lx, the model has %#lx",
		 strcmp(dev, "pit") && strcmp(dev, "speaker") ? "KVM_GET_IRQCHIP" : "KVM_GET_PIT2",
		 dev, field, kvm & mask, model & mask);
	return false;
}

#define PIC_FIELD(f, mask) \
	cmp_field(pic_names[chip], #f, m->f, k->f, mask, why, len)

static bool pic_matches(const struct iofuzz_oracle *o, int chip, const struct kvm_pic_state *k,
			char *why, size_t len)
{
	const struct kvm_pic_state *m = &o->pic[chip];
	uint8_t timed = !chip && o->irq0_timed ? (uint8_t)~MASTER_TIMED_IRR : 0xff;

	return PIC_FIELD(irr, timed) && PIC_FIELD(last_irr, timed) && PIC_FIELD(imr, 0xff) &&
	       PIC_FIELD(isr, 0xff) && PIC_FIELD(priority_add, 0xff) &&
	       PIC_FIELD(irq_base, 0xff) && PIC_FIELD(read_reg_select, 0xff) &&
	       PIC_FIELD(poll, 0xff) && PIC_FIELD(special_mask, 0xff) &&
	       PIC_FIELD(init_state, 0xff) && PIC_FIELD(auto_eoi, 0xff) &&
	       PIC_FIELD(rotate_on_auto_eoi, 0xff) &&
	       PIC_FIELD(special_fully_nested_mode, 0xff) && PIC_FIELD(init4, 0xff) &&
	       PIC_FIELD(elcr, 0xff) && PIC_FIELD(elcr_mask, 0xff);
}

static bool ioapic_matches(const struct iofuzz_oracle *o, const struct kvm_ioapic_state *k,
			   char *why, size_t len)
{
	const struct kvm_ioapic_state *m = &o->ioapic;
	uint32_t pin0 = o->irq0_timed ? 1 : 0;
	char f[32];

	if (!cmp_field("ioapic", "ioregsel", m->ioregsel, k->ioregsel, ~0ull, why, len) ||
	    !cmp_field("ioapic", "id", m->id, k->id, ~0ull, why, len) ||
	    !cmp_field("ioapic", "irr", m->irr, k->irr, ~(uint64_t)pin0, why, len) ||
	    !cmp_field("ioapic", "base_address", m->base_address, k->base_address, ~0ull, why,
		       len))
		return false;
	for (unsigned int i = 0; i < IOAPIC_PINS; i++) {
		snprintf(f, sizeof(f), "redirtbl[%u]", i);
		if (!cmp_field("ioapic", f, m->redirtbl[i].bits, k->redirtbl[i].bits,
			       i == 0 && pin0 ? ~REDIR_REMOTE_IRR : ~0ull, why, len))
			return false;
	}
	return true;
}

/* KVM_GET_PIT2's deterministic fields, counter by counter; the count is the reload. */
static bool pit_matches(const struct iofuzz_oracle *o, const struct kvm_pit_state2 *k,
			char *why, size_t len)
{
	char f[32];

#define PIT_FIELD(name, mask)							\
	(snprintf(f, sizeof(f), "channels[%d]." #name, ch),			\
	 cmp_field("pit", f, m->name, kc->name, mask, why, len))

	for (int ch = 0; ch < 3; ch++) {
		const struct kvm_pit_channel_state *m = &o->pit.channels[ch];
		const struct kvm_pit_channel_state *kc = &k->channels[ch];

		if (!PIT_FIELD(count, ~0ull) || !PIT_FIELD(count_latched, 0xff) ||
		    !PIT_FIELD(status_latched, 0xff) ||
		    !PIT_FIELD(status, (uint8_t)~PIT_STATUS_OUT) ||
		    !PIT_FIELD(read_state, 0xff) || !PIT_FIELD(write_state, 0xff) ||
		    !PIT_FIELD(write_latch, 0xff) || !PIT_FIELD(rw_mode, 0xff) ||
		    !PIT_FIELD(mode, 0xff) || !PIT_FIELD(bcd, 0xff) || !PIT_FIELD(gate, 0xff))
			return false;
	}
#undef PIT_FIELD
	return cmp_field("speaker", "flags", o->pit.flags, k->flags, ~0ull, why, len);
}

/* Does the plan fuzz any of the LAPIC page? */
static bool plan_fuzzes_lapic(const struct iofuzz_plan *plan)
{
	for (uint32_t i = 0; i < plan->nr_ranges; i++)
		if (plan->ranges[i].space == IOF_MMIO && plan->ranges[i].beg < APIC_DEFAULT_GPA +
		    PAGE_SIZE && plan->ranges[i].end >= APIC_DEFAULT_GPA)
			return true;
	return false;
}

/*
 * KVM_GET_LAPIC: the register page against the LAPIC model, in runs that
 * fuzz the LAPIC (a LAPIC bug does not fail another device's run).
 */
static bool lapic_round_trip(struct iofuzz_oracle *o, const struct iofuzz_plan *plan,
			     struct kvm_vcpu *const *vcpus, char *why, size_t len)
{
	struct kvm_lapic_state s;
	int n;

	if (!plan_fuzzes_lapic(plan))
		return true;
	/* Every vCPU's: an IPI or a broadcast reaches APICs whose turn it is not. */
	for (unsigned int i = 0; i < o->nr_lapics; i++) {
		vcpu_ioctl(vcpus[i], KVM_GET_LAPIC, &s);
		n = o->nr_lapics > 1 ? snprintf(why, len, "vCPU %u: ", i) : 0;
		if (iofuzz_lapic_matches(&o->lapic[i], &s, why + n, len - n))
			continue;
		trip_dev = o->dev_id[OD_LAPIC];
		return false;
	}
	return true;
}

/* KVM's own view after a chunk; what only time decides is taken over from KVM. */
static bool irqchip_round_trip(struct iofuzz_oracle *o, struct kvm_vm *vm, char *why, size_t len)
{
	struct kvm_irqchip chip[3] = {
		{ .chip_id = KVM_IRQCHIP_PIC_MASTER }, { .chip_id = KVM_IRQCHIP_PIC_SLAVE },
		{ .chip_id = KVM_IRQCHIP_IOAPIC },
	};

	struct kvm_pit_state2 pit;

	for (int i = 0; i < 3; i++)
		vm_ioctl(vm, KVM_GET_IRQCHIP, &chip[i]);
	vm_ioctl(vm, KVM_GET_PIT2, &pit);
	if (!pit_matches(o, &pit, why, len))
		return false;
	if (o->master_stale) {
		o->pic[0] = chip[0].chip.pic;
		o->master_stale = false;
	}
	if (!pic_matches(o, 0, &chip[0].chip.pic, why, len) ||
	    !pic_matches(o, 1, &chip[1].chip.pic, why, len) ||
	    !ioapic_matches(o, &chip[2].chip.ioapic, why, len))
		return false;
	if (o->irq0_timed) {
		const struct kvm_pic_state *k = &chip[0].chip.pic;

		o->pic[0].irr = (o->pic[0].irr & ~MASTER_TIMED_IRR) | (k->irr & MASTER_TIMED_IRR);
		o->pic[0].last_irr = (o->pic[0].last_irr & ~MASTER_TIMED_IRR) |
				     (k->last_irr & MASTER_TIMED_IRR);
		o->ioapic.irr = (o->ioapic.irr & ~1u) | (chip[2].chip.ioapic.irr & 1);
		o->ioapic.redirtbl[0] = chip[2].chip.ioapic.redirtbl[0];
	}
	return true;
}

bool iofuzz_oracle_chunk(struct iofuzz_oracle *o, struct iofuzz_state *st,
			 const struct iofuzz_jit *j, struct kvm_vcpu *const *vcpus, uint64_t *at,
			 char *why, size_t len)
{
	const struct iofuzz_plan *plan = &st->plan;
	struct kvm_vm *vm = vcpus[0]->vm;
	struct iofuzz_op op;

	o->cpu = j->cpu;

	for (uint64_t i = 0; i < j->n; i++) {
		const uint8_t *data = j->hva + JIT_DATA + i * 32;
		enum odev d;
		bool ok, planted;

		iofuzz_host_gen(st, j->first + i, &op);
		o->idx = j->first + i;
		if (op.type == IOF_MSR_WR)
			lapic_msr_write(o, op.addr);
		if ((op.type == IOF_MSR_RD || op.type == IOF_MSR_WR) &&
		    !msr_op(o, st, &op, data, why, len)) {
			*at = j->first + i;
			return false;
		}
		d = op.type == IOF_NOP ? OD_NONE : op_dev(op.addr, op.type);
		if (d == OD_NONE)
			continue;
		planted = plan->fault == IOF_FAULT_ORACLE && iofuzz_op_equal(&op, &plan->fault_op);
		if (d == OD_IOAPIC || d == OD_LAPIC)
			ok = mmio_op(o, st, &op, data, planted, why, len);
		else
			ok = port_op(o, st, &op, data, planted, why, len);
		if (!ok) {
			*at = j->first + i;
			return false;
		}
	}
	*at = j->first + j->n - 1;
	if (read_log)
		fflush(read_log);
	if (!irqchip_round_trip(o, vm, why, len) || !lapic_round_trip(o, plan, vcpus, why, len) ||
	    !msr_round_trip(o, plan, vcpus, why, len)) {
		st->finding_dev = trip_dev;
		return false;
	}
	if (j->first + j->n < plan->total)
		drive_lines(o, vm, iofuzz_oracle_lines(plan, j->first + j->n));
	return true;
}

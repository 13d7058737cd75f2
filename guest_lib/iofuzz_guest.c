// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz op generator and guest executor.  The generator is also called by
 * the host (same object, same ELF), which is what makes a run replayable
 * from its seed: see include/iofuzz.h.  Built SSE-free like all guest code.
 */
#include "guest/guest.h"
#include "iofuzz_ops.h"
#include "x86/apic.h"

/* splitmix64 finalizer: a stateless PRNG, op i needs no state from op i-1. */
uint64_t iofuzz_rand(uint64_t seed, uint64_t idx, uint64_t salt)
{
	uint64_t z = seed + idx * 0x9e3779b97f4a7c15ULL + salt * 0xd1b54a32d192ed03ULL;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t iofuzz_hash_op(uint64_t h, const struct iofuzz_op *op)
{
	uint64_t w[3] = { op->type | op->size << 8 | op->count << 16 | (uint64_t)op->range << 24,
			  op->addr, op->value };

	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 64; b += 8)
			h = (h ^ ((w[i] >> b) & 0xff)) * 0x100000001b3ULL;
	return h;
}

bool iofuzz_op_equal(const struct iofuzz_op *a, const struct iofuzz_op *b)
{
	return a->type == b->type && a->size == b->size && a->count == b->count &&
	       a->addr == b->addr && a->value == b->value;
}

/*
 * Element e of an OUTS is iofuzz_rand(value, e, IOFUZZ_SALT_STR) cut to the
 * op's size: every element random, not a repeat of one masked value.  It
 * hangs off the op's (full 64-bit) value, not off (seed, index), so that an
 * explicit op list (a reproducer, where both differ) sends the same bytes.
 */
#define IOFUZZ_SALT_STR	0x5354

void iofuzz_str_data(const struct iofuzz_op *op, uint8_t *buf)
{
	unsigned int n = op->count <= IOFUZZ_STR_MAX ? op->count : IOFUZZ_STR_MAX;

	for (unsigned int i = 0; i < IOFUZZ_STR_MAX * 4; i++)
		buf[i] = 0;
	for (unsigned int e = 0; e < n; e++) {
		uint64_t v = iofuzz_rand(op->value, e, IOFUZZ_SALT_STR);

		for (unsigned int b = 0; b < op->size && b < 4; b++)
			buf[e * op->size + b] = v >> (8 * b);
	}
}

const struct iofuzz_seg *iofuzz_find_seg(const struct iofuzz_plan *plan, uint64_t idx)
{
	for (uint32_t i = 0; i < plan->nr_segs; i++)
		if (idx >= plan->segs[i].first && idx < plan->segs[i].first + plan->segs[i].count)
			return &plan->segs[i];
	return NULL;
}

static bool excluded(const struct iofuzz_plan *plan, const struct iofuzz_range *r,
		     uint64_t addr, uint64_t len)
{
	/* An MSR op touches one MSR number, whatever its 8-byte data size. */
	if (r->space == IOF_MSR)
		len = 1;
	for (uint32_t i = 0; i < plan->nr_excl; i++) {
		const struct iofuzz_range *x = &plan->excl[i];

		if (x->space == r->space && addr <= x->end && addr + len - 1 >= x->beg)
			return true;
	}
	return false;
}

static const uint8_t port_sizes[3] = { 1, 2, 4 };
/* Half the fuzzed MMIO ops are 32-bit, the APIC registers' width; the rest 1, 2, 8. */
static const uint8_t mmio_sizes[8] = { 4, 4, 4, 4, 1, 2, 8, 8 };
/* Edge values for MMIO writes: register indexes 0-3 and 10H-11H, bit and byte edges. */
static const uint32_t mmio_edge_values[] = {
	0, 1, 2, 3, 0x10, 0x11, 0x3f, 0x80, 0xff, 0x100, 0xffff, 0x80000000, 0xffffffff,
};

/*
 * With several vCPUs (host-compiled streams only) an eighth of the local
 * APIC's fuzzed writes are well-formed IPIs: ICR high naming a vCPU's
 * initial APIC ID, all (0xff) or any logical ID, or ICR low sending an
 * asserted edge IPI (fixed, lowest priority or NMI; vector 16-255; either
 * destination mode, any shorthand).  Uniform values send a fixed IPI its
 * targets accept about once in 50 ICR writes, so IPIs between vCPUs would
 * stay rare.  One vCPU's streams are left as they were (their seeds keep
 * their ops).
 */
static void gen_ipi(const struct iofuzz_plan *plan, uint64_t r, struct iofuzz_op *op)
{
	static const uint32_t modes[4] = { APIC_DM_FIXED, APIC_DM_FIXED, APIC_DM_LOWEST,
					   APIC_DM_NMI };
	uint32_t d = (r >> 1) % (plan->vcpus + 2);

	op->size = 4;
	if (r & 1) {
		op->addr = APIC_DEFAULT_GPA + APIC_ICR_HI;
		d = d < plan->vcpus ? d : d == plan->vcpus ? APIC_DEST_BROADCAST : (r >> 8) & 0xff;
		op->value = (uint64_t)d << 24;
		return;
	}
	op->addr = APIC_DEFAULT_GPA + APIC_ICR_LO;
	op->value = (16 + (r >> 1) % 240) | modes[(r >> 9) & 3] | APIC_LEVEL_ASSERT |
		    ((r >> 11) & 1 ? APIC_DEST_LOGICAL : 0) | ((r >> 12) & 3) << 18;
}

static uint64_t msr_shape(uint64_t v, unsigned int shape)
{
	switch (shape) {
	case 0:
		return v & 0xffffffffULL;
	case 1:
		return v & 0x0707070707070707ULL;
	case 2:
		return v & 0x0000000ffffff807ULL;
	case 3:
		return (uint64_t)((int64_t)(v << 16) >> 16);
	case 4:
		return ~0ULL;
	case 5:
		return 0;
	case 6:
		return v & 0xff;
	default:
		return v;
	}
}

void iofuzz_gen_op(const struct iofuzz_plan *plan, const struct iofuzz_seg *seg,
		   const struct iofuzz_range *ranges, uint64_t idx, struct iofuzz_op *op)
{
	uint64_t r0 = iofuzz_rand(plan->seed, idx, 0), r1 = iofuzz_rand(plan->seed, idx, 1);
	uint64_t k = idx - seg->first;
	const struct iofuzz_range *r;
	uint64_t units;
	bool write;

	op->range = seg->phase == IOF_MIXED ? r0 % plan->nr_ranges : seg->range;
	r = &ranges[op->range];
	units = (r->end - r->beg) / r->stride + 1;
	op->count = 1;
	op->value = 0;
	switch (seg->phase) {
	case IOF_READ_ALL:
	case IOF_WRITE_ZERO:
		op->addr = r->beg + (k % units) * r->stride;
		write = seg->phase == IOF_WRITE_ZERO;
		op->size = r->space == IOF_PORT ? 1 : r->stride;
		break;
	default:
		op->addr = r->beg + ((r0 >> 8) % units) * r->stride;
		write = seg->phase == IOF_FUZZ || (r1 & 1);
		op->value = iofuzz_rand(plan->seed, idx, 2);
		op->size = r->space == IOF_PORT ? port_sizes[(r1 >> 1) % 3] : r->stride;
		break;
	}
	switch (r->space) {
	case IOF_PORT:
		op->type = write ? IOF_OUT : IOF_IN;
		/* A quarter of the mixed port ops use the string forms. */
		if (seg->phase == IOF_MIXED && ((r1 >> 4) & 3) == 0) {
			op->type = write ? IOF_OUTS : IOF_INS;
			op->count = 1 + (r1 >> 6) % IOFUZZ_STR_MAX;
		}
		/* An OUTS keeps all 64 bits: they seed its data (iofuzz_str_data()). */
		if (op->type != IOF_OUTS)
			op->value &= op->size == 4 ? 0xffffffffULL : (1ULL << (8 * op->size)) - 1;
		break;
	case IOF_MMIO:
		op->type = write ? IOF_MMIO_WR : IOF_MMIO_RD;
		op->size = 4;
		if (seg->phase == IOF_FUZZ || seg->phase == IOF_MIXED) {
			/*
			 * Other widths, and a quarter of the ops anywhere in their
			 * 16-byte slot (so never past the page): KVM's LAPIC drops
			 * writes that are not 32-bit aligned and its IOAPIC takes
			 * 1-8 bytes, but neither may fail on them.
			 */
			op->size = mmio_sizes[(r1 >> 1) & 7];
			if (((r1 >> 8) & 3) == 0)
				op->addr += (r1 >> 10) % (17 - op->size);
		}
		/*
		 * A quarter of the writes carry a value from a short list of
		 * edge values (as fuzzers' "interesting values" do): select
		 * registers such as the I/O APIC's IOREGSEL decode a few low
		 * bits, and a uniform 32-bit value would almost never name a
		 * defined register for the read that follows.
		 */
		if (write) {
			uint64_t r3 = iofuzz_rand(plan->seed, idx, 3);

			if ((r3 & 3) == 0)
				op->value = mmio_edge_values[(r3 >> 2) % ARRAY_SIZE(mmio_edge_values)];
		}
		if (op->size < 8)
			op->value &= (1ULL << (8 * op->size)) - 1;
		if (write && plan->vcpus > 1 && r->beg == APIC_DEFAULT_GPA &&
		    seg->phase == IOF_MIXED) {
			uint64_t r4 = iofuzz_rand(plan->seed, idx, 4);

			if ((r4 & 7) == 0)
				gen_ipi(plan, r4 >> 3, op);
		}
		break;
	default:
		op->type = write ? IOF_MSR_WR : IOF_MSR_RD;
		op->size = 8;
		/*
		 * Half the writes take a shape that MSRs with reserved bits
		 * accept more often than a uniform value (which they
		 * nearly always refuse): 32 bits, a memory type per byte (PAT,
		 * fixed MTRRs), a variable MTRR below 2^36, a canonical
		 * address, all ones, 0 or one byte.
		 */
		if (write && seg->phase != IOF_WRITE_ZERO) {
			uint64_t r4 = iofuzz_rand(plan->seed, idx, 4);

			if (r4 & 1)
				op->value = msr_shape(op->value, (r4 >> 1) & 7);
		}
		break;
	}
	if (excluded(plan, r, op->addr, op->size))
		op->type = IOF_NOP;
}

/* ---- guest executor ---- */

static void iofuzz_ignore_irq(struct ex_regs *regs)
{
	/* NMIs and interrupts a fuzzed LAPIC/PIC may send us: not our business. */
}

static void __attribute__((noreturn)) plant_triple_fault(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) idtr = { 0, 0 };

	/* An empty IDT: the #UD becomes #GP, then #DF, then shutdown (SDM vol. 3A 6.15). */
	asm volatile("lidt %0; ud2" :: "m"(idtr));
	for (;;)
		;
}

/*
 * Each access runs with RBX = the op index, so that the host can read which
 * op it is at an exit.  One function per access kind; exec_op() picks one.
 */
static uint64_t exec_pio(const struct iofuzz_op *op, uint64_t idx)
{
	uint16_t port = op->addr;
	uint64_t v = op->value;

	if (op->type == IOF_IN) {
		if (op->size == 1)
			asm volatile("inb %%dx, %%al" : "=a"(v) : "d"(port), "b"(idx), "0"(0));
		else if (op->size == 2)
			asm volatile("inw %%dx, %%ax" : "=a"(v) : "d"(port), "b"(idx), "0"(0));
		else
			asm volatile("inl %%dx, %%eax" : "=a"(v) : "d"(port), "b"(idx), "0"(0));
	} else if (op->size == 1) {
		asm volatile("outb %%al, %%dx" :: "a"(v), "d"(port), "b"(idx));
	} else if (op->size == 2) {
		asm volatile("outw %%ax, %%dx" :: "a"(v), "d"(port), "b"(idx));
	} else {
		asm volatile("outl %%eax, %%dx" :: "a"(v), "d"(port), "b"(idx));
	}
	return v;
}

/* REP INS/OUTS of op->count elements; an INS returns the first byte read. */
static uint64_t exec_string(const struct iofuzz_op *op, uint64_t idx)
{
	uint8_t buf[IOFUZZ_STR_MAX * 4];
	uint16_t port = op->addr;
	uint64_t n = op->count;
	void *p = buf;

	if (op->type == IOF_OUTS) {
		iofuzz_str_data(op, buf);
		if (op->size == 1)
			asm volatile("cld; rep outsb" : "+S"(p), "+c"(n)
				     : "d"(port), "b"(idx) : "memory");
		else if (op->size == 2)
			asm volatile("cld; rep outsw" : "+S"(p), "+c"(n)
				     : "d"(port), "b"(idx) : "memory");
		else
			asm volatile("cld; rep outsl" : "+S"(p), "+c"(n)
				     : "d"(port), "b"(idx) : "memory");
		return op->value;
	}
	if (op->size == 1)
		asm volatile("cld; rep insb" : "+D"(p), "+c"(n)
			     : "d"(port), "b"(idx) : "memory");
	else if (op->size == 2)
		asm volatile("cld; rep insw" : "+D"(p), "+c"(n)
			     : "d"(port), "b"(idx) : "memory");
	else
		asm volatile("cld; rep insl" : "+D"(p), "+c"(n)
			     : "d"(port), "b"(idx) : "memory");
	return buf[0];
}

static uint64_t exec_mmio(const struct iofuzz_op *op, uint64_t idx)
{
	uint64_t v = op->value;

	if (op->type == IOF_MMIO_RD) {
		if (op->size == 1)
			asm volatile("movb (%1), %b0" : "=a"(v) : "r"(op->addr), "b"(idx), "0"(0)
				     : "memory");
		else if (op->size == 2)
			asm volatile("movw (%1), %w0" : "=a"(v) : "r"(op->addr), "b"(idx), "0"(0)
				     : "memory");
		else if (op->size == 4)
			asm volatile("movl (%1), %k0" : "=r"(v) : "r"(op->addr), "b"(idx)
				     : "memory");
		else
			asm volatile("movq (%1), %0" : "=r"(v) : "r"(op->addr), "b"(idx)
				     : "memory");
	} else if (op->size == 1) {
		asm volatile("movb %b0, (%1)" :: "a"(v), "r"(op->addr), "b"(idx) : "memory");
	} else if (op->size == 2) {
		asm volatile("movw %w0, (%1)" :: "a"(v), "r"(op->addr), "b"(idx) : "memory");
	} else if (op->size == 4) {
		asm volatile("movl %k0, (%1)" :: "r"(v), "r"(op->addr), "b"(idx) : "memory");
	} else {
		asm volatile("movq %0, (%1)" :: "r"(v), "r"(op->addr), "b"(idx) : "memory");
	}
	return v;
}

/* #GP on an MSR KVM does not know is the expected answer: both are "safe". */
static uint64_t exec_msr(const struct iofuzz_op *op, uint64_t idx)
{
	uint64_t v = op->value;
	uint32_t lo, hi;

	if (op->type == IOF_MSR_RD) {
		asm volatile(ASM_SAFE("rdmsr") : "=a"(lo), "=d"(hi)
			     : "c"((uint32_t)op->addr), "b"(idx) : "memory");
		return lo | (uint64_t)hi << 32;
	}
	asm volatile(ASM_SAFE("wrmsr") :: "a"((uint32_t)v), "d"((uint32_t)(v >> 32)),
		     "c"((uint32_t)op->addr), "b"(idx) : "memory");
	return v;
}

static uint64_t exec_op(const struct iofuzz_op *op, uint64_t idx)
{
	switch (op->type) {
	case IOF_IN:
	case IOF_OUT:
		return exec_pio(op, idx);
	case IOF_INS:
	case IOF_OUTS:
		return exec_string(op, idx);
	case IOF_MMIO_RD:
	case IOF_MMIO_WR:
		return exec_mmio(op, idx);
	case IOF_MSR_RD:
	case IOF_MSR_WR:
		return exec_msr(op, idx);
	default:
		return op->value;
	}
}

void iofuzz_guest_main(struct iofuzz_plan *plan, struct iofuzz_shared *sh)
{
	/* Local copies: the loop then touches only its stack and code after an exit. */
	struct iofuzz_range ranges[IOFUZZ_MAX_RANGES];
	struct iofuzz_op fault_op = plan->fault_op, op;
	uint64_t idx = plan->start, total = plan->total, hash = IOFUZZ_HASH_INIT, done = 0;
	uint32_t fault = plan->fault;
	struct iofuzz_seg seg = { 0 };

	guest_install_handler(NMI_VECTOR, iofuzz_ignore_irq);	/* IF stays 0: only NMI */
	memcpy(ranges, plan->ranges, sizeof(ranges));

	for (; idx < total; idx++, done++) {
		bool in_kernel;

		if (plan->nr_list) {
			op = plan->list[idx];
		} else {
			if (idx < seg.first || idx >= seg.first + seg.count) {
				const struct iofuzz_seg *s = iofuzz_find_seg(plan, idx);

				GUEST_ASSERT(s);
				seg = *s;
			}
			iofuzz_gen_op(plan, &seg, ranges, idx, &op);
		}
		hash = iofuzz_hash_op(hash, &op);
		in_kernel = ranges[op.range].in_kernel || ranges[op.range].space == IOF_MSR;
		/* The heartbeat the host watchdog watches (ops that exit show progress). */
		if (in_kernel || fault)
			sh->hb = idx;
		if (fault && iofuzz_op_equal(&op, &fault_op)) {
			if (fault == IOF_FAULT_TRIPLE)
				plant_triple_fault();
			if (fault == IOF_FAULT_HANG)
				for (;;)
					asm volatile("" ::: "memory");
		}
		exec_op(&op, idx);
	}
	for (;;) {
		uint64_t a[UCALL_MAX_ARGS] = { done, hash };

		guest_ucall_regs(IOFUZZ_UCALL_LIFE_DONE, __FILE__, __LINE__, 2, a);
	}
}

/* ---- entry of the host-compiled op stream (lib/iofuzz/jit.c, "JIT") ---- */

static void jit_gp(struct ex_regs *regs)
{
	const uint8_t *p = (const uint8_t *)regs->rip;

	/*
	 * RDMSR/WRMSR of an MSR KVM refuses: #GP is the expected answer (SDM
	 * vol. 4).  EBX = 1 tells the stream it faulted (jit.c stores it for
	 * the read oracle's MSR model, lib/iofuzz/oracle_msr.c).
	 */
	if (p[0] == 0x0f && (p[1] == 0x30 || p[1] == 0x32)) {
		regs->rip += 2;
		regs->rbx = 1;
		return;
	}
	guest_report_unhandled(regs);
}

void iofuzz_guest_jit(void (*code)(void))
{
	/*
	 * RFLAGS.IF stays 0, so of what a fuzzed LAPIC/PIC can send only NMI
	 * arrives (INIT resets the vCPU; the host restarts the VM).  Installing
	 * no more handlers keeps the start short: ~0.6 us per instruction here.
	 */
	guest_install_handler(GP_VECTOR, jit_gp);
	guest_install_handler(NMI_VECTOR, iofuzz_ignore_irq);
	code();		/* never returns: the stream loops through the host */
}

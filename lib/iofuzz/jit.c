// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the fast executor, ops compiled to guest machine code.
 *
 * On kvm_pvm every guest instruction costs ~0.6 us (measured: a 5-instruction
 * loop runs at 2.9 us an iteration), so an op that the guest generates itself
 * (~300 instructions of PRNG and decoding) costs ~100x the access it makes.
 * The host therefore runs the same generator and emits each op as the 2-4
 * instructions that perform it: "mov $v,%eax; mov $port,%edx; out" is one
 * instruction more than the raw exit loop.  Chunks of JIT_CHUNK ops end with
 * a jump to a fixed tail that reports IOFUZZ_CHUNK_MAGIC on the ucall port;
 * the host refills the body while the vCPU is out and the tail jumps back.
 * The op index of an exit comes from its RIP through the per-op offsets of
 * the access instruction (the last one of each op): an exit leaves RIP at its
 * start or just past its end, nowhere else.
 */
#include "internal.h"

#define MOV_EAX	0xb8
#define MOV_ECX	0xb9
#define MOV_EDX	0xba
#define MOV_ESI	0xbe
#define MOV_EDI	0xbf

static uint8_t *emit_imm(uint8_t *p, uint8_t opcode, uint32_t v)
{
	*p++ = opcode;
	memcpy(p, &v, 4);
	return p + 4;
}

static uint8_t *emit_bytes(uint8_t *p, const char *b, size_t n)
{
	memcpy(p, b, n);
	return p + n;
}

static uint8_t *emit_hb(uint8_t *p, uint32_t hb_gva, uint32_t idx)
{
	/* movl $idx, hb_gva (C7 /0 with a SIB-only disp32 address) */
	p = emit_bytes(p, "\xc7\x04\x25", 3);
	memcpy(p, &hb_gva, 4);
	memcpy(p + 4, &idx, 4);
	return p + 8;
}

/* mov %eax (or %rax), disp32: a read's value into its op's data slot, for the oracle. */
static uint8_t *emit_store(uint8_t *p, uint32_t slot_gva, bool rax)
{
	if (rax)
		*p++ = 0x48;
	p = emit_bytes(p, "\x89\x04\x25", 3);
	memcpy(p, &slot_gva, 4);
	return p + 4;
}

static uint8_t *emit_jmp(uint8_t *p, uint8_t *base, uint32_t to)
{
	int32_t rel = (int32_t)to - (int32_t)(p + 5 - base);

	return emit_imm(p, 0xe9, rel);
}

/*
 * What the emitted code left in EAX and EDX, so a load of the same value is
 * skipped: the read-all and write-0 phases then cost one instruction
 * per op, as the raw loop does.
 */
struct jit_regs {
	bool eax_ok, edx_ok;
	uint32_t eax, edx;
};

/* "mov $v, reg", unless the register is known to hold v already. */
static uint8_t *emit_mov(uint8_t *p, bool *known, uint32_t *reg, uint8_t opcode, uint32_t v)
{
	if (*known && *reg == v)
		return p;
	*known = true;
	*reg = v;
	return emit_imm(p, opcode, v);
}

#define emit_eax(p, r, v)	emit_mov(p, &(r)->eax_ok, &(r)->eax, MOV_EAX, v)
#define emit_edx(p, r, v)	emit_mov(p, &(r)->edx_ok, &(r)->edx, MOV_EDX, v)

/*
 * Where the access instruction (prefixes included) begins.  It may not begin
 * at `avoid`, the end of the previous op's access, when that op would exit
 * just like this one: an exit there, with RIP just past the one or at the
 * other, would name either op.  A NOP between them tells them apart.
 */
static uint8_t *emit_access(uint8_t *p, const uint8_t *avoid, uint8_t **acc)
{
	if (p == avoid)
		*p++ = 0x90;	/* nop */
	*acc = p;
	return p;
}

/* mov (%rsi) to or from %al, %ax, %eax or %rax: 8A/8B, 88/89, with 66 or REX.W. */
static uint8_t *emit_mov_rsi(uint8_t *p, unsigned int size, bool store)
{
	if (size == 2)
		*p++ = 0x66;
	if (size == 8)
		*p++ = 0x48;
	*p++ = (store ? 0x88 : 0x8a) + (size != 1);
	*p++ = 0x06;		/* ModRM: (%rsi) */
	return p;
}

/* IN or OUT; ports below 0x100 have the imm8 form (E4-E7): one instruction less. */
static uint8_t *emit_in_out(uint8_t *p, const struct iofuzz_op *op, struct jit_regs *r,
			    const uint8_t *avoid, uint8_t **acc)
{
	bool out = op->type == IOF_OUT, w16 = op->size == 2, b8 = op->size == 1;

	if (out)
		p = emit_eax(p, r, op->value);
	else
		r->eax_ok = false;
	if (op->addr < 0x100) {
		p = emit_access(p, avoid, acc);
		if (w16)
			*p++ = 0x66;
		*p++ = (out ? 0xe6 : 0xe4) + !b8;
		*p++ = op->addr;
		return p;
	}
	p = emit_edx(p, r, op->addr);
	p = emit_access(p, avoid, acc);
	if (w16)
		*p++ = 0x66;
	*p++ = (out ? 0xee : 0xec) + !b8;
	return p;
}

/* REP INS or REP OUTS of op->count elements through the op's own buffer. */
static uint8_t *emit_string(uint8_t *p, const struct iofuzz_op *op, uint32_t buf_gva,
			    struct jit_regs *r, const uint8_t *avoid, uint8_t **acc)
{
	bool outs = op->type == IOF_OUTS;

	p = emit_imm(p, outs ? MOV_ESI : MOV_EDI, buf_gva);
	p = emit_imm(p, MOV_ECX, op->count);
	p = emit_edx(p, r, op->addr);
	p = emit_access(p, avoid, acc);
	if (op->size == 2)
		*p++ = 0x66;
	*p++ = 0xf3;	/* REP */
	*p++ = (outs ? 0x6e : 0x6c) + (op->size != 1);
	return p;
}

/* mov (%rsi) to or from %al / %ax / %eax / %rax, the address in ESI. */
static uint8_t *emit_mmio(uint8_t *p, const struct iofuzz_op *op, struct jit_regs *r,
			  const uint8_t *avoid, uint8_t **acc)
{
	bool store = op->type == IOF_MMIO_WR;

	if (!store) {
		r->eax_ok = false;
	} else if (op->size == 8) {
		/* movabs $v, %rax: all 64 bits */
		p = emit_bytes(p, "\x48\xb8", 2);
		memcpy(p, &op->value, 8);
		p += 8;
		r->eax_ok = false;
	} else {
		p = emit_eax(p, r, op->value);
	}
	p = emit_imm(p, MOV_ESI, op->addr);
	p = emit_access(p, avoid, acc);
	return emit_mov_rsi(p, op->size, store);
}

/*
 * What the oracle reads of an op (its data slot): a port or MMIO read's value;
 * an MSR op's outcome, EBX (the guest's #GP handler sets it, jit_gp()) in
 * the slot's byte 8, and a RDMSR's EDX:EAX in bytes 0-7.
 */
static uint8_t *emit_record(uint8_t *p, const struct iofuzz_op *op, uint32_t slot_gva)
{
	if (op->type != IOF_MSR_RD && op->type != IOF_MSR_WR)
		return emit_store(p, slot_gva, op->type == IOF_MMIO_RD);
	if (op->type == IOF_MSR_RD) {
		p = emit_store(p, slot_gva, false);
		p = emit_bytes(p, "\x89\x14\x25", 3);	/* mov %edx, disp32 */
		slot_gva += 4;
		memcpy(p, &slot_gva, 4);
		p += 4;
		slot_gva += 4;
	} else {
		slot_gva += 8;
	}
	p = emit_bytes(p, "\x88\x1c\x25", 3);		/* mov %bl, disp32 */
	memcpy(p, &slot_gva, 4);
	return p + 4;
}

/* RDMSR or WRMSR (EDX:EAX the value, ECX the MSR); a #GP is skipped by the guest. */
static uint8_t *emit_msr(uint8_t *p, const struct iofuzz_op *op, struct jit_regs *r,
			 const uint8_t *avoid, uint8_t **acc)
{
	if (op->type == IOF_MSR_RD) {
		r->eax_ok = r->edx_ok = false;
	} else {
		p = emit_eax(p, r, op->value);
		p = emit_edx(p, r, op->value >> 32);
	}
	p = emit_imm(p, MOV_ECX, op->addr);
	p = emit_access(p, avoid, acc);
	return emit_bytes(p, op->type == IOF_MSR_RD ? "\x0f\x32" : "\x0f\x30", 2);
}

/* The code of one op; *acc is where its access instruction starts. */
static uint8_t *emit_op(uint8_t *p, const struct iofuzz_op *op, uint32_t buf_gva,
			struct jit_regs *r, const uint8_t *avoid, uint8_t **acc)
{
	*acc = p;	/* a NOP op: no access, acc == end */
	switch (op->type) {
	case IOF_IN:
	case IOF_OUT:
		return emit_in_out(p, op, r, avoid, acc);
	case IOF_INS:
	case IOF_OUTS:
		return emit_string(p, op, buf_gva, r, avoid, acc);
	case IOF_MMIO_RD:
	case IOF_MMIO_WR:
		return emit_mmio(p, op, r, avoid, acc);
	case IOF_MSR_RD:
	case IOF_MSR_WR:
		return emit_msr(p, op, r, avoid, acc);
	default:
		return p;
	}
}

/* The exit an access makes, as a key: 0 none (MSRs, NOP), else space and direction. */
static unsigned int exit_kind(unsigned int type)
{
	return type == IOF_IN || type == IOF_INS ? 1 : type == IOF_OUT || type == IOF_OUTS ? 2 :
	       type == IOF_MMIO_RD ? 3 : type == IOF_MMIO_WR ? 4 : 0;
}

/* Could an exit of one of these ops pass for an exit of the other (exit_matches())? */
static bool exits_alike(const struct iofuzz_op *a, const struct iofuzz_op *b)
{
	return exit_kind(a->type) && exit_kind(a->type) == exit_kind(b->type) &&
	       a->addr == b->addr && a->size == b->size;
}

/*
 * A byte access to a port of an in-kernel port device stays in the kernel:
 * KVM_CREATE_IRQCHIP and KVM_CREATE_PIT2 register the PICs, the ELCR, the PIT
 * and the speaker for every port of these ranges.  The only stream of alike
 * ops back to back that matters for speed (the write-0 phase, the bench's
 * loop of one OUT) is of this kind, so it goes without the separating NOP.
 */
static bool may_exit(const struct iofuzz_plan *plan, const struct iofuzz_op *op)
{
	const struct iofuzz_range *r = &plan->ranges[op->range];

	return !(r->in_kernel && r->space == IOF_PORT && op->size == 1);
}

void iofuzz_jit_tail(struct iofuzz_jit *j)
{
	uint8_t *p = j->hva + JIT_TAIL;

	p = emit_imm(p, MOV_EAX, IOFUZZ_CHUNK_MAGIC);
	p = emit_imm(p, MOV_EDX, UCALL_PIO_PORT);
	*p++ = 0xef;
	emit_jmp(p, j->hva, 0);
}

void iofuzz_jit_fill(const struct iofuzz_state *st, struct iofuzz_jit *j, uint64_t first,
		     uint64_t max)
{
	const struct iofuzz_plan *plan = &st->plan;
	uint8_t *base = j->hva, *p = base;
	struct jit_regs regs = { 0 };	/* the tail leaves EAX/EDX as it likes */
	struct iofuzz_op op, prev = { .type = IOF_NOP };
	uint8_t *prev_end = NULL, *acc;
	uint64_t chunk;

	_Static_assert(IOFUZZ_STR_MAX * 4 <= 32, "INS/OUTS buffer of one op");
	j->first = first;
	/* With -M the chunk ends at the next move of the VM (max: the ops up to it). */
	chunk = max && max < JIT_CHUNK ? max : JIT_CHUNK;
	j->n = plan->total - first < chunk ? plan->total - first : chunk;
	for (uint64_t i = 0; i < j->n; i++) {
		uint32_t buf = j->gva + JIT_DATA + i * 32;
		bool sep, record;

		j->off[i] = p - base;
		iofuzz_host_gen(st, first + i, &op);
		/* A chunk is one vCPU's turn: it ends where the next vCPU's ops begin. */
		if (!i)
			j->cpu = op.cpu;
		else if (op.cpu != j->cpu) {
			j->n = i;
			break;
		}
		if (op.type == IOF_OUTS)
			iofuzz_str_data(&op, base + JIT_DATA + i * 32);
		if (plan->fault && iofuzz_op_equal(&op, &plan->fault_op) &&
		    plan->fault != IOF_FAULT_CRASH && plan->fault != IOF_FAULT_ORACLE) {
			p = emit_hb(p, j->hb_gva, first + i);
			regs.eax_ok = regs.edx_ok = false;
			if (plan->fault == IOF_FAULT_TRIPLE)
				/* push 0; push 0; lidt (%rsp); ud2: empty IDT, SDM 3A 6.15 */
				p = emit_bytes(p, "\x6a\x00\x6a\x00\x0f\x01\x1c\x24\x0f\x0b", 10);
			else
				p = emit_bytes(p, "\xeb\xfe", 2);	/* jmp . */
		}
		/*
		 * Ops that exit show progress by exiting; in-kernel port ops
		 * store a heartbeat every IOFUZZ_HB_EVERY ops for the watchdog,
		 * MMIO and MSR ops before each op (see IOFUZZ_HB_EVERY).
		 */
		if (op.type != IOF_NOP && plan->ranges[op.range].space != IOF_PORT) {
			p = emit_hb(p, j->hb_gva, first + i);
		} else if (!((first + i) % IOFUZZ_HB_EVERY) &&
			   plan->ranges[op.range].in_kernel) {
			p = emit_hb(p, j->hb_gva, first + i);
		}
		sep = op.type != IOF_NOP && exits_alike(&prev, &op) && may_exit(plan, &op);
		record = st->oracle && op.type != IOF_NOP && iofuzz_oracle_wants(&op);
		if (record && plan->ranges[op.range].space == IOF_MSR)
			p = emit_bytes(p, "\x31\xdb", 2);	/* xor %ebx,%ebx: no #GP yet */
		p = emit_op(p, &op, buf, &regs, sep ? prev_end : NULL, &acc);
		j->acc[i] = acc - base;
		j->end[i] = p - base;
		/* After the access: its end stays where an exit leaves RIP. */
		if (record)
			p = emit_record(p, &op, buf);
		if (op.type != IOF_NOP) {
			prev = op;
			prev_end = p;
		}
	}
	j->off[j->n] = p - base;
	emit_jmp(p, base, JIT_TAIL);
}

/*
 * The ops whose access starts at rip (as KVM's fast PIO path and an MMIO
 * exit leave it: the access completes after userspace answers) or ends there
 * (an OUT the instruction emulator completed first, as kvm_pvm's does, or the
 * port 0x7e quirk): at most one of each, in op order, into idx[]; their count.
 */
unsigned int iofuzz_jit_access_idx(const struct iofuzz_jit *j, uint64_t rip, uint64_t idx[2])
{
	uint64_t lo = 0, hi = j->n, x;
	unsigned int n = 0;

	if (rip < j->gva || rip - j->gva > j->off[j->n])
		return 0;
	x = rip - j->gva;
	/* The first op whose access ends at or after x (end[] never decreases). */
	while (lo < hi) {
		uint64_t mid = (lo + hi) / 2;

		if (j->end[mid] < x)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (uint64_t i = lo; i < j->n && j->acc[i] <= x && n < 2; i++)
		if (j->acc[i] < j->end[i] && (j->acc[i] == x || j->end[i] == x))
			idx[n++] = j->first + i;
	return n;
}

/* The op whose code holds guest address rip. */
bool iofuzz_jit_idx(const struct iofuzz_jit *j, uint64_t rip, uint64_t *idx)
{
	uint64_t lo = 0, hi = j->n, x;

	if (rip < j->gva || rip - j->gva >= j->off[j->n])
		return false;
	x = rip - j->gva;
	while (hi - lo > 1) {
		uint64_t mid = (lo + hi) / 2;

		if (j->off[mid] <= x)
			lo = mid;
		else
			hi = mid;
	}
	*idx = j->first + lo;
	return true;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: which op an exit to userspace, a shutdown or a hang belongs to,
 * and whether the exit describes the access that op made.  An exit that
 * belongs to no op, or does not describe its op, is a finding.
 */
#include "internal.h"

/*
 * An op counts once as "exited" however many exits it took (string forms);
 * each exit counts for the device the op was drawn from (port_exits[] counts
 * by the port the exit names: the two agree only if every exit is put at an
 * op of its own device).  The exit must describe the access the op made
 * (api.rst, KVM_EXIT_IO and KVM_EXIT_MMIO): port or address, size and
 * direction.  Returns false, with the difference in why, when it does not.
 */
static bool exit_matches(const struct kvm_run *run, const struct iofuzz_op *op)
{
	if (run->exit_reason == KVM_EXIT_IO)
		return run->io.port == op->addr && run->io.size == op->size &&
		       run->io.direction == (op->type == IOF_OUT || op->type == IOF_OUTS ?
					     KVM_EXIT_IO_OUT : KVM_EXIT_IO_IN) &&
		       run->io.count <= op->count;
	return run->mmio.phys_addr == op->addr && run->mmio.len == op->size &&
	       run->mmio.is_write == (op->type == IOF_MMIO_WR);
}

bool iofuzz_check_exited_op(struct iofuzz_state *st, struct kvm_run *run, uint64_t idx,
			    char *why, size_t len)
{
	struct iofuzz_op op;
	bool ok;

	if (idx >= st->plan.total)
		return true;
	iofuzz_host_gen(st, idx, &op);
	TEST_ASSERT(op.range < st->plan.nr_ranges, "op %lu: range %u of %u", idx, op.range,
		    st->plan.nr_ranges);
	st->stats[st->plan.ranges[op.range].id].exits++;
	if (idx != st->last_exited) {
		st->last_exited = idx;
		st->stats[st->plan.ranges[op.range].id].exited_ops++;
	}
	ok = exit_matches(run, &op);
	if (!ok)
		snprintf(why, len, "the exit does not describe op %lu (%s %u %u %#lx)",
			 idx, iofuzz_type_name(op.type), op.size, op.count, op.addr);
	return ok;
}

/*
 * The op an exit to userspace belongs to, into *idx; false (with why) when
 * RIP is at no op's access instruction nor just past one.
 */
bool iofuzz_exit_op_index(struct iofuzz_life *l, uint64_t *idx, char *why, size_t len)
{
	struct kvm_vcpu *vcpu = l->vcpu;
	struct kvm_regs regs_buf, *regs = &regs_buf;
	uint64_t c[2];
	unsigned int n;

	if (vcpu->run->kvm_valid_regs & KVM_SYNC_X86_REGS)
		regs = &vcpu->run->s.regs.regs;
	else
		vcpu_regs_get(vcpu, regs);
	if (!l->jit) {
		*idx = regs->rbx;	/* the C executor passes it in RBX */
		return true;
	}
	/*
	 * Exact: RIP at an op's access or just past it (iofuzz_jit_access_idx()).
	 * Two candidates (one op's access ends where the next one's starts)
	 * differ in what they access unless iofuzz_jit_fill() put a NOP between
	 * them, so the exit's own description picks the op.  Only two alike
	 * in-kernel byte accesses (may_exit() in jit.c) could both fit; then the
	 * earlier one, unless it has exited.
	 */
	n = iofuzz_jit_access_idx(l->jit, regs->rip, c);
	if (!n) {
		snprintf(why, len, "the exit's RIP %#llx is at no op's access (chunk from op %lu)",
			 regs->rip, l->jit->first);
		return false;
	}
	*idx = c[0];
	if (n == 2) {
		bool m0 = exit_matches(vcpu->run, iofuzz_host_op(l->st, c[0]));
		bool m1 = exit_matches(vcpu->run, iofuzz_host_op(l->st, c[1]));

		if ((m1 && !m0) || (m0 && m1 && l->st->last_exited == c[0]))
			*idx = c[1];
	}
	return true;
}

/* Where a wedged or shut-down guest stopped: its RIP, else the heartbeat. */
uint64_t iofuzz_stopped_op_index(struct iofuzz_life *l, uint64_t last)
{
	struct kvm_regs regs;
	uint64_t idx;

	if (l->jit) {
		vcpu_regs_get(l->vcpu, &regs);
		if (iofuzz_jit_idx(l->jit, regs.rip, &idx))
			return idx;
	}
	return l->sh->hb > last ? l->sh->hb : last;
}

/*
 * Has the vCPU left the compiled stream for code no op put there?  A fuzzed
 * ICR write (its own, or another vCPU's with -p) can send it an SMI: it
 * enters SMM at SMBASE + 8000H with CR0.PE clear (SDM vol. 3C 32.5.1) and
 * runs whatever that memory holds; INIT and SIPI put it in real mode (vol.
 * 3A 9.1.1, 11.6.1).  Those are the guest's own doing, not KVM faults: the
 * host restarts the VM.
 */
bool iofuzz_left_stream(struct kvm_vcpu *vcpu, char *why, size_t len)
{
	struct kvm_vcpu_events ev;
	struct kvm_sregs sregs;

	vcpu_ioctl(vcpu, KVM_GET_VCPU_EVENTS, &ev);
	if (ev.smi.smm) {
		snprintf(why, len, "vCPU %u in SMM (an SMI IPI)", vcpu->id);
		return true;
	}
	vcpu_sregs_get(vcpu, &sregs);
	if (sregs.cr0 & X86_CR0_PE)
		return false;
	snprintf(why, len, "vCPU %u in real mode at %#x:%#llx (INIT or SIPI)", vcpu->id,
		 sregs.cs.selector, sregs.cs.base);
	return true;
}

/*
 * An emulation failure that is no KVM fault: a guest reset by INIT, or what
 * kvm_pvm's instruction emulator cannot do (see known_failures).
 */
bool iofuzz_internal_error_explained(struct kvm_vcpu *vcpu, char *why, size_t len)
{
	struct kvm_sregs sregs;
	struct kvm_regs regs;
	uint8_t *insn;

	if (vcpu->run->internal.suberror != KVM_INTERNAL_ERROR_EMULATION)
		return false;
	/*
	 * A fuzzed ICR write can send INIT to this vCPU (e.g. "all including
	 * self"); INIT puts it in real mode at F000:FFF0 (SDM vol. 3A 9.1.1), where
	 * this VM has no memory, and fetching from there cannot be emulated.
	 * That is a guest reset, not a KVM fault.
	 */
	vcpu_sregs_get(vcpu, &sregs);
	if (!(sregs.cr0 & X86_CR0_PE) && sregs.cs.base == 0xffff0000) {
		snprintf(why, len, "guest reset by INIT (real mode at the reset vector, "
			 "no memory there)");
		return true;
	}
	if (iofuzz_left_stream(vcpu, why, len))
		return true;
	if (strcmp(kvm_platform_name(), "kvm_pvm"))
		return false;
	vcpu_regs_get(vcpu, &regs);
	insn = __addr_gpa2hva(vcpu->vm, regs.rip);
	if (!insn)
		return false;
	if (insn[0] == 0xcc) {
		snprintf(why, len, "kvm_pvm cannot emulate INT3");
		return true;
	}
	return false;
}

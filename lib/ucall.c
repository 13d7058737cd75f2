// SPDX-License-Identifier: GPL-2.0-only
/*
 * ucall, host side: decode the exit and the guest's registers, fetch the
 * message if there is one, print guest messages and fail on guest
 * assertions.  See include/ucall.h for the protocol.
 */
#include "kvm_util.h"

/* Copy a NUL-terminated guest string, page by page, into buf. */
static bool read_guest_string(struct kvm_vm *vm, uint64_t gva, char *buf, size_t len)
{
	size_t i = 0;

	while (i + 1 < len) {
		uint64_t gpa;
		const char *p;
		size_t chunk;

		if (!__addr_gva2gpa(vm, gva + i, &gpa) || !(p = __addr_gpa2hva(vm, gpa)))
			break;
		chunk = PAGE_SIZE - ((gva + i) & (PAGE_SIZE - 1));
		for (; chunk && i + 1 < len; chunk--, i++) {
			buf[i] = *p++;
			if (!buf[i])
				return true;
		}
	}
	buf[i] = '\0';
	return i > 0;
}

uint32_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	struct kvm_regs regs_buf, *regs;
	uint32_t data;

	uc->cmd = UCALL_NONE;
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PIO_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return UCALL_NONE;
	data = *(uint32_t *)((uint8_t *)run + run->io.data_offset);
	if ((data & UCALL_TAG_MASK) != UCALL_TAG)
		return UCALL_NONE;

	if (run->kvm_valid_regs & KVM_SYNC_X86_REGS) {
		regs = &run->s.regs.regs;
	} else {
		vcpu_regs_get(vcpu, &regs_buf);
		regs = &regs_buf;
	}
	uc->cmd = data & UCALL_CMD_MASK;
	uc->nargs = (data >> UCALL_NARGS_SHIFT) & UCALL_NARGS_MASK;
	if (uc->nargs > UCALL_MAX_ARGS)
		uc->nargs = UCALL_MAX_ARGS;
	uc->line = regs->rax >> 32;
	uc->file = regs->rbx;
	/* Registers beyond nargs hold whatever the guest had there. */
	memset(uc->args, 0, sizeof(uc->args));
	switch (uc->nargs) {
	case 6: uc->args[5] = regs->r10;	/* fall through */
	case 5: uc->args[4] = regs->r9;		/* fall through */
	case 4: uc->args[3] = regs->r8;		/* fall through */
	case 3: uc->args[2] = regs->rcx;	/* fall through */
	case 2: uc->args[1] = regs->rsi;	/* fall through */
	case 1: uc->args[0] = regs->rdi;
	}
	uc->buffer_gva = (data & UCALL_HAS_MSG) ? regs->r11 : 0;
	uc->buffer[0] = '\0';
	if (uc->buffer_gva &&
	    !read_guest_string(vcpu->vm, uc->buffer_gva, uc->buffer, sizeof(uc->buffer)))
		snprintf(uc->buffer, sizeof(uc->buffer), "<message at unmapped GVA %#lx>",
			 uc->buffer_gva);
	return uc->cmd;
}

const char *ucall_file(struct kvm_vcpu *vcpu, struct ucall *uc, char *buf, size_t len)
{
	/* The name lives in the guest's copy of .rodata; read it from there. */
	if (!uc->file || !read_guest_string(vcpu->vm, uc->file, buf, len))
		snprintf(buf, len, "<unknown file>");
	return buf;
}

void report_guest_abort(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	char file[256], sym[128] = "";

	/* Exception reports carry (vector, RIP, error code): name the function. */
	if (uc->nargs == 3)
		snprintf(sym, sizeof(sym), "\nRIP %#lx is %s", uc->args[1],
			 symbolize(uc->args[1], file, sizeof(file)));
	test_assert_fail(NULL, ucall_file(vcpu, uc, file, sizeof(file)), uc->line, 0,
			 "==== Guest failure (vCPU %u) ====\n%s%s", vcpu->id, uc->buffer, sym);
}

/* Failures are reported at the caller's file:line. */
uint32_t vcpu_run_ucall_at(struct kvm_vcpu *vcpu, struct ucall *uc, const char *file,
			   unsigned int line)
{
	char name[256];

	for (;;) {
		vcpu_run_at(vcpu, file, line);
		switch (get_ucall(vcpu, uc)) {
		case UCALL_NONE:
			/* Not a ucall: fail naming what it was. */
			vcpu_assert_exit_at(vcpu, VCPU_EXIT_UCALL, file, line);
			break;
		case UCALL_PRINTF:
			kvm_log("guest %s:%u: %s", ucall_file(vcpu, uc, name, sizeof(name)),
				uc->line, uc->buffer);
			break;
		case UCALL_ABORT:
			report_guest_abort(vcpu, uc);
		default:
			return uc->cmd;
		}
	}
}

void vcpu_run_expect_sync_at(struct kvm_vcpu *vcpu, uint64_t arg0, const char *file,
			     unsigned int line)
{
	struct ucall uc;
	uint32_t cmd = vcpu_run_ucall_at(vcpu, &uc, file, line);

	if (cmd != UCALL_SYNC)
		test_assert_fail(NULL, file, line, 0,
				 "vCPU %u: expected GUEST_SYNC(%#lx), got ucall %u", vcpu->id,
				 arg0, cmd);
	if (uc.nargs < 1 || uc.args[0] != arg0)
		test_assert_fail(NULL, file, line, 0,
				 "vCPU %u: expected GUEST_SYNC(%#lx), got GUEST_SYNC(%#lx) "
				 "(%lu args) from guest line %u", vcpu->id, arg0,
				 uc.nargs ? uc.args[0] : 0, uc.nargs, uc.line);
}

void vcpu_run_expect_done_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line)
{
	struct ucall uc;
	uint32_t cmd = vcpu_run_ucall_at(vcpu, &uc, file, line);

	if (cmd != UCALL_DONE)
		test_assert_fail(NULL, file, line, 0,
				 "vCPU %u: expected GUEST_DONE, got ucall %u%s%lx from guest line %u",
				 vcpu->id, cmd, cmd == UCALL_SYNC ? " with arg0 " : "",
				 cmd == UCALL_SYNC && uc.nargs ? uc.args[0] : 0, uc.line);
}

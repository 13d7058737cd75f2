// SPDX-License-Identifier: GPL-2.0-only
/*
 * ucall, host side: decode the exit, fetch the guest's struct ucall, print
 * guest messages and fail on guest assertions.  See include/ucall.h.
 */
#include <stddef.h>

#include "kvm_util.h"

uint32_t get_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	struct kvm_run *run = vcpu->run;
	uint64_t gva, gpa, gpa_end;
	const struct ucall *guc;

	uc->cmd = UCALL_NONE;
	if (run->exit_reason != KVM_EXIT_IO || run->io.port != UCALL_PIO_PORT ||
	    run->io.direction != KVM_EXIT_IO_OUT || run->io.size != 4 || run->io.count != 1)
		return UCALL_NONE;

	gva = *(uint32_t *)((uint8_t *)run + run->io.data_offset);
	/* The struct must be contiguous in guest physical memory (stacks are). */
	if (!__addr_gva2gpa(vcpu->vm, gva, &gpa) ||
	    !__addr_gva2gpa(vcpu->vm, gva + sizeof(*uc) - 1, &gpa_end) ||
	    gpa_end - gpa != sizeof(*uc) - 1 || !__addr_gpa2hva(vcpu->vm, gpa) ||
	    !__addr_gpa2hva(vcpu->vm, gpa_end))
		return UCALL_NONE;
	guc = addr_gpa2hva(vcpu->vm, gpa);
	if (guc->magic != UCALL_MAGIC)
		return UCALL_NONE;
	memcpy(uc, guc, sizeof(*uc));
	uc->buffer[UCALL_BUFFER_LEN - 1] = '\0';
	if (uc->nargs > UCALL_MAX_ARGS)
		uc->nargs = UCALL_MAX_ARGS;
	return uc->cmd;
}

const char *ucall_file(struct kvm_vcpu *vcpu, struct ucall *uc, char *buf, size_t len)
{
	uint64_t gpa;
	const char *s;
	size_t i;

	/* The name lives in the guest's copy of .rodata; read it from there. */
	if (!uc->file || !__addr_gva2gpa(vcpu->vm, uc->file, &gpa) ||
	    !(s = __addr_gpa2hva(vcpu->vm, gpa))) {
		snprintf(buf, len, "<unknown file>");
		return buf;
	}
	for (i = 0; i + 1 < len && s[i] && __addr_gpa2hva(vcpu->vm, gpa + i); i++)
		buf[i] = s[i];
	buf[i] = '\0';
	return buf;
}

void report_guest_abort(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	char file[256];

	test_assert_fail(NULL, ucall_file(vcpu, uc, file, sizeof(file)), uc->line, 0,
			 "==== Guest failure (vCPU %u) ====\n%s", vcpu->id, uc->buffer);
}

uint32_t vcpu_run_ucall(struct kvm_vcpu *vcpu, struct ucall *uc)
{
	char file[256];

	for (;;) {
		vcpu_run(vcpu);
		switch (get_ucall(vcpu, uc)) {
		case UCALL_NONE:
			/* Not a ucall: fail naming what it was. */
			__vcpu_assert_exit(vcpu, VCPU_EXIT_UCALL, __FILE__, __LINE__);
			break;
		case UCALL_PRINTF:
			kvm_log("guest %s:%u: %s", ucall_file(vcpu, uc, file, sizeof(file)),
				uc->line, uc->buffer);
			break;
		case UCALL_ABORT:
			report_guest_abort(vcpu, uc);
		default:
			return uc->cmd;
		}
	}
}

void vcpu_run_expect_sync(struct kvm_vcpu *vcpu, uint64_t arg0)
{
	struct ucall uc;
	uint32_t cmd = vcpu_run_ucall(vcpu, &uc);

	TEST_ASSERT(cmd == UCALL_SYNC, "vCPU %u: expected GUEST_SYNC(%#lx), got ucall %u",
		    vcpu->id, arg0, cmd);
	TEST_ASSERT(uc.nargs >= 1 && uc.args[0] == arg0,
		    "vCPU %u: expected GUEST_SYNC(%#lx), got GUEST_SYNC(%#lx) (%lu args)",
		    vcpu->id, arg0, uc.nargs ? uc.args[0] : 0, uc.nargs);
}

void vcpu_run_expect_done(struct kvm_vcpu *vcpu)
{
	struct ucall uc;
	uint32_t cmd = vcpu_run_ucall(vcpu, &uc);

	TEST_ASSERT(cmd == UCALL_DONE, "vCPU %u: expected GUEST_DONE, got ucall %u%s%lx",
		    vcpu->id, cmd, cmd == UCALL_SYNC ? " with arg0 " : "",
		    cmd == UCALL_SYNC && uc.nargs ? uc.args[0] : 0);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host side of the nested layer (include/nested.h): pages for L1,
 * requirements, and moving a vCPU with L2 running to another VM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>

#include "nested.h"

#define L2_STACK_PAGES	4
#define POOL_PAGES	64

uint64_t nested_alloc(struct kvm_vm *vm)
{
	uint64_t gpa = vm_phys_alloc(vm, 1);
	struct nested_pages *p = addr_gpa2hva(vm, gpa);

	/* Guest RAM is identity mapped: these GPAs are L1's pointers too. */
	p->svm.vmcb = vm_phys_alloc(vm, 1);
	p->svm.hsave = vm_phys_alloc(vm, 1);
	p->svm.iopm = vm_phys_alloc(vm, SVM_IOPM_SIZE / PAGE_SIZE);
	p->svm.msrpm = vm_phys_alloc(vm, SVM_MSRPM_SIZE / PAGE_SIZE);
	p->vmx.vmxon = vm_phys_alloc(vm, 1);
	p->vmx.vmcs = vm_phys_alloc(vm, 1);
	p->vmx.io_bitmap_a = vm_phys_alloc(vm, 1);
	p->vmx.io_bitmap_b = vm_phys_alloc(vm, 1);
	p->vmx.msr_bitmap = vm_phys_alloc(vm, 1);
	p->l2_stack_top = vm_phys_alloc(vm, L2_STACK_PAGES) + L2_STACK_PAGES * PAGE_SIZE;
	p->pool = vm_phys_alloc(vm, POOL_PAGES);
	p->pool_pages = POOL_PAGES;
	return gpa;
}

bool kvm_has_nested(const char **why)
{
	static char buf[160];

	if (kvm_cpu_has(X86_FEATURE_SVM) || kvm_cpu_has(X86_FEATURE_VMX))
		return true;
	snprintf(buf, sizeof(buf), "no SVM or VMX: KVM_GET_SUPPORTED_CPUID of %s offers neither "
		 "(nested virtualization unavailable; see make vm_run_tests)", kvm_platform_name());
	*why = buf;
	return false;
}

const char *nested_run_l1_at(struct kvm_vm *vm, struct kvm_vcpu *vcpu, const char *file,
			     unsigned int line)
{
	static char why[200];
	struct ucall uc;

	while (vcpu_run_ucall_at(vcpu, &uc, file, line) != UCALL_DONE) {
		if (uc.cmd != UCALL_SYNC || uc.args[0] != NESTED_SKIP_SYNC)
			continue;
		/* The reason is a string in the guest's copy of this ELF. */
		snprintf(why, sizeof(why), "%s",
			 (const char *)addr_gva2hva_at(vm, uc.args[1], file, line));
		return why;
	}
	return NULL;
}

const char *nested_run_until_done_at(struct kvm_vm *vm, struct kvm_vcpu *vcpu,
				     const char *file, unsigned int line)
{
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	return nested_run_l1_at(vm, vcpu, file, line);
}

/* ---- moving a vCPU (with its nested state) to a new VM ---- */

struct vcpu_saved *nested_vcpu_state_save_at(struct kvm_vcpu *vcpu, const char *file,
					     unsigned int line)
{
	struct vcpu_saved *st = calloc(1, sizeof(*st));
	int size = kvm_check_cap_at(KVM_CAP_NESTED_STATE, file, line);

	TEST_ASSERT(st, "out of memory");
	if (size <= 0)
		test_assert_fail(NULL, file, line, 0, "KVM_CAP_NESTED_STATE is %d", size);
	vcpu_state_save_at(vcpu, st, file, line);
	st->nested = calloc(1, size);
	TEST_ASSERT(st->nested, "out of memory");
	st->nested->size = size;
	kvm_ioctl_named_at(vcpu->fd, KVM_GET_NESTED_STATE, st->nested, "KVM_GET_NESTED_STATE",
			   "vcpu ioctl", file, line);
	return st;
}

void nested_vcpu_state_free(struct vcpu_saved *st)
{
	if (st)
		vcpu_state_free(st);
	free(st);
}

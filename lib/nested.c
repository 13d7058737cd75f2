// SPDX-License-Identifier: GPL-2.0-only
/* Host side of the nested layer (include/nested.h): pages for L1, requirements. */
#include <stdio.h>

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

void nested_run_until_done(struct kvm_vm *vm, struct kvm_vcpu *vcpu)
{
	struct ucall uc;

	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	while (vcpu_run_ucall(vcpu, &uc) != UCALL_DONE)
		;
}

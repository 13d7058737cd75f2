// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host side of the nested layer (include/nested.h): pages for L1,
 * requirements, and moving a vCPU with L2 running to another VM.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/*
 * The MSRs this suite's guest code and nested library change: SVM's host
 * save area, VMX's FEATURE_CONTROL, and the SYSCALL/SYSENTER/swapgs state
 * the tests write.  EFER, FS/GS bases and APIC base travel in the sregs.
 */
static const uint32_t moved_msrs[] = {
	MSR_VM_HSAVE_PA, MSR_IA32_FEATURE_CONTROL, MSR_KERNEL_GS_BASE, MSR_STAR, MSR_LSTAR,
	MSR_CSTAR, MSR_SYSCALL_MASK, MSR_IA32_SYSENTER_CS, MSR_IA32_SYSENTER_ESP,
	MSR_IA32_SYSENTER_EIP, MSR_IA32_CR_PAT,
};
#define NR_MOVED_MSRS	(sizeof(moved_msrs) / sizeof(moved_msrs[0]))

struct nested_vcpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	struct kvm_vcpu_events events;
	struct kvm_debugregs debugregs;
	struct kvm_mp_state mp_state;
	uint32_t nr_msrs;
	uint32_t msr_index[NR_MOVED_MSRS];
	uint64_t msr_value[NR_MOVED_MSRS];
	struct kvm_nested_state *nested;
};

struct nested_vcpu_state *nested_vcpu_state_save_at(struct kvm_vcpu *vcpu, const char *file,
						    unsigned int line)
{
	struct nested_vcpu_state *st = calloc(1, sizeof(*st));
	int size = kvm_check_cap(KVM_CAP_NESTED_STATE);

	TEST_ASSERT(st, "out of memory");
	if (size <= 0)
		test_assert_fail(NULL, file, line, 0, "KVM_CAP_NESTED_STATE is %d", size);
	vcpu_complete_io_at(vcpu, file, line);		/* api.rst: before saving state */

	vcpu_regs_get_at(vcpu, &st->regs, file, line);
	vcpu_sregs_get_at(vcpu, &st->sregs, file, line);
	vcpu_fpu_get_at(vcpu, &st->fpu, file, line);
	vcpu_events_get_at(vcpu, &st->events, file, line);
	vcpu_debugregs_get_at(vcpu, &st->debugregs, file, line);
	vcpu_mp_state_get_at(vcpu, &st->mp_state, file, line);
	for (unsigned int i = 0; i < NR_MOVED_MSRS; i++) {
		uint64_t v;

		/* MSRs of the other vendor don't exist here: KVM_GET_MSRS does 0 of them. */
		if (__vcpu_get_msr(vcpu, moved_msrs[i], &v) != 1)
			continue;
		st->msr_index[st->nr_msrs] = moved_msrs[i];
		st->msr_value[st->nr_msrs++] = v;
	}
	st->nested = calloc(1, size);
	TEST_ASSERT(st->nested, "out of memory");
	st->nested->size = size;
	kvm_ioctl_named_at(vcpu->fd, KVM_GET_NESTED_STATE, st->nested, "KVM_GET_NESTED_STATE",
			   "vcpu ioctl", file, line);
	return st;
}

/* In the order KVM needs: EFER/CR state and MSRs before the nested state that builds on them. */
void nested_vcpu_state_load_at(struct kvm_vcpu *vcpu, const struct nested_vcpu_state *st,
			       const char *file, unsigned int line)
{
	struct nested_vcpu_state *s = (struct nested_vcpu_state *)st;

	vcpu_sregs_set_at(vcpu, &s->sregs, file, line);
	for (unsigned int i = 0; i < s->nr_msrs; i++)
		vcpu_set_msr_at(vcpu, s->msr_index[i], s->msr_value[i], file, line);
	vcpu_fpu_set_at(vcpu, &s->fpu, file, line);
	vcpu_events_set_at(vcpu, &s->events, file, line);
	vcpu_debugregs_set_at(vcpu, &s->debugregs, file, line);
	vcpu_mp_state_set_at(vcpu, &s->mp_state, file, line);
	vcpu_regs_set_at(vcpu, &s->regs, file, line);
	kvm_ioctl_named_at(vcpu->fd, KVM_SET_NESTED_STATE, s->nested, "KVM_SET_NESTED_STATE",
			   "vcpu ioctl", file, line);
}

void nested_vcpu_state_free(struct nested_vcpu_state *st)
{
	if (st)
		free(st->nested);
	free(st);
}

void nested_vm_copy_memory(struct kvm_vm *dst, struct kvm_vm *src)
{
	for (struct kvm_mem_region *r = src->regions; r; r = r->next) {
		struct kvm_mem_region *d = vm_mem_region_find(dst, r->region.slot);

		TEST_ASSERT(d && d->region.guest_phys_addr == r->region.guest_phys_addr &&
			    d->region.memory_size == r->region.memory_size,
			    "memslot %u (GPA 0x%llx, 0x%llx bytes) has no twin in the new VM",
			    r->region.slot, r->region.guest_phys_addr, r->region.memory_size);
		memcpy(d->host_mem, r->host_mem, r->region.memory_size);
	}
}

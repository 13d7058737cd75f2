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

/*
 * The MSRs to move: KVM_GET_MSR_INDEX_LIST, less those KVM_GET_MSRS does
 * not return for this vCPU (api.rst: it stops at the first it cannot
 * read).  Probed once per process, on the first vCPU saved.
 */
static uint32_t *moved_msrs;
static unsigned int nr_moved_msrs;

static void probe_moved_msrs(struct kvm_vcpu *vcpu, const char *file, unsigned int line)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	uint64_t v;

	if (moved_msrs)
		return;
	if (ioctl(kvm_dev_fd(), KVM_GET_MSR_INDEX_LIST, &probe) != -1 || errno != E2BIG)
		test_assert_fail(NULL, file, line, 0, "KVM_GET_MSR_INDEX_LIST with nmsrs 0: "
				 "expected E2BIG, errno %d", errno);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	moved_msrs = calloc(probe.nmsrs, sizeof(*moved_msrs));
	TEST_ASSERT(list && moved_msrs, "out of memory");
	list->nmsrs = probe.nmsrs;
	kvm_ioctl_named_at(kvm_dev_fd(), KVM_GET_MSR_INDEX_LIST, list, "KVM_GET_MSR_INDEX_LIST",
			   "system ioctl", file, line);
	for (unsigned int i = 0; i < list->nmsrs; i++)
		if (__vcpu_get_msr(vcpu, list->indices[i], &v) == 1)
			moved_msrs[nr_moved_msrs++] = list->indices[i];
	free(list);
}

/* KVM_GET_MSRS/KVM_SET_MSRS return how many they did: all, or name the first left. */
static void msrs_ioctl_at(struct kvm_vcpu *vcpu, unsigned long cmd, const char *name,
			  struct kvm_msrs *m, const char *file, unsigned int line)
{
	int r = ioctl(vcpu->fd, cmd, m);

	if (r != (int)m->nmsrs)
		kvm_ioctl_fail(file, line, name, r, errno, "%u MSRs, stopped at %#x", m->nmsrs,
			       r >= 0 && r < (int)m->nmsrs ? m->entries[r].index : 0);
}

/*
 * KVM_SET_MSRS of the saved MSRs.  KVM refuses some it reads (e.g.
 * MSR_KVM_ASYNC_PF_INT, even 0, without an in-kernel LAPIC): such an MSR is
 * passed over when the vCPU already holds the saved value, else the load
 * fails naming it.
 */
static void msrs_load_at(struct kvm_vcpu *vcpu, const struct kvm_msrs *m, const char *file,
			 unsigned int line)
{
	struct kvm_msrs *rest = calloc(1, sizeof(*rest) + m->nmsrs * sizeof(rest->entries[0]));
	unsigned int done = 0;

	TEST_ASSERT(rest, "out of memory");
	while (done < m->nmsrs) {
		uint64_t v;
		int r;

		rest->nmsrs = m->nmsrs - done;
		memcpy(rest->entries, m->entries + done, rest->nmsrs * sizeof(rest->entries[0]));
		r = ioctl(vcpu->fd, KVM_SET_MSRS, rest);
		if (r == (int)rest->nmsrs)
			break;
		if (r < 0 || __vcpu_get_msr(vcpu, rest->entries[r].index, &v) != 1 ||
		    v != rest->entries[r].data)
			kvm_ioctl_fail(file, line, "KVM_SET_MSRS", r, errno,
				       "%u MSRs, stopped at %#x (value %#llx)", rest->nmsrs,
				       r >= 0 ? rest->entries[r].index : 0,
				       r >= 0 ? rest->entries[r].data : 0ULL);
		done += r + 1;
	}
	free(rest);
}

#define state_ioctl_at(vcpu, cmd, arg, file, line)				\
	kvm_ioctl_named_at((vcpu)->fd, cmd, arg, #cmd, "vcpu ioctl", file, line)

struct nested_vcpu_state *nested_vcpu_state_save_at(struct kvm_vcpu *vcpu, const char *file,
						    unsigned int line)
{
	struct nested_vcpu_state *st = calloc(1, sizeof(*st));
	int size = kvm_check_cap_at(KVM_CAP_NESTED_STATE, file, line);
	int xsave2 = kvm_check_cap_at(KVM_CAP_XSAVE2, file, line);

	TEST_ASSERT(st, "out of memory");
	if (size <= 0)
		test_assert_fail(NULL, file, line, 0, "KVM_CAP_NESTED_STATE is %d", size);
	vcpu_complete_io_at(vcpu, file, line);		/* api.rst: before saving state */
	probe_moved_msrs(vcpu, file, line);

	vcpu_events_get_at(vcpu, &st->events, file, line);
	vcpu_mp_state_get_at(vcpu, &st->mp_state, file, line);
	vcpu_regs_get_at(vcpu, &st->regs, file, line);
	if (kvm_check_cap_at(KVM_CAP_XSAVE, file, line)) {
		st->xsave_size = xsave2 > (int)sizeof(struct kvm_xsave) ? xsave2 :
			(int)sizeof(struct kvm_xsave);
		st->xsave = calloc(1, st->xsave_size);
		TEST_ASSERT(st->xsave, "out of memory");
		if (xsave2 > 0)
			state_ioctl_at(vcpu, KVM_GET_XSAVE2, st->xsave, file, line);
		else
			state_ioctl_at(vcpu, KVM_GET_XSAVE, st->xsave, file, line);
	} else {
		vcpu_fpu_get_at(vcpu, &st->fpu, file, line);
	}
	st->has_xcrs = kvm_check_cap_at(KVM_CAP_XCRS, file, line);
	if (st->has_xcrs)
		state_ioctl_at(vcpu, KVM_GET_XCRS, &st->xcrs, file, line);
	vcpu_sregs_get_at(vcpu, &st->sregs, file, line);
	st->msrs = calloc(1, sizeof(*st->msrs) + nr_moved_msrs * sizeof(st->msrs->entries[0]));
	TEST_ASSERT(st->msrs, "out of memory");
	st->msrs->nmsrs = nr_moved_msrs;
	for (unsigned int i = 0; i < nr_moved_msrs; i++)
		st->msrs->entries[i].index = moved_msrs[i];
	msrs_ioctl_at(vcpu, KVM_GET_MSRS, "KVM_GET_MSRS", st->msrs, file, line);
	vcpu_debugregs_get_at(vcpu, &st->debugregs, file, line);
	st->has_lapic = vcpu->vm->has_irqchip;
	if (st->has_lapic)
		vcpu_lapic_get_at(vcpu, &st->lapic, file, line);
	st->nested = calloc(1, size);
	TEST_ASSERT(st->nested, "out of memory");
	st->nested->size = size;
	state_ioctl_at(vcpu, KVM_GET_NESTED_STATE, st->nested, file, line);
	return st;
}

/*
 * Upstream vcpu_load_state()'s order, with the LAPIC after SREGS (APIC
 * base) and before the MSRs (IA32_TSC_DEADLINE needs the LVT timer mode),
 * and the nested state last: it builds on EFER, CR state and the MSRs.
 */
void nested_vcpu_state_load_at(struct kvm_vcpu *vcpu, const struct nested_vcpu_state *st,
			       const char *file, unsigned int line)
{
	struct nested_vcpu_state *s = (struct nested_vcpu_state *)st;

	vcpu_sregs_set_at(vcpu, &s->sregs, file, line);
	if (s->has_lapic)
		vcpu_lapic_set_at(vcpu, &s->lapic, file, line);
	msrs_load_at(vcpu, s->msrs, file, line);
	if (s->has_xcrs)
		state_ioctl_at(vcpu, KVM_SET_XCRS, &s->xcrs, file, line);
	if (s->xsave)
		state_ioctl_at(vcpu, KVM_SET_XSAVE, s->xsave, file, line);
	else
		vcpu_fpu_set_at(vcpu, &s->fpu, file, line);
	vcpu_events_set_at(vcpu, &s->events, file, line);
	vcpu_mp_state_set_at(vcpu, &s->mp_state, file, line);
	vcpu_debugregs_set_at(vcpu, &s->debugregs, file, line);
	vcpu_regs_set_at(vcpu, &s->regs, file, line);
	state_ioctl_at(vcpu, KVM_SET_NESTED_STATE, s->nested, file, line);
}

bool nested_vcpu_state_msr(const struct nested_vcpu_state *st, uint32_t index, uint64_t *value)
{
	for (unsigned int i = 0; i < st->msrs->nmsrs; i++) {
		if (st->msrs->entries[i].index == index) {
			*value = st->msrs->entries[i].data;
			return true;
		}
	}
	return false;
}

void nested_vcpu_state_free(struct nested_vcpu_state *st)
{
	if (st) {
		free(st->nested);
		free(st->msrs);
		free(st->xsave);
	}
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

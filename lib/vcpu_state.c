// SPDX-License-Identifier: GPL-2.0-only
/*
 * Moving a VM's state as a VMM migrates it: the vCPU, the in-kernel
 * devices and the memory (include/vcpu_state.h).
 */
#include <string.h>

#include "vcpu_state.h"

#define vcpu_ioctl_at(vcpu, cmd, arg, file, line)				\
	kvm_ioctl_named_at((vcpu)->fd, cmd, arg, #cmd, "vcpu ioctl", file, line)
#define vm_ioctl_at(vm, cmd, arg, file, line)					\
	kvm_ioctl_named_at((vm)->fd, cmd, arg, #cmd, "vm ioctl", file, line)

/*
 * The MSRs to migrate: KVM_GET_MSR_INDEX_LIST, less those KVM_GET_MSRS does
 * not return for this vCPU (api.rst 4.18: it stops at the first it cannot
 * read), plus what a VMM saves besides that list (KVM lists neither): the
 * MTRRs (SDM vol. 3A 12.11.2: MTRRdefType, the 11 fixed ranges, KVM's 8
 * variable ranges) and the machine-check banks' MCi_CTL/STATUS/ADDR/MISC
 * (vol. 3B 16.3.2, 400H + 4i; KVM_MAX_MCE_BANKS is 32).  Probed once per
 * process, on the first vCPU asked about.
 */
static uint32_t *mig_msrs;
static unsigned int nr_mig_msrs;

#define MIG_EXTRA_MAX	(1 + 11 + 16 + 4 * 32)

/* The MTRRs and MCE banks, into out[]; their count. */
static unsigned int extra_msrs(uint32_t *out)
{
	static const uint32_t fixed[] = { 0x250, 0x258, 0x259, 0x268, 0x269, 0x26a, 0x26b,
					  0x26c, 0x26d, 0x26e, 0x26f, 0x2ff };
	unsigned int n = 0;

	for (unsigned int i = 0; i < ARRAY_SIZE(fixed); i++)
		out[n++] = fixed[i];
	for (uint32_t msr = 0x200; msr < 0x210; msr++)
		out[n++] = msr;
	for (uint32_t msr = MSR_IA32_MC0_CTL; msr < MSR_IA32_MCx_CTL(32); msr++)
		out[n++] = msr;
	return n;
}

static void probe_msrs(struct kvm_vcpu *vcpu)
{
	struct kvm_msr_list probe = { .nmsrs = 0 }, *list;
	uint32_t extra[MIG_EXTRA_MAX];
	unsigned int nr_extra = extra_msrs(extra);
	uint64_t v;

	if (mig_msrs)
		return;
	TEST_ASSERT(ioctl(kvm_dev_fd(), KVM_GET_MSR_INDEX_LIST, &probe) == -1 && errno == E2BIG,
		    "KVM_GET_MSR_INDEX_LIST with nmsrs 0: expected E2BIG, errno %d", errno);
	list = calloc(1, sizeof(*list) + probe.nmsrs * sizeof(list->indices[0]));
	mig_msrs = calloc(probe.nmsrs + nr_extra, sizeof(*mig_msrs));
	TEST_ASSERT(list && mig_msrs, "out of memory");
	list->nmsrs = probe.nmsrs;
	kvm_ioctl(kvm_dev_fd(), KVM_GET_MSR_INDEX_LIST, list);
	for (unsigned int i = 0; i < list->nmsrs; i++)
		if (__vcpu_get_msr(vcpu, list->indices[i], &v) == 1)
			mig_msrs[nr_mig_msrs++] = list->indices[i];
	for (unsigned int i = 0; i < nr_extra; i++)
		if (__vcpu_get_msr(vcpu, extra[i], &v) == 1)
			mig_msrs[nr_mig_msrs++] = extra[i];
	free(list);
}

struct kvm_msrs *vcpu_state_msrs_alloc(struct kvm_vcpu *vcpu)
{
	struct kvm_msrs *m;

	probe_msrs(vcpu);
	m = calloc(1, sizeof(*m) + nr_mig_msrs * sizeof(m->entries[0]));
	TEST_ASSERT(m, "out of memory");
	m->nmsrs = nr_mig_msrs;
	for (unsigned int i = 0; i < nr_mig_msrs; i++)
		m->entries[i].index = mig_msrs[i];
	return m;
}

void vcpu_msrs_ioctl_at(struct kvm_vcpu *vcpu, unsigned long cmd, const char *name,
			struct kvm_msrs *m, const char *file, unsigned int line)
{
	int r = ioctl(vcpu->fd, cmd, m);

	if (r != (int)m->nmsrs)
		kvm_ioctl_fail(file, line, name, r, errno, "%u MSRs, stopped at %#x", m->nmsrs,
			       r >= 0 && r < (int)m->nmsrs ? m->entries[r].index : 0);
}

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

void vcpu_state_save_at(struct kvm_vcpu *vcpu, struct vcpu_saved *s, const char *file,
			unsigned int line)
{
	int size = kvm_check_cap_at(KVM_CAP_XSAVE2, file, line);

	memset(s, 0, sizeof(*s));
	/* api.rst: finish a pending PIO/MMIO before saving anything. */
	vcpu_complete_io_at(vcpu, file, line);

	vcpu_events_get_at(vcpu, &s->events, file, line);
	vcpu_mp_state_get_at(vcpu, &s->mp_state, file, line);
	vcpu_regs_get_at(vcpu, &s->regs, file, line);
	if (kvm_check_cap_at(KVM_CAP_XSAVE, file, line)) {
		s->xsave_size = size > (int)sizeof(struct kvm_xsave) ? size :
			(int)sizeof(struct kvm_xsave);
		s->xsave = calloc(1, s->xsave_size);
		TEST_ASSERT(s->xsave, "out of memory");
		if (size > 0)
			vcpu_ioctl_at(vcpu, KVM_GET_XSAVE2, s->xsave, file, line);
		else
			vcpu_ioctl_at(vcpu, KVM_GET_XSAVE, s->xsave, file, line);
	} else {
		vcpu_fpu_get_at(vcpu, &s->fpu, file, line);
	}
	s->has_xcrs = kvm_check_cap_at(KVM_CAP_XCRS, file, line);
	if (s->has_xcrs)
		vcpu_ioctl_at(vcpu, KVM_GET_XCRS, &s->xcrs, file, line);
	vcpu_sregs_get_at(vcpu, &s->sregs, file, line);
	s->msrs = vcpu_state_msrs_alloc(vcpu);
	vcpu_msrs_ioctl_at(vcpu, KVM_GET_MSRS, "KVM_GET_MSRS", s->msrs, file, line);
	vcpu_debugregs_get_at(vcpu, &s->debugregs, file, line);
	s->has_lapic = vcpu->vm->has_irqchip;
	if (s->has_lapic)
		vcpu_lapic_get_at(vcpu, &s->lapic, file, line);
}

void vcpu_state_load_at(struct kvm_vcpu *vcpu, struct vcpu_saved *s, const char *file,
			unsigned int line)
{
	vcpu_sregs_set_at(vcpu, &s->sregs, file, line);
	if (s->has_lapic)
		vcpu_lapic_set_at(vcpu, &s->lapic, file, line);
	msrs_load_at(vcpu, s->msrs, file, line);
	if (s->has_xcrs)
		vcpu_ioctl_at(vcpu, KVM_SET_XCRS, &s->xcrs, file, line);
	if (s->xsave)
		vcpu_ioctl_at(vcpu, KVM_SET_XSAVE, s->xsave, file, line);
	else
		vcpu_fpu_set_at(vcpu, &s->fpu, file, line);
	vcpu_events_set_at(vcpu, &s->events, file, line);
	vcpu_mp_state_set_at(vcpu, &s->mp_state, file, line);
	vcpu_debugregs_set_at(vcpu, &s->debugregs, file, line);
	vcpu_regs_set_at(vcpu, &s->regs, file, line);
	if (s->nested)
		vcpu_ioctl_at(vcpu, KVM_SET_NESTED_STATE, s->nested, file, line);
}

bool vcpu_state_msr(const struct vcpu_saved *s, uint32_t index, uint64_t *value)
{
	for (unsigned int i = 0; i < s->msrs->nmsrs; i++) {
		if (s->msrs->entries[i].index == index) {
			*value = s->msrs->entries[i].data;
			return true;
		}
	}
	return false;
}

void vcpu_state_free(struct vcpu_saved *s)
{
	free(s->xsave);
	free(s->msrs);
	free(s->nested);
	s->xsave = NULL;
	s->msrs = NULL;
	s->nested = NULL;
}

void vm_devices_save_at(struct kvm_vm *vm, bool has_pit, struct vm_devices_saved *d,
			const char *file, unsigned int line)
{
	memset(d, 0, sizeof(*d));
	for (unsigned int i = 0; i < ARRAY_SIZE(d->chip); i++) {
		d->chip[i].chip_id = i;
		vm_ioctl_at(vm, KVM_GET_IRQCHIP, &d->chip[i], file, line);
	}
	d->has_pit = has_pit;
	if (has_pit)
		vm_ioctl_at(vm, KVM_GET_PIT2, &d->pit, file, line);
}

void vm_devices_load_at(struct kvm_vm *vm, struct vm_devices_saved *d, const char *file,
			unsigned int line)
{
	for (unsigned int i = 0; i < ARRAY_SIZE(d->chip); i++)
		vm_ioctl_at(vm, KVM_SET_IRQCHIP, &d->chip[i], file, line);
	if (d->has_pit)
		vm_ioctl_at(vm, KVM_SET_PIT2, &d->pit, file, line);
}

static struct kvm_mem_region *memslot_twin(struct kvm_vm *dst, const struct kvm_mem_region *r,
					    const char *file, unsigned int line)
{
	struct kvm_mem_region *d = vm_mem_region_find(dst, r->region.slot);

	if (!d || d->region.guest_phys_addr != r->region.guest_phys_addr ||
	    d->region.memory_size != r->region.memory_size)
		test_assert_fail(NULL, file, line, 0, "memslot %u (GPA %#llx, %llu bytes) "
				 "has no twin in the new VM", r->region.slot,
				 r->region.guest_phys_addr, r->region.memory_size);
	return d;
}

void vm_memory_copy_at(struct kvm_vm *dst, struct kvm_vm *src, const char *file,
		       unsigned int line)
{
	for (struct kvm_mem_region *r = src->regions; r; r = r->next)
		memcpy(memslot_twin(dst, r, file, line)->host_mem, r->host_mem,
		       r->region.memory_size);
}

void vm_memory_move_at(struct kvm_vm *dst, struct kvm_vm *src, const char *file,
		       unsigned int line)
{
	for (struct kvm_mem_region *r = src->regions; r; r = r->next) {
		struct kvm_mem_region *d = memslot_twin(dst, r, file, line), t = *d;
		struct kvm_userspace_memory_region gone = d->region;

		gone.memory_size = 0;
		vm_ioctl_at(dst, KVM_SET_USER_MEMORY_REGION, &gone, file, line);
		d->region.userspace_addr = (uintptr_t)r->host_mem;
		vm_ioctl_at(dst, KVM_SET_USER_MEMORY_REGION, &d->region, file, line);
		d->host_mem = r->host_mem;
		d->mmap_size = r->mmap_size;
		d->owns_mem = r->owns_mem;
		r->host_mem = t.host_mem;
		r->mmap_size = t.mmap_size;
		r->owns_mem = t.owns_mem;
	}
	/* Else SMM would still see the memory dst had: freed with src (an SMI kills the VM). */
	vm_smm_ram_remap(dst);
}

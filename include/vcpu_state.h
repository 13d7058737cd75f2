/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Moving a VM's state as a VMM migrates it (lib/vcpu_state.c): the whole
 * vCPU (KVM_GET_REGS, _SREGS, _XSAVE or _FPU, _XCRS, _DEBUGREGS,
 * _VCPU_EVENTS, _MP_STATE, _LAPIC with the in-kernel irqchip, and every MSR
 * of KVM_GET_MSR_INDEX_LIST that KVM_GET_MSRS returns), the in-kernel
 * devices (KVM_GET_IRQCHIP for both PICs and the I/O APIC, KVM_GET_PIT2)
 * and the guest's memory, memslot by memslot.
 *
 * api.rst (kvm_run, the note on KVM_EXIT_IO and KVM_EXIT_MMIO): a pending
 * operation "is not preserved in state which is visible to userspace, thus
 * userspace should ensure that the operation is completed before
 * performing a live migration": vcpu_state_save() completes it first
 * (vcpu_complete_io()).  vcpu_state_load() loads in upstream's
 * vcpu_load_state() order, with the LAPIC after SREGS (APIC base) and
 * before the MSRs (IA32_TSC_DEADLINE needs the LVT timer mode): SREGS,
 * LAPIC, MSRS, XCRS, XSAVE, VCPU_EVENTS, MP_STATE, DEBUGREGS, REGS, and
 * KVM_SET_NESTED_STATE last when nested state was saved (include/nested.h).
 * KVM refuses some MSRs it reads (e.g. MSR_KVM_ASYNC_PF_INT, even 0,
 * without an in-kernel LAPIC): such an MSR is passed over when the vCPU
 * already holds the saved value, else the load fails naming it.
 *
 * Each failing ioctl names itself, errno and the caller's line.
 */
#ifndef KVM_SUITE_VCPU_STATE_H
#define KVM_SUITE_VCPU_STATE_H

#include "kvm_util.h"

struct vcpu_saved {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_xsave *xsave;	/* NULL without KVM_CAP_XSAVE: fpu instead */
	int xsave_size;
	struct kvm_fpu fpu;
	bool has_xcrs;
	struct kvm_xcrs xcrs;
	struct kvm_debugregs debugregs;
	struct kvm_vcpu_events events;
	struct kvm_mp_state mp_state;
	bool has_lapic;
	struct kvm_lapic_state lapic;
	struct kvm_msrs *msrs;		/* the MSRs to migrate, in one order */
	struct kvm_nested_state *nested;	/* nested_vcpu_state_save() only, else NULL */
};

/* The in-kernel devices of a VM with KVM_CREATE_IRQCHIP (and KVM_CREATE_PIT2). */
struct vm_devices_saved {
	struct kvm_irqchip chip[3];	/* KVM_IRQCHIP_PIC_MASTER, _PIC_SLAVE, _IOAPIC */
	bool has_pit;
	struct kvm_pit_state2 pit;
};

void vcpu_state_save_at(struct kvm_vcpu *vcpu, struct vcpu_saved *s, const char *file,
			unsigned int line);
void vcpu_state_load_at(struct kvm_vcpu *vcpu, struct vcpu_saved *s, const char *file,
			unsigned int line);
void vcpu_state_free(struct vcpu_saved *s);
/* The saved value of MSR index (false: it was not saved). */
bool vcpu_state_msr(const struct vcpu_saved *s, uint32_t index, uint64_t *value);
#define vcpu_state_save(vcpu, s)	vcpu_state_save_at(vcpu, s, __FILE__, __LINE__)
#define vcpu_state_load(vcpu, s)	vcpu_state_load_at(vcpu, s, __FILE__, __LINE__)

/* A kvm_msrs naming every MSR to migrate (data 0), in vcpu_saved's order; caller frees. */
struct kvm_msrs *vcpu_state_msrs_alloc(struct kvm_vcpu *vcpu);
/* KVM_GET_MSRS/KVM_SET_MSRS (cmd) of all of m: fails naming the first MSR left undone. */
void vcpu_msrs_ioctl_at(struct kvm_vcpu *vcpu, unsigned long cmd, const char *name,
			struct kvm_msrs *m, const char *file, unsigned int line);

/* has_pit: the VM has KVM_CREATE_PIT2's PIT (KVM_GET_PIT2 fails without one). */
void vm_devices_save_at(struct kvm_vm *vm, bool has_pit, struct vm_devices_saved *d,
			const char *file, unsigned int line);
void vm_devices_load_at(struct kvm_vm *vm, struct vm_devices_saved *d, const char *file,
			unsigned int line);
#define vm_devices_save(vm, has_pit, d)	vm_devices_save_at(vm, has_pit, d, __FILE__, __LINE__)
#define vm_devices_load(vm, d)		vm_devices_load_at(vm, d, __FILE__, __LINE__)

/*
 * Copy every memslot of src into its twin in dst (same slot, GPA and size:
 * both VMs made the same way from the same ELF); a slot without a twin fails.
 */
void vm_memory_copy_at(struct kvm_vm *dst, struct kvm_vm *src, const char *file,
		       unsigned int line);
#define vm_memory_copy(dst, src)	vm_memory_copy_at(dst, src, __FILE__, __LINE__)
/*
 * The same, without a copy: each twin memslot of dst is re-created on src's
 * pages (KVM_SET_USER_MEMORY_REGION: deleted, then added at the new
 * userspace address), and the two regions swap pages, so that freeing src
 * frees dst's unused ones.  src must not run again.  For tests of device and
 * vCPU state, where copying the guest's RAM would only cost time.
 */
void vm_memory_move_at(struct kvm_vm *dst, struct kvm_vm *src, const char *file,
		       unsigned int line);
#define vm_memory_move(dst, src)	vm_memory_move_at(dst, src, __FILE__, __LINE__)

#endif /* KVM_SUITE_VCPU_STATE_H */

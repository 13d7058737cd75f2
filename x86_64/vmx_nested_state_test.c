// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_GET_NESTED_STATE / KVM_SET_NESTED_STATE in the VMX format
 * (Documentation/virt/kvm/api.rst, "KVM_GET_NESTED_STATE",
 * "KVM_SET_NESTED_STATE", struct kvm_vmx_nested_state_hdr and _data;
 * SKIPs unless KVM offers VMX, kvm_intel nested=1):
 *
 *  - KVM_CAP_NESTED_STATE is at least header + vmcs12 + shadow vmcs12;
 *    GET into too small a buffer fails with E2BIG and writes the size
 *    the state takes (header alone after VMXON only, header + vmcs12 once
 *    a VMCS is current);
 *  - SET refuses (EINVAL) a state that no VMX instruction could have made
 *    (table bad_sets[]): too small, SVM format, unknown flags, run pending
 *    outside guest mode, a VMXON pointer or current-VMCS pointer that is
 *    not page aligned or beyond MAXPHYADDR (SDM vol. 3C 31.3, VMXON and
 *    VMPTRLD: VMfail for either), the VMCS pointer equal to the VMXON
 *    pointer (VMPTRLD: "VMPTRLD with VMXON pointer"), a VMCS without
 *    VMXON, SMM flags outside SMM, the eVMCS flag without eVMCS, vmcs12
 *    data shorter than a vmcs12 or with another revision, and, in guest
 *    mode, a vmcs12 that fails the VM-entry checks on controls, host
 *    state and guest state (26.2.1, 26.2.2, 26.3.1); the refusals that
 *    come before KVM drops the vCPU's nested state leave it as it was;
 *  - what must survive a save/restore, on the same vCPU and on a vCPU of
 *    a new VM with a copy of the memory: VMX operation after VMXON alone
 *    (a second VMXON still fails, VMfailInvalid with no current VMCS,
 *    31.3 VMXON); the current VMCS and its launch state (31.3, VMLAUNCH
 *    "VMCS is not clear" / VMRESUME "VMCS is not launched"): clear before
 *    the first VMLAUNCH, which then succeeds, launched after it, so
 *    VMRESUME succeeds; and L2 stopped at an exit to userspace carries on
 *    in the new VM, its next exit reaching L1 with a consistent exit
 *    reason and instruction length (27.2.1, 27.2.5); with the
 *    VMX-preemption timer armed in L2 (25.5.1), the deadline KVM reports
 *    (KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE) is kept by the restore and
 *    the move instead of the timer starting afresh.
 * Pending I/O is completed before each save (api.rst, kvm_run: KVM_RUN
 * with immediate_exit), as a VMM must.
 * Ideas from upstream's x86_64/vmx_set_nested_state_test.c, state_test.c
 * and vmx_preemption_timer_test.c; the SVM counterpart is
 * svm_nested_state_test.c.
 *
 * Caught bugs: bugs/nested-vmx-state-vmxon-pa-unaligned.patch,
 * bugs/nested-vmx-state-guest-state-unchecked.patch,
 * bugs/nested-vmx-state-launch-state-lost.patch,
 * bugs/nested-vmx-state-smm-flags-outside-smm.patch,
 * bugs/nested-vmx-state-timer-deadline-dropped.patch
 */
#include "kvm_test_harness.h"
#include "guest/nested.h"
#include "nested.h"

#define SYNC_VMXON	0x21
#define SYNC_CLEAR	0x22
#define SYNC_L2		0x23
#define SYNC_LAUNCHED	0x24
#define L2_RESULT	0x77
#define VMCALL_LEN	3

#define HDR_SIZE	((unsigned int)sizeof(struct kvm_nested_state))
#define VMCS12_SIZE	KVM_STATE_NESTED_VMX_VMCS_SIZE

/*
 * Offsets into KVM's vmcs12 (arch/x86/kvm/vmx/vmcs12.h, whose CHECK_OFFSET()s
 * fix the layout so that nested state migrates between KVM versions) and
 * its revision identifier, VMCS12_REVISION.
 */
#define VMCS12_OFF_LAUNCH_STATE		8
#define VMCS12_OFF_GUEST_CR0		424
#define VMCS12_OFF_HOST_CR0		584
#define VMCS12_OFF_PIN_CONTROLS		744
#define VMCS12_OFF_ACTIVITY_STATE	916

static uint32_t vmcs12_u32(const struct kvm_nested_state *st, unsigned int off)
{
	uint32_t v;

	memcpy(&v, st->data.vmx[0].vmcs12 + off, sizeof(v));
	return v;
}

static void vmcs12_set_u32(struct kvm_nested_state *st, unsigned int off, uint32_t v)
{
	memcpy(st->data.vmx[0].vmcs12 + off, &v, sizeof(v));
}

static void vmcs12_clear_u64_bits(struct kvm_nested_state *st, unsigned int off, uint64_t bits)
{
	uint64_t v;

	memcpy(&v, st->data.vmx[0].vmcs12 + off, sizeof(v));
	v &= ~bits;
	memcpy(st->data.vmx[0].vmcs12 + off, &v, sizeof(v));
}

/* ---- L1 and L2 ---- */

static void l2_code(void)
{
	GUEST_SYNC(SYNC_L2);
	guest_nested_hypercall(L2_RESULT);
	guest_nested_hypercall(L2_RESULT + 1);
}

/* L2 exited with VMCALL carrying rax: L1 sees it as such (27.2.1, 27.2.5). */
static void l1_expect_vmcall(struct nested *n, enum nested_exit e, uint64_t rax)
{
	char buf[128];

	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s, expected VMCALL",
		       guest_nested_exit_str(n, buf, sizeof(buf)));
	GUEST_ASSERT_EQ(vmread(VM_EXIT_REASON), EXIT_REASON_VMCALL);
	GUEST_ASSERT_EQ(vmread(VM_EXIT_INSTRUCTION_LEN), VMCALL_LEN);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(n), rax);
}

/*
 * VMXON, a clear current VMCS (SYNC_CLEAR); VMLAUNCH, L2 stops at its
 * ucall (SYNC_L2) and then exits with VMCALL; L1 in root operation with a
 * launched VMCS (SYNC_LAUNCHED); VMRESUME, L2's second VMCALL.  A
 * VMLAUNCH or VMRESUME that fails ends the test naming the VM-instruction
 * error (guest_nested_run()).  A non-zero timer arms the VMX-preemption
 * timer with that value (SDM vol. 3C 25.5.1), far longer than L2 runs.
 */
static void l1_launch(struct nested_pages *p, uint64_t timer)
{
	struct nested n;

	guest_nested_init(&n, p, l2_code);
	if (timer) {
		uint32_t pin = vmx_adjust_controls(MSR_IA32_VMX_PINBASED_CTLS,
						   PIN_BASED_PREEMPTION_TIMER);

		if (!(pin & PIN_BASED_PREEMPTION_TIMER))
			guest_nested_skip_test("IA32_VMX_PINBASED_CTLS does not allow the "
					       "activate VMX-preemption timer control (bit 6)");
		vmwrite(PIN_BASED_VM_EXEC_CONTROL, pin);
		vmwrite(VMX_PREEMPTION_TIMER_VALUE, timer);
	}
	GUEST_SYNC(SYNC_CLEAR, p->vmx.vmxon, p->vmx.vmcs);
	l1_expect_vmcall(&n, guest_nested_run(&n), L2_RESULT);
	guest_nested_skip(&n, VMCALL_LEN);
	GUEST_SYNC(SYNC_LAUNCHED, p->vmx.vmxon, p->vmx.vmcs);
	l1_expect_vmcall(&n, guest_nested_run(&n), L2_RESULT + 1);
	GUEST_DONE();
}

/*
 * VMXON only; at each SYNC the host saves and restores the nested state.
 * Afterwards L1 must still be in VMX root operation with no current VMCS:
 * VMPTRST stores FFFFFFFF_FFFFFFFFH, a second VMXON is VMfailInvalid
 * (SDM vol. 3C 31.3, VMPTRST and VMXON); outside VMX operation both #UD.
 */
static void l1_vmxon_only(struct nested_pages *p)
{
	enum vmx_status s;
	uint64_t pa = 0;
	uint8_t vec = 0;

	s = vmx_enable(&p->vmx, &vec);
	__GUEST_ASSERT(s == VMX_OK, "VMXON: %s, vector %u", vmx_status_name(s), vec);
	for (int i = 0; i < 2; i++) {
		GUEST_SYNC(SYNC_VMXON, p->vmx.vmxon);
		s = __vmptrst(&pa, &vec);
		__GUEST_ASSERT(s == VMX_OK, "VMPTRST after restore %d: %s, vector %u", i,
			       vmx_status_name(s), vec);
		GUEST_ASSERT_EQ(pa, ~0ULL);
		s = __vmxon(p->vmx.vmxon, &vec);
		__GUEST_ASSERT(s == VMX_FAIL_INVALID, "second VMXON after restore %d: %s, "
			       "vector %u; expected VMfailInvalid (in VMX root operation, no "
			       "current VMCS)", i, vmx_status_name(s), vec);
	}
	GUEST_DONE();
}

/* ---- host helpers ---- */

static int nested_state_max(void)
{
	int size = kvm_check_cap(KVM_CAP_NESTED_STATE);

	TEST_ASSERT(size >= (int)(HDR_SIZE + 2 * VMCS12_SIZE),
		    "KVM_CAP_NESTED_STATE %d, below header + vmcs12 + shadow vmcs12 (%u)", size,
		    HDR_SIZE + 2 * VMCS12_SIZE);
	return size;
}

/* KVM_GET_NESTED_STATE after completing the pending ucall OUT (api.rst). */
static struct kvm_nested_state *nested_state_get(struct kvm_vcpu *vcpu, int max)
{
	struct kvm_nested_state *st = calloc(1, max);

	TEST_ASSERT(st, "out of memory");
	vcpu_complete_io(vcpu);
	st->size = max;
	vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
	return st;
}

/* Too small a buffer: E2BIG, and the size the state takes written back. */
static void expect_get_e2big(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
			     int max, unsigned int need)
{
	const unsigned int sizes[] = { 0, 64, HDR_SIZE, need - 1 };
	struct kvm_nested_state *st = calloc(1, max);
	int r;

	ASSERT_NE(st, NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		if (sizes[i] >= need)
			continue;
		memset(st, 0, max);
		st->size = sizes[i];
		errno = 0;
		r = __vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
		EXPECT_EQ(r, -1) TH_LOG("KVM_GET_NESTED_STATE with size %u: accepted; the state "
					"takes %u", sizes[i], need);
		EXPECT_EQ(errno, E2BIG) TH_LOG("KVM_GET_NESTED_STATE with size %u", sizes[i]);
		EXPECT_EQ(st->size, need) TH_LOG("KVM_GET_NESTED_STATE with size %u wrote size %u, "
						 "the state takes %u", sizes[i], st->size, need);
	}
	free(st);
}

/* The state GET returned, set again on the same vCPU. */
static void nested_state_reload(struct kvm_vcpu *vcpu, struct kvm_nested_state *st)
{
	vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, st);
}

/* Move the vCPU, nested state and all, to a new VM made from guest_fn's ELF. */
static struct kvm_vm *move_to_new_vm(struct kvm_vm *vm, struct kvm_vcpu **vcpu,
				     void *guest_fn)
{
	struct vcpu_saved *saved = nested_vcpu_state_save(*vcpu);
	struct kvm_vm *vm2 = vm_create_with_one_vcpu(vcpu, guest_fn);

	vm_memory_copy(vm2, vm);
	nested_vcpu_state_load(*vcpu, saved);
	nested_vcpu_state_free(saved);
	return vm2;
}

/* ---- refusals ---- */

enum bad_set {
	/* Refused before KVM drops the vCPU's nested state: nothing changes. */
	BAD_SIZE_HEADER, BAD_FORMAT_SVM, BAD_FLAGS, BAD_RUN_PENDING_NO_GUEST,
	BAD_VMXON_UNALIGNED, BAD_VMXON_MAXPHYADDR, BAD_VMCS_NO_VMXON,
	BAD_GUEST_MODE_NO_VMXON, BAD_SMM_VMXON, BAD_SMM_GUEST_AND_GUEST,
	BAD_HDR_FLAGS, BAD_EVMCS,
	NR_EARLY,
	/* Refused after it (the vCPU is left out of guest mode). */
	BAD_DATA_SHORT = NR_EARLY, BAD_VMCS_UNALIGNED, BAD_VMCS_MAXPHYADDR,
	BAD_VMCS_IS_VMXON, BAD_REVISION, BAD_PIN_FIXED1, BAD_HOST_CR0_PG,
	BAD_ACTIVITY_STATE, BAD_GUEST_CR0_PG,
	NR_BAD_SETS
};

static const char *const bad_names[NR_BAD_SETS] = {
	[BAD_SIZE_HEADER] = "size below the header",
	[BAD_FORMAT_SVM] = "SVM format on a VMX vCPU",
	[BAD_FLAGS] = "unknown flag 0x80",
	[BAD_RUN_PENDING_NO_GUEST] = "run pending without guest mode",
	[BAD_VMXON_UNALIGNED] = "vmxon_pa not page aligned",
	[BAD_VMXON_MAXPHYADDR] = "vmxon_pa at MAXPHYADDR",
	[BAD_VMCS_NO_VMXON] = "vmcs12_pa without vmxon_pa",
	[BAD_GUEST_MODE_NO_VMXON] = "guest mode without vmxon_pa",
	[BAD_SMM_VMXON] = "smm.flags SMM_VMXON outside SMM",
	[BAD_SMM_GUEST_AND_GUEST] = "smm.flags SMM_GUEST_MODE with guest mode",
	[BAD_HDR_FLAGS] = "unknown hdr.vmx.flags bit 1",
	[BAD_EVMCS] = "EVMCS flag without eVMCS enabled",
	[BAD_DATA_SHORT] = "guest mode, size below header + vmcs12",
	[BAD_VMCS_UNALIGNED] = "vmcs12_pa not page aligned",
	[BAD_VMCS_MAXPHYADDR] = "vmcs12_pa at MAXPHYADDR",
	[BAD_VMCS_IS_VMXON] = "vmcs12_pa equal to vmxon_pa",
	[BAD_REVISION] = "vmcs12 revision not VMCS12_REVISION",
	[BAD_PIN_FIXED1] = "vmcs12 pin-based control bit 1 (fixed 1) clear",
	[BAD_HOST_CR0_PG] = "vmcs12 host CR0.PG=0",
	[BAD_ACTIVITY_STATE] = "vmcs12 guest activity state 5 (reserved)",
	[BAD_GUEST_CR0_PG] = "vmcs12 guest CR0.PG=0 (IA-32e mode guest)",
};

static unsigned int maxphyaddr;	/* the vCPU's CPUID 0x80000008 EAX[7:0] */

static void make_bad(struct kvm_nested_state *st, enum bad_set c)
{
	struct kvm_vmx_nested_state_hdr *h = &st->hdr.vmx;

	switch (c) {
	case BAD_SIZE_HEADER: st->size = HDR_SIZE - 1; break;
	case BAD_FORMAT_SVM: st->format = KVM_STATE_NESTED_FORMAT_SVM; break;
	case BAD_FLAGS: st->flags |= 0x80; break;
	case BAD_RUN_PENDING_NO_GUEST: st->flags = KVM_STATE_NESTED_RUN_PENDING; break;
	case BAD_VMXON_UNALIGNED: h->vmxon_pa += 0x10; break;
	case BAD_VMXON_MAXPHYADDR: h->vmxon_pa = 1ULL << maxphyaddr; break;
	case BAD_VMCS_NO_VMXON: h->vmxon_pa = ~0ULL; st->flags = 0; break;
	case BAD_GUEST_MODE_NO_VMXON: h->vmxon_pa = ~0ULL; h->vmcs12_pa = ~0ULL; break;
	case BAD_SMM_VMXON: h->smm.flags = KVM_STATE_NESTED_SMM_VMXON; break;
	case BAD_SMM_GUEST_AND_GUEST:
		h->smm.flags = KVM_STATE_NESTED_SMM_VMXON | KVM_STATE_NESTED_SMM_GUEST_MODE;
		break;
	case BAD_HDR_FLAGS: h->flags |= 2; break;
	case BAD_EVMCS: st->flags |= KVM_STATE_NESTED_EVMCS; break;
	case BAD_DATA_SHORT: st->size = HDR_SIZE + 64; break;
	case BAD_VMCS_UNALIGNED: h->vmcs12_pa += 0x10; break;
	case BAD_VMCS_MAXPHYADDR: h->vmcs12_pa = 1ULL << maxphyaddr; break;
	case BAD_VMCS_IS_VMXON: h->vmcs12_pa = h->vmxon_pa; break;
	case BAD_REVISION: vmcs12_set_u32(st, 0, vmcs12_u32(st, 0) ^ 1); break;
	case BAD_PIN_FIXED1:
		vmcs12_set_u32(st, VMCS12_OFF_PIN_CONTROLS,
			       vmcs12_u32(st, VMCS12_OFF_PIN_CONTROLS) & ~2u);
		break;
	case BAD_HOST_CR0_PG: vmcs12_clear_u64_bits(st, VMCS12_OFF_HOST_CR0, X86_CR0_PG); break;
	case BAD_ACTIVITY_STATE: vmcs12_set_u32(st, VMCS12_OFF_ACTIVITY_STATE, 5); break;
	case BAD_GUEST_CR0_PG:
		vmcs12_clear_u64_bits(st, VMCS12_OFF_GUEST_CR0, X86_CR0_PG);
		break;
	case NR_BAD_SETS: break;
	}
}

/*
 * With L2 stopped at its ucall: what GET reports, E2BIG for short
 * buffers, every bad_sets[] row refused with EINVAL, and the state GET
 * returned accepted afterwards, L2 carrying on to its VMCALL.
 */
KVM_VCPU_TEST(set_refuses_bad_state, l1_launch)
{
	struct kvm_nested_state *st, *bad, *again;
	const unsigned int need = HDR_SIZE + VMCS12_SIZE;
	struct kvm_cpuid2 *cpuid;
	uint64_t vmxon_pa, vmcs_pa;
	struct ucall uc;
	int max, r;

	TEST_REQUIRE_VMX();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	max = nested_state_max();
	cpuid = vcpu_get_cpuid(vcpu);
	maxphyaddr = cpuid_find_entry(cpuid, 0x80000008, 0)->eax & 0xff;
	free(cpuid);
	vcpu_args_set(vcpu, 2, nested_alloc(vm), 0);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], SYNC_CLEAR);
	vmxon_pa = uc.args[1];
	vmcs_pa = uc.args[2];
	vcpu_run_expect_sync(vcpu, SYNC_L2);

	st = nested_state_get(vcpu, max);
	EXPECT_EQ(st->format, KVM_STATE_NESTED_FORMAT_VMX);
	EXPECT_EQ(st->flags, KVM_STATE_NESTED_GUEST_MODE)
		TH_LOG("flags %#x: expected guest mode alone", st->flags);
	EXPECT_EQ(st->size, need);
	EXPECT_EQ(st->hdr.vmx.vmxon_pa, vmxon_pa);
	EXPECT_EQ(st->hdr.vmx.vmcs12_pa, vmcs_pa);
	EXPECT_EQ(st->hdr.vmx.smm.flags, 0);
	expect_get_e2big(_metadata, vcpu, max, need);

	bad = calloc(1, max);
	again = calloc(1, max);
	ASSERT_TRUE(bad && again);
	for (int c = 0; c < NR_BAD_SETS; c++) {
		memcpy(bad, st, max);
		make_bad(bad, c);
		errno = 0;
		r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, bad);
		EXPECT_EQ(r, -1) TH_LOG("KVM_SET_NESTED_STATE with %s: returned %d, expected "
					"EINVAL (flags %#x vmxon_pa %#llx vmcs12_pa %#llx smm %#x)",
					bad_names[c], r, bad->flags,
					(unsigned long long)bad->hdr.vmx.vmxon_pa,
					(unsigned long long)bad->hdr.vmx.vmcs12_pa,
					bad->hdr.vmx.smm.flags);
		EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_SET_NESTED_STATE with %s: errno %d (%s)",
						bad_names[c], errno, strerror(errno));
		if (r != -1) {
			/* Taken: back to the saved state, so the next rows start from it. */
			__vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, st);
			continue;
		}
		if (c >= NR_EARLY)
			continue;
		memset(again, 0, max);
		again->size = max;
		vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, again);
		EXPECT_EQ(memcmp(again, st, need), 0)
			TH_LOG("the refused SET (%s) changed the nested state: flags %#x "
			       "vmxon_pa %#llx vmcs12_pa %#llx", bad_names[c], again->flags,
			       (unsigned long long)again->hdr.vmx.vmxon_pa,
			       (unsigned long long)again->hdr.vmx.vmcs12_pa);
	}

	/* The state KVM gave is accepted, and L2 goes on to its VMCALL. */
	nested_state_reload(vcpu, st);
	vcpu_run_expect_sync(vcpu, SYNC_LAUNCHED);
	free(st);
	free(bad);
	free(again);
}

/* ---- what survives ---- */

/*
 * After VMXON alone: GET says VMX operation, no VMCS, no guest mode, in
 * the header alone.  Restored on the same vCPU, then moved to a new VM,
 * L1 is still in VMX root operation with no current VMCS each time.
 */
KVM_VCPU_TEST(vmxon_only_survives, l1_vmxon_only)
{
	struct kvm_nested_state *st;
	struct ucall uc;
	int max;

	TEST_REQUIRE_VMX();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	max = nested_state_max();
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], SYNC_VMXON);

	st = nested_state_get(vcpu, max);
	EXPECT_EQ(st->format, KVM_STATE_NESTED_FORMAT_VMX);
	EXPECT_EQ(st->flags, 0) TH_LOG("flags %#x outside guest mode", st->flags);
	EXPECT_EQ(st->size, HDR_SIZE) TH_LOG("no current VMCS: the header alone");
	EXPECT_EQ(st->hdr.vmx.vmxon_pa, uc.args[1]);
	EXPECT_EQ(st->hdr.vmx.vmcs12_pa, ~0ULL) TH_LOG("no VMPTRLD yet");
	expect_get_e2big(_metadata, vcpu, max, HDR_SIZE);
	nested_state_reload(vcpu, st);
	free(st);
	vcpu_run_expect_sync(vcpu, SYNC_VMXON);

	vm = move_to_new_vm(vm, &vcpu, l1_vmxon_only);
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm);
}

/*
 * The current VMCS and its launch state: restored on the same vCPU while
 * clear (VMLAUNCH must then succeed) and while launched (VMRESUME must
 * then succeed), and L2, stopped at its ucall, moved to a new VM where
 * its VMCALL reaches L1.
 */
KVM_VCPU_TEST(launch_state_survives, l1_launch)
{
	struct kvm_nested_state *st;
	struct kvm_vm *vm2;
	struct ucall uc;
	int max;

	TEST_REQUIRE_VMX();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	max = nested_state_max();
	vcpu_args_set(vcpu, 2, nested_alloc(vm), 0);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], SYNC_CLEAR);

	st = nested_state_get(vcpu, max);
	EXPECT_EQ(st->flags, 0);
	EXPECT_EQ(st->size, HDR_SIZE + VMCS12_SIZE);
	EXPECT_EQ(st->hdr.vmx.vmcs12_pa, uc.args[2]);
	EXPECT_EQ(vmcs12_u32(st, VMCS12_OFF_LAUNCH_STATE), 0) TH_LOG("before VMLAUNCH");
	nested_state_reload(vcpu, st);
	free(st);

	/* VMLAUNCH succeeded if L2 runs; moved to a new VM in L2. */
	vcpu_run_expect_sync(vcpu, SYNC_L2);
	vm2 = move_to_new_vm(vm, &vcpu, l1_launch);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], SYNC_LAUNCHED);

	st = nested_state_get(vcpu, max);
	EXPECT_EQ(st->flags, 0);
	EXPECT_EQ(st->hdr.vmx.vmcs12_pa, uc.args[2]);
	EXPECT_EQ(vmcs12_u32(st, VMCS12_OFF_LAUNCH_STATE), 1) TH_LOG("after VMLAUNCH");
	nested_state_reload(vcpu, st);
	free(st);
	/* VMRESUME must succeed: L1 reports its failure with the VM-instruction error. */
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm2);
}

/*
 * L2 stopped at its ucall with the VMX-preemption timer armed: GET
 * reports the deadline KVM computed at VM entry (api.rst,
 * KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE), and a restore on the same vCPU
 * and a move to a new VM keep that deadline instead of starting the
 * timer afresh from its initial value.  L2 then carries on to its VMCALLs.
 */
KVM_VCPU_TEST(preemption_timer_deadline_survives, l1_launch)
{
	const uint32_t dl = KVM_STATE_VMX_PREEMPTION_TIMER_DEADLINE;
	struct kvm_nested_state *st, *again;
	struct kvm_vm *vm2;
	struct ucall uc;
	int max;

	TEST_REQUIRE_VMX();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	max = nested_state_max();
	vcpu_args_set(vcpu, 2, nested_alloc(vm), 0xffffffffULL);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	if (uc.args[0] == NESTED_SKIP_SYNC)
		SKIP(return, "%s", (const char *)addr_gva2hva(vm, uc.args[1]));
	ASSERT_EQ(uc.args[0], SYNC_CLEAR);
	vcpu_run_expect_sync(vcpu, SYNC_L2);

	st = nested_state_get(vcpu, max);
	ASSERT_EQ(st->flags & KVM_STATE_NESTED_GUEST_MODE, KVM_STATE_NESTED_GUEST_MODE);
	ASSERT_EQ(st->hdr.vmx.flags & dl, dl)
		TH_LOG("L2 runs with the preemption timer armed; hdr.vmx.flags %#x",
		       st->hdr.vmx.flags);
	EXPECT_NE(st->hdr.vmx.preemption_timer_deadline, 0);
	nested_state_reload(vcpu, st);
	again = nested_state_get(vcpu, max);
	EXPECT_EQ(again->hdr.vmx.flags & dl, dl) TH_LOG("after the restore on the same vCPU");
	EXPECT_EQ(again->hdr.vmx.preemption_timer_deadline, st->hdr.vmx.preemption_timer_deadline)
		TH_LOG("deadline after the restore on the same vCPU");
	free(again);

	vm2 = move_to_new_vm(vm, &vcpu, l1_launch);
	again = nested_state_get(vcpu, max);
	EXPECT_EQ(again->hdr.vmx.flags & dl, dl) TH_LOG("in the new VM");
	EXPECT_EQ(again->hdr.vmx.preemption_timer_deadline, st->hdr.vmx.preemption_timer_deadline)
		TH_LOG("deadline in the new VM");
	free(again);
	free(st);
	vcpu_run_expect_sync(vcpu, SYNC_LAUNCHED);
	vcpu_run_expect_done(vcpu);
	kvm_vm_free(vm2);
}

TEST_HARNESS_MAIN

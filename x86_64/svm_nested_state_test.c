// SPDX-License-Identifier: GPL-2.0-only
/*
 * KVM_GET_NESTED_STATE / KVM_SET_NESTED_STATE in the SVM format while L2
 * runs (Documentation/virt/kvm/api.rst, "KVM_GET_NESTED_STATE" and
 * "KVM_SET_NESTED_STATE"; SKIPs unless KVM offers SVM, kvm_amd nested=1):
 *
 *  - GET reports guest mode and GIF set, the guest-physical address of
 *    L1's VMCB (hdr.svm.vmcb_pa) and, in data.svm, VMCB12's control area
 *    and L1's own state as VMRUN saved it (CR0, CR3, CR4, EFER equal to
 *    what KVM_GET_SREGS showed for L1 just before its VMRUN);
 *  - GET into a buffer smaller than the state (0, or the header alone in
 *    guest mode) fails with E2BIG and "the size required will be written
 *    into size" (api.rst, KVM_GET_NESTED_STATE): header + VMCB in guest
 *    mode;
 *  - SET refuses (EINVAL) a state that no VMRUN could have produced, and
 *    leaves the vCPU as it was: a size below the header, or in guest mode
 *    below header + VMCB, the VMX format, run pending without guest mode,
 *    a vmcb_pa not page aligned or at MAXPHYADDR (VMRUN's rAX must be a
 *    page-aligned legal address, APM 15.5.1), unknown flags, a control
 *    area that fails the VMRUN checks (VMRUN intercept clear, ASID 0; AMD
 *    APM vol. 2 15.5.1), and saved L1 state that fails them: the APM has #VMEXIT apply
 *    the same consistency checks to the host state (15.5.1, "#VMEXIT
 *    performs the appropriate subset of these consistency checks on host
 *    state"): CR0.PG=0, EFER.SVME=0, CR0.CD=0 with NW=1, CR0[63:32],
 *    a reserved CR4 bit, DR7[63:32];
 *  - after the refused SETs, SET of the state GET returned is accepted and
 *    L2 carries on to its exit to L1;
 *  - a vCPU with EFER.SVME clear accepts only "no guest mode, GIF set":
 *    guest mode or GIF clear is EINVAL, and the vCPU then runs its L1.
 * The idea of upstream's x86_64/vmx_set_nested_state_test.c, for SVM.
 *
 * Caught bugs: bugs/nested-svm-set-nested-state-l1-save-unchecked.patch,
 * bugs/nested-svm-vmrun-efer-svme.patch,
 * bugs/nested-svm-set-nested-state-vmcb-pa-unaligned.patch
 */
#include "kvm_test_harness.h"
#include "guest/nested.h"
#include "nested.h"

#define SYNC_L1		0x11
#define SYNC_L2		0x12
#define L2_RESULT	0x77

static void l2_sync_then_exit(void)
{
	GUEST_SYNC(SYNC_L2);
	guest_nested_hypercall(L2_RESULT);
}

static void l1_code(struct nested_pages *p)
{
	struct nested n;
	enum nested_exit e;

	guest_nested_init(&n, p, l2_sync_then_exit);
	GUEST_SYNC(SYNC_L1, p->svm.vmcb);
	e = guest_nested_run(&n);
	__GUEST_ASSERT(e == NESTED_EXIT_HYPERCALL, "exit %s (raw 0x%lx), expected a hypercall",
		       guest_nested_exit_name(e), n.raw_exit);
	GUEST_ASSERT_EQ(guest_nested_l2_rax(&n), L2_RESULT);
	GUEST_DONE();
}

enum bad_case {
	BAD_SIZE_HEADER, BAD_SIZE_NO_VMCB, BAD_FORMAT_VMX, BAD_RUN_PENDING_NO_GUEST,
	BAD_VMCB_PA_UNALIGNED, BAD_VMCB_PA_MAXPHYADDR, BAD_FLAGS, BAD_CTL_NO_VMRUN_INT,
	BAD_CTL_ASID0, BAD_L1_CR0_PG, BAD_L1_SVME,
	BAD_L1_CD_NW, BAD_L1_CR0_HIGH, BAD_L1_CR4_RSVD, BAD_L1_DR7_HIGH, NR_BAD_CASES
};

static const char *const bad_names[] = {
	"size below the header", "guest mode, size below header + VMCB",
	"format VMX on an SVM vCPU", "run pending without guest mode",
	"vmcb_pa not page aligned", "vmcb_pa at MAXPHYADDR", "unknown flag 0x80",
	"VMCB12 VMRUN intercept clear", "VMCB12 ASID 0",
	"L1 CR0.PG=0", "L1 EFER.SVME=0", "L1 CR0.CD=0 NW=1", "L1 CR0[63:32]!=0",
	"L1 CR4 bit 63 (reserved)", "L1 DR7[63:32]!=0",
};

static unsigned int maxphyaddr;	/* the vCPU's CPUID 0x80000008 EAX[7:0] */

static void make_bad(struct kvm_nested_state *st, enum bad_case c)
{
	struct vmcb *v = (struct vmcb *)st->data.svm[0].vmcb12;

	switch (c) {
	case BAD_SIZE_HEADER: st->size = sizeof(*st) - 1; break;
	case BAD_SIZE_NO_VMCB: st->size = sizeof(*st) + KVM_STATE_NESTED_SVM_VMCB_SIZE - 1; break;
	case BAD_FORMAT_VMX: st->format = KVM_STATE_NESTED_FORMAT_VMX; break;
	case BAD_RUN_PENDING_NO_GUEST:
		st->flags = KVM_STATE_NESTED_RUN_PENDING | KVM_STATE_NESTED_GIF_SET;
		break;
	case BAD_VMCB_PA_UNALIGNED: st->hdr.svm.vmcb_pa += 0x10; break;
	case BAD_VMCB_PA_MAXPHYADDR: st->hdr.svm.vmcb_pa = 1ULL << maxphyaddr; break;
	case BAD_FLAGS: st->flags |= 0x80; break;
	case BAD_CTL_NO_VMRUN_INT: v->control.intercept_misc2 &= ~SVM_INTERCEPT2_VMRUN; break;
	case BAD_CTL_ASID0: v->control.asid = 0; break;
	case BAD_L1_CR0_PG: v->save.cr0 &= ~X86_CR0_PG; break;
	case BAD_L1_SVME: v->save.efer &= ~EFER_SVME; break;
	case BAD_L1_CD_NW: v->save.cr0 = (v->save.cr0 & ~X86_CR0_CD) | X86_CR0_NW; break;
	case BAD_L1_CR0_HIGH: v->save.cr0 |= 1ULL << 40; break;
	case BAD_L1_CR4_RSVD: v->save.cr4 |= 1ULL << 63; break;
	case BAD_L1_DR7_HIGH: v->save.dr7 |= 1ULL << 32; break;
	case NR_BAD_CASES: break;
	}
}

KVM_VCPU_TEST(svm_nested_state_checked_and_restored, l1_code)
{
	struct kvm_nested_state *st, *bad, *again;
	struct kvm_cpuid2 *cpuid;
	struct kvm_sregs l1;
	struct vmcb *v;
	struct ucall uc;
	uint64_t vmcb_gpa;
	int size, r;

	TEST_REQUIRE_SVM();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	ASSERT_GE(size, (int)(sizeof(*st) + KVM_STATE_NESTED_SVM_VMCB_SIZE));

	cpuid = vcpu_get_cpuid(vcpu);
	maxphyaddr = cpuid_find_entry(cpuid, 0x80000008, 0)->eax & 0xff;
	free(cpuid);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], SYNC_L1);
	vmcb_gpa = uc.args[1];
	vcpu_sregs_get(vcpu, &l1);
	vcpu_run_expect_sync(vcpu, SYNC_L2);

	st = calloc(1, size);
	bad = calloc(1, size);
	again = calloc(1, size);
	ASSERT_TRUE(st && bad && again);
	st->size = size;
	vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
	v = (struct vmcb *)st->data.svm[0].vmcb12;
	EXPECT_EQ(st->format, KVM_STATE_NESTED_FORMAT_SVM);
	EXPECT_EQ(st->flags, KVM_STATE_NESTED_GUEST_MODE | KVM_STATE_NESTED_GIF_SET)
		TH_LOG("flags %#x: expected guest mode and GIF set, no run pending", st->flags);
	EXPECT_EQ(st->size, sizeof(*st) + KVM_STATE_NESTED_SVM_VMCB_SIZE);
	EXPECT_EQ(st->hdr.svm.vmcb_pa, vmcb_gpa);
	EXPECT_NE(v->control.intercept_misc2 & SVM_INTERCEPT2_VMRUN, 0);
	EXPECT_EQ(v->control.asid, 1);
	/* The saved L1 state is L1's, as it was when it ran VMRUN. */
	EXPECT_EQ(v->save.cr0, l1.cr0);
	EXPECT_EQ(v->save.cr3, l1.cr3);
	EXPECT_EQ(v->save.cr4, l1.cr4);
	EXPECT_EQ(v->save.efer, l1.efer);

	for (int c = 0; c < NR_BAD_CASES; c++) {
		memcpy(bad, st, size);
		make_bad(bad, c);
		errno = 0;
		r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, bad);
		EXPECT_EQ(r, -1) TH_LOG("KVM_SET_NESTED_STATE with %s: accepted, expected EINVAL "
					"(L1 CR0 %#llx CR4 %#llx EFER %#llx DR7 %#llx)", bad_names[c],
					(unsigned long long)((struct vmcb *)bad->data.svm[0].vmcb12)->save.cr0,
					(unsigned long long)((struct vmcb *)bad->data.svm[0].vmcb12)->save.cr4,
					(unsigned long long)((struct vmcb *)bad->data.svm[0].vmcb12)->save.efer,
					(unsigned long long)((struct vmcb *)bad->data.svm[0].vmcb12)->save.dr7);
		EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_SET_NESTED_STATE with %s: errno %d",
						bad_names[c], errno);
		if (r == -1) {
			/* Refused: nothing changed. */
			memset(again, 0, size);
			again->size = size;
			vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, again);
			EXPECT_EQ(memcmp(again, st, size), 0)
				TH_LOG("the refused SET (%s) changed the nested state", bad_names[c]);
		}
	}

	/* The state KVM gave is accepted, and L2 goes on to its exit to L1. */
	vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, st);
	vcpu_run_expect_done(vcpu);

	/*
	 * A vCPU whose EFER.SVME is clear (before its L1 set it) takes only
	 * "no guest mode, GIF set": guest mode and GIF clear both need SVME
	 * (VMRUN and CLGI #UD without it, APM 15.4), so they are EINVAL; the
	 * refusals leave it able to run its L1.
	 */
	vcpu = vm_vcpu_add(vm, 1, l1_code);
	vcpu_sregs_get(vcpu, &l1);
	ASSERT_EQ(l1.efer & EFER_SVME, 0);
	for (int c = 0; c < 2; c++) {
		memcpy(bad, st, size);
		if (c)
			bad->flags = 0;		/* GIF clear, no guest mode */
		errno = 0;
		r = __vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, bad);
		EXPECT_EQ(r, -1) TH_LOG("KVM_SET_NESTED_STATE flags %#x with EFER.SVME=0: accepted",
					bad->flags);
		EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_SET_NESTED_STATE flags %#x with EFER.SVME=0",
						bad->flags);
	}
	bad->flags = KVM_STATE_NESTED_GIF_SET;
	bad->size = sizeof(*bad);
	vcpu_ioctl(vcpu, KVM_SET_NESTED_STATE, bad);
	memset(again, 0, size);
	again->size = size;
	vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, again);
	EXPECT_EQ(again->flags, KVM_STATE_NESTED_GIF_SET);
	EXPECT_EQ(again->size, sizeof(*again));
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], SYNC_L1);
	free(st);
	free(bad);
	free(again);
}

/*
 * Too small a buffer for GET while L2 runs: E2BIG, and the size the state
 * takes written into size, whatever the buffer's size was.
 */
KVM_VCPU_TEST(get_too_small_writes_the_size_required, l1_code)
{
	const unsigned int need = sizeof(struct kvm_nested_state) + KVM_STATE_NESTED_SVM_VMCB_SIZE;
	const unsigned int sizes[] = { 0, 64, sizeof(struct kvm_nested_state), need - 1 };
	struct kvm_nested_state *st;
	struct ucall uc;
	int size, r;

	TEST_REQUIRE_SVM();
	TEST_REQUIRE_CAP(KVM_CAP_NESTED_STATE);
	size = kvm_check_cap(KVM_CAP_NESTED_STATE);
	ASSERT_GE(size, (int)need);
	vcpu_args_set(vcpu, 1, nested_alloc(vm));
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	ASSERT_EQ(uc.args[0], SYNC_L1);
	vcpu_run_expect_sync(vcpu, SYNC_L2);

	st = calloc(1, size);
	ASSERT_TRUE(st != NULL);
	for (unsigned int i = 0; i < ARRAY_SIZE(sizes); i++) {
		memset(st, 0, size);
		st->size = sizes[i];
		errno = 0;
		r = __vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
		EXPECT_EQ(r, -1) TH_LOG("KVM_GET_NESTED_STATE with size %u in guest mode", sizes[i]);
		EXPECT_EQ(errno, E2BIG) TH_LOG("KVM_GET_NESTED_STATE with size %u", sizes[i]);
		EXPECT_EQ(st->size, need)
			TH_LOG("KVM_GET_NESTED_STATE with size %u in guest mode wrote size %u; the "
			       "state takes %u (header + VMCB)", sizes[i], st->size, need);
	}
	/* And with the size it asked for, GET succeeds and L2 runs on. */
	st->size = size;
	vcpu_ioctl(vcpu, KVM_GET_NESTED_STATE, st);
	EXPECT_EQ(st->size, need);
	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_DONE);
	free(st);
}

TEST_HARNESS_MAIN

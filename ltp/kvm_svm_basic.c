// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP's SVM helpers (include/kvm_x86_svm.h, the API of LTP's kvm_svm0x
 * tests): kvm_init_svm() sets EFER.SVME (APM vol. 2 15.4), a vCPU from
 * kvm_create_svm_vcpu() runs its guest_main() in L2 on its own stack and
 * ends in an intercepted HLT with the return value in RAX (#VMEXIT code
 * 0x78, APM appendix C); kvm_svm_vmrun() passes cpu->regs to L2 and back;
 * kvm_vmcb_set_intercept(SVM_INTERCEPT_VMSAVE) makes L2's VMSAVE exit
 * (0x83, APM 15.5.1 and B-1); L1's VMLOAD and VMSAVE move FS with a null
 * selector and its base (APM 15.5.2).  Without SVM it is a TCONF (SKIP):
 * the Intel lane.  An LTP-form test (include/kvm_test.h).
 *
 * Caught bugs: bugs/nested-svm-vmloadsave-null-selector-skipped.patch
 * (as LTP's own kvm_svm04 does, Documentation/ltp-api.md).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

#include "kvm_x86_svm.h"

#define RBX_IN		0x1122334455ULL

static int l2_sum(void)
{
	volatile int a[100];
	int sum = 0;

	for (int i = 0; i < 100; i++)
		a[i] = i;
	for (int i = 0; i < 100; i++)
		sum += a[i];
	return sum;	/* 4950 */
}

static int l2_reads_rbx(void)
{
	uint64_t rbx;

	asm volatile("mov %%rbx, %0" : "=r"(rbx));
	return rbx == RBX_IN ? 7 : 8;
}

static int l2_vmsave(void)
{
	asm volatile("vmsave %%rax" :: "a"(0x100000UL) : "memory");
	return 0;
}

static struct kvm_svm_vcpu *run(int (*fn)(void), unsigned int intercept)
{
	struct kvm_svm_vcpu *cpu = kvm_create_svm_vcpu(fn, 1);

	if (intercept)
		kvm_vmcb_set_intercept(cpu->vmcb, intercept, 1);
	cpu->regs.rbx = RBX_IN;
	kvm_svm_vmrun(cpu);
	return cpu;
}

/*
 * kvm_svm_vmload()/kvm_svm_vmsave() in L1: FS with a null selector and a
 * base still moves (APM 15.5.2: FS, GS, TR, LDTR with their hidden state;
 * in 64-bit mode a null FS has a base, APM 4.5.3).  The rest of L1's state
 * is VMLOADed back as VMSAVE found it.
 */
#define NULL_FS_BASE	0x12345000UL

static void vmload_null_fs(void)
{
	struct kvm_vmcb *orig = kvm_alloc_vmcb(), *buf = kvm_alloc_vmcb();
	struct kvm_vmcb *saved = kvm_alloc_vmcb();
	uint64_t fs_base;

	kvm_svm_vmsave(orig);
	memcpy(buf, orig, sizeof(*buf));
	memzero(&buf->fs, sizeof(buf->fs));
	buf->fs.base = NULL_FS_BASE;
	kvm_svm_vmload(buf);
	fs_base = kvm_rdmsr(MSR_FS_BASE);
	kvm_svm_vmsave(saved);
	kvm_svm_vmload(orig);
	if (fs_base != NULL_FS_BASE || saved->fs.selector || saved->fs.base != NULL_FS_BASE)
		tst_res(TFAIL, "VMLOAD of FS (selector 0, base 0x%lx): FS_BASE 0x%lx; VMSAVE "
			"after it: FS selector 0x%x base 0x%lx", NULL_FS_BASE, fs_base,
			saved->fs.selector, saved->fs.base);
	else
		tst_res(TPASS, "VMLOAD/VMSAVE move FS with a null selector and its base");
}

void main(void)
{
	struct kvm_svm_vcpu *cpu;

	kvm_init_svm();
	if (!kvm_get_svm_state())
		tst_res(TFAIL, "EFER.SVME clear after kvm_init_svm()");

	vmload_null_fs();

	cpu = run(l2_sum, 0);
	if (cpu->vmcb->exitcode != SVM_EXIT_HLT || cpu->vmcb->rax != 4950 ||
	    cpu->regs.rax != 4950)
		tst_res(TFAIL, "L2 guest_main: exit 0x%lx, VMCB RAX %lu, regs.rax %lu; expected "
			"HLT (0x78) and 4950", cpu->vmcb->exitcode, cpu->vmcb->rax, cpu->regs.rax);
	else
		tst_res(TPASS, "L2 ran guest_main on its stack and returned 4950 in RAX at HLT");

	cpu = run(l2_reads_rbx, 0);
	if (cpu->vmcb->exitcode != SVM_EXIT_HLT || cpu->vmcb->rax != 7 ||
	    cpu->regs.rbx != RBX_IN)
		tst_res(TFAIL, "regs: exit 0x%lx, L2 said %lu (7: saw RBX), regs.rbx after 0x%lx",
			cpu->vmcb->exitcode, cpu->vmcb->rax, cpu->regs.rbx);
	else
		tst_res(TPASS, "cpu->regs.rbx reached L2 and came back");

	cpu = run(l2_vmsave, SVM_INTERCEPT_VMSAVE);
	if (cpu->vmcb->exitcode != SVM_EXIT_VMSAVE)
		tst_res(TFAIL, "intercepted VMSAVE in L2: exit 0x%lx, expected 0x83",
			cpu->vmcb->exitcode);
	else
		tst_res(TPASS, "kvm_vmcb_set_intercept(SVM_INTERCEPT_VMSAVE): L2's VMSAVE exits");
}

#else /* COMPILE_PAYLOAD */

static struct tst_test test = {
	.test_all = tst_kvm_run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
	.supported_archs = (const char *const []) {
		"x86_64",
		NULL
	},
};

#endif /* COMPILE_PAYLOAD */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The exception frame a handler gets: faults report the faulting
 * instruction, traps the next one (SDM vol. 3A 6.5); #GP for a
 * non-canonical address has error code 0 (6.15, interrupt 13); a #PF
 * reports its error code and CR2 (4.7).  Checked through the LTP-style
 * API's tst_set_interrupt_callback(): a callback gets the vector's frame
 * and error code, and the guest resumes where the callback points
 * ifrm->eip (return 0).  A non-zero return, or a vector whose callback was
 * removed with NULL, ends the run with TBROK.
 */
#include "tst_test.h"

struct hit {
	unsigned int count;
	uintptr_t eip;
	unsigned long errcode;
	uint64_t cr2;
	uintptr_t resume;	/* where the callback sends the guest */
};

static int record(void *userdata, struct kvm_interrupt_frame *ifrm, unsigned long errcode)
{
	struct hit *h = userdata;
	struct kvm_cregs cr;

	kvm_read_cregs(&cr);
	h->count++;
	h->eip = kvm_get_interrupt_ip(ifrm);
	h->errcode = errcode;
	h->cr2 = cr.cr2;
	ifrm->eip = h->resume;
	return 0;
}

/*
 * Run one faulting instruction between labels 1 (the instruction) and 2
 * (the resume point), with a callback for vector installed around it.
 */
#define RUN_FAULT(vector, h, insn, ...) do {					\
	uintptr_t __at;								\
										\
	tst_set_interrupt_callback(vector, record, &(h));			\
	asm volatile("lea 2f(%%rip), %%r11\n\t"					\
		     "mov %%r11, %[resume]\n\t"					\
		     "lea 1f(%%rip), %[at]\n\t"					\
		     "1: " insn "\n\t"						\
		     "2:"							\
		     : [resume] "=m"((h).resume), [at] "=&r"(__at)		\
		     : __VA_ARGS__ : "r11", "rdx", "memory");			\
	tst_set_interrupt_callback(vector, NULL, NULL);				\
	check_hit(#vector, &(h), __at);						\
} while (0)

static void check_hit(const char *name, const struct hit *h, uintptr_t at)
{
	if (h->count != 1)
		tst_res(TFAIL, "%s: callback ran %u times, expected once", name, h->count);
	else if (h->eip != at)
		tst_res(TFAIL, "%s: frame RIP 0x%lx, the faulting instruction is at 0x%lx",
			name, h->eip, at);
	else
		tst_res(TPASS, "%s: callback saw RIP 0x%lx, error code 0x%lx; resumed", name,
			h->eip, h->errcode);
}

static void guest_faults(void)
{
	struct hit de = { 0 }, ud = { 0 }, gp = { 0 }, pf = { 0 };
	uint64_t noncanonical = 0x8000000000000000ULL;

	RUN_FAULT(DE_VECTOR, de, "divb %%cl", "a"(1), "c"(0));
	RUN_FAULT(UD_VECTOR, ud, "ud2", "i"(0));
	/* A non-canonical address is #GP(0) (SDM vol. 3A 6.15, interrupt 13). */
	RUN_FAULT(GP_VECTOR, gp, "mov (%[p]), %%rdx", [p] "r"(noncanonical));
	if (gp.errcode)
		tst_res(TFAIL, "#GP error code 0x%lx, expected 0", gp.errcode);
	/* Page 0 is not present: #PF, error code 0 (read, supervisor), CR2 0. */
	RUN_FAULT(PF_VECTOR, pf, "mov 0x10, %%rdx", "i"(0));
	if (pf.errcode != 0 || pf.cr2 != 0x10)
		tst_res(TFAIL, "#PF error code 0x%lx CR2 0x%lx, expected 0 and 0x10",
			pf.errcode, pf.cr2);
}

TST_KVM_TEST(callbacks_resume_after_faults, guest_faults)

#define RO_VA	0x300000000ULL	/* mapped present, R/W=0, by the host */

/*
 * A write to a present read-only page (CR0.WP=1): #PF with error code
 * P=1 W/R=1 (0x3) and CR2 the address (SDM vol. 3A 4.7), seen by the
 * callback; the write does not happen.
 */
static void guest_write_protect_fault(void)
{
	struct hit pf = { 0 };
	uint64_t target = RO_VA + 0x18;
	uint64_t before = *(volatile uint64_t *)target;

	RUN_FAULT(PF_VECTOR, pf, "movq $0x5a5a, (%[p])", [p] "r"(target));
	if (pf.errcode != 0x3 || pf.cr2 != target)
		tst_res(TFAIL, "#PF error code 0x%lx CR2 0x%lx, expected 0x3 (P|W) and 0x%lx",
			pf.errcode, pf.cr2, target);
	if (*(volatile uint64_t *)target != before)
		tst_res(TFAIL, "the faulting write changed 0x%lx to 0x%lx", before,
			*(volatile uint64_t *)target);
}

KVM_TEST(callback_sees_write_protect_error_code)
{
	struct tst_kvm_instance inst = { .guest_main = guest_write_protect_fault };
	struct tst_kvm_summary sum = { 0 };
	uint64_t page;

	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
	page = vm_phys_alloc(inst.vm, 1);
	((uint64_t *)addr_gpa2hva(inst.vm, page))[3] = 0x1234;
	virt_map(inst.vm, RO_VA, page, PAGE_SIZE, PTE_PRESENT);
	tst_kvm_run_instance_sum(&inst, 0, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, NULL), KSFT_PASS) TH_LOG("%s", sum.first_problem);
	EXPECT_EQ(sum.counts[tst_result_index(TPASS)], 1);
	EXPECT_EQ(((uint64_t *)addr_gpa2hva(inst.vm, page))[3], 0x1234);
	tst_kvm_destroy_instance(&inst);
}

static void guest_breakpoint(void)
{
	struct hit bp = { 0 };
	uintptr_t after;

	tst_set_interrupt_callback(BP_VECTOR, record, &bp);
	/* #BP is a trap: the frame points after INT3, and that is where we resume. */
	asm volatile("lea 2f(%%rip), %0\n\t"
		     "mov %0, %1\n\t"
		     "int3\n\t"
		     "2:" : "=&r"(after), "=m"(bp.resume) :: "memory");
	tst_set_interrupt_callback(BP_VECTOR, NULL, NULL);
	if (bp.count == 1 && bp.eip == after)
		tst_res(TPASS, "#BP: trap frame RIP 0x%lx is after INT3", bp.eip);
	else
		tst_res(TFAIL, "#BP: callback ran %u times, RIP 0x%lx, expected 0x%lx", bp.count,
			bp.eip, after);
}

TST_KVM_TEST(breakpoint_callback_sees_trap_rip, guest_breakpoint)

static int refuse(void *userdata, struct kvm_interrupt_frame *ifrm, unsigned long errcode)
{
	return 1;
}

static void guest_refusing_callback(void)
{
	tst_set_interrupt_callback(UD_VECTOR, refuse, NULL);
	asm volatile("ud2");
	tst_res(TFAIL, "resumed after a callback returned non-zero");
}

static void guest_removed_callback(void)
{
	struct hit h = { 0 };

	tst_set_interrupt_callback(UD_VECTOR, record, &h);
	tst_set_interrupt_callback(UD_VECTOR, NULL, NULL);
	asm volatile("ud2");
	tst_res(TFAIL, "resumed after #UD with the callback removed");
}

/* Non-zero from a callback, or no callback at all, is fatal: TBROK, no resume. */
KVM_TEST(refused_or_removed_callback_is_fatal)
{
	struct tst_kvm_summary sum;
	const char *reason;

	tst_kvm_run_test(guest_refusing_callback, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
	EXPECT_EQ(sum.counts[tst_result_index(TFAIL)], 0);
	EXPECT_NE(strstr(reason, "BROKEN: "), NULL) TH_LOG("%s", reason);
	EXPECT_NE(strstr(reason, "Unhandled interrupt 6"), NULL) TH_LOG("%s", reason);

	tst_kvm_run_test(guest_removed_callback, &sum);
	EXPECT_EQ(tst_kvm_verdict(&sum, &reason), KSFT_FAIL);
	EXPECT_EQ(sum.counts[tst_result_index(TFAIL)], 0);
	EXPECT_NE(strstr(reason, "Unhandled exception #UD (vector 6)"), NULL) TH_LOG("%s", reason);
}

TST_KVM_MAIN

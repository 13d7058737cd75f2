// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal SVM hypervisor for L1 guest code (AMD APM vol. 2 chapter 15):
 * a VMCB that starts L2 with L1's own execution state on a separate stack,
 * VMRUN with L2's registers, and the bitmaps.
 */
#include <stdbool.h>

#include "guest/gprs_asm.h"
#include "guest/guest.h"
#include "guest/svm.h"

const char *svm_exit_name(uint64_t code)
{
	static const char *const excp[32] = {
		"#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS",
		"#NP", "#SS", "#GP", "#PF", "excp15", "#MF", "#AC", "#MC", "#XM", "#VE",
		"#CP",
	};

	if (code >= SVM_EXIT_EXCP_BASE && code < SVM_EXIT_EXCP_BASE + 32)
		return excp[code - SVM_EXIT_EXCP_BASE] ? excp[code - SVM_EXIT_EXCP_BASE] : "EXCP";
	switch (code) {
	case SVM_EXIT_INTR: return "INTR";
	case SVM_EXIT_NMI: return "NMI";
	case SVM_EXIT_VINTR: return "VINTR";
	case SVM_EXIT_CR0_SEL_WRITE: return "CR0_SEL_WRITE";
	case SVM_EXIT_RDTSC: return "RDTSC";
	case SVM_EXIT_RDPMC: return "RDPMC";
	case SVM_EXIT_CPUID: return "CPUID";
	case SVM_EXIT_RSM: return "RSM";
	case SVM_EXIT_IRET: return "IRET";
	case SVM_EXIT_SWINT: return "SWINT";
	case SVM_EXIT_INVD: return "INVD";
	case SVM_EXIT_PAUSE: return "PAUSE";
	case SVM_EXIT_HLT: return "HLT";
	case SVM_EXIT_INVLPG: return "INVLPG";
	case SVM_EXIT_INVLPGA: return "INVLPGA";
	case SVM_EXIT_IOIO: return "IOIO";
	case SVM_EXIT_MSR: return "MSR";
	case SVM_EXIT_SHUTDOWN: return "SHUTDOWN";
	case SVM_EXIT_VMRUN: return "VMRUN";
	case SVM_EXIT_VMMCALL: return "VMMCALL";
	case SVM_EXIT_VMLOAD: return "VMLOAD";
	case SVM_EXIT_VMSAVE: return "VMSAVE";
	case SVM_EXIT_STGI: return "STGI";
	case SVM_EXIT_CLGI: return "CLGI";
	case SVM_EXIT_SKINIT: return "SKINIT";
	case SVM_EXIT_RDTSCP: return "RDTSCP";
	case SVM_EXIT_ICEBP: return "ICEBP";
	case SVM_EXIT_WBINVD: return "WBINVD";
	case SVM_EXIT_MONITOR: return "MONITOR";
	case SVM_EXIT_MWAIT: return "MWAIT";
	case SVM_EXIT_NPF: return "NPF";
	case SVM_EXIT_INVALID: return "INVALID";
	}
	if (code < 0x10)
		return "CR_READ";
	if (code < 0x20)
		return "CR_WRITE";
	if (code < 0x30)
		return "DR_READ";
	if (code < 0x40)
		return "DR_WRITE";
	return "?";
}

bool svm_supported(void)
{
	struct cpuid_regs r;

	cpuid_count(0x80000000, 0, &r);
	if (r.eax < 0x8000000a)
		return false;
	cpuid_count(0x80000001, 0, &r);
	return r.ecx & (1u << 2);
}

uint32_t svm_features(void)
{
	struct cpuid_regs r;

	cpuid_count(0x8000000a, 0, &r);
	return r.edx;
}

/* A VMCB segment from L1's live GDT entry: attrib packs bits 47:40 and 55:52 (table B-2). */
static void seg_from_gdt(struct vmcb_seg *s, uint16_t sel)
{
	struct gdt_segment g = guest_gdt_segment(sel);

	s->selector = sel;
	s->attrib = ((g.desc >> 40) & 0xff) | (((g.desc >> 52) & 0xf) << 8);
	s->limit = g.limit;
	s->base = g.base;
}

void svm_vmcb_init_state(struct vmcb *vmcb, void *entry, uint64_t stack_top)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) dtr;
	uint16_t sel;

	/* L2 starts as a copy of L1's current state, on its own stack. */
	asm volatile("mov %%cs, %0" : "=r"(sel));
	seg_from_gdt(&vmcb->save.cs, sel);
	asm volatile("mov %%ss, %0" : "=r"(sel));
	seg_from_gdt(&vmcb->save.ss, sel);
	asm volatile("mov %%ds, %0" : "=r"(sel));
	seg_from_gdt(&vmcb->save.ds, sel);
	asm volatile("mov %%es, %0" : "=r"(sel));
	seg_from_gdt(&vmcb->save.es, sel);
	asm volatile("str %0" : "=r"(sel));
	seg_from_gdt(&vmcb->save.tr, sel);
	asm volatile("sgdt %0" : "=m"(dtr));
	vmcb->save.gdtr.base = dtr.base;
	vmcb->save.gdtr.limit = dtr.limit;
	asm volatile("sidt %0" : "=m"(dtr));
	vmcb->save.idtr.base = dtr.base;
	vmcb->save.idtr.limit = dtr.limit;
	vmcb->save.efer = rdmsr(MSR_EFER);
	vmcb->save.cr0 = get_cr0();
	vmcb->save.cr3 = get_cr3();
	vmcb->save.cr4 = get_cr4();
	vmcb->save.dr7 = 0x400;
	vmcb->save.dr6 = 0xffff0ff0;
	vmcb->save.rflags = 0x2;
	vmcb->save.rip = (uintptr_t)entry;
	vmcb->save.rsp = stack_top;
	vmcb->save.g_pat = rdmsr(MSR_IA32_CR_PAT);
}

void svm_seg_from_gdt(struct vmcb_seg *s, uint16_t sel)
{
	seg_from_gdt(s, sel);
}

void svm_init(const struct svm_pages *p, void *entry, uint64_t stack_top)
{
	struct vmcb *vmcb = (struct vmcb *)(uintptr_t)p->vmcb;

	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SVME);
	wrmsr(MSR_VM_HSAVE_PA, p->hsave);
	memset(vmcb, 0, sizeof(*vmcb));
	memset((void *)(uintptr_t)p->iopm, 0, SVM_IOPM_SIZE);
	memset((void *)(uintptr_t)p->msrpm, 0, SVM_MSRPM_SIZE);

	vmcb->control.intercept_misc2 = SVM_INTERCEPT2_VMRUN | SVM_INTERCEPT2_VMMCALL;
	vmcb->control.asid = 1;
	vmcb->control.iopm_base_pa = p->iopm;
	vmcb->control.msrpm_base_pa = p->msrpm;
	svm_vmcb_init_state(vmcb, entry, stack_top);
}

/*
 * VMRUN loads L2's RAX, RSP, RIP and control state from the VMCB; every
 * other GPR is live across it (APM 15.5), and #VMEXIT restores only RAX,
 * RSP and RIP of L1 from the host save area.  So: keep L1's callee-saved
 * registers on the stack, load L2's from r, and store them back after.
 * GIF is cleared around VMRUN as the APM recommends (15.17), so nothing is
 * taken between the #VMEXIT and L1 looking at it.
 */
uint64_t svm_run(uint64_t vmcb_gpa, struct svm_gprs *r)
{
	asm volatile(
		PUSH_CALLEE_SAVED
		"push %%rdi\n\t"			/* r */
		GPRS_LOAD_RCX_R15
		"mov %c[rbx](%%rdi), %%rbx\n\t"
		"mov %c[rdi](%%rdi), %%rdi\n\t"
		"clgi\n\t"
		"vmrun %%rax\n\t"
		"stgi\n\t"
		"push %%rdi\n\t"			/* L2's RDI */
		"mov 8(%%rsp), %%rdi\n\t"		/* r */
		GPRS_STORE_RBX_R15
		"pop %%rbx\n\t"
		"mov %%rbx, %c[rdi](%%rdi)\n\t"
		"pop %%rdi\n\t"
		POP_CALLEE_SAVED
		: "+a"(vmcb_gpa), "+D"(r)
		: GPRS_OFFSETS(struct svm_gprs)
		: "rcx", "rdx", "rsi", "r8", "r9", "r10", "r11", "memory", "cc");
	return ((struct vmcb *)(uintptr_t)vmcb_gpa)->control.exit_code;
}

/* IOPM: one bit per port (APM 15.10.1). */
void svm_intercept_port(uint64_t iopm, uint16_t port, bool on)
{
	uint8_t *bm = (uint8_t *)(uintptr_t)iopm;

	if (on)
		bm[port / 8] |= 1u << (port % 8);
	else
		bm[port / 8] &= ~(1u << (port % 8));
}

/*
 * MSRPM (APM 15.11): two bits per MSR (read, write) in three 2 KiB ranges:
 * 0-0x1fff, 0xc0000000-0xc0001fff, 0xc0010000-0xc0011fff.
 */
void svm_intercept_msr_rw(uint64_t msrpm, uint32_t msr, bool read, bool write)
{
	uint8_t *bm = (uint8_t *)(uintptr_t)msrpm;
	uint32_t base, bit;

	if (msr < 0x2000)
		base = 0;
	else if (msr - 0xc0000000u < 0x2000)
		base = 0x800 * 8, msr -= 0xc0000000u;
	else if (msr - 0xc0010000u < 0x2000)
		base = 0x1000 * 8, msr -= 0xc0010000u;
	else
		GUEST_FAIL("MSR %#x is outside the MSR permission map", msr);
	/* Read bit at the even position, write bit just above it. */
	bit = base + msr * 2;
	bm[bit / 8] &= ~(3u << (bit % 8));
	bm[bit / 8] |= (read ? 1u : 0) << (bit % 8) | (write ? 2u : 0) << (bit % 8);
}

void svm_intercept_msr(uint64_t msrpm, uint32_t msr, bool on)
{
	svm_intercept_msr_rw(msrpm, msr, on, on);
}

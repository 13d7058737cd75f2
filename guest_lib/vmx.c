// SPDX-License-Identifier: GPL-2.0-only
/*
 * A minimal VMX hypervisor for L1 guest code (SDM vol. 3C chapters 23-31):
 * VMXON, one VMCS that starts L2 with L1's execution state on its own
 * stack, VMLAUNCH/VMRESUME with L2's registers, and the decoding of every
 * failure: VMfailInvalid/VMfailValid with the VM-instruction error, faults
 * of the instructions themselves, and exit reasons by name.
 */
#include <stdbool.h>

#include "guest/gprs_asm.h"
#include "guest/guest.h"
#include "guest/vmx.h"

const char *vmx_status_name(enum vmx_status s)
{
	switch (s) {
	case VMX_OK: return "VMsucceed";
	case VMX_FAIL_INVALID: return "VMfailInvalid";
	case VMX_FAIL_VALID: return "VMfailValid";
	case VMX_FAULT: return "fault";
	}
	return "?";
}

const char *vmx_insn_error_name(uint32_t err)
{
	static const char *const names[] = {
		[1] = "VMCALL executed in VMX root operation",
		[2] = "VMCLEAR with invalid physical address",
		[3] = "VMCLEAR with VMXON pointer",
		[4] = "VMLAUNCH with non-clear VMCS",
		[5] = "VMRESUME with non-launched VMCS",
		[6] = "VMRESUME after VMXOFF",
		[7] = "VM entry with invalid control field(s)",
		[8] = "VM entry with invalid host-state field(s)",
		[9] = "VMPTRLD with invalid physical address",
		[10] = "VMPTRLD with VMXON pointer",
		[11] = "VMPTRLD with incorrect VMCS revision identifier",
		[12] = "VMREAD/VMWRITE from/to unsupported VMCS component",
		[13] = "VMWRITE to read-only VMCS component",
		[15] = "VMXON executed in VMX root operation",
		[16] = "VM entry with invalid executive-VMCS pointer",
		[17] = "VM entry with non-launched executive VMCS",
		[18] = "VM entry with executive-VMCS pointer not VMXON pointer",
		[19] = "VMCALL with non-clear VMCS",
		[20] = "VMCALL with invalid VM-exit control fields",
		[22] = "VMCALL with incorrect MSEG revision identifier",
		[23] = "VMXOFF under dual-monitor treatment of SMIs and SMM",
		[24] = "VMCALL with invalid SMM-monitor features",
		[25] = "VM entry with invalid VM-execution control fields in executive VMCS",
		[26] = "VM entry with events blocked by MOV SS",
		[28] = "Invalid operand to INVEPT/INVVPID",
	};

	return err < sizeof(names) / sizeof(names[0]) && names[err] ? names[err] : "unknown";
}

const char *vmx_exit_name(uint32_t reason)
{
	switch (reason & 0xffff) {
	case EXIT_REASON_EXCEPTION_NMI: return "EXCEPTION_NMI";
	case EXIT_REASON_EXTERNAL_INTERRUPT: return "EXTERNAL_INTERRUPT";
	case EXIT_REASON_TRIPLE_FAULT: return "TRIPLE_FAULT";
	case EXIT_REASON_INTERRUPT_WINDOW: return "INTERRUPT_WINDOW";
	case EXIT_REASON_NMI_WINDOW: return "NMI_WINDOW";
	case EXIT_REASON_CPUID: return "CPUID";
	case EXIT_REASON_HLT: return "HLT";
	case EXIT_REASON_VMCALL: return "VMCALL";
	case EXIT_REASON_VMREAD: return "VMREAD";
	case EXIT_REASON_VMWRITE: return "VMWRITE";
	case EXIT_REASON_CR_ACCESS: return "CR_ACCESS";
	case EXIT_REASON_IO_INSTRUCTION: return "IO_INSTRUCTION";
	case EXIT_REASON_MSR_READ: return "MSR_READ";
	case EXIT_REASON_MSR_WRITE: return "MSR_WRITE";
	case EXIT_REASON_INVALID_STATE: return "INVALID_GUEST_STATE";
	case EXIT_REASON_MSR_LOAD_FAIL: return "MSR_LOAD_FAIL";
	case EXIT_REASON_MONITOR_TRAP_FLAG: return "MONITOR_TRAP_FLAG";
	case EXIT_REASON_TPR_BELOW_THRESHOLD: return "TPR_BELOW_THRESHOLD";
	case EXIT_REASON_APIC_ACCESS: return "APIC_ACCESS";
	case EXIT_REASON_EPT_VIOLATION: return "EPT_VIOLATION";
	case EXIT_REASON_EPT_MISCONFIG: return "EPT_MISCONFIG";
	case EXIT_REASON_PREEMPTION_TIMER: return "PREEMPTION_TIMER";
	}
	return "?";
}

struct vmx_qual_cr vmx_qual_cr(uint64_t q)
{
	return (struct vmx_qual_cr) {
		.cr = q & 0xf,
		.type = (enum vmx_cr_access)((q >> 4) & 3),
		.lmsw_mem = (q >> 6) & 1,
		.gpr = (q >> 8) & 0xf,
		.lmsw_data = (q >> 16) & 0xffff,
	};
}

struct vmx_qual_io vmx_qual_io(uint64_t q)
{
	return (struct vmx_qual_io) {
		.size = (q & 7) + 1,
		.in = (q >> 3) & 1,
		.string = (q >> 4) & 1,
		.rep = (q >> 5) & 1,
		.imm = (q >> 6) & 1,
		.port = (q >> 16) & 0xffff,
	};
}

struct vmx_qual_ept vmx_qual_ept(uint64_t q)
{
	return (struct vmx_qual_ept) {
		.read = q & 1,
		.write = (q >> 1) & 1,
		.fetch = (q >> 2) & 1,
		.readable = (q >> 3) & 1,
		.writable = (q >> 4) & 1,
		.executable = (q >> 5) & 1,
		.gla_valid = (q >> 7) & 1,
		.final_gpa = (q >> 8) & 1,
		.nmi_unblocking = (q >> 12) & 1,
	};
}

const char *vmx_gpr_name(unsigned int gpr)
{
	static const char *const names[16] = {
		"RAX", "RCX", "RDX", "RBX", "RSP", "RBP", "RSI", "RDI",
		"R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15",
	};

	return gpr < 16 ? names[gpr] : "?";
}

const char *vmx_exit_str(uint32_t reason, uint64_t qual, char *buf, size_t len)
{
	int n = guest_snprintf(buf, len, "%s%s (%u)", reason & VMX_EXIT_REASONS_FAILED_VMENTRY ?
			       "VM-entry failure: " : "", vmx_exit_name(reason), reason & 0xffff);

	if (n < 0 || (size_t)n >= len || (reason & VMX_EXIT_REASONS_FAILED_VMENTRY))
		return buf;
	switch (reason & 0xffff) {
	case EXIT_REASON_CR_ACCESS: {
		struct vmx_qual_cr c = vmx_qual_cr(qual);

		if (c.type == VMX_CR_MOV_TO || c.type == VMX_CR_MOV_FROM)
			guest_snprintf(buf + n, len - n, ": MOV %s CR%u %s %s",
				       c.type == VMX_CR_MOV_TO ? "to" : "from", c.cr,
				       c.type == VMX_CR_MOV_TO ? "from" : "to",
				       vmx_gpr_name(c.gpr));
		else if (c.type == VMX_CR_CLTS)
			guest_snprintf(buf + n, len - n, ": CLTS");
		else
			guest_snprintf(buf + n, len - n, ": LMSW 0x%x from %s", c.lmsw_data,
				       c.lmsw_mem ? "memory" : "a register");
		break;
	}
	case EXIT_REASON_IO_INSTRUCTION: {
		struct vmx_qual_io io = vmx_qual_io(qual);

		guest_snprintf(buf + n, len - n, ": %s%s%s port 0x%x, %u byte(s), port in %s",
			       io.rep ? "REP " : "", io.in ? "IN" : "OUT", io.string ? "S" : "",
			       io.port, io.size, io.imm ? "the instruction" : "DX");
		break;
	}
	case EXIT_REASON_EPT_VIOLATION: {
		struct vmx_qual_ept e = vmx_qual_ept(qual);

		guest_snprintf(buf + n, len - n, ": %s%s%s, entry %s%s%s%s, %s%s",
			       e.read ? "read" : "", e.write ? " write" : "",
			       e.fetch ? " fetch" : "", e.readable ? "R" : "-",
			       e.writable ? "W" : "-", e.executable ? "X" : "-",
			       e.readable || e.writable || e.executable ? "" : " (not present)",
			       !e.gla_valid ? "no linear address" :
			       e.final_gpa ? "at the final GPA" : "in the guest's page walk",
			       e.nmi_unblocking ? ", NMI unblocking" : "");
		break;
	}
	default:
		guest_snprintf(buf + n, len - n, ", qualification 0x%lx", qual);
	}
	return buf;
}

bool vmx_supported(void)
{
	struct cpuid_regs r;

	cpuid_count(1, 0, &r);
	return r.ecx & (1u << 5);
}

/* CF=1: VMfailInvalid, ZF=1: VMfailValid (SDM vol. 3C 31.2); a fault wins. */
static enum vmx_status vmx_status(uint8_t cf, uint8_t zf, uint8_t *vector)
{
	uint8_t v = guest_fault_vector();

	if (vector)
		*vector = v;
	if (v != NO_VECTOR)
		return VMX_FAULT;
	return cf ? VMX_FAIL_INVALID : zf ? VMX_FAIL_VALID : VMX_OK;
}

/* One VMX instruction with a memory operand: ASM_SAFE, then the flags. */
#define VMX_MEM_INSN(insn, op) ({						\
	uint8_t __cf, __zf;							\
	asm volatile(ASM_SAFE(insn " %[m]") "setc %[cf]\n\tsetz %[zf]"		\
		     : [cf] "=r"(__cf), [zf] "=r"(__zf), [m] "+m"(op) :: "cc", "memory"); \
	vmx_status(__cf, __zf, vector);						\
})

enum vmx_status __vmxon(uint64_t pa, uint8_t *vector)
{
	return VMX_MEM_INSN("vmxon", pa);
}

enum vmx_status __vmclear(uint64_t pa, uint8_t *vector)
{
	return VMX_MEM_INSN("vmclear", pa);
}

enum vmx_status __vmptrld(uint64_t pa, uint8_t *vector)
{
	return VMX_MEM_INSN("vmptrld", pa);
}

enum vmx_status __vmptrst(uint64_t *pa, uint8_t *vector)
{
	return VMX_MEM_INSN("vmptrst", *pa);
}

enum vmx_status __vmxoff(uint8_t *vector)
{
	uint8_t cf, zf;

	asm volatile(ASM_SAFE("vmxoff") "setc %0\n\tsetz %1" : "=r"(cf), "=r"(zf) :: "cc", "memory");
	return vmx_status(cf, zf, vector);
}

enum vmx_status __vmread(uint64_t field, uint64_t *value, uint8_t *vector)
{
	uint8_t cf, zf;
	uint64_t v = 0;

	asm volatile(ASM_SAFE("vmread %[f], %[v]") "setc %[cf]\n\tsetz %[zf]"
		     : [v] "+r"(v), [cf] "=r"(cf), [zf] "=r"(zf) : [f] "r"(field) : "cc", "memory");
	*value = v;
	return vmx_status(cf, zf, vector);
}

enum vmx_status __vmwrite(uint64_t field, uint64_t value, uint8_t *vector)
{
	uint8_t cf, zf;

	asm volatile(ASM_SAFE("vmwrite %[v], %[f]") "setc %[cf]\n\tsetz %[zf]"
		     : [cf] "=r"(cf), [zf] "=r"(zf) : [f] "r"(field), [v] "r"(value)
		     : "cc", "memory");
	return vmx_status(cf, zf, vector);
}

uint32_t vmx_insn_error(enum vmx_status s)
{
	uint64_t err = 0;

	if (s == VMX_FAIL_VALID)
		__vmread(VM_INSTRUCTION_ERROR, &err, NULL);
	return err;
}

static void vmx_fail(const char *file, unsigned int line, const char *insn, uint64_t field,
		     enum vmx_status s, uint8_t vector)
{
	uint64_t err = vmx_insn_error(s);

	guest_abort(file, line, "%s(field 0x%lx): %s, VM-instruction error %lu (%s), vector %u",
		    insn, field, vmx_status_name(s), err,
		    s == VMX_FAIL_VALID ? vmx_insn_error_name(err) : "-", vector);
}

uint64_t vmread_at(uint64_t field, const char *file, unsigned int line)
{
	uint64_t v;
	uint8_t vec;
	enum vmx_status s = __vmread(field, &v, &vec);

	if (s != VMX_OK)
		vmx_fail(file, line, "VMREAD", field, s, vec);
	return v;
}

void vmwrite_at(uint64_t field, uint64_t value, const char *file, unsigned int line)
{
	uint8_t vec;
	enum vmx_status s = __vmwrite(field, value, &vec);

	if (s != VMX_OK)
		vmx_fail(file, line, "VMWRITE", field, s, vec);
}

/*
 * Appendix A.3-A.5: bits 31:0 of the capability MSR are the allowed-0
 * settings (1 = must be 1), bits 63:32 the allowed-1 settings (0 = must be
 * 0).  The TRUE_* MSRs, present when VMX_BASIC bit 55 is set, allow
 * clearing some default-1 bits.
 */
uint64_t vmx_ctl_caps(uint32_t msr)
{
	if (rdmsr(MSR_IA32_VMX_BASIC) & VMX_BASIC_TRUE_CTLS) {
		switch (msr) {
		case MSR_IA32_VMX_PINBASED_CTLS: msr = MSR_IA32_VMX_TRUE_PINBASED; break;
		case MSR_IA32_VMX_PROCBASED_CTLS: msr = MSR_IA32_VMX_TRUE_PROCBASED; break;
		case MSR_IA32_VMX_EXIT_CTLS: msr = MSR_IA32_VMX_TRUE_EXIT; break;
		case MSR_IA32_VMX_ENTRY_CTLS: msr = MSR_IA32_VMX_TRUE_ENTRY; break;
		}
	}
	return rdmsr(msr);
}

uint32_t vmx_adjust_controls(uint32_t msr, uint32_t want)
{
	uint64_t caps = vmx_ctl_caps(msr);

	return (want | (uint32_t)caps) & (uint32_t)(caps >> 32);
}

void vmx_set_fixed_cr_bits(void)
{
	/* 23.8: CR0 and CR4 must respect the fixed bits in VMX operation. */
	set_cr0((get_cr0() | rdmsr(MSR_IA32_VMX_CR0_FIXED0)) & rdmsr(MSR_IA32_VMX_CR0_FIXED1));
	set_cr4((get_cr4() | rdmsr(MSR_IA32_VMX_CR4_FIXED0) | X86_CR4_VMXE) &
		rdmsr(MSR_IA32_VMX_CR4_FIXED1));
}

void vmx_prepare_vmxon_region(const struct vmx_pages *p)
{
	*(uint32_t *)(uintptr_t)p->vmxon = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));
}

enum vmx_status vmx_enable(const struct vmx_pages *p, uint8_t *vector)
{
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);

	/* Firmware's job (SDM vol. 3C 23.7): allow VMXON outside SMX, then lock. */
	if (!(fc & FEAT_CTL_LOCK))
		wrmsr(MSR_IA32_FEATURE_CONTROL, fc | FEAT_CTL_LOCK | FEAT_CTL_VMX_OUTSIDE_SMX);
	vmx_set_fixed_cr_bits();
	vmx_prepare_vmxon_region(p);
	return __vmxon(p->vmxon, vector);
}

/*
 * guest_lib/nested.c builds EPT with a 4-level walk, write-back paging
 * structures and leaves, and 2 MiB pages: each needs its bit in
 * IA32_VMX_EPT_VPID_CAP (A.10), and EPT itself the allowed-1 setting of the
 * secondary control (A.3.3).
 */
const char *vmx_ept_unsupported(void)
{
	uint64_t caps;

	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS) >> 32) & CPU_BASED_ACTIVATE_SECONDARY))
		return "VMX without secondary controls (no EPT)";
	if (!((rdmsr(MSR_IA32_VMX_PROCBASED_CTLS2) >> 32) & SECONDARY_EXEC_ENABLE_EPT))
		return "VMX without the enable-EPT control";
	caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
	if (!(caps & VMX_EPT_CAP_WALK_4))
		return "EPT without a 4-level page walk (IA32_VMX_EPT_VPID_CAP bit 6)";
	if (!(caps & VMX_EPT_CAP_WB))
		return "EPT without the WB memory type (IA32_VMX_EPT_VPID_CAP bit 14)";
	if (!(caps & VMX_EPT_CAP_2M))
		return "EPT without 2 MiB pages (IA32_VMX_EPT_VPID_CAP bit 16)";
	return NULL;
}

/*
 * INVEPT and INVVPID (SDM vol. 3C 31.3): a 128-bit descriptor in memory,
 * the type in a register.  INVEPT's is the EPTP and 64 reserved bits,
 * INVVPID's the VPID in bits 15:0 (63:16 reserved) and a linear address.
 */
#define VMX_INV_INSN(insn, type, d0, d1) ({					\
	struct { uint64_t lo, hi; } __d = { d0, d1 };				\
	uint8_t __cf, __zf;							\
	asm volatile(ASM_SAFE(insn " %[d], %[t]") "setc %[cf]\n\tsetz %[zf]"	\
		     : [cf] "=r"(__cf), [zf] "=r"(__zf)				\
		     : [d] "m"(__d), [t] "r"(type) : "cc", "memory");		\
	vmx_status(__cf, __zf, vector);						\
})

enum vmx_status __invept(uint64_t type, uint64_t eptp, uint64_t rsvd, uint8_t *vector)
{
	return VMX_INV_INSN("invept", type, eptp, rsvd);
}

enum vmx_status __invvpid(uint64_t type, uint64_t vpid, uint64_t gla, uint8_t *vector)
{
	return VMX_INV_INSN("invvpid", type, vpid, gla);
}

/* INVEPT type 2 (all contexts) or 1 (single context), SDM vol. 3C 31.3 INVEPT. */
bool vmx_invept(uint64_t eptp)
{
	uint64_t caps = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP), type;
	enum vmx_status s;
	uint8_t vec;

	if (!(caps & VMX_EPT_CAP_INVEPT))
		return false;
	if (caps & VMX_EPT_CAP_INVEPT_ALL)
		type = INVEPT_ALL;
	else if (caps & VMX_EPT_CAP_INVEPT_SINGLE)
		type = INVEPT_SINGLE;
	else
		return false;
	s = __invept(type, eptp, 0, &vec);
	if (s != VMX_OK)
		GUEST_FAIL("INVEPT type %lu of EPTP 0x%lx: %s, vector %u", type, eptp,
			   vmx_status_name(s), vec);
	return true;
}

struct seg {
	uint16_t sel;
	uint32_t limit, ar;
	uint64_t base;
};

/* VMX access rights (24.4.1): descriptor bits 47:40 and 55:52 at 15:12; bit 16 = unusable. */
static struct seg seg_from_gdt(uint16_t sel)
{
	struct gdt_segment g = guest_gdt_segment(sel);
	struct seg s = { .sel = sel, .limit = g.limit, .base = g.base, .ar = 1u << 16 };

	if (g.desc)
		s.ar = ((g.desc >> 40) & 0xff) | (((g.desc >> 52) & 0xf) << 12);
	/* 26.3.1.2: a usable code or data segment's type must say accessed. */
	if (g.desc && (s.ar & (1u << 4)))
		s.ar |= 1;
	return s;
}

void vmx_write_seg(uint16_t sel, uint64_t sel_field, uint64_t ar_field, uint64_t limit_field,
		   uint64_t base_field)
{
	struct seg s = seg_from_gdt(sel);

	vmwrite(sel_field, s.sel);
	vmwrite(limit_field, s.limit);
	vmwrite(ar_field, s.ar);
	vmwrite(base_field, s.base);
}

#define GUEST_SEG(name, selector)						\
	vmx_write_seg(selector, GUEST_##name##_SELECTOR, GUEST_##name##_AR_BYTES, \
		      GUEST_##name##_LIMIT, GUEST_##name##_BASE)

/* L1's own segment selectors and descriptor tables: both the host and the guest state. */
struct l1_state {
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) gdtr, idtr;
	uint16_t cs, ss, ds, es, tr;
};

/* Make p->vmcs current and clear, with empty I/O and MSR bitmaps. */
static void vmcs_load(const struct vmx_pages *p)
{
	uint8_t vec;
	enum vmx_status s;

	*(uint32_t *)(uintptr_t)p->vmcs = VMX_BASIC_REVISION(rdmsr(MSR_IA32_VMX_BASIC));
	s = __vmclear(p->vmcs, &vec);
	if (s != VMX_OK)
		vmx_fail(__FILE__, __LINE__, "VMCLEAR", 0, s, vec);
	s = __vmptrld(p->vmcs, &vec);
	if (s != VMX_OK)
		vmx_fail(__FILE__, __LINE__, "VMPTRLD", 0, s, vec);
	memset((void *)(uintptr_t)p->io_bitmap_a, 0, 4096);
	memset((void *)(uintptr_t)p->io_bitmap_b, 0, 4096);
	memset((void *)(uintptr_t)p->msr_bitmap, 0, 4096);
}

static void vmcs_write_controls(const struct vmx_pages *p)
{
	vmwrite(PIN_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PINBASED_CTLS, 0));
	vmwrite(CPU_BASED_VM_EXEC_CONTROL, vmx_adjust_controls(MSR_IA32_VMX_PROCBASED_CTLS,
		CPU_BASED_USE_IO_BITMAPS | CPU_BASED_USE_MSR_BITMAPS));
	vmwrite(VM_EXIT_CONTROLS, vmx_adjust_controls(MSR_IA32_VMX_EXIT_CTLS,
		VM_EXIT_HOST_ADDR_SPACE_SIZE | VM_EXIT_SAVE_IA32_EFER | VM_EXIT_LOAD_IA32_EFER |
		VM_EXIT_SAVE_IA32_PAT | VM_EXIT_LOAD_IA32_PAT));
	vmwrite(VM_ENTRY_CONTROLS, vmx_adjust_controls(MSR_IA32_VMX_ENTRY_CTLS,
		VM_ENTRY_IA32E_MODE | VM_ENTRY_LOAD_IA32_EFER | VM_ENTRY_LOAD_IA32_PAT));
	vmwrite(EXCEPTION_BITMAP, 0);
	vmwrite(CR3_TARGET_COUNT, 0);
	vmwrite(VM_EXIT_MSR_STORE_COUNT, 0);
	vmwrite(VM_EXIT_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_MSR_LOAD_COUNT, 0);
	vmwrite(VM_ENTRY_INTR_INFO_FIELD, 0);
	vmwrite(IO_BITMAP_A, p->io_bitmap_a);
	vmwrite(IO_BITMAP_B, p->io_bitmap_b);
	vmwrite(MSR_BITMAP, p->msr_bitmap);
	vmwrite(VMCS_LINK_POINTER, ~0ULL);
}

/* Host state: L1 as it is now (24.5, checks in 26.2.2-26.2.4). */
static void vmcs_write_host_state(const struct l1_state *l1)
{
	vmwrite(HOST_CR0, get_cr0());
	vmwrite(HOST_CR3, get_cr3());
	vmwrite(HOST_CR4, get_cr4());
	vmwrite(HOST_CS_SELECTOR, l1->cs);
	vmwrite(HOST_SS_SELECTOR, l1->ss);
	vmwrite(HOST_DS_SELECTOR, l1->ds);
	vmwrite(HOST_ES_SELECTOR, l1->es);
	vmwrite(HOST_FS_SELECTOR, 0);
	vmwrite(HOST_GS_SELECTOR, 0);
	vmwrite(HOST_TR_SELECTOR, l1->tr);
	vmwrite(HOST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(HOST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(HOST_TR_BASE, seg_from_gdt(l1->tr).base);
	vmwrite(HOST_GDTR_BASE, l1->gdtr.base);
	vmwrite(HOST_IDTR_BASE, l1->idtr.base);
	vmwrite(HOST_IA32_EFER, rdmsr(MSR_EFER));
	vmwrite(HOST_IA32_PAT, rdmsr(MSR_IA32_CR_PAT));
	vmwrite(HOST_IA32_SYSENTER_CS, 0);
	vmwrite(HOST_IA32_SYSENTER_ESP, 0);
	vmwrite(HOST_IA32_SYSENTER_EIP, 0);
}

/* Guest state: the same, entering at entry on its own stack (24.4, 26.3.1). */
static void vmcs_write_guest_state(const struct l1_state *l1, void *entry, uint64_t stack_top)
{
	GUEST_SEG(CS, l1->cs);
	GUEST_SEG(SS, l1->ss);
	GUEST_SEG(DS, l1->ds);
	GUEST_SEG(ES, l1->es);
	GUEST_SEG(FS, 0);
	GUEST_SEG(GS, 0);
	GUEST_SEG(LDTR, 0);
	GUEST_SEG(TR, l1->tr);
	vmwrite(GUEST_FS_BASE, rdmsr(MSR_FS_BASE));
	vmwrite(GUEST_GS_BASE, rdmsr(MSR_GS_BASE));
	vmwrite(GUEST_GDTR_BASE, l1->gdtr.base);
	vmwrite(GUEST_GDTR_LIMIT, l1->gdtr.limit);
	vmwrite(GUEST_IDTR_BASE, l1->idtr.base);
	vmwrite(GUEST_IDTR_LIMIT, l1->idtr.limit);
	vmwrite(GUEST_CR0, get_cr0());
	vmwrite(GUEST_CR3, get_cr3());
	vmwrite(GUEST_CR4, get_cr4());
	vmwrite(GUEST_IA32_EFER, rdmsr(MSR_EFER));
	vmwrite(GUEST_IA32_PAT, rdmsr(MSR_IA32_CR_PAT));
	vmwrite(GUEST_IA32_DEBUGCTL, 0);
	vmwrite(GUEST_DR7, 0x400);
	vmwrite(GUEST_RFLAGS, 0x2);
	vmwrite(GUEST_RIP, (uintptr_t)entry);
	vmwrite(GUEST_RSP, stack_top);
	vmwrite(GUEST_INTERRUPTIBILITY_INFO, 0);
	vmwrite(GUEST_ACTIVITY_STATE, 0);
	vmwrite(GUEST_SYSENTER_CS, 0);
	vmwrite(GUEST_SYSENTER_ESP, 0);
	vmwrite(GUEST_SYSENTER_EIP, 0);
}

static void l1_state_read(struct l1_state *l1)
{
	asm volatile("mov %%cs, %0; mov %%ss, %1; mov %%ds, %2; mov %%es, %3; str %4"
		     : "=r"(l1->cs), "=r"(l1->ss), "=r"(l1->ds), "=r"(l1->es), "=r"(l1->tr));
	asm volatile("sgdt %0; sidt %1" : "=m"(l1->gdtr), "=m"(l1->idtr));
}

void vmx_write_host_state(void)
{
	struct l1_state l1;

	l1_state_read(&l1);
	vmcs_write_host_state(&l1);
}

void vmx_init_vmcs(const struct vmx_pages *p, void *entry, uint64_t stack_top)
{
	struct l1_state l1;

	vmcs_load(p);
	vmcs_write_controls(p);
	l1_state_read(&l1);
	vmcs_write_host_state(&l1);
	vmcs_write_guest_state(&l1, entry, stack_top);
}

/*
 * HOST_RSP is the stack with r on top, HOST_RIP the label after the entry:
 * a VM exit lands there with L2's GPRs live (27.5 restores only RSP, RIP and
 * the host-state fields), so they are stored into r before L1's own
 * callee-saved registers come back from the stack.  A VMfail falls through
 * VMLAUNCH/VMRESUME with the flags telling which.  It is one asm block of
 * ~80 lines because L2's GPRs must not pass through C between entry and exit.
 */
uint32_t vmx_run(bool launched, struct vmx_gprs *r, enum vmx_status *status)
{
	uint64_t flags = launched, failed;

	asm volatile(
		PUSH_CALLEE_SAVED
		"push %%rdi\n\t"
		"mov %[host_rsp], %%eax\n\t"
		"vmwrite %%rsp, %%rax\n\t"
		"lea 1f(%%rip), %%rcx\n\t"
		"mov %[host_rip], %%eax\n\t"
		"vmwrite %%rcx, %%rax\n\t"
		"test %%rsi, %%rsi\n\t"
		"mov %c[rax](%%rdi), %%rax\n\t"
		"mov %c[rbx](%%rdi), %%rbx\n\t"
		GPRS_LOAD_RCX_R15
		"mov %c[rdi](%%rdi), %%rdi\n\t"
		"jnz 2f\n\t"
		"vmlaunch\n\t"
		"jmp 3f\n\t"
		"2: vmresume\n\t"
		"3: pushfq\n\t"				/* VMfail: keep the flags */
		"pop %%rsi\n\t"
		"mov $1, %%edx\n\t"
		"jmp 4f\n\t"
		"1: push %%rdi\n\t"			/* VM exit */
		"mov 8(%%rsp), %%rdi\n\t"
		"mov %%rax, %c[rax](%%rdi)\n\t"
		GPRS_STORE_RBX_R15
		"pop %%rax\n\t"
		"mov %%rax, %c[rdi](%%rdi)\n\t"
		"xor %%edx, %%edx\n\t"
		"4: pop %%rdi\n\t"
		POP_CALLEE_SAVED
		: "+S"(flags), "+D"(r), "=d"(failed)
		: [host_rsp] "i"(HOST_RSP), [host_rip] "i"(HOST_RIP),
		  GPRS_OFF(struct vmx_gprs, rax), GPRS_OFFSETS(struct vmx_gprs)
		: "rax", "rcx", "r8", "r9", "r10", "r11", "memory", "cc");
	if (failed) {
		/* RFLAGS.CF (bit 0): VMfailInvalid; ZF (bit 6): VMfailValid. */
		*status = (flags & 1) ? VMX_FAIL_INVALID : VMX_FAIL_VALID;
		return ~0u;
	}
	*status = VMX_OK;
	return vmread(VM_EXIT_REASON);
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * The VM-wide controls a VMM sets that change what the guest sees
 * (Documentation/virt/kvm/api.rst, Linux 6.12):
 *  - 7.15 KVM_CAP_MSR_PLATFORM_INFO: with args[0] = 0 the guest's RDMSR
 *    of MSR_PLATFORM_INFO is #GP; enabled (the default) it reads the value
 *    the VMM set with KVM_SET_MSRS, which the host can always read back.
 *    The guest can never write it (KVM: read-only, #GP).
 *  - CPUID faulting (SDM vol. 4 2.17, MSR_PLATFORM_INFO bit 31 "CPUID
 *    faulting supported", MSR_MISC_FEATURES_ENABLES bit 0 "CPUID faulting
 *    enable"): the enable bit is writable only while PLATFORM_INFO offers
 *    it, other bits are reserved (#GP); KVM refuses a host write that
 *    withdraws the offer while faulting is on.  With faulting on, CPUID at
 *    CPL3 is #GP(0) (SDM vol. 2A CPUID: "#GP(0) if CPL is greater than 0
 *    and CPUID faulting is enabled") and CPUID at CPL0 runs; off, CPUID at
 *    CPL3 runs.
 *  - 7.31 KVM_CAP_DISABLE_QUIRKS2 KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS: with
 *    the quirk (default) MONITOR and MWAIT are NOPs whatever CPUID says;
 *    without it they #UD unless CPUID.01H:ECX.MONITOR[3] is set (SDM
 *    vol. 2B MONITOR/MWAIT: #UD "if CPUID.01H:ECX.MONITOR[bit 3] = 0").
 *    With KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT disabled too, that CPUID bit
 *    follows IA32_MISC_ENABLE bit 18 (ENABLE MONITOR FSM, SDM vol. 4
 *    table 2-2) as the guest toggles it.  Table-driven over the quirk
 *    combinations and CPUID.
 *  - 4.41 KVM_SET_BOOT_CPU_ID: only before any vCPU exists (EBUSY after),
 *    an id above KVM's maximum is EINVAL; the chosen vCPU is the BSP:
 *    IA32_APIC_BASE.BSP[8] (SDM vol. 3A 11.4.4) set for it alone, and with
 *    an in-kernel LAPIC the others start as APs waiting for INIT/SIPI
 *    (KVM_MP_STATE_UNINITIALIZED, api.rst 4.38).
 *
 * Upstream's tools/testing/selftests/kvm/x86_64/platform_info_test.c,
 * monitor_mwait_test.c and set_boot_cpu_id.c check the same ideas.
 *
 * Caught bugs: bugs/msr-cpuid-platform-info-cap-ignored.patch,
 *              bugs/msr-cpuid-boot-cpu-id-after-vcpus.patch
 */
#include <errno.h>
#include <stdio.h>

#include "guest/guest.h"
#include "kvm_test_harness.h"

/* Bits 15:8, "maximum non-turbo ratio": any value the VMM chooses. */
#define PLATFORM_INFO_VALUE	(PLATFORM_INFO_CPUID_FAULT | 0x1700)
#define MISC_ENABLE_MWAIT	BIT_ULL(18)
#define X86_FEATURE_MWAIT	X86_FEATURE(1, 0, CPUID_ECX, 3)

/* ---- MSR_PLATFORM_INFO ---- */

static void guest_platform_info(void)
{
	for (;;) {
		uint64_t v = 0;
		uint8_t rd = rdmsr_safe(MSR_PLATFORM_INFO, &v);

		GUEST_SYNC(rd, v, wrmsr_safe(MSR_PLATFORM_INFO, PLATFORM_INFO_VALUE));
	}
}

static void expect_platform_info(struct __test_metadata *_metadata, struct kvm_vcpu *vcpu,
				 bool readable)
{
	struct ucall uc;

	ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
	EXPECT_EQ(uc.args[0], readable ? NO_VECTOR : GP_VECTOR)
		TH_LOG("guest RDMSR(PLATFORM_INFO) with KVM_CAP_MSR_PLATFORM_INFO %s: vector %lu",
		       readable ? "on" : "off", (unsigned long)uc.args[0]);
	if (readable)
		EXPECT_EQ(uc.args[1], PLATFORM_INFO_VALUE)
			TH_LOG("guest read %#lx, the VMM set %#llx", (unsigned long)uc.args[1],
			       PLATFORM_INFO_VALUE);
	EXPECT_EQ(uc.args[2], GP_VECTOR) TH_LOG("guest WRMSR(PLATFORM_INFO): vector %lu",
						(unsigned long)uc.args[2]);
	/* The host's view does not depend on the cap. */
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_PLATFORM_INFO), PLATFORM_INFO_VALUE);
}

KVM_VCPU_TEST(platform_info_readable_only_while_cap_enabled, guest_platform_info)
{
	TEST_REQUIRE_CAP(KVM_CAP_MSR_PLATFORM_INFO);

	vcpu_set_msr(vcpu, MSR_PLATFORM_INFO, PLATFORM_INFO_VALUE);
	expect_platform_info(_metadata, vcpu, true);
	vm_enable_cap(vm, KVM_CAP_MSR_PLATFORM_INFO, 0);
	expect_platform_info(_metadata, vcpu, false);
	vm_enable_cap(vm, KVM_CAP_MSR_PLATFORM_INFO, 1);
	expect_platform_info(_metadata, vcpu, true);
}

/* ---- CPUID faulting: MSR_MISC_FEATURES_ENABLES ---- */

/*
 * A trip to CPL3: CPUID, then UD2.  The trip ends at the first exception,
 * whose handler returns to CPL0 (the kernel CS/SS and stack of the call):
 * #UD means CPUID ran, #GP that it faulted.
 */
static uint8_t user_stack[PAGE_SIZE] __attribute__((aligned(PAGE_SIZE)));
static uint8_t kernel_stack[PAGE_SIZE] __attribute__((aligned(16)));
/* Written by guest_user_trip (asm): not static, so the symbol stays. */
volatile uint64_t guest_user_saved_rsp;
static volatile uint64_t user_vector, user_error_code;

asm(".pushsection .text\n"
    "user_cpuid:\n"
    "	xor %eax, %eax\n"
    "	xor %ecx, %ecx\n"
    "	cpuid\n"
    "	ud2\n"
    "user_cpuid_end:\n"
    /* guest_user_trip(rip, rsp): iretq to CPL3, back at guest_user_return. */
    "guest_user_trip:\n"
    "	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
    "	mov %rsp, guest_user_saved_rsp(%rip)\n"
    "	pushq $" __stringify(USER_DS) "\n"
    "	pushq %rsi\n"
    "	pushq $2\n"		/* RFLAGS: IF clear */
    "	pushq $" __stringify(USER_CS) "\n"
    "	pushq %rdi\n"
    "	iretq\n"
    "guest_user_return:\n"
    "	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
    "	ret\n"
    ".popsection");
extern char user_cpuid[], user_cpuid_end[], guest_user_return[];
void guest_user_trip(void *rip, void *rsp);

static void guest_user_fault(struct ex_regs *regs)
{
	if ((regs->cs & 3) != 3)
		guest_report_unhandled(regs);
	user_vector = regs->vector;
	user_error_code = regs->error_code;
	regs->rip = (uint64_t)(uintptr_t)guest_user_return;
	regs->rsp = guest_user_saved_rsp;
	regs->cs = KERNEL_CS;
	regs->ss = KERNEL_DS;
}

static void guest_user_setup(void)
{
	uint16_t tr;

	/* TSS.RSP0 (SDM vol. 3A 8.7): the stack of an exception from CPL3. */
	asm volatile("str %0" : "=r"(tr));
	*(volatile uint64_t *)(uintptr_t)(guest_gdt_segment(tr).base + 4) =
		(uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack));
	guest_install_handler(GP_VECTOR, guest_user_fault);
	guest_install_handler(UD_VECTOR, guest_user_fault);
}

static uint8_t guest_cpl3_cpuid(void)
{
	user_vector = NO_VECTOR;
	guest_user_trip(user_cpuid, user_stack + sizeof(user_stack));
	return user_vector;
}

enum { CF_ON = 1, CF_OFF, CF_WITHDRAWN };

static uint8_t guest_cpuid_safe(void)
{
	uint32_t a = 0, b, c = 0, d;

	asm volatile(ASM_SAFE("cpuid") : "+a"(a), "=b"(b), "+c"(c), "=d"(d) :: "memory");
	return guest_fault_vector();
}

static void guest_cpuid_fault(void)
{
	guest_user_setup();
	__GUEST_ASSERT(guest_cpl3_cpuid() == UD_VECTOR,
		       "CPUID at CPL3, faulting off: vector %lu, want none (then UD2's #UD)",
		       user_vector);
	/* Offered (bit 31 set by the host): reserved bits #GP, bit 0 sticks. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_FEATURES_ENABLES, BIT_ULL(1)), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_FEATURES_ENABLES, BIT_ULL(63)), GP_VECTOR);
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_FEATURES_ENABLES, MISC_FEATURES_CPUID_FAULT),
			NO_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_MISC_FEATURES_ENABLES), MISC_FEATURES_CPUID_FAULT);
	/* Faulting on: #GP(0) at CPL3 (SDM vol. 2A CPUID), none at CPL0. */
	__GUEST_ASSERT(guest_cpl3_cpuid() == GP_VECTOR && user_error_code == 0,
		       "CPUID at CPL3, faulting on: vector %lu error code %#lx, want #GP(0)",
		       user_vector, user_error_code);
	GUEST_ASSERT_EQ(guest_cpuid_safe(), NO_VECTOR);
	GUEST_SYNC(CF_ON);
	wrmsr(MSR_MISC_FEATURES_ENABLES, 0);
	__GUEST_ASSERT(guest_cpl3_cpuid() == UD_VECTOR,
		       "CPUID at CPL3, faulting off again: vector %lu", user_vector);
	GUEST_SYNC(CF_OFF);
	/* The host withdrew the offer: enabling is #GP now. */
	GUEST_ASSERT_EQ(wrmsr_safe(MSR_MISC_FEATURES_ENABLES, MISC_FEATURES_CPUID_FAULT),
			GP_VECTOR);
	GUEST_ASSERT_EQ(rdmsr(MSR_MISC_FEATURES_ENABLES), 0);
	GUEST_SYNC(CF_WITHDRAWN);
}

/* Let CPL3 reach the user trip's code and stack (no SMEP/SMAP in the guest). */
static void map_user(struct __test_metadata *_metadata, struct kvm_vm *vm, uint64_t gva,
		     uint64_t size)
{
	for (uint64_t p = gva & ~(uint64_t)(PAGE_SIZE - 1); p < gva + size; p += PAGE_SIZE) {
		enum pg_level level;
		uint64_t *pte = virt_get_pte(vm, p, &level);

		ASSERT_NE(pte, NULL) TH_LOG("GVA %#lx unmapped", (unsigned long)p);
		*pte |= PTE_USER;
	}
}

KVM_VCPU_TEST(cpuid_faulting_enable_follows_platform_info, guest_cpuid_fault)
{
	uint64_t v;

	if (__vcpu_get_msr(vcpu, MSR_PLATFORM_INFO, &v) != 1 ||
	    __vcpu_get_msr(vcpu, MSR_MISC_FEATURES_ENABLES, &v) != 1)
		SKIP(return, "KVM has no MSR_PLATFORM_INFO/MSR_MISC_FEATURES_ENABLES");
	map_user(_metadata, vm, (uint64_t)(uintptr_t)user_cpuid, user_cpuid_end - user_cpuid);
	map_user(_metadata, vm, (uint64_t)(uintptr_t)user_stack, sizeof(user_stack));
	vcpu_set_msr(vcpu, MSR_PLATFORM_INFO, PLATFORM_INFO_CPUID_FAULT);
	vcpu_run_expect_sync(vcpu, CF_ON);
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_MISC_FEATURES_ENABLES), MISC_FEATURES_CPUID_FAULT);
	EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_PLATFORM_INFO, 0), 0)
		TH_LOG("KVM_SET_MSRS withdrew CPUID faulting from PLATFORM_INFO while it was on");
	EXPECT_EQ(vcpu_get_msr(vcpu, MSR_PLATFORM_INFO), PLATFORM_INFO_CPUID_FAULT);
	vcpu_run_expect_sync(vcpu, CF_OFF);
	EXPECT_EQ(__vcpu_set_msr(vcpu, MSR_PLATFORM_INFO, 0), 1)
		TH_LOG("KVM_SET_MSRS(PLATFORM_INFO = 0) refused with faulting off");
	vcpu_run_expect_sync(vcpu, CF_WITHDRAWN);
}

/* ---- MONITOR/MWAIT and the two MWAIT quirks ---- */

static uint64_t monitor_line[8] __attribute__((aligned(64)));

/* Phase 0: as set up; 1: MISC_ENABLE.MWAIT set by the guest; 2: cleared again. */
#define MWAIT_PHASES	3

static void guest_monitor_mwait(void)
{
	for (unsigned int phase = 0; phase < MWAIT_PHASES; phase++) {
		uint8_t mon, mwait, wr = NO_VECTOR;
		uint64_t misc;

		if (phase) {
			misc = rdmsr(MSR_IA32_MISC_ENABLE);
			misc = phase == 1 ? misc | MISC_ENABLE_MWAIT : misc & ~MISC_ENABLE_MWAIT;
			wr = wrmsr_safe(MSR_IA32_MISC_ENABLE, misc);
		}
		asm volatile(ASM_SAFE("monitor")
			     :: "a"(monitor_line), "c"(0), "d"(0) : "memory");
		mon = guest_fault_vector();
		asm volatile(ASM_SAFE("mwait") :: "a"(0), "c"(0) : "memory");
		mwait = guest_fault_vector();
		GUEST_SYNC(phase, this_cpu_has(X86_FEATURE_MWAIT), mon, mwait, wr);
	}
}

static const struct mwait_case {
	uint64_t disabled;	/* quirks turned off with KVM_CAP_DISABLE_QUIRKS2 */
	bool cpuid;		/* the VMM's CPUID.01H:ECX.MONITOR */
	bool follows_misc;	/* CPUID tracks MISC_ENABLE.MWAIT (MISC_ENABLE_NO_MWAIT off) */
	const char *name;
} mwait_cases[] = {
	{ 0, false, false, "quirks on, no MONITOR in CPUID" },
	{ 0, true, false, "quirks on, MONITOR in CPUID" },
	{ KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, false, false,
	  "MWAIT_NEVER_UD_FAULTS off, no MONITOR in CPUID" },
	{ KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS, true, false,
	  "MWAIT_NEVER_UD_FAULTS off, MONITOR in CPUID" },
	{ KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS | KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, true, true,
	  "both quirks off: CPUID follows MISC_ENABLE.MWAIT" },
	{ KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT, true, true,
	  "MISC_ENABLE_NO_MWAIT off, NEVER_UD on" },
};

static void check_mwait_case(struct __test_metadata *_metadata, const struct mwait_case *mc)
{
	struct kvm_vm *vm = vm_create();
	struct kvm_vcpu *vcpu;
	struct kvm_cpuid2 *c;
	struct kvm_cpuid_entry2 *e;
	size_t size;
	struct ucall uc;

	if (mc->disabled)
		vm_enable_cap(vm, KVM_CAP_DISABLE_QUIRKS2, mc->disabled);
	vcpu = vm_vcpu_add(vm, 0, guest_monitor_mwait);
	size = sizeof(*c) + vcpu->cpuid->nent * sizeof(c->entries[0]);
	c = malloc(size);
	ASSERT_NE(c, NULL);
	memcpy(c, vcpu->cpuid, size);
	e = cpuid_find_entry(c, 1, 0);
	ASSERT_NE(e, NULL);
	if (mc->cpuid)
		e->ecx |= BIT(X86_FEATURE_MWAIT.bit);
	else
		e->ecx &= ~BIT(X86_FEATURE_MWAIT.bit);
	vcpu_set_cpuid(vcpu, c);
	free(c);

	for (unsigned int phase = 0; phase < MWAIT_PHASES; phase++) {
		bool misc_mwait = phase == 1;	/* reset value 0, then set, then cleared */
		bool cpuid = mc->follows_misc ? misc_mwait : mc->cpuid;
		bool nop = !(mc->disabled & KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS) || cpuid;
		uint8_t want = nop ? NO_VECTOR : UD_VECTOR;

		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		ASSERT_EQ(uc.args[0], phase);
		EXPECT_EQ(uc.args[4], NO_VECTOR)
			TH_LOG("%s, phase %u: WRMSR(MISC_ENABLE) raised %lu", mc->name, phase,
			       (unsigned long)uc.args[4]);
		EXPECT_EQ(uc.args[1], cpuid)
			TH_LOG("%s, phase %u: guest's CPUID.01H:ECX.MONITOR %lu, want %u",
			       mc->name, phase, (unsigned long)uc.args[1], cpuid);
		EXPECT_EQ(uc.args[2], want)
			TH_LOG("%s, phase %u: MONITOR raised %lu, want %s", mc->name, phase,
			       (unsigned long)uc.args[2], nop ? "none (NOP)" : "#UD");
		EXPECT_EQ(uc.args[3], want)
			TH_LOG("%s, phase %u: MWAIT raised %lu, want %s", mc->name, phase,
			       (unsigned long)uc.args[3], nop ? "none (NOP)" : "#UD");
	}
	kvm_vm_free(vm);
}

KVM_TEST(monitor_mwait_ud_or_nop_by_cpuid_and_quirks)
{
	const uint64_t need = KVM_X86_QUIRK_MWAIT_NEVER_UD_FAULTS |
			      KVM_X86_QUIRK_MISC_ENABLE_NO_MWAIT;

	TEST_REQUIRE_CAP(KVM_CAP_DISABLE_QUIRKS2);
	TEST_REQUIRE_MSG((kvm_check_cap(KVM_CAP_DISABLE_QUIRKS2) & need) == need,
			 "KVM_CAP_DISABLE_QUIRKS2 lacks MWAIT_NEVER_UD_FAULTS or "
			 "MISC_ENABLE_NO_MWAIT");
	/* Toggling MISC_ENABLE.MWAIT needs SSE3 in CPUID (KVM: else #GP). */
	TEST_REQUIRE_FEATURE(X86_FEATURE_SSE3);
	for (unsigned int i = 0; i < ARRAY_SIZE(mwait_cases); i++)
		check_mwait_case(_metadata, &mwait_cases[i]);
}

/* ---- KVM_SET_BOOT_CPU_ID ---- */

static void guest_apic_base(void)
{
	GUEST_SYNC(guest_vcpu_id(), rdmsr(MSR_IA32_APICBASE));
}

/* Two vCPUs with an in-kernel LAPIC, BSP = bsp (-1: KVM's default, vCPU 0). */
static void check_boot_cpu(struct __test_metadata *_metadata, int bsp)
{
	struct kvm_vm *vm = vm_create_opts(&(struct vm_opts){ .irqchip = true,
							      .keep_mp_state = true });
	struct kvm_vcpu *vcpus[2];
	int max_id = kvm_check_cap(KVM_CAP_MAX_VCPU_ID);
	unsigned int want_bsp = bsp < 0 ? 0 : bsp;

	if (bsp >= 0) {
		long too_big = (long)max_id + 1;

		if (max_id > 0) {
			errno = 0;
			EXPECT_EQ(__vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, (void *)too_big), -1);
			EXPECT_EQ(errno, EINVAL) TH_LOG("KVM_SET_BOOT_CPU_ID(%ld) above the maximum "
							"vCPU id: errno %d", too_big, errno);
		}
		vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, (void *)(long)bsp);
	}
	for (unsigned int i = 0; i < 2; i++)
		vcpus[i] = vm_vcpu_add(vm, i, guest_apic_base);
	errno = 0;
	EXPECT_EQ(__vm_ioctl(vm, KVM_SET_BOOT_CPU_ID, (void *)(long)(!want_bsp)), -1)
		TH_LOG("KVM_SET_BOOT_CPU_ID after KVM_CREATE_VCPU succeeded");
	EXPECT_EQ(errno, EBUSY);

	for (unsigned int i = 0; i < 2; i++) {
		bool is_bsp = i == want_bsp;
		struct kvm_mp_state mp;
		struct ucall uc;

		EXPECT_EQ(!!(vcpu_get_msr(vcpus[i], MSR_IA32_APICBASE) & APICBASE_BSP), is_bsp)
			TH_LOG("vCPU %u: APIC_BASE %#lx, boot CPU %u", i,
			       (unsigned long)vcpu_get_msr(vcpus[i], MSR_IA32_APICBASE), want_bsp);
		vcpu_mp_state_get(vcpus[i], &mp);
		EXPECT_EQ(mp.mp_state, is_bsp ? KVM_MP_STATE_RUNNABLE : KVM_MP_STATE_UNINITIALIZED)
			TH_LOG("vCPU %u: mp_state %u, boot CPU %u", i, mp.mp_state, want_bsp);
		/* Let an AP run as if it got its SIPI: its own RDMSR sees no BSP flag. */
		if (!is_bsp) {
			mp.mp_state = KVM_MP_STATE_RUNNABLE;
			vcpu_mp_state_set(vcpus[i], &mp);
		}
		ASSERT_EQ(vcpu_run_ucall(vcpus[i], &uc), UCALL_SYNC);
		EXPECT_EQ(uc.args[0], i);
		EXPECT_EQ(!!(uc.args[1] & APICBASE_BSP), is_bsp)
			TH_LOG("vCPU %u's RDMSR(APIC_BASE) %#lx, boot CPU %u", i,
			       (unsigned long)uc.args[1], want_bsp);
	}
	kvm_vm_free(vm);
}

KVM_TEST(boot_cpu_id_picks_the_bsp_before_vcpus_exist)
{
	TEST_REQUIRE_CAP(KVM_CAP_SET_BOOT_CPU_ID);
	check_boot_cpu(_metadata, -1);
	check_boot_cpu(_metadata, 1);
	check_boot_cpu(_metadata, 0);
}

TEST_HARNESS_MAIN

// SPDX-License-Identifier: GPL-2.0-only
/*
 * A guest MAXPHYADDR smaller than the host's (KVM_CAP_SMALLER_MAXPHYADDR,
 * which KVM reports when it honours a CPUID 0x80000008 EAX[7:0] below the
 * host's; api.rst lists the capability number only).  With the vCPU's
 * MAXPHYADDR (CPUID 0x80000008 EAX[7:0], SDM vol. 2 CPUID) set to
 * GUEST_MAXPHYADDR (36):
 *  - the guest's CPUID 0x80000008 EAX[7:0] is that value;
 *  - a leaf PTE, or a PDE that points to a page table, with bit
 *    GUEST_MAXPHYADDR set (a physical-address bit at or above MAXPHYADDR:
 *    reserved, SDM vol. 3A 4.5 tables 4-19/4-20 and 4.7) makes a read
 *    fault with #PF(P|RSVD) and a write with #PF(P|W|RSVD), CR2 the
 *    linear address, natively and through KVM's emulator (force-emulation
 *    prefix): the host's MAXPHYADDR makes the bit an address bit, so KVM
 *    (its shadow-MMU walker, its emulator) must find it reserved itself;
 *  - a PTE whose address uses every bit below GUEST_MAXPHYADDR (a page at
 *    GPA 2^36 - 4 KiB, in a memslot there) is no fault: the guest reads and
 *    writes the host's page, natively and emulated.
 * kvm_amd allows a smaller MAXPHYADDR only with npt=0 (the shadow MMU
 * checks the guest's PTEs), kvm_intel with ept=0 or allow_smaller_maxphyaddr=1:
 * in the default NPT lane the test SKIPs.
 *
 * Covers the idea of upstream
 * tools/testing/selftests/kvm/x86_64/smaller_maxphyaddr_emulation_test.c.
 *
 * Caught bugs: bugs/mmu-guest-rsvd-bits-host-maxphyaddr.patch
 */
#include "guest/guest.h"
#include "kvm_test_harness.h"

#define GUEST_MAXPHYADDR	36
#define RSVD_GVA		0x40000000ULL	/* its PTE has bit GUEST_MAXPHYADDR set */
#define RSVD_PDE_GVA		0x40200000ULL	/* its PDE (not a leaf) has it set */
#define TOP_GVA			0x40001000ULL	/* maps the last page below 2^36 */
#define TOP_GPA			(BIT_ULL(GUEST_MAXPHYADDR) - PAGE_SIZE)
#define TOP_SLOT		1
#define STALE_CR2		0xdead0000ULL

enum access { READ, WRITE, FEP_READ, FEP_WRITE, NR_ACCESSES };

static const char *const access_names[] = { "read", "write", "emulated read",
					    "emulated write" };

/* Vector, error code and CR2 of one access to addr; NO_VECTOR if none. */
static void guest_access(enum access a, uint64_t addr, uint64_t *val, uint64_t *vec,
			 uint64_t *err, uint64_t *cr2)
{
	uint64_t v = *val;

	set_cr2(STALE_CR2);
	switch (a) {
	case READ:
		asm volatile(ASM_SAFE("mov (%[p]), %[v]")
			     : [v] "+r"(v) : [p] "r"(addr) : "memory");
		break;
	case WRITE:
		asm volatile(ASM_SAFE("mov %[v], (%[p])")
			     :: [v] "r"(v), [p] "r"(addr) : "memory");
		break;
	case FEP_READ:
		asm volatile(ASM_SAFE(KVM_FEP "mov (%[p]), %[v]")
			     : [v] "+r"(v) : [p] "r"(addr) : "memory");
		break;
	case FEP_WRITE:
		asm volatile(ASM_SAFE(KVM_FEP "mov %[v], (%[p])")
			     :: [v] "r"(v), [p] "r"(addr) : "memory");
		break;
	default:
		GUEST_FAIL("access %d", a);
	}
	*vec = guest_fault_vector();
	*err = guest_fault_error_code();
	*cr2 = get_cr2();
	*val = v;
}

static void guest_code(uint64_t nr_accesses)
{
	struct cpuid_regs r;
	uint64_t val, vec, err, cr2;

	cpuid_count(0x80000008, 0, &r);
	GUEST_SYNC(r.eax & 0xff);

	for (unsigned int a = 0; a < nr_accesses; a++) {
		val = 0x5a5a;
		guest_access(a, RSVD_GVA + 8 * (a + 1), &val, &vec, &err, &cr2);
		GUEST_SYNC(a, vec, err, cr2);
		guest_access(a, RSVD_PDE_GVA + 8 * (a + 1), &val, &vec, &err, &cr2);
		GUEST_SYNC(a, vec, err, cr2);

		val = 0x70b0000 + a;
		guest_access(a, TOP_GVA + 8 * (a + 1), &val, &vec, &err, &cr2);
		GUEST_SYNC(a, vec, val);
	}
}

/* The PDE on the way to gva (a host pointer into the guest's page directory). */
static uint64_t *pde_of(struct __test_metadata *_metadata, struct kvm_vm *vm, uint64_t gva)
{
	uint64_t *table = addr_gpa2hva(vm, vm->pml4);

	for (unsigned int shift = 39; shift > 21; shift -= 9) {
		uint64_t e = table[(gva >> shift) & 511];

		ASSERT_NE(e & PTE_PRESENT, 0);
		table = addr_gpa2hva(vm, e & PTE_ADDR_MASK);
	}
	return &table[(gva >> 21) & 511];
}

KVM_VCPU_TEST(reserved_pa_bits_fault, guest_code)
{
	struct kvm_cpuid_entry2 *e;
	struct kvm_cpuid2 *cpuid;
	unsigned int host_maxphyaddr, nr = kvm_fep_enabled() ? NR_ACCESSES : FEP_READ;
	uint64_t *pte, *pde, *top;
	struct ucall uc;

	TEST_REQUIRE_MSG(kvm_check_cap(KVM_CAP_SMALLER_MAXPHYADDR),
			 "KVM does not support KVM_CAP_SMALLER_MAXPHYADDR (%s; kvm_amd allows "
			 "it only with npt=0, kvm_intel with ept=0 or allow_smaller_maxphyaddr=1)",
			 kvm_platform_name());
	e = cpuid_find_entry(kvm_get_supported_cpuid(), 0x80000008, 0);
	ASSERT_NE(e, NULL) TH_LOG("KVM_GET_SUPPORTED_CPUID has no leaf 0x80000008");
	host_maxphyaddr = e->eax & 0xff;
	TEST_REQUIRE_MSG(host_maxphyaddr > GUEST_MAXPHYADDR,
			 "KVM's MAXPHYADDR %u is not above the guest's %u", host_maxphyaddr,
			 GUEST_MAXPHYADDR);

	cpuid = vcpu_get_cpuid(vcpu);
	e = cpuid_find_entry(cpuid, 0x80000008, 0);
	ASSERT_NE(e, NULL);
	/* EAX[23:16] 0: the guest's physical address size is EAX[7:0]. */
	e->eax = (e->eax & ~0xff00ffu) | GUEST_MAXPHYADDR;
	vcpu_set_cpuid(vcpu, cpuid);
	free(cpuid);

	virt_map(vm, RSVD_GVA, vm_phys_alloc(vm, 1), PAGE_SIZE, PTE_DEFAULT);
	pte = virt_get_pte(vm, RSVD_GVA, NULL);
	ASSERT_NE(pte, NULL);
	*pte |= BIT_ULL(GUEST_MAXPHYADDR);
	virt_map(vm, RSVD_PDE_GVA, vm_phys_alloc(vm, 1), PAGE_SIZE, PTE_DEFAULT);
	pde = pde_of(_metadata, vm, RSVD_PDE_GVA);
	ASSERT_EQ(*pde & PTE_LARGE, 0);
	*pde |= BIT_ULL(GUEST_MAXPHYADDR);
	top = vm_mem_region_add(vm, TOP_SLOT, TOP_GPA, PAGE_SIZE, 0);
	for (unsigned int a = 0; a < NR_ACCESSES; a++)
		top[a + 1] = 0x70a0000 + a;
	virt_map(vm, TOP_GVA, TOP_GPA, PAGE_SIZE, PTE_DEFAULT);
	vcpu_args_set(vcpu, 1, (uint64_t)nr);

	vcpu_run_expect_sync(vcpu, GUEST_MAXPHYADDR);
	for (unsigned int a = 0; a < nr; a++) {
		bool write = a == WRITE || a == FEP_WRITE;
		uint64_t want = PFERR_PRESENT | PFERR_RSVD | (write ? PFERR_WRITE : 0);

		for (unsigned int level = 0; level < 2; level++) {
			const char *entry = level ? "PDE" : "PTE";
			uint64_t gva = (level ? RSVD_PDE_GVA : RSVD_GVA) + 8 * (a + 1);

			ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
			ASSERT_EQ(uc.args[0], a);
			EXPECT_EQ(uc.args[1], PF_VECTOR)
				TH_LOG("%s through a %s with bit %u set: vector %#lx, expected #PF",
				       access_names[a], entry, GUEST_MAXPHYADDR,
				       (unsigned long)uc.args[1]);
			EXPECT_EQ(uc.args[2], want)
				TH_LOG("%s through a %s with bit %u set: error code %#lx, "
				       "expected %#lx", access_names[a], entry, GUEST_MAXPHYADDR,
				       (unsigned long)uc.args[2], (unsigned long)want);
			EXPECT_EQ(uc.args[3], gva)
				TH_LOG("%s through a %s with bit %u set: CR2 %#lx, expected %#lx",
				       access_names[a], entry, GUEST_MAXPHYADDR,
				       (unsigned long)uc.args[3], (unsigned long)gva);
		}

		ASSERT_EQ(vcpu_run_ucall(vcpu, &uc), UCALL_SYNC);
		ASSERT_EQ(uc.args[0], a);
		EXPECT_EQ(uc.args[1], NO_VECTOR)
			TH_LOG("%s of GPA %#llx (every bit below %u): vector %#lx",
			       access_names[a], TOP_GPA, GUEST_MAXPHYADDR,
			       (unsigned long)uc.args[1]);
		if (write) {
			EXPECT_EQ(top[a + 1], 0x70b0000 + a)
				TH_LOG("%s of GPA %#llx: memory holds %#lx", access_names[a],
				       TOP_GPA, (unsigned long)top[a + 1]);
		} else {
			EXPECT_EQ(uc.args[2], 0x70a0000 + a)
				TH_LOG("%s of GPA %#llx: read %#lx", access_names[a], TOP_GPA,
				       (unsigned long)uc.args[2]);
		}
	}
	vcpu_run_expect_done(vcpu);
	if (nr < NR_ACCESSES)
		SKIP(return, "kvm.force_emulation_prefix is off: only native accesses ran");
}

TEST_HARNESS_MAIN

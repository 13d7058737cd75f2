// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host unit tests of the guest page-table code (lib/x86_pgtable.c) on a
 * memory-only VM: no /dev/kvm needed.  Checks the walk against the SDM's
 * 4-level format (vol. 3A 4.5): 4 KiB and 2 MiB leaves, splitting a 2 MiB
 * leaf keeps every translation, unmapping removes exactly what it names,
 * and GVA->GPA->HVA round-trips.
 */
#include "kvm_test_harness.h"

#define RAM (32 * MiB)

KVM_TEST(identity_map_of_ram)
{
	struct kvm_vm *vm = vm_create_offline(RAM);
	enum pg_level level;
	uint64_t gpa;

	/* Page 0 is deliberately unmapped; everything else in RAM is GVA == GPA. */
	EXPECT_FALSE(__addr_gva2gpa(vm, 0, &gpa));
	EXPECT_FALSE(__addr_gva2gpa(vm, 0xfff, &gpa));
	for (uint64_t a = PAGE_SIZE; a < RAM; a += 0x3f1000) {
		ASSERT_TRUE(__addr_gva2gpa(vm, a + 0x123, &gpa));
		EXPECT_EQ(gpa, a + 0x123);
	}
	/* Below the ELF: 4 KiB pages; from the first 2 MiB boundary above it: 2 MiB. */
	ASSERT_NE(virt_get_pte(vm, PAGE_SIZE, &level), NULL);
	EXPECT_EQ(level, PG_LEVEL_4K);
	ASSERT_NE(virt_get_pte(vm, RAM - PAGE_SIZE, &level), NULL);
	EXPECT_EQ(level, PG_LEVEL_2M);
	EXPECT_FALSE(__addr_gva2gpa(vm, RAM + 2 * MiB, &gpa));
	kvm_vm_free(vm);
}

KVM_TEST(split_2m_keeps_translations)
{
	struct kvm_vm *vm = vm_create_offline(RAM);
	uint64_t base = 16 * MiB, gpa, *pte;
	enum pg_level level;

	ASSERT_NE(virt_get_pte(vm, base, &level), NULL);
	ASSERT_EQ(level, PG_LEVEL_2M);
	/* Remap one 4 KiB page inside the 2 MiB page elsewhere, read-only. */
	virt_map(vm, base + 5 * PAGE_SIZE, 20 * MiB, PAGE_SIZE, PTE_PRESENT | PTE_NX);
	pte = virt_get_pte(vm, base + 5 * PAGE_SIZE, &level);
	ASSERT_NE(pte, NULL);
	EXPECT_EQ(level, PG_LEVEL_4K);
	EXPECT_EQ(*pte & PTE_ADDR_MASK, 20 * MiB);
	EXPECT_EQ(*pte & PTE_WRITABLE, 0);
	EXPECT_NE(*pte & PTE_NX, 0);
	/* Every other page of the old 2 MiB page still maps where it did, writable. */
	for (unsigned int i = 0; i < 512; i++) {
		if (i == 5)
			continue;
		pte = virt_get_pte(vm, base + i * PAGE_SIZE, &level);
		ASSERT_NE(pte, NULL);
		ASSERT_EQ(level, PG_LEVEL_4K);
		ASSERT_EQ(*pte & PTE_ADDR_MASK, base + i * PAGE_SIZE);
		ASSERT_NE(*pte & PTE_WRITABLE, 0);
	}
	ASSERT_TRUE(__addr_gva2gpa(vm, base + 5 * PAGE_SIZE + 0x10, &gpa));
	EXPECT_EQ(gpa, 20 * MiB + 0x10);
	kvm_vm_free(vm);
}

KVM_TEST(map_unmap_high_gva)
{
	struct kvm_vm *vm = vm_create_offline(RAM);
	uint64_t gva = 0xffff800012345000ULL, gpa, frame = vm_phys_alloc(vm, 2);
	uint8_t *hva;

	virt_map(vm, gva, frame, 2 * PAGE_SIZE, PTE_DEFAULT);
	ASSERT_TRUE(__addr_gva2gpa(vm, gva + PAGE_SIZE + 7, &gpa));
	EXPECT_EQ(gpa, frame + PAGE_SIZE + 7);
	hva = addr_gva2hva(vm, gva + 3);
	EXPECT_EQ(hva, (uint8_t *)addr_gpa2hva(vm, frame) + 3);
	EXPECT_EQ(addr_hva2gpa(vm, hva), frame + 3);

	virt_unmap(vm, gva, PAGE_SIZE);
	EXPECT_FALSE(__addr_gva2gpa(vm, gva, &gpa));
	EXPECT_TRUE(__addr_gva2gpa(vm, gva + PAGE_SIZE, &gpa));
	kvm_vm_free(vm);
}

KVM_TEST(unmap_whole_2m_page)
{
	struct kvm_vm *vm = vm_create_offline(RAM);
	uint64_t gpa;

	virt_unmap(vm, 8 * MiB, 2 * MiB);
	EXPECT_FALSE(__addr_gva2gpa(vm, 8 * MiB, &gpa));
	EXPECT_FALSE(__addr_gva2gpa(vm, 10 * MiB - 1, &gpa));
	EXPECT_TRUE(__addr_gva2gpa(vm, 10 * MiB, &gpa));
	EXPECT_TRUE(__addr_gva2gpa(vm, 8 * MiB - 1, &gpa));
	/* A partial unmap of a 2 MiB page splits it and removes only that range. */
	virt_unmap(vm, 12 * MiB + PAGE_SIZE, PAGE_SIZE);
	EXPECT_TRUE(__addr_gva2gpa(vm, 12 * MiB, &gpa));
	EXPECT_FALSE(__addr_gva2gpa(vm, 12 * MiB + PAGE_SIZE, &gpa));
	EXPECT_TRUE(__addr_gva2gpa(vm, 12 * MiB + 2 * PAGE_SIZE, &gpa));
	kvm_vm_free(vm);
}

KVM_TEST(map_2m_sets_large_bit)
{
	struct kvm_vm *vm = vm_create_offline(RAM);
	uint64_t gva = 0x7f0000000000ULL, gpa, *pte;
	enum pg_level level;

	virt_map_2m(vm, gva, 4 * MiB, 4 * MiB, PTE_DEFAULT);
	pte = virt_get_pte(vm, gva + 2 * MiB + 0x1234, &level);
	ASSERT_NE(pte, NULL);
	EXPECT_EQ(level, PG_LEVEL_2M);
	EXPECT_NE(*pte & PTE_LARGE, 0);
	ASSERT_TRUE(__addr_gva2gpa(vm, gva + 2 * MiB + 0x1234, &gpa));
	EXPECT_EQ(gpa, 6 * MiB + 0x1234);
	kvm_vm_free(vm);
}

TEST_HARNESS_MAIN

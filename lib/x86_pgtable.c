// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest page tables: 4-level paging, 4 KiB and 2 MiB leaves.
 * SDM vol. 3A 4.5 (IA-32e paging).  Tables live in guest RAM and are
 * edited through their host mapping; a guest that runs while they change
 * must flush its TLB itself (invlpg or a CR3 write).
 */
#include "kvm_util.h"

static unsigned int pt_index(uint64_t gva, enum pg_level level)
{
	return (gva >> (PAGE_SHIFT + 9 * (level - 1))) & 0x1ff;
}

static uint64_t *table_hva(struct kvm_vm *vm, uint64_t entry_or_gpa)
{
	return addr_gpa2hva(vm, entry_or_gpa & PTE_ADDR_MASK);
}

/* Tables prefer low memory, where they sit beside the other system pages. */
static uint64_t pt_page_alloc(struct kvm_vm *vm)
{
	if (vm->low_next + PAGE_SIZE <= vm->low_end)
		return vm_phys_alloc_low(vm, 1);
	return vm_phys_alloc(vm, 1);
}

void virt_pgd_alloc(struct kvm_vm *vm)
{
	if (!vm->pml4)
		vm->pml4 = pt_page_alloc(vm);
}

/* A canonical 48-bit address, SDM vol. 1 3.3.7.1. */
static void assert_canonical(uint64_t gva)
{
	TEST_ASSERT((uint64_t)((int64_t)(gva << 16) >> 16) == gva,
		    "GVA %#lx is not canonical", gva);
}

/* Replace a 2 MiB leaf by a table of 512 4 KiB leaves with the same attributes. */
static void split_2m(struct kvm_vm *vm, uint64_t *pde)
{
	uint64_t base = *pde & PTE_ADDR_MASK & ~(HUGEPAGE_SIZE - 1);
	uint64_t flags = *pde & ~PTE_ADDR_MASK & ~PTE_LARGE;
	uint64_t pt_gpa = pt_page_alloc(vm);
	uint64_t *pt = addr_gpa2hva(vm, pt_gpa);

	/* Bit 12 of a 2 MiB entry is PAT, not an address bit. */
	flags &= ~PTE_PAT_LARGE;
	for (unsigned int i = 0; i < 512; i++)
		pt[i] = (base + i * PAGE_SIZE) | flags;
	*pde = pt_gpa | (flags & ~PTE_NX) | PTE_PRESENT | PTE_WRITABLE | PTE_USER;
}

/*
 * Walk to the entry for gva at target_level, creating tables (and splitting
 * 2 MiB leaves when a 4 KiB entry is wanted) on the way.
 */
static uint64_t *walk_create(struct kvm_vm *vm, uint64_t gva, enum pg_level target_level)
{
	uint64_t *table = table_hva(vm, vm->pml4);

	assert_canonical(gva);
	for (enum pg_level level = PG_LEVEL_512G; level > target_level; level--) {
		uint64_t *e = &table[pt_index(gva, level)];

		if (!(*e & PTE_PRESENT)) {
			/* Intermediate entries are permissive; the leaf decides. */
			*e = pt_page_alloc(vm) | PTE_PRESENT | PTE_WRITABLE | PTE_USER;
		} else if (*e & PTE_LARGE) {
			TEST_ASSERT(level == PG_LEVEL_2M,
				    "GVA %#lx is inside a 1 GiB page", gva);
			split_2m(vm, e);
		}
		table = table_hva(vm, *e);
	}
	return &table[pt_index(gva, target_level)];
}

void virt_map(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags)
{
	TEST_ASSERT(IS_ALIGNED(gva | gpa | size, PAGE_SIZE),
		    "virt_map(%#lx, %#lx, %#lx) not page aligned", gva, gpa, size);
	for (uint64_t off = 0; off < size; off += PAGE_SIZE)
		*walk_create(vm, gva + off, PG_LEVEL_4K) = (gpa + off) | flags | PTE_PRESENT;
}

void virt_map_2m(struct kvm_vm *vm, uint64_t gva, uint64_t gpa, uint64_t size, uint64_t flags)
{
	TEST_ASSERT(IS_ALIGNED(gva | gpa | size, HUGEPAGE_SIZE),
		    "virt_map_2m(%#lx, %#lx, %#lx) not 2 MiB aligned", gva, gpa, size);
	for (uint64_t off = 0; off < size; off += HUGEPAGE_SIZE) {
		uint64_t *e = walk_create(vm, gva + off, PG_LEVEL_2M);

		TEST_ASSERT(!(*e & PTE_PRESENT) || (*e & PTE_LARGE),
			    "GVA %#lx is already mapped with 4 KiB pages", gva + off);
		*e = (gpa + off) | flags | PTE_PRESENT | PTE_LARGE;
	}
}

static uint64_t *walk(struct kvm_vm *vm, uint64_t gva, enum pg_level *level)
{
	uint64_t *table;

	if (!vm->pml4)
		return NULL;
	table = table_hva(vm, vm->pml4);
	for (enum pg_level l = PG_LEVEL_512G; l >= PG_LEVEL_4K; l--) {
		uint64_t *e = &table[pt_index(gva, l)];

		if (!(*e & PTE_PRESENT))
			return NULL;
		if (l == PG_LEVEL_4K || (*e & PTE_LARGE)) {
			if (level)
				*level = l;
			return e;
		}
		table = __addr_gpa2hva(vm, *e & PTE_ADDR_MASK);
		if (!table)
			return NULL;
	}
	return NULL;
}

uint64_t *virt_get_pte(struct kvm_vm *vm, uint64_t gva, enum pg_level *level)
{
	return walk(vm, gva, level);
}

void virt_unmap(struct kvm_vm *vm, uint64_t gva, uint64_t size)
{
	TEST_ASSERT(IS_ALIGNED(gva | size, PAGE_SIZE), "virt_unmap not page aligned");
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		enum pg_level level;
		uint64_t *e = walk(vm, gva + off, &level);

		if (!e)
			continue;
		if (level == PG_LEVEL_2M) {
			if (IS_ALIGNED(gva + off, HUGEPAGE_SIZE) && size - off >= HUGEPAGE_SIZE) {
				*e = 0;
				off += HUGEPAGE_SIZE - PAGE_SIZE;
				continue;
			}
			e = walk_create(vm, gva + off, PG_LEVEL_4K);
		}
		*e = 0;
	}
}

bool __addr_gva2gpa(struct kvm_vm *vm, uint64_t gva, uint64_t *gpa)
{
	enum pg_level level;
	uint64_t *e = walk(vm, gva, &level);
	uint64_t page_size;

	if (!e)
		return false;
	page_size = 1ULL << (PAGE_SHIFT + 9 * (level - 1));
	*gpa = (*e & PTE_ADDR_MASK & ~(page_size - 1)) | (gva & (page_size - 1));
	return true;
}

void virt_map_mmio(struct kvm_vm *vm, uint64_t gpa, uint64_t size)
{
	virt_map(vm, gpa, gpa, ALIGN_UP(size, PAGE_SIZE), PTE_DEFAULT | PTE_PCD | PTE_PWT);
}

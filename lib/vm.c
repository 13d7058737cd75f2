// SPDX-License-Identifier: GPL-2.0-only
/*
 * VMs, memslots, guest physical memory and address translation.
 *
 * Guest physical layout of slot 0 (RAM at GPA 0):
 *   page 0            unmapped in the guest page tables (NULL dereferences fault)
 *   4 KiB .. ELF lo   "low" pages, mapped with 4 KiB pages: page tables, GDT,
 *                     IDT, per-vCPU data and stacks (guard pages need 4 KiB)
 *   ELF lo .. ELF hi  this test's ELF image at its link addresses
 *   ELF hi .. RAM end "high" pages, mapped with 2 MiB pages where aligned
 * Everything is identity mapped (GVA == GPA).
 */
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "kvm_util.h"
#include "x86/runtime.h"

#define GDT_ENTRIES	(TSS_SEL_BASE / 8 + 2 * KVM_MAX_TEST_VCPUS)

/* Flat segment descriptors, SDM vol. 3A 3.4.5: base 0, limit 4 GiB. */
static const uint64_t gdt_template[] = {
	[KERNEL_CS >> 3]	= 0x00af9b000000ffffULL,	/* 64-bit code, DPL0 */
	[KERNEL_DS >> 3]	= 0x00cf93000000ffffULL,	/* data, DPL0 */
	[KERNEL_CS32 >> 3]	= 0x00cf9b000000ffffULL,	/* 32-bit code, DPL0 */
	[USER_DS >> 3]		= 0x00cff3000000ffffULL,	/* data, DPL3 */
	[USER_CS >> 3]		= 0x00affb000000ffffULL,	/* 64-bit code, DPL3 */
};

/* entry.S: 256 stubs, 16 bytes apart, each pushing its vector. */
extern char guest_idt_stubs[];

static void vm_setup_descriptor_tables(struct kvm_vm *vm)
{
	uint64_t *gdt, *idt;

	vm->gdt = vm_phys_alloc_low(vm, 1);
	gdt = addr_gpa2hva(vm, vm->gdt);
	memcpy(gdt, gdt_template, sizeof(gdt_template));

	/* 256 interrupt gates (type 14, IF cleared on entry), SDM vol. 3A 6.14.1. */
	vm->idt = vm_phys_alloc_low(vm, 1);
	idt = addr_gpa2hva(vm, vm->idt);
	for (unsigned int v = 0; v < NR_VECTORS; v++) {
		uint64_t addr = (uint64_t)(uintptr_t)guest_idt_stubs + 16 * v;
		uint64_t ist = v == DF_VECTOR ? 1 : v == NMI_VECTOR ? 2 : v == MC_VECTOR ? 3 : 0;
		uint64_t dpl = (v == BP_VECTOR || v == OF_VECTOR) ? 3 : 0;

		idt[2 * v] = (addr & 0xffff) | ((uint64_t)KERNEL_CS << 16) | (ist << 32) |
			     (0xeULL << 40) | (dpl << 45) | (1ULL << 47) |
			     ((addr >> 16 & 0xffff) << 48);
		idt[2 * v + 1] = addr >> 32;
	}
}

/*
 * The ELF image is written once per process into a memfd, and every VM maps
 * it copy-on-write over its RAM: a VM costs no copy, and the guest faults in
 * only the pages it touches.
 */
static int elf_template_fd(const struct elf_image *img)
{
	static int fd = -1;
	size_t len = img->hi - img->lo, done = 0;

	if (fd >= 0)
		return fd;
	fd = memfd_create("kvm-suite-elf", MFD_CLOEXEC);
	TEST_ASSERT(fd >= 0, "memfd_create for the ELF template");
	TEST_ASSERT(!ftruncate(fd, len), "ftruncate ELF template");
	while (done < len) {
		ssize_t n = pwrite(fd, img->image + done, len - done, done);

		TEST_ASSERT(n > 0, "write ELF template");
		done += n;
	}
	return fd;
}

static void vm_load_elf(struct kvm_vm *vm)
{
	const struct elf_image *img = self_elf_image();
	void *hva, *m;

	TEST_ASSERT(img->hi + 2 * MiB <= vm->ram_size,
		    "RAM size %#lx too small for the ELF image (ends at %#lx)",
		    vm->ram_size, img->hi);
	hva = addr_gpa2hva(vm, img->lo);
	m = mmap(hva, img->hi - img->lo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED,
		 elf_template_fd(img), 0);
	TEST_ASSERT(m == hva, "mapping the ELF template into guest RAM");
	vm->elf_lo = img->lo;
	vm->elf_hi = img->hi;
}

/* Identity map all of slot 0 except page 0. */
static void vm_identity_map_ram(struct kvm_vm *vm)
{
	uint64_t low_end = ALIGN_UP(vm->elf_lo, HUGEPAGE_SIZE);

	virt_map(vm, PAGE_SIZE, PAGE_SIZE, low_end - PAGE_SIZE, PTE_DEFAULT);
	virt_map_2m(vm, low_end, low_end, ALIGN_DOWN(vm->ram_size, HUGEPAGE_SIZE) - low_end,
		    PTE_DEFAULT);
	if (!IS_ALIGNED(vm->ram_size, HUGEPAGE_SIZE)) {
		uint64_t tail = ALIGN_DOWN(vm->ram_size, HUGEPAGE_SIZE);

		virt_map(vm, tail, tail, vm->ram_size - tail, PTE_DEFAULT);
	}
}

static void vm_init_memory(struct kvm_vm *vm, uint64_t ram_size)
{
	const struct elf_image *img = self_elf_image();

	vm->ram_size = ram_size ? ram_size : DEFAULT_RAM_SIZE;
	TEST_ASSERT(IS_ALIGNED(vm->ram_size, PAGE_SIZE), "RAM size must be page aligned");
	vm_mem_region_add(vm, 0, 0, vm->ram_size, 0);
	vm->low_next = PAGE_SIZE;
	vm->low_end = img->lo;
	vm->high_next = img->hi;
	vm->high_end = vm->ram_size;
}

/*
 * A vCPU in SMM uses KVM's second address space (KVM_CAP_MULTI_ADDRESS_SPACE;
 * memslot ids | 1 << 16), which holds no memory until userspace adds some.
 * Without it an SMI kills the VM: enter_smm() cannot write the state-save
 * area at SMBASE + 0xfe00 and marks the VM dead, and KVM_RUN returns EIO
 * from then on (seen on kvm_amd: a guest's self-SMI; x86_64/smm_test).
 * SMM gets the same RAM (slot 0), as on a machine without SMRAM protection.
 */
static void vm_mirror_ram_for_smm(struct kvm_vm *vm)
{
	struct kvm_mem_region *r = vm_mem_region_find(vm, 0);

	/* Asked per VM: it depends on the VM type (one with private memory has one). */
	if (vm_check_cap(vm, KVM_CAP_MULTI_ADDRESS_SPACE) < 2)
		return;
	vm_set_user_memory_region(vm, 1u << 16, 0, 0, vm->ram_size, r->host_mem);
}

void vm_smm_ram_remap(struct kvm_vm *vm)
{
	struct kvm_mem_region *r = vm_mem_region_find(vm, 0);

	if (vm_check_cap(vm, KVM_CAP_MULTI_ADDRESS_SPACE) < 2)
		return;
	/* A slot's host address cannot change in place: delete it, then add it again. */
	vm_set_user_memory_region(vm, 1u << 16, 0, 0, 0, NULL);
	vm_set_user_memory_region(vm, 1u << 16, 0, 0, vm->ram_size, r->host_mem);
}

struct kvm_vm *vm_create_offline(uint64_t ram_size)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));

	TEST_ASSERT(vm, "out of memory");
	vm->fd = -1;
	vm->kvm_fd = -1;
	vm_init_memory(vm, ram_size);
	virt_pgd_alloc(vm);
	vm->elf_lo = self_elf_image()->lo;
	vm_identity_map_ram(vm);
	return vm;
}

/* Which ioctl the last __vm_create_opts() failure came from, for the checked form. */
static const char *vm_create_failed_ioctl = "KVM_CREATE_VM";

struct kvm_vm *__vm_create_opts(const struct vm_opts *opts)
{
	struct kvm_vm *vm = calloc(1, sizeof(*vm));
	int err;

	TEST_ASSERT(vm, "out of memory");
	vm->kvm_fd = kvm_dev_fd();
	do {
		vm->fd = ioctl(vm->kvm_fd, KVM_CREATE_VM, opts->type);
	} while (vm->fd < 0 && errno == EINTR);
	vm_create_failed_ioctl = "KVM_CREATE_VM";
	if (vm->fd < 0)
		goto fail;

	if (opts->irqchip) {
		vm_create_failed_ioctl = "KVM_CREATE_IRQCHIP";
		if (__vm_ioctl(vm, KVM_CREATE_IRQCHIP, NULL))
			goto fail;
		vm->has_irqchip = true;
	}
	vm->keep_mp_state = opts->keep_mp_state;

	vm_init_memory(vm, opts->ram_size);
	vm_mirror_ram_for_smm(vm);
	virt_pgd_alloc(vm);
	if (!opts->no_elf) {
		vm_load_elf(vm);
		vm_identity_map_ram(vm);
		vm_setup_descriptor_tables(vm);
	}
	return vm;

fail:
	err = errno;
	if (vm->fd >= 0)
		close(vm->fd);
	free(vm);
	errno = err;
	return NULL;
}

struct kvm_vm *vm_create_opts_at(const struct vm_opts *opts, const char *file,
				 unsigned int line)
{
	struct kvm_vm *vm = __vm_create_opts(opts);

	if (!vm)
		kvm_ioctl_fail(file, line, vm_create_failed_ioctl, -1, errno, "VM type %lu",
			       opts->type);
	return vm;
}

struct kvm_vm *vm_create_with_one_vcpu_at(struct kvm_vcpu **vcpu, void *guest_code,
					  const char *file, unsigned int line)
{
	struct kvm_vm *vm = vm_create_opts_at(&(const struct vm_opts){ 0 }, file, line);

	*vcpu = vm_vcpu_add_at(vm, 0, guest_code, file, line);
	return vm;
}

struct kvm_vm *vm_create_with_vcpus_at(unsigned int nr, void *guest_code,
				       struct kvm_vcpu **vcpus, const char *file,
				       unsigned int line)
{
	struct kvm_vm *vm = vm_create_opts_at(&(const struct vm_opts){ 0 }, file, line);

	for (unsigned int i = 0; i < nr; i++)
		vcpus[i] = vm_vcpu_add_at(vm, i, guest_code, file, line);
	return vm;
}

void vcpu_free(struct kvm_vcpu *vcpu);	/* lib/x86_vcpu.c */

void kvm_vm_free(struct kvm_vm *vm)
{
	struct kvm_mem_region *r, *next;

	if (!vm)
		return;
	for (unsigned int i = 0; i < KVM_MAX_TEST_VCPUS; i++)
		if (vm->vcpus[i])
			vcpu_free(vm->vcpus[i]);
	if (vm->fd >= 0)
		close(vm->fd);
	for (r = vm->regions; r; r = next) {
		next = r->next;
		if (r->owns_mem)
			munmap(r->host_mem, r->mmap_size);
		free(r);
	}
	free(vm);
}

/* ---- memslots ---- */

int __vm_set_user_memory_region(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				uint64_t gpa, uint64_t size, void *hva)
{
	struct kvm_userspace_memory_region r = {
		.slot = slot,
		.flags = flags,
		.guest_phys_addr = gpa,
		.memory_size = size,
		.userspace_addr = (uint64_t)(uintptr_t)hva,
	};

	if (vm->fd < 0)		/* offline VM: memory only */
		return 0;
	return ioctl(vm->fd, KVM_SET_USER_MEMORY_REGION, &r);
}

void vm_set_user_memory_region_at(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				  uint64_t gpa, uint64_t size, void *hva, const char *file,
				  unsigned int line)
{
	int r = __vm_set_user_memory_region(vm, slot, flags, gpa, size, hva);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_SET_USER_MEMORY_REGION", r, errno,
			       "slot %u, flags %#x, gpa %#lx, size %#lx", slot, flags, gpa, size);
}

struct kvm_mem_region *vm_mem_region_find(struct kvm_vm *vm, uint32_t slot)
{
	for (struct kvm_mem_region *r = vm->regions; r; r = r->next)
		if (r->region.slot == slot)
			return r;
	return NULL;
}

static struct kvm_mem_region *region_find_or_fail(struct kvm_vm *vm, uint32_t slot)
{
	struct kvm_mem_region *r = vm_mem_region_find(vm, slot);

	TEST_ASSERT(r, "no memslot %u in this VM", slot);
	return r;
}

/*
 * Alignment is left to KVM (EINVAL, api.rst KVM_SET_USER_MEMORY_REGION) so
 * that the raw form can show it; the host mapping is rounded up to pages.
 */
int __vm_mem_region_add(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			uint32_t flags, void **hva)
{
	struct kvm_mem_region *r;
	int ret, err;

	TEST_ASSERT(!vm_mem_region_find(vm, slot), "memslot %u already exists", slot);
	r = calloc(1, sizeof(*r));
	TEST_ASSERT(r, "out of memory");
	r->mmap_size = ALIGN_UP(size, PAGE_SIZE);
	r->host_mem = mmap(NULL, r->mmap_size, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	TEST_ASSERT(r->host_mem != MAP_FAILED, "mmap %#lx bytes for slot %u", size, slot);
	r->owns_mem = true;
	r->region = (struct kvm_userspace_memory_region){
		.slot = slot, .flags = flags, .guest_phys_addr = gpa,
		.memory_size = size, .userspace_addr = (uint64_t)(uintptr_t)r->host_mem,
	};
	ret = __vm_set_user_memory_region(vm, slot, flags, gpa, size, r->host_mem);
	if (ret) {
		err = errno;
		munmap(r->host_mem, r->mmap_size);
		free(r);
		errno = err;
		return ret;
	}
	r->next = vm->regions;
	vm->regions = r;
	if (hva)
		*hva = r->host_mem;
	return 0;
}

void *vm_mem_region_add_at(struct kvm_vm *vm, uint32_t slot, uint64_t gpa, uint64_t size,
			   uint32_t flags, const char *file, unsigned int line)
{
	void *hva = NULL;
	int r;

	if (!IS_ALIGNED(gpa | size, PAGE_SIZE))
		test_assert_fail(NULL, file, line, 0, "memslot %u not page aligned: gpa %#lx, "
				 "size %#lx", slot, gpa, size);
	r = __vm_mem_region_add(vm, slot, gpa, size, flags, &hva);
	if (r)
		kvm_ioctl_fail(file, line, "KVM_SET_USER_MEMORY_REGION", r, errno,
			       "add slot %u, flags %#x, gpa %#lx, size %#lx", slot, flags, gpa,
			       size);
	return hva;
}

int __vm_mem_region_delete(struct kvm_vm *vm, uint32_t slot)
{
	struct kvm_mem_region **pp, *r;
	int ret;

	for (pp = &vm->regions; (r = *pp); pp = &r->next)
		if (r->region.slot == slot)
			break;
	TEST_ASSERT(r, "no memslot %u in this VM", slot);
	/* A memslot is deleted by setting its size to zero. */
	ret = __vm_set_user_memory_region(vm, slot, 0, r->region.guest_phys_addr, 0, NULL);
	if (ret)
		return ret;
	*pp = r->next;
	if (r->owns_mem)
		munmap(r->host_mem, r->mmap_size);
	free(r);
	return 0;
}

void vm_mem_region_delete_at(struct kvm_vm *vm, uint32_t slot, const char *file,
			     unsigned int line)
{
	int r = __vm_mem_region_delete(vm, slot);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_SET_USER_MEMORY_REGION", r, errno,
			       "delete slot %u", slot);
}

/* Set an existing slot again with new flags and/or GPA; bookkeeping on success. */
static int region_reset(struct kvm_vm *vm, struct kvm_mem_region *r, uint32_t flags,
			uint64_t gpa)
{
	int ret = __vm_set_user_memory_region(vm, r->region.slot, flags, gpa,
					      r->region.memory_size, r->host_mem);

	if (!ret) {
		r->region.flags = flags;
		r->region.guest_phys_addr = gpa;
	}
	return ret;
}

int __vm_mem_region_move(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa)
{
	struct kvm_mem_region *r = region_find_or_fail(vm, slot);

	return region_reset(vm, r, r->region.flags, new_gpa);
}

void vm_mem_region_move_at(struct kvm_vm *vm, uint32_t slot, uint64_t new_gpa,
			   const char *file, unsigned int line)
{
	int r = __vm_mem_region_move(vm, slot, new_gpa);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_SET_USER_MEMORY_REGION", r, errno,
			       "move slot %u to gpa %#lx", slot, new_gpa);
}

int __vm_mem_region_set_flags(struct kvm_vm *vm, uint32_t slot, uint32_t flags)
{
	struct kvm_mem_region *r = region_find_or_fail(vm, slot);

	return region_reset(vm, r, flags, r->region.guest_phys_addr);
}

void vm_mem_region_set_flags_at(struct kvm_vm *vm, uint32_t slot, uint32_t flags,
				const char *file, unsigned int line)
{
	int r = __vm_mem_region_set_flags(vm, slot, flags);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_SET_USER_MEMORY_REGION", r, errno,
			       "slot %u, set flags %#x", slot, flags);
}

int __vm_get_dirty_log(struct kvm_vm *vm, uint32_t slot, void *bitmap)
{
	struct kvm_dirty_log log = { .slot = slot, .dirty_bitmap = bitmap };

	return __vm_ioctl(vm, KVM_GET_DIRTY_LOG, &log);
}

void vm_get_dirty_log_at(struct kvm_vm *vm, uint32_t slot, void *bitmap, const char *file,
			 unsigned int line)
{
	int r = __vm_get_dirty_log(vm, slot, bitmap);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_GET_DIRTY_LOG", r, errno, "slot %u", slot);
}

int __vm_clear_dirty_log(struct kvm_vm *vm, uint32_t slot, void *bitmap,
			 uint64_t first_page, uint32_t num_pages)
{
	struct kvm_clear_dirty_log log = {
		.slot = slot, .first_page = first_page, .num_pages = num_pages,
		.dirty_bitmap = bitmap,
	};

	return __vm_ioctl(vm, KVM_CLEAR_DIRTY_LOG, &log);
}

void vm_clear_dirty_log_at(struct kvm_vm *vm, uint32_t slot, void *bitmap,
			   uint64_t first_page, uint32_t num_pages, const char *file,
			   unsigned int line)
{
	int r = __vm_clear_dirty_log(vm, slot, bitmap, first_page, num_pages);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_CLEAR_DIRTY_LOG", r, errno,
			       "slot %u, first page %lu, %u pages", slot, first_page, num_pages);
}

/* ---- guest physical memory ---- */

uint64_t vm_phys_alloc_low(struct kvm_vm *vm, unsigned int npages)
{
	uint64_t gpa = vm->low_next;

	TEST_ASSERT(gpa + npages * PAGE_SIZE <= vm->low_end,
		    "out of low guest memory (%u pages wanted)", npages);
	vm->low_next += npages * PAGE_SIZE;
	return gpa;
}

uint64_t vm_phys_alloc(struct kvm_vm *vm, unsigned int npages)
{
	uint64_t gpa = vm->high_next;

	/* Slot 0 is never handed out twice, so its pages are still zero. */
	TEST_ASSERT(gpa + npages * PAGE_SIZE <= vm->high_end,
		    "out of guest memory (%u pages wanted, RAM %#lx)", npages, vm->ram_size);
	vm->high_next += npages * PAGE_SIZE;
	return gpa;
}

void *__addr_gpa2hva(struct kvm_vm *vm, uint64_t gpa)
{
	for (struct kvm_mem_region *r = vm->regions; r; r = r->next) {
		uint64_t base = r->region.guest_phys_addr;

		if (gpa >= base && gpa - base < r->region.memory_size)
			return (uint8_t *)r->host_mem + (gpa - base);
	}
	return NULL;
}

void *addr_gpa2hva_at(struct kvm_vm *vm, uint64_t gpa, const char *file, unsigned int line)
{
	void *hva = __addr_gpa2hva(vm, gpa);

	if (!hva)
		test_assert_fail(NULL, file, line, 0, "no memslot backs GPA %#lx", gpa);
	return hva;
}

bool __addr_hva2gpa(struct kvm_vm *vm, const void *hva, uint64_t *gpa)
{
	for (struct kvm_mem_region *r = vm->regions; r; r = r->next) {
		uintptr_t base = (uintptr_t)r->host_mem;

		if ((uintptr_t)hva >= base && (uintptr_t)hva - base < r->region.memory_size) {
			*gpa = r->region.guest_phys_addr + ((uintptr_t)hva - base);
			return true;
		}
	}
	return false;
}

uint64_t addr_hva2gpa_at(struct kvm_vm *vm, const void *hva, const char *file,
			 unsigned int line)
{
	uint64_t gpa;

	if (!__addr_hva2gpa(vm, hva, &gpa))
		test_assert_fail(NULL, file, line, 0, "host address %p is not guest memory", hva);
	return gpa;
}

uint64_t addr_gva2gpa_at(struct kvm_vm *vm, uint64_t gva, const char *file, unsigned int line)
{
	uint64_t gpa;

	if (!__addr_gva2gpa(vm, gva, &gpa))
		test_assert_fail(NULL, file, line, 0, "GVA %#lx is not mapped", gva);
	return gpa;
}

void *addr_gva2hva_at(struct kvm_vm *vm, uint64_t gva, const char *file, unsigned int line)
{
	return addr_gpa2hva_at(vm, addr_gva2gpa_at(vm, gva, file, line), file, line);
}

void vm_install_exception_handler(struct kvm_vm *vm, unsigned int vector, void *handler)
{
	guest_handler_t *table = addr_gva2hva(vm, (uint64_t)(uintptr_t)guest_exception_handlers);

	TEST_ASSERT(vector < NR_VECTORS, "bad vector %u", vector);
	table[vector] = (guest_handler_t)handler;
}

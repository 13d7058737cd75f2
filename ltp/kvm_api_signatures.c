// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP's KVM Test API document, checked name by name: every function is
 * declared again here with the prototype the document gives, so an
 * incompatible signature in the suite's headers is a compile error, and
 * every struct's field types and order are static assertions.  At run time
 * the payload checks the bit positions of struct page_table_entry_pae
 * (SDM vol. 3A 4.5, table 4-19) and the controller those of struct
 * tst_kvm_result.  An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#define SAME_TYPE(a, b)	__builtin_types_compatible_p(__typeof__(a), b)
#define FIELD(s, f)	(((struct s *)0)->f)

#ifdef COMPILE_PAYLOAD

/* 3.1 */
void *memset(void *dest, int val, size_t size);
void *memzero(void *dest, size_t size);
void *memcpy(void *dest, const void *src, size_t size);
char *strcpy(char *dest, const char *src);
char *strcat(char *dest, const char *src);
size_t strlen(const char *str);
/* 3.3 */
void *tst_heap_alloc(size_t size);
void *tst_heap_alloc_aligned(size_t size, size_t align);
/* 3.4 */
uintptr_t kvm_get_interrupt_ip(const struct kvm_interrupt_frame *ifrm);
void tst_set_interrupt_callback(unsigned int vector, tst_interrupt_callback func,
				void *userdata);
uintptr_t kvm_get_page_address_pae(const struct page_table_entry_pae *entry);
void kvm_get_cpuid(unsigned int eax, unsigned int ecx, struct kvm_cpuid *buf);
void kvm_read_cregs(struct kvm_cregs *buf);
uint64_t kvm_rdmsr(unsigned int msr);
void kvm_wrmsr(unsigned int msr, uint64_t value);
void kvm_exit(void) __attribute__((noreturn));

_Static_assert(SAME_TYPE(tst_interrupt_callback,
			 int (*)(void *, struct kvm_interrupt_frame *, unsigned long)),
	       "tst_interrupt_callback");
_Static_assert(SAME_TYPE(FIELD(kvm_cpuid, eax), unsigned int) &&
	       SAME_TYPE(FIELD(kvm_cpuid, edx), unsigned int) &&
	       offsetof(struct kvm_cpuid, ebx) == 4 && offsetof(struct kvm_cpuid, ecx) == 8 &&
	       offsetof(struct kvm_cpuid, edx) == 12, "struct kvm_cpuid");
_Static_assert(SAME_TYPE(FIELD(kvm_cregs, cr0), unsigned long) &&
	       SAME_TYPE(FIELD(kvm_cregs, cr4), unsigned long) &&
	       offsetof(struct kvm_cregs, cr2) == 8 && offsetof(struct kvm_cregs, cr3) == 16 &&
	       offsetof(struct kvm_cregs, cr4) == 24, "struct kvm_cregs");
_Static_assert(sizeof(struct page_table_entry_pae) == 8, "struct page_table_entry_pae");
_Static_assert(ARRAY_SIZE((int[5]){ 0 }) == 5 && LTP_ALIGN(5, 4) == 8, "ARRAY_SIZE, LTP_ALIGN");

/* tst_brk() does not return: no "control reaches end" warning here. */
static int never_returns(void)
{
	tst_brk(TBROK, "unreachable");
}

/* One field set to all ones: the raw entry must be exactly mask. */
#define PTE_FIELD(field, mask) do {						\
	union { struct page_table_entry_pae e; uint64_t raw; } u = { .raw = 0 };	\
										\
	u.e.field = ~u.e.field;						\
	if (u.raw != (mask)) {							\
		tst_res(TFAIL, #field " is 0x%016lx, not 0x%016lx", u.raw,	\
			(uint64_t)(mask));					\
		bad++;								\
	}									\
} while (0)

void main(void)
{
	int bad = 0;

	if (bad)
		never_returns();
	PTE_FIELD(present, 1ULL << 0);
	PTE_FIELD(writable, 1ULL << 1);
	PTE_FIELD(user_access, 1ULL << 2);
	PTE_FIELD(write_through, 1ULL << 3);
	PTE_FIELD(disable_cache, 1ULL << 4);
	PTE_FIELD(accessed, 1ULL << 5);
	PTE_FIELD(dirty, 1ULL << 6);
	PTE_FIELD(page_type, 1ULL << 7);
	PTE_FIELD(global, 1ULL << 8);
	PTE_FIELD(padding, 7ULL << 9);
	PTE_FIELD(address, 0x000ffffffffff000ULL);
	PTE_FIELD(padding2, 0x7fULL << 52);
	PTE_FIELD(prot_key, 0xfULL << 59);
	PTE_FIELD(noexec, 1ULL << 63);
	if (!bad)
		tst_res(TPASS, "struct page_table_entry_pae: each field at its SDM bits");
}

#else /* COMPILE_PAYLOAD */

/* 2.2 */
void tst_kvm_setup(void);
void tst_kvm_run(void);
void tst_kvm_cleanup(void);
void tst_kvm_validate_result(int value);
uint64_t tst_kvm_get_phys_address(const struct tst_kvm_instance *inst, uint64_t addr);
int tst_kvm_find_phys_memslot(const struct tst_kvm_instance *inst, uint64_t paddr);
int tst_kvm_find_memslot(const struct tst_kvm_instance *inst, uint64_t addr);
void *tst_kvm_get_memptr(const struct tst_kvm_instance *inst, uint64_t addr);
void *tst_kvm_alloc_memory(struct tst_kvm_instance *inst, unsigned int slot,
			   uint64_t baseaddr, size_t size, unsigned int flags);
struct kvm_cpuid2 *tst_kvm_get_cpuid(int sysfd);
void tst_kvm_create_instance(struct tst_kvm_instance *inst, size_t ram_size);
void tst_kvm_run_instance(struct tst_kvm_instance *inst);
void tst_kvm_destroy_instance(struct tst_kvm_instance *inst);

/* 2.1: the fields, their types and their order. */
#define INST(f)	FIELD(tst_kvm_instance, f)
_Static_assert(SAME_TYPE(INST(vm_fd), int) && SAME_TYPE(INST(vcpu_fd), int) &&
	       SAME_TYPE(INST(vcpu_info), struct kvm_run *) &&
	       SAME_TYPE(INST(vcpu_info_size), size_t) &&
	       SAME_TYPE(INST(ram), struct kvm_userspace_memory_region[MAX_KVM_MEMSLOTS]) &&
	       SAME_TYPE(INST(result), struct tst_kvm_result *), "struct tst_kvm_instance types");
_Static_assert(offsetof(struct tst_kvm_instance, vm_fd) < offsetof(struct tst_kvm_instance, vcpu_fd) &&
	       offsetof(struct tst_kvm_instance, vcpu_fd) < offsetof(struct tst_kvm_instance, vcpu_info) &&
	       offsetof(struct tst_kvm_instance, vcpu_info) <
	       offsetof(struct tst_kvm_instance, vcpu_info_size) &&
	       offsetof(struct tst_kvm_instance, vcpu_info_size) < offsetof(struct tst_kvm_instance, ram) &&
	       offsetof(struct tst_kvm_instance, ram) < offsetof(struct tst_kvm_instance, result),
	       "struct tst_kvm_instance order");
#define RES(f)	FIELD(tst_kvm_result, f)
_Static_assert(SAME_TYPE(RES(result), int32_t) && SAME_TYPE(RES(lineno), int32_t) &&
	       SAME_TYPE(RES(file_addr), uint64_t) && SAME_TYPE(RES(message), char[0]) &&
	       offsetof(struct tst_kvm_result, lineno) == 4 &&
	       offsetof(struct tst_kvm_result, file_addr) == 8 &&
	       offsetof(struct tst_kvm_result, message) == 16, "struct tst_kvm_result");

static void run(void)
{
	tst_res(TPASS, "the document's prototypes and struct layouts compiled (host side)");
	tst_kvm_run();
}

static struct tst_test test = {
	.test_all = run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */

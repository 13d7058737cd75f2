// SPDX-License-Identifier: GPL-2.0-only
/*
 * Guest half of the LTP-style API (include/tst_test.h): results through
 * the result page and a ucall, the heap, interrupt callbacks and the CPU
 * helpers.
 */
#include <stdarg.h>

#include "guest/tst.h"
#include "kvm_x86.h"

uint64_t tst_heap_base, tst_heap_end;
static uint64_t heap_next;

static struct tst_kvm_result *result_page(void)
{
	return (struct tst_kvm_result *)(uintptr_t)TST_KVM_RESULT_ADDR;
}

/*
 * Fill the result page and tell the host; it reads the message from the
 * page, so the ucall itself carries only the type.
 */
static void report(uint32_t cmd, const char *file, int lineno, int result,
		   const char *fmt, va_list ap)
{
	struct tst_kvm_result *res = result_page();
	const uint64_t args[UCALL_MAX_ARGS] = { (uint64_t)result };

	res->result = result;
	res->lineno = lineno;
	res->file_addr = (uintptr_t)file;
	guest_vsnprintf(res->message, TST_KVM_MESSAGE_SIZE, fmt, ap);
	guest_ucall_msg(cmd, file, lineno, 1, args, res->message);
}

void tst_res_(const char *file, int lineno, int result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(UCALL_TST_RES, file, lineno, result, fmt, ap);
	va_end(ap);
}

void tst_brk_(const char *file, int lineno, int result, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	report(UCALL_TST_BRK, file, lineno, result, fmt, ap);
	va_end(ap);
	/* The host never resumes a guest after tst_brk(); make sure of it. */
	GUEST_FAIL("host resumed the guest after tst_brk()");
}

void kvm_exit(void)
{
	GUEST_DONE();
	GUEST_FAIL("host resumed the guest after kvm_exit()");
}

void tst_signal_host(void *data)
{
	struct tst_kvm_result *res = result_page();

	res->file_addr = (uintptr_t)data;
	__atomic_store_n(&res->result, KVM_TSYNC, __ATOMIC_SEQ_CST);
}

void tst_wait_host(void *data)
{
	struct tst_kvm_result *res = result_page();

	tst_signal_host(data);
	while (__atomic_load_n(&res->result, __ATOMIC_SEQ_CST) == KVM_TSYNC)
		asm volatile("pause");
}

/*
 * Zero [start, end): REP STOSQ for the 8-byte-aligned middle.  kvm_pvm
 * charges every REP iteration like an instruction (~0.5 us), so zeroing
 * a 4 MiB heap byte by byte took 2 s and eight bytes at a time ~0.25 s.
 */
static void heap_zero(uint64_t start, uint64_t end)
{
	uint64_t mid = LTP_ALIGN(start, 8), tail = end & ~7ULL, words;

	if (mid >= tail) {
		memset((void *)(uintptr_t)start, 0, end - start);
		return;
	}
	memset((void *)(uintptr_t)start, 0, mid - start);
	memset((void *)(uintptr_t)tail, 0, end - tail);
	words = (tail - mid) / 8;
	asm volatile("rep stosq" : "+D"(mid), "+c"(words) : "a"(0UL) : "memory");
}

void *tst_heap_alloc_aligned(size_t size, size_t align)
{
	uint64_t start, end;

	if (!heap_next)
		heap_next = tst_heap_base;
	if (!align || (align & (align - 1)))
		tst_brk(TBROK, "tst_heap_alloc_aligned(%zu, %zu): alignment must be a power of 2",
			size, align);
	start = LTP_ALIGN(heap_next, (uint64_t)align);
	end = start + size;
	/* start < heap_next: the alignment wrapped around. */
	if (start < heap_next || end < start || end > tst_heap_end)
		tst_brk(TBROK, "heap exhausted: asked %zu bytes aligned to %zu, %lu of %lu bytes left",
			size, align, tst_heap_end - heap_next, tst_heap_end - tst_heap_base);
	heap_next = end;
	heap_zero(start, end);
	return (void *)(uintptr_t)start;
}

void *tst_heap_alloc(size_t size)
{
	/* LTP aligns to pointer size. */
	return tst_heap_alloc_aligned(size, sizeof(void *));
}

static struct {
	tst_interrupt_callback func;
	void *userdata;
} callbacks[NR_VECTORS];

static void callback_dispatch(struct ex_regs *regs)
{
	/* ex_regs keeps RIP, CS, RFLAGS, RSP, SS in the CPU's frame order. */
	struct kvm_interrupt_frame *ifrm = (struct kvm_interrupt_frame *)&regs->rip;
	unsigned int vector = regs->vector;

	if (callbacks[vector].func &&
	    !callbacks[vector].func(callbacks[vector].userdata, ifrm, regs->error_code))
		return;
	tst_brk(TBROK, "Unhandled interrupt %u at RIP 0x%lx, error code 0x%lx "
		"(callback returned non-zero)",
		vector, regs->rip, regs->error_code);
}

void tst_set_interrupt_callback(unsigned int vector, tst_interrupt_callback func, void *userdata)
{
	if (vector >= NR_VECTORS)
		tst_brk(TBROK, "tst_set_interrupt_callback: bad vector %u", vector);
	callbacks[vector].func = func;
	callbacks[vector].userdata = userdata;
	/* NULL: back to the default handler, which ends the run. */
	guest_install_handler(vector, func ? callback_dispatch : NULL);
}

uintptr_t kvm_get_page_address_pae(const struct page_table_entry_pae *entry)
{
	if (!entry->present)
		return 0;
	return (uintptr_t)entry->address << 12;
}

void kvm_get_cpuid(unsigned int eax, unsigned int ecx, struct kvm_cpuid *buf)
{
	asm volatile("cpuid"
		     : "=a"(buf->eax), "=b"(buf->ebx), "=c"(buf->ecx), "=d"(buf->edx)
		     : "a"(eax), "c"(ecx));
}

void kvm_read_cregs(struct kvm_cregs *buf)
{
	buf->cr0 = get_cr0();
	buf->cr2 = get_cr2();
	buf->cr3 = get_cr3();
	buf->cr4 = get_cr4();
}

uint64_t kvm_rdmsr(unsigned int msr)
{
	return rdmsr(msr);
}

void kvm_wrmsr(unsigned int msr, uint64_t value)
{
	wrmsr(msr, value);
}

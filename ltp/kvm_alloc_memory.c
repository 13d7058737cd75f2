// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 2.1 and 2.2, the host library: tst_kvm_alloc_memory()
 * with a base address that is not page aligned returns the page-aligned
 * start of a guarded buffer, the requested base lands at ret + baseaddr %
 * page size, and the memslot covers the whole pages (ram[slot]); below 2
 * GiB (identity map) and above 4 GiB (mapped for it) the payload reads what
 * the controller wrote there and writes back; tst_kvm_find_memslot(),
 * tst_kvm_find_phys_memslot() and tst_kvm_get_memptr() find it; the
 * instance's vm_fd, vcpu_fd, vcpu_info, vcpu_info_size and result fields
 * are what the document says.  An LTP-form test (include/kvm_test.h).
 */
#include "kvm_test.h"

#define LOW_BASE	0x60000123UL	/* not page aligned */
#define HIGH_BASE	0x140000808UL	/* above 4 GiB, not page aligned */
#define BUF_SIZE	5000

#ifdef COMPILE_PAYLOAD

void main(void)
{
	volatile uint64_t *low = (void *)LOW_BASE, *high = (void *)HIGH_BASE;

	if (low[0] != 0x1111222233334444ULL || high[0] != 0x5555666677778888ULL) {
		tst_res(TFAIL, "read 0x%lx at 0x%lx and 0x%lx at 0x%lx", low[0], LOW_BASE,
			high[0], HIGH_BASE);
		return;
	}
	low[BUF_SIZE / 8 - 1] = low[0] + 1;	/* the last word of the requested size */
	high[BUF_SIZE / 8 - 1] = high[0] + 1;
	tst_res(TPASS, "the payload reads the controller's words at 0x%lx and 0x%lx",
		LOW_BASE, HIGH_BASE);
}

#else /* COMPILE_PAYLOAD */

static struct tst_kvm_instance inst;
static uint8_t *low, *high;

static void check_buffer(unsigned int slot, const uint8_t *buf, uint64_t base)
{
	const struct kvm_userspace_memory_region *r = &inst.ram[slot];
	uint64_t page = base & ~0xfffUL, size = (base - page + BUF_SIZE + 0xfff) & ~0xfffUL;

	if ((uintptr_t)buf & 0xfff)
		tst_res(TFAIL, "slot %u: buffer %p is not page aligned", slot, buf);
	else if (r->guest_phys_addr != page || r->memory_size != size ||
		 r->userspace_addr != (uintptr_t)buf || r->slot != slot)
		tst_res(TFAIL, "ram[%u]: slot %u gpa 0x%llx size 0x%llx hva 0x%llx, expected "
			"gpa 0x%lx size 0x%lx hva %p", slot, r->slot, r->guest_phys_addr,
			r->memory_size, r->userspace_addr, page, size, buf);
	else if (tst_kvm_find_memslot(&inst, base) != (int)slot ||
		 tst_kvm_find_phys_memslot(&inst, page + size - 1) != (int)slot ||
		 tst_kvm_find_phys_memslot(&inst, page + size) == (int)slot)
		tst_res(TFAIL, "slot %u: find_memslot(0x%lx) %d, find_phys_memslot(end) %d",
			slot, base, tst_kvm_find_memslot(&inst, base),
			tst_kvm_find_phys_memslot(&inst, page + size - 1));
	else if (tst_kvm_get_memptr(&inst, base) != buf + base % 0x1000)
		tst_res(TFAIL, "slot %u: get_memptr(0x%lx) = %p, expected %p", slot, base,
			tst_kvm_get_memptr(&inst, base), buf + base % 0x1000);
	else
		tst_res(TPASS, "slot %u: base 0x%lx at ret + 0x%lx, slot gpa 0x%lx size 0x%lx",
			slot, base, base % 0x1000, page, size);
}

static void setup(void)
{
	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
}

static void run(void)
{
	low = tst_kvm_alloc_memory(&inst, 1, LOW_BASE, BUF_SIZE, 0);
	high = tst_kvm_alloc_memory(&inst, 2, HIGH_BASE, BUF_SIZE, 0);
	*(uint64_t *)(low + LOW_BASE % 0x1000) = 0x1111222233334444ULL;
	*(uint64_t *)(high + HIGH_BASE % 0x1000) = 0x5555666677778888ULL;
	check_buffer(1, low, LOW_BASE);
	check_buffer(2, high, HIGH_BASE);
	if (inst.vm_fd < 0 || inst.vcpu_fd < 0 || !inst.vcpu_info ||
	    inst.vcpu_info_size < sizeof(struct kvm_run) || !inst.ram[0].userspace_addr ||
	    !inst.result)
		tst_res(TFAIL, "instance: vm_fd %d vcpu_fd %d vcpu_info %p size %zu ram[0] 0x%llx",
			inst.vm_fd, inst.vcpu_fd, inst.vcpu_info, inst.vcpu_info_size,
			inst.ram[0].userspace_addr);

	tst_kvm_run_instance(&inst);
	if (*(uint64_t *)(low + LOW_BASE % 0x1000 + BUF_SIZE / 8 * 8 - 8) != 0x1111222233334445ULL ||
	    *(uint64_t *)(high + HIGH_BASE % 0x1000 + BUF_SIZE / 8 * 8 - 8) != 0x5555666677778889ULL)
		tst_res(TFAIL, "the payload's writes did not reach the buffers");
	else if (inst.vcpu_info->exit_reason != KVM_EXIT_IO || inst.result->result != TPASS)
		tst_res(TFAIL, "vcpu_info->exit_reason %u, result->result %d after the run",
			inst.vcpu_info->exit_reason, inst.result->result);
	else
		tst_res(TPASS, "the payload's writes are in the buffers; vcpu_info and result "
			"show its last exit and result");
	/* The buffers outlive the VM until tst_free_all(). */
	tst_kvm_destroy_instance(&inst);
	low[0] = 1;
	tst_free_all();
	tst_kvm_create_instance(&inst, DEFAULT_RAM_SIZE);
}

static void cleanup(void)
{
	if (inst.vm)
		tst_kvm_destroy_instance(&inst);
	tst_free_all();
}

static struct tst_test test = {
	.test_all = run,
	.setup = setup,
	.cleanup = cleanup,
};

#endif /* COMPILE_PAYLOAD */

// SPDX-License-Identifier: GPL-2.0-only
/*
 * Resource hygiene of the library and of KVM: 10,000 VM lifecycles in one
 * process (create VM + vCPU + load the ELF + run to the first ucall +
 * destroy) leave the number of open fds and the RSS where they were after
 * a warm-up.  A leak of one fd or of 1 KiB per VM would show as 10,000 fds
 * or ~10 MiB.  VM_HYGIENE_COUNT=N changes the count.
 */
#include <dirent.h>
#include <stdlib.h>
#include <unistd.h>

#include "guest/ucall.h"
#include "kvm_test_harness.h"

#define WARMUP		200
#define RSS_SLACK_KB	2048	/* allocator noise, not per-VM growth */

static void guest_sync(void)
{
	GUEST_SYNC(7);
}

/*
 * Under SANITIZE=1, ASan's allocator keeps freed blocks in a quarantine (up
 * to 256 MiB) to catch use-after-free, and its own bookkeeping grows too
 * (seen here: RSS +1 KiB per VM while malloc'd bytes stayed flat), so RSS
 * is not a leak gauge there.  Its runtime instead reports the bytes the program holds through
 * malloc, which is the exact measure: those must stay flat.  Without ASan
 * the weak symbol is NULL and RSS is checked.
 */
extern size_t __sanitizer_get_current_allocated_bytes(void) __attribute__((weak));
#define HEAP_SLACK_BYTES	(64 * 1024)

static unsigned int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned int n = 0;

	while (d && readdir(d))
		n++;
	if (d)
		closedir(d);
	return n;
}

static long rss_kb(void)
{
	long pages = 0, resident = 0;
	FILE *f = fopen("/proc/self/statm", "r");

	if (f) {
		if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
			resident = 0;
		fclose(f);
	}
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void lifecycle(void)
{
	struct kvm_vcpu *vcpu;
	struct kvm_vm *vm = vm_create_with_one_vcpu(&vcpu, guest_sync);

	vcpu_run_expect_sync(vcpu, 7);
	kvm_vm_free(vm);
}

/* ~15 s on kvm_pvm, minutes under QEMU TCG: past the harness's 30 s default. */
KVM_TEST_TIMEOUT(ten_thousand_vms_leave_fds_and_rss_flat, 900)
{
	const char *env = getenv("VM_HYGIENE_COUNT");
	unsigned long count = env ? strtoul(env, NULL, 0) : 10000;
	unsigned int fds0, fds1;
	long rss0, rss1;
	size_t heap0 = 0, heap1 = 0;
	uint64_t start;

	ASSERT_GT(count, WARMUP) TH_LOG("VM_HYGIENE_COUNT must exceed %u", WARMUP);
	for (unsigned int i = 0; i < WARMUP; i++)
		lifecycle();
	fds0 = open_fds();
	rss0 = rss_kb();
	if (__sanitizer_get_current_allocated_bytes)
		heap0 = __sanitizer_get_current_allocated_bytes();
	start = now_ns();
	for (unsigned long i = WARMUP; i < count; i++)
		lifecycle();
	fds1 = open_fds();
	rss1 = rss_kb();
	if (__sanitizer_get_current_allocated_bytes)
		heap1 = __sanitizer_get_current_allocated_bytes();
	printf("# %lu VM lifecycles: %lu us each; fds %u -> %u; RSS %ld -> %ld KiB\n", count,
	       (now_ns() - start) / 1000 / (count - WARMUP), fds0, fds1, rss0, rss1);
	EXPECT_EQ(fds1, fds0);
	if (__sanitizer_get_current_allocated_bytes) {
		printf("# ASan build: malloc'd bytes %zu -> %zu (RSS not checked: quarantine)\n",
		       heap0, heap1);
		EXPECT_LE(heap1, heap0 + HEAP_SLACK_BYTES);
	} else {
		EXPECT_LE(rss1, rss0 + RSS_SLACK_KB);
	}
}

TEST_HARNESS_MAIN

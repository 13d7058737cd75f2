// SPDX-License-Identifier: GPL-2.0-only
/*
 * Host side of the RAS tests: KVM's MCE ioctls (api.rst KVM_X86_SETUP_MCE,
 * KVM_X86_SET_MCE, KVM_X86_GET_MCE_CAP_SUPPORTED), mcelog-style log lines,
 * guest page -> host PFN translation and the VMM's SIGBUS path.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "mce.h"

uint64_t kvm_mce_cap_supported(void)
{
	uint64_t cap = 0;

	TEST_REQUIRE_CAP(KVM_CAP_MCE);
	kvm_ioctl(kvm_dev_fd(), KVM_X86_GET_MCE_CAP_SUPPORTED, &cap);
	return cap;
}

int __vcpu_setup_mce(struct kvm_vcpu *vcpu, uint64_t mcg_cap)
{
	return __vcpu_ioctl(vcpu, KVM_X86_SETUP_MCE, &mcg_cap);
}

/* What mce_log() classifies with: the guest's MCG_CAP of the last vcpu_setup_mce(). */
static uint64_t log_mcg_cap = MCG_SER_P;

void vcpu_setup_mce_at(struct kvm_vcpu *vcpu, uint64_t mcg_cap, const char *file,
		       unsigned int line)
{
	int r = __vcpu_setup_mce(vcpu, mcg_cap);

	if (r)
		kvm_ioctl_fail(file, line, "KVM_X86_SETUP_MCE", r, errno, "mcg_cap %#lx", mcg_cap);
	log_mcg_cap = vcpu_mcg_cap_at(vcpu, file, line);
}

uint64_t vcpu_mcg_cap_at(struct kvm_vcpu *vcpu, const char *file, unsigned int line)
{
	return vcpu_get_msr_at(vcpu, MSR_IA32_MCG_CAP, file, line);
}

bool vcpu_mce_ser_p(struct kvm_vcpu *vcpu, uint64_t mcg_cap, char *why, size_t len)
{
	uint64_t read = vcpu_mcg_cap(vcpu);

	if (read & MCG_SER_P)
		return true;
	if (!(mcg_cap & MCG_SER_P))
		snprintf(why, len, "the guest's MCG_CAP lacks MCG_SER_P (set %#lx without it: "
			 "KVM_X86_GET_MCE_CAP_SUPPORTED %#lx; read %#lx)", mcg_cap,
			 kvm_mce_cap_supported(), read);
	else if (!strcmp(kvm_platform_name(), "kvm_amd"))
		snprintf(why, len, "the guest's MCG_CAP lacks MCG_SER_P (set %#lx, read %#lx: "
			 "kvm_amd's svm_setup_mce() keeps bits 8:0 only, although "
			 "KVM_X86_GET_MCE_CAP_SUPPORTED offers SER_P and a capability it offers "
			 "should take effect)", mcg_cap, read);
	else
		snprintf(why, len, "the guest's MCG_CAP lacks MCG_SER_P (set %#lx, read %#lx: "
			 "%s accepted KVM_X86_SETUP_MCE but did not apply it)", mcg_cap, read,
			 kvm_platform_name());
	return false;
}

int __vcpu_inject_mce(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *mce)
{
	return __vcpu_ioctl(vcpu, KVM_X86_SET_MCE, mce);
}

void vcpu_inject_mce_at(struct kvm_vcpu *vcpu, const struct kvm_x86_mce *mce, const char *file,
			unsigned int line)
{
	int r = __vcpu_inject_mce(vcpu, mce), err = errno;
	char s[128];

	if (r)
		kvm_ioctl_fail(file, line, "KVM_X86_SET_MCE", r, err, "bank %u, status %#llx [%s]",
			       mce->bank, (unsigned long long)mce->status,
			       mce_status_str(mce->status, s, sizeof(s)));
}

char *mce_status_str(uint64_t status, char *buf, size_t len)
{
	static const struct { uint64_t bit; const char *name; } bits[] = {
		{ MCI_STATUS_VAL, "VAL" }, { MCI_STATUS_OVER, "OVER" }, { MCI_STATUS_UC, "UC" },
		{ MCI_STATUS_EN, "EN" }, { MCI_STATUS_MISCV, "MISCV" },
		{ MCI_STATUS_ADDRV, "ADDRV" }, { MCI_STATUS_PCC, "PCC" }, { MCI_STATUS_S, "S" },
		{ MCI_STATUS_AR, "AR" },
	};
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < ARRAY_SIZE(bits) && n < len; i++)
		if (status & bits[i].bit)
			n += snprintf(buf + n, len - n, "%s%s", n ? " " : "", bits[i].name);
	if (n < len)
		snprintf(buf + n, len - n, "%sMCACOD %#lx", n ? " " : "", status & 0xffff);
	return buf;
}

static char *mcg_status_str(uint64_t st, char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s%s%s%s", st & MCG_STATUS_RIPV ? "RIPV " : "",
		 st & MCG_STATUS_EIPV ? "EIPV " : "", st & MCG_STATUS_MCIP ? "MCIP " : "",
		 st & MCG_STATUS_LMCES ? "LMCE_S " : "");
	n = strlen(buf);
	if (n)
		buf[n - 1] = '\0';
	return buf;
}

void mce_log(const char *what, const struct kvm_x86_mce *mce, const char *action)
{
	char s[128], g[64];

	printf("# mce: %s: bank %u status %#llx [%s] (%s) addr %#llx misc %#llx mcg_status "
	       "%#llx [%s] -> %s\n", what, mce->bank, (unsigned long long)mce->status,
	       mce_status_str(mce->status, s, sizeof(s)),
	       mce_class_name(mce_classify(mce->status, log_mcg_cap)),
	       (unsigned long long)mce->addr, (unsigned long long)mce->misc,
	       (unsigned long long)mce->mcg_status,
	       mcg_status_str(mce->mcg_status, g, sizeof(g)), action);
}

void mce_log_event(const struct mce_event *ev)
{
	char s[128], g[64];

	printf("# mce: guest %s: bank %u ctl %#lx status %#lx [%s] (%s) addr %#lx misc %#lx "
	       "at RIP %#lx mcg_status [%s] mcg_cap %#lx -> ", ev->mcg_status ? "#MC" : "poll",
	       ev->bank, ev->ctl, ev->status, mce_status_str(ev->status, s, sizeof(s)),
	       mce_class_name(ev->class), ev->addr, ev->misc, ev->rip,
	       mcg_status_str(ev->mcg_status, g, sizeof(g)), ev->mcg_cap);
	switch (ev->action) {
	case MCE_ACT_MEMORY_FAILURE:
		printf("GPA %#lx poisoned, %s", ev->page, ev->identity_unmapped ?
		       "identity mapping removed" : "had no identity mapping");
		if (ev->victim_va)
			printf(", VA %#lx remapped to fresh page %#lx\n", ev->victim_va,
			       ev->new_gpa);
		else
			printf(", no victim mapping to move\n");
		break;
	case MCE_ACT_IGNORE:
		printf("ignored: %s\n", mce_reason_str(ev->reason));
		break;
	case MCE_ACT_FATAL:
		printf("FATAL: %s\n", mce_reason_str(ev->reason));
		break;
	default:
		printf("logged only%s%s\n", ev->reason ? ", no action: " : "",
		       mce_reason_str(ev->reason));
		break;
	}
}

/* ---- guest page -> host PFN ---- */

int __hva_pagemap(const void *hva, uint64_t *entry)
{
	int fd = open("/proc/self/pagemap", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, entry, sizeof(*entry), (uintptr_t)hva / PAGE_SIZE * sizeof(*entry));
	close(fd);
	if (n != sizeof(*entry))
		return n < 0 ? -errno : -EIO;
	return 0;
}

int __hva_to_pfn(const void *hva, uint64_t *pfn)
{
	uint64_t entry;
	int r = __hva_pagemap(hva, &entry);

	if (r)
		return r;
	if (!(entry & PAGEMAP_PRESENT))
		return -ENOENT;		/* not present: never touched, swapped or poisoned */
	*pfn = entry & PAGEMAP_PFN_MASK;
	/* Without CAP_SYS_ADMIN the kernel reports PFN 0 (pagemap.rst). */
	return *pfn ? 0 : -EPERM;
}

int __pfn_kpageflags(uint64_t pfn, uint64_t *flags)
{
	int fd = open("/proc/kpageflags", O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = pread(fd, flags, sizeof(*flags), pfn * sizeof(*flags));
	close(fd);
	if (n != sizeof(*flags))
		return n < 0 ? -errno : -EIO;
	return 0;
}

uint64_t hva_to_pfn_at(const void *hva, const char *file, unsigned int line)
{
	uint64_t pfn = 0;
	int r = __hva_to_pfn(hva, &pfn);

	if (r)
		test_assert_fail(NULL, file, line, -r, "no PFN for host VA %p: %s", hva,
				 strerror(-r));
	return pfn;
}

void vm_page_chain(struct kvm_vm *vm, uint64_t gva, struct vm_page_chain *c)
{
	c->gva = gva;
	c->gpa = addr_gva2gpa(vm, gva);
	c->hva = addr_gpa2hva(vm, c->gpa);
	c->pfn = 0;
	__hva_to_pfn(c->hva, &c->pfn);
}

/* ---- the VMM's SIGBUS path ---- */

static volatile sig_atomic_t sigbus_pending;
static volatile int sigbus_code, sigbus_lsb;
static volatile pid_t sigbus_tid;
static void *volatile sigbus_addr;

static void sigbus_handler(int sig, siginfo_t *si, void *uc)
{
	/* Anything but a memory error is a real crash: let it be one. */
	if (si->si_code != BUS_MCEERR_AR && si->si_code != BUS_MCEERR_AO) {
		signal(SIGBUS, SIG_DFL);
		raise(SIGBUS);
		return;
	}
	sigbus_code = si->si_code;
	sigbus_addr = si->si_addr;
	sigbus_lsb = si->si_addr_lsb;
	sigbus_tid = syscall(SYS_gettid);	/* async-signal-safe, unlike most of libc */
	sigbus_pending = 1;
}

void vmm_sigbus_install(void)
{
	struct sigaction sa = { .sa_sigaction = sigbus_handler, .sa_flags = SA_SIGINFO };

	sigemptyset(&sa.sa_mask);
	TEST_ASSERT(!sigaction(SIGBUS, &sa, NULL), "sigaction(SIGBUS): %s", strerror(errno));
}

bool vmm_memory_error_pending(void)
{
	return sigbus_pending;
}

/*
 * Take the pending SIGBUS, if any.  The fields first, then the flag: a
 * SIGBUS landing in between leaves the flag set and is seen on the next
 * call, never half-mixed with this one.
 */
static bool take_sigbus(struct vmm_memory_error *e)
{
	if (!sigbus_pending)
		return false;
	e->code = sigbus_code;
	e->hva = sigbus_addr;
	e->addr_lsb = sigbus_lsb;
	e->tid = sigbus_tid;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	sigbus_pending = 0;
	return true;
}

bool vmm_take_memory_error(int *code, void **hva)
{
	struct vmm_memory_error e;

	if (!take_sigbus(&e))
		return false;
	*code = e.code;
	*hva = e.hva;
	return true;
}

bool vmm_handle_memory_error(struct kvm_vcpu *vcpu, unsigned int bank,
			     enum vmm_page_policy policy, struct vmm_memory_error *out)
{
	struct vmm_memory_error e = { 0 };
	void *page, *fresh;
	char action[160];

	if (!take_sigbus(&e))
		return false;
	/*
	 * Guest memory here is 4 KiB anonymous pages: a larger granule (a
	 * hugetlb-backed slot) would need the MCE, the address mask and the
	 * replacement all sized by si_addr_lsb.
	 */
	TEST_ASSERT(e.addr_lsb == 0 || e.addr_lsb == PAGE_SHIFT,
		    "SIGBUS at %p with si_addr_lsb %u: only 4 KiB pages are handled", e.hva,
		    e.addr_lsb);
	page = (void *)((uintptr_t)e.hva & ~(PAGE_SIZE - 1));
	TEST_ASSERT(__addr_hva2gpa(vcpu->vm, e.hva, &e.gpa),
		    "SIGBUS %s at host VA %p outside guest memory: the VMM itself hit poison",
		    e.code == BUS_MCEERR_AR ? "BUS_MCEERR_AR" : "BUS_MCEERR_AO", e.hva);

	/*
	 * What a real VMM injects: the error at the guest-physical address,
	 * page granular.  AR: the guest was consuming it, so SRAR, with EIPV
	 * (RIP is the consuming instruction) and RIPV (restart there).  AO:
	 * SRAO, RIPV only (SDM vol. 3B 16.6.3, table 16-28 codes).
	 */
	e.mce.bank = bank;
	e.mce.addr = e.gpa & ~(PAGE_SIZE - 1);
	e.mce.misc = MCI_MISC_PHYS_PAGE;
	if (e.code == BUS_MCEERR_AR) {
		e.mce.status = MCE_STATUS_SRAR;
		e.mce.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV | MCG_STATUS_EIPV;
	} else {
		e.mce.status = MCE_STATUS_SRAO;
		e.mce.mcg_status = MCG_STATUS_MCIP | MCG_STATUS_RIPV;
	}
	vcpu_inject_mce(vcpu, &e.mce);

	/* A fresh page at the same host VA: the memslot stays valid. */
	if (policy == VMM_REPLACE_PAGE) {
		fresh = mmap(page, PAGE_SIZE, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
		TEST_ASSERT(fresh == page, "replacing the poisoned page at %p: %s", page,
			    strerror(errno));
	}

	snprintf(action, sizeof(action), "SIGBUS %s at host VA %p = GPA %#lx: injected, host page "
		 "%s", e.code == BUS_MCEERR_AR ? "BUS_MCEERR_AR" : "BUS_MCEERR_AO", e.hva,
		 e.gpa, policy == VMM_REPLACE_PAGE ? "replaced" : "kept (poisoned)");
	mce_log("vmm", &e.mce, action);
	if (out)
		*out = e;
	return true;
}

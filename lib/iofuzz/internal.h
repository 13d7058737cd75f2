/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iofuzz host side: what the files of lib/iofuzz/ share with each other and
 * nobody else.  One file per job:
 *
 *   devices.c    the device table, the fixed exclusions, op type names
 *   lists.c      -m, -d and -x: modes, device lists, skipped ranges
 *   plan.c       the configuration, the plan, explicit op lists, op i as
 *                the host regenerates it
 *   fault.c      test-only planted faults
 *   repro.c      reproducer files: read and write
 *   model.c      the userspace device model that answers exits
 *   jit.c        ops compiled to guest code (the fast executor)
 *   exits.c      which op an exit or a stop belongs to, and whether the
 *                exit describes it
 *   watchdog.c   the hang watchdog and the time budget
 *   run.c        VM lives, restarts, findings: iofuzz_run()
 *   supervise.c  the supervising parent: iofuzz_supervise()
 *   report.c     the exit log, tables, recent ops, the host kernel log
 *   minimize.c   delta debugging of a failure down to a reproducer
 *   oracle.c     the read oracle: PICs, ELCR, I/O APIC, PIT; round trips
 *   oracle_lapic.c  the read oracle's local APIC (xAPIC MMIO) model
 *   readlog.c    two platforms' read logs (-L) compared (-C)
 *   oracle_msr.c the read oracle's model of the MSRs KVM emulates
 */
#ifndef KVM_SUITE_IOFUZZ_INTERNAL_H
#define KVM_SUITE_IOFUZZ_INTERNAL_H

#include <pthread.h>

#include "iofuzz.h"
#include "kvm_util.h"

/* The explicit op list, kept in the shared state. */
static inline struct iofuzz_op *iofuzz_list(struct iofuzz_state *st)
{
	return (struct iofuzz_op *)st->list;
}

/* devices.c */
extern const struct iofuzz_range iofuzz_fixed_excl[IOFUZZ_NR_FIXED_EXCL];
unsigned int iofuzz_type_by_name(const char *name);
int iofuzz_dev_by_name_len(const char *name, size_t len);
const char *iofuzz_port_dev_name(uint32_t port);

/* lists.c: the -x ranges (not the names) into plan->excl. */
void iofuzz_plan_add_skips(struct iofuzz_plan *plan, const char *skip);

/* plan.c */
/* A plan of every device of every space: an explicit list may hold any op. */
void iofuzz_plan_for_list(struct iofuzz_plan *plan, uint64_t seed);
/* The plan range an op of this type at addr falls in, or -1. */
int iofuzz_range_of(const struct iofuzz_plan *plan, unsigned int type, uint64_t addr);
/* The vCPU that runs generated op idx (iofuzz_host_gen() sets op.cpu from it). */
uint8_t iofuzz_op_cpu(const struct iofuzz_plan *plan, uint64_t idx);
/* Op idx of the run: from the explicit list, else from the generator. */
void iofuzz_host_gen(const struct iofuzz_state *st, uint64_t idx, struct iofuzz_op *op);
/* Op idx, in a buffer valid until the next call. */
const struct iofuzz_op *iofuzz_host_op(const struct iofuzz_state *st, uint64_t idx);
/* The host's own hash of ops [from, to): must equal what the guest generated. */
uint64_t iofuzz_host_hash(const struct iofuzz_state *st, uint64_t from, uint64_t to);

/* fault.c: put cfg's fault (if any) on the first fitting op from cfg->fault_at. */
void iofuzz_plant_fault(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);

/* repro.c */
void iofuzz_format_op(char *buf, size_t len, const struct iofuzz_op *op);
void iofuzz_write_ops(const char *path, const struct iofuzz_plan *plan,
		      const struct iofuzz_op *ops, uint64_t n, const char *why);

/* model.c */
struct iofuzz_model {
	uint8_t cmos_index, cmos[128];
	uint8_t com1_scratch;
	uint32_t pci_addr;
};

/* One exit to userspace on a fuzzed port: answer it, count it, hash and log it. */
void iofuzz_model_io(struct iofuzz_model *m, struct iofuzz_state *st, struct kvm_run *run,
		     uint64_t idx);
void iofuzz_model_mmio(struct iofuzz_state *st, struct kvm_run *run, uint64_t idx);

/* jit.c */
#define JIT_CHUNK	2048
#define JIT_OP_MAX	48		/* bytes of code one op may take, fault included */
#define JIT_TAIL	(JIT_CHUNK * JIT_OP_MAX + 16)
#define JIT_DATA	(JIT_TAIL + 64)	/* 32-byte INS/OUTS buffers, one per op */
#define JIT_BYTES	(JIT_DATA + JIT_CHUNK * 32)

struct iofuzz_jit {
	uint64_t gva;
	uint8_t *hva;
	uint64_t first, n;
	uint8_t cpu;			/* the vCPU whose turn the chunk is */
	uint32_t off[JIT_CHUNK + 1];	/* where each op's code starts */
	/* Its access instruction: [acc, end); acc == end for a NOP op (no access). */
	uint32_t acc[JIT_CHUNK], end[JIT_CHUNK];
	uint32_t hb_gva;
};

/* The fixed tail at JIT_TAIL: report IOFUZZ_CHUNK_MAGIC, then jump back to the body. */
void iofuzz_jit_tail(struct iofuzz_jit *j);
/*
 * Compile ops first.. into the body: one chunk at most, max ops at most (0:
 * no limit), and only ops of first's vCPU (the chunk is that vCPU's turn).
 */
void iofuzz_jit_fill(const struct iofuzz_state *st, struct iofuzz_jit *j, uint64_t first,
		     uint64_t max);
unsigned int iofuzz_jit_access_idx(const struct iofuzz_jit *j, uint64_t rip, uint64_t idx[2]);
bool iofuzz_jit_idx(const struct iofuzz_jit *j, uint64_t rip, uint64_t *idx);

/* oracle_lapic.c: the local APIC's xAPIC registers as the read oracle models them. */
struct iofuzz_lapic {
	uint32_t reg[64];		/* offsets 0x000-0x3f0, by offset / 16 */
	uint32_t timer_mode_mask;	/* LVT timer mode bits KVM keeps (TSC deadline or not) */
	bool off;			/* IA32_APIC_BASE written: unchecked until the next VM */
	bool pmi_masks;			/* a WRMSR: a PMI may have set LVTPC's mask bit */
	bool svm_v_tpr;			/* kvm_amd: TPR bits 3:0 lost at VM exits */
	uint8_t id;			/* the vCPU's (its initial APIC ID) */
	/* IRR: bits a fixed IPI set for sure, bits another source may have set */
	uint32_t irr_set[8], irr_maybe[8];
	bool irr_off;			/* some vCPU's APIC left the model: IRR unchecked */
};

/*
 * KVM's RESET state of vCPU id (0 the BSP); tsc_deadline: the guest's CPUID
 * offers it; svm_v_tpr: kvm_amd, whose V_TPR sync drops TPR bits 3:0.
 */
void iofuzz_lapic_reset(struct iofuzz_lapic *m, uint8_t id, bool tsc_deadline,
			bool svm_v_tpr);
/* An MMIO write of size bytes at page offset off. */
void iofuzz_lapic_write(struct iofuzz_lapic *m, uint32_t off, unsigned int size, uint64_t val);
/* Is a read of size bytes at page offset off one the model can check? */
bool iofuzz_lapic_checks(uint32_t off, unsigned int size);
/* A read's value; *known its checked bits (0: not checked); name: the register. */
uint32_t iofuzz_lapic_read(const struct iofuzz_lapic *m, uint32_t off, unsigned int size,
			   uint64_t *known, char *name, size_t len);
/*
 * ICR low written by vCPU src (of n, all[] their models), xAPIC mode: the
 * IPI's effect on every destination's IRR.
 */
void iofuzz_lapic_ipi(struct iofuzz_lapic *all, unsigned int n, unsigned int src);
/* Vector vec may reach m's IRR from a source the model does not follow. */
void iofuzz_lapic_irr_maybe(struct iofuzz_lapic *m, uint8_t vec);
/* A guest WRMSR of msr (any outcome). */
void iofuzz_lapic_msr_write(struct iofuzz_lapic *m, uint32_t msr);
/* KVM_GET_LAPIC's page against the model; false with the finding in why. */
bool iofuzz_lapic_matches(const struct iofuzz_lapic *m, const struct kvm_lapic_state *k,
			  char *why, size_t len);

/* oracle_msr.c: the MSRs KVM emulates, as the read oracle models them. */
#define IOFUZZ_MSR_SLOTS	176
struct iofuzz_msrs {
	uint64_t val[IOFUZZ_MSR_SLOTS];
	bool known[IOFUZZ_MSR_SLOTS];	/* false: taken from the next KVM_GET_MSRS */
	bool intel;			/* guest CPUID vendor Intel-compatible */
	bool tsc_aux_ok;		/* guest CPUID has RDTSCP or RDPID */
	bool has_tsc_adjust;		/* guest CPUID has TSC_ADJUST */
	bool host_tsc_aux;		/* KVM_GET_MSRS returns IA32_TSC_AUX */
	uint8_t maxphyaddr;		/* guest CPUID's */
};

/* A modelled access's outcome. */
enum { IOFUZZ_MSR_UNMODELLED, IOFUZZ_MSR_OK, IOFUZZ_MSR_GP };

/* KVM's state of a new vCPU, and what its CPUID decides. */
void iofuzz_msr_reset(struct iofuzz_msrs *m, struct kvm_vcpu *vcpu);
/* Does the model know this MSR's outcome (and value)? */
bool iofuzz_msr_models(uint32_t msr);
/* "IA32_PAT (0x277)" and the like. */
void iofuzz_msr_name(uint32_t msr, char *buf, size_t len);
/* A guest WRMSR: its outcome, the model updated when it is IOFUZZ_MSR_OK. */
int iofuzz_msr_write(struct iofuzz_msrs *m, uint32_t msr, uint64_t v);
/* A guest RDMSR: its outcome; *v the value, *known false when it is not checked. */
int iofuzz_msr_read(const struct iofuzz_msrs *m, uint32_t msr, uint64_t *v, bool *known);
/* KVM_GET_MSRS of every modelled MSR against the model; false with the MSR in *bad. */
bool iofuzz_msr_matches(struct iofuzz_msrs *m, struct kvm_vcpu *vcpu, uint32_t *bad,
			char *why, size_t len);

/* oracle.c: the read oracle's model of the PICs, the ELCR, the I/O APIC and the PIT. */
struct iofuzz_oracle {
	struct kvm_pic_state pic[2];
	struct kvm_ioapic_state ioapic;
	struct kvm_pit_state2 pit;
	/* A pending latched count: the bound fixed at the latch (0: none), its LSB read. */
	uint32_t pit_bound[3];
	int pit_lo[3];
	uint16_t lines;		/* PIC pin levels the host holds */
	bool irq0_timed;	/* an op wrote the PIT: IRQ0 follows its clock */
	bool master_stale;	/* unchecked until the next KVM_GET_IRQCHIP */
	struct iofuzz_lapic lapic[IOFUZZ_MAX_VCPUS];	/* by vCPU */
	unsigned int nr_lapics;
	unsigned int cpu;		/* the vCPU whose chunk is being checked */
	uint64_t idx;			/* the op being checked */
	struct iofuzz_msrs msrs[IOFUZZ_MAX_VCPUS];	/* by vCPU */
	int dev_id[8];
};

/* Does the compiled stream store this read's value for the oracle? */
bool iofuzz_oracle_wants(const struct iofuzz_op *op);
/* Is op a read the oracle checks (in KVM's device, a modelled register)? */
bool iofuzz_oracle_checks(const struct iofuzz_op *op);
/* The PIC lines the host holds for the chunk from op first. */
uint16_t iofuzz_oracle_lines(const struct iofuzz_plan *plan, uint64_t first);
/* The VM moved (-M): routing and held lines into the new VM (model unchanged). */
void iofuzz_oracle_moved(const struct iofuzz_oracle *o, struct kvm_vm *vm);
/* A new VM of n vCPUs: model reset, GSI routes for the host's lines, lines for op first. */
void iofuzz_oracle_start(struct iofuzz_oracle *o, const struct iofuzz_state *st,
			 struct kvm_vcpu *const *vcpus, unsigned int n, uint64_t first);
/*
 * A finished chunk, vCPU vcpus[j->cpu]'s turn: every read, then
 * KVM_GET_IRQCHIP/PIT2 and every vCPU's KVM_GET_LAPIC; false: a finding at *at, why.
 */
bool iofuzz_oracle_chunk(struct iofuzz_oracle *o, struct iofuzz_state *st,
			 const struct iofuzz_jit *j, struct kvm_vcpu *const *vcpus, uint64_t *at,
			 char *why, size_t len);

/* One VM's life and what the watchdog thread shares with it (run.c, watchdog.c). */
struct iofuzz_life {
	const struct iofuzz_cfg *cfg;
	struct iofuzz_state *st;
	struct kvm_vcpu *vcpu;		/* the one whose turn it is */
	struct iofuzz_shared *sh;	/* host view of the guest's page */
	struct iofuzz_jit *jit;		/* its stream; NULL with -G (guest-generated ops) */
	unsigned int nr_vcpus;		/* -p: the VM's vCPUs, each with its own stream */
	struct kvm_vcpu *vcpus[IOFUZZ_MAX_VCPUS];
	struct iofuzz_jit *jits[IOFUZZ_MAX_VCPUS];
	/*
	 * Held by the watchdog while it looks at vcpu and sh, and by run.c
	 * while it makes them valid (active) or frees them: a VM freed under the
	 * watchdog's reads would kill the VMM, which is reported as a VMM crash.
	 */
	pthread_mutex_t lock;
	volatile bool active, hung, stop;
	volatile bool quit;
	uint64_t t0;
	/* This life's own: */
	uint64_t start;			/* its first op */
	uint64_t last;			/* the op it was last known to be at */
	uint64_t t_run;			/* when its vCPU first ran */
	uint64_t moved;			/* -M: ops run since the last move */
	struct iofuzz_model model;
	struct iofuzz_oracle oracle;
};

/* watchdog.c: the thread's body (arg: the struct iofuzz_life). */
void *iofuzz_watchdog(void *arg);

/* exits.c */
bool iofuzz_exit_op_index(struct iofuzz_life *l, uint64_t *idx, char *why, size_t len);
bool iofuzz_check_exited_op(struct iofuzz_state *st, struct kvm_run *run, uint64_t idx,
			    char *why, size_t len);
uint64_t iofuzz_stopped_op_index(struct iofuzz_life *l, uint64_t last);
bool iofuzz_internal_error_explained(struct kvm_vcpu *vcpu, char *why, size_t len);
/* The vCPU runs no op's code (SMM after an SMI, real mode after INIT/SIPI): why. */
bool iofuzz_left_stream(struct kvm_vcpu *vcpu, char *why, size_t len);

/* run.c: the per-device op counts of ops 0..st->done. */
void iofuzz_count_ops(struct iofuzz_state *st);

/* report.c: one exit into the ring of the last IOFUZZ_LOG_RING. */
void iofuzz_log_exit(struct iofuzz_state *st, uint64_t idx, const struct iofuzz_op *op,
		     uint32_t exit_reason);

#endif /* KVM_SUITE_IOFUZZ_INTERNAL_H */

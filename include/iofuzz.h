/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iofuzz: in-guest port I/O, MMIO and MSR fuzzing of KVM's device emulation.
 *
 * The op sequence is a pure function of (plan, seed, op index): the guest
 * generates op i with iofuzz_gen_op() and executes it; the host calls the
 * very same function (same object file, same ELF) to name, log, replay and
 * minimize ops.  So a run is replayed exactly by its seed, and a VM restarted
 * after a hang or triple fault resumes at any op index without replaying the
 * ones before it.
 *
 * A plan is a list of segments; each segment is one phase over one range, as
 * in the 2010 iofuzz: read every unit, write 0 to every unit, then
 * fuzz_count * units random writes; a last MIXED segment draws random ops of
 * every kind over all ranges.  An explicit op list (replay, minimizer)
 * replaces the generator.
 */
#ifndef KVM_SUITE_IOFUZZ_H
#define KVM_SUITE_IOFUZZ_H

#include <stdbool.h>
#include <stdint.h>

enum iofuzz_space { IOF_PORT, IOF_MMIO, IOF_MSR };

enum iofuzz_type {
	IOF_NOP,	/* op fell on an excluded unit (e.g. the ucall port) */
	IOF_IN, IOF_OUT, IOF_INS, IOF_OUTS,
	IOF_MMIO_RD, IOF_MMIO_WR,
	IOF_MSR_RD, IOF_MSR_WR,
	IOF_NR_TYPES
};

enum iofuzz_phase { IOF_READ_ALL, IOF_WRITE_ZERO, IOF_FUZZ, IOF_MIXED };

/* Test-only planted faults, matched on the op's content so they survive minimization. */
enum iofuzz_fault { IOF_FAULT_NONE, IOF_FAULT_TRIPLE, IOF_FAULT_HANG, IOF_FAULT_CRASH };

#define IOFUZZ_MAX_RANGES	32
#define IOFUZZ_MAX_SEGS		(3 * IOFUZZ_MAX_RANGES + 1)
#define IOFUZZ_MAX_EXCL		64	/* skipped ranges, the fixed ones included */
#define IOFUZZ_NR_FIXED_EXCL	5	/* ucall port, EFER, GS.base, KVM clock MSRs */
#define IOFUZZ_MAX_SKIP		(IOFUZZ_MAX_EXCL - IOFUZZ_NR_FIXED_EXCL)	/* -x ranges */
#define IOFUZZ_MAX_LIST		4096	/* explicit ops (replay file, minimizer) */
#define IOFUZZ_STR_MAX		8	/* elements of one INS/OUTS */

struct iofuzz_range {
	uint64_t beg, end;	/* inclusive; ports, MMIO GPAs or MSR numbers */
	uint8_t space;		/* enum iofuzz_space */
	uint8_t stride;		/* bytes per unit: 1 (ports, MSRs) or 16 (MMIO register slots) */
	uint8_t in_kernel;	/* KVM handles it without exiting to userspace */
	uint8_t id;		/* index into the host's device table */
};

struct iofuzz_seg {
	uint64_t first;		/* global index of the segment's first op */
	uint64_t count;
	uint8_t phase;		/* enum iofuzz_phase */
	uint8_t range;		/* index into plan.ranges (not used by MIXED) */
};

struct iofuzz_op {
	uint8_t type;		/* enum iofuzz_type */
	uint8_t size;		/* 1, 2, 4 (ports), 1, 2, 4, 8 (MMIO), 8 (MSR) */
	uint8_t count;		/* INS/OUTS elements */
	uint8_t range;		/* plan range it targets */
	uint64_t addr;
	uint64_t value;		/* OUTS: the seed of its data, see iofuzz_str_data() */
};

struct iofuzz_plan {
	uint64_t seed;
	uint64_t total;		/* ops in the whole run */
	uint64_t start;		/* first op of this VM's life (restarts resume here) */
	uint32_t nr_ranges, nr_segs, nr_excl;
	uint32_t fault;		/* enum iofuzz_fault */
	struct iofuzz_op fault_op;	/* the op that triggers the planted fault */
	struct iofuzz_range ranges[IOFUZZ_MAX_RANGES];
	struct iofuzz_seg segs[IOFUZZ_MAX_SEGS];
	struct iofuzz_range excl[IOFUZZ_MAX_EXCL];	/* never touched, e.g. UCALL_PIO_PORT */
	uint64_t nr_list;	/* nonzero: run list[] instead of the generator */
	struct iofuzz_op *list;	/* guest address of the explicit ops */
};

/*
 * Guest-written state, one page: the heartbeat is the index of the op the
 * guest is about to execute.  The guest writes it only for in-kernel ops (the
 * host-compiled stream only every IOFUZZ_HB_EVERY ops): an op that exits to
 * userspace shows progress by its exit, which keeps the guest from touching
 * an extra page after every userspace exit (~3.5 us each on kvm_pvm).  The
 * guest logs no ops: they are a pure function of (seed, index), so the host
 * regenerates the ones before any op index it reports.
 */
struct iofuzz_shared {
	volatile uint64_t hb;
} __attribute__((aligned(4096)));

/*
 * Heartbeat period of the host-compiled stream for in-kernel port ops, in
 * ops.  64 of them cost well under 1 ms on kvm_pvm (~1-2 us each), far
 * inside the watchdog's hang bound (hang_ms of vCPU CPU time, 1 s by
 * default).  MMIO and MSR ops store it before every op instead: they can
 * reset the vCPU by INIT themselves (an xAPIC ICR write, the x2APIC ICR
 * MSR 0x830), and the restart index after an INIT is the heartbeat, so it
 * must name the op that did it, or every new VM would replay it up to 63
 * times (seen in make vm_run_tests: a restart storm of one new VM per op).
 */
#define IOFUZZ_HB_EVERY		64

/* ucall commands of the fuzzer guest (UCALL_USER range). */
#define IOFUZZ_UCALL_LIFE_DONE	(0x100 + 0x50)	/* args: ops done, op hash */

/* ---- shared by guest and host (guest_lib/iofuzz_guest.c, SSE-free) ---- */
uint64_t iofuzz_rand(uint64_t seed, uint64_t idx, uint64_t salt);
void iofuzz_gen_op(const struct iofuzz_plan *plan, const struct iofuzz_seg *seg,
		   const struct iofuzz_range *ranges, uint64_t idx, struct iofuzz_op *op);
const struct iofuzz_seg *iofuzz_find_seg(const struct iofuzz_plan *plan, uint64_t idx);
uint64_t iofuzz_hash_op(uint64_t h, const struct iofuzz_op *op);
bool iofuzz_op_equal(const struct iofuzz_op *a, const struct iofuzz_op *b);
/*
 * The count elements of an OUTS, op->size bytes each, into buf (at least
 * IOFUZZ_STR_MAX * 4 bytes): a pure function of the op, so the guest
 * executor, the host-compiled one and a replayed reproducer send the same data.
 */
void iofuzz_str_data(const struct iofuzz_op *op, uint8_t *buf);
/* Guest entry: runs plan->start .. plan->total, then reports LIFE_DONE. */
void iofuzz_guest_main(struct iofuzz_plan *plan, struct iofuzz_shared *sh);
/* Guest entry of the fast executor: jumps into machine code the host compiled from the ops. */
void iofuzz_guest_jit(void (*code)(void));

/* OUT to UCALL_PIO_PORT without UCALL_TAG: "this chunk of compiled ops is done". */
#define IOFUZZ_CHUNK_MAGIC	0x10f2c4a3u

#define IOFUZZ_HASH_INIT	0xcbf29ce484222325ULL

/* ---- host side (lib/iofuzz.c) ---- */
#ifndef __IOFUZZ_GUEST_ONLY

#define IOFUZZ_MAX_DEVS		32
#define IOFUZZ_LOG_RING		32	/* last exits kept in shared memory for reports */
#define IOFUZZ_RECENT		16	/* ops regenerated for a crash report */

struct iofuzz_dev {
	const char *name;
	struct iofuzz_range r;
	uint32_t mode;		/* IOFUZZ_MODE_* bit of its space */
	bool needs_pit;		/* in-kernel only with KVM_CREATE_PIT2 */
	bool optional;		/* only when asked for by name (full-range ports) */
};

#define IOFUZZ_MODE_PORTS	1u
#define IOFUZZ_MODE_MMIO	2u
#define IOFUZZ_MODE_MSR		4u
#define IOFUZZ_MODE_ALL		7u

struct iofuzz_cfg {
	uint64_t seed;
	uint64_t fuzz_count;	/* -c: random writes per unit in the FUZZ phase */
	uint64_t mixed_ops;	/* ops of the final MIXED phase */
	uint64_t max_ops;	/* -n: 0 means the whole plan */
	uint64_t time_ms;	/* -t: 0 means no budget */
	uint32_t mode;		/* -m */
	char devices[256];	/* -d: comma list of names, empty means all of the mode */
	char skip[1024];	/* -x: names, or [port:|mmio:|msr:]lo[-hi] ranges */
	int verbose;
	uint32_t fault;		/* test-only planted fault */
	uint64_t fault_at;	/* ...at this op index */
	uint64_t hang_ms;	/* no heartbeat for this long is a hang */
	bool guest_gen;		/* -G: the guest generates each op (slow; a cross-check) */
	const char *replay;	/* -r FILE */
};

/* Per device, kept in shared memory so a supervisor sees a crashed child's numbers. */
struct iofuzz_dev_stats {
	uint64_t ops;		/* ops drawn from its range (excluded units not counted) */
	uint64_t exits;		/* exits to userspace made by ops drawn from its range */
	uint64_t exited_ops;	/* its ops that made at least one exit */
	uint64_t in_kernel;	/* its ops KVM handled without exiting */
	uint64_t restarts;
};

struct iofuzz_log_entry {
	uint64_t idx;
	struct iofuzz_op op;
	uint32_t exit_reason;	/* KVM exit it caused (only exits are logged) */
};

enum iofuzz_end {
	IOF_END_OK, IOF_END_FINDING, IOF_END_CRASH, IOF_END_TIME,
};

/* The state a VMM child shares with its supervising parent (MAP_SHARED). */
struct iofuzz_state {
	struct iofuzz_plan plan;		/* as built by the host */
	struct iofuzz_dev_stats stats[IOFUZZ_MAX_DEVS];
	uint64_t cur;				/* op being executed */
	uint64_t done;				/* ops completed */
	uint64_t hash;				/* op-log hash over the run */
	uint64_t restarts, lives, findings;
	uint64_t restart_at[16];		/* first restarts' op indices */
	uint64_t log_pos;			/* exits logged in this run */
	struct iofuzz_log_entry log[IOFUZZ_LOG_RING];	/* ring of the last exits */
	uint64_t exit_hash;			/* hash of userspace exits as seen by the host */
	uint64_t elapsed_ns, exits_total;
	uint64_t run_ns;			/* inside the KVM_RUN loops: no VM setup */
	uint64_t last_exited;			/* op index of the last exit */
	uint64_t hb_seen;			/* guest heartbeat, as the watchdog saw it */
	uint64_t warm_ns, warm_ops;		/* first life's first chunk (bench warm-up) */
	uint64_t timed_ns, timed_ops;		/* its later chunks, up to the last one's exit */
	uint64_t fault_idx;			/* op a planted fault was put at */
	char finding[512];
	uint32_t end;				/* enum iofuzz_end */
	uint64_t list[IOFUZZ_MAX_LIST * 3];	/* explicit ops storage (struct iofuzz_op) */
	uint32_t port_exits[65536];		/* exits to userspace per port */
};

extern const struct iofuzz_dev iofuzz_devs[];
extern const unsigned int iofuzz_nr_devs;

const char *iofuzz_type_name(unsigned int type);
/* Parse -m; false on a bad value. */
bool iofuzz_parse_mode(const char *s, uint32_t *mode);
/* Check -d/-x lists; on error fill err and return false. */
bool iofuzz_check_lists(const struct iofuzz_cfg *cfg, char *err, size_t len);
struct iofuzz_state *iofuzz_state_alloc(void);	/* shared anonymous mapping */
/* Build the plan (ranges, segments) from cfg into st->plan. */
void iofuzz_build_plan(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);
/* Load a reproducer file as an explicit op list; false with err on a bad file. */
bool iofuzz_load_ops(const char *path, struct iofuzz_cfg *cfg, struct iofuzz_state *st,
		     char *err, size_t len);
/* Make st's plan an explicit list of ops (ranges resolved from the device table). */
void iofuzz_set_list(struct iofuzz_state *st, const struct iofuzz_op *ops, uint64_t n);
/* Run the plan in this process: VMs, device model, watchdog, restarts. */
void iofuzz_run(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);
/*
 * Run in a forked VMM child supervised by this process.  Returns the child's
 * end: IOF_END_CRASH when it died, with the seed and op index printed.
 */
int iofuzz_supervise(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);
/* The last exits to userspace, from the log (IOFUZZ_LOG_RING of them at most). */
void iofuzz_print_log(const struct iofuzz_state *st);
void iofuzz_print_table(const struct iofuzz_state *st);
/* The `top` ports with the most exits to userspace, with their devices. */
void iofuzz_print_ports(const struct iofuzz_state *st, unsigned int top);
/*
 * The last IOFUZZ_RECENT ops up to op `at`, regenerated from (seed, index) or
 * the explicit list, each once, with the exits it made when the log holds
 * them, "in kernel" only when the log reaches back past it and holds none.
 */
void iofuzz_print_recent(const struct iofuzz_state *st, uint64_t at);
/*
 * Shrink the ops [0, fail] of the failing run to a short list that still ends
 * the same way (crash, restart); write it to path.  Returns the op count.
 */
uint64_t iofuzz_minimize(const struct iofuzz_cfg *cfg, const struct iofuzz_state *failing,
			 int want_end, uint64_t want_restarts, const char *path);
/* Host-side /dev/kmsg scan: -1 unreadable, else WARN/BUG/Oops lines since the mark. */
int iofuzz_kmsg_open(void);
int iofuzz_kmsg_scan(int fd, char *first, size_t len);

#endif /* __IOFUZZ_GUEST_ONLY */

#endif /* KVM_SUITE_IOFUZZ_H */

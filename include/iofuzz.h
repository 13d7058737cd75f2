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
 * in the classic iofuzz: read every unit, write 0 to every unit, then
 * fuzz_count * units random writes; a last MIXED segment draws random ops of
 * every kind over all ranges.  An explicit op list (replay, minimizer)
 * replaces the generator.
 *
 * This is the host half (lib/iofuzz/, one file per job: see
 * lib/iofuzz/internal.h); the half the guest shares is include/iofuzz_ops.h.
 */
#ifndef KVM_SUITE_IOFUZZ_H
#define KVM_SUITE_IOFUZZ_H

#include <stddef.h>
#include <stdio.h>

#include "iofuzz_ops.h"

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
	bool no_oracle;		/* -O: no read oracle (lib/iofuzz/oracle.c) */
	uint32_t migrate;	/* -M: move the VM every this many ops, 1..IOFUZZ_MIGRATE_MAX */
	uint32_t vcpus;		/* -p: vCPUs, 1..IOFUZZ_MAX_VCPUS */
	uint32_t slice;		/* -p N:S: ops in a row on one vCPU, 1..IOFUZZ_MIGRATE_MAX */
};

/* -M at most: the compiled stream's chunk, the unit a move happens between. */
#define IOFUZZ_MIGRATE_MAX	2048
/* -p at most, and the default run of ops one vCPU makes before the next one's turn. */
#define IOFUZZ_MAX_VCPUS	8
#define IOFUZZ_SLICE		64

/* Per device, kept in shared memory so a supervisor sees a crashed child's numbers. */
struct iofuzz_dev_stats {
	uint64_t ops;		/* ops drawn from its range (excluded units not counted) */
	uint64_t exits;		/* exits to userspace made by ops drawn from its range */
	uint64_t exited_ops;	/* its ops that made at least one exit */
	uint64_t in_kernel;	/* its ops KVM handled without exiting */
	uint64_t restarts;
	uint64_t oracle_reads;	/* its reads the oracle checked */
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
	bool oracle;				/* the read oracle checks this run */
	uint64_t oracle_reads;			/* reads it checked, all devices */
	uint64_t oracle_trips;			/* KVM_GET_IRQCHIP round trips compared */
	uint64_t migrations;			/* -M: moves into a new VM */
	uint64_t turns;				/* -p: chunks run, a vCPU's turn each */
	uint64_t cpu_ops[IOFUZZ_MAX_VCPUS];	/* -p: ops each vCPU ran */
	uint64_t oracle_ns, oracle_ops;		/* host time in the oracle, ops it went over */
	uint16_t finding_lines;			/* PIC lines held at the finding's chunk */
	int finding_dev;			/* device a KVM_GET_IRQCHIP finding blames, or -1 */
	char finding[512];
	uint32_t end;				/* enum iofuzz_end */
	uint64_t list[IOFUZZ_MAX_LIST * 3];	/* explicit ops storage (struct iofuzz_op) */
	uint32_t port_exits[65536];		/* exits to userspace per port */
};

/* lib/iofuzz/devices.c: what can be fuzzed. */
extern const struct iofuzz_dev iofuzz_devs[];
extern const unsigned int iofuzz_nr_devs;
const char *iofuzz_type_name(unsigned int type);
/* Index of the device called name, or -1. */
int iofuzz_dev_by_name(const char *name);

/* lib/iofuzz/lists.c: the options that pick devices (-m, -d, -x). */
/* Parse -m; false on a bad value. */
bool iofuzz_parse_mode(const char *s, uint32_t *mode);
/* Check -d/-x lists; on error fill err and return false. */
bool iofuzz_check_lists(const struct iofuzz_cfg *cfg, char *err, size_t len);
/* Is name an item of the comma-separated list? */
bool iofuzz_name_in_list(const char *list, const char *name);

/* lib/iofuzz/plan.c: the configuration and the plan built from it. */
/* The defaults of every run: fuzz count 1, 4096 mixed ops, all modes, 1 s hangs. */
void iofuzz_cfg_defaults(struct iofuzz_cfg *cfg);
/* A fresh seed from the clock and the pid. */
uint64_t iofuzz_random_seed(void);
struct iofuzz_state *iofuzz_state_alloc(void);	/* shared anonymous mapping */
/* Build the plan (ranges, segments) from cfg into st->plan. */
void iofuzz_build_plan(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);
/* Make st's plan an explicit list of ops (ranges resolved from the device table). */
void iofuzz_set_list(struct iofuzz_state *st, const struct iofuzz_op *ops, uint64_t n);

/* lib/iofuzz/fault.c: test-only planted faults. */
/* "triple", "hang" or "crash"; IOF_FAULT_NONE for anything else. */
uint32_t iofuzz_fault_by_name(const char *name);
const char *iofuzz_fault_name(uint32_t fault);

/* lib/iofuzz/oracle.c: reads a device must have checked before fuzz.<device> passes. */
#define IOFUZZ_ORACLE_MIN_READS	16
/* Is this device (index into iofuzz_devs[]) one the read oracle models? */
bool iofuzz_oracle_models(unsigned int dev);

/* lib/iofuzz/repro.c: reproducer files. */
/* Load a reproducer file as an explicit op list; false with err on a bad file. */
bool iofuzz_load_ops(const char *path, struct iofuzz_cfg *cfg, struct iofuzz_state *st,
		     char *err, size_t len);

/* lib/iofuzz/run.c and supervise.c: running a plan. */
/* Run the plan in this process: VMs, device model, watchdog, restarts. */
void iofuzz_run(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);

/*
 * -L: every read the oracle checks, one line each ("read OP VCPU VALUE
 * BITS NAME", the value's checked bits only), into f (NULL: none).
 */
void iofuzz_oracle_log(FILE *f);
/*
 * Two such logs of the same run on two platforms: every read both checked
 * must agree on the bits both checked; each difference printed with both
 * values.  The number of differences, or -1 (with why) if a log is unreadable.
 */
long iofuzz_readlog_compare(const char *a, const char *b, char *why, size_t len);
/*
 * Run in a forked VMM child supervised by this process.  Returns the child's
 * end: IOF_END_CRASH when it died, with the seed and op index printed.
 */
int iofuzz_supervise(const struct iofuzz_cfg *cfg, struct iofuzz_state *st);

/* lib/iofuzz/report.c: what a run did, for people. */
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
 * The device (index into iofuzz_devs[]) of the op a finding was made at, or
 * -1 when there is no finding or its op is not a generated one.
 */
int iofuzz_finding_dev(const struct iofuzz_state *st);
/*
 * fuzz.<device>'s result (KSFT_PASS, _FAIL, _SKIP) with why: FAIL for a
 * finding blamed on it; a device the read oracle models passes only when
 * it got ops and the oracle checked IOFUZZ_ORACLE_MIN_READS of its reads
 * (SKIP otherwise), unless the oracle was off (-O).
 */
int iofuzz_dev_result(const struct iofuzz_state *st, unsigned int dev, char *why, size_t len);
/* WARN/BUG/Oops lines the host kernel logged since kmsg_open() (kmsg.h) gave fd. */
int iofuzz_kmsg_scan(int fd, char *first, size_t len);
/* iofuzz_kmsg_scan() that prints the count and the first line when there are any. */
int iofuzz_kmsg_report(int fd);

/* lib/iofuzz/minimize.c */
/*
 * Shrink the ops [0, fail] of the failing run to a short list that still ends
 * the same way (crash, restart); write it to path.  Returns the op count.
 */
uint64_t iofuzz_minimize(const struct iofuzz_cfg *cfg, const struct iofuzz_state *failing,
			 int want_end, uint64_t want_restarts, const char *path);

#endif /* KVM_SUITE_IOFUZZ_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * iofuzz, the half shared by guest and host: op encoding, the plan the
 * guest executes, the stateless PRNG and the constants of the guest<->host
 * protocol.  Included by guest code (guest_lib/iofuzz_guest.c, built
 * SSE-free), so it holds no host types and includes no host headers.
 * The host half is include/iofuzz.h, which includes this one.
 */
#ifndef KVM_SUITE_IOFUZZ_OPS_H
#define KVM_SUITE_IOFUZZ_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "x86/ucall.h"

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
enum iofuzz_fault { IOF_FAULT_NONE, IOF_FAULT_TRIPLE, IOF_FAULT_HANG, IOF_FAULT_CRASH,
		   IOF_FAULT_ORACLE };

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
	uint8_t cpu;		/* host: the vCPU that runs it (plan.vcpus > 1) */
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
	uint16_t irq_lines;	/* explicit list: the PIC lines the host holds (oracle.c) */
	uint32_t migrate;	/* host: move the VM to a new one every this many ops (0: never) */
	uint32_t vcpus;		/* host: vCPUs the ops are spread over (0 and 1: one) */
	uint32_t slice;		/* host: generated ops in a row on one vCPU (vcpus > 1) */
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
#define IOFUZZ_UCALL_LIFE_DONE	(UCALL_USER + 0x50)	/* args: ops done, op hash */

/* OUT to UCALL_PIO_PORT without UCALL_TAG: "this chunk of compiled ops is done". */
#define IOFUZZ_CHUNK_MAGIC	0x10f2c4a3u

#define IOFUZZ_HASH_INIT	0xcbf29ce484222325ULL

/* guest_lib/iofuzz_guest.c: called by guest and host alike (SSE-free). */
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

#endif /* KVM_SUITE_IOFUZZ_OPS_H */

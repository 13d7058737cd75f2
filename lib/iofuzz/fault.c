// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: test-only planted faults.  They show that the fuzzer notices a
 * triple fault, a hang and a crash of its own device model, reports the
 * right op, minimizes and replays it.  A fault is matched on the op's
 * content, not its index, so that it survives minimization: the guest (or
 * the compiled stream, jit.c) faults when it meets the op, the device model
 * (model.c) crashes on its exit.
 */
#include "internal.h"

static const char *const fault_names[] = {
	[IOF_FAULT_NONE] = "none",
	[IOF_FAULT_TRIPLE] = "triple",
	[IOF_FAULT_HANG] = "hang",
	[IOF_FAULT_CRASH] = "crash",
	[IOF_FAULT_ORACLE] = "oracle",
};

uint32_t iofuzz_fault_by_name(const char *name)
{
	for (uint32_t f = IOF_FAULT_NONE + 1; f < ARRAY_SIZE(fault_names); f++)
		if (!strcmp(name, fault_names[f]))
			return f;
	return IOF_FAULT_NONE;
}

const char *iofuzz_fault_name(uint32_t fault)
{
	return fault < ARRAY_SIZE(fault_names) ? fault_names[fault] : "none";
}

/* Does an op before k look exactly like op k?  Then a content-matched fault fires early. */
static bool seen_before(const struct iofuzz_state *st, uint64_t k, const struct iofuzz_op *op)
{
	struct iofuzz_op o;

	for (uint64_t i = 0; i < k; i++) {
		iofuzz_host_gen(st, i, &o);
		if (iofuzz_op_equal(&o, op))
			return true;
	}
	return false;
}

/*
 * Can op carry the fault?  A device-model crash needs an OUT that exits to
 * userspace, a planted oracle mismatch a read the oracle checks.
 */
static bool can_carry(const struct iofuzz_plan *plan, uint32_t fault, const struct iofuzz_op *op)
{
	if (op->type == IOF_NOP)
		return false;
	if (fault == IOF_FAULT_ORACLE)
		return iofuzz_oracle_checks(op);
	return fault != IOF_FAULT_CRASH ||
	       (op->type == IOF_OUT && !plan->ranges[op->range].in_kernel);
}

void iofuzz_plant_fault(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	struct iofuzz_plan *plan = &st->plan;
	uint64_t k = cfg->fault_at;

	if (!cfg->fault)
		return;		/* none, or planted already (a reproducer file) */
	plan->fault = cfg->fault;
	TEST_ASSERT(k < plan->total, "fault op %lu beyond the run's %lu ops", k, plan->total);
	/* The first op from K on that can carry it and is unique so far. */
	for (;; k++) {
		TEST_ASSERT(k < plan->total, "no op at or after %lu can carry the fault",
			    cfg->fault_at);
		iofuzz_host_gen(st, k, &plan->fault_op);
		if (can_carry(plan, cfg->fault, &plan->fault_op) &&
		    !seen_before(st, k, &plan->fault_op))
			break;
	}
	st->fault_idx = k;
	if (k != cfg->fault_at)
		kvm_log("iofuzz: planted fault moved to op %lu, the first fitting op from %lu",
			k, cfg->fault_at);
}

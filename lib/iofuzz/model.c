// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the userspace device model, what a VMM would be for the ports and
 * MMIO that KVM hands to userspace.  It answers every exit to userspace
 * (a little CMOS, the COM1 scratch register and LSR, the PCI config
 * address; everything else floats high), hashes what reached it and logs
 * the exit.
 */
#include <signal.h>

#include "internal.h"

static uint32_t model_in(struct iofuzz_model *m, uint16_t port)
{
	switch (port) {
	case 0x71:
		return m->cmos[m->cmos_index & 0x7f];
	case 0x3fd:
		return 0x60;		/* LSR: transmitter empty */
	case 0x3ff:
		return m->com1_scratch;
	case 0xcf8:
		return m->pci_addr;
	default:
		return 0xffffffff;	/* nothing there: the bus floats high */
	}
}

static void model_out(struct iofuzz_model *m, uint16_t port, uint32_t v)
{
	switch (port) {
	case 0x70:
		m->cmos_index = v;
		break;
	case 0x71:
		m->cmos[m->cmos_index & 0x7f] = v;
		break;
	case 0x3ff:
		m->com1_scratch = v;
		break;
	case 0xcf8:
		m->pci_addr = v;
		break;
	}
}

/* Test-only: a device model bug, as a real VMM would have one, on the planted op's exit. */
static void crash_if_planted(struct iofuzz_state *st, const struct kvm_run *run, uint64_t idx,
			     const struct iofuzz_op *op)
{
	if (st->plan.fault != IOF_FAULT_CRASH || run->io.count != 1 ||
	    !iofuzz_op_equal(op, &st->plan.fault_op))
		return;
	iofuzz_log_exit(st, idx, op, KVM_EXIT_IO);
	st->cur = idx;
	raise(SIGSEGV);
}

void iofuzz_model_io(struct iofuzz_model *m, struct iofuzz_state *st, struct kvm_run *run,
		     uint64_t idx)
{
	uint8_t *data = (uint8_t *)run + run->io.data_offset;
	struct iofuzz_op op = {
		.type = run->io.direction == KVM_EXIT_IO_OUT ? IOF_OUT : IOF_IN,
		.size = run->io.size, .count = run->io.count, .addr = run->io.port,
	};

	st->port_exits[run->io.port]++;
	for (uint32_t i = 0; i < run->io.count; i++, data += run->io.size) {
		uint32_t v = 0;

		if (run->io.direction != KVM_EXIT_IO_OUT) {
			v = model_in(m, run->io.port);
			memcpy(data, &v, run->io.size);
			continue;
		}
		memcpy(&v, data, run->io.size);
		if (!i)
			op.value = v;
		/* Every element of a string OUT: the data is part of what reached us. */
		if (i)
			st->exit_hash = iofuzz_hash_op(st->exit_hash,
						       &(struct iofuzz_op){ .value = v });
		crash_if_planted(st, run, idx, &op);
		model_out(m, run->io.port, v);
	}
	st->exit_hash = iofuzz_hash_op(st->exit_hash, &op);
	iofuzz_log_exit(st, idx, &op, KVM_EXIT_IO);
}

/* An MMIO exit: no device in the kernel took the access; reads float high. */
void iofuzz_model_mmio(struct iofuzz_state *st, struct kvm_run *run, uint64_t idx)
{
	struct iofuzz_op op = { .type = run->mmio.is_write ? IOF_MMIO_WR : IOF_MMIO_RD,
				.size = run->mmio.len, .count = 1, .addr = run->mmio.phys_addr };

	if (run->mmio.is_write)
		memcpy(&op.value, run->mmio.data, run->mmio.len > 8 ? 8 : run->mmio.len);
	else
		memset(run->mmio.data, 0xff, sizeof(run->mmio.data));
	st->exit_hash = iofuzz_hash_op(st->exit_hash, &op);
	iofuzz_log_exit(st, idx, &op, KVM_EXIT_MMIO);
}

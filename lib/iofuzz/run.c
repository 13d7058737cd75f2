// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: running a plan in this process.  A run is a series of VM lives:
 * each life creates a VM, runs ops from its start until the plan ends or
 * the guest must be restarted (hang, triple fault, guest exception, reset
 * by INIT), and frees the VM; the next life resumes at the op after the one
 * that stopped the last.  Anything KVM does wrong is a finding, which ends
 * the run.
 */
#include <stdarg.h>

#include "internal.h"
#include "vcpu_state.h"

#define MAX_RESTARTS	2000
/* What a step of a life returns while the life goes on; else the next life's first op. */
#define LIFE_GOES_ON	(~0ULL)

/* The guest's copies (every global is in the ELF loaded into the guest). */
static struct iofuzz_plan guest_plan;
static struct iofuzz_shared guest_shared;

/* The op the guest last reported by heartbeat, or the last one known if later. */
static uint64_t hb_or_last(const struct iofuzz_life *l)
{
	return l->sh->hb > l->last ? l->sh->hb : l->last;
}

static void restart(struct iofuzz_life *l, const char *why, uint64_t at)
{
	struct iofuzz_state *st = l->st;

	st->cur = at;
	if (st->restarts < ARRAY_SIZE(st->restart_at))
		st->restart_at[st->restarts] = at;
	st->restarts++;
	if (at < st->plan.total) {
		struct iofuzz_op op;

		iofuzz_host_gen(st, at, &op);
		st->stats[st->plan.ranges[op.range].id].restarts++;
	}
	kvm_log("iofuzz: restart %lu: %s at op %lu (seed %#lx); resuming at op %lu",
		st->restarts, why, at, st->plan.seed, at + 1);
	if (l->cfg->verbose || st->restarts <= 3) {
		if (l->cfg->verbose)
			vcpu_dump(l->vcpu);
		iofuzz_print_recent(st, at);
	}
}

static void __attribute__((format(printf, 3, 4)))
finding(struct iofuzz_life *l, uint64_t at, const char *fmt, ...)
{
	struct iofuzz_state *st = l->st;
	va_list ap;
	int n;

	n = snprintf(st->finding, sizeof(st->finding), "seed %#lx op %lu: ", st->plan.seed, at);
	va_start(ap, fmt);
	vsnprintf(st->finding + n, sizeof(st->finding) - n, fmt, ap);
	va_end(ap);
	st->findings++;
	st->finding_lines = l->oracle.lines;
	st->end = IOF_END_FINDING;
	st->cur = at;
	kvm_log("iofuzz: FINDING: %s", st->finding);
	if (l->vcpu)
		vcpu_dump(l->vcpu);	/* not after the VM is gone (restart limit) */
	iofuzz_print_log(st);
	iofuzz_print_recent(st, at);
}

/* ---- the steps of one life ---- */

/*
 * A VM with a PC's in-kernel devices: irqchip, PIT with the dummy speaker,
 * the APICs; its l->nr_vcpus vCPUs into vcpus[].
 */
static struct kvm_vm *life_create(struct iofuzz_life *l, struct kvm_vcpu **vcpus)
{
	struct vm_opts opts = { .irqchip = true };
	struct kvm_pit_config pit = { .flags = KVM_PIT_SPEAKER_DUMMY };
	struct kvm_vm *vm;

	vm = vm_create_opts(&opts);
	vm_ioctl(vm, KVM_CREATE_PIT2, &pit);
	virt_map_mmio(vm, APIC_DEFAULT_GPA, PAGE_SIZE);
	virt_map_mmio(vm, IOAPIC_DEFAULT_GPA, PAGE_SIZE);
	for (unsigned int i = 0; i < l->nr_vcpus; i++) {
		vcpus[i] = vm_vcpu_add(vm, i, l->cfg->guest_gen ? (void *)iofuzz_guest_main :
					(void *)iofuzz_guest_jit);
		/* Hangs are ours to handle (restart), not the library's (fail). */
		vcpus[i]->timeout_ms = 24 * 3600 * 1000;
	}
	return vm;
}

/* The ops the next chunk may hold: with -M, up to the next move. */
static uint64_t chunk_max(const struct iofuzz_life *l)
{
	uint32_t every = l->st->plan.migrate;

	return every ? every - l->moved : 0;
}

/* Its turn: vCPU cpu runs next (the watchdog watches it from now on). */
static void life_turn(struct iofuzz_life *l, unsigned int cpu)
{
	pthread_mutex_lock(&l->lock);
	l->vcpu = l->vcpus[cpu];
	l->jit = l->jits[cpu];
	l->vcpu->thread = pthread_self();
	pthread_mutex_unlock(&l->lock);
}

/* The plan (and its explicit list) into the guest; the first chunk compiled. */
static void life_load(struct iofuzz_life *l, struct kvm_vm *vm)
{
	struct iofuzz_state *st = l->st;
	struct kvm_vcpu *vcpu = l->vcpus[0];

	st->plan.start = l->start;
	if (st->plan.nr_list) {
		uint64_t bytes = st->plan.nr_list * sizeof(struct iofuzz_op);
		uint64_t gpa = vm_phys_alloc(vm, (bytes + PAGE_SIZE - 1) / PAGE_SIZE);

		memcpy(addr_gpa2hva(vm, gpa), st->list, bytes);
		st->plan.list = (struct iofuzz_op *)(uintptr_t)gpa;
	}
	write_guest_global(vm, guest_plan, st->plan);
	l->sh = addr_gva2hva(vm, (uint64_t)(uintptr_t)&guest_shared);
	if (l->cfg->guest_gen) {
		vcpu_args_set(vcpu, 2, (uint64_t)(uintptr_t)&guest_plan,
			      (uint64_t)(uintptr_t)&guest_shared);
		return;
	}
	/* Each vCPU its own stream: it runs (and exits) only in its turns. */
	for (unsigned int i = 0; i < l->nr_vcpus; i++) {
		struct iofuzz_jit *j = l->jits[i];

		j->gva = vm_phys_alloc(vm, ALIGN_UP(JIT_BYTES, PAGE_SIZE) / PAGE_SIZE);
		j->hva = addr_gpa2hva(vm, j->gva);
		j->hb_gva = (uint64_t)(uintptr_t)&guest_shared.hb;
		iofuzz_jit_tail(j);
		vcpu_args_set(l->vcpus[i], 1, j->gva);
	}
	l->moved = 0;
	l->jit = l->jits[iofuzz_host_op(st, l->start)->cpu];
	iofuzz_jit_fill(st, l->jit, l->start, chunk_max(l));
}

/* From here on the watchdog watches this vCPU. */
static void life_activate(struct iofuzz_life *l, struct kvm_vcpu *vcpu)
{
	pthread_mutex_lock(&l->lock);
	l->sh->hb = l->start;
	l->vcpu = vcpu;
	vcpu->thread = pthread_self();
	l->hung = false;
	l->st->lives++;
	l->active = true;
	pthread_mutex_unlock(&l->lock);
	l->t_run = now_ns();
}

/* Not while the watchdog looks: it would read a freed vCPU. */
static void life_end(struct iofuzz_life *l, struct kvm_vm *vm)
{
	pthread_mutex_lock(&l->lock);
	l->active = false;
	kvm_vm_free(vm);
	l->vcpu = NULL;
	l->sh = NULL;
	pthread_mutex_unlock(&l->lock);
}

/*
 * A saved vCPU no VMM could restore: an address MSR holding a non-canonical
 * value, which KVM_SET_MSRS refuses (as WRMSR must: SDM vol. 4, #GP for a
 * non-canonical IA32_LSTAR, IA32_CSTAR, IA32_KERNEL_GS_BASE, FS/GS base).
 * kvm_amd lets the guest write LSTAR, CSTAR and KERNEL_GS_BASE without an
 * exit, so only the CPU under it can put one there; QEMU's TCG does (it
 * does not check them).  Not KVM's doing: the move is given up, the VM
 * restarted.
 */
static bool unrestorable(const struct vcpu_saved *cpu, unsigned int n, char *why, size_t len)
{
	static const uint32_t addr_msrs[] = {
		MSR_LSTAR, MSR_CSTAR, MSR_KERNEL_GS_BASE, MSR_FS_BASE, MSR_GS_BASE,
	};
	uint64_t v;

	for (unsigned int i = 0; i < n; i++)
		for (unsigned int m = 0; m < ARRAY_SIZE(addr_msrs); m++) {
			if (!vcpu_state_msr(&cpu[i], addr_msrs[m], &v) ||
			    (uint64_t)((int64_t)(v << 16) >> 16) == v)
				continue;
			snprintf(why, len, "vCPU %u's MSR %#x holds non-canonical %#lx: no VMM "
				 "can move it (KVM_SET_MSRS refuses it)", i, addr_msrs[m], v);
			return true;
		}
	return false;
}

/*
 * The migration oracle (-M N): after every N ops the VM moves into a new
 * one made the same way, as a VMM migrates it (lib/vcpu_state.c): the
 * vCPU's whole state with its pending PIO completed first, both PICs, the
 * I/O APIC and the PIT (KVM_GET/SET_IRQCHIP, KVM_GET/SET_PIT2), and the
 * memory (handed over, not copied: vm_memory_move()).  The ops go on there
 * and the read oracle keeps its model, so state that KVM's save or restore
 * loses or changes shows as a read that no longer matches (or as a
 * KVM_GET_* round trip after the next chunk that differs).
 * The watchdog looks away while the move runs: it is VMM time, not guest's.
 * False (the VM stays as it was) when the state cannot move: why says so.
 */
static bool life_migrate(struct iofuzz_life *l, char *why, size_t len)
{
	struct kvm_vm *old = l->vcpu->vm, *vm;
	struct kvm_vcpu *vcpus[IOFUZZ_MAX_VCPUS];
	struct vcpu_saved *cpu = calloc(l->nr_vcpus, sizeof(*cpu));
	struct vm_devices_saved dev;
	unsigned int id = l->vcpu->id;

	TEST_ASSERT(cpu, "out of memory");
	pthread_mutex_lock(&l->lock);
	l->active = false;
	pthread_mutex_unlock(&l->lock);
	for (unsigned int i = 0; i < l->nr_vcpus; i++)
		vcpu_state_save(l->vcpus[i], &cpu[i]);
	if (unrestorable(cpu, l->nr_vcpus, why, len)) {
		for (unsigned int i = 0; i < l->nr_vcpus; i++)
			vcpu_state_free(&cpu[i]);
		free(cpu);
		return false;
	}
	vm_devices_save(old, true, &dev);
	vm = life_create(l, vcpus);
	vm_memory_move(vm, old);
	vm_devices_load(vm, &dev);
	if (l->st->oracle)
		iofuzz_oracle_moved(&l->oracle, vm);
	for (unsigned int i = 0; i < l->nr_vcpus; i++) {
		vcpu_state_load(vcpus[i], &cpu[i]);
		vcpu_state_free(&cpu[i]);
	}
	free(cpu);
	kvm_vm_free(old);
	for (unsigned int i = 0; i < l->nr_vcpus; i++)
		l->jits[i]->hva = addr_gpa2hva(vm, l->jits[i]->gva);
	pthread_mutex_lock(&l->lock);
	memcpy(l->vcpus, vcpus, l->nr_vcpus * sizeof(*vcpus));
	l->vcpu = vcpus[id];
	l->sh = addr_gva2hva(vm, (uint64_t)(uintptr_t)&guest_shared);
	l->vcpu->thread = pthread_self();
	l->active = true;
	pthread_mutex_unlock(&l->lock);
	l->moved = 0;
	l->st->migrations++;
	return true;
}

/*
 * Several vCPUs: a fuzzed ICR write (or an I/O APIC entry) may have sent
 * INIT, or INIT and SIPI, to a vCPU whose turn it is not.  KVM_GET_MP_STATE
 * takes such events in (kvm_apic_accept_events()): an AP then waits for a
 * SIPI, the BSP (and an AP after the SIPI) runs in real mode (SDM vol. 3A
 * 9.1.1, 11.6.1): either is a reset, and the host restarts the VM.  The
 * vCPU's number, or -1.
 */
static int other_vcpu_reset(const struct iofuzz_life *l)
{
	for (unsigned int i = 0; i < l->nr_vcpus; i++) {
		struct kvm_mp_state mp;
		struct kvm_sregs sregs;

		if (l->vcpus[i] == l->vcpu)
			continue;
		vcpu_ioctl(l->vcpus[i], KVM_GET_MP_STATE, &mp);
		if (mp.mp_state != KVM_MP_STATE_RUNNABLE)
			return i;
		vcpu_ioctl(l->vcpus[i], KVM_GET_SREGS, &sregs);
		if (!(sregs.cr0 & X86_CR0_PE))
			return i;
	}
	return -1;
}

/* KVM_RUN failed or was interrupted: by the watchdog (hang, time up) or a stray signal. */
static uint64_t on_kick(struct iofuzz_life *l, int r, int err)
{
	struct iofuzz_state *st = l->st;

	if (r < 0 && err != EINTR) {
		finding(l, l->last, "KVM_RUN failed: %s", strerror(err));
		return st->plan.total;
	}
	if (l->stop) {
		st->end = IOF_END_TIME;
		l->last = hb_or_last(l);
		st->done = l->last;
		return st->plan.total;
	}
	if (l->hung) {
		l->last = iofuzz_stopped_op_index(l, l->last);
		vcpu_dump(l->vcpu);
		restart(l, "hang (no exit and no heartbeat)", l->last);
		return l->last + 1;
	}
	return LIFE_GOES_ON;
}

static bool is_chunk_done(const struct iofuzz_life *l, const struct kvm_run *run)
{
	return run->io.port == UCALL_PIO_PORT && l->jit && run->io.size == 4 &&
	       *(uint32_t *)((uint8_t *)run + run->io.data_offset) == IOFUZZ_CHUNK_MAGIC;
}

/*
 * For the bench, in the first life: the first chunk touches the JIT pages
 * (warm-up); the rest is the stream's rate.
 */
static void time_chunk(struct iofuzz_life *l, uint64_t end)
{
	struct iofuzz_state *st = l->st;
	uint64_t t = now_ns() - l->t_run;

	if (!st->warm_ops) {
		st->warm_ns = t;
		st->warm_ops = end - l->start;
	} else {
		st->timed_ns = t - st->warm_ns;
		st->timed_ops = end - l->start - st->warm_ops;
	}
}

/* The compiled stream finished a chunk: compile the next, or the life is done. */
static uint64_t on_chunk_done(struct iofuzz_life *l)
{
	struct iofuzz_state *st = l->st;
	uint64_t end = l->jit->first + l->jit->n;

	l->last = end - 1;
	st->cur = l->last;
	st->turns++;
	st->cpu_ops[l->jit->cpu] += l->jit->n;
	l->moved += l->jit->n;
	if (st->oracle) {
		uint64_t at, t0 = now_ns();
		char why[256];
		bool ok;

		ok = iofuzz_oracle_chunk(&l->oracle, st, l->jit, l->vcpus, &at, why,
					 sizeof(why));
		st->oracle_ns += now_ns() - t0;
		st->oracle_ops += l->jit->n;
		if (!ok) {
			finding(l, at, "%s", why);
			return st->plan.total;
		}
		st->oracle_trips++;
	}
	if (st->lives == 1)
		time_chunk(l, end);
	if (end < st->plan.total) {
		int reset = l->nr_vcpus > 1 ? other_vcpu_reset(l) : -1;
		unsigned int cpu;

		if (reset >= 0) {
			char why[96];

			snprintf(why, sizeof(why), "vCPU %d reset by INIT or SIPI in vCPU %u's turn",
				 reset, l->vcpu->id);
			restart(l, why, end - 1);
			return end;
		}
		if (st->plan.migrate && l->moved >= st->plan.migrate) {
			char why[160];

			if (!life_migrate(l, why, sizeof(why))) {
				restart(l, why, end - 1);
				return end;
			}
		}
		cpu = iofuzz_host_op(st, end)->cpu;
		if (cpu != l->jit->cpu)
			life_turn(l, cpu);
		iofuzz_jit_fill(st, l->jit, end, chunk_max(l));
		return LIFE_GOES_ON;
	}
	st->hash = iofuzz_hash_op(st->hash, &(struct iofuzz_op){
		.addr = end - l->start, .value = iofuzz_host_hash(st, l->start, end) });
	return st->plan.total;
}

static uint64_t on_ucall(struct iofuzz_life *l)
{
	struct iofuzz_state *st = l->st;
	struct ucall uc;
	char why[128];
	uint64_t at;

	/* Code no op put there (SMM, real mode) may write any port, this one too. */
	if (l->jit && iofuzz_left_stream(l->vcpu, why, sizeof(why))) {
		l->last = hb_or_last(l);
		restart(l, why, l->last);
		return l->last + 1;
	}
	switch (get_ucall(l->vcpu, &uc)) {
	case IOFUZZ_UCALL_LIFE_DONE:
		/* The guest's generator must agree with the host's. */
		if (uc.args[1] != iofuzz_host_hash(st, l->start, st->plan.total))
			TEST_FAIL("generators differ: guest hash %#lx, ops %lu-%lu", uc.args[1],
				  l->start, st->plan.total);
		st->hash = iofuzz_hash_op(st->hash, &(struct iofuzz_op){
			.addr = uc.args[0], .value = uc.args[1] });
		return st->plan.total;
	case UCALL_ABORT:
		kvm_log("guest: %s", uc.buffer);
		l->last = hb_or_last(l);
		/* An unhandled exception reports its RIP in args[1]. */
		if (l->jit && uc.nargs >= 2 && iofuzz_jit_idx(l->jit, uc.args[1], &at))
			l->last = at;
		restart(l, "guest exception", l->last);
		return l->last + 1;
	case UCALL_PRINTF:
		kvm_log("guest: %s", uc.buffer);
		return LIFE_GOES_ON;
	default:
		TEST_FAIL("unexpected ucall %u", uc.cmd);
	}
}

/* An op's exit to userspace: it must be an op's and describe it; the model answers. */
static uint64_t on_access(struct iofuzz_life *l)
{
	struct kvm_run *run = l->vcpu->run;
	struct iofuzz_state *st = l->st;
	char why[128];
	bool found = iofuzz_exit_op_index(l, &l->last, why, sizeof(why));

	if (!found && iofuzz_left_stream(l->vcpu, why, sizeof(why))) {
		l->last = hb_or_last(l);
		restart(l, why, l->last);
		return l->last + 1;
	}
	if (!found || !iofuzz_check_exited_op(st, run, l->last, why, sizeof(why))) {
		finding(l, l->last, "%s", why);
		return st->plan.total;
	}
	st->cur = l->last;
	if (run->exit_reason == KVM_EXIT_IO)
		iofuzz_model_io(&l->model, st, run, l->last);
	else
		iofuzz_model_mmio(st, run, l->last);
	return LIFE_GOES_ON;
}

static uint64_t on_vcpu_exit(struct iofuzz_life *l)
{
	struct kvm_run *run = l->vcpu->run;
	char why[128];

	switch (run->exit_reason) {
	case KVM_EXIT_IO:
		if (is_chunk_done(l, run))
			return on_chunk_done(l);
		if (run->io.port == UCALL_PIO_PORT)
			return on_ucall(l);
		return on_access(l);
	case KVM_EXIT_MMIO:
		return on_access(l);
	case KVM_EXIT_SHUTDOWN:
		l->last = iofuzz_stopped_op_index(l, l->last);
		restart(l, "guest shutdown (triple fault)", l->last);
		return l->last + 1;
	case KVM_EXIT_INTERNAL_ERROR:
		l->last = hb_or_last(l);
		if (iofuzz_internal_error_explained(l->vcpu, why, sizeof(why))) {
			restart(l, why, l->last);
			return l->last + 1;
		}
		finding(l, l->last, "KVM_EXIT_INTERNAL_ERROR suberror %u", run->internal.suberror);
		return l->st->plan.total;
	default:
		l->last = hb_or_last(l);
		finding(l, l->last, "unexpected exit %s", exit_reason_str(run->exit_reason));
		return l->st->plan.total;
	}
}

/* One VM's life, from op `start` until the plan ends or the VM must restart. */
static uint64_t run_life(struct iofuzz_life *l, uint64_t start)
{
	struct iofuzz_state *st = l->st;
	uint64_t next = LIFE_GOES_ON;
	struct kvm_vm *vm;

	l->start = l->last = start;
	memset(&l->model, 0, sizeof(l->model));
	vm = life_create(l, l->vcpus);
	life_load(l, vm);
	if (st->oracle)
		iofuzz_oracle_start(&l->oracle, st, l->vcpus, l->nr_vcpus, start);
	life_activate(l, l->cfg->guest_gen ? l->vcpus[0] : l->vcpus[l->jit->cpu]);
	while (next == LIFE_GOES_ON) {
		/* l->vcpu: a move (-M) replaces the VM within the life. */
		int r = __vcpu_run(l->vcpu), err = errno;

		st->exits_total++;
		next = r < 0 || l->stop ? on_kick(l, r, err) : on_vcpu_exit(l);
	}
	st->run_ns += now_ns() - l->t_run;
	life_end(l, l->vcpu->vm);
	if (st->restarts > MAX_RESTARTS && !st->findings) {
		finding(l, l->last, "more than %u restarts", MAX_RESTARTS);
		next = st->plan.total;
	}
	return next;
}

/* ---- the run ---- */

void iofuzz_count_ops(struct iofuzz_state *st)
{
	struct iofuzz_op op;

	for (uint64_t i = 0; i < st->done; i++) {
		iofuzz_host_gen(st, i, &op);
		if (op.type == IOF_NOP)
			continue;	/* excluded unit: nothing was accessed */
		st->stats[st->plan.ranges[op.range].id].ops++;
	}
	for (unsigned int d = 0; d < iofuzz_nr_devs; d++)
		st->stats[d].in_kernel = st->stats[d].ops > st->stats[d].exited_ops ?
					 st->stats[d].ops - st->stats[d].exited_ops : 0;
}

/* What replays compare, and what a crash report starts from: this run's own. */
static void run_reset(struct iofuzz_state *st)
{
	memset(st->stats, 0, sizeof(st->stats));
	memset(st->port_exits, 0, sizeof(st->port_exits));
	st->warm_ns = st->warm_ops = st->timed_ns = st->timed_ops = 0;
	st->last_exited = ~0ULL;
	st->log_pos = 0;
	st->exits_total = 0;
	st->hb_seen = 0;
	st->hash = IOFUZZ_HASH_INIT;
	st->exit_hash = IOFUZZ_HASH_INIT;
	st->end = IOF_END_OK;
	st->oracle_reads = st->oracle_trips = st->oracle_ns = st->oracle_ops = 0;
	st->migrations = 0;
	st->turns = 0;
	memset(st->cpu_ops, 0, sizeof(st->cpu_ops));
	st->finding_lines = 0;
	st->finding_dev = -1;
}

void iofuzz_run(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	struct iofuzz_life l = { .cfg = cfg, .st = st, .lock = PTHREAD_MUTEX_INITIALIZER };
	uint64_t next = 0;
	pthread_t wd;

	l.nr_vcpus = st->plan.vcpus > 1 ? st->plan.vcpus : 1;
	TEST_ASSERT(l.nr_vcpus <= IOFUZZ_MAX_VCPUS, "%u vCPUs: at most %u", l.nr_vcpus,
		    IOFUZZ_MAX_VCPUS);
	if (!cfg->guest_gen) {
		for (unsigned int i = 0; i < l.nr_vcpus; i++) {
			l.jits[i] = calloc(1, sizeof(*l.jits[i]));
			TEST_ASSERT(l.jits[i], "out of memory");
		}
		l.jit = l.jits[0];
	}
	run_reset(st);
	TEST_ASSERT(!st->plan.migrate || !cfg->guest_gen,
		    "moving the VM (-M) needs the compiled stream, not -G");
	TEST_ASSERT(l.nr_vcpus == 1 || !cfg->guest_gen,
		    "several vCPUs (-p) need the compiled stream, not -G");
	/* The oracle reads what the compiled stream stores: not with -G. */
	st->oracle = !cfg->no_oracle && !cfg->guest_gen;
	iofuzz_plant_fault(cfg, st);
	l.t0 = now_ns();
	TEST_ASSERT(!pthread_create(&wd, NULL, iofuzz_watchdog, &l), "watchdog thread");
	while (next < st->plan.total && !st->findings && st->end != IOF_END_TIME) {
		/* Also between lives: a run of restarts never reaches the watchdog's check. */
		if (cfg->time_ms && now_ns() - l.t0 > cfg->time_ms * 1000000ULL) {
			st->end = IOF_END_TIME;
			st->done = next;
			break;
		}
		next = run_life(&l, next);
	}
	l.quit = true;
	pthread_join(wd, NULL);
	pthread_mutex_destroy(&l.lock);
	for (unsigned int i = 0; i < l.nr_vcpus; i++)
		free(l.jits[i]);
	if (st->end != IOF_END_TIME)
		st->done = st->findings ? st->cur : st->plan.total;
	st->elapsed_ns = now_ns() - l.t0;
	st->hash = iofuzz_hash_op(st->hash, &(struct iofuzz_op){ .value = st->exit_hash });
	iofuzz_count_ops(st);
}

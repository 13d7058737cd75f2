// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the watchdog thread of a VMM process.  It kicks the vCPU out of
 * KVM_RUN (SIGUSR2) when the guest hangs or the time budget is spent; the
 * run loop (run.c) then restarts the VM or ends the run.
 */
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"

/* CPU time the vCPU thread has used (guest time included), in ns; 0 if unknown. */
static uint64_t vcpu_cpu_ns(struct kvm_vcpu *vcpu)
{
	struct timespec ts;
	clockid_t cid;

	if (pthread_getcpuclockid(vcpu->thread, &cid) || clock_gettime(cid, &ts))
		return 0;
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

/*
 * A hang is no exit and no heartbeat while the vCPU thread itself burned
 * hang_ms of CPU: a vCPU the host simply didn't schedule (a loaded machine)
 * is not a hung guest.  A guest that waits without using CPU (HLT with
 * interrupts off, in the kernel's irqchip) is caught after 10 x hang_ms of
 * wall time.
 */
void *iofuzz_watchdog(void *arg)
{
	struct iofuzz_life *l = arg;
	uint64_t last_seq = 0, last_hb = ~0ULL, since = now_ns(), since_cpu = 0;

	while (!l->quit) {
		uint64_t now, cpu;

		usleep(20000);
		now = now_ns();
		pthread_mutex_lock(&l->lock);
		if (!l->active) {
			pthread_mutex_unlock(&l->lock);
			since = now;
			since_cpu = 0;
			continue;
		}
		/* Kick until the run loop notices: a signal outside KVM_RUN is lost. */
		if (l->cfg->time_ms && now - l->t0 > l->cfg->time_ms * 1000000ULL) {
			l->stop = true;
			pthread_kill(l->vcpu->thread, SIGUSR2);
		}
		cpu = vcpu_cpu_ns(l->vcpu);
		if (l->vcpu->run_seq != last_seq || l->sh->hb != last_hb || !since_cpu) {
			last_seq = l->vcpu->run_seq;
			last_hb = l->sh->hb;
			/* For the parent's report should this process die in KVM_RUN. */
			l->st->hb_seen = last_hb;
			since = now;
			since_cpu = cpu ? cpu : 1;
		} else if ((cpu && cpu - since_cpu > l->cfg->hang_ms * 1000000ULL) ||
			   now - since > 10 * l->cfg->hang_ms * 1000000ULL) {
			l->hung = true;
			pthread_kill(l->vcpu->thread, SIGUSR2);
			since = now;
			since_cpu = cpu ? cpu : 1;
		}
		pthread_mutex_unlock(&l->lock);
	}
	return NULL;
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * iofuzz: the supervising parent.  Every run is a forked VMM child whose
 * state lives in shared memory, so when the child dies (a device-model
 * crash, planted or not) the parent still prints the seed, the op index and
 * the last ops, and counts the ops the child reached.
 */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"

int iofuzz_supervise(const struct iofuzz_cfg *cfg, struct iofuzz_state *st)
{
	uint64_t limit_ms = (cfg->time_ms ? cfg->time_ms : 600000) + 60000, t0 = now_ns();
	int status;
	pid_t pid;

	fflush(stdout);
	fflush(stderr);
	pid = fork();
	TEST_ASSERT(pid >= 0, "fork");
	if (!pid) {
		iofuzz_run(cfg, st);
		fflush(stdout);
		_exit(st->findings ? 1 : 0);
	}
	/* Bounded wait: the child has its own watchdogs, this is the last resort. */
	while (waitpid(pid, &status, WNOHANG) == 0) {
		if (now_ns() - t0 > limit_ms * 1000000ULL) {
			kill(pid, SIGKILL);
			waitpid(pid, &status, 0);
			break;
		}
		usleep(2000);
	}
	if (WIFSIGNALED(status)) {
		st->end = IOF_END_CRASH;
		snprintf(st->finding, sizeof(st->finding),
			 "VMM process died with signal %d (%s): seed %#lx op %lu",
			 WTERMSIG(status), strsignal(WTERMSIG(status)), st->plan.seed, st->cur);
		kvm_log("iofuzz: %s", st->finding);
		iofuzz_print_recent(st, st->hb_seen > st->cur ? st->hb_seen : st->cur);
		/* The child died before counting its ops: count the ones it reached. */
		st->done = st->cur < st->plan.total ? st->cur + 1 : st->plan.total;
		iofuzz_count_ops(st);
		return IOF_END_CRASH;
	}
	if (!WIFEXITED(status) || (WEXITSTATUS(status) && !st->findings))
		TEST_FAIL("VMM child ended with status %#x without a finding", status);
	return st->end;
}

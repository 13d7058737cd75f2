// SPDX-License-Identifier: GPL-2.0-only
/*
 * LTP KVM Test API 2.2: tst_kvm_validate_result(value) returns for every
 * result type tst_res() accepts (TPASS, TFAIL, TBROK, TWARN, TINFO, TCONF)
 * and ends the controller with TBROK for any other value (checked in a
 * child process: it must exit 1 and say TBROK with the value).  The payload
 * reports a TPASS through the same path.  An LTP-form test
 * (include/kvm_test.h).
 */
#include "kvm_test.h"

#ifdef COMPILE_PAYLOAD

void main(void)
{
	tst_res(TPASS, "a valid result from the payload");
}

#else /* COMPILE_PAYLOAD */

#include <sys/wait.h>

/* Run tst_kvm_validate_result(value) in a child; its exit status and output. */
static int validate_in_child(int value, char *out, size_t size)
{
	int fds[2], status;
	ssize_t n, len = 0;
	pid_t pid;

	if (pipe(fds))
		tst_brk(TBROK | TERRNO, "pipe");
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		tst_brk(TBROK | TERRNO, "fork");
	if (!pid) {
		dup2(fds[1], STDOUT_FILENO);
		tst_kvm_validate_result(value);
		_exit(0);	/* valid: returned */
	}
	close(fds[1]);
	while ((n = read(fds[0], out + len, size - 1 - len)) > 0)
		len += n;
	out[len] = '\0';
	close(fds[0]);
	waitpid(pid, &status, 0);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

static void run(void)
{
	static const int valid[] = { TPASS, TFAIL, TBROK, TWARN, TINFO, TCONF };
	static const int invalid[] = { 3, 7, 64, -1 };
	char out[4096], want[64];
	int bad = 0, rc;

	tst_kvm_run();
	for (unsigned int i = 0; i < ARRAY_SIZE(valid); i++) {
		rc = validate_in_child(valid[i], out, sizeof(out));
		if (rc || out[0])
			tst_res(TFAIL, "valid %d: exit %d, output '%s'", valid[i], rc, out), bad++;
	}
	for (unsigned int i = 0; i < ARRAY_SIZE(invalid); i++) {
		rc = validate_in_child(invalid[i], out, sizeof(out));
		snprintf(want, sizeof(want), "TBROK: invalid result value %d", invalid[i]);
		if (rc != 1 || !strstr(out, want) || !strstr(out, "not ok 1"))
			tst_res(TFAIL, "invalid %d: exit %d, output '%s'", invalid[i], rc, out),
				bad++;
	}
	if (!bad)
		tst_res(TPASS, "6 result types accepted; 3, 7, 64 and -1 end the program with TBROK");
}

static struct tst_test test = {
	.test_all = run,
	.setup = tst_kvm_setup,
	.cleanup = tst_kvm_cleanup,
};

#endif /* COMPILE_PAYLOAD */

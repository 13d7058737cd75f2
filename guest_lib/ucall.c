// SPDX-License-Identifier: GPL-2.0-only
/*
 * ucall, guest side: the out-of-line forms.  See include/ucall.h for the
 * register protocol; GUEST_SYNC and GUEST_DONE are inlined there.
 */
#include <stdarg.h>

#include "guest/guest.h"

void guest_ucall(uint32_t cmd, const char *file, unsigned int line,
		 const uint64_t *args, unsigned int nargs)
{
	uint64_t a[UCALL_MAX_ARGS] = { 0 };

	if (nargs > UCALL_MAX_ARGS)
		nargs = UCALL_MAX_ARGS;
	for (unsigned int i = 0; i < nargs; i++)
		a[i] = args[i];
	guest_ucall_msg(cmd, file, line, nargs, a, NULL);
}

static void guest_vucall_fmt(uint32_t cmd, const char *file, unsigned int line,
			     const char *fmt, va_list ap)
{
	static const uint64_t none[UCALL_MAX_ARGS];
	char buf[UCALL_BUFFER_LEN];

	guest_vsnprintf(buf, sizeof(buf), fmt, ap);
	guest_ucall_msg(cmd, file, line, 0, none, buf);
}

void guest_ucall_fmt(uint32_t cmd, const char *file, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	guest_vucall_fmt(cmd, file, line, fmt, ap);
	va_end(ap);
}

void guest_abort(const char *file, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	/* The host fails the test; should it resume us anyway, report again. */
	for (;;) {
		va_start(ap, fmt);
		guest_vucall_fmt(UCALL_ABORT, file, line, fmt, ap);
		va_end(ap);
	}
}

/* Reached through guest_return_trampoline when a vCPU's function returns. */
void guest_function_returned(void);
void guest_function_returned(void)
{
	for (;;)
		GUEST_DONE();
}

// SPDX-License-Identifier: GPL-2.0-only
/*
 * ucall, guest side.  See include/ucall.h for the protocol.
 */
#include <stdarg.h>

#include "guest.h"

static void ucall_send(struct ucall *uc)
{
	/* The host reads a 32-bit address; stacks and globals are below 4 GiB. */
	if ((uint64_t)(uintptr_t)uc >> 32)
		asm volatile("ud2");
	outl(UCALL_PIO_PORT, (uint32_t)(uintptr_t)uc);
}

void guest_ucall(uint32_t cmd, const char *file, unsigned int line,
		 const uint64_t *args, unsigned int nargs)
{
	struct ucall uc;

	uc.magic = UCALL_MAGIC;
	uc.cmd = cmd;
	uc.line = line;
	uc.file = (uint64_t)(uintptr_t)file;
	uc.nargs = nargs > UCALL_MAX_ARGS ? UCALL_MAX_ARGS : nargs;
	for (unsigned int i = 0; i < uc.nargs; i++)
		uc.args[i] = args[i];
	uc.buffer[0] = '\0';
	ucall_send(&uc);
}

static void guest_vucall_fmt(uint32_t cmd, const char *file, unsigned int line,
			     const char *fmt, va_list ap)
{
	struct ucall uc;

	uc.magic = UCALL_MAGIC;
	uc.cmd = cmd;
	uc.line = line;
	uc.file = (uint64_t)(uintptr_t)file;
	uc.nargs = 0;
	guest_vsnprintf(uc.buffer, sizeof(uc.buffer), fmt, ap);
	ucall_send(&uc);
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
		guest_ucall(UCALL_DONE, __FILE__, __LINE__, 0, 0);
}

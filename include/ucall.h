/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall: how guest code talks to the host.
 *
 * The guest builds a struct ucall on its own stack and executes one 32-bit
 * OUT to UCALL_PIO_PORT whose data is the (identity-mapped, below 4 GiB)
 * guest address of that struct.  The host sees KVM_EXIT_IO, finds the struct
 * in guest memory through the guest page tables and reads it.  No register
 * ioctl is needed, so a ucall costs one exit, the same as a bare OUT.
 *
 * Guest messages (GUEST_PRINTF, assertion text) are formatted inside the
 * guest by guest_vsnprintf(); the host prints them with the guest's file:line.
 */
#ifndef KVM_SUITE_UCALL_H
#define KVM_SUITE_UCALL_H

#include <stdint.h>

#define UCALL_PIO_PORT		0x1000
#define UCALL_MAGIC		0x4c4c4143554d564bULL	/* "KVMUCALL" */
#define UCALL_MAX_ARGS		6
#define UCALL_BUFFER_LEN	1024

enum {
	UCALL_NONE,
	UCALL_SYNC,	/* args[] carry values for the host; guest resumes after */
	UCALL_DONE,	/* the guest function finished */
	UCALL_PRINTF,	/* buffer holds a message to print; guest resumes */
	UCALL_ABORT,	/* guest assertion or unhandled exception; buffer says why */
	UCALL_USER = 0x100,	/* first command number for extensions (tst_res, ...) */
};

struct ucall {
	uint64_t magic;
	uint32_t cmd;
	uint32_t line;
	uint64_t file;		/* guest address of the NUL-terminated file name */
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	char buffer[UCALL_BUFFER_LEN];
};

/* ---- guest side (guest_lib/ucall.c) ---- */

void guest_ucall(uint32_t cmd, const char *file, unsigned int line,
		 const uint64_t *args, unsigned int nargs);
void __attribute__((format(printf, 4, 5)))
guest_ucall_fmt(uint32_t cmd, const char *file, unsigned int line, const char *fmt, ...);
void __attribute__((noreturn, format(printf, 3, 4)))
guest_abort(const char *file, unsigned int line, const char *fmt, ...);

#define __UCALL_ARGS(...)	((const uint64_t[]){ 0, ##__VA_ARGS__ })
#define __UCALL_NARGS(...)	(sizeof(__UCALL_ARGS(__VA_ARGS__)) / sizeof(uint64_t) - 1)

/* Report up to six values to the host and wait for it to resume the guest. */
#define GUEST_SYNC(...)								\
	guest_ucall(UCALL_SYNC, __FILE__, __LINE__, __UCALL_ARGS(__VA_ARGS__) + 1,	\
		    __UCALL_NARGS(__VA_ARGS__))

/* The guest function is finished (returning from it does the same). */
#define GUEST_DONE()	guest_ucall(UCALL_DONE, __FILE__, __LINE__, 0, 0)

#define GUEST_PRINTF(fmt, ...)							\
	guest_ucall_fmt(UCALL_PRINTF, __FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define GUEST_FAIL(fmt, ...)	guest_abort(__FILE__, __LINE__, fmt, ##__VA_ARGS__)

#define __GUEST_ASSERT(cond, fmt, ...) do {					\
	if (!(cond))								\
		guest_abort(__FILE__, __LINE__, "%s: " fmt, #cond, ##__VA_ARGS__); \
} while (0)

#define GUEST_ASSERT(cond)	__GUEST_ASSERT(cond, "assertion failed")

#define __GUEST_ASSERT_CMP(a, op, b) do {					\
	__typeof__(a) __ga = (a);						\
	__typeof__(b) __gb = (b);						\
	if (!(__ga op __gb))							\
		guest_abort(__FILE__, __LINE__,					\
			    "%s %s %s failed: %#llx (%lld) vs %#llx (%lld)",	\
			    #a, #op, #b,					\
			    (unsigned long long)__ga, (long long)__ga,		\
			    (unsigned long long)__gb, (long long)__gb);	\
} while (0)

#define GUEST_ASSERT_EQ(a, b)	__GUEST_ASSERT_CMP(a, ==, b)
#define GUEST_ASSERT_NE(a, b)	__GUEST_ASSERT_CMP(a, !=, b)
#define GUEST_ASSERT_LT(a, b)	__GUEST_ASSERT_CMP(a, <, b)
#define GUEST_ASSERT_LE(a, b)	__GUEST_ASSERT_CMP(a, <=, b)
#define GUEST_ASSERT_GT(a, b)	__GUEST_ASSERT_CMP(a, >, b)
#define GUEST_ASSERT_GE(a, b)	__GUEST_ASSERT_CMP(a, >=, b)

#endif /* KVM_SUITE_UCALL_H */

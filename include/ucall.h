/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall: how guest code talks to the host.
 *
 * A ucall is one 32-bit OUT to UCALL_PIO_PORT with everything else in
 * registers, so it costs one exit and touches no guest memory.  That
 * matters: on some KVMs (kvm_pvm) every guest page touched after an exit to
 * userspace faults again, ~3.5 us a page, so a ucall built in memory would
 * cost several times the bare exit.
 *
 *   EAX  UCALL_TAG | UCALL_HAS_MSG? | nargs << 16 | cmd   (the OUT data)
 *   RAX[63:32]  guest source line
 *   RBX  guest address of the source file name
 *   RDI RSI RCX R8 R9 R10   args[0..nargs-1] (the others are not loaded)
 *   R11  with UCALL_HAS_MSG: guest address of a NUL-terminated message
 *
 * The host reads the registers from kvm_run (KVM_CAP_SYNC_REGS) when it can,
 * else with KVM_GET_REGS.  Messages (GUEST_PRINTF, assertion text) are
 * formatted inside the guest by guest_vsnprintf() into a stack buffer; the
 * host prints them with the guest's file:line.
 */
#ifndef KVM_SUITE_UCALL_H
#define KVM_SUITE_UCALL_H

#include <stdint.h>

#define UCALL_PIO_PORT		0x1000
#define UCALL_TAG		0x5c000000u
#define UCALL_TAG_MASK		0xff000000u
#define UCALL_HAS_MSG		0x00800000u	/* R11 holds a message address */
#define UCALL_NARGS_SHIFT	16
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

/* A decoded ucall, as the host sees it. */
struct ucall {
	uint32_t cmd;
	uint32_t line;
	uint64_t file;		/* guest address of the file name */
	uint64_t nargs;
	uint64_t args[UCALL_MAX_ARGS];
	uint64_t buffer_gva;	/* 0 if the ucall carried no message */
	char buffer[UCALL_BUFFER_LEN];
};

/* ---- guest side (guest_lib/ucall.c) ---- */

/*
 * Only the registers a ucall uses are loaded: on kvm_pvm each instruction
 * executed between two exits has a measurable cost, so a GUEST_SYNC(x) loop
 * should be little more than the OUT itself.
 */
#define __UCALL_OUT(...)							\
	asm volatile("outl %%eax, %%dx" :: "a"(rax), "d"((uint16_t)UCALL_PIO_PORT), \
		     "b"(file), ##__VA_ARGS__ : "memory")

/* A ucall with a message: all six argument registers and R11. */
static inline __attribute__((always_inline)) void
guest_ucall_msg(uint32_t cmd, const char *file, unsigned int line, unsigned int nargs,
		const uint64_t *a, const char *msg)
{
	uint64_t rax = (uint64_t)line << 32 | UCALL_TAG | UCALL_HAS_MSG | nargs << 16 | cmd;
	register uint64_t r8 asm("r8") = a[3];
	register uint64_t r9 asm("r9") = a[4];
	register uint64_t r10 asm("r10") = a[5];
	register uint64_t r11 asm("r11") = (uint64_t)(uintptr_t)msg;

	__UCALL_OUT("D"(a[0]), "S"(a[1]), "c"(a[2]), "r"(r8), "r"(r9), "r"(r10), "r"(r11));
}

/* A ucall without a message; nargs is a compile-time constant at every use. */
static inline __attribute__((always_inline)) void
guest_ucall_regs(uint32_t cmd, const char *file, unsigned int line, unsigned int nargs,
		 const uint64_t *a)
{
	uint64_t rax = (uint64_t)line << 32 | UCALL_TAG | nargs << 16 | cmd;

	switch (nargs) {
	case 0:
		__UCALL_OUT();
		break;
	case 1:
		__UCALL_OUT("D"(a[0]));
		break;
	case 2:
		__UCALL_OUT("D"(a[0]), "S"(a[1]));
		break;
	case 3:
		__UCALL_OUT("D"(a[0]), "S"(a[1]), "c"(a[2]));
		break;
	default: {
		register uint64_t r8 asm("r8") = a[3];
		register uint64_t r9 asm("r9") = a[4];
		register uint64_t r10 asm("r10") = a[5];

		__UCALL_OUT("D"(a[0]), "S"(a[1]), "c"(a[2]), "r"(r8), "r"(r9), "r"(r10));
		break;
	}
	}
}

void guest_ucall(uint32_t cmd, const char *file, unsigned int line,
		 const uint64_t *args, unsigned int nargs);
void __attribute__((format(printf, 4, 5)))
guest_ucall_fmt(uint32_t cmd, const char *file, unsigned int line, const char *fmt, ...);
void __attribute__((noreturn, format(printf, 3, 4)))
guest_abort(const char *file, unsigned int line, const char *fmt, ...);

/* Up to six values, zero-padded; more is a compile error ("excess elements"). */
#define __UCALL_ARGS(...)	((const uint64_t[UCALL_MAX_ARGS + 1]){ 0, ##__VA_ARGS__ })
#define __UCALL_NARGS(...)	(sizeof((const uint64_t[]){ 0, ##__VA_ARGS__ }) / sizeof(uint64_t) - 1)

/* Report up to six values to the host and wait for it to resume the guest. */
#define GUEST_SYNC(...)								\
	guest_ucall_regs(UCALL_SYNC, __FILE__, __LINE__, __UCALL_NARGS(__VA_ARGS__),	\
			 __UCALL_ARGS(__VA_ARGS__) + 1)

/* The guest function is finished (returning from it does the same). */
#define GUEST_DONE()								\
	guest_ucall_regs(UCALL_DONE, __FILE__, __LINE__, 0, __UCALL_ARGS() + 1)

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

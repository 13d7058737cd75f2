/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall, guest side (guest_lib/ucall.c): GUEST_SYNC, GUEST_DONE,
 * GUEST_PRINTF, GUEST_ASSERT and friends over the register protocol of
 * x86/ucall.h.
 */
#ifndef KVM_SUITE_GUEST_UCALL_H
#define KVM_SUITE_GUEST_UCALL_H

#include <stdint.h>

#include "x86/ucall.h"

/*
 * Only the registers a ucall uses are loaded: on kvm_pvm each instruction
 * executed between two exits has a measurable cost, so a GUEST_SYNC(x) loop
 * should be little more than the OUT itself.
 */
#define __UCALL_OUT(...)							\
	asm volatile(UCALL_OUT_INSN :: UCALL_C_RAX(rax), UCALL_C_PORT((uint16_t)UCALL_PIO_PORT), \
		     UCALL_C_FILE(file), ##__VA_ARGS__ : "memory")

/* A ucall with a message: all six argument registers and R11. */
static inline __attribute__((always_inline)) void
guest_ucall_msg(uint32_t cmd, const char *file, unsigned int line, unsigned int nargs,
		const uint64_t *a, const char *msg)
{
	uint64_t rax = UCALL_RAX(cmd, nargs, line) | UCALL_HAS_MSG;
	register uint64_t r8 asm(UCALL_REG_ARG3) = a[3];
	register uint64_t r9 asm(UCALL_REG_ARG4) = a[4];
	register uint64_t r10 asm(UCALL_REG_ARG5) = a[5];
	register uint64_t r11 asm(UCALL_REG_MSG) = (uint64_t)(uintptr_t)msg;

	__UCALL_OUT(UCALL_C_ARG0(a[0]), UCALL_C_ARG1(a[1]), UCALL_C_ARG2(a[2]), "r"(r8), "r"(r9),
		    "r"(r10), "r"(r11));
}

/* A ucall without a message; nargs is a compile-time constant at every use. */
static inline __attribute__((always_inline)) void
guest_ucall_regs(uint32_t cmd, const char *file, unsigned int line, unsigned int nargs,
		 const uint64_t *a)
{
	uint64_t rax = UCALL_RAX(cmd, nargs, line);

	switch (nargs) {
	case 0:
		__UCALL_OUT();
		break;
	case 1:
		__UCALL_OUT(UCALL_C_ARG0(a[0]));
		break;
	case 2:
		__UCALL_OUT(UCALL_C_ARG0(a[0]), UCALL_C_ARG1(a[1]));
		break;
	case 3:
		__UCALL_OUT(UCALL_C_ARG0(a[0]), UCALL_C_ARG1(a[1]), UCALL_C_ARG2(a[2]));
		break;
	default: {
		register uint64_t r8 asm(UCALL_REG_ARG3) = a[3];
		register uint64_t r9 asm(UCALL_REG_ARG4) = a[4];
		register uint64_t r10 asm(UCALL_REG_ARG5) = a[5];

		__UCALL_OUT(UCALL_C_ARG0(a[0]), UCALL_C_ARG1(a[1]), UCALL_C_ARG2(a[2]), "r"(r8),
			    "r"(r9), "r"(r10));
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

#endif /* KVM_SUITE_GUEST_UCALL_H */

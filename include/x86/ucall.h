/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall: how guest code talks to the host.  The ABI both halves share:
 * guest/ucall.h sends, the host's get_ucall() (lib/ucall.c) decodes.
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
#ifndef KVM_SUITE_X86_UCALL_H
#define KVM_SUITE_X86_UCALL_H

#include <stdint.h>

#define UCALL_PIO_PORT		0x1000
#define UCALL_TAG		0x5c000000u
#define UCALL_TAG_MASK		0xff000000u
#define UCALL_HAS_MSG		0x00800000u	/* R11 holds a message address */
#define UCALL_NARGS_SHIFT	16
#define UCALL_NARGS_MASK	0x7f		/* nargs field, after the shift */
#define UCALL_CMD_MASK		0xffff
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

/* RAX of a ucall without message (OR in UCALL_HAS_MSG for one with). */
#define UCALL_RAX(cmd, nargs, line)						\
	((uint64_t)(line) << 32 | UCALL_TAG | (nargs) << UCALL_NARGS_SHIFT | (cmd))

/*
 * The registers of the table above, for guest asm that makes a ucall
 * itself: the instruction, operand constraints (UCALL_C_*(value)) and the
 * names for register variables (UCALL_REG_*).  E.g. a GUEST_SYNC(x):
 *
 *	asm volatile(UCALL_OUT_INSN
 *		     :: UCALL_C_RAX(UCALL_RAX(UCALL_SYNC, 1, __LINE__)),
 *			UCALL_C_PORT((uint16_t)UCALL_PIO_PORT), UCALL_C_FILE(__FILE__),
 *			UCALL_C_ARG0(x) : "memory");
 */
#define UCALL_OUT_INSN		"outl %%eax, %%dx"
#define UCALL_C_RAX(v)		"a"(v)
#define UCALL_C_PORT(v)		"d"(v)
#define UCALL_C_FILE(v)		"b"(v)
#define UCALL_C_ARG0(v)		"D"(v)
#define UCALL_C_ARG1(v)		"S"(v)
#define UCALL_C_ARG2(v)		"c"(v)
#define UCALL_REG_ARG3		"r8"
#define UCALL_REG_ARG4		"r9"
#define UCALL_REG_ARG5		"r10"
#define UCALL_REG_MSG		"r11"

#endif /* KVM_SUITE_X86_UCALL_H */

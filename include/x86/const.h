/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Generic helpers both halves (host code and guest code) use: bits, sizes,
 * alignment, stringification.  Plain macros only, so .S files may include
 * this header too.
 */
#ifndef KVM_SUITE_X86_CONST_H
#define KVM_SUITE_X86_CONST_H

#define BIT(n)		(1UL << (n))
#define BIT_ULL(n)	(1ULL << (n))

/* kselftest.h has the same definition; whichever comes first stands. */
#ifndef ARRAY_SIZE
#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#endif

#ifndef __stringify
#define __stringify_1(x)	#x
#define __stringify(x)		__stringify_1(x)
#endif

#define ALIGN_UP(x, a)		(((x) + (a) - 1) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a)	((x) & ~((__typeof__(x))(a) - 1))
#define IS_ALIGNED(x, a)	(((x) & ((__typeof__(x))(a) - 1)) == 0)

#define KiB	(1ULL << 10)
#define MiB	(1ULL << 20)
#define GiB	(1ULL << 30)

#endif /* KVM_SUITE_X86_CONST_H */

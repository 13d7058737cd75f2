/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ucall, host side: a guest's ucall (x86/ucall.h) as get_ucall() decodes
 * it.  The functions are in kvm_util.h.
 */
#ifndef KVM_SUITE_UCALL_H
#define KVM_SUITE_UCALL_H

#include <stdint.h>

#include "x86/ucall.h"

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

#endif /* KVM_SUITE_UCALL_H */

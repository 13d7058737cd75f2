/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * LTP's kernel-module helpers for LTP-form controllers (lib/tst_ltp_lib.c),
 * through modprobe and rmmod (tst_cmd()); a failure is TBROK.
 */
#ifndef KVM_SUITE_TST_MODULE_H
#define KVM_SUITE_TST_MODULE_H

#include "tst_ltp.h"

/* modprobe mod_name with argv (NULL-terminated module parameters, may be NULL). */
void tst_module_load(const char *mod_name, char *const argv[]);
/* rmmod mod_name, retried while the module is busy (up to 5 s). */
void tst_module_unload(const char *mod_name);
/* Unload, then load with argv. */
void tst_module_reload(const char *mod_name, char *const argv[]);
/*
 * A module parameter (or any file) as a boolean: its first word parsed as
 * an int if it starts with a digit, "N"/"n" -> 0, anything else 1; -1 if
 * it cannot be read.
 */
int tst_read_bool_sys_param(const char *filename);

#endif /* KVM_SUITE_TST_MODULE_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Exception vectors, SDM vol. 3A table 6-1, and which of them push an
 * error code (6.13).  Plain #defines: guest_lib/entry.S includes this header
 * for its IDT stubs.
 */
#ifndef KVM_SUITE_X86_VECTORS_H
#define KVM_SUITE_X86_VECTORS_H

#define DE_VECTOR	0
#define DB_VECTOR	1
#define NMI_VECTOR	2
#define BP_VECTOR	3
#define OF_VECTOR	4
#define BR_VECTOR	5
#define UD_VECTOR	6
#define NM_VECTOR	7
#define DF_VECTOR	8
#define TS_VECTOR	10
#define NP_VECTOR	11
#define SS_VECTOR	12
#define GP_VECTOR	13
#define PF_VECTOR	14
#define MF_VECTOR	16
#define AC_VECTOR	17
#define MC_VECTOR	18
#define XM_VECTOR	19
#define VE_VECTOR	20
#define CP_VECTOR	21
#define NR_VECTORS	256

/* Bit n set: vector n has an error code (#DF, #TS, #NP, #SS, #GP, #PF, #AC, #CP, 29, 30). */
#define X86_ERROR_CODE_VECTORS	0x60227d00

#endif /* KVM_SUITE_X86_VECTORS_H */

/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The one header of an LTP-form KVM test (Documentation/ltp-api.md, "LTP
 * form"): a file under ltp/ that holds its guest payload under
 * #ifdef COMPILE_PAYLOAD and its KVM controller in the #else branch, as LTP's
 * KVM Test API document describes.  The Makefile compiles such a file twice:
 *  - payload pass: -DCOMPILE_PAYLOAD with the guest CFLAGS.  This header then
 *    gives the guest library (kvm_guest.h) and renames the payload's
 *    "void main(void)" to tst_kvm_payload_main, the VM entry point; the
 *    object is then rewritten (objcopy --keep-global-symbol) so that every
 *    other global it defines becomes local and cannot clash with the host
 *    pass's symbols of the same name;
 *  - controller pass: host CFLAGS.  This header then gives LTP's struct
 *    tst_test, the host tst_res()/tst_brk() and main() (kvm_host.h) and the
 *    KVM host library (tst_kvm.h).
 * Both objects and the suite's libraries link into one static ELF, which
 * lib/elf.c loads into the guest at its link addresses.
 */
#ifndef KVM_SUITE_KVM_TEST_H
#define KVM_SUITE_KVM_TEST_H

#ifdef COMPILE_PAYLOAD
# include "kvm_guest.h"
#else
# include "kvm_host.h"
#endif

#endif /* KVM_SUITE_KVM_TEST_H */

#!/bin/busybox sh
# SPDX-License-Identifier: GPL-2.0-only
#
# /init of the QEMU lane's initramfs (scripts/vm_run.sh builds it): load the
# KVM modules with nested virtualization on, run the suite through
# check.sh, print "VM_RUN_RESULT rc=N" for the host, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
ln -sf /proc/self/fd /dev/fd		# bash's <(...) needs it
mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
mount -t tmpfs tmpfs /tmp

. /suite/vm_run.env
# The serial console is a terminal, but its output is a log: no progress line.
CHECK_PROGRESS=0
# Under TCG a VM lifecycle costs ~30x this host's: 1,000 VMs, not 10,000
# (measured: 10,000 took 60-320 s there), still 800 past the warm-up.
VM_HYGIENE_COUNT=1000
export KVM_SUITE_TIMEOUT_SCALE KVM_SUITE_CPU_EMULATOR CHECK_PLANT_KMSG_WARN CHECK_PROGRESS VM_HYGIENE_COUNT

# TDP=0: shadow paging (KVM's own MMU and exception delivery run).
# pml=0: Bochs' PML logs GPAs that are not page aligned, which KVM WARNs
# about (vmx_flush_pml_buffer); without PML, kvm_intel logs dirty pages by
# write protection as kvm_amd does, so its PML path is not covered.
amd_opts="nested=1" intel_opts="nested=1 pml=0"
[ "$TDP" = 0 ] && amd_opts="$amd_opts npt=0" && intel_opts="$intel_opts ept=0"
echo "vm_init: KVM modules: $KVM_MODULES_ID"
for m in $(cat /lib/modules/order); do
	case "$m" in
	kvm-amd|kvm_amd)
		grep -qw svm /proc/cpuinfo || continue
		opts=$amd_opts ;;
	kvm-intel|kvm_intel)
		grep -qw vmx /proc/cpuinfo || continue
		opts=$intel_opts ;;
	# kvm: let nop_test force instructions through the emulator.
	kvm) opts=force_emulation_prefix=1 ;;
	*) opts= ;;
	esac
	# shellcheck disable=SC2086
	if ! insmod /lib/modules/$m.ko $opts; then
		# The host (vm_run.sh) reports this line and the kernel's reason.
		echo "vm_init: insmod $m failed"
		dmesg | tail -n 3
		modfail=1
	fi
done

echo "vm_init: $(uname -r), $(grep -c ^processor /proc/cpuinfo) CPUs," \
     "modules: $(cut -d' ' -f1 /proc/modules | tr '\n' ' ')"
for p in /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested \
	 /sys/module/kvm_amd/parameters/npt /sys/module/kvm_intel/parameters/ept; do
	[ -r $p ] && echo "vm_init: $p = $(cat $p)"
done

if [ -n "${modfail:-}" ]; then
	echo "vm_init: not running the suite: a module did not load"
	rc=2
elif [ -c /dev/kvm ] && [ -n "$RUN_CMD" ]; then
	cd /suite/build
	echo "vm_init: running $RUN_CMD"
	sh -c "$RUN_CMD"
	rc=$?
elif [ -c /dev/kvm ] && [ -n "$STRESS" ]; then
	cd /suite
	# shellcheck disable=SC2086
	/bin/bash scripts/stress.sh /suite/build "$STRESS" --timeout "$TEST_TIMEOUT" $TESTS
	rc=$?
elif [ -c /dev/kvm ]; then
	cd /suite
	# shellcheck disable=SC2086
	/bin/bash scripts/check.sh --build /suite/build --timeout "$TEST_TIMEOUT" $TESTS
	rc=$?
else
	echo "vm_init: no /dev/kvm: the kernel's KVM modules did not load"
	rc=2
fi
# Send the CI outputs and failing binaries' logs back (vm_run.sh files them).
for f in /suite/build/results.tap /suite/build/junit.xml; do
	[ -r "$f" ] || continue
	echo "VM_RUN_FILE ${f##*/}"; cat "$f"; echo "VM_RUN_FILE_END"
done
grep '^not ok' /suite/build/results.tap 2>/dev/null | grep -v '# TODO' |
	sed 's/^not ok [0-9]* \([^: ]*\).*/\1/' | sort -u | while read -r t; do
	l=/suite/build/logs/$(echo "$t" | tr / _).log
	[ -r "$l" ] || continue
	echo "VM_RUN_FILE logs/${l##*/}"; cat "$l" "$l.kmsg" 2>/dev/null; echo "VM_RUN_FILE_END"
done
echo "VM_RUN_RESULT rc=$rc"
sync
# Bochs' UART sends at its emulated baud rate, so the tty may still hold the
# last lines: the host ends Bochs once it has read the result line.
[ -n "$CONSOLE_DRAIN_WAIT" ] && sleep "$CONSOLE_DRAIN_WAIT"
poweroff -f

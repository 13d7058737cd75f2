#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# make vm_run_tests: run the suite against the KVM of a chosen kernel, booted
# in QEMU (VENDOR=amd, kvm_amd) or Bochs (VENDOR=intel, kvm_intel).  It
# packs the static test binaries, scripts/check.sh (run by a static bash)
# and that kernel's KVM modules into a busybox initramfs, boots it, loads
# kvm_amd or kvm_intel with nested=1, runs the tests and streams their
# results over the serial console.  Exit status: the suite's.
#
# Settings (environment or make variables):
#   KERNEL=   bzImage/vmlinuz to boot (default: Debian's newest 6.12 image,
#             fetched with apt-get download and unpacked into .cache/vm/)
#   MODULES=  its modules tree (lib/modules/<version>); default: next to the
#             default kernel, or /lib/modules/<version> read from KERNEL
#   VENDOR=   amd (default): QEMU, kvm_amd; intel: Bochs 2.7 emulating VMX,
#             kvm_intel (QEMU's TCG has no VMX)
#   CPU=      QEMU CPU model (default: host with KVM, EPYC under TCG), or the
#             Bochs one (default corei7_skylake_x)
#   ACCEL=    kvm or tcg (default: kvm if this host's KVM can run a guest with
#             nested SVM/VMX, else tcg); QEMU only
#   TESTS=    test names for check.sh, e.g. "x86_64/svm_test x86_64/mce_inject_test"
#   TIMEOUT=  seconds for the whole VM run (default 1500)
#   BUILD=    the suite's build folder (default build/)
#   RESULTS=  where the outputs land (default BUILD/vm_run)
#   KVM_PATCH=  run against KVM modules rebuilt from the lane kernel's own
#             source with these patches: files separated by commas, or a
#             folder whose *.patch apply in name order (scripts/kvm_build.sh;
#             Debian lane kernels only)
#   TDP=0     shadow paging: kvm_amd npt=0, kvm_intel ept=0 (default 1)
#   VM_RUN_PLANT_WARN=NAME  test-only: plant a kernel WARNING while NAME runs
#   STRESS=N  run the suite (or TESTS) N times in the one boot and list
#             every verdict that changed (scripts/stress.sh, the flake guard)
#   VM_RUN_CMD="x86_64/foo_test -opts"  run this one command (in the build
#             folder) instead of the suite, e.g. one test, or a tool:
#             VM_RUN_CMD="tools/iofuzz -s 0x1234 -n 3000" replays a seed
#
# Outputs: the console streams to stdout as it runs; the guest's
# results.tap, junit.xml and failing binaries' logs land in BUILD/vm_run/.
set -euo pipefail

usage() {
	sed -n '4,/^set -euo/p' "$0" | sed -e '/^set -euo/d' -e 's/^# \{0,1\}//'
}
case "${1:-}" in
-h|--help) usage; exit 0 ;;
'') ;;
*) echo "vm_run: unknown argument '$1' (settings are environment variables; -h)" >&2; exit 2 ;;
esac

here=$(cd "$(dirname "$0")/.." && pwd)
cache=$here/.cache/vm
build=${BUILD:-$here/build}
timeout=${TIMEOUT:-1500}
results=${RESULTS:-$build/vm_run}
tdp=${TDP:-1}
accel=${ACCEL:-}
cpu=${CPU:-}
vendor=${VENDOR:-amd}
log() { echo "vm_run: $*" >&2; }
die() { log "$*"; exit 2; }

case "$timeout" in ''|*[!0-9]*) die "TIMEOUT must be seconds, got '$timeout'" ;; esac
case "$accel" in ''|kvm|tcg) ;; *) die "ACCEL must be kvm or tcg, got '$accel'" ;; esac
case "$vendor" in amd|intel) ;; *) die "VENDOR must be amd or intel, got '$vendor'" ;; esac
[ "$vendor" = amd ] || [ -z "$accel" ] || die "ACCEL applies to QEMU (VENDOR=amd) only"
case "$tdp" in 0|1) ;; *) die "TDP must be 0 (shadow paging) or 1, got '$tdp'" ;; esac
# KVM_PATCH: a comma-separated list of files, or a folder of *.patch.
patches=()
if [ -n "${KVM_PATCH:-}" ]; then
	IFS=, read -r -a items <<<"$KVM_PATCH"
	for p in "${items[@]}"; do
		[ -n "$p" ] || continue
		if [ -d "$p" ]; then
			mapfile -t found < <(find "$p" -maxdepth 1 -name '*.patch' -type f | LC_ALL=C sort)
			[ ${#found[@]} -gt 0 ] || die "KVM_PATCH: folder $p holds no *.patch"
			patches+=("${found[@]}")
		elif [ -f "$p" ] && [ -r "$p" ]; then
			patches+=("$p")
		else
			die "KVM_PATCH: $p is not a readable file or folder"
		fi
	done
	[ ${#patches[@]} -gt 0 ] || die "KVM_PATCH='$KVM_PATCH' names no patch"
fi
[ -d "$build/x86_64" ] || die "no test binaries in $build/x86_64: run make first"

emulator_pkgs=(qemu-system-x86)
[ "$vendor" = intel ] && emulator_pkgs=(bochs bochsbios vgabios isolinux syslinux-common xorriso
					binutils)
"$here/scripts/install_deps.sh" "${emulator_pkgs[@]}" busybox-static bash-static kmod xz-utils \
	zstd cpio gzip file
mkdir -p "$cache"

# ---- the kernel ----
if [ -z "${KERNEL:-}" ]; then
	pkg=$(apt-cache search --names-only '^linux-image-6\.12\.[0-9]+\+deb12-amd64-unsigned$' |
	      awk '{print $1}' | sort -V | tail -n 1)
	[ -n "$pkg" ] || die "no linux-image-6.12.*+deb12-amd64-unsigned package in apt's lists"
	kdir=$cache/$pkg
	if [ ! -e "$kdir/.ready" ]; then
		log "fetching $pkg (apt-get download, unpacked with dpkg -x; nothing is installed)"
		rm -rf "$kdir" && mkdir -p "$kdir"
		(cd "$kdir" && apt-get download "$pkg" >/dev/null 2>&1) ||
			{ apt-get update -qq >/dev/null && (cd "$kdir" && apt-get download "$pkg" >/dev/null); }
		dpkg -x "$kdir"/*.deb "$kdir/root"
		rm -f "$kdir"/*.deb
		touch "$kdir/.ready"
	fi
	KERNEL=$(ls "$kdir"/root/boot/vmlinuz-* | head -n 1)
	MODULES=${MODULES:-$(ls -d "$kdir"/root/lib/modules/* | head -n 1)}
fi
[ -r "$KERNEL" ] || die "KERNEL=$KERNEL is not readable"
if [ -z "${MODULES:-}" ]; then
	kver=$(file -b "$KERNEL" 2>/dev/null | sed -n 's/.*version \([^ ]*\).*/\1/p')
	[ -n "$kver" ] || die "cannot read the kernel version of KERNEL=$KERNEL: set MODULES="
	MODULES=/lib/modules/$kver
fi
[ -d "$MODULES" ] || die "MODULES=$MODULES: no such modules tree (set MODULES=)"

# ---- accelerator and CPU ----
# kvm only if this host's KVM offers the guest SVM or VMX (kvm_pvm doesn't).
host_nested() {
	[ -w /dev/kvm ] || return 1
	local p
	for p in /sys/module/kvm_amd/parameters/nested /sys/module/kvm_intel/parameters/nested; do
		[ -r "$p" ] && grep -qE '^(1|Y)' "$p" && return 0
	done
	return 1
}
if [ "$vendor" = intel ]; then
	accel=bochs
	cpu=${cpu:-corei7_skylake_x}
elif [ -z "$accel" ]; then
	if host_nested; then accel=kvm; else accel=tcg; fi
fi
if [ -z "$cpu" ]; then
	if [ "$accel" = kvm ]; then cpu=host; else cpu=EPYC; fi
fi
# TCG is 10-50x slower than hardware, Bochs slower still: stretch every
# in-test bound.
scale=1
[ "$accel" != kvm ] && scale=20

# ---- the initramfs ----
# A run killed by SIGKILL leaves its folder behind: drop those over a day old.
find "$cache" -maxdepth 1 -name 'run.*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
work=$(mktemp -d "$cache/run.XXXXXX")
vm_pid=
# QEMU or Bochs runs under timeout(1), which makes itself a process-group
# leader: killing that group takes the emulator with it (killing timeout
# alone would not).
kill_vm() {
	kill -KILL -- "-$vm_pid" 2>/dev/null || kill -KILL "$vm_pid" 2>/dev/null || true
	wait "$vm_pid" 2>/dev/null || true
	vm_pid=
}
cleanup() {
	if [ -n "$vm_pid" ] && kill -0 "$vm_pid" 2>/dev/null; then
		kill_vm
	fi
	# The console filter ends when the emulator's output closes: let it (2 s at most).
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		[ -e "$work/console.done" ] || [ ! -e "$work/console.log" ] && break
		sleep 0.1
	done
	# Whatever the ending (timeout, panic, interrupt): keep the console.
	if [ -n "${results:-}" ] && [ -s "${out:-}" ]; then
		cp "$out" "$results/console.log" 2>/dev/null || true
	fi
	rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# KVM_PATCH: kvm.ko, kvm-amd.ko and kvm-intel.ko rebuilt for this run; they
# replace the image's own in the initramfs.
kvm_mods=
modules_id="stock (the image's own)"
if [ ${#patches[@]} -gt 0 ]; then
	kvm_mods=$work/kvm-modules
	"$here/scripts/kvm_build.sh" -k "$(basename "$MODULES")" -o "$kvm_mods" "${patches[@]}" ||
		{ log "no lane run: the patched KVM modules could not be built"; exit 2; }
	modules_id="rebuilt with $(sed -n 's/^patches: //p' "$kvm_mods/MANIFEST"), sha256 of"\
" kvm/kvm-amd/kvm-intel.ko $(grep '\.ko$' "$kvm_mods/MANIFEST" | sha256sum | cut -c1-12)"
fi

root=$work/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,lib/modules,suite/scripts,suite/x86_64,suite/build}
cp /bin/busybox "$root/bin/busybox"
# The kernel's config where it sits beside it (Debian's
# /boot/config-<release>): LTP-form tests' .needs_kconfigs read it
# (lib/tst_ltp_lib.c).
kconfig=$(dirname "$KERNEL")/config-$(basename "$KERNEL" | sed 's/^vmlinuz-//')
if [ -r "$kconfig" ]; then
	mkdir -p "$root/boot"
	cp "$kconfig" "$root/boot/"
fi
cp "$(command -v bash-static || echo /bin/bash-static)" "$root/bin/bash"

# Modules with their dependencies, in load order, decompressed (busybox
# insmod reads plain .ko only).
declare -A loaded
modlist=()
add_module() {	# add_module NAME
	local name=$1 f dep
	[ -n "${loaded[$name]+x}" ] && return
	loaded[$name]=1
	if [ -n "$kvm_mods" ] && [ -e "$kvm_mods/${name//_/-}.ko" ]; then
		f=$kvm_mods/${name//_/-}.ko
	else
		f=$(find "$MODULES" -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" \
		-o -name "${name//-/_}.ko*" -o -name "${name//_/-}.ko*" | head -n 1)
	fi
	if [ -z "$f" ]; then
		log "module $name not in $MODULES (built in?)"
		return
	fi
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_module "$dep"
	done
	case "$f" in
	*.xz) xz -dc "$f" > "$root/lib/modules/$name.ko" ;;
	*.zst) zstd -qdc "$f" > "$root/lib/modules/$name.ko" ;;
	*) cp "$f" "$root/lib/modules/$name.ko" ;;
	esac
	# Under Bochs, insmod kvm spends ~30 s on these sections (BTF for
	# tracing, ftrace's tables); without them it takes ~2 s.
	if [ "$vendor" = intel ]; then
		objcopy --remove-section=.BTF --remove-section=_ftrace_events \
			--remove-section=_ftrace_eval_map --remove-section=__mcount_loc \
			"$root/lib/modules/$name.ko" 2>/dev/null || true
	fi
	modlist+=("$name")
}
add_module kvm-amd
add_module kvm-intel
add_module hwpoison-inject
printf '%s\n' "${modlist[@]}" > "$root/lib/modules/order"

cp "$here/scripts/check.sh" "$here/scripts/stress.sh" "$root/suite/scripts/"
cp "$here/settings" "$root/suite/"
cp "$here/x86_64/known_failures" "$root/suite/x86_64/"
mkdir -p "$root/suite/build/x86_64" "$root/suite/build/lib_tests" "$root/suite/build/unit" \
	"$root/suite/build/ltp" "$root/suite/build/ltp_ext" "$root/suite/build/tools" \
	"$root/suite/build/bench"
cp "$build"/x86_64/*_test "$root/suite/build/x86_64/"
cp "$build"/lib_tests/*_test "$root/suite/build/lib_tests/"
# The LTP-form tests (ltp/*.c) and LTP's own sources built with
# LTP_KVM_SRC= (build/ltp_ext/): the binaries, not their objects.
for f in "$build"/ltp/* "$build"/ltp_ext/*; do
	case "$f" in *.o|*.d) continue ;; esac
	if [ -f "$f" ] && [ -x "$f" ]; then cp "$f" "$root/suite/build/${f#"$build"/}"; fi
done
cp "$build"/unit/*_unit "$root/suite/build/unit/" 2>/dev/null || true
# The tools (tools/iofuzz) and benchmarks, for VM_RUN_CMD; not their objects.
for f in "$build"/tools/* "$build"/bench/*; do
	case "$f" in *.o|*.d) continue ;; esac
	if [ -f "$f" ] && [ -x "$f" ]; then cp "$f" "$root/suite/build/${f#"$build"/}"; fi
done
cp "$here/scripts/vm_init.sh" "$root/init"
chmod +x "$root/init"

# Per-test timeout: the settings value, scaled like the in-test watchdogs.
test_timeout=$(( $(sed -n 's/^timeout=//p' "$here/settings") * (scale > 5 ? 5 : scale) ))
# Single-quoted for the guest's sh: a VM_RUN_CMD may hold quotes, pipes and $.
sq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
cat > "$root/suite/vm_run.env" <<EOF
KVM_SUITE_TIMEOUT_SCALE=$scale
KVM_SUITE_CPU_EMULATOR=$([ "$vendor" = intel ] && echo bochs || { [ "$accel" = tcg ] && echo qemu-tcg; })
TEST_TIMEOUT=$test_timeout
TESTS=$(sq "${TESTS:-}")
CHECK_PLANT_KMSG_WARN=$(sq "${VM_RUN_PLANT_WARN:-}")
RUN_CMD=$(sq "${VM_RUN_CMD:-}")
STRESS="${STRESS:-}"
KVM_MODULES_ID="$modules_id"
TDP=$tdp
CONSOLE_DRAIN_WAIT=$([ "$vendor" = intel ] && echo 120)
EOF
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) > "$work/initrd.gz"
log "KVM modules: $modules_id${patches[*]:+ ($(printf '%s ' "${patches[@]}"))}"
log "kernel $KERNEL, modules ${modlist[*]}, tdp $tdp, accel $accel, cpu $cpu, initramfs" \
    "$(du -h "$work/initrd.gz" | cut -f1), timeout ${timeout}s, per test ${test_timeout}s"

# ---- boot ----
out=$work/console.log
rm -rf "$results" && mkdir -p "$results"
echo "$modules_id" >"$results/kvm_modules"
[ -z "$kvm_mods" ] || cp "$kvm_mods/MANIFEST" "$results/kvm_modules.manifest"
# Console filter: strip the serial line's CRs, keep a copy for the result
# line, print everything except files the guest sends back between
# "VM_RUN_FILE name" and "VM_RUN_FILE_END", which go to $results/name.  A
# shell loop, not tr or awk: those buffer their output into a pipe, and the
# results must stream as the tests finish.
console_filter() {
	local line file=
	while IFS= read -r line || [ -n "$line" ]; do
		line=${line%$'\r'}
		printf '%s\n' "$line" >> "$out"
		case "$line" in
		"VM_RUN_FILE_END") file= ; continue ;;
		"VM_RUN_FILE "*)
			file=${line#VM_RUN_FILE }
			file=$results/${file//\//_}
			: > "$file"
			continue ;;
		esac
		if [ -n "$file" ]; then
			printf '%s\n' "$line" >> "$file"
		else
			printf '%s\n' "$line"
		fi
	done
	: > "$work/console.done"
}
# One vCPU: with -smp 2 under TCG, the guest kernel's live code patching
# (text_poke_bp's INT3 protocol, e.g. static keys flipped by KVM) was seen
# to end in "Oops: int3" in __schedule: a cross-modifying-code race of
# multi-threaded TCG, not a KVM bug.
smp=1
[ "$accel" = kvm ] && smp=2
append="console=ttyS0,115200 panic=-1 mitigations=off quiet loglevel=4"
# QEMU 7.2's TCG now and then loses the wakeup of a halted CPU: the guest
# kernel sits in HLT with IF=1 while its local APIC holds a deliverable
# interrupt (seen with the monitor's "info lapic": IRR 236, the kernel's
# timer vector, PPR 0x10, the timer not re-armed; QEMU idle, its next timer
# hours away), so the console stops and every bound inside the VM with it.
# It happened inside x86_64/iofuzz_test, about once in ten runs.  Any new
# interrupt makes QEMU deliver the pending one: every 2 s the host sends
# the serial line an XON byte (^Q), which the console tty's flow control
# consumes (no echo, no signal).
nudge_serial() {
	while printf '\021' 2>/dev/null; do
		sleep 2
	done
}
boot_qemu() {
	local bios=()
	[ -r /usr/share/qemu/qboot.rom ] && bios=(-bios /usr/share/qemu/qboot.rom)
	mkfifo "$work/serial.in"
	nudge_serial > "$work/serial.in" &
	# timeout(1) bounds QEMU even if this script is SIGKILLed before its trap.
	timeout -s KILL $((timeout + 10)) qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -m 2G \
		-smp "$smp" -nodefaults -no-user-config \
		-nographic -serial stdio -no-reboot "${bios[@]}" \
		-kernel "$KERNEL" -initrd "$work/initrd.gz" -append "$append" \
		<"$work/serial.in" > >(console_filter) 2>"$work/emulator.err" &
	vm_pid=$!
}
# Bochs has no -kernel: it boots an isolinux CD.  Headless: the rfb display
# never waits for a viewer (Debian's Bochs has no "nogui"); its debugger
# starts stopped, so a command file says "continue"; sound off (the ALSA
# plugin aborts without a sound card).  The serial console goes to a file
# that a tail(1) feeds to the console filter.  trace_eval_init is the
# slowest initcall under Bochs (~10 s) and nothing here needs it.
# Time: with clock sync=none the guest's clock runs ~45x slower than wall
# time (Linux takes the TSC's rated frequency, Bochs advances it per
# instruction); sync=realtime with the TSC marked unstable (so Linux keeps
# time with Bochs' timers, which follow the host's clock) brings that to
# ~5x (measured: 3.5 s of guest time for 17.8 s of wall time).  Guest-time
# bounds only ever stretch here; the host's TIMEOUT bounds the run.
boot_bochs() {
	local iso=$work/iso
	mkdir -p "$iso/isolinux"
	cp /usr/lib/ISOLINUX/isolinux.bin /usr/lib/syslinux/modules/bios/ldlinux.c32 "$iso/isolinux/"
	cp "$KERNEL" "$iso/vmlinuz"
	cp "$work/initrd.gz" "$iso/initrd.gz"
	cat >"$iso/isolinux/isolinux.cfg" <<-EOC
	SERIAL 0 115200
	DEFAULT lane
	PROMPT 0
	TIMEOUT 0
	LABEL lane
	  KERNEL /vmlinuz
	  APPEND initrd=/initrd.gz $append initcall_blacklist=trace_eval_init tsc=unstable
	EOC
	xorriso -as mkisofs -quiet -o "$work/lane.iso" -b isolinux/isolinux.bin \
		-c isolinux/boot.cat -no-emul-boot -boot-load-size 4 -boot-info-table "$iso" \
		2>"$work/xorriso.err" || { cat "$work/xorriso.err" >&2; die "xorriso failed"; }
	rm -rf "$iso"
	cat >"$work/bochsrc" <<-EOC
	megs: 1024
	cpu: model=$cpu, count=1, ips=200000000, ignore_bad_msrs=1
	romimage: file=/usr/share/bochs/BIOS-bochs-latest
	vgaromimage: file=/usr/share/vgabios/vgabios.bin
	ata0-master: type=cdrom, path=$work/lane.iso, status=inserted
	boot: cdrom
	com1: enabled=1, mode=file, dev=$work/serial
	clock: sync=realtime, time0=local
	display_library: rfb, options="timeout=0"
	sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
	speaker: enabled=0
	log: $work/bochs.log
	error: action=ignore
	info: action=ignore
	debug: action=ignore
	panic: action=fatal
	EOC
	echo continue >"$work/bochs.rc"
	: >"$work/serial"
	(cd "$work" && exec timeout -s KILL $((timeout + 10)) bochs-bin -q -f bochsrc -rc bochs.rc \
		</dev/null >"$work/emulator.err" 2>&1) &
	vm_pid=$!
	# Bochs stays up after the guest powers off: the result line ends it.
	tail -n +1 -F --pid="$vm_pid" "$work/serial" 2>/dev/null | console_filter &
}
if [ "$vendor" = intel ]; then boot_bochs; else boot_qemu; fi

deadline=$(( $(date +%s) + timeout ))
while kill -0 "$vm_pid" 2>/dev/null; do
	if [ "$(date +%s)" -ge "$deadline" ]; then
		log "timeout: no end after ${timeout}s; killing the emulator"
		kill_vm
		exit 124
	fi
	if [ "$vendor" = intel ] && grep -q '^VM_RUN_RESULT' "$out" 2>/dev/null; then
		sleep 1
		kill_vm
		break
	fi
	sleep 1
done
[ -z "$vm_pid" ] || wait "$vm_pid" || true
vm_pid=
# The emulator's end closes the filter's input: wait (bounded) until it
# has drained.
for _ in $(seq 100); do
	[ -e "$work/console.done" ] && break
	sleep 0.1
done

rc=$(sed -n 's/^VM_RUN_RESULT rc=\([0-9]*\)$/\1/p' "$out" | tail -n 1)
if grep -q '^vm_init: insmod .* failed' "$out"; then
	log "a KVM module did not load in the guest (modules: $modules_id):"
	grep -A3 '^vm_init: insmod .* failed' "$out" | sed 's/^/  /' >&2
	exit 2
fi
if [ -z "$rc" ]; then
	log "the VM ended without a result line (kernel panic or boot failure; console above)"
	sed 's/^/emulator: /' "$work/emulator.err" >&2
	exit 2
fi
log "suite exit status $rc with KVM modules $modules_id; results.tap, junit.xml and failing logs in $results/"
exit "$rc"

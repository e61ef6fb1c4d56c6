# End-to-end scenarios, run in this order by the test host's /init
# (testhost-init.sh, busybox sh); run.sh on the build host reads the same
# list to know what to expect and how long to wait.
#
# Adding one: a line "name timeout-seconds" below and a function
# scenario_<name with - as _> that states its expectations with
#   check "what is expected" COMMAND...
# Helpers (testhost-init.sh): vmm_run VMM-ARGS..., log_has ERE,
# vmm_status_is N MEANING, figure TEXT.
# A scenario that never ends its checks is killed by run.sh after its
# timeout plus a grace period, and the test host with it.
# Timeouts are generous: a guest boot takes a few seconds here, but up to
# half a minute on a loaded 2-core machine (nested emulation).
E2E_SCENARIOS="
testhost-kvm 60
boot-1vcpu 120
boot-2vcpu 120
guest-panic 120
"

GUEST_KERNEL=/e2e/guest/vmlinux
GUEST_INITRD=/e2e/guest/initramfs.cpio
# panic=-1: a panicking guest resets at once instead of spinning forever;
# reboot=k: the reset goes through the i8042, which ends the VMM.
GUEST_CMDLINE="console=ttyS0 reboot=k panic=-1 quiet"
GUEST_MEMORY=128

scenario_testhost_kvm() {
	local m
	for m in irqbypass kvm kvm-amd; do
		check "insmod $m.ko" insmod /lib/modules/$m.ko
	done
	dmesg >"$LOG"
	check "kvm_amd has nested paging" log_has "SVM: kvm: Nested Paging enabled"
	check "/dev/kvm is a character device" test -c /dev/kvm
}

# guest_boot VCPUS: the guest boots to /init, reports its CPUs, writes the
# boot-complete marker and reboots; the VMM sees the reset and exits 0.
guest_boot() {
	local online=0
	[ "$1" -gt 1 ] && online=0-$(($1 - 1))
	vmm_run --vcpus "$1" --memory $GUEST_MEMORY --cmdline "$GUEST_CMDLINE" \
		-v --timing
	check "guest /init prints on ttyS0" log_has "E2E-GUEST: init "
	check "$1 CPU(s) online in the guest" \
		log_has "E2E-GUEST: cpus online=$online nproc=$1\$"
	check "VMM logs the boot-complete marker written by guest user space" \
		log_has "vmjail-vmm: guest boot complete: [0-9]+ us"
	check "guest reboot (reboot=k) ends the VMM with status 0" \
		vmm_status_is 0 "guest reset"
	guest_boot_figures
}

# Nested-emulation times (QEMU TCG -> emulated SVM -> KVM -> guest): for
# comparing vmjail versions with each other, not with hardware. The VMM's
# --timing line carries CLOCK_MONOTONIC stamps, which in the test host run
# with its uptime (nothing suspends there).
guest_boot_figures() {
	local t run marker
	t=$(grep -m1 " timing start_ns=" "$LOG")
	run=$(echo "$t" | sed -n 's/.* first_run_ns=\([0-9]*\).*/\1/p')
	marker=$(echo "$t" | sed -n 's/.* marker_ns=\([0-9]*\).*/\1/p')
	[ -n "$run" ] && [ -n "$marker" ] && [ "$marker" != 0 ] || return 0
	figure "guest boot, first vCPU entry to boot-complete marker" \
		"(guest /init): $(awk -v a="$run" -v b="$marker" \
		'BEGIN { printf "%.1f", (b - a) / 1e6 }') ms"
	figure "VMM exec to boot-complete marker:" \
		"$(awk -v a="$VMM_START" -v b="$marker" \
		'BEGIN { printf "%.2f", b / 1e9 - a }') s (test-host uptime clock)"
}

scenario_boot_1vcpu() { guest_boot 1; }
scenario_boot_2vcpu() { guest_boot 2; }

# Guest /init exits: "Attempted to kill init!" panics the guest kernel,
# which with panic=-1 reboot=k resets through the i8042 at once. The VMM
# documents no separate status for a panic (vmm/exit.h): it sees a reset.
scenario_guest_panic() {
	vmm_run --vcpus 1 --memory $GUEST_MEMORY \
		--cmdline "$GUEST_CMDLINE e2e_mode=panic"
	check "guest /init runs" log_has "E2E-GUEST: exiting init"
	check "guest kernel panics" log_has "Kernel panic - not syncing"
	check "guest panic ends the VMM with status 0 (reset)" \
		vmm_status_is 0 "guest reset"
}

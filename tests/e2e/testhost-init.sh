#!/bin/sh
# /init of the e2e test host: a Debian kernel in QEMU (TCG, emulated SVM)
# that loads kvm_amd and runs the scenarios of scenarios.sh against a real
# Linux guest. Results go to the second serial port (ttyS1) as lines
#   @@E2E READY <uptime s>          at /init
#   @@E2E BEGIN <scenario> <timeout s>
#   @@E2E PASS <scenario> <check>
#   @@E2E FAIL <scenario> <check>: <reason>
#   @@E2E FIGURE <scenario> <text>
#   @@E2E LOG <scenario> <line>     the scenario's output, sent on failure
#   @@E2E END <scenario>
#   @@E2E DONE
# which run.sh reads on the build host. The kernel console stays on ttyS0,
# so kernel messages can never split a result line.
export PATH=/usr/bin:/bin:/usr/sbin:/sbin

# vmjail's jail needs pivot_root, which the initramfs's rootfs cannot
# take part in: the test host first moves itself onto a tmpfs.
if [ ! -e /.on-tmpfs ]; then
	mkdir -p /newroot
	mount -t tmpfs -o mode=755 tmpfs /newroot
	for f in /*; do
		[ "$f" = /newroot ] || cp -a "$f" /newroot/
	done
	: >/newroot/.on-tmpfs
	exec switch_root /newroot /init
fi

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
# What `vmjail run` needs: cgroup v2, and a run directory the vsock broker
# (the sandbox's uid) may search.
mount -t cgroup2 cgroup2 /sys/fs/cgroup
# io too, for the CI example's io weight.
for d in /sys/fs/cgroup /sys/fs/cgroup/vmjail; do
	mkdir -p $d
	echo "+cpu +memory +pids +io" >$d/cgroup.subtree_control
done
mount -t tmpfs -o mode=755 tmpfs /run
mkdir -m 755 /run/vmjail

RESULTS=/dev/ttyS1
stty -F $RESULTS raw -echo
read -r up _ </proc/uptime
emit() { echo "@@E2E $*" >$RESULTS; }
emit READY "$up"

# --- helpers for scenarios ---------------------------------------------
# Set by run_scenario: the scenario's name, timeout (s) and log, and
# whether one of its checks failed.
SC=
SC_TIMEOUT=
LOG=
SC_FAILED=0

# check WHAT COMMAND...: one result line for one expectation.
check() {
	local what=$1
	shift
	if "$@"; then
		emit PASS "$SC" "$what"
	else
		emit FAIL "$SC" "$what: ${WHY:-$* failed}"
		SC_FAILED=1
	fi
	WHY=
}

figure() { emit FIGURE "$SC" "$*"; }

# log_has ERE: the scenario's log has a matching line; sets WHY if not.
log_has() {
	grep -qE -- "$1" "$LOG" && return 0
	WHY="no line matching /$1/ in the output"
	return 1
}

# vmm_run VMM-ARGS...: runs vmjail-vmm on the guest kernel and initramfs
# with the scenario's timeout to finish (SIGTERM, then SIGKILL 5 s later).
# Its stdout (the guest console, CRLF from the guest's tty) and stderr go
# to $LOG as plain lines, each stamped with the test host's uptime so that
# a log shows where a boot stalled. VMM_START is the uptime just before
# exec, VMM_RC the exit status.
vmm_run() {
	read -r VMM_START _ </proc/uptime
	{
		timeout -k 5 "$SC_TIMEOUT" vmjail-vmm --kernel "$GUEST_KERNEL" \
			--initrd "$GUEST_INITRD" --console stdout "$@" 2>&1 </dev/null
		echo "@@ vmjail-vmm exit status $?"
	} | tr -d '\r' | while IFS= read -r line; do
		read -r now _ </proc/uptime
		echo "$now $line"
	done >"$LOG"
	VMM_RC=$(sed -n 's/^[0-9.]* @@ vmjail-vmm exit status \([0-9]*\)$/\1/p' "$LOG")
}

# vmm_status_is N MEANING: the VMM exited with status N.
vmm_status_is() {
	[ "$VMM_RC" = "$1" ] && return 0
	WHY="exit status ${VMM_RC:-unknown}, expected $1 ($2)"
	return 1
}

send_log() {
	tail -n 60 "$LOG" | while IFS= read -r line; do
		emit LOG "$SC" "$line"
	done
}

# --- run every scenario, in order -------------------------------------
. /e2e/proc-status.sh
. /e2e/scenarios.sh

# run_scenario NAME TIMEOUT, in a subshell of its own: a scenario that
# exits or changes a variable cannot disturb the next one.
run_scenario() {
	SC=$1
	SC_TIMEOUT=$2
	LOG=/tmp/$SC.log
	: >"$LOG"
	emit BEGIN "$SC" "$SC_TIMEOUT"
	"scenario_$(echo "$SC" | tr - _)"
	if [ $SC_FAILED = 1 ] || [ "${e2e_verbose:-}" = 1 ] || [ "${e2e_verbose:-}" = "$SC" ]; then
		send_log
	fi
	emit END "$SC"
}

e2e_selected "${e2e_only:-}" | while read -r name timeout; do
	[ -n "$name" ] && (run_scenario "$name" "$timeout" </dev/null)
done

emit DONE
poweroff -f

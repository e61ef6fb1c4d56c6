#!/bin/sh
# /init of the nested test host (testhost.sh): a Debian kernel in QEMU
# (TCG, emulated SVM) that loads kvm_amd and then, by its command line:
#   e2e_mode=scenarios (default)  runs the scenarios of scenarios.sh
#                                 against a real Linux guest (run.sh);
#   e2e_mode=command              runs /nested/command in the root that
#                                 nested.sh carried in (build-payload.sh),
#                                 its stdout on ttyS2, its stderr on ttyS3.
# e2e_cgroup=v2 (default) mounts cgroup2 with every controller; v1 the
# layout of a systemd host in hybrid mode (v1 controllers, cgroup2 at
# /sys/fs/cgroup/unified with none).
# Control lines go to the second serial port (ttyS1):
#   @@E2E READY <uptime s>          at /init
#   @@E2E ALIVE <uptime s>          every e2e_heartbeat seconds
#   @@E2E SETUP <what>: <reason>    the test host could not be set up
#   @@E2E BEGIN <scenario> <timeout s>
#   @@E2E PASS <scenario> <check>
#   @@E2E FAIL <scenario> <check>: <reason>
#   @@E2E FIGURE <scenario> <text>
#   @@E2E LOG <scenario> <line>     the scenario's output, sent on failure
#   @@E2E END <scenario>
#   @@E2E STATUS command <status>   how /nested/command ended
#   @@E2E DONE
# which the build host reads (testhost.sh). The kernel console stays on
# ttyS0, so kernel messages can never split a control line.
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
mount -t tmpfs -o mode=755 tmpfs /run
for t in ttyS1 ttyS2 ttyS3; do stty -F /dev/$t raw -echo; done
RESULTS=/dev/ttyS1
emit() { echo "@@E2E $*" >$RESULTS; }
# The test host has no entropy source but the kernel's own jitter: wait
# here until its random generator is ready, as a real host's is, rather
# than have a VMM's non-blocking getrandom() come back empty later.
head -c 1 /dev/random >/dev/null
read -r up _ </proc/uptime
emit READY "$up"

# The build host takes a test host that stays silent for a while for a
# frozen one: this beat is the proof of life, whatever runs meanwhile.
(
	while sleep "${e2e_heartbeat:-5}"; do
		read -r up _ </proc/uptime
		emit ALIVE "$up"
	done
) &

cgroup_v2() {
	mount -t cgroup2 cgroup2 /sys/fs/cgroup
	echo "+cpu +cpuset +memory +pids +io" >/sys/fs/cgroup/cgroup.subtree_control
}

cgroup_v1() {
	local c
	mount -t tmpfs -o mode=755 cgroup /sys/fs/cgroup
	for c in cpu cpuacct cpuset memory devices freezer blkio pids; do
		mkdir /sys/fs/cgroup/$c
		mount -t cgroup -o $c cgroup /sys/fs/cgroup/$c || emit SETUP "cgroup v1 $c: mount failed"
	done
	mkdir /sys/fs/cgroup/systemd /sys/fs/cgroup/unified
	mount -t cgroup -o none,name=systemd cgroup /sys/fs/cgroup/systemd
	mount -t cgroup2 cgroup2 /sys/fs/cgroup/unified
}

case ${e2e_cgroup:-v2} in
v1) cgroup_v1 ;;
*) cgroup_v2 ;;
esac

# --- e2e_mode=command -------------------------------------------------
# /dev/kvm and /dev/net/tun, then /nested/command in the carried root (on
# the test host's tmpfs: writable, /tmp and /run included, where a
# checkout under /tmp already is). The
# command gets a mount namespace whose root that is (pivot_root, not
# chroot): the jail pivots again, and the kernel refuses user namespaces
# to a process whose root is not its mount namespace's.
run_command() {
	local R=/nested/root m rc
	for m in irqbypass kvm kvm-amd tun; do
		insmod /lib/modules/$m.ko || { emit SETUP "insmod $m.ko: failed"; return; }
	done
	[ -c /dev/kvm ] || { emit SETUP "/dev/kvm: missing after insmod kvm-amd"; return; }
	mount --bind $R $R
	mount -t proc proc $R/proc
	mount --rbind /sys $R/sys
	mount --rbind /dev $R/dev
	mkdir -p $R/.oldroot
	unshare -m /bin/sh -c '
		mount --make-rprivate / && cd "$1" && pivot_root . .oldroot &&
		/.oldroot/bin/busybox umount -l /.oldroot && cd / &&
		exec /usr/bin/env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
			HOME=/root LC_ALL=C TERM=dumb /bin/bash /nested/command' sh $R \
		</dev/null >/dev/ttyS2 2>/dev/ttyS3
	rc=$?
	emit STATUS command $rc
}

if [ "${e2e_mode:-scenarios}" = command ]; then
	run_command
	emit DONE
	poweroff -f
fi

# --- e2e_mode=scenarios -----------------------------------------------
# What `vmjail run` needs: a cgroup parent with the controllers the
# examples limit (the operator's, as a host would have it), and a run
# directory the vsock broker (the sandbox's uid) may search.
mkdir -p /sys/fs/cgroup/vmjail
echo "+cpu +memory +pids +io" >/sys/fs/cgroup/vmjail/cgroup.subtree_control
# On v2 it has a limit of its own for all sandboxes together, which
# vmjail must leave alone, as it must the directory (agent-cgroup).
[ -e /sys/fs/cgroup/vmjail/pids.max ] && echo 1000 >/sys/fs/cgroup/vmjail/pids.max
mkdir -m 755 /run/vmjail

# --- helpers for scenarios ---------------------------------------------
# Set by run_scenario: the scenario's name, timeout (s) and log, and
# whether one of its checks failed.
SC=
SC_TIMEOUT=
LOG=
SC_FAILED=0

# expect WHAT COMMAND...: one result line for one expectation, as in
# tests/lib.sh (same name, same calling convention, same WHY), sent over
# the serial port with emit instead of printed.
expect() {
	local __what=$1
	shift
	WHY=
	if "$@"; then
		emit PASS "$SC" "$__what"
	else
		emit FAIL "$SC" "$__what: ${WHY:-$* failed}"
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
	# A scenario that overruns is killed with the test host: its log is
	# sent first, while it still can be, to show where it stalled.
	(
		sleep "$SC_TIMEOUT"
		emit LOG "$SC" "@@ still running after ${SC_TIMEOUT} s; its log so far:"
		send_log
	) &
	local timer=$!
	"scenario_$(echo "$SC" | tr - _)"
	kill $timer 2>/dev/null
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

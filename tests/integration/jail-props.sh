#!/bin/bash
# Properties of a running sandbox, checked from outside on the live VMM
# (the test guest's "wait" scenario keeps it running): no capabilities,
# no_new_privs, a seccomp filter on every thread, host ids of its own, its
# own namespaces, its cgroup and limits, an empty root, its exact fd table
# (none of the files it was passed for setting up); then, through the test
# program, the exact fd table the jail starts a program with.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail properties" || exit 0

check_vmm_sandbox() {
	local id=props-vmm t n d uid gid
	truncate -s 64K "$JAIL_TMP/initrd.img"
	if ! start_daemon $id --cmdline vjtest=wait --vcpus 2 --initrd "$JAIL_TMP/initrd.img" \
		--memory-max 256M --pids-max 12 --cpus 0.5; then
		fail "start a sandbox around the VMM" "$(cat "$JAIL_TMP/$id.err")"
		return
	fi
	sleep 0.3 # the vCPU threads load their filters before the guest runs
	# KVM adds a kernel worker (kvm-nx-lpage-recovery) to the process.
	n=$(cat /proc/$VMM_PID/task/*/comm | grep -cxF "$(cat /proc/$VMM_PID/comm)")
	# No migration thread: the first migration request makes it
	# (vmm/migrate.c).
	[ "$n" -eq 3 ] && pass "the VMM runs its event loop and 2 vCPU threads, no migration thread" ||
		fail "the VMM runs its event loop and 2 vCPU threads, no migration thread" "$n threads"

	# The launcher gave it ids of its own from the built-in range, which
	# its state names.
	uid=$(sed -n 's/^uid //p' "$RUN_DIR/$id/state")
	gid=$(sed -n 's/^gid //p' "$RUN_DIR/$id/state")
	expect "its state names host ids from the built-in range" eval \
		'[ "${uid:-0}" -ge 1879048192 ] && [ "${gid:-0}" -ge 1879048192 ] &&
		 [ "$uid" -le 2147352575 ] && [ "$gid" -le 2147352575 ]'
	jailed_status_checks $VMM_PID "$uid" "$gid"

	for t in mnt pid ipc uts net cgroup; do
		expect "$t namespace differs from the launcher's" ns_differs $VMM_PID $t
	done
	expect "user namespace is the host's (none configured)" \
		test "$(readlink /proc/$VMM_PID/ns/user)" = "$(readlink /proc/self/ns/user)"
	expect "hostname inside is vmjail" \
		test "$(nsenter --uts --target $VMM_PID hostname)" = vmjail

	for t in cpu memory pids; do
		d=$(cgroup_dir $t $VMM_PID)
		expect "in its own $t cgroup .../$CG_PARENT/$id" test "${d%/$CG_PARENT/$id}" != "$d"
	done
	expect "memory.limit_in_bytes is 256M" \
		test "$(cat "$(cgroup_dir memory $VMM_PID)/memory.limit_in_bytes")" = 268435456
	expect "pids.max is 12" test "$(cat "$(cgroup_dir pids $VMM_PID)/pids.max")" = 12
	expect "cpu quota is half a CPU (50000/100000 us)" test \
		"$(cat "$(cgroup_dir cpu $VMM_PID)/cpu.cfs_quota_us")/$(cat "$(cgroup_dir cpu $VMM_PID)/cpu.cfs_period_us")" = 50000/100000

	expect "its root directory is empty" test -z "$(ls -A /proc/$VMM_PID/root/)"
	expect "its root is the only mount it sees, read-only" \
		eval "[ \$(wc -l </proc/$VMM_PID/mountinfo) -eq 1 ] && grep -q ' / ro,' /proc/$VMM_PID/mountinfo"
	expect "its environment is empty" test -z "$(tr '\0' x </proc/$VMM_PID/environ)"
	# Its whole descriptor table: stdio (a daemon's is /dev/null), then
	# only what the VMM made itself: the VM, the stop eventfd, the event
	# loop's two epoll sets, the boot marker's eventfd, the i8042's irqfd,
	# the vCPUs, the signalfd (a migration's eventfd comes with the first
	# migration); and of what the launcher passed, only its control
	# channel (6). Guest memory is in none (anonymous memory: nothing to
	# open through /proc/PID/fd). What the launcher passed for setting up
	# (/dev/kvm 3, the kernel 4, the initrd 5, the configuration 7) is
	# closed once used, and its numbers taken by what came later.
	expect "its descriptors: stdio, the VM, 2 vCPUs, its event loop's, its launcher's channel; no guest memory" \
		fds_are $VMM_PID "0:/dev/null 1:/dev/null 2:/dev/null 3:anon_inode:[signalfd] $(
		)4:anon_inode:[eventfd] 5:anon_inode:kvm-vcpu:0 6:socket 7:anon_inode:kvm-vm $(
		)8:anon_inode:[eventfd] 9:anon_inode:[eventpoll] 10:anon_inode:[eventpoll] $(
		)11:anon_inode:[eventfd] 12:anon_inode:kvm-vcpu:1 "
	stop_daemon
	expect "SIGTERM to the launcher stops the sandbox" test ! -e /proc/$VMM_PID
	expect "the run directory is gone" test ! -e "$RUN_DIR/$id"
	expect "the pid file is gone" test ! -e "$JAIL_TMP/$id.pid"
	expect "its cgroups are gone" test -z "$(leftovers)"
}

# The program in the jail sees 0, 1, 2, then exactly the resources in the
# configuration's order, the configuration memfd last.
check_fd_table() {
	local OUT disk=$JAIL_TMP/disk.img rw=$JAIL_TMP/rw.img want
	truncate -s 1M "$disk" "$rw"
	OUT=$("${PROBE_RUN[@]}" --id props-fds --initrd "$disk" --console "$JAIL_TMP/console.txt" \
		--drive "path=$disk,ro" --drive "path=$rw" -- fds 2>&1)
	want=$'fds: 0 1 2 3 4 5 6 7 8 9 10\nconfig-fds: kvm=3 kernel=4 initrd=5 console=6 control=9 config=10'
	expect "fd table is exactly stdio + kvm, kernel, initrd, console, 2 drives, control channel, config" \
		test "$OUT" = "$want"
	[ "$OUT" = "$want" ] || echo "$OUT" >&2
	OUT=$("${PROBE_RUN[@]}" --id props-root -- root 2>&1)
	expect "the jail's root is empty from inside" test "$OUT" = "root: (empty)"
	OUT=$("${PROBE_RUN[@]}" --id props-proc --proc -- root 2>&1)
	expect "--proc puts a /proc (and nothing else) in the root" test "$OUT" = "root: proc"
	# What the launcher's caller ignores must not reach the VMM: exec
	# keeps ignored signals (the jail resets the ones it finds ignored).
	OUT=$(trap '' HUP PIPE USR1; "${PROBE_RUN[@]}" --id props-sig -- signals 2>&1)
	expect "signals the caller ignored are back to their defaults inside" \
		test "$OUT" = "signals: ignored=none blocked=none"
	OUT=$("${PROBE_RUN[@]}" --id props-kvm -- kvm 2>&1)
	expect "the passed /dev/kvm creates a VM inside the jail" test "$OUT" = "kvm: api=12 vm=created"
	run_capture 30 "${PROBE_RUN[@]}" -v --id props-ids -- ids
	expect "inside, the host ids vmjail -v says it gave the sandbox, no groups" test \
		"$OUT" = "$(sed -n 's/^vmjail: sandbox props-ids: runs as host uid \([0-9]*\), gid \([0-9]*\)$/ids: uid=\1 gid=\2 groups=0/p' <<<"$ERR")"
}

check_vmm_sandbox
check_fd_table
expect "nothing is left behind" test -z "$(leftovers)"
finish

#!/bin/bash
# Escape attempts from inside the jail, by the test program that the
# launcher starts in place of the VMM (same jail, fds, ids, limits). Each
# attempt runs twice: against the jail alone, where it must fail with the
# errno the jail explains, and under the VMM thread's seccomp filter too,
# where the first forbidden call must kill the process (SIGSYS, status
# 159) before the kernel even looks at the jail.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail escapes" || exit 0

SIGSYS_STATUS=159
n=0

# answered WANT: the last probe run exited 0 printing exactly WANT.
answered() {
	[ "$RC" = 0 ] && [ "$OUT" = "$1" ] && return 0
	WHY="status $RC, got '$OUT', want '$1' ${ERR:+($ERR)}"
	return 1
}

# killed_by_seccomp: the last probe run, under the VMM's filter, was killed.
killed_by_seccomp() {
	[ "$RC" = "$SIGSYS_STATUS" ] && [ "$OUT" = "seccomp: on" ] &&
		[[ $ERR == *"killed by SIGSYS"* ]] && return 0
	WHY="status $RC, '$OUT' ${ERR:+($ERR)}"
	return 1
}

# attempt WHAT EXPECTED ACTION [ARG]: the jail alone answers EXPECTED (the
# probe's output, one or more lines); the jail plus seccomp kills.
attempt() {
	local what=$1 want=$2 OUT ERR RC
	shift 2
	n=$((n + 1))
	run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id "esc-$n" --kernel "$GUEST" \
		--test-exec "$PROBE" -- "$@"
	expect "jail: $what" answered "$want"
	run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id "esc-$n-f" --kernel "$GUEST" \
		--test-exec "$PROBE" -- --seccomp vmm "$@"
	expect "jail + seccomp: $what kills the process" killed_by_seccomp
}

attempt "open a host path (/etc/passwd): no such file, the root is empty" \
	"open-host: ENOENT" open-host /etc/passwd
attempt "exec a host binary (/bin/sh): no such file" "exec: ENOENT" exec /bin/sh
attempt "create a file in the root: read-only file system" "write-root: EROFS" write-root
attempt "make a device node: read-only file system" "mknod: EROFS" mknod
attempt "an inet socket reaches nothing: empty network namespace" \
	$'socket-inet: ALLOWED\nconnect-inet: ENETUNREACH' socket-inet
attempt "ptrace a host process: not in its pid namespace" "ptrace: ESRCH" ptrace $$
attempt "signal a host process: not in its pid namespace" "kill-host: ESRCH" kill-host $$
attempt "mount over its root: no capability" "mount: EPERM" mount
attempt "detach its root: no capability" "umount: EPERM" umount
attempt "chroot: no capability" "chroot: EPERM" chroot
attempt "raise a capability, an ambient one, or become uid 0" \
	$'capset: EPERM\nambient-raise: EPERM\nsetuid-0: EPERM' cap-raise

# Limits: the cgroup stops what seccomp would otherwise have to.
run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id esc-pids --kernel "$GUEST" \
	--pids-max 8 --test-exec "$PROBE" -- pids
expect "jail: fork stops at pids.max (8 tasks: itself + 7)" \
	test "$OUT" = "pids: forked 7, then EAGAIN"
run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id esc-pids-f --kernel "$GUEST" \
	--pids-max 8 --test-exec "$PROBE" -- --seccomp vmm pids
expect "jail + seccomp: fork kills the process" test "$RC" = $SIGSYS_STATUS

run_capture 60 "$VMJAIL" run "${JAIL[@]}" --id esc-mem --kernel "$GUEST" \
	--memory-max 32M --memory-swap-max 0 --test-exec "$PROBE" -- memory 256
expect "jail: touching 256 MiB under a 32 MiB memory limit is OOM-killed (SIGKILL, 137)" \
	test "$RC" = 137 -a -z "$OUT"
run_capture 60 "$VMJAIL" run "${JAIL[@]}" --id esc-mem-ok --kernel "$GUEST" \
	--memory-max 64M --memory-swap-max 0 --test-exec "$PROBE" -- memory 16
expect "jail: 16 MiB under the same kind of limit is fine" \
	test "$RC" = 0 -a "$OUT" = "memory: touched 16 MiB"

expect "nothing is left behind" test -z "$(leftovers)"
finish

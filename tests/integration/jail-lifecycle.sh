#!/bin/bash
# A sandbox's life: its exit status passes through, SIGINT/SIGTERM and the
# wall-clock limit stop it, --detach detaches, ids are unique while in
# use and independent otherwise, a dead VMM or a SIGKILLed launcher is
# cleaned up (the latter by `vmjail cleanup`), and bad input leaves
# nothing behind.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail lifecycle" || exit 0

# The VMM's statuses (vmm/exit.h) and the launcher's own (jailer/launch.h).
STOPPED=5 TRIPLE_FAULT=3 TIMEOUT=124 FAILED=125

run_capture 30 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id life-hello
expect "a guest that resets exits 0" test "$RC" = 0
expect "the guest's console reaches stdout" test "$OUT" = 'vjtest: hello ok boot=linux64 memmap=3 cmdline="vjtest=hello"'
run_capture 30 "${GUEST_RUN[@]}" --cmdline vjtest=triple --id life-triple
expect "the VMM's status passes through (triple fault: $TRIPLE_FAULT)" test "$RC" = $TRIPLE_FAULT
run_capture 30 "${PROBE_RUN[@]}" --id life-exit -- exit 42
expect "the program's own exit status passes through (42)" test "$RC" = 42

# stop_with SIGNAL: a foreground launcher stopped by SIGNAL.
stop_with() {
	local sig=$1 id=life-$1 pid RC
	"${GUEST_RUN[@]}" --cmdline vjtest=wait --id "$id" >"$JAIL_TMP/$id.out" \
		2>"$JAIL_TMP/$id.err" &
	pid=$!
	# The guest's line: the VMM has taken its stop signals by then.
	for _ in $(seq 600); do grep -q 'wait running' "$JAIL_TMP/$id.out" && break; sleep 0.05; done
	kill -"$sig" $pid
	wait $pid
	RC=$?
	expect "SIG$sig stops the sandbox; the VMM reports it stopped ($STOPPED)" test "$RC" = $STOPPED
	expect "... and it is cleaned up" test ! -e "$RUN_DIR/$id"
}
stop_with TERM
stop_with INT

run_capture 30 "${GUEST_RUN[@]}" --cmdline vjtest=wait --id life-timeout --timeout 500ms
expect "the wall-clock limit stops it with status $TIMEOUT" test "$RC" = $TIMEOUT
expect "... saying so" eval '[[ $ERR == *"timed out after 500 ms"* ]]'
run_capture 30 "${PROBE_RUN[@]}" --id life-stubborn --timeout 200ms -- ignore-term
expect "a VMM that ignores SIGTERM is killed after the grace period ($TIMEOUT)" \
	test "$RC" = $TIMEOUT
expect "... saying so" eval '[[ $ERR == *"did not stop"* ]]'

if start_daemon life-daemon --cmdline vjtest=wait; then
	pass "--detach returns once the VMM runs"
	expect "the pid file names the launcher" test "$(cat "$JAIL_TMP/life-daemon.pid")" = "$LAUNCHER"
	expect "the launcher left the caller's session" \
		test "$(ps -o sid= -p "$LAUNCHER" | tr -d ' ')" = "$LAUNCHER"
	expect "the VMM runs" test -e /proc/$VMM_PID
	# Sockets show as socket:[INODE]: the control socket and the VMM's
	# channel, two of them.
	held=$(for fd in /proc/$LAUNCHER/fd/*; do [ "${fd##*/}" -gt 2 ] && readlink "$fd"; done |
		sed 's/^socket:\[[0-9]*\]$/socket/' | sort | tr '\n' ' ')
	want=$(printf '%s\n' "anon_inode:[pidfd]" "anon_inode:[signalfd]" "anon_inode:[timerfd]" \
		"anon_inode:[eventpoll]" socket socket \
		"$RUN_DIR" "$RUN_DIR/life-daemon" "$RUN_DIR/life-daemon/lock" /run/vmjail.ids |
		sort | tr '\n' ' ')
	expect "the launcher holds only the run directory, its own and its lock, the host ids' lock, pidfd, signalfd, timerfd, its epoll set, its control socket and the VMM's channel" \
		test "$held" = "$want"
	[ "$held" = "$want" ] || echo "launcher fds: $held" >&2
	run_capture 10 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id life-daemon
	expect "a second sandbox with the same id is refused ($FAILED)" test "$RC" = $FAILED
	expect "... naming the id" eval '[[ $ERR == *"\"life-daemon\" is in use"* ]]'
	kill -KILL $VMM_PID
	wait_gone "$LAUNCHER" 10
	expect "a VMM killed by SIGKILL ends its launcher, which cleans up" \
		test ! -e "$RUN_DIR/life-daemon" -a ! -e "$JAIL_TMP/life-daemon.pid"
else
	fail "--detach returns once the VMM runs" "$(cat "$JAIL_TMP/life-daemon.err")"
fi

# Sandboxes at once, each in its own cgroup.
pids=()
for i in 1 2 3 4; do
	"${GUEST_RUN[@]}" --cmdline vjtest=smp --vcpus 2 --id "life-par-$i" --memory-max 256M \
		>"$JAIL_TMP/par-$i.out" 2>&1 &
	pids+=($!)
done
ok=0
for i in "${!pids[@]}"; do
	wait "${pids[$i]}" && grep -q "smp ok 2 cpus" "$JAIL_TMP/par-$((i + 1)).out" && ok=$((ok + 1))
done
expect "4 sandboxes at once all run to completion" test $ok = 4

run_capture 10 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id life-bad --kernel /nonexistent/vmlinux
expect "a missing kernel fails with $FAILED" test "$RC" = $FAILED
expect "... naming the file and the reason" \
	eval '[[ $ERR == *"open kernel (/nonexistent/vmlinux): No such file or directory"* ]]'
ln -sf "$GUEST" "$JAIL_TMP/link.elf"
run_capture 10 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id life-link --kernel "$JAIL_TMP/link.elf"
expect "a path through a symbolic link is refused" \
	eval '[[ $RC == 125 && $ERR == *"symbolic link (refused)"* ]]'
run_capture 10 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id "bad/id"
expect "an id that is not [A-Za-z0-9-] is refused" test "$RC" = $FAILED
run_capture 10 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id life-vmm --vmm /bin/true
expect "a dynamically linked VMM is refused (the jail has no loader)" \
	eval '[[ $RC == 125 && $ERR == *"dynamically linked"* ]]'

# A SIGKILLed launcher: its VMM dies with it (parent-death signal), the
# leftovers wait for `vmjail cleanup`, and the id is reusable either way.
if start_daemon life-kill --cmdline vjtest=wait; then
	kill -KILL "$LAUNCHER"
	expect "the VMM dies with a SIGKILLed launcher" wait_gone "$VMM_PID" 5
	expect "its run directory and cgroups stay behind" test -n "$(leftovers)"
	OUT=$("$VMJAIL" cleanup --run-dir "$RUN_DIR" life-kill)
	expect "vmjail cleanup removes them" test "$OUT" = "life-kill: cleaned up" -a -z "$(leftovers)"
fi
if start_daemon life-kill2 --cmdline vjtest=wait; then
	kill -KILL "$LAUNCHER"
	wait_gone "$VMM_PID" 5
	run_capture 30 "${GUEST_RUN[@]}" --cmdline vjtest=hello --id life-kill2
	expect "re-running the id cleans up the dead launcher's leftovers first" \
		test "$RC" = 0 -a -z "$(leftovers)"
fi

expect "nothing is left behind" test -z "$(leftovers)"
finish

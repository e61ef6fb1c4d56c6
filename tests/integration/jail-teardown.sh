#!/bin/bash
# `--teardown background` (host file `teardown: background`): `vmjail run`
# returns the status and all the output once the VMM reports its end,
# while the VMM's exit (KVM's teardown of the VM), the cgroup and the run
# directory go on behind it; meanwhile the sandbox shows as cleaning, a
# run of the same id waits for it, and a VMM killed hard is still cleaned
# up. `wait` (the default) and --detach are as before.
# The test program plays a VMM whose exit takes long (end-linger): it
# reports its end on the control channel, then lingers before it exits.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail teardown" || exit 0

BG=(--teardown background)

# settled [SECONDS]: nothing of this script's sandboxes is left, polled
# for at most SECONDS (a bound for a stuck teardown, not a timing test).
settled() {
	local i
	for ((i = 0; i < ${1:-30} * 20; i++)); do
		[ -z "$(leftovers)" ] && return 0
		sleep 0.05
	done
	WHY="left: $(leftovers | tr '\n' ' ')"
	return 1
}

# alive PID: the process exists and is not a zombie.
alive() {
	local state
	state=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null)
	[ -n "$state" ] && [ "$state" != Z ]
}

vmm_of() { sed -n 's/^vmm //p' "$RUN_DIR/$1/state" 2>/dev/null; }

# The real VMM on the test guest: status and console output complete.
run_capture 30 "${GUEST_RUN[@]}" "${BG[@]}" --cmdline vjtest=hello --id td-hello
expect "the guest's status comes back (0)" rc_is 0
expect "... with all of its console output" \
	test "$OUT" = 'vjtest: hello ok boot=linux64 memmap=3 cmdline="vjtest=hello"'
expect "... and nothing of it is left once its teardown ends" settled
run_capture 30 "${GUEST_RUN[@]}" "${BG[@]}" --cmdline vjtest=triple --id td-triple
expect "the VMM's own status passes through (triple fault: 3)" rc_is 3
expect "... and nothing of it is left once its teardown ends" settled

# A VMM that takes 8 s to exit after its end. $( ) returns at EOF of the
# pipe: the launcher, its teardown and the VMM have all let go of it.
OUT=$("${PROBE_RUN[@]}" "${BG[@]}" --id td-linger -- end-linger 42,8000 2>&1)
RC=$?
VMM_PID=$(vmm_of td-linger)
expect "the status comes back while the VMM still exits (42)" rc_is 42
expect "... with the output, and a reader of stdout and stderr sees EOF at once" \
	test "$OUT" = "end-linger: 42"
expect "... the VMM is still exiting then" alive "${VMM_PID:-0}"
expect "... the sandbox is recorded as cleaning, with its status" \
	test "$(cat "$RUN_DIR/td-linger/status" 2>/dev/null)" = "cleaning 42"
run_capture 10 "$VMJAIL" ps --run-dir "$RUN_DIR"
expect "... vmjail ps shows it cleaning" out_has "^td-linger +cleaning\(42\) "
run_capture 10 "$VMJAIL" wait td-linger --run-dir "$RUN_DIR"
expect "... vmjail wait gives its status" rc_is 42
"${PROBE_RUN[@]}" "${BG[@]}" --id td-linger -- exit 7 >"$JAIL_TMP/again.out" 2>&1 &
again=$!
sleep 1
expect "a run of the same id waits for the teardown" alive "$again"
kill -KILL "${VMM_PID:-0}"
wait "$again"
RC=$?
expect "... which a VMM killed hard still ends; then the run goes ahead (7)" rc_is 7
[ "$RC" = 7 ] || cat "$JAIL_TMP/again.out" >&2
expect "... after the old VMM was gone" wait_gone "${VMM_PID:-0}" 1
expect "... and nothing of either is left" settled

# The same through a descriptor past stdio: neither the launcher nor its
# teardown keeps a copy of the caller's descriptors.
OUT=$("${PROBE_RUN[@]}" "${BG[@]}" --id td-fd3 -- end-linger 42,8000 \
	3>&1 >"$JAIL_TMP/fd3.out" 2>&1)
RC=$?
VMM_PID=$(vmm_of td-fd3)
expect "a reader of the caller's fd 3 sees EOF as the launcher returns (42)" rc_is 42
expect "... the VMM is still exiting then" alive "${VMM_PID:-0}"
expect "... and nothing of it is left once its teardown ends" settled

# A VMM that dies without reporting its end: the pidfd says so, as ever.
"${PROBE_RUN[@]}" "${BG[@]}" --id td-killed -- wait >"$JAIL_TMP/killed.out" 2>&1 &
pid=$!
for _ in $(seq 200); do grep -q 'wait: ready' "$JAIL_TMP/killed.out" && break; sleep 0.05; done
kill -KILL "$(vmm_of td-killed)"
wait "$pid"
RC=$?
expect "a VMM killed before its end gives 128+9" rc_is 137
expect "... and is cleaned up" settled

# wait, the default: the sandbox is gone when vmjail returns.
run_capture 30 "${PROBE_RUN[@]}" --id td-wait -- end-linger 3,2000
expect "without --teardown the status comes back once the VMM has exited (3)" rc_is 3
expect "... with nothing of the sandbox left at that moment" test -z "$(leftovers)"
run_capture 30 "${PROBE_RUN[@]}" --teardown wait --id td-wait2 -- end-linger 4,1000
expect "--teardown wait does the same (4)" \
	eval '[[ $RC == 4 && -z "$(leftovers)" ]]'

run_capture 10 "${PROBE_RUN[@]}" "${BG[@]}" --detach --id td-detach -- exit 0
expect "--teardown with --detach is refused in one line" \
	eval '[[ $RC == 125 && $ERR == *"--teardown goes with a foreground run"* ]]'
run_capture 10 "${PROBE_RUN[@]}" --teardown later --id td-bad -- exit 0
expect "an unknown --teardown is refused, naming it" \
	eval '[[ $RC == 125 && $ERR == *'"'"'--teardown: "later"'"'"'* ]]'
run_capture 30 "${PROBE_RUN[@]}" --detach --id td-daemon -- end-linger 5,500
expect "--detach is as before: it returns the id" eval '[[ $RC == 0 && $OUT == td-daemon ]]'
run_capture 30 "$VMJAIL" wait td-daemon --run-dir "$RUN_DIR"
expect "... and its status is kept for vmjail wait (5)" rc_is 5
run_capture 10 "$VMJAIL" rm td-daemon --run-dir "$RUN_DIR"
expect "... until vmjail rm" eval '[[ $RC == 0 && ! -e $RUN_DIR/td-daemon ]]'

expect "nothing is left behind" settled
finish

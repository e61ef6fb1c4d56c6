#!/bin/bash
# Managing a running sandbox through its control socket (jailer/CONTROL.md)
# with the test guest's `count` scenario, which prints "vjtest: count N"
# on its console every 100 ms: --detach, ps, inspect, pause (the count
# stops) and resume (it goes on from where it stopped), stats, events in
# order, stop, wait with the status, rm; refusals: another uid, a flood of
# malformed requests (the guest runs on), commands in the wrong state.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf $(CTL_CLIENT) $(JSON_CHECK)
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"

CLIENT=$BUILD/tests/integration/ctl-client
need_jail "jail control" || exit 0
[ -x "$CLIENT" ] || { fail "jail control: $CLIENT exists" "make first"; finish; exit; }

VJ=("$VMJAIL")
manage() { "${VJ[@]}" "$@" --run-dir "$RUN_DIR"; }
console=$JAIL_TMP/count.console

# last_count: the last count the guest printed.
last_count() { sed -n 's/^vjtest: count \([0-9]*\).*/\1/p' "$console" | tail -n 1; }
wait_count() { # wait_count N: until the guest has counted to N (10 s at most)
	for _ in $(seq 200); do [ "$(last_count)" -ge "$1" ] 2>/dev/null && return 0; sleep 0.05; done
	return 1
}

run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id ctl1 --kernel "$GUEST" \
	--cmdline vjtest=count --console "$console" --detach
expect "run --detach returns 0 once the sandbox runs" test "$RC" = 0
expect "... printing its id" test "$OUT" = ctl1
expect "the guest counts" wait_count 3

run_capture 30 "$VMJAIL" ps --run-dir "$RUN_DIR"
expect "ps lists it as running" eval 'grep -Eq "^ctl1 +running " <<<"$OUT"'
run_capture 30 "$VMJAIL" ps --json --run-dir "$RUN_DIR"
expect "ps --json is JSON" eval '"$BUILD/tests/integration/json-check" <<<"$OUT"'
expect "... with its state" eval '[[ $OUT == *"\"id\":\"ctl1\",\"state\":\"running\""* ]]'
run_capture 30 "$VMJAIL" inspect ctl1 --run-dir "$RUN_DIR"
expect "inspect gives its effective configuration and live state as JSON" \
	eval '"$BUILD/tests/integration/json-check" <<<"$OUT" && [[ $OUT == *"\"config\":"* &&
		$OUT == *"\"state\":\"running\""* ]]'

manage events ctl1 >"$JAIL_TMP/events" 2>&1 &
events=$!
sleep 0.5
run_capture 30 "$VMJAIL" pause ctl1 --run-dir "$RUN_DIR"
expect "pause succeeds" test "$RC" = 0
sleep 0.3
held=$(last_count)
sleep 1.5
expect "while paused the count does not move (held at $held)" test "$(last_count)" = "$held"
run_capture 30 "$VMJAIL" ps --run-dir "$RUN_DIR"
expect "ps shows it paused" eval 'grep -Eq "^ctl1 +paused " <<<"$OUT"'
run_capture 30 "$VMJAIL" pause ctl1 --run-dir "$RUN_DIR"
expect "a second pause is refused: it is not running" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"is paused, not running"* ]]'
run_capture 30 "$VMJAIL" resume ctl1 --run-dir "$RUN_DIR"
expect "resume succeeds" test "$RC" = 0
expect "after resume the count goes on" wait_count $((held + 2))
expect "... without a line lost" eval \
	'sed -n "s/^vjtest: count //p" "$console" | awk "NR > 1 && \$1 != prev + 1 { bad = 1 } { prev = \$1 } END { exit bad }"'

run_capture 30 "$VMJAIL" stats ctl1 --json --run-dir "$RUN_DIR"
expect "stats gives CPU time, memory and exits" eval \
	'"$BUILD/tests/integration/json-check" <<<"$OUT" && [[ $OUT == *"\"cpu_usec\":"* &&
		$OUT == *"\"memory_bytes\":"* ]] && ! [[ $OUT == *"\"exits\":0,"* ]]'

# Another user may not even connect.
run_capture 30 setpriv --reuid 65534 --regid 65534 --clear-groups \
	"$VMJAIL" pause ctl1 --run-dir "$RUN_DIR"
expect "another uid is refused" eval '[ "$RC" != 0 ] && [[ $ERR == *"ctl1"* ]]'

# A flood of malformed requests: each answered, none disturbs the guest.
before=$(last_count)
for i in $(seq 300); do printf 'garbage %d\n{"id":%d,"execute":"explode"}\n' $i $i; done |
	"$CLIENT" "$RUN_DIR/ctl1/control.sock" >"$JAIL_TMP/flood" 2>&1
expect "a flood of malformed requests gets one error each" \
	test "$(grep -c '"error":' "$JAIL_TMP/flood")" = 600
expect "... and the guest counts on" wait_count $((before + 3))

# exec needs a guest agent (a workload), and the caller's descriptors.
run_capture 30 "$VMJAIL" exec ctl1 --run-dir "$RUN_DIR" -- true --run-dir x
expect "exec in a sandbox without a workload is refused in one line" eval \
	'[ "$RC" = 125 ] && [[ $ERR == *"ctl1 runs no workload"* ]] && [ "$(wc -l <<<"$ERR")" = 1 ]'
printf '{"id":1,"execute":"exec","arguments":{"argv":["true"]}}\n' |
	"$CLIENT" "$RUN_DIR/ctl1/control.sock" >"$JAIL_TMP/exec-nofds" 2>&1
expect "an exec request without descriptors is a BadRequest" \
	grep -q '"class":"BadRequest".*exactly 3 descriptors' "$JAIL_TMP/exec-nofds"
expect "... and the guest counts on" wait_count $(($(last_count) + 2))

run_capture 30 "$VMJAIL" stop ctl1 --timeout 1s --run-dir "$RUN_DIR"
expect "stop is accepted" test "$RC" = 0
run_capture 30 "$VMJAIL" wait ctl1 --run-dir "$RUN_DIR"
expect "wait ends with the sandbox's status (a guest that ignores the request is killed: 137)" \
	test "$RC" = 137
# The events stream of one sandbox ends with it.
for _ in $(seq 100); do kill -0 $events 2>/dev/null || break; sleep 0.1; done
kill $events 2>/dev/null
wait $events 2>/dev/null
order=$(sed -n 's/.*"event":"\([a-z-]*\)".*/\1/p' "$JAIL_TMP/events" | tr '\n' ' ')
expect "events come in order: paused, resumed, stopping, exited, cleanup-done ($order)" \
	eval '[[ $order == *"paused resumed stopping exited cleanup-done"* ]]'
run_capture 30 "$VMJAIL" ps --run-dir "$RUN_DIR"
expect "an exited detached sandbox is listed with its status" \
	eval 'grep -Eq "^ctl1 +exited\(137\) " <<<"$OUT"'
run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id ctl1 --kernel "$GUEST" \
	--cmdline vjtest=hello --detach
expect "its id stays taken until rm" eval '[ "$RC" = 125 ] && [[ $ERR == *"vmjail rm ctl1"* ]]'
run_capture 30 "$VMJAIL" rm ctl1 --run-dir "$RUN_DIR"
expect "rm forgets it" eval '[ "$RC" = 0 ] && [ ! -e "$RUN_DIR/ctl1" ]'

# --rm: nothing stays.
run_capture 30 "$VMJAIL" run "${JAIL[@]}" --id ctl2 --kernel "$GUEST" \
	--cmdline vjtest=count --console "$console" --detach --rm
run_capture 30 "$VMJAIL" kill ctl2 --run-dir "$RUN_DIR"
expect "kill ends a sandbox without a workload" test "$RC" = 0
for _ in $(seq 100); do [ -e "$RUN_DIR/ctl2" ] || break; sleep 0.1; done
expect "with --rm its record goes with it" test ! -e "$RUN_DIR/ctl2"
run_capture 30 "$VMJAIL" pause ctl9 --run-dir "$RUN_DIR"
expect "a sandbox that does not exist is named in the error" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"ctl9"* ]]'
expect "nothing is left behind" test -z "$(leftovers)"
finish

#!/bin/bash
# The nested test host's watchdog (tests/e2e/testhost.sh): a test host
# that stops making progress is a failure with its reason and the tail of
# its console, and the run ends, instead of hanging the suite or passing.
# A test host whose CPU QEMU's monitor stopped stands in for a frozen one
# (QEMU itself still answers, as it did in the freeze looked at: idle,
# its emulated CPU not running), and the watchdog's record of the frozen
# CPU's state is checked too.
# needs: none
# builds: e2e-image
# timeout: 600
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/e2e/testhost.sh"

if ! testhost_usable; then
	skip "testhost-watchdog" "$WHY"
	exit 0
fi
RUN=$BUILD/tests/e2e/nested/watchdog
out=$(mktemp)
rm -rf "$RUN"
trap 'rm -f "$out"' EXIT

TESTHOST_FROZEN=15 "$TOP/tests/e2e/nested.sh" --quiet --name watchdog --timeout 600 -- \
	sleep 600 >"$out" 2>&1 &
runner=$!
# Once the test host is up, stop it dead.
for _ in $(seq 1500); do
	grep -q '@@E2E READY' "$RUN/control.log" 2>/dev/null && break
	sleep 0.2
done
qemu=$(pgrep -f -- "^$TESTHOST_QEMU .*-initrd $RUN/initrd.cpio" | head -n 1)
if [ -z "$qemu" ]; then
	fail "testhost-watchdog: the test host started" "$(cat "$out")"
	kill $runner 2>/dev/null
	finish; exit
fi
echo stop >"$RUN/monitor.in"
for _ in $(seq 1200); do
	kill -0 $runner 2>/dev/null || break
	sleep 0.2
done
wait $runner
rc=$?
left=$(pgrep -f -- "^$TESTHOST_QEMU .*-initrd $RUN/initrd.cpio")
kill -KILL "$qemu" 2>/dev/null

if [ "$rc" = 1 ] && grep -q "^FAIL: nested watchdog: the test host was killed: frozen" "$out"; then
	pass "a frozen test host is a FAIL naming the freeze"
else
	fail "a frozen test host is a FAIL naming the freeze" "exit $rc: $(head -c 600 "$out")"
fi
if grep -q "test host console (last 40 lines" "$out" && [ -f "$RUN/console.log" ]; then
	pass "its console's tail is printed and the whole console kept"
else
	fail "its console's tail is printed and the whole console kept" "$(head -c 600 "$out")"
fi
if grep -aq "^RIP=" "$RUN/frozen.log" 2>/dev/null && grep -aq "^LVTT" "$RUN/frozen.log" &&
	grep -aq "^VM status: paused" "$RUN/frozen.log" &&
	grep -aq "^@@ after an NMI: control.log grew by 0 bytes" "$RUN/frozen.log"; then
	pass "the frozen VM's status, CPU registers and local APIC are kept, and an NMI did not wake it"
else
	fail "the frozen VM's status, CPU registers and local APIC are kept, and an NMI did not wake it" \
		"$(head -c 600 "$RUN/frozen.log" 2>&1)"
fi
# The registers once more after the NMI, and the machine state QEMU
# migrates (hflags2 is there only): a gzip of a migration stream, whose
# first bytes are QEMU's "QEVM".
if sed -n '/^@@ registers after the NMI/,$p' "$RUN/frozen.log" 2>/dev/null | grep -aq "^RIP=" &&
	[ "$(gzip -dc "$RUN/frozen.vmstate.gz" 2>/dev/null | head -c 4)" = QEVM ] &&
	grep -aq "^@@ machine state (hflags2, interrupt_request): $RUN/frozen.vmstate.gz" "$RUN/frozen.log"; then
	pass "the registers after the NMI and the machine state (QEMU's migration stream) are kept"
else
	fail "the registers after the NMI and the machine state (QEMU's migration stream) are kept" \
		"$(ls -l "$RUN" 2>&1; tail -c 600 "$RUN/frozen.log" 2>&1)"
fi
if [ -z "$left" ]; then
	pass "no QEMU is left running"
else
	fail "no QEMU is left running" "pids $left"
fi
finish

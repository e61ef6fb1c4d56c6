#!/bin/bash
# e2e/run.sh and a test host that freezes during a scenario (QEMU's
# fault, tests/README.md): the test host boots again and the scenario and
# those not begun run again, once, with an INFO line naming the freeze
# and its evidence, and every check reported once; a second freeze during
# the same scenario is a FAIL. A test host whose CPU QEMU's monitor
# stopped stands in for a frozen one, as in testhost-watchdog.sh.
# needs: none
# builds: e2e-image
# timeout: 1200
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/e2e/testhost.sh"

if ! testhost_usable; then
	skip "e2e-freeze-retry" "$WHY"
	exit 0
fi
RUN=$BUILD/tests/e2e/run
out=$(mktemp)
trap 'rm -f "$out"' EXIT

# stop_at BOOT: once boot BOOT (1: the first) of the test host has begun
# virtio-rng, stops its CPU. Fails when that does not happen in 300 s.
stop_at() {
	local i
	for i in $(seq 3000); do
		if { [ "$1" = 1 ] || [ -d "$RUN.freeze$(($1 - 1))" ]; } &&
			grep -q '@@E2E BEGIN virtio-rng' "$RUN/control.log" 2>/dev/null; then
			echo stop >"$RUN/monitor.in"
			return 0
		fi
		sleep 0.1
	done
	return 1
}

# run_e2e STOPS: e2e/run.sh of testhost-kvm and virtio-rng, its test host
# stopped during virtio-rng in each of the first STOPS boots. Sets rc.
run_e2e() {
	local stops=$1 n runner
	rm -rf "$RUN" "$RUN".freeze*
	BUILD=$BUILD TESTHOST_FROZEN=15 E2E_ONLY=testhost-kvm,virtio-rng "$TOP/tests/e2e/run.sh" >"$out" 2>&1 &
	runner=$!
	for ((n = 1; n <= stops; n++)); do
		stop_at $n || break
	done
	wait $runner
	rc=$?
}

run_e2e 1
dups=$(grep '^PASS: ' "$out" | sort | uniq -d)
if [ "$rc" = 0 ] &&
	[ "$(grep -c '^INFO: e2e: the test host froze during virtio-rng (freeze 1 of this run;' "$out")" = 1 ] &&
	grep -q '^figure: e2e test host freezes this run (each scenario run again once): 1$' "$out" &&
	[ "$(grep -c '^PASS: e2e virtio-rng: ' "$out")" -ge 1 ] &&
	[ "$(grep -c '^PASS: e2e testhost-kvm: ' "$out")" -ge 1 ] && [ -z "$dups" ] &&
	! grep -q '^FAIL' "$out"; then
	pass "a freeze during a scenario: INFO, the test host boots again, the scenario passes, each check reported once"
else
	fail "a freeze during a scenario: INFO, the test host boots again, the scenario passes, each check reported once" \
		"exit $rc, repeated: ${dups:-none}: $(grep -E '^(PASS|FAIL|INFO|figure: e2e test host freezes)' "$out" | head -c 1500)"
fi
if grep -aq 'HLT=' "$RUN.freeze1/frozen.log" 2>/dev/null && [ -s "$RUN.freeze1/frozen.vmstate.gz" ] &&
	grep -q "all of it in $RUN.freeze1)" "$out"; then
	pass "the frozen test host's record is kept apart ($RUN.freeze1) and named"
else
	fail "the frozen test host's record is kept apart ($RUN.freeze1) and named" "$(ls -l "$RUN.freeze1" 2>&1)"
fi

run_e2e 2
if [ "$rc" = 1 ] &&
	grep -q '^FAIL: e2e virtio-rng: the test host was killed: frozen, .* during it (the second time for it)$' "$out" &&
	[ "$(grep -c '^INFO: e2e: the test host froze' "$out")" = 1 ]; then
	pass "a second freeze during the same scenario is a FAIL"
else
	fail "a second freeze during the same scenario is a FAIL" \
		"exit $rc: $(grep -E '^(PASS|FAIL|INFO)' "$out" | head -c 1500)"
fi
left=$(pgrep -f -- "^$TESTHOST_QEMU .*-initrd $BUILD/tests/e2e/testhost.cpio")
if [ -z "$left" ]; then
	pass "no QEMU is left running"
else
	fail "no QEMU is left running" "pids $left"
fi
rm -rf "$RUN".freeze*
finish

#!/bin/bash
# The test host's lost wake-up (tests/e2e/testhost.sh, testhost_lost_wakeup;
# tests/README.md): what QEMU's monitor says of a test host is read as a
# lost wake-up only when its CPU is halted with interrupts enabled and a
# vector waiting in its local APIC, twice alike; then it is woken with a
# key press and an INFO line, or (TESTHOST_LOST_WAKEUP=stop) stopped as a
# freeze with its state kept. The monitor is played by a function here
# answering with a real test host's registers and local APIC
# (tests/e2e/fixtures/lost-wakeup.monitor), and variants of them.
# needs: none
. "$(dirname "$0")/../lib.sh"
. "$TOP/tests/e2e/testhost.sh"

FIXTURE=$TOP/tests/e2e/fixtures/lost-wakeup.monitor
TESTHOST_RUN=$(mktemp -d)
trap 'rm -rf "$TESTHOST_RUN"' EXIT
# The monitor: "info ..." answers with $STATE (a file; a second one,
# $STATE2, from the second look on), every command is logged.
# (Looks are counted in the file: the caller runs each in a subshell.)
testhost_monitor() {
	shift
	printf '%s\n' "$@" >>"$TESTHOST_RUN/sent"
	if [ "$(grep -c '^info registers$' "$TESTHOST_RUN/sent")" -gt 1 ] && [ -n "${STATE2:-}" ]; then
		cat "$STATE2"
	else
		cat "$STATE"
	fi
}

# case NAME MODE: one look at a test host silent for 20 s.
run_case() {
	: >"$TESTHOST_RUN/sent"
	rm -f "$TESTHOST_RUN/frozen.log"
	TESTHOST_ENDED="" TESTHOST_WAKES=0
	OUT=$(TESTHOST_LOST_WAKEUP=$1 testhost_lost_wakeup 20; echo "ENDED=$TESTHOST_ENDED")
}

sent_key() { grep -qx 'sendkey shift' "$TESTHOST_RUN/sent"; }

STATE=$FIXTURE
run_case wake
if sent_key && grep -q "^INFO: test host: silent for 20 s, halted at RIP=ffffffffa3017a0b with interrupt vector(s) 236 waiting: QEMU's lost wake-up" <<<"$OUT" &&
	grep -qx "ENDED=" <<<"$OUT"; then
	pass "a halted test host with vector 236 waiting is woken with a key press, said in an INFO line"
else
	fail "a halted test host with vector 236 waiting is woken with a key press, said in an INFO line" \
		"sent: $(paste -sd' ' "$TESTHOST_RUN/sent"); out: $OUT"
fi

run_case stop
if ! sent_key && grep -q "^ENDED=was killed: frozen by QEMU's lost wake-up, silent for 20 s, halted at RIP=ffffffffa3017a0b with interrupt vector(s) 236 waiting" <<<"$OUT" &&
	grep -aq "^@@ QEMU's lost wake-up: silent for 20 s" "$TESTHOST_RUN/frozen.log" &&
	grep -aq "^IRR" "$TESTHOST_RUN/frozen.log"; then
	pass "with TESTHOST_LOST_WAKEUP=stop it is a freeze (was killed: frozen ...), its state kept"
else
	fail "with TESTHOST_LOST_WAKEUP=stop it is a freeze (was killed: frozen ...), its state kept" \
		"sent: $(paste -sd' ' "$TESTHOST_RUN/sent"); out: $OUT"
fi

# Anything else is left alone: a CPU that runs, nothing waiting,
# interrupts disabled, or a second look that differs.
variant() { command sed "$1" "$FIXTURE" >"$TESTHOST_RUN/$2"; }
variant 's/HLT=1/HLT=0/' running
variant 's/^IRR\t 236 $/IRR\t (none)/' nothing
variant 's/RFL=00000246/RFL=00000046/' cli
variant 's/RIP=ffffffffa3017a0b/RIP=ffffffffa3017a10/' moved
for v in running nothing cli moved; do
	case $v in
	moved) STATE=$FIXTURE STATE2=$TESTHOST_RUN/moved ;;
	*) STATE=$TESTHOST_RUN/$v STATE2="" ;;
	esac
	for mode in wake stop; do
		run_case $mode
		if ! sent_key && grep -qx "ENDED=" <<<"$OUT" && ! grep -q "^INFO" <<<"$OUT"; then
			pass "left alone ($v, $mode)"
		else
			fail "left alone ($v, $mode)" "sent: $(paste -sd' ' "$TESTHOST_RUN/sent"); out: $OUT"
		fi
	done
done
finish

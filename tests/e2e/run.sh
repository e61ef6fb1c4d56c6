#!/bin/bash
# End-to-end tests against a real Linux guest, one level down: the nested
# test host (testhost.sh) boots the image build-testhost.sh assembled; its
# /init loads kvm_amd and runs the scenarios of scenarios.sh with vmjail,
# reporting on its second serial port. This script turns those reports
# into PASS:/FAIL:/SKIP: lines (tests/lib.sh), one per check, and stops a
# test host that overruns a scenario's timeout (plus GRACE seconds) or
# freezes.
#
# env: BUILD (default build), E2E_VERBOSE=1 sends every scenario's log
# back, not only failing ones (E2E_VERBOSE=NAME: that scenario's), E2E_ONLY=NAME[,NAME...] runs only those
# scenarios. Logs of the last run: $BUILD/tests/e2e/run/.
# builds: e2e-image
set -u
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"
. "$TOP/tests/e2e/testhost.sh"
# A scenarios file that does not parse would select nothing and pass.
if ! WHY=$(bash -n "$TOP/tests/e2e/scenarios.sh" 2>&1); then
	fail "e2e" "tests/e2e/scenarios.sh does not parse: $WHY"
	exit 1
fi
. "$TOP/tests/e2e/scenarios.sh"
E2E_SCENARIOS=$(e2e_selected "${E2E_ONLY:-}")
only=${E2E_ONLY:-}
for name in ${only//,/ }; do
	grep -q "^$name " <<<"$E2E_SCENARIOS" ||
		{ fail "e2e" "E2E_ONLY: there is no scenario \"$name\""; exit 1; }
done
if [ -z "${E2E_SCENARIOS//[[:space:]]/}" ]; then
	fail "e2e" "no scenario selected${E2E_ONLY:+ by E2E_ONLY=$E2E_ONLY}"
	exit 1
fi

E2E=$BUILD/tests/e2e
RUN=$E2E/run
GRACE=30 # slack for emulation, and for a step between scenarios

if ! testhost_usable; then
	skip "e2e" "$WHY"
	echo "WARNING: e2e tests skipped: $WHY" >&2
	exit 0
fi
for f in "$E2E/testhost-vmlinuz" "$E2E/testhost.cpio"; do
	[ -r "$f" ] || { fail "e2e" "test host ($f): missing; run make e2e-image"; exit 1; }
done

secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

declare -A begun checks
total=$TESTHOST_BOOT_TIMEOUT
while read -r name timeout; do
	[ -n "$name" ] && total=$((total + timeout + GRACE))
done <<<"$E2E_SCENARIOS"

cur="" cur_timeout="" done=0
on_line() {
	local tag=$1 sc=$2 rest=$3
	case $tag in
	READY)
		echo "figure: test host, QEMU start to /init: $(secs $((TESTHOST_NOW - start))) s" \
			"wall ($sc s test-host uptime; TCG emulation)"
		TESTHOST_DEADLINE=$((TESTHOST_NOW + GRACE * 1000)) ;;
	SETUP) fail "e2e test host set-up" "$sc $rest" ;;
	BEGIN)
		cur=$sc cur_timeout=$rest begun[$sc]=1 checks[$sc]=0
		TESTHOST_LATE="scenario $sc overran its timeout (${rest}s + ${GRACE}s grace)"
		TESTHOST_DEADLINE=$((TESTHOST_NOW + (rest + GRACE) * 1000)) ;;
	PASS) pass "e2e $sc: $rest"; checks[$sc]=$((${checks[$sc]:-0} + 1)) ;;
	FAIL) fail "e2e $sc: $rest"; checks[$sc]=$((${checks[$sc]:-0} + 1)) ;;
	FIGURE) echo "figure: $sc (nested emulation, not hardware): $rest" ;;
	LOG) echo "    $sc| $rest" ;;
	END)
		[ "${checks[$sc]:-0}" -gt 0 ] || fail "e2e $sc" "reported no checks"
		cur=""
		TESTHOST_LATE="nothing began after scenario $sc"
		TESTHOST_DEADLINE=$((TESTHOST_NOW + GRACE * 1000)) ;;
	DONE)
		done=1
		TESTHOST_LATE="no power-off after the last scenario"
		TESTHOST_DEADLINE=$((TESTHOST_NOW + GRACE * 1000)) ;;
	esac
}

rm -rf "$RUN"
mkdir -p "$RUN"
testhost_now
start=$TESTHOST_NOW
TESTHOST_LIMIT=$total
testhost_start "$RUN" "$E2E/testhost-vmlinuz" "$E2E/testhost.cpio" \
	"${E2E_VERBOSE:+e2e_verbose=$E2E_VERBOSE}${E2E_ONLY:+ e2e_only=$E2E_ONLY}"
testhost_watch on_line

if [ $done = 0 ]; then
	if [ -n "$cur" ]; then
		fail "e2e $cur" "the test host $TESTHOST_ENDED during it"
	elif [ ${#begun[@]} -eq 0 ]; then
		fail "e2e test host" "$TESTHOST_ENDED before running any scenario (QEMU status $TESTHOST_QEMU_STATUS)"
	fi
	while read -r name timeout; do
		[ -n "$name" ] && [ -z "${begun[$name]:-}" ] &&
			fail "e2e $name" "not run: the test host $TESTHOST_ENDED first"
	done <<<"$E2E_SCENARIOS"
elif [ "${TESTHOST_ENDED#was killed}" != "$TESTHOST_ENDED" ]; then
	echo "WARNING: e2e test host did not power off; killed" >&2
fi
if [ $done = 1 ]; then
	while read -r name timeout; do
		[ -n "$name" ] && [ -z "${begun[$name]:-}" ] &&
			fail "e2e $name" "selected but never begun in the test host"
	done <<<"$E2E_SCENARIOS"
fi

[ $_t_failed = 1 ] && testhost_console_tail 40
finish

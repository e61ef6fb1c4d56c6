#!/bin/bash
# End-to-end tests against a real Linux guest, one level down: the nested
# test host (testhost.sh) boots the image build-testhost.sh assembled; its
# /init loads kvm_amd and runs the scenarios of scenarios.sh with vmjail,
# reporting on its second serial port. This script turns those reports
# into PASS:/FAIL:/SKIP: lines (tests/lib.sh), one per check, and stops a
# test host that overruns a scenario's timeout (plus GRACE seconds) or
# freezes. A freeze is QEMU's (tests/README.md), not a result: during a
# scenario that failed nothing, the test host boots again, once for that
# scenario, and runs it and those not begun (an INFO line says so).
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
# QEMU's lost wake-up (testhost.sh) ends a test host as a freeze does, at
# once: the scenario runs again on a new one, not on one whose clock ran
# on while it slept.
TESTHOST_LOST_WAKEUP=stop
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

declare -A begun checks failed_in reported retried
# budget NAME,...: seconds the test host may take for those scenarios.
budget() {
	local name timeout total=$TESTHOST_BOOT_TIMEOUT
	while read -r name timeout; do
		[ -n "$name" ] && total=$((total + timeout + GRACE))
	done < <(e2e_selected "$1")
	echo $total
}

# A scenario's PASS lines are held until it ends: a test host that
# freezes during it (QEMU's fault, not a result) boots again and runs it
# again, and each check is reported once. A FAIL is reported at once,
# with what the scenario passed before it, and that scenario is never run
# again.
held=()
flush() {
	local l
	for l in "${held[@]}"; do pass "$l"; done
	held=()
}

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
		cur=$sc cur_timeout=$rest begun[$sc]=1 checks[$sc]=0 held=()
		TESTHOST_LATE="scenario $sc overran its timeout (${rest}s + ${GRACE}s grace)"
		TESTHOST_DEADLINE=$((TESTHOST_NOW + (rest + GRACE) * 1000)) ;;
	PASS)
		checks[$sc]=$((${checks[$sc]:-0} + 1))
		# (a scenario a restarted test host runs again only to set
		# itself up, testhost-kvm, was reported already)
		[ -n "${reported[$sc]:-}" ] || held+=("e2e $sc: $rest") ;;
	FAIL)
		flush
		fail "e2e $sc: $rest"; checks[$sc]=$((${checks[$sc]:-0} + 1)) failed_in[$sc]=1 ;;
	FIGURE) echo "figure: $sc (nested emulation, not hardware): $rest" ;;
	LOG) echo "    $sc| $rest" ;;
	END)
		flush
		reported[$sc]=1
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

# boot NAME,...: one test host running those scenarios.
boot() {
	rm -rf "$RUN"
	mkdir -p "$RUN"
	testhost_now
	start=$TESTHOST_NOW
	TESTHOST_LIMIT=$(budget "$1")
	testhost_start "$RUN" "$E2E/testhost-vmlinuz" "$E2E/testhost.cpio" \
		"${E2E_VERBOSE:+e2e_verbose=$E2E_VERBOSE}${1:+ e2e_only=$1}"
	testhost_watch on_line
}

list=${E2E_ONLY:-}
freezes=0
rm -rf "$RUN".freeze*
while :; do
	boot "$list"
	# A freeze during a scenario that failed nothing yet: once per
	# scenario, the test host boots again for it and those not begun,
	# after testhost-kvm, which loads the KVM modules.
	if [ $done = 0 ] && [ -n "$cur" ] && [ -z "${failed_in[$cur]:-}" ] &&
		[ -z "${retried[$cur]:-}" ] && [ "${TESTHOST_ENDED#was killed: frozen}" != "$TESTHOST_ENDED" ]; then
		freezes=$((freezes + 1))
		retried[$cur]=1
		rm -rf "$RUN.freeze$freezes"
		mv "$RUN" "$RUN.freeze$freezes"
		echo "INFO: e2e: the test host froze during $cur (freeze $freezes of this run;" \
			"$(grep -aE '^VM status|HLT=|^IRR|^@@ (after an NMI|QEMU)' "$RUN.freeze$freezes/frozen.log" |
				sed 's/ *$//; s/^RIP=\([0-9a-f]*\).*\(HLT=[01]\)/RIP=\1 \2/' | paste -sd';' | tr -s ' \t' ' ');" \
			"all of it in $RUN.freeze$freezes): QEMU's fault, not a result; booting it again" \
			"for $cur and the scenarios not begun"
		list=$(e2e_selected "${E2E_ONLY:-}" | while read -r name timeout; do
			{ [ "$name" = testhost-kvm ] || [ "$name" = "$cur" ] || [ -z "${begun[$name]:-}" ]; } &&
				echo "$name"
		done | paste -sd,)
		unset "begun[$cur]"
		cur="" done=0 held=()
		continue
	fi
	break
done
[ $freezes = 0 ] || echo "figure: e2e test host freezes this run (each scenario run again once): $freezes"

if [ $done = 0 ]; then
	flush
	if [ -n "$cur" ]; then
		fail "e2e $cur" "the test host $TESTHOST_ENDED during it${retried[$cur]:+ (the second time for it)}"
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

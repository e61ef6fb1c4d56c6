#!/bin/bash
# End-to-end tests against a real Linux guest, one level down: QEMU (TCG,
# emulated AMD SVM with nested paging) boots the test host that
# build-testhost.sh assembled; its /init loads kvm_amd and runs the
# scenarios of scenarios.sh with vmjail, reporting on its second serial
# port. This script turns those reports into PASS:/FAIL:/SKIP: lines
# (tests/lib.sh), one per check, and kills a test host that stops
# reporting: each scenario gets its own timeout plus GRACE seconds.
#
# env: BUILD (default build), E2E_VERBOSE=1 sends every scenario's log
# back, not only failing ones (E2E_VERBOSE=NAME: that scenario's), E2E_ONLY=NAME[,NAME...] runs only those
# scenarios (`make demo` uses it). Logs of the last run: $BUILD/tests/e2e/run/.
set -u
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"
. "$TOP/tests/e2e/scenarios.sh"
E2E_SCENARIOS=$(e2e_selected "${E2E_ONLY:-}")

E2E=$BUILD/tests/e2e
RUN=$E2E/run
BOOT_TIMEOUT=120 # QEMU start to the test host's /init
GRACE=30         # slack for emulation, and for a step between scenarios
QEMU=qemu-system-x86_64
QEMU_CPU=(-accel tcg -cpu "qemu64,+svm,+npt" -smp 1 -m 2048)

# QEMU that cannot start this machine is a missing tool here, not a bug
# in vmjail: skip, loudly. A started test host that fails is a failure.
qemu_usable() {
	command -v $QEMU >/dev/null || { WHY="$QEMU is not installed"; return 1; }
	local out
	out=$(echo quit | timeout 30 $QEMU "${QEMU_CPU[@]}" -nodefaults \
		-display none -S -monitor stdio 2>&1) ||
		{ WHY="$QEMU cannot start a TCG machine with SVM: ${out##*$'\n'}"; return 1; }
}
if ! qemu_usable; then
	skip "e2e" "$WHY"
	echo "WARNING: e2e tests skipped: $WHY" >&2
	exit 0
fi
for f in "$E2E/testhost-vmlinuz" "$E2E/testhost.cpio"; do
	[ -r "$f" ] || { fail "e2e" "test host ($f): missing; run make e2e-image"; exit 1; }
done

now_ms() { NOW=$((${EPOCHREALTIME/./} / 1000)); }
secs() { awk -v ms="$1" 'BEGIN { printf "%.2f", ms / 1000 }'; }

declare -A begun checks
total=$BOOT_TIMEOUT
while read -r name timeout; do
	[ -n "$name" ] && total=$((total + timeout + GRACE))
done <<<"$E2E_SCENARIOS"

rm -rf "$RUN"
mkdir -p "$RUN"
: >"$RUN/results.log"
now_ms
start=$NOW
# The outer timeout is a last resort; the loop below normally kills first.
timeout -k 5 $total $QEMU "${QEMU_CPU[@]}" -nodefaults -display none \
	-no-reboot -serial "file:$RUN/console.log" \
	-serial "file:$RUN/results.log" -kernel "$E2E/testhost-vmlinuz" \
	-initrd "$E2E/testhost.cpio" \
	-append "console=ttyS0 panic=-1 quiet${E2E_VERBOSE:+ e2e_verbose=$E2E_VERBOSE}${E2E_ONLY:+ e2e_only=$E2E_ONLY}" \
	>"$RUN/qemu.log" 2>&1 </dev/null &
qpid=$!
# GNU timeout runs in a process group of its own: ^C does not reach it.
trap '[ -n "$qpid" ] && kill $qpid 2>/dev/null' EXIT
trap 'exit 130' INT TERM HUP

cur="" cur_timeout="" done=0 ended=""
deadline=$((start + BOOT_TIMEOUT * 1000))
handle() {
	local tag=$1 sc=${2:-} rest=${3:-}
	now_ms
	case $tag in
	READY)
		echo "figure: test host, QEMU start to /init: $(secs $((NOW - start))) s" \
			"wall ($sc s test-host uptime; TCG emulation)"
		deadline=$((NOW + GRACE * 1000)) ;;
	BEGIN)
		cur=$sc cur_timeout=$rest begun[$sc]=1 checks[$sc]=0
		deadline=$((NOW + (rest + GRACE) * 1000)) ;;
	PASS) pass "e2e $sc: $rest"; checks[$sc]=$((${checks[$sc]:-0} + 1)) ;;
	FAIL) fail "e2e $sc: $rest"; checks[$sc]=$((${checks[$sc]:-0} + 1)) ;;
	FIGURE) echo "figure: $sc (nested emulation, not hardware): $rest" ;;
	LOG) echo "    $sc| $rest" ;;
	END)
		[ "${checks[$sc]:-0}" -gt 0 ] || fail "e2e $sc" "reported no checks"
		cur="" deadline=$((NOW + GRACE * 1000)) ;;
	DONE) done=1 deadline=$((NOW + GRACE * 1000)) ;;
	esac
}

# Results arrive while QEMU runs; a line may be read in pieces.
exec 3<"$RUN/results.log"
partial=
while :; do
	while IFS= read -r -u 3 line; do
		line=$partial$line partial=
		line=${line%$'\r'}
		case $line in
		"@@E2E "*)
			read -r tag sc rest <<<"${line#@@E2E }"
			handle "$tag" "$sc" "$rest" ;;
		esac
	done
	partial+=$line
	if ! kill -0 $qpid 2>/dev/null; then
		ended="stopped"
		break
	fi
	now_ms
	if [ $NOW -ge $deadline ]; then
		ended="was killed"
		kill $qpid 2>/dev/null
		break
	fi
	sleep 0.2
done
wait $qpid
qrc=$?
qpid=""
exec 3<&-

if [ $done = 0 ]; then
	if [ -n "$cur" ]; then
		fail "e2e $cur" "the test host $ended during it (timeout ${cur_timeout}s + ${GRACE}s grace)"
	elif [ ${#begun[@]} -eq 0 ]; then
		fail "e2e test host" "$ended before running any scenario (QEMU status $qrc)"
	fi
	while read -r name timeout; do
		[ -n "$name" ] && [ -z "${begun[$name]:-}" ] &&
			fail "e2e $name" "not run: the test host $ended first"
	done <<<"$E2E_SCENARIOS"
elif [ "$ended" = "was killed" ]; then
	echo "WARNING: e2e test host did not power off; killed" >&2
fi

if [ $_t_failed = 1 ]; then
	echo "e2e: test host console (last 40 lines of $RUN/console.log):"
	tail -n 40 "$RUN/console.log" | sed 's/^/    console| /'
	[ -s "$RUN/qemu.log" ] && sed 's/^/    qemu| /' "$RUN/qemu.log"
fi
finish

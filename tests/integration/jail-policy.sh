#!/bin/bash
# `vmjail run POLICY` and `vmjail check POLICY` with the example host file
# and policies (policy/examples/): the policy's limits reach the live
# sandbox, overrides are checked against the host's bounds, and a policy
# the host does not allow never starts anything.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf $(JSON_CHECK)
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail policy" || exit 0
HOST=$TOP/policy/examples/host.yaml
POL=$TOP/policy/examples/testguest.yaml
VJ=("$VMJAIL" --host-config "$HOST")

run_capture 30 "${VJ[@]}" check "$POL"
expect "check prints the effective policy" \
	eval '[ "$RC" = 0 ] && grep -q "^  memory: 32Mi$" <<<"$OUT"'
run_capture 30 "${VJ[@]}" check "$POL" --json
expect "check --json prints JSON" eval '"$BUILD/tests/integration/json-check" <<<"$OUT"'

run_capture 30 "${VJ[@]}" run "$POL" "${VMM_OPT[@]}" --id pol-hello-$$
expect "run POLICY boots the test guest (status 0)" \
	eval '[ "$RC" = 0 ] && grep -q "vjtest: hello ok" <<<"$OUT"'
[ "$RC" = 0 ] || echo "$ERR" >&2

# The policy's cgroup limits, seen on the running sandbox (the example
# host file's run dir and cgroup parent: /run/vmjail, vmjail), with the
# test program waiting in the VMM's place.
if "${VJ[@]}" run "$POL" --id pol-live-$$ --detach --rm --pid-file "$JAIL_TMP/live.pid" \
	--test-exec "$PROBE" -- wait >/dev/null 2>"$JAIL_TMP/live.err"; then
	launcher=$(cat "$JAIL_TMP/live.pid")
	vmm=$(sed -n 's/^vmm //p' "/run/vmjail/pol-live-$$/state")
	mem=$(awk -F: '$2 == "memory" { print $3 }' /proc/$vmm/cgroup)
	pids=$(awk -F: '$2 == "pids" { print $3 }' /proc/$vmm/cgroup)
	expect "the policy's memory limit (128Mi) is live" \
		test "$(cat /sys/fs/cgroup/memory$mem/memory.limit_in_bytes)" = 134217728
	expect "the policy's pids limit (16) is live" \
		test "$(cat /sys/fs/cgroup/pids$pids/pids.max)" = 16
	kill -TERM "$launcher"
	wait_gone "$launcher" 10
	expect "... and gone with the sandbox" test ! -e "/sys/fs/cgroup/pids$pids"
else
	fail "run POLICY --detach --rm" "$(cat "$JAIL_TMP/live.err")"
fi

run_capture 30 "${VJ[@]}" run "$POL" --id pol-big-$$ --memory 4Gi
expect "an override beyond the host's maximum is refused before anything starts" \
	eval '[[ $RC == 125 && $ERR == *"vm.memory"*"host maximum"* ]]'
expect "... leaving no run directory" test ! -e "/run/vmjail/pol-big-$$"
run_capture 30 "${VJ[@]}" run "$POL" --id pol-out-$$ --output unlimited
expect "an --output beyond the host's maximum is refused before anything starts" \
	eval '[[ $RC == 125 && $ERR == *"limits.output"*"host maximum"* ]]'
run_capture 30 "${VJ[@]}" run "$POL" "${VMM_OPT[@]}" --seccomp-log --id pol-log-$$
expect "--seccomp-log where the host file allows it" test "$RC" = 0
finish

#!/bin/bash
# The sandbox's taps, seen from outside: the launcher creates each one new,
# in the sandbox's own network namespace, without a virtio-net header. A
# policy without a network namespace of its own, a named namespace that is
# in fact the host's, or a tap name already taken there is refused with
# status 125 and one line naming the tap and the reason; nothing is left
# behind, and an existing interface stays exactly as it was.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail net" || exit 0
if ! [ -c /dev/net/tun ] || ! command -v ip >/dev/null; then
	skip "jail net" "needs /dev/net/tun and ip (iproute2)"
	echo "WARNING: jail net skipped: no /dev/net/tun or ip" >&2
	exit 0
fi

NETNS=vjnet-$$
HOSTNS=vjhostns-$$
ip netns add $NETNS || { fail "jail net" "ip netns add $NETNS"; exit 1; }
trap 'ip netns delete $NETNS 2>/dev/null; ip netns delete $HOSTNS 2>/dev/null; jail_cleanup_on_exit' EXIT

# tun_details NETNS NAME: the tun part of `ip -d link show` (type, pi,
# vnet_hdr, persist, owner), empty when there is no such interface.
tun_details() {
	ip -n "$1" -d -o link show "$2" 2>/dev/null | sed -n 's/.*\(tun type .*\) addrgenmode.*/\1/p'
}

if start_daemon net-new --test-exec "$PROBE" --netns $NETNS --net tap=vjnew0 -- wait; then
	details=$(tun_details $NETNS vjnew0)
	expect "the launcher's tap has no virtio-net header and is not persistent" \
		test "$details" = "tun type tap pi off vnet_hdr off persist off"
	stop_daemon
	expect "... and is gone with the sandbox" test -z "$(tun_details $NETNS vjnew0)"
else
	fail "start a sandbox with a tap in a named network namespace" \
		"$(cat "$JAIL_TMP/net-new.err")"
fi

# Someone else's persistent tap in the sandbox's namespace: never attached.
ip -n $NETNS tuntap add dev vjpre0 mode tap user 65534
before=$(tun_details $NETNS vjpre0)
run_capture 30 "${PROBE_RUN[@]}" --id net-pre --netns $NETNS --net tap=vjpre0 -- exit 0
expect "an existing tap is refused with status 125, naming it" \
	eval '[[ $RC == 125 && $ERR == *"tap \"vjpre0\": an interface of that name already exists in network namespace \"$NETNS\""* ]]'
[ "$RC" = 125 ] || echo "vmjail: $ERR" >&2
expect "... and left as it was ($before)" \
	eval '[ -n "$before" ] && [ "$(tun_details $NETNS vjpre0)" = "$before" ]'
ip -n $NETNS tuntap del dev vjpre0 mode tap

run_capture 30 "${PROBE_RUN[@]}" --id net-lo --net tap=lo -- exit 0
expect "an interface of another kind (lo) is refused too" \
	eval '[[ $RC == 125 && $ERR == *"tap \"lo\": an interface of that name already exists"* ]]'

# A named namespace that is the host's own (PID 1's).
if ip netns attach $HOSTNS 1; then
	run_capture 30 "${PROBE_RUN[@]}" --id net-host --netns $HOSTNS --net tap=vjhost0 \
		-- exit 0
	expect "a named network namespace that is the host's is refused with status 125" \
		eval '[[ $RC == 125 && $ERR == *"tap \"vjhost0\": network namespace \"$HOSTNS\" is the host'"'"'s own"* ]]'
	[ "$RC" = 125 ] || echo "vmjail: $ERR" >&2
	expect "... and leaves no tap on the host" \
		eval '! ip -n $HOSTNS link show vjhost0 >/dev/null 2>&1'
	ip netns delete $HOSTNS
else
	fail "ip netns attach $HOSTNS 1" "cannot name the host's network namespace"
fi

# A policy that leaves "net" out of its namespaces, where the host allows
# that: refused by the policy check, before anything is created.
cat >"$JAIL_TMP/host.yaml" <<EOF
version: 1
roots:
  kernels: [$BUILD/tests/guest]
namespaces:
  required: [mount, pid]
cgroup_parent: $CG_PARENT
run_dir: $RUN_DIR
EOF
cat >"$JAIL_TMP/no-netns.yaml" <<EOF
version: 1
vm:
  kernel: testguest.elf
  memory: 32Mi
  net:
    - tap: vjnons0
jail:
  namespaces: [mount, pid, ipc, uts, cgroup]
EOF
VJ=("$VMJAIL" --host-config "$JAIL_TMP/host.yaml")
run_capture 30 "${VJ[@]}" check "$JAIL_TMP/no-netns.yaml"
expect "check refuses vm.net without a network namespace of the sandbox's own" \
	eval '[[ $RC != 0 && $ERR == *"jail.namespaces: vm.net needs \"net\""* ]]'
run_capture 30 "${VJ[@]}" run "$JAIL_TMP/no-netns.yaml" --id net-nons \
	"${VMM_OPT[@]}" --test-exec "$PROBE" -- exit 0
expect "run refuses it with status 125" \
	eval '[[ $RC == 125 && $ERR == *"jail.namespaces: vm.net needs \"net\""* ]]'
[ "$RC" = 125 ] || echo "vmjail: $ERR" >&2
expect "... and leaves no tap on the host" eval '! ip link show vjnons0 >/dev/null 2>&1'

expect "nothing is left behind" test -z "$(leftovers)"
finish

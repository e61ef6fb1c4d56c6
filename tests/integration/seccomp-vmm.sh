#!/bin/bash
# The VMM's seccomp tables against what the VMM really does: every test
# guest scenario and the virtio devices, run through the jail with the
# filters enforcing (any call missing from a table kills the VMM with
# SIGSYS, status 159, which these checks would show). Then --seccomp-log:
# the filters are installed but only log.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf $(VGUEST) $(VHOST)
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "seccomp-vmm" || exit 0
VGUEST=$BUILD/tests/guest/virtio/virtio-guest.elf
VHOST=$BUILD/tests/integration/virtio-host

# through SCENARIO WANT_STATUS OK_LINE ARGS...: one jailed run.
through() {
	local sc=$1 want=$2 line=$3
	shift 3
	run_capture 60 "$VMJAIL" run "${JAIL[@]}" --id "sc-$sc" --cmdline "vjtest=$sc" \
		"$@"
	if [ "$RC" = "$want" ] && { [ -z "$line" ] || grep -q -- "$line" <<<"$OUT"; }; then
		pass "$sc under the enforcing filters: status $want${line:+, '$line'}"
	else
		fail "$sc under the enforcing filters" \
			"status $RC (want $want): ${ERR:0:300}; stdout: ${OUT: -300}"
	fi
}

for sc in hello mmio pio uart irq; do
	through $sc 0 "vjtest: $sc ok" --kernel "$GUEST" --vcpus 2
done
through smp 0 "vjtest: smp ok 2 cpus" --kernel "$GUEST" --vcpus 2
through ring3-pio 0 "vjtest: ring3-pio ok" --kernel "$GUEST"
through marker 0 "vjtest: marker ok" --kernel "$GUEST"
through first 0 "" --kernel "$GUEST" --timing
through flood 0 "" --kernel "$GUEST" --console-limit 4K
# Fatal exits dump registers (KVM_GET_REGS/SREGS) on the vCPU thread.
through triple 3 "" --kernel "$GUEST"

if [ -e "$VGUEST" ] && [ -x "$VHOST" ]; then
	disk=$JAIL_TMP/disk.img
	"$VHOST" mkdisk "$disk"
	through blk 0 "vjtest: blk ok" --kernel "$VGUEST" --memory 64M --drive "path=$disk,id=vjdisk0"
	through blk-ro 0 "vjtest: blk-ro ok" --kernel "$VGUEST" --memory 64M --drive "path=$disk,ro"
	through rng 0 "vjtest: rng ok" --kernel "$VGUEST" --memory 64M --rng
	NS=vjsc$$ TAP=vjtap0 MAC=52:54:00:12:34:56
	if [ -c /dev/net/tun ] && ip netns add $NS; then
		trap 'ip netns del $NS 2>/dev/null; jail_cleanup_on_exit' EXIT
		ip netns exec $NS sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
			net.ipv6.conf.default.disable_ipv6=1
		# The launcher creates the tap (it refuses an existing one); the
		# peer waits for it and brings it up.
		ip netns exec $NS "$VHOST" net-peer $TAP "$JAIL_TMP/ready" 1 >"$JAIL_TMP/peer.out" 2>&1 &
		peer=$!
		for _ in $(seq 100); do [ -e "$JAIL_TMP/ready" ] && break; sleep 0.05; done
		through net 0 "vjtest: net ok" --kernel "$VGUEST" --memory 64M --netns $NS \
			--net "tap=$TAP,mac=$MAC" --cmdline "vjtest=net vjpings=1"
		wait $peer
		expect "net: the guest's frame reached the tap through the jailed VMM" test $? = 0
	else
		skip "seccomp-vmm: net" "needs /dev/net/tun and ip netns"
	fi
else
	skip "seccomp-vmm: virtio" "the virtio test guest is not built"
fi

if start_daemon sc-log --cmdline vjtest=wait --seccomp-log; then
	expect "--seccomp-log still installs the filters (Seccomp 2)" \
		eval '[ "$(awk "/^Seccomp:/ { print \$2 }" /proc/$VMM_PID/status)" = 2 ]'
	stop_daemon
fi
expect "nothing is left behind" test -z "$(leftovers)"
finish

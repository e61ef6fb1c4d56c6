#!/bin/bash
# The test guest as a hostile driver (tests/guest/virtio/evil.c), against
# each device: every case must end in the documented outcome (the guest
# checks it: request failed, chain returned unwritten, DEVICE_NEEDS_RESET,
# write ignored) with the device serving a good request afterwards and the
# VMM exiting normally when the guest resets. The net cases run with the
# host peer on the tap, which also checks that no malformed frame reached it.
# needs: kvm
# builds: $(VGUEST) $(VHOST)
. "$(cd "$(dirname "$0")" && pwd)/virtio-lib.sh"

need_guest virtio-evil || { finish; exit; }

CASES="outside-ram loop len-4g nested avail-jump head-oob qsize notify-early config-write features"
NEEDS_RESET="avail-jump head-oob qsize"
disk=$WORK/disk.img
uds=$WORK/v.sock
"$VHOST" mkdisk "$disk"

NS=
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null; then
	NS=vjevil$$
	ip netns add $NS && trap 'ip netns del $NS 2>/dev/null; rm -rf "$WORK"' EXIT
	ip netns exec $NS sysctl -qw net.ipv6.conf.all.disable_ipv6=1 \
		net.ipv6.conf.default.disable_ipv6=1
	ip netns exec $NS ip tuntap add dev vjtap0 mode tap
	ip netns exec $NS ip link set vjtap0 up
else
	skip "virtio-evil: net" "needs root, /dev/net/tun and ip"
	echo "WARNING: virtio-evil net cases skipped" >&2
fi

# evil DEV CASE: one boot of the hostile guest against device DEV.
evil() {
	local dev=$1 case=$2 peer=
	local args=(--kernel "$VGUEST" --memory 64M -v
		--cmdline "vjtest=evil vjdev=$dev vjevil=$case")
	case $dev in
	blk) args+=(--drive "path=$disk") ;;
	rng) args+=(--rng) ;;
	vsock) args+=(--vsock "cid=42,uds=$uds") ;;
	net)
		args+=(--net tap=vjtap0,mac=52:54:00:12:34:56)
		rm -f "$WORK/ready"
		ip netns exec $NS "$VHOST" net-peer vjtap0 "$WORK/ready" >"$WORK/peer.out" 2>&1 &
		peer=$!
		for _ in $(seq 100); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
		;;
	esac
	if [ "$dev" = net ]; then
		run_capture 60 ip netns exec $NS "$VMM" "${args[@]}"
	else
		run_capture 60 "$VMM" "${args[@]}"
	fi
	expect "virtio-evil: $dev $case: documented outcome, device still serves" guest_ok evil
	if [ -n "$peer" ]; then
		expect "virtio-evil: $dev $case: only the good frame reached the tap" eval \
			'wait $peer || { WHY=$(tr "\n" "|" <"$WORK/peer.out"); false; }'
	fi
	if [[ " $NEEDS_RESET " == *" $case "* ]]; then
		expect "virtio-evil: $dev $case: the VMM reports DEVICE_NEEDS_RESET" \
			err_has "the driver broke the device; it needs a reset"
	fi
}

for dev in blk rng vsock ${NS:+net}; do
	for c in $CASES; do
		evil $dev "$c"
	done
done
expect "virtio-evil: the drive is unchanged by every attack" eval 'WHY=$("$VHOST" checkdisk-ro "$disk")'
finish

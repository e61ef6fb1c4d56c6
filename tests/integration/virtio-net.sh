#!/bin/bash
# virtio-net through a real tap in a network namespace of its own: the
# test guest sends a frame, the host peer (virtio-host net-peer) checks it
# on the tap and answers, the guest checks the answer.
# needs: root kvm
# builds: $(VGUEST) $(VHOST)
. "$(cd "$(dirname "$0")" && pwd)/virtio-lib.sh"

need_guest virtio-net || { finish; exit; }
need_root virtio-net || { finish; exit; }
if ! [ -c /dev/net/tun ] || ! command -v ip >/dev/null; then
	skip virtio-net "needs /dev/net/tun and ip (iproute2)"
	echo "WARNING: virtio-net skipped: no /dev/net/tun or ip" >&2
	finish
	exit
fi

NS=vjnet$$
TAP=vjtap0
MAC=52:54:00:12:34:56
ip netns add $NS || { fail "virtio-net: create network namespace"; finish; exit; }
trap 'ip netns del $NS 2>/dev/null; rm -rf "$WORK"' EXIT
in_ns() { ip netns exec $NS "$@"; }
# No IPv6 chatter (router solicitations) on the link: only our frames.
in_ns sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
in_ns ip tuntap add dev $TAP mode tap && in_ns ip link set $TAP up ||
	{ fail "virtio-net: create tap $TAP"; finish; exit; }

# net_run SCENARIO [NET-KEYS [PINGS]]: the peer listens first, then the
# guest runs in the namespace with --net tap=$TAP,mac=$MAC[,NET-KEYS].
net_run() {
	rm -f "$WORK/ready"
	in_ns "$VHOST" net-peer $TAP "$WORK/ready" ${3:-1} >"$WORK/peer.out" 2>&1 &
	PEER=$!
	for _ in $(seq 100); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
	run_capture 60 ip netns exec $NS "$VMM" --kernel "$VGUEST" --memory 64M \
		--cmdline "vjtest=$1 vjpings=${3:-1}" --net "tap=$TAP,mac=$MAC${2:+,$2}" -vv
	wait $PEER
	PEER_RC=$?
}

# peer_ok: the tap's peer (virtio-host) exited 0; a predicate for expect.
peer_ok() {
	[ "$PEER_RC" = 0 ] && return 0
	WHY="peer exit $PEER_RC: $(tr '\n' '|' <"$WORK/peer.out")"
	return 1
}

net_run net
expect "virtio-net: guest receives a 1514-byte frame from the tap, header zeroed, num_buffers 1" guest_ok net
expect "virtio-net: the guest's 60-byte frame arrives on the tap intact" peer_ok

# Two frames per 100 ms each way: six pings are held back and still all
# get through, as does the pong.
net_run net ops=2,ops-refill=100ms 6
expect "virtio-net: a rate-limited interface still passes its frames" guest_ok net
expect "virtio-net: rate-limited transmit reaches the tap, every frame" peer_ok
expect "virtio-net: the limiter held the transmit queue back" \
	err_has "virtio-net0: transmit rate limit reached"

guest net --net tap=vjname-too-long-for-linux
expect "virtio-net: a bad tap name is a configuration error naming it" \
	config_error 'tap "vjname-too-long-for-linux": name longer than 15 bytes'
finish

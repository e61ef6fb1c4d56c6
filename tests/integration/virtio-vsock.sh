#!/bin/bash
# virtio-vsock through the host-side AF_UNIX sockets: the host peer
# (virtio-host vsock-peer) connects with CONNECT 1234 and streams 300 kB
# that the guest echoes back + 1 under credit flow control; the guest then
# connects to host port 5678 (the peer's <uds>_5678, through the broker)
# and to port 5679, where nobody listens (or only a symbolic link is).
# needs: kvm
# builds: $(VGUEST) $(VHOST)
. "$(cd "$(dirname "$0")" && pwd)/virtio-lib.sh"

need_guest virtio-vsock || { finish; exit; }

uds=$WORK/v.sock
vsock_run() {
	rm -f "$WORK/ready"
	"$VHOST" vsock-peer "$uds" "$WORK/ready" >"$WORK/peer.out" 2>&1 &
	PEER=$!
	for _ in $(seq 100); do [ -e "$WORK/ready" ] && break; sleep 0.05; done
	guest vsock --vsock "cid=42,uds=$uds"
	wait $PEER
	PEER_RC=$?
}

vsock_run
expect "virtio-vsock: guest CID from the configuration, streams both ways, refused connect resets" guest_ok vsock
expect "virtio-vsock: host CONNECT <port> gets OK <port>, 300 kB echoed intact, end of stream" eval \
	'[ "$PEER_RC" = 0 ] && grep -q "^connected: OK [0-9]*$" "$WORK/peer.out" &&
	grep -q "echo ok, end of stream ok" "$WORK/peer.out" ||
	{ WHY="peer exit $PEER_RC: $(tr "\n" "|" <"$WORK/peer.out")"; false; }'
expect "virtio-vsock: guest-initiated connection reaches <uds>_5678 through the broker" eval \
	'grep -q "guest connection to port 5678 ok" "$WORK/peer.out" ||
	{ WHY=$(tr "\n" "|" <"$WORK/peer.out"); false; }'

# The socket the last run left behind is stale: a new VMM replaces it.
vsock_run
expect "virtio-vsock: a stale socket at the path is replaced" guest_ok vsock

# A symbolic link at <uds>_5679, to a socket someone listens on: the VMM's
# own broker, like the launcher's, opens the name without following it,
# so the guest's connection there is reset as its scenario expects.
"$VHOST" unix-socket "$WORK/elsewhere" listen 60 &
elsewhere=$!
ln -s "$WORK/elsewhere" "${uds}_5679"
vsock_run
expect "virtio-vsock: a symbolic link at <uds>_<port> is not followed (the guest's connection is reset)" guest_ok vsock
kill $elsewhere
wait $elsewhere 2>/dev/null
rm -f "${uds}_5679" "$WORK/elsewhere"

rm -f "$uds"
echo "not a socket" >"$uds"
guest vsock --vsock "cid=42,uds=$uds"
expect "virtio-vsock: a non-socket at the path is a configuration error naming it" \
	config_error "vsock socket ($uds): exists and is not a socket"
finish

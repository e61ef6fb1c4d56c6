#!/bin/bash
# virtio-vsock through the jail: the launcher binds the host socket and
# starts the connection broker outside the jail; the jailed VMM streams
# both ways with a host peer and reaches "<uds>_5678" for a
# guest-initiated connection through the broker. Afterwards the socket and
# the broker are gone.
# needs: root kvm
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail vsock" || exit 0
VGUEST=$BUILD/tests/guest/virtio/virtio-guest.elf
VHOST=$BUILD/tests/integration/virtio-host
for f in "$VGUEST" "$VHOST"; do
	[ -e "$f" ] || { skip "jail vsock" "$f is not built"; exit 0; }
done

uds=$JAIL_TMP/v.sock
"$VHOST" vsock-peer "$uds" "$JAIL_TMP/ready" >"$JAIL_TMP/peer.out" 2>&1 &
peer=$!
for _ in $(seq 100); do [ -e "$JAIL_TMP/ready" ] && break; sleep 0.05; done
# uid 0 without capabilities: the broker may then use the root-owned
# socket directory and the peer's root-owned sockets, and nothing else.
run_capture out err rc 60 "$VMJAIL" run "${JAIL[@]}" --id vsock --kernel "$VGUEST" --memory 64 \
	--cmdline vjtest=vsock --vsock "cid=42,uds=$uds" --uid 0 --gid 0
wait $peer
peer_rc=$?
expect "the jailed VMM's vsock works: guest ok, VMM exit 0" \
	eval '[ "$rc" = 0 ] && grep -q "^vjtest: vsock ok" <<<"$out"'
[ "$rc" = 0 ] || echo "vmjail: $err" >&2
expect "a host program connects through the launcher's socket and streams both ways" \
	eval '[ "$peer_rc" = 0 ] && grep -q "echo ok, end of stream ok" "$JAIL_TMP/peer.out"'
expect "a guest-initiated connection reaches <uds>_5678 through the broker" \
	grep -q "guest connection to port 5678 ok" "$JAIL_TMP/peer.out"
expect "the socket is removed afterwards" test ! -e "$uds"

# The socket path is a tenant's: no symbolic link is followed to it.
ln -s "$JAIL_TMP" "$JAIL_TMP/link"
run_capture out err rc 30 "${PROBE_RUN[@]}" --id vsock-link --vsock "cid=42,uds=$JAIL_TMP/link/v.sock" \
	-- exit 0
expect "a socket path through a symbolic link is refused" \
	eval '[[ $rc == 125 && $err == *"symbolic links"* ]] && [ ! -e "$JAIL_TMP/v.sock" ]'
# A socket left by a dead process is replaced; a live one is not.
"$VHOST" unix-socket "$uds" dead
run_capture out err rc 30 "${PROBE_RUN[@]}" --id vsock-dead --vsock "cid=42,uds=$uds" -- exit 0
expect "a dead socket at the path is replaced" test "$rc" = 0 -a ! -e "$uds"
"$VHOST" unix-socket "$uds" listen 30 &
holder=$!
for _ in $(seq 100); do [ -S "$uds" ] && break; sleep 0.05; done
run_capture out err rc 30 "${PROBE_RUN[@]}" --id vsock-live --vsock "cid=42,uds=$uds" -- exit 0
expect "a socket someone listens on is left alone" \
	eval '[[ $rc == 125 && $err == *"exists and is in use"* ]] && [ -S "$uds" ]'
kill $holder
wait $holder 2>/dev/null
rm -f "$uds"
expect "nothing is left behind (broker included)" test -z "$(leftovers)"
finish

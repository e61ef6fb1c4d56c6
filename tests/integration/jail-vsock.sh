#!/bin/bash
# virtio-vsock through the jail: the launcher binds the host socket and
# starts the connection broker outside the jail; the jailed VMM streams
# both ways with a host peer and reaches "<uds>_5678" for a
# guest-initiated connection through the broker. Afterwards the socket and
# the broker are gone. Then the socket files a tenant names: never taken
# over, made whole before they appear, removed only while they are the
# launcher's own; and <uds>_<port> never reached through a symbolic link.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf $(VGUEST) $(VHOST)
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
run_capture 60 "$VMJAIL" run "${JAIL[@]}" --id vsock --kernel "$VGUEST" --memory 64M \
	--cmdline vjtest=vsock --vsock "cid=42,uds=$uds" --uid 0 --gid 0
wait $peer
peer_rc=$?
expect "the jailed VMM's vsock works: guest ok, VMM exit 0" \
	eval '[ "$RC" = 0 ] && grep -q "^vjtest: vsock ok" <<<"$OUT"'
[ "$RC" = 0 ] || echo "vmjail: $ERR" >&2
expect "a host program connects through the launcher's socket and streams both ways" \
	eval '[ "$peer_rc" = 0 ] && grep -q "echo ok, end of stream ok" "$JAIL_TMP/peer.out"'
expect "a guest-initiated connection reaches <uds>_5678 through the broker" \
	grep -q "guest connection to port 5678 ok" "$JAIL_TMP/peer.out"
expect "the socket is removed afterwards" test ! -e "$uds"

# The guest's connection to port 5679 meets a symbolic link at
# <uds>_5679, to a socket someone listens on: the broker opens the name
# without following it and refuses, so the guest gets the reset its
# scenario expects there (and nobody's socket is reached).
"$VHOST" unix-socket "$JAIL_TMP/elsewhere" listen 60 &
elsewhere=$!
ln -s "$JAIL_TMP/elsewhere" "${uds}_5679"
rm -f "$JAIL_TMP/ready"
"$VHOST" vsock-peer "$uds" "$JAIL_TMP/ready" >"$JAIL_TMP/peer.out" 2>&1 &
peer=$!
for _ in $(seq 100); do [ -e "$JAIL_TMP/ready" ] && break; sleep 0.05; done
run_capture 60 "$VMJAIL" run "${JAIL[@]}" --id vsock-link5679 --kernel "$VGUEST" \
	--memory 64M --cmdline vjtest=vsock --vsock "cid=42,uds=$uds" --uid 0 --gid 0
wait $peer
expect "a symbolic link at <uds>_<port> is not followed: the guest's connection is reset" \
	eval '[ "$RC" = 0 ] && grep -q "^vjtest: vsock ok" <<<"$OUT"'
[ "$RC" = 0 ] || echo "vmjail: $ERR; guest: $OUT" >&2
kill $elsewhere
wait $elsewhere 2>/dev/null
rm -f "${uds}_5679" "$JAIL_TMP/elsewhere"

# The socket path is a tenant's: no symbolic link is followed to it.
ln -s "$JAIL_TMP" "$JAIL_TMP/link"
run_capture 30 "${PROBE_RUN[@]}" --id vsock-link --vsock "cid=42,uds=$JAIL_TMP/link/v.sock" \
	-- exit 0
expect "a socket path through a symbolic link is refused" \
	eval '[[ $RC == 125 && $ERR == *"symbolic links"* ]] && [ ! -e "$JAIL_TMP/v.sock" ]'

# A path that exists is not the sandbox's, whoever made it and whether or
# not anyone listens there: refused, named, and left as it was.
"$VHOST" unix-socket "$uds" dead
chown 4321:4321 "$uds"
inode=$(stat -c %i "$uds")
run_capture 30 "${PROBE_RUN[@]}" --id vsock-dead --vsock "cid=42,uds=$uds" -- exit 0
expect "a dead socket someone else left at the path is refused, naming it, and kept" \
	eval '[[ $RC == 125 && $ERR == *"$uds"*"exists (a socket of uid 4321)"* ]] &&
		[ "$(stat -c %i "$uds" 2>/dev/null)" = "$inode" ]'
rm -f "$uds"
"$VHOST" unix-socket "$uds" listen 30 &
holder=$!
for _ in $(seq 100); do [ -S "$uds" ] && break; sleep 0.05; done
run_capture 30 "${PROBE_RUN[@]}" --id vsock-live --vsock "cid=42,uds=$uds" -- exit 0
expect "a socket someone listens on is refused and left alone" \
	eval '[[ $RC == 125 && $ERR == *"$uds"*"exists (a socket of uid 0)"* ]] && [ -S "$uds" ]'
kill $holder
wait $holder 2>/dev/null
rm -f "$uds"

# The socket is made whole before it appears: under a temporary name, with
# its mode (0600, the launcher's ids) whatever the umask, listening; then
# renamed into place. It never sits at its path refusing connections,
# where a second launcher could take it.
mkdir "$JAIL_TMP/socks"
"$VHOST" watch-name "$JAIL_TMP/socks" v.sock "$JAIL_TMP/watching" 30 >"$JAIL_TMP/watch.out" &
watcher=$!
for _ in $(seq 100); do [ -e "$JAIL_TMP/watching" ] && break; sleep 0.05; done
umask_was=$(umask)
umask 000
start_daemon vsock-mode --vsock "cid=42,uds=$JAIL_TMP/socks/v.sock" --test-exec "$PROBE" -- wait
started=$?
umask "$umask_was"
if [ $started = 0 ]; then
	wait $watcher
	expect "the socket is renamed into its path, never bound there" \
		grep -qx "v.sock: moved in" "$JAIL_TMP/watch.out"
	expect "under umask 000 the socket is mode 0600, the launcher's (0:0)" \
		test "$(stat -c '%a %u:%g' "$JAIL_TMP/socks/v.sock")" = "600 0:0"
	expect "nothing is left in its directory under another name" \
		test "$(ls -A "$JAIL_TMP/socks")" = v.sock
	stop_daemon
	expect "the socket goes with its sandbox" test -z "$(ls -A "$JAIL_TMP/socks")"
else
	fail "start a sandbox with a vsock socket under umask 000" "$(cat "$JAIL_TMP/vsock-mode.err")"
	kill $watcher 2>/dev/null
fi

# A SIGKILLed launcher's socket is its id's to remove, by its record: with
# `vmjail cleanup`, or by the id's next launcher.
killed_launcher() {
	start_daemon "$1" --vsock "cid=42,uds=$uds" --test-exec "$PROBE" -- wait || return 1
	kill -KILL "$LAUNCHER"
	wait_gone "$LAUNCHER" 10 && wait_gone "$VMM_PID" 10 && [ -S "$uds" ]
}
if killed_launcher vsock-killed; then
	"$VMJAIL" cleanup --run-dir "$RUN_DIR" vsock-killed >/dev/null 2>&1
	expect "vmjail cleanup removes a killed launcher's socket" test ! -e "$uds"
else
	fail "a sandbox whose launcher is SIGKILLed" "$(cat "$JAIL_TMP/vsock-killed.err")"
fi
if killed_launcher vsock-again; then
	run_capture 30 "${PROBE_RUN[@]}" --id vsock-again --vsock "cid=42,uds=$uds" -- exit 0
	expect "the id's next launcher replaces its killed launcher's socket" \
		eval '[ "$RC" = 0 ] && [ ! -e "$uds" ]'
else
	fail "a sandbox whose launcher is SIGKILLed" "$(cat "$JAIL_TMP/vsock-again.err")"
fi
# ... but only while it is the socket that launcher made.
if killed_launcher vsock-replaced; then
	rm -f "$uds"
	"$VHOST" unix-socket "$uds" dead
	inode=$(stat -c %i "$uds")
	"$VMJAIL" cleanup --run-dir "$RUN_DIR" vsock-replaced >/dev/null 2>"$JAIL_TMP/cleanup.err"
	expect "vmjail cleanup leaves a socket that replaced the killed launcher's, and says so" \
		eval '[ "$(stat -c %i "$uds" 2>/dev/null)" = "$inode" ] &&
			grep -qF "$uds: no longer the socket vmjail made" "$JAIL_TMP/cleanup.err"'
	rm -f "$uds"
else
	fail "a sandbox whose launcher is SIGKILLed" "$(cat "$JAIL_TMP/vsock-replaced.err")"
fi

# With a workload the launcher listens on <uds>_1024 for the guest agent,
# and on the exec ports after it, reached through the broker alone: mode 0600, the sandbox's host ids
# (the block its state names). The test guest waits in place of Linux; no
# agent comes, and SIGTERM ends the sandbox.
mkdir "$JAIL_TMP/roots"
printf '%s\n' "version: 1" "roots:" "  kernels: [$(dirname "$GUEST")]" \
	"  sockets: [$JAIL_TMP/roots]" "cgroup_parent: $CG_PARENT" "run_dir: $RUN_DIR" \
	>"$JAIL_TMP/host.yaml"
printf '%s\n' "version: 1" "vm:" "  kernel: $(basename "$GUEST")" "  cmdline: vjtest=wait" \
	"  memory: 32Mi" "  vsock: {cid: 42, uds: $JAIL_TMP/roots/w.sock}" "  console: none" \
	"workload:" "  argv: [/bin/true]" >"$JAIL_TMP/agent.yaml"
umask 000
"$VMJAIL" --host-config "$JAIL_TMP/host.yaml" run "$JAIL_TMP/agent.yaml" "${VMM_OPT[@]}" \
	--id vsock-agent >/dev/null 2>"$JAIL_TMP/agent.err" &
agent_launcher=$!
umask "$umask_was"
STARTED+=("$agent_launcher")
for _ in $(seq 200); do [ -S "$JAIL_TMP/roots/w.sock_1032" ] && break; sleep 0.05; done
ids=$(sed -n 's/^uid //p' "$RUN_DIR/vsock-agent/state"):$(sed -n 's/^gid //p' "$RUN_DIR/vsock-agent/state")
expect "under umask 000 the agent's <uds>_1024 is mode 0600, the sandbox's host ids" \
	test "$(stat -c '%a %u:%g' "$JAIL_TMP/roots/w.sock_1024" 2>&1)" = "600 $ids"
expect "and the vsock socket beside it mode 0600, the launcher's" \
	test "$(stat -c '%a %u:%g' "$JAIL_TMP/roots/w.sock" 2>&1)" = "600 0:0"
# vmjail exec's ports, one per exec slot (host file exec_max, 8 by default).
expect "so are the exec ports <uds>_1025..<uds>_1032, and no more" \
	test "$(cd "$JAIL_TMP/roots" && stat -c '%n %a %u:%g' w.sock_102[5-9] w.sock_103* 2>&1 | tr '\n' ' ')" = \
	"$(for p in 1025 1026 1027 1028 1029 1030 1031 1032; do printf 'w.sock_%s 600 %s ' $p "$ids"; done)"
kill -TERM $agent_launcher
wait $agent_launcher 2>/dev/null
expect "both go with the sandbox" test -z "$(ls -A "$JAIL_TMP/roots")"
[ -z "$(ls -A "$JAIL_TMP/roots")" ] || cat "$JAIL_TMP/agent.err" >&2

# Detached with a broker: `$(vmjail run --detach ...)` returns once the
# sandbox runs; the broker holds nothing of the caller's stdio (a pipe it
# kept would hold the command substitution until the sandbox's end).
OUT=$(timeout -k 2 60 "$VMJAIL" run "${JAIL[@]}" --id vsock-detach --kernel "$GUEST" \
	--cmdline vjtest=wait --memory 32M --vsock "cid=43,uds=$JAIL_TMP/d.sock" --detach \
	2>"$JAIL_TMP/detach.err")
RC=$?
expect "\$(vmjail run --detach) with a vsock broker returns once the sandbox runs" \
	test "$RC:$OUT" = "0:vsock-detach"
[ "$RC" = 0 ] || cat "$JAIL_TMP/detach.err" >&2
"$VMJAIL" kill vsock-detach --vm --run-dir "$RUN_DIR" >/dev/null 2>&1
timeout 30 "$VMJAIL" wait vsock-detach --run-dir "$RUN_DIR" >/dev/null 2>&1
"$VMJAIL" rm vsock-detach --run-dir "$RUN_DIR" >/dev/null 2>&1

expect "nothing is left behind (broker included)" test -z "$(leftovers)"
finish

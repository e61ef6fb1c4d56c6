#!/bin/bash
# The optional user namespace: ids 0..65535 inside map to the sandbox's
# own block of unprivileged host ids, so even the jail's uid 0 is an
# ordinary user on the host; and a named network namespace with a tap the
# launcher attaches there.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail user namespace" || exit 0

if start_daemon userns --cmdline vjtest=wait --userns 65536 --uid 0 --gid 0; then
	# The block the launcher gave it: "userns HOST_UID:HOST_GID:COUNT".
	IFS=: read -r U G C <<<"$(sed -n "s/^userns //p" "$RUN_DIR/userns/state")"
	expect "its state names a block of 65536 host ids from the built-in range" \
		eval '[ "${C:-}" = 65536 ] && [ "${U:-0}" -ge 1879048192 ] && [ "${G:-0}" -ge 1879048192 ]'
	expect "runs as the block's first host uid (uid 0 inside)" \
		test "$(status_of $VMM_PID Uid)" = "$U $U $U $U"
	expect "runs as the block's first host gid" test "$(status_of $VMM_PID Gid)" = "$G $G $G $G"
	expect "its uid map is 0 -> the block, 65536 ids" \
		test "$(awk '{ print $1, $2, $3 }' /proc/$VMM_PID/uid_map)" = "0 $U 65536"
	expect "its gid map is 0 -> the block, 65536 ids" \
		test "$(awk '{ print $1, $2, $3 }' /proc/$VMM_PID/gid_map)" = "0 $G 65536"
	expect "its user namespace is its own" \
		test "$(readlink /proc/$VMM_PID/ns/user)" != "$(readlink /proc/self/ns/user)"
	expect "no capabilities, even as uid 0 inside (CapBnd and CapEff 0)" \
		test "$(status_of $VMM_PID CapBnd)/$(status_of $VMM_PID CapEff)" = \
		0000000000000000/0000000000000000
	expect "under its seccomp filter" test "$(status_of $VMM_PID Seccomp)" = 2
	expect "its root is empty" test -z "$(ls -A /proc/$VMM_PID/root/)"
	stop_daemon
	expect "stops and is cleaned up" test -z "$(leftovers)"
else
	fail "start a sandbox in a user namespace" "$(cat "$JAIL_TMP/userns.err")"
fi

# setuid(0) by uid 0 changes nothing and is allowed; the capabilities are
# what would make uid 0 privileged, and they are gone.
run_capture 30 "${PROBE_RUN[@]}" --id userns-esc --userns 65536 --uid 0 --gid 0 \
	-- cap-raise
expect "uid 0 in the user namespace cannot raise a capability" \
	test "$OUT" = $'capset: EPERM\nambient-raise: EPERM\nsetuid-0: ALLOWED'
run_capture 30 "${PROBE_RUN[@]}" --id userns-esc2 --userns 65536 \
	--uid 1000 --gid 1000 -- cap-raise
expect "uid 1000 in the user namespace cannot become uid 0" \
	test "$OUT" = $'capset: EPERM\nambient-raise: EPERM\nsetuid-0: EPERM'
run_capture 30 "${PROBE_RUN[@]}" --id userns-mnt --userns 65536 \
	--uid 0 --gid 0 -- mount
expect "... nor mount" test "$OUT" = "mount: EPERM"
run_capture 30 "${PROBE_RUN[@]}" --id userns-bad --userns 1000 \
	--uid 65534 --gid 0 -- exit 0
expect "a uid outside the mapped range is refused" \
	eval '[[ $RC == 125 && $ERR == *"do not exist in a user namespace"* ]]'
printf 'version: 1\nids: {block: 10}\n' >"$JAIL_TMP/block10.yaml"
run_capture 30 "$VMJAIL" --host-config "$JAIL_TMP/block10.yaml" run "${JAIL[@]}" \
	--id userns-big --kernel "$GUEST" --test-exec "$PROBE" --userns 11 -- exit 0
expect "a user namespace larger than the host's block of ids is refused" \
	eval '[[ $RC == 125 && $ERR == *"a user namespace of 11 ids is more than the 10"*"ids.block"* ]]'

# A named network namespace: the launcher creates the tap there, the
# sandbox lives there, the tap goes with the sandbox.
NETNS=vjuserns-$$
if ip netns add $NETNS; then
	trap 'ip netns delete $NETNS; jail_cleanup_on_exit' EXIT
	if start_daemon netns --test-exec "$PROBE" --netns $NETNS --net tap=vjtap0 -- wait; then
		expect "the sandbox is in the named network namespace" \
			test "$(readlink /proc/$VMM_PID/ns/net)" = \
			"$(ip netns exec $NETNS readlink /proc/self/ns/net)"
		expect "the tap exists there while the sandbox runs" \
			eval 'ip netns exec $NETNS ip link show vjtap0 >/dev/null'
		stop_daemon
		expect "the tap is gone with the sandbox" \
			eval '! ip netns exec $NETNS ip link show vjtap0 2>/dev/null'
	else
		fail "start a sandbox in a named network namespace" "$(cat "$JAIL_TMP/netns.err")"
	fi
	run_capture 30 "${PROBE_RUN[@]}" --id netns-missing --netns vj-no-such-ns -- exit 0
	expect "a network namespace that does not exist is an error naming it" \
		eval '[[ $RC == 125 && $ERR == *"network namespace \"vj-no-such-ns\""* ]]'
fi
expect "nothing is left behind" test -z "$(leftovers)"
finish

#!/bin/bash
# 200 sandboxes started and ended every way there is: run to completion,
# stopped by SIGTERM, VMM killed, launcher SIGKILLed (then `vmjail
# cleanup`), and bad input failing at each stage of setup (before the run
# directory, while opening files, while writing cgroup limits, in the
# child after clone). Afterwards nothing may remain: cgroups, run
# directories, mounts, taps, network namespaces, processes, or file
# descriptors of the caller.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
# timeout: 1800
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail leak" || exit 0

TOTAL=200
NETNS=vjleak-$$
ip netns add "$NETNS" || { fail "jail leak" "ip netns add $NETNS"; exit 1; }
trap 'ip netns delete "$NETNS" 2>/dev/null; jail_cleanup_on_exit' EXIT

snapshot() {
	echo "mounts $(wc -l </proc/self/mountinfo)"
	echo "links $(ip -o link | wc -l)"
	echo "netns-links $(ip netns exec "$NETNS" ip -o link | wc -l)"
	echo "netns $(ls /run/netns | wc -l)"
	echo "fds $(ls /proc/$$/fd | wc -l)"
}

noexec=$JAIL_TMP/noexec
cp "$PROBE" "$noexec"
chmod 0600 "$noexec"
before=$(snapshot)
declare -A outcome
for ((i = 0; i < TOTAL; i++)); do
	id=leak-$i
	case $((i % 10)) in
	0 | 1 | 2)
		"${GUEST_RUN[@]}" --id $id --cmdline vjtest=hello --memory-max 256M --pids-max 16 \
			>/dev/null 2>&1
		r=$?; [ $r = 0 ] && k=ok || k="hello:$r" ;;
	3)
		"${PROBE_RUN[@]}" --id $id --netns "$NETNS" --net tap=vjl$i -- exit 0 >/dev/null 2>&1
		r=$?; [ $r = 0 ] && k=ok || k="tap:$r" ;;
	4)
		if start_daemon $id --cmdline vjtest=wait; then stop_daemon; k=ok; else k=start; fi ;;
	5)
		if start_daemon $id --cmdline vjtest=wait; then
			kill -KILL "$VMM_PID"; wait_gone "$LAUNCHER" 10; k=ok
		else k=start; fi ;;
	6)
		if start_daemon $id --cmdline vjtest=wait; then
			kill -KILL "$LAUNCHER"; wait_gone "$VMM_PID" 10
			"$VMJAIL" cleanup --run-dir "$RUN_DIR" $id >/dev/null; r=$?
			[ $r = 0 ] && k=ok || k="cleanup:$r"
		else k=start; fi ;;
	7)
		# Fails opening files, or before the run directory exists.
		"${GUEST_RUN[@]}" --id $id --drive path=/nonexistent >/dev/null 2>&1; r=$?
		"${GUEST_RUN[@]}" --id "bad.$id" >/dev/null 2>&1; r2=$?
		[ $r = 125 ] && [ $r2 = 125 ] && k=ok || k="bad-input:$r/$r2" ;;
	8)
		# Fails writing a cgroup limit, after the cgroups exist.
		"${GUEST_RUN[@]}" --id $id --cpuset 63 >/dev/null 2>&1; r=$?
		[ $r = 125 ] && k=ok || k="bad-cpuset:$r" ;;
	9)
		# Fails in the child, after clone: the program cannot be executed.
		"$VMJAIL" run "${JAIL[@]}" --id $id --kernel "$GUEST" --test-exec "$noexec" \
			-- exit 0 >/dev/null 2>&1; r=$?
		[ $r = 125 ] && k=ok || k="exec:$r" ;;
	esac
	outcome[$k]=$((${outcome[$k]:-0} + 1))
done

summary=$(for k in "${!outcome[@]}"; do echo "$k=${outcome[$k]}"; done | sort | tr '\n' ' ')
expect "$TOTAL sandboxes ended the way each was meant to ($summary)" \
	test "${outcome[ok]:-0}" = $TOTAL
left=$(leftovers)
expect "no cgroups, run directories, processes or mounts are left" test -z "$left"
[ -z "$left" ] || echo "$left" | head -20 >&2
after=$(snapshot)
expect "mounts, taps, network namespaces and the caller's fds are as before" \
	test "$before" = "$after"
[ "$before" = "$after" ] || diff <(echo "$before") <(echo "$after") >&2
finish

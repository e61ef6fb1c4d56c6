#!/bin/bash
# vmjail-init as PID 1, on the host without a VM: in new pid, mount, uts
# and net namespaces (eth0 is a veth made there first), with the vsock
# replaced by a socketpair (--fd 3). It sets the system up (mounts,
# hostname, lo, eth0), runs the workload, reaps orphans, stops it on
# SIGINT (what Ctrl-Alt-Del sends PID 1), and "powers off": reboot(2) in a
# pid namespace ends it with SIGHUP.
# needs: root
# builds: $(AGENT_DRIVE) $(AGENT_EVIL) $(VJ_INIT_HOST) $(VJ_INIT)
. "$(cd "$(dirname "$0")" && pwd)/agent-lib.sh"

need_root "agent-init: vmjail-init as PID 1 in its own namespaces" || { finish; exit; }

# eth0 is a veth; a host kernel without veth gets no eth0 (and a SKIP).
VETH='ip link add eth0 type veth peer name vx0 && ip link set vx0 up'
unshare --net sh -c "$VETH" 2>/dev/null || VETH=true

# ns_agent BINARY [AGENT-ARGS...]: sets A to the agent-drive arguments that
# start BINARY as PID 1 of fresh namespaces, up to --workload.
ns_agent() {
	local bin=$1
	shift
	A=(-- unshare --pid --mount --uts --net --fork -- sh -c "$VETH && exec \"\$@\"" \
		sh "$bin" --fd 3 "$@" --workload)
}
powered_off() { grep -q '^agent=signal:1$' "$WORK/report"; }

ns_agent "$INIT"
run_drive /dev/null "${A[@]}" sh -c 'echo out; echo err >&2; exit 3'
expect "agent-init: as PID 1, stdout and stderr stay separate, exit status 3" gave 3 out err
expect "agent-init: after the run it powers off (reboot in a pid namespace: SIGHUP)" clean powered_off

run_drive /dev/null "${A[@]}" sh -c 'readlink /proc/1/exe; echo $$'
expect "agent-init: the agent is PID 1 and /proc is its pid namespace's" clean \
	test "${OUT%%$'\n'*}" = "$(realpath "$INIT")"
expect "agent-init: the workload is not PID 1" clean test "${OUT##*$'\n'}" -gt 1

run_drive /dev/null "${A[@]}" sh -c 'while read -r _ _ _ _ mp _ _ _ fs _; do echo "$mp $fs"; done </proc/self/mountinfo'
mounts_ok=1
for m in "/proc proc" "/sys sysfs" "/dev devtmpfs" "/dev/pts devpts" "/dev/shm tmpfs" \
	"/tmp tmpfs" "/run tmpfs"; do
	grep -qx "$m" <<<"$OUT" || { mounts_ok=0; echo "missing mount: $m"; }
done
expect "agent-init: /proc, /sys, /dev (+pts, shm), /tmp and /run are mounted" clean test $mounts_ok = 1

run_drive /dev/null "${A[@]}" sh -c 'ls -A /tmp | wc -l; test -L /dev/fd && echo fd-link'
expect "agent-init: /tmp is a fresh empty tmpfs; /dev/fd exists" gave 0 $'0\nfd-link' ""

run_drive /dev/null --hostname sandbox-7 "${A[@]}" uname -n
expect "agent-init: the hostname is the one sent" gave 0 sandbox-7 ""

run_drive /dev/null "${A[@]}" cat /sys/class/net/lo/flags
expect "agent-init: lo is up" gave 0 0x9 ""

if [ "$VETH" = true ]; then
	skip "agent-init: eth0 configuration" "this kernel cannot make a veth pair to stand in for eth0"
	echo "WARNING: agent-init: eth0 configuration skipped: no veth" >&2
else
	run_drive /dev/null --net 10.0.2.15/24,10.0.2.2 "${A[@]}" sh -c \
		'ip -4 -o addr show eth0 | grep -o "inet [0-9./]*"; ip route show default'
	expect "agent-init: eth0 gets the address, prefix and default route sent" gave 0 \
		$'inet 10.0.2.15/24\ndefault via 10.0.2.2 dev eth0 ' ""

	run_drive /dev/null --net 10.0.3.2/30 "${A[@]}" sh -c 'ip route show default | wc -l'
	expect "agent-init: no gateway, no default route" gave 0 0 ""
fi

printf 'line1\nline2\n' >"$WORK/in"
run_drive "$WORK/in" --env GREETING=hi --cwd /usr -- "${A[@]:1}" sh -c 'echo "$GREETING $(pwd)"; wc -l'
expect "agent-init: env, cwd and stdin reach the workload" gave 0 $'hi /usr\n2' ""

run_drive /dev/null "${A[@]}" sh -c 'kill -TERM $$'
expect "agent-init: a workload killed by SIGTERM gives 143" gave 143 "" ""

# Ctrl-Alt-Del reaches PID 1 as SIGINT: the workload gets SIGTERM, its
# end is reported, and the agent powers off as after any run.
run_drive /dev/null "${A[@]}" sh -c \
	'trap "echo terminated; exit 7" TERM; kill -INT 1; sleep 8765426 & wait'
expect "agent-init: SIGINT to PID 1 stops the workload with SIGTERM; its exit is reported" gave \
	7 terminated ""
expect "agent-init: ... then it powers off" clean powered_off

# With no workload running yet, SIGINT powers off at once: the launcher
# here answers HELLO and then sends nothing.
timeout -k 5 30 "$EVIL" stall-after-hello unshare --pid --mount --uts --net --fork -- \
	"$INIT" --fd 3 >"$WORK/evil.out" 2>"$WORK/agent.log" &
evil=$!
child_of() { [ -n "$1" ] && pgrep -P "$1" | head -n 1; }
agent=
for _ in $(seq 200); do
	# timeout -> the launcher -> unshare -> the agent, PID 1 of its namespace
	grep -q "^HELLO: 1..6$" "$WORK/evil.out" &&
		agent=$(child_of "$(child_of "$(child_of $evil)")") && [ -n "$agent" ] && break
	sleep 0.05
done
[ -n "$agent" ] && kill -INT "$agent"
wait $evil
expect "agent-init: SIGINT before any workload powers off at once" clean \
	eval '[ -n "$agent" ] && grep -qx EOF "$WORK/evil.out" && grep -qx "agent: signal 1" "$WORK/evil.out"'

# The orphan's parent dies at once, so PID 1 inherits it; the workload
# waits until its /proc entry is gone, which it is only once reaped.
run_drive /dev/null "${A[@]}" sh -c \
	'p=$(sh -c "sleep 0.1 >/dev/null 2>&1 & echo \$!"); while [ -e /proc/$p ]; do sleep 0.05; done; echo reaped'
expect "agent-init: PID 1 reaps orphans while the workload runs" gave 0 reaped ""

run_drive /dev/null "${A[@]}" sh -c 'sleep 8765429 & sleep 8765428 & echo started'
expect "agent-init: when the main process ends every other process is killed" gave 0 started ""
expect "agent-init: nothing of the workload is left" clean no_process 'sleep 876542[89]'

ns_agent "$INIT" --no-setup
run_drive /dev/null "${A[@]}" sh -c 'grep -q " /tmp " /proc/self/mountinfo || echo no-tmp'
expect "agent-init: --no-setup as PID 1 mounts nothing" gave 0 no-tmp ""
expect "agent-init: --no-setup as PID 1 exits instead of powering off" clean \
	grep -q '^agent=exit:0$' "$WORK/report"

ns_agent "$INIT_STATIC"
run_drive /dev/null --hostname static "${A[@]}" sh -c 'echo out; uname -n >&2; exit 3'
expect "agent-init: the static guest binary runs the same way" gave 3 out static
expect "agent-init: the static guest binary powers off" clean powered_off
finish

#!/bin/bash
# The launcher's side (jailer/agent.c, through agent-drive) against the
# real agent, vmjail-init, as a plain host process (not PID 1: no system
# set-up, no power-off; a child subreaper) over a socketpair: argv, env,
# cwd, separate streams, stdin, exit statuses, signals, output caps, a
# reader that never reads, SETTIME, SIGINT stopping the workload.
# needs: root
# builds: $(AGENT_DRIVE) $(AGENT_EVIL) $(VJ_INIT_HOST) $(VJ_INIT)
. "$(cd "$(dirname "$0")" && pwd)/agent-lib.sh"

A=(-- "$INIT" --fd 3 --workload)

run_drive /dev/null "${A[@]}" sh -c 'echo out; echo err >&2; exit 3'
expect "agent: stdout and stderr arrive on their own streams, exit status 3 returned" gave \
	3 out err

run_drive /dev/null "${A[@]}" printf '[%s]\n' 'a b' '' 'c"d' "\$HOME" '*'
expect "agent: argv reaches the workload verbatim (spaces, empty, quotes, no expansion)" gave \
	0 $'[a b]\n[]\n[c"d]\n[$HOME]\n[*]' ""

run_drive /dev/null --env FOO=bar --env EMPTY= -- "$INIT" --fd 3 --workload env
expect "agent: the environment is exactly the one sent (nothing inherited)" gave \
	0 $'FOO=bar\nEMPTY=' ""

run_drive /dev/null --env PATH=/nonexistent:/bin -- "$INIT" --fd 3 --workload sh -c 'echo "$PATH"'
expect "agent: the program is searched in the workload's own PATH" gave 0 /nonexistent:/bin ""

run_drive /dev/null --cwd /usr/share -- "$INIT" --fd 3 --workload pwd -P
expect "agent: the workload starts in the requested directory" gave 0 /usr/share ""

printf abc >"$WORK/in.abc"
run_drive "$WORK/in.abc" "${A[@]}" cat
expect "agent: stdin reaches the workload, then end of file" gave 0 abc ""

# A named FIFO whose writer is gone before the session starts: its end
# still reaches the workload.
rm -f "$WORK/in.fifo"
mkfifo "$WORK/in.fifo"
exec 5<>"$WORK/in.fifo" 6<"$WORK/in.fifo"
printf abc >&5
exec 5>&-
timeout -k 5 20 "$DRIVE" --agent-log "$WORK/agent.log" "${A[@]}" cat <&6 >"$WORK/out" 2>"$WORK/err"
RC=$? OUT=$(cat "$WORK/out") ERR=$(cat "$WORK/err")
exec 6<&-
expect "agent: stdin from a FIFO whose writer already left ends for the workload" gave 0 abc ""

run_drive /dev/null --no-stdin "${A[@]}" sh -c 'cat; echo done'
expect "agent: no stdin is an immediate end of file" gave 0 done ""

# 4 MiB through cat both ways at once: flow control, no deadlock.
head -c $((4 << 20)) /dev/urandom >"$WORK/in.big"
run_drive "$WORK/in.big" "${A[@]}" cat
if [ "$RC" = 0 ] && cmp -s "$WORK/in.big" "$WORK/out" && sanitizer_clean; then
	pass "agent: 4 MiB of stdin echoed back intact while both directions stream"
else
	fail "agent: 4 MiB echoed back intact" "exit $RC, $(stat -c %s "$WORK/out") bytes back, $ERR"
fi

yes 0123456789 | head -c $((4 << 20)) >"$WORK/in.text"
run_drive "$WORK/in.text" "${A[@]}" head -c 5
expect "agent: a workload that stops reading stdin early is not an error" gave 0 01234 ""

run_drive /dev/null "${A[@]}" sh -c 'kill -KILL $$'
expect "agent: a workload killed by SIGKILL gives 128+9" gave 137 "" ""
expect "agent: the result names the signal" clean grep -q "status=137 signal=9" "$WORK/report"

run_drive /dev/null "${A[@]}" no-such-program-vj
expect "agent: a program that does not exist gives 127 and a line on stderr" gave 127 "" \
	'vmjail-init: exec "no-such-program-vj": No such file or directory'

echo 'echo hi' >"$WORK/not-executable"
chmod 644 "$WORK/not-executable"
run_drive /dev/null "${A[@]}" "$WORK/not-executable"
expect "agent: a file that is not executable gives 126" gave 126 "" \
	"vmjail-init: exec \"$WORK/not-executable\": Permission denied"

# CONTINUE takes over a workload a reset connection left running (only
# over vsock as PID 1: the e2e migrate-linux); an agent with none refuses.
run_drive /dev/null --continue -- "$INIT" --fd 3 --workload true
expect "agent: CONTINUE with no workload running is a session error naming it" gave 125 "" \
	'agent-drive: guest agent: CONTINUE frame: no workload runs here to continue'

run_drive /dev/null --cwd /nonexistent-vj -- "$INIT" --fd 3 --workload true
expect "agent: a missing directory is a session error naming it" gave 125 "" \
	'agent-drive: guest agent: workload "true": chdir /nonexistent-vj: No such file or directory'

run_drive /dev/null --out-cap 10 --err-cap 3 "${A[@]}" sh -c 'head -c 100000 /dev/zero | tr "\0" x; echo errors >&2'
expect "agent: output past the caps is discarded, the workload still completes, and the user is told" gave \
	0 xxxxxxxxxx "erragent-drive: workload stdout: 99990 bytes dropped past its cap of 10 bytes (--out-cap)
agent-drive: workload stderr: 4 bytes dropped past its cap of 3 bytes (--err-cap)"
expect "agent: the discarded bytes are counted" clean \
	grep -q "out_bytes=10 out_dropped=99990 err_bytes=3 err_dropped=4" "$WORK/report"

# A reader that goes away: the rest of that stream is dropped, and the
# user is told why, apart from a cap.
timeout -k 5 60 "$DRIVE" --report "$WORK/report" --agent-log "$WORK/agent.log" \
	-- "$INIT" --fd 3 --workload sh -c 'head -c 1000000 /dev/zero' \
	</dev/null 2>"$WORK/err" | head -c 10 >/dev/null
RC=${PIPESTATUS[0]} OUT="" ERR=$(cat "$WORK/err") REPORT=$(cat "$WORK/report")
expect "agent: a stdout whose reader went away is reported as such, the workload still completes" clean \
	eval '[ "$RC" = 0 ] && [[ $ERR =~ ^"agent-drive: workload stdout: "[1-9][0-9]*" bytes dropped: its reader went away (broken pipe)"$ ]]'

# A reader that never reads (a FIFO held open and never drained) must not
# wedge the session: the cancellation (the VM's end, in the launcher)
# still ends it, and what never reached the reader is counted.
mkfifo "$WORK/stalled"
exec 7<>"$WORK/stalled"
rm -f "$WORK/report"
timeout -k 5 20 "$DRIVE" --report "$WORK/report" --agent-log "$WORK/agent.log" --cancel-after 1000 \
	-- "$INIT" --fd 3 --workload head -c 10000000 /dev/zero \
	</dev/null >"$WORK/stalled" 2>"$WORK/err"
RC=$?
exec 7<&-
OUT="" ERR=$(cat "$WORK/err") REPORT=$(cat "$WORK/report" 2>/dev/null)
expect "agent: a stdout reader that never reads does not outlast the cancellation" clean \
	eval '[ "$RC" = 125 ] && [ "$(tail -n 1 <<<"$ERR")" = "agent-drive: stopped waiting for the guest agent" ]'
expect "agent: output the stalled reader never took is counted as dropped" clean \
	grep -Eq "out_bytes=[0-9]+ out_dropped=[1-9]" "$WORK/report"
expect "agent: ... and the user is told" clean \
	eval '[[ $(head -n 1 <<<"$ERR") =~ ^"agent-drive: workload stdout: "[1-9][0-9]*" bytes dropped: the sandbox ended before its reader took them"$ ]]'

# On a terminal (a pty from script(1) here) the workload's control
# characters arrive as text, never as commands to the terminal; a file or
# a pipe gets the exact bytes.
shown_as_text() {
	[ "$RC" = 0 ] && grep -qF '^[]0;pwned^G^[[2Jok' "$1" && ! grep -q $'\e' "$1"
}
if command -v script >/dev/null; then
	script -qec "$DRIVE --no-stdin --agent-log $WORK/agent.log -- $INIT --fd 3 --workload \
		printf '\\033]0;pwned\\007\\033[2Jok\\n'" /dev/null </dev/null >"$WORK/tty" 2>&1
	RC=$? OUT=$(cat -v "$WORK/tty") ERR="" REPORT=""
	expect "agent: a terminal gets the workload's escape sequences as text" clean \
		shown_as_text "$WORK/tty"
else
	skip "agent: a terminal gets the workload's escape sequences as text" "no script(1)"
fi
run_drive /dev/null "${A[@]}" printf '\033]0;pwned\007\033[2Jok\n'
expect "agent: a file gets the workload's escape sequences as they are" gave \
	0 $'\e]0;pwned\a\e[2Jok' ""

# Orphans come back to the agent (a subreaper here) and are reaped: the
# workload waits until its orphan's /proc entry is gone, which a zombie's
# is not.
run_drive /dev/null "${A[@]}" sh -c \
	'p=$(sh -c "sleep 0.1 >/dev/null 2>&1 & echo \$!"); while [ -e /proc/$p ]; do sleep 0.05; done; echo reaped'
expect "agent: an orphan of the workload is reaped while the workload runs" gave 0 reaped ""

# When the main process ends, what it left running is killed: without that
# the background sleep would hold stdout open and the run would not end.
run_drive /dev/null "${A[@]}" sh -c 'sleep 8765431 & echo started'
expect "agent: the run ends with the main process; its background processes are killed" gave \
	0 started ""
expect "agent: no background process survives the run" clean no_process 'sleep 8765431'

# A signal to the launcher reaches the workload's process group.
"$DRIVE" --forward-signals --agent-log "$WORK/agent.log" -- "$INIT" --fd 3 --workload \
	sh -c 'echo ready; exec sleep 8765430' >"$WORK/out" 2>"$WORK/err" </dev/null &
pid=$!
for _ in $(seq 200); do grep -q ready "$WORK/out" && break; sleep 0.05; done
kill -TERM $pid
wait $pid
RC=$?
expect "agent: SIGTERM to the launcher is forwarded; the workload ends with 128+15" clean \
	test "$RC" = 143
expect "agent: the signalled workload is gone" clean no_process 'sleep 8765430'

# SETTIME (protocol version 2) reaches the agent once the workload runs.
# Not PID 1, the agent leaves the host's clock alone and says so in its
# log, which the workload waits for.
run_drive /dev/null --settime 1700000000123456789 -- "$INIT" --fd 3 --workload sh -c \
	'for _ in $(seq 400); do grep -q "SETTIME 1700000000123456789 ns" "$1" && exit 0; sleep 0.05; done; exit 1' \
	sh "$WORK/agent.log"
expect "agent: a clock from the launcher's command channel reaches the agent (SETTIME)" gave 0 "" ""
expect "agent: not PID 1, the agent leaves the host's clock alone" clean \
	grep -q "SETTIME 1700000000123456789 ns: the clock is left alone (no system set-up)" \
	"$WORK/agent.log"

# RESTORED (protocol version 3) comes before the workload of a sandbox
# restored from a snapshot; not PID 1, the agent applies none of it and
# says so, then runs the workload as usual.
run_drive /dev/null --restored clone-3 -- "$INIT" --fd 3 --workload sh -c 'echo ran; exit 5'
expect "agent: a restored sandbox's session (RESTORED, then the workload) runs it" gave 5 ran ""
expect "agent: RESTORED arrives before the workload; not PID 1, nothing is changed" clean \
	grep -q 'RESTORED: random generator, clock (.* ns), hostname "clone-3" and 0 MAC(s) left alone' \
	"$WORK/agent.log"
# A clone that names its own MACs: they travel in RESTORED to the agent.
run_drive /dev/null --restored clone-4 --restored-mac 02:00:00:00:00:0a \
	--restored-mac 02:00:00:00:00:0b -- "$INIT" --fd 3 --workload sh -c 'echo ran; exit 6'
expect "agent: a restored sandbox's session with the clone's MACs runs it" gave 6 ran ""
expect "agent: RESTORED carries the clone's two MACs; not PID 1, none is set" clean \
	grep -q 'RESTORED: random generator, clock (.* ns), hostname "clone-4" and 2 MAC(s) left alone' \
	"$WORK/agent.log"

# SIGINT (Ctrl-Alt-Del, for PID 1) stops the workload: SIGTERM to its
# process group, its end reported as usual. The workload's parent is the
# agent.
run_drive /dev/null "${A[@]}" sh -c \
	'trap "echo terminated; exit 7" TERM; kill -INT $PPID; sleep 8765426 & wait'
expect "agent: SIGINT stops the workload with SIGTERM; its exit is reported" gave 7 terminated ""

# A workload that ignores SIGTERM is killed when the grace period ends.
start=$SECONDS
run_drive /dev/null "${A[@]}" sh -c 'trap "" TERM; kill -INT $PPID; exec sleep 8765427'
expect "agent: a workload that ignores SIGTERM gets SIGKILL after the grace period" gave \
	137 "" ""
expect "agent: ... no sooner than 5 s after SIGINT" clean test $((SECONDS - start)) -ge 4
expect "agent: ... and the agent says why" clean grep -q "outlived its grace period" "$WORK/agent.log"

# --listen: the agent connects to a socket, as the VMM's vsock broker does
# for the guest; the launcher's side accepts it there.
connect_fd3='use Socket; use POSIX; $^F = 255; # no close-on-exec
	socket(my $s, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!";
	connect($s, pack_sockaddr_un(shift)) or die "connect: $!";
	POSIX::dup2(fileno($s), 3) or die "dup2: $!";
	exec { $ARGV[0] } @ARGV or die "exec: $!"'
run_drive /dev/null --listen "$WORK/v.sock_1024" -- perl -e "$connect_fd3" "$WORK/v.sock_1024" \
	"$INIT" --fd 3 --workload sh -c 'echo out; echo err >&2; exit 3'
expect "agent: accepted on a listening socket, the session runs the same" gave 3 out err
expect "agent: the listening socket is removed afterwards" clean test ! -e "$WORK/v.sock_1024"

run_drive /dev/null --listen "$WORK/v.sock_1024" -- true --workload true
expect "agent: a VM that exits without connecting ends the wait (pidfd as cancel_fd)" gave \
	125 "" "agent-drive: the guest agent never connected"

if need_root "agent: workload runs with the requested uid and gid, no supplementary groups"; then
	run_drive /dev/null --uid 65534 --gid 65533 -- "$INIT" --fd 3 --workload \
		sh -c 'id -u; id -g; id -G'
	expect "agent: workload runs with the requested uid and gid, no supplementary groups" gave \
		0 $'65534\n65533\n65533' ""
	run_drive /dev/null --uid 65534 --gid 65534 --cwd /root -- "$INIT" --fd 3 --workload true
	expect "agent: the directory is entered with the workload's own permissions" clean \
		grep -q 'chdir /root: Permission denied' "$WORK/err"
fi
finish

#!/bin/bash
# `vmjail exec`'s machinery without a VM: the launcher's exec code
# (jailer/exec.c, through agent-drive) against the real agent,
# vmjail-init, as a plain host process: the workload's session over a
# socketpair, each exec's own connection over an AF_UNIX socket where the
# VM would have a vsock port. Status, streams, stdin, the workload's
# environment and directory inherited or replaced, ids, several execs at
# once, what the guest cannot run, and an exec outlived by its workload.
# needs: root
# builds: $(AGENT_DRIVE) $(VJ_INIT_HOST)
. "$(cd "$(dirname "$0")" && pwd)/agent-lib.sh"

# exec_drive DRIVE-OPTIONS... -- WORKLOAD...: one workload, execs as the
# options say; sets RC, OUT, ERR, REPORT, LOG like run_drive.
exec_drive() {
	local opts=()
	while [ "$1" != -- ]; do
		opts+=("$1")
		shift
	done
	shift
	rm -f "$WORK"/x_* "$WORK"/eo.*
	run_drive /dev/null --exec-socket "$WORK/x" --exec-out "$WORK/eo" "${opts[@]}" \
		-- "$INIT" --fd 3 --exec-socket "$WORK/x" --workload "$@"
}

# exec_gave K STATUS STDOUT STDERR: exec K ended so, the workload's
# session ended cleanly, and agent-drive (the launcher's side) had nothing
# to say (a sanitizer's report included).
exec_gave() {
	local out err
	out=$(cat "$WORK/eo.$1" 2>/dev/null) err=$(cat "$WORK/eo.$1.err" 2>/dev/null)
	grep -qx "exec $1: status $2" <<<"$REPORT" && [ "$out" = "$3" ] && [ "$err" = "$4" ] &&
		grep -q '^session=0 ' <<<"$REPORT" && [ -z "$ERR" ] && sanitizer_clean && return 0
	WHY="report \"$(tr '\n' '|' <<<"$REPORT")\", exec stdout \"$out\" (want \"$3\"), stderr \"$err\" (want \"$4\"), agent-drive's stderr \"$ERR\", agent log: $(tr '\n' '|' <"$WORK/agent.log")"
	return 1
}

WAIT=(sh -c 'cat >/dev/null')

exec_drive --exec sh --exec -c --exec 'echo hi; echo oops >&2; exit 3' -- "${WAIT[@]}"
expect "exec: its stdout and stderr arrive on their own streams, its status is returned" \
	exec_gave 1 3 hi oops

exec_drive --env FOO=workload --env BAR=workload --cwd /usr/share --exec-env BAR=exec \
	--exec sh --exec -c --exec 'echo "$FOO $BAR"; pwd -P' -- "${WAIT[@]}"
expect "exec: the workload's environment and directory, with its own variables over them" \
	exec_gave 1 0 $'workload exec\n/usr/share' ""

exec_drive --cwd /usr/share --exec-cwd /tmp --exec pwd -- "${WAIT[@]}"
expect "exec: --cwd replaces the workload's directory" exec_gave 1 0 /tmp ""

exec_drive --exec-user 65534:65534 --exec sh --exec -c --exec 'id -u; id -g' -- "${WAIT[@]}"
expect "exec: --user runs it with those ids" exec_gave 1 0 $'65534\n65534' ""

printf 'line1\nline2\n' >"$WORK/exec.in"
exec_drive --exec-in "$WORK/exec.in" --exec cat -- "${WAIT[@]}"
expect "exec: its stdin is forwarded, then end of file" exec_gave 1 0 $'line1\nline2' ""

# Both wait for the other's file: they can only end if they run at once.
mkdir -p "$WORK/both"
exec_drive --exec-count 2 --exec sh --exec -c --exec \
	'touch "$D/$$"; n=0; while [ "$(ls "$D" | wc -l)" -lt 2 ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; ls "$D" | wc -l' \
	--exec-env D="$WORK/both" -- "${WAIT[@]}"
expect "exec: two execs run at once, each with its own streams and status" \
	clean eval 'exec_gave 1 0 2 "" && exec_gave 2 0 2 ""'

exec_drive --exec sh --exec -c --exec 'n=0; while [ ! -s "$F" ] && [ $n -lt 100 ]; do sleep 0.1; n=$((n+1)); done; cat "$F"' \
	--exec-env F="$WORK/wl.file" -- sh -c 'echo from-the-workload >"$0.tmp"; mv "$0.tmp" "$0"; cat >/dev/null' "$WORK/wl.file"
expect "exec: it sees the files the workload writes" exec_gave 1 0 from-the-workload ""

exec_drive --exec no-such-program-here -- "${WAIT[@]}"
expect "exec: a program that does not exist ends with 127 and a line, as in a shell" \
	exec_gave 1 127 "" 'vmjail-init: exec "no-such-program-here": No such file or directory'

exec_drive --exec-cwd /no/such/dir --exec pwd -- "${WAIT[@]}"
expect "exec: a directory that cannot be entered is reported, with no status" \
	grep -q "exec 1: no status: guest agent: .*chdir /no/such/dir" <<<"$REPORT"

# The workload ends at once: the exec still running is stopped (SIGTERM)
# and reports how it ended.
exec_drive --exec sleep --exec 1000 -- sleep 1
expect "exec: one still running when the workload ends is stopped, and its end reported" \
	clean eval 'exec_gave 1 143 "" "" && no_process "sleep 1000"'

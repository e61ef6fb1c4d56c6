#!/bin/bash
# Live migration through the launcher with the test guest's `count`
# scenario (it prints "vjtest: count N" every 100 ms, counting in its
# memory): a detached sandbox migrates with `vmjail migrate` to a
# `vmjail receive` over a Unix socket, then on over loopback TCP, then
# over an exec: command (receive --from stdio); each time the count goes
# on in the destination's console from the source's number, `migrate`
# prints its figures and, once it returns, nothing of the source sandbox
# is left (run directory, `ls` line, cgroup, launcher, VMM). Plain TCP
# to a non-loopback address is refused without --insecure; a destination
# with other memory refuses and the source runs on. Drives: a writable
# drive beneath no shared root of the host file (roots.shared) is refused
# by `migrate` and by `receive` in one line naming it, the source running
# on; one beneath a shared root migrates, its lock passing to the
# destination's VMM. Nothing is left behind.
# needs: root kvm
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"

need_jail "jail migrate" || exit 0

# A console's complete lines: the guest writes a line a character at a
# time, and a migration may pause it mid-line (the rest of that line then
# comes out of the destination).
complete() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }
count_in() { complete "$1" | sed -n 's/^vjtest: count \([0-9]*\).*/\1/p' | tail -n 1; }
first_count_in() { sed -n 's/^vjtest: count \([0-9]*\).*/\1/p' "$1" | head -n 1; }
wait_count_in() { # wait_count_in FILE N: until FILE's count reached N (20 s at most)
	for _ in $(seq 400); do [ "$(count_in "$1")" -ge "$2" ] 2>/dev/null && return 0; sleep 0.05; done
	WHY="$1: count $(count_in "$1"), expected $2"
	return 1
}
wait_file() { for _ in $(seq 200); do [ -e "$1" ] && return 0; sleep 0.05; done; return 1; }
wait_listen() { # wait_listen PORT: a TCP socket listens on it (10 s at most)
	local hex
	hex=$(printf '%04X' "$1")
	for _ in $(seq 200); do
		grep -q "^ *[0-9]*: [0-9A-F]*:$hex [0-9A-F]*:0000 0A" /proc/net/tcp && return 0
		sleep 0.05
	done
	return 1
}

# Writable images beneath $SHARED are "shared storage" for both ends
# (on one machine, the same path is trivially the same file).
SHARED=$JAIL_TMP/shared
mkdir -p "$SHARED"
HOST=$JAIL_TMP/host.yaml
printf 'version: 1\nroots:\n  shared: [%s]\n' "$SHARED" >"$HOST"
VJ=("$VMJAIL" --host-config "$HOST")
MIG=(--max-downtime 300ms)

# gone_here ID: nothing of sandbox ID is left on this host.
gone_here() {
	local left
	left=$( { ls -d "$RUN_DIR/$1" "$RUN_DIR/$1".* 2>/dev/null
		"$VMJAIL" ls --run-dir "$RUN_DIR" 2>/dev/null | awk -v id="$1" '$1 == id'
		find /sys/fs/cgroup -maxdepth 7 -type d -path "*/$CG_PARENT/$1" 2>/dev/null
		for f in /proc/[0-9]*/cmdline; do
			tr '\0' ' ' <"$f" 2>/dev/null | grep -q -- " --id $1 " && echo "${f%/cmdline}"
		done; } | tr '\n' ' ')
	[ -z "$left" ] && return 0
	WHY="left of $1: $left"
	return 1
}

run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id msrc --kernel "$GUEST" \
	--cmdline vjtest=count --console "$JAIL_TMP/msrc.console" --detach
expect "the source runs, detached" test "$RC" = 0
expect "the source counts" wait_count_in "$JAIL_TMP/msrc.console" 5

# wait_subscribed PID: `vmjail wait` PID is connected to the sandbox's
# control socket (and has had half a second to subscribe), 10 s at most.
wait_subscribed() {
	local i
	for i in $(seq 100); do
		ls -l /proc/"$1"/fd 2>/dev/null | grep -q 'socket:' && break
		sleep 0.1
	done
	sleep 0.5
}

# hop FROM TO DEST [RECEIVE-SRC [RECEIVE-ARGS...]]: `receive` waits on
# RECEIVE-SRC in the background (exec: DEST runs it itself), `migrate FROM
# --to DEST`, then the checks.
hop() {
	local from=$1 to=$2 dest=$3 src=${4:-} at first rpid=0 rc wpid
	shift 4 2>/dev/null || shift $#
	if [ -n "$src" ]; then
		"${VJ[@]}" receive "${JAIL[@]}" --id "$to" --kernel "$GUEST" "$@" \
			--console "$JAIL_TMP/$to.console" --detach --from "$src" \
			>"$JAIL_TMP/$to.out" 2>"$JAIL_TMP/$to.err" &
		rpid=$!
		case $src in
		unix:*) wait_file "${src#unix:}" ;;
		tcp:*) wait_listen "${src##*:}" ;;
		esac
	fi
	# A wait on the source from before the move: it hears the end.
	"$VMJAIL" wait "$from" --run-dir "$RUN_DIR" >/dev/null 2>"$JAIL_TMP/$from.wait" &
	wpid=$!
	wait_subscribed "$wpid"
	run_capture 120 "${VJ[@]}" migrate "$from" --to "$dest" "${MIG[@]}" --run-dir "$RUN_DIR"
	at=$(count_in "$JAIL_TMP/$from.console")
	expect "$from -> $to over ${dest%%:*}: vmjail migrate succeeds" test "$RC" = 0
	expect "... and prints its figures" eval '[[ $OUT == *"downtime"*"rounds"* ]]'
	echo "INFO: jail migrate: $from -> $to: $(printf '%s' "$OUT" | tr '\n' ' ') $ERR"
	if [ "$rpid" != 0 ]; then
		# A receive whose source never came would wait 10 minutes.
		[ "$RC" = 0 ] || kill "$rpid" 2>/dev/null
		wait "$rpid"
		rc=$?
		expect "... vmjail receive --detach succeeds, naming $to" \
			eval '[ $rc = 0 ] && grep -qx "$to" "$JAIL_TMP/$to.out"'
	else
		expect "... vmjail receive --from stdio names $to on its stderr" \
			eval '[[ $ERR == *"$to"* ]]'
	fi
	expect "... the destination counts on" wait_count_in "$JAIL_TMP/$to.console" $((at + 3))
	first=$(first_count_in "$JAIL_TMP/$to.console")
	expect "... from the source's count ($at), not from 1 (first $first)" \
		eval '[ "$first" -gt 1 ] && [ "$first" -le $((at + 2)) ]'
	expect "... nothing of $from is left on the source once migrate returned" gone_here "$from"
	wait "$wpid"
	rc=$?
	expect "... a vmjail wait attached on the source before the move reports 8 (migrated)" \
		eval '[ $rc = 8 ] || { WHY="status $rc: $(cat "$JAIL_TMP/$from.wait")"; false; }'
	run_capture 30 "$VMJAIL" wait "$from" --run-dir "$RUN_DIR"
	expect "... vmjail wait on the source: no such sandbox any more, in one line" \
		eval '[ "$RC" != 0 ] && [ "$RC" != 8 ] && [[ $ERR == *"$from"* ]] &&
			[ "$(printf "%s\n" "$ERR" | wc -l)" = 1 ]'
}

hop msrc mdst1 "unix:$JAIL_TMP/m.sock" "unix:$JAIL_TMP/m.sock"
# The test host may boot with its loopback interface down.
ip link set lo up 2>/dev/null
port=$((20000 + $$ % 20000))
hop mdst1 mdst2 "tcp:127.0.0.1:$port" "tcp:127.0.0.1:$port"
hop mdst2 mdst3 "exec:$VMJAIL receive ${JAIL[*]} --id mdst3 --kernel $GUEST --console $JAIL_TMP/mdst3.console --detach --from stdio"

run_capture 30 "${VJ[@]}" migrate mdst3 --to tcp:192.0.2.1:9 --run-dir "$RUN_DIR"
expect "plain TCP off loopback is refused without --insecure, in one line" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"not a loopback address"*"--insecure"* ]] &&
		[ "$(printf "%s\n" "$ERR" | wc -l)" = 1 ]'

"${VJ[@]}" receive "${JAIL[@]}" --id mbad --kernel "$GUEST" --memory 96M --console none \
	--detach --from "unix:$JAIL_TMP/bad.sock" >/dev/null 2>"$JAIL_TMP/mbad.err" &
bpid=$!
wait_file "$JAIL_TMP/bad.sock"
at=$(count_in "$JAIL_TMP/mdst3.console")
run_capture 120 "${VJ[@]}" migrate mdst3 --to "unix:$JAIL_TMP/bad.sock" --run-dir "$RUN_DIR"
expect "a destination of other memory refuses, and migrate says why in one line" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"refused"*"memory"* ]] &&
		[ "$(printf "%s\n" "$ERR" | wc -l)" = 1 ]'
echo "INFO: jail migrate: refused: $ERR"
wait "$bpid"
expect "... vmjail receive fails" test $? != 0
expect "... and the source runs on" wait_count_in "$JAIL_TMP/mdst3.console" $((at + 5))

# Drives. A writable image outside the shared roots is local: migrate
# refuses it in one line naming it, and the sandbox runs on.
truncate -s 4M "$JAIL_TMP/local.img" "$SHARED/data.img"
run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id mlocal --kernel "$GUEST" --cmdline vjtest=count \
	--console "$JAIL_TMP/mlocal.console" --drive "path=$JAIL_TMP/local.img" --detach
expect "a sandbox with a local writable drive runs" wait_count_in "$JAIL_TMP/mlocal.console" 3
"${VJ[@]}" receive "${JAIL[@]}" --id mlocald --kernel "$GUEST" --console none --detach \
	--from "unix:$JAIL_TMP/l.sock" >/dev/null 2>&1 &
lpid=$!
wait_file "$JAIL_TMP/l.sock"
run_capture 60 "${VJ[@]}" migrate mlocal --to "unix:$JAIL_TMP/l.sock" --run-dir "$RUN_DIR"
expect "migrate refuses a writable local drive in one line naming it" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"vm.drives[0]"*"$JAIL_TMP/local.img"*"roots.shared"* ]] &&
		[ "$(printf "%s\n" "$ERR" | wc -l)" = 1 ]'
echo "INFO: jail migrate: local drive: $ERR"
wait "$lpid"
expect "... and its destination, sent nothing, fails" test $? != 0
at=$(count_in "$JAIL_TMP/mlocal.console")
expect "... and the sandbox runs on" wait_count_in "$JAIL_TMP/mlocal.console" $((at + 3))
run_capture 30 "${VJ[@]}" receive "${JAIL[@]}" --id mlocal2 --kernel "$GUEST" --console none \
	--drive "path=$JAIL_TMP/local.img" --detach --from "unix:$JAIL_TMP/never.sock"
expect "receive refuses a writable local drive at once, in one line naming it, nothing left" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"vm.drives[0]"*"$JAIL_TMP/local.img"*"roots.shared"* ]] &&
		[ "$(printf "%s\n" "$ERR" | wc -l)" = 1 ] && [ ! -e "$JAIL_TMP/never.sock" ] &&
		[ ! -e "$RUN_DIR/mlocal2" ]'

# One beneath a shared root migrates: its lock passes from the source's
# VMM to the destination's at the handover.
run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id mshared --kernel "$GUEST" --cmdline vjtest=count \
	--console "$JAIL_TMP/mshared.console" --drive "path=$SHARED/data.img" --detach
expect "a sandbox with a writable drive on shared storage runs" \
	wait_count_in "$JAIL_TMP/mshared.console" 3
expect "... its VMM holds the image's lock" eval '! flock -n -x "$SHARED/data.img" true'
hop mshared mshared2 "unix:$JAIL_TMP/s.sock" "unix:$JAIL_TMP/s.sock" \
	--drive "path=$SHARED/data.img"
expect "... the destination's VMM holds the image's lock now" \
	eval '! flock -n -x "$SHARED/data.img" true'

finish_all() {
	for id in msrc mdst1 mdst2 mdst3 mbad mlocal mlocald mshared mshared2; do
		"$VMJAIL" kill $id --vm --run-dir "$RUN_DIR" >/dev/null 2>&1
		"$VMJAIL" wait $id --run-dir "$RUN_DIR" >/dev/null 2>&1
		"$VMJAIL" rm $id --run-dir "$RUN_DIR" >/dev/null 2>&1
	done
}
finish_all
expect "nothing is left behind" test -z "$(leftovers)"
finish

#!/bin/bash
# Each sandbox runs as host ids of its own, and its guest memory is closed
# to every other process: while two sandboxes run, a process running as
# the other sandbox's uid, as nobody, or even as the sandbox's own uid
# cannot read the VMM's guest RAM through /proc/PID/mem nor open its
# descriptors through /proc/PID/fd (the VMM is not dumpable), and no
# process of another uid can signal it. Two sandboxes
# started together have different uids and gids, which are free again
# once they end, also when a launcher is SIGKILLed; a full range is one
# error; the ids an operator names are reserved like allocated ones; a
# policy cannot name host ids; the VMM alone is not dumpable either.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail ids" || exit 0
command -v setpriv >/dev/null || { skip "jail ids" "setpriv (util-linux) is missing"; exit 0; }

NOBODY=65534
IDS_LOCK=/run/vmjail.ids # jailer/ids.h
SUID_DUMPABLE=$(cat /proc/sys/fs/suid_dumpable)
trap 'echo "$SUID_DUMPABLE" >/proc/sys/fs/suid_dumpable; jail_cleanup_on_exit' EXIT

# as ID CMD...: CMD as uid and gid ID, without groups (or capabilities:
# setpriv drops them with the change from uid 0).
as() { local id=$1; shift; setpriv --reuid "$id" --regid "$id" --clear-groups "$@"; }

# guest_ram PID: the address of PID's guest memory, its largest anonymous
# writable mapping (guest RAM is in no file), in decimal; none while PID
# has no mapping of at least the smallest guest's 16 MiB (still the shell
# that execs the VMM, say).
guest_ram() {
	local range perms off dev ino path lo hi best=$(((16 << 20) - 1)) start=""
	while read -r range perms off dev ino path; do
		[ -z "$path" ] && [[ $perms == rw* ]] || continue
		lo=$((16#${range%-*})) hi=$((16#${range#*-}))
		if [ $((hi - lo)) -gt $best ]; then best=$((hi - lo)) start=$lo; fi
	done <"/proc/$1/maps"
	[ -n "$start" ] && echo "$start"
}

# read_mem PID ADDR: one byte of PID's memory at ADDR, through /proc.
read_mem() { dd if="/proc/$1/mem" bs=1 count=1 skip="$2" iflag=skip_bytes status=none; }

# cannot_read_mem ID PID ADDR: a process running as ID is refused PID's
# memory at ADDR.
cannot_read_mem() {
	local ERR
	ERR=$(as "$1" dd if="/proc/$2/mem" bs=1 count=1 skip="$3" iflag=skip_bytes status=none \
		2>&1 >/dev/null) && { WHY="uid $1 read from it"; return 1; }
	[[ $ERR == *"Permission denied"* ]] && return 0
	WHY="not refused for want of permission: $ERR"
	return 1
}

# cannot_read ID PID FD: a process running as ID is refused PID's FD.
cannot_read() {
	local ERR
	ERR=$(as "$1" head -c 1 "/proc/$2/fd/$3" 2>&1 >/dev/null) && {
		WHY="uid $1 read from it"; return 1; }
	[[ $ERR == *"Permission denied"* ]] && return 0
	WHY="not refused for want of permission: $ERR"
	return 1
}

# cannot_signal ID PID: kill -0 from a process running as ID gets EPERM.
cannot_signal() {
	local ERR
	ERR=$(as "$1" kill -0 "$2" 2>&1) && { WHY="uid $1 may signal it"; return 1; }
	[[ $ERR == *"Operation not permitted"* ]] && return 0
	WHY="not refused for want of permission: $ERR"
	return 1
}

# held ID uid|gid: a live launcher holds that host id (an OFD lock on its
# byte of the lock file; gids from byte 2^32 on).
held() {
	local off=$1 ino
	[ "$2" = gid ] && off=$(($1 + 4294967296))
	ino=$(stat -c %i "$IDS_LOCK" 2>/dev/null) || return 1
	awk -v ino="$ino" -v off="$off" '$2 == "OFDLCK" {
		n = split($6, d, ":"); if (d[n] == ino && $7 <= off && off <= $8) f = 1 }
		END { exit !f }' /proc/locks
}

in_range() { [ "$1" -ge 1879048192 ] && [ "$1" -le 2147352575 ]; }

# --- two sandboxes at once ------------------------------------------------
# A's broker takes its ids with fs.suid_dumpable 1, which would leave a
# process that changed its ids dumpable: the broker must not rely on the
# host's setting.
echo 1 >/proc/sys/fs/suid_dumpable
start_daemon ids-a --cmdline vjtest=wait --vsock "cid=3,uds=$JAIL_TMP/a.sock" ||
	fail "start sandbox A" "$(cat "$JAIL_TMP/ids-a.err")"
VMM_A=${VMM_PID:-} LAUNCHER_A=${LAUNCHER:-}
echo "$SUID_DUMPABLE" >/proc/sys/fs/suid_dumpable
start_daemon ids-b --cmdline vjtest=wait || fail "start sandbox B" "$(cat "$JAIL_TMP/ids-b.err")"
VMM_B=${VMM_PID:-} LAUNCHER_B=${LAUNCHER:-}
[ -n "$VMM_A" ] && [ -n "$VMM_B" ] || { finish; exit; }

sleep 0.3 # the guests' memory is mapped and their vCPUs run
read -r UA _ <<<"$(status_of "$VMM_A" Uid)"
read -r GA _ <<<"$(status_of "$VMM_A" Gid)"
read -r UB _ <<<"$(status_of "$VMM_B" Uid)"
read -r GB _ <<<"$(status_of "$VMM_B" Gid)"
echo "sandbox A: uid $UA gid $GA; sandbox B: uid $UB gid $GB" >&2
expect "two sandboxes started together have different uids" test "$UA" != "$UB"
expect "... and different gids" test "$GA" != "$GB"
expect "neither runs as nobody" eval '[ "$UA" != $NOBODY ] && [ "$UB" != $NOBODY ]'
expect "both ids come from the built-in range" \
	eval 'in_range $UA && in_range $GA && in_range $UB && in_range $GB'
expect "the run directory's state says the ids each VMM runs as" eval \
	'[ "$(sed -n "s/^uid //p; s/^gid //p" "$RUN_DIR/ids-a/state" | tr "\n" " ")" = "$UA $GA " ] &&
	 [ "$(sed -n "s/^uid //p; s/^gid //p" "$RUN_DIR/ids-b/state" | tr "\n" " ")" = "$UB $GB " ]'
expect "the launchers hold A's and B's uids and gids" \
	eval 'held $UA uid && held $GA gid && held $UB uid && held $GB gid'

RAM_A=$(guest_ram "$VMM_A")
expect "the VMM's guest memory is an anonymous mapping" test -n "$RAM_A"
expect "root reads it through /proc/PID/mem (so the refusals below are the kernel's)" \
	test "$(read_mem "$VMM_A" "${RAM_A:-0}" | wc -c)" = 1
expect "a process running as another live sandbox's uid cannot read A's guest memory" \
	cannot_read_mem "$UB" "$VMM_A" "${RAM_A:-0}"
expect "a process running as nobody cannot read it" cannot_read_mem $NOBODY "$VMM_A" "${RAM_A:-0}"
expect "a process running as A's own uid cannot read it (the VMM is not dumpable)" \
	cannot_read_mem "$UA" "$VMM_A" "${RAM_A:-0}"
expect "a process running as A's own uid cannot open the VMM's descriptors" \
	cannot_read "$UA" "$VMM_A" 0
expect "a process running as another live sandbox's uid cannot signal A's VMM (EPERM)" \
	cannot_signal "$UB" "$VMM_A"
expect "a process running as nobody cannot signal it (EPERM)" cannot_signal $NOBODY "$VMM_A"
expect "B's guest memory is as closed to A's uid" \
	eval 'cannot_read_mem "$UA" "$VMM_B" "$(guest_ram "$VMM_B")"'

# The launcher's other child: the broker.
broker=$(ps -o pid= --ppid "$LAUNCHER_A" | awk -v vmm="$VMM_A" '$1 != vmm { print $1; exit }')
expect "A's vsock broker runs as A's uid" test "$(status_of "${broker:-0}" Uid)" = "$UA $UA $UA $UA"
expect "a process running as A's uid cannot open the broker's descriptors (not dumpable)" \
	cannot_read "$UA" "${broker:-0}" 0

LAUNCHER=$LAUNCHER_A stop_daemon
LAUNCHER=$LAUNCHER_B stop_daemon
expect "the ids are free again once the sandboxes end" \
	eval '! held $UA uid && ! held $GA gid && ! held $UB uid && ! held $GB gid'

# --- a range of two ids, one a sandbox ------------------------------------
BASE=2147300000
cat >"$JAIL_TMP/two.yaml" <<EOF
version: 1
ids: {uid_min: $BASE, uid_max: $((BASE + 1)), gid_min: $BASE, gid_max: $((BASE + 1)), block: 1}
EOF
TWO=("$VMJAIL" --host-config "$JAIL_TMP/two.yaml" run "${JAIL[@]}" --kernel "$GUEST"
	--test-exec "$PROBE")
two_daemon() {
	"${TWO[@]}" --id "$1" --detach --rm --pid-file "$JAIL_TMP/$1.pid" -- wait \
		>/dev/null 2>"$JAIL_TMP/$1.err" || { fail "start $1" "$(cat "$JAIL_TMP/$1.err")"; return; }
	STARTED+=("$(cat "$JAIL_TMP/$1.pid")")
}
two_daemon two-1
two_daemon two-2
expect "two sandboxes take the range's two ids" test "$(sed -n 's/^uid //p' \
	"$RUN_DIR/two-1/state" "$RUN_DIR/two-2/state" | sort | tr '\n' ' ')" = \
	"$BASE $((BASE + 1)) "
run_capture 30 "${TWO[@]}" --id two-3 -- exit 0
expect "a third is refused with one line naming the full range (125)" eval \
	'[ "$RC" = 125 ] && [ "$ERR" = "vmjail: host ids: all 2 blocks of 1 ids (uids $BASE..$((BASE + 1)), gids $BASE..$((BASE + 1)): ids in $JAIL_TMP/two.yaml) are held by live sandboxes" ]'
expect "... and leaves nothing behind" eval \
	'[ ! -e "$RUN_DIR/two-3" ] && [ -z "$(find /sys/fs/cgroup -name two-3 2>/dev/null)" ]'

# A SIGKILLed launcher's ids are free with it: its test program dies with
# it (parent-death signal), and the kernel drops the launcher's locks.
kill -KILL "$(cat "$JAIL_TMP/two-1.pid")"
wait_gone "$(cat "$JAIL_TMP/two-1.pid")"
two_daemon two-4
killed=$(sed -n 's/^uid //p' "$RUN_DIR/two-1/state")
expect "a SIGKILLed launcher's id goes to the next sandbox" eval \
	'[ -n "$killed" ] && [ "$killed" = "$(sed -n "s/^uid //p" "$RUN_DIR/two-4/state" 2>/dev/null)" ]'
for p in "$(cat "$JAIL_TMP/two-2.pid")" "$(cat "$JAIL_TMP/two-4.pid")"; do
	LAUNCHER=$p stop_daemon
done
"$VMJAIL" cleanup --run-dir "$RUN_DIR" two-1 >/dev/null
two_daemon two-5
two_daemon two-6
expect "both ids are free again once their sandboxes end" \
	eval '[ -e "$RUN_DIR/two-5/state" ] && [ -e "$RUN_DIR/two-6/state" ]'
for p in "$(cat "$JAIL_TMP/two-5.pid")" "$(cat "$JAIL_TMP/two-6.pid")"; do
	LAUNCHER=$p stop_daemon
done

# --- ids an operator names (flags form) -----------------------------------
OP=$((BASE + 10))
if start_daemon op-1 --test-exec "$PROBE" --uid $OP --gid $OP -- wait; then
	expect "the operator's --uid/--gid are the ids the sandbox runs as" \
		test "$(status_of "$VMM_PID" Uid)" = "$OP $OP $OP $OP"
	run_capture 30 "${PROBE_RUN[@]}" --id op-2 --uid $OP --gid $((OP + 1)) -- exit 0
	expect "a second sandbox naming a uid a live one holds is refused (125)" eval \
		'[[ $RC == 125 && $ERR == *"host ids: uid $OP and gid $((OP + 1)): a live sandbox holds some of them"* ]]'
	stop_daemon
else
	fail "start a sandbox with --uid/--gid" "$(cat "$JAIL_TMP/op-1.err")"
fi

# --- a policy that names host ids -----------------------------------------
HOST=$JAIL_TMP/host.yaml
printf 'version: 1\nroots: {kernels: ["%s"]}\nrun_dir: "%s"\n' "$(dirname "$GUEST")" "$RUN_DIR" >"$HOST"
printf 'version: 1\nvm:\n  kernel: testguest.elf\njail:\n  uid: %s\n' $BASE >"$JAIL_TMP/uid.yaml"
printf 'version: 1\nvm:\n  kernel: testguest.elf\njail:\n  uid: 0\n  gid: 0\n  user_namespace: {host_uid: %s, host_gid: %s, count: 1}\n' \
	$BASE $BASE >"$JAIL_TMP/userns.yaml"
run_capture 30 "$VMJAIL" --host-config "$HOST" check "$JAIL_TMP/uid.yaml"
expect "vmjail check refuses a policy's jail.uid: the launcher gives host ids" eval \
	'[ "$RC" = 1 ] && [ "$ERR" = "vmjail: $JAIL_TMP/uid.yaml:5:8: jail.uid: host ids are not a policy'"'"'s to choose: the launcher gives each sandbox its own from the host'"'"'s range; a policy names ids only inside jail.user_namespace" ]'
run_capture 30 "$VMJAIL" --host-config "$HOST" run "$JAIL_TMP/uid.yaml" \
	"${VMM_OPT[@]}" --id ids-policy
expect "vmjail run refuses it with the same line (125), starting nothing" eval \
	'[ "$RC" = 125 ] && [[ $ERR == *"uid.yaml:5:8: jail.uid: host ids are not a policy"* ]] &&
	 [ ! -e "$RUN_DIR/ids-policy" ]'
run_capture 30 "$VMJAIL" --host-config "$HOST" run "$JAIL_TMP/userns.yaml" \
	"${VMM_OPT[@]}" --id ids-policy
expect "... and a policy's jail.user_namespace.host_uid" eval \
	'[ "$RC" = 125 ] && [[ $ERR == *"userns.yaml:7:30: jail.user_namespace.host_uid: host ids are not a policy"* ]]'

# --- the VMM alone ----------------------------------------------------------
# Run as an unprivileged id, with a /dev/kvm of its own (a node of that
# id's, bound over /dev/kvm in a private mount namespace) and a copy of
# the test guest that id may read.
SOLO=$((BASE + 20))
KVMDIR=$(mktemp -d /tmp/vj-kvm.XXXXXX)
chmod 755 "$KVMDIR"
read -r maj min <<<"$(stat -c "%t %T" /dev/kvm)"
unshare --mount --propagation private sh -c '
	mount -t tmpfs -o mode=0755,size=8m vjkvm "$1" && cp "$2" "$1/guest.elf" &&
	mknod -m 0600 "$1/kvm" c "$3" "$4" && chown "$5:$5" "$1/kvm" "$1/guest.elf" &&
	mount --bind "$1/kvm" /dev/kvm || exit 1
	dir=$1 id=$5; shift 5
	exec setpriv --reuid "$id" --regid "$id" --clear-groups "$@" --kernel "$dir/guest.elf"' \
	sh "$KVMDIR" "$GUEST" $((0x$maj)) $((0x$min)) $SOLO "$VMM" --cmdline vjtest=wait \
	>/dev/null 2>"$JAIL_TMP/solo.err" &
solo=$!
# Until the exec chain (unshare, sh, setpriv) has become the VMM, whose
# guest RAM is then mapped.
for _ in $(seq 200); do
	# vmjail-vmm, or the sanitizer build's vmjail-vmm-static (comm keeps
	# 15 characters)
	case $(cat /proc/$solo/comm 2>/dev/null) in
	vmjail-vmm*) ram=$(guest_ram $solo 2>/dev/null) && break ;;
	esac
	sleep 0.05
done
if [ -n "${ram:-}" ]; then
	uids=$(status_of $solo Uid)
	expect "the VMM alone runs as the id it was started as" \
		test "$uids" = "$SOLO $SOLO $SOLO $SOLO"
	[ "$uids" = "$SOLO $SOLO $SOLO $SOLO" ] ||
		echo "pid $solo ($(cat /proc/$solo/comm 2>&1)): Uid $uids" >&2
	expect "a process of the standalone VMM's own uid cannot read its guest memory" \
		cannot_read_mem $SOLO $solo "$ram"
else
	fail "start the VMM alone as uid $SOLO" "$(cat "$JAIL_TMP/solo.err")"
fi
kill -TERM $solo 2>/dev/null
wait $solo 2>/dev/null
rmdir "$KVMDIR"

"$VMJAIL" cleanup --run-dir "$RUN_DIR" >/dev/null
expect "nothing is left behind" test -z "$(leftovers)"
finish

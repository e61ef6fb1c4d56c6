#!/bin/bash
# The cgroup parent of sandboxes, on this host's real cgroup filesystem
# (no /dev/kvm needed: jail-cgroup-parent runs the launcher's cgroup steps
# without a VMM). vmjail removes only the parent directories it created,
# once their last sandbox has ended (whichever launcher created them, and
# after a SIGKILL through `vmjail cleanup` or the id's next launcher); an
# operator's parent, relative or absolute, keeps its directory and its own
# limits; launchers racing to create and remove one parent neither fail
# nor place a sandbox outside it.
# needs: root
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf $(JAIL_CGROUP_PARENT)
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_root "jail cgroup parent" || exit 0
CGP=$BUILD/tests/integration/jail-cgroup-parent
for f in "$CGP" "$VMJAIL"; do
	[ -x "$f" ] && continue
	skip "jail cgroup parent" "$f is not built"
	echo "WARNING: jail cgroup parent skipped: $f missing" >&2
	exit 0
done
ROUNDS=${ROUNDS:-200}
# Relative parents lie under the launcher's own cgroup. On a v2 host
# that cgroup may hold processes, below which the kernel enables no
# controllers: there every parent here is absolute.
REL=
[ -e /sys/fs/cgroup/cgroup.controllers ] && [ "$(sed -n 's/^0:://p' /proc/self/cgroup)" != / ] &&
	REL=/
# Each case has a parent of its own, so that one case's leftovers cannot
# fail another: $CG_PARENT-CASE.
P=$REL$CG_PARENT
OP=$P-op # an operator's

# parent_dirs PARENT: its directory in each hierarchy a sandbox joins.
parent_dirs() { "$CGP" parents "$1"; }

# The operator's own limits: 2 GiB of memory and 100 pids for all
# sandboxes together, in whichever files this host has.
LIMIT_FILES="memory.limit_in_bytes memory.max pids.max"
limit_value() { case $1 in pids.*) echo 100 ;; *) echo 2147483648 ;; esac; }

# operator_parent PARENT: created as an operator would, with those limits.
operator_parent() {
	local d f
	for d in $(parent_dirs "$1"); do
		mkdir -p "$d" || return 1
		for f in $LIMIT_FILES; do
			[ -e "$d/$f" ] && echo "$(limit_value $f)" >"$d/$f"
		done
	done
	return 0
}

# limits PARENT: every directory and limit file of it, for comparison.
limits() {
	local d f
	for d in $(parent_dirs "$1"); do
		[ -d "$d" ] || { echo "$d: missing"; continue; }
		for f in $LIMIT_FILES; do
			[ -e "$d/$f" ] && echo "$d/$f=$(cat "$d/$f")"
		done
	done
}

# gone PARENT: none of its directories exists; WHY names one that does.
gone() {
	local d
	for d in $(parent_dirs "$1"); do
		[ -e "$d" ] && { WHY="$d exists"; return 1; }
	done
	return 0
}

# there PARENT: all of its directories exist.
there() {
	local d
	for d in $(parent_dirs "$1"); do
		[ -d "$d" ] || { WHY="$d is missing"; return 1; }
	done
	return 0
}

remove_operator_parent() {
	local d
	for d in $(parent_dirs "$1"); do rmdir "$d" 2>/dev/null; done
}

# sandbox ID PARENT [HOLD_MS]: one sandbox's groups created and undone.
sandbox() { "$CGP" sandbox "$RUN_DIR" "$2" "$1" "${3:-0}" >/dev/null; }

# hold ID PARENT: a sandbox whose groups stay until SIGTERM (or SIGKILL);
# sets HELD to its pid once its groups exist.
hold() {
	local log=$JAIL_TMP/$1.out i
	rm -f "$log" # an earlier hold's "ready" must not be taken for this one's
	"$CGP" sandbox "$RUN_DIR" "$2" "$1" 600000 >"$log" &
	HELD=$!
	STARTED+=("$HELD")
	for ((i = 0; i < 500; i++)); do
		grep -q '^ready$' "$log" 2>/dev/null && return 0
		sleep 0.01
	done
	return 1
}

# The reported case: an operator's relative parent, with its own limits,
# used by a sandbox; then the same for an absolute one.
for parent in "$OP" "/${OP#/}"; do
	operator_parent "$parent" || fail "create the operator's parent $parent"
	before=$(limits "$parent")
	sandbox cgp-op "$parent"
	expect "an operator's parent $parent outlives its sandbox with its own limits" \
		test "$(limits "$parent")" = "$before"
	[ "$(limits "$parent")" = "$before" ] ||
		diff <(echo "$before") <(limits "$parent") >&2
	remove_operator_parent "$parent"
done

# Parents vmjail creates, with every directory on the way to them.
sandbox cgp-new "$P-new/a/b"
expect "a parent vmjail created ($P-new/a/b) is removed with its sandbox" gone "$P-new"
sandbox cgp-new "/$CG_PARENT-abs/a"
expect "an absolute one (/$CG_PARENT-abs/a) too" gone "/$CG_PARENT-abs"

# Created by A; B joins; A ends first: the parent stays for B, and goes
# with B although B did not create it.
hold cgp-a "$P-ab" && a=$HELD
hold cgp-b "$P-ab" && b=$HELD
kill -TERM "$a"; wait "$a"
expect "the parent stays while another sandbox still uses it" there "$P-ab"
kill -TERM "$b"; wait "$b"
expect "and goes with the last sandbox, which did not create it" gone "$P-ab"

# A SIGKILLed launcher: `vmjail cleanup` removes its group and the parent
# vmjail created, but never an operator's.
hold cgp-kill "$P-kill" && kill -KILL "$HELD" && wait "$HELD" 2>/dev/null
expect "a SIGKILLed launcher leaves its parent" there "$P-kill"
"$VMJAIL" cleanup --run-dir "$RUN_DIR" cgp-kill >/dev/null
expect "vmjail cleanup removes the parent vmjail created" gone "$P-kill"
operator_parent "$OP"
before=$(limits "$OP")
hold cgp-kill "$OP" && kill -KILL "$HELD" && wait "$HELD" 2>/dev/null
"$VMJAIL" cleanup --run-dir "$RUN_DIR" cgp-kill >/dev/null
expect "vmjail cleanup leaves an operator's parent and its limits" \
	test "$(limits "$OP")" = "$before"
remove_operator_parent "$OP"
# ... and so does the id's next launcher, replaying the dead one's records.
hold cgp-kill "$P-next" && kill -KILL "$HELD" && wait "$HELD" 2>/dev/null
sandbox cgp-kill "$P-next"
expect "the id's next launcher removes what a SIGKILLed one created" gone "$P-next"

# A limit of the settings table (policy/settings.h), here the CPU weight,
# reaches the sandbox's cpu group in the file this host has: v2 cpu.weight
# as written, v1 cpu.shares scaled by 1024/100.
cw_out=$JAIL_TMP/cgp-cw.out
"$CGP" weight cpu_weight=250 sandbox "$RUN_DIR" "$P-cw" cgp-cw 600000 >"$cw_out" &
cw=$!
STARTED+=("$cw")
for ((i = 0; i < 500; i++)); do
	grep -q '^ready$' "$cw_out" 2>/dev/null && break
	sleep 0.01
done
cw_dir=$(parent_dirs "$P-cw" | head -n 1)/cgp-cw
if [ -e "$cw_dir/cpu.weight" ]; then
	expect "cpu_weight 250 is the sandbox's cpu.weight" test "$(cat "$cw_dir/cpu.weight")" = 250
elif [ -e "$cw_dir/cpu.shares" ]; then
	expect "cpu_weight 250 is the sandbox's cpu.shares 2560 (v1)" \
		test "$(cat "$cw_dir/cpu.shares")" = 2560
else
	fail "cpu_weight reaches the sandbox's cpu group" "no cpu.weight or cpu.shares in $cw_dir"
fi
kill -TERM "$cw"; wait "$cw"
expect "the weighted sandbox's groups go with it" gone "$P-cw"
# A value the policy refuses is refused here too, before any group exists.
out=$("$CGP" weight cpu_weight=10001 sandbox "$RUN_DIR" "$P-cw" cgp-cw 0 2>&1)
expect "cpu_weight 10001 is refused with the policy's message" \
	test "$out" != "${out#*jail.cgroup.cpu_weight: expected at most 10000, found \"10001\"}"
expect "and leaves nothing behind" gone "$P-cw"

# Races: launchers creating and removing one parent at the same time.
# Every sandbox must be created, inside the parent; an operator's parent
# must be the same directory, with its limits, throughout and after.
expect "$ROUNDS x 4 racing sandboxes under a parent vmjail creates and removes" \
	"$CGP" race "$RUN_DIR" "$P-race" 4 "$ROUNDS"
expect "which is gone after the last" gone "$P-race"
operator_parent "$OP"
before=$(limits "$OP")
expect "$ROUNDS x 4 racing sandboxes stay inside an operator's parent" \
	"$CGP" race "$RUN_DIR" "$OP" 4 "$ROUNDS" same
expect "which keeps its limits" test "$(limits "$OP")" = "$before"
remove_operator_parent "$OP"

# v1 cpuset: a group there needs CPUs and memory nodes, which vmjail
# copies from above into the directories it makes, never into an
# operator's: one left empty is the operator's to set, and an error.
if [ -e /sys/fs/cgroup/cpuset/cpuset.cpus ]; then
	cs() { "$CGP" cpuset 0 "$@"; }
	cs_sandbox() { cs sandbox "$RUN_DIR" "$1" cgp-cs 0 >/dev/null; }
	cs_sandbox "$P-cs/a"
	expect "v1 cpuset: a sandbox gets a parent vmjail makes, removed with it" gone "$P-cs"
	opcs=$(cs parents "$P-csop" | grep /cpuset/)
	mkdir "$opcs"
	OUT=$(cs_sandbox "$P-csop" 2>&1)
	expect "v1 cpuset: below an operator's parent without CPUs, the error names it" \
		eval '[[ $OUT == *"cgroup $opcs: cpuset.cpus is empty"* ]]'
	expect "v1 cpuset: and its CPUs are left empty" \
		eval '[ -d "$opcs" ] && [ -z "$(cat "$opcs/cpuset.cpus")" ]'
	echo 0 >"$opcs/cpuset.cpus"
	echo 0 >"$opcs/cpuset.mems"
	expect "v1 cpuset: once the operator sets them, a sandbox runs below it" \
		cs_sandbox "$P-csop"
	rmdir "$opcs"
fi

# cgroup v2, where the host's controllers are bound to v1 (the
# development machines, tests/README.md): a private mount namespace where only cgroup2 is
# mounted, and the steps below vj_cgroup_create() for one hierarchy,
# with a controller its cgroup2 does offer enabled on the way. (A v2
# host took the cases above through vj_cgroup_create() itself.)
in_v2() {
	unshare -m bash -c 'umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && "$@"' \
		in_v2 "$@"
}
if [ ! -e /sys/fs/cgroup/cgroup.controllers ] && in_v2 true; then
	ctl=$(in_v2 cat /sys/fs/cgroup/cgroup.controllers | cut -d' ' -f1)
	root_enabled=$(in_v2 cat /sys/fs/cgroup/cgroup.subtree_control)
	v2() { in_v2 "$CGP" way /sys/fs/cgroup "$ctl" "$@"; }
	V2OP=/sys/fs/cgroup/$CG_PARENT-v2op
	in_v2 bash -c "mkdir $V2OP && echo 50 >$V2OP/cgroup.max.descendants"
	v2 sandbox "$RUN_DIR" "/$CG_PARENT-v2op" cgp-v2 0 >/dev/null
	expect "v2: an operator's parent outlives its sandbox with its own limit" \
		test "$(in_v2 cat $V2OP/cgroup.max.descendants)" = 50
	expect "v2: and gains only ${ctl:-no controller} in its cgroup.subtree_control" \
		test "$(in_v2 cat $V2OP/cgroup.subtree_control)" = "$ctl"
	expect "v2: $ROUNDS x 4 racing sandboxes stay inside an operator's parent" \
		v2 race "$RUN_DIR" "/$CG_PARENT-v2op" 4 "$ROUNDS" same
	expect "v2: which keeps its limit" test "$(in_v2 cat $V2OP/cgroup.max.descendants)" = 50
	in_v2 rmdir "$V2OP"
	v2 sandbox "$RUN_DIR" "/$CG_PARENT-v2new/a" cgp-v2 0 >/dev/null
	expect "v2: a parent vmjail created is removed with its sandbox" \
		in_v2 test ! -e "/sys/fs/cgroup/$CG_PARENT-v2new"
	expect "v2: $ROUNDS x 4 racing sandboxes under a parent vmjail creates and removes" \
		v2 race "$RUN_DIR" "/$CG_PARENT-v2new" 4 "$ROUNDS"
	expect "v2: which is gone after the last" in_v2 test ! -e "/sys/fs/cgroup/$CG_PARENT-v2new"
	# vmjail enabled the controller at the root for good, as it does for
	# the controllers a sandbox needs; the test puts the host back.
	[[ " $root_enabled " == *" $ctl "* ]] || [ -z "$ctl" ] ||
		in_v2 bash -c "echo -$ctl >/sys/fs/cgroup/cgroup.subtree_control"
fi

left=$(leftovers; find /sys/fs/cgroup -maxdepth 6 -type d -name "$CG_PARENT-*" | sed 's/^/cgroup: /')
expect "nothing is left behind" test -z "$left"
[ -z "$left" ] || echo "$left" | head -20 >&2
finish

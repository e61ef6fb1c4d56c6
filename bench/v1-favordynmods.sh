#!/bin/bash
# On a cgroup v1 host: a jailed sandbox's start with and without a
# `favordynmods` cgroup mount (jailer/README.md), in turn: a named v1
# hierarchy is mounted with it before every other run and unmounted after
# (while one is mounted the kernel's cgroup_threadgroup_rwsem favours
# writers: a v1 move waits for no grace period, every fork and exit pays
# more). Per setting: exec of vmjail to the guest's first kvm_entry
# (tracefs, those two events alone) and the launcher's --timing phases,
# medians of RUNS after a discarded warm-up round. Figures only; in the
# emulated test host run it under `setarch -R` (bench/startup.md).
#
# usage: bench/v1-favordynmods.sh   (root, /dev/kvm, tracefs, cgroup v1; env: BUILD, RUNS)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
. "$TOP/bench/lib.sh"
RUNS=${RUNS:-10}
GUEST=$BUILD/tests/guest/testguest.elf
OUT=$(mktemp -d)
D=/run/vmjail-favordynmods-$$
trap 'umount "$D" 2>/dev/null; rmdir "$D" 2>/dev/null; echo 0 2>/dev/null >"$T/tracing_on"; rm -rf "$OUT" /run/vmjail-fav' EXIT
kvm_trace_ready v1-favordynmods || exit 0
if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
	echo "v1-favordynmods: skipped (a cgroup v2 host: no v1 move to spare)"
	exit 0
fi
echo 0 >$T/tracing_on; echo nop >$T/current_tracer; echo >$T/set_event
echo sched:sched_process_exec >>$T/set_event; echo kvm:kvm_entry >>$T/set_event
echo 1 >$T/options/event-fork
one() { # TAG ID
	echo >$T/trace
	( echo $BASHPID >$T/set_event_pid; echo 1 >$T/tracing_on
	  exec "$BUILD/vmjail" run --run-dir /run/vmjail-fav --id "$2" --kernel "$GUEST" \
		--cmdline vjtest=triple --memory 128M --timing </dev/null >/dev/null 2>"$OUT/err" )
	echo 0 >$T/tracing_on
	case $2 in w*) return ;; esac
	awk '!t0 && $0 ~ /sched_process_exec:.*filename=[^ ]*\/vmjail / { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) t0 = substr($i, 1, length($i) - 1) }
	     t0 && /kvm_entry:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { printf "%.3f\n", (substr($i, 1, length($i) - 1) - t0) * 1000; exit } }' $T/trace >>"$OUT/$1.first"
	grep -o 'timing phases .*' "$OUT/err" | tr ' ' '\n' | grep = | while IFS== read -r k v; do echo "$v" >>"$OUT/$1.p_$k"; done
}
mkdir -p $D
for i in $(seq 0 "$RUNS"); do
	p=a; f=b; [ $i = 0 ] && p=wa && f=wb
	one plain "$p$i"
	mount -t cgroup -o none,name=vjfav,favordynmods cgroup $D || { echo "favordynmods mount failed"; exit 1; }
	one fav "$f$i"
	umount $D
done
for t in plain fav; do
	printf '%s: exec -> first kvm_entry %s ms; phases:' $t "$(median <"$OUT/$t.first")"
	for k in id ids netns resources cgroup broker clone placed exec reaped procs undone done total; do
		[ -s "$OUT/$t.p_$k" ] && printf ' %s %s' $k "$(median <"$OUT/$t.p_$k")"
	done; echo
done

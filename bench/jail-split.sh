#!/bin/bash
# Where a jailed sandbox's start goes, from the exec of `vmjail` to the
# guest's first instruction, split by the kernel's own events (tracefs:
# raw_syscalls, sched_process_exec/fork, sched_switch, page_fault_user,
# kvm_entry; no ptrace): every process of the sandbox together (launcher,
# jailed child, vsock broker, VMM and its threads), the time they were on
# the CPU and the time the CPU ran something else or nothing while they
# waited (and for whom: idle, kworkers, KVM's threads), each system call
# by number with its count, its wall time and the part of it spent off
# the CPU, and the launcher's `--timing` phases of the same runs; and,
# from a run of its own beside each, exec to the first kvm_entry with only
# those two events traced (the others slow what they watch). A second
# build (BEFORE=DIR with vmjail and vmjail-vmm) is measured beside BUILD's,
# in turn, after a discarded warm-up round; medians of RUNS. Run it under
# `setarch -R` in the emulated test host (bench/startup.md). A diagnosis,
# not a figure to compare across machines: nothing passes or fails on time.
#
# usage: bench/jail-split.sh   (root, /dev/kvm, tracefs; env: BUILD, RUNS, BEFORE,
#                               NAMES: "NR name" lines, default $BUILD/bench/syscall-names,
#                               made from this host's headers when they are there)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-$TOP/build}
RUNS=${RUNS:-10}
GUEST=$BUILD/tests/guest/testguest.elf
NAMES=${NAMES:-$BUILD/bench/syscall-names}
RUN_DIR=/run/vmjail-split-$$
OUT=$(mktemp -d)
trap 'echo 0 2>/dev/null >"$T/tracing_on"; echo 2>/dev/null >"$T/set_event"; rm -rf "$OUT" "$RUN_DIR"' EXIT

# The test host has no headers: the table is made where they are (the
# build host, before the run) and carried in with the build tree.
hdr=/usr/include/x86_64-linux-gnu/asm/unistd_64.h
if [ ! -s "$NAMES" ] && [ -r "$hdr" ]; then
	mkdir -p "$(dirname "$NAMES")"
	awk '$1 == "#define" && $2 ~ /^__NR_/ { print $3, substr($2, 6) }' "$hdr" >"$NAMES"
fi
kvm_trace_ready jail-split || exit 0

builds=("$BUILD")
[ -n "${BEFORE:-}" ] && builds=("$BEFORE" "$BUILD")

echo "host: kernel $(uname -r), $(nproc) CPU(s), cgroup $(stat -f -c %T /sys/fs/cgroup)," \
	"personality $(setarch --show 2>/dev/null | tr '\n' ' ')"
echo 0 >$T/tracing_on
echo nop >$T/current_tracer
echo 65536 >$T/buffer_size_kb
echo >$T/set_event
for e in raw_syscalls:sys_enter raw_syscalls:sys_exit sched:sched_process_exec \
	sched:sched_process_fork sched:sched_switch exceptions:page_fault_user kvm:kvm_entry; do
	echo $e >>$T/set_event
done
echo 1 >$T/options/event-fork
full_events=$(cat $T/set_event)
# The same without the system calls' and the scheduler's events, whose
# tracing slows what it measures: exec to the first kvm_entry alone.
light_events="sched:sched_process_exec
kvm:kvm_entry"

# split TAG: one traced run's figures, appended to $OUT/TAG.*
split() {
	awk -v out="$OUT/$1" '
	{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); ev = $(i + 1); break }
	  k = split($1, p, "-"); pid = p[k] }
	# From the launcher'"'"'s exec (setarch execs it; the VMM'"'"'s exec comes later).
	!t0 && ev == "sched_process_exec:" && $0 ~ /filename=[^ ]*\/vmjail / { t0 = ts; mine[pid] = 1; next }
	!t0 { next }
	ev == "kvm_entry:" { t1 = ts; exit }
	ev == "sched_process_fork:" { c = $0; sub(/.*child_pid=/, "", c); sub(/ .*/, "", c)
		if (pid in mine) mine[c] = 1; next }
	!(pid in mine) && ev != "sched_switch:" { next }
	ev == "page_fault_user:" { pf++; next }
	ev == "sched_switch:" {
		pp = $0; sub(/.*prev_pid=/, "", pp); sub(/ .*/, "", pp)
		np = $0; sub(/.*next_pid=/, "", np); sub(/ .*/, "", np)
		nc = $0; sub(/.*next_comm=/, "", nc); sub(/ next_pid=.*/, "", nc); sub(/[\/:].*/, "", nc)
		if ((pp in mine) && !(np in mine)) { off_at = ts; to = nc; off_nr = (pp in at) ? nr[pp] : "user" }
		if (!(pp in mine) && (np in mine) && off_at) {
			d = ts - off_at; off += d; offs[to] += d; offnr[off_nr] += d; off_at = 0 }
		next }
	ev == "sys_enter:" { for (i = 1; i <= NF; i++) if ($i == "NR") { nr[pid] = $(i + 1); at[pid] = ts }; next }
	ev == "sys_exit:" && (pid in at) { d = ts - at[pid]; sum[nr[pid]] += d; cnt[nr[pid]]++; all += d; calls++; delete at[pid] }
	END {
		if (!t1) exit 1
		printf "%.3f\n", (t1 - t0) * 1000 >>(out ".total")
		printf "%.3f\n", (t1 - t0 - off) * 1000 >>(out ".oncpu")
		printf "%.3f\n", off * 1000 >>(out ".off")
		printf "%d\n", calls >>(out ".calls")
		printf "%d\n", pf >>(out ".faults")
		for (x in offs) printf "%s %.3f\n", x, offs[x] * 1000 >>(out ".offto")
		for (x in sum) printf "%s %d %.3f %.3f\n", x, cnt[x], sum[x] * 1000, offnr[x] * 1000 >>(out ".nr")
	}' $T/trace
}

med() { median <"$1"; }

for i in $(seq 0 "$RUNS"); do
	order=("${builds[@]}")
	[ $((i % 2)) = 1 ] && [ ${#builds[@]} = 2 ] && order=("${builds[1]}" "${builds[0]}")
	for b in "${order[@]}"; do
		tag=$(basename "$b")
		echo "$light_events" >$T/set_event
		echo >$T/trace
		( echo $BASHPID >$T/set_event_pid; echo 1 >$T/tracing_on
		  exec "$b/vmjail" run --run-dir "$RUN_DIR" --id "light$i" --kernel "$GUEST" \
			--cmdline vjtest=triple --memory 128M </dev/null >/dev/null 2>&1 )
		echo 0 >$T/tracing_on
		[ "$i" != 0 ] && awk '
			!t0 && $0 ~ /sched_process_exec:.*filename=[^ ]*\/vmjail / { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) t0 = substr($i, 1, length($i) - 1) }
			t0 && /kvm_entry:/ { for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { printf "%.3f\n", (substr($i, 1, length($i) - 1) - t0) * 1000; exit } }' \
			$T/trace >>"$OUT/$tag.light"
		echo "$full_events" >$T/set_event
		echo >$T/trace
		# Only this subshell's descendants are traced.
		( echo $BASHPID >$T/set_event_pid; echo 1 >$T/tracing_on
		  exec "$b/vmjail" run --run-dir "$RUN_DIR" --id "split$i" --kernel "$GUEST" \
			--cmdline vjtest=triple --memory 128M --timing </dev/null >/dev/null 2>"$OUT/err" )
		echo 0 >$T/tracing_on
		echo >$T/set_event_pid
		grep -q 'timing phases' "$OUT/err" || echo "run $i of $tag: $(tail -1 "$OUT/err")"
		[ "$i" = 0 ] && continue
		split "$tag" || echo "run $i of $tag: no kvm_entry traced"
		grep -o 'timing phases .*' "$OUT/err" | tr ' ' '\n' | grep = |
			while IFS== read -r k v; do echo "$v" >>"$OUT/$tag.p_$k"; done
	done
done

name_of() { awk -v n="$1" '$1 == n { print $2; f = 1 } END { if (!f) print "NR " n }' "$NAMES" 2>/dev/null || echo "NR $1"; }
for b in "${builds[@]}"; do
	tag=$(basename "$b")
	echo "== $b: exec of vmjail -> first kvm_entry, medians of $RUNS (ms)"
	echo "  traced by the exec and kvm_entry alone: $(med "$OUT/$tag.light")"
	echo "  total $(med "$OUT/$tag.total"), its processes on the CPU $(med "$OUT/$tag.oncpu")," \
		"off it $(med "$OUT/$tag.off"); system calls $(med "$OUT/$tag.calls")," \
		"user page faults $(med "$OUT/$tag.faults")"
	printf '  off the CPU, ms per run, to:'
	awk '{ s[$1] += $2 } END { for (x in s) printf " %s %.2f\n", x, s[x] / '"$RUNS"' }' \
		"$OUT/$tag.offto" | sort -k2 -gr | head -6 | tr '\n' ' '
	echo
	printf '  launcher phases:'
	for k in id ids netns resources cgroup broker clone placed exec; do
		[ -s "$OUT/$tag.p_$k" ] && printf ' %s %s' "$k" "$(med "$OUT/$tag.p_$k")"
	done
	echo
	echo "  system calls by wall time (per run: calls, wall ms, of it off the CPU ms):"
	awk '{ c[$1] += $2; w[$1] += $3; o[$1] += $4 }
	     END { for (x in c) printf "%s %.1f %.2f %.2f\n", x, c[x] / '"$RUNS"', w[x] / '"$RUNS"', o[x] / '"$RUNS"' }' \
		"$OUT/$tag.nr" | sort -k3 -gr | head -25 | while read -r n c w o; do
		printf '    %-18s %6s %8s %8s\n' "$(name_of "$n")" "$c" "$w" "$o"
	done
done

#!/bin/bash
# Where the time from exec to the first KVM_RUN goes, for vmjail-vmm (on
# THP, on 4 KiB pages, and at fixed addresses) and kvmtool side by side,
# from the kernel's own events with no ptrace (tracefs: raw_syscalls,
# sched_process_exec, sched_switch, page_fault_user, kvm_entry): the time
# inside system calls (waits in them included) and the calls that took
# most of it, the time the program was off the CPU and to whom, its user
# page faults, and the rest (user space and the faults' handling). Runs in turn after a
# discarded warm-up round. A diagnosis (bench/startup.md), not a figure
# to compare across machines.
#
# usage: bench/first-run-split.sh   (root, /dev/kvm, tracefs; env: BUILD, RUNS,
#                                    LKVM: kvmtool's lkvm, else $BUILD/bench/lkvm or PATH's)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-$TOP/build}
RUNS=${RUNS:-5}
GUEST=$BUILD/tests/guest/testguest.elf
OUT=$(mktemp -d)
trap 'echo 0 >"$T/tracing_on" 2>/dev/null; echo >"$T/set_event" 2>/dev/null; rm -rf "$OUT"' EXIT

kvm_trace_ready first-run-split || exit 0
LKVM=$(find_lkvm)
# kvmtool's guest: a flat binary that resets through the i8042 (peers-bench.sh)
printf '\xb0\xfe\xe6\x64\xf4\xeb\xfd' >"$OUT/reset.bin"

names=(thp 4k fixed)
[ -n "$LKVM" ] && names+=(kvmtool)
run_one() {
	case $1 in
	thp | 4k) "$BUILD/vmjail-vmm" --kernel "$GUEST" --cmdline vjtest=triple --memory 128M \
		--memory-backing "$1" ;;
	# The same without address randomisation (setarch -R): an emulated
	# test host's CPU (QEMU TCG) keeps the code it translated by virtual
	# address, so a static PIE placed anew on every run is translated
	# anew, where kvmtool's fixed-address binary reuses the last run's.
	fixed) setarch "$(uname -m)" -R "$BUILD/vmjail-vmm" --kernel "$GUEST" \
		--cmdline vjtest=triple --memory 128M ;;
	kvmtool) "$LKVM" run -k "$OUT/reset.bin" -m 128 -c 1 --console serial ;;
	esac
}

echo 0 >$T/tracing_on
echo nop >$T/current_tracer
echo 32768 >$T/buffer_size_kb
echo >$T/set_event
for e in raw_syscalls:sys_enter raw_syscalls:sys_exit sched:sched_process_exec sched:sched_switch \
	exceptions:page_fault_user kvm:kvm_entry; do
	echo $e >>$T/set_event
done
echo 1 >$T/options/event-fork

echo "exec -> first kvm_entry, split by the kernel's events (ms; syscalls by x86-64 number):"
for i in $(seq 0 "$RUNS"); do
	for n in "${names[@]}"; do
		echo >$T/trace
		# Only this subshell's descendants are traced.
		( echo $BASHPID >$T/set_event_pid; echo 1 >$T/tracing_on
		  run_one "$n" </dev/null >/dev/null 2>&1 )
		echo 0 >$T/tracing_on
		[ "$i" = 0 ] && continue
		awk -v who="$n" '
		{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); ev = $(i + 1); break }
		  k = split($1, p, "-"); pid = p[k] }
		# From the last exec (setarch execs the VMM).
		ev == "sched_process_exec:" { t0 = ts; mine[pid] = 1; pf = off = off_at = all = calls = 0
			split("", sum); split("", cnt); split("", offs); next }
		!t0 { next }
		ev == "kvm_entry:" { t1 = ts; exit }
		ev == "page_fault_user:" { pf++ }
		ev == "sched_switch:" {
			pp = $0; sub(/.*prev_pid=/, "", pp); sub(/ .*/, "", pp)
			np = $0; sub(/.*next_pid=/, "", np); sub(/ .*/, "", np)
			if ((pp in mine) && !(np in mine)) { off_at = ts; to = np }
			if (!(pp in mine) && (np in mine) && off_at) { off += ts - off_at; offs[to] += ts - off_at; off_at = 0 }
			next }
		ev == "sys_enter:" { mine[pid] = 1; for (i = 1; i <= NF; i++) if ($i == "NR") { nr[pid] = $(i + 1); at[pid] = ts } }
		ev == "sys_exit:" && (pid in at) { d = ts - at[pid]; sum[nr[pid]] += d; cnt[nr[pid]]++; all += d; calls++; delete at[pid] }
		END {
			top = ""
			for (x in sum) if (top == "" || sum[x] > sum[top]) top = x
			big = ""
			for (x in offs) if (big == "" || offs[x] > offs[big]) big = x
			printf "  %-7s total %6.1f  in %3d syscalls %5.1f (most: NR %s, %d calls, %.1f)  off CPU %5.1f (most to pid %s: %.1f)  %3d faults  rest %5.1f\n",
				who, (t1 - t0) * 1000, calls, all * 1000, top, cnt[top], sum[top] * 1000,
				off * 1000, big, offs[big] * 1000, pf, (t1 - t0 - all) * 1000 }' $T/trace
	done
done

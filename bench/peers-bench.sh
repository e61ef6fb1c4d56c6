#!/bin/bash
# vmjail beside its peers, measured the same way in the same run: exec to
# the first KVM_RUN of vmjail-vmm alone, of a jailed sandbox (exec of
# vmjail), of kvmtool (lkvm) and of QEMU's microvm, each with a trivial
# guest; then each run serially, launched and finished one after another:
# runs per second, and the machine's busy CPU time per run.
#
# exec -> first KVM_RUN comes from the kernel's own tracepoints, so no
# VMM's own clock or instrumentation is trusted: sched:sched_process_exec
# of the program run (the launcher's exec for a jailed sandbox) to the
# first kvm:kvm_entry after it. The CPU time is /proc/stat's busy time of
# the whole machine over the serial runs, divided by their number: every
# process and kernel thread a run costs (KVM's teardown in workqueues
# included), which getrusage of the children would miss; run on an
# otherwise idle host.
#
# The guests: the test guest (vjtest=triple: one line, then a triple
# fault, the VMM's end) for vmjail and QEMU (its PVH entry, -no-reboot);
# kvmtool boots no ELF, so a flat binary of three instructions resetting
# through its i8042. One discarded warm-up round, then round-robin; medians.
# Figures only: nothing here passes or fails on time. In an emulated (TCG)
# test host, also run it under `setarch -R`: the emulator re-translates a
# randomly placed PIE on every run, kvmtool's fixed-address binary not
# (bench/startup.md).
#
# usage: bench/peers-bench.sh     (root, /dev/kvm, tracefs; env: BUILD, RUNS,
#                                  LKVM: kvmtool's lkvm, else $BUILD/bench/lkvm or PATH's)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-$TOP/build}
RUNS=${RUNS:-10}
GUEST=$BUILD/tests/guest/testguest.elf
GUEST_PVH=$BUILD/tests/guest/testguest-pvh.elf
RUN_DIR=/run/vmjail-peers-$$
OUT=$(mktemp -d)
trap 'echo 0 >"$T/tracing_on" 2>/dev/null; rm -rf "$OUT" "$RUN_DIR"' EXIT

kvm_trace_ready peers-bench || exit 0

LKVM=$(find_lkvm)
QEMU=$(command -v qemu-system-x86_64)
# kvmtool loads a flat binary at 1000:0000, in real mode: mov al,0xfe;
# out 0x64,al (the i8042's reset, its exit); hlt; jmp back to the hlt.
printf '\xb0\xfe\xe6\x64\xf4\xeb\xfd' >"$OUT/reset.bin"

names=("vmjail-vmm" "vmjail run")
[ -n "$LKVM" ] && names+=("kvmtool")
[ -n "$QEMU" ] && names+=("QEMU microvm")

run_one() { # NAME ID
	case $1 in
	"vmjail-vmm") "$BUILD/vmjail-vmm" --kernel "$GUEST" --cmdline vjtest=triple --memory 128M ;;
	"vmjail run") "$BUILD/vmjail" run --run-dir "$RUN_DIR" --id "peers$2" --kernel "$GUEST" \
		--cmdline vjtest=triple --memory 128M ;;
	kvmtool) "$LKVM" run -k "$OUT/reset.bin" -m 128 -c 1 --console serial ;;
	"QEMU microvm") "$QEMU" -M microvm -accel kvm -cpu host,-arch-capabilities -m 128 \
		-smp 1 -nodefaults -no-user-config -display none -no-reboot -serial stdio \
		-kernel "$GUEST_PVH" -append vjtest=triple ;;
	esac
}

# The program's exec is the first exec in the trace (the shell forks,
# then execs it); the first kvm_entry after it is the first KVM_RUN that
# reached the guest. Timestamps are trace_clock's, in seconds.
first_run_ms() {
	awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { ts = substr($i, 1, length($i) - 1); break } }
		/ sched_process_exec: / && !exec { exec = ts }
		/ kvm_entry: / && exec { printf "%.3f\n", (ts - exec) * 1000; found = 1; exit }
		END { if (!found) print "-" }' "$T/trace"
}

echo nop >$T/current_tracer
echo 0 >$T/tracing_on
echo 4096 >$T/buffer_size_kb
echo 1 >$T/events/sched/sched_process_exec/enable
echo 1 >$T/events/kvm/kvm_entry/enable
for i in $(seq 0 "$RUNS"); do
	for n in "${names[@]}"; do
		echo >$T/trace
		echo 1 >$T/tracing_on
		run_one "$n" "$i" </dev/null >/dev/null 2>"$OUT/err"
		echo 0 >$T/tracing_on
		ms=$(first_run_ms)
		[ "$ms" = - ] && echo "$n, run $i: no guest entry traced: $(tail -n 1 "$OUT/err")"
		[ "$i" = 0 ] || [ "$ms" = - ] || echo "$ms" >>"$OUT/first.$n"
	done
done
echo 0 >$T/events/sched/sched_process_exec/enable
echo 0 >$T/events/kvm/kvm_entry/enable

median() {
	sort -g "$1" 2>/dev/null | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }

echo "host: kernel $(uname -r), $(nproc) CPUs, THP $(cat /sys/kernel/mm/transparent_hugepage/enabled)," \
	"kvm.nx_huge_pages=$(cat /sys/module/kvm/parameters/nx_huge_pages 2>/dev/null)"
echo "exec -> first KVM_RUN (tracepoints: the program's exec to its first kvm_entry), medians of $RUNS:"
for n in "${names[@]}"; do
	printf '  %-13s %8s ms\n' "$n" "$(median "$OUT/first.$n")"
	eval "m_${n//[^a-zA-Z]/_}=\$(median \"\$OUT/first.\$n\")"
done

echo "serially, $RUNS each, launched and finished one after another (busy CPU: the whole machine's, /proc/stat):"
hz=$(getconf CLK_TCK 2>/dev/null || echo 100) # USER_HZ: 100 on x86
for n in "${names[@]}"; do
	c0=$(busy_ticks)
	t0=$EPOCHREALTIME
	for i in $(seq 1 "$RUNS"); do
		run_one "$n" "s$i" </dev/null >/dev/null 2>&1
	done
	t1=$EPOCHREALTIME
	c1=$(busy_ticks)
	awk -v n="$n" -v r="$RUNS" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" -v hz="$hz" 'BEGIN {
		printf "  %-13s %6.2f runs/s, %7.1f ms busy CPU per run\n", n, r / (t1 - t0), c * 1000 / hz / r }'
done

# The targets (2 ms alone, 5 ms jailed, from the peers' 13 ms for kvmtool
# and 27 ms for QEMU on hardware) as shares of each peer, next to the
# shares measured here: a translation, not a hardware measurement.
awk -v a="$m_vmjail_vmm" -v j="$m_vmjail_run" -v k="${m_kvmtool:--}" -v q="${m_QEMU_microvm:--}" 'BEGIN {
	print "vmjail against the peers, same run (target: the share the targets make of the peers'"'"' hardware figures):"
	if (k != "-" && k > 0)
		printf "  / kvmtool: alone %.2f (target 2/13 = 0.15), jailed %.2f (target 5/13 = 0.38)\n", a / k, j / k
	if (q != "-" && q > 0)
		printf "  / QEMU:    alone %.2f (target 2/27 = 0.074), jailed %.2f (target 5/27 = 0.19)\n", a / q, j / q
	print "  (nested figures: a translation through the peers, not a hardware measurement)"
}'

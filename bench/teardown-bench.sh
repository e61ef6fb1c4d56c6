#!/bin/bash
# A sandbox's teardown on and off the critical path (`vmjail run
# --teardown wait|background`, jailer/README.md "Teardown"): jailed
# sandboxes of the trivial test guest (vjtest=triple: one line, then the
# VMM's end), measured from outside.
#   - exec of `vmjail run` to its exit (what a caller waits), one at a time,
#     each started once the one before had left nothing behind;
#   - serially, launched one after another as soon as the one before
#     returned: runs per second, and the machine's busy CPU per run
#     (/proc/stat, every process and kernel thread, KVM's teardown in the
#     VMM's exit and workqueues included), counted until the last run's
#     teardown has ended too.
# With BEFORE=DIR (a build's vmjail and vmjail-vmm, e.g. main's; by
# default $BUILD/bench/before where it holds them, which the nested test
# host gets with the build tree) that build is measured beside this one; this build runs with `wait` and with
# `background`. All in turn, round-robin after a discarded warm-up round;
# medians of RUNS. SETARCH=1 runs every program under `setarch -R` (a
# measuring aid for an emulated test host, bench/startup.md).
# Figures only: nothing here passes or fails on time.
#
# usage: bench/teardown-bench.sh   (root, /dev/kvm; env: BUILD, RUNS, SERIAL, BEFORE, SETARCH)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
RUNS=${RUNS:-10}
SERIAL=${SERIAL:-10}
GUEST=$BUILD/tests/guest/testguest.elf
[ -z "${BEFORE:-}" ] && [ -x "$BUILD/bench/before/vmjail" ] && BEFORE=$BUILD/bench/before
RUN_DIR=/run/vmjail-teardown-$$
CG=vmjail-teardown-$$
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"; rmdir "$RUN_DIR" 2>/dev/null' EXIT

if [ "$(id -u)" != 0 ] || [ ! -w /dev/kvm ]; then
	echo "teardown-bench: skipped (needs root and /dev/kvm)"
	exit 0
fi
pre=()
[ "${SETARCH:-0}" = 1 ] && pre=(setarch "$(uname -m)" -R)

# Each configuration: a name, its build directory, its --teardown.
names=() dirs=() modes=()
if [ -n "${BEFORE:-}" ]; then
	names+=(before) dirs+=("$BEFORE") modes+=("")
fi
names+=(wait background) dirs+=("$BUILD" "$BUILD") modes+=(wait background)

run_one() { # INDEX ID
	local d=${dirs[$1]} m=${modes[$1]}
	"${pre[@]}" "$d/vmjail" run --run-dir "$RUN_DIR" --cgroup-parent "$CG" --id "$2" \
		${m:+--teardown "$m"} --vmm "$d/vmjail-vmm" --kernel "$GUEST" \
		--cmdline vjtest=triple --memory 128M </dev/null >/dev/null 2>>"$OUT/err"
}

# Until the run directory is empty: every teardown has ended (at most
# 30 s). Polled without a fork (a glob, and read's timeout on a FIFO that
# never gets a byte for a sleep), so that waiting costs next to no CPU
# in the busy time measured around it.
mkfifo "$OUT/never"
exec 9<>"$OUT/never"
shopt -s nullglob dotglob
settle() {
	local i left
	for ((i = 0; i < 6000; i++)); do
		left=("$RUN_DIR"/*)
		[ ${#left[@]} = 0 ] && return 0
		read -r -t 0.005 -u 9 _ || true
	done
	echo "teardown-bench: $RUN_DIR not empty after 30 s: ${left[*]}"
}

median() {
	sort -g "$1" 2>/dev/null | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) printf "%.1f\n", v[(NR + 1) / 2];
		else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9 }' /proc/stat; }
hz=$(getconf CLK_TCK 2>/dev/null || echo 100)

echo "host: kernel $(uname -r), $(nproc) CPUs, cgroup $(stat -f -c %T /sys/fs/cgroup)," \
	"kvm.nx_huge_pages=$(cat /sys/module/kvm/parameters/nx_huge_pages 2>/dev/null)${pre[*]:+, under ${pre[*]}}"
for r in $(seq 0 "$RUNS"); do
	for k in "${!names[@]}"; do
		settle
		t0=$EPOCHREALTIME
		run_one "$k" "t$r-$k"
		rc=$?
		# vjtest=triple ends in a triple fault: the VMM's status 3.
		[ $rc = 3 ] || echo "${names[$k]}: run $r exited $rc: $(tail -n 1 "$OUT/err")"
		t1=$EPOCHREALTIME
		settle
		[ "$r" = 0 ] && continue
		awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) * 1000 }' >>"$OUT/exit.$k"
		# SERIAL sandboxes back to back, each id its own.
		c0=$(busy_ticks)
		t0=$EPOCHREALTIME
		for i in $(seq 1 "$SERIAL"); do
			run_one "$k" "s$r-$k-$i"
		done
		t1=$EPOCHREALTIME
		settle
		t2=$EPOCHREALTIME
		c1=$(busy_ticks)
		awk -v n="$SERIAL" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", n / (b - a) }' >>"$OUT/rate.$k"
		awk -v n="$SERIAL" -v a="$t0" -v b="$t2" 'BEGIN { printf "%.3f\n", n / (b - a) }' >>"$OUT/settled.$k"
		awk -v n="$SERIAL" -v c="$((c1 - c0))" -v hz="$hz" 'BEGIN { printf "%.3f\n", c * 1000 / hz / n }' >>"$OUT/cpu.$k"
	done
done
echo "medians of $RUNS rounds (serially: $SERIAL sandboxes a round):"
printf '  %-11s %14s %16s %22s %16s\n' "" "exec->exit ms" "serial runs/s" "runs/s, teardowns done" "busy CPU ms/run"
for k in "${!names[@]}"; do
	printf '  %-11s %14s %16s %22s %16s\n' "${names[$k]}" "$(median "$OUT/exit.$k")" \
		"$(median "$OUT/rate.$k")" "$(median "$OUT/settled.$k")" "$(median "$OUT/cpu.$k")"
done

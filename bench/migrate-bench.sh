#!/bin/bash
# Live migration's costs (vmm/MIGRATION.md): two vmjail-vmm on this host
# over a Unix socket pair, driven by tests/integration/vmm-migrate, with
# a 256 MiB test guest
#   - idle (the `count` scenario: a timer tick every 100 ms), and
#   - dirtying memory at a fixed rate (the `dirty` scenario writing
#     DIRTY_PAGES pages per 100 ms tick into a 16 MiB area, checked),
# each RUNS times: the medians of the total time (request to the end) and
# of the downtime (pause to the destination's RUNNING), and the rounds and
# bytes of the median run. Figures only. Needs /dev/kvm (bench/run.sh
# runs it in the nested test host where this host has none).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
RUNS=${RUNS:-5}
DIRTY_PAGES=${DIRTY_PAGES:-256} # 256 pages per 100 ms: 10 MiB/s
DRIVER=$BUILD/tests/integration/vmm-migrate
VMM=$BUILD/vmjail-vmm
GUEST=$BUILD/tests/guest/testguest.elf


# measure LABEL MODE: RUNS migrations, their figures' medians.
measure() {
	local label=$1 mode=$2 out total=() down=() rounds=() bytes=() i
	for i in $(seq "$RUNS"); do
		out=$(VMM_MIGRATE_DIRTY_RATE=${3:-} "$DRIVER" "$VMM" "$GUEST" "$mode" 30 300 256M 2>/dev/null)
		if grep -q '^FAIL' <<<"$out"; then
			echo "migrate-bench: $label run $i failed: $(grep '^FAIL' <<<"$out" | head -n 1)" >&2
			continue
		fi
		total+=("$(sed -n 's/^info total-ms //p' <<<"$out")")
		down+=("$(sed -n 's/^info downtime-ms //p' <<<"$out")")
		rounds+=("$(sed -n 's/^info rounds \([0-9]*\).*/\1/p' <<<"$out")")
		bytes+=("$(sed -n 's/^info bytes //p' <<<"$out")")
	done
	printf '%-40s total %8s ms   downtime %8s ms   rounds %3s   bytes %10s   (%d runs)\n' \
		"$label" "$(printf '%s\n' "${total[@]}" | median)" \
		"$(printf '%s\n' "${down[@]}" | median)" "$(printf '%s\n' "${rounds[@]}" | median)" \
		"$(printf '%s\n' "${bytes[@]}" | median)" "${#total[@]}"
}

for f in "$DRIVER" "$VMM" "$GUEST"; do
	[ -e "$f" ] || { echo "migrate-bench: $f missing (make bench-build)" >&2; exit 1; }
done
measure "256 MiB guest, idle" count
measure "256 MiB guest, dirtying $((DIRTY_PAGES * 40)) KiB/s" dirty "$DIRTY_PAGES"

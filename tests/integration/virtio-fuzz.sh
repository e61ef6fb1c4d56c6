#!/bin/bash
# A short, bounded libFuzzer run of each virtio harness (tests/fuzz/):
# the virtqueue walker and the virtio-blk request path, from an empty
# corpus. Any sanitizer report or broken invariant fails. Longer runs are
# by hand: $BUILD/fuzz/fuzz_blk -max_total_time=600 CORPUS_DIR
# needs: none
# builds: $(FUZZERS)
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

SECONDS_EACH=${VJ_FUZZ_SECONDS:-15}
work=$(mktemp -d /tmp/vjfuzz.XXXXXX)
trap 'rm -rf "$work"' EXIT

for f in fuzz_virtqueue fuzz_blk; do
	bin=$BUILD/fuzz/$f
	if [ ! -x "$bin" ]; then
		fail "virtio-fuzz: $f" "$bin missing (make builds it with clang)"
		continue
	fi
	mkdir -p "$work/$f"
	# -timeout: one input taking a second means the walk does not stop.
	if "$bin" -max_total_time="$SECONDS_EACH" -timeout=1 -rss_limit_mb=1024 \
		-print_final_stats=1 "$work/$f" >"$work/$f.log" 2>&1; then
		stats=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$f.log")
		cov=$(grep -o "cov: [0-9]*" "$work/$f.log" | tail -1)
		pass "virtio-fuzz: $f, $SECONDS_EACH s, $stats inputs, $cov edges, no finding"
	else
		fail "virtio-fuzz: $f" "$(grep -m3 -E "ERROR|SUMMARY|abort|crash-" "$work/$f.log" | tr '\n' '|')"
	fi
done
finish

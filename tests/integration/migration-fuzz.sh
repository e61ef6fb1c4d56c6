#!/bin/bash
# A short, bounded libFuzzer run of the live migration stream reader
# (tests/fuzz/fuzz_migration_stream.c) from one valid stream: any sanitizer
# report, slow input or accepted-but-malformed frame fails; the input that
# did it is kept in $BUILD/fuzz/. Longer runs by hand:
# $BUILD/fuzz/fuzz_migration_stream -max_total_time=600 CORPUS_DIR
# needs: none
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_migration_stream
SECS=${VJ_FUZZ_SECONDS:-15}
[ -x "$FUZZER" ] || { fail "migration-fuzz" "$FUZZER missing (make builds it with clang)"; finish; exit; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/seeds"
VJ_FUZZ_SEED_DIR=$work/seeds "$FUZZER" -runs=0 "$work/seeds" >/dev/null 2>&1
[ -s "$work/seeds/valid" ] || fail "migration-fuzz: the harness writes a valid seed"
"$FUZZER" -max_total_time="$SECS" -timeout=2 -rss_limit_mb=1024 -max_len=65536 \
	-artifact_prefix="$BUILD/fuzz/migration-" -print_final_stats=1 \
	"$work/corpus" "$work/seeds" >"$work/log" 2>&1
rc=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
if [ $rc = 0 ]; then
	pass "migration-fuzz: ${runs:-?} streams in ${SECS}s: no crash, and every accepted frame is whole"
else
	fail "migration-fuzz" "$(grep -m3 -E "ERROR|SUMMARY|deadly|crash-" "$work/log" | tr '\n' '|')"
fi
finish

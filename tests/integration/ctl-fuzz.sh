#!/bin/bash
# A short, bounded libFuzzer run of the control socket's request parser
# (tests/fuzz/fuzz_ctl_request.c) from a few valid requests: any sanitizer
# report or slow input fails; the input that did it is kept in $BUILD/fuzz/.
# needs: none
# builds: $(CTL_FUZZER)
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_ctl_request
SECS=${VJ_FUZZ_SECONDS:-15}
[ -x "$FUZZER" ] || { fail "ctl-fuzz" "$FUZZER missing (make builds it with clang)"; finish; exit; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/seeds"
printf '{"id":1,"execute":"pause"}' >"$work/seeds/pause"
printf '{"id":"a","execute":"stop","arguments":{"timeout_ms":5000}}' >"$work/seeds/stop"
printf '{"execute":"kill","arguments":{"signal":15,"vm":false}}' >"$work/seeds/kill"
"$FUZZER" -max_total_time="$SECS" -timeout=2 -rss_limit_mb=1024 -max_len=70000 \
	-artifact_prefix="$BUILD/fuzz/ctl-request-" -print_final_stats=1 \
	"$work/corpus" "$work/seeds" >"$work/log" 2>&1
RC=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
if [ $RC = 0 ]; then
	pass "ctl-fuzz: ${runs:-?} requests in ${SECS}s: no crash, and every accepted one is whole"
else
	fail "ctl-fuzz" "$(grep -m3 -E "ERROR|SUMMARY|deadly|crash-" "$work/log" | tr '\n' '|')"
fi
finish

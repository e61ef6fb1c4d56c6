#!/bin/bash
# libFuzzer on the policy parser (tests/fuzz/fuzz_policy.c) for a bounded
# time, seeded from policy/examples/ and tests/fuzz/corpus/policy/. Any
# crash, sanitizer report, leak, slow input or broken promise of the
# harness (one-line errors, printed policies that load back the same)
# fails the test; the input that did it is kept under $BUILD/fuzz/.
# needs: none
# builds: $(POLICY_FUZZER)
. "$(dirname "$0")/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_policy
SECS=${FUZZ_SECONDS:-20}

# `make test` and `make fuzz-policy` build it first; alone, build it here.
if [ ! -x "$FUZZER" ] && ! env -u MAKEFLAGS -u MFLAGS make -s -C "$TOP" BUILD="$BUILD" "$FUZZER"; then
	fail "fuzz-policy: build $FUZZER"
	finish; exit
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus"
# New inputs go to the first directory, so the seeds in the tree stay as
# they are.
TMPDIR=$work "$FUZZER" -max_total_time="$SECS" -timeout=10 -rss_limit_mb=2048 -max_len=8192 \
	-artifact_prefix="$work/" -print_final_stats=1 \
	"$work/corpus" "$TOP/tests/fuzz/corpus/policy" "$TOP/policy/examples" \
	>"$work/log" 2>&1
RC=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
if [ "$RC" -eq 0 ]; then
	pass "fuzz-policy: ${runs:-?} inputs in ${SECS}s, no crash, leak or timeout"
else
	for a in "$work"/crash-* "$work"/leak-* "$work"/timeout-* "$work"/oom-*; do
		[ -e "$a" ] && cp "$a" "$BUILD/fuzz/" && echo "kept $BUILD/fuzz/${a##*/}"
	done
	grep -E -m5 'ERROR|SUMMARY|not a one-line|printed policy' "$work/log"
	tail -n 40 "$work/log"
	fail "fuzz-policy" "libFuzzer exited $RC (reproduce: $FUZZER $BUILD/fuzz/<artifact>)"
fi
finish

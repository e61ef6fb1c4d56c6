#!/bin/bash
# A short, bounded libFuzzer run of the snapshot state file parser
# (tests/fuzz/fuzz_snapshot.c) from one valid state file: any sanitizer
# report, slow input or accepted-but-incomplete file fails; the input that
# did it is kept in $BUILD/fuzz/. Longer runs by hand:
# $BUILD/fuzz/fuzz_snapshot -max_total_time=600 CORPUS_DIR
# needs: none
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_snapshot
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
[ -x "$FUZZER" ] && VJ_FUZZ_SEED_DIR=$seeds "$FUZZER" -runs=0 "$seeds" >/dev/null 2>&1
[ ! -x "$FUZZER" ] || [ -s "$seeds/valid" ] || fail "snapshot-fuzz: the harness writes a valid seed"
fuzz_check snapshot-fuzz "$FUZZER" "no crash, and every accepted state file is whole" 65536 "$seeds"
finish

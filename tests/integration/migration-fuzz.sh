#!/bin/bash
# A short, bounded libFuzzer run of the live migration stream reader
# (tests/fuzz/fuzz_migration_stream.c) from one valid stream: any sanitizer
# report, slow input or accepted-but-malformed frame fails; the input that
# did it is kept in $BUILD/fuzz/. Longer runs by hand:
# $BUILD/fuzz/fuzz_migration_stream -max_total_time=600 CORPUS_DIR
# needs: none
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_migration_stream
seeds=$(mktemp -d)
trap 'rm -rf "$seeds"' EXIT
[ -x "$FUZZER" ] && VJ_FUZZ_SEED_DIR=$seeds "$FUZZER" -runs=0 "$seeds" >/dev/null 2>&1
[ ! -x "$FUZZER" ] || [ -s "$seeds/valid" ] || fail "migration-fuzz: the harness writes a valid seed"
fuzz_check migration-fuzz "$FUZZER" "no crash, and every accepted frame is whole" 65536 "$seeds"
finish

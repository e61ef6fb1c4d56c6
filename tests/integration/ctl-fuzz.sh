#!/bin/bash
# A short, bounded libFuzzer run of the control socket's request parser
# (tests/fuzz/fuzz_ctl_request.c) from a few valid requests: any sanitizer
# report or slow input fails; the input that did it is kept in $BUILD/fuzz/.
# needs: none
# builds: $(CTL_FUZZER)
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_ctl_request

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/seeds"
printf '{"id":1,"execute":"pause"}' >"$work/seeds/pause"
printf '{"id":"a","execute":"stop","arguments":{"timeout_ms":5000}}' >"$work/seeds/stop"
printf '{"execute":"kill","arguments":{"signal":15,"vm":false}}' >"$work/seeds/kill"
fuzz_check ctl-fuzz "$FUZZER" "no crash, and every accepted one is whole" 70000 "$work/seeds"
finish

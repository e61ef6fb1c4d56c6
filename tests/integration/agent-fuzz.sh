#!/bin/bash
# A short, bounded libFuzzer run of the agent protocol codec
# (tests/fuzz/fuzz_agent_proto.c) from a few valid frames: any sanitizer
# report, slow input, or accepted frame that does not re-encode to the
# same bytes fails; the input that did it is kept in $BUILD/fuzz/.
# needs: none
# builds: $(AGENT_FUZZER)
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_agent_proto

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/seeds"
# Seeds: a HELLO of each version range; a WORKLOAD with every field, then
# START; an EXIT; a SETTIME; a RESTORED with a hostname, and one with a MAC too.
printf '\x08\0\0\0\x01\0\0\0VJAG\x01\0\x01\0' >"$work/seeds/hello"
printf '\x08\0\0\0\x01\0\0\0VJAG\x01\0\x02\0' >"$work/seeds/hello-v2"
printf '\x25\0\0\0\x10\0\0\0\xe8\x03\0\0\x64\0\0\0\x01\0\0\0\x0a\0\x02\x0f\x18\0\0\0\x0a\0\x02\x02\x05\0\x04\0/workfn-1\0\0\0\0\x13\0\0\0' \
	>"$work/seeds/workload"
printf '\x08\0\0\0\x32\0\0\0\x01\0\0\0\x09\0\0\0' >"$work/seeds/exit"
printf '\x08\0\0\0\x23\0\0\0\x15\x81\xe9\x7d\xf4\x10\x22\x11' >"$work/seeds/settime"
printf '\x08\0\0\0\x01\0\0\0VJAG\x01\0\x03\0' >"$work/seeds/hello-v3"
{ printf '\x4e\0\0\0\x14\0\0\0'; head -c 64 /dev/urandom
  printf '\x15\x81\xe9\x7d\xf4\x10\x22\x11\x02\0\0\0c1'; } >"$work/seeds/restored"
{ printf '\x56\0\0\0\x14\0\0\0'; head -c 64 /dev/urandom
  printf '\x15\x81\xe9\x7d\xf4\x10\x22\x11\x02\0\x01\0c1\x01\0\x02\0\0\0\0\x0b'; } \
	>"$work/seeds/restored-mac"
fuzz_check agent-fuzz "$FUZZER" "no crash, and every accepted frame is canonical" 140000 "$work/seeds"
finish

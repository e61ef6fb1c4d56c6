#!/bin/bash
# A short, bounded libFuzzer run of the container image parsers
# (tests/fuzz/fuzz_image.c: the tar reader and the image config) from a
# tar of each kind and a config: any sanitizer report or slow input
# fails; the input that did it is kept in $BUILD/fuzz/.
# needs: none
# builds: $(IMAGE_FUZZER)
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_image
SECS=${VJ_FUZZ_SECONDS:-15}
[ -x "$FUZZER" ] || { fail "image-fuzz" "$FUZZER missing (make builds it with clang)"; finish; exit; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/corpus" "$work/seeds" "$work/tree"
echo hello >"$work/tree/file"
mkdir "$work/tree/dir"
ln -s file "$work/tree/link"
ln "$work/tree/file" "$work/tree/hard"
: >"$work/tree/dir/.wh..wh..opq"
touch "$work/tree/$(printf 'n%.0s' $(seq 120))"
# Seeds: the first byte picks the parser (even: tar, odd: config).
for fmt in ustar posix gnu; do
	{ printf '\0'; tar -C "$work/tree" --format=$fmt -cf - . 2>/dev/null; } >"$work/seeds/tar-$fmt"
done
printf '\001{"config":{"Entrypoint":["sh","-c"],"Cmd":["echo hi"],"Env":["A=1"],"WorkingDir":"/w","User":"app:app"},"rootfs":{"type":"layers","diff_ids":["sha256:%s"]}}' \
	"$(printf '%064d' 1)" >"$work/seeds/config"
"$FUZZER" -max_total_time="$SECS" -timeout=2 -rss_limit_mb=1024 -max_len=65536 \
	-artifact_prefix="$BUILD/fuzz/image-" -print_final_stats=1 \
	"$work/corpus" "$work/seeds" >"$work/log" 2>&1
RC=$?
runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/log")
if [ $RC = 0 ]; then
	pass "image-fuzz: ${runs:-?} inputs in ${SECS}s: no crash, leak or overflow in the tar reader or the config parser"
else
	fail "image-fuzz" "$(grep -m3 -E "ERROR|SUMMARY|deadly|crash-" "$work/log" | tr '\n' '|')"
fi
finish

#!/bin/bash
# A short, bounded libFuzzer run of the container image parsers
# (tests/fuzz/fuzz_image.c: the tar reader and the image config) from a
# tar of each kind and a config: any sanitizer report or slow input
# fails; the input that did it is kept in $BUILD/fuzz/.
# needs: none
# builds: $(IMAGE_FUZZER)
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"

FUZZER=$BUILD/fuzz/fuzz_image

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/seeds" "$work/tree"
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
fuzz_check image-fuzz "$FUZZER" "no crash, leak or overflow in the tar reader or the config parser" 65536 "$work/seeds"
finish

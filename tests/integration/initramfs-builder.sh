#!/bin/bash
# rootfs/build-initramfs.sh and rootfs/cpio.sh: the archive they write is
# one GNU cpio reads back entry for entry, with the ownership, modes, device
# nodes and contents the kernel will unpack; bad requests are refused.
# needs: none
# builds: none
. "$(dirname "$0")/../lib.sh"

BUILDER=$TOP/rootfs/build-initramfs.sh
BUSYBOX=/bin/busybox

if [ ! -x "$BUSYBOX" ] || ! command -v cpio >/dev/null; then
	skip "initramfs-builder" "needs busybox-static and cpio (make deps-kernel)"
	echo "WARNING: initramfs-builder skipped: busybox-static or cpio missing" >&2
	exit 0
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'payload\n' >"$tmp/payload"
printf 'x' >"$tmp/name-ü"
printf '#!/bin/sh\necho custom\n' >"$tmp/custom-init"
chmod 644 "$tmp/custom-init"
out=$tmp/out.cpio
"$BUILDER" --init "$tmp/custom-init" \
	--file "$tmp/payload:/etc/deep/er/payload:600" \
	--file "$tmp/name-ü:/opt/name-ü" \
	--dir /mnt/work --symlink ../payload:/etc/link "$out" >/dev/null 2>"$tmp/err"
rc=$?
if [ $rc -eq 0 ] && [ -s "$out" ]; then
	pass "builds an archive with extra files, directories and symlinks"
else
	fail "builds an archive with extra files, directories and symlinks" \
		"exit $rc: $(cat "$tmp/err")"
	finish; exit
fi

# "MODE OWNER GROUP NAME" for each entry; `-tv` prints symlinks as "a -> b".
cpio -itv --quiet --numeric-uid-gid <"$out" >"$tmp/list" 2>"$tmp/cpio.err"
cpio_rc=$?
expect "GNU cpio reads the whole archive without complaint" \
	eval '[ $cpio_rc -eq 0 ] && [ ! -s "$tmp/cpio.err" ] || { WHY=$(head -c 300 "$tmp/cpio.err"); false; }'

# entry REGEX: one line of the verbose listing matches.
entry() {
	grep -Eq -- "$1" "$tmp/list" && return 0
	WHY="no entry /$1/ in: $(head -c 300 "$tmp/list")"
	return 1
}

expect "/init is the given script, executable" entry '^-rwxr-xr-x +1 0 +0 .* init$'
expect "/dev/console is char device 5:1" entry '^crw------- +1 0 +0 +5, +1 .* dev/console$'
expect "/dev/null is char device 1:3" entry '^crw-rw-rw- +1 0 +0 +1, +3 .* dev/null$'
expect "busybox is in /bin, executable" entry '^-rwxr-xr-x +1 0 +0 .* bin/busybox$'
expect "--file keeps the requested permission" entry '^-rw------- .* etc/deep/er/payload$'
expect "--file creates missing parents" entry '^drwxr-xr-x .* etc/deep/er$'
expect "--dir adds a directory" entry '^drwxr-xr-x .* mnt/work$'
expect "--symlink adds a symlink" entry '^lrwxrwxrwx .* etc/link -> \.\./payload$'

missing=0
while read -r applet; do
	[ "$applet" = bin/busybox ] && continue
	grep -qF -- " $applet -> /bin/busybox" "$tmp/list" || missing=$((missing + 1))
done < <("$BUSYBOX" --list-full)
expect "every busybox applet is a symlink to /bin/busybox" \
	eval '[ $missing -eq 0 ] || { WHY="$missing missing"; false; }'

# Parents must come before their children: the kernel does not create them.
order_ok=1
declare -A seen=()
while read -r name; do
	case $name in */*) [ -n "${seen[${name%/*}]:-}" ] || order_ok=0 ;; esac
	seen[$name]=1
done < <(cpio -it --quiet <"$out")
expect "every directory precedes its entries" test $order_ok -eq 1

mkdir "$tmp/x"
(cd "$tmp/x" && cpio -id --quiet --no-absolute-filenames \
	'init' 'bin/busybox' 'etc/deep/er/payload' 'opt/name-ü' <"$out") 2>"$tmp/x.err"
expect "file contents come back byte for byte (also after a non-ASCII name)" eval \
	'cmp -s "$tmp/x/init" "$tmp/custom-init" && cmp -s "$tmp/x/bin/busybox" "$BUSYBOX" &&
	cmp -s "$tmp/x/etc/deep/er/payload" "$tmp/payload" && cmp -s "$tmp/x/opt/name-ü" "$tmp/name-ü" ||
	{ WHY=$(cat "$tmp/x.err"); false; }'

"$BUILDER" --init "$tmp/custom-init" \
	--file "$tmp/payload:/etc/deep/er/payload:600" \
	--file "$tmp/name-ü:/opt/name-ü" \
	--dir /mnt/work --symlink ../payload:/etc/link "$tmp/again.cpio" >/dev/null
expect "the same inputs give the same bytes" cmp -s "$out" "$tmp/again.cpio"

touch -d @1 "$tmp/again.cpio"
before=$(stat -c %i:%Y "$tmp/again.cpio")
"$BUILDER" --init "$tmp/custom-init" \
	--file "$tmp/payload:/etc/deep/er/payload:600" \
	--file "$tmp/name-ü:/opt/name-ü" \
	--dir /mnt/work --symlink ../payload:/etc/link "$tmp/again.cpio" >/dev/null
expect "an unchanged archive is left untouched" test "$(stat -c %i:%Y "$tmp/again.cpio")" = "$before"

# refused REGEX ARGS...: the builder fails, says REGEX, writes nothing.
refused() {
	local want=$1
	shift
	rm -f "$tmp/refused.cpio"
	run_capture 60 "$BUILDER" "$@" "$tmp/refused.cpio"
	[ "$RC" -ne 0 ] && grep -Eq -- "$want" <<<"$ERR" && [ ! -e "$tmp/refused.cpio" ] && return 0
	WHY="exit $RC, message: $ERR"
	return 1
}

expect "refuses a relative destination" refused '"etc/x": destination must be an absolute path' \
	--file "$tmp/payload:etc/x"
expect "refuses .. in a destination" refused '"/etc/\.\./x": destination must be a plain path' \
	--file "$tmp/payload:/etc/../x"
expect "refuses replacing the root" refused '"/": destination must be a plain path' --dir /
expect "refuses a path added twice" refused '"/init": added twice' --file "$tmp/payload:/init"
expect "refuses a file under a file" refused '"/bin/busybox/x": parent /bin/busybox is a file' \
	--file "$tmp/payload:/bin/busybox/x"
expect "refuses a missing source file" refused "$tmp/nonexistent is not a regular file" \
	--file "$tmp/nonexistent:/x"
expect "refuses a permission that is not octal" refused 'PERM "9z" is not octal' \
	--file "$tmp/payload:/x:9z"
expect "refuses an unknown option" refused 'unknown option "--bogus"' --bogus x
finish

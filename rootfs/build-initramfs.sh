#!/bin/bash
# Builds an uncompressed newc initramfs: busybox-static with one symlink per
# applet, /dev/console, the usual mount points, an /init, plus any extra
# files. Runs as any user: the archive is written directly (rootfs/cpio.sh),
# nothing is mounted or mknod'ed. OUTPUT is only replaced when its content
# changes.
#
# usage: build-initramfs.sh [options] OUTPUT
#   --init FILE             /init (default: rootfs/init-min.sh)
#   --file SRC:DEST[:PERM]  add file SRC as DEST (PERM defaults to SRC's)
#   --dir DEST              add an empty directory
#   --symlink TARGET:DEST   add symlink DEST -> TARGET
# Parent directories of DEST are created; DEST paths are absolute.
set -euo pipefail
export LC_ALL=C

die() { echo "build-initramfs: $*" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=rootfs/cpio.sh
. "$here/cpio.sh"

busybox=/bin/busybox
init=$here/init-min.sh
extras=()
while [ $# -gt 1 ]; do
	case $1 in
	--init) init=$2 ;;
	--file | --dir | --symlink) extras+=("$1" "$2") ;;
	*) die "unknown option \"$1\" (see the usage in $0)" ;;
	esac
	shift 2
done
[ $# -eq 1 ] && [ "${1#-}" = "$1" ] || die "usage: build-initramfs.sh [options] OUTPUT"
out=$1

[ -x "$busybox" ] || die "busybox ($busybox): not found (install busybox-static: make deps-kernel)"
[ -f "$init" ] || die "init script ($init): not a file"

# Archive paths (no leading slash) already emitted; used to create each
# parent directory once and to refuse duplicates.
declare -A emitted=()

# check_dest DEST: prints DEST without its leading slash, after rejecting
# paths that are relative, name the root, or contain . .. or //.
check_dest() {
	case $1 in
	/*) ;;
	*) die "\"$1\": destination must be an absolute path" ;;
	esac
	case $1/ in
	*//* | */./* | */../*) die "\"$1\": destination must be a plain path (no . .. // or trailing /)" ;;
	esac
	printf '%s' "${1#/}"
}

# parents PATH: emits each missing parent directory of PATH, outermost first.
parents() {
	local prefix="" p parts=()
	[ "${1%/*}" != "$1" ] || return 0
	IFS=/ read -ra parts <<<"${1%/*}"
	for p in "${parts[@]}"; do
		prefix=${prefix:+$prefix/}$p
		case ${emitted[$prefix]:-} in
		dir) continue ;;
		"") ;;
		*) die "\"/$1\": parent /$prefix is a ${emitted[$prefix]}" ;;
		esac
		emitted[$prefix]=dir
		cpio_dir "$prefix"
	done
}

claim() {
	[ -z "${emitted[$1]:-}" ] || die "\"/$1\": added twice"
	emitted[$1]=$2
}

add_file() {
	local src=${1%%:*} rest=${1#*:} dest perm=""
	[ "$src" != "$1" ] || die "--file \"$1\": expected SRC:DEST[:PERM]"
	dest=${rest%%:*}
	[ "$dest" = "$rest" ] || perm=${rest#*:}
	case $perm in
	"" | [0-7][0-7][0-7] | [0-7][0-7][0-7][0-7]) ;;
	*) die "--file \"$1\": PERM \"$perm\" is not octal like 755" ;;
	esac
	[ -f "$src" ] || die "--file \"$1\": $src is not a regular file"
	dest=$(check_dest "$dest")
	parents "$dest"
	claim "$dest" file
	cpio_file "$dest" "$src" ${perm:+"$perm"}
}

add_extra() {
	local dest
	case $1 in
	--file) add_file "$2" ;;
	--dir)
		dest=$(check_dest "$2")
		parents "$dest"
		claim "$dest" dir
		cpio_dir "$dest" ;;
	--symlink)
		[ "${2#*:}" != "$2" ] || die "--symlink \"$2\": expected TARGET:DEST"
		dest=$(check_dest "${2#*:}")
		parents "$dest"
		claim "$dest" symlink
		cpio_symlink "$dest" "${2%%:*}" ;;
	esac
}

write_archive() {
	local d applet
	for d in bin sbin usr usr/bin usr/sbin dev proc sys tmp run root etc mnt; do
		claim "$d" dir
		cpio_dir "$d"
	done
	cpio_chardev dev/console 600 5 1
	cpio_chardev dev/null 666 1 3
	emitted[dev/console]=node emitted[dev/null]=node
	claim bin/busybox file
	cpio_file bin/busybox "$busybox" 755
	while read -r applet; do
		[ -n "${emitted[$applet]:-}" ] && continue
		parents "$applet"
		claim "$applet" symlink
		cpio_symlink "$applet" /bin/busybox
	done < <("$busybox" --list-full)
	claim init file
	cpio_file init "$init" 755
	local i
	for ((i = 0; i < ${#extras[@]}; i += 2)); do
		add_extra "${extras[i]}" "${extras[i + 1]}"
	done
	cpio_trailer
}

mkdir -p "$(dirname "$out")"
tmp=$out.tmp.$$
trap 'rm -f "$tmp"' EXIT
write_archive >"$tmp"
if cmp -s "$tmp" "$out"; then
	exit 0
fi
mv -f "$tmp" "$out"
echo "build-initramfs: $out ($(stat -c %s "$out") bytes)"

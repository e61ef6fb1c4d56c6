#!/bin/bash
# Builds an ext4 root file system image with mkfs.ext4 -d: the tree is
# copied in by mke2fs itself, so nothing is mounted (no loop device) and
# no root is needed for a directory source.
#
# usage: build-ext4.sh [--size MIB] SOURCE OUTPUT
#   SOURCE  a directory (a debootstrap tree, an exported container file
#           system...) or a newc cpio archive such as build/guest/initramfs.cpio,
#           unpacked into a scratch directory first
#   --size  image size in MiB (default: the content plus 25% and 16 MiB)
# OUTPUT is rebuilt only when the hash of its inputs changes (this script,
# mke2fs's version, and the archive's bytes or the tree's names, modes,
# owners, sizes and mtimes); the hash is kept in OUTPUT.inputs.
set -euo pipefail
export LC_ALL=C

die() { echo "build-ext4: $*" >&2; exit 1; }

size=""
while [ $# -gt 2 ]; do
	case $1 in
	--size) size=$2; shift 2 ;;
	*) die "unknown option \"$1\" (usage: build-ext4.sh [--size MIB] SOURCE OUTPUT)" ;;
	esac
done
[ $# -eq 2 ] || die "usage: build-ext4.sh [--size MIB] SOURCE OUTPUT"
src=$1 out=$2
case $size in "" | [1-9] | [1-9][0-9]*) ;; *) die "--size \"$size\": expected MiB as a number" ;; esac
command -v mkfs.ext4 >/dev/null || die "mkfs.ext4: not found (install e2fsprogs: make deps-kernel)"

inputs() {
	sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1
	mkfs.ext4 -V 2>&1 | head -1
	echo "size=$size"
	if [ -d "$src" ]; then
		(cd "$src" && find . -printf '%p %m %U %G %s %T@ %l\n' | sort | sha256sum)
	elif [ -f "$src" ]; then
		sha256sum <"$src"
	else
		die "source ($src): not a directory or a file"
	fi
}
hash=$(inputs | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ "$(cat "$out.inputs" 2>/dev/null)" = "$hash" ]; then
	exit 0
fi

scratch=""
tmp=$out.tmp.$$
trap 'rm -f "$tmp"; [ -z "$scratch" ] || rm -rf "$scratch"' EXIT
tree=$src
if [ ! -d "$src" ]; then
	command -v cpio >/dev/null || die "cpio: not found (install cpio: make deps-kernel)"
	scratch=$(mktemp -d "${TMPDIR:-/tmp}/vmjail-ext4.XXXXXX")
	tree=$scratch
	if [ "$(id -u)" = 0 ]; then
		cpio -idm --quiet -D "$tree" <"$src" || die "unpack $src: cpio failed"
	else
		# Without root, cpio can neither keep the archive's owners nor
		# make device nodes: files belong to the caller, and /dev stays
		# empty until devtmpfs is mounted there (CONFIG_DEVTMPFS_MOUNT).
		echo "build-ext4: not root: files in $out belong to uid $(id -u), no /dev nodes" >&2
		cpio -idm --quiet --no-preserve-owner --nonmatching 'dev/?*' -D "$tree" <"$src" ||
			die "unpack $src: cpio failed"
	fi
fi

if [ -z "$size" ]; then
	used_kib=$(du -sk --apparent-size "$tree" | cut -f1)
	size=$(((used_kib * 5 / 4 + 1023) / 1024 + 16))
fi
mkdir -p "$(dirname "$out")"
rm -f "$tmp"
mkfs.ext4 -q -F -L vmjail-root -m 0 -E root_owner=0:0 -d "$tree" "$tmp" "${size}M" >/dev/null ||
	die "mkfs.ext4 -d $tree ($size MiB) failed"
mv -f "$tmp" "$out"
echo "$hash" >"$out.inputs"
echo "build-ext4: $out ($size MiB from $src)"

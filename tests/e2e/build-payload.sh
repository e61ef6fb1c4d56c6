#!/bin/bash
# Builds what nested.sh carries into the test host: a root filesystem for
# running this checkout's scripts and programs as they run here, as newc
# cpio archives (appended to the test host's initramfs) under /nested/root,
# in two parts:
#   userland  the Debian programs the scripts use (the packages below,
#             whole; with --qemu, QEMU and the firmware of its microvm
#             machine too, and kvmtool's lkvm where it is installed, for
#             the benchmarks) and every shared library they need, at the
#             paths this host has them, its symbolic links included (/bin
#             -> usr/bin and the like). Rebuilt only when those packages
#             change: finding libraries takes a while.
#   checkout  this checkout's files and the build tree BUILD (no objects,
#             no test host images) at the same absolute paths, so that TOP
#             and BUILD mean the same in there, and the libraries of the
#             programs in BUILD.
# The test host chroots into the result (testhost-init.sh, e2e_mode=command).
#
# usage: build-payload.sh userland [--qemu] OUT.cpio
#        build-payload.sh checkout OUT.cpio TOP BUILD
set -euo pipefail
export LC_ALL=C

die() { echo "build-payload: $*" >&2; exit 1; }

# Programs of these packages go in whole: a script that grows a new
# command finds it there.
PKGS="bash dash coreutils debianutils grep sed mawk findutils procps iproute2
	util-linux mount diffutils hostname kmod psmisc erofs-utils e2fsprogs"
# Names the packages leave to update-alternatives.
ALTERNATIVES="/usr/bin/awk /usr/bin/nawk"
QEMU_PKGS="qemu-system-x86 seabios"
# The firmware microvm loads, each from the first directory of QEMU's
# search path that has it: QEMU 10 (bookworm-backports) takes
# bios-microvm.bin from seabios, 7.2 from its own directory.
QEMU_FIRMWARE="bios-microvm.bin pvh.bin linuxboot_dma.bin kvmvapic.bin"
QEMU_FIRMWARE_DIRS="/usr/share/qemu /usr/share/seabios"

part=${1:-}
shift || true
qemu=0
if [ "$part" = userland ] && [ "${1:-}" = --qemu ]; then
	qemu=1
	shift
fi
case $part:$# in
userland:1) out=$1 ;;
checkout:3) out=$1 top=$(readlink -f "$2") build=$(readlink -f "$3") ;;
*) die "usage: build-payload.sh userland [--qemu] OUT.cpio | checkout OUT.cpio TOP BUILD" ;;
esac
command -v cpio >/dev/null || die "cpio is not installed (make deps-kernel)"

# The userland is what these packages are now, and what this script does.
stamp() {
	dpkg-query -W $PKGS $([ $qemu = 1 ] && echo $QEMU_PKGS) 2>&1
	[ $qemu = 1 ] && command -v lkvm && sha256sum "$(command -v lkvm)"
	sha256sum "$0"
}
if [ $part = userland ]; then
	mkdir -p "${out%/*}"
	# One builder at a time: another waits, then finds it current.
	exec 9>"$out.lock"
	flock 9
	if [ -f "$out" ] && [ "$(stamp)" = "$(cat "$out.stamp" 2>/dev/null)" ]; then
		exit 0
	fi
fi

stage=$(mktemp -d "${out%/*}/payload.XXXXXX")
trap 'rm -rf "$stage"' EXIT
root=$stage/nested/root
mkdir -p "$root"

declare -A added=()

# add PATH: copies PATH (absolute) from this host into the root. Each
# symbolic link met on the way is recreated there and followed, so that
# the file lands at its canonical path, where the root has no link of
# its own: nothing written here can leave the stage.
add() {
	local p=$1 cur="" comp rest target
	[ -z "${added[$p]:-}" ] || return 0
	added[$p]=1
	rest=${p#/}
	while [ -n "$rest" ]; do
		comp=${rest%%/*}
		if [ "$comp" = "$rest" ]; then rest=""; else rest=${rest#*/}; fi
		case $comp in
		"" | .) continue ;;
		..) cur=${cur%/*}; continue ;;
		esac
		if [ -L "$cur/$comp" ]; then
			target=$(readlink "$cur/$comp")
			mkdir -p "$root$cur"
			[ -L "$root$cur/$comp" ] || ln -s "$target" "$root$cur/$comp"
			case $target in
			/*) add "$target${rest:+/$rest}" ;;
			*) add "$cur/$target${rest:+/$rest}" ;;
			esac
			return 0
		fi
		cur=$cur/$comp
	done
	[ -e "$cur" ] || die "$p: not found"
	if [ -d "$cur" ]; then
		mkdir -p "$root$cur"
	else
		mkdir -p "$root${cur%/*}"
		cp -p "$cur" "$root$cur"
	fi
}

# firmware NAME: where QEMU finds firmware NAME on this host.
firmware() {
	local d
	for d in $QEMU_FIRMWARE_DIRS; do
		[ -e "$d/$1" ] && { echo "$d/$1"; return 0; }
	done
	die "QEMU firmware $1 is in none of $QEMU_FIRMWARE_DIRS"
}

# (cmp, not $(head -c 4): firmware starts with NUL bytes, which bash warns of)
is_elf() { cmp -s -n 4 "$1" <(printf '\177ELF'); }

# libs FILE...: adds the shared libraries of every ELF program among FILEs.
libs() {
	local f elves=()
	for f in "$@"; do is_elf "$f" && elves+=("$f"); done
	[ ${#elves[@]} -gt 0 ] || return 0
	while read -r lib; do
		add "$lib"
	done < <({ ldd "${elves[@]}" 2>/dev/null || true; } | grep -oE '^\s+(/|.* => /)[^ ]+' |
		grep -oE '/[^ ]+' | sort -u)
}

userland() {
	local pkg f files
	for pkg in $PKGS; do
		files=$(dpkg-query -L "$pkg" 2>/dev/null) || die "package $pkg is not installed"
		while read -r f; do
			case $f in
			/bin/* | /sbin/* | /usr/bin/* | /usr/sbin/*)
				{ [ -f "$f" ] || [ -L "$f" ]; } && add "$f" ;;
			esac
		done <<<"$files"
	done
	for f in $ALTERNATIVES; do add "$f"; done
	if [ $qemu = 1 ]; then
		add /usr/bin/qemu-system-x86_64
		for f in $QEMU_FIRMWARE; do
			f=$(firmware "$f") || exit 1
			add "$f"
		done
		if f=$(command -v lkvm); then add "$f"; fi
	fi
	for f in /etc/passwd /etc/group; do add "$f"; done
	mapfile -d '' files < <(find "$root" -type f -print0)
	libs "${files[@]}"
	mkdir -p "$root"/{proc,sys,dev,run,tmp,root}
	chmod 1777 "$root/tmp"
}

# This checkout and its build tree at their own paths.
checkout() {
	local files
	[ -d "$top/tests" ] || die "$top: not a vmjail checkout"
	[ -d "$build" ] || die "$build: no build tree (run make)"
	mkdir -p "$root$top" "$root$build"
	# The parents as this host has them: this archive's copy of /tmp, say,
	# replaces the userland's when the test host unpacks both.
	for d in "$top" "$build"; do
		while d=${d%/*}; [ -n "$d" ]; do chmod --reference="$d" "$root$d"; done
	done
	if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
		git -C "$top" ls-files -z --cached --others --exclude-standard |
			tar -C "$top" --null -T - -cf - | tar -C "$root$top" -xf -
	else
		tar -C "$top" --exclude=./.git --exclude='./build*' -cf - . | tar -C "$root$top" -xf -
	fi
	tar -C "$build" --exclude=./tests/e2e --exclude='*.o' --exclude='*.d' -cf - . |
		tar -C "$root$build" -xf -
	mapfile -d '' files < <(find "$root$build" -type f -perm -u+x -print0)
	libs "${files[@]}"
}

$part
(cd "$stage" && find nested | cpio -o -H newc -R 0:0 --quiet) >"$out.tmp"
mv "$out.tmp" "$out"
[ $part = checkout ] || stamp >"$out.stamp"

# shellcheck shell=bash
# Writes a "newc" cpio archive (the format the kernel unpacks as initramfs)
# to stdout, entry by entry. Written by hand rather than with cpio(1) so that
# owners are root and /dev nodes exist without running as root or calling
# mknod, and so that the archive is the same bytes on every build (mtime 0,
# inode numbers in entry order).
#
# Source this file, then call cpio_dir/cpio_file/cpio_symlink/cpio_chardev
# with archive paths without a leading slash (parents first: the kernel does
# not create missing parent directories), and end with cpio_trailer.

_cpio_ino=0

# _cpio_pad N: NUL bytes that bring a length of N up to a multiple of 4.
_cpio_pad() {
	case $(($1 % 4)) in
	1) printf '\0\0\0' ;;
	2) printf '\0\0' ;;
	3) printf '\0' ;;
	esac
}

# _cpio_header NAME MODE SIZE RDEVMAJOR RDEVMINOR: header, name, padding.
_cpio_header() {
	local LC_ALL=C # so that ${#name} counts bytes
	local name=$1 namesize=$((${#1} + 1))
	_cpio_ino=$((_cpio_ino + 1))
	# ino mode uid gid nlink mtime filesize devmaj devmin rdevmaj rdevmin namesize check
	printf '070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%s\0' \
		"$_cpio_ino" "$2" 0 0 1 0 "$3" 0 0 "$4" "$5" "$namesize" 0 "$name"
	_cpio_pad $((110 + namesize))
}

# cpio_dir PATH [PERM]
cpio_dir() {
	_cpio_header "$1" $((0040000 | 0${2:-755})) 0 0 0
}

# cpio_file PATH SOURCE [PERM]: PERM defaults to SOURCE's permission bits.
cpio_file() {
	local perm size
	perm=${3:-$(stat -L -c %a "$2")} || return
	size=$(stat -L -c %s "$2") || return
	_cpio_header "$1" $((0100000 | 0$perm)) "$size" 0 0
	cat "$2" || return
	_cpio_pad "$size"
}

# cpio_symlink PATH TARGET
cpio_symlink() {
	local LC_ALL=C
	_cpio_header "$1" $((0120777)) ${#2} 0 0
	printf '%s' "$2"
	_cpio_pad ${#2}
}

# cpio_chardev PATH PERM MAJOR MINOR
cpio_chardev() {
	_cpio_header "$1" $((0020000 | 0$2)) 0 "$3" "$4"
}

cpio_trailer() {
	_cpio_header "TRAILER!!!" 0 0 0 0
}

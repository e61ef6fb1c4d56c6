#!/bin/bash
# Builds the guest kernel from Debian's linux-source-6.1 with
# rootfs/kernel.config merged over tinyconfig: the ELF vmlinux, copied to
# OUTPUT, and from the same build the compressed bzImage, copied to
# BZIMAGE when that is given (the benchmarks boot it on every VMM alike).
#
# Builds are cached in $VJ_CACHE_DIR (default /var/cache/vmjail):
#   linux-source-<pkgversion>/   the unpacked source, shared by all configs
#   kernel-<hash>/{vmlinux,bzImage}   one finished kernel per input hash, where the
#                                hash covers kernel.config, this script, the
#                                linux-source package version and the toolchain
#   kernel-<hash>/{config,version,inputs}   final .config, `Linux version`
#                                string and the hashed inputs, for diagnosis
#   obj-<pkgversion>/            the out-of-tree object directory, kept so
#                                that the next build (another config, a
#                                retry after a failure) is incremental
# A cache hit only hashes and copies.
#
# usage: build-kernel.sh OUTPUT [BZIMAGE]
# env:   VJ_CACHE_DIR, VJ_KERNEL_JOBS (default 2), V=1 for the full build log
set -euo pipefail

die() { echo "build-kernel: $*" >&2; exit 1; }

[ $# -eq 1 ] || [ $# -eq 2 ] || die "usage: build-kernel.sh OUTPUT [BZIMAGE]"
out=$1
bz_out=${2:-}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fragment=$here/kernel.config
src_pkg=linux-source-6.1
src_tar=/usr/src/$src_pkg.tar.xz
cache=${VJ_CACHE_DIR:-/var/cache/vmjail}
jobs=${VJ_KERNEL_JOBS:-2}
arch=x86_64

src_version=$(dpkg-query -W -f='${Version}' "$src_pkg" 2>/dev/null) ||
	die "package $src_pkg is not installed (make deps-kernel installs it)"
[ -r "$src_tar" ] || die "kernel source ($src_tar): not readable"

inputs() {
	echo "source: $src_pkg $src_version"
	echo "cc: $(gcc --version | head -1)"
	echo "ld: $(ld --version | head -1)"
	echo "fragment: $(sha256sum <"$fragment" | cut -d' ' -f1)"
	echo "script: $(sha256sum <"${BASH_SOURCE[0]}" | cut -d' ' -f1)"
}
hash=$(inputs | sha256sum | cut -c1-16)
entry=$cache/kernel-$hash

# Copies only when the content differs, so a cache hit leaves an output's
# mtime alone and nothing that depends on it rebuilds.
install_one() {
	local from=$1 to=$2
	mkdir -p "$(dirname "$to")"
	cmp -s "$from" "$to" && return 0
	cp "$from" "$to.tmp.$$"
	mv -f "$to.tmp.$$" "$to"
	echo "build-kernel: $to <- $from ($(cat "$entry/version"))"
}
install_output() {
	install_one "$entry/vmlinux" "$out"
	[ -z "$bz_out" ] || install_one "$entry/bzImage" "$bz_out"
}

if [ -f "$entry/vmlinux" ]; then
	install_output
	exit 0
fi

mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] ||
	die "cache directory ($cache): not writable (set VJ_CACHE_DIR)"
# One build at a time per cache: a second caller waits and then hits.
exec 9>"$cache/.lock"
if ! flock -n 9; then
	echo "build-kernel: waiting for another build in $cache to finish"
	flock 9
fi
if [ -f "$entry/vmlinux" ]; then
	install_output
	exit 0
fi

srcdir=$cache/linux-source-$src_version
if [ ! -f "$srcdir/.vmjail-unpacked" ]; then
	echo "build-kernel: unpacking $src_tar into $srcdir"
	rm -rf "$srcdir" "$srcdir.tmp"
	mkdir -p "$srcdir.tmp"
	tar -xJf "$src_tar" -C "$srcdir.tmp" --strip-components=1
	touch "$srcdir.tmp/.vmjail-unpacked"
	mv "$srcdir.tmp" "$srcdir"
fi

# One object tree per source version: kbuild rebuilds only what a config
# change touches, so changing kernel.config costs minutes, not a full build.
obj=$cache/obj-$src_version
log=$cache/build.log
mkdir -p "$obj"
: >"$log"
trap 'rm -rf "$entry.tmp"' EXIT

kmake() {
	if [ "${V:-0}" = 1 ]; then
		make -C "$srcdir" O="$obj" ARCH=$arch "$@" 2>&1 | tee -a "$log"
	else
		make -s -C "$srcdir" O="$obj" ARCH=$arch "$@" >>"$log" 2>&1
	fi
}
build_failed() {
	tail -n 40 "$log" >&2
	die "$1 failed; full log in $log"
}

echo "build-kernel: configuring ($src_pkg $src_version, tinyconfig + $fragment)"
kmake tinyconfig || build_failed "make tinyconfig"
(cd "$obj" && "$srcdir/scripts/kconfig/merge_config.sh" -m -O "$obj" \
	"$obj/.config" "$fragment") >>"$log" 2>&1 || build_failed "merge_config.sh"
kmake olddefconfig || build_failed "make olddefconfig"

# Kconfig silently drops an option whose dependencies are not met; every
# line of the fragment must survive into the final .config.
missing=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*)
		grep -qxF -- "$line" "$obj/.config" ||
			missing+=("$line (got: $(grep -E "^(# )?${line%%=*}[= ]" "$obj/.config" || echo absent))")
		;;
	"# CONFIG_"*" is not set")
		opt=${line#\# }; opt=${opt%% *}
		! grep -q "^$opt=" "$obj/.config" ||
			missing+=("$line (got: $(grep "^$opt=" "$obj/.config"))")
		;;
	esac
done <"$fragment"
if [ ${#missing[@]} -gt 0 ]; then
	printf 'build-kernel: not in the final .config: %s\n' "${missing[@]}" >&2
	die "kernel config ($fragment): ${#missing[@]} option(s) did not take effect"
fi

echo "build-kernel: make -j$jobs vmlinux bzImage (several minutes from scratch, less when incremental; log: $log)"
KBUILD_BUILD_USER=vmjail KBUILD_BUILD_HOST=vmjail kmake -j"$jobs" vmlinux bzImage ||
	build_failed "make vmlinux bzImage"

rm -rf "$entry.tmp"
mkdir "$entry.tmp"
cp "$obj/vmlinux" "$entry.tmp/vmlinux"
cp "$obj/arch/x86/boot/bzImage" "$entry.tmp/bzImage"
cp "$obj/.config" "$entry.tmp/config"
inputs >"$entry.tmp/inputs"
# The banner Linux prints; vmlinux also holds a placeholder without the
# build number. awk reads to the end: exiting early would SIGPIPE strings.
strings "$obj/vmlinux" | awk '/^Linux version .* #[0-9]+ / && !n++' >"$entry.tmp/version"
[ -s "$entry.tmp/version" ] || die "built vmlinux ($obj/vmlinux): no 'Linux version' banner"
mv "$entry.tmp" "$entry"
install_output

#!/bin/bash
# Container images (vmjail run --image): `vmjail run` to the workload's
# first byte of output, for a small image (busybox) and one of about
# 50 MiB (busybox and 50 MiB of random bytes), each
#   - first run: the cache empty, so the conversion is included;
#   - cached run: the image already converted;
# beside `vmjail run` of the same command from the bundled initramfs,
# with the same policy otherwise. Also the conversion alone (first minus
# cached) and the root image's size, with erofs (the default) and with
# ext4 (images.format: ext4). Archives: make-image.sh, built by
# `make bench-image-archives` into $BUILD/bench/images. Figures only
# (medians of RUNS); needs root and /dev/kvm (bench/run.sh runs it in the
# nested test host where this host has none).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
RUNS=${RUNS:-5}
VMJAIL=$BUILD/vmjail
IMAGES=$BUILD/bench/images
for f in small.oci.tar big.oci.tar; do
	[ -f "$IMAGES/$f" ] || { echo "image-bench: no $IMAGES/$f (make bench-image-archives)" >&2; exit 1; }
done
command -v mkfs.erofs >/dev/null || { echo "image-bench: no mkfs.erofs (erofs-utils)" >&2; exit 1; }
work=$(mktemp -d /run/vmjail-imagebench.XXXXXX) || exit 1
chmod 0755 "$work"
mkdir -m 0755 "$work/run"
trap 'rm -rf "$work"' EXIT

# One host file per root image format (images.format).
for fs in erofs ext4; do
	cat >"$work/host-$fs.yaml" <<HOST
version: 1
roots:
  kernels: [$BUILD/guest]
  images: [$BUILD/guest, $IMAGES]
run_dir: $work/run
cgroup_parent: vmjail-bench
images:
  cache: $work/cache
  format: $fs
max:
  memory: 1Gi
HOST
done
cat >"$work/fn.yaml" <<POLICY
version: 1
vm:
  kernel: $BUILD/guest/vmlinux
  initrd: $BUILD/guest/initramfs.cpio
  cmdline: console=ttyS0 reboot=k panic=-1 quiet
  vcpus: 1
  memory: 256Mi
  vsock: {cid: 3}
  console: none
limits:
  timeout: 300s
POLICY
VJ=("$VMJAIL" --host-config "$work/host-erofs.yaml")


# A first run warms the test host's caches for all that follow; the
# initramfs runs are spread among the image runs so that no figure gets
# the quiet (or the busy) part of the bench alone.
first_byte_ms "$work/fn.yaml" -- echo first-byte >/dev/null
for fs in erofs ext4; do
	VJ=("$VMJAIL" --host-config "$work/host-$fs.yaml")
	for img in small big; do
		for i in $(seq "$RUNS"); do
			rm -rf "${work:?}/cache"
			first_byte_ms "$work/fn.yaml" --image "$IMAGES/$img.oci.tar" -- echo first-byte >>"$work/$fs.$img.first.ms"
			first_byte_ms "$work/fn.yaml" --image "$IMAGES/$img.oci.tar" -- echo first-byte >>"$work/$fs.$img.cached.ms"
			first_byte_ms "$work/fn.yaml" -- echo first-byte >>"$work/initramfs.ms"
		done
		first=$(median <"$work/$fs.$img.first.ms")
		cached=$(median <"$work/$fs.$img.cached.ms")
		file=$(ls "$work"/cache/*."$fs" 2>/dev/null | head -1)
		echo "image $img as $fs ($(stat -c %s "$IMAGES/$img.oci.tar") bytes archived," \
			"$([ -n "$file" ] && du -k "$file" | cut -f1 || echo '?') KiB $fs), to the" \
			"workload's first byte, median of $RUNS: first run $first ms (conversion included)," \
			"cached $cached ms; conversion about $((first - cached)) ms"
	done
done
echo "initramfs (no image), to the workload's first byte: $(median <"$work/initramfs.ms") ms" \
	"median of $(wc -l <"$work/initramfs.ms"), run among the image runs"

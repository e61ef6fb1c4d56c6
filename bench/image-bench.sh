#!/bin/bash
# Container images (vmjail run --image): `vmjail run` to the workload's
# first byte of output, for a small image (busybox) and one of about
# 50 MiB (busybox and 50 MiB of random bytes), each
#   - first run: the cache empty, so the conversion is included;
#   - cached run: the image already converted;
# beside `vmjail run` of the same command from the bundled initramfs,
# with the same policy otherwise. Also the conversion alone (first minus
# cached) and the root image's size. Archives: make-image.sh, built by
# `make bench-image-archives` into $BUILD/bench/images. Figures only
# (medians of RUNS); needs root and /dev/kvm (bench/run.sh runs it in the
# nested test host where this host has none).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
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

cat >"$work/host.yaml" <<HOST
version: 1
roots:
  kernels: [$BUILD/guest]
  images: [$BUILD/guest, $IMAGES]
run_dir: $work/run
cgroup_parent: vmjail-bench
images:
  cache: $work/cache
max:
  memory: 1Gi
HOST
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
VJ=("$VMJAIL" --host-config "$work/host.yaml")

now_ns() { date +%s%N; }

# first_byte_ms ARGS...: ms from `vmjail run ARGS` to the workload's first
# byte on its stdout.
first_byte_ms() {
	local t0 t1
	t0=$(now_ns)
	"${VJ[@]}" run "$work/fn.yaml" "$@" | {
		head -c 1 >/dev/null
		now_ns >"$work/t1"
		cat >/dev/null
	}
	t1=$(cat "$work/t1")
	echo $(((t1 - t0) / 1000000))
}

median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }

for i in $(seq "$RUNS"); do
	first_byte_ms -- echo first-byte >>"$work/initramfs.ms"
done
echo "initramfs (no image), to the workload's first byte: $(median <"$work/initramfs.ms") ms median of $RUNS"
for img in small big; do
	for i in $(seq "$RUNS"); do
		rm -rf "${work:?}/cache"
		first_byte_ms --image "$IMAGES/$img.oci.tar" -- echo first-byte >>"$work/$img.first.ms"
		first_byte_ms --image "$IMAGES/$img.oci.tar" -- echo first-byte >>"$work/$img.cached.ms"
	done
	first=$(median <"$work/$img.first.ms")
	cached=$(median <"$work/$img.cached.ms")
	erofs=$(ls "$work"/cache/*.erofs 2>/dev/null | head -1)
	echo "image $img ($(stat -c %s "$IMAGES/$img.oci.tar") bytes archived," \
		"$([ -n "$erofs" ] && stat -c %s "$erofs" || echo '?') bytes erofs), to the" \
		"workload's first byte, median of $RUNS: first run $first ms (conversion included)," \
		"cached $cached ms; conversion about $((first - cached)) ms"
done

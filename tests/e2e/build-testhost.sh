#!/bin/bash
# Assembles the e2e test host: the kernel of Debian's linux-image-cloud-amd64
# and an initramfs (rootfs/build-initramfs.sh: busybox, uncompressed, which
# an emulated CPU unpacks fastest) holding the kvm modules of that kernel,
# vmjail's binaries with exactly the shared libraries they need, the guest
# kernel and initramfs (the e2e guest's /init: guest-init.sh), the agent's
# initramfs (vmjail-init: rootfs/) and ext4 images (a root image and the
# CI example's scratch disk) with the Linux example policies and a host
# file for `vmjail run`, and the scenario runner as /init.
#
# usage: build-testhost.sh OUTDIR GUEST_VMLINUX GUEST_INITRAMFS AGENT_INITRAMFS
#                          ROOT_EXT4 SCRATCH_EXT4 BINARY...
# writes OUTDIR/testhost-vmlinuz and OUTDIR/testhost.cpio
set -euo pipefail

die() { echo "build-testhost: $*" >&2; exit 1; }

[ $# -ge 6 ] ||
	die "usage: build-testhost.sh OUTDIR GUEST_VMLINUX GUEST_INITRAMFS AGENT_INITRAMFS" \
		"ROOT_EXT4 SCRATCH_EXT4 BINARY..."
out=$1 guest_kernel=$2 guest_initrd=$3 agent_initrd=$4 root_ext4=$5 scratch_ext4=$6
shift 6
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../.." && pwd)
meta=linux-image-cloud-amd64

# The kernel the meta package points at now, not whatever else is in /boot.
depends=$(dpkg-query -W -f='${Depends}' "$meta" 2>/dev/null) ||
	die "package $meta is not installed (make deps-e2e installs it)"
kver=$(sed -n 's/^linux-image-\([^ ,]*\).*/\1/p' <<<"$depends")
[ -n "$kver" ] || die "package $meta: no linux-image-* in its Depends ($depends)"
kernel=/boot/vmlinuz-$kver
moddir=/lib/modules/$kver
[ -r "$kernel" ] || die "test-host kernel ($kernel): not readable"

files=(--file "$here/scenarios.sh:/e2e/scenarios.sh"
	--file "$top/tests/proc-status.sh:/e2e/proc-status.sh"
	--file "$guest_kernel:/e2e/guest/vmlinux:644"
	--file "$guest_initrd:/e2e/guest/e2e-initramfs.cpio:644"
	--file "$agent_initrd:/e2e/guest/initramfs.cpio:644"
	--file "$root_ext4:/e2e/guest/rootfs.ext4:644"
	--file "$scratch_ext4:/e2e/guest/scratch.ext4:644"
	--file "$here/host.yaml:/e2e/host.yaml:644")
for p in linux untrusted function ci-job; do
	files+=(--file "$top/policy/examples/$p.yaml:/e2e/$p.yaml:644")
done
files+=(--file "$here/image.yaml:/e2e/image.yaml:644")
# Container image archives the build made (make-image.sh), for --image.
for f in "${E2E_IMAGES:-/nonexistent}"/*.tar; do
	[ -f "$f" ] && files+=(--file "$f:/e2e/images/${f##*/}:644")
done
# vmjail-runc under Debian's containerd (scenario oci-containerd, which
# imports the OCI archive above): its policy, and containerd, ctr and the
# runc v2 shim, whose libraries follow below with vmjail's.
files+=(--file "$here/oci-policy.yaml:/e2e/oci.yaml:644")
set -- "$@" /usr/bin/containerd /usr/bin/ctr /usr/bin/containerd-shim-runc-v2

# Debian 12 ships plain .ko files; later releases compress them, and
# busybox insmod takes only plain ones.
mkdir -p "$out/testhost-modules"
for m in kernel/virt/lib/irqbypass kernel/arch/x86/kvm/kvm \
	kernel/arch/x86/kvm/kvm-amd kernel/drivers/net/tun; do
	plain=$out/testhost-modules/${m##*/}.ko
	if [ -f "$moddir/$m.ko" ]; then
		plain=$moddir/$m.ko
	elif [ -f "$moddir/$m.ko.xz" ]; then
		xz -dc "$moddir/$m.ko.xz" >"$plain"
	elif [ -f "$moddir/$m.ko.zst" ]; then
		zstd -qdc "$moddir/$m.ko.zst" >"$plain"
	else
		die "module ($moddir/$m.ko): not found"
	fi
	files+=(--file "$plain:/lib/modules/${m##*/}.ko:644")
done

# Static binaries need nothing more; a dynamic one (the sanitizer build)
# gets its loader and libraries at the paths ldd resolves them to.
declare -A libs=()
for bin in "$@"; do
	{ [ -f "$bin" ] && [ -x "$bin" ]; } || die "binary ($bin): not an executable file"
	files+=(--file "$bin:/usr/bin/${bin##*/}:755")
	while read -r lib; do
		libs[$lib]=1
	done < <({ ldd "$bin" 2>/dev/null || true; } | grep -oE '/[^ ]+' || true)
done
for lib in "${!libs[@]}"; do
	files+=(--file "$(readlink -f "$lib"):$lib:755")
done

"$top/rootfs/build-initramfs.sh" --init "$here/testhost-init.sh" \
	"${files[@]}" "$out/testhost.cpio"
cmp -s "$kernel" "$out/testhost-vmlinuz" || cp "$kernel" "$out/testhost-vmlinuz"

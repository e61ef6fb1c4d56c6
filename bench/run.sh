#!/bin/bash
# Runs benchmarks by name (`make bench` runs them all): each prints its
# figures, medians, with QEMU's microvm measured beside vmjail in the same
# run where QEMU is installed. Figures only: nothing here passes or fails
# on time.
#   vmm     exec of vmjail-vmm to its first guest instruction, to the
#           boot marker and to its exit; its memory beside guest RAM
#   linux   Linux boot, the same bzImage and initramfs on every VMM (QEMU's
#           microvm, kvmtool where lkvm is installed): exec to /init, exec
#           to exit, vmjail-vmm on THP and on 4 KiB pages
#   jail    the jail's set-up, sandboxes launched and finished per second
#   peers   exec to the first KVM_RUN (the kernel's tracepoints) of
#           vmjail-vmm, a jailed sandbox, kvmtool and QEMU's microvm, and
#           each run serially: runs per second, busy CPU per run
#   virtio  a virtio request against a bare exit
#   ctl     pause and resume through a sandbox's control socket, and ps
#           over 50 sandboxes' entries
#   snapshot  a test guest resumed from a snapshot against booted: exec to
#           its first output; the snapshot's time and size
#   snap    Linux clones: restore to first byte against boot to first byte,
#           snapshot time and size, the memory of 10 clones
#   image   container images: first run (conversion included) and cached
#           run to the workload's first byte, small and ~50 MiB images,
#           beside the bundled initramfs
#   teardown  `vmjail run` with its teardown waited for and in the
#           background (and an older build's, BEFORE): exec to exit,
#           serial sandboxes per second, busy CPU per run; also under
#           `setarch -R`
#   migrate live migration of a 256 MiB test guest, idle and dirtying
#           memory at a fixed rate: total time and downtime
# Where this host's /dev/kvm cannot run them (there is none, or it is not
# usable), they run one level down, in the nested test host
# (tests/e2e/nested.sh), all in one boot, with QEMU carried in: then every
# absolute figure is one of nested emulation, which says little about
# hardware; the ratios of vmjail to QEMU, measured side by side in the
# same test host, are what to compare.
#
# usage: bench/run.sh NAME...        (env: BUILD, RUNS)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
export BUILD

bench_one() {
	case $1 in
	vmm) "$BUILD/bench/vmm-boot" -n "${RUNS:-20}" "$BUILD" ;;
	linux) "$BUILD/bench/linux-boot" -n "${RUNS:-10}" "$BUILD" ;;
	jail) "$BUILD/bench/jail-bench" -n "${RUNS:-20}" "$BUILD" ;;
	peers) RUNS=${RUNS:-10} "$TOP/bench/peers-bench.sh" ;;
	virtio) "$TOP/bench/virtio-bench.sh" ;;
	ctl) "$TOP/bench/ctl-bench.sh" ;;
	snapshot) "$BUILD/bench/snapshot-bench" -n "${RUNS:-10}" "$BUILD" ;;
	snap) "$TOP/bench/snap-bench.sh" ;;
	image) "$TOP/bench/image-bench.sh" ;;
	migrate) "$TOP/bench/migrate-bench.sh" ;;
	teardown) RUNS=${RUNS:-10} "$TOP/bench/teardown-bench.sh" &&
		RUNS=${RUNS:-10} SETARCH=1 "$TOP/bench/teardown-bench.sh" ;;
	*) echo "bench/run.sh: unknown benchmark \"$1\" (vmm, linux, jail, peers, virtio, ctl, snapshot, snap, image, migrate, teardown)" >&2
		return 2 ;;
	esac
}

if [ "${1:-}" = --here ]; then
	shift
	rc=0
	for b in "$@"; do
		echo "== bench $b"
		bench_one "$b" || rc=1
	done
	exit $rc
fi

# Snapshots are measured with a Linux guest: a /dev/kvm that cannot boot
# one sends them to the test host.
probe=kvm
for b in "$@"; do [ "$b" = snap ] || [ "$b" = image ] && probe=linux; done
if why=$("$TOP/tests/kvm-probe" $probe); then
	exec "$0" --here "$@"
fi
echo "bench: $why: measuring in the nested test host (QEMU TCG emulating SVM," \
	"kvm_amd inside); absolute figures are nested emulation, compare the ratios"
exec "$TOP/tests/e2e/nested.sh" --qemu --name bench --timeout 3600 -- \
	"$TOP/bench/run.sh" --here "$@"

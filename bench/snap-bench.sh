#!/bin/bash
# Snapshots' costs, with the Linux guest of build/guest (vmlinux, the
# initramfs with vmjail-init) and one policy of 256 MiB for every figure:
#   - `vmjail run` to the workload's first byte of output, booted and
#     resumed from a snapshot (--from-snapshot), the same command;
#   - `vmjail snapshot` of a running 256 MiB sandbox: its time, and its
#     files' apparent and allocated sizes;
#   - 10 clones of that snapshot alive at once, each having run a small
#     command: the private memory of their VMMs summed (Private_Clean +
#     Private_Dirty of /proc/PID/smaps_rollup), beside 10 times the guest.
# Figures only (medians of RUNS), nothing passes or fails on time. Needs
# root and /dev/kvm (bench/run.sh runs it in the nested test host where
# this host has none).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
RUNS=${RUNS:-5}
CLONES=10
VMJAIL=$BUILD/vmjail
work=$(mktemp -d /run/vmjail-snapbench.XXXXXX)
chmod 0755 "$work"
mkdir -m 0755 "$work/run" "$work/socks"
mkdir -m 0700 "$work/snaps"

cat >"$work/host.yaml" <<EOF
version: 1
roots:
  kernels: [$BUILD/guest]
  images: [$BUILD/guest]
  sockets: [$work/socks]
  snapshots: [$work/snaps]
run_dir: $work/run
cgroup_parent: vmjail-bench
max:
  memory: 1Gi
EOF
cat >"$work/fn.yaml" <<EOF
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
workload:
  argv: [echo, first-byte]
EOF
VJ=("$VMJAIL" --host-config "$work/host.yaml")

cleanup() {
	local d
	for d in "$work"/run/*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		"${VJ[@]}" kill "${d##*/}" --vm >/dev/null 2>&1
	done
	sleep 1
	for d in "$work"/run/*/; do
		[ -d "$d" ] || continue
		d=${d%/}
		"${VJ[@]}" rm "${d##*/}" >/dev/null 2>&1
	done
	rm -rf "$work"
}
trap cleanup EXIT


# The source: booted, its agent's workload waiting; snapshot it.
"${VJ[@]}" run "$work/fn.yaml" --id snapsrc --detach -- sh -c 'echo ready; exec sleep 100000' \
	>/dev/null || { echo "snap-bench: the source sandbox did not start" >&2; exit 1; }
for _ in $(seq 600); do
	grep -q ready "$work/run/snapsrc/stdout.log" 2>/dev/null && break
	sleep 0.2
done
if ! grep -q ready "$work/run/snapsrc/stdout.log" 2>/dev/null; then
	echo "snap-bench: the source sandbox's workload never started:" >&2
	"${VJ[@]}" ps >&2
	cat "$work/run/snapsrc/stderr.log" >&2
	exit 1
fi
for i in $(seq "$RUNS"); do
	t0=$(now_ns)
	"${VJ[@]}" snapshot snapsrc --to "$work/snaps/s$i" >/dev/null ||
		{ echo "snap-bench: snapshot failed" >&2; exit 1; }
	echo $((($(now_ns) - t0) / 1000000)) >>"$work/snap.ms"
done
"${VJ[@]}" kill snapsrc --vm >/dev/null 2>&1
snap=$work/snaps/s1
echo "snapshot of a running 256 MiB guest (vmjail snapshot, pause to resume): $(median <"$work/snap.ms") ms median of $RUNS"
for f in state memory; do
	echo "  $f: $(stat -c %s "$snap/$f") bytes apparent, $(du -k "$snap/$f" | cut -f1) KiB allocated"
done
rm -rf "$work"/snaps/s[2-9]*
"${VJ[@]}" wait snapsrc >/dev/null 2>&1
"${VJ[@]}" rm snapsrc >/dev/null 2>&1

for i in $(seq "$RUNS"); do
	first_byte_ms "$work/fn.yaml" --id boot$i -- echo first-byte >>"$work/boot.ms"
	first_byte_ms "$work/fn.yaml" --id restore$i --from-snapshot "$snap" -- echo first-byte >>"$work/restore.ms"
done
boot=$(median <"$work/boot.ms")
restore=$(median <"$work/restore.ms")
echo "to the workload's first byte, median of $RUNS: cold boot $boot ms, restore $restore ms" \
	"($(awk -v b="$boot" -v r="$restore" 'BEGIN { printf "%.1f", r ? b / r : 0 }')x)"

# 10 clones at once, each having run a command, then waiting.
for i in $(seq "$CLONES"); do
	"${VJ[@]}" run "$work/fn.yaml" --id clone$i --detach --from-snapshot "$snap" -- \
		sh -c 'head -c 4096 /dev/urandom >/tmp/x; echo done; exec sleep 100000' >/dev/null ||
		echo "snap-bench: clone $i did not start" >&2
done
for i in $(seq "$CLONES"); do
	for _ in $(seq 600); do
		grep -q done "$work/run/clone$i/stdout.log" 2>/dev/null && break
		sleep 0.2
	done
done
total=0 n=0
for i in $(seq "$CLONES"); do
	pid=$(sed -n 's/.*"vmm_pid":\([0-9]*\).*/\1/p' "$work/run/clone$i/sandbox.json")
	kb=$(awk '/^Private_(Clean|Dirty):/ { s += $2 } END { print s + 0 }' \
		"/proc/$pid/smaps_rollup" 2>/dev/null)
	[ -n "$kb" ] && [ "$kb" -gt 0 ] || continue
	total=$((total + kb))
	n=$((n + 1))
done
echo "$n clones of one 256 MiB snapshot, each having run a command: VMMs' private memory" \
	"$((total / 1024)) MiB in all ($((total / 1024 / (n ? n : 1))) MiB each), against" \
	"$((n * 256)) MiB for $n guests' RAM ($(awk -v t="$total" 'BEGIN { printf "%.2f", t / 1024 / 256 }')x one guest)"

#!/bin/bash
# Host-side cost of virtio requests, as ratios to a bare exit measured in
# the same run (vjtest=bench in tests/guest/virtio/bench.c: the guest
# times each from ring 3, which runs natively here, with the TSC):
#   exit          MMIO read of a virtio register: exit to the vCPU thread
#   blk 4K read   notify, VMM thread wake-up, chain walk, preadv, used ring
#   net frame     notify, VMM thread wake-up, chain walk, writev to the tap
# RUNS boots (default 5), N requests of each kind per boot (default 2000);
# per-boot medians, then the median of those. Figures, never pass/fail.
# Needs /dev/kvm; the net part needs root (a tap in a namespace of its own).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
. "$TOP/bench/lib.sh"
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
VMM=$BUILD/vmjail-vmm
GUEST=$BUILD/tests/guest/virtio/virtio-guest.elf
VHOST=$BUILD/tests/integration/virtio-host
RUNS=${RUNS:-5}
N=${N:-2000}

for f in "$VMM" "$GUEST" "$VHOST"; do
	[ -e "$f" ] || { echo "virtio-bench: $f missing (run make)" >&2; exit 1; }
done
[ -w /dev/kvm ] || { echo "virtio-bench: needs /dev/kvm" >&2; exit 1; }
work=$(mktemp -d /tmp/vjbench.XXXXXX)
NS=
cleanup() { [ -n "$NS" ] && ip netns del "$NS" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
"$VHOST" mkdisk "$work/disk.img"
run=("$VMM")
net=()
if [ "$(id -u)" = 0 ] && [ -c /dev/net/tun ] && command -v ip >/dev/null; then
	NS=vjbench$$
	ip netns add $NS
	ip netns exec $NS ip tuntap add dev vjtap0 mode tap
	ip netns exec $NS ip link set vjtap0 up
	run=(ip netns exec $NS "$VMM")
	net=(--net tap=vjtap0)
else
	echo "virtio-bench: not root: no net figures" >&2
fi


: >"$work/runs"
for r in $(seq "$RUNS"); do
	line=$("${run[@]}" --kernel "$GUEST" --memory 64M --console stdout \
		--cmdline "vjtest=bench vjn=$N" --drive "path=$work/disk.img,ro" "${net[@]}" |
		grep '^vjbench:')
	[ -n "$line" ] || { echo "virtio-bench: run $r produced no figures" >&2; exit 1; }
	echo "run $r: ${line#vjbench: }"
	echo "$line" >>"$work/runs"
done

field() { sed -n "s/.* $1=\([0-9]*\).*/\1/p" "$work/runs" | median; }
mhz=$("$VHOST" tsc-mhz)
exit_c=$(field exit)
blk_c=$(field blk_read_4k)
net_c=$(field net_tx_1514)
us() { awk -v c="$1" -v m="$mhz" 'BEGIN { printf "%.1f", c / m }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
echo
echo "virtio host-side cost per request, median of $RUNS boots x $N requests (TSC $mhz MHz):"
printf "  %-28s %9s cycles %7s us  %s\n" "bare exit (MMIO read)" "$exit_c" "$(us "$exit_c")" "1.00"
printf "  %-28s %9s cycles %7s us  %s x exit\n" "virtio-blk 4 KiB read" "$blk_c" "$(us "$blk_c")" \
	"$(ratio "$blk_c" "$exit_c")"
if [ "$net_c" != 0 ]; then
	printf "  %-28s %9s cycles %7s us  %s x exit\n" "virtio-net 1514-byte frame" "$net_c" \
		"$(us "$net_c")" "$(ratio "$net_c" "$exit_c")"
fi

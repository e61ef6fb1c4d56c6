#!/bin/sh
# /init of the e2e guest (booted by vmjail-vmm inside the test host).
# What it does is chosen on the guest's kernel command line: an unknown
# "name=value" parameter reaches init as an environment variable.
#   e2e_mode=reboot (default)  report, write the boot-complete marker, reboot
#   e2e_mode=panic             report, then exit: the kernel panics
#   e2e_mode=fill              fill a tmpfs with e2e_fill_mib MiB, report, reboot
#   e2e_mode=count             "E2E-GUEST: count N up=UPTIME mark=HEX" every 0.2
#                              s, forever (a snapshot taken meanwhile is resumed
#                              counting on); HEX is random, kept in a tmpfs
# Report lines start with "E2E-GUEST:" and go to ttyS0 directly, so that
# they prove user space drives the 8250 through the tty layer, not only
# through the kernel console.
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev

out=/dev/ttyS0
echo "E2E-GUEST: init pid=$$ mode=${e2e_mode:-reboot}" >$out
echo "E2E-GUEST: cpus online=$(cat /sys/devices/system/cpu/online) nproc=$(nproc)" >$out
# Firecracker-compatible boot timer: the VMM logs "boot complete".
devmem 0xc0000000 8 123 || echo "E2E-GUEST: devmem failed" >$out

# virtio modes: what Linux's own drivers do with vmjail's devices; the
# test host checks the other side (scenarios.sh, scenario_virtio_*).
virtio_blk() {
	mkdir -p /mnt
	if ! mount -t ext4 /dev/vda /mnt; then
		echo "E2E-GUEST: mount /dev/vda failed" >$out
		return
	fi
	i=0
	while [ $i -lt 64 ]; do
		echo "VJE2E-MARK-$e2e_token line $i"
		i=$((i + 1))
	done >/mnt/mark.txt
	sync
	dd if=/dev/urandom of=/mnt/big bs=1M count=8 2>/dev/null
	sync
	rm /mnt/big
	sync
	echo "E2E-GUEST: fstrim $(fstrim -v /mnt 2>&1)" >$out
	umount /mnt && echo "E2E-GUEST: virtio-blk done" >$out
}

virtio_blk_ro() {
	echo "E2E-GUEST: vda ro=$(cat /sys/block/vda/ro)" >$out
	if dd if=/dev/zero of=/dev/vda bs=4096 count=1 conv=fsync 2>/dev/null; then
		echo "E2E-GUEST: write to vda succeeded" >$out
	else
		echo "E2E-GUEST: write to vda refused" >$out
	fi
	mkdir -p /mnt
	mount -t ext4 -o ro /dev/vda /mnt &&
		echo "E2E-GUEST: marks on the ro drive $(grep -c VJE2E-MARK /mnt/mark.txt)" >$out
	touch /mnt/new 2>/dev/null || echo "E2E-GUEST: ro filesystem refuses a new file" >$out
	umount /mnt
}

virtio_rng() {
	echo "E2E-GUEST: hwrng current=$(cat /sys/class/misc/hw_random/rng_current)" >$out
	for i in 1 2; do
		echo "E2E-GUEST: hwrng bytes=$(dd if=/dev/hwrng bs=32 count=1 2>/dev/null |
			hexdump -v -e '/1 "%02x"')" >$out
	done
}

virtio_net() {
	ip link set lo up
	ip link set eth0 up
	ip addr add 10.0.2.2/24 dev eth0
	echo "E2E-GUEST: eth0 mac=$(cat /sys/class/net/eth0/address)" >$out
	if ping -c 3 -W 5 10.0.2.1 >/dev/null 2>&1; then
		echo "E2E-GUEST: ping 10.0.2.1 ok" >$out
	else
		echo "E2E-GUEST: ping 10.0.2.1 failed" >$out
	fi
	wget -q -O /tmp/blob http://10.0.2.1:8080/blob &&
		echo "E2E-GUEST: tcp blob sha256=$(sha256sum </tmp/blob | cut -d' ' -f1)" >$out
}

# The guest half of `virtio-host vsock-peer` (tests/integration/virtio-host.c).
virtio_vsock() {
	/bin/virtio-host vsock-guest >$out 2>&1
}

# More guest memory than the sandbox's cgroup allows: written through a
# tmpfs, every page is one the VMM's memory must hold.
fill() {
	mkdir -p /mnt
	mount -t tmpfs -o size=100% tmpfs /mnt
	echo "E2E-GUEST: filling ${e2e_fill_mib} MiB" >$out
	if dd if=/dev/zero of=/mnt/fill bs=1M count="${e2e_fill_mib}" 2>/dev/null; then
		echo "E2E-GUEST: filled ${e2e_fill_mib} MiB" >$out
	else
		echo "E2E-GUEST: fill failed at $(du -m /mnt/fill | cut -f1) MiB" >$out
	fi
}

case ${e2e_mode:-reboot} in
fill)
	fill
	echo "E2E-GUEST: rebooting" >$out
	reboot -f
	;;
virtio-blk | virtio-blk-ro | virtio-rng | virtio-net | virtio-vsock)
	"$(echo "$e2e_mode" | tr - _)"
	echo "E2E-GUEST: rebooting" >$out
	reboot -f
	;;
panic)
	echo "E2E-GUEST: exiting init" >$out
	exit 1
	;;
count)
	# A mark in a tmpfs and the uptime on every line: a guest resumed
	# elsewhere (snapshot, migration) shows both carried over.
	mkdir -p /run/e2e-mark && mount -t tmpfs tmpfs /run/e2e-mark
	head -c 8 /dev/urandom | hexdump -v -e '/1 "%02x"' >/run/e2e-mark/mark
	i=1
	while :; do
		echo "E2E-GUEST: count $i up=$(cut -d' ' -f1 /proc/uptime) mark=$(cat /run/e2e-mark/mark)" >$out
		i=$((i + 1))
		sleep 0.2
	done
	;;
*)
	echo "E2E-GUEST: rebooting" >$out
	reboot -f
	;;
esac

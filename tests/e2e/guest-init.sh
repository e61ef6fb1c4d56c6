#!/bin/sh
# /init of the e2e guest (booted by vmjail-vmm inside the test host).
# What it does is chosen on the guest's kernel command line: an unknown
# "name=value" parameter reaches init as an environment variable.
#   e2e_mode=reboot (default)  report, write the boot-complete marker, reboot
#   e2e_mode=panic             report, then exit: the kernel panics
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

case ${e2e_mode:-reboot} in
panic)
	echo "E2E-GUEST: exiting init" >$out
	exit 1
	;;
*)
	echo "E2E-GUEST: rebooting" >$out
	reboot -f
	;;
esac

#!/bin/sh
# /init of the minimal initramfs: proves that the kernel reached user space,
# then resets the VM (the VMM ends on the i8042 reset that `reboot -f` does
# when there is no ACPI).
echo "vmjail-initramfs-min: init reached"
reboot -f

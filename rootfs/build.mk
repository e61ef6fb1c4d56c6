# Guest kernel and initramfs. Not part of `all`: they are test inputs (and
# the kernel takes minutes on a cache miss), so tests pull them through
# TEST_DEPS. Both scripts run every time and are fast when nothing changed:
# they decide freshness themselves (the kernel by an input hash in the
# cache, the initramfs by content) and leave unchanged outputs untouched.

GUEST_KERNEL := $(BUILD)/guest/vmlinux
# The same kernel as a compressed bzImage: what every VMM boots alike in
# the Linux benchmark (bench/linux-boot.c).
GUEST_BZIMAGE := $(BUILD)/guest/bzImage
GUEST_INITRAMFS_MIN := $(BUILD)/guest/initramfs-min.cpio

.PHONY: kernel initramfs-min
kernel: deps-kernel
	$(Q)$(TOP)/rootfs/build-kernel.sh $(GUEST_KERNEL) $(GUEST_BZIMAGE)

initramfs-min: deps-kernel
	$(Q)$(TOP)/rootfs/build-initramfs.sh $(GUEST_INITRAMFS_MIN)

TEST_DEPS += kernel initramfs-min
INTEGRATION_TESTS += tests/integration/kernel-early-boot.sh \
	tests/integration/initramfs-builder.sh

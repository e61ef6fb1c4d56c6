#!/bin/bash
# The guest images that carry vmjail-init (make initramfs rootfs-ext4):
# vmjail-init is /init of the initramfs and /sbin/vmjail-init in both,
# busybox provides the usual commands, the ext4 image is clean, and the
# guest binary needs no loader or library.
# needs: none
. "$(cd "$(dirname "$0")" && pwd)/agent-lib.sh"

CPIO=$BUILD/guest/initramfs.cpio
EXT4=$BUILD/guest/rootfs.ext4
for f in "$CPIO" "$EXT4" "$INIT_STATIC"; do
	[ -f "$f" ] || { fail "agent-images: $f exists" "run make rootfs-ext4"; finish; exit; }
done

expect_that "agent-images: vmjail-init is static (no program interpreter, no libraries)" \
	eval '! readelf -lW "$INIT_STATIC" | grep -q "Requesting program interpreter" &&
		! readelf -dW "$INIT_STATIC" | grep -q NEEDED'

mkdir -p "$WORK/cpio"
(cd "$WORK/cpio" && cpio -idm --quiet --no-preserve-owner --nonmatching 'dev/?*' <"$CPIO")
expect_that "agent-images: the initramfs's /init is vmjail-init" cmp -s "$WORK/cpio/init" "$INIT_STATIC"
expect_that "agent-images: the initramfs has /sbin/vmjail-init -> /init" \
	test "$(readlink "$WORK/cpio/sbin/vmjail-init")" = /init
expect_that "agent-images: the initramfs has busybox sh, cat, uname" \
	eval 'for c in sh cat uname; do test -L "$WORK/cpio/bin/$c" || exit 1; done'
expect_that "agent-images: the initramfs has /dev/console" \
	eval 'cpio -tv <"$CPIO" 2>/dev/null | grep -q "^crw.* dev/console$"'

debugfs -R "dump /init $WORK/ext4-init" "$EXT4" 2>/dev/null
expect_that "agent-images: the ext4 image's /init is vmjail-init" cmp -s "$WORK/ext4-init" "$INIT_STATIC"
expect_that "agent-images: the ext4 image has /sbin/vmjail-init and /bin/busybox" \
	eval 'debugfs -R "stat /sbin/vmjail-init" "$EXT4" 2>/dev/null | grep -q "Type: symlink" &&
		debugfs -R "stat /bin/busybox" "$EXT4" 2>/dev/null | grep -q "Type: regular"'
expect_that "agent-images: the ext4 image passes e2fsck" eval 'e2fsck -fn "$EXT4" >/dev/null 2>&1'

# A user's own tree goes through the same script.
mkdir -p "$WORK/tree/sbin" "$WORK/tree/etc"
cp "$INIT_STATIC" "$WORK/tree/sbin/vmjail-init"
echo my-rootfs >"$WORK/tree/etc/hostname"
"$TOP/rootfs/init/build-ext4.sh" "$WORK/tree" "$WORK/own.ext4" >/dev/null
debugfs -R "cat /etc/hostname" "$WORK/own.ext4" >"$WORK/own.hostname" 2>/dev/null
expect_that "agent-images: build-ext4.sh turns a directory into an image, no mount needed" \
	grep -qx my-rootfs "$WORK/own.hostname"
touch -d @0 "$WORK/own.ext4"
"$TOP/rootfs/init/build-ext4.sh" "$WORK/tree" "$WORK/own.ext4" >/dev/null
expect_that "agent-images: unchanged inputs leave the image alone" \
	test "$(stat -c %Y "$WORK/own.ext4")" = 0
echo changed >"$WORK/tree/etc/hostname"
"$TOP/rootfs/init/build-ext4.sh" "$WORK/tree" "$WORK/own.ext4" >/dev/null
expect_that "agent-images: a changed tree rebuilds the image" \
	test "$(stat -c %Y "$WORK/own.ext4")" != 0
finish

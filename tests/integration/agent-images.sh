#!/bin/bash
# The guest images that carry vmjail-init (make initramfs rootfs-ext4):
# vmjail-init is /init of the initramfs and /sbin/vmjail-init in both,
# busybox provides the usual commands, the ext4 image is clean, and the
# guest binary needs no loader or library.
# needs: none
# builds: $(AGENT_DRIVE) $(AGENT_EVIL) $(VJ_INIT_HOST) $(VJ_INIT) initramfs rootfs-ext4
. "$(cd "$(dirname "$0")" && pwd)/agent-lib.sh"

CPIO=$BUILD/guest/initramfs.cpio
EXT4=$BUILD/guest/rootfs.ext4
for f in "$CPIO" "$EXT4" "$INIT_STATIC"; do
	[ -f "$f" ] || { fail "agent-images: $f exists" "run make rootfs-ext4"; finish; exit; }
done

expect "agent-images: vmjail-init is static (no program interpreter, no libraries)" clean \
	eval '! readelf -lW "$INIT_STATIC" | grep -q "Requesting program interpreter" &&
		! readelf -dW "$INIT_STATIC" | grep -q NEEDED'

mkdir -p "$WORK/cpio"
(cd "$WORK/cpio" && cpio -idm --quiet --no-preserve-owner --nonmatching 'dev/?*' <"$CPIO")
expect "agent-images: the initramfs's /init is vmjail-init" clean cmp -s "$WORK/cpio/init" "$INIT_STATIC"
expect "agent-images: the initramfs has /sbin/vmjail-init -> /init" clean \
	test "$(readlink "$WORK/cpio/sbin/vmjail-init")" = /init
expect "agent-images: the initramfs has busybox sh, cat, uname" clean \
	eval 'for c in sh cat uname; do test -L "$WORK/cpio/bin/$c" || exit 1; done'
expect "agent-images: the initramfs has /dev/console" clean \
	eval 'cpio -tv <"$CPIO" 2>/dev/null | grep -q "^crw.* dev/console$"'

debugfs -R "dump /init $WORK/ext4-init" "$EXT4" 2>/dev/null
expect "agent-images: the ext4 image's /init is vmjail-init" clean cmp -s "$WORK/ext4-init" "$INIT_STATIC"
expect "agent-images: the ext4 image has /sbin/vmjail-init and /bin/busybox" clean \
	eval 'debugfs -R "stat /sbin/vmjail-init" "$EXT4" 2>/dev/null | grep -q "Type: symlink" &&
		debugfs -R "stat /bin/busybox" "$EXT4" 2>/dev/null | grep -q "Type: regular"'
expect "agent-images: the ext4 image passes e2fsck" clean eval 'e2fsck -fn "$EXT4" >/dev/null 2>&1'

# A user's own tree goes through the same script.
mkdir -p "$WORK/tree/sbin" "$WORK/tree/etc"
cp "$INIT_STATIC" "$WORK/tree/sbin/vmjail-init"
echo my-rootfs >"$WORK/tree/etc/hostname"
"$TOP/rootfs/init/build-ext4.sh" "$WORK/tree" "$WORK/own.ext4" >/dev/null
debugfs -R "cat /etc/hostname" "$WORK/own.ext4" >"$WORK/own.hostname" 2>/dev/null
expect "agent-images: build-ext4.sh turns a directory into an image, no mount needed" clean \
	grep -qx my-rootfs "$WORK/own.hostname"
touch -d @0 "$WORK/own.ext4"
"$TOP/rootfs/init/build-ext4.sh" "$WORK/tree" "$WORK/own.ext4" >/dev/null
expect "agent-images: unchanged inputs leave the image alone" clean \
	test "$(stat -c %Y "$WORK/own.ext4")" = 0
echo changed >"$WORK/tree/etc/hostname"
"$TOP/rootfs/init/build-ext4.sh" "$WORK/tree" "$WORK/own.ext4" >/dev/null
expect "agent-images: a changed tree rebuilds the image" clean \
	test "$(stat -c %Y "$WORK/own.ext4")" != 0
finish

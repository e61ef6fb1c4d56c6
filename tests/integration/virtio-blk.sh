#!/bin/bash
# virtio-blk and virtio-rng against the test guest's polling drivers (one
# request by interrupt), with the drive files checked on the host.
# needs: kvm
# builds: $(VGUEST) $(VHOST)
. "$(cd "$(dirname "$0")" && pwd)/virtio-lib.sh"

need_guest virtio-blk || { finish; exit; }

disk=$WORK/disk.img
"$VHOST" mkdisk "$disk" || { fail "virtio-blk: make drive"; finish; exit; }
blocks_before=$(stat -c %b "$disk")
guest blk --drive "path=$disk,id=vjdisk0"
expect "virtio-blk: read, write, flush, write zeroes, discard, GET_ID from the guest" guest_ok blk
expect "virtio-blk: GET_ID returns the configured id" out_has "id=vjdisk0 *$"
expect "virtio-blk: the file holds what the guest wrote, zeroed and discarded" \
	eval 'WHY=$("$VHOST" checkdisk "$disk")'
blocks_after=$(stat -c %b "$disk")
# The guest discarded 64 KiB: 128 blocks of 512 bytes.
expect "virtio-blk: discard deallocated the range ($blocks_before -> $blocks_after blocks)" \
	test "$blocks_after" -le $((blocks_before - 128))

"$VHOST" mkdisk "$disk"
guest blk-ro --drive "path=$disk,ro"
expect "virtio-blk: read-only drive offers VIRTIO_BLK_F_RO and refuses writes" guest_ok blk-ro
expect "virtio-blk: read-only drive file unchanged" eval 'WHY=$("$VHOST" checkdisk-ro "$disk")'

guest blk-irq --drive "path=$disk,ro"
expect "virtio-blk: a request completed by interrupt (irqfd, InterruptStatus)" guest_ok blk-irq

# Throttled hard (8 operations then 4 per 100 ms) the guest's 32 reads
# still all complete: the limiter's timer resumes the queue.
VJARGS="vjreads=32" guest blk-ro --drive "path=$disk,ro,ops=4,ops-refill=100ms,ops-burst=8" -vv
expect "virtio-blk: a rate-limited queue resumes from its timer" guest_ok blk-ro
expect "virtio-blk: the limiter held the queue back" err_has "virtio-blk0: rate limit reached"

guest blk --drive "path=$WORK/missing.img"
expect "virtio-blk: a missing drive file is a configuration error naming it" \
	config_error "open drive 0 ($WORK/missing.img): No such file or directory"

guest rng --rng
expect "virtio-rng: two reads, filled and different" guest_ok rng
finish

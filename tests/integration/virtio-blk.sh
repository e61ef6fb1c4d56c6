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
if grep -q "id=vjdisk0 *$" <<<"$OUT"; then
	pass "virtio-blk: GET_ID returns the configured id"
else
	fail "virtio-blk: GET_ID returns the configured id" "$(grep vjtest <<<"$OUT")"
fi
if why=$("$VHOST" checkdisk "$disk"); then
	pass "virtio-blk: the file holds what the guest wrote, zeroed and discarded"
else
	fail "virtio-blk: the file holds what the guest wrote, zeroed and discarded" "$why"
fi
blocks_after=$(stat -c %b "$disk")
# The guest discarded 64 KiB: 128 blocks of 512 bytes.
if [ "$blocks_after" -le $((blocks_before - 128)) ]; then
	pass "virtio-blk: discard deallocated the range ($blocks_before -> $blocks_after blocks)"
else
	fail "virtio-blk: discard deallocated the range" "$blocks_before -> $blocks_after blocks"
fi

"$VHOST" mkdisk "$disk"
guest blk-ro --drive "path=$disk,ro"
expect "virtio-blk: read-only drive offers VIRTIO_BLK_F_RO and refuses writes" guest_ok blk-ro
if why=$("$VHOST" checkdisk-ro "$disk"); then
	pass "virtio-blk: read-only drive file unchanged"
else
	fail "virtio-blk: read-only drive file unchanged" "$why"
fi

guest blk-irq --drive "path=$disk,ro"
expect "virtio-blk: a request completed by interrupt (irqfd, InterruptStatus)" guest_ok blk-irq

# Throttled hard (8 operations then 4 per 100 ms) the guest's 32 reads
# still all complete: the limiter's timer resumes the queue.
VJARGS="vjreads=32" guest blk-ro --drive "path=$disk,ro,ops=4,ops-refill=100,ops-burst=8" -vv
expect "virtio-blk: a rate-limited queue resumes from its timer" guest_ok blk-ro
if grep -q "virtio-blk0: rate limit reached" <<<"$ERR"; then
	pass "virtio-blk: the limiter held the queue back"
else
	fail "virtio-blk: the limiter held the queue back" "no 'rate limit reached' in the VMM log"
fi

guest blk --drive "path=$WORK/missing.img"
if [ "$RC" = 1 ] && grep -q "open drive 0 ($WORK/missing.img): No such file or directory" <<<"$ERR"; then
	pass "virtio-blk: a missing drive file is a configuration error naming it"
else
	fail "virtio-blk: a missing drive file is a configuration error naming it" "exit $RC: $ERR"
fi

guest rng --rng
expect "virtio-rng: two reads, filled and different" guest_ok rng
finish

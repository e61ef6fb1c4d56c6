#!/bin/bash
# Snapshot and restore (vmm/SNAPSHOT.md) with vmm-ctl in the launcher's
# place and the test guest's `count` scenario, which counts in memory on
# LAPIC timer interrupts: a snapshot is refused while the VM runs and
# taken once paused; the source counts on; a restore counts on from the
# snapshot's number, with the registers it was saved with and its timer
# still ticking; two clones count side by side; a corrupted, truncated or
# mismatched snapshot is refused with one line; a VM with a writable drive
# cannot be snapshotted. The figures (snapshot time, restore to the next
# count line, the clones' private memory) are printed as INFO lines.
# needs: kvm
. "$(dirname "$0")/../lib.sh"

DRIVER=$BUILD/tests/integration/vmm-ctl
need_kvm "vmm-snapshot" || exit 0
for f in "$VMM" "$GUEST" "$DRIVER"; do
	[ -e "$f" ] || { fail "vmm-snapshot: $f exists" "build it first (make)"; finish; exit; }
done
work=$(mktemp -d /tmp/vjsnap.XXXXXX)
trap 'rm -rf "$work"' EXIT

# drive NAME DRIVER-ARGS...: one driver run, its findings as results.
drive() {
	local name=$1 line
	shift
	run_capture 300 "$DRIVER" "$@"
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "$name: ${line#ok }" ;;
		"FAIL "*) fail "$name: ${line#FAIL }" ;;
		"info "*) echo "INFO: $name: ${line#info }" ;;
		esac
	done <<<"$OUT"
	[ -n "$OUT" ] || fail "$name: the driver reported" "exit $RC: $ERR"
}

mkdir "$work/snap"
drive vmm-snapshot --snapshot "$VMM" "$GUEST" "$work/snap"
ls -l "$work/snap" | sed -n 's/^/INFO: vmm-snapshot: files: /p'

# refused NAME WANT DIR [ARGS...]: a restore from DIR fails with exit 1 and
# one line on stderr that contains WANT.
refused() {
	local name=$1 want=$2 dir=$3
	shift 3
	run_capture 60 "$VMM" --restore "$dir" --memory 32M --console stdout "$@"
	if [ "$RC" = 1 ] && [ "$(printf '%s\n' "$ERR" | wc -l)" = 1 ] && [[ $ERR == *"$want"* ]]; then
		pass "vmm-snapshot: $name is refused with one line ($ERR)"
	else
		fail "vmm-snapshot: $name is refused with one line naming it" "exit $RC: $ERR"
	fi
}

if [ -s "$work/snap/state" ]; then
	mkdir "$work/bad"
	cp "$work/snap/state" "$work/bad/state"
	cp --sparse=always "$work/snap/memory" "$work/bad/memory"
	# A byte in the first vCPU's registers (CONFIG and VM come first).
	printf '\xff' | dd of="$work/bad/state" bs=1 seek=2000 conv=notrunc status=none
	refused "a corrupted state file" "checksum mismatch" "$work/bad"
	head -c 1000 "$work/snap/state" >"$work/bad/state"
	refused "a truncated state file" "truncated" "$work/bad"
	printf 'not a snapshot state file at all, but a long enough line of text\n' >"$work/bad/state"
	refused "a file that is no snapshot" "bad magic" "$work/bad"
	refused "a restore with other guest memory" "memory: the snapshot has 32 MiB" \
		"$work/snap" --memory 64M
	refused "a restore with other vCPUs" "vCPUs: the snapshot has 1, the configuration 2" \
		"$work/snap" --vcpus 2
	truncate -s 16M "$work/bad/memory"
	cp "$work/snap/state" "$work/bad/state"
	refused "a memory file of another size" "not a snapshot memory file" "$work/bad"
fi

# The same with a 256 MiB guest, for its figures, and with 4 vCPUs (the
# others waiting for a start-up IPI, their state saved and restored too).
mkdir "$work/snap256" "$work/snap4"
VMM_CTL_MEMORY=256M drive "vmm-snapshot 256 MiB" --snapshot "$VMM" "$GUEST" "$work/snap256"
VMM_CTL_VCPUS=4 drive "vmm-snapshot 4 vCPUs" --snapshot "$VMM" "$GUEST" "$work/snap4"

truncate -s 1M "$work/drive.img"
drive "vmm-snapshot writable drive" --snapshot-rw "$VMM" "$GUEST" "$work/drive.img"
finish

#!/bin/bash
# Live migration between two vmjail-vmm on this machine over a Unix
# socket pair (vmm/MIGRATION.md), vmm-migrate in both launchers' places,
# with the test guest counting in memory: the count continues on the
# destination with no reset; a guest that dirties 16 MiB as fast as it can
# converges through the round limit, and no page it wrote is stale on the
# destination; a destination killed or stopped mid-stream, taking only a
# trickle once the guest is paused, or refusing another configuration,
# leaves the source counting on; a writable local drive is
# refused, a read-only image migrates, a shared writable one hands its
# lock over (or keeps its guest paused when another took it). The figures (total time,
# downtime, bytes, rounds, pages per round) are printed as INFO lines.
# needs: kvm
# builds: $(VMM_MIGRATE_DRIVER) $(GUEST_DIR)/testguest.elf
. "$(dirname "$0")/../lib.sh"

DRIVER=$BUILD/tests/integration/vmm-migrate
need_kvm "vmm-migrate" || exit 0
for f in "$VMM" "$GUEST" "$DRIVER"; do
	[ -e "$f" ] || { fail "vmm-migrate: $f exists" "build it first (make)"; finish; exit; }
done

# drive NAME DRIVER-ARGS...: one driver run, its findings as results.
drive() {
	local name=$1 line
	shift
	run_capture 400 "$DRIVER" "$@"
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "$name: ${line#ok }" ;;
		"FAIL "*) fail "$name: ${line#FAIL }" ;;
		"info "*) echo "INFO: $name: ${line#info }" ;;
		esac
	done <<<"$OUT"
	[ -n "$OUT" ] || fail "$name: the driver reported" "exit $RC: $ERR"
	[ "$RC" = 0 ] || printf '%s\n' "$ERR" | tail -n 5 | sed "s/^/INFO: $name: stderr: /"
}

drive "vmm-migrate count" "$VMM" "$GUEST" count
drive "vmm-migrate count 256 MiB" "$VMM" "$GUEST" count 30 300 256M
# 16 MiB rewritten at every turn over a link of 4 MiB/s, a downtime of
# 1 ms: the dirty set never fits, so the round limit (4) ends the
# pre-copy; no page the guest wrote meanwhile is stale on the destination.
drive "vmm-migrate dirty" "$VMM" "$GUEST" dirty 4 1 32M 4096
# The same link, killed 300 ms into the rounds.
drive "vmm-migrate killed destination" "$VMM" "$GUEST" kill 28 1 32M 4096
# The same link, its destination stopped: it takes nothing and does not
# hang up; the source gives up after 30 s.
drive "vmm-migrate stalled destination" "$VMM" "$GUEST" stall 28 1 32M 4096
# The same link, 2 KiB every 10 s from the pause on: the destination
# takes bytes, but too few; the source gives up at the paused sends'
# deadline (30 s at least) and resumes its guest.
drive "vmm-migrate trickling destination" "$VMM" "$GUEST" trickle 30 300 32M 4096
drive "vmm-migrate refused" "$VMM" "$GUEST" refuse
# A writable local drive is refused; a read-only image migrates.
work=$(mktemp -d /tmp/vjmig.XXXXXX)
trap 'rm -rf "$work"' EXIT
truncate -s 1M "$work/drive.img"
VMM_MIGRATE_DRIVE=$work/drive.img drive "vmm-migrate writable drive" "$VMM" "$GUEST" rw
VMM_MIGRATE_DRIVE=$work/drive.img drive "vmm-migrate read-only drive" "$VMM" "$GUEST" ro
# A writable image on storage both VMMs reach: its lock passes from the
# source to the destination at the handover; a third holder taking it in
# between keeps the source's guest paused until it lets go.
VMM_MIGRATE_DRIVE=$work/drive.img drive "vmm-migrate shared writable drive" "$VMM" "$GUEST" shared
VMM_MIGRATE_DRIVE=$work/drive.img drive "vmm-migrate contended drive lock" "$VMM" "$GUEST" contended
finish

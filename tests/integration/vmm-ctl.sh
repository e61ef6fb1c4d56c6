#!/bin/bash
# The VMM's control channel (common/vmm_ctl.h), with vmm-ctl in the
# launcher's place and the test guest's `count` scenario: a pause holds
# the guest (no line while paused) and a resume lets it go on where it
# stopped; statistics; malformed and unknown requests are refused and the
# guest runs on.
# needs: kvm
. "$(dirname "$0")/../lib.sh"

DRIVER=$BUILD/tests/integration/vmm-ctl
need_kvm "vmm-ctl" || exit 0
for f in "$VMM" "$GUEST" "$DRIVER"; do
	[ -e "$f" ] || { fail "vmm-ctl: $f exists" "build it first (make)"; finish; exit; }
done

run_capture out err rc 120 "$DRIVER" "$VMM" "$GUEST"
while IFS= read -r line; do
	case $line in
	"ok "*) pass "vmm-ctl: ${line#ok }" ;;
	"FAIL "*) fail "vmm-ctl: ${line#FAIL }" ;;
	esac
done <<<"$out"
[ -n "$out" ] || fail "vmm-ctl: the driver reported" "exit $rc: $err"
finish

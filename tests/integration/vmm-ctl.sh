#!/bin/bash
# The VMM's control channel (common/vmm_ctl.h), with vmm-ctl in the
# launcher's place and the test guest's `count` scenario: a pause holds
# the guest (no line while paused) and a resume lets it go on where it
# stopped; statistics; malformed and unknown requests are refused and the
# guest runs on. Ctrl-Alt-Del, with the test guest's kbd scenario as the
# keyboard driver.
# needs: kvm
# builds: $(VMM_CTL_DRIVER) $(GUEST_DIR)/testguest.elf
. "$(dirname "$0")/../lib.sh"

DRIVER=$BUILD/tests/integration/vmm-ctl
need_kvm "vmm-ctl" || exit 0
for f in "$VMM" "$GUEST" "$DRIVER"; do
	[ -e "$f" ] || { fail "vmm-ctl: $f exists" "build it first (make)"; finish; exit; }
done

# drive NAME DRIVER-ARGS...: one driver run, its findings as results.
drive() {
	local name=$1 line
	shift
	run_capture 120 "$DRIVER" "$@"
	while IFS= read -r line; do
		case $line in
		"ok "*) pass "$name: ${line#ok }" ;;
		"FAIL "*) fail "$name: ${line#FAIL }" ;;
		esac
	done <<<"$OUT"
	[ -n "$OUT" ] || fail "$name: the driver reported" "exit $RC: $ERR"
}

drive vmm-ctl "$VMM" "$GUEST"
# The test guest's kbd scenario: its keyboard driver ready, Ctrl-Alt-Del
# pressed through the channel reaches it as scancodes by IRQ 1.
drive "vmm-ctl ctrl-alt-del" --ctrl-alt-del "$VMM" "$GUEST"
finish

# Shared by the virtio integration tests (tests/integration/virtio-*.sh):
# runs the virtio test guest (tests/guest/virtio/) on vmjail-vmm and
# checks its report lines "vjtest: <scenario> ok|FAIL ...".
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

VGUEST=$BUILD/tests/guest/virtio/virtio-guest.elf
VHOST=$BUILD/tests/integration/virtio-host
WORK=$(mktemp -d /tmp/vjvirtio.XXXXXX)
trap 'rm -rf "$WORK"' EXIT

# guest SCENARIO [VMM-ARGS...]: boots the guest on `vjtest=SCENARIO`
# ($VJARGS appended to its command line); sets OUT, ERR and RC.
guest() {
	local sc=$1
	shift
	run_capture 60 "$VMM" --kernel "$VGUEST" --memory 64M \
		--cmdline "vjtest=$sc${VJARGS:+ $VJARGS}" "$@"
}

# guest_ok SCENARIO: the guest reported `ok` and the VMM exited 0 (guest
# reset); a predicate for expect (tests/lib.sh), the evidence in WHY.
guest_ok() {
	[ "$RC" = 0 ] && grep -q "^vjtest: $1 ok" <<<"$OUT" && return 0
	WHY="exit $RC; guest: $(tail -n 3 <<<"$OUT" | tr '\n' '|'); vmm: $(tail -n 3 <<<"$ERR" | tr '\n' '|')"
	return 1
}

# config_error TEXT: the VMM refused its configuration (status 1) with a
# message containing TEXT.
config_error() {
	[ "$RC" = 1 ] && grep -qF -- "$1" <<<"$ERR" && return 0
	WHY="exit $RC: $ERR"
	return 1
}

need_guest() {
	need_kvm "$1" || return 1
	[ -x "$VMM" ] && [ -r "$VGUEST" ] && [ -x "$VHOST" ] && return 0
	fail "$1" "missing $VMM, $VGUEST or $VHOST (make first)"
	return 1
}

#!/bin/bash
# vmjail on a cgroup v2 host: in a private mount namespace only a cgroup2
# hierarchy is mounted at /sys/fs/cgroup. Where it offers cpu, memory and
# pids (a v2 host), a sandbox runs with its limits in the v2 files; where
# the controllers are bound to v1 hierarchies elsewhere (the development
# machines, tests/README.md: their cgroup2 offers hugetlb only), vmjail must still take the
# layout for v2 and say which controllers are missing, leaving nothing.
# needs: root kvm
# builds: $(JAIL_PROBE) $(JAIL_VMM) $(GUEST_DIR)/testguest.elf
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"
need_jail "jail cgroup v2" || exit 0

in_v2() {
	unshare -m bash -c 'umount -l /sys/fs/cgroup && mount -t cgroup2 none /sys/fs/cgroup && "$@"' \
		in_v2 "$@"
}
controllers=$(in_v2 cat /sys/fs/cgroup/cgroup.controllers)
if [ -z "$controllers" ] && ! in_v2 true; then
	skip "jail cgroup v2" "cannot mount cgroup2 in a private mount namespace"
	exit 0
fi

has() { [[ " $controllers " == *" $1 "* ]]; }
if has cpu && has memory && has pids; then
	# A real v2 host: the limits land in the unified files. An absolute
	# parent: the launcher's own cgroup may hold processes, below which
	# v2 enables no controllers.
	OUT=$(in_v2 bash -c '"$@" --detach --rm --pid-file "$0/v2.pid" && sleep 0.3 &&
		vmm=$(sed -n "s/^vmm //p" "$1/cgv2/state") &&
		d=/sys/fs/cgroup$(sed -n "s/^0:://p" /proc/$vmm/cgroup) &&
		cat "$d/memory.max" "$d/pids.max" "$d/cpu.max" &&
		kill -TERM $(cat "$0/v2.pid")' "$JAIL_TMP" "$RUN_DIR" "${PROBE_RUN[@]}" --id cgv2 \
		--cgroup-parent "/$CG_PARENT" --memory-max 64M --pids-max 9 --cpus 0.5 -- wait 2>&1)
	expect "v2: memory.max, pids.max and cpu.max as configured" \
		test "$OUT" = $'67108864\n9\n50000 100000'
	[ "$OUT" = $'67108864\n9\n50000 100000' ] || echo "$OUT" >&2
	# Born in its cgroup (CLONE_INTO_CGROUP), not moved there.
	OUT=$(in_v2 "${PROBE_RUN[@]}" -v --id cgv2c --cgroup-parent "/$CG_PARENT" -- exit 0 2>&1)
	expect "v2: the VMM is cloned into its cgroup" \
		eval '[[ $OUT == *"sandbox cgv2c: VMM cloned into cgroup /sys/fs/cgroup/$CG_PARENT/cgv2c"* ]]'
else
	OUT=$(in_v2 "${PROBE_RUN[@]}" --id cgv2 -- exit 0 2>&1)
	expect "v2 layout without cpu/memory/pids: refused, naming what cgroup2 offers" \
		eval '[[ $OUT == *"cgroup2 at /sys/fs/cgroup offers \"$controllers\""* ]]'
	OUT=$(in_v2 "${PROBE_RUN[@]}" --id cgv2 --pids-max 8 -- exit 0 2>&1)
	expect "v2 layout: a pids limit without the pids controller is an error naming it" \
		eval '[[ $OUT == *"pids limit: the host has no pids cgroup controller"* ]]'
fi
expect "nothing is left behind" test -z "$(leftovers)"
finish

# Shared by the jail-*.sh and seccomp-*.sh tests (sourced, not a test):
# each script gets its own run directory and cgroup parent, so that it
# neither sees nor disturbs sandboxes of anything else running, and so
# that whatever it leaves behind is found by name.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/lib.sh"
. "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/proc-status.sh"

VMJAIL=$BUILD/vmjail
PROBE=$BUILD/tests/integration/jail-probe
RUN_DIR=/run/vmjail-test-$$
CG_PARENT=vmjail-test-$$
JAIL_TMP=$(mktemp -d /tmp/vmjail-test.XXXXXX)
JAIL=(--run-dir "$RUN_DIR" --cgroup-parent "$CG_PARENT")
# A sanitizer build's VMM is dynamically linked and cannot run in the
# jail; its build has a static one for the jail tests (vmm/build.mk).
JAIL_VMM=$BUILD/tests/integration/vmjail-vmm-static
VMM_OPT=()
if [ -x "$JAIL_VMM" ]; then
	VMM=$JAIL_VMM
	VMM_OPT=(--vmm "$VMM")
fi
JAIL+=("${VMM_OPT[@]}")
STARTED=() # launchers this script started in the background

# need_jail NAME: root, /dev/kvm and the built programs, or SKIP loudly.
need_jail() {
	need_root "$1" && need_kvm "$1" || return 1
	local f
	for f in "$VMJAIL" "$VMM" "$GUEST" "$PROBE"; do
		[ -x "$f" ] || [ -r "$f" ] && continue
		skip "$1" "$f is not built"; echo "WARNING: $1 skipped: $f missing" >&2
		return 1
	done
}

# Command lines (arrays, so that run_capture and `&` get the launcher
# itself): the VMM on the test guest (add --cmdline vjtest=SCENARIO), or
# the test program in its place (add -- ACTION [ARG]).
GUEST_RUN=("$VMJAIL" run "${JAIL[@]}" --kernel "$GUEST")
PROBE_RUN=("$VMJAIL" run "${JAIL[@]}" --kernel "$GUEST" --test-exec "$PROBE")

# start_daemon ID ARGS...: a detached sandbox (the ARGS of PROBE_RUN or of
# a VMM run); sets LAUNCHER and VMM_PID, or returns 1.
start_daemon() {
	local id=$1; shift
	"$VMJAIL" run "${JAIL[@]}" --id "$id" --kernel "$GUEST" --detach --rm \
		--pid-file "$JAIL_TMP/$id.pid" "$@" >/dev/null 2>"$JAIL_TMP/$id.err" || return 1
	LAUNCHER=$(cat "$JAIL_TMP/$id.pid")
	STARTED+=("$LAUNCHER")
	VMM_PID=$(sed -n 's/^vmm //p' "$RUN_DIR/$id/state")
	[ -n "$LAUNCHER" ] && [ -n "$VMM_PID" ]
}

# wait_gone PID [SECONDS]: until the process has ended (not our child:
# a zombie waiting for its reaper counts as ended).
wait_gone() {
	local i state
	for ((i = 0; i < ${2:-10} * 100; i++)); do
		state=$(awk '$1 == "State:" { print $2 }' "/proc/$1/status" 2>/dev/null)
		[ -z "$state" ] || [ "$state" = Z ] && return 0
		sleep 0.01
	done
	return 1
}

# stop_daemon: SIGTERM to the launcher, which stops its VMM and cleans up.
stop_daemon() {
	kill -TERM "$LAUNCHER" 2>/dev/null
	wait_gone "$LAUNCHER" 10
}

# The sandbox's cgroup directory for a controller, as the host sees it.
cgroup_dir() {
	local ctl=$1 pid=$2 path
	path=$(awk -F: -v c="$ctl" '{ n = split($2, a, ","); for (i = 1; i <= n; i++)
		if (a[i] == c) print $3 }' "/proc/$pid/cgroup")
	echo "/sys/fs/cgroup/$ctl$path"
}

# Everything of this script's sandboxes still on the host: run
# directories (and the records of cgroup parents vmjail made, which go
# with the last such parent), cgroups (under any hierarchy; $CG_PARENT is
# vmjail's to make and remove), processes (a sandbox's are in its cgroup;
# launchers name the run directory), mounts.
leftovers() {
	ls -A "$RUN_DIR" 2>/dev/null | sed 's/^/run dir: /'
	find /sys/fs/cgroup -maxdepth 6 -type d -name "$CG_PARENT" 2>/dev/null | sed 's/^/cgroup: /'
	grep -l -- "$CG_PARENT" /proc/[0-9]*/cgroup 2>/dev/null | sed 's/^/process: /'
	# "[/]": the pattern must not match grep's own command line.
	grep -la -- "[/]${RUN_DIR#/}" /proc/[0-9]*/cmdline 2>/dev/null | sed 's/^/launcher: /'
	grep -F -- "$RUN_DIR" /proc/self/mountinfo | sed 's/^/mount: /'
}

jail_cleanup_on_exit() {
	local p
	for p in "${STARTED[@]}"; do
		kill -TERM "$p" 2>/dev/null && wait_gone "$p" 10
	done
	"$VMJAIL" cleanup --run-dir "$RUN_DIR" >/dev/null 2>&1
	rmdir "$RUN_DIR" 2>/dev/null
	rm -rf "$JAIL_TMP"
}
trap jail_cleanup_on_exit EXIT

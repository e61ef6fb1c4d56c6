#!/bin/bash
# Runs a command of this checkout one level down, in the nested test host
# (testhost.sh), where a hardware-style /dev/kvm exists whatever this host
# has: its stdout and stderr arrive here as they are written, and this
# script exits with its status. The command runs as root in a copy of this
# checkout and its build tree at the same paths, with the Debian programs
# the scripts use (build-payload.sh), /dev/kvm and /dev/net/tun.
#
# usage: nested.sh [--cgroup v1|v2] [--qemu] [--timeout SECONDS] [--name NAME]
#                  [--quiet] -- COMMAND [ARG...]
#   --cgroup   the test host's cgroup layout (testhost-init.sh; default v2)
#   --qemu     carry QEMU in too (benchmarks compare with its microvm)
#   --timeout  bound for the command (default 3600 s); the test host is
#              also stopped when it freezes (no heartbeat), with a FAIL
#   --name     names the run in messages and its directory
#              $BUILD/tests/e2e/nested/NAME (console, ports), which stays
#   --quiet    no progress lines on stderr
# A test host that cannot run the command (QEMU missing or unusable, set-up
# failed, frozen, out of time) prints one "FAIL: nested NAME: reason" line
# with the console's tail and exits 1 (125 when QEMU itself is missing).
set -u
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"
. "$TOP/tests/e2e/testhost.sh"

cgroup=v2 qemu_opt=() timeout_s=3600 name=command quiet=0
while [ $# -gt 0 ]; do
	case $1 in
	--cgroup) cgroup=$2; shift 2 ;;
	--qemu) qemu_opt=(--qemu); shift ;;
	--timeout) timeout_s=$2; shift 2 ;;
	--name) name=$2; shift 2 ;;
	--quiet) quiet=1; shift ;;
	--) shift; break ;;
	*) echo "nested.sh: unknown option \"$1\"" >&2; exit 2 ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: nested.sh [options] -- COMMAND [ARG...]" >&2; exit 2; }
cmdline="$*"

E2E=$BUILD/tests/e2e
RUN=$E2E/nested/$name
note() { [ $quiet = 1 ] || echo "nested: $*" >&2; }

if ! testhost_usable; then
	echo "FAIL: nested $name: $WHY"
	exit 125
fi
for f in "$E2E/testhost-vmlinuz" "$E2E/testhost.cpio"; do
	[ -r "$f" ] || { echo "FAIL: nested $name: $f missing (make e2e-image)"; exit 1; }
done

rm -rf "$RUN"
mkdir -p "$RUN"
note "carrying this checkout, $BUILD and the programs it needs into the test host"
# The userland depends on this host's packages alone: one copy serves
# every build tree and checkout, beside the guest kernel's cache.
userland=${VJ_CACHE_DIR:-/var/cache/vmjail}/nested-userland${qemu_opt:+-qemu}.cpio
"$TOP/tests/e2e/build-payload.sh" userland "${qemu_opt[@]}" "$userland" &&
	"$TOP/tests/e2e/build-payload.sh" checkout "$RUN/checkout.cpio" "$TOP" "$BUILD" ||
	{ echo "FAIL: nested $name: building the payload failed"; exit 1; }

# The command, as a script the test host runs with bash in the carried
# root: the same working directory, BUILD and arguments as here.
mkdir -p "$RUN/cmd/nested/root/nested"
{
	printf 'export TOP=%q BUILD=%q VJ_NESTED_INSIDE=1\n' "$TOP" "$BUILD"
	printf 'cd %q || exit 125\n' "$PWD"
	printf 'exec'
	printf ' %q' "$@"
	printf '\n'
} >"$RUN/cmd/nested/root/nested/command"
(cd "$RUN/cmd" && find nested | cpio -o -H newc -R 0:0 --quiet) >"$RUN/cmd.cpio"
cat "$E2E/testhost.cpio" "$userland" "$RUN/checkout.cpio" "$RUN/cmd.cpio" >"$RUN/initrd.cpio"
rm -f "$RUN/checkout.cpio" "$RUN/cmd.cpio"
rm -rf "$RUN/cmd"

status="" setup=""
on_line() {
	case $1 in
	READY)
		note "test host up after $2 s (its uptime); running: $cmdline"
		TESTHOST_DEADLINE=$((TESTHOST_NOW + (timeout_s + 60) * 1000))
		TESTHOST_LATE="the command did not end within $timeout_s s" ;;
	SETUP) setup+="${setup:+; }$2 $3" ;;
	STATUS) status=$3 ;;
	DONE) TESTHOST_DEADLINE=$((TESTHOST_NOW + 30 * 1000)) TESTHOST_LATE="no power-off" ;;
	esac
}

TESTHOST_LIMIT=$((TESTHOST_BOOT_TIMEOUT + timeout_s + 120))
testhost_start "$RUN" "$E2E/testhost-vmlinuz" "$RUN/initrd.cpio" \
	"e2e_mode=command e2e_cgroup=$cgroup"
# The command's streams, as they arrive.
tail -n +1 -F --pid="$TESTHOST_PID" -s 0.2 "$RUN/out.log" 2>/dev/null &
TESTHOST_TAILS=$!
tail -n +1 -F --pid="$TESTHOST_PID" -s 0.2 "$RUN/err.log" >&2 2>/dev/null &
TESTHOST_TAILS+=" $!"
testhost_watch on_line
wait $TESTHOST_TAILS 2>/dev/null
TESTHOST_TAILS=""
rm -f "$RUN/initrd.cpio"

why=""
if [ -n "$setup" ]; then
	why="the test host could not be set up: $setup"
elif [ -z "$status" ]; then
	why="the test host ${TESTHOST_ENDED:-stopped} before the command ended"
fi
if [ -n "$why" ]; then
	echo "FAIL: nested $name: $why"
	testhost_console_tail 40
	exit 1
fi
exit "$status"

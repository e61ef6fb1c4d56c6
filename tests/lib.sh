# Shared helpers for integration test scripts. Source it, call `check NAME
# COMMAND...` or pass/fail/skip yourself; end with `finish`.
# Output lines are read by tests/run-suite: "PASS: …", "FAIL: …", "SKIP: …".

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
VMM=$BUILD/vmjail-vmm
GUEST=$BUILD/tests/guest/testguest.elf
_t_failed=0

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; _t_failed=1; }
skip() { echo "SKIP: $1: $2"; }

# need_root NAME / need_kvm NAME: print SKIP (loudly) and return 1 if absent.
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip "$1" "needs root"; echo "WARNING: $1 skipped: not root" >&2; return 1
}
need_kvm() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && return 0
	skip "$1" "needs /dev/kvm"; echo "WARNING: $1 skipped: no usable /dev/kvm" >&2; return 1
}

# run_capture OUTVAR ERRVAR RCVAR TIMEOUT CMD...: runs CMD with a timeout,
# capturing stdout, stderr and the exit status.
run_capture() {
	local __o=$1 __e=$2 __r=$3 __t=$4; shift 4
	# Locals are prefixed so that they cannot shadow the caller's names.
	local __of __ef __rc
	__of=$(mktemp); __ef=$(mktemp)
	timeout -k 5 "$__t" "$@" >"$__of" 2>"$__ef" </dev/null; __rc=$?
	printf -v "$__o" '%s' "$(cat "$__of")"
	printf -v "$__e" '%s' "$(cat "$__ef")"
	printf -v "$__r" '%s' "$__rc"
	rm -f "$__of" "$__ef"
}

finish() { return $_t_failed; }

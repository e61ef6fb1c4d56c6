# Shared helpers for integration test scripts (tests/integration/*.sh).
# Source it; end the script with `finish`. tests/run-suite reads the lines
# "PASS: what", "FAIL: what: why" and "SKIP: what: why". A script's header
# says what it needs to run (`# needs: root kvm`, tests/run-suite) and
# what make builds for it (`# builds: $(JAIL_PROBE) kernel`, or none:
# `make integration T=SCRIPT`).
#
# The one idiom, for every script. The e2e scenarios (busybox sh in the
# test host) use the same `expect` and WHY, sending the lines over the
# serial port (tests/e2e/testhost-init.sh), and RC for vmjail's status.
#
#   run_capture SECONDS CMD...   runs CMD (stdin /dev/null) with a timeout;
#                                sets OUT, ERR (its stdout and stderr, minus
#                                trailing newlines) and RC (its exit status,
#                                124 when it timed out).
#   expect "what" CMD...         one PASS or FAIL line for one expectation:
#                                PASS when CMD succeeds; FAIL with the reason
#                                CMD left in WHY, else "CMD... failed".
#
# CMD is any command or function; the predicates below (and the
# script-specific ones in the *-lib.sh and jail-common.sh files) set WHY
# when they fail, so that a FAIL line says what was seen:
#
#   rc_is N        RC is N
#   out_line ERE   a whole line of OUT matches ERE
#   out_has ERE    some line of OUT has a match for ERE
#   err_has ERE    some line of ERR has a match for ERE
#
#   run_capture 30 "$VMM" --kernel "$GUEST" --cmdline vjtest=hello
#   expect "hello: exits 0" rc_is 0
#   expect "hello: says ok" out_line 'vjtest: hello ok.*'
#   expect "no leftovers" test ! -e "$dir"
#   expect "refused with one line" eval '[[ $RC == 1 && $ERR == *"bad"* ]]'
#
# pass/fail/skip WHAT [WHY] print a line directly, for a result that is
# not a command's (a prerequisite missing, a loop's outcome); need_root and
# need_kvm print SKIP for what this host lacks.

TOP=${TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
VMM=$BUILD/vmjail-vmm
GUEST=$BUILD/tests/guest/testguest.elf
_t_failed=0
WHY=
OUT='' ERR='' RC=''

pass() { echo "PASS: $1"; }
fail() { echo "FAIL: $1${2:+: $2}"; _t_failed=1; }
skip() { echo "SKIP: $1: $2"; }

# expect WHAT CMD...: see above. WHY is cleared before and after, so that
# a reason never leaks from one expectation into the next.
expect() {
	local __what=$1
	shift
	WHY=
	if "$@"; then
		pass "$__what"
	else
		fail "$__what" "${WHY:-$* failed}"
	fi
	WHY=
}

# run_capture SECONDS CMD...: see above.
run_capture() {
	local __t=$1 __of __ef
	shift
	__of=$(mktemp)
	__ef=$(mktemp)
	timeout -k 5 "$__t" "$@" >"$__of" 2>"$__ef" </dev/null
	RC=$?
	OUT=$(cat "$__of")
	ERR=$(cat "$__ef")
	rm -f "$__of" "$__ef"
}

rc_is() {
	[ "$RC" = "$1" ] && return 0
	WHY="exit status $RC, want $1; stderr: ${ERR:0:300}"
	return 1
}

out_line() {
	grep -Eqx -- "$1" <<<"$OUT" && return 0
	WHY="no line /$1/ in: ${OUT:0:400}"
	return 1
}

out_has() {
	grep -Eq -- "$1" <<<"$OUT" && return 0
	WHY="no /$1/ in stdout: ${OUT:0:400}"
	return 1
}

err_has() {
	grep -Eq -- "$1" <<<"$ERR" && return 0
	WHY="no /$1/ in stderr: ${ERR:0:400}"
	return 1
}

# need_root NAME / need_kvm NAME: print SKIP (loudly) and return 1 if absent.
need_root() {
	[ "$(id -u)" = 0 ] && return 0
	skip "$1" "needs root"; echo "WARNING: $1 skipped: not root" >&2; return 1
}
need_kvm() {
	[ -r /dev/kvm ] && [ -w /dev/kvm ] && return 0
	skip "$1" "needs /dev/kvm"; echo "WARNING: $1 skipped: no usable /dev/kvm" >&2; return 1
}

# A bounded libFuzzer run: fuzz_check NAME FUZZER WHAT MAX_LEN [SEED_DIR...].
# Runs FUZZER for $VJ_FUZZ_SECONDS (15) from an empty corpus and the seed
# directories; any sanitizer report, slow input or harness abort fails, and
# the input that did it is kept in $BUILD/fuzz/NAME-*. WHAT is what the PASS
# line claims after the count ("no crash, and every accepted frame is whole").
fuzz_check() {
	local name=$1 fuzzer=$2 what=$3 max_len=$4 secs=${VJ_FUZZ_SECONDS:-15} work rc runs
	shift 4
	if [ ! -x "$fuzzer" ]; then
		fail "$name" "$fuzzer missing (make builds it with clang)"
		return
	fi
	work=$(mktemp -d) || { fail "$name" "mktemp"; return; }
	"$fuzzer" -max_total_time="$secs" -timeout=2 -rss_limit_mb=1024 -max_len="$max_len" \
		-artifact_prefix="$BUILD/fuzz/$name-" -print_final_stats=1 \
		"$work" "$@" >"$work.log" 2>&1
	rc=$?
	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work.log")
	if [ $rc = 0 ]; then
		pass "$name: ${runs:-?} inputs in ${secs}s: $what"
	else
		fail "$name" "$(grep -m3 -E "ERROR|SUMMARY|deadly|crash-" "$work.log" | tr '\n' '|')"
	fi
	rm -rf "$work" "$work.log"
}

finish() { return $_t_failed; }

# shellcheck shell=bash
# Shared by the agent-*.sh tests: vmjail-init (the host build, sanitized
# under SANITIZE=1) driven by the launcher's side (agent-drive) or by a
# hostile launcher (agent-evil-launcher), over a socketpair.
. "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/../lib.sh"

DRIVE=$BUILD/tests/integration/agent-drive
EVIL=$BUILD/tests/integration/agent-evil-launcher
INIT=$BUILD/tests/integration/vmjail-init-host
INIT_STATIC=$BUILD/vmjail-init
# Not under /tmp: in the namespace tests the agent mounts its own /tmp.
mkdir -p "$BUILD/tests/integration"
WORK=$(mktemp -d "$BUILD/tests/integration/agent-work.XXXXXX")
trap 'rm -rf "$WORK"' EXIT

# run_drive STDIN DRIVE-ARGS...: runs agent-drive (options, -- AGENT...
# --workload ARGV...) with STDIN; sets OUT, ERR, RC, REPORT, LOG.
run_drive() {
	local in=$1
	shift
	timeout -k 5 60 "$DRIVE" --report "$WORK/report" --agent-log "$WORK/agent.log" "$@" \
		<"$in" >"$WORK/out" 2>"$WORK/err"
	RC=$?
	OUT=$(tr -d '\0' <"$WORK/out") # binary output is compared as a file
	ERR=$(cat "$WORK/err")
	REPORT=$(cat "$WORK/report" 2>/dev/null)
	LOG=$(cat "$WORK/agent.log" 2>/dev/null)
}

# A sanitizer report in the agent's log fails the test that caused it.
sanitizer_clean() {
	! grep -qE 'Sanitizer|runtime error:' "$WORK/agent.log" 2>/dev/null
}

# Predicates for expect (tests/lib.sh), which leave the last run's
# evidence in WHY when they fail. A sanitizer report in the agent's log
# fails any of them.

# gave RC STDOUT STDERR: the last run_drive gave exactly these.
gave() {
	[ "$RC" = "$1" ] && [ "$OUT" = "$2" ] && [ "$ERR" = "$3" ] && sanitizer_clean && return 0
	WHY="exit $RC (want $1), stdout \"$OUT\" (want \"$2\"), stderr \"$ERR\" (want \"$3\"), agent log: $(tr '\n' '|' <"$WORK/agent.log")"
	return 1
}

# clean COMMAND...: COMMAND succeeds; the last run is shown if not.
clean() {
	"$@" && sanitizer_clean && return 0
	WHY="exit $RC, stdout \"$OUT\", stderr \"$ERR\", report \"$(tr '\n' ' ' <<<"$REPORT")\", agent log: $(tr '\n' '|' <"$WORK/agent.log")"
	return 1
}

# no_process PATTERN: nothing runs with PATTERN in its command line.
no_process() {
	! pgrep -f "$1" >/dev/null
}

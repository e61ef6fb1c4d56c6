#!/bin/bash
# vmjail-init against a hostile launcher (agent-evil-launcher): oversized,
# malformed and misplaced frames. Each must end in an ERROR frame naming
# the problem (or, when the launcher is gone, a log line), a clean exit
# with status 2, no sanitizer report, and no workload left running.
# needs: none
# builds: $(AGENT_DRIVE) $(AGENT_EVIL) $(VJ_INIT_HOST) $(VJ_INIT)
. "$(cd "$(dirname "$0")" && pwd)/agent-lib.sh"

# evil SCENARIO EXPECTED-LINE DESCRIPTION
evil() {
	local OUT RC
	OUT=$(timeout -k 5 30 "$EVIL" "$1" "$INIT" --fd 3 2>"$WORK/agent.log")
	RC=$?
	if [ $RC = 0 ] && grep -qxF -- "$2" <<<"$OUT" && grep -qx "agent: exit 2" <<<"$OUT" &&
		! grep -q MALFORMED <<<"$OUT" && sanitizer_clean && no_process 'sleep 8765432'; then
		pass "agent-evil: $3"
	else
		fail "agent-evil: $3" "exit $RC: $(tr '\n' '|' <<<"$OUT") log: $(tr '\n' '|' <"$WORK/agent.log")"
	fi
}

evil huge-length "ERROR: WORKLOAD frame: length 2147483647 exceeds 4187" \
	"a 2 GiB length is refused from the header, before any payload"
evil oversized-stdin "ERROR: STDIN frame: length 65537 exceeds 65536" \
	"a STDIN frame over 64 KiB is refused; the running workload is killed"
evil bad-flags "ERROR: HELLO frame: reserved flags 0x0100 set" "reserved header flags are refused"
evil unknown-type "ERROR: frame header: unknown type 0x7777" "an unknown frame type is refused"
evil bad-magic "ERROR: HELLO frame: bad magic 0x58585858" "a HELLO with a bad magic is refused"
evil bad-version "ERROR: the launcher chose protocol version 7..7; this agent speaks 1..6" \
	"an unsupported protocol version is refused"
expect "agent-evil: the agent offers protocol versions 1..6" clean \
	grep -qx "HELLO: 1..6" <<<"$(timeout -k 5 30 "$EVIL" bad-version "$INIT" --fd 3 2>/dev/null)"
evil continue-v3 "ERROR: unexpected CONTINUE frame in protocol version 3" \
	"CONTINUE in a version below 6 is refused"
evil continue-after-workload "ERROR: unexpected CONTINUE frame before START" \
	"CONTINUE after a workload is refused"
evil workload-first "ERROR: unexpected WORKLOAD frame before HELLO" "a workload before HELLO is refused"
evil start-first "ERROR: unexpected START frame before WORKLOAD" "START before WORKLOAD is refused"
evil trailing-bytes "ERROR: WORKLOAD frame: length 29, but its fields add up to 28" \
	"trailing bytes in WORKLOAD are refused"
evil nul-in-arg "ERROR: ARG frame: contains a NUL byte" "a NUL inside an argument is refused"
evil bad-env "ERROR: ENV frame: byte 0 of the name is not [A-Za-z_][A-Za-z0-9_]*" \
	"a malformed environment name is refused"
evil too-many-args "ERROR: workload: more than 256 arguments" "the 257th argument is refused"
evil too-many-bytes "ERROR: workload: arguments and environment exceed 65536 bytes" \
	"more than 64 KiB of arguments is refused"
evil empty-argv 'ERROR: workload: no program to run (argv is empty or argv[0] is "")' \
	"START without a program is refused"
evil stdout-from-launcher "ERROR: unexpected STDOUT frame while the workload runs" \
	"an agent-only frame from the launcher is refused; the workload is killed"
evil stdin-after-eof "ERROR: unexpected STDIN frame after STDIN_EOF" \
	"stdin after its end is refused; the workload is killed"
evil signal-zero "ERROR: SIGNAL frame: signal 0 is not 1..64" \
	"signal 0 is refused; the workload is killed"
evil settime-in-version-1 "ERROR: unexpected SETTIME frame in protocol version 1" \
	"SETTIME in protocol version 1 is refused; the workload is killed"
evil restored-in-version-2 "ERROR: unexpected RESTORED frame in protocol version 2" \
	"RESTORED in protocol version 2 is refused"
evil restored-after-workload "ERROR: unexpected RESTORED frame before START" \
	"RESTORED after WORKLOAD is refused"
evil restored-twice "ERROR: unexpected RESTORED frame before WORKLOAD" \
	"a second RESTORED is refused"
evil restored-multicast-mac "ERROR: RESTORED frame: MAC 0: not a unicast address" \
	"a RESTORED MAC that is no interface's address is refused"
evil restored-too-many-macs "ERROR: RESTORED frame: 5 MACs exceed 4" \
	"a RESTORED frame naming more MACs than interfaces is refused"
evil settime-short "ERROR: SETTIME frame: length 7 is below 8" \
	"a SETTIME frame shorter than 8 bytes is refused"
evil settime-long "ERROR: SETTIME frame: length 9 exceeds 8" \
	"a SETTIME frame longer than 8 bytes is refused from its header"
evil error-from-launcher "EOF" "an ERROR from the launcher ends the run without a reply"
expect "agent-evil: the launcher's error is logged" clean \
	grep -q "the launcher reported: go away" "$WORK/agent.log"
evil close-early "agent: exit 2" "a launcher that hangs up mid-run gets the workload killed"
expect "agent-evil: the hang-up is logged" clean \
	grep -q "the launcher closed the connection" "$WORK/agent.log"
evil truncated "EOF" "half a header, then end of stream: a clean error"
finish

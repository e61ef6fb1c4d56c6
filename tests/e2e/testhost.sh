# shellcheck shell=bash
# The nested test host: QEMU in software emulation (TCG) of an AMD CPU
# with SVM and nested paging, booting a Debian kernel that loads kvm_amd
# and so has a hardware-style /dev/kvm, whatever the build host has. One
# definition for every boot of it: the e2e scenarios (run.sh), the
# integration scripts and benchmarks moved in (nested.sh), and `make
# demo`'s fallback. Sourced by those scripts (after tests/lib.sh).
#
# The machine, chosen once (figures measured on the 2-core build hosts,
# see tests/README.md):
#  - qemu64 with +svm,+npt: the cheapest model whose kvm_amd offers nested
#    paging; `-cpu max` and EPYC work too but boot a guest 0.4-1 s slower.
#  - one vCPU: TCG runs one vCPU per host thread, and with two the test
#    host has been seen to hang; the other host core stays for the build
#    host's own work (the runner, a second test host).
#  - 3 GiB: the guests of the scripts (up to 512 MiB each, a few at once),
#    the payload of nested.sh (about 150 MiB, held twice while the test
#    host moves onto its tmpfs), and tmpfs files.
# Ports: ttyS0 the kernel console, ttyS1 the control lines the test host
# writes ("@@E2E TAG ..."), ttyS2 and ttyS3 the stdout and stderr of a
# command run by nested.sh. QEMU's monitor is on two FIFOs in the run
# directory (monitor.in, monitor.out): a frozen test host's CPU and local
# APIC are read there before it is stopped (testhost_frozen_state).
# VJ_TESTHOST_QEMU names another QEMU binary (say one unpacked from a
# newer package with `dpkg -x`, to compare without replacing the
# system's), VJ_TESTHOST_QEMU_DATA its firmware directories (colon-
# separated, searched before the binary's built-in ones).
TESTHOST_QEMU=${VJ_TESTHOST_QEMU:-qemu-system-x86_64}
TESTHOST_MACHINE=(-accel tcg -cpu "qemu64,+svm,+npt" -smp 1 -m 3072)
if [ -n "${VJ_TESTHOST_QEMU_DATA:-}" ]; then
	IFS=: read -ra _testhost_dirs <<<"$VJ_TESTHOST_QEMU_DATA"
	for _testhost_dir in "${_testhost_dirs[@]}"; do
		TESTHOST_MACHINE+=(-L "$_testhost_dir")
	done
	unset _testhost_dirs _testhost_dir
fi
# The test host writes "@@E2E ALIVE" every TESTHOST_HEARTBEAT seconds; one
# that writes nothing at all for TESTHOST_FROZEN seconds once up has frozen (seen:
# test hosts that stopped making progress after 20-40 minutes of running
# VMMs, their own watchdogs silent too).
TESTHOST_HEARTBEAT=5
TESTHOST_FROZEN=${TESTHOST_FROZEN:-90}
# A test host silent for TESTHOST_STALL seconds is looked at once through
# QEMU's monitor (testhost_lost_wakeup): halted with interrupts enabled
# and a vector waiting in its local APIC, twice a second apart, is QEMU's
# lost wake-up (tests/README.md), not a result. TESTHOST_LOST_WAKEUP says
# what then: "wake" (the default) gives it one key press, which ends it,
# and it goes on; "stop" stops it at once as a freeze (e2e/run.sh, which
# runs the scenario again on a new test host: the test host's clock went
# on meanwhile, which a step in flight may not survive).
TESTHOST_STALL=${TESTHOST_STALL:-20}
TESTHOST_WAKES=0
# QEMU start to the test host's /init: about 5 s on an idle build host.
TESTHOST_BOOT_TIMEOUT=120

# testhost_usable: QEMU is installed and starts a TCG machine with SVM.
# Sets WHY when not: a missing tool, not a vmjail bug.
testhost_usable() {
	command -v $TESTHOST_QEMU >/dev/null || { WHY="$TESTHOST_QEMU is not installed"; return 1; }
	local out
	out=$(echo quit | timeout 30 $TESTHOST_QEMU "${TESTHOST_MACHINE[@]}" -nodefaults \
		-display none -S -monitor stdio 2>&1) ||
		{ WHY="$TESTHOST_QEMU cannot start a TCG machine with SVM: ${out##*$'\n'}"; return 1; }
}

# testhost_start RUN_DIR KERNEL INITRD APPEND: boots the test host in the
# background with its ports in RUN_DIR/{console,control,out,err}.log;
# sets TESTHOST_PID. TESTHOST_LIMIT (seconds) bounds QEMU's whole life.
testhost_start() {
	local run=$1 kernel=$2 initrd=$3 append=$4 f
	for f in console control out err; do : >"$run/$f.log"; done
	rm -f "$run/monitor.in" "$run/monitor.out" "$run/frozen.log" "$run/frozen.vmstate.gz"
	mkfifo "$run/monitor.in" "$run/monitor.out"
	# GNU timeout runs QEMU in a process group of its own: ^C does not
	# reach it, so the EXIT trap below stops it.
	timeout -k 5 "${TESTHOST_LIMIT:-3600}" $TESTHOST_QEMU "${TESTHOST_MACHINE[@]}" \
		-nodefaults -display none -no-reboot \
		-serial "file:$run/console.log" -serial "file:$run/control.log" \
		-serial "file:$run/out.log" -serial "file:$run/err.log" \
		-monitor "pipe:$run/monitor" \
		-kernel "$kernel" -initrd "$initrd" \
		-append "console=ttyS0 panic=-1 quiet e2e_heartbeat=$TESTHOST_HEARTBEAT $append" \
		>"$run/qemu.log" 2>&1 </dev/null &
	TESTHOST_PID=$!
	TESTHOST_RUN=$run
	trap testhost_kill EXIT
	trap 'exit 130' INT TERM HUP
}

testhost_kill() {
	[ -n "${TESTHOST_PID:-}" ] && kill "$TESTHOST_PID" 2>/dev/null
	[ -n "${TESTHOST_TAILS:-}" ] && kill $TESTHOST_TAILS 2>/dev/null
	TESTHOST_PID=""
}

testhost_now() { TESTHOST_NOW=$((${EPOCHREALTIME/./} / 1000)); }

# testhost_watch HANDLER: reads the control lines as they arrive and calls
# HANDLER TAG WORD REST for each "@@E2E TAG WORD REST" (ALIVE lines only
# keep the watch going). The handler moves TESTHOST_DEADLINE (ms since the
# epoch) to bound the step it expects next. Returns when QEMU has ended,
# with TESTHOST_ENDED set to "stopped", "was killed: <reason>".
testhost_watch() {
	local handler=$1 line partial="" tag word rest last="" looked=""
	testhost_now
	TESTHOST_DEADLINE=$((TESTHOST_NOW + TESTHOST_BOOT_TIMEOUT * 1000))
	TESTHOST_ENDED=""
	exec {fd}<"$TESTHOST_RUN/control.log"
	while :; do
		# A line may arrive in pieces.
		while IFS= read -r -u $fd line; do
			line=$partial$line partial=
			line=${line%$'\r'}
			testhost_now
			last=$TESTHOST_NOW
			case $line in
			"@@E2E ALIVE"*) ;;
			"@@E2E "*)
				read -r tag word rest <<<"${line#@@E2E }"
				"$handler" "$tag" "$word" "$rest" ;;
			esac
		done
		partial+=$line
		kill -0 "$TESTHOST_PID" 2>/dev/null || { TESTHOST_ENDED=stopped; break; }
		testhost_now
		# Silence counts once the test host has spoken: before its first
		# line it is booting, which TESTHOST_BOOT_TIMEOUT bounds.
		if [ -n "$last" ] && [ "$looked" != "$last" ] &&
			[ $((TESTHOST_NOW - last)) -ge $((TESTHOST_STALL * 1000)) ]; then
			looked=$last
			testhost_lost_wakeup $(((TESTHOST_NOW - last) / 1000))
		fi
		if [ -n "$TESTHOST_ENDED" ]; then
			: # stopped for a lost wake-up
		elif [ -n "$last" ] && [ $((TESTHOST_NOW - last)) -ge $((TESTHOST_FROZEN * 1000)) ]; then
			TESTHOST_ENDED="was killed: frozen, nothing from it (not even its heartbeat) for ${TESTHOST_FROZEN} s"
			testhost_frozen_state
		elif [ "$TESTHOST_NOW" -ge "$TESTHOST_DEADLINE" ]; then
			TESTHOST_ENDED="was killed: ${TESTHOST_LATE:-it overran its time}"
		fi
		if [ -n "$TESTHOST_ENDED" ]; then
			kill "$TESTHOST_PID" 2>/dev/null
			break
		fi
		sleep 0.2
	done
	wait "$TESTHOST_PID"
	TESTHOST_QEMU_STATUS=$?
	TESTHOST_PID=""
	exec {fd}<&-
}

# testhost_frozen_state: what QEMU's monitor says of the frozen test host's
# CPU, into RUN_DIR/frozen.log: whether QEMU runs it at all (a VM QEMU
# paused, say on an internal error, stops its clocks too), its registers
# twice, 2 s apart (a CPU that spins moves, a halted one does not), its
# local APIC (an interrupt waiting in IRR behind one in service that was
# never acknowledged, a timer left unarmed) and the code at its RIP; then
# whether an NMI wakes it, its registers again (a delivered NMI moves RIP
# off the halt), and last the whole machine state as QEMU migrates it,
# into RUN_DIR/frozen.vmstate.gz: the only place that shows the CPU's
# hflags2 (GIF, the NMI and virtual-interrupt masks) and pending
# interrupt_request, which decide whether a halted CPU wakes (read it
# with scripts/analyze-migration.py of the same QEMU's source).
# Bounded: a QEMU that does not answer leaves the file short.
testhost_frozen_state() {
	local out=$TESTHOST_RUN/frozen.log size
	{
		testhost_monitor 2 'info status' 'info registers' 'info lapic' 'x/8i $pc' 'info pic'
		testhost_monitor 3 'info registers'
	} >"$out"
	# An NMI wakes a CPU whatever masks its interrupts: one that speaks
	# again after it was waiting for a wake-up that never came.
	size=$(stat -c %s "$TESTHOST_RUN/control.log")
	testhost_monitor 1 nmi >/dev/null
	sleep 11
	# (after the monitor's last prompt, which ends no line)
	printf '\n@@ after an NMI: control.log grew by %d bytes\n' \
		$(($(stat -c %s "$TESTHOST_RUN/control.log") - size)) >>"$out"
	tail -c 600 "$TESTHOST_RUN/control.log" >>"$out"
	printf '\n@@ registers after the NMI:\n' >>"$out"
	testhost_monitor 4 'info registers' >>"$out"
	# A migration pauses the VM at its end: it is stopped anyway. Only a
	# finished stream gets the final name (the .part of one cut short is
	# unlinked, so its late mv finds nothing).
	local dump=$TESTHOST_RUN/frozen.vmstate.gz i
	testhost_monitor 2 "migrate \"exec:gzip -1 >$dump.part && mv $dump.part $dump\"" >/dev/null
	for ((i = 0; i < 600; i++)); do
		[ -e "$dump" ] && break
		sleep 0.2
	done
	rm -f "$dump.part"
	if [ -e "$dump" ]; then
		printf '\n@@ machine state (hflags2, interrupt_request): %s (%d bytes)\n' \
			"$dump" "$(stat -c %s "$dump")" >>"$out"
	else
		printf '\n@@ machine state: not saved, its migration did not end in 120 s\n' >>"$out"
	fi
}

# testhost_lost_wakeup_state: one look at the test host's CPU, printed as
# "RIP IRR" when it is halted with interrupts enabled (RFLAGS.IF) and a
# vector waiting in its local APIC's IRR; nothing otherwise.
testhost_lost_wakeup_state() {
	local out rip rfl irr
	out=$(testhost_monitor 3 'info registers' 'info lapic' | tr -d '\r')
	grep -aq 'HLT=1' <<<"$out" || return 0
	rip=$(grep -ao 'RIP=[0-9a-f]*' <<<"$out" | head -n 1)
	rfl=$(grep -ao 'RFL=[0-9a-f]*' <<<"$out" | head -n 1)
	irr=$(grep -a '^IRR' <<<"$out" | head -n 1)
	irr=$(echo ${irr#IRR})
	[ -n "$rip" ] && [ -n "$rfl" ] && (( 0x${rfl#RFL=} & 0x200 )) || return 0
	[ -n "${irr// /}" ] && [[ $irr != *none* ]] || return 0
	echo "$rip IRR $irr"
}

# testhost_lost_wakeup SILENCE: the test host has said nothing for
# SILENCE s. QEMU's TCG loses a wake-up now and then (tests/README.md:
# VMRUN's unlocked write to interrupt_request drops the local APIC's
# request to poll): the CPU then sleeps in HLT with its timer's vector
# waiting, for good. Seen so twice, a second apart: with
# TESTHOST_LOST_WAKEUP=stop, TESTHOST_ENDED says so (a freeze, for
# e2e/run.sh) with the state in RUN_DIR/frozen.log; otherwise one key
# press (the keyboard controller's interrupt makes QEMU poll the local
# APIC again, and the CPU takes what waits there) and an INFO line. A
# test host in any other state is left to the freeze watch.
testhost_lost_wakeup() {
	local first second
	first=$(testhost_lost_wakeup_state)
	[ -n "$first" ] || return 0
	sleep 1
	second=$(testhost_lost_wakeup_state)
	[ -n "$second" ] && [ "$second" = "$first" ] || return 0
	if [ "${TESTHOST_LOST_WAKEUP:-wake}" = stop ]; then
		TESTHOST_ENDED="was killed: frozen by QEMU's lost wake-up, silent for $1 s, halted at ${first% IRR*} with interrupt vector(s) ${first#* IRR } waiting"
		{
			testhost_monitor 4 'info status' 'info registers' 'info lapic'
			printf '\n@@ QEMU'"'"'s lost wake-up: silent for %s s, halted at %s with vector(s) %s waiting, twice a second apart\n' \
				"$1" "${first% IRR*}" "${first#* IRR }"
		} >"$TESTHOST_RUN/frozen.log"
		return 0
	fi
	testhost_monitor 2 'sendkey shift' >/dev/null
	TESTHOST_WAKES=$((TESTHOST_WAKES + 1))
	echo "INFO: test host: silent for $1 s, halted at ${first% IRR*} with interrupt" \
		"vector(s) ${first#* IRR } waiting: QEMU's lost wake-up (tests/README.md), not a" \
		"result; woken with a key press (wake $TESTHOST_WAKES of this test host)"
}

# testhost_monitor SECONDS COMMAND...: sends COMMANDs to the monitor and
# prints what it answers within SECONDS.
testhost_monitor() {
	local secs=$1 reader
	shift
	timeout "$secs" cat "$TESTHOST_RUN/monitor.out" 2>/dev/null &
	reader=$!
	printf '%s\n' "$@" | timeout 5 tee "$TESTHOST_RUN/monitor.in" >/dev/null
	wait $reader
}

# testhost_console_tail [N]: the last N lines of the test host's console
# and QEMU's own messages, indented; the whole console stays in RUN_DIR.
testhost_console_tail() {
	echo "test host console (last ${1:-40} lines; all of it in $TESTHOST_RUN/console.log):"
	tail -n "${1:-40}" "$TESTHOST_RUN/console.log" | tr -d '\r' | sed 's/^/    console| /'
	# The monitor's answers, less its echo of the commands.
	[ -s "$TESTHOST_RUN/frozen.log" ] &&
		grep -aE '^VM status|^(RIP|EIP|CR0|EFER)=|^(LVTT|Timer|ISR|IRR|APR)|HLT=|^@@ |^@@E2E' \
			"$TESTHOST_RUN/frozen.log" | sed 's/^/    frozen| /'
	[ -s "$TESTHOST_RUN/qemu.log" ] && sed 's/^/    qemu| /' "$TESTHOST_RUN/qemu.log"
	return 0
}

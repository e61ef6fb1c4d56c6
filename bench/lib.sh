# What the bench scripts share; sourced, never run on its own.
# shellcheck shell=bash

now_ns() { date +%s%N; }

# median: the middle one of the numbers on stdin (the lower middle one of an
# even count), or "-" when there are none.
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR ? v[int((NR + 1) / 2)] : "-") }'; }

# first_byte_ms POLICY ARGS...: milliseconds from `vmjail run POLICY ARGS`
# (the command line in the array VJ) to the workload's first byte on its
# stdout. A run that fails ends the bench with vmjail's own message.
# Scratch files go in $work.
first_byte_ms() {
	local t0 t1
	t0=$(now_ns)
	"${VJ[@]}" run "$@" 2>"$work/first-byte.err" | {
		head -c 1 >/dev/null
		now_ns >"$work/first-byte.t1"
		cat >/dev/null
	}
	if [ "${PIPESTATUS[0]}" != 0 ]; then
		echo "${0##*/}: vmjail run $* failed: $(cat "$work/first-byte.err")" >&2
		exit 1
	fi
	t1=$(cat "$work/first-byte.t1")
	echo $(((t1 - t0) / 1000000))
}

# kvm_trace_ready NAME: root, /dev/kvm and tracefs with KVM's tracepoints
# (mounted at $T, /sys/kernel/tracing, if it was not), or a "NAME: skipped"
# line saying which is missing and a false status.
T=/sys/kernel/tracing
kvm_trace_ready() {
	if [ "$(id -u)" != 0 ] || [ ! -w /dev/kvm ]; then
		echo "$1: skipped (needs root and /dev/kvm)"
		return 1
	fi
	[ -e $T/trace ] || mount -t tracefs nodev $T 2>/dev/null
	if [ ! -e $T/events/kvm/kvm_entry/enable ]; then
		echo "$1: skipped (no tracefs with KVM's tracepoints)"
		return 1
	fi
}

# kvmtool's lkvm: $LKVM, else one built into $BUILD/bench, else lkvm on PATH
# (empty when there is none).
find_lkvm() {
	if [ -n "${LKVM:-}" ]; then
		echo "$LKVM"
	elif [ -x "$BUILD/bench/lkvm" ]; then
		echo "$BUILD/bench/lkvm"
	else
		command -v lkvm
	fi
}

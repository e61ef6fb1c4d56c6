# Checking a running process from outside through /proc, for the
# tests that check a live sandbox: the jail tests on the build host
# (tests/integration/, bash) and the e2e scenarios in the test host
# (tests/e2e/scenarios.sh, busybox sh). Sourced; plain POSIX sh.

# status_of PID FIELD: the field's value, its words joined by one space.
status_of() { awk -v k="$2:" '$1 == k { $1 = ""; sub(/^ +/, ""); print }' "/proc/$1/status"; }

# every_task PID FIELD VALUE: the field has that value in every thread of
# PID; if not, WHY names the first thread that differs.
every_task() {
	local t v
	for t in /proc/"$1"/task/*; do
		v=$(status_of "${t#/proc/}" "$2")
		[ "$v" = "$3" ] && continue
		WHY="task ${t##*/}: $2 is \"$v\", not \"$3\""
		return 1
	done
}

# ns_differs PID NS: PID's namespace NS is not the caller's.
ns_differs() {
	[ "$(readlink /proc/$1/ns/$2)" != "$(readlink /proc/self/ns/$2)" ] && return 0
	WHY="/proc/$1/ns/$2 is the caller's own, $(readlink /proc/self/ns/$2)"
	return 1
}

# jailed_status_checks PID UID GID: what the jail promises of every
# thread of PID (the VMM): no capabilities in any set, no_new_privs, one
# seccomp filter of its own, the sandbox's ids, no supplementary groups.
# Each is one `expect` (tests/lib.sh, or the e2e test host's over serial).
jailed_status_checks() {
	local pid=$1 f
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		expect "$f is empty in every thread" every_task "$pid" $f 0000000000000000
	done
	expect "NoNewPrivs is set in every thread" every_task "$pid" NoNewPrivs 1
	expect "every thread is under a seccomp filter (Seccomp 2)" every_task "$pid" Seccomp 2
	# Its own table, not one stacked on another thread's.
	expect "every thread has exactly one filter" every_task "$pid" Seccomp_filters 1
	expect "runs as uid $2 (real, effective, saved, fs)" every_task "$pid" Uid "$2 $2 $2 $2"
	expect "runs as gid $3" every_task "$pid" Gid "$3 $3 $3 $3"
	expect "has no supplementary groups" every_task "$pid" Groups ""
}

# fd_table PID: PID's descriptor table on one line, "N:TARGET" in the
# order of N; what differs from run to run (socket and pipe inode
# numbers) is left out of a target: socket:[1234] is "socket".
fd_table() {
	local fd
	for fd in /proc/"$1"/fd/*; do
		echo "${fd##*/}:$(readlink "$fd")"
	done | sort -n | sed -E 's/^([0-9]+:)(socket|pipe):\[[0-9]+\]$/\1\2/' | tr '\n' ' '
}

# fds_are PID TABLE: fd_table PID is exactly TABLE; if not, WHY shows it.
fds_are() {
	local t
	t=$(fd_table "$1")
	[ "$t" = "$2" ] && return 0
	WHY="descriptors \"$t\", expected \"$2\""
	return 1
}

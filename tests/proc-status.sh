# Reading a running process's /proc/PID/status from outside, for the
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

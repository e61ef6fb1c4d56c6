#!/bin/bash
# The control socket's costs: pause and resume round trips of a running
# test guest, and `vmjail ps` over 50 sandboxes' entries (the run
# directory's files, which ps reads without asking any socket). Figures
# only. Needs root and /dev/kvm (bench/run.sh runs it in the nested test
# host where this host has none).
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$TOP/$BUILD ;; esac
RUNS=${RUNS:-20}
VMJAIL=$BUILD/vmjail
BENCH=$BUILD/bench/ctl-bench
run_dir=$(mktemp -d /run/vmjail-bench.XXXXXX)
chmod 0755 "$run_dir"
trap '"$VMJAIL" kill ctlbench --vm --run-dir "$run_dir" >/dev/null 2>&1; sleep 1;
	"$VMJAIL" rm ctlbench --run-dir "$run_dir" >/dev/null 2>&1; rm -rf "$run_dir"' EXIT

if ! "$VMJAIL" run --run-dir "$run_dir" --cgroup-parent vmjail-bench --id ctlbench \
	--kernel "$BUILD/tests/guest/testguest.elf" --cmdline vjtest=count --console none \
	--detach >/dev/null; then
	echo "ctl-bench: the sandbox did not start" >&2
	exit 1
fi
"$BENCH" pause "$run_dir/ctlbench/control.sock" "$RUNS" || exit 1

# 50 entries as running sandboxes leave them: this shell stands in for
# their launchers (ps checks a launcher by its pid and start time).
start=$(awk '{ print $22 }' /proc/$$/stat)
for i in $(seq 50); do
	d=$run_dir/ps-$i
	mkdir "$d"
	printf '{"id":"ps-%d","launcher_pid":%d,"launcher_start":%d,"vmm_pid":1,"owner":null,' \
		"$i" $$ "$start" >"$d/sandbox.json"
	printf '"created_ms":%d000,"vcpus":1,"memory":134217728,"policy":"p.yaml",' \
		"$(date +%s)" >>"$d/sandbox.json"
	printf '"workload":["sleep","1"],"detached":true}' >>"$d/sandbox.json"
	echo running >"$d/status"
done
echo "vmjail ps with 51 sandboxes' entries (50 of them files only)"
"$BENCH" ps "$VMJAIL" "$run_dir" "$RUNS"
rm -rf "$run_dir"/ps-*

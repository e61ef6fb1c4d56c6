#!/bin/bash
# Where a sandbox's start-up and tear-down time goes, in counts and
# phases rather than one figure: the launcher's phases (vmjail --timing),
# the VMM's own stamps (to the first KVM_RUN, its page faults until then,
# KVM's teardown of the VM), and the system calls of each path counted by
# strace where it is installed (or STRACE names it). Medians of RUNS. A
# second build (BEFORE=DIR holding vmjail and vmjail-vmm) is measured
# beside BUILD's, turn about, so that both see the same machine.
# Figures only: nothing here passes or fails on time.
#
# usage: bench/startup-profile.sh        (root and /dev/kvm; env: BUILD, RUNS, BEFORE, STRACE,
#                                            CGROUP_PARENT: an existing parent, the operator's)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
RUNS=${RUNS:-15}
GUEST=$BUILD/tests/guest/testguest.elf
RUN_DIR=/run/vmjail-profile-$$
CG=${CGROUP_PARENT:-vmjail-profile-$$}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT" "$RUN_DIR"' EXIT

if [ "$(id -u)" != 0 ] || [ ! -w /dev/kvm ]; then
	echo "startup-profile: skipped (needs root and /dev/kvm)"
	exit 0
fi

echo "host: kernel $(uname -r), $(nproc) CPUs, cgroup $(stat -f -c %T /sys/fs/cgroup)," \
	"THP $(cat /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)"

builds=("$BUILD")
[ -n "${BEFORE:-}" ] && builds=("$BEFORE" "$BUILD")

jailed() { # BIN_DIR ID: one jailed sandbox with the boot-marker guest
	"$1/vmjail" run --run-dir "$RUN_DIR" --cgroup-parent "$CG" --id "$2" \
		--kernel "$GUEST" --cmdline vjtest=first --timing
}
alone() { # BIN_DIR
	"$1/vmjail-vmm" --kernel "$GUEST" --cmdline vjtest=first --timing
}

# median FILE: the median of the numbers in FILE, one a line
median() {
	sort -g "$1" | awk '{ v[NR] = $1 } END { if (NR == 0) print "-";
		else if (NR % 2) printf "%.3f\n", v[(NR + 1) / 2];
		else printf "%.3f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

# The outer times: exec to the end of each process, in ms, from bash's
# EPOCHREALTIME (microseconds).
for i in $(seq 0 "$RUNS"); do
	# Each build goes first in every other round: the one after a run
	# meets the kernel's deferred work of that run.
	order=("${builds[@]}")
	[ $((i % 2)) = 1 ] && [ ${#builds[@]} = 2 ] && order=("${builds[1]}" "${builds[0]}")
	for b in "${order[@]}"; do
		tag=$(basename "$b")
		t0=$EPOCHREALTIME
		jailed "$b" "p$i" >/dev/null 2>"$OUT/j.err" || echo "jailed run $i of $tag failed: $(tail -1 "$OUT/j.err")"
		t1=$EPOCHREALTIME
		alone "$b" >/dev/null 2>"$OUT/a.err" || echo "VMM run $i of $tag failed: $(tail -1 "$OUT/a.err")"
		t2=$EPOCHREALTIME
		[ "$i" = 0 ] && continue # warm-up, discarded
		echo "$t0 $t1" | awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' >>"$OUT/$tag.jail_total"
		echo "$t1 $t2" | awk '{ printf "%.3f\n", ($2 - $1) * 1000 }' >>"$OUT/$tag.vmm_total"
		# "vmjail: timing phases id=0.1 ids=0.2 ... total=5.0 ms"
		grep -o 'timing phases .*' "$OUT/j.err" | tr ' ' '\n' | grep = |
			while IFS== read -r k v; do echo "$v" >>"$OUT/$tag.jp_$k"; done
		grep -o 'timing faults .*' "$OUT/j.err" | tr ' ' '\n' | grep = |
			while IFS== read -r k v; do echo "$v" >>"$OUT/$tag.jf_$k"; done
		for f in j a; do
			grep -o 'main->first KVM_RUN [0-9.]*' "$OUT/$f.err" | awk '{ print $3 }' >>"$OUT/$tag.$f.run"
			grep -o '>first exit [0-9.]*' "$OUT/$f.err" | awk '{ print $3 }' >>"$OUT/$tag.$f.exit"
			grep -o 'before the guest ran [0-9]*' "$OUT/$f.err" | awk '{ print $5 }' >>"$OUT/$tag.$f.faults"
			grep -o 'VM teardown [0-9.]*' "$OUT/$f.err" | awk '{ print $3 }' >>"$OUT/$tag.$f.teardown"
		done
	done
done

for b in "${builds[@]}"; do
	tag=$(basename "$b")
	echo "== $b: medians of $RUNS (ms)"
	echo "  jailed, exec of vmjail -> its exit:       $(median "$OUT/$tag.jail_total")"
	echo "  VMM alone, exec -> its exit:              $(median "$OUT/$tag.vmm_total")"
	printf '  launcher phases:'
	for k in id ids netns resources cgroup broker clone placed exec reaped procs undone done total; do
		[ -s "$OUT/$tag.jp_$k" ] && printf ' %s %s' "$k" "$(median "$OUT/$tag.jp_$k")"
	done
	echo
	printf '  launcher page faults by phase:'
	for k in id ids netns resources cgroup broker clone placed exec reaped procs undone done total; do
		[ -s "$OUT/$tag.jf_$k" ] && printf ' %s %s' "$k" "$(median "$OUT/$tag.jf_$k" | sed 's/\.000$//')"
	done
	echo
	for f in j a; do
		[ $f = j ] && what="jailed VMM" || what="VMM alone "
		echo "  $what: main->first KVM_RUN $(median "$OUT/$tag.$f.run"), ->first exit" \
			"$(median "$OUT/$tag.$f.exit"), page faults to KVM_RUN $(median "$OUT/$tag.$f.faults")," \
			"VM teardown $(median "$OUT/$tag.$f.teardown")"
	done
done

STRACE=${STRACE:-$(command -v strace)}
if [ -z "$STRACE" ] || [ ! -x "$STRACE" ]; then
	echo "(no strace: no system call counts)"
	exit 0
fi
for b in "${builds[@]}"; do
	tag=$(basename "$b")
	echo "== $b: system calls of the VMM alone, up to its exit (strace -c -f)"
	"$STRACE" -f -c -o "$OUT/c.vmm" "$b/vmjail-vmm" --kernel "$GUEST" --cmdline vjtest=first >/dev/null 2>&1
	cat "$OUT/c.vmm"
	echo "== $b: system calls of a jailed sandbox, every process (strace -c -f)"
	"$STRACE" -f -c -o "$OUT/c.jail" "$b/vmjail" run --run-dir "$RUN_DIR" --cgroup-parent "$CG" \
		--id sc --kernel "$GUEST" --cmdline vjtest=first >/dev/null 2>&1
	cat "$OUT/c.jail"
	echo "== $b: a jailed sandbox's slowest system calls (strace -f -T), slowest first"
	"$STRACE" -f -ttt -T -o "$OUT/t.jail" "$b/vmjail" run --run-dir "$RUN_DIR" --cgroup-parent "$CG" \
		--id st --kernel "$GUEST" --cmdline vjtest=first >/dev/null 2>&1
	grep -v 'resumed>.*<\.\.\.' "$OUT/t.jail" | grep -v 'wait4\|waitid\|epoll_wait\|poll\|recv\|read(\|futex\|ppoll' |
		awk '{ d = $NF; gsub(/[<>]/, "", d); print d "\t" $0 }' | sort -rg | head -25 | cut -c1-200
done

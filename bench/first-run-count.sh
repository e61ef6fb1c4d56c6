#!/bin/bash
# The user-space work of vmjail-vmm from exec to the first KVM_RUN, counted
# rather than timed: it runs under valgrind's callgrind, which writes its
# profile up to vj_vcpus_release, after which the vCPU thread's next call
# is KVM_RUN. Instructions retired do not drift with the host's load or
# the emulation's speed, as times in the nested test host do
# (bench/startup.md). Prints the instructions up to that point and the
# functions with the most of them (self cost); CG_OUT=DIR keeps the
# profiles there (callgrind_annotate reads them). The VMM runs with
# --seccomp off: valgrind's own calls are not in its tables. kvmtool cannot
# be counted this way: its check for hardware virtualisation reads
# valgrind's CPUID, which has no SVM or VMX, and it stops.
#
# usage: bench/first-run-count.sh   (root, /dev/kvm; valgrind on PATH, or
#        VALGRIND_LIB naming a directory with valgrind (Debian's
#        valgrind.bin) and callgrind-amd64-linux; env: BUILD, RUNS, CG_OUT)
set -u
TOP=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$TOP/build}
RUNS=${RUNS:-3}
GUEST=$BUILD/tests/guest/testguest.elf
OUT=${CG_OUT:-$(mktemp -d)}
mkdir -p "$OUT"
[ -n "${CG_OUT:-}" ] || trap 'rm -rf "$OUT"' EXIT

if [ "$(id -u)" != 0 ] || [ ! -w /dev/kvm ]; then
	echo "first-run-count: skipped (needs root and /dev/kvm)"
	exit 0
fi
VG=$(command -v valgrind)
if [ -n "${VALGRIND_LIB:-}" ] && [ -x "$VALGRIND_LIB/valgrind" ]; then
	export VALGRIND_LIB
	VG=$VALGRIND_LIB/valgrind
fi
if [ -z "$VG" ]; then
	echo "first-run-count: skipped (no valgrind)"
	exit 0
fi
names=(vmjail-vmm)
run_one() { # NAME RUN
	local cg=(--tool=callgrind --callgrind-out-file="$OUT/$1.$2.%p")
	case $1 in
	vmjail-vmm) "$VG" "${cg[@]}" --dump-before=vj_vcpus_release "$BUILD/vmjail-vmm" \
		--kernel "$GUEST" --cmdline vjtest=triple --memory 128M --seccomp off ;;
	esac
}

# A callgrind profile's first part: its total and the functions' self cost.
summary() { # NAME FILE
	awk -v who="$1" '
	/^summary:/ { total = $2 }
	/^fn=/ { fn = $0; sub(/^fn=\([0-9]+\) ?/, "", fn); if (fn == "") { id = $0; sub(/^fn=/, "", id); fn = name[id] } else { id = $0; sub(/^fn=/, "", id); sub(/ .*/, "", id); name[id] = fn } cur = fn; incall = 0; next }
	/^cfn=\([0-9]+\) / { id = $0; sub(/^cfn=/, "", id); sub(/ .*/, "", id); n = $0; sub(/^cfn=\([0-9]+\) /, "", n); name[id] = n; next }
	/^calls=/ { incall = 1; next }
	/^[0-9*+-]/ { if (incall) { incall = 0; next } n = split($0, f, " "); if (n >= 2) self[cur] += f[2]; next }
	END {
		printf "  %-10s %9d instructions to the first KVM_RUN; most (self):", who, total
		for (k = 0; k < 6; k++) {
			best = ""; for (x in self) if (best == "" || self[x] > self[best]) best = x
			if (best == "") break
			printf " %s %d;", best, self[best]; delete self[best]
		}
		printf "\n" }' "$2"
}

echo "instructions retired, exec -> first KVM_RUN (callgrind; deterministic up to the environment):"
for i in $(seq 1 "$RUNS"); do
	for n in "${names[@]}"; do
		rm -f "$OUT/$n.$i".*
		run_one "$n" "$i" </dev/null >/dev/null 2>"$OUT/$n.$i.log"
		# The first part ends at the dump; the rest is the guest and teardown.
		f=$(ls "$OUT/$n.$i".*.1 2>/dev/null | head -1)
		if [ -z "$f" ]; then
			echo "  $n: no profile (valgrind: $(tail -1 "$OUT/$n.$i.log"))"
			continue
		fi
		summary "$n" "$f"
	done
done

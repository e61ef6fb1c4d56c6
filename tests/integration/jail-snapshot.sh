#!/bin/bash
# Snapshots through the launcher with the test guest's `count` scenario
# (it prints "vjtest: count N" every 100 ms, counting in its memory):
# `vmjail snapshot` of a detached sandbox, which counts on; two clones
# with `vmjail run --from-snapshot`, each counting on from the snapshot's
# count in a jail of its own; refusals in one line: a workload for a
# snapshot without an agent, another vCPU count, a missing snapshot, a
# snapshot over an existing one; nothing left behind.
# needs: root kvm
set -u
. "$(cd "$(dirname "$0")" && pwd)/jail-common.sh"

need_jail "jail snapshot" || exit 0
SNAPS=$JAIL_TMP/snaps
mkdir -m 0700 "$SNAPS"
HOST=$JAIL_TMP/host.yaml
printf 'version: 1\nroots:\n  snapshots: [%s]\n' "$SNAPS" >"$HOST"
VJ=("$VMJAIL" --host-config "$HOST")

# count_in FILE: the last count the guest printed there.
count_in() { sed -n 's/^vjtest: count \([0-9]*\).*/\1/p' "$1" | tail -n 1; }
first_count_in() { sed -n 's/^vjtest: count \([0-9]*\).*/\1/p' "$1" | head -n 1; }
wait_count_in() { # wait_count_in FILE N: until FILE's count reached N (20 s at most)
	for _ in $(seq 400); do [ "$(count_in "$1")" -ge "$2" ] 2>/dev/null && return 0; sleep 0.05; done
	WHY="$1: count $(count_in "$1"), expected $2"
	return 1
}

src=$JAIL_TMP/src.console
run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id snap1 --kernel "$GUEST" \
	--cmdline vjtest=count --console "$src" --detach
expect "the source runs, detached" test "$RC" = 0
expect "the source counts" wait_count_in "$src" 5

run_capture 60 "${VJ[@]}" snapshot snap1 --to "$SNAPS/s1" --run-dir "$RUN_DIR"
at=$(count_in "$src")
expect "vmjail snapshot succeeds and prints where" \
	eval '[ "$RC" = 0 ] && [ "$OUT" = "$SNAPS/s1" ]'
expect "... state, memory and snapshot.json, root's and private" \
	eval '[ "$(stat -c %a "$SNAPS/s1")" = 700 ] &&
		[ "$(stat -c %a "$SNAPS/s1/state" "$SNAPS/s1/memory" "$SNAPS/s1/snapshot.json" | sort -u)" = 600 ]'
expect "... recording that no agent ran" grep -q '"agent":false' "$SNAPS/s1/snapshot.json"
expect "the source counts on after its snapshot" wait_count_in "$src" $((at + 5))

for c in 1 2; do
	run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id clone$c --kernel "$GUEST" \
		--cmdline vjtest=count --console "$JAIL_TMP/clone$c.console" --detach \
		--from-snapshot "$SNAPS/s1"
	expect "clone $c starts from the snapshot" test "$RC" = 0
done
for c in 1 2; do
	expect "clone $c counts" wait_count_in "$JAIL_TMP/clone$c.console" 3
	first=$(first_count_in "$JAIL_TMP/clone$c.console")
	expect "clone $c counts on from the snapshot's count, not from 0 (first $first)" \
		eval '[ "$first" -gt 3 ] && [ "$first" -le $((at + 3)) ]'
done
expect "the clones run as host uids of their own" eval \
	'[ "$(sed -n "s/^uid //p" "$RUN_DIR/clone1/state")" != "$(sed -n "s/^uid //p" "$RUN_DIR/clone2/state")" ]'

run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id bad1 --kernel "$GUEST" --vcpus 2 \
	--console none --from-snapshot "$SNAPS/s1"
expect "another vCPU count is refused in one line naming both" \
	eval '[ "$RC" = 125 ] && [[ $ERR == *"vm.vcpus: the policy says 2, the snapshot"*"with 1"* ]]'
run_capture 30 "${VJ[@]}" run "${JAIL[@]}" --id bad2 --kernel "$GUEST" \
	--console none --from-snapshot "$SNAPS/none"
expect "a missing snapshot is refused, named" eval '[ "$RC" = 125 ] && [[ $ERR == *"$SNAPS/none"* ]]'
run_capture 60 "${VJ[@]}" snapshot snap1 --to "$SNAPS/s1" --run-dir "$RUN_DIR"
expect "a snapshot over an existing one is refused" \
	eval '[ "$RC" != 0 ] && [[ $ERR == *"exists already"* ]]'
expect "... leaving nothing beside it" test "$(ls -A "$SNAPS")" = s1

for id in snap1 clone1 clone2; do
	"$VMJAIL" kill $id --vm --run-dir "$RUN_DIR" >/dev/null 2>&1
	"$VMJAIL" wait $id --run-dir "$RUN_DIR" >/dev/null 2>&1
	"$VMJAIL" rm $id --run-dir "$RUN_DIR" >/dev/null 2>&1
done
expect "nothing is left behind" test -z "$(leftovers)"
finish

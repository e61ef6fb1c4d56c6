#!/bin/bash
# Every bundled example policy passes `vmjail check` against the example
# host file as shipped, once the build has made what they name (`make
# examples`, which `make demo` and `make test` run): no file the README's
# commands leave unbuilt.
# needs: none
# builds: examples
. "$(dirname "$0")/../lib.sh"

HOST=$TOP/policy/examples/host.yaml
for pol in "$TOP"/policy/examples/*.yaml; do
	[ "$pol" = "$HOST" ] && continue
	name=${pol##*/}
	run_capture 30 "$BUILD/vmjail" --host-config "$HOST" check "$pol"
	if [ "$RC" = 0 ]; then
		pass "examples: vmjail check $name"
	else
		fail "examples: vmjail check $name" "exit $RC: $ERR"
	fi
done
finish

#!/bin/bash
# vmjail-runc's command line where no VM is needed (jailer/OCI.md): the
# runc global options, features, refusals of create with one clear line in
# the --log file (JSON, as containerd's shim reads it) and nothing left
# behind (state directory, run directory, root images), and the verbs on
# containers that do not exist. The lifecycle of real containers under
# containerd is the e2e scenario oci-containerd.
# needs: root
# builds: $(JSON_CHECK)
set -u
. "$(cd "$(dirname "$0")" && pwd)/../lib.sh"
need_root "oci cli" || { finish; exit; }

RUNC=$BUILD/vmjail-runc
T=$(mktemp -d /tmp/vj-oci-cli.XXXXXX)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/k" "$T/pol" "$T/b/rootfs/bin" "$T/cache" "$T/run"
chmod 700 "$T/cache"
touch "$T/k/vmlinux" "$T/k/initramfs.cpio"
cat >"$T/pol/p.yaml" <<'EOF'
version: 1
vm:
  kernel: vmlinux
  initrd: initramfs.cpio
  memory: 128Mi
  vsock:
    cid: 3
  console: none
EOF
cat >"$T/host.yaml" <<EOF
version: 1
roots:
  kernels: [$T/k]
  images: [$T/k]
  sockets: [$T/s]
run_dir: $T/run
max:
  memory: 512Mi
oci:
  policy: pol/p.yaml
  policy_roots: [$T/pol]
images:
  cache: $T/cache
EOF
export VMJAIL_HOST_CONFIG=$T/host.yaml
R=("$RUNC" --root "$T/state" --log "$T/log.json" --log-format json)

# config PROCESS-EXTRA TOP-EXTRA: the bundle's config.json.
config() {
	cat >"$T/b/config.json" <<EOF
{"ociVersion": "1.0.2",
 "process": {"args": ["sh", "-c", "echo hi"], "cwd": "/"$1},
 "root": {"path": "rootfs"}$2}
EOF
}

# Nothing of a refused create: no state directory, no sandbox, no image.
nothing_left() {
	local left
	left=$(ls -A "$T/state" "$T/run" "$T/cache" 2>/dev/null | grep -v ':$' | grep -v '^$')
	[ -z "$left" ] && return 0
	WHY="left behind: $left"
	return 1
}

# The last line of the log is JSON with level error and this message.
log_says() {
	local last
	last=$(tail -n 1 "$T/log.json")
	if ! "$BUILD/tests/integration/json-check" <<<"$last" >/dev/null; then
		WHY="not JSON: $last"
		return 1
	fi
	case $last in
	'{"level":"error","msg":"'"$1"'","time":"'*'Z"}') return 0 ;;
	esac
	WHY="last log line: $last"
	return 1
}

# refused WHAT MESSAGE: create was refused with exit 1 and MESSAGE on
# stderr and in the log, leaving nothing.
refused() {
	local want="vmjail-runc: $2"
	run_capture 30 "${R[@]}" create --bundle "$T/b" --pid-file "$T/pid" c1
	expect "$1: refused (1)" rc_is 1
	expect "$1: one line on stderr" eval '[ "$ERR" = "$want" ]'
	expect "$1: the same in the JSON log" log_says "$2"
	expect "$1: nothing left" nothing_left
	expect "$1: no pid file" test ! -e "$T/pid"
}

run_capture 10 "$RUNC" features
expect "features prints JSON" eval '"$BUILD/tests/integration/json-check" <<<"$OUT" >/dev/null'
expect "features names no hooks, no namespaces, no seccomp" \
	eval '[[ $OUT == *"\"hooks\":[]"* && $OUT == *"\"namespaces\":[]"* && $OUT == *"\"seccomp\":{\"enabled\":false}"* ]]'

run_capture 10 "$RUNC" --systemd-cgroup state c1
expect "--systemd-cgroup is refused, saying what to set" \
	eval '[ "$RC" = 1 ] && [[ $ERR == *"set SystemdCgroup = false"* ]]'
run_capture 10 "$RUNC" --log-format yaml state c1
expect "a bad --log-format is refused" eval '[ "$RC" = 1 ] && [[ $ERR == *"expected text or json"* ]]'
run_capture 10 "$RUNC" frobnicate c1
expect "an unknown command is refused" eval '[ "$RC" = 1 ] && [[ $ERR == *"unknown command \"frobnicate\""* ]]'

config ', "terminal": true' ''
refused "a terminal" "config.json: process.terminal: true is not supported yet"
config '' ', "hooks": {"prestart": [{"path": "/bin/true"}]}'
refused "a hook" "config.json: hooks.prestart: running host programs is not supported"
config '' ', "linux": {"resources": {"memory": {"limit": 1073741824}}}'
refused "memory over the host's maximum" \
	"config.json: linux.resources.memory.limit: expected at most 512Mi (the host's max.vm.memory), found 1Gi"
config '' ', "annotations": {"io.vmjail.policy": "/etc/passwd"}'
refused "a policy outside oci.policy_roots" \
	"config.json: annotations.io.vmjail.policy: /etc/passwd is not under any of the host file's oci.policy_roots"
config '' ''
run_capture 30 "${R[@]}" create --bundle "$T/b" --pid-file "$T/pid" --console-socket /x c1
expect "--console-socket is refused" eval '[ "$RC" = 1 ] && [[ $ERR == *"--console-socket: a terminal"* ]]'
run_capture 30 "${R[@]}" create --bundle "$T/b" "bad_id"
expect "an id that is no sandbox id is refused" \
	eval '[ "$RC" = 1 ] && [[ $ERR == *"container id \"bad_id\": expected letters, digits and '"'-'"'"* ]]'
run_capture 30 "${R[@]}" create --bundle "$T/nothere" c1
expect "a missing bundle is refused" eval '[ "$RC" = 1 ] && [[ $ERR == *"--bundle $T/nothere: No such file or directory"* ]]'
expect "nothing is left by any of them" nothing_left

for verb in state start kill pause ps; do
	run_capture 10 "${R[@]}" $verb c9
	expect "$verb of a container that does not exist: 1, said so" \
		eval '[ "$RC" = 1 ] && [ "$ERR" = "vmjail-runc: container c9 does not exist" ]'
done
run_capture 10 "${R[@]}" delete c9
expect "delete of a container that does not exist: 1" rc_is 1
run_capture 10 "${R[@]}" delete --force c9
expect "delete --force of a container that does not exist: 0, as runc" rc_is 0
run_capture 10 "${R[@]}" exec --process /dev/null c9
expect "exec in a container that does not exist: 1, said so" \
	eval '[ "$RC" = 1 ] && [ "$ERR" = "vmjail-runc: container c9 does not exist" ]'
run_capture 10 "${R[@]}" exec c9
expect "exec without --process: 1, said so" \
	eval '[ "$RC" = 1 ] && [[ $ERR == *"exec: --process FILE is required"* ]]'
run_capture 10 "${R[@]}" exec --console-socket /tmp/x --process /dev/null c9
expect "exec with a terminal: refused, said so" \
	eval '[ "$RC" = 1 ] && [[ $ERR == *"a terminal is not supported yet"* ]]'

# A container whose launcher is gone (a stale record): stopped, pid 0,
# and delete removes it.
mkdir -p "$T/state/c2"
printf '{"id":"c2","bundle":"%s","rootfs":"%s","run_dir":"%s","pid":1,"pid_start":1,"created_ns":1765112000000000000,"annotations":{"a":"b"}}' \
	"$T/b" "$T/b/rootfs" "$T/run" >"$T/state/c2/state.json"
run_capture 10 "${R[@]}" state c2
expect "state of a container whose launcher is gone says stopped, pid 0" \
	eval '[ "$RC" = 0 ] && [[ $OUT == *"\"status\":\"stopped\",\"pid\":0,"* ]]'
expect "... with its bundle, creation time and annotations" \
	eval '[[ $OUT == *"\"bundle\":\"$T/b\""* && $OUT == *"\"created\":\"2025-12-07T12:53:20.000000000Z\""* && $OUT == *"\"annotations\":{\"a\":\"b\"}"* ]]'
expect "... as JSON" eval '"$BUILD/tests/integration/json-check" <<<"$OUT" >/dev/null'
run_capture 10 "${R[@]}" ps --format json c2
expect "ps --format json of a stopped container: []" eval '[ "$RC" = 0 ] && [ "$OUT" = "[]" ]'
run_capture 10 "${R[@]}" kill c2 KILL
expect "kill of a stopped container: not running" \
	eval '[ "$RC" = 1 ] && [[ $ERR == *"container not running"* ]]'
run_capture 10 "${R[@]}" delete c2
expect "delete of a stopped container removes its record" \
	eval '[ "$RC" = 0 ] && [ ! -e "$T/state/c2" ]'

finish

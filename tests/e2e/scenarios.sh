# End-to-end scenarios, run in this order by the test host's /init
# (testhost-init.sh, busybox sh); run.sh on the build host reads the same
# list to know what to expect and how long to wait.
#
# Adding one: a line "name timeout-seconds" below and a function
# scenario_<name with - as _> that states its expectations with
#   expect "what is expected" COMMAND...
# Helpers (testhost-init.sh): vmm_run VMM-ARGS..., log_has ERE,
# vmm_status_is N MEANING, figure TEXT.
# A scenario that never ends its checks is killed by run.sh after its
# timeout plus a grace period, and the test host with it.
# Timeouts are generous: a guest boot takes a few seconds here, but up to
# half a minute on a loaded 2-core machine (nested emulation).
E2E_SCENARIOS="
testhost-kvm 60
boot-1vcpu 120
boot-2vcpu 120
guest-panic 120
virtio-blk 120
virtio-blk-ro 120
virtio-rng 120
virtio-net 120
virtio-vsock 120
agent-example 180
agent-streams 180
agent-stdin 180
agent-signal 180
agent-timeout 180
agent-ctrl-alt-del 180
agent-cgroup 180
jail-props 180
jail-memory 180
example-untrusted 240
example-function 240
example-ci-job 300
lifecycle 600
teardown-background 300
exec 600
agent-20-runs 900
image-oci 300
image-docker 240
image-config 240
image-overlay 240
image-hostile 300
oci-containerd 600
migrate-linux 1500
migrate-net 600
migrate-drive 600
vmm-snapshot-linux 300
snapshot-clones 900
snapshot-clone-mac 600
"

# e2e_selected [NAME,NAME...]: the lines of E2E_SCENARIOS to run: all, or
# the named ones. Both sides use it (run.sh on the build host, the test
# host's /init with e2e_only= from its command line).
e2e_selected() {
	echo "$E2E_SCENARIOS" | while read -r name timeout; do
		[ -n "$name" ] || continue
		case ",${1:-$name}," in *",$name,"*) echo "$name $timeout" ;; esac
	done
}

GUEST_KERNEL=/e2e/guest/vmlinux
GUEST_INITRD=/e2e/guest/e2e-initramfs.cpio
# panic=-1: a panicking guest resets at once instead of spinning forever;
# reboot=k: the reset goes through the i8042, which ends the VMM;
# panic_warm: a panic's reset is a warm one, which the VMM reports apart.
GUEST_CMDLINE="console=ttyS0 reboot=k,panic_warm panic=-1 quiet"
GUEST_MEMORY=128M

scenario_testhost_kvm() {
	local m
	for m in irqbypass kvm kvm-amd; do
		expect "insmod $m.ko" insmod /lib/modules/$m.ko
	done
	dmesg >"$LOG"
	expect "kvm_amd has nested paging" log_has "SVM: kvm: Nested Paging enabled"
	expect "/dev/kvm is a character device" test -c /dev/kvm
}

# guest_boot VCPUS: the guest boots to /init, reports its CPUs, writes the
# boot-complete marker and reboots; the VMM sees the reset and exits 0.
guest_boot() {
	local online=0
	[ "$1" -gt 1 ] && online=0-$(($1 - 1))
	vmm_run --vcpus "$1" --memory $GUEST_MEMORY --cmdline "$GUEST_CMDLINE" \
		-v --timing
	expect "guest /init prints on ttyS0" log_has "E2E-GUEST: init "
	expect "$1 CPU(s) online in the guest" \
		log_has "E2E-GUEST: cpus online=$online nproc=$1\$"
	expect "VMM logs the boot-complete marker written by guest user space" \
		log_has "vmjail-vmm: guest boot complete: [0-9]+ us"
	expect "guest reboot (reboot=k) ends the VMM with status 0" \
		vmm_status_is 0 "guest reset"
	guest_boot_figures
}

# Nested-emulation times (QEMU TCG -> emulated SVM -> KVM -> guest): for
# comparing vmjail versions with each other, not with hardware. The VMM's
# --timing line carries CLOCK_MONOTONIC stamps, which in the test host run
# with its uptime (nothing suspends there).
guest_boot_figures() {
	local t run marker
	t=$(grep -m1 " timing start_ns=" "$LOG")
	run=$(echo "$t" | sed -n 's/.* first_run_ns=\([0-9]*\).*/\1/p')
	marker=$(echo "$t" | sed -n 's/.* marker_ns=\([0-9]*\).*/\1/p')
	[ -n "$run" ] && [ -n "$marker" ] && [ "$marker" != 0 ] || return 0
	figure "guest boot, first vCPU entry to boot-complete marker" \
		"(guest /init): $(awk -v a="$run" -v b="$marker" \
		'BEGIN { printf "%.1f", (b - a) / 1e6 }') ms"
	figure "VMM exec to boot-complete marker:" \
		"$(awk -v a="$VMM_START" -v b="$marker" \
		'BEGIN { printf "%.2f", b / 1e9 - a }') s (test-host uptime clock)"
}

scenario_boot_1vcpu() { guest_boot 1; }
scenario_boot_2vcpu() { guest_boot 2; }

# Guest /init exits: "Attempted to kill init!" panics the guest kernel,
# which with panic=-1 reboot=k,panic_warm sets the warm-reset flag and
# resets through the i8042 at once: the VMM exits with its panic status.
scenario_guest_panic() {
	vmm_run --vcpus 1 --memory $GUEST_MEMORY \
		--cmdline "$GUEST_CMDLINE e2e_mode=panic"
	expect "guest /init runs" log_has "E2E-GUEST: exiting init"
	expect "guest kernel panics" log_has "Kernel panic - not syncing"
	expect "guest panic ends the VMM with status 7 (guest panic)" \
		vmm_status_is 7 "guest panic"
}

# --- virtio: Linux's own drivers against vmjail's devices ----------------

# virtio_guest MODE VMM-ARGS...: boots the guest in e2e_mode=MODE.
virtio_guest() {
	local mode=$1
	shift
	vmm_run --memory $GUEST_MEMORY --cmdline "$GUEST_CMDLINE e2e_mode=$mode e2e_token=$$" "$@"
	expect "guest ran e2e_mode=$mode and rebooted: VMM status 0" vmm_status_is 0 "guest reset"
}

# The ext4 driver mounts the ext2 layout busybox's mke2fs writes. The
# guest writes and syncs a file, writes and deletes 8 MiB, runs fstrim.
scenario_virtio_blk() {
	local img=/tmp/virtio-data.img before after
	dd if=/dev/zero of=$img bs=1M count=0 seek=64 2>/dev/null
	mke2fs -F -b 4096 $img >/dev/null
	before=$(stat -c %b $img)
	virtio_guest virtio-blk --drive path=$img,id=data
	expect "guest mounts the virtio-blk drive read-write and unmounts it clean" \
		log_has "E2E-GUEST: virtio-blk done"
	expect "the file the guest wrote and synced is in the image" \
		grep -q "VJE2E-MARK-$$ line 63" $img
	after=$(stat -c %b $img)
	figure "image blocks (512 B): $before after mke2fs, $after after the guest's fstrim"
	expect "fstrim in the guest gave the deleted 8 MiB back (discard punched holes)" \
		test "$after" -lt $((before + 8192))
	cp $img /tmp/virtio-ro.img
}

# The image scenario_virtio_blk left behind, as a read-only drive.
scenario_virtio_blk_ro() {
	local img=/tmp/virtio-ro.img sum
	sum=$(sha256sum $img)
	virtio_guest virtio-blk-ro --drive path=$img,ro
	expect "the guest sees a read-only disk" log_has "E2E-GUEST: vda ro=1"
	expect "a raw write to the read-only disk fails in the guest" \
		log_has "E2E-GUEST: write to vda refused"
	expect "the read-only filesystem is readable" log_has "E2E-GUEST: marks on the ro drive 64"
	expect "the image is unchanged" test "$(sha256sum $img)" = "$sum"
}

scenario_virtio_rng() {
	local a b
	virtio_guest virtio-rng --rng
	expect "/dev/hwrng is virtio-rng" log_has "E2E-GUEST: hwrng current=virtio_rng"
	a=$(sed -n 's/.*E2E-GUEST: hwrng bytes=\([0-9a-f]*\).*/\1/p' "$LOG" | sed -n 1p)
	b=$(sed -n 's/.*E2E-GUEST: hwrng bytes=\([0-9a-f]*\).*/\1/p' "$LOG" | sed -n 2p)
	expect "two reads of /dev/hwrng give 32 bytes each" test ${#a} = 64 -a ${#b} = 64
	expect "and they differ" test "$a" != "$b"
}

# A tap in the test host, 10.0.2.1/24; the guest is 10.0.2.2 and fetches
# 4 MiB of random data over TCP from busybox httpd.
scenario_virtio_net() {
	local sum pid
	expect "insmod tun.ko" insmod /lib/modules/tun.ko
	tunctl -t vjtap0 >/dev/null
	ip link set vjtap0 up
	ip addr add 10.0.2.1/24 dev vjtap0
	mkdir -p /tmp/www
	dd if=/dev/urandom of=/tmp/www/blob bs=1M count=4 2>/dev/null
	sum=$(sha256sum </tmp/www/blob | cut -d' ' -f1)
	httpd -f -p 10.0.2.1:8080 -h /tmp/www &
	pid=$!
	virtio_guest virtio-net --net tap=vjtap0,mac=52:54:00:12:34:56
	kill $pid
	expect "the guest's eth0 has the configured MAC" \
		log_has "E2E-GUEST: eth0 mac=52:54:00:12:34:56"
	expect "the guest pings the test host through the tap" log_has "E2E-GUEST: ping 10.0.2.1 ok"
	expect "4 MiB over TCP arrive intact (sha256)" log_has "E2E-GUEST: tcp blob sha256=$sum"
	tunctl -d vjtap0 >/dev/null
}

# The test host plays the host side (virtio-host vsock-peer): CONNECT 1234
# and 300 kB the guest echoes + 1, then the guest's own connection to port
# 5678, which reaches /tmp/v.sock_5678 through the VMM's broker.
scenario_virtio_vsock() {
	local pid i=0
	rm -f /tmp/vsock.ready
	virtio-host vsock-peer /tmp/v.sock /tmp/vsock.ready >/tmp/vsock-peer.log 2>&1 &
	pid=$!
	while [ ! -e /tmp/vsock.ready ] && [ $i -lt 100 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	virtio_guest virtio-vsock --vsock cid=42,uds=/tmp/v.sock
	wait $pid
	cat /tmp/vsock-peer.log >>"$LOG"
	expect "host to guest: CONNECT 1234 answered OK, 300 kB echoed intact, end of stream" \
		grep -q "echo ok, end of stream ok" /tmp/vsock-peer.log
	expect "the guest echoed all of it" log_has "vsock-guest: echoed 300000 bytes"
	expect "guest to host: port 5678 reaches /tmp/v.sock_5678" \
		grep -q "guest connection to port 5678 ok" /tmp/vsock-peer.log
	expect "the guest reads the host's answer" log_has "vsock-guest: the host said host says hi"
}

# `vmjail run POLICY -- CMD` with the example Linux policy: the launcher,
# the jail (cgroup v2 here), the VMM, the vsock broker, and vmjail-init
# in the guest, all for real.
# A sanitizer build brings a static VMM for the jail (tests/e2e/build.mk).
VJ_VMM=
[ -x /usr/bin/vmjail-vmm-static ] && VJ_VMM="--vmm /usr/bin/vmjail-vmm-static"
VJ_RUN="vmjail --host-config /e2e/host.yaml run /e2e/linux.yaml $VJ_VMM"

# vj_run [OPTIONS] -- CMD...: stdout to /tmp/vj.out, stderr to /tmp/vj.err,
# the status in RC; all three go to the scenario's log.
vj_run() { vj_run_policy linux.yaml "$@"; }

# vj_run_policy POLICY [OPTIONS] [-- CMD...]: vj_run with /e2e/POLICY.
vj_run_policy() {
	local policy=$1
	shift
	timeout -k 5 "$SC_TIMEOUT" vmjail --host-config /e2e/host.yaml run "/e2e/$policy" \
		$VJ_VMM "$@" >/tmp/vj.out 2>/tmp/vj.err
	RC=$?
	{
		echo "@@ stdout:"
		cat /tmp/vj.out
		echo "@@ stderr:"
		cat /tmp/vj.err
		echo "@@ vmjail exit status $RC"
	} >>"$LOG"
}

# file_is FILE TEXT: FILE holds exactly TEXT (and a final newline, if any).
file_is() {
	[ "$(cat "$1")" = "$2" ] && return 0
	WHY="$1 holds \"$(head -c 200 "$1")\", expected \"$2\""
	return 1
}

vj_status_is() {
	[ "$RC" = "$1" ] && return 0
	WHY="exit status $RC, expected $1 ($2)"
	return 1
}

# The example policy's own workload, uname -a, from the real kernel.
scenario_agent_example() {
	vj_run
	expect "uname -a prints the guest kernel's name" log_has "^Linux "
	expect "and exits 0" vj_status_is 0 "uname succeeded"
}

scenario_agent_streams() {
	vj_run -- sh -c 'echo out; echo err >&2; exit 3'
	expect "the workload's stdout is vmjail's stdout" file_is /tmp/vj.out out
	expect "the workload's stderr is vmjail's stderr, and nothing else" file_is /tmp/vj.err err
	expect "vmjail exits with the workload's status" vj_status_is 3 "exit 3"
}

scenario_agent_stdin() {
	# The pipeline's last command runs in a subshell: its status comes
	# back through a file.
	printf abc | {
		vj_run -- cat
		echo "$RC" >/tmp/vj.rc
	}
	RC=$(cat /tmp/vj.rc)
	expect "stdin reaches the workload" file_is /tmp/vj.out abc
	expect "cat's status" vj_status_is 0 "cat succeeded"
}

scenario_agent_signal() {
	vj_run -- sh -c 'kill -KILL $$'
	expect "a workload killed by SIGKILL gives 128+9" vj_status_is 137 "SIGKILL"
}

scenario_agent_timeout() {
	vj_run --timeout 5s -- sleep 1000
	expect "the policy timeout ends the sandbox with status 124" vj_status_is 124 "timeout"
	expect "no VMM is left" no_vmm_left
}

# Ctrl-Alt-Del from the launcher's side, with its two halves as test
# drivers around a bare VMM: agent-drive runs the agent's session (and
# sends SETTIME, 2100-01-01, once the workload runs), vmm-ctl holds the
# VMM's control channel and presses Ctrl-Alt-Del on SIGUSR1. The guest's
# atkbd hands the keys to the kernel, which sends vmjail-init (PID 1)
# SIGINT; it stops the workload with SIGTERM, reports its end and powers
# off: the VMM exits 0.
scenario_agent_ctrl_alt_del() {
	local drive ctl i=0
	rm -f /tmp/cad.sock_1024
	timeout -k 5 "$SC_TIMEOUT" agent-drive --listen /tmp/cad.sock_1024 --no-stdin \
		--settime 4102444800000000000 --report /tmp/cad.report --agent-log /tmp/cad.log \
		-- vmm-ctl --exec vmjail-vmm --kernel "$GUEST_KERNEL" \
		--initrd /e2e/guest/initramfs.cpio --memory $GUEST_MEMORY --cmdline "$GUEST_CMDLINE" \
		--console stdout --vsock cid=3,uds=/tmp/cad.sock \
		--workload sh -c 'until [ "$(date -u +%Y)" = 2100 ]; do sleep 0.1; done
			echo "clock $(date -u +%Y)"
			trap "echo terminated; exit 3" TERM
			while :; do sleep 1; done' >/tmp/vj.out 2>/tmp/vj.err &
	drive=$!
	while [ $i -lt 1200 ] && kill -0 $drive 2>/dev/null && ! grep -q "^clock" /tmp/vj.out; do
		sleep 0.1
		i=$((i + 1))
	done
	# The only vmm-ctl in the test host.
	ctl=$(pidof vmm-ctl)
	[ -n "$ctl" ] && kill -USR1 $ctl
	wait $drive
	RC=$?
	{
		cat /tmp/cad.log
		echo "@@ stdout:"
		cat /tmp/vj.out
		echo "@@ stderr:"
		cat /tmp/vj.err
		echo "@@ agent-drive exit status $RC"
		cat /tmp/cad.report
	} >>"$LOG"
	expect "the workload sees the clock the launcher set (SETTIME)" file_is /tmp/vj.out \
		"clock 2100
terminated"
	expect "the VMM takes Ctrl-Alt-Del (status 0)" log_has "^vmm-ctl: ctrl-alt-del: status 0$"
	expect "the guest's init is asked to stop and passes it on" \
		log_has "vmjail-init: asked to stop \(SIGINT\): SIGTERM to the workload"
	expect "the workload's own handler ends it; its status is reported" \
		vj_status_is 3 "exit 3 from the TERM trap"
	expect "the guest powers off: the VMM exits 0" grep -q "^agent=exit:0$" /tmp/cad.report
}

# count_in FILE first|last: the first or last N of the guest's
# "E2E-GUEST: count N" lines in FILE; 0 when there is none.
count_in() {
	local n
	n=$(sed -n 's/^E2E-GUEST: count \([0-9]*\).*/\1/p' "$1" | tr -d '\r' |
		if [ "$2" = first ]; then head -n 1; else tail -n 1; fi)
	echo "${n:-0}"
}

# wait_count FILE N: until FILE's last count reaches N (60 s at most).
wait_count() {
	local i=0
	while [ $i -lt 120 ] && [ "$(count_in "$1" last)" -lt "$2" ]; do
		sleep 0.5
		i=$((i + 1))
	done
	[ "$(count_in "$1" last)" -ge "$2" ] && return 0
	WHY="$1 counts to $(count_in "$1" last), expected $2"
	return 1
}

# restored_counts_on FILE LOW HIGH: FILE's guest never booted (no init
# line), and its first count continues one the snapshot had: LOW < N <= HIGH.
restored_counts_on() {
	local first
	first=$(count_in "$1" first)
	if grep -q "E2E-GUEST: init" "$1" || [ "$first" -le "$2" ] || [ "$first" -gt "$3" ]; then
		WHY="first count $first, expected $(($2 + 1))..$3 and no boot"
		return 1
	fi
}

# A Linux guest counting on its console (e2e_mode=count: a line every
# 0.2 s, through the tty layer and the UART's interrupts) is snapshotted
# by vmm-ctl, the launcher's stand-in on the VMM's control channel
# (pause, VJ_VMM_CTL_SNAPSHOT, resume), and goes on; then a fresh
# vmjail-vmm --restore resumes it from the snapshot's files, and two
# clones do side by side: each counts on from the snapshot's number, its
# clock and timers working, none boots again.
scenario_vmm_snapshot_linux() {
	local dir=/tmp/linux-snap src at first a b i=0
	rm -rf $dir /tmp/snap-*.out /tmp/snap-*.err
	mkdir $dir
	VMM_CTL_SNAPSHOT_DIR=$dir timeout -k 5 "$SC_TIMEOUT" vmm-ctl --exec vmjail-vmm \
		--kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --memory $GUEST_MEMORY \
		--cmdline "$GUEST_CMDLINE e2e_mode=count" --console stdout \
		>/tmp/snap-src.out 2>/tmp/snap-src.err &
	src=$!
	expect "the guest counts" wait_count /tmp/snap-src.out 5
	kill -USR2 "$(pidof vmm-ctl)"
	while [ $i -lt 300 ] && ! grep -q "^vmm-ctl: snapshot:" /tmp/snap-src.err; do
		sleep 0.1
		i=$((i + 1))
	done
	at=$(count_in /tmp/snap-src.out last)
	expect "the snapshot is taken (status 0)" grep -q "^vmm-ctl: snapshot: status 0$" \
		/tmp/snap-src.err
	expect "the source counts on after its snapshot" wait_count /tmp/snap-src.out $((at + 3))
	kill "$(pidof vmjail-vmm)"
	wait $src
	figure "snapshot of a $GUEST_MEMORY Linux guest: memory file" \
		"$(du -k $dir/memory | cut -f1) KiB of data, state $(wc -c <$dir/state) bytes"

	vmjail-vmm --restore $dir --memory $GUEST_MEMORY --console stdout -v --timing \
		>/tmp/snap-r.out 2>/tmp/snap-r.err &
	a=$!
	expect "a restored guest counts on" wait_count /tmp/snap-r.out 1
	expect "it goes on from the snapshot's count, without booting" \
		restored_counts_on /tmp/snap-r.out 4 $((at + 1))
	first=$(count_in /tmp/snap-r.out first)
	expect "its clock and timers work: it keeps counting" \
		wait_count /tmp/snap-r.out $((first + 10))
	kill $a
	wait $a

	vmjail-vmm --restore $dir --memory $GUEST_MEMORY --console stdout \
		>/tmp/snap-a.out 2>/tmp/snap-a.err &
	a=$!
	vmjail-vmm --restore $dir --memory $GUEST_MEMORY --console stdout \
		>/tmp/snap-b.out 2>/tmp/snap-b.err &
	b=$!
	expect "clone A counts on beside clone B" wait_count /tmp/snap-a.out $((first + 5))
	expect "clone B counts on beside clone A" wait_count /tmp/snap-b.out $((first + 5))
	expect "clone A resumed the snapshot" restored_counts_on /tmp/snap-a.out 4 $((at + 1))
	expect "clone B resumed the snapshot" restored_counts_on /tmp/snap-b.out 4 $((at + 1))
	figure "private memory of 2 clones of a $GUEST_MEMORY Linux guest:" \
		"$(sed -n 's/^Private_Dirty: *//p' /proc/$a/smaps_rollup)," \
		"$(sed -n 's/^Private_Dirty: *//p' /proc/$b/smaps_rollup)"
	kill $a $b
	wait $a $b
	for f in /tmp/snap-src.out /tmp/snap-src.err /tmp/snap-r.out /tmp/snap-r.err \
		/tmp/snap-a.out /tmp/snap-b.err; do
		echo "@@ $f:"
		tail -n 20 "$f"
	done >>"$LOG"
	rm -rf $dir
}

# A detached Linux sandbox counting on its console (e2e_mode=count: the
# count, the uptime and a random mark kept in a tmpfs, every 0.2 s)
# migrates with `vmjail migrate` to a `vmjail receive` over a Unix socket,
# then over loopback TCP, then over an exec: command (receive --from
# stdio): each time the count goes on in the destination's console from
# the source's number, with the same mark and an uptime that did not go
# back, and the source ends with status 8; `wait` on the last one reports
# its status; nothing is left.
MIG_VJ="vmjail --host-config /e2e/host.yaml"
MIG_VM="--kernel $GUEST_KERNEL --initrd $GUEST_INITRD --memory $GUEST_MEMORY"

# A console's complete lines: the guest writes a line a character at a
# time, and a migration may pause it mid-line (the rest of that line then
# comes out of the destination).
mig_complete() { if [ -n "$(tail -c 1 "$1")" ]; then sed '$d' "$1"; else cat "$1"; fi; }
mig_last() { mig_complete "$1" | tr -d '\r' | sed -n 's/^E2E-GUEST: count \([0-9]*\) up=.* mark=[0-9a-f]*$/\1/p' | tail -n 1; }
mig_up() { mig_complete "$1" | sed -n 's/^E2E-GUEST: count .* up=\([0-9.]*\) .*/\1/p' | tr -d '\r' | sed -n "${2}p"; }
mig_marks() { sed -n 's/^E2E-GUEST: count .* mark=\([0-9a-f]*\).*/\1/p' "$1" | tr -d '\r' | sort -u; }

# mig_hop FROM TO DEST [SRC]
mig_hop() {
	local from=$1 to=$2 dest=$3 src=${4:-} rpid=0 at first up_a up_b i=0
	if [ -n "$src" ]; then
		$MIG_VJ receive $VJ_VMM $MIG_VM --console /tmp/mig-$to.out --id "$to" --detach \
			--from "$src" >/tmp/mig-$to.id 2>>"$LOG" &
		rpid=$!
		case $src in
		unix:*) while [ $i -lt 100 ] && [ ! -S "${src#unix:}" ]; do sleep 0.1; i=$((i + 1)); done ;;
		tcp:*) sleep 2 ;;
		esac
	fi
	OUT=$(timeout -k 5 300 $MIG_VJ migrate "$from" --to "$dest" 2>>"$LOG")
	RC=$?
	echo "@@ migrate $from -> $to: $RC: $OUT" >>"$LOG"
	at=$(mig_last /tmp/mig-$from.out)
	up_a=$(mig_up /tmp/mig-$from.out '$')
	expect "$from -> $to over ${dest%%:*}: vmjail migrate succeeds" test "$RC" = 0
	figure "migration of a $GUEST_MEMORY Linux guest over ${dest%%:*}" "$(echo "$OUT" | head -n 1)"
	[ "$rpid" = 0 ] || { [ "$RC" = 0 ] || kill $rpid 2>/dev/null; wait $rpid; }
	expect "... the destination counts on" wait_count /tmp/mig-$to.out $((at + 3))
	first=$(count_in /tmp/mig-$to.out first)
	# at + 2: a line the pause cut comes out whole on neither side.
	expect "... from the source's count $at (first $first), without booting" \
		restored_counts_on /tmp/mig-$to.out $at $((at + 2))
	up_b=$(mig_up /tmp/mig-$to.out 1)
	expect "... its uptime goes on ($up_a then $up_b)" \
		awk -v a="$up_a" -v b="$up_b" 'BEGIN { exit !(b + 0 >= a + 0 && a + 0 > 0) }'
	expect "... its tmpfs mark is the source's" \
		test "$(mig_marks /tmp/mig-$to.out)" = "$(mig_marks /tmp/mig-$from.out)"
	expect "... nothing of $from is left on the source" mig_source_gone "$from"
}

# mig_source_gone ID: once `vmjail migrate` returned, nothing of sandbox
# ID is left here: no run directory, `ls` line, cgroup, launcher or VMM;
# `wait` knows it no more.
mig_source_gone() {
	local left p
	left=$( { ls -d /run/vmjail/$1 /run/vmjail/$1.* 2>/dev/null
		$MIG_VJ ls 2>/dev/null | awk -v id="$1" '$1 == id'
		find /sys/fs/cgroup -type d -name "$1" 2>/dev/null
		for p in /proc/[0-9]*; do
			tr '\0' ' ' <$p/cmdline 2>/dev/null | grep -q -- " --id $1 " && echo "$p"
		done; } | tr '\n' ' ')
	if [ -n "$left" ]; then
		WHY="left of $1: $left"
		return 1
	fi
	$MIG_VJ wait "$1" >/dev/null 2>/tmp/mig-wait.err && { WHY="wait $1 succeeded"; return 1; }
	grep -q "$1" /tmp/mig-wait.err && return 0
	WHY="wait $1 said: $(cat /tmp/mig-wait.err)"
	return 1
}

scenario_migrate_linux() {
	rm -f /tmp/mig-*.out /tmp/mig-*.sock
	$MIG_VJ run $VJ_VMM $MIG_VM --cmdline "$GUEST_CMDLINE e2e_mode=count" \
		--console /tmp/mig-lm0.out --id lm0 --detach >/dev/null 2>>"$LOG"
	expect "the source runs, detached, and counts" wait_count /tmp/mig-lm0.out 10
	expect "... with one mark" test "$(mig_marks /tmp/mig-lm0.out | wc -l)" = 1
	mig_hop lm0 lm1 unix:/tmp/mig-1.sock unix:/tmp/mig-1.sock
	ip link set lo up 2>/dev/null
	mig_hop lm1 lm2 tcp:127.0.0.1:24801 tcp:127.0.0.1:24801
	mig_hop lm2 lm3 "exec:$MIG_VJ receive $VJ_VMM $MIG_VM --console /tmp/mig-lm3.out --id lm3 --detach --from stdio"
	$MIG_VJ kill lm3 --vm >/dev/null 2>&1
	$MIG_VJ wait lm3 >/dev/null 2>&1
	RC=$?
	expect "wait on the last destination reports its status (killed: 137)" test "$RC" = 137
	for id in lm0 lm1 lm2 lm3; do $MIG_VJ rm $id >/dev/null 2>&1; done
	expect "no VMM is left" no_vmm_left
	expect "the run directory is empty" run_dir_empty
	for f in /tmp/mig-lm0.out /tmp/mig-lm3.out; do
		echo "@@ $f:"
		tail -n 5 "$f"
	done >>"$LOG"
	scenario_migrate_agent
}

# A detached sandbox whose workload runs through the guest agent, counting
# on its stdout ("AGC N up=UPTIME mark=HEX" every 0.2 s, HEX random, kept
# in the guest's /tmp tmpfs), migrates over loopback TCP, then over an
# exec: command: each time its output goes on in the destination's
# `vmjail logs` from the source's count (not from 0), with the same mark
# and an uptime that did not go back; the source ends with status 8;
# `vmjail kill` and `wait` on the last destination report the workload's
# end through the agent; nothing is left.
MA_CMD='head -c 8 /dev/urandom | od -An -tx1 | tr -d " \n" >/tmp/mark; i=0
while :; do echo "AGC $i up=$(cut -d" " -f1 /proc/uptime) mark=$(cat /tmp/mark)"; i=$((i + 1)); sleep 0.2; done'
# The counts of a log's complete lines, in order (a pause may cut a line:
# its rest comes out of the destination, and neither half matches).
ma_counts() { sed -n 's/^AGC \([0-9]*\) up=[0-9.]* mark=[0-9a-f]*$/\1/p' "$1"; }
ma_up() { sed -n 's/^AGC [0-9]* up=\([0-9.]*\) mark=[0-9a-f]*$/\1/p' "$1" | sed -n "${2}p"; }
ma_marks() { sed -n 's/^AGC [0-9]* up=[0-9.]* mark=\([0-9a-f]*\)$/\1/p' "$1" | sort -u; }
ma_wait_count() {
	local i=0
	while [ $i -lt 120 ]; do
		$MIG_VJ logs "$1" >/tmp/ma-$1.log 2>/dev/null
		[ "$(ma_counts /tmp/ma-$1.log | tail -n 1)" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.5
		i=$((i + 1))
	done
	WHY="$1's log counts to $(ma_counts /tmp/ma-$1.log | tail -n 1), expected $2"
	return 1
}
# ma_consecutive FILE: every count is the one before plus 1.
ma_consecutive() {
	ma_counts "$1" | awk 'NR > 1 && $1 != p + 1 { print "count " p " then " $1; bad = 1 }
		{ p = $1 } END { exit bad }' >/tmp/ma-why || { WHY="$(head -n 1 /tmp/ma-why)"; return 1; }
}

# mig_agent_hop FROM TO DEST [SRC]
mig_agent_hop() {
	local from=$1 to=$2 dest=$3 src=${4:-} rpid=0 at first up_a up_b fpid
	if [ -n "$src" ]; then
		$MIG_VJ receive /e2e/mig-agent.yaml $VJ_VMM --timeout 10m --id "$to" --detach \
			--from "$src" >/dev/null 2>>"$LOG" &
		rpid=$!
		sleep 2
	fi
	# The source's log goes with it: a follower keeps what it showed.
	timeout -k 5 400 $MIG_VJ logs "$from" --follow >/tmp/ma-$from.log 2>>"$LOG" &
	fpid=$!
	OUT=$(timeout -k 5 300 $MIG_VJ migrate "$from" --to "$dest" 2>>"$LOG")
	RC=$?
	echo "@@ migrate $from -> $to: $RC: $OUT" >>"$LOG"
	expect "agent $from -> $to over ${dest%%:*}: vmjail migrate succeeds" test "$RC" = 0
	[ "$rpid" = 0 ] || { [ "$RC" = 0 ] || kill $rpid 2>/dev/null; wait $rpid; }
	[ "$RC" = 0 ] || kill $fpid 2>/dev/null
	wait $fpid
	expect "... logs --follow on the source ended with it" test $? = 0
	at=$(ma_counts /tmp/ma-$from.log | tail -n 1)
	up_a=$(ma_up /tmp/ma-$from.log '$')
	expect "... the workload's output goes on in the destination's vmjail logs" \
		ma_wait_count "$to" $((${at:-0} + 5))
	first=$(ma_counts /tmp/ma-$to.log | head -n 1)
	echo "@@ $from's last count $at, $to's first $first" >>"$LOG"
	# What the source's launcher had not taken from the guest when the
	# guest paused is lost (vmm/MIGRATION.md): a line or two at most.
	expect "... from the source's count $at (first $first), not from 0" \
		test "${first:-0}" -gt "${at:-0}" -a "${first:-0}" -le "$((${at:-0} + 3))"
	expect "... with no count missing or repeated in the destination's log" \
		ma_consecutive /tmp/ma-$to.log
	up_b=$(ma_up /tmp/ma-$to.log 1)
	expect "... its uptime goes on ($up_a then $up_b)" \
		awk -v a="$up_a" -v b="$up_b" 'BEGIN { exit !(b + 0 >= a + 0 && a + 0 > 0) }'
	expect "... its tmpfs mark is the source's" \
		test "$(ma_marks /tmp/ma-$to.log)" = "$(ma_marks /tmp/ma-$from.log)"
	expect "... nothing of $from is left on the source" mig_source_gone "$from"
}

# mig_agent_exec ID: `vmjail exec` on a migrated sandbox runs beside its
# workload (it sees the workload's tmpfs mark) and returns its status.
mig_agent_exec() {
	OUT=$(timeout -k 5 120 $MIG_VJ exec "$1" -- cat /tmp/mark 2>>"$LOG")
	RC=$?
	echo "@@ exec $1 cat /tmp/mark: $RC: $OUT" >>"$LOG"
	expect "exec on the migrated $1 runs beside its workload (its mark) and exits 0" \
		test "$RC" = 0 -a -n "$OUT" -a "$OUT" = "$(ma_marks /tmp/ma-$1.log)"
	timeout -k 5 120 $MIG_VJ exec "$1" -- sh -c 'exit 7' >/dev/null 2>>"$LOG"
	RC=$?
	expect "... and returns its status (7)" test "$RC" = 7
}

scenario_migrate_agent() {
	sed '/^workload:/,$d' /e2e/linux.yaml >/e2e/mig-agent.yaml
	$MIG_VJ run /e2e/linux.yaml $VJ_VMM --timeout 10m --id la0 --detach -- sh -c "$MA_CMD" \
		>/dev/null 2>>"$LOG"
	expect "a detached workload runs and counts in its log" ma_wait_count la0 10
	expect "... with one mark" test "$(ma_marks /tmp/ma-la0.log | wc -l)" = 1
	mig_agent_hop la0 la1 tcp:127.0.0.1:24802 tcp:127.0.0.1:24802
	mig_agent_hop la1 la2 "exec:$MIG_VJ receive /e2e/mig-agent.yaml $VJ_VMM --timeout 10m --id la2 --detach --from stdio"
	mig_agent_exec la2
	# SIGTERM to the workload goes through the agent's session (a VM
	# killed would end with 137).
	$MIG_VJ kill la2 TERM >/dev/null 2>>"$LOG"
	$MIG_VJ wait la2 >/dev/null 2>&1
	RC=$?
	expect "kill TERM and wait on the last destination report the workload's end (143)" \
		test "$RC" = 143
	for id in la0 la1 la2; do $MIG_VJ rm $id >/dev/null 2>&1; done
	expect "no VMM is left" no_vmm_left
	expect "the run directory is empty" run_dir_empty
	for f in /tmp/ma-la0.log /tmp/ma-la2.log; do
		echo "@@ $f:"
		tail -n 5 "$f"
	done >>"$LOG"
	rm -f /e2e/mig-agent.yaml
}

# A sandbox with a network interface migrates over a Unix socket, and
# once it runs on the destination its guest announces itself on the
# destination's tap: a gratuitous ARP from its MAC for its address, which
# Linux sends when its virtio-net device sets VIRTIO_NET_S_ANNOUNCE
# (vmm/MIGRATION.md). The taps are in two named network namespaces the
# host file allows (vjmig0, vjmig1), so that the test host watches the
# destination's from before the launcher creates it there. The guest's
# interface goes on working: the test host pings it over each tap. Then
# clones of a snapshot of it: one that keeps its MAC announces itself,
# one given another MAC does not announce the snapshot's (mn_restores).
MN_VJ="vmjail --host-config /e2e/host-mignet.yaml"
MN_MAC=02:00:00:00:00:b0
MN_CMD='ip link set eth0 up && ip addr add 10.0.2.2/24 dev eth0 &&
echo "net up $(cat /sys/class/net/eth0/address)"; i=0
while :; do echo "NET $i"; i=$((i + 1)); sleep 0.5; done'

# mn_in NETNS CMD...: CMD in the named network namespace.
mn_in() {
	local ns=$1
	shift
	nsenter -n/run/netns/"$ns" "$@"
}

# mn_ping NETNS: the test host's side of that namespace's tap gets
# 10.0.2.1 and pings the guest (10.0.2.2) through it.
mn_ping() {
	mn_in "$1" ip link set vjmig up
	mn_in "$1" ip addr add 10.0.2.1/24 dev vjmig 2>/dev/null
	mn_in "$1" ping -c 3 -W 5 10.0.2.2 >/tmp/mn-ping.out 2>&1 && return 0
	WHY="ping in $1: $(tail -n 2 /tmp/mn-ping.out | tr '\n' ' ')"
	return 1
}

# mn_announced N: the watcher saw N gratuitous ARPs from the guest's MAC
# for its address (the announce's rounds, vmm/virtio/README.md).
mn_announced() {
	local n
	n=$(grep -c "^gratuitous ARP from $MN_MAC for 10.0.2.2 on vjmig" /tmp/mn.watch)
	[ "$n" = "$1" ] && return 0
	WHY="$n gratuitous ARPs seen, expected $1: $(tail -n 1 /tmp/mn.watch)"
	return 1
}

# mn_clone ID POLICY WATCH-SECONDS [COUNT]: a clone of $SNAPS/mn, detached,
# with the destination's tap in POLICY's namespace watched for COUNT (1) of
# the snapshot's guest's gratuitous ARPs meanwhile; the watcher's lines in
# /tmp/mn.watch.
mn_clone() {
	local ns i=0 w
	ns=$(sed -n 's/^  netns: //p' "$2")
	rm -f /tmp/mn.ready
	mn_in "$ns" virtio-host announce-watch vjmig $MN_MAC /tmp/mn.ready "$3" "${4:-1}" \
		>/tmp/mn.watch 2>&1 &
	w=$!
	while [ $i -lt 100 ] && [ ! -e /tmp/mn.ready ]; do sleep 0.1; i=$((i + 1)); done
	timeout -k 5 300 $MN_VJ run "$2" $VJ_VMM --from-snapshot $SNAPS/mn --id "$1" --detach \
		-- sh -c 'echo "clone $(cat /sys/class/net/eth0/address)"; sleep 100000' \
		>/dev/null 2>>"$LOG"
	RC=$?
	wait $w
	echo "@@ $1: run $RC, announce-watch: $(cat /tmp/mn.watch)" >>"$LOG"
}

# A snapshot of the migrated sandbox: a clone that keeps its MAC is the
# same machine on a new tap and announces itself as it resumes; a clone
# given a MAC of its own does not announce the snapshot's (which would
# draw the original's traffic to it) (vmm/SNAPSHOT.md).
mn_restores() {
	mkdir -p -m 700 $SNAPS
	$MN_VJ snapshot mn1 --to $SNAPS/mn --stop >>"$LOG" 2>&1
	RC=$?
	expect "the destination is snapshotted and stopped" vj_status_is 0 "snapshot"
	timeout 120 $MN_VJ wait mn1 >/dev/null 2>&1
	$MN_VJ rm mn1 >/dev/null 2>&1
	[ "$RC" = 0 ] || return
	mn_clone mn2 /e2e/mignet-vjmig0.yaml 120 3
	expect "a clone with the snapshot's MAC runs" vj_status_is 0 "clone"
	expect "... and announces itself on its tap as it resumes, three times" \
		mn_announced 3
	$MN_VJ kill mn2 --vm >/dev/null 2>&1
	$MN_VJ wait mn2 >/dev/null 2>&1
	sed 's/^      mac: .*/      mac: "02:00:00:00:00:b1"/' /e2e/mignet-vjmig1.yaml >/e2e/mignet-new.yaml
	mn_clone mn3 /e2e/mignet-new.yaml 20
	expect "a clone given a MAC of its own runs" vj_status_is 0 "clone"
	expect "... its eth0 has that MAC" until_log mn3 "clone 02:00:00:00:00:b1"
	expect "... and sends no gratuitous ARP for the snapshot's MAC" \
		grep -q "^no gratuitous ARP from $MN_MAC on vjmig in 20 s" /tmp/mn.watch
	$MN_VJ kill mn3 --vm >/dev/null 2>&1
	$MN_VJ wait mn3 >/dev/null 2>&1
	rm -rf $SNAPS/mn
}

scenario_migrate_net() {
	local ns w rpid i=0
	[ -d /sys/module/tun ] || insmod /lib/modules/tun.ko
	rm -f /tmp/mn.* /tmp/mn-*
	mkdir -p /run/netns
	for ns in vjmig0 vjmig1; do
		touch /run/netns/$ns
		unshare --net=/run/netns/$ns true
	done
	{ cat /e2e/host.yaml; printf 'netns_allowed:\n  - vjmig0\n  - vjmig1\n'; } \
		>/e2e/host-mignet.yaml
	# /e2e/mignet-NETNS.yaml: linux.yaml without its workload, in NETNS,
	# with the tap.
	for ns in vjmig0 vjmig1; do
		sed '/^workload:/,$d' /e2e/linux.yaml | awk -v mac="$MN_MAC" -v ns=$ns '{ print }
			/^  console: none$/ { print "  net:"; print "    - tap: vjmig"
				print "      mac: \"" mac "\"" }
			/^jail:$/ { print "  netns: " ns }' >/e2e/mignet-$ns.yaml
	done
	$MN_VJ run /e2e/mignet-vjmig0.yaml $VJ_VMM --timeout 10m --id mn0 --detach \
		-- sh -c "$MN_CMD" >/dev/null 2>>"$LOG"
	expect "the source with a network interface runs, detached" until_log mn0 "net up $MN_MAC"
	expect "the test host pings its guest over the source's tap" mn_ping vjmig0
	mn_in vjmig1 virtio-host announce-watch vjmig $MN_MAC /tmp/mn.ready 180 3 >/tmp/mn.watch \
		2>&1 &
	w=$!
	while [ $i -lt 100 ] && [ ! -e /tmp/mn.ready ]; do sleep 0.1; i=$((i + 1)); done
	$MN_VJ receive /e2e/mignet-vjmig1.yaml $VJ_VMM --timeout 10m --id mn1 --detach \
		--from unix:/tmp/mn.sock >/dev/null 2>>"$LOG" &
	rpid=$!
	i=0
	while [ $i -lt 100 ] && [ ! -S /tmp/mn.sock ]; do sleep 0.1; i=$((i + 1)); done
	OUT=$(timeout -k 5 300 $MN_VJ migrate mn0 --to unix:/tmp/mn.sock 2>>"$LOG")
	RC=$?
	echo "@@ migrate mn0 -> mn1: $RC: $OUT" >>"$LOG"
	expect "mn0 -> mn1 over unix: vmjail migrate succeeds" test "$RC" = 0
	[ "$RC" = 0 ] || kill $rpid 2>/dev/null
	wait $rpid
	wait $w
	echo "@@ announce-watch: $(cat /tmp/mn.watch)" >>"$LOG"
	expect "the guest announces itself on the destination's tap (gratuitous ARPs from its MAC, three rounds)" \
		mn_announced 3
	expect "... its workload goes on there" until_log mn1 "^NET [0-9]"
	expect "... and the test host pings it over the destination's tap" mn_ping vjmig1
	expect "... nothing of mn0 is left on the source" mig_source_gone mn0
	mn_restores
	for id in mn0 mn1 mn2 mn3; do $MN_VJ rm $id >/dev/null 2>&1; done
	for ns in vjmig0 vjmig1; do
		umount /run/netns/$ns
		rm -f /run/netns/$ns
	done
	rm -f /e2e/host-mignet.yaml /e2e/mignet-*.yaml /tmp/mn.sock
	expect "no VMM is left" no_vmm_left
	expect "the run directory is empty" run_dir_empty
}

# A detached workload writes numbered records to its drive, a writable
# image beneath the host file's shared root (roots.shared; on one machine
# the same path is the same storage), syncing each before it logs its
# number; it migrates over a Unix socket, the drive's lock passing from
# the source's VMM to the destination's, and writes on there; `vmjail
# exec` on the destination writes one more record and returns its status.
# Once the workload ended, every record it logged, before and after the
# move, is in the image file, and nothing is left.
MD_CMD='ls -l /dev/vd* >&2; i=0; while :; do
printf "DRV %08d\n" $i | dd of=/dev/vda bs=512 seek=$i conv=notrunc 2>/tmp/dd.err && sync &&
echo "DRV $i" || { cat /tmp/dd.err >&2; sleep 1; continue; }; i=$((i + 1)); sleep 0.2; done'
md_last() { $MIG_VJ logs "$1" 2>/dev/null | sed -n 's/^DRV \([0-9]*\)$/\1/p' | tail -n 1; }
md_wait() { # md_wait ID N: until ID's log reached record N (60 s at most)
	local i=0
	while [ $i -lt 120 ]; do
		[ "$(md_last "$1")" -ge "$2" ] 2>/dev/null && return 0
		sleep 0.5
		i=$((i + 1))
	done
	WHY="$1's log reached record $(md_last "$1"), expected $2"
	return 1
}
# md_records IMAGE LAST: records 0..LAST are all in IMAGE.
md_records() {
	local i=0 want got
	while [ $i -le "$2" ]; do
		want=$(printf "DRV %08d" $i)
		got=$(dd if="$1" bs=512 skip=$i count=1 2>/dev/null | head -c 12)
		if [ "$got" != "$want" ]; then
			WHY="record $i: \"$got\", expected \"$want\""
			return 1
		fi
		i=$((i + 1))
	done
}

scenario_migrate_drive() {
	local at last
	mkdir -p /e2e/shared
	rm -f /e2e/shared/data.img /tmp/md-*.sock
	dd if=/dev/zero of=/e2e/shared/data.img bs=1M count=4 2>/dev/null
	# The host file, with the shared root an image root too.
	awk '{ print } /^roots:$/ { print "  shared:\n    - /e2e/shared" }
		/^  images:$/ { print "    - /e2e/shared" }' /e2e/host.yaml >/e2e/host-shared.yaml
	awk '/^workload:/ { exit } { print }
		/^  console: none$/ { print "  drives:\n    - id: data\n      path: /e2e/shared/data.img\n      read_only: false" }' \
		/e2e/linux.yaml >/e2e/mig-drive.yaml
	local vj="vmjail --host-config /e2e/host-shared.yaml"
	cat /e2e/mig-drive.yaml >>"$LOG"
	$vj run /e2e/mig-drive.yaml $VJ_VMM --timeout 10m --id md0 --detach -- sh -c "$MD_CMD" \
		>/dev/null 2>>"$LOG"
	expect "a detached workload writes records to its shared writable drive" md_wait md0 5
	$MIG_VJ logs md0 2>&1 >/dev/null | head -n 5 >>"$LOG"
	$vj receive /e2e/mig-drive.yaml $VJ_VMM --timeout 10m --id md1 --detach \
		--from unix:/tmp/md-1.sock >/dev/null 2>>"$LOG" &
	local rpid=$! i=0 fpid
	while [ $i -lt 100 ] && [ ! -S /tmp/md-1.sock ]; do sleep 0.1; i=$((i + 1)); done
	timeout -k 5 400 $vj logs md0 --follow >/tmp/md-0.log 2>>"$LOG" &
	fpid=$!
	OUT=$(timeout -k 5 300 $vj migrate md0 --to unix:/tmp/md-1.sock 2>>"$LOG")
	RC=$?
	echo "@@ migrate md0 -> md1: $RC: $OUT" >>"$LOG"
	expect "it migrates, its drive's lock passing to the destination" test "$RC" = 0
	[ "$RC" = 0 ] || kill $rpid $fpid 2>/dev/null
	wait $rpid $fpid
	at=$(sed -n 's/^DRV \([0-9]*\)$/\1/p' /tmp/md-0.log | tail -n 1)
	[ -n "$at" ] || at=0
	expect "... nothing of md0 is left on the source" mig_source_gone md0
	expect "... the workload writes on on the destination" md_wait md1 $((at + 10))
	timeout -k 5 120 $vj exec md1 -- sh -c 'printf "EXEC\n" |
		dd of=/dev/vda bs=512 seek=4000 conv=notrunc && sync && exit 7' \
		>/dev/null 2>>"$LOG"
	RC=$?
	expect "... exec on the destination writes to the drive and returns its status (7)" \
		test "$RC" = 7
	$vj kill md1 TERM >/dev/null 2>>"$LOG"
	$vj wait md1 >/dev/null 2>&1
	RC=$?
	expect "... the workload ends on the destination (143)" test "$RC" = 143
	last=$(md_last md1)
	echo "@@ md0's last record $at, md1's last $last" >>"$LOG"
	expect "every record logged, before ($at) and after the move (to $last), is in the image" \
		md_records /e2e/shared/data.img "${last:-0}"
	expect "... and exec's" test "$(dd if=/e2e/shared/data.img bs=512 skip=4000 count=1 \
		2>/dev/null | head -c 4)" = EXEC
	$vj rm md1 >/dev/null 2>&1
	expect "no VMM is left" no_vmm_left
	expect "the run directory is empty" run_dir_empty
	rm -rf /e2e/shared /e2e/host-shared.yaml /e2e/mig-drive.yaml
}

no_vmm_left() {
	local p
	for p in /proc/[0-9]*; do
		if grep -q vmjail-vmm "$p/comm" 2>/dev/null; then
			WHY="$p is a vmjail-vmm"
			return 1
		fi
	done
	return 0
}

run_dir_empty() {
	[ -z "$(ls -A /run/vmjail)" ] && return 0
	WHY="/run/vmjail holds: $(ls -A /run/vmjail | tr '\n' ' ')"
	return 1
}

# wait_vmm ID: waits for sandbox ID's VMM to run in its cgroup; sets
# CG_DIR (its cgroup directory) and VMM_PID.
wait_vmm() {
	local i=0 p
	CG_DIR= VMM_PID=
	while [ $i -lt 1200 ] && [ -z "$VMM_PID" ]; do
		CG_DIR=$(find /sys/fs/cgroup -type d -name "$1" 2>/dev/null | head -n 1)
		for p in $(cat "$CG_DIR/cgroup.procs" 2>/dev/null); do
			# vmjail-vmm, or the sanitizer build's vmjail-vmm-static
			# (comm keeps 15 characters)
			case $(cat /proc/$p/comm 2>/dev/null) in vmjail-vmm*) VMM_PID=$p ;; esac
		done
		[ -n "$VMM_PID" ] || sleep 0.1
		i=$((i + 1))
	done
	echo "sandbox $1: cgroup $CG_DIR, VMM pid $VMM_PID" >>"$LOG"
	[ -n "$VMM_PID" ] && return 0
	WHY="no vmjail-vmm in a cgroup named $1 after 120 s"
	return 1
}

# The sandbox's cgroup (v2 in the test host) carries the policy's limits:
# cpus 1, memory 256Mi, pids 32. On v2 the VMM is born in it
# (CLONE_INTO_CGROUP), which vmjail -v says.
scenario_agent_cgroup() {
	$VJ_RUN -v --id e2e-cg -- sleep 30 >/tmp/vj.out 2>/tmp/vj.err &
	expect "the VMM runs in a cgroup of its own" wait_vmm e2e-cg
	expect "memory.max is 256Mi" file_is "$CG_DIR/memory.max" 268435456
	expect "pids.max is 32" file_is "$CG_DIR/pids.max" 32
	expect "cpu.max is one CPU" file_is "$CG_DIR/cpu.max" "100000 100000"
	kill -TERM $!
	wait $!
	cat /tmp/vj.err >>"$LOG"
	expect "the VMM was cloned straight into it" \
		log_has "^vmjail: sandbox e2e-cg: VMM cloned into cgroup /sys/fs/cgroup/vmjail/e2e-cg$"
	# testhost-init.sh made the parent, as an operator would.
	expect "the operator's parent outlives the sandbox, with its own pids.max" \
		file_is /sys/fs/cgroup/vmjail/pids.max 1000
}

# --- the jail, checked from outside on a running Linux sandbox ----------

# status_of, every_task, ns_differs, jailed_status_checks, fd_table, fds_are:
# tests/proc-status.sh,
# sourced by testhost-init.sh.

# started_in_guest: the workload of scenario_jail_props has started (it
# prints "started" first), so the guest agent's connection is up.
started_in_guest() {
	local i=0
	while [ $i -lt 1200 ] && ! grep -qx started /tmp/vj.out; do
		sleep 0.1
		i=$((i + 1))
	done
	grep -qx started /tmp/vj.out && return 0
	WHY="the workload did not start within 120 s"
	return 1
}

# The properties tests/integration/jail-props.sh checks on the build host,
# here on a sandbox booting the real Linux guest under cgroup v2: no
# capabilities, no_new_privs, one seccomp filter per thread, host ids of
# the sandbox's own from the host file's range, namespaces of its own, an
# empty read-only root, no environment, and exactly the descriptors it
# still needs, with a workload running and the guest agent connected over
# vsock.
scenario_jail_props() {
	local t broker= uid gid
	$VJ_RUN --id e2e-props -- sh -c 'echo started; exec sleep 60' >/tmp/vj.out 2>/tmp/vj.err &
	expect "the VMM runs in a cgroup of its own" wait_vmm e2e-props
	if [ -z "$VMM_PID" ]; then
		kill -TERM $!
		wait $!
		sed 's/^/vmjail: /' /tmp/vj.err >>"$LOG"
		return
	fi
	# The vCPU thread loads its filter before the guest's first
	# instruction: wait for it to exist.
	t=0
	while [ $t -lt 1200 ] &&
		[ "$(cat /proc/$VMM_PID/task/*/comm 2>/dev/null | grep -c '^vmjail-vmm')" -lt 2 ]; do
		sleep 0.1
		t=$((t + 1))
	done
	sleep 1
	echo "VMM threads: $(cat /proc/$VMM_PID/task/*/comm | tr '\n' ' ')" >>"$LOG"
	uid=$(sed -n 's/^uid //p' /run/vmjail/e2e-props/state)
	gid=$(sed -n 's/^gid //p' /run/vmjail/e2e-props/state)
	echo "sandbox ids: uid $uid gid $gid" >>"$LOG"
	# /e2e/host.yaml's range: 1879048192..1881145343.
	expect "its state names host ids from the host file's range" \
		eval '[ "${uid:-0}" -ge 1879048192 ] && [ "$uid" -le 1881145343 ] &&
			[ "${gid:-0}" -ge 1879048192 ] && [ "$gid" -le 1881145343 ]'
	jailed_status_checks $VMM_PID "$uid" "$gid"
	for t in mnt pid ipc uts net cgroup; do
		expect "$t namespace differs from the test host's" ns_differs $VMM_PID $t
	done
	expect "user namespace is the test host's (none configured)" \
		test "$(readlink /proc/$VMM_PID/ns/user)" = "$(readlink /proc/self/ns/user)"
	expect "its cgroup (v2) is vmjail/e2e-props" \
		file_is /proc/$VMM_PID/cgroup "0::/vmjail/e2e-props"
	expect "its root directory is empty" test -z "$(ls -A /proc/$VMM_PID/root/)"
	expect "its root is the only mount it sees, read-only" \
		eval "[ \$(wc -l </proc/$VMM_PID/mountinfo) -eq 1 ] &&
			grep -q ' / ro,' /proc/$VMM_PID/mountinfo"
	expect "its environment is empty" test ! -s /proc/$VMM_PID/environ
	expect "the workload runs, the guest agent connected" started_in_guest
	# Its stderr is vmjail's, for its own messages; stdin and stdout
	# are /dev/null: the workload's streams go through the agent. Then
	# the vsock socket (6), the broker's (7) and its launcher's control
	# channel (8) it was passed, what it made itself (the VM, its vCPU,
	# the stop eventfd, the event loop's two epoll sets, the boot marker's
	# eventfd, the i8042's irqfd, the vsock device's eventfds, the
	# signalfd; a migration's eventfd comes with the first migration),
	# and the agent's connection (19). Guest memory is in none.
	# What it was passed for setting up (/dev/kvm 3, the kernel 4, the
	# initrd 5, the configuration 9) is closed once used, and its numbers
	# taken by what came later.
	expect "its descriptors: stdio, vsock, broker and control sockets, the VM, its own, the agent's" \
		fds_are $VMM_PID "0:/dev/null 1:/dev/null 2:/tmp/vj.err 3:anon_inode:[signalfd] $(
		)4:anon_inode:[eventfd] 5:anon_inode:kvm-vcpu:0 6:socket 7:socket 8:socket $(
		)9:anon_inode:kvm-vm 10:anon_inode:[eventfd] $(
		)11:anon_inode:[eventpoll] 12:anon_inode:[eventpoll] 13:anon_inode:[eventfd] $(
		)14:anon_inode:[eventfd] 15:anon_inode:[eventfd] 16:anon_inode:[eventfd] $(
		)17:anon_inode:[eventfd] 18:anon_inode:[eventfd] 19:socket "
	# The vsock broker runs outside the jail, but in its cgroup and as
	# the sandbox's uid, without capabilities. (KVM's own worker, a
	# kernel thread on older kernels, joins the cgroup too: it has no
	# executable.)
	for t in $(cat "$CG_DIR/cgroup.procs"); do
		echo "in the cgroup: $t $(cat /proc/$t/comm)" >>"$LOG"
		[ "$t" != "$VMM_PID" ] && readlink /proc/$t/exe >/dev/null && broker="$broker$t "
	done
	expect "the cgroup holds one user process besides the VMM (the vsock broker)" \
		test "$(echo $broker | wc -w)" = 1
	broker=$(echo $broker)
	expect "the broker runs as the sandbox's uid" every_task "$broker" Uid "$uid $uid $uid $uid"
	expect "the broker has no capabilities" every_task "$broker" CapEff 0000000000000000
	expect "the broker has no_new_privs" every_task "$broker" NoNewPrivs 1
	expect "the broker is under a seccomp filter" every_task "$broker" Seccomp 2
	kill -TERM $!
	wait $!
	expect "SIGTERM to vmjail stops the sandbox" test ! -e /proc/$VMM_PID
	expect "its cgroup is gone" test ! -e "$CG_DIR"
	expect "no run directory is left" run_dir_empty
}

# A guest that uses more memory than its sandbox's cgroup allows (the
# operator's flags form can set memory-max below the guest's memory; a
# policy cannot): the kernel's OOM killer ends the VMM inside that cgroup,
# the launcher reports the kill and cleans up, and the test host goes on.
scenario_jail_memory() {
	dmesg -c >/dev/null
	timeout -k 5 "$SC_TIMEOUT" vmjail run --id e2e-oom --cgroup-parent vmjail $VJ_VMM \
		--kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --memory 512M --memory-max 192Mi \
		--cmdline "$GUEST_CMDLINE e2e_mode=fill e2e_fill_mib=400" >"$LOG" 2>&1 </dev/null
	RC=$?
	echo "@@ vmjail exit status $RC" >>"$LOG"
	dmesg | grep -iE "oom|out of memory|killed process" >>"$LOG"
	expect "the guest starts to fill 400 MiB" log_has "E2E-GUEST: filling 400 MiB"
	expect "and never finishes" not log_has "E2E-GUEST: filled"
	expect "the test host's kernel kills the VMM for its cgroup's limit" \
		log_has "constraint=CONSTRAINT_MEMCG.*oom_memcg=/vmjail/e2e-oom.*task=vmjail-vmm"
	expect "vmjail reports the kill: 128+9" vj_status_is 137 "SIGKILL"
	expect "no VMM is left" no_vmm_left
	expect "its cgroup is gone" test ! -e /sys/fs/cgroup/vmjail/e2e-oom
	expect "no run directory is left" run_dir_empty
	expect "the test host has its memory back (MemAvailable over 1 GiB)" \
		awk '$1 == "MemAvailable:" { exit !($2 > 1048576) }' /proc/meminfo
}

# --- the use-case examples of policy/examples/, as shipped --------------
# Only the deadline is overridden (per request, as a user would): theirs
# are for hardware KVM, and a boot here takes seconds.
EXAMPLE_TIMEOUT="--timeout 200s"

# out_has ERE: vmjail's stdout (the workload's) has a matching line.
out_has() {
	grep -qE -- "$1" /tmp/vj.out && return 0
	WHY="stdout has no line matching /$1/: \"$(head -c 300 /tmp/vj.out)\""
	return 1
}

# untrusted.yaml: its own command, then one given per request, which sees
# the policy's VM: virtio-rng, no network, no disk.
scenario_example_untrusted() {
	vj_run_policy untrusted.yaml $EXAMPLE_TIMEOUT
	expect "the policy's workload runs" out_has "^hello from the sandbox$"
	expect "in the guest's Linux" out_has "^Linux "
	expect "and exits 0" vj_status_is 0 "workload succeeded"
	vj_run_policy untrusted.yaml $EXAMPLE_TIMEOUT -- sh -c \
		'echo "rng $(cat /sys/class/misc/hw_random/rng_current)"
		echo "net $(ls /sys/class/net | tr "\n" " ")"
		echo "disks $(ls /sys/block | grep -c "^vd")"'
	expect "a per-request command replaces the policy's" not out_has "hello from the sandbox"
	expect "the guest's hwrng is virtio-rng" out_has "^rng virtio_rng"
	expect "it has no network interface but lo" out_has "^net lo $"
	expect "and no disk" out_has "^disks 0$"
	expect "exits 0" vj_status_is 0 "workload succeeded"
}

# function.yaml: the request on stdin, the answer on stdout, the function
# in a read-only root image.
scenario_example_function() {
	echo world | {
		vj_run_policy function.yaml $EXAMPLE_TIMEOUT
		echo "$RC" >/tmp/vj.rc
	}
	RC=$(cat /tmp/vj.rc)
	expect "the function answers its request" file_is /tmp/vj.out "hello, world"
	expect "and exits 0" vj_status_is 0 "function succeeded"
	vj_run_policy function.yaml $EXAMPLE_TIMEOUT -- sh -c \
		'awk "\$2 == \"/\" { print \"root\", \$1, \$3, substr(\$4, 1, 2) }" /proc/mounts
		touch /new 2>/dev/null || echo "root refuses writes"'
	expect "its root is the ext4 image, mounted read-only" out_has "^root /dev/root ext4 ro$"
	expect "a write to it fails" out_has "^root refuses writes$"
}

# ci-job.yaml: two vCPUs, the read-only root image, the scratch disk with
# the job (policy/examples/ci-checkout/ci.sh), a tap the launcher makes in the sandbox's
# network namespace. Two runs: the second sees the first one's mark on
# the scratch disk.
scenario_example_ci_job() {
	[ -d /sys/module/tun ] || insmod /lib/modules/tun.ko
	vj_run_policy ci-job.yaml $EXAMPLE_TIMEOUT
	expect "the job sees 2 vCPUs" out_has "^ci: cpus 2$"
	expect "eth0 has the policy's MAC" out_has "^ci: eth0 02:00:00:00:00:01$"
	expect "and comes up" out_has "^ci: eth0 up$"
	expect "the root image is read-only" out_has "^ci: root read-only$"
	expect "first run" out_has "^ci: run 1$"
	expect "exits 0" vj_status_is 0 "ci.sh succeeded"
	vj_run_policy ci-job.yaml $EXAMPLE_TIMEOUT
	expect "the second run finds the first one's mark on the scratch disk" out_has "^ci: run 2$"
	expect "exits 0 again" vj_status_is 0 "ci.sh succeeded"
	expect "the tap never appears in the test host's network namespace" \
		not test -e /sys/class/net/vmjail0
	expect "no VMM is left" no_vmm_left
	expect "no run directory is left" run_dir_empty
}

# not COMMAND...: COMMAND fails (its WHY is dropped).
not() {
	if "$@"; then
		WHY="$* succeeded"
		return 1
	fi
	WHY=
	return 0
}

# --- managing running sandboxes (jailer/CONTROL.md) ---------------------

VJ_CTL="timeout -k 2 60 vmjail --host-config /e2e/host.yaml"

# ticks: how many ticks the lifecycle workload has logged.
ticks() { $VJ_CTL logs e2e-life 2>/dev/null | grep -c '^tick '; }

# wait_ticks N: until the workload has logged N ticks (30 s at most).
wait_ticks() {
	local i=0
	while [ $i -lt 300 ] && [ "$(ticks)" -lt "$1" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	[ "$(ticks)" -ge "$1" ] && return 0
	WHY="$(ticks) ticks after 30 s, expected $1"
	return 1
}

# stat_of KEY: a number from `vmjail stats e2e-life --json`.
stat_of() {
	$VJ_CTL stats e2e-life --json | sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" | head -n 1
}

# clock_right: the guest's wall clock in the workload's last tick is the
# test host's, within a second (the tick is at most 0.2 s old).
clock_right() {
	local guest host d
	guest=$($VJ_CTL logs e2e-life | sed -n 's/^tick [0-9]* \([0-9]*\)$/\1/p' | tail -n 1)
	host=$(date +%s)
	d=$((host - guest))
	[ $d -ge -1 ] && [ $d -le 1 ] && return 0
	WHY="the guest's clock is ${d} s behind the test host's"
	return 1
}

# gone ID: nothing of sandbox ID is left: no run directory, no cgroup, no
# VMM.
gone() {
	if [ -e "/run/vmjail/$1" ]; then
		WHY="/run/vmjail/$1 is left"
		return 1
	fi
	if [ -n "$(find /sys/fs/cgroup -type d -name "$1" 2>/dev/null)" ]; then
		WHY="its cgroup is left: $(find /sys/fs/cgroup -type d -name "$1")"
		return 1
	fi
	no_vmm_left
}

# wait_status ID: `vmjail wait ID`, its status in RC.
wait_status() {
	timeout -k 5 120 $VJ_CTL wait "$1" >>"$LOG" 2>&1
	RC=$?
}

# gone_within ID SECONDS: gone, polled (a bound for a stuck teardown).
gone_within() {
	local i=0
	while [ $i -lt $(($2 * 10)) ]; do
		gone "$1" && return 0
		sleep 0.1
		i=$((i + 1))
	done
	gone "$1"
}

# --teardown background with Linux and the guest agent: the status and
# every byte of both streams come back, a reader of the output sees EOF
# when vmjail returns, the same id run serially never fails, and nothing
# is left once the teardowns end.
scenario_teardown_background() {
	local i ok=0
	# The pipeline's status comes back through a file (no PIPESTATUS here).
	{
		timeout -k 5 120 vmjail --host-config /e2e/host.yaml run /e2e/linux.yaml $VJ_VMM \
			--teardown background --id e2e-td -- \
			sh -c 'yes x | head -c 200000; echo; echo err >&2; exit 3' \
			2>/tmp/td.err
		echo $? >/tmp/td.rc
	} | wc -c >/tmp/td.count
	RC=$(cat /tmp/td.rc)
	cat /tmp/td.err >>"$LOG"
	expect "vmjail exits with the workload's status" vj_status_is 3 "exit 3"
	expect "a pipe reader gets all 200001 bytes of the workload's stdout, and EOF" \
		test "$(cat /tmp/td.count)" = 200001
	expect "the workload's stderr, and nothing else" file_is /tmp/td.err err
	for i in 1 2 3 4 5; do
		vj_run --teardown background --id e2e-td -- true
		[ "$RC" = 0 ] && ok=$((ok + 1))
	done
	expect "the same id run 5 times in a row succeeds every time" test "$ok" = 5
	expect "nothing of it is left once its teardown ends" gone_within e2e-td 30
}

# A detached sandbox with a long workload, managed with the verbs a user
# has: ps, inspect, stats, logs --follow, pause (the output stops), resume
# (the guest's wall clock is right again), a refused client of another
# uid, stop (the workload is asked through the guest agent, the guest
# powers off), wait, rm; then kill of a workload (137 in wait) and a guest
# panic as an event. Nothing is left after each.
scenario_lifecycle() {
	local OUT RC cpu1 mem1 cpu2 mem2 held follow events
	OUT=$($VJ_RUN --timeout 10m --detach --id e2e-life -- sh -c '
		dd if=/dev/zero of=/tmp/fill bs=1M count=32 2>/dev/null
		i=0
		while :; do i=$((i + 1)); echo "tick $i $(date +%s)"; sleep 0.2; done' 2>/tmp/vj.err)
	RC=$?
	cat /tmp/vj.err >>"$LOG"
	expect "run --detach returns 0 once the sandbox runs, printing its id" \
		test "$RC:$OUT" = "0:e2e-life"
	{
		ls -la /run/vmjail/e2e-life
		cat /run/vmjail/e2e-life/status
		$VJ_CTL ps
		ps | grep '[v]mjail'
	} >>"$LOG" 2>&1
	cpu1=$(stat_of cpu_usec 2>>"$LOG")
	mem1=$(stat_of memory_bytes 2>>"$LOG")
	vmjail --host-config /e2e/host.yaml events e2e-life >/tmp/life.events 2>&1 &
	events=$!
	vmjail --host-config /e2e/host.yaml logs e2e-life --follow >/tmp/life.follow 2>&1 &
	follow=$!
	expect "the workload runs and logs its ticks" wait_ticks 5
	$VJ_CTL ps >/tmp/life.ps 2>&1
	cat /tmp/life.ps >>"$LOG"
	ls -la /run/vmjail/e2e-life >>"$LOG" 2>&1
	expect "ps lists it running" grep -Eq "^e2e-life +running " /tmp/life.ps
	$VJ_CTL inspect e2e-life >/tmp/life.inspect 2>&1
	expect "inspect gives its configuration and live state" \
		grep -q '"config":.*"state":"running"\|"state":"running".*"config":' /tmp/life.inspect
	cpu2=$(stat_of cpu_usec)
	mem2=$(stat_of memory_bytes)
	echo "stats: cpu_usec $cpu1 -> $cpu2, memory_bytes $mem1 -> $mem2" >>"$LOG"
	expect "stats: its CPU time moves" test "${cpu2:-0}" -gt "${cpu1:-0}"
	expect "stats: its memory grows by the 32 MiB its workload wrote" \
		test "${mem2:-0}" -gt $((${mem1:-0} + 16 * 1024 * 1024))
	expect "logs --follow passes the ticks on as they come" grep -q '^tick 5 ' /tmp/life.follow

	# Another uid may not manage it.
	[ -e /etc/passwd ] || printf '%s\n' 'root:x:0:0:root:/:/bin/sh' \
		'nobody:x:65534:65534:nobody:/:/bin/sh' >/etc/passwd
	[ -e /etc/group ] || printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >/etc/group
	su -s /bin/sh nobody -c "$VJ_CTL pause e2e-life" >>"$LOG" 2>&1
	expect "a client of another uid is refused" test $? != 0
	expect "... and the sandbox runs on" wait_ticks $(($(ticks) + 2))

	$VJ_CTL pause e2e-life >>"$LOG" 2>&1
	expect "pause succeeds" test $? = 0
	sleep 0.5
	held=$(ticks)
	sleep 3
	expect "while paused, the workload's output stops (held at $held ticks)" test "$(ticks)" = "$held"
	$VJ_CTL ps >/tmp/life.ps 2>&1
	expect "ps shows it paused" grep -Eq "^e2e-life +paused " /tmp/life.ps
	$VJ_CTL resume e2e-life >>"$LOG" 2>&1
	expect "resume succeeds" test $? = 0
	expect "after resume the output goes on" wait_ticks $((held + 3))
	expect "after a 3 s pause the guest's wall clock is right within a second" clock_right

	$VJ_CTL stop e2e-life --timeout 30s >>"$LOG" 2>&1
	expect "stop succeeds" test $? = 0
	wait_status e2e-life
	expect "the workload ends on the SIGTERM stop had the agent send: 143 in wait" \
		vj_status_is 143 "128+SIGTERM"
	# Both followers end with the sandbox.
	timeout 30 sh -c "while kill -0 $follow 2>/dev/null || kill -0 $events 2>/dev/null; do sleep 0.1; done"
	expect "logs --follow and events end with the sandbox" not kill -0 $follow $events
	kill $follow $events 2>/dev/null
	cat /tmp/life.events >>"$LOG"
	expect "events: paused, resumed, stopping (through the agent), exited 143, cleanup-done, in order" \
		sh -c "grep -o '\"event\":\"[a-z-]*\"\\|\"how\":\"[a-z-]*\"\\|\"status\":[0-9]*' /tmp/life.events |
			tr -d '\"' | tr '\\n' ' ' | grep -q 'event:paused event:resumed event:stopping how:agent event:exited status:143 event:cleanup-done'"
	$VJ_CTL rm e2e-life >>"$LOG" 2>&1
	expect "rm succeeds" test $? = 0
	expect "nothing of it is left" gone e2e-life

	# kill: a signal to the workload, through the agent.
	OUT=$($VJ_RUN --timeout 10m --detach --id e2e-kill -- sh -c 'echo started; exec sleep 1000' 2>>"$LOG")
	expect "a second sandbox starts" test "$OUT" = e2e-kill
	local i=0
	while [ $i -lt 600 ] && ! $VJ_CTL logs e2e-kill 2>/dev/null | grep -q started; do
		sleep 0.1
		i=$((i + 1))
	done
	$VJ_CTL kill e2e-kill KILL >>"$LOG" 2>&1
	expect "kill succeeds" test $? = 0
	wait_status e2e-kill
	expect "the killed workload's status is 137 in wait" vj_status_is 137 "128+SIGKILL"
	$VJ_CTL rm e2e-kill >>"$LOG" 2>&1
	expect "nothing of the killed sandbox is left" gone e2e-kill

	# A guest kernel panic, seen as an event (no agent: the e2e guest's
	# panic mode).
	OUT=$($VJ_CTL run --kernel "$GUEST_KERNEL" --initrd "$GUEST_INITRD" --memory 128M \
		--cmdline "$GUEST_CMDLINE e2e_mode=panic" --console none --detach --id e2e-panic \
		$VJ_VMM 2>>"$LOG")
	expect "a sandbox whose guest will panic starts" test "$OUT" = e2e-panic
	timeout -k 5 120 $VJ_CTL events e2e-panic >/tmp/panic.events 2>&1
	cat /tmp/panic.events >>"$LOG"
	expect "events: guest-panicked, then exited" \
		sh -c "grep -o '\"event\":\"[a-z-]*\"' /tmp/panic.events | tr -d '\"' | tr '\\n' ' ' |
			grep -q 'event:guest-panicked event:exited'"
	wait_status e2e-panic
	expect "wait gives the VMM's guest-panic status, 7" vj_status_is 7 "guest panic"
	$VJ_CTL rm e2e-panic >>"$LOG" 2>&1
	expect "nothing of the panicked sandbox is left" gone e2e-panic
	expect "no run directory is left" run_dir_empty
}

# --- vmjail exec: a second process beside the workload ------------------

# xrun OUT ERR ARGS...: `vmjail exec ARGS...`, its status in RC.
xrun() {
	local out=$1 err=$2
	shift 2
	$VJ_CTL exec "$@" >"$out" 2>"$err"
	RC=$?
	{
		echo "@@ vmjail exec $*: status $RC"
		cat "$out" "$err"
	} >>"$LOG"
}

# wait_file FILE TEXT: FILE has a line TEXT within 30 s. One look decides
# each turn: a second look after the loop could see the file changed
# (truncated by the writer's redirection) and report a wait that never
# happened. FILE must not hold a line TEXT from an earlier writer: the
# caller removes it before starting the one it waits for.
wait_file() {
	local i=0 t0 t1
	read -r t0 _ </proc/uptime
	while [ $i -lt 300 ]; do
		grep -qx "$2" "$1" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	read -r t1 _ </proc/uptime
	t1=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
	WHY="$1 has no line \"$2\" after $t1 s: $(head -c 200 "$1" 2>/dev/null)"
	return 1
}

# A detached workload, and processes run beside it with `vmjail exec`:
# status and streams, stdin, two at once, the workload's files, a signal
# to `vmjail exec` passed on (a second one kills), a paused sandbox and
# another uid refused,
# an exec that the workload's end ends, and an exec after the sandbox
# ended refused. Nothing is left.
scenario_exec() {
	local OUT RC pid p1 p2
	OUT=$($VJ_RUN --timeout 10m --detach --id e2e-exec -- sh -c '
		echo from-the-workload >/tmp/workload.file; echo ready; exec sleep 1000' 2>>"$LOG")
	expect "a detached workload runs" test "$OUT" = e2e-exec
	$VJ_CTL logs e2e-exec >/tmp/exec.logs 2>&1
	local i=0
	while [ $i -lt 600 ] && ! grep -q ready /tmp/exec.logs; do
		sleep 0.1
		i=$((i + 1))
		$VJ_CTL logs e2e-exec >/tmp/exec.logs 2>&1
	done

	xrun /tmp/x.out /tmp/x.err e2e-exec -- sh -c 'echo hi; echo oops >&2; exit 3'
	expect "exec: the process's stdout is vmjail's stdout" file_is /tmp/x.out hi
	expect "exec: its stderr is vmjail's stderr" file_is /tmp/x.err oops
	expect "exec: vmjail exits with its status" vj_status_is 3 "exit 3"

	echo x | {
		xrun /tmp/x.out /tmp/x.err e2e-exec -- cat
		echo "$RC" >/tmp/x.rc
	}
	RC=$(cat /tmp/x.rc)
	expect "exec: stdin is forwarded" file_is /tmp/x.out x
	expect "exec: cat's status" vj_status_is 0 "cat succeeded"

	xrun /tmp/x.out /tmp/x.err e2e-exec -- cat /tmp/workload.file
	expect "exec: the process sees the workload's files" file_is /tmp/x.out from-the-workload

	xrun /tmp/x.out /tmp/x.err e2e-exec --env A=1 --cwd /tmp --user 65534:65534 -- \
		sh -c 'echo "$A $(pwd) $(id -u)"'
	expect "exec: --env, --cwd and --user" file_is /tmp/x.out "1 /tmp 65534"

	# Each waits for the other's file: both end only if they run at once.
	$VJ_CTL exec e2e-exec -- sh -c 'touch /tmp/both.1; n=0
		while [ ! -e /tmp/both.2 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
		ls /tmp/both.* | wc -l' >/tmp/c1.out 2>>"$LOG" &
	p1=$!
	$VJ_CTL exec e2e-exec -- sh -c 'touch /tmp/both.2; n=0
		while [ ! -e /tmp/both.1 ] && [ $n -lt 300 ]; do sleep 0.1; n=$((n+1)); done
		ls /tmp/both.* | wc -l' >/tmp/c2.out 2>>"$LOG" &
	p2=$!
	wait $p1
	RC=$?
	wait $p2
	expect "exec: two at once, each with its own output and status" \
		test "$RC:$?:$(cat /tmp/c1.out):$(cat /tmp/c2.out)" = "0:0:2:2"

	# Each background exec writes a file of its own, removed first: its
	# redirection truncates it only once its shell runs, and till then a
	# wait would find the line an earlier exec wrote there.
	rm -f /tmp/k7.out
	$VJ_CTL exec e2e-exec -- sh -c 'trap "echo got-term; exit 7" TERM; echo up
		while :; do sleep 0.1; done' >/tmp/k7.out 2>>"$LOG" &
	pid=$!
	expect "exec: a long process runs" wait_file /tmp/k7.out up
	kill -TERM $pid
	wait $pid
	RC=$?
	cat /tmp/k7.out >>"$LOG"
	expect "exec: SIGTERM to vmjail exec reaches the process" file_is /tmp/k7.out "up
got-term"
	expect "exec: ... and vmjail exec exits with its status" vj_status_is 7 "the trap's exit 7"

	rm -f /tmp/k8.out
	$VJ_CTL exec e2e-exec -- sh -c 'trap "" TERM INT; echo up
		while :; do sleep 0.1; done' >/tmp/k8.out 2>>"$LOG" &
	pid=$!
	expect "exec: a process that ignores SIGTERM runs" wait_file /tmp/k8.out up
	kill -TERM $pid
	sleep 1
	kill -TERM $pid
	wait $pid
	RC=$?
	expect "exec: a second SIGTERM to vmjail exec kills it: 137" vj_status_is 137 "SIGKILL"

	$VJ_CTL pause e2e-exec >>"$LOG" 2>&1
	xrun /tmp/x.out /tmp/x.err e2e-exec -- true
	expect "exec: a paused sandbox refuses it, in one line" \
		sh -c "test $RC = 125 && test \$(wc -l </tmp/x.err) = 1 && grep -q 'is paused' /tmp/x.err"
	$VJ_CTL resume e2e-exec >>"$LOG" 2>&1

	[ -e /etc/passwd ] || printf '%s\n' 'root:x:0:0:root:/:/bin/sh' \
		'nobody:x:65534:65534:nobody:/:/bin/sh' >/etc/passwd
	[ -e /etc/group ] || printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >/etc/group
	su -s /bin/sh nobody -c "$VJ_CTL exec e2e-exec -- true" >/tmp/x.out 2>/tmp/x.err
	RC=$?
	cat /tmp/x.err >>"$LOG"
	expect "exec: another uid is refused, in one line" \
		sh -c "test $RC = 125 && test \$(wc -l </tmp/x.err) = 1"

	# The workload's end ends every process of the guest, execs too.
	rm -f /tmp/k9.out /tmp/k9.err
	$VJ_CTL exec e2e-exec -- sh -c 'echo up; exec sleep 1000' >/tmp/k9.out 2>/tmp/k9.err &
	pid=$!
	expect "exec: a long process runs" wait_file /tmp/k9.out up
	$VJ_CTL kill e2e-exec KILL >>"$LOG" 2>&1
	wait $pid
	RC=$?
	cat /tmp/k9.err >>"$LOG"
	expect "exec: the workload's end ends it: 137 and one line" \
		sh -c "test $RC = 137 && test \$(wc -l </tmp/k9.err) = 1 && grep -q ended /tmp/k9.err"
	wait_status e2e-exec
	expect "the workload's status is 137 in wait" vj_status_is 137 "128+SIGKILL"
	xrun /tmp/x.out /tmp/x.err e2e-exec -- true
	expect "exec: after the sandbox ended it is refused, in one line" \
		sh -c "test $RC = 125 && test \$(wc -l </tmp/x.err) = 1"
	$VJ_CTL rm e2e-exec >>"$LOG" 2>&1
	expect "nothing of it is left" gone e2e-exec
}

scenario_agent_20_runs() {
	local i=0 ok=0 start end
	read -r start _ </proc/uptime
	while [ $i -lt 20 ]; do
		vj_run -- true
		[ "$RC" = 0 ] && ok=$((ok + 1))
		i=$((i + 1))
	done
	read -r end _ </proc/uptime
	expect "20 runs in a row all exit 0" test $ok = 20
	figure "vmjail run -- true, launch to exit, mean of 20:" \
		"$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.2f", (b - a) / 20 }') s" \
		"(test-host uptime clock, nested emulation)"
	expect "no VMM is left" no_vmm_left
	expect "no run directory is left" run_dir_empty
}

# ---- snapshot and clones (issue 14) -----------------------------------
VJ_HOST="vmjail --host-config /e2e/host.yaml"
SNAPS=/run/vmjail-snapshots

# until_log ID TEXT: waits (120 s at most) for a detached sandbox's
# workload to print TEXT.
until_log() {
	local i=0
	while [ $i -lt 240 ]; do
		grep -q "$2" "/run/vmjail/$1/stdout.log" 2>/dev/null && return 0
		sleep 0.5
		i=$((i + 1))
	done
	WHY="sandbox $1 never printed \"$2\""
	return 1
}

# distinct FILE...: the first line of each FILE differs from every other's.
distinct() {
	local n
	n=$(for f in "$@"; do head -n 1 "$f"; done | sort -u | grep -c .)
	[ "$n" = $# ] && return 0
	WHY="$n distinct values among $#: $(for f in "$@"; do head -n 1 "$f"; done | tr '\n' ' ')"
	return 1
}

# clock_within LOW HIGH FILE: FILE's number lies in LOW-2..HIGH+2.
clock_within() {
	local t
	t=$(cat "$3")
	[ -n "$t" ] && [ "$t" -ge $(($1 - 2)) ] && [ "$t" -le $(($2 + 2)) ] && return 0
	WHY="guest clock \"$t\", host clock from $1 to $2"
	return 1
}

# A detached sandbox prepares state (a file in its tmpfs, a background
# process) and waits; `vmjail snapshot` saves it while it keeps running;
# three clones resume it at once, each with its own command: each finds
# the file and the background process, draws its own random numbers, has
# the host's wall clock and exits with its own status. A corrupted
# snapshot is refused; nothing is left behind.
# The source must outlive every check, which its policy's 60 s timeout
# does not on a loaded build host (seen: the three clones alone took 40 s
# of it, and the source had ended before the second snapshot): it gets a
# --timeout of its own.
scenario_snapshot_clones() {
	local i t0 t1 rc pids=""
	mkdir -p -m 700 $SNAPS
	timeout -k 5 120 $VJ_HOST run /e2e/linux.yaml $VJ_VMM --id snapsrc --detach \
		--timeout 15m -- sh -c \
		'echo prepared >/tmp/state; sleep 100000 & echo ready; wait' \
		>/tmp/vj.out 2>/tmp/vj.err
	RC=$?
	cat /tmp/vj.out /tmp/vj.err >>"$LOG"
	expect "the source sandbox runs, detached" vj_status_is 0 "run --detach"
	[ "$RC" = 0 ] || return
	expect "its workload prepared its state" until_log snapsrc ready
	$VJ_HOST snapshot snapsrc --to $SNAPS/s1 >/tmp/vj.out 2>/tmp/vj.err
	RC=$?
	cat /tmp/vj.out /tmp/vj.err >>"$LOG"
	expect "vmjail snapshot succeeds" vj_status_is 0 "snapshot"
	if [ "$RC" != 0 ]; then
		$VJ_HOST kill snapsrc --vm >>"$LOG" 2>&1
		return
	fi
	expect "the snapshot directory is root's alone (0700)" \
		test "$(stat -c %a:%u $SNAPS/s1)" = 700:0
	for f in state memory snapshot.json; do
		expect "its $f is 0600" test "$(stat -c %a:%u $SNAPS/s1/$f)" = 600:0
	done
	expect "no temporary directory is left beside it" test "$(ls -A $SNAPS)" = s1
	expect "the source keeps running after the snapshot" \
		sh -c "$VJ_HOST inspect snapsrc | grep -q '\"state\":\"running\"'"
	# A clock that was not set would still say the snapshot's time.
	sleep 3
	t0=$(date +%s)
	for i in 1 2 3; do
		timeout -k 5 300 $VJ_HOST run /e2e/linux.yaml $VJ_VMM --from-snapshot $SNAPS/s1 \
			--id clone$i -- sh -c 'cat /tmp/state
				ps | grep -q "[s]leep 100000" && echo background-alive
				cat /proc/sys/kernel/random/uuid >/tmp/uuid
				head -c 16 /dev/urandom | od -An -tx1 | tr -d " \n" >/tmp/bytes
				date +%s >/tmp/clock
				cat /tmp/uuid /tmp/bytes; echo; cat /tmp/clock
				exit $1' sh $((10 + i)) >/tmp/clone$i.out 2>/tmp/clone$i.err &
		pids="$pids $!"
	done
	i=0
	for p in $pids; do
		i=$((i + 1))
		wait "$p"
		echo $? >/tmp/clone$i.rc
	done
	t1=$(date +%s)
	for i in 1 2 3; do
		{ echo "@@ clone$i (status $(cat /tmp/clone$i.rc)):"; cat /tmp/clone$i.out /tmp/clone$i.err; } >>"$LOG"
		expect "clone $i exits with its own status" test "$(cat /tmp/clone$i.rc)" = $((10 + i))
		expect "clone $i sees the file the source wrote" \
			sh -c "head -n 1 /tmp/clone$i.out | grep -qx prepared"
		expect "clone $i sees the source's background process" \
			grep -qx background-alive /tmp/clone$i.out
		sed -n 3p /tmp/clone$i.out >/tmp/clone$i.uuid
		sed -n 4p /tmp/clone$i.out >/tmp/clone$i.bytes
		sed -n 5p /tmp/clone$i.out >/tmp/clone$i.clock
		expect "clone $i has the host's wall clock (within 2 s)" clock_within $t0 $t1 /tmp/clone$i.clock
	done
	expect "the clones' /proc/sys/kernel/random/uuid all differ" \
		distinct /tmp/clone1.uuid /tmp/clone2.uuid /tmp/clone3.uuid
	expect "the clones' /dev/urandom bytes all differ" \
		distinct /tmp/clone1.bytes /tmp/clone2.bytes /tmp/clone3.bytes
	expect "the source still runs after its clones" \
		sh -c "$VJ_HOST inspect snapsrc | grep -q '\"state\":\"running\"'"
	# A corrupted state file: one line naming it, and no sandbox.
	cp -a $SNAPS/s1 $SNAPS/bad
	printf 'XXXX' | dd of=$SNAPS/bad/state bs=1 seek=200 conv=notrunc 2>/dev/null
	vj_run --from-snapshot $SNAPS/bad --id badclone -- true
	expect "a corrupted snapshot is refused (125)" vj_status_is 125 "refused"
	expect "... with one line naming its state file" \
		sh -c "test \$(wc -l </tmp/vj.err) = 1 && grep -q '$SNAPS/bad/state' /tmp/vj.err"
	# Refused before the guest is touched: it runs on.
	$VJ_HOST snapshot snapsrc --to $SNAPS/s1 >/tmp/vj.out 2>/tmp/vj.err
	RC=$?
	cat /tmp/vj.err >>"$LOG"
	expect "a snapshot over an existing one is refused in one line" \
		sh -c "test $RC != 0 && test \$(wc -l </tmp/vj.err) = 1 && grep -q 'exists already' /tmp/vj.err"
	$VJ_HOST snapshot snapsrc --to /tmp/s-outside >/tmp/vj.out 2>/tmp/vj.err
	RC=$?
	cat /tmp/vj.err >>"$LOG"
	expect "a snapshot outside roots.snapshots is refused" \
		sh -c "test $RC != 0 && grep -q 'outside the snapshot roots' /tmp/vj.err && ! test -e /tmp/s-outside"
	expect "... and the source runs on" \
		sh -c "$VJ_HOST inspect snapsrc | grep -q '\"state\":\"running\"'"
	# --stop: the source ends once its snapshot is whole.
	$VJ_HOST snapshot snapsrc --to $SNAPS/s2 --stop >>"$LOG" 2>&1
	RC=$?
	expect "snapshot --stop succeeds" vj_status_is 0 "snapshot --stop"
	timeout 120 $VJ_HOST wait snapsrc >>"$LOG" 2>&1
	expect "... and the source sandbox has ended" \
		sh -c "$VJ_HOST ps | grep snapsrc | grep -q exited"
	expect "... its snapshot is complete" test -s $SNAPS/s2/snapshot.json
	$VJ_HOST rm snapsrc >>"$LOG" 2>&1
	rm -rf $SNAPS/s1 $SNAPS/s2 $SNAPS/bad
	expect "no VMM is left" no_vmm_left
	expect "the run directory is empty" run_dir_empty
}

# snapnet_policy NAME [MAC]: /e2e/NAME.yaml, linux.yaml with one network
# interface (a tap the launcher makes in the sandbox's namespace), with
# MAC if given.
snapnet_policy() {
	awk -v mac="${2:-}" '{ print }
		/^  console: none$/ { print "  net:"; print "    - tap: vjsnap0"
			if (mac != "") print "      mac: \"" mac "\"" }' /e2e/linux.yaml >"/e2e/$1.yaml"
}

# A clone is a new machine down to its MAC: a snapshot of a guest with a
# network interface, then clones whose policy names another MAC (eth0
# has it), none (eth0 keeps the snapshot's), or no interface (refused).
scenario_snapshot_clone_mac() {
	local i
	[ -d /sys/module/tun ] || insmod /lib/modules/tun.ko
	mkdir -p -m 700 $SNAPS
	snapnet_policy snapnet-src 02:00:00:00:00:a0
	snapnet_policy snapnet-c1 02:00:00:00:00:a1
	snapnet_policy snapnet-c2 02:00:00:00:00:a2
	snapnet_policy snapnet-none
	timeout -k 5 120 $VJ_HOST run /e2e/snapnet-src.yaml $VJ_VMM --id macsrc --detach -- sh -c \
		'echo "mac $(cat /sys/class/net/eth0/address)"; sleep 100000 & echo ready; wait' \
		>/tmp/vj.out 2>/tmp/vj.err
	RC=$?
	cat /tmp/vj.out /tmp/vj.err >>"$LOG"
	expect "the source sandbox with a network interface runs, detached" vj_status_is 0 "run"
	[ "$RC" = 0 ] || return
	expect "its eth0 has the source's MAC" until_log macsrc "mac 02:00:00:00:00:a0"
	expect "it is ready" until_log macsrc ready
	$VJ_HOST snapshot macsrc --to $SNAPS/net --stop >>"$LOG" 2>&1
	RC=$?
	expect "vmjail snapshot --stop succeeds" vj_status_is 0 "snapshot"
	timeout 120 $VJ_HOST wait macsrc >>"$LOG" 2>&1
	$VJ_HOST rm macsrc >>"$LOG" 2>&1
	[ "$RC" = 0 ] || return
	for i in c1 c2; do
		vj_run_policy snapnet-$i.yaml --from-snapshot $SNAPS/net --id mac$i -- \
			sh -c 'echo "mac $(cat /sys/class/net/eth0/address)"'
		expect "clone $i runs" vj_status_is 0 "clone"
		expect "clone $i's eth0 has its own policy's MAC" out_has "^mac 02:00:00:00:00:a${i#c}$"
	done
	vj_run_policy snapnet-none.yaml --from-snapshot $SNAPS/net --id macnone -- \
		sh -c 'echo "mac $(cat /sys/class/net/eth0/address)"'
	expect "a clone naming no MAC runs" vj_status_is 0 "clone"
	expect "... and keeps the snapshot's (shared with its siblings)" \
		out_has "^mac 02:00:00:00:00:a0$"
	vj_run --from-snapshot $SNAPS/net --id macnonet -- true
	expect "a clone without the network interface is refused (125)" vj_status_is 125 "refused"
	expect "... in one line naming the mismatched device" \
		sh -c "test \$(wc -l </tmp/vj.err) = 1 && grep -q 'the snapshot $SNAPS/net a net device' /tmp/vj.err"
	rm -rf $SNAPS/net /e2e/snapnet-*.yaml
	expect "no VMM is left" no_vmm_left
	expect "the run directory is empty" run_dir_empty
}

# ---- container images (vmjail run --image) -----------------------------
# The archives are make-image.sh's, built with the test host
# (tests/e2e/build.mk, e2e-images): busybox, no download.
IMAGE_CACHE=/var/cache/vmjail/images

# vj_image IMAGE [OPTIONS] [-- ARGV]: vj_run_policy image.yaml --image.
vj_image() {
	local img=$1
	shift
	vj_run_policy image.yaml --image "/e2e/images/$img" "$@"
}

# cache_entries: the names in the image cache, one per line.
cache_entries() { ls -A "$IMAGE_CACHE" 2>/dev/null | sort; }

scenario_image_oci() {
	vj_image vmjail-test.oci.tar -v
	expect "the image's Cmd runs and prints" file_is /tmp/vj.out "hello from the image"
	expect "and its status is vmjail's" vj_status_is 0 "echo succeeded"
	expect "the first run converts the image" grep -q "converted$" /tmp/vj.err
	local img ino1 ino2
	img=$(ls "$IMAGE_CACHE"/*.erofs 2>/dev/null | head -1)
	ino1=$(stat -c %i "$img" 2>/dev/null)
	vj_image vmjail-test.oci.tar -v
	ino2=$(stat -c %i "$img" 2>/dev/null)
	expect "the second run prints the same" file_is /tmp/vj.out "hello from the image"
	expect "and converts nothing" grep -q "cached, nothing converted$" /tmp/vj.err
	expect "the cached root image is the same file" test -n "$ino1" -a "$ino1" = "$ino2"
	vj_image vmjail-test.oci.tar -- sh -c 'echo replaced; exit 5'
	expect "argv after -- replaces Cmd" file_is /tmp/vj.out replaced
	expect "and its status comes back" vj_status_is 5 "exit 5"
}

scenario_image_docker() {
	vj_image vmjail-docker.docker.tar
	expect "a docker save archive runs its Cmd" file_is /tmp/vj.out "hello from docker"
	expect "with its status" vj_status_is 7 "exit 7"
}

scenario_image_config() {
	vj_image vmjail-config.oci.tar
	expect "Entrypoint + Cmd, Env, WorkingDir and User (a name from the image's /etc/passwd)" \
		file_is /tmp/vj.out "hi from /home/app as 1000:1000"
	vj_image vmjail-config.oci.tar -- 'echo args after the entrypoint'
	expect "argv after -- follows the Entrypoint" file_is /tmp/vj.out \
		"args after the entrypoint"
	vj_image vmjail-workdir.oci.tar
	expect "a WorkingDir the image lacks is made" file_is /tmp/vj.out /made/by/the/agent
}

scenario_image_overlay() {
	vj_image vmjail-test.oci.tar -- sh -c '
		echo written >/etc/new && cat /etc/new
		[ "$(cat /sys/block/vda/ro)" = 1 ] && echo lower-ro
		grep -q "^overlay / overlay" /proc/mounts && echo overlay
		cat /layers/2 /layers/3
		[ -e /etc/motd ] || echo motd-whited-out
		ls /opt/old'
	expect "the root is writable through the overlay, read-only underneath, layers applied with whiteouts and opaque dirs" \
		file_is /tmp/vj.out "written
lower-ro
overlay
layer 2
layer 3
motd-whited-out
new"
}

scenario_image_hostile() {
	local k before after
	before=$(cache_entries)
	for k in dotdot absolute symlink device; do
		vj_image hostile-$k.oci.tar
		expect "a hostile image ($k) is refused" vj_status_is 125 "launcher failure"
		expect "with one line" test "$(grep -c . /tmp/vj.err)" = 1
	done
	vj_image hostile-digest.docker.tar
	expect "a layer whose bytes do not match its digest is refused" vj_status_is 125 "launcher failure"
	expect "saying so" grep -q "diff_id" /tmp/vj.err
	after=$(cache_entries)
	expect "nothing is left in the cache" test "$before" = "$after"
}

# ---- vmjail-runc under containerd (jailer/OCI.md) ----------------------

# Debian's containerd with a minimal configuration of its own (state
# under /tmp/ctrd), the stock runc v2 shim pointed at vmjail-runc with
# --runc-binary, and the native snapshotter (a plain directory as the
# bundle's rootfs, no overlay mount on the test host).
CTRD=/tmp/ctrd
CTR="ctr --address $CTRD/containerd.sock --namespace vj"
RUNC_ROOT=/run/vmjail-runc
# The shim gives vmjail-runc --root <runc root>/<namespace>.
RUNC_STATE=$RUNC_ROOT/vj
CTR_RUN="$CTR run --snapshotter native --runc-binary /usr/bin/vmjail-runc --runc-root $RUNC_ROOT"

ctrd_start() {
	mkdir -p $CTRD /etc/vmjail
	# vmjail-runc runs the vmjail-vmm beside it; a sanitizer build's is
	# not static, so the jail needs the static one (tests/e2e/build.mk):
	# copies of both side by side (/proc/self/exe names the copy, where
	# it would name a link's target).
	if [ -x /usr/bin/vmjail-vmm-static ]; then
		mkdir -p $CTRD/bin
		cp /usr/bin/vmjail $CTRD/bin/vmjail-runc
		cp /usr/bin/vmjail-vmm-static $CTRD/bin/vmjail-vmm
		CTR_RUN=${CTR_RUN/\/usr\/bin\/vmjail-runc/$CTRD/bin/vmjail-runc}
	fi
	# The shim's runc calls read the host file from here (containerd's
	# environment carries VMJAIL_HOST_CONFIG as well).
	ln -sf /e2e/host.yaml /etc/vmjail/host.yaml
	cat >$CTRD/config.toml <<-EOF
	version = 2
	root = "$CTRD/root"
	state = "$CTRD/state"
	disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.aufs",
	  "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper",
	  "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.overlayfs"]
	[grpc]
	  address = "$CTRD/containerd.sock"
	EOF
	VMJAIL_HOST_CONFIG=/e2e/host.yaml containerd --config $CTRD/config.toml \
		>$CTRD/containerd.log 2>&1 &
	CTRD_PID=$!
	local i=0
	while [ $i -lt 600 ] && ! $CTR version >/dev/null 2>&1; do
		sleep 0.1
		i=$((i + 1))
	done
	$CTR version >/dev/null 2>&1 && return 0
	WHY="containerd did not answer within 60 s: $(tail -n 5 $CTRD/containerd.log)"
	return 1
}

ctrd_stop() {
	kill "$CTRD_PID" 2>/dev/null
	wait "$CTRD_PID" 2>/dev/null
	{
		echo "@@ containerd's log (last lines):"
		tail -n 40 $CTRD/containerd.log
	} >>"$LOG"
}

# ctr_run ARGS...: ctr run ... with the scenario's timeout; stdout to
# /tmp/ctr.out, stderr to /tmp/ctr.err, the status in RC, all in the log.
ctr_run() {
	timeout -k 5 300 $CTR_RUN "$@" >/tmp/ctr.out 2>/tmp/ctr.err </dev/null
	RC=$?
	{
		echo "@@ ctr run $*"
		cat /tmp/ctr.out
		echo "@@ stderr:"
		cat /tmp/ctr.err
		echo "@@ exit status $RC"
	} >>"$LOG"
}

ctr_out_is() {
	file_is /tmp/ctr.out "$1" && return 0
	WHY="$WHY; ctr's stderr: $(head -c 300 /tmp/ctr.err)"
	return 1
}

ctr_err_has() {
	grep -q -- "$1" /tmp/ctr.err && return 0
	WHY="ctr's stderr lacks \"$1\": $(head -c 400 /tmp/ctr.err)"
	return 1
}

# task_status ID: the task's status in `ctr task ls` (RUNNING, PAUSED, ...).
task_status() { $CTR task ls 2>/dev/null | awk -v id="$1" '$1 == id { print $3 }'; }

task_is() {
	local i=0
	while [ $i -lt 150 ]; do
		[ "$(task_status "$1")" = "$2" ] && return 0
		sleep 0.2
		i=$((i + 1))
	done
	WHY="task $1 is \"$(task_status "$1")\", expected $2"
	return 1
}

# Nothing of container ID left: no sandbox (run directory, cgroup, VMM),
# no runc state directory, no launcher.
container_gone() {
	gone "$1" || return 1
	if [ ! -d "$RUNC_STATE" ]; then
		WHY="$RUNC_STATE, vmjail-runc's state directory, does not exist"
		return 1
	fi
	if [ -e "$RUNC_STATE/$1" ]; then
		WHY="$RUNC_STATE/$1 is left: $(ls -A "$RUNC_STATE/$1" | tr '\n' ' ')"
		return 1
	fi
	# A bundle's root image is the container's alone (.rootfs.*), unlike
	# the cached images of `vmjail run --image`.
	if ls -A /var/cache/vmjail/images 2>/dev/null | grep -q '^\.rootfs\.'; then
		WHY="a root image is left: $(ls -A /var/cache/vmjail/images | tr '\n' ' ')"
		return 1
	fi
	return 0
}

# The launchers of vmjail-runc containers are named after the program.
no_launcher_left() {
	local p
	for p in /proc/[0-9]*; do
		if [ "$(cat "$p/comm" 2>/dev/null)" = vmjail-runc ]; then
			WHY="$p is a vmjail-runc"
			return 1
		fi
	done
	return 0
}

scenario_oci_containerd() {
	local IMG RC total cgmax cpumax
	expect "containerd starts" ctrd_start
	$CTR version >/dev/null 2>&1 || { ctrd_stop; return; }
	$CTR image import --snapshotter native /e2e/images/vmjail-test.oci.tar >>"$LOG" 2>&1
	IMG=$($CTR image ls -q 2>>"$LOG" | head -n 1)
	echo "image: $IMG" >>"$LOG"
	expect "ctr image import takes the test's OCI archive" test -n "$IMG"
	[ -n "$IMG" ] || { ctrd_stop; return; }

	ctr_run --rm "$IMG" oci-run sh -c 'echo "hello from $(hostname)"; id -u; exit 3'
	expect "ctr run prints the command's output from the guest" \
		ctr_out_is "$(printf 'hello from oci-run\n0')"
	expect "... and returns its status" vj_status_is 3 "the command's exit 3"
	expect "nothing of it is left after --rm" container_gone oci-run
	# What follows needs containers that run.
	[ "$RC" = 3 ] || { ctrd_stop; return; }

	ctr_run --rm --memory-limit 201326592 --cpus 1.5 "$IMG" oci-mem sh -c '
		grep MemTotal /proc/meminfo; echo "cpus $(grep -c ^processor /proc/cpuinfo)"
		sleep 20' &
	local bg=$!
	expect "a memory-limited container's VMM runs" wait_vmm oci-mem
	cgmax=$(cat "$CG_DIR/memory.max" 2>/dev/null)
	cpumax=$(cat "$CG_DIR/cpu.max" 2>/dev/null)
	echo "memory.max of $CG_DIR: $cgmax, cpu.max: $cpumax" >>"$LOG"
	expect "--memory-limit 192Mi gives the cgroup 192Mi + 64Mi for the VMM" \
		test "$cgmax" = $(((192 + 64) * 1024 * 1024))
	expect "--cpus 1.5 gives the cgroup cpu.max 150000 100000" test "$cpumax" = "150000 100000"
	wait $bg
	total=$(awk '/MemTotal/ { print $2 }' /tmp/ctr.out)
	expect "... and the guest 192Mi of RAM (MemTotal $total kB: 150..192 MiB)" \
		test "${total:-0}" -gt 153600 -a "${total:-0}" -le 196608
	expect "... and 2 vCPUs (ceil 1.5)" grep -qx "cpus 2" /tmp/ctr.out
	expect "nothing of it is left" container_gone oci-mem

	ctr_run --rm --memory-limit 4294967296 "$IMG" oci-big true
	expect "a limit over the host's maximum is refused" not vj_status_is 0 "refused"
	expect "... with the JSON path and the bound in ctr's error" \
		ctr_err_has "linux.resources.memory.limit: expected at most 1Gi"
	expect "nothing of it is left" container_gone oci-big

	ctr_run --rm --mount type=bind,src=/tmp,dst=/host,options=rbind:ro "$IMG" oci-bind true
	expect "a bind mount of a host directory is refused" not vj_status_is 0 "refused"
	expect "... with a clear line in ctr's error" \
		ctr_err_has "bind mounts of host paths are not supported yet"
	expect "nothing of it is left" container_gone oci-bind

	ctr_run -d "$IMG" oci-life sh -c 'i=0; while :; do i=$((i + 1)); echo $i >/tmp/n; sleep 0.2; done'
	expect "ctr run -d starts a long container" vj_status_is 0 "started"
	expect "... its task runs" task_is oci-life RUNNING
	$CTR task ps oci-life >/tmp/ctr.ps 2>>"$LOG"
	cat /tmp/ctr.ps >>"$LOG"
	expect "ctr task ps lists its launcher" sh -c \
		'p=$(awk "NR == 2 { print \$1 }" /tmp/ctr.ps); [ "$(cat /proc/$p/comm)" = vmjail-runc ]'
	expect "its state is in vmjail-runc's state directory" test -f $RUNC_STATE/oci-life/state.json
	vmjail-runc --root $RUNC_STATE events --stats oci-life >/tmp/ctr.stats 2>>"$LOG"
	cat /tmp/ctr.stats >>"$LOG"
	expect "vmjail-runc events --stats: a runc stats event with the sandbox's memory in use" \
		grep -qE '^\{"type":"stats","id":"oci-life","data":\{"cpu":\{"usage":\{"total":[1-9][0-9]*\}\},"memory":\{"usage":\{"usage":[1-9][0-9]*\}\}\}\}$' /tmp/ctr.stats
	# The workload may not have written its first count yet when the exec
	# starts (the agent has just connected): the exec waits for it.
	timeout -k 5 120 $CTR task exec --exec-id x1 oci-life sh -c '
		i=0
		while [ ! -s /tmp/n ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
		[ -s /tmp/n ] && seen=yes || seen=no
		echo "exec as $(id -u) sees /tmp/n: $seen"
		exit 4' >/tmp/ctr.exec 2>>"$LOG" </dev/null
	RC=$?
	{
		echo "@@ ctr task exec: status $RC"
		cat /tmp/ctr.exec
	} >>"$LOG"
	expect "ctr task exec runs a second command in the same sandbox, beside the workload's files" \
		grep -qx "exec as 0 sees /tmp/n: yes" /tmp/ctr.exec
	expect "... and returns its status" test "$RC" = 4
	$CTR task pause oci-life >>"$LOG" 2>&1
	expect "ctr task pause: the task is PAUSED" task_is oci-life PAUSED
	expect "... and so is the sandbox" sh -c 'grep -q "^paused" /run/vmjail/oci-life/status'
	$CTR task resume oci-life >>"$LOG" 2>&1
	expect "ctr task resume: it runs again" task_is oci-life RUNNING
	expect "... and so does the sandbox" sh -c 'grep -q "^running" /run/vmjail/oci-life/status'
	$CTR task kill -s SIGKILL oci-life >>"$LOG" 2>&1
	expect "ctr task kill: the task stops" task_is oci-life STOPPED
	$CTR task delete oci-life >>"$LOG" 2>&1
	$CTR container delete oci-life >>"$LOG" 2>&1
	expect "after ctr task delete nothing of it is left" container_gone oci-life

	ctr_run -d "$IMG" oci-force sleep 600
	expect "another long container starts" task_is oci-force RUNNING
	$CTR task delete --force oci-force >>"$LOG" 2>&1
	$CTR container delete oci-force >>"$LOG" 2>&1
	expect "ctr task delete --force of a running one leaves nothing" container_gone oci-force

	# A launcher killed outright leaves its root image; the next
	# container's image sweeps it (jailer/image/README.md), and `vmjail
	# cleanup` the rest.
	ctr_run -d "$IMG" oci-crash sleep 600
	expect "a container whose launcher will be killed starts" task_is oci-crash RUNNING
	local crash_img crash_pid
	crash_img=$(ls -A /var/cache/vmjail/images | grep '^\.rootfs\.' | head -n 1)
	crash_pid=$($CTR task ps oci-crash 2>>"$LOG" | awk 'NR == 2 { print $1 }')
	echo "@@ oci-crash: image $crash_img, launcher $crash_pid" >>"$LOG"
	[ -n "$crash_pid" ] && kill -9 "$crash_pid"
	expect "... killed, its task stops" task_is oci-crash STOPPED
	expect "... and its root image is still there" test -n "$crash_img" -a -e "/var/cache/vmjail/images/$crash_img"
	$CTR task delete oci-crash >>"$LOG" 2>&1
	$CTR container delete oci-crash >>"$LOG" 2>&1
	ctr_run --rm "$IMG" oci-after true
	expect "the next container runs" vj_status_is 0 "the next container"
	expect "... and its image swept the killed launcher's" test ! -e "/var/cache/vmjail/images/$crash_img"
	vmjail --host-config /e2e/host.yaml cleanup oci-crash >>"$LOG" 2>&1
	expect "vmjail cleanup removes what else the killed launcher left" container_gone oci-crash
	expect "no container is left in containerd" test -z "$($CTR container ls -q 2>/dev/null)"
	ctrd_stop
	expect "no vmjail-runc launcher is left" no_launcher_left
	expect "the run directory is empty" run_dir_empty
}

#!/bin/bash
# The real guest kernel (rootfs/) through early boot on vmjail-vmm: Linux
# echoes what the loader handed it (command line, e820 map, initrd) before
# it gets to anything a KVM emulating guest ring 0 cannot run (tests/README.md), so its
# own printout checks boot_params as Linux reads it. Each boot is stopped
# once those lines are out.
# needs: root kvm
# builds: kernel initramfs-min
. "$(dirname "$0")/../lib.sh"

KERNEL=$BUILD/guest/vmlinux
INITRD=$BUILD/guest/initramfs-min.cpio
# Give up on a guest that has not printed the lines by then; on this host
# they come within seconds.
TIMEOUT=60

need_root "kernel-early-boot" || exit 0
need_kvm "kernel-early-boot" || exit 0
for f in "$VMM" "$KERNEL" "$INITRD"; do
	if [ ! -e "$f" ]; then
		fail "kernel-early-boot: $f exists" "build it first (make kernel initramfs-min)"
		finish; exit
	fi
done

tmp=$(mktemp -d)
vmm_pid=
cleanup() {
	[ -n "$vmm_pid" ] && kill "$vmm_pid" 2>/dev/null && wait "$vmm_pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT

# expected_e820 MIB: the map vmm/boot/params.c (vj_e820_build) gives a guest
# of MIB MiB, one "START END TYPE" per line: RAM below the EBDA, the EBDA and
# BIOS area reserved, RAM from 1 MiB up to the MMIO gap at 3 GiB
# (vmm/layout.h), and the rest of RAM from 4 GiB.
expected_e820() {
	local bytes=$(($1 << 20)) gap=$((0xc0000000)) low
	low=$((bytes < gap ? bytes : gap))
	printf '%#x %#x %s\n' 0 $((0x9fbff)) usable $((0x9fc00)) $((0xfffff)) reserved \
		$((0x100000)) $((low - 1)) usable
	if [ "$bytes" -gt "$low" ]; then
		printf '%#x %#x %s\n' $((1 << 32)) $(((1 << 32) + bytes - low - 1)) usable
	fi
}

# kernel_e820 FILE: the "BIOS-e820:" lines Linux printed, as "START END TYPE".
kernel_e820() {
	local start end type
	tr -d '\r' <"$1" | sed -nE 's/^(\[ *[0-9.]+\] )?BIOS-e820: \[mem (0x[0-9a-f]+)-(0x[0-9a-f]+)\] (.*)$/\2 \3 \4/p' |
		while read -r start end type; do
			printf '%#x %#x %s\n' "$start" "$end" "$type"
		done
}

# kernel_line FILE PREFIX: the first console line starting with PREFIX,
# printk timestamp (if any) removed.
kernel_line() {
	sed -E 's/^\[ *[0-9.]+\] //' "$1" | grep -m1 -F -- "$2" | tr -d '\r'
}

# boot_early MIB CMDLINE CONSOLE: runs the VMM until the guest has printed
# its initrd placement and hypervisor detection, the VMM exits, or TIMEOUT.
# Sets vmm_rc to the VMM's exit status, or "running" if it was stopped here.
boot_early() {
	local console=$3 i
	timeout -k 5 $((TIMEOUT + 30)) "$VMM" --kernel "$KERNEL" --initrd "$INITRD" \
		--cmdline "$2" --memory "${1}M" --console "$console" \
		>"$tmp/vmm.out" 2>"$tmp/vmm.err" </dev/null &
	vmm_pid=$!
	vmm_rc=running
	for ((i = 0; i < TIMEOUT * 5; i++)); do
		if ! kill -0 "$vmm_pid" 2>/dev/null; then
			wait "$vmm_pid"; vmm_rc=$?
			vmm_pid=
			return
		fi
		if [ -f "$console" ] && grep -q 'RAMDISK: ' "$console" &&
			grep -q 'Hypervisor detected' "$console"; then
			break
		fi
		sleep 0.2
	done
	kill "$vmm_pid" 2>/dev/null
	wait "$vmm_pid" 2>/dev/null
	vmm_pid=
}

# context: what a failure message shows about the last boot.
context() {
	printf 'vmm %s; stderr: %s; console: %s' "$vmm_rc" "$(head -c 600 "$tmp/vmm.err")" \
		"$(tail -c 600 "$console" 2>/dev/null | tr '\n' '|')"
}

# check_boot NAME MIB: one boot of MIB MiB and its assertions.
check_boot() {
	local name=$1 mib=$2 token cmdline got want
	token=vjtoken=$(od -An -N8 -tx8 /dev/urandom | tr -d ' \n')
	cmdline="console=ttyS0 earlyprintk=serial,ttyS0 reboot=k panic=-1 $token vjpad=a,b=c"
	console=$tmp/console-$mib
	boot_early "$mib" "$cmdline" "$console"

	# vmlinux also holds a placeholder banner without the build number.
	want=$(grep -aoE 'Linux version [[:print:]]* #[0-9]+ [[:print:]]*' "$KERNEL" | head -n 1)
	got=$(kernel_line "$console" 'Linux version ')
	expect "$name: the banner is the one built into vmlinux" eval '[ -n "$want" ] && [ "$got" = "$want" ] ||
		{ WHY="got \"$got\", want \"$want\"; $(context)"; false; }'

	got=$(kernel_line "$console" 'Command line: ')
	expect "$name: the command line is echoed exactly" eval '[ "$got" = "Command line: $cmdline" ] ||
		{ WHY="got \"$got\"; $(context)"; false; }'

	want=$(expected_e820 "$mib")
	got=$(kernel_e820 "$console")
	expect "$name: the kernel's e820 map is the VMM's" eval '[ "$got" = "$want" ] ||
		{ WHY="got [$(tr "\n" , <<<"$got")], want [$(tr "\n" , <<<"$want")]; $(context)"; false; }'

	expect "$name: the initrd is where the kernel says, whole, in RAM" \
		ramdisk_ok "$(kernel_line "$console" 'RAMDISK: ')" "$want"

	expect "$name: the guest detects KVM" eval \
		'[ "$(kernel_line "$console" "Hypervisor detected: ")" = "Hypervisor detected: KVM" ] ||
		{ WHY=$(context); false; }'
}

# ramdisk_ok LINE E820: "RAMDISK: [mem A-B]" starts on a page and ends
# where the initrd's size, rounded up to a page as Linux reserves it, ends;
# and it lies inside one usable range of the map.
ramdisk_ok() {
	local line=$1 size start end s e t inside=0
	size=$(stat -c %s "$INITRD")
	if ! [[ $line =~ ^RAMDISK:\ \[mem\ (0x[0-9a-f]+)-(0x[0-9a-f]+)\]$ ]]; then
		WHY="no RAMDISK line (got \"$line\"); $(context)"
		return 1
	fi
	start=$((BASH_REMATCH[1])) end=$((BASH_REMATCH[2]))
	while read -r s e t; do
		[ "$t" = usable ] && [ "$start" -ge $((s)) ] && [ "$end" -le $((e)) ] && inside=1
	done <<<"$2"
	if [ $((start & 0xfff)) -ne 0 ] ||
		[ $((end + 1)) -ne $(((start + size + 0xfff) & ~0xfff)) ]; then
		WHY="$line does not match an initrd of $size bytes"
	elif [ $inside -ne 1 ]; then
		WHY="$line is not inside a usable e820 range"
	else
		return 0
	fi
	return 1
}

check_boot "256 MiB" 256
# Above 3 GiB the RAM is split around the MMIO gap and continues at 4 GiB.
check_boot "4.5 GiB" 4608
finish

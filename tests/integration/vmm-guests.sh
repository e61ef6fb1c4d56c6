#!/bin/bash
# vmjail-vmm against the freestanding test guests (tests/guest/): boot
# paths, devices, SMP, interrupts, exit statuses, and refusal of bad
# kernels and flags. Each behaviour is one PASS/FAIL line.
# needs: kvm
# builds: $(GUEST_DIR)/testguest.elf $(GUEST_DIR)/testguest-pvh.elf
. "$(dirname "$0")/../lib.sh"

PVH_GUEST=$BUILD/tests/guest/testguest-pvh.elf
TIMEOUT=30
# vmm/exit.h
EXIT_RESET=0 EXIT_CONFIG=1 EXIT_TRIPLE_FAULT=3 EXIT_STOPPED=5

need_kvm "vmm-guests" || exit 0
for f in "$VMM" "$GUEST" "$PVH_GUEST"; do
	if [ ! -e "$f" ]; then
		fail "vmm-guests: $f exists" "build it first (make)"
		finish; exit
	fi
done

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# boot KERNEL CMDLINE VCPUS [VMM FLAGS...]: runs one VM, sets OUT/ERR/RC.
boot() {
	local kernel=$1 cmdline=$2 vcpus=$3
	shift 3
	run_capture "$TIMEOUT" "$VMM" --kernel "$kernel" --cmdline "$cmdline" \
		--vcpus "$vcpus" --memory 64M --console stdout "$@"
}

# --- single-CPU scenarios, 64-bit Linux boot protocol ---------------------

boot "$GUEST" "vjtest=hello vjextra=a,b" 1
expect "hello: guest reset ends the VMM with status 0" rc_is $EXIT_RESET
expect "hello: guest reads its command line through boot_params" out_line \
	'vjtest: hello ok boot=linux64 memmap=[1-9][0-9]* cmdline="vjtest=hello vjextra=a,b( .*)?"'

boot "$GUEST" "vjtest=reset" 1
expect "reset: immediate i8042 reset exits 0" rc_is $EXIT_RESET
expect "reset: no console output" eval '[ -z "$OUT" ] || { WHY=$OUT; false; }'

boot "$GUEST" "vjtest=marker" 1 -v
expect "marker: exits 0" rc_is $EXIT_RESET
expect "marker: guest wrote the marker" out_line 'vjtest: marker ok'
expect "marker: VMM logs boot complete" err_has 'boot complete'

boot "$GUEST" "vjtest=hello" 1 -v
expect "hello: no boot-complete log without the marker" \
	eval '! grep -q "boot complete" <<<"$ERR" || { WHY=$ERR; false; }'

boot "$GUEST" "vjtest=first" 1 -v
expect "first: marker written by the first guest instructions" out_line 'vjtest: first ok'
expect "first: VMM logs boot complete" err_has 'boot complete'

boot "$GUEST" "vjtest=triple" 1
expect "triple: guest reached the fault" out_line 'vjtest: triple faulting now'
expect "triple: triple fault exits 3" rc_is $EXIT_TRIPLE_FAULT
expect "triple: register dump with RIP on stderr" err_has 'RIP=[0-9a-fA-F]+'

boot "$GUEST" "vjtest=mmio" 1
expect "mmio: unmapped MMIO does not stop the VM" rc_is $EXIT_RESET
for probe in gap gap-end above-ram; do
	expect "mmio: $probe reads all-ones, writes dropped" out_line "vjtest: mmio $probe ok"
done

boot "$GUEST" "vjtest=pio" 1
expect "pio: unclaimed ports do not stop the VM" rc_is $EXIT_RESET
for probe in unclaimed com2 pci-config top; do
	expect "pio: $probe port reads all-ones at widths 1, 2, 4" out_line "vjtest: pio $probe ok"
done
expect "pio: rep insb from an unclaimed port reads all-ones" out_line 'vjtest: pio string ok'

boot "$GUEST" "vjtest=flood vjloops=2000" 1
expect "flood: 2000 bytes pass under the default console cap" out_line 'vjtest: flood done 2000 bytes'

timeout -k 5 "$TIMEOUT" "$VMM" --kernel "$GUEST" --cmdline "vjtest=flood vjloops=20000" \
	--memory 64M --console stdout --console-limit 4096 >"$tmp/flood" 2>"$tmp/flood.err" </dev/null
RC=$? ERR=$(cat "$tmp/flood.err")
expect "flood: console cap does not stop the VM" rc_is $EXIT_RESET
size=$(stat -c %s "$tmp/flood")
expect "flood: --console-limit 4096 caps 20000 bytes of output" \
	eval '[ "$size" -gt 0 ] && [ "$size" -le 4096 ] || { WHY="$size bytes written"; false; }'
expect "flood: reaching the cap is reported once" \
	eval '[ "$(grep -c "console output limit" <<<"$ERR")" = 1 ] || { WHY="stderr: ${ERR:0:300}"; false; }'

boot "$GUEST" "vjtest=uart" 1
for check in ier scratch loopback-msr loopback-data fifo lsr-idle iir-idle thri divisor; do
	expect "uart: 8250 probe check $check" out_line "vjtest: uart $check ok"
done

# The i8042 as Linux's i8042 and atkbd drivers probe it (vmm-ctl.sh
# presses Ctrl-Alt-Del on the same scenario).
boot "$GUEST" "vjtest=kbd vjkeys=0" 1
for check in self-test interface-test config reset id leds leds-value scan-enable no-aux; do
	expect "kbd: i8042 probe check $check" out_line "vjtest: kbd $check ok"
done
expect "kbd: the probe ends in a reset" rc_is $EXIT_RESET

boot "$GUEST" "vjtest=irq" 1
expect "irq: UART THRE interrupts via IOAPIC drive transmission" out_line \
	'vjtest: irq line sent by THRE interrupts'
expect "irq: every THRE interrupt and LAPIC self-IPI handled" out_line \
	'vjtest: irq ok uart=[0-9]+ ipi=3 spurious=[0-9]+'

boot "$GUEST" "vjtest=ring3-pio vjloops=1000" 1 -v
expect "ring3-pio: exits 0" rc_is $EXIT_RESET
expect "ring3-pio: 1000 port writes from ring 3" out_line 'vjtest: ring3-pio ok 1000 exits'
expect "ring3-pio: marker from ring 3 logged" err_has 'boot complete'

# --- SMP: INIT-SIPI-SIPI for every processor in the MP table --------------

for n in 1 2 4; do
	boot "$GUEST" "vjtest=smp" "$n"
	expect "smp $n vCPUs: MP table lists $n, all reach long mode" out_line \
		"vjtest: smp ok $n cpus ids $(seq -s, 0 $((n - 1)))"
	ups=$(grep -Ec '^vjtest: smp cpu [0-9]+ up$' <<<"$OUT")
	expect "smp $n vCPUs: each AP reports once, lines intact" \
		eval '[ "$ups" = $((n - 1)) ] || { WHY="$ups lines: ${OUT:0:400}"; false; }'
	expect "smp $n vCPUs: exits 0 with APs halted" rc_is $EXIT_RESET
done

# --- PVH entry -------------------------------------------------------------

boot "$PVH_GUEST" "vjtest=hello vjextra=pvh" 1
expect "pvh: exits 0" rc_is $EXIT_RESET
expect "pvh: 32-bit entry, command line and memory map via hvm_start_info" out_line \
	'vjtest: hello ok boot=pvh memmap=[1-9][0-9]* cmdline="vjtest=hello vjextra=pvh( .*)?"'

boot "$PVH_GUEST" "vjtest=smp" 2
expect "pvh: SMP bring-up after a PVH boot" out_line 'vjtest: smp ok 2 cpus ids 0,1'

boot "$PVH_GUEST" "vjtest=first" 1 -v
expect "pvh: marker from the first 32-bit instructions logged" err_has 'boot complete'

# --- what backs guest RAM (--memory-backing) --------------------------------

boot "$GUEST" "vjtest=hello" 1 -v --memory-backing 4k
expect "4k: the guest runs on 4 KiB pages" out_line 'vjtest: hello ok .*'
expect "4k: -v says so" err_has 'guest RAM 64 MiB: anonymous memory, 4 KiB pages$'

thp_mode=$(sed -n 's/.*\[\(.*\)\].*/\1/p' /sys/kernel/mm/transparent_hugepage/enabled 2>/dev/null)
boot "$GUEST" "vjtest=hello" 1 -v --memory-backing thp
expect "thp: the guest runs" out_line 'vjtest: hello ok .*'
case $thp_mode in
never) expect "thp: -v says the host's THP is off and it got 4 KiB pages" err_has \
	"4 KiB pages; asked for thp, but the host's transparent huge pages are off" ;;
always | madvise) expect "thp: -v says it got transparent huge pages (host: $thp_mode)" err_has \
	"transparent huge pages where the host has them \\(enabled=$thp_mode\\)$" ;;
*) skip "thp: -v names the host's THP mode" "no THP on this host" ;;
esac

# hugetlb: from the pool where it holds the guest, else THP and a warning
# without -v (an operator who set the pool up wants to hear it was short).
pool=/proc/sys/vm/nr_hugepages
if [ -w $pool ] && [ "$(cat $pool)" = 0 ]; then
	boot "$GUEST" "vjtest=hello" 1 --memory-backing hugetlb
	expect "hugetlb, empty pool: the guest still runs" out_line 'vjtest: hello ok .*'
	expect "hugetlb, empty pool: warns that it fell back, and why" err_has \
		"asked for hugetlb, but the host's 2 MiB hugetlb pool cannot reserve 32 pages"
	echo 32 >$pool
	if [ "$(cat /sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages)" -ge 32 ]; then
		boot "$GUEST" "vjtest=hello" 1 -v --memory-backing hugetlb
		expect "hugetlb: the guest runs on the pool's pages" out_line 'vjtest: hello ok .*'
		expect "hugetlb: -v says so" err_has "guest RAM 64 MiB: 2 MiB pages of the host's hugetlb pool$"
	else
		skip "hugetlb: the guest runs on the pool's pages" "the host could not fill a pool of 32"
	fi
	echo 0 >$pool
else
	skip "hugetlb: pool and fallback" "needs root and an empty hugetlb pool to set up"
fi

# --- stopping a running guest from outside ---------------------------------

# stop_running NAME SCENARIO SIGNAL: the VMM ends with EXIT_STOPPED while
# vCPU 0 loops in ring 0 (spin) or sleeps in hlt (wait) and vCPU 1 waits
# for a SIPI that never comes.
stop_running() {
	local name=$1 scen=$2 sig=$3 pid status i
	: >"$tmp/out"
	"$VMM" --kernel "$GUEST" --cmdline "vjtest=$scen" --vcpus 2 --memory 64M \
		--console stdout >"$tmp/out" 2>"$tmp/err" </dev/null &
	pid=$!
	for ((i = 0; i < 300; i++)); do
		grep -q "^vjtest: $scen running$" "$tmp/out" && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if ! grep -q "^vjtest: $scen running$" "$tmp/out"; then
		fail "$name" "guest never reported running: $(head -c 300 "$tmp/out" "$tmp/err")"
		kill -KILL "$pid" 2>/dev/null; wait "$pid"
		return
	fi
	kill -"$sig" "$pid"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		fail "$name" "VMM still running 10 s after SIG$sig"
		kill -KILL "$pid"; wait "$pid"
		return
	fi
	wait "$pid"; status=$?
	expect "$name" eval '[ "$status" = $EXIT_STOPPED ] ||
		{ WHY="exit status $status, want $EXIT_STOPPED; $(head -c 300 "$tmp/err")"; false; }'
}

stop_running "spin: SIGTERM stops a guest looping in ring 0 (status 5)" spin TERM
stop_running "wait: SIGINT stops a guest halted with interrupts on (status 5)" wait INT

# --- refusal of bad input: status 1 and one line naming the culprit -------

# refused NEEDLE VMM-ARGS...: exit 1 and exactly one stderr line that
# contains NEEDLE (the file or flag at fault).
refused() {
	local needle=$1
	shift
	run_capture "$TIMEOUT" "$VMM" "$@"
	if [ "$RC" != $EXIT_CONFIG ]; then
		WHY="exit status $RC, want $EXIT_CONFIG; stderr: ${ERR:0:300}"
	elif [ -z "$ERR" ] || [ "$(printf '%s\n' "$ERR" | wc -l)" != 1 ]; then
		WHY="want exactly one stderr line, got: ${ERR:0:400}"
	elif ! grep -qF -- "$needle" <<<"$ERR"; then
		WHY="stderr does not name $needle: $ERR"
	else
		return 0
	fi
	return 1
}

# refuse_kernel NAME FILE: the guest image FILE is refused.
refuse_kernel() {
	expect "$1" refused "$2" --kernel "$2" --cmdline "vjtest=hello" --memory 64M --console stdout
}

# poke FILE OFFSET VALUE BYTES: little-endian VALUE into FILE at OFFSET.
poke() {
	local s="" i
	for ((i = 0; i < $4; i++)); do
		s+=$(printf '\\x%02x' $((($3 >> (8 * i)) & 255)))
	done
	printf "$s" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}

peek64() { od -An -t u8 -j "$2" -N 8 "$1" | tr -d ' '; }

# A copy of the guest with one field changed.
crafted() {
	cp "$GUEST" "$tmp/$1.elf"
	poke "$tmp/$1.elf" "$2" "$3" "$4"
	printf '%s' "$tmp/$1.elf"
}

phoff=$(peek64 "$GUEST" 32)
load0=$phoff # the linker script puts the text PT_LOAD first
if [ "$(od -An -t u4 -j "$load0" -N 4 "$GUEST" | tr -d ' ')" != 1 ]; then
	fail "vmm-guests: first program header of $GUEST is PT_LOAD" "cannot craft bad ELFs"
fi

refuse_kernel "bad kernel: missing file" "$tmp/no-such-kernel"
head -c 40 "$GUEST" >"$tmp/short.elf"
refuse_kernel "bad kernel: truncated ELF header" "$tmp/short.elf"
head -c $((phoff + 20)) "$GUEST" >"$tmp/short-ph.elf"
refuse_kernel "bad kernel: truncated program headers" "$tmp/short-ph.elf"
head -c 8192 "$GUEST" >"$tmp/short-seg.elf"
refuse_kernel "bad kernel: segment data past end of file" "$tmp/short-seg.elf"
refuse_kernel "bad kernel: dynamic PIE executable (ET_DYN)" /bin/true
refuse_kernel "bad kernel: wrong machine (EM_ARM)" "$(crafted machine 18 40 2)"
refuse_kernel "bad kernel: 32-bit ELF class" "$(crafted class32 4 1 1)"
refuse_kernel "bad kernel: program headers past end of file" "$(crafted phoff 32 0x7fff0000 8)"
refuse_kernel "bad kernel: segment below 1 MiB" "$(crafted low $((load0 + 24)) 0x1000 8)"
refuse_kernel "bad kernel: segment past the end of guest memory" \
	"$(crafted high $((load0 + 24)) $((64 * 1024 * 1024 - 4096)) 8)"
refuse_kernel "bad kernel: entry point outside the image" "$(crafted entry 24 0x3000000 8)"
printf 'not a kernel\n' >"$tmp/text"
refuse_kernel "bad kernel: neither ELF nor bzImage" "$tmp/text"

expect "bad flag: --vcpus 0" refused --vcpus --kernel "$GUEST" --vcpus 0
expect "bad flag: --vcpus 33" refused --vcpus --kernel "$GUEST" --vcpus 33
expect "bad flag: --memory 8M (below the minimum)" refused --memory --kernel "$GUEST" --memory 8M
expect "bad flag: --memory above the maximum" refused --memory --kernel "$GUEST" --memory 300000M
expect "bad flag: --memory not a number" refused --memory --kernel "$GUEST" --memory lots
expect "bad flag: unknown option" refused --bogus --kernel "$GUEST" --bogus
expect "bad flag: command line of 3000 characters" refused --cmdline --kernel "$GUEST" \
	--memory 64M --cmdline "vjtest=hello $(printf 'x%.0s' {1..2987})"

finish

# Benchmarks: programs and scripts that print figures (medians), never
# pass/fail on time. `make bench` runs them.
BENCH_BINS := $(BUILD)/bench/vmm-boot $(BUILD)/bench/linux-boot $(BUILD)/bench/ctl-bench \
	$(BUILD)/bench/snapshot-bench
BENCH_LINUX_INITRD := $(BUILD)/bench/linux-initramfs.cpio

$(BUILD)/bench/vmm-boot: $(BUILD)/bench/vmm-boot.o $(BUILD)/bench/bench.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/bench/linux-boot: $(BUILD)/bench/linux-boot.o $(BUILD)/bench/bench.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/bench/snapshot-bench: $(BUILD)/bench/snapshot-bench.o $(BUILD)/bench/bench.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(BUILD)/bench/ctl-bench: $(BUILD)/bench/ctl-bench.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# The same bzImage for every VMM, and an initramfs whose /init only says
# it got there and resets.
.PHONY: bench-linux-initramfs
bench-linux-initramfs: deps-kernel
	$(Q)$(TOP)/rootfs/build-initramfs.sh --init $(TOP)/bench/linux-init.sh $(BENCH_LINUX_INITRD)

BENCH_DEPS += all $(BENCH_BINS) $(GUEST_DIR)/testguest.elf $(GUEST_DIR)/testguest-pvh.elf \
	kernel bench-linux-initramfs

.PHONY: bench bench-vmm bench-linux bench-ctl bench-snapshot bench-snap
bench-snapshot: all $(BUILD)/bench/snapshot-bench $(GUEST_DIR)/testguest.elf $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh snapshot

bench-ctl: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh ctl

bench-snap: $(BENCH_DEPS) initramfs $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh snap

bench-vmm: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh vmm

bench-linux: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh linux

bench: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh vmm linux jail virtio ctl snapshot snap

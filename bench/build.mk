# Benchmarks: programs and scripts that print figures (medians), never
# pass/fail on time. `make bench` runs them.
BENCH_BINS := $(BUILD)/bench/vmm-boot

$(BUILD)/bench/vmm-boot: $(BUILD)/bench/vmm-boot.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

BENCH_DEPS += all $(BENCH_BINS) $(GUEST_DIR)/testguest.elf $(GUEST_DIR)/testguest-pvh.elf

.PHONY: bench bench-vmm
bench-vmm: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh vmm

bench: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh vmm jail virtio

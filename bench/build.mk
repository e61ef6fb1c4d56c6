# Benchmarks: programs and scripts that print figures (medians), never
# pass/fail on time. `make bench` runs them.
BENCH_BINS := $(BUILD)/bench/vmm-boot

$(BUILD)/bench/vmm-boot: $(BUILD)/bench/vmm-boot.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

.PHONY: bench bench-vmm
bench-vmm: all $(BENCH_BINS) $(GUEST_DIR)/testguest.elf $(GUEST_DIR)/testguest-pvh.elf
	$(Q)$(BUILD)/bench/vmm-boot -n $${RUNS:-20} $(BUILD)

bench: bench-vmm

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

# The jail's set-up and tear-down.
JAIL_BENCH := $(BUILD)/bench/jail-bench
$(JAIL_BENCH): $(BUILD)/bench/jail-bench.o
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# The same bzImage for every VMM, and an initramfs whose /init only says
# it got there and resets.
.PHONY: bench-linux-initramfs
bench-linux-initramfs: deps-kernel
	$(Q)$(TOP)/rootfs/build-initramfs.sh --init $(TOP)/bench/linux-init.sh $(BENCH_LINUX_INITRD)

# Everything `make bench` runs, built and not run: `make bench-build`
# (CI checks that it builds on its own from a clean clone).
BENCH_DEPS += all $(BENCH_BINS) $(JAIL_BENCH) $(GUEST_DIR)/testguest.elf \
	$(GUEST_DIR)/testguest-pvh.elf $(VGUEST) $(VHOST) kernel bench-linux-initramfs \
	$(BUILD)/tests/integration/vmm-migrate

.PHONY: bench-teardown
# BEFORE: an older build's vmjail and vmjail-vmm copied into
# $(BUILD)/bench/before are measured beside this build's.
bench-teardown: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh teardown

.PHONY: bench bench-build bench-vmm bench-linux bench-ctl bench-jail bench-peers bench-virtio
bench-build: $(BENCH_DEPS) initramfs $(NESTED_IMAGE)

# Container image archives for bench-image (tests/e2e/make-image.sh):
# busybox, and busybox with 50 MiB of random bytes. Made once: the big
# one's bytes are random, and a new one would be converted anew anyway.
BENCH_IMAGES := $(BUILD)/bench/images
.PHONY: bench-image-archives bench-image
bench-image-archives: deps-kernel
	$(Q)mkdir -p $(BENCH_IMAGES)
	$(Q)[ -f $(BENCH_IMAGES)/small.oci.tar ] || \
		$(TOP)/tests/e2e/make-image.sh $(BENCH_IMAGES) --format oci --name small >/dev/null
	$(Q)[ -f $(BENCH_IMAGES)/big.oci.tar ] || \
		$(TOP)/tests/e2e/make-image.sh $(BENCH_IMAGES) --format oci --name big --big 50M >/dev/null

bench-image: $(BENCH_DEPS) initramfs bench-image-archives $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh image

.PHONY: bench-snapshot bench-snap bench-migrate
bench-migrate: $(BENCH_DEPS) $(BUILD)/tests/integration/vmm-migrate $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh migrate

bench-snapshot: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh snapshot

bench-ctl: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh ctl

bench-snap: $(BENCH_DEPS) initramfs $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh snap

bench-vmm: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh vmm

bench-linux: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh linux

bench-jail: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh jail

# kvmtool where lkvm is on PATH or in $(BUILD)/bench/lkvm (built by hand:
# Debian 12 has no package), QEMU where it is installed.
bench-peers: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh peers

# Host-side cost of virtio requests against a bare exit.
bench-virtio: $(BENCH_DEPS) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh virtio

bench: $(BENCH_DEPS) initramfs bench-image-archives $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh vmm linux jail peers virtio ctl snapshot snap image

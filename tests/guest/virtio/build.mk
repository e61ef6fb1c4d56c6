# The virtio test guest: its drivers and scenarios on the runtime of
# tests/guest/ (build.mk there: same flags, same linker script, objects
# built once).
VGUEST_DIR := $(GUEST_DIR)/virtio
VGUEST_C := main irq lib vio blk rng net vsock evil bench
VGUEST_OBJS := $(VGUEST_C:%=$(VGUEST_DIR)/%.o) $(GUEST_RT_OBJS)
VGUEST := $(VGUEST_DIR)/virtio-guest.elf

$(VGUEST): $(VGUEST_OBJS) tests/guest/guest.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(VGUEST_OBJS)

# Host side: makes and checks drive files, plays the peer on the tap and
# on the vsock sockets. An ordinary host program.
VHOST := $(BUILD)/tests/integration/virtio-host
$(VHOST): $(BUILD)/tests/integration/virtio-host.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

# The same helper, static, for Linux guests (tests/e2e: vsock-guest).
VHOST_STATIC := $(BUILD)/tests/integration/virtio-host.static
$(VHOST_STATIC): tests/integration/virtio-host.c | deps
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(CFLAGS_COMMON) -O2 -static -o $@ $<

TEST_DEPS += $(VGUEST) $(VHOST)
INTEGRATION_TESTS += tests/integration/virtio-blk.sh tests/integration/virtio-net.sh \
	tests/integration/virtio-vsock.sh tests/integration/virtio-evil.sh

# Figures, not a test: host-side cost of virtio requests against a bare exit.
.PHONY: bench-virtio
bench-virtio: binaries $(VGUEST) $(VHOST) $(NESTED_IMAGE)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/run.sh virtio

BENCH_DEPS += $(VGUEST) $(VHOST)

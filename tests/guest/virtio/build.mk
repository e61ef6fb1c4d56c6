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

TEST_DEPS += $(VGUEST)
INTEGRATION_TESTS += tests/integration/virtio-blk.sh tests/integration/virtio-net.sh \
	tests/integration/virtio-vsock.sh tests/integration/virtio-evil.sh

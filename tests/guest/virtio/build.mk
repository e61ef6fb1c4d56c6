# The virtio test guest (freestanding, own flags: no sanitizers, no PIE, no
# SSE, also under SANITIZE=1) and its host-side helper.
VGUEST_DIR := $(BUILD)/tests/guest/virtio
VGUEST_CFLAGS := -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wvla -I$(TOP) \
	-ffreestanding -nostdlib -mgeneral-regs-only -mno-red-zone -mcmodel=small \
	-fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns
VGUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack \
	-Wl,-T,tests/guest/virtio/guest.ld

VGUEST_C := main cpu lib vio blk rng net vsock evil bench
VGUEST_ASM := entry tables isr
VGUEST_OBJS := $(VGUEST_C:%=$(VGUEST_DIR)/%.o) $(VGUEST_ASM:%=$(VGUEST_DIR)/%.o)
VGUEST := $(VGUEST_DIR)/virtio-guest.elf

$(VGUEST_DIR)/%.o: tests/guest/virtio/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (guest)")
	$(Q)$(CC) $(VGUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(VGUEST_DIR)/%.o: tests/guest/virtio/%.S | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $< (guest)")
	$(Q)$(CC) $(VGUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(VGUEST): $(VGUEST_OBJS) tests/guest/virtio/guest.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(VGUEST_CFLAGS) $(VGUEST_LDFLAGS) -o $@ $(VGUEST_OBJS)

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
bench-virtio: binaries $(VGUEST) $(VHOST)
	$(Q)BUILD=$(BUILD) $(TOP)/bench/virtio-bench.sh

bench: bench-virtio

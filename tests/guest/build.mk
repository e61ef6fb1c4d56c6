# Freestanding x86-64 test guests (see tests/guest/README.md). They are
# built with their own flags, never $(CFLAGS): no sanitizers, no PIE, no
# fortify, no SSE, also under SANITIZE=1.

GUEST_DIR := $(BUILD)/tests/guest
GUEST_CFLAGS := -std=c17 -O2 -g -Wall -Wextra -Werror -Wshadow -Wvla -I$(TOP) \
	-ffreestanding -nostdlib -mgeneral-regs-only -mno-red-zone -mcmodel=small \
	-fno-pic -fno-pie -fno-stack-protector -fcf-protection=none \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns
GUEST_LDFLAGS := -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,-z,max-page-size=0x1000 -Wl,-z,noexecstack -Wl,-T,tests/guest/guest.ld

# The runtime: entry, descriptor and page tables, interrupts, console,
# boot information. The virtio guest (virtio/build.mk) links it too.
GUEST_RT := boot machine serial cpu apic lib entry tables isr
GUEST_RT_OBJS := $(GUEST_RT:%=$(GUEST_DIR)/%.o)
GUEST_SCENARIOS := main mptable basic pio smp irq uart_probe ring3 trampoline kbd
GUEST_OBJS := $(GUEST_RT_OBJS) $(GUEST_SCENARIOS:%=$(GUEST_DIR)/%.o)

# Also the objects of the virtio guest, in $(GUEST_DIR)/virtio/.
$(GUEST_DIR)/%.o: tests/guest/%.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (guest)")
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_DIR)/%.o: tests/guest/%.S | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  AS      $< (guest)")
	$(Q)$(CC) $(GUEST_CFLAGS) -MMD -MP -c -o $@ $<

$(GUEST_DIR)/testguest.elf: $(GUEST_OBJS) tests/guest/guest.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

$(GUEST_DIR)/testguest-pvh.elf: $(GUEST_OBJS) $(GUEST_DIR)/pvh.o tests/guest/guest.ld
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(GUEST_CFLAGS) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS) $(GUEST_DIR)/pvh.o

TEST_DEPS += $(GUEST_DIR)/testguest.elf $(GUEST_DIR)/testguest-pvh.elf
INTEGRATION_TESTS += tests/integration/vmm-guests.sh

# vmjail-vmm: statically linked so that it runs in an empty jail root.
VMM_SRCS := vmm/main.c vmm/vm.c vmm/vcpu.c vmm/cpuid.c vmm/memory.c vmm/bus.c \
	vmm/eventloop.c vmm/seccomp.c \
	vmm/boot/kernel.c vmm/boot/elf.c vmm/boot/bzimage.c vmm/boot/params.c \
	vmm/boot/mptable.c vmm/boot/regs.c \
	vmm/devices/serial.c vmm/devices/i8042.c vmm/devices/boot_marker.c \
	$(VMM_DEVICE_SRCS)
VMM_OBJS := $(VMM_SRCS:%.c=$(BUILD)/%.o)
# Everything but main(): linked into unit tests as well.
VMM_LIB_OBJS := $(filter-out $(BUILD)/vmm/main.o,$(VMM_OBJS))
VMM_LIBS := -lseccomp -lpthread

# -iquote: vmm/seccomp.h must not shadow libseccomp's <seccomp.h>.
$(BUILD)/vmm/%.o: CFLAGS += -iquote $(TOP)/vmm

BINARIES += $(BUILD)/vmjail-vmm

$(BUILD)/vmjail-vmm: $(VMM_OBJS) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(STATIC_LDFLAGS) -o $@ $^ $(VMM_LIBS)

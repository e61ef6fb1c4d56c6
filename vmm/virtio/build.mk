# virtio-mmio devices of vmjail-vmm (linked into the VMM through
# VMM_DEVICE_SRCS), their unit tests, fuzzers and integration tests.
VIRTIO_SRCS := vmm/virtio/mmio.c vmm/virtio/queue.c vmm/virtio/chain.c \
	vmm/virtio/ratelimit.c vmm/virtio/blk.c vmm/virtio/net.c vmm/virtio/rng.c \
	vmm/virtio/vsock.c vmm/virtio/vsock_broker.c vmm/virtio/devices.c
VMM_DEVICE_SRCS += $(VIRTIO_SRCS)

# Unit tests: linked against the virtio objects and the few VMM core
# objects they use (named here: this fragment is read before vmm/build.mk).
VIRTIO_OBJS := $(VIRTIO_SRCS:%.c=$(BUILD)/%.o)
VIRTIO_CORE_OBJS := $(addprefix $(BUILD)/vmm/,memory.o vm.o eventloop.o bus.o)
VIRTIO_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_virtqueue test_virtio_mmio test_virtio_blk \
	test_virtio_rng test_ratelimit)
UNIT_TESTS += $(VIRTIO_UNIT_TESTS)

$(BUILD)/tests/unit/test_virtio_util.o $(VIRTIO_UNIT_TESTS:%=%.o): CFLAGS += -iquote $(TOP)/vmm

$(VIRTIO_UNIT_TESTS): %: %.o $(BUILD)/tests/unit/test_virtio_util.o $(VIRTIO_OBJS) \
		$(VIRTIO_CORE_OBJS) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka -lseccomp -lpthread

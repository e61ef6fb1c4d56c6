# virtio-mmio devices of vmjail-vmm (linked into the VMM through
# VMM_DEVICE_SRCS), their unit tests, fuzzers and integration tests.
VIRTIO_SRCS := vmm/virtio/mmio.c vmm/virtio/queue.c vmm/virtio/chain.c \
	vmm/virtio/ratelimit.c vmm/virtio/blk.c vmm/virtio/net.c vmm/virtio/rng.c \
	vmm/virtio/vsock.c vmm/virtio/vsock_packet.c vmm/virtio/vsock_conn.c \
	vmm/virtio/vsock_host.c vmm/virtio/devices.c
VMM_DEVICE_SRCS += $(VIRTIO_SRCS)

# Unit tests: linked against the virtio objects and the few VMM core
# objects they use (named here: this fragment is read before vmm/build.mk).
VIRTIO_OBJS := $(VIRTIO_SRCS:%.c=$(BUILD)/%.o)
VIRTIO_CORE_OBJS := $(addprefix $(BUILD)/vmm/,memory.o vm.o eventloop.o bus.o)
VIRTIO_UNIT_TESTS := $(addprefix $(BUILD)/tests/unit/,test_virtqueue test_virtio_mmio test_virtio_blk \
	test_virtio_rng test_ratelimit test_virtio_vsock test_virtio_vsock_parts test_virtio_net)
UNIT_TESTS += $(VIRTIO_UNIT_TESTS)

$(BUILD)/tests/unit/test_virtio_util.o $(VIRTIO_UNIT_TESTS:%=%.o): CFLAGS += -iquote $(TOP)/vmm

$(VIRTIO_UNIT_TESTS): %: %.o $(BUILD)/tests/unit/test_virtio_util.o $(VIRTIO_OBJS) \
		$(VIRTIO_CORE_OBJS) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka -lpthread

# libFuzzer harnesses (clang): the walker and the blk request path over a
# fake guest memory. tests/integration/virtio-fuzz.sh runs each briefly;
# longer runs by hand: build/fuzz/fuzz_blk -max_total_time=600 DIR
FUZZ_LIB_SRCS := vmm/virtio/queue.c vmm/virtio/chain.c vmm/virtio/mmio.c \
	vmm/virtio/ratelimit.c vmm/virtio/blk.c vmm/memory.c vmm/vm.c vmm/eventloop.c \
	vmm/bus.c common/log.c common/config.c common/parse.c common/error.c
FUZZ_LIB_OBJS := $(FUZZ_LIB_SRCS:%.c=$(FUZZ_DIR)/%.o)
FUZZERS := $(FUZZ_DIR)/fuzz_virtqueue $(FUZZ_DIR)/fuzz_blk
VIRTIO_FUZZ_OBJS := $(FUZZERS:$(FUZZ_DIR)/%=$(FUZZ_DIR)/tests/fuzz/%.o)

$(filter $(FUZZ_DIR)/vmm/%,$(FUZZ_LIB_OBJS)) $(VIRTIO_FUZZ_OBJS): FUZZ_CFLAGS += -iquote $(TOP)/vmm

$(FUZZERS): $(FUZZ_DIR)/%: $(FUZZ_DIR)/tests/fuzz/%.o $(FUZZ_LIB_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ -lpthread

TEST_DEPS += $(FUZZERS)
INTEGRATION_TESTS += tests/integration/virtio-fuzz.sh

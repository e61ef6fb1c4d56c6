# libvmjail-image: container images (OCI layout, OCI archive, docker save)
# and root file system directories -> read-only root images (image.h).
# Users link $(IMAGE_LIB) $(POLICY_LIB) $(COMMON_OBJS) $(IMAGE_LDLIBS).

IMAGE_SRCS := $(addprefix jailer/image/,sha256.c tar.c blob.c manifest.c config.c apply.c \
	image.c confine.c)
IMAGE_OBJS := $(IMAGE_SRCS:%.c=$(BUILD)/%.o)
IMAGE_LIB := $(BUILD)/libvmjail-image.a
# zlib for gzip layers (README.md, "Dependencies"); libcap-ng to run
# mkfs.erofs with one capability.
IMAGE_LDLIBS := -lz -lcap-ng

$(BUILD)/jailer/image/%.o: CFLAGS += -iquote $(TOP)/jailer/image -I$(TOP)/policy

# The builder's seccomp filter, compiled to BPF at build time
# (builder_seccomp_gen.c), as the VMM's are (vmm/build.mk).
$(foreach t,$(FLAVOURS),$(eval $(t)/jailer/image/confine.o: CFLAGS += -iquote $(t)/jailer/image))
$(addsuffix /jailer/image/builder-seccomp-gen,$(FLAVOURS)): %/jailer/image/builder-seccomp-gen: \
		%/jailer/image/builder_seccomp_gen.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lseccomp
$(addsuffix /jailer/image/builder_bpf.inc,$(FLAVOURS)): %/builder_bpf.inc: %/builder-seccomp-gen
	$(Q)$< > $@.tmp && mv $@.tmp $@
$(addsuffix /jailer/image/confine.o,$(FLAVOURS)): %/confine.o: %/builder_bpf.inc

$(IMAGE_LIB): $(IMAGE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv -f $@.tmp $@

BINARIES += $(IMAGE_LIB)

# Unit tests: the tar reader, layer application, configs, manifests.
IMAGE_UNIT_TESTS := $(BUILD)/tests/unit/test_image
UNIT_TESTS += $(IMAGE_UNIT_TESTS)

$(BUILD)/tests/unit/test_image.o: CFLAGS += -iquote $(TOP)/jailer/image -I$(TOP)/policy

$(IMAGE_UNIT_TESTS): %: %.o $(IMAGE_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ -lcmocka $(IMAGE_LDLIBS)

# libFuzzer harness for the tar reader and the config parser (clang);
# image-fuzz.sh runs it briefly.
IMAGE_FUZZER := $(FUZZ_DIR)/fuzz_image
IMAGE_FUZZ_SRCS := tests/fuzz/fuzz_image.c \
	$(addprefix jailer/image/,tar.c config.c blob.c sha256.c) common/json.c common/error.c
$(addprefix $(FUZZ_DIR)/,tests/fuzz/fuzz_image.o $(IMAGE_SRCS:.c=.o)): \
	FUZZ_CFLAGS += -iquote $(TOP)/jailer/image -I$(TOP)/policy

$(IMAGE_FUZZER): $(IMAGE_FUZZ_SRCS:%.c=$(FUZZ_DIR)/%.o)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(FUZZ_CC) $(FUZZ_LDFLAGS) -o $@ $^ -lz

TEST_DEPS += $(IMAGE_FUZZER)
INTEGRATION_TESTS += $(TOP)/tests/integration/image-fuzz.sh

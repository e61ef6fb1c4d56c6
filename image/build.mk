# libvmjail-image: container images (OCI layout, OCI archive, docker save)
# and root file system directories -> read-only root images (image.h).
# Users link $(IMAGE_LIB) $(POLICY_LIB) $(COMMON_OBJS) $(IMAGE_LDLIBS).

IMAGE_SRCS := image/sha256.c image/tar.c image/blob.c image/manifest.c image/config.c \
	image/apply.c image/image.c
IMAGE_OBJS := $(IMAGE_SRCS:%.c=$(BUILD)/%.o)
IMAGE_LIB := $(BUILD)/libvmjail-image.a
# zlib for gzip layers (README.md, "Dependencies"); libcap-ng to run
# mkfs.erofs with one capability.
IMAGE_LDLIBS := -lz -lcap-ng

$(BUILD)/image/%.o: CFLAGS += -iquote $(TOP)/image -I$(TOP)/policy

$(IMAGE_LIB): $(IMAGE_OBJS)
	@$(if $(Q),echo "  AR      $@")
	$(Q)rm -f $@.tmp && ar rcs $@.tmp $^ && mv -f $@.tmp $@

BINARIES += $(IMAGE_LIB)

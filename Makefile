# vmjail build. `make` builds everything; `make test` runs the whole suite;
# `make test SANITIZE=1` runs it under ASan+UBSan; `make demo` runs the
# bundled example. Each component adds its rules in its own build.mk.

SANITIZE ?= 0
V ?= 0
CC := gcc
TOP := $(CURDIR)

ifeq ($(SANITIZE),1)
BUILD ?= build-san
else
BUILD ?= build
endif

# Debian packages the build and the tests need. `make deps` installs the
# missing ones (idempotent); every top-level target depends on it.
DEB_PKGS := gcc make libc6-dev pkg-config libseccomp-dev libcap-ng-dev \
	libyaml-dev libcmocka-dev iproute2 clang \
	libclang-rt-14-dev zlib1g-dev erofs-utils
DEB_PKGS_KERNEL := linux-source-6.1 bc flex bison libelf-dev libssl-dev \
	busybox-static e2fsprogs cpio xz-utils
# containerd: ctr and the runc v2 shim drive vmjail-runc in the test host.
DEB_PKGS_E2E := qemu-system-x86 linux-image-cloud-amd64 containerd

CFLAGS_COMMON := -std=c17 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
	-Wformat=2 -Wno-format-nonliteral -Wvla -g -I$(TOP) -I$(TOP)/common
HARDEN_CFLAGS := -D_FORTIFY_SOURCE=3 -fstack-protector-strong \
	-fstack-clash-protection -fcf-protection -fPIE
HARDEN_LDFLAGS := -pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack

ifeq ($(SANITIZE),1)
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	-fno-omit-frame-pointer
CFLAGS := $(CFLAGS_COMMON) -O1 $(SAN_FLAGS) -fPIE
LDFLAGS := $(SAN_FLAGS) -pie
# Sanitizer runtimes cannot be linked statically.
STATIC_LDFLAGS := $(LDFLAGS)
else
CFLAGS := $(CFLAGS_COMMON) -O2 $(HARDEN_CFLAGS)
LDFLAGS := $(HARDEN_LDFLAGS)
STATIC_LDFLAGS := -static-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
endif

ifeq ($(V),1)
Q :=
else
Q := @
endif

# Where this host's /dev/kvm cannot run what needs one, benchmarks and the
# demo run in the nested test host (tests/e2e/), which needs its image.
NESTED_IMAGE := $(shell $(TOP)/tests/kvm-probe kvm >/dev/null 2>&1 || echo e2e-image)

# Filled in by the component fragments.
BINARIES :=
BENCH_DEPS :=
UNIT_TESTS :=
INTEGRATION_TESTS :=
TEST_DEPS :=

.PHONY: all deps deps-kernel deps-e2e test unit integration demo clean
all: deps binaries

# Every object is compiled once, by one of the pattern rules below, with
# a dependency file (-MMD) read at the end of this file: no rule compiles
# and links in one command, and none lists headers by hand.
$(BUILD)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

# Programs that run inside the jail or a guest are static and never
# sanitized (sanitizer runtimes neither link statically nor get the files
# and system calls they want there). Their objects come from $(PLAIN):
# the ordinary tree, whose flags already are these, or under SANITIZE=1 a
# tree of its own, so that each object is still compiled once per flags.
PLAIN_CFLAGS := $(CFLAGS_COMMON) -O2 $(HARDEN_CFLAGS)
PLAIN_STATIC_LDFLAGS := -static-pie -Wl,-z,relro,-z,now -Wl,-z,noexecstack
ifeq ($(SANITIZE),1)
PLAIN := $(BUILD)/plain
$(PLAIN)/%: CFLAGS := $(PLAIN_CFLAGS)
$(PLAIN)/%: LDFLAGS := $(HARDEN_LDFLAGS)
$(PLAIN)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (plain)")
	$(Q)$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<
else
PLAIN := $(BUILD)
endif
# The build trees a fragment's per-directory flags apply to.
FLAVOURS := $(sort $(BUILD) $(PLAIN))

# libFuzzer harnesses: clang, their own tree. A fragment links a fuzzer
# from $(FUZZ_DIR) objects with $(FUZZ_LDFLAGS).
FUZZ_CC := clang
FUZZ_CFLAGS := $(CFLAGS_COMMON) -O1 \
	-fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=all
FUZZ_LDFLAGS := -fsanitize=fuzzer,address,undefined
FUZZ_DIR := $(BUILD)/fuzz

$(FUZZ_DIR)/%.o: %.c | deps
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $< (fuzz)")
	$(Q)$(FUZZ_CC) $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

COMMON_SRCS := common/log.c common/parse.c common/config.c common/vsock_broker_proto.c \
	common/vsock_broker.c common/host_open.c common/socket_file.c common/json.c \
	common/termsafe.c common/error.c common/snapshot.c common/migration_stream.c
COMMON_OBJS := $(COMMON_SRCS:%.c=$(BUILD)/%.o)

# Each directory's build.mk holds the rules of the programs whose main
# source is in it (a unit test or fuzzer is registered by the component it
# tests). A fragment may name another's variables in a rule's
# prerequisites only if that fragment is read first: this order.
include vmm/virtio/build.mk
include vmm/build.mk
include policy/build.mk
include jailer/image/build.mk
include jailer/build.mk
include tests/guest/build.mk
include tests/guest/virtio/build.mk
include rootfs/build.mk
include rootfs/init/build.mk
include tests/unit/build.mk
include tests/integration/build.mk
include tests/e2e/build.mk
include bench/build.mk

.PHONY: binaries
binaries: $(BINARIES)

deps:
	$(Q)$(TOP)/.ci/ensure-packages $(DEB_PKGS)

deps-kernel: deps
	$(Q)$(TOP)/.ci/ensure-packages $(DEB_PKGS_KERNEL)

deps-e2e: deps-kernel
	$(Q)$(TOP)/.ci/ensure-packages $(DEB_PKGS_E2E)

# T=NAME[,NAME...] picks tests by name: a unit binary (test_json) or an
# integration script (jail-control, or jail-control.sh).
comma := ,
picked = $(if $(T),$(or $(filter $(foreach t,$(subst $(comma), ,$(T)),%/$(t) %/$(t).sh),$(1)),\
	$(error T=$(T): no such test among $(notdir $(1)))),$(1))

# The same pick without the error, for prerequisites (expanded whatever the
# goal; the recipe reports a T that names nothing).
picked_quiet = $(if $(T),$(filter $(foreach t,$(subst $(comma), ,$(T)),%/$(t) %/$(t).sh),$(1)),$(1))

# What `make integration T=SCRIPT` builds besides `all`: the make
# expressions on the script's "# builds:" line (none: nothing), all of
# TEST_DEPS for a script without one, and the nested test host's image
# when the script will run there (tests/run-suite: it needs kvm or linux
# and this host is not root or has no usable /dev/kvm, or VJ_NESTED=all;
# a Linux guest always, as whether this KVM boots one is known only by
# booting).
script_header = $(shell sed -n 's/^# $(2): *//p' $(1) | head -n 1)
script_nested = $(if $(filter-out off,$(or $(VJ_NESTED),auto)),$(if $(filter linux,$(2)),e2e-image,$(if \
	$(filter kvm,$(2)),$(if $(filter all,$(VJ_NESTED))$(filter-out 0,$(shell id -u))$(shell \
	$(TOP)/tests/kvm-probe kvm >/dev/null 2>&1 || echo no),e2e-image))))
script_builds = $(eval _vj_builds := $(call script_header,$(1),builds))$(if \
	$(shell grep -q '^# builds:' $(1) && echo y),$(filter-out none,$(_vj_builds)),$(TEST_DEPS)) \
	$(call script_nested,$(1),$(call script_header,$(1),needs))

# CASE=PATTERN runs only the unit test cases whose name matches (cmocka's
# filter: * and ?), in the binaries T picks (tests/unit/unit.h).
unit: all $(call picked_quiet,$(UNIT_TESTS))
	$(Q)BUILD=$(BUILD) VJ_TEST_CASE='$(CASE)' $(TOP)/tests/run-suite unit $(call picked,$(UNIT_TESTS))

integration: all $(if $(T),$(sort $(foreach s,$(call picked_quiet,$(INTEGRATION_TESTS)),\
		$(call script_builds,$(s)))),$(TEST_DEPS))
	$(Q)BUILD=$(BUILD) $(TOP)/tests/run-suite integration $(call picked,$(INTEGRATION_TESTS))

test: all $(UNIT_TESTS) $(TEST_DEPS)
	$(Q)BUILD=$(BUILD) $(TOP)/tests/run-suite all $(UNIT_TESTS) -- $(INTEGRATION_TESTS)

# The README's main-job command: `uname -a` in a Linux microVM, policy ->
# jail -> VMM -> guest agent. Where this host's /dev/kvm cannot boot Linux
# (there is none, or it emulates guest ring 0: tests/kvm-probe asks it, not
# guesses), the same command runs one level down, in the nested QEMU test
# host, and says why in one line first.
DEMO_HOST := policy/examples/host.yaml
DEMO_POLICY := policy/examples/linux.yaml
DEMO_CMD := $(BUILD)/vmjail --host-config $(DEMO_HOST) run $(DEMO_POLICY) -- uname -a
.PHONY: demo demo-direct demo-nested demo-testguest
demo: all examples
	$(Q)if why=$$(BUILD=$(BUILD) $(TOP)/tests/kvm-probe linux); then \
		$(MAKE) --no-print-directory demo-direct; \
	else \
		echo "vmjail: $$why: running the demo in a QEMU test host instead" \
			"(README.md, \"Hosts without a usable KVM\")" >&2; \
		$(MAKE) --no-print-directory demo-nested; \
	fi

# The launcher's vsock broker runs as the sandbox's uid: the run
# directory must be searchable by it.
demo-direct: all examples
	$(Q)install -d -m 0755 /run/vmjail
	$(Q)$(DEMO_CMD)

demo-nested: e2e-image
	$(Q)BUILD=$(BUILD) $(TOP)/tests/e2e/nested.sh --quiet --name demo --timeout 600 -- \
		bash -c 'install -d -m 0755 /run/vmjail && exec "$$@"' demo $(DEMO_CMD)

# The freestanding test guest through the whole jail: runs on any KVM host.
demo-testguest: all $(GUEST_DIR)/testguest.elf
	$(Q)$(BUILD)/vmjail --host-config $(DEMO_HOST) run policy/examples/testguest.yaml

clean:
	rm -rf build build-san

# Generated dependency files: absent before the first build.
-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

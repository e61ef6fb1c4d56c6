# Helper programs of the integration scripts (and of the e2e scenarios),
# each next to its main source here. Which scripts run is registered by
# the component each tests, in its own build.mk.
INTEG_DIR := $(BUILD)/tests/integration

JSON_CHECK := $(INTEG_DIR)/json-check

$(JSON_CHECK): $(INTEG_DIR)/json-check.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_DEPS += $(JSON_CHECK)
INTEGRATION_TESTS += $(TOP)/tests/integration/examples-check.sh

# vmm-ctl.sh's driver: the launcher's side of the VMM's control channel.
VMM_CTL_DRIVER := $(INTEG_DIR)/vmm-ctl
$(VMM_CTL_DRIVER): $(INTEG_DIR)/vmm-ctl.o $(INTEG_DIR)/driver.o $(BUILD)/common/snapshot.o $(BUILD)/common/error.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^
TEST_DEPS += $(VMM_CTL_DRIVER)
INTEGRATION_TESTS += $(TOP)/tests/integration/vmm-ctl.sh
INTEGRATION_TESTS += $(TOP)/tests/integration/vmm-snapshot.sh

# vmm-migrate.sh's driver: both launchers' sides of a live migration.
VMM_MIGRATE_DRIVER := $(INTEG_DIR)/vmm-migrate
$(VMM_MIGRATE_DRIVER): $(INTEG_DIR)/vmm-migrate.o $(INTEG_DIR)/driver.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^
TEST_DEPS += $(VMM_MIGRATE_DRIVER)
INTEGRATION_TESTS += $(TOP)/tests/integration/vmm-migrate.sh

# A raw client of a sandbox's control socket, for jail-control.sh.
CTL_CLIENT := $(INTEG_DIR)/ctl-client
$(CTL_CLIENT): $(INTEG_DIR)/ctl-client.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^
TEST_DEPS += $(CTL_CLIENT)

# The test-only stand-in started by `vmjail run --test-exec`: it runs in
# the jail, so it is static and never sanitized (plain objects, Makefile),
# and it installs the VMM's seccomp filter as the VMM would.
JAIL_PROBE := $(INTEG_DIR)/jail-probe
JAIL_PROBE_SRCS := tests/integration/jail-probe.c vmm/seccomp.c vmm/seccomp_rules.c $(COMMON_SRCS)
$(PLAIN)/tests/integration/jail-probe.o: CFLAGS += -iquote $(TOP)/vmm
$(JAIL_PROBE): $(JAIL_PROBE_SRCS:%.c=$(PLAIN)/%.o)
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(PLAIN_STATIC_LDFLAGS) -o $@ $^
TEST_DEPS += $(JAIL_PROBE)

# jail-cgroup-parent.sh's program: the launcher's cgroup steps, against
# the host's real cgroup filesystem, without a VMM (or /dev/kvm).
JAIL_CGROUP_PARENT := $(INTEG_DIR)/jail-cgroup-parent
$(JAIL_CGROUP_PARENT).o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy
$(JAIL_CGROUP_PARENT): %: %.o $(JAILER_LIB_OBJS) $(IMAGE_LIB) $(POLICY_LIB) $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(JAILER_LIBS)
TEST_DEPS += $(JAIL_CGROUP_PARENT)

# The real agent (vmjail-init-host) driven by the launcher's side
# (agent-drive) and by a hostile launcher (agent-evil-launcher).
AGENT_DRIVE := $(INTEG_DIR)/agent-drive
AGENT_EVIL := $(INTEG_DIR)/agent-evil-launcher

$(AGENT_DRIVE).o: CFLAGS += -iquote $(TOP)/jailer -I$(TOP)/policy

$(AGENT_DRIVE): %: %.o $(BUILD)/jailer/agent.o $(BUILD)/jailer/exec.o $(BUILD)/common/agent_proto.o \
		$(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

$(AGENT_EVIL): %: %.o $(BUILD)/common/agent_proto.o $(COMMON_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

TEST_DEPS += $(AGENT_DRIVE) $(AGENT_EVIL)

# The virtio scripts' host side: makes and checks drive files, plays the
# peer on the tap and on the vsock sockets. An ordinary host program, and
# the same helper static for Linux guests (tests/e2e: vsock-guest).
VHOST := $(INTEG_DIR)/virtio-host
$(VHOST): $(INTEG_DIR)/virtio-host.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^

VHOST_STATIC := $(INTEG_DIR)/virtio-host.static
$(VHOST_STATIC): $(PLAIN)/tests/integration/virtio-host.o
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@ (static)")
	$(Q)$(CC) $(PLAIN_STATIC_LDFLAGS) -o $@ $^

TEST_DEPS += $(VHOST)

/*
 * Test helper: a hostile launcher for vmjail-init. Spawns the agent with
 * its end of a socketpair as fd 3, plays one scenario of malformed or
 * misplaced frames, then prints what the agent sent back, one line per
 * frame ("ERROR: text", "EXIT: 0 3", "STDOUT: 5 bytes"), "EOF" when it
 * closed, and "agent: exit N" or "agent: signal N".
 *
 * usage: agent-evil-launcher SCENARIO AGENT-ARGV...
 * Scenarios that run a workload start `sleep 8765432` and wait until it
 * runs before they misbehave: the agent must kill it when it gives up.
 * stall-after-hello agrees on version 2 and then sends nothing: the agent
 * waits for its workload, for a test to do something meanwhile.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_proto.h"

static uint8_t frame[VJ_AGENT_FRAME_MAX];
static struct vj_agent_rx rx;

static void die(const char *what)
{
	fprintf(stderr, "agent-evil-launcher: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void put_raw(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return; /* the agent gave up already: what it said is read next */
		p = (const uint8_t *)p + k;
		n -= (size_t)k;
	}
}

static void put(int fd, const struct vj_agent_msg *m)
{
	struct vj_err why;
	ssize_t n = vj_agent_encode(m, frame, sizeof(frame), &why);

	if (n < 0) {
		fprintf(stderr, "agent-evil-launcher: encode: %s\n", why.msg);
		exit(2);
	}
	put_raw(fd, frame, (size_t)n);
}

static void put_bytes(int fd, enum vj_agent_type type, const void *p, size_t n)
{
	struct vj_agent_msg m = { .type = type };

	m.bytes.data = p;
	m.bytes.len = n;
	put(fd, &m);
}

static void put_str(int fd, enum vj_agent_type type, const char *s)
{
	put_bytes(fd, type, s, strlen(s));
}

static void header(int fd, uint32_t len, uint16_t type, uint16_t flags)
{
	uint8_t h[8] = { (uint8_t)len, (uint8_t)(len >> 8), (uint8_t)(len >> 16),
			 (uint8_t)(len >> 24), (uint8_t)type, (uint8_t)(type >> 8),
			 (uint8_t)flags, (uint8_t)(flags >> 8) };

	put_raw(fd, h, sizeof(h));
}

static void hello(int fd, uint16_t min, uint16_t max)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_HELLO, .hello = { min, max } };

	put(fd, &m);
}

static void workload(int fd)
{
	struct vj_agent_msg m = { .type = VJ_AGENT_WORKLOAD };

	put(fd, &m);
}

static void print_frame(const struct vj_agent_msg *m)
{
	char text[VJ_AGENT_ERROR_MAX + 1];

	switch (m->type) {
	case VJ_AGENT_ERROR:
		vj_agent_printable(text, sizeof(text), m->bytes.data, m->bytes.len);
		printf("ERROR: %s\n", text);
		break;
	case VJ_AGENT_EXIT:
		printf("EXIT: %u %u\n", m->exit.kind, m->exit.value);
		break;
	case VJ_AGENT_HELLO:
		printf("HELLO: %u..%u\n", m->hello.min, m->hello.max);
		break;
	default:
		printf("%s: %zu bytes\n", vj_agent_type_name(m->type), m->bytes.len);
	}
}

/* Prints the agent's frames up to one of the given type; 0 if it closed
 * or sent something malformed first. */
static int print_until(int fd, enum vj_agent_type type)
{
	struct vj_agent_msg m;
	struct vj_err why;
	int r;

	for (;;) {
		while ((r = vj_agent_rx_next(&rx, &m, &why)) == 1) {
			print_frame(&m);
			vj_agent_rx_consume(&rx);
			if (m.type == type)
				return 1;
		}
		if (r < 0) {
			printf("MALFORMED: %s\n", why.msg);
			return 0;
		}
		ssize_t n = vj_agent_rx_read(&rx, fd);
		if (n <= 0) {
			printf(n == 0 ? "EOF\n" : "READ ERROR\n");
			return 0;
		}
	}
}

/* HELLO, WORKLOAD, argv, START, and the workload's first output: it runs. */
static void start_sleeper(int fd)
{
	static const char *const argv[] = { "sh", "-c", "echo up; exec sleep 8765432", NULL };
	struct vj_agent_msg m = { .type = VJ_AGENT_START };

	hello(fd, 1, 1);
	workload(fd);
	for (const char *const *a = argv; *a; a++)
		put_str(fd, VJ_AGENT_ARG, *a);
	put(fd, &m);
	if (!print_until(fd, VJ_AGENT_STDOUT))
		exit(1);
}

static int play(const char *name, int fd)
{
	static char big[40000];
	struct vj_agent_msg m = { .type = VJ_AGENT_START };

	if (!strcmp(name, "huge-length")) {
		header(fd, 0x7fffffff, VJ_AGENT_WORKLOAD, 0);
	} else if (!strcmp(name, "bad-flags")) {
		header(fd, 8, VJ_AGENT_HELLO, 0x0100);
	} else if (!strcmp(name, "unknown-type")) {
		header(fd, 0, 0x7777, 0);
	} else if (!strcmp(name, "bad-magic")) {
		header(fd, 8, VJ_AGENT_HELLO, 0);
		put_raw(fd, "XXXX\1\0\1\0", 8);
	} else if (!strcmp(name, "bad-version")) {
		hello(fd, VJ_AGENT_VERSION_MAX + 1, VJ_AGENT_VERSION_MAX + 1);
	} else if (!strcmp(name, "continue-v3")) {
		hello(fd, 3, 3);
		m.type = VJ_AGENT_CONTINUE;
		put(fd, &m);
	} else if (!strcmp(name, "continue-after-workload")) {
		hello(fd, 6, 6);
		workload(fd);
		m.type = VJ_AGENT_CONTINUE;
		put(fd, &m);
	} else if (!strcmp(name, "stall-after-hello")) {
		hello(fd, 2, 2);
	} else if (!strcmp(name, "workload-first")) {
		workload(fd);
	} else if (!strcmp(name, "start-first")) {
		hello(fd, 1, 1);
		put(fd, &m);
	} else if (!strcmp(name, "trailing-bytes")) {
		hello(fd, 1, 1);
		header(fd, 29, VJ_AGENT_WORKLOAD, 0);
		put_raw(fd, (uint8_t[29]){ 0 }, 29);
	} else if (!strcmp(name, "nul-in-arg")) {
		hello(fd, 1, 1);
		workload(fd);
		header(fd, 3, VJ_AGENT_ARG, 0);
		put_raw(fd, "a\0b", 3);
	} else if (!strcmp(name, "bad-env")) {
		hello(fd, 1, 1);
		workload(fd);
		header(fd, 4, VJ_AGENT_ENV, 0);
		put_raw(fd, "1X=y", 4);
	} else if (!strcmp(name, "too-many-args")) {
		hello(fd, 1, 1);
		workload(fd);
		for (int i = 0; i < 257; i++)
			put_str(fd, VJ_AGENT_ARG, "x");
	} else if (!strcmp(name, "too-many-bytes")) {
		memset(big, 'a', sizeof(big));
		hello(fd, 1, 1);
		workload(fd);
		put_bytes(fd, VJ_AGENT_ARG, big, sizeof(big));
		put_bytes(fd, VJ_AGENT_ARG, big, sizeof(big));
	} else if (!strcmp(name, "empty-argv")) {
		hello(fd, 1, 1);
		workload(fd);
		put(fd, &m);
	} else if (!strcmp(name, "oversized-stdin")) {
		start_sleeper(fd);
		header(fd, VJ_AGENT_PAYLOAD_MAX + 1, VJ_AGENT_STDIN, 0);
	} else if (!strcmp(name, "stdout-from-launcher")) {
		start_sleeper(fd);
		put_str(fd, VJ_AGENT_STDOUT, "mine");
	} else if (!strcmp(name, "stdin-after-eof")) {
		start_sleeper(fd);
		m.type = VJ_AGENT_STDIN_EOF;
		put(fd, &m);
		put_str(fd, VJ_AGENT_STDIN, "late");
	} else if (!strcmp(name, "signal-zero")) {
		start_sleeper(fd);
		header(fd, 4, VJ_AGENT_SIGNAL, 0);
		put_raw(fd, "\0\0\0\0", 4);
	} else if (!strcmp(name, "settime-in-version-1")) {
		start_sleeper(fd);
		m.type = VJ_AGENT_SETTIME;
		put(fd, &m);
	} else if (!strcmp(name, "restored-in-version-2")) {
		hello(fd, 2, 2);
		m.type = VJ_AGENT_RESTORED;
		put(fd, &m);
	} else if (!strcmp(name, "restored-after-workload")) {
		hello(fd, 3, 3);
		workload(fd);
		m.type = VJ_AGENT_RESTORED;
		put(fd, &m);
	} else if (!strcmp(name, "restored-twice")) {
		hello(fd, 3, 3);
		m.type = VJ_AGENT_RESTORED;
		put(fd, &m);
		put(fd, &m);
	} else if (!strcmp(name, "restored-multicast-mac") ||
		   !strcmp(name, "restored-too-many-macs")) {
		/* entropy, clock, no hostname, one MAC entry for eth0 */
		uint8_t p[84] = { 0 };
		p[74] = strcmp(name, "restored-multicast-mac") ? VJ_AGENT_NETS_MAX + 1 : 1;
		memcpy(p + 78, "\x03\x00\x00\x00\x00\x01", 6);
		hello(fd, 3, 3);
		header(fd, sizeof(p), VJ_AGENT_RESTORED, 0);
		put_raw(fd, p, sizeof(p));
	} else if (!strcmp(name, "settime-short")) {
		start_sleeper(fd);
		header(fd, 7, VJ_AGENT_SETTIME, 0);
		put_raw(fd, "\0\0\0\0\0\0\0", 7);
	} else if (!strcmp(name, "settime-long")) {
		start_sleeper(fd);
		header(fd, 9, VJ_AGENT_SETTIME, 0);
	} else if (!strcmp(name, "error-from-launcher")) {
		start_sleeper(fd);
		put_str(fd, VJ_AGENT_ERROR, "go away");
	} else if (!strcmp(name, "close-early")) {
		start_sleeper(fd);
		close(fd);
		return -1;
	} else if (!strcmp(name, "truncated")) {
		put_raw(fd, "\x08\0\0", 3);
		shutdown(fd, SHUT_WR);
	} else {
		fprintf(stderr, "agent-evil-launcher: unknown scenario \"%s\"\n", name);
		exit(2);
	}
	return fd;
}

int main(int argc, char **argv)
{
	int sv[2], st;
	pid_t pid;

	if (argc < 3) {
		fprintf(stderr, "usage: agent-evil-launcher SCENARIO AGENT-ARGV...\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		if (dup2(sv[1], 3) < 0)
			_exit(2);
		execvp(argv[2], &argv[2]);
		_exit(2);
	}
	close(sv[1]);
	int fd = play(argv[1], sv[0]);
	if (fd >= 0) {
		/* everything the agent sends until it closes; it must stay well-formed */
		print_until(fd, 0);
		close(fd);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFSIGNALED(st))
		printf("agent: signal %d\n", WTERMSIG(st));
	else
		printf("agent: exit %d\n", WEXITSTATUS(st));
	return 0;
}

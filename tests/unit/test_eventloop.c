#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "unit.h"
#include "eventloop.h"

struct seen {
	int fd;
	unsigned calls;
};

static void on_ready(void *opaque, uint32_t events)
{
	struct seen *s = opaque;
	uint64_t n;

	(void)events;
	(void)!read(s->fd, &n, sizeof(n));
	s->calls++;
}

static void poke(int fd)
{
	const uint64_t one = 1;

	assert_int_equal(write(fd, &one, sizeof(one)), sizeof(one));
}

struct fixture {
	struct vj_loop loop;
	struct seen dev, own;
	struct vj_loop_handler dev_h, own_h;
};

static int setup(void **state)
{
	static struct fixture f;

	assert_int_equal(vj_loop_init(&f.loop), 0);
	f.dev = (struct seen){ .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	f.own = (struct seen){ .fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC) };
	f.dev_h = (struct vj_loop_handler){ on_ready, &f.dev };
	f.own_h = (struct vj_loop_handler){ on_ready, &f.own };
	assert_int_equal(vj_loop_add(&f.loop, f.dev.fd, EPOLLIN, &f.dev_h), 0);
	assert_int_equal(vj_loop_add_own(&f.loop, f.own.fd, EPOLLIN, &f.own_h), 0);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	vj_loop_destroy(&f->loop);
	close(f->dev.fd);
	close(f->own.fd);
	return 0;
}

static void devices_and_own_fds_are_both_served(void **state)
{
	struct fixture *f = *state;

	poke(f->dev.fd);
	poke(f->own.fd);
	while (vj_loop_poll(&f->loop, 100) > 0 && (!f->dev.calls || !f->own.calls))
		;
	assert_int_equal(f->dev.calls, 1);
	assert_int_equal(f->own.calls, 1);
}

static void paused_devices_wait_while_own_fds_are_served(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vj_loop_devices(&f->loop, false), 0);
	poke(f->dev.fd);
	poke(f->own.fd);
	while (vj_loop_poll(&f->loop, 100) > 0)
		;
	assert_int_equal(f->own.calls, 1);
	assert_int_equal(f->dev.calls, 0);
	assert_int_equal(vj_loop_devices(&f->loop, true), 0);
	while (vj_loop_poll(&f->loop, 100) > 0 && !f->dev.calls)
		;
	assert_int_equal(f->dev.calls, 1);
}

static void pausing_twice_or_resuming_twice_is_harmless(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(vj_loop_devices(&f->loop, false), 0);
	assert_int_equal(vj_loop_devices(&f->loop, false), 0);
	assert_int_equal(vj_loop_devices(&f->loop, true), 0);
	assert_int_equal(vj_loop_devices(&f->loop, true), 0);
	poke(f->dev.fd);
	while (vj_loop_poll(&f->loop, 100) > 0 && !f->dev.calls)
		;
	assert_int_equal(f->dev.calls, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(devices_and_own_fds_are_both_served, setup, teardown),
		cmocka_unit_test_setup_teardown(paused_devices_wait_while_own_fds_are_served, setup,
						teardown),
		cmocka_unit_test_setup_teardown(pausing_twice_or_resuming_twice_is_harmless, setup,
						teardown),
	};
	vj_unit_filter();
	return cmocka_run_group_tests(tests, NULL, NULL);
}

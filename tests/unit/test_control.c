/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests: the daemon's control socket (daemon/control.h) under slow and
 * idle clients, over a real UNIX socket in a temporary directory. The
 * requests use an unknown command, which the socket layer answers itself
 * (no server needed). No wall-clock upper bounds: each check is about what
 * was answered or closed after a given sequence of calls.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "ctl/proto.h"
#include "daemon/control.h"

struct fixture {
	char dir[64];
	char path[96];
	fg_control_t *ctl;
	fg_control_env_t env;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/fg-test-control.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->path, sizeof(f->path), "%s/control.sock", f->dir);
	if (fg_control_open(f->path, &f->ctl) < 0)
		return -1;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	fg_control_close(f->ctl);
	rmdir(f->dir);
	free(f);
	return 0;
}

static int client(const struct fixture *f)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", f->path);
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	return fd;
}

/* A request the socket layer answers by itself: unknown command 999. */
static void request(uint8_t req[FG_CTL_HDRLEN])
{
	fg_ctl_put_hdr(req, FG_CTL_REQUEST, 999, 0);
}

/* Serve whatever is ready. Over a UNIX socket a connect or a send has
 * reached the daemon's side when it returns, so nothing to wait for. */
static void pump(struct fixture *f)
{
	for (int i = 0; i < 16; i++) {
		struct pollfd p = { .fd = fg_control_fd(f->ctl), .events = POLLIN };
		if (poll(&p, 1, 0) <= 0)
			break;
		fg_control_serve(f->ctl, &f->env);
	}
}

/* What the client has: 'R' a reply header, 'E' end of stream, '-' nothing
 * yet. Never blocks. */
static char state_of(int fd)
{
	uint8_t buf[FG_CTL_HDRLEN + 256];
	ssize_t k = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_PEEK);
	if (k == 0 || (k < 0 && errno != EAGAIN))
		return 'E';
	if (k < 0)
		return '-';
	fg_ctl_hdr_t h;
	return k >= FG_CTL_HDRLEN && fg_ctl_parse_hdr(buf, FG_CTL_HDRLEN, FG_CTL_RESPONSE, &h) == 0
		       ? 'R' : '?';
}

/* A client that sent part of its request does not hold up the next one:
 * the next is answered while the first is still waiting (the old loop
 * blocked in recv on the first until it timed out). */
static void test_partial_client_does_not_block(void **state)
{
	struct fixture *f = *state;
	uint8_t req[FG_CTL_HDRLEN];
	request(req);
	int slow = client(f);
	assert_int_equal(send(slow, req, 3, 0), 3);
	pump(f);
	int fast = client(f);
	assert_int_equal(send(fast, req, sizeof(req), 0), (ssize_t)sizeof(req));
	pump(f);
	assert_int_equal(state_of(fast), 'R');
	assert_int_equal(state_of(slow), '-');
	/* the slow one finishes and is answered too */
	assert_int_equal(send(slow, req + 3, sizeof(req) - 3, 0), (ssize_t)sizeof(req) - 3);
	pump(f);
	assert_int_equal(state_of(slow), 'R');
	assert_int_equal(fg_control_errors(f->ctl), 2);     /* two unknown commands */
	assert_int_equal(fg_control_timeouts(f->ctl), 0);
	close(slow);
	close(fast);
}

/* 64 idle clients take every place: a 65th is still answered, the oldest
 * idle one is closed to make room, and that is counted. */
static void test_cap_evicts_oldest_idle(void **state)
{
	struct fixture *f = *state;
	enum { N = 64 };
	int idle[N];
	for (int i = 0; i < N; i++) {
		idle[i] = client(f);
		pump(f);
	}
	assert_int_equal(fg_control_refused(f->ctl), 0);
	uint8_t req[FG_CTL_HDRLEN];
	request(req);
	int c = client(f);
	assert_int_equal(send(c, req, sizeof(req), 0), (ssize_t)sizeof(req));
	pump(f);
	assert_int_equal(state_of(c), 'R');
	assert_int_equal(state_of(idle[0]), 'E');
	for (int i = 1; i < N; i++)
		assert_int_equal(state_of(idle[i]), '-');
	assert_int_equal(fg_control_refused(f->ctl), 1);
	for (int i = 0; i < N; i++)
		close(idle[i]);
	close(c);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The request deadline (5 s from accept) holds however the client trickles:
 * an octet a second does not extend it; the timer alone wakes the poller
 * and the client is closed, not before the 5 s. */
static void test_request_deadline(void **state)
{
	struct fixture *f = *state;
	/* a request announcing 100 octets of payload: an octet a second
	 * cannot complete it before the deadline */
	uint8_t req[FG_CTL_HDRLEN + 100];
	memset(req, 'a', sizeof(req));
	fg_ctl_put_hdr(req, FG_CTL_REQUEST, 999, 100);
	uint64_t t0 = mono_ms();
	int c = client(f);
	pump(f);
	uint64_t closed = 0;
	for (size_t i = 0; i < sizeof(req) && !closed; i++) {
		if (send(c, req + i, 1, MSG_NOSIGNAL) != 1) {
			closed = mono_ms();      /* EPIPE: the daemon closed it */
			break;
		}
		pump(f);   /* the deadline timer, when due, makes the fd readable */
		if (state_of(c) == 'E')
			closed = mono_ms();
		else
			sleep_ms(1000);
	}
	assert_true(closed);
	assert_true(closed - t0 >= 5000);
	assert_int_equal(fg_control_timeouts(f->ctl), 1);
	assert_int_equal(fg_control_errors(f->ctl), 0);
	close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_partial_client_does_not_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_cap_evicts_oldest_idle, setup, teardown),
		cmocka_unit_test_setup_teardown(test_request_deadline, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

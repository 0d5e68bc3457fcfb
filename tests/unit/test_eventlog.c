/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: the EVE-style event log (daemon/eventlog.h): the pure
 * formatter (every line parsed back with jansson), the ring (drops when the
 * writer is stuck, nothing lost otherwise), reopen and close. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "daemon/eventlog.h"

static const struct timespec TS = { 1795317855, 123456789 };   /* 2026-11-22T03:24:15 */

static json_t *parse_line(const char *line, int n)
{
	json_error_t err;
	assert_true(n > 0);
	assert_int_equal(line[n - 1], '\n');
	assert_null(memchr(line, '\n', (size_t)n - 1));   /* exactly one line */
	json_t *j = json_loadb(line, (size_t)n, 0, &err);
	if (!j)
		fail_msg("not JSON (%s): %.*s", err.text, n, line);
	return j;
}

static json_t *format(const fg_event_t *e)
{
	static char buf[FG_EVLOG_LINE_MAX];
	int n = fg_evlog_format(e, &TS, buf, sizeof(buf));
	if (n < 0)
		fail_msg("format failed: %d", n);
	return parse_line(buf, n);
}

static const char *sget(json_t *o, const char *path)
{
	/* "a.b" lookups */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s", path);
	char *dot = strchr(tmp, '.');
	if (dot) {
		*dot = '\0';
		o = json_object_get(o, tmp);
		path = path + (dot - tmp) + 1;
	}
	return json_string_value(json_object_get(o, path));
}

static void sa4(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in *s = (struct sockaddr_in *)ss;
	memset(ss, 0, sizeof(*ss));
	s->sin_family = AF_INET;
	s->sin_port = htons(port);
	assert_int_equal(inet_pton(AF_INET, ip, &s->sin_addr), 1);
}

static void sa6(struct sockaddr_storage *ss, const char *ip, uint16_t port)
{
	struct sockaddr_in6 *s = (struct sockaddr_in6 *)ss;
	memset(ss, 0, sizeof(*ss));
	s->sin6_family = AF_INET6;
	s->sin6_port = htons(port);
	assert_int_equal(inet_pton(AF_INET6, ip, &s->sin6_addr), 1);
}

/* ---- pure formatting ----------------------------------------------------- */

static void test_timestamp(void **state)
{
	(void)state;
	char out[32];
	fg_evlog_timestamp(&TS, out);
	assert_string_equal(out, "2026-11-22T03:24:15.123456+0000");
	struct timespec t = { 0, 0 };
	fg_evlog_timestamp(&t, out);
	assert_string_equal(out, "1970-01-01T00:00:00.000000+0000");
	t.tv_sec = 951868799;   /* leap day */
	t.tv_nsec = 999999999;
	fg_evlog_timestamp(&t, out);
	assert_string_equal(out, "2000-02-29T23:59:59.999999+0000");
	t.tv_sec = 4107542400;  /* 2100 is not a leap year */
	t.tv_nsec = 0;
	fg_evlog_timestamp(&t, out);
	assert_string_equal(out, "2100-03-01T00:00:00.000000+0000");
	t.tv_sec = -1;
	fg_evlog_timestamp(&t, out);
	assert_string_equal(out, "1969-12-31T23:59:59.000000+0000");

	/* agrees with the C library over a spread of instants */
	uint64_t x = 88172645463325252ull;
	for (int i = 0; i < 20000; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		t.tv_sec = (time_t)(x % 8000000000ull);   /* 1970 .. 2223 */
		t.tv_nsec = (long)(x % 1000000000ull);
		struct tm tm;
		gmtime_r(&t.tv_sec, &tm);
		char want[64];
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%06ld+0000",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
			 tm.tm_sec, t.tv_nsec / 1000);
		fg_evlog_timestamp(&t, out);
		assert_string_equal(out, want);
	}
}

static void test_dns_event(void **state)
{
	(void)state;
	struct sockaddr_storage peer, local;
	sa4(&peer, "192.0.2.7", 40312);
	sa4(&local, "192.0.2.53", 53);
	fg_event_t e = { .type = FG_EV_DNS };
	fg_ev_flow_from_sockaddr(&e.flow, (struct sockaddr *)&peer, (struct sockaddr *)&local,
				 IPPROTO_UDP);
	e.u.dns.query = "www.example.test";
	e.u.dns.qtype = 1;
	e.u.dns.rcode = 0;
	e.u.dns.scope = "client";
	e.u.dns.answer = "198.51.100.7";
	e.u.dns.ttl = 5;

	char buf[FG_EVLOG_LINE_MAX];
	int n = fg_evlog_format(&e, &TS, buf, sizeof(buf));
	/* key order is part of the format (EVE readers and humans expect it) */
	assert_string_equal(buf,
		"{\"timestamp\":\"2026-11-22T03:24:15.123456+0000\",\"event_type\":\"dns\","
		"\"src_ip\":\"192.0.2.7\",\"src_port\":40312,\"dest_ip\":\"192.0.2.53\","
		"\"dest_port\":53,\"proto\":\"UDP\",\"dns\":{\"query\":\"www.example.test\","
		"\"qtype\":\"A\",\"rcode\":\"NOERROR\",\"scope\":\"client\","
		"\"answer\":\"198.51.100.7\",\"ttl\":5}}\n");
	json_decref(parse_line(buf, n));

	/* NXDOMAIN, unknown type, no answer: scope/answer/ttl left out */
	e.u.dns.qtype = 65280;
	e.u.dns.rcode = 3;
	e.u.dns.scope = NULL;
	e.u.dns.answer = NULL;
	json_t *j = format(&e);
	assert_string_equal(sget(j, "dns.qtype"), "TYPE65280");
	assert_string_equal(sget(j, "dns.rcode"), "NXDOMAIN");
	json_t *d = json_object_get(j, "dns");
	assert_null(json_object_get(d, "answer"));
	assert_null(json_object_get(d, "ttl"));
	assert_null(json_object_get(d, "scope"));
	json_decref(j);

	e.u.dns.rcode = 16;
	j = format(&e);
	assert_string_equal(sget(j, "dns.rcode"), "BADVERS");
	json_decref(j);
	e.u.dns.rcode = 13;
	j = format(&e);
	assert_string_equal(sget(j, "dns.rcode"), "RCODE13");
	json_decref(j);
}

static void test_flow_fields(void **state)
{
	(void)state;
	struct sockaddr_storage peer, local;
	fg_event_t e = { .type = FG_EV_DECOY };

	/* an IPv4-mapped peer of a dual-stack socket is logged as IPv4 */
	sa6(&peer, "::ffff:203.0.113.5", 1111);
	sa6(&local, "2001:db8::53", 53);
	fg_ev_flow_from_sockaddr(&e.flow, (struct sockaddr *)&peer, (struct sockaddr *)&local,
				 IPPROTO_TCP);
	json_t *j = format(&e);
	assert_string_equal(sget(j, "src_ip"), "203.0.113.5");
	assert_string_equal(sget(j, "dest_ip"), "2001:db8::53");
	assert_string_equal(sget(j, "proto"), "TCP");
	assert_int_equal(json_integer_value(json_object_get(j, "src_port")), 1111);
	assert_true(json_is_object(json_object_get(j, "decoy")));
	json_decref(j);

	/* ICMP: no ports */
	fg_ev_flow_from_sockaddr(&e.flow, (struct sockaddr *)&peer, (struct sockaddr *)&local,
				 IPPROTO_ICMPV6);
	j = format(&e);
	assert_null(json_object_get(j, "src_port"));
	assert_null(json_object_get(j, "dest_port"));
	assert_string_equal(sget(j, "proto"), "IPv6-ICMP");
	json_decref(j);

	/* no flow at all */
	fg_ev_flow_from_sockaddr(&e.flow, NULL, NULL, 0);
	j = format(&e);
	assert_null(json_object_get(j, "src_ip"));
	assert_null(json_object_get(j, "dest_ip"));
	assert_null(json_object_get(j, "proto"));
	json_decref(j);

	/* an unnamed protocol is written as its number */
	fg_ev_flow_from_sockaddr(&e.flow, (struct sockaddr *)&peer, NULL, 47);
	j = format(&e);
	assert_string_equal(sget(j, "proto"), "47");
	json_decref(j);
}

static void test_every_type(void **state)
{
	(void)state;
	for (int t = 0; t < FG_EV_NTYPES; t++) {
		fg_event_t e = { .type = (enum fg_ev_type)t };
		e.flow.sfamily = AF_INET;
		e.flow.proto = IPPROTO_TCP;
		e.flow.sport = 1;
		memcpy(e.flow.src, "\xc0\x00\x02\x01", 4);
		switch (t) {
		case FG_EV_GRANT:
			e.u.grant.service = "www";
			e.u.grant.scope = "net";
			e.u.grant.client = "192.0.2.0/24";
			e.u.grant.address = "198.51.100.9";
			e.u.grant.backend = "10.0.2.10";
			e.u.grant.timeout_ms = 7000;
			break;
		case FG_EV_RELOAD:
			e.u.reload.ok = false;
			e.u.reload.config = "/etc/fluxgate/fluxgate.conf";
			e.u.reload.message = "2 errors";
			break;
		case FG_EV_ERROR:
			e.u.error.where = "grant";
			e.u.error.code = -FG_EGRANT;
			e.u.error.message = "commit failed";
			break;
		default:
			break;
		}
		json_t *j = format(&e);
		const char *name = fg_ev_type_name(e.type);
		assert_non_null(name);
		assert_string_equal(sget(j, "event_type"), name);
		assert_true(json_is_object(json_object_get(j, name)));
		if (t == FG_EV_GRANT) {
			assert_string_equal(sget(j, "grant.client"), "192.0.2.0/24");
			assert_int_equal(json_integer_value(json_object_get(json_object_get(j, "grant"),
									    "timeout_ms")), 7000);
		}
		if (t == FG_EV_RELOAD) {
			assert_true(json_is_false(json_object_get(json_object_get(j, "reload"), "ok")));
			assert_null(json_object_get(json_object_get(j, "reload"), "zones"));
		}
		if (t == FG_EV_ERROR) {
			json_t *o = json_object_get(j, "error");
			assert_int_equal(json_integer_value(json_object_get(o, "code")), -FG_EGRANT);
			assert_string_equal(sget(j, "error.reason"), fg_strerror(-FG_EGRANT));
		}
		json_decref(j);
	}
	fg_event_t bad = { .type = FG_EV_NTYPES };
	char buf[64];
	assert_int_equal(fg_evlog_format(&bad, &TS, buf, sizeof(buf)), -EINVAL);
	assert_null(fg_ev_type_name(FG_EV_NTYPES));
}

static void test_escaping(void **state)
{
	(void)state;
	fg_event_t e = { .type = FG_EV_ERROR };
	e.u.error.where = "q\"uote\\back";
	e.u.error.message = "line\nbreak\ttab\x01\x7f\xc3\xa9";
	json_t *j = format(&e);
	assert_string_equal(sget(j, "error.where"), "q\"uote\\back");
	/* control and non-ASCII octets become \u00XX (read as Latin-1) */
	assert_string_equal(sget(j, "error.message"),
			    "line\nbreak\ttab\x01\x7f\xc3\x83\xc2\xa9");
	json_decref(j);
}

static void test_long_fields_and_small_buffers(void **state)
{
	(void)state;
	char big[2000];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	fg_event_t e = { .type = FG_EV_DNS };
	e.u.dns.query = big;
	json_t *j = format(&e);
	assert_int_equal(strlen(sget(j, "dns.query")), FG_EVLOG_STR_MAX);
	json_decref(j);

	/* a cut never splits an escape sequence */
	memset(big, '"', sizeof(big) - 1);
	j = format(&e);
	assert_int_equal(strlen(sget(j, "dns.query")), FG_EVLOG_STR_MAX / 2);
	json_decref(j);

	/* every too-small buffer fails without writing past its end */
	e.u.dns.query = "www.example.test";
	char ref[FG_EVLOG_LINE_MAX];
	int full = fg_evlog_format(&e, &TS, ref, sizeof(ref));
	assert_true(full > 0);
	for (size_t size = 0; size <= (size_t)full + 1; size++) {
		char *b = malloc(size + 8);
		memset(b, 0x5a, size + 8);
		int n = fg_evlog_format(&e, &TS, b, size);
		if (size < (size_t)full) {
			assert_int_equal(n, -FG_ESPACE);
		} else {
			assert_int_equal(n, full);
			assert_memory_equal(b, ref, (size_t)full);
		}
		for (size_t k = size; k < size + 8; k++)
			assert_int_equal((unsigned char)b[k], 0x5a);
		free(b);
	}
}

static void test_null_log_is_a_noop(void **state)
{
	(void)state;
	assert_int_equal(fg_evlog_dns(NULL, NULL, NULL, 0, "x", 1, 0, NULL, NULL, 0), 0);
	assert_int_equal(fg_evlog_error(NULL, "x", 0, "y"), 0);
	assert_int_equal(fg_evlog_reopen(NULL), 0);
	assert_int_equal(fg_evlog_dropped(NULL), 0);
	fg_evlog_close(NULL);
	fg_evlog_t *ev = NULL;
	assert_int_equal(fg_evlog_open("", 0, &ev), -EINVAL);
	assert_int_equal(fg_evlog_open("/nonexistent-dir/x/eve.json", 0, &ev), -ENOENT);
}

/* ---- the log ------------------------------------------------------------- */

static char tmpdir[64];

static int setup_dir(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/fg-evlog-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown_dir(void **state)
{
	(void)state;
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Read a file, check every line is a JSON object; returns the line count. */
static size_t check_file(const char *path, const char *want_type)
{
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	char *line = NULL;
	size_t cap = 0, count = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = parse_line(line, (int)n);
		if (want_type)
			assert_string_equal(sget(j, "event_type"), want_type);
		json_decref(j);
		count++;
	}
	free(line);
	fclose(f);
	return count;
}

static void test_write_reopen_close(void **state)
{
	(void)state;
	char path[128], rotated[128];
	snprintf(path, sizeof(path), "%s/eve.json", tmpdir);
	snprintf(rotated, sizeof(rotated), "%s/eve.json.1", tmpdir);
	fg_evlog_t *ev = NULL;
	assert_int_equal(fg_evlog_open(path, 16, &ev), 0);

	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	struct sockaddr_storage peer;
	sa6(&peer, "2001:db8::7", 5300);
	for (int i = 0; i < 10; i++)
		assert_int_equal(fg_evlog_dns(ev, (struct sockaddr *)&peer, NULL, IPPROTO_UDP,
					      "www.example.test", 28, 0, "any", "2001:db8:77::9", 5),
				 0);
	/* logrotate: rename, then SIGUSR1 -> reopen */
	for (int i = 0; i < 200 && fg_evlog_written(ev) < 10; i++)
		usleep(10000);
	assert_int_equal(fg_evlog_written(ev), 10);
	assert_int_equal(rename(path, rotated), 0);
	assert_int_equal(fg_evlog_reopen(ev), 0);
	uint8_t a[4] = { 192, 0, 2, 66 };
	for (int i = 0; i < 3; i++)
		assert_int_equal(fg_evlog_quarantine(ev, AF_INET, a, 60000, "control"), 0);
	fg_evlog_close(ev);   /* flushes */

	assert_int_equal(check_file(rotated, "dns"), 10);
	assert_int_equal(check_file(path, "quarantine"), 3);
}

struct producer {
	fg_evlog_t *ev;
	int id, count;
	int ok;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	for (int i = 0; i < p->count; i++) {
		char msg[64];
		snprintf(msg, sizeof(msg), "producer %d event %d", p->id, i);
		if (fg_evlog_error(p->ev, "test", 0, msg) == 0)
			p->ok++;
	}
	return NULL;
}

/* Many threads, a ring big enough: every line arrives whole, none twice. */
static void test_concurrent_producers(void **state)
{
	(void)state;
	enum { NT = 4, PER = 5000 };
	char path[128];
	snprintf(path, sizeof(path), "%s/conc.json", tmpdir);
	fg_evlog_t *ev = NULL;
	assert_int_equal(fg_evlog_open(path, NT * PER, &ev), 0);
	pthread_t th[NT];
	struct producer p[NT];
	for (int i = 0; i < NT; i++) {
		p[i] = (struct producer){ .ev = ev, .id = i, .count = PER };
		assert_int_equal(pthread_create(&th[i], NULL, produce, &p[i]), 0);
	}
	for (int i = 0; i < NT; i++)
		pthread_join(th[i], NULL);
	for (int i = 0; i < NT; i++)
		assert_int_equal(p[i].ok, PER);
	assert_int_equal(fg_evlog_dropped(ev), 0);
	fg_evlog_close(ev);

	/* each (producer, event) exactly once, in order per producer */
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	int next[NT] = { 0 };
	char *line = NULL;
	size_t cap = 0, total = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_t *j = parse_line(line, (int)n);
		int pid, k;
		assert_int_equal(sscanf(sget(j, "error.message"), "producer %d event %d", &pid, &k), 2);
		assert_true(pid >= 0 && pid < NT);
		assert_int_equal(k, next[pid]);
		next[pid]++;
		json_decref(j);
		total++;
	}
	free(line);
	fclose(f);
	assert_int_equal(total, NT * PER);
}

static void *close_thread(void *ev)
{
	fg_evlog_close(ev);
	return NULL;
}

/* A writer that cannot write (a FIFO nobody reads) must not hold up the
 * producers: once the ring is full, events are dropped and counted, and
 * everything accepted still arrives once the reader shows up. */
static void test_full_ring_drops(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	int rfd = open(path, O_RDONLY | O_NONBLOCK);
	assert_true(rfd >= 0);
	fg_evlog_t *ev = NULL;
	assert_int_equal(fg_evlog_open(path, 8, &ev), 0);

	/* long lines fill the pipe (64 KiB) quickly, then the 8 cells */
	char msg[700];
	memset(msg, 'x', sizeof(msg) - 1);
	msg[sizeof(msg) - 1] = '\0';
	int accepted = 0, dropped = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 2000; i++) {
		int rc = fg_evlog_error(ev, "test", 0, msg);
		if (rc == 0)
			accepted++;
		else if (rc == -ENOBUFS)
			dropped++;
		else
			fail_msg("unexpected %d", rc);
		if (i % 100 == 0)
			usleep(2000);   /* let the writer reach its blocking write */
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true(dropped > 0);
	assert_int_equal(fg_evlog_dropped(ev), (uint64_t)dropped);
	/* never blocked: well under a second for 2000 emits plus the naps */
	assert_true((t1.tv_sec - t0.tv_sec) < 2);

	/* now read everything: the writer unblocks and close() flushes */
	int flags = fcntl(rfd, F_GETFL);
	fcntl(rfd, F_SETFL, flags & ~O_NONBLOCK);
	FILE *f = fdopen(rfd, "r");
	assert_non_null(f);
	pthread_t closer;
	assert_int_equal(pthread_create(&closer, NULL, close_thread, ev), 0);
	char *line = NULL;
	size_t cap = 0;
	int lines = 0;
	ssize_t n;
	while ((n = getline(&line, &cap, f)) > 0) {
		json_decref(parse_line(line, (int)n));
		lines++;
	}
	pthread_join(closer, NULL);
	free(line);
	fclose(f);
	assert_int_equal(lines, accepted);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_timestamp),
		cmocka_unit_test(test_dns_event),
		cmocka_unit_test(test_flow_fields),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_long_fields_and_small_buffers),
		cmocka_unit_test(test_null_log_is_a_noop),
		cmocka_unit_test_setup_teardown(test_write_reopen_close, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_concurrent_producers, setup_dir, teardown_dir),
		cmocka_unit_test_setup_teardown(test_full_ring_drops, setup_dir, teardown_dir),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of fluxdecoy's high-interaction pure parts: the universe of a
 * source, the scan filter (one tuple per window, filtered flows do not
 * extend it, full table fails closed, expiry), the binding table (find,
 * add, open/close, idle collection never of an open binding, capacity),
 * the backend choice, the fake Internet's DNS answers, the messages to
 * and from [priv] (exact parse, refusals with reasons) and the config
 * checks of backends and containment (file:line messages).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>

#include <cmocka.h>

#include "common/err.h"
#include "decoy/binding.h"
#include "decoy/dconf.h"
#include "decoy/privmsg.h"
#include "decoy/reflectdns.h"
#include "decoy/scanfilter.h"
#include "decoy/universe.h"

/* the universes of one epoch (a zero key will do here) */
static const fd_universes_t U = { .prefix4 = 32, .prefix6 = 64 };

static fd_addr_t a4(const char *s)
{
	fd_addr_t a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET;
	assert_int_equal(inet_pton(AF_INET, s, a.a), 1);
	return a;
}

static fd_addr_t a6(const char *s)
{
	fd_addr_t a;

	memset(&a, 0, sizeof(a));
	a.family = AF_INET6;
	assert_int_equal(inet_pton(AF_INET6, s, a.a), 1);
	return a;
}

static void test_universe(void **st)
{
	(void)st;
	fd_addr_t x = a4("10.0.3.7"), y = a4("10.0.3.8");
	fd_universe_t ux = fd_universe_of(&U, &x), uy = fd_universe_of(&U, &y);
	char t[64];

	assert_false(fd_universe_eq(&ux, &uy));
	fd_universe_text(&ux, t);
	assert_string_equal(t, "10.0.3.7/32");
	/* IPv6: one /64 is one universe */
	fd_addr_t p = a6("2001:db8:1:2::1"), q = a6("2001:db8:1:2:ffff::9"), r = a6("2001:db8:1:3::1");
	fd_universe_t up = fd_universe_of(&U, &p), uq = fd_universe_of(&U, &q), ur = fd_universe_of(&U, &r);
	assert_true(fd_universe_eq(&up, &uq));
	assert_false(fd_universe_eq(&up, &ur));
	fd_universe_text(&up, t);
	assert_string_equal(t, "2001:db8:1:2::/64");
	/* sockaddr: IPv4-mapped is IPv4 */
	struct sockaddr_storage ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	memset(&ss, 0, sizeof(ss));
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(80);
	inet_pton(AF_INET6, "::ffff:10.0.3.7", &s6->sin6_addr);
	fd_addr_t m;
	uint16_t port;
	assert_true(fd_addr_from_sockaddr(&ss, &m, &port));
	assert_true(fd_addr_eq(&m, &x));
	assert_int_equal(port, 80);
	ss.ss_family = AF_UNIX;
	assert_false(fd_addr_from_sockaddr(&ss, &m, &port));
}

static void test_scanfilter(void **st)
{
	(void)st;
	fd_scanfilter_t *f;
	fd_addr_t s1 = a4("10.0.3.1"), s2 = a4("10.0.3.2");
	bool full;

	assert_int_equal(fd_scanfilter_new(60000, 4, 1, &f), 0);
	/* a horizontal scan: the first flow passes, the rest of the window not */
	assert_true(fd_scanfilter_pass(f, &s1, 80, 6, 1000, &full));
	assert_false(full);
	for (int i = 0; i < 254; i++)
		assert_false(fd_scanfilter_pass(f, &s1, 80, 6, 1000 + (uint64_t)i * 100, &full));
	assert_false(full);
	/* another port, another protocol, another source: each its own tuple */
	assert_true(fd_scanfilter_pass(f, &s1, 22, 6, 2000, NULL));
	assert_true(fd_scanfilter_pass(f, &s1, 80, 17, 2000, NULL));
	assert_true(fd_scanfilter_pass(f, &s2, 80, 6, 2000, NULL));
	assert_int_equal(fd_scanfilter_size(f), 4);
	/* filtered flows did not extend the window: it ends 60 s after the pass */
	assert_false(fd_scanfilter_pass(f, &s1, 80, 6, 60999, NULL));
	assert_true(fd_scanfilter_pass(f, &s1, 80, 6, 61000, NULL));
	/* full, nothing expired: a new tuple is filtered and says why */
	fd_addr_t s3 = a4("10.0.3.3");
	assert_false(fd_scanfilter_pass(f, &s3, 80, 6, 61000, &full));
	assert_true(full);
	/* after the window everything of before expires and room comes back */
	assert_int_equal(fd_scanfilter_expire(f, 62000), 3);
	assert_int_equal(fd_scanfilter_size(f), 1);
	assert_true(fd_scanfilter_pass(f, &s3, 80, 6, 62000, &full));
	assert_false(full);
	fd_scanfilter_free(f);
	assert_int_equal(fd_scanfilter_new(1000, 0, 1, &f), -EINVAL);
}

static fd_binding_key_t key(const char *src, const char *dst, uint16_t port)
{
	fd_binding_key_t k;
	fd_addr_t s = a4(src);

	memset(&k, 0xaa, sizeof(k));  /* padding garbage must not matter */
	k.u = fd_universe_of(&U, &s);
	k.dst = a4(dst);
	k.port = port;
	k.proto = 6;
	return k;
}

struct gone { unsigned n; uint32_t last_backend; };

static void on_gone(void *ctx, const fd_binding_t *b)
{
	struct gone *g = ctx;

	g->n++;
	g->last_backend = b->backend;
}

static void test_bindings(void **st)
{
	(void)st;
	fd_bindings_t *t;
	fd_binding_t *b, *c;
	fd_binding_key_t k1 = key("10.0.3.7", "198.51.100.20", 80);
	fd_binding_key_t k2 = key("10.0.3.7", "198.51.100.20", 22);
	fd_binding_key_t k3 = key("10.0.3.8", "198.51.100.20", 80);
	struct gone g = { 0, 0 };

	assert_int_equal(fd_bindings_new(2, 7, &t), 0);
	assert_null(fd_bindings_find(t, &k1));
	assert_int_equal(fd_bindings_add(t, &k1, 1, 0, 1000, &b), 0);
	assert_non_null(b);
	fd_binding_key_t again = key("10.0.3.7", "198.51.100.20", 80);
	assert_ptr_equal(fd_bindings_find(t, &again), b);
	assert_int_equal(fd_bindings_add(t, &again, 1, 1, 1000, NULL), -EEXIST);
	assert_int_equal(fd_bindings_add(t, &k2, 1, 1, 1000, &c), 0);
	assert_int_equal(fd_bindings_add(t, &k3, 1, 1, 1000, NULL), -ENOSPC);
	assert_int_equal(fd_bindings_count(t), 2);
	/* an open binding is never collected, however idle */
	fd_binding_open(b, 1000);
	assert_int_equal(b->flows, 1);
	assert_int_equal(fd_bindings_expire(t, 1000000, 5000, on_gone, &g), 1);
	assert_int_equal(g.n, 1);
	assert_int_equal(g.last_backend, 1);   /* k2's */
	assert_ptr_equal(fd_bindings_find(t, &k1), b);
	/* closed: idle counts from the close */
	fd_binding_close(b, 2000000);
	assert_int_equal(fd_bindings_expire(t, 2004999, 5000, on_gone, &g), 0);
	assert_int_equal(fd_bindings_expire(t, 2005000, 5000, on_gone, &g), 1);
	assert_int_equal(fd_bindings_count(t), 0);
	assert_null(fd_bindings_find(t, &k1));
	fd_bindings_free(t);
}

static void test_backend_pick(void **st)
{
	(void)st;
	unsigned load[3] = { 2, 1, 1 };

	/* least loaded; among equals the one the hash starts at */
	assert_int_equal(fd_backend_pick(load, 3, 2), 2);
	assert_int_equal(fd_backend_pick(load, 3, 1), 1);
	assert_int_equal(fd_backend_pick(load, 3, 0), 1);
	load[0] = 0;
	assert_int_equal(fd_backend_pick(load, 3, 5), 0);
	/* one universe, one hash: the same pick while the load is the same */
	fd_addr_t s = a4("10.0.3.7");
	fd_universe_t u = fd_universe_of(&U, &s);
	unsigned even[4] = { 0, 0, 0, 0 };
	assert_int_equal(fd_backend_pick(even, 4, fd_universe_hash(&u, 9)),
			 fd_backend_pick(even, 4, fd_universe_hash(&u, 9)));
}

/* A query for `name` (wire form) of `type`. */
static size_t mkquery(uint8_t *q, const char *wname, size_t wlen, uint16_t type, uint16_t flags)
{
	size_t n = 0;

	q[n++] = 0x12; q[n++] = 0x34;
	q[n++] = (uint8_t)(flags >> 8); q[n++] = (uint8_t)flags;
	q[n++] = 0; q[n++] = 1; q[n++] = 0; q[n++] = 0;
	q[n++] = 0; q[n++] = 0; q[n++] = 0; q[n++] = 0;
	memcpy(q + n, wname, wlen);
	n += wlen;
	q[n++] = (uint8_t)(type >> 8); q[n++] = (uint8_t)type;
	q[n++] = 0; q[n++] = 1;
	return n;
}

static void test_reflect_dns(void **st)
{
	(void)st;
	static const char name[] = "\3www\4evil\7example";  /* + root label */
	uint8_t q[512], a[512], ip[4] = { 198, 51, 100, 250 };
	uint16_t qt;
	char qn[256];
	size_t n = mkquery(q, name, sizeof(name), 1, 0x0100);
	int m = fd_reflect_dns_answer(q, n, ip, a, sizeof(a), &qt, qn);

	assert_true(m > 0);
	assert_int_equal(qt, 1);
	assert_string_equal(qn, "www.evil.example.");
	assert_int_equal(a[0], 0x12);
	assert_int_equal(a[1], 0x34);
	assert_int_equal(a[2] & 0x80, 0x80);          /* QR */
	assert_int_equal(a[2] & 0x01, 0x01);          /* RD copied */
	assert_int_equal(a[3] & 0x0f, 0);             /* NOERROR */
	assert_int_equal(a[7], 1);                    /* one answer */
	assert_memory_equal(a + m - 4, ip, 4);        /* the bed's address */
	/* AAAA: empty NOERROR */
	n = mkquery(q, name, sizeof(name), 28, 0x0100);
	m = fd_reflect_dns_answer(q, n, ip, a, sizeof(a), &qt, qn);
	assert_true(m > 0);
	assert_int_equal(qt, 28);
	assert_int_equal(a[7], 0);
	assert_int_equal(a[3] & 0x0f, 0);
	/* a response (QR set) is not answered */
	n = mkquery(q, name, sizeof(name), 1, 0x8100);
	assert_int_equal(fd_reflect_dns_answer(q, n, ip, a, sizeof(a), &qt, qn), 0);
	/* truncated garbage: nothing, or an error answer; never a crash */
	m = fd_reflect_dns_answer(q, 5, ip, a, sizeof(a), NULL, NULL);
	assert_true(m >= 0);
	/* too small an output buffer: an error, not an overflow */
	n = mkquery(q, name, sizeof(name), 1, 0x0100);
	assert_true(fd_reflect_dns_answer(q, n, ip, a, 20, NULL, NULL) < 0);
}

static void test_privmsg(void **st)
{
	(void)st;
	uint8_t b[FD_PRIV_MAX];
	char err[200];
	fd_priv_req_t rq = { FD_PRIV_COUNTERS, 0, 0 }, got;
	fd_contain_counts_t in[3] = { { 1, 2, 3 }, { 0, 0, 0 }, { 1ULL << 40, 5, 6 } }, out[3];

	size_t n = fd_priv_build_request(&rq, b, sizeof(b));
	assert_int_equal(n, FD_PRIV_REQ_LEN);
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), 0);
	assert_int_equal(got.kind, FD_PRIV_COUNTERS);
	assert_int_equal(fd_priv_parse_request(b, 7, &got, err, sizeof(err)), -FG_EMALF);
	assert_string_equal(err, "request of 7 bytes (16 expected)");
	b[0] = 'X';
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), -FG_EMALF);
	assert_string_equal(err, "request without the FDQ1 magic");
	b[0] = 'F';
	b[7] = 9;
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), -FG_EMALF);
	assert_string_equal(err, "unknown request kind 9");
	b[7] = FD_PRIV_COUNTERS;
	b[11] = 1;
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), -FG_EMALF);
	assert_string_equal(err, "counters request with arguments");
	fd_priv_req_t sp = { FD_PRIV_SPAWN, 3, 7 };
	n = fd_priv_build_request(&sp, b, sizeof(b));
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), 0);
	assert_int_equal(got.kind, FD_PRIV_SPAWN);
	assert_int_equal(got.persona, 3);
	assert_int_equal(got.slot, 7);
	assert_int_equal(fd_priv_build_request(&sp, b, 15), 0);
	fd_priv_req_t dl = { FD_PRIV_DEAL, 2949120, 2 };   /* epoch, forced shuffle */
	n = fd_priv_build_request(&dl, b, sizeof(b));
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), 0);
	assert_int_equal(got.kind, FD_PRIV_DEAL);
	assert_int_equal(got.persona, 2949120);
	b[7] = 5;
	assert_int_equal(fd_priv_parse_request(b, n, &got, err, sizeof(err)), -FG_EMALF);
	assert_string_equal(err, "unknown request kind 5");

	int m = fd_priv_build_counts(in, 3, b, sizeof(b));
	assert_int_equal(m, 8 + 3 * 24);
	assert_int_equal(fd_priv_parse_counts(b, (size_t)m, out, 3), 0);
	assert_memory_equal(in, out, sizeof(in));
	/* one entry per persona, exactly */
	assert_int_equal(fd_priv_parse_counts(b, (size_t)m, out, 2), -FG_EMALF);
	assert_int_equal(fd_priv_parse_counts(b, (size_t)m - 1, out, 3), -FG_EMALF);
	assert_int_equal(fd_priv_build_counts(in, 3, b, 20), -ENOSPC);

	int32_t status;
	n = fd_priv_build_spawned(&sp, -ETIMEDOUT, b, sizeof(b));
	assert_int_equal(n, FD_PRIV_SPAWN_LEN);
	assert_int_equal(fd_priv_parse_spawned(b, n, &got, &status), 0);
	assert_int_equal(status, -ETIMEDOUT);
	assert_int_equal(got.slot, 7);
	assert_int_equal(fd_priv_parse_spawned(b, n - 1, &got, &status), -FG_EMALF);
	b[7] = FD_PRIV_COUNTERS;
	assert_int_equal(fd_priv_parse_spawned(b, n, &got, &status), -FG_EMALF);
}

struct sink {
	char buf[8192];
	size_t len;
};

static void sink_fn(void *ctx, const char *file, int line, const char *msg)
{
	struct sink *s = ctx;
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s:%d: %s\n",
			 file, line, msg);

	if (w > 0 && (size_t)w < sizeof(s->buf) - s->len)
		s->len += (size_t)w;
}

static int cload(const char *text, fd_conf_t **c, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	return fd_conf_load_buffer("d.conf", text, strlen(text), false, c, sink_fn, s);
}

static void test_conf_hi(void **st)
{
	(void)st;
	fd_conf_t *c;
	struct sink s;

	assert_int_equal(cload("decoy:\n"
			       "  reflect-address: 198.51.100.250\n"
			       "  reflect-dns: 10.0.4.1\n"
			       "persona:\n"
			       "  - id: web\n"
			       "    file: /p\n"
			       "    addresses: [198.51.100.0/24]\n"
			       "    backends: [10.0.4.10, 10.0.4.11]\n"
			       "    containment: reflect\n", &c, &s), 0);
	assert_int_equal(s.len, 0);
	/* defaults */
	assert_int_equal(c->decoy.scan_window_ms, 60000);
	assert_int_equal(c->decoy.binding_idle_ms, 300000);
	assert_int_equal(c->decoy.max_bindings, 4096);
	assert_int_equal(c->decoy.scan_filter_size, 65536);
	assert_string_equal(fd_conf_nft_table(c), "fluxdecoy");
	assert_int_equal(ntohs(((struct sockaddr_in *)&c->decoy.reflect_dns.ss)->sin_port), 53);
	assert_int_equal(c->personas[0].nbackends, 2);
	assert_int_equal(c->personas[0].containment, FD_CONTAIN_REFLECT);
	uint8_t b[4] = { 10, 0, 4, 11 }, o[4] = { 10, 0, 4, 12 };
	assert_int_equal(fd_conf_backend_persona(c, AF_INET, b), 0);
	assert_int_equal(fd_conf_backend_persona(c, AF_INET, o), -1);
	fd_conf_free(c);

	/* the default containment is drop; a persona without backends has none */
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n", &c, &s), 0);
	assert_int_equal(c->personas[0].containment, FD_CONTAIN_DROP);
	assert_int_equal(c->personas[0].nbackends, 0);
	fd_conf_free(c);

	assert_int_equal(cload("persona:\n"
			       "  - id: web\n"
			       "    file: /p\n"
			       "    addresses: [198.51.100.0/24]\n"
			       "    backends: [198.51.100.9]\n"
			       "    containment: reflect\n"
			       "  - id: two\n"
			       "    file: /p\n"
			       "    addresses: [203.0.113.0/24]\n"
			       "    backends: [10.0.4.1, 10.0.4.1]\n"
			       "    containment: reply-only\n"
			       "  - id: none\n"
			       "    file: /p\n"
			       "    containment: bounce\n", &c, &s), -FG_ESCHEMA);
	assert_null(c);
	const char *want[] = {
		"d.conf:2: persona 'web': containment reflect needs decoy.reflect-address and decoy.reflect-dns\n",
		"d.conf:5: persona 'web': backend 1 lies in the addresses of persona 'web' (backends must be outside the pool)\n",
		"d.conf:7: persona 'two': backend 2 is already a backend of persona 'two'\n",
		"d.conf:14: persona 'none': containment: expected one of drop, reply-only, reflect, got 'bounce'\n",
	};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
		if (!strstr(s.buf, want[i]))
			fail_msg("missing '%s' in:\n%s", want[i], s.buf);

	assert_int_equal(cload("decoy:\n  reflect-address: \"2001:db8::1\"\n"
			       "persona:\n  - id: web\n    file: /p\n    containment: drop\n"
			       "    backends: [10.0.4.10]\n", &c, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "d.conf:2: decoy.reflect-address: an IPv4 address is needed"))
		fail_msg("got: %s", s.buf);
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n    containment: reply-only\n",
			       &c, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "persona 'web': containment reply-only needs backends"))
		fail_msg("got: %s", s.buf);
	/* UDP high interaction: off by default, needs backends */
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n    udp-backends: true\n",
			       &c, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "persona 'web': udp-backends needs backends or backend-template"))
		fail_msg("got: %s", s.buf);
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n    backends: [10.0.4.10]\n",
			       &c, &s), 0);
	assert_false(c->personas[0].udp_backends);
	fd_conf_free(c);
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n    backends: [10.0.4.10]\n"
			       "    udp-backends: true\n", &c, &s), 0);
	assert_true(c->personas[0].udp_backends);
	fd_conf_free(c);

	/* backend templates: slots, their addresses, the checks */
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n"
			       "    addresses: [198.51.100.0/24]\n"
			       "    backend-template: [/usr/lib/spawn, web]\n"
			       "    template-addresses: [10.0.5.0/30, 10.0.6.9/32]\n", &c, &s), 0);
	assert_int_equal(fd_conf_slots(&c->personas[0]), 5);
	assert_int_equal(fd_conf_nbackends(&c->personas[0]), 5);
	uint8_t sa[4];
	assert_true(fd_conf_slot_addr(&c->personas[0], 3, sa));
	assert_memory_equal(sa, ((uint8_t[]){ 10, 0, 5, 3 }), 4);
	assert_true(fd_conf_slot_addr(&c->personas[0], 4, sa));
	assert_memory_equal(sa, ((uint8_t[]){ 10, 0, 6, 9 }), 4);
	assert_false(fd_conf_slot_addr(&c->personas[0], 5, sa));
	uint8_t t[4] = { 10, 0, 5, 2 };
	assert_int_equal(fd_conf_backend_persona(c, AF_INET, t), 0);
	fd_conf_free(c);
	assert_int_equal(cload("persona:\n  - id: web\n    file: /p\n"
			       "    addresses: [198.51.100.0/24]\n"
			       "    backends: [10.0.4.1]\n"
			       "    backend-template: [spawn]\n"
			       "    template-addresses: [198.51.100.0/23]\n"
			       "  - id: two\n    file: /p\n"
			       "    template-addresses: [10.1.0.0/16]\n", &c, &s), -FG_ESCHEMA);
	const char *want2[] = {
		"persona 'web': backends and backend-template exclude each other",
		"persona 'web': backend-template: the command must be an absolute path",
		"persona 'web': template-addresses overlap the addresses of persona 'web'",
		"persona 'two': backend-template and template-addresses go together",
	};
	for (size_t i = 0; i < sizeof(want2) / sizeof(want2[0]); i++)
		if (!strstr(s.buf, want2[i]))
			fail_msg("missing '%s' in:\n%s", want2[i], s.buf);
	assert_int_equal(cload("persona:\n  - id: big\n    file: /p\n"
			       "    backend-template: [/x]\n"
			       "    template-addresses: [10.1.0.0/23]\n", &c, &s), -FG_ESCHEMA);
	if (!strstr(s.buf, "persona 'big': template-addresses: more than 256 slots"))
		fail_msg("got: %s", s.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_universe),
		cmocka_unit_test(test_scanfilter),
		cmocka_unit_test(test_bindings),
		cmocka_unit_test(test_backend_pick),
		cmocka_unit_test(test_reflect_dns),
		cmocka_unit_test(test_privmsg),
		cmocka_unit_test(test_conf_hi),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

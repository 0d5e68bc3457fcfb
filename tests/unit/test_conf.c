/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests of the config loader: the scalar parsers, the schema (types,
 * defaults, shapes, unknown and duplicate keys), the checks across items and
 * the exact text and line of every diagnostic an operator would see.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "common/err.h"
#include "conf/conf.h"
#include "conf/scalar.h"

/* ---- helpers ---- */

/* Collects "file:line: message\n" lines, as fluxgated --check prints them. */
struct sink {
	char buf[65536];
	size_t len;
	unsigned n;
};

static void sink_fn(void *ctx, const char *file, int line, const char *msg)
{
	struct sink *s = ctx;
	int w = snprintf(s->buf + s->len, sizeof(s->buf) - s->len, "%s:%d: %s\n",
			 file, line, msg);

	if (w > 0 && (size_t)w < sizeof(s->buf) - s->len)
		s->len += (size_t)w;
	s->n++;
}

static int load(const char *text, fg_conf_t **conf, struct sink *s)
{
	memset(s, 0, sizeof(*s));
	return fg_conf_load_buffer("t.conf", text, strlen(text), conf, sink_fn, s);
}

/* Load text that must be valid; return the config. */
static fg_conf_t *load_ok(const char *text)
{
	struct sink s;
	fg_conf_t *c = NULL;
	int rc = load(text, &c, &s);

	if (rc != 0 || s.n != 0)
		fprintf(stderr, "unexpected diagnostics (rc %d):\n%s", rc, s.buf);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 0);
	assert_non_null(c);
	return c;
}

static uint16_t addr_port(const fg_conf_addr_t *a)
{
	if (a->ss.ss_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)&a->ss)->sin_port);
	return ntohs(((const struct sockaddr_in6 *)&a->ss)->sin6_port);
}

static void assert_addr(const fg_conf_addr_t *a, const char *ip, uint16_t port)
{
	char buf[INET6_ADDRSTRLEN];

	if (a->ss.ss_family == AF_INET) {
		assert_int_equal(a->len, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((const struct sockaddr_in *)&a->ss)->sin_addr,
			  buf, sizeof(buf));
	} else {
		assert_int_equal(a->ss.ss_family, AF_INET6);
		assert_int_equal(a->len, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6, &((const struct sockaddr_in6 *)&a->ss)->sin6_addr,
			  buf, sizeof(buf));
	}
	assert_string_equal(buf, ip);
	assert_int_equal(addr_port(a), port);
}

/* Lines 1-10 of most service tests; the next line is 11. */
#define SERVER "server:\n  listen: 127.0.0.1\n"
#define ZONE "zone:\n  - domain: example.test\n    soa: { mname: ns1, rname: hm }\n"
#define POOLS "pool:\n  - id: p4\n    prefix: 198.51.100.0/24\n" \
	      "  - id: p6\n    prefix: 2001:db8::/64\n"
#define HEAD SERVER ZONE POOLS

/* ---- time / size ---- */

static void test_port_spec(void **state)
{
	fg_conf_port_t p;
	(void)state;

	assert_int_equal(fg_conf_parse_port("tcp/80", &p), 0);
	assert_int_equal(p.proto, 6);
	assert_int_equal(p.first, 80);
	assert_int_equal(p.last, 80);
	assert_int_equal(fg_conf_parse_port("udp/53", &p), 0);
	assert_int_equal(p.proto, 17);
	assert_int_equal(fg_conf_parse_port("tcp/8000-8099", &p), 0);
	assert_int_equal(p.first, 8000);
	assert_int_equal(p.last, 8099);
	assert_int_equal(fg_conf_parse_port("udp/1-65535", &p), 0);
	assert_int_equal(fg_conf_parse_port("any", &p), 0);
	assert_int_equal(p.proto, 0);
	assert_int_equal(p.last, 65535);
	static const char *const bad[] = { "tcp/0", "tcp/65536", "tcp/", "tcp/80-", "tcp/90-80",
		"tcp/-1", "tcp/+80", "tcp/ 80", "tcp/80x", "TCP/80", "icmp/8", "80", "tcp80",
		"tcp/4294967376", "any/80", "" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_conf_parse_port(bad[i], &p), -FG_ESYNTAX);
}

static void test_ports_loaded(void **state)
{
	(void)state;

	fg_conf_t *c = load_ok(HEAD "  - { id: q4, prefix: 198.51.101.0/24 }\n"
			      "  - { id: r4, prefix: 198.51.102.0/24 }\n"
			      "service:\n"
			      "  - { id: a, name: a.example.test, backend: 10.0.0.1, pool: p4,\n"
			      "      ports: [ tcp/80, udp/53 ] }\n"
			      "  - { id: b, name: b.example.test, backend: 10.0.0.1@8080, pool: q4 }\n"
			      "  - { id: c, name: c.example.test, backend: 10.0.0.1, pool: r4, ports: any }\n");
	assert_int_equal(c->services[0].nports, 2);
	assert_string_equal(c->services[0].ports[1], "udp/53");
	assert_int_equal(c->services[1].nports, 0);
	assert_int_equal(c->services[2].nports, 1);
	fg_conf_free(c);
}

static void test_time(void **state)
{
	uint32_t ms;
	(void)state;

	assert_int_equal(fg_conf_parse_time_ms("5", &ms), 0);
	assert_int_equal(ms, 5000);
	assert_int_equal(fg_conf_parse_time_ms("0", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(fg_conf_parse_time_ms("250ms", &ms), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(fg_conf_parse_time_ms("7s", &ms), 0);
	assert_int_equal(ms, 7000);
	assert_int_equal(fg_conf_parse_time_ms("10m", &ms), 0);
	assert_int_equal(ms, 600000);
	assert_int_equal(fg_conf_parse_time_ms("2h", &ms), 0);
	assert_int_equal(ms, 7200000);
	assert_int_equal(fg_conf_parse_time_ms("3d", &ms), 0);
	assert_int_equal(ms, 3 * 86400000u);
	assert_int_equal(fg_conf_parse_time_ms("1w", &ms), 0);
	assert_int_equal(ms, 604800000u);
	assert_int_equal(fg_conf_parse_time_ms("007s", &ms), 0);
	assert_int_equal(ms, 7000);
	/* the uint32 millisecond limit, exactly */
	assert_int_equal(fg_conf_parse_time_ms("4294967295ms", &ms), 0);
	assert_int_equal(ms, UINT32_MAX);
	assert_int_equal(fg_conf_parse_time_ms("4294967296ms", &ms), -ERANGE);
	assert_int_equal(fg_conf_parse_time_ms("4294968s", &ms), -ERANGE);
	assert_int_equal(fg_conf_parse_time_ms("8w", &ms), -ERANGE);
	assert_int_equal(fg_conf_parse_time_ms("7w", &ms), 0);
	assert_int_equal(fg_conf_parse_time_ms("18446744073709551616", &ms), -ERANGE);
	assert_int_equal(fg_conf_parse_time_ms("99999999999999999w", &ms), -ERANGE);

	const char *bad[] = { "", "s", "ms", "5 s", " 5", "5 ", "-5", "+5", "5S",
			      "5sec", "1.5s", "5x", "0x10", "1h30m", "5mss", "w5" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ms = 4242;
		assert_int_equal(fg_conf_parse_time_ms(bad[i], &ms), -FG_ESYNTAX);
		assert_int_equal(ms, 4242);  /* untouched on error */
	}
	assert_int_equal(fg_conf_parse_time_ms(NULL, &ms), -EINVAL);
}

static void test_time_internal(void **state)
{
	char err[512], buf[32];
	uint64_t ms;
	(void)state;

	/* beyond uint32: the seconds-valued items (SOA timers) need it */
	assert_int_equal(fg_scalar_time("8w", &ms, err, sizeof(err)), 0);
	assert_true(ms == 8ULL * 604800000ULL);
	assert_int_equal(fg_scalar_time("5x", &ms, err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "invalid time '5x' (expected a number with an "
			    "optional unit ms, s, m, h, d or w)");
	assert_int_equal(fg_scalar_time("99999999999999999w", &ms, err, sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "time '99999999999999999w' is too large");

	fg_format_time(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
	fg_format_time(1, buf, sizeof(buf));
	assert_string_equal(buf, "1ms");
	fg_format_time(1500, buf, sizeof(buf));
	assert_string_equal(buf, "1500ms");
	fg_format_time(120000, buf, sizeof(buf));
	assert_string_equal(buf, "2m");
	fg_format_time(49ULL * 86400000ULL, buf, sizeof(buf));
	assert_string_equal(buf, "7w");
	fg_format_time(3 * 86400000ULL, buf, sizeof(buf));
	assert_string_equal(buf, "3d");
}

static void test_size(void **state)
{
	char err[512], buf[32];
	uint64_t v;
	(void)state;

	assert_int_equal(fg_conf_parse_size("0", &v), 0);
	assert_true(v == 0);
	assert_int_equal(fg_conf_parse_size("262144", &v), 0);
	assert_true(v == 262144);
	assert_int_equal(fg_conf_parse_size("256k", &v), 0);
	assert_true(v == 262144);
	assert_int_equal(fg_conf_parse_size("256K", &v), 0);
	assert_true(v == 262144);
	assert_int_equal(fg_conf_parse_size("1M", &v), 0);
	assert_true(v == 1048576);
	assert_int_equal(fg_conf_parse_size("3G", &v), 0);
	assert_true(v == 3ULL << 30);
	assert_int_equal(fg_conf_parse_size("18446744073709551615", &v), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(fg_conf_parse_size("18446744073709551616", &v), -ERANGE);
	assert_int_equal(fg_conf_parse_size("17179869184G", &v), -ERANGE);
	const char *bad[] = { "", "k", "1m", "1g", "1KB", "1 k", "-1", "1.5M", "1T" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_conf_parse_size(bad[i], &v), -FG_ESYNTAX);
	assert_int_equal(fg_scalar_size("1T", &v, err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "invalid size '1T' (expected a number with an "
			    "optional unit k, M or G)");

	fg_format_size(1ULL << 30, buf, sizeof(buf));
	assert_string_equal(buf, "1G");
	fg_format_size(262144, buf, sizeof(buf));
	assert_string_equal(buf, "256k");
	fg_format_size(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1000");
	fg_format_size(0, buf, sizeof(buf));
	assert_string_equal(buf, "0");
}

/* ---- integers, numbers, booleans ---- */

static void test_uint_float_bool(void **state)
{
	char err[512];
	uint64_t v;
	double d;
	bool b;
	(void)state;

	assert_int_equal(fg_scalar_uint("auto", 1, 256, true, &v, err, sizeof(err)), 0);
	assert_true(v == 0);
	assert_int_equal(fg_scalar_uint("256", 1, 256, true, &v, err, sizeof(err)), 0);
	assert_true(v == 256);
	assert_int_equal(fg_scalar_uint("1", 1, 256, false, &v, err, sizeof(err)), 0);
	assert_int_equal(fg_scalar_uint("257", 1, 256, true, &v, err, sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "expected 'auto' or an integer 1..256, got '257'");
	assert_int_equal(fg_scalar_uint("auto", 1, 256, false, &v, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "expected an integer 1..256, got 'auto'");
	assert_int_equal(fg_scalar_uint("0", 1, 9, false, &v, err, sizeof(err)), -ERANGE);
	assert_int_equal(fg_scalar_uint("-1", 0, 9, false, &v, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_int_equal(fg_scalar_uint("1e3", 0, 9999, false, &v, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_int_equal(fg_scalar_uint("4294967295", 0, UINT32_MAX, false, &v, err,
					sizeof(err)), 0);
	assert_true(v == UINT32_MAX);
	assert_int_equal(fg_scalar_uint("99999999999999999999", 0, UINT64_MAX, false,
					&v, err, sizeof(err)), -ERANGE);

	assert_int_equal(fg_scalar_float("0.1", 0, true, 1, &d, err, sizeof(err)), 0);
	assert_true(d > 0.0999999 && d < 0.1000001);
	assert_int_equal(fg_scalar_float("1", 0, true, 1, &d, err, sizeof(err)), 0);
	assert_true(d == 1.0);
	assert_int_equal(fg_scalar_float("1.000", 0, true, 1, &d, err, sizeof(err)), 0);
	assert_int_equal(fg_scalar_float("0.000001", 0, true, 1, &d, err, sizeof(err)), 0);
	assert_int_equal(fg_scalar_float("0", 0, true, 1, &d, err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "expected a number in (0, 1], got '0'");
	assert_int_equal(fg_scalar_float("0", 0, false, 1, &d, err, sizeof(err)), 0);
	assert_int_equal(fg_scalar_float("1.0001", 0, true, 1, &d, err, sizeof(err)),
			 -ERANGE);
	const char *bad[] = { "", ".5", "5.", "1e-1", "-0.5", "+0.5", "nan", "inf",
			      "0x1p-3", "0,5", "0.1.2", "0.1234567890123456789" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_scalar_float(bad[i], 0, true, 1, &d, err,
						 sizeof(err)), -FG_ESYNTAX);

	assert_int_equal(fg_scalar_bool("on", &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(fg_scalar_bool("yes", &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(fg_scalar_bool("true", &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(fg_scalar_bool("off", &b, err, sizeof(err)), 0);
	assert_false(b);
	assert_int_equal(fg_scalar_bool("no", &b, err, sizeof(err)), 0);
	assert_false(b);
	assert_int_equal(fg_scalar_bool("false", &b, err, sizeof(err)), 0);
	assert_false(b);
	assert_int_equal(fg_scalar_bool("1", &b, err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "expected on or off, got '1'");
}

/* ---- addresses and prefixes ---- */

static void test_addr(void **state)
{
	char err[512], buf[64];
	fg_conf_addr_t a;
	(void)state;

	assert_int_equal(fg_conf_parse_addr("10.0.0.1", 53, &a), 0);
	assert_addr(&a, "10.0.0.1", 53);
	assert_int_equal(a.line, 0);
	assert_int_equal(fg_conf_parse_addr("10.0.0.1@5353", 53, &a), 0);
	assert_addr(&a, "10.0.0.1", 5353);
	assert_int_equal(fg_conf_parse_addr("fd00::1@53", 0, &a), 0);
	assert_addr(&a, "fd00::1", 53);
	assert_int_equal(fg_conf_parse_addr("::1", 9153, &a), 0);
	assert_addr(&a, "::1", 9153);
	assert_int_equal(fg_conf_parse_addr("::", 0, &a), 0);
	assert_addr(&a, "::", 0);
	assert_int_equal(fg_conf_parse_addr("::ffff:192.0.2.1@1", 0, &a), 0);
	assert_addr(&a, "::ffff:192.0.2.1", 1);
	assert_int_equal(fg_conf_parse_addr("0.0.0.0@65535", 0, &a), 0);
	assert_addr(&a, "0.0.0.0", 65535);

	const char *bad[] = { "", "@53", "10.0.0.1@", "[fd00::1]:53", "[fd00::1]",
			      "10.0.0.1:53", "10.0.0", "10.0.0.256", "010.0.0.1x",
			      "fd00::1::2", "fe80::1%eth0", " 10.0.0.1", "10.0.0.1 ",
			      "host.example", "10.0.0.1@53@53",
			      "1111:2222:3333:4444:5555:6666:7777:8888:9999" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_conf_parse_addr(bad[i], 53, &a), -FG_ESYNTAX);
	const char *badport[] = { "10.0.0.1@0", "10.0.0.1@65536", "10.0.0.1@-1",
				  "10.0.0.1@5x", "::1@99999999999999999999" };
	for (size_t i = 0; i < sizeof(badport) / sizeof(badport[0]); i++)
		assert_true(fg_conf_parse_addr(badport[i], 53, &a) < 0);

	assert_int_equal(fg_scalar_addr("[fd00::1]:53", 53, true, &a, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "invalid address '[fd00::1]:53' (expected ADDR or "
			    "ADDR@PORT, e.g. 192.0.2.1@53 or 2001:db8::1@53)");
	assert_int_equal(fg_scalar_addr("10.0.0.1@53", 0, false, &a, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "expected an address without port, got '10.0.0.1@53'");
	assert_int_equal(fg_scalar_addr("x", 0, false, &a, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "invalid address 'x' (expected an IPv4 or IPv6 "
			    "address such as 192.0.2.1 or 2001:db8::1)");
	assert_int_equal(fg_scalar_addr("10.0.0.1@0", 0, true, &a, err, sizeof(err)),
			 -ERANGE);
	assert_string_equal(err, "invalid port in '10.0.0.1@0' (expected 1..65535 "
			    "after '@')");

	a.line = 77;  /* the internal parser leaves the line to its caller */
	assert_int_equal(fg_scalar_addr("fd00::2@8080", 0, true, &a, err, sizeof(err)), 0);
	assert_int_equal(a.line, 77);
	fg_format_addr(&a, buf, sizeof(buf));
	assert_string_equal(buf, "fd00::2@8080");
	assert_int_equal(fg_conf_parse_addr("192.0.2.9", 0, &a), 0);
	fg_format_addr(&a, buf, sizeof(buf));
	assert_string_equal(buf, "192.0.2.9");
}

static void assert_bytes(const uint8_t *got, const char *ip, int family)
{
	uint8_t want[16] = { 0 };

	assert_int_equal(inet_pton(family, ip, want), 1);
	assert_memory_equal(got, want, 16);
}

static void test_prefix(void **state)
{
	char err[512], buf[128];
	fg_conf_prefix_t p;
	(void)state;

	assert_int_equal(fg_conf_parse_prefix("198.51.100.0/24", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.plen, 24);
	assert_bytes(p.first, "198.51.100.0", AF_INET);
	assert_bytes(p.last, "198.51.100.255", AF_INET);

	assert_int_equal(fg_conf_parse_prefix("2001:db8:77::/64", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_int_equal(p.plen, 64);
	assert_bytes(p.first, "2001:db8:77::", AF_INET6);
	assert_bytes(p.last, "2001:db8:77:0:ffff:ffff:ffff:ffff", AF_INET6);

	assert_int_equal(fg_conf_parse_prefix("10.1.2.3/32", &p), 0);
	assert_bytes(p.first, "10.1.2.3", AF_INET);
	assert_bytes(p.last, "10.1.2.3", AF_INET);
	assert_int_equal(fg_conf_parse_prefix("10.0.0.0/9", &p), 0);
	assert_bytes(p.last, "10.127.255.255", AF_INET);
	assert_int_equal(fg_conf_parse_prefix("2001:db8::1/128", &p), 0);
	assert_int_equal(p.plen, 128);
	assert_int_equal(fg_conf_parse_prefix("2001:db8::/33", &p), 0);
	assert_bytes(p.last, "2001:db8:7fff:ffff:ffff:ffff:ffff:ffff", AF_INET6);
	assert_int_equal(fg_conf_parse_prefix("0.0.0.0/0", &p), 0);
	assert_int_equal(p.plen, 0);
	assert_bytes(p.last, "255.255.255.255", AF_INET);
	fg_format_prefix(&p, buf, sizeof(buf));
	assert_string_equal(buf, "0.0.0.0/0");

	/* ranges */
	assert_int_equal(fg_conf_parse_prefix("198.51.100.10-198.51.100.20", &p), 0);
	assert_int_equal(p.family, AF_INET);
	assert_int_equal(p.plen, 0);
	assert_bytes(p.first, "198.51.100.10", AF_INET);
	assert_bytes(p.last, "198.51.100.20", AF_INET);
	fg_format_prefix(&p, buf, sizeof(buf));
	assert_string_equal(buf, "198.51.100.10-198.51.100.20");
	assert_int_equal(fg_conf_parse_prefix("10.0.0.5 - 10.0.0.5", &p), 0);
	assert_bytes(p.first, "10.0.0.5", AF_INET);
	assert_bytes(p.last, "10.0.0.5", AF_INET);
	assert_int_equal(fg_conf_parse_prefix("2001:db8::10-2001:db8::1:0", &p), 0);
	assert_int_equal(p.family, AF_INET6);
	assert_bytes(p.last, "2001:db8::1:0", AF_INET6);

	const char *bad[] = { "", "10.0.0.0", "10.0.0.0/", "/24", "10.0.0.0/24/1",
			      "10.0.0.0/x", "10.0.0.0/-1", "10.0.0.1/24",
			      "2001:db8::1/64", "10.0.0.9-10.0.0.1", "10.0.0.1-",
			      "-10.0.0.1", "10.0.0.1-::1", "10.0.0.0/24-10.0.1.0",
			      "10.0.0.1--10.0.0.2", "[2001:db8::]/64" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_conf_parse_prefix(bad[i], &p), -FG_ESYNTAX);
	assert_int_equal(fg_conf_parse_prefix("10.0.0.0/33", &p), -ERANGE);
	assert_int_equal(fg_conf_parse_prefix("::/129", &p), -ERANGE);

	assert_int_equal(fg_scalar_prefix("198.51.100.7/24", &p, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "host bits set in prefix '198.51.100.7/24' (did you "
			    "mean 198.51.100.0/24?)");
	assert_int_equal(fg_scalar_prefix("2001:db8:77::1/32", &p, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "host bits set in prefix '2001:db8:77::1/32' (did "
			    "you mean 2001:db8::/32?)");
	assert_int_equal(fg_scalar_prefix("10.0.0.1/31", &p, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "host bits set in prefix '10.0.0.1/31' (did you "
			    "mean 10.0.0.0/31?)");
	assert_int_equal(fg_scalar_prefix("10.0.0.0/33", &p, err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "invalid prefix length in '10.0.0.0/33' (at most 32 "
			    "for IPv4)");
	assert_int_equal(fg_scalar_prefix("10.0.0.9-10.0.0.1", &p, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "range '10.0.0.9-10.0.0.1' ends before it starts");
	assert_int_equal(fg_scalar_prefix("10.0.0.1-::1", &p, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "range '10.0.0.1-::1' mixes IPv4 and IPv6");
	assert_int_equal(fg_scalar_prefix("10.0.0.0", &p, err, sizeof(err)),
			 -FG_ESYNTAX);
	assert_string_equal(err, "invalid prefix '10.0.0.0' (expected a CIDR prefix "
			    "such as 198.51.100.0/24 or a range such as "
			    "198.51.100.10-198.51.100.20)");
}

/* ---- names, ids, paths, quoting ---- */

static void test_checks(void **state)
{
	char err[512], c[256];
	(void)state;

	const char *good[] = { "example.test", "example.test.", ".", "a", "_sip._udp.x",
			       "xn--bcher-kva.example", "A-1.B_2" };
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_int_equal(fg_check_dname(good[i], err, sizeof(err)), 0);
	char l63[80], l64[80], long254[400];
	memset(l63, 'a', 63);
	l63[63] = '\0';
	memset(l64, 'a', 64);
	l64[64] = '\0';
	assert_int_equal(fg_check_dname(l63, err, sizeof(err)), 0);
	assert_int_equal(fg_check_dname(l64, err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err + strlen(err) - strlen("(label longer than 63 characters)"),
			    "(label longer than 63 characters)");
	/* 4 labels of 63 + 3 dots = 255 characters: too long */
	snprintf(long254, sizeof(long254), "%s.%s.%s.%s", l63, l63, l63, l63);
	assert_int_equal(fg_check_dname(long254, err, sizeof(err)), -FG_ESYNTAX);
	long254[253] = '\0';  /* 253 characters ending in a full label */
	assert_int_equal(fg_check_dname(long254, err, sizeof(err)), 0);
	const char *bad[] = { "", "..", ".example", "a..b", "exa mple.test",
			      "ex*ample", "a.b..", "münchen.de" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fg_check_dname(bad[i], err, sizeof(err)), -FG_ESYNTAX);
	assert_int_equal(fg_check_dname("a..b", err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "invalid domain name 'a..b' (empty label)");

	assert_int_equal(fg_check_id("web4", err, sizeof(err)), 0);
	assert_int_equal(fg_check_id("a.b-c_D9", err, sizeof(err)), 0);
	assert_int_equal(fg_check_id("a b", err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "invalid id 'a b' (use 1 to 64 letters, digits, "
			    "'-', '_' or '.')");
	assert_int_equal(fg_check_id(l64, err, sizeof(err)), 0);
	char l65[80];
	memset(l65, 'a', 65);
	l65[65] = '\0';
	assert_int_equal(fg_check_id(l65, err, sizeof(err)), -FG_ESYNTAX);

	assert_int_equal(fg_check_abspath("/run/x", err, sizeof(err)), 0);
	assert_int_equal(fg_check_abspath("run/x", err, sizeof(err)), -FG_ESYNTAX);
	assert_int_equal(fg_check_abspath("/run/\nx", err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "expected an absolute path, got '/run/\\x0ax'");
	assert_int_equal(fg_check_user("fluxgate", err, sizeof(err)), 0);
	assert_int_equal(fg_check_user("_fg-1.x$", err, sizeof(err)), 0);
	assert_int_equal(fg_check_user("flux gate", err, sizeof(err)), -FG_ESYNTAX);
	assert_string_equal(err, "invalid user name 'flux gate'");
	assert_int_equal(fg_check_user("a:b", err, sizeof(err)), -FG_ESYNTAX);
	assert_int_equal(fg_check_user("multi\nline", err, sizeof(err)), -FG_ESYNTAX);
	assert_int_equal(fg_check_user("abcdefghijklmnopqrstuvwxyz0123456", err,
					sizeof(err)), -FG_ESYNTAX);
	assert_int_equal(fg_check_sockpath("/run/fluxgate/control.sock", err,
					   sizeof(err)), 0);
	char sock[200] = "/";
	memset(sock + 1, 's', 107);  /* 108 bytes: one more than sun_path holds */
	sock[108] = '\0';
	assert_int_equal(fg_check_sockpath(sock, err, sizeof(err)), -ERANGE);
	sock[107] = '\0';
	assert_int_equal(fg_check_sockpath(sock, err, sizeof(err)), 0);
	assert_int_equal(fg_check_nft_name("fluxgate", err, sizeof(err)), 0);
	assert_int_equal(fg_check_nft_name("_fg2", err, sizeof(err)), 0);
	assert_int_equal(fg_check_nft_name("2fg", err, sizeof(err)), -FG_ESYNTAX);
	assert_int_equal(fg_check_nft_name("flux-gate", err, sizeof(err)), -FG_ESYNTAX);

	fg_dname_canon("WWW.Example.TEST.", c);
	assert_string_equal(c, "www.example.test");
	fg_dname_canon(".", c);
	assert_string_equal(c, "");
	assert_true(fg_dname_inside("www.example.test", "example.test"));
	assert_true(fg_dname_inside("example.test", "example.test"));
	assert_true(fg_dname_inside("anything", ""));
	assert_false(fg_dname_inside("wwwexample.test", "example.test"));
	assert_false(fg_dname_inside("example.test", "www.example.test"));
	assert_false(fg_dname_inside("test", "example.test"));

	char q[4 * FG_QUOTE_MAX + 4];
	fg_quote("a\x01\n\x7f" "b", q, sizeof(q));
	assert_string_equal(q, "a\\x01\\x0a\\x7fb");
	char longs[200];
	memset(longs, 'x', 199);
	longs[199] = '\0';
	fg_quote(longs, q, sizeof(q));
	assert_int_equal(strlen(q), FG_QUOTE_MAX + 3);
	assert_string_equal(q + FG_QUOTE_MAX, "...");
	fg_quote("abcdef", q, 4);  /* a tiny buffer still terminates */
	assert_string_equal(q, "abc");
}

/* ---- whole configs ---- */

static const char example_conf[] =
	"server:\n"
	"  listen: [ \"10.0.0.1@53\", \"fd00::1@53\" ]\n"
	"  workers: auto\n"
	"  tcp-max-clients: 1024\n"
	"  tcp-idle-timeout: 10s\n"
	"  user: fluxgate\n"
	"  pidfile: /run/fluxgate/fluxgated.pid\n"
	"zone:\n"
	"  - domain: example.test\n"
	"    ttl: 300\n"
	"    soa: { mname: ns1.example.test, rname: hostmaster.example.test, "
	"serial: 1, refresh: 1h, retry: 10m, expire: 1w, minimum: 5s }\n"
	"    records:\n"
	"      - \"@ NS ns1\"\n"
	"      - \"ns1 A 10.0.0.1\"\n"
	"      - \"@ TXT \\\"v=spf1 -all\\\"\"\n"
	"pool:\n"
	"  - id: web4\n"
	"    prefix: 198.51.100.0/24\n"
	"  - id: web6\n"
	"    prefix: 2001:db8:77::/64\n"
	"service:\n"
	"  - id: www\n"
	"    name: www.example.test\n"
	"    backend: [ 10.0.2.10@80, \"fd00:2::10@80\" ]\n"
	"    pool: [ web4, web6 ]\n"
	"    ttl: 5s\n"
	"    grace: 2s\n"
	"    pin: 60s\n"
	"    rotation: per-answer\n"
	"    min-interval: 1s\n"
	"    max-open-fraction: 0.1\n"
	"decoy:\n"
	"  route-via: 10.0.3.10\n"
	"nat:\n"
	"  backend: nft\n"
	"  table: fluxgate\n"
	"  pin-set-size: 262144\n"
	"  grant-set-size: 1048576\n"
	"control:\n"
	"  socket: /run/fluxgate/control.sock\n"
	"metrics:\n"
	"  listen: 127.0.0.1@9153\n"
	"log:\n"
	"  file: /var/log/fluxgate/eve.json\n"
	"  level: info\n";

static void test_example(void **state)
{
	fg_conf_t *c = load_ok(example_conf);
	(void)state;

	assert_string_equal(c->path, "t.conf");
	assert_int_equal(c->server.nlisten, 2);
	assert_addr(&c->server.listen[0], "10.0.0.1", 53);
	assert_int_equal(c->server.listen[0].line, 2);
	assert_addr(&c->server.listen[1], "fd00::1", 53);
	assert_int_equal(c->server.workers, 0);
	assert_int_equal(c->server.tcp_max_clients, 1024);
	assert_int_equal(c->server.tcp_idle_timeout_ms, 10000);
	assert_int_equal(c->server.tcp_query_timeout_ms, 5000);
	assert_int_equal(c->server.tcp_max_per_source, 16);
	assert_string_equal(c->server.user, "fluxgate");
	assert_string_equal(c->server.pidfile, "/run/fluxgate/fluxgated.pid");

	assert_int_equal(c->nzones, 1);
	const fg_conf_zone_t *z = &c->zones[0];
	assert_string_equal(z->domain, "example.test");
	assert_int_equal(z->line, 9);
	assert_int_equal(z->ttl, 300);
	assert_string_equal(z->soa.mname, "ns1.example.test");
	assert_string_equal(z->soa.rname, "hostmaster.example.test");
	assert_int_equal(z->soa.serial, 1);
	assert_int_equal(z->soa.refresh, 3600);
	assert_int_equal(z->soa.retry, 600);
	assert_int_equal(z->soa.expire, 604800);
	assert_int_equal(z->soa.minimum, 5);
	assert_int_equal(z->nrecords, 3);
	assert_string_equal(z->records[0].text, "@ NS ns1");
	assert_int_equal(z->records[0].line, 13);
	assert_string_equal(z->records[1].text, "ns1 A 10.0.0.1");
	assert_int_equal(z->records[1].line, 14);
	assert_string_equal(z->records[2].text, "@ TXT \"v=spf1 -all\"");
	assert_int_equal(z->records[2].line, 15);

	assert_int_equal(c->npools, 2);
	assert_string_equal(c->pools[0].id, "web4");
	assert_int_equal(c->pools[0].line, 17);
	assert_int_equal(c->pools[0].prefix.family, AF_INET);
	assert_int_equal(c->pools[0].prefix.plen, 24);
	assert_string_equal(c->pools[1].id, "web6");
	assert_int_equal(c->pools[1].prefix.family, AF_INET6);
	assert_int_equal(c->pools[1].prefix.plen, 64);

	assert_int_equal(c->nservices, 1);
	const fg_conf_service_t *s = &c->services[0];
	assert_string_equal(s->id, "www");
	assert_string_equal(s->name, "www.example.test");
	assert_int_equal(s->line, 22);
	assert_int_equal(s->nbackends, 2);
	assert_addr(&s->backends[0], "10.0.2.10", 80);
	assert_addr(&s->backends[1], "fd00:2::10", 80);
	assert_int_equal(s->backends[1].line, 24);
	assert_int_equal(s->npools, 2);
	assert_string_equal(s->pools[0], "web4");
	assert_string_equal(s->pools[1], "web6");
	assert_int_equal(s->ttl_ms, 5000);
	assert_int_equal(s->grace_ms, 2000);
	assert_int_equal(s->pin_ms, 60000);
	assert_int_equal(s->rotation, FG_ROTATE_PER_ANSWER);
	assert_int_equal(s->min_interval_ms, 1000);
	assert_true(s->max_open_fraction > 0.0999 && s->max_open_fraction < 0.1001);

	assert_true(c->decoy.set);
	assert_int_equal(c->decoy.nroute_via, 1);
	assert_addr(&c->decoy.route_via[0], "10.0.3.10", 0);
	assert_int_equal(c->decoy.route_via[0].line, 33);
	assert_string_equal(c->nat.backend, "nft");
	assert_string_equal(c->nat.table, "fluxgate");
	assert_int_equal(c->nat.pin_set_size, 262144);
	assert_int_equal(c->nat.grant_set_size, 1048576);
	assert_string_equal(c->control.socket, "/run/fluxgate/control.sock");
	assert_true(c->metrics.set);
	assert_addr(&c->metrics.listen, "127.0.0.1", 9153);
	assert_string_equal(c->log.file, "/var/log/fluxgate/eve.json");
	assert_string_equal(c->log.level, "info");
	fg_conf_free(c);
}

/* rrl and cookie sections: defaults (rate limiting on for service
 * answers), explicit values, and the precise diagnostics for bad values
 * (a bad cookie secret is never echoed) */
static void test_rrl_cookie_keys(void **state)
{
	struct sink s;
	fg_conf_t *c = load_ok(SERVER);
	(void)state;

	assert_int_equal(c->rrl.rate, 200);
	assert_int_equal(c->rrl.slip, 2);
	assert_int_equal(c->rrl.ipv4_prefix, 24);
	assert_int_equal(c->rrl.ipv6_prefix, 56);
	assert_int_equal(c->rrl.table_size, 65536);
	assert_int_equal(c->rrl.apply_to, FG_RRL_APPLY_SERVICE);
	assert_null(c->cookie.secret);
	fg_conf_free(c);

	c = load_ok(SERVER "rrl:\n  rate: 0\n  slip: 1\n  ipv4-prefix: 32\n"
		    "  ipv6-prefix: 64\n  table-size: 1k\n  apply-to: all\n"
		    "cookie:\n  secret: e5e973e5a6b2a43f48e7dc849e37bfcf\n");
	assert_int_equal(c->rrl.rate, 0);
	assert_int_equal(c->rrl.slip, 1);
	assert_int_equal(c->rrl.ipv4_prefix, 32);
	assert_int_equal(c->rrl.ipv6_prefix, 64);
	assert_int_equal(c->rrl.table_size, 1024);
	assert_int_equal(c->rrl.apply_to, FG_RRL_APPLY_ALL);
	assert_string_equal(c->cookie.secret, "e5e973e5a6b2a43f48e7dc849e37bfcf");
	fg_conf_free(c);

	c = NULL;
	assert_true(load(SERVER "rrl:\n  ipv4-prefix: 7\n  ipv6-prefix: 65\n"
			 "  table-size: 8\n  apply-to: some\n", &c, &s) < 0);
	assert_null(c);
	assert_int_equal(s.n, 4);
	assert_non_null(strstr(s.buf, "t.conf:4: rrl.ipv4-prefix: expected an integer 8..32, got '7'"));
	assert_non_null(strstr(s.buf, "t.conf:5: rrl.ipv6-prefix: expected an integer 16..64, got '65'"));
	assert_non_null(strstr(s.buf, "t.conf:6: rrl.table-size:"));
	assert_non_null(strstr(s.buf, "t.conf:7: rrl.apply-to:"));
	assert_true(load(SERVER "cookie:\n  secret: e5e973e5a6b2a43f48e7dc849e37bfzz\n",
			 &c, &s) < 0);
	assert_non_null(strstr(s.buf, "t.conf:4: cookie.secret: invalid cookie secret "
			       "(use exactly 32 hex digits)"));
	assert_null(strstr(s.buf, "bfzz"));
}

static void test_defaults(void **state)
{
	fg_conf_t *c = load_ok(SERVER ZONE
			       "pool:\n  - id: p\n    prefix: 10.9.0.0/16\n"
			       "service:\n  - id: s\n    name: s.example.test\n"
			       "    backend: 10.0.0.2@80\n    pool: p\n");
	(void)state;

	assert_int_equal(c->server.nlisten, 1);
	assert_addr(&c->server.listen[0], "127.0.0.1", 53);
	assert_int_equal(c->server.workers, 0);
	assert_int_equal(c->server.tcp_max_clients, 1024);
	assert_int_equal(c->server.tcp_idle_timeout_ms, 10000);
	assert_null(c->server.user);
	assert_null(c->server.pidfile);
	assert_null(c->server.nsid);            /* NSID off by default */
	assert_int_equal(c->server.ntls_listen, 0);   /* DNS over TLS off by default */
	assert_int_equal(c->server.tls_max_clients, 256);
	assert_int_equal(c->server.tls_idle_timeout_ms, 10000);
	const fg_conf_zone_t *z = &c->zones[0];
	assert_int_equal(z->ttl, 3600);
	assert_int_equal(z->soa.serial, 1);
	assert_int_equal(z->soa.refresh, 3600);
	assert_int_equal(z->soa.retry, 600);
	assert_int_equal(z->soa.expire, 604800);
	assert_int_equal(z->soa.minimum, 3600);
	assert_int_equal(z->nrecords, 0);
	assert_null(z->records);
	const fg_conf_service_t *s = &c->services[0];
	assert_int_equal(s->nbackends, 1);
	assert_addr(&s->backends[0], "10.0.0.2", 80);
	assert_int_equal(s->npools, 1);
	assert_string_equal(s->pools[0], "p");
	assert_int_equal(s->ttl_ms, 5000);
	assert_int_equal(s->grace_ms, 2000);
	assert_int_equal(s->pin_ms, 60000);
	assert_int_equal(s->rotation, FG_ROTATE_PER_ANSWER);
	assert_int_equal(s->min_interval_ms, 1000);
	assert_true(s->max_open_fraction > 0.0999 && s->max_open_fraction < 0.1001);
	assert_false(c->decoy.set);
	assert_false(c->metrics.set);
	assert_string_equal(c->nat.backend, "nft");
	assert_string_equal(c->nat.table, "fluxgate");
	assert_int_equal(c->nat.pin_set_size, 262144);
	assert_int_equal(c->nat.grant_set_size, 1048576);
	assert_string_equal(c->control.socket, "/run/fluxgate/control.sock");
	assert_null(c->log.file);
	assert_string_equal(c->log.level, "info");
	/* policy defaults without a policy section */
	assert_int_equal(c->policy.ndirect, 0);
	assert_int_equal(c->policy.ecs_min_prefix4, 24);
	assert_int_equal(c->policy.ecs_min_prefix6, 56);
	assert_int_equal(c->policy.anyone_per_source, 4);
	assert_int_equal(c->policy.exact_per_source, 64);
	fg_conf_free(c);

	/* the smallest valid file: only where to listen */
	c = load_ok("server:\n  listen: \"::1@5353\"\n");
	assert_addr(&c->server.listen[0], "::1", 5353);
	assert_int_equal(c->nzones + c->npools + c->nservices, 0);
	assert_null(c->zones);
	fg_conf_free(c);
}

static void test_values(void **state)
{
	fg_conf_t *c = load_ok(
		"server:\n"
		"  listen: [ 10.0.0.1, 10.0.0.2@5300, \"fd00::1\" ]\n"
		"  workers: 256\n"
		"  tcp-max-clients: 1\n"
		"  tcp-idle-timeout: 250ms\n"
		ZONE
		"    ttl: 0\n"
		"    records: \"@ NS ns1\"\n"
		"pool:\n"
		"  - id: r\n"
		"    prefix: 10.8.0.1-10.8.0.9\n"
		"service:\n"
		"  - id: a\n"
		"    name: EXAMPLE.TEST.\n"
		"    backend: 10.1.1.1@8080\n"
		"    pool: [ r ]\n"
		"    ttl: 0\n"
		"    rotation: min-interval\n"
		"    min-interval: 1500ms\n"
		"    max-open-fraction: 1\n"
		"decoy: { route-via: \"fd00:3::1\" }\n"
		"nat: { backend: memory, table: fg_test, pin-set-size: 1k, "
		"grant-set-size: 2M }\n"
		"metrics: { listen: \"::1\" }\n"
		"log: { level: debug }\n");
	(void)state;

	assert_int_equal(c->server.nlisten, 3);
	assert_addr(&c->server.listen[1], "10.0.0.2", 5300);
	assert_addr(&c->server.listen[2], "fd00::1", 53);
	assert_int_equal(c->server.workers, 256);
	assert_int_equal(c->server.tcp_max_clients, 1);
	assert_int_equal(c->server.tcp_idle_timeout_ms, 250);
	assert_int_equal(c->zones[0].ttl, 0);
	assert_int_equal(c->zones[0].nrecords, 1);
	assert_int_equal(c->zones[0].records[0].line, 10);
	assert_int_equal(c->pools[0].prefix.plen, 0);
	const fg_conf_service_t *s = &c->services[0];
	assert_string_equal(s->name, "EXAMPLE.TEST.");
	assert_addr(&s->backends[0], "10.1.1.1", 8080);
	assert_int_equal(s->ttl_ms, 0);
	assert_int_equal(s->rotation, FG_ROTATE_MIN_INTERVAL);
	assert_int_equal(s->min_interval_ms, 1500);
	assert_true(s->max_open_fraction == 1.0);
	assert_true(c->decoy.set);
	assert_addr(&c->decoy.route_via[0], "fd00:3::1", 0);
	assert_string_equal(c->nat.backend, "memory");
	assert_string_equal(c->nat.table, "fg_test");
	assert_int_equal(c->nat.pin_set_size, 1024);
	assert_int_equal(c->nat.grant_set_size, 2097152);
	assert_true(c->metrics.set);
	assert_addr(&c->metrics.listen, "::1", 9153);
	assert_string_equal(c->log.level, "debug");
	fg_conf_free(c);

	/* a service at the zone apex, pools that touch but do not overlap, a
	 * name in a nested zone, and a root zone containing everything */
	c = load_ok(SERVER ZONE
		    "  - domain: sub.example.test\n    soa: { mname: ns, rname: h }\n"
		    "pool:\n"
		    "  - { id: a, prefix: 10.0.0.0/24 }\n"
		    "  - { id: b, prefix: 10.0.1.0-10.0.1.255 }\n"
		    "  - { id: c, prefix: 10.0.2.0/23 }\n"
		    "  - { id: d, prefix: \"fd00::/64\" }\n"
		    "service:\n"
		    "  - { id: apex, name: example.test, backend: 10.0.9.1@80, pool: a }\n"
		    "  - { id: deep, name: x.sub.example.test., backend: 10.0.9.1@80, "
		    "pool: [ b, c ] }\n");
	assert_int_equal(c->npools, 4);
	fg_conf_free(c);
	c = load_ok(SERVER "zone:\n  - domain: .\n    soa: { mname: a., rname: b. }\n"
		    "pool: [ { id: p, prefix: \"fd00::/64\" } ]\n"
		    "service: [ { id: s, name: any.where, backend: \"fd00:1::1@80\", "
		    "pool: p } ]\n");
	fg_conf_free(c);
}

/* Path of the sample config, found from this source file's path so the
 * test runs from the top of the tree or from anywhere with a full path. */
static void sample_path(char *out, size_t len)
{
	const char *me = __FILE__, *tail = strstr(me, "tests/unit/test_conf.c");

	snprintf(out, len, "%.*setc/fluxgate.conf.sample",
		 tail ? (int)(tail - me) : 0, me);
}

static void test_sample(void **state)
{
	char path[4096];
	struct sink s = { .n = 0 };
	fg_conf_t *c = NULL;
	(void)state;

	sample_path(path, sizeof(path));
	int rc = fg_conf_load(path, &c, sink_fn, &s);
	if (rc)
		fprintf(stderr, "%s", s.buf);
	assert_int_equal(rc, 0);
	assert_int_equal(s.n, 0);
	assert_non_null(c);
	assert_string_equal(c->path, path);
	assert_int_equal(c->nservices, 2);
	assert_int_equal(c->services[1].rotation, FG_ROTATE_MIN_INTERVAL);
	assert_int_equal(c->services[1].min_interval_ms, 30000);
	assert_addr(&c->services[1].backends[0], "10.0.2.25", 25);
	assert_int_equal(c->nat.pin_set_size, 262144);
	assert_int_equal(c->nat.grant_set_size, 1048576);
	assert_int_equal(c->zones[0].nrecords, 6);
	fg_conf_free(c);
}

static void test_file(void **state)
{
	char path[] = "/tmp/fg_test_conf_XXXXXX";
	struct sink s = { .n = 0 };
	fg_conf_t *c = (fg_conf_t *)&s;  /* must be reset to NULL on failure */
	int fd = mkstemp(path);
	(void)state;

	assert_true(fd >= 0);
	const char *text = "server:\n  listen: 10.0.0.1\n  workers: 0\n";
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	assert_int_equal(fg_conf_load(path, &c, sink_fn, &s), -FG_ESCHEMA);
	assert_null(c);
	char want[512];
	snprintf(want, sizeof(want), "%s:3: server.workers: expected 'auto' or an "
		 "integer 1..256, got '0'\n", path);
	assert_string_equal(s.buf, want);
	unlink(path);

	memset(&s, 0, sizeof(s));
	assert_int_equal(fg_conf_load(path, &c, sink_fn, &s), -ENOENT);
	snprintf(want, sizeof(want), "%s:0: cannot open: No such file or directory\n",
		 path);
	assert_string_equal(s.buf, want);
	assert_int_equal(fg_conf_load("/", &c, NULL, NULL), -EISDIR);
	assert_int_equal(fg_conf_load(NULL, &c, NULL, NULL), -EINVAL);
	assert_null(c);
}

static void test_api_edges(void **state)
{
	fg_conf_t *c = NULL;
	(void)state;

	/* no diag callback: still fails, still frees */
	assert_int_equal(fg_conf_load_buffer("x", "server: 1\n", 10, &c, NULL, NULL),
			 -FG_ESCHEMA);
	assert_null(c);
	assert_int_equal(fg_conf_load_buffer("x", "a: [\n", 5, &c, NULL, NULL),
			 -FG_ESYNTAX);
	assert_int_equal(fg_conf_load_buffer(NULL, NULL, 0, &c, NULL, NULL),
			 -FG_ESCHEMA);
	assert_int_equal(fg_conf_load_buffer("x", "", 0, NULL, NULL, NULL), -EINVAL);
	/* the length is honoured: what follows it is not read */
	const char text[] = "server:\n  listen: 10.0.0.1\nbogus: 1\n";
	assert_int_equal(fg_conf_load_buffer(NULL, text, 27, &c, NULL, NULL), 0);
	assert_string_equal(c->path, "<buffer>");
	fg_conf_free(c);
	fg_conf_free(NULL);
}

static void test_too_many_errors(void **state)
{
	char *text = malloc(200 * 20 + 64);
	struct sink s;
	fg_conf_t *c;
	size_t o = 0;
	(void)state;

	assert_non_null(text);
	o += (size_t)sprintf(text, "server:\n  listen: 10.0.0.1\n");
	for (int i = 0; i < 150; i++)
		o += (size_t)sprintf(text + o, "  k%d: 1\n", i);
	assert_int_equal(load(text, &c, &s), -FG_ESCHEMA);
	assert_int_equal(s.n, 101);
	assert_non_null(strstr(s.buf, "t.conf:3: unknown key 'k0' in section 'server'\n"));
	assert_non_null(strstr(s.buf, "t.conf:102: unknown key 'k99' in section "
			       "'server'\n"));
	assert_null(strstr(s.buf, "'k100'"));
	const char *last = "t.conf:0: too many errors (100), giving up\n";
	assert_string_equal(s.buf + s.len - strlen(last), last);
	free(text);
}

/* The data plane holds at most FG_CONF_MAX_POOLS pools: one more is a
 * config error at its line, not a failed start ("Invalid argument"). */
/* service.external: defaults, the name inside external.zone and outside
 * our zones, timeout < epoch, one server/key/epoch per external zone, and
 * the longest grant the privileged side allows */
static void test_external(void **state)
{
	(void)state;
	fg_conf_t *c = load_ok(HEAD
		"key:\n  - { id: k1, algorithm: hmac-sha256, secret: \"c2VjcmV0c2VjcmV0c2VjcmV0\" }\n"
		"service:\n"
		"  - id: shop\n"
		"    name: shop.ext.test\n"
		"    backend: 10.0.0.1@80\n"
		"    pool: p4\n"
		"    ttl: 10s\n"
		"    external: { server: 192.0.2.53, zone: ext.test, key: k1 }\n"
		"  - id: api\n"
		"    name: api.ext.test\n"
		"    backend: \"2001:db8:1::2@80\"\n"
		"    pool: p6\n"
		"    external: { server: 192.0.2.53@53, zone: ext.test., key: k1, epoch: 30s }\n");
	assert_true(c->services[0].external.set);
	assert_addr(&c->services[0].external.server, "192.0.2.53", 53);
	assert_string_equal(c->services[0].external.zone, "ext.test");
	assert_string_equal(c->services[0].external.key, "k1");
	assert_int_equal(c->services[0].external.epoch_ms, 30000);
	assert_int_equal(c->services[0].external.timeout_ms, 2000);
	/* published for an epoch, then cached for ttl, plus grace */
	assert_int_equal(fg_conf_service_grant_ms(&c->services[0]), 30000 + 10000 + 2000);
	/* fluxgated answers no query for them: no advice about resolvers */
	assert_int_equal(fg_conf_warnings(c, NULL, NULL), 0);
	fg_conf_free(c);

	struct sink s;
	assert_int_equal(load(HEAD
		"service:\n"
		"  - id: shop\n"
		"    name: shop.example.test\n"
		"    backend: 10.0.0.1@80\n"
		"    pool: p4\n"
		"    external: { server: 192.0.2.53, zone: ext.test, key: k1, epoch: 2s, timeout: 2s }\n"
		"  - id: api\n"
		"    name: api.ext.test\n"
		"    backend: 10.0.0.2@80\n"
		"    pool: p6\n"
		"    access: private\n"
		"    external: { server: 192.0.2.54, zone: ext.test, key: k1, epoch: 2s, timeout: 1s }\n"
		"  - id: nokey\n"
		"    name: x.ext.test\n"
		"    backend: 10.0.0.3@80\n"
		"    external: { server: 192.0.2.53, zone: ext.test }\n",
		&c, &s), -FG_ESCHEMA);
	assert_non_null(strstr(s.buf, "t.conf:13: service 'shop': name 'shop.example.test' is not "
				      "inside external.zone 'ext.test'\n"));
	assert_non_null(strstr(s.buf, "t.conf:13: service 'shop': name 'shop.example.test' is served "
				      "by external.server but lies inside a zone of fluxgated too"));
	assert_non_null(strstr(s.buf, "service 'shop': external.timeout (2000 ms) must be shorter "
				      "than external.epoch (2000 ms)"));
	assert_non_null(strstr(s.buf, "t.conf:17: service 'api': external.server differs from "
				      "service 'shop' (line 12) of the same external.zone 'ext.test'"));
	assert_non_null(strstr(s.buf, "t.conf:26: service 'nokey': external: missing required key 'key'"));
	assert_non_null(strstr(s.buf, "t.conf:17: service 'api': access: private cannot apply to an "
				      "external service"));
	/* one UPDATE carries at most 16 services */
	char *many = malloc(20000);
	assert_non_null(many);
	size_t o = (size_t)sprintf(many, "%s", "server:\n  listen: 127.0.0.1\n"
		"key:\n  - { id: k1, algorithm: hmac-sha256, secret: \"c2VjcmV0c2VjcmV0\" }\n"
		"pool:\n");
	for (int i = 0; i < 17; i++)
		o += (size_t)sprintf(many + o, "  - { id: p%d, prefix: 10.%d.0.0/24 }\n", i, i + 1);
	o += (size_t)sprintf(many + o, "service:\n");
	for (int i = 0; i < 17; i++)
		o += (size_t)sprintf(many + o, "  - { id: s%d, name: s%d.ext.test, backend: 10.99.0.1@80, "
				     "pool: p%d, external: { server: 192.0.2.53, zone: ext.test, "
				     "key: k1 } }\n", i, i, i);
	struct sink s2;
	fg_conf_t *c2 = NULL;
	assert_int_equal(load(many, &c2, &s2), -FG_ESCHEMA);
	assert_non_null(strstr(s2.buf, "external.zone 'ext.test': 17 services, at most 16 per zone"));
	free(many);
	assert_non_null(strstr(s.buf, "t.conf:12: service 'shop': external.key 'k1' is not defined "
				      "(add it to the 'key:' list)"));
}

static void test_pool_count_limit(void **state)
{
	char *text = malloc(80 * 70 + 256);
	struct sink s;
	fg_conf_t *c;
	size_t o = 0;
	(void)state;

	assert_non_null(text);
	o += (size_t)sprintf(text, "server:\n  listen: 127.0.0.1\npool:\n");
	for (int i = 0; i < FG_CONF_MAX_POOLS + 1; i++)
		o += (size_t)sprintf(text + o, "  - { id: p%d, prefix: 10.%d.0.0/24 }\n", i, i + 1);
	assert_int_equal(load(text, &c, &s), -FG_ESCHEMA);
	assert_string_equal(s.buf, "t.conf:68: pool 'p64': at most 64 pools\n");
	/* exactly the limit loads */
	text[o - strlen("  - { id: p64, prefix: 10.65.0.0/24 }\n")] = '\0';
	assert_int_equal(load(text, &c, &s), 0);
	fg_conf_free(c);
	free(text);
}

static void test_deep_nesting(void **state)
{
	char text[256];
	struct sink s;
	fg_conf_t *c;
	(void)state;

	memset(text, 0, sizeof(text));
	strcpy(text, "server: ");
	memset(text + 8, '[', 40);
	assert_int_equal(load(text, &c, &s), -FG_ESYNTAX);
	assert_string_equal(s.buf, "t.conf:1: nesting deeper than 32 levels\n");
}

static void test_order(void **state)
{
	struct sink s;
	fg_conf_t *c;
	(void)state;

	/* cross-item problems are found last but printed in line order */
	assert_int_equal(load(HEAD
			      "service:\n"
			      "  - id: a\n"
			      "    name: a.other.test\n"
			      "    backend: 10.0.0.9@80\n"
			      "    pool: p4\n"
			      "    ttl: x\n", &c, &s), -FG_ESCHEMA);
	assert_string_equal(s.buf,
		"t.conf:13: service 'a': name 'a.other.test' is not inside any "
		"configured zone\n"
		"t.conf:16: service 'a': ttl: invalid time 'x' (expected a number "
		"with an optional unit ms, s, m, h, d or w)\n");
}

/* policy.resolvers empty: a warning (the config stays valid) */
static void test_warnings(void **state)
{
	struct sink s;
	fg_conf_t *c = load_ok(HEAD "service:\n"
			       "  - { id: a, name: a.example.test, backend: 10.0.0.1@80, pool: p4 }\n");
	(void)state;

	memset(&s, 0, sizeof(s));
	assert_int_equal(fg_conf_warnings(c, sink_fn, &s), 1);
	assert_string_equal(s.buf, "t.conf:0: warning: policy.resolvers is empty: any "
			    "source outside policy.direct may obtain subnet- and "
			    "anyone-scoped grants; list the caching resolvers in front "
			    "of the gateway\n");
	fg_conf_free(c);
	c = load_ok(HEAD "service:\n"
		    "  - { id: a, name: a.example.test, backend: 10.0.0.1@80, pool: p4 }\n"
		    "policy:\n  resolvers: 10.0.53.0/24\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(fg_conf_warnings(c, sink_fn, &s), 0);
	assert_int_equal(s.n, 0);
	fg_conf_free(c);
}

/* Reload semantics: the keys a reload cannot apply are named, the others
 * (zones, services, policy, log.level, tcp timeouts...) are not. */
static void test_restart_keys(void **state)
{
	char out[256];
	(void)state;
	fg_conf_t *a = load_ok(HEAD "control:\n  socket: /run/a.sock\nlog:\n  level: info\n");
	fg_conf_t *b = load_ok("server:\n  listen: 127.0.0.1\n  tcp-idle-timeout: 3s\n" ZONE POOLS
			       "control:\n  socket: /run/a.sock\nlog:\n  level: debug\n");
	fg_conf_t *c = load_ok("server:\n  listen: [ 127.0.0.1, 127.0.0.2 ]\n  workers: 3\n"
			       ZONE POOLS "control:\n  socket: /run/b.sock\n"
			       "log:\n  file: /var/log/x.json\n"
			       "metrics:\n  listen: 127.0.0.1@9153\n");
	assert_int_equal(fg_conf_restart_keys(a, a, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(fg_conf_restart_keys(a, b, out, sizeof(out)), 0);
	assert_int_equal(fg_conf_restart_keys(a, c, out, sizeof(out)), 5);
	assert_string_equal(out, "server.listen, server.workers, control.socket, "
			    "metrics.listen, log.file");
	/* a short buffer is cut, the count stays right */
	assert_int_equal(fg_conf_restart_keys(a, c, out, 8), 5);
	assert_int_equal(strlen(out), 7);
	fg_conf_free(a);
	fg_conf_free(b);
	fg_conf_free(c);
}

/* ---- diagnostics, one broken config each ---- */

struct errcase {
	const char *name;
	const char *yaml;
	int rc;
	const char *expect;   /* every line the sink receives, exactly */
};

#define X16 "xxxxxxxxxxxxxxxx"
#define X129 X16 X16 X16 X16 X16 X16 X16 X16 "x"
#define E(n, y, x) { n, y, -FG_ESCHEMA, x }
#define SYN(n, y, x) { n, y, -FG_ESYNTAX, x }

static const struct errcase errcases[] = {
	/* --- structure --- */
	E("empty_file", "", "t.conf:0: missing required section 'server'\n"),
	E("comments_only", "# nothing\n\n", "t.conf:0: missing required section 'server'\n"),
	E("top_scalar", "hello\n",
	  "t.conf:0: missing required section 'server'\n"
	  "t.conf:1: expected a mapping of sections (server:, zone:, ...) at the "
	  "top level, got a scalar\n"),
	E("top_list", "- server\n",
	  "t.conf:0: missing required section 'server'\n"
	  "t.conf:1: expected a mapping of sections (server:, zone:, ...) at the "
	  "top level, got a list\n"),
	E("unknown_section", SERVER "bogus: 1\n", "t.conf:3: unknown section 'bogus'\n"),
	E("unknown_key", SERVER "  foo: 1\n",
	  "t.conf:3: unknown key 'foo' in section 'server'\n"),
	E("unknown_key_quoted", SERVER "  \"f\\x01o\": 1\n",
	  "t.conf:3: unknown key 'f\\x01o' in section 'server'\n"),
	E("duplicate_key", SERVER "  workers: 2\n  workers: 3\n",
	  "t.conf:4: duplicate key 'workers' in section 'server' (first on line 3)\n"),
	E("duplicate_section", SERVER "server:\n  listen: 10.0.0.1\n",
	  "t.conf:3: duplicate section 'server' (first on line 1)\n"),
	E("complex_key", SERVER "? [ a, b ]\n: 1\n",
	  "t.conf:3: keys must be plain words, got a list\n"),
	E("null_key", "server:\n  listen: 10.0.0.1\n  ? \n  : 1\n",
	  "t.conf:3: server: keys must be plain words, got an empty key\n"),
	E("server_list", "server:\n  - listen: 10.0.0.1\n",
	  "t.conf:2: server: expected a mapping, got a list\n"),
	E("server_null", "server:\n", "t.conf:1: missing required key 'listen' in "
	  "section 'server'\n"),
	E("alias", "server: &a\n  listen: 10.0.0.1\nlog: *a\n",
	  "t.conf:3: YAML aliases (*a) are not supported\n"),
	SYN("two_documents", SERVER "---\n" SERVER,
	    "t.conf:3: only one YAML document is allowed\n"),
	SYN("syntax_flow", "server:\n  listen: [ 10.0.0.1\n",
	    "t.conf:3: YAML syntax error: did not find expected ',' or ']' (while "
	    "parsing a flow sequence on line 2)\n"),
	SYN("syntax_tab", "server:\n\tlisten: 10.0.0.1\n",
	    "t.conf:2: YAML syntax error: found character that cannot start any "
	    "token (while scanning for the next token on line 2)\n"),
	SYN("syntax_indent", "server:\n  listen: 10.0.0.1\n workers: 2\n",
	    "t.conf:3: YAML syntax error: did not find expected key (while parsing "
	    "a block mapping on line 1)\n"),
	SYN("syntax_utf8", SERVER "  user: \"\xff\"\n",
	    "t.conf:3: YAML syntax error: invalid leading UTF-8 octet\n"),
	E("nul_in_value", SERVER "  user: \"a\\0b\"\n",
	  "t.conf:3: value contains a NUL character\n"),

	/* --- server --- */
	E("missing_listen", "server:\n  workers: 2\n",
	  "t.conf:1: missing required key 'listen' in section 'server'\n"),
	E("listen_null", "server:\n  listen:\n",
	  "t.conf:2: server.listen: missing value\n"),
	E("listen_empty", "server:\n  listen: []\n",
	  "t.conf:2: server.listen: empty list, at least one value is required\n"),
	E("listen_map", "server:\n  listen: { a: 1 }\n",
	  "t.conf:2: server.listen: expected an address or a list of them, got a "
	  "mapping\n"),
	E("listen_nested", "server:\n  listen: [ [ 10.0.0.1 ] ]\n",
	  "t.conf:2: server.listen: expected an address, got a list\n"),
	E("listen_null_entry", "server:\n  listen:\n    - 10.0.0.1\n    -\n",
	  "t.conf:4: server.listen: empty list entry\n"),
	E("listen_brackets", "server:\n  listen: \"[fd00::1]:53\"\n",
	  "t.conf:2: server.listen: invalid address '[fd00::1]:53' (expected ADDR "
	  "or ADDR@PORT, e.g. 192.0.2.1@53 or 2001:db8::1@53)\n"),
	E("listen_port", "server:\n  listen:\n    - 10.0.0.1@53\n    - 10.0.0.2@99999\n",
	  "t.conf:4: server.listen: invalid port in '10.0.0.2@99999' (expected "
	  "1..65535 after '@')\n"),
	E("workers_word", SERVER "  workers: lots\n",
	  "t.conf:3: server.workers: expected 'auto' or an integer 1..256, got "
	  "'lots'\n"),
	E("workers_zero", SERVER "  workers: 0\n",
	  "t.conf:3: server.workers: expected 'auto' or an integer 1..256, got '0'\n"),
	E("workers_257", SERVER "  workers: 257\n",
	  "t.conf:3: server.workers: expected 'auto' or an integer 1..256, got "
	  "'257'\n"),
	E("workers_list", SERVER "  workers: [ 1 ]\n",
	  "t.conf:3: server.workers: expected an integer, got a list\n"),
	E("tcp_clients", SERVER "  tcp-max-clients: 1048577\n",
	  "t.conf:3: server.tcp-max-clients: expected an integer 1..1048576, got "
	  "'1048577'\n"),
	E("idle_bad", SERVER "  tcp-idle-timeout: 5x\n",
	  "t.conf:3: server.tcp-idle-timeout: invalid time '5x' (expected a number "
	  "with an optional unit ms, s, m, h, d or w)\n"),
	E("idle_zero", SERVER "  tcp-idle-timeout: 0\n",
	  "t.conf:3: server.tcp-idle-timeout: time '0' out of range (1ms..7w)\n"),
	E("idle_huge", SERVER "  tcp-idle-timeout: 50d\n",
	  "t.conf:3: server.tcp-idle-timeout: time '50d' out of range (1ms..7w)\n"),
	E("idle_overflow", SERVER "  tcp-idle-timeout: 99999999999999999w\n",
	  "t.conf:3: server.tcp-idle-timeout: time '99999999999999999w' is too "
	  "large\n"),
	E("user_null", SERVER "  user:\n", "t.conf:3: server.user: missing value\n"),
	E("user_empty", SERVER "  user: \"\"\n", "t.conf:3: server.user: empty value\n"),
	E("user_block", SERVER "  user: |\n    flux\n    gate\n",
	  "t.conf:3: server.user: invalid user name 'flux\\x0agate\\x0a'\n"),
	E("nsid_empty", SERVER "  nsid: \"\"\n", "t.conf:3: server.nsid: empty value\n"),
	E("nsid_control", SERVER "  nsid: \"a\\tb\"\n",
	  "t.conf:3: server.nsid: nsid must be 1 to 128 printable ASCII characters, got 'a\\x09b'\n"),
	E("nsid_long", SERVER "  nsid: " X129 "\n",
	  "t.conf:3: server.nsid: nsid must be 1 to 128 printable ASCII characters, got '" X16 X16 X16 X16 "...'\n"),
	E("pidfile_relative", SERVER "  pidfile: run/x.pid\n",
	  "t.conf:3: server.pidfile: expected an absolute path, got 'run/x.pid'\n"),

	/* --- zones --- */
	E("zone_map", SERVER "zone:\n  domain: example.test\n",
	  "t.conf:4: zone: expected a list of entries ('- domain: ...'), got a "
	  "mapping\n"),
	E("zone_scalar_entry", SERVER "zone:\n  - example.test\n",
	  "t.conf:4: zone[0]: expected a mapping, got a scalar\n"),
	E("zone_no_soa", SERVER "zone:\n  - domain: example.test\n",
	  "t.conf:4: zone 'example.test': missing required key 'soa'\n"),
	E("zone_no_domain", SERVER "zone:\n  - soa: { mname: a, rname: b }\n",
	  "t.conf:4: zone[0]: missing required key 'domain'\n"),
	E("soa_no_rname", SERVER "zone:\n  - domain: example.test\n    soa: { mname: ns1 }\n",
	  "t.conf:5: zone 'example.test': soa: missing required key 'rname'\n"),
	E("soa_unknown", SERVER ZONE "    foo: 1\n",
	  "t.conf:6: zone 'example.test': unknown key 'foo'\n"),
	E("soa_unknown_inner", SERVER "zone:\n  - domain: example.test\n"
	  "    soa: { mname: ns1, rname: hm, foo: 1 }\n",
	  "t.conf:5: zone 'example.test': soa: unknown key 'foo'\n"),
	E("soa_scalar", SERVER "zone:\n  - domain: example.test\n    soa: ns1\n",
	  "t.conf:5: zone 'example.test': soa: expected a mapping, got a scalar\n"),
	E("soa_serial", SERVER "zone:\n  - domain: example.test\n"
	  "    soa: { mname: ns1, rname: hm, serial: 4294967296 }\n",
	  "t.conf:5: zone 'example.test': soa.serial: expected an integer "
	  "0..4294967295, got '4294967296'\n"),
	E("soa_refresh", SERVER "zone:\n  - domain: example.test\n"
	  "    soa:\n      mname: ns1\n      rname: hm\n      refresh: 1500ms\n",
	  "t.conf:8: zone 'example.test': soa.refresh: time '1500ms' is not a whole "
	  "number of seconds\n"),
	E("soa_mname", SERVER "zone:\n  - domain: example.test\n"
	  "    soa: { mname: \"ns 1\", rname: hm }\n",
	  "t.conf:5: zone 'example.test': soa.mname: invalid domain name 'ns 1' "
	  "(only letters, digits, '-' and '_' are allowed in labels)\n"),
	E("zone_domain_bad", SERVER "zone:\n  - domain: exa..mple\n"
	  "    soa: { mname: a, rname: b }\n",
	  "t.conf:4: zone 'exa..mple': domain: invalid domain name 'exa..mple' "
	  "(empty label)\n"),
	E("zone_ttl", SERVER ZONE "    ttl: 2147483648\n",
	  "t.conf:6: zone 'example.test': ttl: time '2147483648' out of range "
	  "(0s..2147483647s)\n"),
	E("zone_dup_key", SERVER ZONE "    ttl: 1\n    ttl: 2\n",
	  "t.conf:7: zone 'example.test': duplicate key 'ttl' (first on line 6)\n"),
	E("zone_duplicate", SERVER ZONE "  - domain: EXAMPLE.test.\n"
	  "    soa: { mname: a, rname: b }\n",
	  "t.conf:6: zone 'EXAMPLE.test.': duplicate zone (first defined on line 4)\n"),
	E("records_map", SERVER ZONE "    records: [ { a: 1 } ]\n",
	  "t.conf:6: zone 'example.test': records: expected a record, got a mapping\n"),
	E("records_empty_entry", SERVER ZONE "    records:\n      - \"@ NS a\"\n      -\n",
	  "t.conf:8: zone 'example.test': records: empty list entry\n"),

	/* --- pools --- */
	E("pool_host_bits", SERVER "pool:\n  - id: p\n    prefix: 198.51.100.7/24\n",
	  "t.conf:5: pool 'p': prefix: host bits set in prefix '198.51.100.7/24' "
	  "(did you mean 198.51.100.0/24?)\n"),
	E("pool_host_bits6", SERVER "pool:\n  - id: p\n    prefix: 2001:db8::1/64\n",
	  "t.conf:5: pool 'p': prefix: host bits set in prefix '2001:db8::1/64' "
	  "(did you mean 2001:db8::/64?)\n"),
	E("pool_plen", SERVER "pool:\n  - id: p\n    prefix: 10.0.0.0/33\n",
	  "t.conf:5: pool 'p': prefix: invalid prefix length in '10.0.0.0/33' (at "
	  "most 32 for IPv4)\n"),
	E("pool_range_rev", SERVER "pool:\n  - id: p\n    prefix: 10.0.0.9-10.0.0.1\n",
	  "t.conf:5: pool 'p': prefix: range '10.0.0.9-10.0.0.1' ends before it "
	  "starts\n"),
	E("pool_range_mix", SERVER "pool:\n  - id: p\n    prefix: 10.0.0.1-fd00::1\n",
	  "t.conf:5: pool 'p': prefix: range '10.0.0.1-fd00::1' mixes IPv4 and "
	  "IPv6\n"),
	E("pool_bare", SERVER "pool:\n  - id: p\n    prefix: 10.0.0.1\n",
	  "t.conf:5: pool 'p': prefix: invalid prefix '10.0.0.1' (expected a CIDR "
	  "prefix such as 198.51.100.0/24 or a range such as "
	  "198.51.100.10-198.51.100.20)\n"),
	E("pool_no_prefix", SERVER "pool:\n  - id: p\n",
	  "t.conf:4: pool 'p': missing required key 'prefix'\n"),
	E("pool_bad_id", SERVER "pool:\n  - id: \"a b\"\n    prefix: 10.0.0.0/8\n",
	  "t.conf:4: pool 'a b': id: invalid id 'a b' (use 1 to 64 letters, "
	  "digits, '-', '_' or '.')\n"),
	E("pool_dup_id", HEAD "  - id: p4\n    prefix: 10.0.0.0/8\n",
	  "t.conf:11: pool 'p4': duplicate id (first defined on line 7)\n"),
	E("pool_overlap", HEAD "  - id: q\n    prefix: 198.51.100.128/25\n",
	  "t.conf:12: pool 'q': prefix 198.51.100.128/25 overlaps pool 'p4' "
	  "(198.51.100.0/24, line 7)\n"),
	E("pool_overlap_wider_later", HEAD "  - id: q\n    prefix: 198.51.0.0/16\n",
	  "t.conf:12: pool 'q': prefix 198.51.0.0/16 overlaps pool 'p4' "
	  "(198.51.100.0/24, line 7)\n"),
	E("pool_overlap_range", HEAD "  - id: q\n    prefix: 198.51.99.250-198.51.100.0\n",
	  "t.conf:12: pool 'q': prefix 198.51.99.250-198.51.100.0 overlaps pool "
	  "'p4' (198.51.100.0/24, line 7)\n"),
	E("pool_overlap6", HEAD "  - id: q\n    prefix: 2001:db8::8000:0:0:0/65\n",
	  "t.conf:12: pool 'q': prefix 2001:db8:0:0:8000::/65 overlaps pool 'p6' "
	  "(2001:db8::/64, line 9)\n"),
	E("pool_overlap_far", SERVER "pool:\n"
	  "  - { id: a, prefix: 10.0.0.0/8 }\n"
	  "  - { id: b, prefix: 10.1.0.0/16 }\n"
	  "  - { id: c, prefix: 10.200.0.0/16 }\n",
	  "t.conf:5: pool 'b': prefix 10.1.0.0/16 overlaps pool 'a' (10.0.0.0/8, "
	  "line 4)\n"
	  "t.conf:6: pool 'c': prefix 10.200.0.0/16 overlaps pool 'a' (10.0.0.0/8, "
	  "line 4)\n"),

	/* --- pools that are not pools (hardening finding 9) --- */
	E("pool_zero4", SERVER "pool:\n  - id: p\n    prefix: 0.0.0.0/0\n",
	  "t.conf:5: pool 'p': prefix 0.0.0.0/0 is too wide (at most 2^24 "
	  "addresses, a /8, for IPv4)\n"),
	E("pool_zero6", SERVER "pool:\n  - id: p\n    prefix: \"::/0\"\n",
	  "t.conf:5: pool 'p': prefix ::/0 is too wide (at most 2^96 addresses, "
	  "a /32, for IPv6)\n"),
	E("pool_wide4", SERVER "pool:\n  - id: p\n    prefix: 10.0.0.0/7\n",
	  "t.conf:5: pool 'p': prefix 10.0.0.0/7 is too wide (at most 2^24 "
	  "addresses, a /8, for IPv4)\n"),
	E("pool_wide_range", SERVER "pool:\n  - id: p\n"
	  "    prefix: 10.0.0.0-11.0.0.0\n",
	  "t.conf:5: pool 'p': prefix 10.0.0.0-11.0.0.0 is too wide (at most 2^24 "
	  "addresses, a /8, for IPv4)\n"),
	E("pool_wide6", SERVER "pool:\n  - id: p\n    prefix: \"2001:db8::/31\"\n",
	  "t.conf:5: pool 'p': prefix 2001:db8::/31 is too wide (at most 2^96 "
	  "addresses, a /32, for IPv6)\n"),
	E("pool_tiny", SERVER "pool:\n  - id: p\n    prefix: 10.0.3.0/30\n",
	  "t.conf:5: pool 'p': prefix 10.0.3.0/30 has 2 usable addresses, at least "
	  "4 are required\n"),
	E("pool_tiny_range", SERVER "pool:\n  - id: p\n"
	  "    prefix: 10.0.3.7-10.0.3.7\n",
	  "t.conf:5: pool 'p': prefix 10.0.3.7-10.0.3.7 has 1 usable address, at "
	  "least 4 are required\n"),
	E("pool_has_backend", HEAD "  - id: q\n    prefix: 10.0.2.0/24\n"
	  "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.2.10@8080\n    pool: q\n",
	  "t.conf:12: pool 'q': prefix 10.0.2.0/24 contains the backend of service "
	  "'www', 10.0.2.10 (line 16); pool addresses are handed out and routed to "
	  "the decoys, so no real host may use one\n"),
	E("pool_has_backend6", HEAD "service:\n  - id: www\n"
	  "    name: www.example.test\n    backend: \"2001:db8::10@80\"\n    pool: p6\n",
	  "t.conf:10: pool 'p6': prefix 2001:db8::/64 contains the backend of "
	  "service 'www', 2001:db8::10 (line 14); pool addresses are handed out "
	  "and routed to the decoys, so no real host may use one\n"),
	E("pool_has_listen", "server:\n  listen: [ 127.0.0.1, 198.51.100.53@53 ]\n"
	  ZONE POOLS,
	  "t.conf:8: pool 'p4': prefix 198.51.100.0/24 contains the listen address "
	  "198.51.100.53 (line 2); pool addresses are handed out and routed to the "
	  "decoys, so no real host may use one\n"),
	E("pool_has_decoy", HEAD "decoy:\n  route-via: 198.51.100.1\n",
	  "t.conf:8: pool 'p4': prefix 198.51.100.0/24 contains the decoy next hop "
	  "198.51.100.1 (line 12); pool addresses are handed out and routed to the "
	  "decoys, so no real host may use one\n"),
	/* --- a pool serves one service (hardening finding 6) --- */
	E("svc_pool_shared", HEAD "service:\n"
	  "  - { id: a, name: a.example.test, backend: 10.0.0.1@80, pool: p4 }\n"
	  "  - { id: b, name: b.example.test, backend: 10.0.0.2@80, pool: p4 }\n",
	  "t.conf:13: service 'b': pool 'p4' already belongs to service 'a' (line "
	  "12); a pool serves one service\n"),
	/* --- policy --- */
	E("policy_ecs_wide", SERVER "policy:\n  ecs-min-prefix4: 1\n",
	  "t.conf:4: policy.ecs-min-prefix4: expected an integer 16..32, got '1'\n"),
	E("policy_ecs6_wide", SERVER "policy:\n  ecs-min-prefix6: 0\n",
	  "t.conf:4: policy.ecs-min-prefix6: expected an integer 32..128, got '0'\n"),
	E("policy_anyone_zero", SERVER "policy:\n  anyone-per-source: 0\n",
	  "t.conf:4: policy.anyone-per-source: expected an integer 1..64, got '0'\n"),
	E("policy_exact_big", SERVER "policy:\n  exact-per-source: 5000\n",
	  "t.conf:4: policy.exact-per-source: expected an integer 1..256, got "
	  "'5000'\n"),

	/* --- services --- */
	E("svc_pool_undefined", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.2.10@80\n    pool: [ p4, web9 ]\n",
	  "t.conf:15: service 'www': pool 'web9' is not defined\n"),
	E("svc_pool_undefined_block", HEAD "service:\n  - id: www\n"
	  "    name: www.example.test\n    backend: 10.0.2.10@80\n    pool:\n"
	  "      - p4\n      - web9\n",
	  "t.conf:17: service 'www': pool 'web9' is not defined\n"),
	E("svc_outside", HEAD "service:\n  - id: www\n    name: www.example.test2\n"
	  "    backend: 10.0.2.10@80\n    pool: p4\n",
	  "t.conf:13: service 'www': name 'www.example.test2' is not inside any "
	  "configured zone\n"),
	E("svc_label_boundary", HEAD "service:\n  - id: www\n    name: wwwexample.test\n"
	  "    backend: 10.0.2.10@80\n    pool: p4\n",
	  "t.conf:13: service 'www': name 'wwwexample.test' is not inside any "
	  "configured zone\n"),
	E("svc_no_zones", SERVER POOLS "service:\n  - id: www\n    name: a.b\n"
	  "    backend: 10.0.2.10@80\n    pool: p4\n",
	  "t.conf:10: service 'www': name 'a.b' is not inside any configured zone\n"),
	E("svc_v6_pool_v4_backend", HEAD "service:\n  - id: www\n"
	  "    name: www.example.test\n    backend: 10.0.2.10@80\n    pool: [ p4, p6 ]\n",
	  "t.conf:15: service 'www': pool 'p6' is IPv6 but the service has no IPv6 "
	  "backend (addresses are not translated between IPv4 and IPv6)\n"),
	E("svc_v4_pool_v6_backend", HEAD "service:\n  - id: www\n"
	  "    name: www.example.test\n    backend: \"fd00::5@80\"\n    pool: p4\n",
	  "t.conf:15: service 'www': pool 'p4' is IPv4 but the service has no IPv4 "
	  "backend (addresses are not translated between IPv4 and IPv6)\n"),
	E("svc_no_backend", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    pool: p4\n",
	  "t.conf:12: service 'www': missing required key 'backend'\n"),
	E("svc_empty_backend", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: []\n    pool: p4\n",
	  "t.conf:14: service 'www': backend: empty list, at least one value is "
	  "required\n"),
	E("svc_no_pool", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n",
	  "t.conf:12: service 'www': missing required key 'pool'\n"),
	E("svc_no_id", HEAD "service:\n  - name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool: p4\n",
	  "t.conf:12: service[0]: missing required key 'id'\n"),
	E("svc_pool_twice", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool:\n      - p4\n      - p4\n",
	  "t.conf:17: service 'www': pool 'p4' is listed twice\n"),
	E("svc_dup_id", HEAD "service:\n"
	  "  - { id: www, name: a.example.test, backend: 10.0.0.1@80, pool: p4 }\n"
	  "  - { id: www, name: b.example.test, backend: \"fd00::1@80\", pool: p6 }\n",
	  "t.conf:13: service 'www': duplicate id (first defined on line 12)\n"),
	E("svc_dup_name", HEAD "service:\n"
	  "  - { id: a, name: www.example.test, backend: 10.0.0.1@80, pool: p4 }\n"
	  "  - { id: b, name: WWW.example.test., backend: \"fd00::1@80\", pool: p6 }\n",
	  "t.conf:13: service 'b': name is already used by another service (first "
	  "defined on line 12)\n"),
	/* ports (hardening finding 5): secure default, precise messages */
	E("svc_backend_no_port", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1\n    pool: p4\n",
	  "t.conf:14: service 'www': backend without a port and no 'ports': list the "
	  "ports the service exposes (ports: [tcp/80]) or write ports: [any]\n"),
	E("svc_backends_mixed_ports", HEAD "service:\n  - id: www\n"
	  "    name: www.example.test\n    backend: [ 10.0.0.1@80, 10.0.0.2 ]\n"
	  "    ports: [ tcp/80 ]\n    pool: p4\n",
	  "t.conf:14: service 'www': backends either all carry a port or none do\n"),
	E("svc_ports_zero", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1\n    ports: [ tcp/0 ]\n    pool: p4\n",
	  "t.conf:15: service 'www': ports: invalid port 'tcp/0' (use tcp/N, udp/N, "
	  "tcp/N-M, udp/N-M with N, M in 1-65535, or any)\n"),
	E("svc_ports_big", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1\n    ports: [ udp/65536 ]\n    pool: p4\n",
	  "t.conf:15: service 'www': ports: invalid port 'udp/65536' (use tcp/N, udp/N, "
	  "tcp/N-M, udp/N-M with N, M in 1-65535, or any)\n"),
	E("svc_ports_proto", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1\n    ports: [ sctp/80 ]\n    pool: p4\n",
	  "t.conf:15: service 'www': ports: invalid port 'sctp/80' (use tcp/N, udp/N, "
	  "tcp/N-M, udp/N-M with N, M in 1-65535, or any)\n"),
	E("svc_ports_any_mixed", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1\n    ports: [ tcp/80, any ]\n    pool: p4\n",
	  "t.conf:15: service 'www': ports: 'any' exposes every port; it cannot be "
	  "combined with other entries\n"),
	E("svc_rotation", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool: p4\n    rotation: sometimes\n",
	  "t.conf:16: service 'www': rotation: expected one of per-answer, "
	  "min-interval, got 'sometimes'\n"),
	E("svc_fraction_zero", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool: p4\n    max-open-fraction: 0\n",
	  "t.conf:16: service 'www': max-open-fraction: expected a number in (0, 1], "
	  "got '0'\n"),
	E("svc_fraction_big", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool: p4\n    max-open-fraction: 1.5\n",
	  "t.conf:16: service 'www': max-open-fraction: expected a number in (0, 1], "
	  "got '1.5'\n"),
	E("svc_ttl_fraction", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool: p4\n    ttl: 1500ms\n",
	  "t.conf:16: service 'www': ttl: time '1500ms' is not a whole number of "
	  "seconds\n"),
	E("svc_min_interval_zero", HEAD "service:\n  - id: www\n"
	  "    name: www.example.test\n    backend: 10.0.0.1@80\n    pool: p4\n"
	  "    rotation: min-interval\n    min-interval: 0\n",
	  "t.conf:17: service 'www': min-interval: time '0' out of range (1ms..7w)\n"),
	E("svc_unknown_key", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: 10.0.0.1@80\n    pool: p4\n    color: red\n",
	  "t.conf:16: service 'www': unknown key 'color'\n"),
	E("svc_backend_bad", HEAD "service:\n  - id: www\n    name: www.example.test\n"
	  "    backend: [ 10.0.0.1@80, backend.example ]\n    pool: p4\n",
	  "t.conf:14: service 'www': backend: invalid address 'backend.example' "
	  "(expected ADDR or ADDR@PORT, e.g. 192.0.2.1@53 or 2001:db8::1@53)\n"),
	E("svc_label_escaped", HEAD "service:\n  - id: \"w\\tw\"\n"
	  "    name: www.example.test\n    backend: 10.0.0.1@80\n    pool: p4\n",
	  "t.conf:12: service 'w\\x09w': id: invalid id 'w\\x09w' (use 1 to 64 "
	  "letters, digits, '-', '_' or '.')\n"),

	/* --- other sections --- */
	E("decoy_port", SERVER "decoy:\n  route-via: 10.0.3.10@53\n",
	  "t.conf:4: decoy.route-via: expected an address without port, got "
	  "'10.0.3.10@53'\n"),
	E("decoy_empty", SERVER "decoy:\n",
	  "t.conf:3: missing required key 'route-via' in section 'decoy'\n"),
	E("control_group", SERVER "control:\n  group: \"adm ins\"\n",
	  "t.conf:4: control.group: invalid group name 'adm ins'\n"),
	E("nat_backend", SERVER "nat:\n  backend: iptables\n",
	  "t.conf:4: nat.backend: expected one of nft, memory, got 'iptables'\n"),
	E("nat_table", SERVER "nat:\n  table: 1fg\n",
	  "t.conf:4: nat.table: invalid nftables table name '1fg' (use 1 to 63 "
	  "letters, digits or '_', not starting with a digit)\n"),
	/* 64 characters: the daemon's data plane refuses it, so --check does */
	E("nat_table_64", SERVER "nat:\n  table: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n",
	  "t.conf:4: nat.table: invalid nftables table name 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' (use 1 to 63 "
	  "letters, digits or '_', not starting with a digit)\n"),
	E("nat_size_big", SERVER "nat:\n  pin-set-size: 5G\n",
	  "t.conf:4: nat.pin-set-size: size '5G' out of range (16..1G)\n"),
	E("nat_size_bad", SERVER "nat:\n  grant-set-size: lots\n",
	  "t.conf:4: nat.grant-set-size: invalid size 'lots' (expected a number "
	  "with an optional unit k, M or G)\n"),
	E("control_long", SERVER "control:\n  socket: /run/fluxgate/"
	  "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxxx\n",
	  "t.conf:4: control.socket: path '/run/fluxgate/xxxxxxxxxxxxxxxxxxxxxxxxxx"
	  "xxxxxxxxxxxxxxxxxxxxxxxx...' is too long for a UNIX socket (at most "
	  "107 bytes)\n"),
	E("metrics_scalar", SERVER "metrics: 3\n",
	  "t.conf:3: metrics: expected a mapping, got a scalar\n"),
	E("metrics_bad", SERVER "metrics:\n  listen: localhost\n",
	  "t.conf:4: metrics.listen: invalid address 'localhost' (expected ADDR or "
	  "ADDR@PORT, e.g. 192.0.2.1@53 or 2001:db8::1@53)\n"),
	E("log_level", SERVER "log:\n  level: verbose\n",
	  "t.conf:4: log.level: expected one of error, warning, info, debug, got "
	  "'verbose'\n"),
	E("log_file", SERVER "log:\n  file: eve.json\n",
	  "t.conf:4: log.file: expected an absolute path, got 'eve.json'\n"),

	/* --- several at once: every one is reported --- */
	E("many", "server:\n"
	  "  listen: 10.0.0.1@99999\n"
	  "  workers: lots\n"
	  "  foo: 1\n"
	  "zone:\n"
	  "  - domain: example.test\n"
	  "    soa: { mname: ns1 }\n"
	  "pool:\n"
	  "  - id: web4\n"
	  "    prefix: 198.51.100.7/24\n"
	  "service:\n"
	  "  - id: www\n"
	  "    name: www.other.test\n"
	  "    backend: 10.0.2.10@80\n"
	  "    pool: web9\n"
	  "nat:\n"
	  "  backend: iptables\n",
	  "t.conf:2: server.listen: invalid port in '10.0.0.1@99999' (expected "
	  "1..65535 after '@')\n"
	  "t.conf:3: server.workers: expected 'auto' or an integer 1..256, got "
	  "'lots'\n"
	  "t.conf:4: unknown key 'foo' in section 'server'\n"
	  "t.conf:7: zone 'example.test': soa: missing required key 'rname'\n"
	  "t.conf:10: pool 'web4': prefix: host bits set in prefix "
	  "'198.51.100.7/24' (did you mean 198.51.100.0/24?)\n"
	  "t.conf:13: service 'www': name 'www.other.test' is not inside any "
	  "configured zone\n"
	  "t.conf:15: service 'www': pool 'web9' is not defined\n"
	  "t.conf:17: nat.backend: expected one of nft, memory, got 'iptables'\n"),
};

static void run_errcase(void **state)
{
	const struct errcase *ec = *state;
	struct sink s;
	fg_conf_t *c = (fg_conf_t *)&s;
	int rc = load(ec->yaml, &c, &s);

	if (strcmp(s.buf, ec->expect) != 0)
		fprintf(stderr, "case %s:\n--- got:\n%s--- want:\n%s", ec->name, s.buf,
			ec->expect);
	assert_string_equal(s.buf, ec->expect);
	assert_int_equal(rc, ec->rc);
	assert_null(c);
}

/* DNS over TLS: all of tls-listen, tls-certificate, tls-key, or none. */
static void test_tls_keys(void **state)
{
	(void)state;
	struct sink s;
	fg_conf_t *c = NULL;
	c = load_ok("server:\n  listen: [ 127.0.0.1 ]\n  tls-listen: [ 127.0.0.1, \"::1@8853\" ]\n"
		    "  tls-certificate: /etc/fg/c.pem\n  tls-key: /etc/fg/k.pem\n"
		    "  tls-max-clients: 9\n  tls-idle-timeout: 3s\n" ZONE);
	assert_int_equal(c->server.ntls_listen, 2);
	assert_addr(&c->server.tls_listen[0], "127.0.0.1", 853);
	assert_addr(&c->server.tls_listen[1], "::1", 8853);
	assert_string_equal(c->server.tls_key, "/etc/fg/k.pem");
	assert_int_equal(c->server.tls_max_clients, 9);
	assert_int_equal(c->server.tls_idle_timeout_ms, 3000);
	fg_conf_free(c);

	c = NULL;
	assert_int_not_equal(load("server:\n  listen: [ 127.0.0.1 ]\n  tls-listen: [ 127.0.0.1 ]\n"
				  "  tls-key: /etc/fg/k.pem\n" ZONE, &c, &s), 0);
	assert_non_null(strstr(s.buf, "tls-listen needs tls-certificate"));
	assert_null(strstr(s.buf, "needs tls-key"));
	assert_null(c);
	assert_int_not_equal(load("server:\n  listen: [ 127.0.0.1 ]\n"
				  "  tls-certificate: /etc/fg/c.pem\n  tls-key: /etc/fg/k.pem\n" ZONE,
				  &c, &s), 0);
	assert_non_null(strstr(s.buf, "tls-listen is not"));
	assert_int_not_equal(load("server:\n  listen: [ 127.0.0.1 ]\n  tls-listen: [ 127.0.0.1 ]\n"
				  "  tls-certificate: c.pem\n  tls-key: /k.pem\n" ZONE, &c, &s), 0);
	assert_non_null(strstr(s.buf, "t.conf:4: server.tls-certificate: expected an absolute path"));   /* the relative path, at its line */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_time),
		cmocka_unit_test(test_port_spec),
		cmocka_unit_test(test_ports_loaded),
		cmocka_unit_test(test_time_internal),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_uint_float_bool),
		cmocka_unit_test(test_addr),
		cmocka_unit_test(test_prefix),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_example),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_rrl_cookie_keys),
		cmocka_unit_test(test_values),
		cmocka_unit_test(test_sample),
		cmocka_unit_test(test_file),
		cmocka_unit_test(test_api_edges),
		cmocka_unit_test(test_too_many_errors),
		cmocka_unit_test(test_pool_count_limit),
		cmocka_unit_test(test_external),
		cmocka_unit_test(test_restart_keys),
		cmocka_unit_test(test_deep_nesting),
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_warnings),
		cmocka_unit_test(test_tls_keys),
	};
	enum { NCASES = sizeof(errcases) / sizeof(errcases[0]) };
	struct CMUnitTest diag_tests[NCASES];
	int failed;

	for (size_t i = 0; i < NCASES; i++)
		diag_tests[i] = (struct CMUnitTest){
			.name = errcases[i].name,
			.test_func = run_errcase,
			.initial_state = (void *)&errcases[i],
		};
	failed = cmocka_run_group_tests_name("conf", tests, NULL, NULL);
	failed += _cmocka_run_group_tests("conf_diagnostics", diag_tests, NCASES,
					  NULL, NULL);
	return failed ? 1 : 0;
}

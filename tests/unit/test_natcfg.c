/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of fg_nat_config_build(): the data plane description made
 * from a configuration (ports exposed per pool range, DNS listeners,
 * constants). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <sys/socket.h>

#include <cmocka.h>

#include "conf/conf.h"
#include "dataplane/natcfg.h"

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s:%d: %s\n", file, line, msg);
}

#define HEAD "server:\n  listen: [ 127.0.0.1@5353, \"::\" ]\n" \
	"zone:\n  - domain: example.test\n    soa: { mname: ns1, rname: hm }\n" \
	"pool:\n  - id: p4\n    prefix: 198.51.100.0/24\n" \
	"  - id: p6\n    prefix: 2001:db8::/64\n" \
	"  - id: q4\n    prefix: 203.0.113.0/24\n" \
	"nat:\n  backend: memory\n"

static fg_nat_cfgbuf_t *build(const char *text, fg_conf_t **conf)
{
	fg_nat_cfgbuf_t *b = NULL;

	assert_int_equal(fg_conf_load_buffer("t.conf", text, strlen(text), conf, diag, NULL), 0);
	assert_int_equal(fg_nat_config_build(*conf, &b), 0);
	assert_non_null(b);
	return b;
}

/* How many svcport entries cover (family, addr, proto, port). */
static unsigned covers(const fg_nat_config_t *c, int family, const char *addr, uint8_t proto,
		       uint16_t port)
{
	uint8_t a[16] = { 0 };
	size_t alen = family == AF_INET6 ? 16 : 4;
	unsigned n = 0;

	assert_int_equal(inet_pton(family, addr, a), 1);
	for (size_t i = 0; i < c->nsvcports; i++) {
		const fg_nat_svcport_t *e = &c->svcports[i];

		if (e->family == family && memcmp(a, e->first, alen) >= 0 &&
		    memcmp(a, e->last, alen) <= 0 && proto >= e->proto_first &&
		    proto <= e->proto_last && port >= e->port_first && port <= e->port_last)
			n++;
	}
	return n;
}

static void test_ports_listed(void **state)
{
	fg_conf_t *conf = NULL;
	(void)state;
	fg_nat_cfgbuf_t *b = build(HEAD "service:\n"
		"  - id: www\n    name: www.example.test\n"
		"    backend: [ 10.0.2.10@8080, \"fd00::10@8080\" ]\n"
		"    ports: [ tcp/80, tcp/443, udp/8000-8010 ]\n    pool: [ p4, p6 ]\n", &conf);
	const fg_nat_config_t *c = &b->cfg;

	assert_true(c->ports_set);
	/* 3 ports + ICMP, for each of the two pools */
	assert_int_equal(c->nsvcports, 8);
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 6, 80), 1);
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 6, 443), 1);
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 17, 8005), 1);
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 6, 22), 0);
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 17, 80), 0);
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 6, 8080), 0); /* backend port, not exposed */
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 1, 0x1234), 1);  /* ICMP */
	assert_int_equal(covers(c, AF_INET, "198.51.100.7", 47, 0), 0);      /* GRE */
	assert_int_equal(covers(c, AF_INET6, "2001:db8::5", 6, 443), 1);
	assert_int_equal(covers(c, AF_INET6, "2001:db8::5", 58, 0), 1);
	assert_int_equal(covers(c, AF_INET, "203.0.113.5", 6, 80), 0);      /* not its pool */
	/* its backends carry a port: both its pools translate ports */
	assert_int_equal(c->nportmap, 2);
	fg_nat_cfgbuf_free(b);
	fg_conf_free(conf);
}

static void test_ports_from_backends(void **state)
{
	fg_conf_t *conf = NULL;
	(void)state;
	fg_nat_cfgbuf_t *b = build(HEAD "service:\n"
		"  - id: smtp\n    name: smtp.example.test\n"
		"    backend: [ 10.0.2.25@25, 10.0.2.26@25, 10.0.2.27@587 ]\n    pool: q4\n", &conf);
	const fg_nat_config_t *c = &b->cfg;

	/* 25 once (two backends), 587, ICMP */
	assert_int_equal(c->nsvcports, 3);
	assert_int_equal(covers(c, AF_INET, "203.0.113.9", 6, 25), 1);
	assert_int_equal(covers(c, AF_INET, "203.0.113.9", 6, 587), 1);
	assert_int_equal(covers(c, AF_INET, "203.0.113.9", 17, 25), 0);     /* TCP only */
	assert_int_equal(covers(c, AF_INET, "203.0.113.9", 6, 22), 0);
	fg_nat_cfgbuf_free(b);
	fg_conf_free(conf);
}

static void test_ports_any(void **state)
{
	fg_conf_t *conf = NULL;
	(void)state;
	fg_nat_cfgbuf_t *b = build(HEAD "service:\n"
		"  - id: all\n    name: all.example.test\n"
		"    backend: 10.0.2.10\n    ports: [ any ]\n    pool: p4\n", &conf);
	const fg_nat_config_t *c = &b->cfg;

	assert_int_equal(c->nsvcports, 1);
	assert_int_equal(covers(c, AF_INET, "198.51.100.1", 6, 22), 1);
	assert_int_equal(covers(c, AF_INET, "198.51.100.1", 47, 0), 1);
	assert_int_equal(c->nportmap, 0);  /* same port */
	fg_nat_cfgbuf_free(b);
	fg_conf_free(conf);
}

static void test_listen_and_constants(void **state)
{
	fg_conf_t *conf = NULL;
	(void)state;
	fg_nat_cfgbuf_t *b = build(HEAD "service:\n"
		"  - id: www\n    name: www.example.test\n"
		"    backend: 10.0.2.10@80\n    pool: p4\n    pin: 90s\n"
		"decoy:\n  route-via: [ 10.0.3.10, \"fd00:3::10\" ]\n", &conf);
	const fg_nat_config_t *c = &b->cfg;
	uint8_t lo[4] = { 127, 0, 0, 1 }, zero[16] = { 0 };

	assert_int_equal(c->nlisten, 2);
	assert_int_equal(c->listen[0].family, AF_INET);
	assert_memory_equal(c->listen[0].addr, lo, 4);
	assert_int_equal(c->listen[0].port, 5353);
	assert_int_equal(c->listen[1].family, AF_INET6);
	assert_memory_equal(c->listen[1].addr, zero, 16);
	assert_int_equal(c->listen[1].port, 53);
	assert_string_equal(c->table, "fluxgate");
	assert_int_equal(c->npools, 3);
	assert_int_equal(c->pin_ms, 90000);
	assert_int_equal(c->decoy_mark, FG_DECOY_MARK);
	assert_int_equal(c->route_table, FG_DECOY_ROUTE_TABLE);
	assert_int_equal(c->nflog_group, FG_DECOY_NFLOG_GROUP);
	/* subnet grants of the default ecs-min-prefix go to the hash maps */
	assert_int_equal(c->net_hash_plen4, 24);
	assert_int_equal(c->net_hash_plen6, 56);
	assert_true(c->decoy_set);
	assert_int_equal(c->decoy_family, AF_INET);
	assert_true(c->decoy6_set);
	fg_nat_cfgbuf_free(b);
	fg_conf_free(conf);
}

static fg_grant_t grant4(const char *addr, const char *backend, uint16_t port)
{
	fg_grant_t g = { .family = AF_INET, .scope = FG_SCOPE_CLIENT, .client_plen = 32,
			 .timeout_ms = 7000, .backend_port = port };

	assert_int_equal(inet_pton(AF_INET, "10.0.1.2", g.client), 1);
	assert_int_equal(inet_pton(AF_INET, addr, g.addr), 1);
	assert_int_equal(inet_pton(AF_INET, backend, g.backend), 1);
	return g;
}

static void test_grant_allowed(void **state)
{
	fg_conf_t *conf = NULL;
	(void)state;
	fg_nat_cfgbuf_t *b = build(HEAD "service:\n"
		"  - id: www\n    name: www.example.test\n"
		"    backend: [ 10.0.2.10@8080, \"fd00::10@8080\" ]\n    pool: [ p4, p6 ]\n"
		"  - id: mail\n    name: mail.example.test\n"
		"    backend: 10.0.2.25@25\n    pool: q4\n", &conf);
	const fg_nat_config_t *c = &b->cfg;
	fg_grant_t g;

	assert_true(c->backends_set);
	assert_int_equal(c->nbackends, 3);
	g = grant4("198.51.100.9", "10.0.2.10", 8080);
	assert_int_equal(fg_nat_grant_allowed(c, &g), 0);
	g = grant4("198.51.100.9", "10.0.2.10", 22);        /* other port */
	assert_int_equal(fg_nat_grant_allowed(c, &g), -EPERM);
	g = grant4("198.51.100.9", "10.0.2.25", 25);        /* another service's backend */
	assert_int_equal(fg_nat_grant_allowed(c, &g), -EPERM);
	g = grant4("203.0.113.9", "10.0.2.25", 25);
	assert_int_equal(fg_nat_grant_allowed(c, &g), 0);
	g = grant4("192.0.2.1", "10.0.2.10", 8080);         /* not a pool address */
	assert_int_equal(fg_nat_grant_allowed(c, &g), -EPERM);
	g = grant4("198.51.100.9", "10.0.2.10", 8080);
	g.timeout_ms = 0;
	assert_int_equal(fg_nat_grant_allowed(c, &g), -EINVAL);
	g = grant4("198.51.100.9", "10.0.2.10", 8080);
	g.client_plen = 33;
	assert_int_equal(fg_nat_grant_allowed(c, &g), -EINVAL);
	g.family = 99;
	assert_int_equal(fg_nat_grant_allowed(c, &g), -EINVAL);
	fg_nat_cfgbuf_free(b);
	fg_conf_free(conf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ports_listed),
		cmocka_unit_test(test_ports_from_backends),
		cmocka_unit_test(test_ports_any),
		cmocka_unit_test(test_listen_and_constants),
		cmocka_unit_test(test_grant_allowed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

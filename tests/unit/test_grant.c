/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests: the grant engine (grant/engine.h) over the in-memory NAT
 * backend: scopes, rotation, the open-fraction cap, and grant before answer
 * (a failed commit yields no address).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "conf/conf.h"
#include "dataplane/nat_mem.h"
#include "grant/engine.h"

static const char *const CONF_TEXT =
	"server:\n  listen: 127.0.0.1@5300\n"
	"zone:\n  - domain: example.test\n"
	"    soa: { mname: ns1.example.test, rname: h.example.test }\n"
	"pool:\n  - id: web4\n    prefix: 198.51.100.0/24\n"
	"  - id: small\n    prefix: 203.0.113.0/28\n"
	"  - id: web6\n    prefix: 2001:db8:77::/64\n"
	"service:\n"
	"  - id: www\n    name: www.example.test\n    backend: [ 10.0.2.10, 'fd00:2::10' ]\n    ports: [tcp/80]\n"
	"    pool: [ web4, web6 ]\n    ttl: 5s\n    grace: 2s\n    pin: 60s\n"
	"  - id: capped\n    name: capped.example.test\n    backend: 10.0.2.11\n    ports: [tcp/80]\n"
	"    pool: small\n    max-open-fraction: 0.25\n"
	"  - id: sticky\n    name: sticky.example.test\n    backend: 10.0.2.12\n    ports: [tcp/80]\n"
	"    pool: web4\n    rotation: min-interval\n    min-interval: 30s\n"
	"policy:\n  direct: [ 10.0.1.0/24 ]\n"
	"nat:\n  backend: memory\n";

struct fx {
	fg_conf_t *conf;
	fg_grant_engine_t *eng;
	fg_grant_worker_t *w;
	fg_nat_t *nat;
};

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s:%d: %s\n", file, line, msg);
}

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	if (fg_conf_load_buffer("test.conf", CONF_TEXT, strlen(CONF_TEXT), &f.conf, diag, NULL))
		return -1;
	if (fg_grant_engine_new(f.conf, NULL, &f.eng) || fg_grant_engine_setup(f.eng) ||
	    fg_grant_worker_new(f.eng, &f.w))
		return -1;
	f.nat = fg_grant_worker_nat(f.w);
	/* each in-memory handle is its own "kernel": give the worker's the
	 * static part (pools) the engine's setup gave the kernel table */
	if (fg_nat_mem_ops.setup(f.nat, fg_grant_engine_natcfg(f.eng)))
		return -1;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fg_grant_worker_free(f->w);
	fg_grant_engine_free(f->eng);
	fg_conf_free(f->conf);
	return 0;
}

static struct sockaddr_storage peer(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	if (strchr(a, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		inet_pton(AF_INET6, a, &s6->sin6_addr);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		inet_pton(AF_INET, a, &s4->sin_addr);
	}
	return ss;
}

static void ip(const char *a, uint8_t out[16])
{
	memset(out, 0, 16);
	if (inet_pton(AF_INET, a, out) != 1)
		inet_pton(AF_INET6, a, out);
}

/* One request: service index, qtype, from peer, optional ECS. */
static int one(struct fx *f, uint32_t svc, uint16_t qtype, const struct sockaddr_storage *p,
	       const fg_dns_query_t *q, fg_grant_req_t *r)
{
	memset(r, 0, sizeof(*r));
	r->q = q;
	r->peer = p;
	r->service_id = svc;
	r->qtype = qtype;
	return fg_grant_resolve(f->eng, f->w, r, 1);
}

static void test_any_scope_from_resolver(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res = peer("10.0.53.2");
	fg_grant_req_t r;
	assert_int_equal(one(f, 0, FG_TYPE_A, &res, &q, &r), 1);
	assert_true(r.ok);
	assert_int_equal(r.scope, FG_SCOPE_ANY);
	assert_int_equal(r.ttl, 5);
	assert_int_equal(r.addr[0], 198);
	assert_int_equal(r.addr[2], 100);
	/* anyone reaches the real server through it */
	uint8_t c[16], be[16];
	ip("192.0.2.77", c);
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, c, r.addr, be), FG_MEM_REAL);
	assert_int_equal(be[0], 10);
	assert_int_equal(be[3], 10);
	/* an address nobody was given goes to the decoys */
	uint8_t other[16];
	memcpy(other, r.addr, 16);
	other[3] ^= 0x01;
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, c, other, be), FG_MEM_DECOY);
}

static void test_exact_client_scope(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage cl = peer("10.0.1.7");
	fg_grant_req_t r;
	assert_int_equal(one(f, 0, FG_TYPE_A, &cl, &q, &r), 1);
	assert_int_equal(r.scope, FG_SCOPE_CLIENT);
	uint8_t me[16], other[16], be[16];
	ip("10.0.1.7", me);
	ip("10.0.1.8", other);
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, other, r.addr, be), FG_MEM_DECOY);
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, me, r.addr, be), FG_MEM_REAL);
	/* AAAA asked over IPv4 by a direct client cannot be client-scoped */
	assert_int_equal(one(f, 0, FG_TYPE_AAAA, &cl, &q, &r), 1);
	assert_int_equal(r.scope, FG_SCOPE_ANY);
	assert_int_equal(r.addr[0], 0x20);
	assert_int_equal(r.addr[5], 0x77);
}

static void test_ecs_scope(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 24;
	q.ecs.addr[0] = 192; q.ecs.addr[1] = 0; q.ecs.addr[2] = 2;
	struct sockaddr_storage res = peer("10.0.53.2");
	fg_grant_req_t r;
	assert_int_equal(one(f, 0, FG_TYPE_A, &res, &q, &r), 1);
	assert_int_equal(r.scope, FG_SCOPE_NET);
	assert_int_equal(r.ecs_scope, 24);
	uint8_t in[16], out[16], be[16];
	ip("192.0.2.200", in);
	ip("192.0.3.1", out);
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, out, r.addr, be), FG_MEM_DECOY);
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, in, r.addr, be), FG_MEM_REAL);
}

static void test_failed_commit_gives_no_address(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res[3] = { peer("10.0.53.2"), peer("10.0.53.3"), peer("10.0.53.4") };
	fg_grant_req_t r[3];
	for (int i = 0; i < 3; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].q = &q;
		r[i].peer = &res[i];
		r[i].service_id = 0;
		r[i].qtype = FG_TYPE_A;
	}
	fg_nat_mem_stats_t st0, st1;
	fg_nat_mem_stats(f->nat, &st0);
	/* the batch and every single retry fail: nothing may be answered */
	fg_nat_mem_fail_next(f->nat, 4, 0);
	assert_true(fg_grant_resolve(f->eng, f->w, r, 3) < 0);
	for (int i = 0; i < 3; i++)
		assert_false(r[i].ok);           /* none may be answered */
	fg_nat_mem_stats(f->nat, &st1);
	assert_int_equal(st1.live_grants, st0.live_grants);
	assert_int_equal(st1.commit_failures, st0.commit_failures + 4);
	/* one refused element costs only its own answer: batch fails, the
	 * first single retry fails, the other two go through */
	fg_nat_mem_fail_next(f->nat, 2, 0);
	assert_int_equal(fg_grant_resolve(f->eng, f->w, r, 3), 2);
	assert_false(r[0].ok);
	assert_true(r[1].ok);
	assert_true(r[2].ok);
	fg_nat_mem_stats(f->nat, &st0);
	/* the next batch goes through, in one commit */
	assert_int_equal(fg_grant_resolve(f->eng, f->w, r, 3), 3);
	fg_nat_mem_stats(f->nat, &st1);
	assert_int_equal(st1.commits, st0.commits + 1);
	assert_int_equal(st1.last_batch, 3 * 1);
	for (int i = 0; i < 3; i++)
		assert_true(r[i].ok);
}

static void test_open_fraction_cap(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	/* pool /28: 14 usable, cap 25% -> at most 3 open to anyone */
	uint8_t seen[256] = { 0 };
	unsigned distinct = 0;
	for (int i = 0; i < 40; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.0.%d.%d", 60 + i / 200, 1 + i % 200);
		struct sockaddr_storage res = peer(a);
		fg_grant_req_t r;
		assert_int_equal(one(f, 1, FG_TYPE_A, &res, &q, &r), 1);
		assert_true(r.ok);
		assert_int_equal(r.addr[2], 113);
		if (!seen[r.addr[3]]++)
			distinct++;
	}
	assert_true(distinct <= 3);
	assert_true(distinct >= 1);
	uint64_t sc[3], reuse, fails;
	fg_grant_engine_counters(f->eng, sc, &reuse, &fails);
	assert_true(reuse >= 37);
}

static void test_rotation_per_answer(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage cl = peer("10.0.1.50");   /* client scope: no cap */
	uint8_t seen[256] = { 0 };
	unsigned distinct = 0;
	for (int i = 0; i < 50; i++) {
		fg_grant_req_t r;
		assert_int_equal(one(f, 0, FG_TYPE_A, &cl, &q, &r), 1);
		if (!seen[r.addr[3]]++)
			distinct++;
	}
	assert_true(distinct >= 40);   /* 50 draws from 254: few collisions */
}

static void test_rotation_min_interval_and_rotate(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res = peer("10.0.54.9");
	fg_grant_req_t r1, r2;
	assert_int_equal(one(f, 2, FG_TYPE_A, &res, &q, &r1), 1);
	for (int i = 0; i < 5; i++) {
		assert_int_equal(one(f, 2, FG_TYPE_A, &res, &q, &r2), 1);
		assert_memory_equal(r1.addr, r2.addr, 4);
	}
	/* rotate: the first resolver moves on (almost surely to a new one) */
	assert_true(fg_grant_engine_rotate(f->eng, 2) >= 1);
	int moved = 0;
	for (int i = 0; i < 3; i++) {
		assert_true(fg_grant_engine_rotate(f->eng, 2) >= 0);
		assert_int_equal(one(f, 2, FG_TYPE_A, &res, &q, &r2), 1);
		moved += memcmp(r1.addr, r2.addr, 4) != 0;
	}
	assert_true(moved >= 2);
	assert_int_equal(fg_grant_engine_rotate(f->eng, 99), -2 /* -ENOENT */);
}

static void test_nodata_without_family_pool(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res = peer("10.0.53.2");
	fg_grant_req_t r;
	assert_int_equal(one(f, 1, FG_TYPE_AAAA, &res, &q, &r), 0);
	assert_true(r.nodata);
	assert_false(r.ok);
}

static void test_expiry_and_pin(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	fg_nat_mem_clock_freeze(f->nat);
	struct sockaddr_storage a = peer("10.0.1.21"), b = peer("10.0.1.22");
	fg_grant_req_t ra, rb;
	assert_int_equal(one(f, 0, FG_TYPE_A, &a, &q, &ra), 1);
	assert_int_equal(one(f, 0, FG_TYPE_A, &b, &q, &rb), 1);
	uint8_t ca[16], cb[16], be[16];
	ip("10.0.1.21", ca);
	ip("10.0.1.22", cb);
	/* a connects at once and is pinned; b never connects */
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, ca, ra.addr, be), FG_MEM_REAL);
	fg_nat_mem_advance(f->nat, 7001);    /* past ttl + grace */
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, cb, rb.addr, be), FG_MEM_DECOY);
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, ca, ra.addr, be), FG_MEM_REAL);
	fg_nat_mem_advance(f->nat, 60001);   /* pin lapses without use */
	assert_int_equal(fg_nat_mem_flow(f->nat, AF_INET, ca, ra.addr, be), FG_MEM_DECOY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_scope_from_resolver),
		cmocka_unit_test(test_exact_client_scope),
		cmocka_unit_test(test_ecs_scope),
		cmocka_unit_test(test_failed_commit_gives_no_address),
		cmocka_unit_test(test_open_fraction_cap),
		cmocka_unit_test(test_rotation_per_answer),
		cmocka_unit_test(test_rotation_min_interval_and_rotate),
		cmocka_unit_test(test_nodata_without_family_pool),
		cmocka_unit_test(test_expiry_and_pin),
	};
	return cmocka_run_group_tests_name("grant", tests, setup, teardown);
}

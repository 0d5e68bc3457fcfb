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
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

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
	"  - id: sticky4\n    prefix: 198.51.101.0/24\n"
	"service:\n"
	"  - id: www\n    name: www.example.test\n    backend: [ 10.0.2.10, 'fd00:2::10' ]\n    ports: [tcp/80]\n"
	"    pool: [ web4, web6 ]\n    ttl: 5s\n    grace: 2s\n    pin: 60s\n"
	"  - id: capped\n    name: capped.example.test\n    backend: 10.0.2.11\n    ports: [tcp/80]\n"
	"    pool: small\n    max-open-fraction: 0.25\n"
	"  - id: sticky\n    name: sticky.example.test\n    backend: 10.0.2.12\n    ports: [tcp/80]\n"
	"    pool: sticky4\n    rotation: min-interval\n    min-interval: 30s\n"
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
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, c, r.addr, be));
	assert_int_equal(be[0], 10);
	assert_int_equal(be[3], 10);
	/* an address nobody was given goes to the decoys */
	uint8_t other[16];
	memcpy(other, r.addr, 16);
	other[3] ^= 0x01;
	assert_false(fg_nat_mem_granted(f->nat, AF_INET, c, other, be));
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
	assert_false(fg_nat_mem_granted(f->nat, AF_INET, other, r.addr, be));
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, me, r.addr, be));
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
	assert_false(fg_nat_mem_granted(f->nat, AF_INET, out, r.addr, be));
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, in, r.addr, be));
}

/* Live addresses open to anyone in pool `id` (fg_grant_engine_pools). */
struct pool_q {
	const char *id;
	uint64_t open;
};

static void pool_cb(void *ctx, const char *id, int family, uint64_t size, uint64_t open)
{
	struct pool_q *pq = ctx;
	(void)family;
	(void)size;
	if (!strcmp(id, pq->id))
		pq->open = open;
}

static uint64_t pool_open(fg_grant_engine_t *eng, const char *id)
{
	struct pool_q pq = { id, 0 };
	fg_grant_engine_pools(eng, pool_cb, &pq);
	return pq.open;
}

static void test_failed_commit_gives_no_address(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res[3] = { peer("10.0.53.2"), peer("10.0.54.3"), peer("10.0.55.4") };
	fg_grant_req_t r[3];
	for (int i = 0; i < 3; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].q = &q;
		r[i].peer = &res[i];
		r[i].service_id = 1;    /* capped: pool small */
		r[i].qtype = FG_TYPE_A;
	}
	fg_nat_mem_stats_t st0, st1;
	fg_grant_counters_t c0, c1;
	fg_nat_mem_stats(f->nat, &st0);
	fg_grant_engine_counters_get(f->eng, &c0);
	uint64_t open0 = pool_open(f->eng, "small");
	/* the batch fails: nothing may be answered, and it is not retried
	 * element by element (the old engine made 3 more attempts) */
	fg_nat_mem_fail_next(f->nat, 4, 0);
	assert_true(fg_grant_resolve(f->eng, f->w, r, 3) < 0);
	for (int i = 0; i < 3; i++)
		assert_false(r[i].ok);           /* none may be answered */
	fg_nat_mem_stats(f->nat, &st1);
	fg_grant_engine_counters_get(f->eng, &c1);
	assert_int_equal(st1.live_grants, st0.live_grants);
	assert_int_equal(st1.commit_failures, st0.commit_failures + 1);
	assert_int_equal(c1.commit_failures, c0.commit_failures + 1);
	assert_int_equal(c1.commit_servfail, c0.commit_servfail + 3);
	/* rolled back: the refused grants hold no pool address open */
	assert_int_equal(pool_open(f->eng, "small"), open0);
	fg_nat_mem_fail_next(f->nat, 0, 0);
	/* the next batch goes through, in one commit */
	fg_nat_mem_stats(f->nat, &st0);
	assert_int_equal(fg_grant_resolve(f->eng, f->w, r, 3), 3);
	fg_nat_mem_stats(f->nat, &st1);
	assert_int_equal(st1.commits, st0.commits + 1);
	assert_int_equal(st1.last_batch, 3 * 1);
	for (int i = 0; i < 3; i++)
		assert_true(r[i].ok);
}

/* A refused min-interval grant leaves no per-resolver memory behind: the
 * next answer is a fresh pick, not the address the kernel refused. */
static void test_failed_commit_rolls_back_rcache(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	int differ = 0;
	for (int t = 0; t < 6; t++) {
		char a[32];
		snprintf(a, sizeof(a), "10.0.%d.9", 70 + t);
		struct sockaddr_storage res = peer(a);
		fg_grant_req_t r1, r2;
		fg_nat_mem_fail_next(f->nat, 1, 0);
		assert_true(one(f, 2, FG_TYPE_A, &res, &q, &r1) < 0);
		assert_false(r1.ok);
		/* without the rollback the refused address is kept for the
		 * 30 s interval: the same one every time */
		assert_int_equal(one(f, 2, FG_TYPE_A, &res, &q, &r2), 1);
		assert_true(r2.ok);
		differ += memcmp(r1.addr, r2.addr, 4) != 0;
	}
	/* 6 fresh picks among 254: all equal to the refused ones by chance
	 * has probability 254^-6 */
	assert_true(differ >= 1);
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
	fg_grant_counters_t gc;
	fg_grant_engine_counters_get(f->eng, &gc);
	assert_true(gc.forced_reuse >= 37);
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
	/* 50 draws from 254: about 4.6 collisions expected; >= 40 distinct
	 * failed about 1 run in 600, >= 30 far less than 1 in 10^5, and an engine
	 * that does not rotate gives 1 */
	assert_true(distinct >= 30);
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

static void test_expiry(void **state)
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
	/* each grant lives ttl + grace in the data plane, then lapses (what a
	 * pinned flow does past it is the ruleset's: netns/dataplane) */
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, ca, ra.addr, be));
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, cb, rb.addr, be));
	fg_nat_mem_advance(f->nat, 6999);
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, ca, ra.addr, be));
	fg_nat_mem_advance(f->nat, 2);       /* past ttl + grace */
	assert_false(fg_nat_mem_granted(f->nat, AF_INET, ca, ra.addr, be));
	assert_false(fg_nat_mem_granted(f->nat, AF_INET, cb, rb.addr, be));
}

/* ---- engines of their own config (hardening findings) ---------------- */

/* No policy section at all: ECS-carrying resolvers, anyone grants. */
#define OWN_HEAD \
	"server:\n  listen: 127.0.0.1@5300\n" \
	"zone:\n  - domain: example.test\n" \
	"    soa: { mname: ns1.example.test, rname: h.example.test }\n"

static void own_new(struct fx *e, const char *text, fg_grant_engine_t *prev)
{
	memset(e, 0, sizeof(*e));
	assert_int_equal(fg_conf_load_buffer("own.conf", text, strlen(text), &e->conf,
					     diag, NULL), 0);
	assert_int_equal(fg_grant_engine_new(e->conf, prev, &e->eng), 0);
	assert_int_equal(fg_grant_engine_setup(e->eng), 0);
	assert_int_equal(fg_grant_worker_new(e->eng, &e->w), 0);
	e->nat = fg_grant_worker_nat(e->w);
	assert_int_equal(fg_nat_mem_ops.setup(e->nat, fg_grant_engine_natcfg(e->eng)), 0);
}

static void own_free(struct fx *e)
{
	fg_grant_worker_free(e->w);
	fg_grant_engine_free(e->eng);
	fg_conf_free(e->conf);
}

static const char *const OWN_WWW =
	OWN_HEAD
	"pool:\n  - id: web4\n    prefix: 198.51.100.0/24\n"
	"  - id: web6\n    prefix: 2001:db8:77::/64\n"
	"  - id: small\n    prefix: 203.0.113.0/28\n"
	"service:\n"
	"  - id: www\n    name: www.example.test\n    backend: [ 10.0.2.10@80, 'fd00:2::10@80' ]\n"
	"    pool: [ web4, web6 ]\n"
	"  - id: capped\n    name: capped.example.test\n    backend: 10.0.2.11@80\n"
	"    pool: small\n    max-open-fraction: 0.25\n"
	"nat:\n  backend: memory\n";

static uint64_t live_scope(struct fx *e, int scope)
{
	fg_nat_counts_t c;
	assert_int_equal(fg_nat_mem_ops.count(e->nat, &c), 0);
	return c.grants[scope];
}

/* Finding 1: kdig +subnet=0.0.0.0/1 (and ::/1) opens no wide subnet grant;
 * repeating it from one resolver opens a bounded handful of addresses,
 * and an unrelated source reaches only those. Also the UBSan abort of a
 * config without policy.direct (memcpy from NULL). */
static void test_wide_ecs_gives_no_wide_grant(void **state)
{
	(void)state;
	struct fx e;
	own_new(&e, OWN_WWW, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 1;
	struct sockaddr_storage res = peer("10.0.53.2");
	uint8_t held[64][16];
	unsigned nheld = 0;
	for (int i = 0; i < 50; i++) {
		fg_grant_req_t r;
		assert_int_equal(one(&e, 0, FG_TYPE_A, &res, &q, &r), 1);
		assert_true(r.ok);
		assert_int_equal(r.scope, FG_SCOPE_ANY);
		assert_int_equal(r.ecs_scope, 0);
		unsigned k;
		for (k = 0; k < nheld; k++)
			if (!memcmp(held[k], r.addr, 4))
				break;
		if (k == nheld)
			memcpy(held[nheld++], r.addr, 16);
	}
	assert_int_equal(live_scope(&e, FG_SCOPE_NET), 0);
	assert_true(nheld <= 4);          /* policy.anyone-per-source default */
	/* an unrelated source: every other pool address is a decoy */
	uint8_t c[16], be[16], a[16] = { 198, 51, 100, 0 };
	ip("192.0.2.77", c);
	unsigned real = 0;
	for (int x = 1; x < 255; x++) {
		a[3] = (uint8_t)x;
		real += fg_nat_mem_granted(e.nat, AF_INET, c, a, be);
	}
	assert_int_equal(real, nheld);
	/* the same for AAAA with ::/1 */
	q.ecs.family = 2;
	for (int i = 0; i < 20; i++) {
		fg_grant_req_t r;
		assert_int_equal(one(&e, 0, FG_TYPE_AAAA, &res, &q, &r), 1);
		assert_int_equal(r.scope, FG_SCOPE_ANY);
	}
	assert_int_equal(live_scope(&e, FG_SCOPE_NET), 0);
	fg_grant_counters_t cn;
	fg_grant_engine_counters_get(e.eng, &cn);
	assert_int_equal(cn.ecs_ignored, 70);
	assert_true(cn.anyone_source_reuse >= 50 - 4);
	own_free(&e);
}

/* Finding 1: with the ECS scopes refused, max-open-fraction holds however
 * many resolvers (/24s) ask. */
static void test_open_fraction_cap_with_refused_ecs(void **state)
{
	(void)state;
	struct fx e;
	own_new(&e, OWN_WWW, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 8;
	q.ecs.addr[0] = 10;
	uint8_t seen[256] = { 0 };
	unsigned distinct = 0;
	for (int i = 0; i < 40; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.%d.%d.1", 1 + i / 200, i % 200);
		struct sockaddr_storage res = peer(a);
		fg_grant_req_t r;
		assert_int_equal(one(&e, 1, FG_TYPE_A, &res, &q, &r), 1);
		assert_true(r.ok);
		assert_int_equal(r.scope, FG_SCOPE_ANY);
		if (!seen[r.addr[3]]++)
			distinct++;
	}
	/* /28: 14 usable, 25 % -> 3 */
	assert_true(distinct <= 3);
	assert_true(pool_open(e.eng, "small") <= 3);
	assert_int_equal(live_scope(&e, FG_SCOPE_NET), 0);
	own_free(&e);
}

/* Finding 1: one source /24 holds at most anyone-per-source addresses open
 * to anyone; past that it is handed one it holds. Another /24 is not
 * bound by it. */
static void test_anyone_per_source(void **state)
{
	(void)state;
	struct fx e;
	char text[2048];
	snprintf(text, sizeof(text), "%spolicy:\n  anyone-per-source: 3\n", OWN_WWW);
	own_new(&e, text, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	uint8_t held[3][4];
	unsigned nheld = 0;
	for (int i = 0; i < 30; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.0.53.%d", 1 + i % 7);   /* one /24 */
		struct sockaddr_storage res = peer(a);
		fg_grant_req_t r;
		assert_int_equal(one(&e, 0, FG_TYPE_A, &res, &q, &r), 1);
		assert_int_equal(r.scope, FG_SCOPE_ANY);
		unsigned k;
		for (k = 0; k < nheld; k++)
			if (!memcmp(held[k], r.addr, 4))
				break;
		if (k == nheld) {
			assert_true(nheld < 3);
			memcpy(held[nheld++], r.addr, 4);
		}
	}
	assert_int_equal(nheld, 3);
	assert_int_equal(pool_open(e.eng, "web4"), 3);
	fg_grant_counters_t cn;
	fg_grant_engine_counters_get(e.eng, &cn);
	assert_int_equal(cn.anyone_source_reuse, 27);
	/* another /24 gets addresses of its own */
	struct sockaddr_storage other = peer("10.0.54.1");
	fg_grant_req_t r;
	assert_int_equal(one(&e, 0, FG_TYPE_A, &other, &q, &r), 1);
	assert_int_equal(pool_open(e.eng, "web4"), 4);
	/* fluxctl rotate: the first /24 gets a fresh address at once */
	assert_true(fg_grant_engine_rotate(e.eng, 0) >= 0);
	struct sockaddr_storage first = peer("10.0.53.1");
	assert_int_equal(one(&e, 0, FG_TYPE_A, &first, &q, &r), 1);
	assert_int_equal(pool_open(e.eng, "web4"), 5);
	/* IPv6 sources are bound by their /56 */
	for (int i = 0; i < 10; i++) {
		char a[64];
		snprintf(a, sizeof(a), "2001:db8:53:%x::%x", i % 4, i + 1);  /* one /56 */
		struct sockaddr_storage res6 = peer(a);
		assert_int_equal(one(&e, 0, FG_TYPE_AAAA, &res6, &q, &r), 1);
	}
	assert_int_equal(pool_open(e.eng, "web6"), 3);
	own_free(&e);
}

/* Finding 1: a (forged) source inside policy.direct holds at most
 * exact-per-source live exact grants; past that its answers reuse them. */
static void test_exact_per_source_quota(void **state)
{
	(void)state;
	struct fx e;
	char text[2048];
	snprintf(text, sizeof(text), "%spolicy:\n  direct: [ 10.0.1.0/24 ]\n", OWN_WWW);
	own_new(&e, text, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage cl = peer("10.0.1.66");
	for (int i = 0; i < 200; i++) {
		fg_grant_req_t r;
		assert_int_equal(one(&e, 0, FG_TYPE_A, &cl, &q, &r), 1);
		assert_true(r.ok);
		assert_int_equal(r.scope, FG_SCOPE_CLIENT);
	}
	assert_int_equal(live_scope(&e, FG_SCOPE_CLIENT), 64);   /* the default */
	fg_grant_counters_t cn;
	fg_grant_engine_counters_get(e.eng, &cn);
	/* 64 distinct addresses took 64 picks plus those that drew an address
	 * the source held already (a handful); every other answer reused */
	assert_true(cn.exact_quota_reuse >= 200 - 64 - 64);
	assert_true(cn.exact_quota_reuse <= 200 - 64);
	/* a neighbour is not held back by it */
	struct sockaddr_storage nb = peer("10.0.1.67");
	fg_grant_req_t r;
	assert_int_equal(one(&e, 0, FG_TYPE_A, &nb, &q, &r), 1);
	assert_int_equal(live_scope(&e, FG_SCOPE_CLIENT), 65);
	own_free(&e);
}

static uint64_t mono_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* What the unverified-grant budget is fed (grant/budget.h): count_until
 * from the ACK, no earlier than the element expires; an exact grant that
 * renews a live element names the latest count_until of the element's
 * acknowledged unverified grants (renew_of), not those of verified or
 * refused ones; fresh elements and grants open to anyone name none. */
static void test_unverified_renewal_feed(void **state)
{
	(void)state;
	struct fx e;
	char text[2048];
	snprintf(text, sizeof(text), "%spolicy:\n  direct: [ 10.0.1.0/24 ]\n"
		 "  exact-per-source: 2\n", OWN_WWW);
	own_new(&e, text, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage cl = peer("10.0.1.90");
	uint8_t addr[2][16];
	uint64_t counted[2] = { 0, 0 };
	unsigned naddr = 0, renewals = 0;
	fg_grant_req_t r;
	for (int i = 0; i < 40; i++) {
		memset(&r, 0, sizeof(r));
		r.q = &q;
		r.peer = &cl;
		r.service_id = 0;
		r.qtype = FG_TYPE_A;
		r.unverified = true;
		uint64_t t0 = mono_now_ms();
		assert_int_equal(fg_grant_resolve(e.eng, e.w, &r, 1), 1);
		uint64_t t1 = mono_now_ms();
		assert_true(r.ok);
		assert_int_equal(r.scope, FG_SCOPE_CLIENT);
		assert_true(r.count_until >= t0 + r.grant_ms && r.count_until <= t1 + r.grant_ms);
		unsigned k = 0;
		while (k < naddr && memcmp(addr[k], r.addr, 16))
			k++;
		if (k == naddr) {
			assert_true(naddr < 2);           /* exact-per-source */
			memcpy(addr[naddr++], r.addr, 16);
			assert_int_equal(r.renew_of, 0);
		} else {
			assert_int_equal(r.renew_of, counted[k]);
			renewals++;
		}
		counted[k] = r.count_until;
	}
	assert_int_equal(naddr, 2);
	assert_true(renewals >= 38);
	/* a verified renewal is not counted by the caller: not recorded */
	uint64_t before[2] = { counted[0], counted[1] };
	memset(&r, 0, sizeof(r));
	r.q = &q;
	r.peer = &cl;
	r.qtype = FG_TYPE_A;
	assert_int_equal(fg_grant_resolve(e.eng, e.w, &r, 1), 1);
	assert_true(r.renew_of == before[0] || r.renew_of == before[1]);
	/* nor a refused one */
	r.unverified = true;
	fg_nat_mem_fail_next(e.nat, 1, 0);
	assert_true(fg_grant_resolve(e.eng, e.w, &r, 1) < 0);
	assert_false(r.ok);
	fg_nat_mem_fail_next(e.nat, 0, 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(fg_grant_resolve(e.eng, e.w, &r, 1), 1);
		unsigned k = memcmp(addr[0], r.addr, 16) ? 1 : 0;
		assert_memory_equal(addr[k], r.addr, 16);
		assert_int_equal(r.renew_of, before[k]);
		before[k] = r.count_until;
	}
	/* rotate forgets the holdings: a fresh element as far as is known */
	assert_true(fg_grant_engine_rotate(e.eng, 0) >= 0);
	assert_int_equal(fg_grant_resolve(e.eng, e.w, &r, 1), 1);
	assert_int_equal(r.renew_of, 0);
	/* grants open to anyone are not the budget's: never a renewal */
	struct sockaddr_storage rs = peer("192.0.2.53");
	for (int i = 0; i < 10; i++) {
		memset(&r, 0, sizeof(r));
		r.q = &q;
		r.peer = &rs;
		r.qtype = FG_TYPE_A;
		r.unverified = true;
		assert_int_equal(fg_grant_resolve(e.eng, e.w, &r, 1), 1);
		assert_int_equal(r.scope, FG_SCOPE_ANY);
		assert_int_equal(r.renew_of, 0);
	}
	own_free(&e);
}

/* Finding 7: a full grant set fails the batch in at most two
 * transactions (one retry only when subnet grants were mixed in), every
 * request SERVFAILs, and the pools are as before. */
static void test_full_set_no_retry_storm(void **state)
{
	(void)state;
	struct fx e;
	char text[2048];
	snprintf(text, sizeof(text), "%s  grant-set-size: 16\n", OWN_WWW);
	own_new(&e, text, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	/* fill the anyone map: 16 sources in 16 /24s */
	for (int i = 0; i < 16; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.1.%d.1", i);
		struct sockaddr_storage res = peer(a);
		fg_grant_req_t r;
		assert_int_equal(one(&e, 0, FG_TYPE_A, &res, &q, &r), 1);
		assert_true(r.ok);
	}
	uint64_t open0 = pool_open(e.eng, "web4");
	assert_int_equal(open0, 16);
	/* a batch of 40: 30 anyone grants from new /24s, 10 subnet grants */
	struct sockaddr_storage peers[40];
	fg_dns_query_t qe[40];
	fg_grant_req_t r[40];
	for (int i = 0; i < 40; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.2.%d.1", i);
		peers[i] = peer(a);
		memset(&qe[i], 0, sizeof(qe[i]));
		if (i >= 30) {
			qe[i].has_ecs = true;
			qe[i].ecs.family = 1;
			qe[i].ecs.source_prefix = 24;
			qe[i].ecs.addr[0] = 192;
			qe[i].ecs.addr[2] = (uint8_t)i;
		}
		memset(&r[i], 0, sizeof(r[i]));
		r[i].q = &qe[i];
		r[i].peer = &peers[i];
		r[i].service_id = 0;
		r[i].qtype = FG_TYPE_A;
	}
	fg_nat_mem_stats_t st0, st1;
	fg_grant_counters_t c0, c1;
	fg_nat_mem_stats(e.nat, &st0);
	fg_grant_engine_counters_get(e.eng, &c0);
	assert_true(fg_grant_resolve(e.eng, e.w, r, 40) < 0);
	fg_nat_mem_stats(e.nat, &st1);
	fg_grant_engine_counters_get(e.eng, &c1);
	for (int i = 0; i < 40; i++)
		assert_false(r[i].ok);
	/* the old engine tried 1 + 40 transactions */
	assert_int_equal(st1.commit_failures - st0.commit_failures, 2);
	assert_int_equal(c1.commit_failures - c0.commit_failures, 2);
	assert_int_equal(c1.commit_servfail - c0.commit_servfail, 40);
	assert_int_equal(pool_open(e.eng, "web4"), open0);
	/* without subnet grants: one transaction, no retry */
	fg_nat_mem_stats(e.nat, &st0);
	assert_true(fg_grant_resolve(e.eng, e.w, r, 30) < 0);
	fg_nat_mem_stats(e.nat, &st1);
	assert_int_equal(st1.commit_failures - st0.commit_failures, 1);
	assert_int_equal(pool_open(e.eng, "web4"), open0);
	own_free(&e);
}

/* Finding 6: per-resolver memory follows the service id, not its index:
 * after a reload that swaps two services, each keeps its own address and
 * never gets the other's. */
static void test_reload_reorder_keeps_services_apart(void **state)
{
	(void)state;
	static const char *const A =
		OWN_HEAD
		"pool:\n  - id: p1\n    prefix: 198.51.100.0/24\n"
		"  - id: p2\n    prefix: 203.0.113.0/24\n"
		"service:\n"
		"  - id: one\n    name: one.example.test\n    backend: 10.0.2.10@80\n"
		"    pool: p1\n    rotation: min-interval\n    min-interval: 60s\n"
		"  - id: two\n    name: two.example.test\n    backend: 10.0.2.20@80\n"
		"    pool: p2\n    rotation: min-interval\n    min-interval: 60s\n"
		"nat:\n  backend: memory\n";
	static const char *const B =
		OWN_HEAD
		"pool:\n  - id: p1\n    prefix: 198.51.100.0/24\n"
		"  - id: p2\n    prefix: 203.0.113.0/24\n"
		"service:\n"
		"  - id: two\n    name: two.example.test\n    backend: 10.0.2.20@80\n"
		"    pool: p2\n    rotation: min-interval\n    min-interval: 60s\n"
		"  - id: one\n    name: one.example.test\n    backend: 10.0.2.10@80\n"
		"    pool: p1\n    rotation: min-interval\n    min-interval: 60s\n"
		"nat:\n  backend: memory\n";
	struct fx ea, eb;
	own_new(&ea, A, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res = peer("10.0.53.2");
	fg_grant_req_t one1, two1, r;
	assert_int_equal(one(&ea, 0, FG_TYPE_A, &res, &q, &one1), 1);
	assert_int_equal(one(&ea, 1, FG_TYPE_A, &res, &q, &two1), 1);
	assert_int_equal(one1.addr[0], 198);
	assert_int_equal(two1.addr[0], 203);
	own_new(&eb, B, ea.eng);
	own_free(&ea);
	/* "two" is index 0 now, "one" index 1 */
	assert_int_equal(one(&eb, 0, FG_TYPE_A, &res, &q, &r), 1);
	assert_int_equal(r.addr[0], 203);
	assert_memory_equal(r.addr, two1.addr, 4);
	uint8_t c[16], be[16];
	ip("192.0.2.1", c);
	assert_true(fg_nat_mem_granted(eb.nat, AF_INET, c, r.addr, be));
	assert_int_equal(be[3], 20);
	assert_int_equal(one(&eb, 1, FG_TYPE_A, &res, &q, &r), 1);
	assert_int_equal(r.addr[0], 198);
	assert_memory_equal(r.addr, one1.addr, 4);
	assert_true(fg_nat_mem_granted(eb.nat, AF_INET, c, r.addr, be));
	assert_int_equal(be[3], 10);
	/* rotate by index drops only that service's memory */
	assert_int_equal(fg_grant_engine_rotate(eb.eng, 0), 1);
	assert_int_equal(one(&eb, 1, FG_TYPE_A, &res, &q, &r), 1);
	assert_memory_equal(r.addr, one1.addr, 4);
	own_free(&eb);
}

/* A reload that raises anyone-per-source: the holdings table grows, the
 * previous engine (still alive during the switch) keeps working on the
 * old one, and the new bound applies. */
static void test_reload_raises_source_bound(void **state)
{
	(void)state;
	struct fx ea, eb;
	char text[2048];
	snprintf(text, sizeof(text), "%spolicy:\n  anyone-per-source: 2\n", OWN_WWW);
	own_new(&ea, text, NULL);
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage res = peer("10.0.53.2");
	fg_grant_req_t r;
	for (int i = 0; i < 10; i++)
		assert_int_equal(one(&ea, 0, FG_TYPE_A, &res, &q, &r), 1);
	assert_int_equal(pool_open(ea.eng, "web4"), 2);
	snprintf(text, sizeof(text), "%spolicy:\n  anyone-per-source: 5\n", OWN_WWW);
	own_new(&eb, text, ea.eng);
	/* the old snapshot still answers while workers switch over */
	assert_int_equal(one(&ea, 0, FG_TYPE_A, &res, &q, &r), 1);
	own_free(&ea);
	for (int i = 0; i < 20; i++)
		assert_int_equal(one(&eb, 0, FG_TYPE_A, &res, &q, &r), 1);
	/* the two open before the reload (still open, shared pool state) and
	 * at most five held under the new bound */
	uint64_t open = pool_open(eb.eng, "web4");
	assert_true(open >= 5 && open <= 2 + 5);
	own_free(&eb);
}


/* Pipelined commits (fg_grant_begin/finish over a backend that answers
 * later): while a batch's transaction is in flight none of its requests
 * is ok and its address is not in the data plane; each batch is judged by
 * its own outcome, in order: a refused first batch costs only its own
 * answers (counted by cause), the second is granted on its own ACK. */
static void test_pipelined_answers_wait_for_ack(void **state)
{
	(void)state;
	fg_conf_t *conf = NULL;
	fg_grant_engine_t *eng = NULL;
	fg_grant_worker_t *w = NULL;
	assert_int_equal(fg_conf_load_buffer("test.conf", CONF_TEXT, strlen(CONF_TEXT), &conf,
					     diag, NULL), 0);
	assert_int_equal(fg_grant_engine_new(conf, NULL, &eng), 0);
	fg_grant_engine_set_ops(eng, &fg_nat_mem_async_ops);
	assert_int_equal(fg_grant_engine_setup(eng), 0);
	assert_int_equal(fg_grant_worker_new(eng, &w), 0);
	fg_nat_t *nat = fg_grant_worker_nat(w);
	assert_int_equal(fg_nat_mem_async_ops.setup(nat, fg_grant_engine_natcfg(eng)), 0);
	assert_int_equal(fg_grant_worker_fd(w), -1);

	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	struct sockaddr_storage pa = peer("10.0.1.5"), pb = peer("10.0.1.6");
	fg_grant_req_t a[2], b[2];
	for (int i = 0; i < 2; i++) {
		memset(&a[i], 0, sizeof(a[i]));
		a[i].q = &q;
		a[i].peer = &pa;
		a[i].service_id = 0;
		a[i].qtype = FG_TYPE_A;
	}
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 2; i++) {
		b[i].q = &q;
		b[i].peer = &pb;
		b[i].service_id = 0;
		b[i].qtype = FG_TYPE_A;
	}
	b[1].hidden = true;   /* a private service this asker may not get */
	uint8_t ca[16], cb[16], be[16];
	ip("10.0.1.5", ca);
	ip("10.0.1.6", cb);

	fg_grant_counters_t c0, c1;
	fg_grant_engine_counters_get(eng, &c0);
	/* a synchronous resolve is refused while batches are in flight */
	assert_int_equal(fg_grant_begin(eng, w, a, 2), 2);
	assert_int_equal(fg_grant_resolve(eng, w, b, 1), -EBUSY);
	/* so is a published (RFC 2136) grant: it would read a pipelined result */
	fg_grant_pub_t pub = { .service_id = 0, .family = AF_INET, .fresh = true,
			       .timeout_ms = 1000 };
	assert_int_equal(fg_grant_publish(eng, w, &pub, 1), -EBUSY);
	/* the hidden request gets no grant of its own: one started */
	assert_int_equal(fg_grant_begin(eng, w, b, 2), 1);
	assert_false(b[1].pending);
	assert_false(b[1].nodata);
	assert_int_equal(fg_grant_inflight(w), 2);
	assert_int_equal(fg_nat_mem_pending(nat), 2);
	for (int i = 0; i < 2; i++) {
		assert_true(a[i].pending);
		assert_false(a[i].ok);        /* an address, but not granted yet */
		assert_false(fg_nat_mem_granted(nat, AF_INET, ca, a[i].addr, be));
	}
	assert_true(b[0].pending);
	assert_false(b[0].ok);
	assert_false(fg_nat_mem_granted(nat, AF_INET, cb, b[0].addr, be));

	/* the kernel refuses the first transaction */
	fg_nat_mem_fail_next(nat, 1, 0);
	assert_true(fg_grant_finish(eng, w, a) < 0);
	for (int i = 0; i < 2; i++) {
		assert_false(a[i].ok);
		assert_int_equal(a[i].cause, FG_NOADDR_KERNEL);
		assert_false(fg_nat_mem_granted(nat, AF_INET, ca, a[i].addr, be));
	}
	/* the second is still in flight, still not granted */
	assert_int_equal(fg_grant_inflight(w), 1);
	assert_false(b[0].ok);
	assert_false(fg_nat_mem_granted(nat, AF_INET, cb, b[0].addr, be));
	assert_int_equal(fg_grant_finish(eng, w, b), 1);
	assert_true(b[0].ok);
	assert_true(fg_nat_mem_granted(nat, AF_INET, cb, b[0].addr, be));
	assert_false(b[1].ok);                 /* skipped, not a failure */
	assert_int_equal(b[1].cause, FG_NOADDR_NONE);
	assert_int_equal(fg_grant_inflight(w), 0);
	assert_int_equal(fg_grant_finish(eng, w, b), -EINVAL);   /* nothing left */

	/* nothing in flight: the published grant is committed, open to anyone */
	assert_int_equal(fg_grant_publish(eng, w, &pub, 1), 0);
	uint8_t anyc[16];
	ip("10.9.9.9", anyc);
	assert_true(fg_nat_mem_granted(nat, AF_INET, anyc, pub.addr, be));

	fg_grant_engine_counters_get(eng, &c1);
	assert_int_equal(c1.noaddr[FG_NOADDR_KERNEL], c0.noaddr[FG_NOADDR_KERNEL] + 2);
	assert_int_equal(c1.noaddr[FG_NOADDR_POOL], c0.noaddr[FG_NOADDR_POOL]);
	assert_int_equal(c1.noaddr[FG_NOADDR_INTERNAL], c0.noaddr[FG_NOADDR_INTERNAL]);
	assert_int_equal(c1.grants[FG_SCOPE_CLIENT], c0.grants[FG_SCOPE_CLIENT] + 1);
	assert_string_equal(fg_grant_noaddr_name(FG_NOADDR_KERNEL), "kernel_refused");
	assert_string_equal(fg_grant_noaddr_name(FG_NOADDR_POOL), "pool_exhausted");

	/* a worker freed with a batch in flight reads its result first */
	assert_int_equal(fg_grant_begin(eng, w, b, 1), 1);
	fg_grant_worker_free(w);
	fg_grant_engine_free(eng);
	fg_conf_free(conf);
}

/* A request the engine cannot serve (a service id it does not know: a
 * forged or stale request) answers without an address, counted with the
 * cause "internal", never silently. */
static void test_noaddr_internal_cause(void **state)
{
	struct fx *f = *state;
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	fg_grant_req_t r;
	struct sockaddr_storage p = peer("10.0.1.9");
	memset(&r, 0, sizeof(r));
	r.q = &q;
	r.peer = &p;
	r.service_id = 99;
	r.qtype = FG_TYPE_A;
	fg_grant_counters_t c0, c1;
	fg_grant_engine_counters_get(f->eng, &c0);
	assert_int_equal(fg_grant_resolve(f->eng, f->w, &r, 1), 0);
	assert_false(r.ok);
	assert_int_equal(r.cause, FG_NOADDR_INTERNAL);
	fg_grant_engine_counters_get(f->eng, &c1);
	assert_int_equal(c1.noaddr[FG_NOADDR_INTERNAL], c0.noaddr[FG_NOADDR_INTERNAL] + 1);
}

/* Restart recovery: grants open to anyone read back from the kernel are
 * adopted into the pools' open state (only those: live, anyone, inside a
 * pool), count against max-open-fraction, are never picked afresh, and the
 * adopter outlives a reload's engine swap. */
static void test_adopt_counts_against_cap(void **state)
{
	(void)state;
	struct fx e, e2;
	own_new(&e, OWN_WWW, NULL);
	fg_grant_adopt_t *ad = NULL;
	assert_int_equal(fg_grant_adopt_new(e.eng, &ad), 0);
	/* a reload before the read-back ends: the adopter keeps the state */
	own_new(&e2, OWN_WWW, e.eng);
	own_free(&e);

	fg_grant_t g[7];
	memset(g, 0, sizeof(g));
	for (int i = 0; i < 7; i++) {
		g[i].family = AF_INET;
		g[i].scope = FG_SCOPE_ANY;
		g[i].timeout_ms = 60000;
		ip("203.0.113.1", g[i].addr);
		g[i].addr[3] = (uint8_t)(1 + i);
	}
	g[3].scope = FG_SCOPE_CLIENT;         /* not an anyone grant */
	g[4].timeout_ms = 0;                  /* expired */
	ip("192.0.2.1", g[5].addr);           /* in no pool */
	g[6].family = 99;                     /* no family */
	/* .1, .2, .3: the /28's cap of 25% (3 of 14) */
	assert_int_equal(fg_grant_adopt(ad, g, 7), 3);
	assert_int_equal(fg_grant_adopt(ad, g, 7), 3);   /* again: no change */

	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	for (int i = 0; i < 12; i++) {
		char a[32];
		snprintf(a, sizeof(a), "10.9.%d.1", i);
		struct sockaddr_storage res = peer(a);
		fg_grant_req_t r;
		assert_int_equal(one(&e2, 1, FG_TYPE_A, &res, &q, &r), 1);
		assert_true(r.ok);
		assert_int_equal(r.scope, FG_SCOPE_ANY);
		/* the cap is full with adopted addresses: each answer reuses one */
		assert_int_equal(r.addr[2], 113);
		assert_true(r.addr[3] >= 1 && r.addr[3] <= 3);
	}
	fg_grant_counters_t gc;
	fg_grant_engine_counters_get(e2.eng, &gc);
	assert_true(gc.forced_reuse >= 12);
	fg_grant_adopt_free(ad);
	own_free(&e2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_any_scope_from_resolver),
		cmocka_unit_test(test_exact_client_scope),
		cmocka_unit_test(test_ecs_scope),
		cmocka_unit_test(test_failed_commit_gives_no_address),
		cmocka_unit_test(test_pipelined_answers_wait_for_ack),
		cmocka_unit_test(test_noaddr_internal_cause),
		cmocka_unit_test(test_failed_commit_rolls_back_rcache),
		cmocka_unit_test(test_open_fraction_cap),
		cmocka_unit_test(test_rotation_per_answer),
		cmocka_unit_test(test_rotation_min_interval_and_rotate),
		cmocka_unit_test(test_nodata_without_family_pool),
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_wide_ecs_gives_no_wide_grant),
		cmocka_unit_test(test_open_fraction_cap_with_refused_ecs),
		cmocka_unit_test(test_anyone_per_source),
		cmocka_unit_test(test_exact_per_source_quota),
		cmocka_unit_test(test_unverified_renewal_feed),
		cmocka_unit_test(test_full_set_no_retry_storm),
		cmocka_unit_test(test_reload_reorder_keeps_services_apart),
		cmocka_unit_test(test_reload_raises_source_bound),
		cmocka_unit_test(test_adopt_counts_against_cap),
	};
	return cmocka_run_group_tests_name("grant", tests, setup, teardown);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests of the in-memory NAT backend: a thin store of grants and
 * quarantine with the kernel maps' timeouts, sizes and refusals (the
 * ruleset's verdicts are tested against the kernel: netns/dataplane). */
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

#include "common/err.h"
#include "dataplane/nat.h"
#include "dataplane/nat_mem.h"

static fg_nat_prefix_t pools[2];

static void a4(uint8_t *out, const char *s)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(AF_INET, s, out), 1);
}

static void a6(uint8_t *out, const char *s)
{
	memset(out, 0, 16);
	assert_int_equal(inet_pton(AF_INET6, s, out), 1);
}

static fg_nat_config_t make_cfg(void)
{
	fg_nat_config_t c = { 0 };

	memset(pools, 0, sizeof(pools));
	pools[0].family = AF_INET;
	a4(pools[0].first, "198.51.100.0");
	a4(pools[0].last, "198.51.100.255");
	pools[1].family = AF_INET6;
	a6(pools[1].first, "2001:db8:100::");
	a6(pools[1].last, "2001:db8:100::ffff:ffff:ffff:ffff");
	c.table = "fluxgate";
	c.pools = pools;
	c.npools = 2;
	c.pin_ms = 500;
	c.pin_set_size = 16;
	return c;
}

static fg_grant_t g4(int scope, const char *client, unsigned plen, const char *addr,
		     const char *backend, uint32_t ms)
{
	fg_grant_t g = { 0 };

	g.family = AF_INET;
	g.scope = (uint8_t)scope;
	g.client_plen = (uint8_t)plen;
	if (client)
		a4(g.client, client);
	a4(g.addr, addr);
	a4(g.backend, backend);
	g.timeout_ms = ms;
	return g;
}

struct fx {
	const fg_nat_ops_t *ops;
	fg_nat_t *nat;
	fg_nat_config_t cfg;
};

static int setup(void **state)
{
	static struct fx f;

	f.ops = fg_nat_ops_find("memory");
	assert_non_null(f.ops);
	f.cfg = make_cfg();
	assert_int_equal(f.ops->open(&f.cfg, &f.nat), 0);
	assert_int_equal(f.ops->setup(f.nat, &f.cfg), 0);
	fg_nat_mem_clock_freeze(f.nat);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	f->ops->close(f->nat);
	return 0;
}

struct dump_port_ctx {
	unsigned n;
	uint16_t port;
};

static void dump_port(void *ctx, const fg_grant_t *g)
{
	struct dump_port_ctx *d = ctx;

	d->n++;
	if (g->backend_port)
		d->port = g->backend_port;
}

static bool granted4(struct fx *f, const char *client, const char *addr, char *backend_out)
{
	uint8_t c[16], a[16], b[16] = { 0 };
	bool v;

	a4(c, client);
	a4(a, addr);
	v = fg_nat_mem_granted(f->nat, AF_INET, c, a, b);
	if (backend_out)
		inet_ntop(AF_INET, b, backend_out, INET_ADDRSTRLEN);
	return v;
}

static void test_find(void **state)
{
	(void)state;
	assert_ptr_equal(fg_nat_ops_find("nft"), &fg_nat_nft_ops);
	assert_ptr_equal(fg_nat_ops_find("mem"), &fg_nat_mem_ops);
	assert_ptr_equal(fg_nat_ops_find("memory"), &fg_nat_mem_ops);
	assert_null(fg_nat_ops_find("iptables"));
	assert_null(fg_nat_ops_find(NULL));
}

static void test_scopes(void **state)
{
	struct fx *f = *state;
	fg_grant_t g[3] = {
		g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.5", "10.0.2.10", 10000),
		g4(FG_SCOPE_NET, "10.0.1.0", 24, "198.51.100.6", "10.0.2.11", 10000),
		g4(FG_SCOPE_ANY, NULL, 0, "198.51.100.7", "10.0.2.12", 10000),
	};
	char be[INET_ADDRSTRLEN];

	assert_int_equal(f->ops->commit(f->nat, g, 3), 0);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.5", be));
	assert_string_equal(be, "10.0.2.10");
	assert_false(granted4(f, "10.0.1.3", "198.51.100.5", NULL));
	assert_true(granted4(f, "10.0.1.77", "198.51.100.6", be));
	assert_string_equal(be, "10.0.2.11");
	assert_false(granted4(f, "10.0.2.77", "198.51.100.6", NULL));
	assert_true(granted4(f, "192.0.2.1", "198.51.100.7", be));
	assert_string_equal(be, "10.0.2.12");
	assert_false(granted4(f, "10.0.1.2", "198.51.100.8", NULL));
	assert_false(granted4(f, "10.0.1.2", "203.0.113.1", NULL));
}

static void test_v6(void **state)
{
	struct fx *f = *state;
	fg_grant_t g = { 0 };
	uint8_t c[16], a[16], b[16];

	g.family = AF_INET6;
	g.scope = FG_SCOPE_NET;
	g.client_plen = 56;
	a6(g.client, "fd00:1::");
	a6(g.addr, "2001:db8:100::42");
	a6(g.backend, "fd00:2::10");
	g.timeout_ms = 1000;
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	a6(c, "fd00:1:0:ff::9");
	a6(a, "2001:db8:100::42");
	assert_true(fg_nat_mem_granted(f->nat, AF_INET6, c, a, b));
	a6(c, "fd00:1:0:100::9"); /* outside the /56 */
	assert_false(fg_nat_mem_granted(f->nat, AF_INET6, c, a, b));
}

static void test_expiry(void **state)
{
	struct fx *f = *state;
	fg_grant_t g = g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.20", "10.0.2.10", 1000);

	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.20", NULL));
	fg_nat_mem_advance(f->nat, 999);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.20", NULL));
	fg_nat_mem_advance(f->nat, 2);
	assert_false(granted4(f, "10.0.1.2", "198.51.100.20", NULL));
	/* granted again: a fresh element */
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.20", NULL));
}

struct dump_acc {
	unsigned n;
	fg_grant_t last;
};

static void dump_cb(void *ctx, const fg_grant_t *g)
{
	struct dump_acc *d = ctx;

	d->n++;
	d->last = *g;
}

static void test_regrant_sets_timeout(void **state)
{
	struct fx *f = *state;
	fg_grant_t g = g4(FG_SCOPE_ANY, NULL, 0, "198.51.100.30", "10.0.2.10", 10000);
	struct dump_acc d = { 0 };

	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	g.timeout_ms = 60000; /* longer: extends */
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	fg_nat_mem_advance(f->nat, 100);
	assert_int_equal(f->ops->dump(f->nat, dump_cb, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.last.timeout_ms, 59900);
	g.timeout_ms = 1000; /* shorter: the kernel sets, it does not max */
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(f->ops->dump(f->nat, dump_cb, &d), 0);
	assert_int_equal(d.last.timeout_ms, 1000);
	/* new backend for the same key: replaced */
	a4(g.backend, "10.0.2.99");
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	memset(&d, 0, sizeof(d));
	assert_int_equal(f->ops->dump(f->nat, dump_cb, &d), 0);
	assert_int_equal(d.n, 1);
	assert_memory_equal(d.last.backend, g.backend, 4);
	assert_int_equal(d.last.scope, FG_SCOPE_ANY);
}

static void test_fail_next(void **state)
{
	struct fx *f = *state;
	fg_grant_t g = g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.40", "10.0.2.10", 10000);
	fg_nat_mem_stats_t st;

	fg_nat_mem_fail_next(f->nat, 1, 0);
	assert_int_equal(f->ops->commit(f->nat, &g, 1), -FG_ENETLINK);
	assert_false(granted4(f, "10.0.1.2", "198.51.100.40", NULL));
	fg_nat_mem_fail_next(f->nat, 1, -ETIMEDOUT);
	assert_int_equal(f->ops->commit(f->nat, &g, 1), -ETIMEDOUT);
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.40", NULL));
	fg_nat_mem_stats(f->nat, &st);
	assert_int_equal(st.commits, 1);
	assert_int_equal(st.commit_failures, 2);
	assert_int_equal(st.live_grants, 1);
}

static void test_capacity_atomic(void **state)
{
	struct fx *f = *state;
	fg_grant_t g[3] = {
		g4(FG_SCOPE_CLIENT, "10.0.1.1", 32, "198.51.100.50", "10.0.2.10", 1000),
		g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.50", "10.0.2.10", 1000),
		g4(FG_SCOPE_CLIENT, "10.0.1.3", 32, "198.51.100.50", "10.0.2.10", 1000),
	};
	fg_nat_mem_stats_t st;

	f->cfg.grant_set_size = 2;
	assert_int_equal(f->ops->setup(f->nat, &f->cfg), 0);
	assert_int_equal(f->ops->commit(f->nat, g, 3), -FG_ENETLINK);
	fg_nat_mem_stats(f->nat, &st);
	assert_int_equal(st.live_grants, 0); /* nothing of the batch */
	assert_int_equal(f->ops->commit(f->nat, g, 2), 0);
	/* re-adding live keys needs no room */
	assert_int_equal(f->ops->commit(f->nat, g, 2), 0);
	assert_int_equal(f->ops->commit(f->nat, &g[2], 1), -FG_ENETLINK);
	fg_nat_mem_advance(f->nat, 1001); /* expired ones free their room */
	assert_int_equal(f->ops->commit(f->nat, &g[2], 1), 0);
}

static void test_net_overlap_refused(void **state)
{
	struct fx *f = *state;
	fg_grant_t a = g4(FG_SCOPE_NET, "10.0.0.0", 16, "198.51.100.60", "10.0.2.10", 1000);
	fg_grant_t b = g4(FG_SCOPE_NET, "10.0.1.0", 24, "198.51.100.60", "10.0.2.10", 1000);
	fg_grant_t c = g4(FG_SCOPE_NET, "10.0.1.0", 24, "198.51.100.61", "10.0.2.10", 1000);

	assert_int_equal(f->ops->commit(f->nat, &a, 1), 0);
	/* pipapo refuses nested ranges for one address (kernel EEXIST) */
	assert_int_equal(f->ops->commit(f->nat, &b, 1), -FG_ENETLINK);
	assert_int_equal(f->ops->commit(f->nat, &c, 1), 0);
	assert_int_equal(f->ops->commit(f->nat, &a, 1), 0); /* same key: refresh */
}

/* Subnet grants of the hash map's length (cfg.net_hash_plen4) never clash
 * with pipapo ones, and keep their map when a setup changes the length. */
static void test_net_hash_no_overlap(void **state)
{
	struct fx *f = *state;
	fg_grant_t a = g4(FG_SCOPE_NET, "10.0.0.0", 16, "198.51.100.62", "10.0.2.10", 1000);
	fg_grant_t b = g4(FG_SCOPE_NET, "10.0.1.0", 24, "198.51.100.62", "10.0.2.10", 1000);
	fg_grant_t d = g4(FG_SCOPE_NET, "10.0.1.0", 28, "198.51.100.62", "10.0.2.10", 1000);
	fg_nat_config_t c = f->cfg;
	uint8_t cl[16];

	c.net_hash_plen4 = 24;
	assert_int_equal(f->ops->setup(f->nat, &c), 0);
	assert_int_equal(f->ops->commit(f->nat, &a, 1), 0);
	assert_int_equal(f->ops->commit(f->nat, &b, 1), 0);      /* hash map */
	assert_int_equal(f->ops->commit(f->nat, &d, 1), -FG_ENETLINK); /* pipapo, in a /16 */
	a4(cl, "10.0.1.200");
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, cl, a.addr, NULL));
	/* a reload to /20: the /24 element stays where it is and lives on */
	c.net_hash_plen4 = 20;
	assert_int_equal(f->ops->setup(f->nat, &c), 0);
	assert_int_equal(f->ops->commit(f->nat, &a, 1), 0);      /* refresh the /16 */
	fg_nat_mem_advance(f->nat, 500);
	assert_int_equal(f->ops->commit(f->nat, &a, 1), 0);
	fg_nat_mem_advance(f->nat, 600);   /* the /24 expired, the /16 not */
	a4(cl, "10.0.1.200");
	assert_true(fg_nat_mem_granted(f->nat, AF_INET, cl, a.addr, NULL));
	/* now a /24 is a pipapo element, nested in the live /16 */
	assert_int_equal(f->ops->commit(f->nat, &b, 1), -FG_ENETLINK);
}

static void test_quarantine(void **state)
{
	struct fx *f = *state;
	fg_grant_t g = g4(FG_SCOPE_ANY, NULL, 0, "198.51.100.70", "10.0.2.10", 100000);
	uint8_t src[16];
	fg_nat_mem_stats_t st;

	a4(src, "10.0.1.2");
	uint8_t other[16];

	a4(other, "10.0.1.3");
	assert_int_equal(f->ops->commit(f->nat, &g, 1), 0);
	assert_false(fg_nat_mem_quarantined(f->nat, AF_INET, src));
	assert_int_equal(f->ops->quarantine(f->nat, AF_INET, src, 1000), 0);
	assert_true(fg_nat_mem_quarantined(f->nat, AF_INET, src));
	assert_false(fg_nat_mem_quarantined(f->nat, AF_INET, other));
	/* the grants stay: what beats what is the ruleset's */
	assert_true(granted4(f, "10.0.1.2", "198.51.100.70", NULL));
	fg_nat_mem_stats(f->nat, &st);
	assert_int_equal(st.quarantined, 1);
	fg_nat_mem_advance(f->nat, 1001);
	assert_false(fg_nat_mem_quarantined(f->nat, AF_INET, src));
	assert_int_equal(f->ops->quarantine(f->nat, AF_INET, src, 0), 0); /* until released */
	fg_nat_mem_advance(f->nat, 50000);
	assert_true(fg_nat_mem_quarantined(f->nat, AF_INET, src));
	assert_int_equal(f->ops->release(f->nat, AF_INET, src), 0);
	assert_int_equal(f->ops->release(f->nat, AF_INET, src), 0); /* idempotent */
	assert_false(fg_nat_mem_quarantined(f->nat, AF_INET, src));
	assert_int_equal(f->ops->quarantine(f->nat, 99, src, 0), -EINVAL);
}

static void test_shared_and_setup_keeps(void **state)
{
	struct fx *f = *state;
	fg_nat_t *w2;
	fg_grant_t g = g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.80", "10.0.2.10", 10000);
	struct dump_acc d = { 0 };

	assert_int_equal(fg_nat_mem_open_shared(f->nat, &w2), 0);
	assert_int_equal(f->ops->commit(w2, &g, 1), 0);
	assert_int_equal(f->ops->setup(f->nat, &f->cfg), 0); /* restart: grants stay */
	assert_int_equal(f->ops->dump(f->nat, dump_cb, &d), 0);
	assert_int_equal(d.n, 1);
	assert_int_equal(d.last.client_plen, 32);
	f->ops->close(w2);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.80", NULL));
	assert_int_equal(f->ops->destroy(f->nat), 0);
	assert_false(granted4(f, "10.0.1.2", "198.51.100.80", NULL));
}

static void assert_counts(struct fx *f, uint64_t client, uint64_t net, uint64_t any,
			  uint64_t pinned, uint64_t quarantined)
{
	fg_nat_counts_t c;

	memset(&c, 0xa5, sizeof(c));
	assert_int_equal(f->ops->count(f->nat, &c), 0);
	assert_int_equal(c.grants[FG_SCOPE_CLIENT], client);
	assert_int_equal(c.grants[FG_SCOPE_NET], net);
	assert_int_equal(c.grants[FG_SCOPE_ANY], any);
	assert_int_equal(c.pinned, pinned);
	assert_int_equal(c.quarantined, quarantined);
}

static void test_count(void **state)
{
	struct fx *f = *state;
	fg_grant_t g[5] = {
		g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.100", "10.0.2.10", 1000),
		g4(FG_SCOPE_CLIENT, "10.0.1.3", 32, "198.51.100.100", "10.0.2.10", 3000),
		g4(FG_SCOPE_NET, "10.0.3.0", 24, "198.51.100.101", "10.0.2.10", 1000),
		g4(FG_SCOPE_ANY, NULL, 0, "198.51.100.102", "10.0.2.10", 3000),
		g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.100", "10.0.2.10", 1000), /* dup */
	};
	fg_grant_t v6 = { 0 };
	uint8_t q1[16], q2[16];
	fg_nat_t *w2;

	assert_non_null(f->ops->count);
	assert_counts(f, 0, 0, 0, 0, 0);
	assert_int_equal(f->ops->commit(f->nat, g, 5), 0);
	/* both families together */
	v6.family = AF_INET6;
	v6.scope = FG_SCOPE_CLIENT;
	v6.client_plen = 128;
	a6(v6.client, "fd00:1::2");
	a6(v6.addr, "2001:db8:100::100");
	a6(v6.backend, "fd00:2::10");
	v6.timeout_ms = 1000;
	assert_int_equal(f->ops->commit(f->nat, &v6, 1), 0);
	assert_counts(f, 3, 1, 1, 0, 0);
	/* a failed commit leaves the counts alone */
	fg_nat_mem_fail_next(f->nat, 1, 0);
	assert_int_equal(f->ops->commit(f->nat, &g[3], 1), -FG_ENETLINK);
	assert_counts(f, 3, 1, 1, 0, 0);
	/* re-granting a live key is no new element */
	assert_int_equal(f->ops->commit(f->nat, &g[0], 1), 0);
	assert_counts(f, 3, 1, 1, 0, 0);

	/* the data plane makes pins, never a commit */
	assert_counts(f, 3, 1, 1, 0, 0);

	/* quarantine: timed and permanent, both families; idempotent */
	a4(q1, "10.0.7.1");
	a6(q2, "fd00:7::1");
	assert_int_equal(f->ops->quarantine(f->nat, AF_INET, q1, 2000), 0);
	assert_int_equal(f->ops->quarantine(f->nat, AF_INET, q1, 2000), 0);
	assert_int_equal(f->ops->quarantine(f->nat, AF_INET6, q2, 0), 0);
	assert_counts(f, 3, 1, 1, 0, 2);

	/* another handle on the same state counts the same */
	assert_int_equal(fg_nat_mem_open_shared(f->nat, &w2), 0);
	{
		fg_nat_counts_t c;

		assert_int_equal(f->ops->count(w2, &c), 0);
		assert_int_equal(c.grants[FG_SCOPE_CLIENT], 3);
		assert_int_equal(c.pinned, 0);
		assert_int_equal(c.quarantined, 2);
	}
	f->ops->close(w2);

	/* expiry: the 1 s grants and the 2 s quarantine go */
	fg_nat_mem_advance(f->nat, 600);
	assert_counts(f, 3, 1, 1, 0, 2);
	fg_nat_mem_advance(f->nat, 500); /* t=1100 */
	assert_counts(f, 1, 0, 1, 0, 2);
	fg_nat_mem_advance(f->nat, 1000); /* t=2100 */
	assert_counts(f, 1, 0, 1, 0, 1);   /* the permanent one stays */
	fg_nat_mem_advance(f->nat, 1000); /* t=3100 */
	assert_counts(f, 0, 0, 0, 0, 1);
	assert_int_equal(f->ops->release(f->nat, AF_INET6, q2), 0);
	assert_counts(f, 0, 0, 0, 0, 0);
}

static void test_invalid(void **state)
{
	struct fx *f = *state;
	fg_grant_t g = g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.5", "10.0.2.10", 0);

	assert_int_equal(f->ops->commit(f->nat, &g, 1), -EINVAL); /* no timeout */
	g.timeout_ms = 1;
	g.client_plen = 33;
	assert_int_equal(f->ops->commit(f->nat, &g, 1), -EINVAL);
	g.client_plen = 32;
	g.family = 7;
	assert_int_equal(f->ops->commit(f->nat, &g, 1), -EINVAL);
	assert_int_equal(f->ops->commit(f->nat, NULL, 0), 0);
}

/* A setup with the port filter and translation keeps no pointer into the
 * caller's config, and a grant's backend port is stored and dumped (the
 * filter and the translation are the ruleset's: netns/dataplane). */
static void test_backend_port(void **state)
{
	struct fx *f = *state;
	fg_nat_svcport_t sp[1] = { 0 };
	fg_nat_prefix_t pm[1] = { 0 };
	fg_grant_t g[2];

	sp[0].family = AF_INET;
	a4(sp[0].first, "198.51.100.0");
	a4(sp[0].last, "198.51.100.255");
	sp[0].proto_first = sp[0].proto_last = 6;
	sp[0].port_first = sp[0].port_last = 80;
	pm[0].family = AF_INET;
	a4(pm[0].first, "198.51.100.128");
	a4(pm[0].last, "198.51.100.255");
	f->cfg.ports_set = true;
	f->cfg.svcports = sp;
	f->cfg.nsvcports = 1;
	f->cfg.portmap = pm;
	f->cfg.nportmap = 1;
	assert_int_equal(f->ops->setup(f->nat, &f->cfg), 0);
	memset(sp, 0, sizeof(sp));

	g[0] = g4(FG_SCOPE_CLIENT, "10.0.1.2", 32, "198.51.100.5", "10.0.2.10", 5000);
	g[1] = g4(FG_SCOPE_ANY, NULL, 0, "198.51.100.200", "10.0.2.10", 5000);
	g[1].backend_port = 8080;
	assert_int_equal(f->ops->commit(f->nat, g, 2), 0);
	assert_true(granted4(f, "10.0.1.2", "198.51.100.5", NULL));
	assert_true(granted4(f, "10.0.9.9", "198.51.100.200", NULL));
	assert_false(granted4(f, "10.0.1.2", "198.51.100.6", NULL));
	struct dump_port_ctx d = { 0, 0 };
	assert_int_equal(f->ops->dump(f->nat, dump_port, &d), 0);
	assert_int_equal(d.n, 2);
	assert_int_equal(d.port, 8080);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test_setup_teardown(test_scopes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_v6, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(test_regrant_sets_timeout, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fail_next, setup, teardown),
		cmocka_unit_test_setup_teardown(test_capacity_atomic, setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_overlap_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_net_hash_no_overlap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_quarantine, setup, teardown),
		cmocka_unit_test_setup_teardown(test_shared_and_setup_keeps, setup, teardown),
		cmocka_unit_test_setup_teardown(test_count, setup, teardown),
		cmocka_unit_test_setup_teardown(test_invalid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_backend_port, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

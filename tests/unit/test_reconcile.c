/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reconciliation's pure parts (dist/digest.h, dist/gview.h) and its
 * frames (dist/frame.h): canonical keys, order-independent bucket
 * digests that single out the buckets that differ, the controller's view
 * (refresh, revoke, expiry, deletion that keeps probe chains whole), and
 * the SUMREQ/SUMS/KEYREQ/KEYS encodings and refusals.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "dist/digest.h"
#include "dist/frame.h"
#include "dist/gview.h"

static fg_grant_t gr(uint32_t client, uint32_t addr, uint32_t timeout_ms)
{
	fg_grant_t g;
	memset(&g, 0, sizeof(g));
	g.family = AF_INET;
	g.scope = FG_SCOPE_CLIENT;
	g.client_plen = 32;
	uint32_t c = htonl(client), a = htonl(addr);
	memcpy(g.client, &c, 4);
	memcpy(g.addr, &a, 4);
	inet_pton(AF_INET, "10.9.0.10", g.backend);
	g.backend_port = 8080;
	g.timeout_ms = timeout_ms;
	return g;
}

static const uint8_t salt[FG_DIST_SALT_LEN] = "0123456789abcdef";

static void digest_of(fg_siphash_t *h, const fg_grant_t *g, size_t n, fg_dist_digest_t *d)
{
	fg_dist_digest_init(d);
	for (size_t i = 0; i < n; i++) {
		uint64_t x;
		assert_int_equal(fg_dist_grant_hash(h, salt, &g[i], &x), 0);
		assert_int_equal(fg_dist_digest_add(d, g[i].family, x), 0);
	}
}

static void test_canonical_key(void **st)
{
	(void)st;
	fg_grant_t a = gr(0xc0000207, 0xc6336409, 1000), b = a;
	/* the timeout is not part of the key */
	b.timeout_ms = 99999;
	assert_true(fg_dist_grant_same(&a, &b));
	/* a subnet client is masked to its prefix */
	a.scope = b.scope = FG_SCOPE_NET;
	a.client_plen = b.client_plen = 24;
	b.client[3] = 0x99;
	assert_true(fg_dist_grant_same(&a, &b));
	b.client[2] ^= 1;
	assert_false(fg_dist_grant_same(&a, &b));
	/* anyone: the client does not count */
	a.scope = b.scope = FG_SCOPE_ANY;
	assert_true(fg_dist_grant_same(&a, &b));
	/* the backend and its port do */
	b.backend_port = 80;
	assert_false(fg_dist_grant_same(&a, &b));
	b = a;
	b.addr[3] ^= 1;
	assert_false(fg_dist_grant_same(&a, &b));
	assert_int_equal(fg_dist_set_of(AF_INET), 0);
	assert_int_equal(fg_dist_set_of(AF_INET6), 1);
	assert_int_equal(fg_dist_set_of(AF_UNIX), -1);
}

static void test_digest_diff(void **st)
{
	(void)st;
	fg_siphash_t *h;
	assert_int_equal(fg_siphash_new(&h), 0);
	enum { N = 500 };
	fg_grant_t *g = calloc(N, sizeof(*g)), *rev = calloc(N, sizeof(*g));
	for (unsigned i = 0; i < N; i++) {
		g[i] = gr(0x0a000000 + i, 0xc6336400 + (i % 200), 60000 + i);
		rev[N - 1 - i] = g[i];
		rev[N - 1 - i].timeout_ms = 5;   /* expiry not hashed */
	}
	fg_dist_digest_t a, b;
	digest_of(h, g, N, &a);
	digest_of(h, rev, N, &b);
	/* order-independent, expiry-independent */
	assert_int_equal(fg_dist_digest_diff(&a, &b, 0), 0);
	assert_int_equal(a.count[0], N);
	assert_int_equal(fg_dist_digest_diff(&a, &b, 1), 0);
	/* one grant less: exactly its bucket differs */
	digest_of(h, g, N - 1, &b);
	uint64_t x;
	assert_int_equal(fg_dist_grant_hash(h, salt, &g[N - 1], &x), 0);
	uint64_t diff = fg_dist_digest_diff(&a, &b, 0);
	assert_int_equal(diff, (uint64_t)1 << fg_dist_bucket_of(x));
	uint64_t want[FG_DIST_NSETS] = { diff, 0 };
	assert_true(fg_dist_digest_wants(want, AF_INET, x));
	assert_false(fg_dist_digest_wants(want, AF_INET6, x));
	/* one grant other (same count): its bucket and the other's */
	b = a;
	fg_grant_t other = gr(0x0b000001, 0xc6336401, 1000);
	uint64_t y;
	assert_int_equal(fg_dist_grant_hash(h, salt, &other, &y), 0);
	digest_of(h, g, N - 1, &b);
	fg_dist_digest_add(&b, AF_INET, y);
	diff = fg_dist_digest_diff(&a, &b, 0);
	assert_int_equal(diff, ((uint64_t)1 << fg_dist_bucket_of(x)) | ((uint64_t)1 << fg_dist_bucket_of(y)));
	/* another salt, other buckets: a fixed placement cannot be aimed at */
	uint8_t salt2[FG_DIST_SALT_LEN];
	memset(salt2, 7, sizeof(salt2));
	uint64_t x2;
	assert_int_equal(fg_dist_grant_hash(h, salt2, &g[0], &x2), 0);
	assert_int_equal(fg_dist_grant_hash(h, salt, &g[0], &x), 0);
	assert_true(x != x2);
	/* 500 grants spread over the 64 buckets */
	unsigned used = 0;
	for (unsigned i = 0; i < FG_DIST_BUCKETS; i++)
		used += a.sum[0][i] != 0;
	assert_true(used > 56);
	assert_int_equal(fg_dist_digest_add(&a, AF_UNIX, 1), -EINVAL);
	free(g);
	free(rev);
	fg_siphash_free(h);
}

struct seen {
	unsigned n;
	uint32_t min_left;
};

static void count_cb(void *ctx, const fg_grant_t *g)
{
	struct seen *s = ctx;
	s->n++;
	if (g->timeout_ms < s->min_left)
		s->min_left = g->timeout_ms;
}

static void test_gview(void **st)
{
	(void)st;
	fg_dist_gview_t *v;
	assert_int_equal(fg_dist_gview_new(100000, &v), 0);
	enum { N = 5000 };
	for (unsigned i = 0; i < N; i++) {
		fg_grant_t g = gr(0x0a000000 + i, 0xc6336400 + (i % 250), i % 2 ? 10000 : 100000);
		fg_dist_gview_put(v, &g, 1000);
	}
	assert_int_equal(fg_dist_gview_count(v), N);
	/* a refresh moves the deadline, adds nothing */
	fg_grant_t g0 = gr(0x0a000000, 0xc6336400, 500000);
	fg_dist_gview_put(v, &g0, 1000);
	assert_int_equal(fg_dist_gview_count(v), N);
	uint32_t left;
	assert_true(fg_dist_gview_has(v, &g0, 2000, &left));
	assert_int_equal(left, 499000);
	/* delete every third one: the others are all still found */
	for (unsigned i = 0; i < N; i += 3) {
		fg_grant_t g = gr(0x0a000000 + i, 0xc6336400 + (i % 250), 1);
		fg_dist_gview_del(v, &g);
	}
	unsigned left_n = N - (N + 2) / 3;
	assert_int_equal(fg_dist_gview_count(v), left_n);
	for (unsigned i = 0; i < N; i++) {
		fg_grant_t g = gr(0x0a000000 + i, 0xc6336400 + (i % 250), 1);
		assert_int_equal(fg_dist_gview_has(v, &g, 1000, NULL), i % 3 != 0);
	}
	/* the odd ones lapse at 11000: past it they are not held, and the
	 * guard leaves out what is about to lapse */
	struct seen s = { 0, UINT32_MAX };
	fg_dist_gview_each(v, 9500, FG_DIST_RECON_GUARD_MS, count_cb, &s);
	unsigned even = 0;
	for (unsigned i = 0; i < N; i++)
		even += i % 3 != 0 && i % 2 == 0;
	assert_int_equal(s.n, even);
	assert_true(s.min_left > FG_DIST_RECON_GUARD_MS);
	fg_grant_t odd = gr(0x0a000001, 0xc6336401, 1);
	assert_true(fg_dist_gview_has(v, &odd, 10999, NULL));
	assert_false(fg_dist_gview_has(v, &odd, 11000, NULL));
	fg_dist_gview_prune(v, 11000);
	assert_int_equal(fg_dist_gview_count(v), even);
	for (unsigned i = 0; i < N; i++) {
		fg_grant_t g = gr(0x0a000000 + i, 0xc6336400 + (i % 250), 1);
		assert_int_equal(fg_dist_gview_has(v, &g, 11000, NULL), i % 3 != 0 && i % 2 == 0);
	}
	/* the view's digest is the digest of the same grants made directly */
	fg_siphash_t *h;
	assert_int_equal(fg_siphash_new(&h), 0);
	fg_grant_t *gs = calloc(N, sizeof(*gs));
	size_t n = 0;
	for (unsigned i = 0; i < N; i++)
		if (i % 3 != 0 && i % 2 == 0)
			gs[n++] = gr(0x0a000000 + i, 0xc6336400 + (i % 250), 1);
	fg_dist_digest_t a, b;
	digest_of(h, gs, n, &a);
	assert_int_equal(fg_dist_gview_digest(v, h, salt, 11000, &b), 0);
	assert_int_equal(fg_dist_digest_diff(&a, &b, 0), 0);
	assert_int_equal(b.count[0], n);
	free(gs);
	fg_siphash_free(h);
	assert_true(fg_dist_gview_complete(v));
	fg_dist_gview_free(v);

	/* a full view stops taking grants and says so */
	assert_int_equal(fg_dist_gview_new(2, &v), 0);
	for (unsigned i = 0; i < 3; i++) {
		fg_grant_t g = gr(i, 1, 1000);
		fg_dist_gview_put(v, &g, 0);
	}
	assert_int_equal(fg_dist_gview_count(v), 2);
	assert_false(fg_dist_gview_complete(v));
	fg_dist_gview_free(v);
}

static void test_frames(void **st)
{
	(void)st;
	static fg_dist_msg_t m, d;
	static uint8_t buf[FG_DIST_MAX_FRAME];
	char err[200];
	/* SUMS round trip */
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_SUMS;
	m.generation = 0x0102030405060708ull;
	m.flags = FG_DIST_SUMS_SHARED;
	m.digest.count[0] = 3;
	m.digest.count[1] = 9;
	for (unsigned b = 0; b < FG_DIST_BUCKETS; b++)
		m.digest.sum[1][b] = 0x1111111111111111ull * (b % 15);
	int n = fg_dist_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, FG_DIST_HDR_LEN + 9 + 2 * (4 + 8 * FG_DIST_BUCKETS));
	assert_int_equal(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)), 0);
	assert_true(d.generation == m.generation);
	assert_int_equal(d.flags, FG_DIST_SUMS_SHARED);
	assert_memory_equal(&d.digest, &m.digest, sizeof(m.digest));
	assert_int_equal(fg_dist_decode(buf, (size_t)n - 1, &d, err, sizeof(err)) < 0, 1);
	buf[FG_DIST_HDR_LEN + 8] = 0x02;
	assert_true(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "unknown flags 0x02"));
	/* KEYREQ round trip */
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_KEYREQ;
	memcpy(m.salt, salt, sizeof(salt));
	m.want[0] = 5;
	m.want[1] = 1ull << 63;
	n = fg_dist_encode(&m, buf, sizeof(buf));
	assert_int_equal(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)), 0);
	assert_memory_equal(d.salt, salt, sizeof(salt));
	assert_true(d.want[0] == 5 && d.want[1] == 1ull << 63);
	/* a reconciliation frame with a sequence number is refused */
	buf[15] = 1;
	assert_true(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "must be 0"));
	/* SUMREQ */
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_SUMREQ;
	n = fg_dist_encode(&m, buf, sizeof(buf));
	assert_int_equal(n, FG_DIST_HDR_LEN + FG_DIST_SALT_LEN);
	assert_int_equal(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)), 0);
	/* KEYS: 0 to 63 grants, each checked like a GRANT's */
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_KEYS;
	m.last = 1;
	m.ngrants = FG_DIST_KEYS_MAX;
	for (unsigned i = 0; i < m.ngrants; i++)
		m.grants[i] = gr(i, 0xc6336400 + i, 1000 + i);
	n = fg_dist_encode(&m, buf, sizeof(buf));
	assert_true(n > 0 && n <= FG_DIST_MAX_FRAME);
	assert_int_equal(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)), 0);
	assert_int_equal(d.ngrants, FG_DIST_KEYS_MAX);
	assert_int_equal(d.last, 1);
	assert_memory_equal(d.grants, m.grants, sizeof(fg_grant_t) * FG_DIST_KEYS_MAX);
	buf[FG_DIST_HDR_LEN] = 2;   /* last flag */
	assert_true(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "last flag 2"));
	buf[FG_DIST_HDR_LEN] = 1;
	buf[FG_DIST_HDR_LEN + 3 + 57 * 5 + 1] = 7;   /* grant 5's scope */
	assert_true(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "grant 5: unknown scope 7"));
	m.ngrants = FG_DIST_KEYS_MAX + 1;
	assert_true(fg_dist_encode(&m, buf, sizeof(buf)) < 0);
	/* a count past 63 on the wire */
	m.ngrants = 0;
	n = fg_dist_encode(&m, buf, sizeof(buf));
	assert_int_equal(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)), 0);
	buf[FG_DIST_HDR_LEN + 2] = 64;
	assert_true(fg_dist_decode(buf, (size_t)n, &d, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "KEYS of 64 grants"));
	assert_string_equal(fg_dist_type_name(FG_DIST_KEYS), "KEYS");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canonical_key),
		cmocka_unit_test(test_digest_diff),
		cmocka_unit_test(test_gview),
		cmocka_unit_test(test_frames),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

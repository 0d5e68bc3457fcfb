/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: why a legit session went to a decoy (lab/misroute.h), on the
 * timelines seen in the lab: the whole-second TTL of a resolver's cached
 * copy that outlives its grant, a retransmitted SYN, scopes, and a gateway
 * that answered without a grant or let a live one miss. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "lab/misroute.h"

static const uint8_t POOL_A[16] = { 198, 51, 100, 54 }, POOL_B[16] = { 198, 51, 100, 83 };
static const uint8_t CLI[16] = { 10, 1, 9, 20 }, OTHER[16] = { 10, 2, 0, 7 };

static lab_grant_span_t any_grant(const uint8_t *addr, double start, double life)
{
	lab_grant_span_t g = { .start = start, .end = start + life, .end_min = start + life, .plen = 0, .fam = 4 };
	memcpy(g.addr, addr, 16);
	return g;
}

/* te-1000-valid-200ms at load 30: the resolver committed the grant at 10.0
 * (7 s: TTL 5 + grace 2) and cached the answer; its whole-second clock
 * served it with TTL 0 until 15.99. A client read that at 15.98 and, 200 ms
 * latency plus a 1.2 s stall later, sent its SYN at 17.4: within "TTL +
 * grace" of what it read (15.98 + 0 + 2), but after the grant ended at 17.0.
 * The old rule called that a product failure; it is the client's delay. */
static void test_cached_ttl_zero_is_late(void **st)
{
	(void)st;
	lab_grant_span_t g[] = { any_grant(POOL_A, 10.0, 7.0) };
	double after = -1;
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 17.4, 0, &after), LAB_MIS_LATE);
	assert_true(after > 0.39 && after < 0.41);
	/* the same SYN while the grant lived is the gateway's failure */
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 16.5, 0, &after), LAB_MIS_PRODUCT);
	assert_true(after < -0.49 && after > -0.51);
	/* within the margin of the end: the SYN's way to the gateway */
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 16.97, 0, &after), LAB_MIS_LATE);
}

/* The first SYN at 16.5 (grant live) was lost before the gateway; the
 * retransmission at 17.5 (RTO 1 s) found the grant ended and went to a
 * decoy. Counted against the first SYN's time this looked like a product
 * failure; the SYN that went through was late. A second retransmission
 * leaves 3 s after the first SYN. */
static void test_retransmitted_syn(void **st)
{
	(void)st;
	lab_grant_span_t g[] = { any_grant(POOL_A, 10.0, 7.0) };
	double after = 0;
	assert_true(lab_syn_retrans_time(16.5, 1) == 17.5);
	assert_true(lab_syn_retrans_time(16.5, 2) == 19.5);
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 16.5, 1, &after), LAB_MIS_LATE_RETRANS);
	assert_true(after > 0.49 && after < 0.51);
	/* a retransmission that still found the grant live: the gateway */
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 15.0, 1, &after), LAB_MIS_PRODUCT);
	/* the retransmission time never decides a session the grant covered
	 * throughout, nor rescues one that was late from the start */
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 17.2, 1, &after), LAB_MIS_LATE);
}

/* An answer with no grant behind it (grant before answer broken), or a
 * grant for another address or another client: the gateway's failure,
 * never "late". */
static void test_no_grant_is_product(void **st)
{
	(void)st;
	double after = 1;
	assert_int_equal(lab_misroute_class(NULL, 0, 4, CLI, POOL_A, 12.0, 0, &after), LAB_MIS_PRODUCT);
	assert_true(after == 0);
	lab_grant_span_t g[] = { any_grant(POOL_B, 10.0, 7.0) };
	assert_int_equal(lab_misroute_class(g, 1, 4, CLI, POOL_A, 12.0, 0, &after), LAB_MIS_PRODUCT);
	/* a grant committed only after the SYN did not let it in */
	lab_grant_span_t later[] = { any_grant(POOL_A, 13.0, 7.0) };
	assert_int_equal(lab_misroute_class(later, 1, 4, CLI, POOL_A, 12.0, 0, &after), LAB_MIS_PRODUCT);
}

/* Several grants of one address: the latest end counts; a renewed grant
 * that is live makes it the gateway's failure. */
static void test_renewed_grants(void **st)
{
	(void)st;
	lab_grant_span_t g[] = { any_grant(POOL_A, 10.0, 7.0), any_grant(POOL_A, 14.0, 7.0) };
	double after = 0;
	assert_int_equal(lab_misroute_class(g, 2, 4, CLI, POOL_A, 19.0, 0, &after), LAB_MIS_PRODUCT);
	assert_int_equal(lab_misroute_class(g, 2, 4, CLI, POOL_A, 21.5, 0, &after), LAB_MIS_LATE);
	assert_true(after > 0.49 && after < 0.51);
}

/* A commit that took 0.6 s under load (commit_us in the grant event): the
 * kernel took the grant somewhere in [9.4, 10.0], so it surely lived until
 * 16.4 and surely ended by 17.0. A SYN at 16.7 cannot be proven to have met
 * a live grant: late, 0.3 s before the latest possible end. (The stub-mode
 * lab_sizes run had one such SYN, called product with the end taken from
 * the log line alone.) */
static void test_commit_window(void **st)
{
	(void)st;
	lab_grant_span_t g = any_grant(POOL_A, 10.0, 7.0);
	g.start = 9.4;
	g.end_min = 16.4;
	double after = 0;
	assert_int_equal(lab_misroute_class(&g, 1, 4, CLI, POOL_A, 16.7, 0, &after), LAB_MIS_LATE);
	assert_true(after < -0.29 && after > -0.31);
	assert_int_equal(lab_misroute_class(&g, 1, 4, CLI, POOL_A, 16.3, 0, &after), LAB_MIS_PRODUCT);
	/* committed at 9.4 at the earliest: a SYN at 9.6 may have met it */
	assert_int_equal(lab_misroute_class(&g, 1, 4, CLI, POOL_A, 9.6, 0, &after), LAB_MIS_PRODUCT);
}

/* Scopes: a client grant, an ECS subnet (IPv4 /24, IPv6 /56), anyone. */
static void test_scopes(void **st)
{
	(void)st;
	lab_grant_span_t c = any_grant(POOL_A, 10.0, 7.0);
	memcpy(c.client, CLI, 16);
	c.plen = 32;
	assert_true(lab_grant_covers(&c, 4, CLI));
	assert_false(lab_grant_covers(&c, 4, OTHER));
	assert_false(lab_grant_covers(&c, 6, CLI));
	c.plen = 20;   /* 10.1.0.0/20 holds 10.1.9.20, not 10.2.0.7 */
	assert_true(lab_grant_covers(&c, 4, CLI));
	assert_false(lab_grant_covers(&c, 4, OTHER));
	double after = 0;
	assert_int_equal(lab_misroute_class(&c, 1, 4, OTHER, POOL_A, 12.0, 0, &after), LAB_MIS_PRODUCT);
	lab_grant_span_t n6 = { .start = 10, .end = 17, .end_min = 17, .plen = 56, .fam = 6 };
	const uint8_t p6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8 };
	const uint8_t in56[16] = { 0xfd, 0x01, 0, 0, 0, 0, 0, 0x00, 0, 0, 0, 0, 0, 0, 0, 9 };
	const uint8_t out56[16] = { 0xfd, 0x01, 0, 0, 0, 0, 1, 0x00, 0, 0, 0, 0, 0, 0, 0, 9 };
	memcpy(n6.addr, p6, 16);
	memcpy(n6.client, in56, 16);
	assert_true(lab_grant_covers(&n6, 6, in56));
	assert_false(lab_grant_covers(&n6, 6, out56));
	assert_int_equal(lab_misroute_class(&n6, 1, 6, in56, p6, 17.5, 0, &after), LAB_MIS_LATE);
	assert_int_equal(lab_misroute_class(&n6, 1, 6, out56, p6, 17.5, 0, &after), LAB_MIS_PRODUCT);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cached_ttl_zero_is_late), cmocka_unit_test(test_retransmitted_syn),
		cmocka_unit_test(test_no_grant_is_product),     cmocka_unit_test(test_renewed_grants),
		cmocka_unit_test(test_scopes),          cmocka_unit_test(test_commit_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Unit tests: address pools and open-to-anyone bookkeeping (pool/pool.h). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <string.h>

#include "pool/pool.h"

/* deterministic xorshift for tests only: production uses the CSPRNG */
static uint64_t xs_state = 88172645463325252ull;
static uint64_t xs(void *ctx)
{
	(void)ctx;
	xs_state ^= xs_state << 13;
	xs_state ^= xs_state >> 7;
	xs_state ^= xs_state << 17;
	return xs_state;
}

static fg_pool_t *pool4(const char *a, const char *b, uint8_t plen)
{
	uint8_t f[4], l[4];
	fg_pool_t *p = NULL;
	assert_int_equal(inet_pton(AF_INET, a, f), 1);
	assert_int_equal(inet_pton(AF_INET, b, l), 1);
	assert_int_equal(fg_pool_new(AF_INET, f, l, plen, &p), 0);
	return p;
}

static void test_v4_size_and_bounds(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("198.51.100.0", "198.51.100.255", 24);
	assert_int_equal(fg_pool_size(p), 254);   /* network/broadcast skipped */
	uint8_t a[4];
	inet_pton(AF_INET, "198.51.100.0", a);
	assert_false(fg_pool_contains(p, a));
	inet_pton(AF_INET, "198.51.100.255", a);
	assert_false(fg_pool_contains(p, a));
	inet_pton(AF_INET, "198.51.100.1", a);
	assert_true(fg_pool_contains(p, a));
	for (int i = 0; i < 5000; i++) {
		uint8_t o[4];
		assert_int_equal(fg_pool_pick(p, 1000, xs, NULL, o), 0);
		assert_true(fg_pool_contains(p, o));
	}
	fg_pool_free(p);
}

static void test_range_pool(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("10.9.0.10", "10.9.0.13", 0);
	assert_int_equal(fg_pool_size(p), 4);   /* ranges keep their ends */
	int seen[4] = { 0 };
	for (int i = 0; i < 400; i++) {
		uint8_t o[4];
		assert_int_equal(fg_pool_pick(p, 0, xs, NULL, o), 0);
		assert_true(o[3] >= 10 && o[3] <= 13);
		seen[o[3] - 10]++;
	}
	for (int i = 0; i < 4; i++)
		assert_true(seen[i] > 50);   /* roughly uniform */
	fg_pool_free(p);
}

static void test_open_excluded_and_expiry(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("10.9.0.10", "10.9.0.11", 0);
	uint8_t a[4], o[4];
	inet_pton(AF_INET, "10.9.0.10", a);
	assert_int_equal(fg_pool_open(p, a, 5000), 0);
	assert_true(fg_pool_is_open(p, a, 4999));
	assert_int_equal(fg_pool_open_count(p, 1000), 1);
	/* while .10 is open to anyone, picks avoid it */
	for (int i = 0; i < 100; i++) {
		assert_int_equal(fg_pool_pick(p, 1000, xs, NULL, o), 0);
		assert_int_equal(o[3], 11);
	}
	/* both open: no address left */
	inet_pton(AF_INET, "10.9.0.11", a);
	fg_pool_open(p, a, 3000);
	assert_int_equal(fg_pool_pick(p, 1000, xs, NULL, o), -EAGAIN);
	assert_int_equal(fg_pool_any_open(p, 1000, o), 0);
	assert_int_equal(o[3], 10);               /* the one open longest */
	/* expiry purges */
	assert_int_equal(fg_pool_open_count(p, 3000), 1);
	assert_int_equal(fg_pool_open_count(p, 5000), 0);
	assert_false(fg_pool_is_open(p, a, 5000));
	assert_int_equal(fg_pool_any_open(p, 5000, o), -ENOENT);
	fg_pool_free(p);
}

/* The undo of fg_pool_open() for a refused grant: back to exactly the
 * window before, shortening or closing it, and purged on time. */
static void test_restore(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("10.9.0.1", "10.9.0.4", 0);
	uint8_t a[4] = { 10, 9, 0, 2 }, b[4] = { 10, 9, 0, 3 };
	assert_int_equal(fg_pool_open_until(p, a, 10), 0);
	fg_pool_open(p, a, 100);
	assert_int_equal(fg_pool_open_until(p, a, 10), 100);
	fg_pool_open(p, a, 900);                  /* the grant that failed */
	assert_int_equal(fg_pool_restore(p, a, 100), 0);
	assert_int_equal(fg_pool_open_until(p, a, 10), 100);
	assert_int_equal(fg_pool_open_count(p, 150), 0);   /* purged at 100, not 900 */
	assert_false(fg_pool_is_open(p, a, 150));
	/* closing what was not open before */
	fg_pool_open(p, b, 500);
	assert_int_equal(fg_pool_open_count(p, 20), 1);
	assert_int_equal(fg_pool_restore(p, b, 0), 0);
	assert_int_equal(fg_pool_open_count(p, 20), 0);
	assert_false(fg_pool_is_open(p, b, 20));
	/* reopening after the undo still works, the stale heap entry is inert */
	fg_pool_open(p, b, 300);
	assert_true(fg_pool_is_open(p, b, 299));
	assert_int_equal(fg_pool_open_count(p, 600), 0);
	/* restoring a longer window (another grant extended it meanwhile) */
	fg_pool_open(p, a, 1000);
	assert_int_equal(fg_pool_restore(p, a, 2000), 0);
	assert_true(fg_pool_is_open(p, a, 1500));
	assert_int_equal(fg_pool_open_count(p, 2001), 0);
	fg_pool_free(p);
}

static void test_extend_window(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("10.9.0.1", "10.9.0.1", 0);
	uint8_t a[4];
	inet_pton(AF_INET, "10.9.0.1", a);
	fg_pool_open(p, a, 100);
	fg_pool_open(p, a, 500);       /* extends */
	fg_pool_open(p, a, 200);       /* never shortens */
	assert_true(fg_pool_is_open(p, a, 300));
	assert_int_equal(fg_pool_open_count(p, 300), 1);
	assert_int_equal(fg_pool_open_count(p, 500), 0);
	fg_pool_free(p);
}

static void test_many_open_and_purge(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("10.0.0.0", "10.0.255.255", 16);
	/* growth and backward-shift deletion under churn */
	for (uint64_t t = 0; t < 20000; t++) {
		uint8_t o[4];
		assert_int_equal(fg_pool_pick(p, t, xs, NULL, o), 0);
		assert_false(fg_pool_is_open(p, o, t));
		assert_int_equal(fg_pool_open(p, o, t + 100), 0);
		assert_true(fg_pool_open_count(p, t) <= 101);
	}
	assert_int_equal(fg_pool_open_count(p, 30000), 0);
	fg_pool_free(p);
}

static void test_max_open(void **state)
{
	(void)state;
	fg_pool_t *p = pool4("198.51.100.0", "198.51.100.255", 24);
	assert_int_equal(fg_pool_max_open(p, 0.1), 25);
	assert_int_equal(fg_pool_max_open(p, 0.001), 1);   /* at least one */
	assert_int_equal(fg_pool_max_open(p, 1.0), 254);
	fg_pool_free(p);
}

static void test_v6_random_iid(void **state)
{
	(void)state;
	uint8_t f[16], l[16], o[16], o2[16];
	fg_pool_t *p = NULL;
	inet_pton(AF_INET6, "2001:db8:77::", f);
	inet_pton(AF_INET6, "2001:db8:77::ffff:ffff:ffff:ffff", l);
	assert_int_equal(fg_pool_new(AF_INET6, f, l, 64, &p), 0);
	assert_true(fg_pool_size(p) == UINT64_MAX);
	assert_int_equal(fg_pool_pick(p, 0, xs, NULL, o), 0);
	assert_int_equal(fg_pool_pick(p, 0, xs, NULL, o2), 0);
	assert_memory_equal(o, f, 8);                 /* inside the /64 */
	assert_memory_not_equal(o + 8, o2 + 8, 8);    /* random IIDs */
	static const uint8_t zero[8];
	assert_memory_not_equal(o + 8, zero, 8);
	fg_pool_free(p);
}

static void test_bad_args(void **state)
{
	(void)state;
	uint8_t f[4] = { 10, 0, 0, 9 }, l[4] = { 10, 0, 0, 1 };
	fg_pool_t *p = NULL;
	assert_int_equal(fg_pool_new(AF_INET, f, l, 0, &p), -EINVAL);
	assert_int_equal(fg_pool_new(12345, f, f, 0, &p), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_v4_size_and_bounds),
		cmocka_unit_test(test_range_pool),
		cmocka_unit_test(test_open_excluded_and_expiry),
		cmocka_unit_test(test_extend_window),
		cmocka_unit_test(test_restore),
		cmocka_unit_test(test_many_open_and_purge),
		cmocka_unit_test(test_max_open),
		cmocka_unit_test(test_v6_random_iid),
		cmocka_unit_test(test_bad_args),
	};
	return cmocka_run_group_tests_name("pool", tests, NULL, NULL);
}

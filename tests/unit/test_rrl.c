/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response rate limiting: token bucket arithmetic under an injected clock,
 * slip every Nth limited answer, prefixes independent (and addresses in one
 * prefix sharing), the fixed table bound, parameter checks.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <cmocka.h>

#include "dns/rrl.h"

static const uint8_t KEY[16] = "0123456789abcdef";

static fg_rrl_t *mk(uint32_t rate, uint32_t slip, uint32_t size)
{
	fg_rrl_params_t p = { .rate = rate, .slip = slip, .v4_prefix = 24,
			      .v6_prefix = 56, .table_size = size };
	fg_rrl_t *r = NULL;
	assert_int_equal(fg_rrl_new(&p, KEY, &r), 0);
	return r;
}

static enum fg_rrl_action v4(fg_rrl_t *r, uint8_t a, uint8_t b, uint8_t c, uint8_t d,
			     uint64_t now)
{
	const uint8_t ip[4] = { a, b, c, d };
	return fg_rrl_check(r, AF_INET, ip, now);
}

static void test_bucket(void **st)
{
	(void)st;
	fg_rrl_t *r = mk(10, 0, 1024);
	const uint64_t t0 = 1000000;

	/* a burst of one second's worth passes, the next is limited */
	for (int i = 0; i < 10; i++)
		assert_int_equal(v4(r, 10, 0, 0, 1, t0), FG_RRL_PASS);
	assert_int_equal(v4(r, 10, 0, 0, 1, t0), FG_RRL_DROP);
	/* 99 ms refill 0.99 token: still limited; at 100 ms one passes */
	assert_int_equal(v4(r, 10, 0, 0, 1, t0 + 99), FG_RRL_DROP);
	assert_int_equal(v4(r, 10, 0, 0, 1, t0 + 100), FG_RRL_PASS);
	assert_int_equal(v4(r, 10, 0, 0, 1, t0 + 100), FG_RRL_DROP);
	/* a clock that steps back mints nothing */
	assert_int_equal(v4(r, 10, 0, 0, 1, t0), FG_RRL_DROP);
	/* a long pause refills to the burst, not beyond */
	int pass = 0;
	for (int i = 0; i < 100; i++)
		pass += v4(r, 10, 0, 0, 1, t0 + 3600000) == FG_RRL_PASS;
	assert_int_equal(pass, 10);

	/* steady state: queries every 10 ms (100/s) for 10 s against rate
	 * 10/s pass burst + rate * duration, exactly */
	fg_rrl_free(r);
	r = mk(10, 0, 1024);
	pass = 0;
	for (int i = 0; i < 1000; i++)
		pass += v4(r, 10, 0, 0, 1, t0 + 10u * (unsigned)i) == FG_RRL_PASS;
	/* 10 at t0, then one per 100 ms over 9.99 s: 99 */
	assert_int_equal(pass, 10 + 99);
	fg_rrl_free(r);
}

static void test_slip(void **st)
{
	(void)st;
	const uint64_t t = 5000;
	for (uint32_t slip = 0; slip <= 3; slip++) {
		fg_rrl_t *r = mk(5, slip, 64);
		for (int i = 0; i < 5; i++)
			assert_int_equal(v4(r, 192, 0, 2, 1, t), FG_RRL_PASS);
		for (unsigned k = 1; k <= 12; k++) {
			enum fg_rrl_action want = slip && k % slip == 0 ? FG_RRL_SLIP : FG_RRL_DROP;
			assert_int_equal(v4(r, 192, 0, 2, 1, t), want);
		}
		fg_rrl_free(r);
	}
}

static void test_prefixes(void **st)
{
	(void)st;
	fg_rrl_t *r = mk(3, 0, 1024);
	const uint64_t t = 77;

	/* every address of one /24 draws on one bucket */
	for (int i = 0; i < 3; i++)
		assert_int_equal(v4(r, 198, 51, 100, (uint8_t)(1 + i * 50), t), FG_RRL_PASS);
	assert_int_equal(v4(r, 198, 51, 100, 254, t), FG_RRL_DROP);
	/* the neighbouring /24 and another /8 are untouched */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(v4(r, 198, 51, 101, 1, t), FG_RRL_PASS);
		assert_int_equal(v4(r, 10, 51, 100, 1, t), FG_RRL_PASS);
	}
	assert_int_equal(v4(r, 198, 51, 101, 1, t), FG_RRL_DROP);

	/* IPv6: one /56 shares, the next /56 does not */
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0x01, 0x00 };
	for (int i = 0; i < 3; i++) {
		a[7] = (uint8_t)i;      /* inside the /56 */
		a[15] = (uint8_t)i;
		assert_int_equal(fg_rrl_check(r, AF_INET6, a, t), FG_RRL_PASS);
	}
	assert_int_equal(fg_rrl_check(r, AF_INET6, a, t), FG_RRL_DROP);
	a[6] = 0x02;                    /* the next /56 */
	assert_int_equal(fg_rrl_check(r, AF_INET6, a, t), FG_RRL_PASS);
	/* IPv4 198.51.100.0/24 and an IPv6 address with the same leading
	 * octets are different buckets */
	uint8_t m[16] = { 198, 51, 100, 0 };
	assert_int_equal(fg_rrl_check(r, AF_INET6, m, t), FG_RRL_PASS);
	fg_rrl_free(r);
}

static void test_table_bound(void **st)
{
	(void)st;
	/* 16 buckets, 2000 prefixes each sending 1 query per round at one
	 * instant: the table never grows, and the whole crowd cannot pass
	 * more than one burst per bucket plus one burst per prefix first
	 * seen in a free bucket, which is the table size */
	const uint32_t rate = 2, size = 16;
	fg_rrl_t *r = mk(rate, 0, size);
	assert_int_equal(fg_rrl_buckets(r), size);
	unsigned pass = 0;
	for (int round = 0; round < 5; round++)
		for (unsigned p = 0; p < 2000; p++)
			pass += v4(r, 10, (uint8_t)(p >> 8), (uint8_t)p, 1, 100) == FG_RRL_PASS;
	assert_int_equal(fg_rrl_buckets(r), size);
	assert_true(pass <= rate * size);
	assert_true(pass > 0);
	fg_rrl_free(r);

	/* rounded down to whole sets */
	r = mk(1, 0, 1023);
	assert_int_equal(fg_rrl_buckets(r), 1020);
	fg_rrl_free(r);
}

static void test_params(void **st)
{
	(void)st;
	fg_rrl_t *r = NULL;
	fg_rrl_params_t p = { .rate = 1, .v4_prefix = 24, .v6_prefix = 56, .table_size = 64 };
	fg_rrl_params_t q = p;
	assert_true(fg_rrl_params_eq(&p, &q));
	q.v4_prefix = 7;
	assert_int_equal(fg_rrl_new(&q, NULL, &r), -EINVAL);
	q = p;
	q.v6_prefix = 65;
	assert_int_equal(fg_rrl_new(&q, NULL, &r), -EINVAL);
	q = p;
	q.table_size = 3;
	assert_int_equal(fg_rrl_new(&q, NULL, &r), -EINVAL);
	assert_false(fg_rrl_params_eq(&p, &q));

	/* rate 0: off, everything passes */
	p.rate = 0;
	assert_int_equal(fg_rrl_new(&p, NULL, &r), 0);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(v4(r, 1, 2, 3, 4, 0), FG_RRL_PASS);
	fg_rrl_free(r);
	/* a random key works as well as a given one */
	p.rate = 1;
	assert_int_equal(fg_rrl_new(&p, NULL, &r), 0);
	assert_int_equal(v4(r, 1, 2, 3, 4, 0), FG_RRL_PASS);
	assert_int_equal(v4(r, 1, 2, 3, 4, 0), FG_RRL_DROP);
	fg_rrl_free(r);
	fg_rrl_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_slip),
		cmocka_unit_test(test_prefixes),
		cmocka_unit_test(test_table_bound),
		cmocka_unit_test(test_params),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

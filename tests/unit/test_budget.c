/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The unverified-grant budget: grants count until their expiry (never
 * less), full at the limit, free again once they expire, renewals count
 * again, long windows and idle gaps, a clock stepping back, no budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "grant/budget.h"

#define T0 1800000000u

static fg_budget_t *mk(uint64_t limit, uint64_t max_window_ms)
{
	fg_budget_t *b = malloc(sizeof(*b));
	assert_non_null(b);
	fg_budget_init(b, limit, max_window_ms);
	return b;
}

static void test_expiry(void **st)
{
	(void)st;
	fg_budget_t *b = mk(10, 7000);
	assert_int_equal(b->gran_s, 1);
	assert_false(fg_budget_full(b, T0));
	fg_budget_add(b, T0, 7000, 6);           /* ttl 5 s + grace 2 s */
	fg_budget_add(b, T0 + 3, 7000, 4);
	assert_true(fg_budget_full(b, T0 + 3));
	/* live until their expiry: still counted one second before it */
	assert_int_equal(fg_budget_live(b, T0 + 6), 10);
	assert_true(fg_budget_full(b, T0 + 6));
	assert_int_equal(fg_budget_live(b, T0 + 7), 4);
	assert_false(fg_budget_full(b, T0 + 7));
	assert_int_equal(fg_budget_live(b, T0 + 9), 4);
	assert_int_equal(fg_budget_live(b, T0 + 10), 0);
	free(b);
}

static void test_partial_seconds(void **st)
{
	(void)st;
	fg_budget_t *b = mk(1, 2500);
	/* 2.5 s rounds up: counted for 3 s, never fewer than it lives */
	fg_budget_add(b, T0, 2500, 1);
	assert_true(fg_budget_full(b, T0 + 2));
	assert_false(fg_budget_full(b, T0 + 3));
	free(b);
}

static void test_renewal_counts_again(void **st)
{
	(void)st;
	fg_budget_t *b = mk(3, 60000);
	for (int i = 0; i < 3; i++)
		fg_budget_add(b, T0 + (uint64_t)i, 60000, 1);   /* one element renewed */
	assert_true(fg_budget_full(b, T0 + 3));
	free(b);
}

static void test_long_windows(void **st)
{
	(void)st;
	/* a day of ttl: buckets wider than a second, the span still covers it */
	fg_budget_t *b = mk(5, 86400000u + 2000);
	assert_true(b->gran_s > 1);
	assert_true((uint64_t)b->gran_s * (FG_BUDGET_BUCKETS - 1) >= 86402);
	fg_budget_add(b, T0, 86400000u + 2000, 5);
	assert_true(fg_budget_full(b, T0 + 86401));
	assert_false(fg_budget_full(b, T0 + 86402 + b->gran_s));
	/* a window past the span (a reload lengthened ttl): the span */
	fg_budget_t *s = mk(1, 7000);
	fg_budget_add(s, T0, 3600000, 1);
	assert_true(fg_budget_full(s, T0 + FG_BUDGET_BUCKETS - 2));
	assert_false(fg_budget_full(s, T0 + FG_BUDGET_BUCKETS));
	free(s);
	free(b);
}

static void test_idle_and_clock(void **st)
{
	(void)st;
	fg_budget_t *b = mk(2, 7000);
	fg_budget_add(b, T0, 7000, 2);
	/* the clock steps back: nothing is released early */
	assert_true(fg_budget_full(b, T0 - 100));
	fg_budget_add(b, T0 - 100, 7000, 1);
	assert_int_equal(fg_budget_live(b, T0 - 100), 3);
	/* idle for longer than the ring: all expired */
	assert_int_equal(fg_budget_live(b, T0 + 100000), 0);
	assert_false(fg_budget_full(b, T0 + 100000));
	free(b);
}

static void test_no_budget_and_limit(void **st)
{
	(void)st;
	fg_budget_t *b = mk(0, 7000);
	fg_budget_add(b, T0, 7000, 1000);
	assert_false(fg_budget_full(b, T0));
	/* a reload sets a limit: the live count was kept */
	fg_budget_set_limit(b, 1000);
	assert_true(fg_budget_full(b, T0 + 1));
	fg_budget_set_limit(b, 1001);
	assert_false(fg_budget_full(b, T0 + 1));
	fg_budget_add(b, T0, 7000, 0);
	assert_int_equal(fg_budget_live(b, T0 + 1), 1000);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_partial_seconds),
		cmocka_unit_test(test_renewal_counts_again),
		cmocka_unit_test(test_long_windows),
		cmocka_unit_test(test_idle_and_clock),
		cmocka_unit_test(test_no_budget_and_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

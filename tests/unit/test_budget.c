/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The unverified-grant budget: grants count until their expiry (never
 * less), full at the limit, free again once they expire; a renewal moves
 * its element's count (it does not grow the count) and never leaves a
 * live element uncounted, also when its old bucket has expired, is empty,
 * or was placed early; long windows and idle gaps, a clock stepping back,
 * no budget.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "grant/budget.h"

#define S(x) ((uint64_t)(x) * 1000u)
#define T0 S(1800000000u)

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
	assert_int_equal(b->gran_ms, 1000);
	assert_false(fg_budget_full(b, T0));
	fg_budget_add(b, T0, T0 + 7000, 6);           /* ttl 5 s + grace 2 s */
	fg_budget_add(b, T0 + S(3), T0 + S(3) + 7000, 4);
	assert_true(fg_budget_full(b, T0 + S(3)));
	/* live until their expiry: still counted one second before it */
	assert_int_equal(fg_budget_live(b, T0 + S(6)), 10);
	assert_true(fg_budget_full(b, T0 + S(6)));
	assert_int_equal(fg_budget_live(b, T0 + S(7)), 4);
	assert_false(fg_budget_full(b, T0 + S(7)));
	assert_int_equal(fg_budget_live(b, T0 + S(9)), 4);
	assert_int_equal(fg_budget_live(b, T0 + S(10)), 0);
	free(b);
}

static void test_partial_seconds(void **st)
{
	(void)st;
	fg_budget_t *b = mk(1, 2500);
	/* 2.5 s rounds up: counted for 3 s, never fewer than it lives */
	fg_budget_add(b, T0, T0 + 2500, 1);
	assert_true(fg_budget_full(b, T0 + S(2)));
	assert_true(fg_budget_full(b, T0 + 2999));
	assert_false(fg_budget_full(b, T0 + S(3)));
	/* a grant made mid-second: counted up to the next whole second
	 * after its expiry */
	fg_budget_add(b, T0 + S(10) + 400, T0 + S(10) + 400 + 2500, 1);
	assert_true(fg_budget_full(b, T0 + S(12) + 900));
	assert_false(fg_budget_full(b, T0 + S(13)));
	free(b);
}

/* One element renewed many times, at a rate far above the limit: the
 * count stays one, and follows the latest expiry. */
static void test_renewal_moves(void **st)
{
	(void)st;
	fg_budget_t *b = mk(3, 60000);
	uint64_t counted = T0 + 5 + 60000;       /* ACK at T0 + 5 ms */
	fg_budget_add(b, T0 + 6, counted, 1);
	for (uint64_t i = 1; i <= 100000; i++) {
		uint64_t ack = T0 + i / 10;       /* 10 renewals a millisecond */
		fg_budget_renew(b, ack + 1, ack + 60000, counted);
		if (counted < ack + 60000)
			counted = ack + 60000;
		assert_int_equal(b->total, 1);
	}
	assert_false(fg_budget_full(b, T0 + S(10)));
	/* the latest renewal (at T0 + 10 s) lives to T0 + 70 s */
	assert_int_equal(fg_budget_live(b, T0 + S(69) + 999), 1);
	assert_int_equal(fg_budget_live(b, T0 + S(71)), 0);
	/* three elements each renewed: three counts, full, not more */
	uint64_t u[3];
	for (int k = 0; k < 3; k++) {
		u[k] = T0 + S(100) + 60000;
		fg_budget_add(b, T0 + S(100), u[k], 1);
	}
	for (int r = 1; r < 50; r++)
		for (int k = 0; k < 3; k++) {
			fg_budget_renew(b, T0 + S(100 + r), T0 + S(100 + r) + 60000, u[k]);
			u[k] = T0 + S(100 + r) + 60000;
		}
	assert_int_equal(fg_budget_live(b, T0 + S(150)), 3);
	assert_true(fg_budget_full(b, T0 + S(150)));
	assert_int_equal(fg_budget_live(b, T0 + S(208) + 999), 3);
	assert_int_equal(fg_budget_live(b, T0 + S(209)), 0);
	free(b);
}

/* A model of the daemon: grants of a few elements chosen, committed (the
 * kernel sets the element's timeout, or makes it again once collected),
 * acknowledged (the engine records count_until for renewals) and counted
 * by workers in any order, some refused, some forgotten by the engine,
 * windows changing (reloads). After each round, the budget counts at
 * least the live elements at every future time; and it does not count
 * each renewal. */
enum { NE = 24, NG = 8 };
enum ev_kind { EV_CHOOSE, EV_COMMIT, EV_ACK, EV_COUNT };
struct ev { uint64_t t; int kind, g; };
struct gr { int e; uint64_t window, renew_of, count_until; bool refused; };

static unsigned rnd(unsigned *seed, unsigned n)
{
	*seed = *seed * 1103515245u + 12345u;
	return (*seed >> 8) % n;
}

static void test_never_undercounts(void **st)
{
	(void)st;
	fg_budget_t *b = mk(0, 9000);
	uint64_t kexp[NE] = { 0 }, counted[NE] = { 0 }, held[NE] = { 0 };
	uint64_t now = T0, grants = 0;
	unsigned seed = 12345;
	for (int round = 0; round < 20000; round++) {
		struct ev ev[4 * NG];
		struct gr g[NG];
		int nev = 0;
		for (int i = 0; i < NG; i++) {
			g[i].e = (int)rnd(&seed, NE);
			g[i].window = rnd(&seed, 4) ? 9000 : 3000;
			g[i].refused = !rnd(&seed, 16);
			uint64_t c = now + rnd(&seed, 100);
			uint64_t k = c + rnd(&seed, 300);         /* the kernel's time */
			uint64_t a = k + rnd(&seed, 50);          /* the ACK read */
			ev[nev++] = (struct ev){ c, EV_CHOOSE, i };
			ev[nev++] = (struct ev){ k, EV_COMMIT, i };
			ev[nev++] = (struct ev){ a, EV_ACK, i };
			ev[nev++] = (struct ev){ a + rnd(&seed, 800), EV_COUNT, i };
		}
		/* in time order (insertion sort: stable) */
		for (int i = 1; i < nev; i++)
			for (int j = i; j > 0 && ev[j].t < ev[j - 1].t; j--) {
				struct ev x = ev[j];
				ev[j] = ev[j - 1];
				ev[j - 1] = x;
			}
		for (int i = 0; i < nev; i++) {
			struct gr *x = &g[ev[i].g];
			uint64_t t = ev[i].t;
			switch (ev[i].kind) {
			case EV_CHOOSE:   /* the engine: a live holding renews */
				x->renew_of = held[x->e] > t ? counted[x->e] : 0;
				if (!held[x->e] || held[x->e] <= t)
					counted[x->e] = 0;
				if (held[x->e] < t + x->window)
					held[x->e] = t + x->window;   /* refused: not undone */
				if (!rnd(&seed, 64))
					held[x->e] = counted[x->e] = 0;   /* evicted */
				break;
			case EV_COMMIT:   /* the kernel: the newest timeout */
				if (!x->refused)
					kexp[x->e] = t + x->window;
				break;
			case EV_ACK:
				x->count_until = t + x->window;
				if (!x->refused && held[x->e] > t && counted[x->e] < x->count_until)
					counted[x->e] = x->count_until;
				break;
			case EV_COUNT:
				if (x->refused)
					break;
				grants++;
				if (x->renew_of)
					fg_budget_renew(b, t, x->count_until, x->renew_of);
				else
					fg_budget_add(b, t, x->count_until, 1);
				if (t > now)
					now = t;
				break;
			}
		}
		for (uint64_t t = now; t < now + 10000; t += 97) {
			uint64_t live = 0;
			for (int i = 0; i < NE; i++)
				live += kexp[i] > t;
			fg_budget_t probe = *b;
			assert_true(fg_budget_live(&probe, t) >= live);
		}
		/* most rounds follow at once, some after a pause */
		now += rnd(&seed, 8) ? rnd(&seed, 200) : rnd(&seed, 12000);
	}
	/* 160000 grants of 24 elements, each living at most 9.3 s: a count
	 * per grant would be thousands; moved counts stay near the elements */
	assert_true(grants > 100000);
	assert_true(fg_budget_live(b, now) <= 3 * NE);
	free(b);
}

/* A renewal whose old count has already expired (its bucket swept), or
 * whose bucket holds nothing (its count not added yet), is counted as a
 * new grant; a shorter renewal keeps the later expiry. */
static void test_renewal_old_bucket_gone(void **st)
{
	(void)st;
	fg_budget_t *b = mk(10, 7000);
	fg_budget_add(b, T0, T0 + 7000, 1);
	assert_int_equal(fg_budget_live(b, T0 + S(8)), 0);
	/* the engine still took it for live: counted anew */
	fg_budget_renew(b, T0 + S(8), T0 + S(15), T0 + 7000);
	assert_int_equal(fg_budget_live(b, T0 + S(8)), 1);
	assert_int_equal(fg_budget_live(b, T0 + S(14) + 999), 1);
	assert_int_equal(fg_budget_live(b, T0 + S(15)), 0);
	/* an empty bucket (nothing to take): a new count, no underflow */
	fg_budget_add(b, T0 + S(20), T0 + S(27), 1);
	fg_budget_renew(b, T0 + S(21), T0 + S(28), T0 + S(25));
	assert_int_equal(fg_budget_live(b, T0 + S(21)), 2);
	assert_int_equal(fg_budget_live(b, T0 + S(27)), 1);
	assert_int_equal(fg_budget_live(b, T0 + S(28)), 0);
	/* a shorter renewal (a reload shortened ttl) keeps the later one */
	fg_budget_add(b, T0 + S(30), T0 + S(37), 1);
	fg_budget_renew(b, T0 + S(31), T0 + S(33), T0 + S(37));
	assert_int_equal(fg_budget_live(b, T0 + S(36) + 999), 1);
	assert_int_equal(fg_budget_live(b, T0 + S(37)), 0);
	free(b);
}

static void test_long_windows(void **st)
{
	(void)st;
	/* a day of ttl: buckets wider than a second, the span still covers it */
	fg_budget_t *b = mk(5, 86400000u + 2000);
	assert_true(b->gran_ms > 1000);
	assert_true(b->gran_ms * (FG_BUDGET_BUCKETS - 1) >= S(86402));
	fg_budget_add(b, T0, T0 + 86400000u + 2000, 5);
	assert_true(fg_budget_full(b, T0 + S(86401)));
	assert_false(fg_budget_full(b, T0 + S(86402) + b->gran_ms));
	/* a window past the span (a reload lengthened ttl): the span */
	fg_budget_t *s = mk(1, 7000);
	fg_budget_add(s, T0, T0 + 3600000, 1);
	assert_true(fg_budget_full(s, T0 + S(FG_BUDGET_BUCKETS - 2)));
	assert_false(fg_budget_full(s, T0 + S(FG_BUDGET_BUCKETS)));
	free(s);
	/* ... and a renewal of an element counted early cannot take a count
	 * from its named bucket (another element's): it counts again */
	s = mk(0, 7000);
	fg_budget_add(s, T0, T0 + 3600000, 1);              /* placed at ~T0 + 1023 s */
	fg_budget_add(s, T0 + S(2000), T0 + S(2000) + 7000, 1);      /* another, to T0 + 2007 s */
	fg_budget_renew(s, T0 + S(2000), T0 + S(2007), T0 + 3600000);
	assert_int_equal(fg_budget_live(s, T0 + S(2000)), 2);
	free(s);
	free(b);
}

static void test_idle_and_clock(void **st)
{
	(void)st;
	fg_budget_t *b = mk(2, 7000);
	fg_budget_add(b, T0, T0 + 7000, 2);
	/* the clock steps back: nothing is released early */
	assert_true(fg_budget_full(b, T0 - S(100)));
	fg_budget_add(b, T0 - S(100), T0 - S(100) + 7000, 1);
	assert_int_equal(fg_budget_live(b, T0 - S(100)), 3);
	/* a renewal then moves a count, and keeps the later expiry */
	fg_budget_renew(b, T0 - S(100), T0 - S(93), T0 + 7000);
	assert_int_equal(fg_budget_live(b, T0 - S(100)), 3);
	assert_int_equal(fg_budget_live(b, T0 + S(6)), 2);
	/* idle for longer than the ring: all expired */
	assert_int_equal(fg_budget_live(b, T0 + S(100000)), 0);
	assert_false(fg_budget_full(b, T0 + S(100000)));
	free(b);
}

static void test_no_budget_and_limit(void **st)
{
	(void)st;
	fg_budget_t *b = mk(0, 7000);
	fg_budget_add(b, T0, T0 + 7000, 1000);
	assert_false(fg_budget_full(b, T0));
	/* a reload sets a limit: the live count was kept */
	fg_budget_set_limit(b, 1000);
	assert_true(fg_budget_full(b, T0 + S(1)));
	fg_budget_set_limit(b, 1001);
	assert_false(fg_budget_full(b, T0 + S(1)));
	fg_budget_add(b, T0, T0 + 7000, 0);
	assert_int_equal(fg_budget_live(b, T0 + S(1)), 1000);
	free(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expiry),
		cmocka_unit_test(test_partial_seconds),
		cmocka_unit_test(test_renewal_moves),
		cmocka_unit_test(test_never_undercounts),
		cmocka_unit_test(test_renewal_old_bucket_gone),
		cmocka_unit_test(test_long_windows),
		cmocka_unit_test(test_idle_and_clock),
		cmocka_unit_test(test_no_budget_and_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

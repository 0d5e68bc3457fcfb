/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests: the event log's lock-free queue (daemon/evqueue.h): capacity
 * rounding and limits, FIFO order, full when the consumer lags, a claimed
 * cell blocks the consumer until it is published, and concurrent producers
 * lose nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>

#include "daemon/evqueue.h"

static void put(fg_evq_t *q, unsigned v)
{
	size_t pos;
	fg_evq_slot_t *s = fg_evq_claim(q, &pos);
	assert_non_null(s);
	int n = snprintf(s->line, sizeof(s->line), "%u", v);
	fg_evq_publish(s, pos, (uint32_t)n);
}

static unsigned take(fg_evq_t *q)
{
	fg_evq_slot_t *s = fg_evq_peek(q);
	assert_non_null(s);
	char tmp[16] = { 0 };
	memcpy(tmp, s->line, s->len < 15 ? s->len : 15);
	fg_evq_pop(q, s);
	unsigned v = 0;
	sscanf(tmp, "%u", &v);
	return v;
}

static void test_limits(void **st)
{
	fg_evq_t q;
	assert_int_equal(fg_evq_init(&q, 0), -EINVAL);
	assert_int_equal(fg_evq_init(&q, FG_EVQ_MAX_CAPACITY + 1), -EINVAL);
	assert_int_equal(fg_evq_init(&q, 3), 0);
	assert_int_equal(q.mask, 3);   /* rounded up to 4 */
	fg_evq_fini(&q);
}

static void test_fifo_and_full(void **st)
{
	fg_evq_t q;
	size_t pos;
	assert_int_equal(fg_evq_init(&q, 4), 0);
	assert_null(fg_evq_peek(&q));
	for (unsigned i = 0; i < 4; i++)
		put(&q, i);
	assert_null(fg_evq_claim(&q, &pos));   /* full: the consumer lags */
	assert_int_equal(take(&q), 0);
	put(&q, 4);                             /* one cell freed, one taken */
	assert_null(fg_evq_claim(&q, &pos));
	for (unsigned i = 1; i <= 4; i++)
		assert_int_equal(take(&q), i);
	assert_null(fg_evq_peek(&q));
	fg_evq_fini(&q);
}

static void test_claimed_blocks_consumer(void **st)
{
	fg_evq_t q;
	size_t p1, p2;
	assert_int_equal(fg_evq_init(&q, 4), 0);
	fg_evq_slot_t *a = fg_evq_claim(&q, &p1);
	fg_evq_slot_t *b = fg_evq_claim(&q, &p2);
	assert_non_null(a);
	assert_non_null(b);
	fg_evq_publish(b, p2, 0);
	assert_null(fg_evq_peek(&q));           /* the older cell is not published */
	fg_evq_publish(a, p1, 0);               /* empty: nothing to write */
	fg_evq_slot_t *s = fg_evq_peek(&q);
	assert_ptr_equal(s, a);
	assert_int_equal(s->len, 0);
	fg_evq_pop(&q, s);
	assert_ptr_equal(fg_evq_peek(&q), b);
	fg_evq_fini(&q);
}

#define NPROD 4
#define PER_PROD 20000

static fg_evq_t g_q;

static void *producer(void *arg)
{
	unsigned base = (unsigned)(uintptr_t)arg * PER_PROD;
	for (unsigned i = 0; i < PER_PROD; i++) {
		size_t pos;
		fg_evq_slot_t *s;
		while (!(s = fg_evq_claim(&g_q, &pos)))
			sched_yield();
		int n = snprintf(s->line, sizeof(s->line), "%u", base + i);
		fg_evq_publish(s, pos, (uint32_t)n);
	}
	return NULL;
}

static void test_producers_lose_nothing(void **st)
{
	static unsigned char seen[NPROD * PER_PROD];
	unsigned last[NPROD];
	pthread_t th[NPROD];
	assert_int_equal(fg_evq_init(&g_q, 64), 0);
	memset(seen, 0, sizeof(seen));
	for (unsigned i = 0; i < NPROD; i++) {
		last[i] = 0;
		assert_int_equal(pthread_create(&th[i], NULL, producer, (void *)(uintptr_t)i), 0);
	}
	for (unsigned got = 0; got < NPROD * PER_PROD;) {
		if (!fg_evq_peek(&g_q)) {
			sched_yield();
			continue;
		}
		unsigned v = take(&g_q);
		assert_true(v < NPROD * PER_PROD);
		assert_int_equal(seen[v], 0);
		seen[v] = 1;
		/* each producer's lines come out in its order */
		unsigned p = v / PER_PROD;
		assert_true(v % PER_PROD == 0 || v > last[p]);
		last[p] = v;
		got++;
	}
	for (unsigned i = 0; i < NPROD; i++)
		pthread_join(th[i], NULL);
	assert_null(fg_evq_peek(&g_q));
	fg_evq_fini(&g_q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_fifo_and_full),
		cmocka_unit_test(test_claimed_blocks_consumer),
		cmocka_unit_test(test_producers_lose_nothing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

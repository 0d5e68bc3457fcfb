/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "grant/budget.h"

#include <string.h>

void fg_budget_init(fg_budget_t *b, uint64_t limit, uint64_t max_window_ms)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
	/* the ring holds buckets after the current one: FG_BUDGET_BUCKETS - 1 */
	uint64_t span_s = (max_window_ms + 999) / 1000 + 1;
	uint64_t gran = (span_s + FG_BUDGET_BUCKETS - 2) / (FG_BUDGET_BUCKETS - 1);
	if (gran > UINT32_MAX)
		gran = UINT32_MAX;
	b->gran_ms = (gran ? gran : 1) * 1000;
}

void fg_budget_set_limit(fg_budget_t *b, uint64_t limit)
{
	b->limit = limit;
}

/* The bucket whose time is at or after `t_ms` (rounded up: a count there
 * outlives its grant, never the reverse). */
static uint64_t bucket_of(const fg_budget_t *b, uint64_t t_ms)
{
	return t_ms / b->gran_ms + (t_ms % b->gran_ms != 0);
}

/* Drop the buckets whose time has passed. */
static void sweep(fg_budget_t *b, uint64_t now_ms)
{
	uint64_t t = now_ms / b->gran_ms;
	if (b->swept == 0) {
		b->swept = t;   /* first use */
		return;
	}
	if (t <= b->swept)
		return;   /* same bucket, or the clock stepped back: keep all */
	if (t - b->swept >= FG_BUDGET_BUCKETS) {
		memset(b->count, 0, sizeof(b->count));   /* all expired */
		b->total = 0;
		b->swept = t;
		return;
	}
	while (b->swept < t) {
		b->swept++;
		uint64_t *c = &b->count[b->swept % FG_BUDGET_BUCKETS];
		b->total -= *c;
		*c = 0;
	}
}

/* Count `n` in bucket `e` (swept already), or in the last one of the ring
 * when `e` lies past it: renewals naming a bucket up to `e` are then no
 * longer sure to find their count there or later. */
static void put(fg_budget_t *b, uint64_t e, uint64_t n)
{
	uint64_t t = b->swept;
	if (e <= t)
		e = t + 1;
	if (e - t >= FG_BUDGET_BUCKETS) {
		if (e > b->unsure)
			b->unsure = e;
		e = t + FG_BUDGET_BUCKETS - 1;
	}
	b->count[e % FG_BUDGET_BUCKETS] += n;
	b->total += n;
}

bool fg_budget_full(fg_budget_t *b, uint64_t now_ms)
{
	if (!b->limit)
		return false;
	sweep(b, now_ms);
	return b->total >= b->limit;
}

void fg_budget_add(fg_budget_t *b, uint64_t now_ms, uint64_t until_ms, uint64_t n)
{
	if (!n)
		return;
	sweep(b, now_ms);
	put(b, bucket_of(b, until_ms), n);
}

void fg_budget_renew(fg_budget_t *b, uint64_t now_ms, uint64_t until_ms,
		     uint64_t prev_until_ms)
{
	sweep(b, now_ms);
	uint64_t e = bucket_of(b, until_ms);
	uint64_t a = bucket_of(b, prev_until_ms);
	/* the previous count's bucket, or one before it: still live, inside
	 * the ring, holding a count, not past a count placed early */
	if (a > b->swept && a - b->swept < FG_BUDGET_BUCKETS && a > b->unsure &&
	    b->count[a % FG_BUDGET_BUCKETS]) {
		b->count[a % FG_BUDGET_BUCKETS]--;
		b->total--;
		if (e < a)
			e = a;   /* the old expiry may be the later one */
	}
	put(b, e, 1);
}

uint64_t fg_budget_live(fg_budget_t *b, uint64_t now_ms)
{
	sweep(b, now_ms);
	return b->total;
}

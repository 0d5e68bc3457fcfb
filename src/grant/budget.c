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
	b->gran_s = gran ? (uint32_t)(gran > UINT32_MAX ? UINT32_MAX : gran) : 1;
}

void fg_budget_set_limit(fg_budget_t *b, uint64_t limit)
{
	b->limit = limit;
}

/* Drop the buckets whose time has passed. */
static void sweep(fg_budget_t *b, uint64_t now_s)
{
	uint64_t t = now_s / b->gran_s;
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

bool fg_budget_full(fg_budget_t *b, uint64_t now_s)
{
	if (!b->limit)
		return false;
	sweep(b, now_s);
	return b->total >= b->limit;
}

void fg_budget_add(fg_budget_t *b, uint64_t now_s, uint64_t window_ms, uint64_t n)
{
	if (!n)
		return;
	sweep(b, now_s);
	uint64_t t = b->swept;
	/* the bucket whose time is at or after the expiry */
	uint64_t end_s = now_s + (window_ms + 999) / 1000;
	uint64_t e = (end_s + b->gran_s - 1) / b->gran_s;
	if (e <= t)
		e = t + 1;
	if (e - t >= FG_BUDGET_BUCKETS)
		e = t + FG_BUDGET_BUCKETS - 1;
	b->count[e % FG_BUDGET_BUCKETS] += n;
	b->total += n;
}

uint64_t fg_budget_live(fg_budget_t *b, uint64_t now_s)
{
	sweep(b, now_s);
	return b->total;
}

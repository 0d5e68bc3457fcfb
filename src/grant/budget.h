/* SPDX-License-Identifier: GPL-3.0-or-later
 *
 * The budget of live grants made to unverified askers.
 *
 * A UDP query without a valid server cookie (RFC 7873) and without TSIG
 * may come from a forged source. Rate limiting bounds each /24 or /56 and
 * policy.exact-per-source bounds each address, but a flood spread over a
 * /16 is bounded only by rate x (ttl + grace): enough to fill the grant
 * sets, after which every service answer is SERVFAIL. The budget caps the
 * grants such askers hold at once (policy.unverified-share of
 * nat.grant-set-size); past it their service answers are TC=1, so a real
 * resolver retries over TCP (which a forged source cannot complete) and is
 * granted there, while the flood buys nothing.
 *
 * Live grants are counted by expiry in a ring of buckets: a grant is added
 * to the bucket of its expiry (rounded up, so the count never undercounts
 * a live grant within the ring's span) and leaves the count when its
 * bucket's time has passed. A renewed grant counts again: the budget errs
 * towards answering TC=1, never towards filling the sets.
 *
 * Pure: no I/O, no globals, no locking (the caller serialises access).
 * The caller owns the struct; it holds no pointers.
 */
#ifndef FG_GRANT_BUDGET_H
#define FG_GRANT_BUDGET_H

#include <stdbool.h>
#include <stdint.h>

#define FG_BUDGET_BUCKETS 1024u

typedef struct fg_budget {
	uint64_t limit;        /* live grants allowed; 0: no budget */
	uint32_t gran_s;       /* seconds per bucket */
	uint64_t total;        /* live grants counted */
	uint64_t swept;        /* bucket time (s / gran_s) swept up to */
	uint64_t count[FG_BUDGET_BUCKETS];
} fg_budget_t;

/* Empty budget of `limit` live grants (0: none), whose ring spans at least
 * `max_window_ms` (the longest ttl + grace of the configuration). */
void fg_budget_init(fg_budget_t *b, uint64_t limit, uint64_t max_window_ms);

/* A new limit (a reload); the live count is kept. */
void fg_budget_set_limit(fg_budget_t *b, uint64_t limit);

/* True when the live count has reached the limit at `now_s`. */
bool fg_budget_full(fg_budget_t *b, uint64_t now_s);

/* `n` grants made at `now_s` that live `window_ms`. A window longer than
 * the ring's span is counted for the span (set at init from the config). */
void fg_budget_add(fg_budget_t *b, uint64_t now_s, uint64_t window_ms, uint64_t n);

/* Live grants counted at `now_s`. */
uint64_t fg_budget_live(fg_budget_t *b, uint64_t now_s);

#endif

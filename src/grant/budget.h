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
 * bucket's time has passed.
 *
 * A renewal (the same kernel element granted again, its expiry pushed
 * out) moves one count instead of adding one: one live element is one
 * count however often it is renewed. The caller names the element's
 * previous count by the expiry it was counted until (`prev_until_ms`;
 * the latest of them, or any no later than the one its count was put
 * at). Taking a count from that bucket, or from an earlier one, and
 * putting it at or after both the old and the new expiry never leaves a
 * live element uncounted: whatever element the taken count stood for
 * expires no later than it, and is then covered by the renewed element's
 * old count. When that bucket has already been swept or is empty (its
 * count not added yet, another worker's), the renewal is counted as a new
 * grant (an overcount until the old count expires). A count placed early
 * because its expiry lay past the ring's span (a reload lengthened ttl)
 * marks its buckets as unsure: renewals naming them count again.
 *
 * Times are milliseconds on any clock the caller keeps to (the daemon:
 * CLOCK_MONOTONIC, the grant engine's); a clock stepping back releases
 * nothing early.
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
	uint64_t gran_ms;      /* milliseconds per bucket (whole seconds) */
	uint64_t total;        /* live grants counted */
	uint64_t swept;        /* bucket (ms / gran_ms) swept up to */
	uint64_t unsure;       /* renewals naming a bucket up to this one
				* count again (a count was placed early) */
	uint64_t count[FG_BUDGET_BUCKETS];
} fg_budget_t;

/* Empty budget of `limit` live grants (0: none), whose ring spans at least
 * `max_window_ms` (the longest ttl + grace of the configuration). */
void fg_budget_init(fg_budget_t *b, uint64_t limit, uint64_t max_window_ms);

/* A new limit (a reload); the live count is kept. */
void fg_budget_set_limit(fg_budget_t *b, uint64_t limit);

/* True when the live count has reached the limit at `now_ms`. */
bool fg_budget_full(fg_budget_t *b, uint64_t now_ms);

/* `n` new grants, counted at `now_ms` until `until_ms` (no earlier than
 * they expire). An expiry past the ring's span is counted for the span
 * (set at init from the config). */
void fg_budget_add(fg_budget_t *b, uint64_t now_ms, uint64_t until_ms, uint64_t n);

/* One renewal, counted at `now_ms` until `until_ms`, of an element whose
 * previous count was put at `prev_until_ms` or later (see above). */
void fg_budget_renew(fg_budget_t *b, uint64_t now_ms, uint64_t until_ms,
		     uint64_t prev_until_ms);

/* Live grants counted at `now_ms`. */
uint64_t fg_budget_live(fg_budget_t *b, uint64_t now_ms);

#endif

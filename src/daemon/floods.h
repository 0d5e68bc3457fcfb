/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Spoofed-flood defences of the UDP answer path: DNS cookies (RFC 7873,
 * server cookies of RFC 9018) and response rate limiting (dns/rrl.h),
 * decided after parsing and before the grant step, so a limited query
 * never buys a grant. TCP is not limited: a TCP peer has completed a
 * handshake, so its address is not forged.
 *
 * One fg_floods_t per server: the cookie secret (from cookie.secret, else
 * random at start; zeroized on free) and one rate-limit table shared by
 * all workers (otherwise each of N workers would allow the rate again),
 * under a mutex taken once per UDP batch. A reload with different rrl
 * parameters replaces the table.
 *
 * Ownership: fg_floods_new() returns an object owned by the caller,
 * released with fg_floods_free(). Cookie hashing needs a per-thread
 * fg_siphash_t owned by the worker.
 */
#ifndef FG_DAEMON_FLOODS_H
#define FG_DAEMON_FLOODS_H

#include <stdint.h>
#include <sys/socket.h>

#include "conf/conf.h"
#include "dns/cookie.h"
#include "dns/msg.h"
#include "dns/rrl.h"

typedef struct fg_floods fg_floods_t;

int fg_floods_new(const fg_conf_t *conf, fg_floods_t **out);
void fg_floods_free(fg_floods_t *f);

/* Take the new config's rrl parameters (a new table when they differ).
 * A changed cookie secret needs a restart (a warning says so). */
void fg_floods_reload(fg_floods_t *f, const fg_conf_t *conf);

/* Judge the COOKIE of a parsed query from `peer` at `now` (Unix seconds)
 * and, when it carried a client cookie, set the fresh server cookie the
 * response will carry (q->resp_cookie). */
enum fg_cookie_verdict fg_floods_cookie(const fg_floods_t *f, fg_siphash_t *h,
					fg_dns_query_t *q,
					const struct sockaddr_storage *peer, uint32_t now);

/* Rate-limit decisions: lock once, decide a batch, unlock. */
void fg_floods_lock(fg_floods_t *f);
void fg_floods_unlock(fg_floods_t *f);
enum fg_rrl_action fg_floods_rrl(fg_floods_t *f, const struct sockaddr_storage *peer,
				 uint64_t now_ms);

/* The unverified-grant budget (grant/budget.h), under the lock like
 * fg_floods_rrl, on the grant engine's clock (CLOCK_MONOTONIC ms): full at
 * `now_ms`? `n` new grants counted until `until_ms`; one renewal of an
 * element counted until `prev_until_ms` (fg_grant_req_t.renew_of). */
bool fg_floods_budget_full(fg_floods_t *f, uint64_t now_ms);
void fg_floods_budget_add(fg_floods_t *f, uint64_t now_ms, uint64_t until_ms, uint64_t n);
void fg_floods_budget_renew(fg_floods_t *f, uint64_t now_ms, uint64_t until_ms,
			    uint64_t prev_until_ms);
/* Takes the lock itself: live grants counted and the limit (metrics). */
uint64_t fg_floods_budget_live(fg_floods_t *f, uint64_t now_ms, uint64_t *limit);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Response rate limiting in the style of NSD and Knot: one token bucket per
 * source prefix (/24 IPv4, /56 IPv6 by default), `rate` responses per
 * second with a burst of one second's worth. Over the limit, every
 * `slip`-th response of a prefix is sent truncated (TC=1, no answer: a real
 * client retries over TCP, which is not limited) and the others are
 * dropped. fluxgated decides before the grant step, so a limited query
 * never buys a grant.
 *
 * The table has a fixed number of buckets, allocated once (no allocation
 * per query), in sets of FG_RRL_WAYS indexed by a keyed SipHash of the
 * prefix (random key per table: collisions cannot be aimed). A prefix that
 * finds its set full takes over the least recently used bucket together
 * with that bucket's tokens, so cycling through more prefixes than the
 * table holds mints no extra burst.
 *
 * Pure: the clock is a parameter (milliseconds, monotonic). Not
 * thread-safe: the caller serialises calls on one table.
 *
 * Ownership: fg_rrl_new() returns a table owned by the caller, released
 * with fg_rrl_free() (which zeroizes its hash key).
 */
#ifndef FG_DNS_RRL_H
#define FG_DNS_RRL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns/siphash.h"

#define FG_RRL_WAYS 4

typedef struct fg_rrl_params {
	uint32_t rate;          /* responses per second per prefix; 0 = off */
	uint32_t slip;          /* every slip-th limited answer slips; 0 = never */
	uint8_t v4_prefix;      /* 8..32 */
	uint8_t v6_prefix;      /* 16..64 */
	uint32_t table_size;    /* buckets, rounded down to FG_RRL_WAYS */
} fg_rrl_params_t;

enum fg_rrl_action {
	FG_RRL_PASS = 0,        /* answer normally */
	FG_RRL_DROP,            /* send nothing */
	FG_RRL_SLIP,            /* send a TC=1 answer without records */
};

typedef struct fg_rrl fg_rrl_t;

/* `key` NULL: a random key. Returns 0, -EINVAL (parameters out of range)
 * or -ENOMEM / -ENOTSUP. */
int fg_rrl_new(const fg_rrl_params_t *p, const uint8_t key[FG_SIPHASH_KEYLEN],
	       fg_rrl_t **out);
void fg_rrl_free(fg_rrl_t *r);

/* Account one response to `addr` (4 octets for AF_INET, 16 for AF_INET6)
 * at `now_ms` and say what to do with it. A table with rate 0 passes all. */
enum fg_rrl_action fg_rrl_check(fg_rrl_t *r, int family, const uint8_t *addr,
				uint64_t now_ms);

/* Number of buckets actually allocated. */
size_t fg_rrl_buckets(const fg_rrl_t *r);

/* True when two parameter sets describe the same table. */
bool fg_rrl_params_eq(const fg_rrl_params_t *a, const fg_rrl_params_t *b);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Per-set digests for distributed mode's reconciliation: what lets a
 * controller and an agent that lost touch find out which grants differ
 * without sending the sets to each other.
 *
 * A set is one family's grants of one controller's share on one agent
 * (the grant maps of that family, every scope together). Each set is split
 * into FG_DIST_BUCKETS buckets by a keyed hash (SipHash-2-4, dns/siphash.h)
 * of the grant's key; a bucket's digest is the sum modulo 2^64 of the
 * keyed hashes of its grants: order-independent, and an element added and
 * removed leaves no trace. The key is a fresh random salt of each
 * reconciliation, drawn by the controller: client addresses are chosen by
 * whoever queries, and with a fixed key they could be aimed at sums that
 * cancel.
 *
 * What is hashed is the grant's key and value (family, scope, client
 * prefix, pool address, backend and its port), not its expiry. Both sides
 * let a grant expire on its own (the kernel by its element timeout, the
 * controller by the deadline it computed when it queued the grant), a few
 * milliseconds apart and by two clocks: any rounding of the expiry into
 * the digest has unit boundaries that some grant straddles, and the
 * bucket holding it would differ on every comparison. The key alone is in
 * both sets or in neither, except for a grant that expires between the
 * two readings; both sides leave out grants within FG_DIST_RECON_GUARD_MS
 * of their expiry, so that window costs at most a bucket exchanged, and a
 * bucket that differs only by such a grant sends nothing (the controller
 * never revokes a grant it holds, and sends none that is about to lapse).
 *
 * Pure: no I/O, no globals. Ownership: the caller owns every struct.
 */
#ifndef FG_DIST_DIGEST_H
#define FG_DIST_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/nat.h"
#include "dns/siphash.h"

#define FG_DIST_BUCKETS 64            /* per set; a bitmap of them fits a u64 */
#define FG_DIST_NSETS   2             /* sets per controller share: IPv4, IPv6 */
#define FG_DIST_SALT_LEN FG_SIPHASH_KEYLEN
/* grants this close to their expiry are left out of digests and exchanges */
#define FG_DIST_RECON_GUARD_MS 2000u

typedef struct fg_dist_digest {
	uint32_t count[FG_DIST_NSETS];                     /* grants per set */
	uint64_t sum[FG_DIST_NSETS][FG_DIST_BUCKETS];      /* per bucket */
} fg_dist_digest_t;

/* The set index of a family (0 IPv4, 1 IPv6), -1 for another family. */
int fg_dist_set_of(int family);

/* A grant's canonical key (what both sides hash): the fields that name
 * the element and its value, with the parts a scope does not use zeroed
 * and a subnet client masked to its prefix. Returns its length. */
#define FG_DIST_KEY_LEN 53
size_t fg_dist_grant_key(const fg_grant_t *g, uint8_t out[FG_DIST_KEY_LEN]);

/* Two grants are the same element and value (timeouts aside). */
bool fg_dist_grant_same(const fg_grant_t *a, const fg_grant_t *b);

/* The keyed hash of g's canonical key under salt; 0 or a negative error. */
int fg_dist_grant_hash(fg_siphash_t *h, const uint8_t salt[FG_DIST_SALT_LEN],
		       const fg_grant_t *g, uint64_t *out);

/* The bucket of a hash. */
static inline unsigned fg_dist_bucket_of(uint64_t hash)
{
	return (unsigned)(hash >> 58);   /* the top 6 bits: FG_DIST_BUCKETS 64 */
}

void fg_dist_digest_init(fg_dist_digest_t *d);
/* Add a grant (its hash) to its set's bucket; -EINVAL for a bad family. */
int fg_dist_digest_add(fg_dist_digest_t *d, int family, uint64_t hash);

/* The buckets of set s whose digests differ, as a bitmap (bit b: bucket b). */
uint64_t fg_dist_digest_diff(const fg_dist_digest_t *a, const fg_dist_digest_t *b, unsigned s);

/* Is grant g (hash) in the buckets `want` names (want[set])? */
bool fg_dist_digest_wants(const uint64_t want[FG_DIST_NSETS], int family, uint64_t hash);

#endif

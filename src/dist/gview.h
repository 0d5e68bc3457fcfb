/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The controller's view of one agent's grant set (distributed mode): every
 * grant it commanded that agent to hold, with the deadline it computed for
 * it, so that after an outage the two can be compared (dist/digest.h) and
 * only the difference sent. A grant queued for the agent is added (or its
 * deadline moved: a refresh), a revoke removes it, and a grant past its
 * deadline is gone.
 *
 * An open-addressing table with linear probing, indexed by SipHash of the
 * canonical key under a random key of the view (client addresses are the
 * querier's choice: an unkeyed index could be aimed at one probe chain).
 * When it cannot grow (memory), it stops taking grants and says so
 * (`complete` false): reconciliation then sends what the agent lacks but
 * never revokes on its word.
 *
 * Pure: no I/O, no clock (callers pass `now`, monotonic ms). Not
 * thread-safe: the caller serialises (the link's mutex). Ownership: the
 * view owns its table; fg_dist_gview_free() releases it.
 */
#ifndef FG_DIST_GVIEW_H
#define FG_DIST_GVIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/nat.h"
#include "dist/digest.h"

typedef struct fg_dist_gview fg_dist_gview_t;

/* A view of at most `max` grants; 0 or -ENOMEM / -ENOTSUP. */
int fg_dist_gview_new(size_t max, fg_dist_gview_t **out);
void fg_dist_gview_free(fg_dist_gview_t *v);

/* Add g (or move its deadline to now + g->timeout_ms). */
void fg_dist_gview_put(fg_dist_gview_t *v, const fg_grant_t *g, uint64_t now);
/* Remove g (absent: nothing). */
void fg_dist_gview_del(fg_dist_gview_t *v, const fg_grant_t *g);
/* Is g held at `now`, and how long is left of it (ms)? */
bool fg_dist_gview_has(const fg_dist_gview_t *v, const fg_grant_t *g, uint64_t now,
		       uint32_t *left_ms);
/* Drop grants past their deadline. */
void fg_dist_gview_prune(fg_dist_gview_t *v, uint64_t now);
size_t fg_dist_gview_count(const fg_dist_gview_t *v);
/* false once a grant could not be taken (see above) */
bool fg_dist_gview_complete(const fg_dist_gview_t *v);

/* Call fn for every grant held at `now` with more than `guard_ms` left,
 * its timeout_ms set to what is left. */
typedef void (*fg_dist_gview_fn)(void *ctx, const fg_grant_t *g);
void fg_dist_gview_each(const fg_dist_gview_t *v, uint64_t now, uint32_t guard_ms,
			fg_dist_gview_fn fn, void *ctx);

/* The digest of the grants held at `now` with more than the guard left,
 * under `salt`. 0 or a negative error. */
int fg_dist_gview_digest(const fg_dist_gview_t *v, fg_siphash_t *h,
			 const uint8_t salt[FG_DIST_SALT_LEN], uint64_t now,
			 fg_dist_digest_t *out);

#endif

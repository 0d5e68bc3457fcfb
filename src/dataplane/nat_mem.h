/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test hooks of the in-memory NAT backend (fg_nat_mem_ops): a thin store
 * of what the grant engine wrote, for unit tests. It keeps the properties of
 * the kernel's grant maps that a commit can observe:
 *  - a grant's key is (family, scope, client[/plen], addr); re-adding a key
 *    *sets* its timeout (it may shorten it, like the kernel) and its backend;
 *  - grant maps hold at most cfg->grant_set_size elements each (0 = no
 *    limit), the commit fails whole (-FG_ENETLINK) beyond that;
 *  - a subnet grant overlapping a live one of the same address is refused
 *    (the kernel's pipapo refuses nested ranges), unless either is of the
 *    prefix length cfg->net_hash_plen4/6 at its commit (the kernel's subnet
 *    hash map, where nothing overlaps); such an element stays in "its" map
 *    when a setup changes the length, as the kernel's does;
 *  - quarantine elements, timed or permanent.
 * It does not model what the ruleset does with them (pins, the per-address
 * backend, quarantine beating grants, the port filter and translation,
 * the decoy route): the only model of the verdicts is the ruleset itself,
 * exercised by the netns tests against the kernel.
 * Expiry follows a per-state monotonic clock that tests can freeze and
 * advance. All functions here take a handle of the mem backend only.
 *
 * Thread safety: handles made with fg_nat_mem_open_shared() share one state
 * under a mutex, like worker handles sharing the kernel table.
 */
#ifndef FG_DATAPLANE_NAT_MEM_H
#define FG_DATAPLANE_NAT_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dataplane/nat.h"

/* The same backend with pipelined commits (unit tests of the grant
 * engine's begin/finish): commit_start queues the transaction, nothing of
 * it is applied (or failed: fg_nat_mem_fail_next) before commit_result. */
extern const fg_nat_ops_t fg_nat_mem_async_ops;
/* Transactions started on `nat` and not yet asked for. */
unsigned fg_nat_mem_pending(const fg_nat_t *nat);

/* A second handle on the state of `peer` (released with the ops' close;
 * the state goes with the last handle). */
int fg_nat_mem_open_shared(fg_nat_t *peer, fg_nat_t **out);

/* Freeze the clock at its current value; from then on only
 * fg_nat_mem_advance() moves it. Unfrozen, it follows CLOCK_MONOTONIC plus
 * every advance. */
void fg_nat_mem_clock_freeze(fg_nat_t *nat);
void fg_nat_mem_advance(fg_nat_t *nat, uint64_t ms);

/* Make the next `count` commits fail with `err` (negative; 0 means
 * -FG_ENETLINK) without installing anything: the SERVFAIL path. */
void fg_nat_mem_fail_next(fg_nat_t *nat, unsigned count, int err);

/* Does the store hold a live grant element whose key admits `client` to
 * `addr` (the exact element, a subnet element whose prefix holds the
 * client, or the anyone element of the address)? Its backend goes to
 * *backend (may be NULL). A lookup of the maps, not a packet's verdict. */
bool fg_nat_mem_granted(fg_nat_t *nat, int family, const uint8_t *client, const uint8_t *addr,
			uint8_t *backend);
/* Is `src` in the quarantine set (live)? */
bool fg_nat_mem_quarantined(fg_nat_t *nat, int family, const uint8_t *src);

typedef struct fg_nat_mem_stats {
	uint64_t commits;         /* successful commits */
	uint64_t commit_failures; /* failed (injected or capacity) */
	uint64_t grants_written;  /* elements written by successful commits */
	uint64_t last_batch;      /* grants in the last successful commit */
	size_t live_grants;
	size_t quarantined;
	unsigned setups;
} fg_nat_mem_stats_t;

void fg_nat_mem_stats(fg_nat_t *nat, fg_nat_mem_stats_t *st);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Test hooks of the in-memory NAT backend (fg_nat_mem_ops). The backend
 * mirrors the kernel data plane's semantics (see nft_int.h):
 *  - a grant's key is (family, scope, client[/plen], addr); re-adding a key
 *    *sets* its timeout (it may shorten it, like the kernel) and its backend;
 *  - grant maps hold at most cfg->grant_set_size elements each (0 = no
 *    limit), the commit fails whole (-FG_ENETLINK) beyond that;
 *  - the first flow of an authorized client pins (client, addr) for
 *    cfg->pin_ms, refreshed by each flow; a full pin set costs the pin,
 *    never the flow;
 *  - each commit also sets, per address, backend = the batch's backend,
 *    expiry = longest timeout of the batch + pin_ms: a pinned client whose
 *    grants lapsed reaches that backend while it lives, is dropped after;
 *  - quarantine beats pins and grants;
 *  - with ports_set, a (addr, proto, port) no svcport covers goes to the
 *    decoys whatever the grants and pins; TCP/UDP to a portmap range go to
 *    the grant's backend_port.
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

enum fg_nat_mem_verdict {
	FG_MEM_DECOY = 0,     /* routed to the decoy bed */
	FG_MEM_REAL = 1,      /* DNATed to *backend */
	FG_MEM_NOT_POOL = 2,  /* not pool traffic: untouched */
	FG_MEM_DROP = 3,      /* pinned, but past the address's backend horizon */
};

/* The first packet of a new flow from `client` to `addr`, as the kernel
 * ruleset would treat it (creates/refreshes the pin). */
enum fg_nat_mem_verdict fg_nat_mem_flow(fg_nat_t *nat, int family, const uint8_t *client,
					const uint8_t *addr, uint8_t *backend);
/* The same for a packet of protocol `proto` to port `dport`, with the
 * port filter (cfg->svcports when ports_set: anything no service exposes
 * goes to the decoys) and the port translation (cfg->portmap: TCP/UDP to
 * the grant's backend_port). fg_nat_mem_flow() skips both. *bport (may be
 * NULL) is the destination port after DNAT. */
enum fg_nat_mem_verdict fg_nat_mem_flow_port(fg_nat_t *nat, int family, const uint8_t *client,
					     const uint8_t *addr, uint8_t proto, uint16_t dport,
					     uint8_t *backend, uint16_t *bport);

typedef struct fg_nat_mem_stats {
	uint64_t commits;         /* successful commits */
	uint64_t commit_failures; /* failed (injected or capacity) */
	uint64_t grants_written;  /* elements written by successful commits */
	uint64_t last_batch;      /* grants in the last successful commit */
	size_t live_grants;
	size_t pins;
	size_t quarantined;
	unsigned setups;
} fg_nat_mem_stats_t;

void fg_nat_mem_stats(fg_nat_t *nat, fg_nat_mem_stats_t *st);

#endif

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The controller's side of distributed mode: one link per agent, each a
 * thread owning a TLS connection (dist/tls.h) that it (re)establishes,
 * and a bounded log of the commands sent to that agent.
 *
 * A command (a worker's grant batch, a quarantine, a release) is appended
 * to the log of every agent serving its addresses, with that agent's next
 * sequence number; the link thread writes it, the agent ACKs it by number.
 * fg_dist_hub_submit() returns once every one of them ACKed (grant before
 * answer across machines), or fails at the first refusal, at a link that
 * is down or stalled, or at the agent's `timeout`; a batch that failed is
 * revoked on every agent it was sent to (an unanswered grant leaves no
 * kernel state behind) and never replayed.
 *
 * Reconnecting, the agent's WELCOME names the last sequence number it
 * applied of this controller's epoch (a random number of this run); when
 * the log still holds what follows, the link replays it, each grant with
 * what is left of its lifetime (expired ones are skipped), and nothing is
 * flushed. When it does not (more commands than dist.log-size, or an
 * agent that restarted and knows no epoch), the link reconciles: each
 * link keeps a view of the grants its agent should hold (dist/gview.h);
 * the two compare per-set bucket digests (dist/digest.h), and only the
 * grants of the buckets that differ travel: the controller sends those
 * the agent lacks (with what is left of them) and revokes those of its
 * share it no longer holds; nothing is flushed. At the first contact of
 * a run, the link learns the agent's grants of its share instead of
 * revoking them (a previous run's, which clients may still use), and
 * sends what was queued for it meanwhile. An idle link reconciles
 * every 30 s (a digest exchange, nothing more when nothing differs).
 *
 * Threading: submit from any thread; status and counters from any thread.
 * Ownership: fg_dist_hub_new() copies what it needs from the config and
 * the keys; fg_dist_hub_free() stops the threads and zeroizes the keys.
 */
#ifndef FG_DIST_HUB_H
#define FG_DIST_HUB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dataplane/nat.h"
#include "dist/tls.h"

typedef struct fg_dist_hub fg_dist_hub_t;

/* keys[i] authenticates conf->agents[i] (psklen 0: certificates). */
int fg_dist_hub_new(const fg_conf_t *conf, const fg_dist_key_t *keys, fg_dist_hub_t **out,
		    char *err, size_t errlen);
/* Start the link threads (after the privilege drop). */
int fg_dist_hub_start(fg_dist_hub_t *hub);
void fg_dist_hub_free(fg_dist_hub_t *hub);

/* Commit grants on every agent serving their addresses; 0 once all ACKed. */
int fg_dist_hub_grant(fg_dist_hub_t *hub, const fg_grant_t *g, size_t n);
/* Quarantine / release on every agent. */
int fg_dist_hub_quarantine(fg_dist_hub_t *hub, int family, const uint8_t *src, uint32_t timeout_ms);
int fg_dist_hub_release(fg_dist_hub_t *hub, int family, const uint8_t *src);

/* Can every agent serving `addr` take a grant now (link up, not stalled)?
 * (dist.on-timeout: healthy-pool.) */
bool fg_dist_hub_addr_healthy(fg_dist_hub_t *hub, int family, const uint8_t *addr);

enum fg_dist_link_state { FG_LINK_DOWN = 0, FG_LINK_CONNECTING, FG_LINK_UP, FG_LINK_STALLED };
const char *fg_dist_link_state_name(int state);

#define FG_DIST_LAT_BUCKETS 15

typedef struct fg_dist_agent_status {
	char id[FG_DIST_ID_MAX + 1];
	char address[64];
	int state;                   /* enum fg_dist_link_state */
	uint64_t epoch_seen;         /* agent's view of our epoch at connect */
	uint64_t sent, acked;        /* last sequence numbers */
	uint64_t lag;                /* commands sent or queued, not ACKed */
	uint64_t acks, refused, timeouts, connects, handshake_failures, replayed;
	uint64_t pair_queued;        /* queued while down, its pair partner ACKing */
	/* reconciliation: runs, buckets compared and found differing, grants
	 * sent and revoked by it, learnt at first contact; the agent's last
	 * reported generation; grants the controller holds for it */
	uint64_t recon_runs, recon_buckets, recon_differing, recon_sent, recon_revoked;
	uint64_t recon_adopted, generation, view_grants;
	uint64_t lat_bucket[FG_DIST_LAT_BUCKETS + 1]; /* ACK latency, fg_hist bounds */
	uint64_t lat_sum_ns;
	char last_error[160];
} fg_dist_agent_status_t;

size_t fg_dist_hub_nagents(const fg_dist_hub_t *hub);
uint64_t fg_dist_hub_epoch(const fg_dist_hub_t *hub);
int fg_dist_hub_status(fg_dist_hub_t *hub, size_t i, fg_dist_agent_status_t *out);

/* The hub the "agents" NAT backend (fg_nat_agents_ops) commits through:
 * one per process, set before the grant engine opens the backend. */
void fg_dist_hub_bind(fg_dist_hub_t *hub);
extern const fg_nat_ops_t fg_nat_agents_ops;

#endif

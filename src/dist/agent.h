/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The agent's side of distributed mode: a TLS 1.3 listener (dist.listen)
 * for the controllers of its configuration, each authenticated by its PSK
 * or certificate (dist/tls.h). Commands are checked against the agent's
 * own reading of the configuration (fg_nat_grant_allowed over the data
 * plane built from it: pools, backends, scopes, lifetimes) before they go
 * to its NAT backend (with privilege separation, the [priv] process, which
 * checks them once more), and ACKed with the outcome.
 *
 * Per controller it keeps the epoch and the last sequence number applied:
 * a command is applied once and in order; a repeat (a replay after a
 * reconnect) is ACKed without being applied again. That state is kept in
 * memory: after the agent's own restart it knows no epoch, and the
 * controller reconciles by digest (dist/digest.h): it asks for the
 * digests of its share of the kernel's grants (SUMREQ), then for the
 * grants of the buckets that differ (KEYREQ), and sends as commands only
 * what differs. Both are answered from a dump of the kernel's grant maps,
 * of that controller's share (controller[].pool) alone.
 *
 * Threads: one accepting, one per connection (at most
 * FG_DIST_AGENT_MAX_CONNS; past it a connection is closed and counted).
 * Ownership: fg_dist_agent_new() copies the keys; free zeroizes them.
 */
#ifndef FG_DIST_AGENT_H
#define FG_DIST_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "conf/conf.h"
#include "dataplane/nat.h"
#include "dist/tls.h"

#define FG_DIST_AGENT_MAX_CONNS 8

typedef struct fg_dist_agent fg_dist_agent_t;

typedef struct fg_dist_agent_counters {
	uint64_t connections;         /* accepted TCP connections */
	uint64_t handshake_refused;   /* TLS handshakes that failed (wrong key, plaintext...) */
	uint64_t hello_refused;       /* bad HELLO, or its id not the authenticated one */
	uint64_t conn_limit;          /* closed: FG_DIST_AGENT_MAX_CONNS open */
	uint64_t commands;            /* commands applied */
	uint64_t duplicates;          /* repeats ACKed without applying */
	uint64_t refused;             /* commands refused by the checks */
	uint64_t failed;              /* commands the data plane refused */
	uint64_t bad_frames;          /* frames that did not parse (connection closed) */
	uint64_t tls_errors;          /* records that failed (replayed, reordered, altered) */
	uint64_t reconciles;          /* digest requests answered (SUMREQ) */
	uint64_t keys_sent;           /* grants sent in answer to KEYREQ */
} fg_dist_agent_counters_t;

/* keys[i] authenticates conf->controllers[i]. `ops` is the NAT backend to
 * apply through (its handles are opened per connection). Binds the
 * listener (call before dropping privileges). */
int fg_dist_agent_new(const fg_conf_t *conf, const fg_dist_key_t *keys, const fg_nat_ops_t *ops,
		      fg_dist_agent_t **out, char *err, size_t errlen);
/* Start the threads (after the privilege drop). */
int fg_dist_agent_start(fg_dist_agent_t *a);
void fg_dist_agent_free(fg_dist_agent_t *a);

/* The port dist.listen is bound to (tests bind port 0). */
uint16_t fg_dist_agent_port(const fg_dist_agent_t *a);

void fg_dist_agent_counters(fg_dist_agent_t *a, fg_dist_agent_counters_t *out);

typedef struct fg_dist_peer_status {
	char id[FG_DIST_ID_MAX + 1];
	bool connected;
	uint64_t epoch, last_seq;
	uint64_t commands;
} fg_dist_peer_status_t;

size_t fg_dist_agent_npeers(const fg_dist_agent_t *a);
int fg_dist_agent_peer(fg_dist_agent_t *a, size_t i, fg_dist_peer_status_t *out);

#endif

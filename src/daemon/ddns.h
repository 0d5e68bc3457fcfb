/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * External authoritative servers (service.external): the thread of the
 * [dns] process that runs the epoch scheduler (grant/epoch.h) against the
 * real world. Grants go through the grant engine (in production the
 * privsep channel to [priv], kernel ACK); UPDATEs and the SOA serial query
 * go to external.server over TCP, signed with the zone's TSIG key
 * (dns/tsig.h, hmac-sha256/512), and every response is checked: the
 * answer's TSIG must verify before its NOERROR is believed.
 *
 * Failures (grant refused, timeout, REFUSED, NOTAUTH with BADKEY/BADSIG/
 * BADTIME, any other rcode, a response that does not verify) are logged
 * once per epoch with the zone, the server and the precise reason, counted
 * by result (fluxgate_ddns_updates_total), and retried at the next epoch;
 * the published address stays granted meanwhile.
 *
 * Threading: one thread, started after the privilege drop. A reload stops
 * it (waiting for the epoch in progress), swaps the snapshot and starts a
 * new one that adopts the published state (fg_ddns_start's prev).
 *
 * Ownership: fg_ddns_start() copies what it needs from the config (keys
 * included, zeroized on free) and borrows `eng`, which must outlive
 * fg_ddns_stop(). fg_ddns_free() releases a stopped handle.
 */
#ifndef FG_DAEMON_DDNS_H
#define FG_DAEMON_DDNS_H

#include "conf/conf.h"
#include "daemon/eventlog.h"
#include "daemon/metrics.h"
#include "grant/engine.h"

typedef struct fg_ddns fg_ddns_t;

/* Start the thread for the external services of `conf` (granting through
 * `eng`), adopting the published state of `prev` (stopped; may be NULL).
 * A failed epoch is also an `error` event (where "ddns") in `ev` (may be
 * NULL; borrowed, must outlive the thread). *out is NULL when the config
 * has no external service. */
int fg_ddns_start(const fg_conf_t *conf, fg_grant_engine_t *eng, fg_evlog_t *ev,
		  const fg_ddns_t *prev, fg_ddns_t **out);

/* Stop the thread (after the epoch in progress); the handle keeps its
 * state for a successor. NULL is a no-op. */
void fg_ddns_stop(fg_ddns_t *d);
void fg_ddns_free(fg_ddns_t *d);

/* Fill the ddns part of a metrics snapshot. Any thread. */
void fg_ddns_collect(fg_ddns_t *d, fg_metrics_t *m);

/* One external zone as `fluxctl status` shows it: the server, the result
 * of its last epoch ("none" before the first), epochs published and
 * failed, the last serial read. Any thread; NULL d: no call. */
typedef void (*fg_ddns_zone_fn)(void *ctx, const char *zone, const char *server,
				const char *last, uint64_t published, uint64_t failed,
				bool has_serial, uint32_t serial);
void fg_ddns_zones(fg_ddns_t *d, fg_ddns_zone_fn fn, void *ctx);

#endif

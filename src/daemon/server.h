/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The DNS front of fluxgated: listening sockets and worker threads.
 *
 * One worker thread per core. Each worker owns its own SO_REUSEPORT UDP and
 * TCP sockets for every listen address (the kernel spreads queries over
 * them), reads UDP queries in batches with recvmmsg, answers the batch and
 * writes it with sendmmsg. Between "parsed" and "sent" a batch passes the
 * grant step (grant before answer): every answer that carries a pool address
 * is held until the NAT backend acknowledged its grant. Before it, UDP
 * answers pass DNS cookies and response rate limiting (daemon/floods.h): a
 * limited answer is dropped or truncated and never reaches the grant step.
 *
 * Configuration and zone data live in an immutable snapshot. A reload builds
 * a new snapshot and swaps the pointer; the old one is freed once every
 * worker has passed a batch boundary (quiescent-state reclamation), so
 * workers never lock on the query path.
 *
 * Ownership: fg_server_start() takes ownership of the snapshot it is given;
 * fg_server_swap() takes the new one and frees the old; fg_server_stop()
 * joins the workers, closes the sockets and frees the last snapshot.
 */
#ifndef FG_DAEMON_SERVER_H
#define FG_DAEMON_SERVER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "conf/conf.h"
#include "daemon/dot.h"
#include "daemon/eventlog.h"
#include "daemon/metrics.h"
#include "dns/zone.h"
#include "grant/engine.h"

struct fg_grant_engine;

typedef struct fg_snapshot {
	fg_conf_t *conf;
	fg_zonedb_t *db;
	struct fg_grant_engine *grants;   /* NULL when no service is configured */
} fg_snapshot_t;

/* Per-worker counters, written by one worker only, read by anyone. */
typedef struct fg_worker_stats {
	_Atomic uint64_t queries_udp, queries_tcp;
	_Atomic uint64_t rcode[24];        /* responses by rcode (BADVERS=16) */
	_Atomic uint64_t dropped;          /* queries not answered at all */
	_Atomic uint64_t truncated;        /* UDP answers sent with TC */
	_Atomic uint64_t service_answers;  /* answers carrying a granted address */
	_Atomic uint64_t grant_failures;   /* SERVFAIL because a grant failed */
	_Atomic uint64_t grant_noaddr[FG_NOADDR_COUNT]; /* the same, by cause */
	_Atomic uint64_t grant_pipelined;  /* batches begun while another was in flight */
	_Atomic uint64_t tcp_accepted, tcp_rejected, tcp_idle_closed;
	_Atomic uint64_t tcp_source_rejected; /* over tcp-max-per-source */
	_Atomic uint64_t tcp_evicted;         /* idle, closed for a new client */
	_Atomic uint64_t tcp_query_timeouts;  /* query not done by tcp-query-timeout */
	_Atomic uint64_t send_errors;
	_Atomic uint64_t qtype[FG_MQ_COUNT];  /* queries by type */
	/* floods (daemon/floods.h): limited answers, COOKIE options */
	_Atomic uint64_t rrl_dropped, rrl_slipped;
	_Atomic uint64_t budget_truncated;    /* TC=1: unverified budget full */
	_Atomic uint64_t cookie_valid, cookie_bad, cookie_malformed;
	/* TSIG (daemon/tsigq.h): by enum fg_tsigq_result; private services
	 * answered without the address, by enum fg_unauth */
	_Atomic uint64_t tsig[6], private_denied[2];
	fg_hist_t grant_latency;           /* grant step: begin to outcome */
	fg_dot_stats_t dot;                /* DNS over TLS */
} fg_worker_stats_t;

typedef struct fg_server fg_server_t;

/* Bind every listen socket of `snap->conf` and prepare the workers without
 * starting them (privileges can be dropped in between). */
int fg_server_bind(fg_snapshot_t *snap, fg_server_t **out);

/* Start the worker threads of a bound server. */
int fg_server_run(fg_server_t *srv);

/* Install a new snapshot (reload). Listen addresses, worker count and
 * tcp-max-clients of the new config are ignored (they need a restart); a
 * warning says so. The other server.tcp-* limits and tls-idle-timeout
 * apply at once; the other server.tls-* keys need a restart. */
void fg_server_swap(fg_server_t *srv, fg_snapshot_t *snap);

/* Current snapshot (valid until the next swap by the caller's thread). */
const fg_snapshot_t *fg_server_snapshot(const fg_server_t *srv);

unsigned fg_server_nworkers(const fg_server_t *srv);
const fg_worker_stats_t *fg_server_worker_stats(const fg_server_t *srv, unsigned i);

/* Grants held by unverified askers, and their budget (0: none). */
uint64_t fg_server_unverified_live(const fg_server_t *srv, uint64_t *limit);

/* Event log for dns/grant events (NULL: none). Set before fg_server_run. */
void fg_server_set_evlog(fg_server_t *srv, fg_evlog_t *ev);

void fg_server_stop(fg_server_t *srv);

/* Free a snapshot and everything it owns. */
void fg_snapshot_free(fg_snapshot_t *snap);

#endif

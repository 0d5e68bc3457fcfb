/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Prometheus metrics for fluxgated: a snapshot struct (fg_metrics_t), a pure
 * renderer to the text exposition format (version 0.0.4), a lock-free
 * latency histogram for the worker threads, and an HTTP endpoint
 * (libmicrohttpd) serving GET /metrics.
 *
 * Names follow the Prometheus conventions: prefix fluxgate_, counters end in
 * _total, durations in seconds, labels for rcode, qtype, proto, scope,
 * service and pool.
 *
 * Threading. The HTTP server runs its own thread, but the daemon's state
 * (the config snapshot, the grant engine) is the main thread's: a snapshot
 * may be freed by a reload at any time on that thread. So a scrape does not
 * collect on the HTTP thread; it asks the main thread through an eventfd
 * (fg_metrics_fd()), the main loop calls fg_metrics_dispatch(), which runs
 * the collect callback and renders there, and hands the text back. A scrape
 * that gets no answer within FG_METRICS_TIMEOUT_MS (main loop stuck) is
 * answered 503.
 *
 * Start the endpoint after the process dropped its privileges: its thread
 * gets the seccomp filter and capability sets of its creator at creation
 * only (so the port must then be one an unprivileged process may bind).
 *
 * fg_hist_observe() may be called from any thread (relaxed atomic adds).
 *
 * Ownership: fg_metrics_start() returns a handle owned by the caller;
 * fg_metrics_stop() stops the HTTP thread and frees it. fg_metrics_render()
 * returns a malloc'd buffer the caller frees.
 */
#ifndef FG_DAEMON_METRICS_H
#define FG_DAEMON_METRICS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "grant/engine.h"

/* ---- latency histogram --------------------------------------------------- */

/* Bucket upper bounds in seconds: 50 us .. 1 s, roughly 1-2.5-5 per decade.
 * A grant is one netlink transaction, normally well under a millisecond;
 * the top buckets catch a congested kernel. */
#define FG_HIST_NBOUNDS 14
extern const double fg_hist_bounds[FG_HIST_NBOUNDS];

/* Counts per bucket (not cumulative; the last one is +Inf) and the sum in
 * nanoseconds, so observing is integer atomics only. Zero-initialise. */
typedef struct fg_hist {
	_Atomic uint64_t bucket[FG_HIST_NBOUNDS + 1];
	_Atomic uint64_t sum_ns;
} fg_hist_t;

/* A plain copy for the snapshot: cumulative counts as rendered. */
typedef struct fg_hist_snap {
	uint64_t cumulative[FG_HIST_NBOUNDS + 1];   /* [NBOUNDS] = +Inf = count */
	uint64_t sum_ns;
} fg_hist_snap_t;

void fg_hist_observe(fg_hist_t *h, double seconds);
void fg_hist_observe_ns(fg_hist_t *h, uint64_t ns);
/* Add `h` into `acc` (call once per worker's histogram to merge them). */
void fg_hist_snapshot_add(fg_hist_snap_t *acc, const fg_hist_t *h);

/* ---- the snapshot ------------------------------------------------------- */

#define FG_METRICS_ID_MAX 65          /* config IDs are 1..64 characters */
#define FG_METRICS_MAX_POOLS 64
#define FG_METRICS_MAX_SERVICES 64

/* Query types counted separately; everything else is "other". */
enum fg_metrics_qtype {
	FG_MQ_A = 0, FG_MQ_AAAA, FG_MQ_NS, FG_MQ_SOA, FG_MQ_CNAME, FG_MQ_MX,
	FG_MQ_TXT, FG_MQ_PTR, FG_MQ_SRV, FG_MQ_HTTPS, FG_MQ_ANY, FG_MQ_OTHER,
	FG_MQ_COUNT
};
/* Index into queries_by_qtype for a DNS QTYPE. Pure. */
unsigned fg_metrics_qtype_index(uint16_t qtype);

typedef struct fg_metrics_pool {
	char id[FG_METRICS_ID_MAX];
	int family;                    /* AF_INET / AF_INET6 */
	uint64_t size;                 /* usable addresses (saturated) */
	uint64_t open;                 /* open to anyone now */
	double open_max;               /* cap on open/size: the smallest
					  max-open-fraction of the services
					  using the pool (0: no service) */
} fg_metrics_pool_t;

typedef struct fg_metrics_service {
	char id[FG_METRICS_ID_MAX];
	uint64_t grants[3];            /* by enum fg_scope: client, net, any */
	uint64_t answers;              /* answers carrying a granted address */
	uint64_t grant_failures;       /* queries answered SERVFAIL: grant failed */
} fg_metrics_service_t;

#define FG_METRICS_MAX_AGENTS 16

/* Distributed mode, controller: one agent's link. */
typedef struct fg_metrics_agent {
	char id[FG_METRICS_ID_MAX];
	bool up;                       /* connected and ACKing */
	uint64_t lag;                  /* commands not yet ACKed */
	uint64_t timeouts, refused, connects, handshake_failures, replayed, pair_queued;
	/* reconciliation (dist/hub.h) */
	uint64_t recon_runs, recon_buckets, recon_differing, recon_sent, recon_revoked;
	uint64_t recon_adopted, generation, view_grants;
	fg_hist_snap_t ack_latency;    /* command sent to its ACK */
} fg_metrics_agent_t;

/* An external zone (service.external) the daemon updates over RFC 2136:
 * epochs by result (enum fg_epoch_result of grant/epoch.h, named by
 * fg_epoch_result_name()), the last SOA serial read. */
#define FG_METRICS_MAX_DDNS_ZONES 64
#define FG_METRICS_DDNS_RESULTS 11
typedef struct fg_metrics_ddns_zone {
	char zone[256];
	uint64_t results[FG_METRICS_DDNS_RESULTS];
	bool has_serial;
	uint32_t serial;
	uint64_t serial_stuck;         /* published updates that left the serial */
} fg_metrics_ddns_zone_t;

typedef struct fg_metrics_ddns_service {
	char id[FG_METRICS_ID_MAX];
	uint64_t rotations;            /* addresses published for it */
} fg_metrics_ddns_service_t;

/* Everything the endpoint shows. The collect callback fills what it knows;
 * the renderer writes every field (zero when left so), except the groups
 * behind a has_* flag, which are left out unless set (a missing series is
 * better than a false zero). */
typedef struct fg_metrics {
	struct {
		const char *version;   /* e.g. "0.1.0" */
		const char *commit;    /* git revision, "" when unknown */
	} build;
	double start_time;             /* process start, seconds since the epoch */

	/* DNS front */
	uint64_t queries_udp, queries_tcp;
	uint64_t queries_by_qtype[FG_MQ_COUNT];
	uint64_t responses_by_rcode[24];   /* rcode 0..23 (BADVERS=16) */
	uint64_t dropped;                  /* queries not answered */
	uint64_t truncated;                /* UDP answers with TC */
	uint64_t send_errors;
	uint64_t tcp_accepted, tcp_rejected, tcp_idle_closed;
	uint64_t tcp_source_rejected, tcp_evicted, tcp_query_timeouts;
	uint64_t rrl_dropped, rrl_slipped;  /* answers held back by rate limiting */
	uint64_t budget_truncated;          /* TC=1: unverified-grant budget full */
	uint64_t unverified_live, unverified_limit;  /* grants of unverified askers */
	uint64_t cookie_valid, cookie_bad, cookie_malformed;  /* COOKIE options seen */
	uint64_t tsig[6];             /* TSIG queries by enum fg_tsigq_result */
	uint64_t private_denied[2];   /* private services: nxdomain, decoy */
	/* DNSSEC signing (dns/dnssec/signer.h), all signed zones: RRSIGs
	 * computed; static and single-address (granted) RRsets' signatures
	 * by [0] reused from a cache, [1] signed */
	uint64_t dnssec_signatures, dnssec_static[2], dnssec_addr[2];
	/* DNS over TLS (daemon/dot.h) */
	uint64_t dot_accepted, dot_rejected, dot_source_rejected;
	uint64_t dot_handshake_failed, dot_resumed, dot_queries;
	uint64_t dot_tls_errors, dot_dns_errors, dot_idle_closed, dot_timeouts;

	/* grants */
	fg_metrics_service_t services[FG_METRICS_MAX_SERVICES];
	size_t nservices;
	uint64_t grant_commit_failures;    /* NAT transactions that failed */
	uint64_t grant_forced_reuse;       /* open cap reached: address reused */
	uint64_t grant_commit_servfail;    /* requests SERVFAIL: their commit was refused */
	uint64_t grant_anyone_source_reuse;/* policy.anyone-per-source reached */
	uint64_t grant_exact_quota_reuse;  /* policy.exact-per-source reached */
	uint64_t ecs_ignored;              /* ECS wider than policy.ecs-min-prefix */
	fg_hist_snap_t grant_latency;      /* grant begun to its outcome, wall time */
	uint64_t grant_noaddr[FG_NOADDR_COUNT]; /* service answers without an address, by cause */
	uint64_t grant_pipelined;          /* batches begun while another was in flight */

	/* external zones (daemon/ddns.h) */
	fg_metrics_ddns_zone_t ddns_zones[FG_METRICS_MAX_DDNS_ZONES];
	size_t nddns_zones;
	fg_metrics_ddns_service_t ddns_services[FG_METRICS_MAX_SERVICES];
	size_t nddns_services;

	/* pools */
	fg_metrics_pool_t pools[FG_METRICS_MAX_POOLS];
	size_t npools;

	/* data plane state (gauges, left out unless has_dataplane) */
	bool has_dataplane;
	uint64_t pinned;                   /* elements of the pin sets */
	uint64_t granted[3];               /* live grants by scope */
	uint64_t quarantined;              /* quarantined sources */

	/* decoys and netlink */
	uint64_t decoy_hits;               /* packets logged to the decoys (rate-limited) */
	uint64_t quarantines, releases;    /* control actions */
	uint64_t netlink_errors;           /* NFLOG overruns, failed netlink requests */
	uint64_t decoy_malformed;          /* NFLOG records that did not parse */

	/* conntrack (left out unless has_conntrack) */
	bool has_conntrack;
	uint64_t conntrack_entries, conntrack_max;

	/* the daemon */
	uint64_t events_written, events_dropped, event_write_errors;
	uint64_t control_errors;
	uint64_t control_refused, control_timeouts;
	uint64_t privsep_refused;          /* requests the privileged process refused */
	uint64_t reloads_ok, reloads_failed;
	/* distributed mode: a controller's agents, an agent's listener */
	fg_metrics_agent_t agents[FG_METRICS_MAX_AGENTS];
	size_t nagents;
	uint64_t dist_connections, dist_handshake_refused, dist_hello_refused;
	uint64_t dist_commands, dist_duplicates, dist_refused, dist_failed;
	uint64_t dist_bad_frames, dist_tls_errors, dist_conn_limit;
	uint64_t dist_reconciles, dist_keys_sent;
	/* filled by the endpoint itself (fg_metrics_dispatch), not collect */
	uint64_t metrics_scrapes, metrics_timeouts;
} fg_metrics_t;

/* Render `m` as Prometheus text. Pure (allocates, no I/O). Returns 0 and a
 * NUL-terminated malloc'd buffer in *out (length in *len), or -ENOMEM. */
int fg_metrics_render(const fg_metrics_t *m, char **out, size_t *len);

/* Read /proc/sys/net/netfilter/nf_conntrack_{count,max} (of the caller's
 * network namespace). Returns 0, or -errno (module not loaded: -ENOENT). */
int fg_metrics_read_conntrack(uint64_t *count, uint64_t *max);

/* ---- the HTTP endpoint -------------------------------------------------- */

#define FG_METRICS_TIMEOUT_MS 3000

/* Fills `m` (zeroed before the call). Runs on the thread that calls
 * fg_metrics_dispatch(). Strings in `m` must stay valid until it returns. */
typedef void (*fg_metrics_collect_fn)(void *ctx, fg_metrics_t *m);

typedef struct fg_metrics_srv fg_metrics_srv_t;

/* Listen on `addr` (IPv4 or IPv6 with port) and start the HTTP thread,
 * which blocks every signal. */
int fg_metrics_start(const struct sockaddr *addr, socklen_t addrlen,
		     fg_metrics_collect_fn collect, void *ctx, fg_metrics_srv_t **out);

/* The port actually bound (useful with port 0 in tests). */
uint16_t fg_metrics_port(const fg_metrics_srv_t *srv);

/* Readable when a scrape waits for fresh figures: add it to the main loop's
 * epoll set (EPOLLIN) and call fg_metrics_dispatch() when it fires. */
int fg_metrics_fd(const fg_metrics_srv_t *srv);
void fg_metrics_dispatch(fg_metrics_srv_t *srv);

void fg_metrics_stop(fg_metrics_srv_t *srv);

#endif

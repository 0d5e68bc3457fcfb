/* SPDX-License-Identifier: GPL-3.0-or-later */
/* Prometheus metrics: histogram, renderer, HTTP endpoint (see metrics.h). */
#include "daemon/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <microhttpd.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/tsigq.h"

/* ---- histogram ------------------------------------------------------------- */

const double fg_hist_bounds[FG_HIST_NBOUNDS] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
};

/* The same bounds in nanoseconds, so the hot path compares integers. */
static const uint64_t bounds_ns[FG_HIST_NBOUNDS] = {
	50000, 100000, 250000, 500000, 1000000, 2500000, 5000000,
	10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};

void fg_hist_observe_ns(fg_hist_t *h, uint64_t ns)
{
	unsigned i = 0;
	while (i < FG_HIST_NBOUNDS && ns > bounds_ns[i])
		i++;
	atomic_fetch_add_explicit(&h->bucket[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

void fg_hist_observe(fg_hist_t *h, double seconds)
{
	if (!(seconds > 0))          /* also NaN */
		seconds = 0;
	if (seconds > 1e9)
		seconds = 1e9;
	fg_hist_observe_ns(h, (uint64_t)(seconds * 1e9 + 0.5));
}

void fg_hist_snapshot_add(fg_hist_snap_t *acc, const fg_hist_t *h)
{
	uint64_t run = 0;
	for (unsigned i = 0; i <= FG_HIST_NBOUNDS; i++) {
		run += atomic_load_explicit(&h->bucket[i], memory_order_relaxed);
		acc->cumulative[i] += run;
	}
	acc->sum_ns += atomic_load_explicit(&h->sum_ns, memory_order_relaxed);
}

unsigned fg_metrics_qtype_index(uint16_t qtype)
{
	switch (qtype) {
	case 1: return FG_MQ_A;
	case 28: return FG_MQ_AAAA;
	case 2: return FG_MQ_NS;
	case 6: return FG_MQ_SOA;
	case 5: return FG_MQ_CNAME;
	case 15: return FG_MQ_MX;
	case 16: return FG_MQ_TXT;
	case 12: return FG_MQ_PTR;
	case 33: return FG_MQ_SRV;
	case 65: return FG_MQ_HTTPS;
	case 255: return FG_MQ_ANY;
	default: return FG_MQ_OTHER;
	}
}

/* ---- renderer ------------------------------------------------------------ */

typedef struct mbuf {
	char *p;
	size_t len, cap;
	bool err;
} mbuf_t;

__attribute__((format(printf, 2, 3)))
static void mb_printf(mbuf_t *b, const char *fmt, ...)
{
	if (b->err)
		return;
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		if (n < 0) {
			b->err = true;
			return;
		}
		if ((size_t)n < b->cap - b->len) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap * 2;
		while (ncap - b->len <= (size_t)n)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (!np) {
			b->err = true;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* Label values per the exposition format: escape \, " and newline. */
static void mb_label(mbuf_t *b, const char *v)
{
	for (const char *s = v ? v : ""; *s; s++) {
		if (*s == '\\')
			mb_printf(b, "\\\\");
		else if (*s == '"')
			mb_printf(b, "\\\"");
		else if (*s == '\n')
			mb_printf(b, "\\n");
		else
			mb_printf(b, "%c", *s);
	}
}

static void family_hdr(mbuf_t *b, const char *name, const char *type, const char *help)
{
	mb_printf(b, "# HELP fluxgate_%s %s\n# TYPE fluxgate_%s %s\n", name, help, name, type);
}

static void sample_u64(mbuf_t *b, const char *name, uint64_t v)
{
	mb_printf(b, "fluxgate_%s %" PRIu64 "\n", name, v);
}

static void one_u64(mbuf_t *b, const char *name, const char *type, const char *help,
		    uint64_t v)
{
	family_hdr(b, name, type, help);
	sample_u64(b, name, v);
}

/* name{key="val"} v */
static void sample_l1(mbuf_t *b, const char *name, const char *key, const char *val,
		      uint64_t v)
{
	mb_printf(b, "fluxgate_%s{%s=\"", name, key);
	mb_label(b, val);
	mb_printf(b, "\"} %" PRIu64 "\n", v);
}

static const char *const scope_names[3] = { "client", "net", "any" };

static const char *const qtype_labels[FG_MQ_COUNT] = {
	[FG_MQ_A] = "A", [FG_MQ_AAAA] = "AAAA", [FG_MQ_NS] = "NS", [FG_MQ_SOA] = "SOA",
	[FG_MQ_CNAME] = "CNAME", [FG_MQ_MX] = "MX", [FG_MQ_TXT] = "TXT",
	[FG_MQ_PTR] = "PTR", [FG_MQ_SRV] = "SRV", [FG_MQ_HTTPS] = "HTTPS",
	[FG_MQ_ANY] = "ANY", [FG_MQ_OTHER] = "other",
};

static const char *const rcode_labels[24] = {
	"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
	"YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
	"RCODE12", "RCODE13", "RCODE14", "RCODE15",
	"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG",
	"BADTRUNC", "BADCOOKIE",
};

static bool rcode_always(unsigned rc)
{
	/* the ones fluxgated answers with: shown even at zero so that rate()
	 * works from the first increment */
	return rc <= 5 || rc == 16;
}

static const char *family_label(int family)
{
	return family == AF_INET ? "ipv4" : family == AF_INET6 ? "ipv6" : "unknown";
}

static void render_dns(mbuf_t *b, const fg_metrics_t *m)
{
	family_hdr(b, "dns_queries_total", "counter", "DNS queries received, by transport.");
	sample_l1(b, "dns_queries_total", "proto", "udp", m->queries_udp);
	sample_l1(b, "dns_queries_total", "proto", "tcp", m->queries_tcp);

	family_hdr(b, "dns_query_types_total", "counter", "DNS queries received, by query type.");
	for (unsigned i = 0; i < FG_MQ_COUNT; i++)
		sample_l1(b, "dns_query_types_total", "qtype", qtype_labels[i],
			  m->queries_by_qtype[i]);

	family_hdr(b, "dns_responses_total", "counter", "DNS responses sent, by response code.");
	for (unsigned rc = 0; rc < 24; rc++)
		if (rcode_always(rc) || m->responses_by_rcode[rc])
			sample_l1(b, "dns_responses_total", "rcode", rcode_labels[rc],
				  m->responses_by_rcode[rc]);

	one_u64(b, "dns_dropped_total", "counter",
		"DNS queries dropped without an answer (malformed, over limits).", m->dropped);
	one_u64(b, "dns_truncated_total", "counter",
		"UDP answers sent truncated (TC bit set).", m->truncated);
	one_u64(b, "dns_send_errors_total", "counter",
		"DNS answers the kernel refused to send.", m->send_errors);
	family_hdr(b, "dns_tcp_connections_total", "counter",
		   "DNS-over-TCP connections, accepted or rejected at the client or per-source limit.");
	sample_l1(b, "dns_tcp_connections_total", "result", "accepted", m->tcp_accepted);
	sample_l1(b, "dns_tcp_connections_total", "result", "rejected", m->tcp_rejected);
	sample_l1(b, "dns_tcp_connections_total", "result", "source_limit",
		  m->tcp_source_rejected);
	one_u64(b, "dns_tcp_idle_closed_total", "counter",
		"DNS-over-TCP connections closed for idling.", m->tcp_idle_closed);
	one_u64(b, "dns_tcp_evicted_total", "counter",
		"Idle DNS-over-TCP connections closed to make room for a new client.",
		m->tcp_evicted);
	one_u64(b, "dns_tcp_query_timeouts_total", "counter",
		"DNS-over-TCP connections closed because a query was not complete in time.",
		m->tcp_query_timeouts);
	family_hdr(b, "dns_rrl_limited_total", "counter",
		   "UDP answers over the rate limit: dropped, or slipped (sent TC=1 without records).");
	sample_l1(b, "dns_rrl_limited_total", "action", "dropped", m->rrl_dropped);
	sample_l1(b, "dns_rrl_limited_total", "action", "slipped", m->rrl_slipped);
	one_u64(b, "dns_unverified_truncated_total", "counter",
		"UDP service answers sent TC=1 without a grant: the grants of unverified askers (no valid server cookie, no TSIG) had reached policy.unverified-share.",
		m->budget_truncated);
	one_u64(b, "grant_unverified_live", "gauge",
		"Live grants made to unverified askers, as the budget counts them (a renewal moves its element's count; never fewer than live).",
		m->unverified_live);
	one_u64(b, "grant_unverified_limit", "gauge",
		"The budget of grants to unverified askers: policy.unverified-share of nat.grant-set-size (0: none).",
		m->unverified_limit);
	family_hdr(b, "dns_cookies_total", "counter",
		   "UDP queries with a COOKIE option: valid server cookie, bad or stale server cookie, malformed option (FORMERR).");
	sample_l1(b, "dns_cookies_total", "result", "valid", m->cookie_valid);
	sample_l1(b, "dns_cookies_total", "result", "bad", m->cookie_bad);
	sample_l1(b, "dns_cookies_total", "result", "malformed", m->cookie_malformed);
	one_u64(b, "dnssec_signatures_total", "counter",
		"RRSIGs computed (a private-key operation each), all signed zones.",
		m->dnssec_signatures);
	family_hdr(b, "dnssec_static_rrsig_total", "counter",
		   "RRSIGs of static RRsets put in DO=1 answers: reused from the signature cache, or signed.");
	sample_l1(b, "dnssec_static_rrsig_total", "result", "cached", m->dnssec_static[0]);
	sample_l1(b, "dnssec_static_rrsig_total", "result", "signed", m->dnssec_static[1]);
	family_hdr(b, "dnssec_address_rrsig_total", "counter",
		   "RRSIGs of single-address RRsets (granted A/AAAA answers) put in DO=1 answers: reused from the content cache, or signed.");
	sample_l1(b, "dnssec_address_rrsig_total", "result", "cached", m->dnssec_addr[0]);
	sample_l1(b, "dnssec_address_rrsig_total", "result", "signed", m->dnssec_addr[1]);
	family_hdr(b, "tsig_queries_total", "counter",
		   "Queries with a TSIG: verified, or refused (NOTAUTH) with the TSIG error, or malformed (FORMERR).");
	for (int k = 0; k < FG_TSIGQ_NRESULTS; k++)
		sample_l1(b, "tsig_queries_total", "result", fg_tsigq_result_names[k], m->tsig[k]);
	family_hdr(b, "tsig_private_denied_total", "counter",
		   "Queries for a private service without a client or resolver key, by what they were answered.");
	sample_l1(b, "tsig_private_denied_total", "answer", "nxdomain", m->private_denied[0]);
	sample_l1(b, "tsig_private_denied_total", "answer", "decoy", m->private_denied[1]);
}

static void render_dot(mbuf_t *b, const fg_metrics_t *m)
{
	one_u64(b, "dot_queries_total", "counter", "DNS-over-TLS queries received.",
		m->dot_queries);
	family_hdr(b, "dot_connections_total", "counter",
		   "DNS-over-TLS connections, accepted or refused at tls-max-clients or tcp-max-per-source.");
	sample_l1(b, "dot_connections_total", "result", "accepted", m->dot_accepted);
	sample_l1(b, "dot_connections_total", "result", "rejected", m->dot_rejected);
	sample_l1(b, "dot_connections_total", "result", "source_limit", m->dot_source_rejected);
	one_u64(b, "dot_handshake_failures_total", "counter",
		"DNS-over-TLS connections closed because the TLS handshake failed.",
		m->dot_handshake_failed);
	one_u64(b, "dot_resumed_total", "counter",
		"DNS-over-TLS handshakes that resumed a session (ticket or session ID).",
		m->dot_resumed);
	family_hdr(b, "dot_errors_total", "counter",
		   "DNS-over-TLS connections closed after the handshake: bad or truncated TLS record, DNS message not answerable.");
	sample_l1(b, "dot_errors_total", "kind", "tls", m->dot_tls_errors);
	sample_l1(b, "dot_errors_total", "kind", "dns", m->dot_dns_errors);
	one_u64(b, "dot_idle_closed_total", "counter",
		"DNS-over-TLS connections closed after tls-idle-timeout without a query.",
		m->dot_idle_closed);
	one_u64(b, "dot_timeouts_total", "counter",
		"DNS-over-TLS connections closed because a handshake or a query was not done within tcp-query-timeout.",
		m->dot_timeouts);
}

static void render_grants(mbuf_t *b, const fg_metrics_t *m)
{
	size_t ns = m->nservices < FG_METRICS_MAX_SERVICES ? m->nservices : FG_METRICS_MAX_SERVICES;

	family_hdr(b, "grants_total", "counter",
		   "Grants committed to the data plane, by service and scope.");
	for (size_t i = 0; i < ns; i++)
		for (unsigned s = 0; s < 3; s++) {
			mb_printf(b, "fluxgate_grants_total{service=\"");
			mb_label(b, m->services[i].id);
			mb_printf(b, "\",scope=\"%s\"} %" PRIu64 "\n", scope_names[s],
				  m->services[i].grants[s]);
		}
	family_hdr(b, "service_answers_total", "counter",
		   "DNS answers that carried a granted pool address, by service.");
	for (size_t i = 0; i < ns; i++)
		sample_l1(b, "service_answers_total", "service", m->services[i].id,
			  m->services[i].answers);
	family_hdr(b, "grant_failures_total", "counter",
		   "Service queries answered SERVFAIL because the grant failed, by service.");
	for (size_t i = 0; i < ns; i++)
		sample_l1(b, "grant_failures_total", "service", m->services[i].id,
			  m->services[i].grant_failures);

	one_u64(b, "grant_commit_failures_total", "counter",
		"Grant transactions the data plane did not acknowledge.",
		m->grant_commit_failures);
	one_u64(b, "grant_forced_reuse_total", "counter",
		"Answers that reused an address already open to anyone (open cap reached).",
		m->grant_forced_reuse);
	one_u64(b, "grant_commit_servfail_total", "counter",
		"Service queries answered SERVFAIL because their grant transaction was refused.",
		m->grant_commit_servfail);
	family_hdr(b, "grant_source_bound_total", "counter",
		   "Answers that handed a source an address it already holds, at a per-source bound.");
	sample_l1(b, "grant_source_bound_total", "bound", "anyone", m->grant_anyone_source_reuse);
	sample_l1(b, "grant_source_bound_total", "bound", "exact", m->grant_exact_quota_reuse);
	family_hdr(b, "grant_noaddr_total", "counter",
		   "Service answers sent without an address (SERVFAIL), by cause.");
	for (unsigned c = 0; c < FG_NOADDR_COUNT; c++)
		sample_l1(b, "grant_noaddr_total", "cause", fg_grant_noaddr_name(c), m->grant_noaddr[c]);
	one_u64(b, "grant_pipelined_total", "counter",
		"Answer batches whose grant transaction began while an earlier one was in flight.",
		m->grant_pipelined);
	one_u64(b, "dns_ecs_ignored_total", "counter",
		"ECS options with a source prefix shorter than policy.ecs-min-prefix, treated as no ECS.",
		m->ecs_ignored);

	family_hdr(b, "grant_duration_seconds", "histogram",
		   "Time from a batch's grant request to the data plane's acknowledgement.");
	for (unsigned i = 0; i < FG_HIST_NBOUNDS; i++)
		mb_printf(b, "fluxgate_grant_duration_seconds_bucket{le=\"%g\"} %" PRIu64 "\n",
			  fg_hist_bounds[i], m->grant_latency.cumulative[i]);
	mb_printf(b, "fluxgate_grant_duration_seconds_bucket{le=\"+Inf\"} %" PRIu64 "\n",
		  m->grant_latency.cumulative[FG_HIST_NBOUNDS]);
	mb_printf(b, "fluxgate_grant_duration_seconds_sum %.9f\n",
		  (double)m->grant_latency.sum_ns / 1e9);
	mb_printf(b, "fluxgate_grant_duration_seconds_count %" PRIu64 "\n",
		  m->grant_latency.cumulative[FG_HIST_NBOUNDS]);
}

static void render_ddns(mbuf_t *b, const fg_metrics_t *m)
{
	static const char *const results[FG_METRICS_DDNS_RESULTS] = {
		"ok", "grant-failed", "timeout", "network", "malformed", "refused",
		"notauth", "badkey", "badsig", "badtime", "rcode",
	};
	size_t nz = m->nddns_zones < FG_METRICS_MAX_DDNS_ZONES ? m->nddns_zones
							   : FG_METRICS_MAX_DDNS_ZONES;
	size_t ns = m->nddns_services < FG_METRICS_MAX_SERVICES ? m->nddns_services
								: FG_METRICS_MAX_SERVICES;

	family_hdr(b, "ddns_updates_total", "counter",
		   "Epochs of an external zone (RFC 2136 UPDATE), by result: ok, or why nothing was published.");
	for (size_t i = 0; i < nz; i++)
		for (unsigned r = 0; r < FG_METRICS_DDNS_RESULTS; r++) {
			mb_printf(b, "fluxgate_ddns_updates_total{zone=\"");
			mb_label(b, m->ddns_zones[i].zone);
			mb_printf(b, "\",result=\"%s\"} %" PRIu64 "\n", results[r],
				  m->ddns_zones[i].results[r]);
		}
	family_hdr(b, "ddns_serial", "gauge",
		   "SOA serial of an external zone read after the last published update.");
	for (size_t i = 0; i < nz; i++)
		if (m->ddns_zones[i].has_serial)
			sample_l1(b, "ddns_serial", "zone", m->ddns_zones[i].zone,
				  m->ddns_zones[i].serial);
	family_hdr(b, "ddns_serial_stuck_total", "counter",
		   "Published updates after which the external zone's SOA serial had not moved on.");
	for (size_t i = 0; i < nz; i++)
		sample_l1(b, "ddns_serial_stuck_total", "zone", m->ddns_zones[i].zone,
			  m->ddns_zones[i].serial_stuck);
	family_hdr(b, "ddns_rotations_total", "counter",
		   "Addresses published for an external service (one per family and epoch).");
	for (size_t i = 0; i < ns; i++)
		sample_l1(b, "ddns_rotations_total", "service", m->ddns_services[i].id,
			  m->ddns_services[i].rotations);
}

static void pool_labels(mbuf_t *b, const char *name, const fg_metrics_pool_t *p)
{
	mb_printf(b, "fluxgate_%s{pool=\"", name);
	mb_label(b, p->id);
	mb_printf(b, "\",family=\"%s\"} ", family_label(p->family));
}

static void render_pools(mbuf_t *b, const fg_metrics_t *m)
{
	size_t np = m->npools < FG_METRICS_MAX_POOLS ? m->npools : FG_METRICS_MAX_POOLS;

	family_hdr(b, "pool_addresses", "gauge", "Usable addresses in the pool.");
	for (size_t i = 0; i < np; i++) {
		pool_labels(b, "pool_addresses", &m->pools[i]);
		mb_printf(b, "%" PRIu64 "\n", m->pools[i].size);
	}
	family_hdr(b, "pool_open_addresses", "gauge",
		   "Pool addresses currently open to anyone (grants of scope any).");
	for (size_t i = 0; i < np; i++) {
		pool_labels(b, "pool_open_addresses", &m->pools[i]);
		mb_printf(b, "%" PRIu64 "\n", m->pools[i].open);
	}
	family_hdr(b, "pool_open_ratio", "gauge",
		   "Fraction of the pool open to anyone (the aliasing exposure).");
	for (size_t i = 0; i < np; i++) {
		pool_labels(b, "pool_open_ratio", &m->pools[i]);
		double r = m->pools[i].size ? (double)m->pools[i].open / (double)m->pools[i].size : 0;
		mb_printf(b, "%.9g\n", r);
	}
	family_hdr(b, "pool_open_max_ratio", "gauge",
		   "Cap on pool_open_ratio: the smallest max-open-fraction of the services using the pool.");
	for (size_t i = 0; i < np; i++) {
		pool_labels(b, "pool_open_max_ratio", &m->pools[i]);
		mb_printf(b, "%.9g\n", m->pools[i].open_max);
	}
}

static void render_dataplane(mbuf_t *b, const fg_metrics_t *m)
{
	if (m->has_dataplane) {
		one_u64(b, "pinned_flows", "gauge",
			"Client/address pairs pinned open by use.", m->pinned);
		family_hdr(b, "grants_active", "gauge", "Live grants in the data plane, by scope.");
		for (unsigned s = 0; s < 3; s++)
			sample_l1(b, "grants_active", "scope", scope_names[s], m->granted[s]);
		one_u64(b, "quarantined_sources", "gauge",
			"Sources currently quarantined (sent to the decoys).", m->quarantined);
	}
	one_u64(b, "decoy_hits_total", "counter",
		"Packets to pool addresses sent to the decoy bed, as logged by the kernel "
		"(the log rule is rate-limited, so this undercounts floods).",
		m->decoy_hits);
	family_hdr(b, "quarantine_actions_total", "counter",
		   "Quarantine and release requests carried out.");
	sample_l1(b, "quarantine_actions_total", "action", "quarantine", m->quarantines);
	sample_l1(b, "quarantine_actions_total", "action", "release", m->releases);
	one_u64(b, "netlink_errors_total", "counter",
		"Netlink failures: log overruns and requests the kernel refused.",
		m->netlink_errors);
	one_u64(b, "decoy_malformed_total", "counter",
		"Kernel log records of decoy hits that did not parse (not counted as hits).",
		m->decoy_malformed);
	if (m->has_conntrack) {
		one_u64(b, "conntrack_entries", "gauge",
			"Connection tracking entries in use (nf_conntrack_count).",
			m->conntrack_entries);
		one_u64(b, "conntrack_entries_max", "gauge",
			"Connection tracking table size (nf_conntrack_max).", m->conntrack_max);
	}
}

static void render_daemon(mbuf_t *b, const fg_metrics_t *m)
{
	one_u64(b, "events_written_total", "counter", "Event log lines written.",
		m->events_written);
	one_u64(b, "events_dropped_total", "counter",
		"Events dropped because the event log writer fell behind.", m->events_dropped);
	one_u64(b, "event_write_errors_total", "counter",
		"Event log lines lost to write errors.", m->event_write_errors);
	one_u64(b, "control_errors_total", "counter",
		"Control socket requests rejected (bad framing, unknown command).",
		m->control_errors);
	one_u64(b, "control_connections_refused_total", "counter",
		"Control connections closed unserved because the connection limit was reached.",
		m->control_refused);
	one_u64(b, "control_timeouts_total", "counter",
		"Control connections closed at their request or reply deadline.",
		m->control_timeouts);
	one_u64(b, "privsep_refused_total", "counter",
		"Requests of the DNS process the privileged process refused "
		"(outside the configuration, malformed).", m->privsep_refused);
	family_hdr(b, "config_reloads_total", "counter", "Configuration reloads, by result.");
	sample_l1(b, "config_reloads_total", "result", "success", m->reloads_ok);
	sample_l1(b, "config_reloads_total", "result", "failure", m->reloads_failed);
	one_u64(b, "metrics_scrapes_total", "counter",
		"Scrapes of this endpoint answered before this one.", m->metrics_scrapes);
	one_u64(b, "metrics_scrape_timeouts_total", "counter",
		"Scrapes answered 503 because the main thread did not collect in time.",
		m->metrics_timeouts);
}

static void render_dist(mbuf_t *b, const fg_metrics_t *m)
{
	size_t na = m->nagents < FG_METRICS_MAX_AGENTS ? m->nagents : FG_METRICS_MAX_AGENTS;
	static const struct { const char *name, *type, *help; size_t off; } per[] = {
		{ "agent_lag_commands", "gauge", "Commands sent or queued to the agent and not yet ACKed.",
		  offsetof(fg_metrics_agent_t, lag) },
		{ "agent_timeouts_total", "counter", "Commands the agent did not ACK within agent.timeout.",
		  offsetof(fg_metrics_agent_t, timeouts) },
		{ "agent_refused_total", "counter", "Commands the agent ACKed with a refusal.",
		  offsetof(fg_metrics_agent_t, refused) },
		{ "agent_connects_total", "counter", "Sessions established with the agent.",
		  offsetof(fg_metrics_agent_t, connects) },
		{ "agent_handshake_failures_total", "counter", "TLS handshakes with the agent that failed.",
		  offsetof(fg_metrics_agent_t, handshake_failures) },
		{ "agent_replayed_total", "counter", "Commands replayed to the agent from the log after a reconnect.",
		  offsetof(fg_metrics_agent_t, replayed) },
		{ "agent_pair_queued_total", "counter",
		  "Commands queued for the agent while its link was down and its failover pair partner ACKed them.",
		  offsetof(fg_metrics_agent_t, pair_queued) },
		{ "agent_reconciles_total", "counter",
		  "Reconciliations with the agent by per-set digests (a gap past the log, an agent restart, the periodic check, the first contact).",
		  offsetof(fg_metrics_agent_t, recon_runs) },
		{ "agent_reconcile_buckets_compared_total", "counter",
		  "Bucket digests compared with the agent's.", offsetof(fg_metrics_agent_t, recon_buckets) },
		{ "agent_reconcile_buckets_differing_total", "counter",
		  "Bucket digests that differed from the agent's (their grants were exchanged).",
		  offsetof(fg_metrics_agent_t, recon_differing) },
		{ "agent_reconcile_grants_sent_total", "counter",
		  "Grants reconciliation sent to the agent (it lacked them).",
		  offsetof(fg_metrics_agent_t, recon_sent) },
		{ "agent_reconcile_grants_revoked_total", "counter",
		  "Grants of this controller's share reconciliation revoked on the agent (no longer held here).",
		  offsetof(fg_metrics_agent_t, recon_revoked) },
		{ "agent_reconcile_grants_learnt_total", "counter",
		  "Grants of this controller's share the agent held at the first contact of this run (kept).",
		  offsetof(fg_metrics_agent_t, recon_adopted) },
		{ "agent_generation", "gauge",
		  "The agent's generation at the last reconciliation: commands of this run it had applied.",
		  offsetof(fg_metrics_agent_t, generation) },
		{ "agent_grants", "gauge", "Live grants the controller holds for the agent (its view).",
		  offsetof(fg_metrics_agent_t, view_grants) },
	};
	family_hdr(b, "agent_up", "gauge", "1 when the link to the agent is up and ACKing, by agent.");
	for (size_t i = 0; i < na; i++)
		sample_l1(b, "agent_up", "agent", m->agents[i].id, m->agents[i].up ? 1 : 0);
	for (size_t k = 0; k < sizeof(per) / sizeof(per[0]); k++) {
		family_hdr(b, per[k].name, per[k].type, per[k].help);
		for (size_t i = 0; i < na; i++) {
			uint64_t v;
			memcpy(&v, (const char *)&m->agents[i] + per[k].off, sizeof(v));
			sample_l1(b, per[k].name, "agent", m->agents[i].id, v);
		}
	}
	family_hdr(b, "agent_ack_duration_seconds", "histogram",
		   "Time from sending a command to the agent to its ACK, by agent.");
	for (size_t i = 0; i < na; i++) {
		const fg_hist_snap_t *h = &m->agents[i].ack_latency;
		for (unsigned k = 0; k <= FG_HIST_NBOUNDS; k++) {
			mb_printf(b, "fluxgate_agent_ack_duration_seconds_bucket{agent=\"");
			mb_label(b, m->agents[i].id);
			if (k < FG_HIST_NBOUNDS)
				mb_printf(b, "\",le=\"%g\"} %" PRIu64 "\n", fg_hist_bounds[k], h->cumulative[k]);
			else
				mb_printf(b, "\",le=\"+Inf\"} %" PRIu64 "\n", h->cumulative[k]);
		}
		mb_printf(b, "fluxgate_agent_ack_duration_seconds_sum{agent=\"");
		mb_label(b, m->agents[i].id);
		mb_printf(b, "\"} %.9f\n", (double)h->sum_ns / 1e9);
		mb_printf(b, "fluxgate_agent_ack_duration_seconds_count{agent=\"");
		mb_label(b, m->agents[i].id);
		mb_printf(b, "\"} %" PRIu64 "\n", h->cumulative[FG_HIST_NBOUNDS]);
	}
	one_u64(b, "dist_connections_total", "counter",
		"Agent: controller connections accepted.", m->dist_connections);
	family_hdr(b, "dist_refused_total", "counter",
		   "Agent: controller connections refused, by reason (handshake: wrong key, unknown "
		   "identity or plaintext; hello: bad HELLO or one naming another identity; limit: too many open).");
	sample_l1(b, "dist_refused_total", "reason", "handshake", m->dist_handshake_refused);
	sample_l1(b, "dist_refused_total", "reason", "hello", m->dist_hello_refused);
	sample_l1(b, "dist_refused_total", "reason", "limit", m->dist_conn_limit);
	family_hdr(b, "dist_commands_total", "counter",
		   "Agent: controller commands, by result (applied, duplicate: a repeat ACKed without "
		   "applying, refused: outside this agent's configuration, failed: the data plane refused).");
	sample_l1(b, "dist_commands_total", "result", "applied", m->dist_commands);
	sample_l1(b, "dist_commands_total", "result", "duplicate", m->dist_duplicates);
	sample_l1(b, "dist_commands_total", "result", "refused", m->dist_refused);
	sample_l1(b, "dist_commands_total", "result", "failed", m->dist_failed);
	one_u64(b, "dist_bad_frames_total", "counter",
		"Agent: frames that did not parse (the connection was closed).", m->dist_bad_frames);
	one_u64(b, "dist_reconciles_total", "counter",
		"Agent: digest requests of reconciliation answered.", m->dist_reconciles);
	one_u64(b, "dist_reconcile_grants_sent_total", "counter",
		"Agent: grants sent to a controller comparing buckets.", m->dist_keys_sent);
	one_u64(b, "dist_tls_errors_total", "counter",
		"Agent: connections torn down by a TLS record error (replayed, reordered or altered records).",
		m->dist_tls_errors);
}

int fg_metrics_render(const fg_metrics_t *m, char **out, size_t *len)
{
	mbuf_t b = { .cap = 16384 };
	b.p = malloc(b.cap);
	if (!b.p)
		return -ENOMEM;
	b.p[0] = '\0';

	family_hdr(&b, "build_info", "gauge", "Version and git commit of fluxgated (always 1).");
	mb_printf(&b, "fluxgate_build_info{version=\"");
	mb_label(&b, m->build.version ? m->build.version : "unknown");
	mb_printf(&b, "\",commit=\"");
	mb_label(&b, m->build.commit);
	mb_printf(&b, "\"} 1\n");
	family_hdr(&b, "start_time_seconds", "gauge",
		   "Start time of fluxgated, seconds since the Unix epoch.");
	mb_printf(&b, "fluxgate_start_time_seconds %.3f\n", m->start_time);

	render_dns(&b, m);
	render_dot(&b, m);
	render_grants(&b, m);
	render_ddns(&b, m);
	render_pools(&b, m);
	render_dataplane(&b, m);
	render_daemon(&b, m);
	render_dist(&b, m);

	if (b.err) {
		free(b.p);
		return -ENOMEM;
	}
	*out = b.p;
	*len = b.len;
	return 0;
}

static int read_u64_file(const char *path, uint64_t *v)
{
	char buf[32];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	int e = errno;
	close(fd);
	if (n <= 0)
		return n < 0 ? -e : -EINVAL;
	buf[n] = '\0';
	char *end;
	errno = 0;
	unsigned long long x = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return -EINVAL;
	*v = x;
	return 0;
}

int fg_metrics_read_conntrack(uint64_t *count, uint64_t *max)
{
	int rc = read_u64_file("/proc/sys/net/netfilter/nf_conntrack_count", count);
	if (rc == 0)
		rc = read_u64_file("/proc/sys/net/netfilter/nf_conntrack_max", max);
	return rc;
}

/* ---- HTTP endpoint --------------------------------------------------------- */

struct fg_metrics_srv {
	struct MHD_Daemon *mhd;
	int efd;                   /* eventfd: a scrape waits for the main thread */
	fg_metrics_collect_fn collect;
	void *ctx;
	pthread_mutex_t mu;        /* guards the fields below */
	pthread_cond_t cv;
	bool stopping;             /* fg_metrics_stop(): no more waiting */
	uint64_t req_gen;          /* bumped by each scrape */
	uint64_t done_gen;         /* the scrape generation `text` answers */
	char *text;
	size_t len;
	_Atomic uint64_t scrapes, timeouts;
};

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[256];
	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = '\0';
	log_warn("metrics http: %s", msg);
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, char *body,
			     size_t len, const char *ctype)
{
	struct MHD_Response *r =
		MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	enum MHD_Result ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status,
				  const char *text)
{
	char *body = strdup(text);
	if (!body)
		return MHD_NO;
	return reply(conn, status, body, strlen(body), "text/plain; charset=utf-8");
}

/* Ask the main thread for fresh figures and wait for them. Returns a
 * malloc'd copy of the text, or NULL on timeout / no memory. */
static char *fetch(fg_metrics_srv_t *srv, size_t *len)
{
	char *copy = NULL;
	uint64_t one = 1;

	pthread_mutex_lock(&srv->mu);
	uint64_t mine = ++srv->req_gen;
	pthread_mutex_unlock(&srv->mu);
	if (write(srv->efd, &one, sizeof(one)) != (ssize_t)sizeof(one))
		return NULL;

	struct timespec dl;
	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += FG_METRICS_TIMEOUT_MS / 1000;
	dl.tv_nsec += (long)(FG_METRICS_TIMEOUT_MS % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&srv->mu);
	while (srv->done_gen < mine && !srv->stopping)
		if (pthread_cond_timedwait(&srv->cv, &srv->mu, &dl) == ETIMEDOUT)
			break;
	if (srv->done_gen >= mine && srv->text) {
		copy = malloc(srv->len + 1);
		if (copy) {
			memcpy(copy, srv->text, srv->len + 1);
			*len = srv->len;
		}
	}
	pthread_mutex_unlock(&srv->mu);
	return copy;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version,
				  const char *upload_data, size_t *upload_data_size,
				  void **con_cls)
{
	fg_metrics_srv_t *srv = cls;

	(void)version;
	(void)upload_data;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return reply_text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "method not allowed\n");
	if (*upload_data_size) {   /* a GET with a body: ignore the body */
		*upload_data_size = 0;
		return MHD_YES;
	}
	if (strcmp(url, "/metrics"))
		return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found; metrics are at /metrics\n");

	size_t len = 0;
	char *text = fetch(srv, &len);
	if (!text) {
		atomic_fetch_add(&srv->timeouts, 1);
		return reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE,
				  "fluxgated did not produce metrics in time\n");
	}
	atomic_fetch_add(&srv->scrapes, 1);
	return reply(conn, MHD_HTTP_OK, text, len, "text/plain; version=0.0.4; charset=utf-8");
}

int fg_metrics_start(const struct sockaddr *addr, socklen_t addrlen,
		     fg_metrics_collect_fn collect, void *ctx, fg_metrics_srv_t **out)
{
	if (!addr || !collect || !out ||
	    (addr->sa_family != AF_INET && addr->sa_family != AF_INET6))
		return -EINVAL;
	(void)addrlen;   /* MHD takes the length from the family */
	fg_metrics_srv_t *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->collect = collect;
	srv->ctx = ctx;
	srv->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (srv->efd < 0) {
		int e = errno;
		free(srv);
		return -e;
	}
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&srv->cv, &ca);
	pthread_condattr_destroy(&ca);
	pthread_mutex_init(&srv->mu, NULL);

	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG;
	if (addr->sa_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	/* MHD's thread inherits our signal mask: block everything for it, the
	 * main thread takes signals through its signalfd */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	errno = 0;
	/* no MHD_OPTION_LISTENING_ADDRESS_REUSE: on Linux it means
	 * SO_REUSEPORT, and a second daemon must fail to bind, not share the
	 * port (MHD sets SO_REUSEADDR by itself) */
	srv->mhd = MHD_start_daemon(flags, 0, NULL, NULL, on_request, srv,
				    MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
				    MHD_OPTION_SOCK_ADDR, addr,
				    MHD_OPTION_CONNECTION_LIMIT, (unsigned)16,
				    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)10,
				    MHD_OPTION_END);
	int e = errno;
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!srv->mhd) {
		close(srv->efd);
		pthread_cond_destroy(&srv->cv);
		pthread_mutex_destroy(&srv->mu);
		free(srv);
		return e ? -e : -EADDRNOTAVAIL;
	}
	*out = srv;
	return 0;
}

uint16_t fg_metrics_port(const fg_metrics_srv_t *srv)
{
	const union MHD_DaemonInfo *i =
		srv ? MHD_get_daemon_info(srv->mhd, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	return i ? i->port : 0;
}

int fg_metrics_fd(const fg_metrics_srv_t *srv)
{
	return srv ? srv->efd : -1;
}

void fg_metrics_dispatch(fg_metrics_srv_t *srv)
{
	uint64_t v;

	if (!srv)
		return;
	if (read(srv->efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	pthread_mutex_lock(&srv->mu);
	uint64_t target = srv->req_gen;
	bool waiting = target > srv->done_gen;
	pthread_mutex_unlock(&srv->mu);
	if (!waiting)
		return;

	/* the snapshot is large (pool and service tables): keep it off the
	 * main thread's stack */
	fg_metrics_t *m = calloc(1, sizeof(*m));
	char *text = NULL;
	size_t len = 0;
	if (m) {
		srv->collect(srv->ctx, m);
		m->metrics_scrapes = atomic_load(&srv->scrapes);
		m->metrics_timeouts = atomic_load(&srv->timeouts);
		if (fg_metrics_render(m, &text, &len) < 0)
			text = NULL;
		free(m);
	}
	pthread_mutex_lock(&srv->mu);
	if (text) {
		free(srv->text);
		srv->text = text;
		srv->len = len;
		srv->done_gen = target;
	}
	/* without text the waiter times out into a 503 */
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
}

void fg_metrics_stop(fg_metrics_srv_t *srv)
{
	if (!srv)
		return;
	/* a scrape waiting for the main thread (which is us, now) would hold
	 * up MHD_stop_daemon() until its timeout */
	pthread_mutex_lock(&srv->mu);
	srv->stopping = true;
	pthread_cond_broadcast(&srv->cv);
	pthread_mutex_unlock(&srv->mu);
	MHD_stop_daemon(srv->mhd);   /* joins the HTTP thread */
	close(srv->efd);
	pthread_cond_destroy(&srv->cv);
	pthread_mutex_destroy(&srv->mu);
	free(srv->text);
	free(srv);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxgated: the fluxgate daemon. Loads the config, builds the zone data and
 * the grant engine into a snapshot, starts the DNS workers, then waits for
 * signals: SIGTERM/SIGINT stop, SIGHUP reloads (a bad config keeps the old
 * one running and logs why).
 */
#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <getopt.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <systemd/sd-daemon.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "conf/zonebuild.h"
#include "daemon/adopt.h"
#include "daemon/control.h"
#include "daemon/ddns.h"
#include "dns/dnssec/signer.h"
#include "dns/zone.h"
#include "daemon/eventlog.h"
#include "daemon/metrics.h"
#include "daemon/nflog.h"
#include "daemon/privsep.h"
#include "daemon/privsep_keys.h"
#include "daemon/server.h"
#include "dist/agent.h"
#include "dist/hub.h"
#include "grant/engine.h"
#include "grant/policy.h"

#define FG_VERSION "0.1.0"
#ifndef FG_COMMIT
#define FG_COMMIT ""
#endif
#define DEFAULT_CONF "/etc/fluxgate/fluxgate.conf"
#define DEFAULT_CTL  "/run/fluxgate/control.sock"
/* the DNS process's user when started as root and server.user is unset:
 * a dedicated one (etc/sysusers.d/fluxgate.conf), never nobody, whose
 * other processes could then reach what the DNS process can */
#define DEFAULT_USER "fluxgate"

struct diag_ctx {
	bool to_stdout;     /* --check prints plain file:line: message lines */
	unsigned count;
};

static void diag_print(void *vctx, const char *file, int line, const char *msg)
{
	struct diag_ctx *ctx = vctx;
	ctx->count++;
	if (ctx->to_stdout) {
		if (line > 0)
			fprintf(stderr, "%s:%d: %s\n", file, line, msg);
		else
			fprintf(stderr, "%s: %s\n", file, msg);
	} else if (line > 0) {
		log_err("%s:%d: %s", file, line, msg);
	} else {
		log_err("%s: %s", file, msg);
	}
}

/* Distributed mode, controller: the links to the agents (set once at
 * start, before the first snapshot). */
static fg_dist_hub_t *the_hub;

static bool hub_pool_ok(void *ctx, int family, const uint8_t *first)
{
	return fg_dist_hub_addr_healthy(ctx, family, first);
}

/* Load `path` into a new snapshot. `prev` (may be NULL) lends its rotation
 * state to the new grant engine. */
static int build_snapshot(const char *path, const fg_snapshot_t *prev, bool setup_nat,
			  struct diag_ctx *dctx, fg_snapshot_t **out)
{
	fg_snapshot_t *snap = calloc(1, sizeof(*snap));
	int rc;

	if (!snap)
		return -ENOMEM;
	fg_keyfiles_t kf = { 0 };
	if (fg_privsep_active()) {
		/* the DNS process may not be able to open the file itself */
		char *text = NULL;
		size_t len = 0;
		rc = fg_privsep_read_conf(&text, &len);
		if (rc < 0) {
			log_err("%s: cannot read the configuration: %s", path, fg_strerror(rc));
			goto fail;
		}
		/* nor the root-only key files and included files: [priv] reads
		 * those its own configuration names (new keys, rewritten secret
		 * files, shared pools); without them the running secrets stand in
		 * for unchanged files, and includes are read from disk */
		if (prev) {
			int krc = fg_privsep_read_keys(&kf);
			if (krc < 0)
				log_warn("reload: no key material from the privileged process (%s): "
					 "only unchanged keys carry over", fg_strerror(krc));
		}
		rc = fg_conf_reload_keys(path, text, len, prev ? prev->conf : NULL, &kf,
					 &snap->conf, diag_print, dctx);
		explicit_bzero(text, len);
		free(text);
	} else {
		rc = fg_conf_reload(path, NULL, 0, prev ? prev->conf : NULL, &snap->conf,
				    diag_print, dctx);
	}
	/* a reload reuses the running signed zones' private keys, or takes
	 * the ones [priv] read */
	if (rc == 0)
		rc = fg_conf_build_zonedb_keys(snap->conf, prev ? prev->db : NULL, &kf, &snap->db,
					       diag_print, dctx);
	fg_keyfiles_clear(&kf);
	if (rc < 0)
		goto fail;
	if (snap->conf->nservices && setup_nat) {
		rc = fg_grant_engine_new(snap->conf, prev ? prev->grants : NULL, &snap->grants);
		if (rc < 0) {
			log_err("grant engine: %s", fg_strerror(rc));
			goto fail;
		}
		/* a controller's data plane is its agents' */
		if (snap->conf->role == FG_ROLE_CONTROLLER) {
			fg_grant_engine_set_ops(snap->grants, &fg_nat_agents_ops);
			/* on-timeout: healthy-pool: answer from a pool whose
			 * agents are all up (reloads apply it) */
			if (snap->conf->dist.on_timeout == FG_DIST_HEALTHY_POOL && the_hub)
				fg_grant_engine_set_pool_filter(snap->grants, hub_pool_ok, the_hub);
		}
		else if (fg_privsep_active())
			fg_grant_engine_set_ops(snap->grants, &fg_nat_priv_ops);
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		rc = fg_grant_engine_setup(snap->grants);
		if (rc < 0) {
			log_err("data plane setup failed: %s", fg_strerror(rc));
			goto fail;
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		/* what a restart waits for before serving (bench/scale) */
		log_info("data plane set up in %lld ms", (long long)(t1.tv_sec - t0.tv_sec) * 1000 +
			 (t1.tv_nsec - t0.tv_nsec) / 1000000);
	}
	*out = snap;
	return 0;
fail:
	fg_snapshot_free(snap);
	return rc;
}

static enum fg_log_level parse_level(const char *s)
{
	if (!s)
		return FG_LOG_INFO;
	if (!strcmp(s, "error"))
		return FG_LOG_ERR;
	if (!strcmp(s, "warning"))
		return FG_LOG_WARN;
	if (!strcmp(s, "debug"))
		return FG_LOG_DEBUG;
	return FG_LOG_INFO;
}

struct reload_ctx {
	const char *path;
	fg_server_t *srv;
	fg_ddns_t *ddns;   /* external zones' thread, NULL without any */
	fg_evlog_t *evlog;
	uint64_t ok, failed;
	bool verbose;      /* -v given: log.level does not apply */
};

/* SIGHUP and `fluxctl reload`: a config that fails to load or to apply
 * leaves the running one in place. */
/* The epoch thread of external services (daemon/ddns.h) publishes
 * addresses in the real world: the roles that answer DNS (standalone,
 * controller) run it. An agent only applies its controller's grants: it
 * never starts it, so it needs none of its keys or servers. */
static bool ddns_runs(const fg_conf_t *conf)
{
	return conf->role != FG_ROLE_AGENT;
}

static int do_reload(void *vctx, char *errbuf, size_t errlen)
{
	struct reload_ctx *r = vctx;
	struct diag_ctx rd = { 0 };
	fg_snapshot_t *next = NULL;

	log_info("reloading %s", r->path);
	sd_notify(0, "RELOADING=1");
	int rc = build_snapshot(r->path, fg_server_snapshot(r->srv), true, &rd, &next);
	if (rc < 0) {
		snprintf(errbuf, errlen, "%u error%s in %s (see the log); keeping the running configuration",
			 rd.count ? rd.count : 1, rd.count == 1 ? "" : "s", r->path);
		log_err("reload failed: %s", errbuf);
		r->failed++;
		fg_evlog_reload(r->evlog, false, r->path, 0, 0, errbuf);
		sd_notify(0, "READY=1\nSTATUS=reload failed, running the previous configuration");
		return rc;
	}
	/* Knot's reload semantics: every key applies now, or the reply and
	 * the log name it as needing a restart */
	char restart[256];
	unsigned nrestart = fg_conf_restart_keys(fg_server_snapshot(r->srv)->conf, next->conf,
						 restart, sizeof(restart));
	if (nrestart) {
		log_warn("reload: %s: the running value stays until a restart", restart);
		snprintf(errbuf, errlen, "%s", restart);
	}
	if (!r->verbose)   /* -v keeps debug across reloads */
		fg_log_set_level(parse_level(next->conf->log.level));
	/* the epoch thread grants through the running engine: stop it (after
	 * the epoch in progress) before the swap frees that engine, then
	 * start the new one with what the old one published */
	fg_ddns_t *old_ddns = r->ddns;
	fg_ddns_stop(old_ddns);
	fg_server_swap(r->srv, next);
	r->ddns = NULL;
	if (next->grants && ddns_runs(next->conf)) {
		int drc = fg_ddns_start(next->conf, next->grants, r->evlog, old_ddns, &r->ddns);
		if (drc < 0)
			log_err("ddns: not started after the reload: %s", fg_strerror(drc));
	}
	fg_ddns_free(old_ddns);
	r->ok++;
	fg_evlog_reload(r->evlog, true, r->path, (uint32_t)next->conf->nzones,
			(uint32_t)next->conf->nservices, NULL);
	sd_notify(0, "READY=1\nSTATUS=reloaded");
	log_info("reload done (%zu zones, %zu services)", next->conf->nzones,
		 next->conf->nservices);
	return 0;
}

/* Data plane gauges: counted by a background thread (a dump per set) every
 * DP_REFRESH_MS, or every DP_REFRESH_SLOW_MS once a count took longer than
 * DP_SLOW_MS; scrapes read the cached figures. */
#define DP_REFRESH_MS      10000u
#define DP_REFRESH_SLOW_MS 60000u
#define DP_SLOW_MS         500u

struct dp_cache {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	pthread_t thread;
	bool running, stop;
	bool ok;                 /* the last count succeeded: counts are its figures */
	int last_rc;
	uint64_t took_ms;
	fg_nat_counts_t counts;
	uint64_t privsep_refused;   /* requests the [priv] side refused */
};

/* Everything the metrics collector and the NFLOG callback read. */
struct daemon_ctx {
	fg_server_t *srv;
	fg_control_t *ctl;
	fg_control_env_t *env;
	struct reload_ctx *reload;
	fg_evlog_t *evlog;
	fg_nflog_t *nflog;
	uint64_t decoy_hits;
	double start_time;
	struct dp_cache dp;
};

/* A pool hit sent to the decoys (logged by the kernel rule, rate-limited):
 * the rule's NFLOG prefix says why (FG_DECOY_REASON_*), the running
 * configuration which pool the address belongs to. Main thread, like
 * reloads, so the snapshot cannot go away under it. */
static void on_decoy(void *vctx, const fg_pkt_info_t *pkt, const char *prefix)
{
	struct daemon_ctx *d = vctx;
	const fg_snapshot_t *snap = fg_server_snapshot(d->srv);
	const char *pool = NULL;
	for (size_t i = 0; snap && i < snap->conf->npools && !pool; i++)
		if (fg_prefix_contains(&snap->conf->pools[i].prefix, pkt->family, pkt->dst))
			pool = snap->conf->pools[i].id;
	fg_ev_flow_t flow = {
		.sfamily = pkt->family, .dfamily = pkt->family, .proto = pkt->proto,
		.sport = pkt->sport, .dport = pkt->dport,
	};
	memcpy(flow.src, pkt->src, 16);
	memcpy(flow.dst, pkt->dst, 16);
	d->decoy_hits++;
	/* an empty prefix: a rule of an older daemon's table */
	fg_evlog_decoy(d->evlog, &flow, prefix && *prefix ? prefix : FG_DECOY_REASON_POOL, pool);
}

struct pool_collect {
	fg_metrics_t *m;
	const fg_conf_t *conf;
};

/* The pool's cap on open-to-anyone addresses, as a fraction: the engine
 * applies each service's max-open-fraction, so the tightest one using the
 * pool is the one an alert must compare with. */
static double pool_open_max(const fg_conf_t *conf, const char *id)
{
	double f = 0;
	for (size_t i = 0; i < conf->nservices; i++) {
		const fg_conf_service_t *s = &conf->services[i];
		for (size_t k = 0; k < s->npools; k++) {
			if (strcmp(s->pools[k], id) != 0)
				continue;
			double sf = s->max_open_fraction > 0 ? s->max_open_fraction : 0.1;
			if (f == 0 || sf < f)
				f = sf;
		}
	}
	return f;
}

static void collect_pool(void *ctx, const char *id, int family, uint64_t size, uint64_t open)
{
	struct pool_collect *pc = ctx;
	fg_metrics_t *m = pc->m;
	if (m->npools >= FG_METRICS_MAX_POOLS)
		return;
	fg_metrics_pool_t *p = &m->pools[m->npools++];
	snprintf(p->id, sizeof(p->id), "%s", id);
	p->family = family;
	p->size = size;
	p->open = open;
	p->open_max = pool_open_max(pc->conf, id);
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* Counting walks every set element through netlink dumps, which the kernel
 * makes slow for big sets (seconds at 300k elements, most of a minute at
 * 1M): it runs on its own thread, never on the main loop that feeds the
 * watchdog and serves the control socket. Only with privilege separation
 * (each in-memory backend handle has its own state: false zeros). */
static void *dp_count_main(void *arg)
{
	struct dp_cache *c = arg;
	pthread_mutex_lock(&c->mu);
	while (!c->stop) {
		pthread_mutex_unlock(&c->mu);
		uint64_t start = mono_ms();
		fg_nat_t *nat = NULL;
		fg_nat_counts_t k;
		int rc = fg_nat_priv_ops.open(NULL, &nat);
		if (rc == 0) {
			rc = fg_nat_priv_ops.count(nat, &k);
			fg_nat_priv_ops.close(nat);
		}
		uint64_t took = mono_ms() - start;
		uint64_t refused = 0;
		bool have_refused = fg_privsep_refused_total(&refused) == 0;
		pthread_mutex_lock(&c->mu);
		if (have_refused)
			c->privsep_refused = refused;
		if (rc < 0 && rc != c->last_rc)
			log_warn("metrics: counting the data plane failed: %s", fg_strerror(rc));
		c->ok = rc == 0;
		if (rc == 0)
			c->counts = k;
		c->last_rc = rc;
		c->took_ms = took;
		uint64_t every = took > DP_SLOW_MS ? DP_REFRESH_SLOW_MS : DP_REFRESH_MS;
		struct timespec until;
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_sec += (time_t)(every / 1000u);
		while (!c->stop && pthread_cond_timedwait(&c->cv, &c->mu, &until) == 0)
			;
	}
	pthread_mutex_unlock(&c->mu);
	return NULL;
}

static void dp_count_start(struct dp_cache *c)
{
	pthread_condattr_t ca;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, &ca);
	pthread_condattr_destroy(&ca);
	c->running = pthread_create(&c->thread, NULL, dp_count_main, c) == 0;
	if (!c->running)
		log_warn("metrics: no data plane gauges (thread: %s)", strerror(errno));
}

static void dp_count_stop(struct dp_cache *c)
{
	if (!c->running)
		return;
	pthread_mutex_lock(&c->mu);
	c->stop = true;
	pthread_cond_signal(&c->cv);
	pthread_mutex_unlock(&c->mu);
	pthread_join(c->thread, NULL);
	c->running = false;
}

static void collect_dataplane(struct daemon_ctx *d, fg_metrics_t *m)
{
	struct dp_cache *c = &d->dp;
	if (!c->running)
		return;
	pthread_mutex_lock(&c->mu);
	if (c->ok) {
		m->has_dataplane = true;
		for (int s = 0; s < 3; s++)
			m->granted[s] = c->counts.grants[s];
		m->pinned = c->counts.pinned;
		m->quarantined = c->counts.quarantined;
	}
	m->privsep_refused = c->privsep_refused;
	pthread_mutex_unlock(&c->mu);
}

static void collect_dist(struct daemon_ctx *d, fg_metrics_t *m)
{
	fg_dist_hub_t *hub = d->env->hub;
	for (size_t i = 0; hub && i < fg_dist_hub_nagents(hub) && m->nagents < FG_METRICS_MAX_AGENTS; i++) {
		fg_dist_agent_status_t st;
		if (fg_dist_hub_status(hub, i, &st) < 0)
			continue;
		fg_metrics_agent_t *a = &m->agents[m->nagents++];
		snprintf(a->id, sizeof(a->id), "%s", st.id);
		a->up = st.state == FG_LINK_UP;
		a->lag = st.lag;
		a->timeouts = st.timeouts;
		a->refused = st.refused;
		a->connects = st.connects;
		a->handshake_failures = st.handshake_failures;
		a->replayed = st.replayed;
		a->pair_queued = st.pair_queued;
		a->recon_runs = st.recon_runs;
		a->recon_buckets = st.recon_buckets;
		a->recon_differing = st.recon_differing;
		a->recon_sent = st.recon_sent;
		a->recon_revoked = st.recon_revoked;
		a->recon_adopted = st.recon_adopted;
		a->generation = st.generation;
		a->view_grants = st.view_grants;
		uint64_t cum = 0;
		for (size_t b = 0; b <= FG_HIST_NBOUNDS && b <= FG_DIST_LAT_BUCKETS; b++) {
			cum += st.lat_bucket[b];
			a->ack_latency.cumulative[b] = cum;
		}
		a->ack_latency.sum_ns = st.lat_sum_ns;
	}
	if (d->env->agent) {
		fg_dist_agent_counters_t c;
		fg_dist_agent_counters(d->env->agent, &c);
		m->dist_connections = c.connections;
		m->dist_handshake_refused = c.handshake_refused;
		m->dist_hello_refused = c.hello_refused;
		m->dist_conn_limit = c.conn_limit;
		m->dist_commands = c.commands;
		m->dist_duplicates = c.duplicates;
		m->dist_refused = c.refused;
		m->dist_failed = c.failed;
		m->dist_bad_frames = c.bad_frames;
		m->dist_tls_errors = c.tls_errors;
		m->dist_reconciles = c.reconciles;
		m->dist_keys_sent = c.keys_sent;
	}
}

static void collect(void *vctx, fg_metrics_t *m)
{
	struct daemon_ctx *d = vctx;
	const fg_snapshot_t *snap = fg_server_snapshot(d->srv);

	m->build.version = FG_VERSION;
	m->build.commit = FG_COMMIT;
	m->start_time = d->start_time;
	for (unsigned i = 0; i < fg_server_nworkers(d->srv); i++) {
		const fg_worker_stats_t *s = fg_server_worker_stats(d->srv, i);
		m->queries_udp += s->queries_udp;
		m->queries_tcp += s->queries_tcp;
		for (int k = 0; k < FG_MQ_COUNT; k++)
			m->queries_by_qtype[k] += s->qtype[k];
		for (int k = 0; k < 24; k++)
			m->responses_by_rcode[k] += s->rcode[k];
		m->dropped += s->dropped;
		m->truncated += s->truncated;
		m->send_errors += s->send_errors;
		m->tcp_accepted += s->tcp_accepted;
		m->tcp_rejected += s->tcp_rejected;
		m->tcp_idle_closed += s->tcp_idle_closed;
		m->tcp_source_rejected += s->tcp_source_rejected;
		m->tcp_evicted += s->tcp_evicted;
		m->tcp_query_timeouts += s->tcp_query_timeouts;
		m->rrl_dropped += s->rrl_dropped;
		m->rrl_slipped += s->rrl_slipped;
		m->budget_truncated += s->budget_truncated;
		m->cookie_valid += s->cookie_valid;
		m->cookie_bad += s->cookie_bad;
		m->cookie_malformed += s->cookie_malformed;
		for (int k = 0; k < 6; k++)
			m->tsig[k] += s->tsig[k];
		m->private_denied[0] += s->private_denied[0];
		m->private_denied[1] += s->private_denied[1];
		m->dot_accepted += s->dot.accepted;
		m->dot_rejected += s->dot.rejected;
		m->dot_source_rejected += s->dot.source_rejected;
		m->dot_handshake_failed += s->dot.handshake_failed;
		m->dot_resumed += s->dot.resumed;
		m->dot_queries += s->dot.queries;
		m->dot_tls_errors += s->dot.tls_errors;
		m->dot_dns_errors += s->dot.dns_errors;
		m->dot_idle_closed += s->dot.idle_closed;
		m->dot_timeouts += s->dot.timeouts;
		fg_hist_snapshot_add(&m->grant_latency, &s->grant_latency);
		for (int k = 0; k < FG_NOADDR_COUNT; k++)
			m->grant_noaddr[k] += s->grant_noaddr[k];
		m->grant_pipelined += s->grant_pipelined;
	}
	m->unverified_live = fg_server_unverified_live(d->srv, &m->unverified_limit);
	if (snap->db) {
		fg_signer_stats_t st;
		fg_zonedb_signer_stats(snap->db, &st);
		m->dnssec_signatures = st.signatures;
		m->dnssec_static[0] = st.static_hits;
		m->dnssec_static[1] = st.static_misses;
		m->dnssec_addr[0] = st.addr_hits;
		m->dnssec_addr[1] = st.addr_misses;
	}
	if (snap->grants) {
		fg_grant_counters_t gc;
		fg_grant_engine_counters_get(snap->grants, &gc);
		m->grant_forced_reuse = gc.forced_reuse;
		m->grant_commit_failures = gc.commit_failures;
		m->grant_commit_servfail = gc.commit_servfail;
		m->grant_anyone_source_reuse = gc.anyone_source_reuse;
		m->grant_exact_quota_reuse = gc.exact_quota_reuse;
		m->ecs_ignored = gc.ecs_ignored;
		for (size_t i = 0; i < snap->conf->nservices && i < FG_METRICS_MAX_SERVICES; i++) {
			fg_metrics_service_t *ms = &m->services[m->nservices++];
			snprintf(ms->id, sizeof(ms->id), "%s", snap->conf->services[i].id);
			fg_grant_engine_service_counters(snap->grants, (uint32_t)i, ms->grants,
							 &ms->grant_failures);
			ms->answers = ms->grants[0] + ms->grants[1] + ms->grants[2];
		}
		struct pool_collect pc = { .m = m, .conf = snap->conf };
		fg_grant_engine_pools(snap->grants, collect_pool, &pc);
	}
	collect_dataplane(d, m);
	fg_ddns_collect(d->reload->ddns, m);
	m->decoy_hits = d->decoy_hits;
	m->quarantines = d->env->quarantines;
	m->releases = d->env->releases;
	m->netlink_errors = d->nflog ? fg_nflog_errors(d->nflog) : 0;
	m->decoy_malformed = d->nflog ? fg_nflog_malformed(d->nflog) : 0;
	if (fg_metrics_read_conntrack(&m->conntrack_entries, &m->conntrack_max) == 0)
		m->has_conntrack = true;
	m->events_written = fg_evlog_written(d->evlog);
	m->events_dropped = fg_evlog_dropped(d->evlog);
	m->event_write_errors = fg_evlog_write_errors(d->evlog);
	m->control_errors = fg_control_errors(d->ctl);
	m->control_refused = fg_control_refused(d->ctl);
	m->control_timeouts = fg_control_timeouts(d->ctl);
	m->reloads_ok = d->reload->ok;
	m->reloads_failed = d->reload->failed;
	collect_dist(d, m);
}

/* Who may connect to the control socket: root and control.group (0660),
 * else root alone (0600); the server.user's other processes never. The
 * directory the daemon creates for it (or the default /run/fluxgate)
 * gets the same audience (0750 / 0700); a directory given by the
 * operator that fluxgated did not create is left as it is. */
static gid_t ctl_gid(const char *group)
{
	struct group *gr = group[0] ? getgrnam(group) : NULL;
	return gr ? gr->gr_gid : (gid_t)-1;
}

static int control_dir(const char *path, const char *group)
{
	char tmp[4096];
	snprintf(tmp, sizeof(tmp), "%s", path);
	const char *dir = dirname(tmp);
	mode_t mode = group[0] ? 0750 : 0700;
	bool ours = strcmp(path, DEFAULT_CTL) == 0;
	if (mkdir(dir, mode) == 0)
		ours = true;
	else if (errno != EEXIST)
		return -errno;
	if (!ours)
		return 0;
	/* root's when started as root: nobody else may swap the socket */
	uid_t uid = geteuid() == 0 ? 0 : (uid_t)-1;
	gid_t gid = group[0] ? ctl_gid(group) : geteuid() == 0 ? 0 : (gid_t)-1;
	if (chown(dir, uid, gid) < 0)
		return -errno;
	return chmod(dir, mode) < 0 ? -errno : 0;
}

static int control_perms(const char *path, const char *group)
{
	/* root-owned when started as root; else it is the daemon's own user
	 * (systemd User=), which cannot be helped */
	uid_t uid = geteuid() == 0 ? 0 : (uid_t)-1;
	gid_t gid = group[0] ? ctl_gid(group) : geteuid() == 0 ? 0 : (gid_t)-1;
	if (chown(path, uid, gid) < 0)
		return -errno;
	return chmod(path, group[0] ? 0660 : 0600) < 0 ? -errno : 0;
}

/* Distributed mode: the keys of the peers (agents of a controller,
 * controllers of an agent), read while still root (the files are root's
 * 0600) and kept in memory; certificates when a peer has no psk-file. */
static int dist_keys(const fg_conf_t *c, fg_dist_key_t **out, size_t *n)
{
	size_t count = c->role == FG_ROLE_CONTROLLER ? c->nagents : c->ncontrollers;
	fg_dist_key_t *k = calloc(count ? count : 1, sizeof(*k));
	if (!k)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const char *id = c->role == FG_ROLE_CONTROLLER ? c->agents[i].id : c->controllers[i].id;
		const char *file = c->role == FG_ROLE_CONTROLLER ? c->agents[i].psk_file
								  : c->controllers[i].psk_file;
		snprintf(k[i].id, sizeof(k[i].id), "%s", id);
		if (!file)
			continue;
		char err[512];
		int rc = fg_dist_psk_read(file, k[i].psk, &k[i].psklen, err, sizeof(err));
		if (rc < 0) {
			log_err("%s %s: psk-file %s", c->role == FG_ROLE_CONTROLLER ? "agent" : "controller",
				id, err);
			OPENSSL_cleanse(k, (count ? count : 1) * sizeof(*k));
			free(k);
			return rc;
		}
	}
	*out = k;
	*n = count;
	return 0;
}

static void dist_keys_free(fg_dist_key_t *k, size_t n)
{
	if (!k)
		return;
	OPENSSL_cleanse(k, (n ? n : 1) * sizeof(*k));
	free(k);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: fluxgated [-c FILE] [--check] [-v] [-V]\n"
		"  -c, --config FILE  configuration file (default " DEFAULT_CONF ")\n"
		"  -C, --check        validate the configuration and exit (1 on errors)\n"
		"  -v, --verbose      log debug messages\n"
		"  -V, --version      print the version and exit\n"
		"  -h, --help         this help\n"
		"  --test-memory-backend  allow nat.backend: memory (tests only)\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ "test-memory-backend", no_argument, NULL, 'M' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_CONF;
	bool check = false, verbose = false, test_memory = false;
	int opt;

	while ((opt = getopt_long(argc, argv, "c:CvVh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'C': check = true; break;
		case 'v': verbose = true; break;
		case 'V': printf("fluxgated %s\n", FG_VERSION); return 0;
		case 'h': usage(stdout); return 0;
		case 'M': test_memory = true; break;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	fg_log_init("fluxgated", verbose ? FG_LOG_DEBUG : FG_LOG_INFO);

	if (check) {
		struct diag_ctx d = { .to_stdout = true };
		fg_snapshot_t *snap = NULL;
		int rc = build_snapshot(path, NULL, false, &d, &snap);
		if (rc == 0 && snap->conf->nat.backend && !strcmp(snap->conf->nat.backend, "memory") &&
		    !test_memory) {
			/* the daemon refuses this at start: so does --check */
			fprintf(stderr, "%s: nat.backend: memory is for tests only; fluxgated "
				"refuses it without --test-memory-backend\n", path);
			d.count++;
			rc = -FG_ESCHEMA;
		}
		if (rc == 0) {
			struct diag_ctx w = { .to_stdout = true };
			fg_conf_warnings(snap->conf, diag_print, &w);
		}
		fg_snapshot_free(snap);
		if (rc < 0) {
			if (d.count == 0)
				fprintf(stderr, "%s: %s\n", path, fg_strerror(rc));
			fprintf(stderr, "%s: %u error%s\n", path, d.count ? d.count : 1,
				d.count == 1 ? "" : "s");
			return 1;
		}
		printf("%s: configuration is valid\n", path);
		return 0;
	}

	/* signals are taken synchronously by the main thread (signalfd) */
	sigset_t sigs;
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* Privilege separation: with the nftables backend, fork the small
	 * process that keeps CAP_NET_ADMIN and the netlink sockets; this
	 * process goes on as the DNS side and drops everything. */
	struct diag_ctx d = { 0 };
	fg_conf_t *pre = NULL;
	int rc = fg_conf_load(path, &pre, diag_print, &d);
	if (rc < 0) {
		log_err("%s: configuration not loaded, exiting", path);
		return 1;
	}
	bool separate = !pre->nat.backend || !strcmp(pre->nat.backend, "nft");
	if (!separate && !test_memory) {
		/* no kernel state behind its grants and no privilege
		 * separation: answers would lead nowhere */
		log_err("%s: nat.backend: %s is for tests only (no privilege separation, "
			"grants reach no kernel); refusing to start without --test-memory-backend",
			path, pre->nat.backend);
		fg_conf_free(pre);
		return 1;
	}
	char user_buf[64];
	snprintf(user_buf, sizeof(user_buf), "%s",
		 pre->server.user ? pre->server.user : DEFAULT_USER);
	if (separate && getuid() == 0 && !getpwnam(user_buf)) {
		if (pre->server.user)
			log_err("%s: server.user: user '%s' does not exist", path, user_buf);
		else
			log_err("%s: user '%s' (the default of server.user) does not exist: "
				"create it (systemd-sysusers fluxgate.conf) or set server.user",
				path, user_buf);
		fg_conf_free(pre);
		return 1;
	}
	char ctl_path[4096];
	snprintf(ctl_path, sizeof(ctl_path), "%s",
		 pre->control.socket ? pre->control.socket : DEFAULT_CTL);
	char ctl_group[64] = "";
	if (pre->control.group)
		snprintf(ctl_group, sizeof(ctl_group), "%s", pre->control.group);
	if (ctl_group[0] && !getgrnam(ctl_group)) {
		log_err("%s: control.group: group '%s' does not exist", path, ctl_group);
		fg_conf_free(pre);
		return 1;
	}
	int role = pre->role;
	fg_dist_key_t *dkeys = NULL;
	size_t ndkeys = 0;
	if (role != FG_ROLE_STANDALONE && dist_keys(pre, &dkeys, &ndkeys) < 0) {
		fg_conf_free(pre);
		return 1;
	}
	/* the pid file names the process that stays systemd's main PID: the
	 * privileged one with privilege separation */
	char pidfile[4096] = "";
	if (pre->server.pidfile) {
		snprintf(pidfile, sizeof(pidfile), "%s", pre->server.pidfile);
		FILE *pf = fopen(pidfile, "w");
		if (!pf) {
			log_err("pidfile %s: %s", pidfile, strerror(errno));
			fg_conf_free(pre);
			return 1;
		}
		fprintf(pf, "%d\n", (int)getpid());
		fclose(pf);
	}
	if (separate) {
		unsigned nw = pre->server.workers;
		if (!nw) {
			long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
			nw = ncpu > 0 ? (unsigned)ncpu : 1;
		}
		bool child = false;
		/* an agent applies each controller connection's commands on a
		 * channel of its own; one channel more for the epoch thread of
		 * external zones, one for the restart recovery (daemon/adopt.h) */
		unsigned nchan = nw + 6 + (role == FG_ROLE_AGENT ? FG_DIST_AGENT_MAX_CONNS : 0);
		rc = fg_privsep_fork(nchan, pre->nat.table ? pre->nat.table : "fluxgate", path, &child);
		if (!child) {
			dist_keys_free(dkeys, ndkeys);
			fg_conf_free(pre);
			if (pidfile[0])
				unlink(pidfile);
			if (rc < 0)
				log_err("privilege separation failed: %s", fg_strerror(rc));
			return rc < 0 ? 1 : rc;
		}
		if (rc < 0) {
			log_err("privilege separation failed: %s", fg_strerror(rc));
			fg_conf_free(pre);
			return 1;
		}
	}
	/* distributed mode: the links to the agents exist before the grant
	 * engine commits through them; the agent listener is bound now and
	 * serves once the privileges are dropped */
	fg_dist_hub_t *hub = NULL;
	fg_dist_agent_t *agent = NULL;
	if (role != FG_ROLE_STANDALONE) {
		char err[512] = "";
		if (role == FG_ROLE_CONTROLLER) {
			rc = fg_dist_hub_new(pre, dkeys, &hub, err, sizeof(err));
			if (rc == 0) {
				fg_dist_hub_bind(hub);
				the_hub = hub;
			}
		} else {
			rc = fg_dist_agent_new(pre, dkeys, separate ? &fg_nat_priv_ops
							    : fg_nat_ops_find(pre->nat.backend),
					       &agent, err, sizeof(err));
		}
		dist_keys_free(dkeys, ndkeys);
		if (rc < 0) {
			log_err("distributed mode: %s", err[0] ? err : fg_strerror(rc));
			fg_conf_free(pre);
			return 1;
		}
	}
	fg_conf_free(pre);

	fg_snapshot_t *snap = NULL;
	rc = build_snapshot(path, NULL, true, &d, &snap);
	if (rc < 0) {
		log_err("%s: configuration not loaded, exiting", path);
		return 1;
	}
	if (!verbose)
		fg_log_set_level(parse_level(snap->conf->log.level));

	fg_control_t *ctl = NULL;
	rc = control_dir(ctl_path, ctl_group);
	if (rc == 0)
		rc = fg_control_open(ctl_path, &ctl);
	if (rc == 0)
		rc = control_perms(ctl_path, ctl_group);
	if (rc < 0) {
		log_err("control socket %s: %s", ctl_path, fg_strerror(rc));
		fg_control_close(ctl);
		fg_snapshot_free(snap);
		return 1;
	}

	fg_server_t *srv = NULL;
	rc = fg_server_bind(snap, &srv);
	if (rc < 0) {
		log_err("cannot start: %s", fg_strerror(rc));
		fg_control_close(ctl);
		fg_snapshot_free(snap);
		return 1;
	}
	/* The NFLOG subscription needs CAP_NET_ADMIN to bind its group; the
	 * socket stays usable for receiving after the drop. */
	struct daemon_ctx dctx = { .srv = srv, .ctl = ctl, .start_time = (double)time(NULL) };
	if (separate && snap->grants && snap->conf->decoy.set && role != FG_ROLE_CONTROLLER) {
		rc = fg_nflog_open(FG_DECOY_NFLOG_GROUP, on_decoy, &dctx, &dctx.nflog);
		if (rc < 0)
			log_warn("decoy events disabled: NFLOG group %d: %s", FG_DECOY_NFLOG_GROUP,
				 fg_strerror(rc));
	}
	/* sockets are bound: nothing privileged is left to do on this side */
	if (separate) {
		rc = fg_privsep_drop(user_buf);
		if (rc < 0) {
			log_err("cannot drop privileges, refusing to serve: %s", fg_strerror(rc));
			fg_server_stop(srv);
			fg_control_close(ctl);
			return 1;
		}
	}
	/* threads start only now, after the drop, so they inherit it */
	if (snap->conf->log.file) {
		/* with privilege separation [priv] opens it: the directory
		 * need only be writable by root */
		int efd = -1;
		if (separate) {
			rc = fg_privsep_evlog_fd(&efd);
			if (rc == 0)
				rc = fg_evlog_adopt(snap->conf->log.file, efd, 0, &dctx.evlog);
		} else {
			rc = fg_evlog_open(snap->conf->log.file, 0, &dctx.evlog);
		}
		if (rc < 0) {
			log_err("event log %s: %s", snap->conf->log.file, fg_strerror(rc));
			fg_nflog_close(dctx.nflog);
			fg_server_stop(srv);
			fg_control_close(ctl);
			return 1;
		}
		fg_server_set_evlog(srv, dctx.evlog);
	}
	if (hub)
		rc = fg_dist_hub_start(hub);
	else if (agent)
		rc = fg_dist_agent_start(agent);
	if (rc < 0) {
		log_err("distributed mode: threads: %s", fg_strerror(rc));
		fg_server_stop(srv);
		fg_control_close(ctl);
		return 1;
	}
	rc = fg_server_run(srv);
	if (rc < 0) {
		log_err("cannot start workers: %s", fg_strerror(rc));
		fg_server_stop(srv);
		fg_control_close(ctl);
		return 1;
	}
	/* restart recovery while serving: the grants open to anyone that the
	 * kernel kept are adopted in the background (daemon/adopt.h) */
	fg_adopt_t *adopt = NULL;
	if (snap->grants && role != FG_ROLE_CONTROLLER) {
		rc = fg_adopt_start(snap->grants, &adopt);
		if (rc < 0)
			log_warn("restart recovery not started: %s (grants open to anyone from "
				 "before the restart are not counted until they expire)",
				 fg_strerror(rc));
	}
	/* the gauges feed only the metrics endpoint (metrics.listen needs a
	 * restart): without one, no dump of every set every 10 s (at 1M
	 * grants most of a core of [priv], taken from the grant path) */
	if (separate && snap->grants && role != FG_ROLE_CONTROLLER && snap->conf->metrics.set)
		dp_count_start(&dctx.dp);
	log_info("fluxgated %s ready (%zu zones, %zu services, control %s)", FG_VERSION,
		 snap->conf->nzones, snap->conf->nservices, ctl_path);

	struct reload_ctx rctx = { .path = path, .srv = srv, .evlog = dctx.evlog, .verbose = verbose };
	/* after the drop: the thread inherits it */
	if (snap->grants && ddns_runs(snap->conf)) {
		rc = fg_ddns_start(snap->conf, snap->grants, dctx.evlog, NULL, &rctx.ddns);
		if (rc < 0) {
			log_err("ddns: cannot start: %s", fg_strerror(rc));
			dp_count_stop(&dctx.dp);
			fg_server_stop(srv);
			fg_control_close(ctl);
			return 1;
		}
	}
	fg_control_env_t env = { .srv = srv, .reload = do_reload, .ctx = &rctx,
				 .start_time = (uint64_t)time(NULL), .evlog = dctx.evlog,
				 .hub = hub, .agent = agent, .ddns = &rctx.ddns };
	dctx.env = &env;
	dctx.reload = &rctx;
	fg_metrics_srv_t *msrv = NULL;
	if (snap->conf->metrics.set) {
		rc = fg_metrics_start((const struct sockaddr *)&snap->conf->metrics.listen.ss,
				      snap->conf->metrics.listen.len, collect, &dctx, &msrv);
		if (rc < 0)
			log_err("metrics endpoint: %s (metrics disabled)", fg_strerror(rc));
	}
	int sfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = sfd };
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	ev.data.fd = fg_control_fd(ctl);
	epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	if (fg_privsep_signal_fd() >= 0) {
		ev.data.fd = fg_privsep_signal_fd();
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (msrv) {
		ev.data.fd = fg_metrics_fd(msrv);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}
	if (dctx.nflog) {
		ev.data.fd = fg_nflog_fd(dctx.nflog);
		epoll_ctl(ep, EPOLL_CTL_ADD, ev.data.fd, &ev);
	}

	/* systemd: ready once the sockets are bound and the data plane is set
	 * up; the watchdog is fed from this loop at half its period */
	uint64_t wd_usec = 0;
	int wd_timeout = -1;
	if (sd_watchdog_enabled(0, &wd_usec) > 0 && wd_usec)
		wd_timeout = (int)(wd_usec / 2000u);
	/* the [priv] process stays systemd's main PID; the unit has
	 * NotifyAccess=all so this (DNS) process may notify */
	sd_notifyf(0, "READY=1\nSTATUS=serving %zu zones, %zu services",
		   snap->conf->nzones, snap->conf->nservices);

	bool running = sfd >= 0 && ep >= 0;
	while (running) {
		struct epoll_event evs[4];
		int n = epoll_wait(ep, evs, 4, wd_timeout);
		if (wd_timeout >= 0)
			sd_notify(0, "WATCHDOG=1");
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; i < n && running; i++) {
			if (evs[i].data.fd == fg_control_fd(ctl)) {
				fg_control_serve(ctl, &env);
				continue;
			}
			if (msrv && evs[i].data.fd == fg_metrics_fd(msrv)) {
				fg_metrics_dispatch(msrv);
				continue;
			}
			if (dctx.nflog && evs[i].data.fd == fg_nflog_fd(dctx.nflog)) {
				fg_nflog_dispatch(dctx.nflog);
				continue;
			}
			int signo = 0;
			if (evs[i].data.fd == sfd) {
				struct signalfd_siginfo si;
				if (read(sfd, &si, sizeof(si)) != (ssize_t)sizeof(si))
					continue;
				signo = (int)si.ssi_signo;
			} else {
				uint8_t b;
				ssize_t k = read(evs[i].data.fd, &b, 1);
				signo = k == 1 ? b : SIGTERM;   /* EOF: [priv] is gone */
			}
			if (signo == SIGTERM || signo == SIGINT) {
				log_info("signal %d: stopping", signo);
				running = false;
			} else if (signo == SIGHUP) {
				char err[256];
				do_reload(&rctx, err, sizeof(err));
			} else if (signo == SIGUSR1 && dctx.evlog) {
				/* logrotate moved the file: write to a new one */
				if (separate) {
					int efd = -1;
					rc = fg_privsep_evlog_fd(&efd);
					rc = fg_evlog_reopen_fd(dctx.evlog, rc < 0 ? rc : efd);
				} else {
					rc = fg_evlog_reopen(dctx.evlog);
				}
				if (rc < 0)
					log_err("event log reopen: %s", fg_strerror(rc));
			}
		}
	}
	sd_notify(0, "STOPPING=1");
	if (ep >= 0)
		close(ep);
	if (sfd >= 0)
		close(sfd);
	fg_metrics_stop(msrv);
	fg_adopt_stop(adopt);
	fg_ddns_free(rctx.ddns);
	dp_count_stop(&dctx.dp);
	fg_control_close(ctl);
	/* before the server: closing NFLOG still delivers queued packets to
	 * on_decoy, which reads the server's snapshot */
	fg_nflog_close(dctx.nflog);
	fg_server_stop(srv);
	fg_dist_hub_free(hub);
	fg_dist_agent_free(agent);
	fg_evlog_close(dctx.evlog);
	if (pidfile[0] && !separate)
		unlink(pidfile);
	log_info("stopped");
	return 0;
}

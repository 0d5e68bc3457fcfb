/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/control.h"
#include "daemon/ddns.h"
#include "dns/dnssec/signer.h"
#include "dns/zone.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "ctl/proto.h"
#include "daemon/grantpage.h"
#include "grant/engine.h"

/* A client gets CTL_REQUEST_MS from accept to a complete request and
 * CTL_REPLY_MS to take its reply; at most CTL_MAX_CONNS are open at once. */
#define CTL_REQUEST_MS 5000u
#define CTL_REPLY_MS   5000u
#define CTL_MAX_CONNS  64u

/* inner epoll user data: 0 the listener, 1 the timer, 2+i connection i */
#define CTL_EV_LISTEN 0u
#define CTL_EV_TIMER  1u
#define CTL_EV_CONN   2u
#define CTL_EV_JOB    (CTL_EV_CONN + CTL_MAX_CONNS)   /* the dump thread's eventfd */

/* CTL_DUMPING: waiting for the grants dump thread, out of the epoll set
 * (a hang-up would otherwise be reported on every round) and without a
 * deadline (the kernel read takes as long as it takes). */
enum ctl_state { CTL_FREE = 0, CTL_READING, CTL_WRITING, CTL_DUMPING };

/* One client: reads a request into `in`, then writes `out` and closes. */
struct ctl_conn {
	int fd;
	enum ctl_state state;
	uint64_t accepted_ms;      /* eviction order: oldest unfinished first */
	uint64_t deadline_ms;
	uint32_t got, need;        /* octets in `in`, octets wanted so far */
	uint8_t in[FG_CTL_HDRLEN + FG_CTL_REQ_MAX + 1];
	uint8_t *out;              /* owned; header + JSON */
	size_t outlen, outoff;
};

/* One `grants` request in flight: the kernel read runs on a thread of its
 * own so the main loop, signals and the watchdog go on meanwhile. The thread
 * touches only this struct and its NAT handle (opened, with a copy of the
 * config, by the main thread): never the snapshot, which a reload may free
 * during the dump. Filters by client and cursor run on the thread; the
 * service filter and the page cut run on the main thread afterwards, against
 * the snapshot current then (cheap: a walk of the sorted grants). */
struct grants_job {
	bool running;              /* thread started and not yet joined */
	pthread_t th;
	unsigned conn;             /* index of the waiting connection */
	const fg_nat_ops_t *ops;
	fg_nat_t *nat;             /* owned by the thread until it is joined */
	int cfam;                  /* client filter family, 0: none */
	uint8_t caddr[16];
	bool has_after;
	fg_grant_t after;          /* cursor key: keep grants past it */
	bool count;                /* reply the number only */
	bool by_counts;            /* count without filters: the backend's
				    * element counts, no read of every grant */
	fg_nat_counts_t counts;    /* result of by_counts */
	unsigned limit;
	char service[128];         /* service filter, "" for all */
	fg_grant_t *v;             /* result: matching grants, sorted; owned */
	size_t n, cap;
	int rc;
};

struct fg_control {
	int fd;
	int ep;                    /* inner epoll: listener, timer, clients */
	int tfd;                   /* timerfd armed at the earliest deadline */
	char *path;
	uint64_t errors, refused, timeouts;
	uint64_t refused_warned_ms, timeout_warned_ms;   /* log rate limits */
	struct ctl_conn conns[CTL_MAX_CONNS];
	int jfd;                   /* eventfd: the dump thread is done */
	struct grants_job job;
};

static int ctl_loop_init(fg_control_t *ctl);

int fg_control_open(const char *path, fg_control_t **out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	if (strlen(path) >= sizeof(sun.sun_path))
		return -ENAMETOOLONG;
	strcpy(sun.sun_path, path);
	fg_control_t *ctl = calloc(1, sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	ctl->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ctl->path = strdup(path);
	if (ctl->fd < 0 || !ctl->path)
		goto fail;
	/* a stale socket from a killed daemon: replace it, but never a live
	 * one (a second daemon would steal the first one's control) */
	int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&sun, sizeof(sun)) == 0) {
			close(probe);
			errno = EADDRINUSE;
			goto fail;
		}
		close(probe);
	}
	unlink(path);
	mode_t old = umask(0117);          /* socket file mode 0660 */
	int rc = bind(ctl->fd, (struct sockaddr *)&sun, sizeof(sun));
	umask(old);
	if (rc < 0 || listen(ctl->fd, 16) < 0)
		goto fail;
	if ((rc = ctl_loop_init(ctl)) < 0) {
		errno = -rc;
		goto fail;
	}
	*out = ctl;
	return 0;
fail:;
	int e = errno;
	if (ctl->fd >= 0)
		close(ctl->fd);
	free(ctl->path);
	free(ctl);
	return -e;
}

static uint64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The listener and the deadline timer go into an epoll set of their own,
 * whose fd is what the main loop polls: clients never touch the main loop's
 * set and never block it. Cleans up after itself on failure. */
static int ctl_loop_init(fg_control_t *ctl)
{
	ctl->jfd = -1;
	ctl->ep = epoll_create1(EPOLL_CLOEXEC);
	ctl->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = CTL_EV_LISTEN };
	if (ctl->ep < 0 || ctl->tfd < 0 || epoll_ctl(ctl->ep, EPOLL_CTL_ADD, ctl->fd, &ev) < 0)
		goto fail;
	ev.data.u32 = CTL_EV_TIMER;
	if (epoll_ctl(ctl->ep, EPOLL_CTL_ADD, ctl->tfd, &ev) < 0)
		goto fail;
	ctl->jfd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ev.data.u32 = CTL_EV_JOB;
	if (ctl->jfd < 0 || epoll_ctl(ctl->ep, EPOLL_CTL_ADD, ctl->jfd, &ev) < 0)
		goto fail;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		ctl->conns[i].fd = -1;
	return 0;
fail:;
	int e = errno;
	if (ctl->ep >= 0)
		close(ctl->ep);
	if (ctl->tfd >= 0)
		close(ctl->tfd);
	if (ctl->jfd >= 0)
		close(ctl->jfd);
	return -e;
}

int fg_control_fd(const fg_control_t *ctl)
{
	return ctl->ep;
}

uint64_t fg_control_errors(const fg_control_t *ctl)
{
	return ctl->errors;
}

uint64_t fg_control_refused(const fg_control_t *ctl)
{
	return ctl->refused;
}

uint64_t fg_control_timeouts(const fg_control_t *ctl)
{
	return ctl->timeouts;
}

/* A flood of clients must not flood the log too: one line per 10 s per
 * kind, the counters have the totals. */
static bool warn_now(uint64_t *last_ms)
{
	uint64_t now = mono_ms();
	if (*last_ms && now - *last_ms < 10000)
		return false;
	*last_ms = now;
	return true;
}

static void conn_close(fg_control_t *ctl, struct ctl_conn *c)
{
	if (c->state == CTL_FREE)
		return;
	epoll_ctl(ctl->ep, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	free(c->out);
	c->out = NULL;
	c->outlen = c->outoff = 0;
	c->fd = -1;
	c->state = CTL_FREE;
}

void fg_control_close(fg_control_t *ctl)
{
	if (!ctl)
		return;
	if (ctl->job.running) {
		/* the dump cannot be interrupted; it ends with the kernel read */
		pthread_join(ctl->job.th, NULL);
		ctl->job.running = false;
	}
	free(ctl->job.v);
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++)
		conn_close(ctl, &ctl->conns[i]);
	close(ctl->jfd);
	close(ctl->tfd);
	close(ctl->ep);
	close(ctl->fd);
	unlink(ctl->path);
	free(ctl->path);
	free(ctl);
}

/* Queue `obj` as the connection's reply (sent by conn_flush). With no
 * memory for it the connection is closed unanswered. */
static void send_json(struct ctl_conn *c, uint16_t status, json_t *obj)
{
	char *text = obj ? json_dumps(obj, JSON_COMPACT) : NULL;
	size_t len = text ? strlen(text) : 0;
	free(c->out);
	c->outoff = 0;
	c->out = malloc(FG_CTL_HDRLEN + len);
	c->outlen = c->out ? FG_CTL_HDRLEN + len : 0;
	if (c->out) {
		fg_ctl_put_hdr(c->out, FG_CTL_RESPONSE, status, (uint32_t)len);
		if (len)
			memcpy(c->out + FG_CTL_HDRLEN, text, len);
	}
	free(text);
}

static void send_error(struct ctl_conn *c, int code, const char *fmt, const char *arg)
{
	char msg[256];
	snprintf(msg, sizeof(msg), fmt, arg ? arg : "");
	json_t *o = json_pack("{s:s}", "error", msg);
	send_json(c, (uint16_t)(code < 0 ? -code : code), o);
	json_decref(o);
}

static int parse_ip(const char *s, int *family, uint8_t addr[16])
{
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, s, addr) == 1) {
		*family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, s, addr) == 1) {
		*family = AF_INET6;
		return 0;
	}
	return -EINVAL;
}

static const char *scope_name(int s)
{
	static const char *const n[] = { "client", "net", "any" };
	return s >= 0 && s < 3 ? n[s] : "?";
}

/* ---- command handlers ------------------------------------------------- */

static json_t *worker_totals(const fg_server_t *srv)
{
	uint64_t qu = 0, qt = 0, drop = 0, tc = 0, svc = 0, gf = 0, ta = 0, tr = 0, ti = 0;
	uint64_t rc[24] = { 0 }, noaddr[FG_NOADDR_COUNT] = { 0 }, piped = 0;
	for (unsigned i = 0; i < fg_server_nworkers(srv); i++) {
		const fg_worker_stats_t *s = fg_server_worker_stats(srv, i);
		for (int k = 0; k < FG_NOADDR_COUNT; k++)
			noaddr[k] += s->grant_noaddr[k];
		piped += s->grant_pipelined;
		qu += s->queries_udp;
		qt += s->queries_tcp;
		drop += s->dropped;
		tc += s->truncated;
		svc += s->service_answers;
		gf += s->grant_failures;
		ta += s->tcp_accepted;
		tr += s->tcp_rejected;
		ti += s->tcp_idle_closed;
		for (int k = 0; k < 24; k++)
			rc[k] += s->rcode[k];
	}
	json_t *rcodes = json_pack("{sI sI sI sI sI sI sI}",
				   "NOERROR", (json_int_t)rc[0], "FORMERR", (json_int_t)rc[1],
				   "SERVFAIL", (json_int_t)rc[2], "NXDOMAIN", (json_int_t)rc[3],
				   "NOTIMP", (json_int_t)rc[4], "REFUSED", (json_int_t)rc[5],
				   "BADVERS", (json_int_t)rc[16]);
	json_t *causes = json_object();
	for (unsigned k = 0; k < FG_NOADDR_COUNT; k++)
		json_object_set_new(causes, fg_grant_noaddr_name(k), json_integer((json_int_t)noaddr[k]));
	return json_pack("{sI sI sI sI sI sI so sI sI sI sI so}",
			 "queries_udp", (json_int_t)qu, "queries_tcp", (json_int_t)qt,
			 "dropped", (json_int_t)drop, "truncated", (json_int_t)tc,
			 "granted_answers", (json_int_t)svc, "grant_failures", (json_int_t)gf,
			 "noaddr_by_cause", causes, "grant_pipelined", (json_int_t)piped,
			 "tcp_accepted", (json_int_t)ta, "tcp_rejected", (json_int_t)tr,
			 "tcp_idle_closed", (json_int_t)ti, "rcodes", rcodes);
}

static void pool_to_json(void *ctx, const char *id, int family, uint64_t size, uint64_t open)
{
	json_array_append_new((json_t *)ctx,
			      json_pack("{ss ss sI sI}", "id", id,
					"family", family == AF_INET ? "ipv4" : "ipv6",
					"size", (json_int_t)(size > INT64_MAX ? INT64_MAX : size),
					"open", (json_int_t)open));
}

/* Distributed mode: every agent's link (controller) or every controller's
 * session (agent): state, sequence numbers, lag. */
static json_t *dist_status(const fg_control_env_t *env)
{
	json_t *arr = json_array();
	for (size_t i = 0; env->hub && i < fg_dist_hub_nagents(env->hub); i++) {
		fg_dist_agent_status_t st;
		if (fg_dist_hub_status(env->hub, i, &st) < 0)
			continue;
		uint64_t n = st.lat_bucket[FG_DIST_LAT_BUCKETS];
		for (size_t b = 0; b < FG_DIST_LAT_BUCKETS; b++)
			n += st.lat_bucket[b];
		json_array_append_new(arr, json_pack("{ss ss ss sI sI sI sI sI sI sI sI sI sf ss}",
			"id", st.id, "address", st.address, "state", fg_dist_link_state_name(st.state),
			"sent", (json_int_t)st.sent, "acked", (json_int_t)st.acked,
			"lag", (json_int_t)st.lag, "timeouts", (json_int_t)st.timeouts,
			"refused", (json_int_t)st.refused, "connects", (json_int_t)st.connects,
			"handshake_failures", (json_int_t)st.handshake_failures,
			"replayed", (json_int_t)st.replayed, "pair_queued", (json_int_t)st.pair_queued,
			"ack_mean_seconds", n ? (double)st.lat_sum_ns / 1e9 / (double)n : 0.0,
			"last_error", st.last_error));
		json_object_set_new(json_array_get(arr, json_array_size(arr) - 1), "reconcile",
			json_pack("{sI sI sI sI sI sI sI sI}", "runs", (json_int_t)st.recon_runs,
				  "buckets_compared", (json_int_t)st.recon_buckets,
				  "buckets_differing", (json_int_t)st.recon_differing,
				  "grants_sent", (json_int_t)st.recon_sent,
				  "grants_revoked", (json_int_t)st.recon_revoked,
				  "grants_learnt", (json_int_t)st.recon_adopted,
				  "generation", (json_int_t)st.generation,
				  "grants", (json_int_t)st.view_grants));
	}
	for (size_t i = 0; env->agent && i < fg_dist_agent_npeers(env->agent); i++) {
		fg_dist_peer_status_t p;
		if (fg_dist_agent_peer(env->agent, i, &p) < 0)
			continue;
		json_array_append_new(arr, json_pack("{ss sb sI sI}", "id", p.id, "connected",
			p.connected, "last_seq", (json_int_t)p.last_seq, "commands", (json_int_t)p.commands));
	}
	return arr;
}

static void ddns_zone_to_json(void *ctx, const char *zone, const char *server,
			      const char *last, uint64_t published, uint64_t failed,
			      bool has_serial, uint32_t serial)
{
	json_t *o = json_pack("{ss ss ss sI sI}", "zone", zone, "server", server, "last", last,
			      "published", (json_int_t)published, "failed", (json_int_t)failed);
	if (o && has_serial)
		json_object_set_new(o, "serial", json_integer((json_int_t)serial));
	json_array_append_new(ctx, o);
}

static json_t *cmd_status(const fg_control_env_t *env)
{
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	json_t *svcs = json_array();
	for (size_t i = 0; i < snap->conf->nservices; i++)
		json_array_append_new(svcs, json_pack("{ss ss}", "id", snap->conf->services[i].id,
						      "name", snap->conf->services[i].name));
	json_t *zones = json_array();
	for (size_t i = 0; i < snap->conf->nzones; i++)
		json_array_append_new(zones, json_string(snap->conf->zones[i].domain));
	json_t *pools = json_array();
	if (snap->grants)
		fg_grant_engine_pools(snap->grants, pool_to_json, pools);
	time_t now = time(NULL);
	static const char *const roles[] = { "standalone", "controller", "agent" };
	json_t *o = json_pack("{ss ss sI si so so so ss ss}",
			 "version", "0.1.0", "config", snap->conf->path ? snap->conf->path : "",
			 "uptime_seconds", (json_int_t)(now - (time_t)env->start_time),
			 "workers", (int)fg_server_nworkers(env->srv),
			 "zones", zones, "services", svcs, "pools", pools,
			 "nat", snap->grants ? fg_grant_engine_ops(snap->grants)->name : "none",
			 "role", roles[snap->conf->role % 3]);
	if (o && env->hub)
		json_object_set_new(o, "agents", dist_status(env));
	if (o && env->agent)
		json_object_set_new(o, "controllers", dist_status(env));
	if (o && env->ddns && *env->ddns) {
		json_t *ext = json_array();
		fg_ddns_zones(*env->ddns, ddns_zone_to_json, ext);
		json_object_set_new(o, "external", ext);
	}
	return o;
}

static json_t *cmd_stats(const fg_control_env_t *env)
{
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	json_t *o = json_pack("{so}", "dns", worker_totals(env->srv));
	if (snap->db) {
		/* signature counters of the signed zones (0 when none) */
		fg_signer_stats_t st;
		fg_zonedb_signer_stats(snap->db, &st);
		json_object_set_new(o, "dnssec",
				    json_pack("{sI sI sI sI sI}",
					      "signatures", (json_int_t)st.signatures,
					      "static_cached", (json_int_t)st.static_hits,
					      "static_signed", (json_int_t)st.static_misses,
					      "address_cached", (json_int_t)st.addr_hits,
					      "address_signed", (json_int_t)st.addr_misses));
	}
	if (snap->grants) {
		fg_grant_counters_t gc;
		fg_grant_engine_counters_get(snap->grants, &gc);
		json_object_set_new(o, "grants",
				    json_pack("{sI sI sI sI sI sI sI sI sI}",
					      "client", (json_int_t)gc.grants[0],
					      "net", (json_int_t)gc.grants[1],
					      "any", (json_int_t)gc.grants[2],
					      "forced_reuse", (json_int_t)gc.forced_reuse,
					      "commit_failures", (json_int_t)gc.commit_failures,
					      "commit_servfail", (json_int_t)gc.commit_servfail,
					      "anyone_source_bound", (json_int_t)gc.anyone_source_reuse,
					      "exact_source_bound", (json_int_t)gc.exact_quota_reuse,
					      "ecs_ignored", (json_int_t)gc.ecs_ignored));
		/* the budget of grants to unverified askers (grant/budget.h) */
		json_t *g = json_object_get(o, "grants");
		uint64_t limit = 0, tc = 0;
		uint64_t live = fg_server_unverified_live(env->srv, &limit);
		for (unsigned i = 0; i < fg_server_nworkers(env->srv); i++)
			tc += fg_server_worker_stats(env->srv, i)->budget_truncated;
		json_object_set_new(g, "unverified_live", json_integer((json_int_t)live));
		json_object_set_new(g, "unverified_limit", json_integer((json_int_t)limit));
		json_object_set_new(g, "unverified_truncated", json_integer((json_int_t)tc));
		json_t *pools = json_array();
		fg_grant_engine_pools(snap->grants, pool_to_json, pools);
		json_object_set_new(o, "pools", pools);
	}
	return o;
}

static bool client_matches(const fg_grant_t *g, int fam, const uint8_t *a)
{
	if (g->scope == FG_SCOPE_ANY)
		return true;
	if (g->family != fam)
		return false;
	unsigned bits = g->client_plen, i = 0;
	for (; bits >= 8; bits -= 8, i++)
		if (g->client[i] != a[i])
			return false;
	if (bits) {
		uint8_t m = (uint8_t)(0xff << (8 - bits));
		if ((g->client[i] & m) != (a[i] & m))
			return false;
	}
	return true;
}

static json_t *grant_to_json(const fg_grant_t *g)
{
	char a[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN], cl[INET6_ADDRSTRLEN + 8];
	inet_ntop(g->family, g->addr, a, sizeof(a));
	inet_ntop(g->family, g->backend, b, sizeof(b));
	if (g->scope == FG_SCOPE_ANY) {
		strcpy(cl, "*");
	} else {
		inet_ntop(g->family, g->client, cl, sizeof(cl) - 8);
		snprintf(cl + strlen(cl), 8, "/%u", g->client_plen);
	}
	return json_pack("{ss ss ss ss sI}", "scope", scope_name(g->scope), "client", cl,
			 "address", a, "backend", b, "expires_ms", (json_int_t)g->timeout_ms);
}

/* ---- the grants dump thread ------------------------------------------- */

/* Dump callback (on the thread): keep what passes the client filter and
 * lies past the cursor. Out of memory is remembered and fails the job. */
static void job_collect(void *vjob, const fg_grant_t *g)
{
	struct grants_job *j = vjob;
	if (j->rc < 0)
		return;
	if (j->cfam && !client_matches(g, j->cfam, j->caddr))
		return;
	if (j->has_after && fg_grant_key_cmp(g, &j->after) <= 0)
		return;
	if (j->n == j->cap) {
		size_t cap = j->cap ? j->cap * 2 : 1024;
		fg_grant_t *v = realloc(j->v, cap * sizeof(*v));
		if (!v) {
			j->rc = -ENOMEM;
			return;
		}
		j->v = v;
		j->cap = cap;
	}
	j->v[j->n++] = *g;
}

static void *job_run(void *arg)
{
	fg_control_t *ctl = arg;
	struct grants_job *j = &ctl->job;
	int rc = j->by_counts ? j->ops->count(j->nat, &j->counts)
			      : j->ops->dump(j->nat, job_collect, j);
	j->ops->close(j->nat);
	j->nat = NULL;
	if (rc < 0 && j->rc == 0)
		j->rc = rc;
	if (j->rc == 0)
		fg_grant_sort(j->v, j->n);
	uint64_t one = 1;
	/* the main thread joins on this signal: the join orders our writes */
	if (write(ctl->jfd, &one, sizeof(one)) < 0)
		log_err("control: grants dump: eventfd: %s", strerror(errno));
	return NULL;
}

static long service_index(const fg_snapshot_t *snap, const char *id)
{
	for (size_t i = 0; i < snap->conf->nservices; i++)
		if (!strcmp(snap->conf->services[i].id, id) ||
		    !strcasecmp(snap->conf->services[i].name, id))
			return (long)i;
	return -1;
}

static int with_nat(const fg_snapshot_t *snap, fg_nat_t **nat)
{
	if (!snap->grants)
		return -ENOENT;
	const fg_nat_ops_t *ops = fg_grant_engine_ops(snap->grants);
	return ops->open(fg_grant_engine_natcfg(snap->grants), nat);
}

/* Check a grants request and start its dump thread; the reply comes from
 * grants_finish(). Errors are replied at once. One dump at a time: a second
 * request meanwhile gets EBUSY (fluxctl says to retry). */
static void grants_start(fg_control_t *ctl, struct ctl_conn *conn, const fg_snapshot_t *snap,
			 const char **args, int nargs)
{
	struct grants_job *j = &ctl->job;
	if (j->running) {
		send_error(conn, EBUSY, "a grants dump is running already; retry when it is done%s", "");
		return;
	}
	free(j->v);
	memset(j, 0, sizeof(*j));
	j->limit = FG_GRANT_PAGE_DEFAULT;
	if (nargs % 2) {
		ctl->errors++;
		send_error(conn, EINVAL, "grants: argument '%s' has no value", args[nargs - 1]);
		return;
	}
	for (int i = 0; i + 1 < nargs; i += 2) {
		const char *k = args[i], *v = args[i + 1];
		char why[96];
		if (!strcmp(k, "service")) {
			if (service_index(snap, v) < 0 || strlen(v) >= sizeof(j->service)) {
				send_error(conn, ENOENT, "no service '%s'", v);
				return;
			}
			strcpy(j->service, v);
		} else if (!strcmp(k, "client")) {
			if (parse_ip(v, &j->cfam, j->caddr) < 0) {
				send_error(conn, EINVAL, "invalid client address '%s'", v);
				return;
			}
		} else if (!strcmp(k, "limit")) {
			if (fg_grant_limit_parse(v, &j->limit) < 0) {
				ctl->errors++;
				send_error(conn, EINVAL, "invalid limit '%s' (1 to 10000)", v);
				return;
			}
		} else if (!strcmp(k, "after")) {
			if (fg_grant_cursor_decode(v, &j->after, why, sizeof(why)) < 0) {
				char msg[160];
				ctl->errors++;
				snprintf(msg, sizeof(msg), "invalid cursor: %s", why);
				send_error(conn, EINVAL, "%s", msg);
				return;
			}
			j->has_after = true;
		} else if (!strcmp(k, "count")) {
			j->count = true;
		} else {
			ctl->errors++;
			send_error(conn, EINVAL, "grants: unknown argument '%s'", k);
			return;
		}
	}
	int rc = with_nat(snap, &j->nat);
	if (rc < 0) {
		send_error(conn, rc, "no data plane: %s", fg_strerror(rc));
		return;
	}
	j->ops = fg_grant_engine_ops(snap->grants);
	/* An unfiltered count needs no grant read back: the backend counts
	 * the elements of its maps (nft: the kernel's own figure for a big
	 * map, one request instead of a walk quadratic in its size). */
	j->by_counts = j->count && !j->cfam && !j->has_after && !j->service[0] && j->ops->count;
	j->conn = (unsigned)(conn - ctl->conns);
	/* the thread takes no signals: they stay the main loop's (signalfd) */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	rc = pthread_create(&j->th, NULL, job_run, ctl);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		j->ops->close(j->nat);
		j->nat = NULL;
		send_error(conn, -rc, "cannot start the grants dump: %s", strerror(rc));
		return;
	}
	j->running = true;
	conn->state = CTL_DUMPING;
	conn->deadline_ms = 0;
	epoll_ctl(ctl->ep, EPOLL_CTL_DEL, conn->fd, NULL);
}

/* The reply of a finished dump (main thread): the service filter against the
 * current snapshot, then the count or the page and its "next" cursor. */
static void grants_reply(fg_control_t *ctl, struct ctl_conn *conn, fg_control_env_t *env)
{
	struct grants_job *j = &ctl->job;
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	long svc = -1;
	if (j->rc < 0) {
		send_error(conn, j->rc, "reading grants failed: %s", fg_strerror(j->rc));
		return;
	}
	if (j->service[0] && (!snap->grants || (svc = service_index(snap, j->service)) < 0)) {
		send_error(conn, ENOENT, "no service '%s' (reloaded during the dump)", j->service);
		return;
	}
	json_t *res;
	if (j->count) {
		uint64_t by[3] = { 0 };
		for (int k = 0; j->by_counts && k < 3; k++)
			by[k] = j->counts.grants[k];
		for (size_t i = 0; i < j->n; i++) {
			const fg_grant_t *g = &j->v[i];
			if (svc < 0 || fg_grant_engine_service_has(snap->grants, (uint32_t)svc,
								   g->family, g->addr))
				by[g->scope < 3 ? g->scope : 2]++;
		}
		res = json_pack("{s{sI sI sI sI}}", "count", "client", (json_int_t)by[0],
				"net", (json_int_t)by[1], "any", (json_int_t)by[2],
				"total", (json_int_t)(by[0] + by[1] + by[2]));
	} else {
		json_t *arr = json_array();
		const fg_grant_t *last = NULL;
		bool more = false;
		unsigned taken = 0;
		for (size_t i = 0; i < j->n; i++) {
			const fg_grant_t *g = &j->v[i];
			if (svc >= 0 && !fg_grant_engine_service_has(snap->grants, (uint32_t)svc,
								     g->family, g->addr))
				continue;
			if (taken == j->limit) {
				more = true;
				break;
			}
			json_array_append_new(arr, grant_to_json(g));
			last = g;
			taken++;
		}
		res = json_pack("{so}", "grants", arr);
		if (more) {
			char cur[FG_GRANT_CURSOR_LEN + 1];
			fg_grant_cursor_encode(last, cur);
			json_object_set_new(res, "next", json_string(cur));
		} else {
			json_object_set_new(res, "next", json_null());
		}
	}
	send_json(conn, 0, res);
	json_decref(res);
}

static void handle(struct ctl_conn *conn, fg_control_env_t *env, unsigned cmd,
		   const char **args, int nargs, fg_control_t *ctl)
{
	const fg_snapshot_t *snap = fg_server_snapshot(env->srv);
	json_t *res = NULL;
	fg_nat_t *nat = NULL;
	int rc;

	switch (cmd) {
	case FG_CTL_STATUS:
		res = cmd_status(env);
		break;
	case FG_CTL_STATS:
		res = cmd_stats(env);
		break;
	case FG_CTL_GRANTS:
		grants_start(ctl, conn, snap, args, nargs);
		return;
	case FG_CTL_QUARANTINE:
	case FG_CTL_RELEASE: {
		int fam;
		uint8_t a[16];
		uint32_t ms = 0;
		if (nargs < 1 || parse_ip(args[0], &fam, a) < 0) {
			send_error(conn, EINVAL, "expected an IPv4 or IPv6 address, got '%s'",
				   nargs ? args[0] : "");
			return;
		}
		if (cmd == FG_CTL_QUARANTINE && nargs >= 2 && fg_conf_parse_time_ms(args[1], &ms) < 0) {
			send_error(conn, EINVAL, "invalid duration '%s'", args[1]);
			return;
		}
		if ((rc = with_nat(snap, &nat)) < 0) {
			send_error(conn, rc, "no data plane: %s", fg_strerror(rc));
			return;
		}
		const fg_nat_ops_t *ops = fg_grant_engine_ops(snap->grants);
		rc = cmd == FG_CTL_QUARANTINE ? ops->quarantine(nat, fam, a, ms)
					      : ops->release(nat, fam, a);
		ops->close(nat);
		if (rc < 0) {
			send_error(conn, rc, "%s", fg_strerror(rc));
			return;
		}
		if (cmd == FG_CTL_QUARANTINE) {
			env->quarantines++;
			fg_evlog_quarantine(env->evlog, fam, a, ms, "fluxctl");
		} else {
			env->releases++;
			fg_evlog_release(env->evlog, fam, a, "fluxctl");
		}
		log_info("%s %s%s%s", cmd == FG_CTL_QUARANTINE ? "quarantined" : "released",
			 args[0], nargs >= 2 ? " for " : "", nargs >= 2 ? args[1] : "");
		res = json_pack("{ss ss sI}", "action", fg_ctl_cmd_name(cmd), "address", args[0],
				"timeout_ms", (json_int_t)ms);
		break;
	}
	case FG_CTL_ROTATE: {
		long s = nargs >= 1 ? service_index(snap, args[0]) : -1;
		if (s < 0 || !snap->grants) {
			send_error(conn, ENOENT, "no service '%s'", nargs ? args[0] : "");
			return;
		}
		rc = fg_grant_engine_rotate(snap->grants, (uint32_t)s);
		log_info("rotate %s: %d resolver entries forgotten", args[0], rc);
		res = json_pack("{ss si}", "service", snap->conf->services[s].id, "forgotten", rc);
		break;
	}
	case FG_CTL_RELOAD: {
		char err[256] = "";
		rc = env->reload(env->ctx, err, sizeof(err));
		if (rc < 0) {
			send_error(conn, rc, "reload failed: %s", err);
			return;
		}
		/* on success err names the keys that wait for a restart */
		res = err[0] ? json_pack("{sb ss}", "reloaded", 1, "restart_needed", err)
			     : json_pack("{sb}", "reloaded", 1);
		break;
	}
	default:
		ctl->errors++;
		send_error(conn, EOPNOTSUPP, "unknown command %s", "");
		return;
	}
	send_json(conn, 0, res);
	json_decref(res);
}

/* The request in c->in is complete: check it and queue its reply. */
static void conn_request(fg_control_t *ctl, struct ctl_conn *c, fg_control_env_t *env,
			 const fg_ctl_hdr_t *h)
{
	const uint8_t *payload = c->in + FG_CTL_HDRLEN;
	const char *args[FG_CTL_MAX_ARGS];
	int nargs = fg_ctl_decode_args(payload, h->length, args);
	if (nargs < 0) {
		ctl->errors++;
		send_error(c, nargs, "malformed arguments: %s", fg_strerror(nargs));
		return;
	}
	if (!fg_ctl_cmd_name(h->code)) {
		ctl->errors++;
		char num[16];
		snprintf(num, sizeof(num), "%u", h->code);
		send_error(c, EOPNOTSUPP, "unknown command %s", num);
		return;
	}
	handle(c, env, h->code, args, nargs, ctl);
}

/* Read what is there; once the request is whole, queue the reply. Returns
 * <0 when the connection is to be closed now. */
static int conn_read(fg_control_t *ctl, struct ctl_conn *c, fg_control_env_t *env)
{
	for (;;) {
		ssize_t k = recv(c->fd, c->in + c->got, c->need - c->got, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
			ctl->errors++;
			log_warn("control: truncated request (%u octets, %s)", c->got,
				 k == 0 ? "closed by the client" : strerror(errno));
			return -1;
		}
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return 0;          /* EAGAIN: wait for more */
		}
		c->got += (uint32_t)k;
		if (c->got < c->need)
			continue;
		fg_ctl_hdr_t h;
		int rc = fg_ctl_parse_hdr(c->in, FG_CTL_HDRLEN, FG_CTL_REQUEST, &h);
		if (rc < 0) {
			ctl->errors++;
			log_warn("control: rejected request: %s", fg_strerror(rc));
			if (rc == -FG_EVERSION)
				send_error(c, rc, "unsupported protocol version (this daemon speaks %s)", "1");
			else if (rc == -EMSGSIZE)
				send_error(c, rc, "request too large (limit %s octets)", "4096");
			else
				send_error(c, rc, "malformed request header%s", "");
			return 1;
		}
		if (c->need == FG_CTL_HDRLEN && h.length) {
			c->need += h.length;   /* <= FG_CTL_REQ_MAX: checked above */
			continue;
		}
		conn_request(ctl, c, env, &h);
		return 1;
	}
}

/* Send what the socket takes. Returns 1 when all is out, 0 when it must
 * wait, <0 on error. */
static int conn_write(struct ctl_conn *c)
{
	while (c->outoff < c->outlen) {
		ssize_t k = send(c->fd, c->out + c->outoff, c->outlen - c->outoff,
				 MSG_NOSIGNAL | MSG_DONTWAIT);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
		}
		c->outoff += (size_t)k;
	}
	return 1;
}

/* Start sending the queued reply; `op` puts the fd into the epoll set
 * (EPOLL_CTL_MOD) or back into it (EPOLL_CTL_ADD, after a dump). */
static void conn_reply(fg_control_t *ctl, struct ctl_conn *c, int op)
{
	if (!c->out) {
		conn_close(ctl, c);
		return;
	}
	c->state = CTL_WRITING;
	c->deadline_ms = mono_ms() + CTL_REPLY_MS;
	if (conn_write(c) != 0) {
		conn_close(ctl, c);
		return;
	}
	struct epoll_event ev = { .events = EPOLLOUT,
				  .data.u32 = CTL_EV_CONN + (uint32_t)(c - ctl->conns) };
	if (epoll_ctl(ctl->ep, op, c->fd, &ev) < 0)
		conn_close(ctl, c);
}

/* The dump thread signalled: join it and reply to its connection. */
static void grants_finish(fg_control_t *ctl, fg_control_env_t *env)
{
	uint64_t ticks;
	if (read(ctl->jfd, &ticks, sizeof(ticks)) < 0 || !ctl->job.running)
		return;
	pthread_join(ctl->job.th, NULL);
	ctl->job.running = false;
	struct ctl_conn *c = &ctl->conns[ctl->job.conn];
	if (c->state == CTL_DUMPING) {
		grants_reply(ctl, c, env);
		conn_reply(ctl, c, EPOLL_CTL_ADD);
	}
	free(ctl->job.v);
	ctl->job.v = NULL;
	ctl->job.n = ctl->job.cap = 0;
}

/* Drive one connection after an event; closes it when it is done. */
static void conn_step(fg_control_t *ctl, struct ctl_conn *c, fg_control_env_t *env)
{
	if (c->state == CTL_READING) {
		int rc = conn_read(ctl, c, env);
		if (rc > 0 && c->state == CTL_DUMPING)
			return;            /* grants_finish() replies */
		if (rc < 0 || (rc > 0 && !c->out)) {
			conn_close(ctl, c);
			return;
		}
		if (rc == 0)
			return;
		conn_reply(ctl, c, EPOLL_CTL_MOD);
		return;
	}
	if (c->state == CTL_WRITING && conn_write(c) != 0)
		conn_close(ctl, c);
}

/* A free slot, or the slot of the oldest client still sending its request
 * (closed and counted) when all are taken; NULL when every slot is writing
 * a reply. Evicting rather than refusing keeps a fresh `fluxctl` served
 * while idle connections sit on every slot. */
static struct ctl_conn *conn_slot(fg_control_t *ctl)
{
	struct ctl_conn *oldest = NULL;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++) {
		struct ctl_conn *c = &ctl->conns[i];
		if (c->state == CTL_FREE)
			return c;
		if (c->state == CTL_READING && (!oldest || c->accepted_ms < oldest->accepted_ms))
			oldest = c;
	}
	ctl->refused++;
	if (warn_now(&ctl->refused_warned_ms))
		log_warn("control: %u connections open, %s (logged once per 10 s)", CTL_MAX_CONNS,
			 oldest ? "closing the oldest unfinished one" : "all replying: refusing new ones");
	if (oldest)
		conn_close(ctl, oldest);
	return oldest;
}

static void conn_accept(fg_control_t *ctl)
{
	for (unsigned burst = 0; burst < CTL_MAX_CONNS; burst++) {
		int fd = accept4(ctl->fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			return;
		struct ctl_conn *c = conn_slot(ctl);
		if (!c) {
			close(fd);
			continue;
		}
		uint64_t now = mono_ms();
		c->fd = fd;
		c->state = CTL_READING;
		c->accepted_ms = now;
		c->deadline_ms = now + CTL_REQUEST_MS;
		c->got = 0;
		c->need = FG_CTL_HDRLEN;
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u32 = CTL_EV_CONN + (uint32_t)(c - ctl->conns) };
		if (epoll_ctl(ctl->ep, EPOLL_CTL_ADD, fd, &ev) < 0)
			conn_close(ctl, c);
	}
}

/* Close clients past their deadline; arm the timer at the next one. */
static void conn_expire(fg_control_t *ctl)
{
	uint64_t now = mono_ms(), next = 0;
	for (unsigned i = 0; i < CTL_MAX_CONNS; i++) {
		struct ctl_conn *c = &ctl->conns[i];
		if (c->state == CTL_FREE || c->state == CTL_DUMPING)
			continue;
		if (c->deadline_ms <= now) {
			ctl->timeouts++;
			if (warn_now(&ctl->timeout_warned_ms))
				log_warn("control: client timed out %s (%u octets of the request; "
					 "logged once per 10 s)",
					 c->state == CTL_READING ? "sending its request" : "reading its reply",
					 c->got);
			conn_close(ctl, c);
			continue;
		}
		if (!next || c->deadline_ms < next)
			next = c->deadline_ms;
	}
	struct itimerspec its = { 0 };
	if (next) {
		its.it_value.tv_sec = (time_t)(next / 1000u);
		its.it_value.tv_nsec = (long)(next % 1000u) * 1000000L;
	}
	timerfd_settime(ctl->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

void fg_control_serve(fg_control_t *ctl, fg_control_env_t *env)
{
	struct epoll_event evs[CTL_MAX_CONNS + 2];
	int n = epoll_wait(ctl->ep, evs, (int)(sizeof(evs) / sizeof(evs[0])), 0);
	for (int i = 0; i < n; i++) {
		uint32_t id = evs[i].data.u32;
		if (id == CTL_EV_LISTEN) {
			conn_accept(ctl);
		} else if (id == CTL_EV_TIMER) {
			uint64_t ticks;
			if (read(ctl->tfd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
				log_debug("control: timer: %s", strerror(errno));
		} else if (id == CTL_EV_JOB) {
			grants_finish(ctl, env);
		} else if (id - CTL_EV_CONN < CTL_MAX_CONNS) {
			struct ctl_conn *c = &ctl->conns[id - CTL_EV_CONN];
			/* an event queued before its connection was closed in
			 * this round, or a reused slot: harmless, the step
			 * reads EAGAIN */
			if (c->state != CTL_FREE)
				conn_step(ctl, c, env);
		}
	}
	conn_expire(ctl);
}

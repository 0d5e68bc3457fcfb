/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/dot.h"
#include "daemon/srclimit.h"
#include "daemon/floods.h"
#include "daemon/listen.h"
#include "daemon/tsigq.h"
#include "grant/engine.h"

#define UDP_BATCH      64          /* datagrams per recvmmsg/sendmmsg */
#define UDP_RBUF       4096        /* larger queries are malformed for us */
#define UDP_SBUF       FG_DNS_UDP_MAX
#define TCP_MSG_MAX    65535
#define EPOLL_TICK_MS  250         /* TCP timers and quiescence tick */
#define UDP_PIPE       FG_GRANT_PIPE /* batches with grants in flight, at most */

/* epoll user data: socket kind in the top bits, index below */
enum { EV_UDP = 1, EV_TCP_LISTEN = 2, EV_TCP_CONN = 3, EV_GRANT = 4 };
#define EV_PACK(kind, idx) (((uint64_t)(kind) << 32) | (uint32_t)(idx))

typedef struct tcp_conn {
	int fd;                    /* -1 = free slot */
	struct sockaddr_storage peer;
	uint64_t last_ms;
	uint64_t query_ms;         /* first byte of the query in progress, 0: none */
	uint32_t rlen;
	uint32_t wlen, woff;       /* pending output */
	uint8_t rbuf[2 + TCP_MSG_MAX];
	uint8_t *wbuf;             /* 2 + TCP_MSG_MAX, allocated on demand */
} tcp_conn_t;

/* One UDP batch, from recvmmsg to sendmmsg. */
typedef struct udp_slot {
	int fd;                    /* the socket it came from, answers go to */
	int n;                     /* datagrams */
	size_t npend;              /* grant requests */
	struct timespec t0;        /* grant step begun (grant_latency) */
	struct mmsghdr rmsg[UDP_BATCH];
	struct iovec riov[UDP_BATCH];
	struct sockaddr_storage peers[UDP_BATCH];
	uint8_t rbuf[UDP_BATCH][UDP_RBUF];
	uint8_t sbuf[UDP_BATCH][UDP_SBUF];
	fg_dns_query_t q[UDP_BATCH];
	fg_tsigq_t tq[UDP_BATCH];  /* TSIG of each query (daemon/tsigq.h) */
	const fg_tsigq_t *gtq[UDP_BATCH];  /* tq of each grant request */
	uint64_t now_s;            /* read at (TSIG time signed) */
	fg_dns_result_t res[UDP_BATCH];
	bool held[UDP_BATCH];      /* a service answer: sent on its grant's ACK */
	bool unver[UDP_BATCH];     /* asker unverified (grant/budget.h) */
	fg_grant_req_t greq[UDP_BATCH];
	unsigned greq_slot[UDP_BATCH];
} udp_slot_t;

typedef struct fg_worker {
	struct fg_server *srv;
	unsigned idx;
	pthread_t thread;
	int epfd;
	int *udp_fds;
	int *tcp_fds;
	tcp_conn_t **conns;        /* slots, grown to tcp_max */
	unsigned nconns_cap;
	_Atomic uint64_t quiescent; /* bumped at every batch boundary */
	fg_grant_worker_t *gw;
	const fg_grant_engine_t *gw_engine;
	fg_worker_stats_t stats;
	fg_siphash_t *sip;         /* DNS cookies of this worker's queries */
	fg_dot_worker_t *dot;      /* DNS over TLS (daemon/dot.h), NULL: off */
	uint64_t err_event_ms;     /* last `error` event (at most one a second) */

	/* UDP batches: a FIFO ring of slots, head .. head + ninflight - 1
	 * waiting for their grant transactions (in the order begun), the
	 * next one free for the batch being read. Kept here, not on the
	 * stack (a slot is ~350 KiB), and allocated once. */
	udp_slot_t slot[UDP_PIPE];
	unsigned head, ninflight;
	const fg_snapshot_t *inflight_snap;  /* the snapshot of those batches */
	int grant_fd;              /* in epoll: results of the transactions */
	uint64_t swap_seen;        /* swap_gen when it last drained for a swap */
	struct mmsghdr smsg[UDP_BATCH];
	struct iovec siov[UDP_BATCH];
} fg_worker_t;

struct fg_server {
	_Atomic(fg_snapshot_t *) snap;
	fg_conf_addr_t *listen;    /* copy of the listen set bound at start */
	size_t nlisten;
	unsigned nworkers;
	unsigned tcp_max;
	/* TCP limits a reload may change (read by the workers) */
	_Atomic uint32_t tcp_idle_ms, tcp_query_ms, tcp_per_source;
	_Atomic int tcp_clients;
	pthread_mutex_t src_mu;    /* guards src: connections are spread over workers */
	fg_srclimit_t *src;
	_Atomic bool stop;
	_Atomic uint64_t swap_gen; /* bumped by every fg_server_swap() */
	fg_evlog_t *evlog;
	fg_floods_t *floods;       /* cookies and rate limiting (UDP) */
	fg_dot_t *dot;             /* DNS over TLS, NULL: no tls-listen */
	fg_worker_t **workers;
	unsigned nstarted;         /* threads running (joined at stop) */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

void fg_snapshot_free(fg_snapshot_t *snap)
{
	if (!snap)
		return;
	if (snap->grants)
		fg_grant_engine_free(snap->grants);
	if (snap->db)
		fg_zonedb_free(snap->db);
	if (snap->conf)
		fg_conf_free(snap->conf);
	free(snap);
}

const fg_snapshot_t *fg_server_snapshot(const fg_server_t *srv)
{
	return atomic_load_explicit(&((fg_server_t *)srv)->snap, memory_order_acquire);
}

unsigned fg_server_nworkers(const fg_server_t *srv)
{
	return srv->nworkers;
}

const fg_worker_stats_t *fg_server_worker_stats(const fg_server_t *srv, unsigned i)
{
	return i < srv->nworkers ? &srv->workers[i]->stats : NULL;
}

/* ---- sockets ---------------------------------------------------------- */


/* ---- the grant step -------------------------------------------------- */

static void worker_drain(fg_worker_t *w);

/* Make sure this worker has a grant context for the snapshot's engine;
 * its result descriptor is in the worker's epoll set. */
static fg_grant_worker_t *worker_grants(fg_worker_t *w, const fg_snapshot_t *snap)
{
	if (!snap->grants)
		return NULL;
	if (w->gw && w->gw_engine == snap->grants)
		return w->gw;
	worker_drain(w);   /* no batch may be owed by the context we free */
	if (w->grant_fd >= 0)
		epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->grant_fd, NULL);
	w->grant_fd = -1;
	if (w->gw)
		fg_grant_worker_free(w->gw);
	w->gw = NULL;
	w->gw_engine = NULL;
	if (fg_grant_worker_new(snap->grants, &w->gw) < 0) {
		log_err("worker %u: cannot open the NAT backend", w->idx);
		return NULL;
	}
	w->gw_engine = snap->grants;
	int fd = fg_grant_worker_fd(w->gw);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_PACK(EV_GRANT, 0) };
	if (fd >= 0 && epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) == 0)
		w->grant_fd = fd;
	return w->gw;
}

static const char *const scope_names[] = { "client", "net", "any" };

/* dns + grant events of one service answer (formatted here, written by the
 * event log's own thread; dropped and counted when it falls behind). */
static void log_grant_event(fg_evlog_t *ev, const fg_snapshot_t *snap,
			    const fg_grant_req_t *r, bool ok, bool tcp,
			    const fg_dns_result_t *res, uint64_t commit_ns)
{
	char qname[FG_DNS_MAXNAME * 4 + 2], addr[INET6_ADDRSTRLEN] = "";
	const char *svc = r->service_id < snap->conf->nservices
				  ? snap->conf->services[r->service_id].id : "?";
	int fam = r->qtype == FG_TYPE_AAAA ? AF_INET6 : AF_INET;
	if (fg_dns_name_to_text(r->q->qname, qname, sizeof(qname)) < 0)
		strcpy(qname, "?");
	const char *scope = ok && r->scope <= 2 ? scope_names[r->scope] : NULL;
	if (ok)
		inet_ntop(fam, r->addr, addr, sizeof(addr));
	fg_evlog_dns(ev, (const struct sockaddr *)r->peer, NULL,
		     tcp ? IPPROTO_TCP : IPPROTO_UDP, qname, r->qtype,
		     (uint8_t)res->rcode, scope, ok ? addr : NULL, ok ? r->ttl : 0);
	/* who the grant lets in, as fluxgated(8) documents it: the client's
	 * address or ECS prefix, or anyone */
	char client[INET6_ADDRSTRLEN + 5] = "*";
	if (ok && r->scope != FG_SCOPE_ANY) {
		char ca[INET6_ADDRSTRLEN];
		if (inet_ntop(fam, r->client, ca, sizeof ca))
			snprintf(client, sizeof client, "%s/%u", ca, r->client_plen);
	}
	char backend[INET6_ADDRSTRLEN] = "";
	if (ok)
		inet_ntop(fam, r->backend, backend, sizeof backend);
	if (ok)
		fg_evlog_grant(ev, (const struct sockaddr *)r->peer, svc, scope, client, addr,
			       backend[0] ? backend : NULL, r->grant_ms,
			       (uint32_t)(commit_ns / 1000u > UINT32_MAX ? UINT32_MAX : commit_ns / 1000u));
}

static uint64_t ns_between(const struct timespec *a, const struct timespec *b)
{
	return (uint64_t)(b->tv_sec - a->tv_sec) * 1000000000u + (uint64_t)(b->tv_nsec - a->tv_nsec);
}

/* The requests of one grant step, beside `reqs`: where each answer is
 * built (out[k], cap[k]: the whole buffer; the answer is built in what its
 * TSIG leaves of it) and the TSIG state of its query (tq[k]: signed
 * queries get signed answers), read at now_s. */
typedef struct grant_io {
	uint8_t *const *out;
	const size_t *cap;
	const fg_tsigq_t *const *tq;
	uint64_t now_s;
	fg_dns_result_t *res;
} grant_io_t;

/* Build (and sign: DNSSEC in the answer engine, then TSIG) the answer of
 * request k with `addr` (NULL: SERVFAIL). */
static void grant_build(const fg_snapshot_t *snap, const fg_grant_req_t *r, bool tcp,
			const grant_io_t *io, size_t k, const uint8_t *addr)
{
	size_t bcap = fg_tsigq_cap(io->tq[k], r->q, tcp, io->cap[k]);
	if (r->nodata)
		fg_dns_answer_service_nodata(snap->db, r->q, tcp, 0, io->out[k], bcap, &io->res[k]);
	else
		fg_dns_answer_service(snap->db, r->q, tcp, addr, addr ? r->ttl : 0, r->ecs_scope,
				      io->out[k], bcap, &io->res[k]);
	fg_tsigq_sign(io->tq[k], r->q, tcp, io->now_s, io->out[k], io->cap[k], &io->res[k]);
}

/* Grant step, first half: policy, addresses, the transaction started; then
 * every answer is built and signed (DNSSEC when DO=1 in a signed zone,
 * TSIG for a signed query) while the transaction is in flight: only sent
 * once grant_finish() saw the ACK. A private service's request the asker
 * may not be granted (hidden) is answered here without a grant.
 * Returns false when no transaction could be begun (answers SERVFAIL). */
static bool grant_begin(fg_worker_t *w, const fg_snapshot_t *snap, fg_grant_req_t *reqs,
			size_t n, bool tcp, const grant_io_t *io, struct timespec *t0)
{
	fg_grant_worker_t *gw = worker_grants(w, snap);
	clock_gettime(CLOCK_MONOTONIC, t0);
	int rc = gw ? fg_grant_begin(snap->grants, gw, reqs, n) : -FG_EGRANT;
	if (rc < 0) {
		for (size_t i = 0; i < n; i++) {
			reqs[i].ok = reqs[i].nodata = reqs[i].pending = false;
			reqs[i].cause = FG_NOADDR_INTERNAL;
		}
	}
	fg_tsigq_stats_t tst = { w->stats.tsig, w->stats.private_denied };
	for (size_t i = 0; i < n; i++) {
		if (reqs[i].hidden) {
			/* an address nobody was granted (or NXDOMAIN): it may
			 * leave with the batch, it opens nothing */
			size_t bcap = fg_tsigq_cap(io->tq[i], reqs[i].q, tcp, io->cap[i]);
			fg_tsigq_private_answer(snap->db, snap->conf, snap->grants, gw, &reqs[i], tcp,
						io->out[i], bcap, &io->res[i], &tst);
			fg_tsigq_sign(io->tq[i], reqs[i].q, tcp, io->now_s, io->out[i], io->cap[i],
				      &io->res[i]);
			continue;
		}
		grant_build(snap, &reqs[i], tcp, io, i, reqs[i].pending ? reqs[i].addr : NULL);
	}
	return rc >= 0;
}

/* Grant step, second half: the outcome of the oldest begun batch (`began`:
 * grant_begin() returned true). An answer whose grant was not ACKed is
 * rebuilt (and re-signed) as SERVFAIL over the one prepared: it never
 * leaves with its address. */
static void grant_finish(fg_worker_t *w, const fg_snapshot_t *snap, fg_grant_req_t *reqs,
			 size_t n, bool tcp, bool began, const grant_io_t *io,
			 const struct timespec *t0)
{
	int rc = began ? fg_grant_finish(snap->grants, w->gw, reqs) : -FG_EGRANT;
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	uint64_t commit_ns = ns_between(t0, &t1);
	fg_hist_observe_ns(&w->stats.grant_latency, commit_ns);

	size_t failed = 0;
	for (size_t i = 0; i < n; i++) {
		bool ok = rc >= 0 && reqs[i].ok;
		if (reqs[i].hidden || reqs[i].nodata)
			continue;
		if (!ok && reqs[i].pending)
			grant_build(snap, &reqs[i], tcp, io, i, NULL);
		if (ok) {
			w->stats.service_answers++;
		} else {
			w->stats.grant_failures++;
			unsigned c = reqs[i].cause < FG_NOADDR_COUNT ? reqs[i].cause
				     : (unsigned)fg_grant_noaddr_cause(rc < 0 ? rc : -FG_EGRANT);
			w->stats.grant_noaddr[c]++;
			failed++;
		}
		if (w->srv->evlog)
			log_grant_event(w->srv->evlog, snap, &reqs[i], ok, tcp, &io->res[i], commit_ns);
	}
	/* answers lost to the data plane are an operator's concern: an event,
	 * rate-limited so a failing kernel cannot flood the log */
	uint64_t now = (uint64_t)t1.tv_sec * 1000u + (uint64_t)t1.tv_nsec / 1000000u;
	if (failed && w->srv->evlog && now - w->err_event_ms >= 1000) {
		char msg[96];
		snprintf(msg, sizeof(msg), "%zu of %zu service answers SERVFAIL: no grant", failed, n);
		fg_evlog_error(w->srv->evlog, "grant", rc < 0 ? rc : -FG_EGRANT, msg);
		w->err_event_ms = now;
	}
}

/* Both halves at once (TCP, DoT: one query, answered before the next is
 * read). */
static void grant_and_answer(fg_worker_t *w, const fg_snapshot_t *snap,
			     fg_grant_req_t *reqs, size_t n, bool tcp, const grant_io_t *io)
{
	struct timespec t0;
	worker_drain(w);   /* the transaction must be the only one in flight */
	bool began = grant_begin(w, snap, reqs, n, tcp, io, &t0);
	grant_finish(w, snap, reqs, n, tcp, began, io, &t0);
}

static void count_result(fg_worker_t *w, const fg_dns_result_t *r)
{
	if (r->kind != FG_ANSWER_READY) {
		w->stats.dropped++;
		return;
	}
	unsigned rc = (unsigned)r->rcode;
	if (rc < sizeof(w->stats.rcode) / sizeof(w->stats.rcode[0]))
		w->stats.rcode[rc]++;
}

/* ---- UDP ------------------------------------------------------------- */

/* Judge the query's COOKIE and set the server cookie of its response.
 * True when the source is known not to be forged (our valid cookie). */
static bool udp_cookie(fg_worker_t *w, fg_dns_query_t *q,
		       const struct sockaddr_storage *peer, int prc, uint32_t now_s)
{
	if (prc == -FG_ECOOKIE)
		w->stats.cookie_malformed++;
	enum fg_cookie_verdict v = fg_floods_cookie(w->srv->floods, w->sip, q, peer, now_s);
	if (v == FG_COOKIE_VALID)
		w->stats.cookie_valid++;
	else if (v == FG_COOKIE_BAD)
		w->stats.cookie_bad++;
	return v == FG_COOKIE_VALID;
}

/* Answers the rate limit applies to: service answers (they buy grants),
 * with rrl.apply-to all every UDP answer. */
static bool rrl_applies(const fg_conf_t *conf, const fg_dns_result_t *r)
{
	if (conf->rrl.rate == 0)
		return false;
	return r->kind == FG_ANSWER_SERVICE ||
	       (conf->rrl.apply_to == FG_RRL_APPLY_ALL && r->kind == FG_ANSWER_READY);
}

/* Turn answer i into an empty TC=1 answer (a slip); false when the query
 * has no question to echo (then it is dropped). */
static bool slot_truncate(udp_slot_t *sl, int i)
{
	fg_dns_result_t *r = &sl->res[i];
	int len = fg_dns_build_truncated(&sl->q[i], sl->sbuf[i], UDP_SBUF);
	memset(r, 0, sizeof(*r));
	r->kind = len > 0 ? FG_ANSWER_READY : FG_ANSWER_DROP;
	r->len = len > 0 ? (size_t)len : 0;
	r->rcode = FG_RCODE_NOERROR;
	return len > 0;
}

/* The spoofed-flood defences of a batch, decided under one lock before the
 * grant step (a held-back answer makes no grant):
 *  - response rate limiting of the answers in `limit` (drop, or slip:
 *    TC=1 without records; rrl.apply-to all also limits FORMERR answers,
 *    which have no question to echo: those are dropped);
 *  - the unverified-grant budget (grant/budget.h): once grants held by
 *    askers that may be forged reach policy.unverified-share of a grant
 *    set, their service answers are TC=1 and a real asker retries over
 *    TCP. */
static void udp_floods(fg_worker_t *w, udp_slot_t *sl, const bool *limit, size_t nlimit)
{
	enum fg_rrl_action act[UDP_BATCH];
	fg_dns_result_t *res = sl->res;
	int n = sl->n;
	bool unver = false;
	for (int i = 0; i < n && !unver; i++)
		unver = sl->unver[i] && res[i].kind == FG_ANSWER_SERVICE;
	if (!nlimit && !unver)
		return;

	uint64_t now = now_ms();
	fg_floods_lock(w->srv->floods);
	for (int i = 0; i < n; i++)
		act[i] = limit[i] ? fg_floods_rrl(w->srv->floods, &sl->peers[i], now) : FG_RRL_PASS;
	bool full = unver && fg_floods_budget_full(w->srv->floods, now);
	fg_floods_unlock(w->srv->floods);

	for (int i = 0; i < n; i++) {
		if (act[i] == FG_RRL_DROP) {
			memset(&res[i], 0, sizeof(res[i]));
			res[i].kind = FG_ANSWER_DROP;
			w->stats.rrl_dropped++;
		} else if (act[i] == FG_RRL_SLIP) {
			if (slot_truncate(sl, i))
				w->stats.rrl_slipped++;
			else
				w->stats.rrl_dropped++;
		} else if (full && sl->unver[i] && res[i].kind == FG_ANSWER_SERVICE) {
			slot_truncate(sl, i);
			w->stats.budget_truncated++;
		}
	}
}

/* Count the grants a finished batch made for unverified askers (anyone
 * grants are bounded by max-open-fraction instead), each until its
 * count_until (the grant engine's clock, CLOCK_MONOTONIC: no earlier than
 * its kernel element expires); a renewal moves the count its element
 * has (renew_of) rather than adding one. */
static void slot_budget_count(fg_worker_t *w, const udp_slot_t *sl)
{
	bool locked = false;
	uint64_t now = 0;
	for (size_t k = 0; k < sl->npend; k++) {
		const fg_grant_req_t *g = &sl->greq[k];
		if (!g->unverified || !g->ok || g->hidden || g->nodata ||
		    g->scope == FG_SCOPE_ANY)
			continue;
		if (!locked) {
			fg_floods_lock(w->srv->floods);
			locked = true;
			now = now_ms();
		}
		if (g->renew_of)
			fg_floods_budget_renew(w->srv->floods, now, g->count_until, g->renew_of);
		else
			fg_floods_budget_add(w->srv->floods, now, g->count_until, 1);
	}
	if (locked)
		fg_floods_unlock(w->srv->floods);
}

static void slot_init(udp_slot_t *sl)
{
	for (unsigned i = 0; i < UDP_BATCH; i++) {
		sl->riov[i].iov_base = sl->rbuf[i];
		sl->riov[i].iov_len = UDP_RBUF;
		memset(&sl->rmsg[i].msg_hdr, 0, sizeof(sl->rmsg[i].msg_hdr));
		sl->rmsg[i].msg_hdr.msg_iov = &sl->riov[i];
		sl->rmsg[i].msg_hdr.msg_iovlen = 1;
		sl->rmsg[i].msg_hdr.msg_name = &sl->peers[i];
		sl->rmsg[i].msg_hdr.msg_namelen = sizeof(sl->peers[i]);
	}
}

/* Count and send the answers of a batch: the held service answers
 * (`held`), or every other one. */
static void slot_send(fg_worker_t *w, udp_slot_t *sl, bool held)
{
	unsigned nsend = 0;
	for (int i = 0; i < sl->n; i++) {
		const fg_dns_result_t *r = &sl->res[i];
		if (sl->held[i] != held)
			continue;
		socklen_t namelen = sl->rmsg[i].msg_hdr.msg_namelen;
		sl->rmsg[i].msg_hdr.msg_namelen = sizeof(sl->peers[i]);  /* for the next recvmmsg */
		count_result(w, r);
		if (r->kind != FG_ANSWER_READY || r->len == 0)
			continue;
		if (r->len > FG_DNS_HDRLEN && (sl->sbuf[i][2] & 0x02))
			w->stats.truncated++;
		w->siov[nsend].iov_base = sl->sbuf[i];
		w->siov[nsend].iov_len = r->len;
		memset(&w->smsg[nsend].msg_hdr, 0, sizeof(w->smsg[nsend].msg_hdr));
		w->smsg[nsend].msg_hdr.msg_iov = &w->siov[nsend];
		w->smsg[nsend].msg_hdr.msg_iovlen = 1;
		w->smsg[nsend].msg_hdr.msg_name = &sl->peers[i];
		w->smsg[nsend].msg_hdr.msg_namelen = namelen;
		nsend++;
	}
	unsigned sent = 0;
	while (sent < nsend) {
		int m = sendmmsg(sl->fd, w->smsg + sent, nsend - sent, 0);
		if (m < 0) {
			if (errno == EINTR)
				continue;
			/* one bad destination must not cost the rest of the batch */
			w->stats.send_errors++;
			sent++;
			continue;
		}
		sent += (unsigned)m;
	}
}

/* The grant requests of a slot, in the layout grant_begin/finish take
 * (their results copied to gres, put back by slot_grant_put). */
static void slot_grant_io(udp_slot_t *sl, uint8_t **outs, size_t *caps, fg_dns_result_t *gres,
			  grant_io_t *io)
{
	for (size_t k = 0; k < sl->npend; k++) {
		outs[k] = sl->sbuf[sl->greq_slot[k]];
		caps[k] = UDP_SBUF;
		gres[k] = sl->res[sl->greq_slot[k]];
	}
	*io = (grant_io_t){ .out = outs, .cap = caps, .tq = sl->gtq, .now_s = sl->now_s,
			    .res = gres };
}

static void slot_grant_put(udp_slot_t *sl, const fg_dns_result_t *gres)
{
	for (size_t k = 0; k < sl->npend; k++)
		sl->res[sl->greq_slot[k]] = gres[k];
}

/* Finish the oldest batch in flight: wait for its transaction's outcome,
 * then send its service answers. */
static void udp_complete_oldest(fg_worker_t *w)
{
	udp_slot_t *sl = &w->slot[w->head];
	uint8_t *outs[UDP_BATCH];
	size_t caps[UDP_BATCH];
	fg_dns_result_t gres[UDP_BATCH];
	grant_io_t io;

	slot_grant_io(sl, outs, caps, gres, &io);
	grant_finish(w, w->inflight_snap, sl->greq, sl->npend, false, true, &io, &sl->t0);
	slot_grant_put(sl, gres);
	slot_send(w, sl, true);
	slot_budget_count(w, sl);
	w->head = (w->head + 1) % UDP_PIPE;
	w->ninflight--;
}

/* Complete every batch whose outcome has arrived, without waiting. */
static void worker_grant_ready(fg_worker_t *w)
{
	while (w->ninflight) {
		if (!fg_grant_oldest_known(w->gw)) {
			struct pollfd p = { .fd = w->grant_fd, .events = POLLIN };
			if (w->grant_fd < 0 || poll(&p, 1, 0) <= 0)
				return;
		}
		udp_complete_oldest(w);
	}
}

/* Complete every batch in flight, waiting as needed (reload, TCP). */
static void worker_drain(fg_worker_t *w)
{
	while (w->ninflight)
		udp_complete_oldest(w);
}

/* Read, answer and send one batch; returns the datagrams read. Static
 * answers leave at once; the service answers of the batch wait for their
 * grant transaction, which stays in flight while the worker reads the
 * next batches (at most UDP_PIPE), and leave on its ACK. */
static int udp_batch(fg_worker_t *w, int fd)
{
	const fg_snapshot_t *snap = fg_server_snapshot(w->srv);

	if (w->ninflight && snap != w->inflight_snap)
		worker_drain(w);   /* batches of one snapshot in flight at a time */
	if (w->ninflight == UDP_PIPE)
		udp_complete_oldest(w);
	udp_slot_t *sl = &w->slot[(w->head + w->ninflight) % UDP_PIPE];
	int n = recvmmsg(fd, sl->rmsg, UDP_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return 0;
	sl->fd = fd;
	sl->n = n;
	w->stats.queries_udp += (uint64_t)n;

	fg_dns_result_t *res = sl->res;
	bool limit[UDP_BATCH];
	size_t npend = 0, nlimit = 0;
	uint32_t now_s = (uint32_t)time(NULL);
	fg_tsigq_stats_t tst = { w->stats.tsig, w->stats.private_denied };
	sl->now_s = now_s;
	for (int i = 0; i < n; i++) {
		const uint8_t *pkt = sl->rbuf[i];
		size_t len = sl->rmsg[i].msg_len;
		if (sl->rmsg[i].msg_hdr.msg_flags & MSG_TRUNC)
			len = 0;   /* bigger than any query we accept: drop */
		enum fg_dns_parse_action act;
		int rcode;
		int prc = fg_dns_parse_query(pkt, len, &sl->q[i], &act, &rcode);
		bool known = udp_cookie(w, &sl->q[i], &sl->peers[i], prc, now_s);
		fg_tsigq_answer_parsed(snap->db, snap->conf, pkt, len, &sl->q[i], prc, act, rcode,
				       false, now_s, sl->sbuf[i], UDP_SBUF, &res[i], &sl->tq[i], &tst);
		if (sl->q[i].has_question)
			w->stats.qtype[fg_metrics_qtype_index(sl->q[i].qtype)]++;
		limit[i] = !known && rrl_applies(snap->conf, &res[i]);
		sl->unver[i] = !known && sl->tq[i].role == FG_ROLE_NONE;
		nlimit += limit[i];
	}
	udp_floods(w, sl, limit, nlimit);
	for (int i = 0; i < n; i++) {
		sl->held[i] = res[i].kind == FG_ANSWER_SERVICE;
		if (sl->held[i]) {
			fg_grant_req_t *g = &sl->greq[npend];
			memset(g, 0, sizeof(*g));
			g->q = &sl->q[i];
			g->peer = &sl->peers[i];
			g->service_id = res[i].service_id;
			g->qtype = res[i].qtype;
			g->role = sl->tq[i].role;
			g->hidden = fg_tsigq_hidden(snap->conf, &sl->tq[i], g->service_id);
			g->unverified = sl->unver[i];
			sl->gtq[npend] = &sl->tq[i];
			sl->greq_slot[npend++] = (unsigned)i;
		} else {
			/* the answers that leave now are signed now */
			fg_tsigq_sign(&sl->tq[i], &sl->q[i], false, now_s, sl->sbuf[i], UDP_SBUF,
				      &res[i]);
		}
	}
	sl->npend = npend;

	/* the grant step: one NAT transaction for the whole batch, begun
	 * before the batch's other answers are sent */
	bool began = false;
	uint8_t *outs[UDP_BATCH];
	size_t caps[UDP_BATCH];
	fg_dns_result_t gres[UDP_BATCH];
	grant_io_t io;
	if (npend) {
		slot_grant_io(sl, outs, caps, gres, &io);
		began = grant_begin(w, snap, sl->greq, npend, false, &io, &sl->t0);
		slot_grant_put(sl, gres);   /* built and signed, held */
	}
	slot_send(w, sl, false);
	if (!npend)
		return n;
	if (began && w->grant_fd >= 0) {
		if (w->ninflight)
			w->stats.grant_pipelined++;
		w->inflight_snap = snap;
		w->ninflight++;   /* finished on its result (EV_GRANT) */
		/* nothing sent for it (NODATA only, or the start failed): its
		 * outcome, and maybe that of those before it, is known */
		while (w->ninflight && fg_grant_oldest_known(w->gw))
			udp_complete_oldest(w);
		return n;
	}
	/* synchronous backend (or nothing begun): the outcome is known */
	w->inflight_snap = snap;
	if (began) {
		w->ninflight++;
		udp_complete_oldest(w);
	} else {
		grant_finish(w, snap, sl->greq, npend, false, false, &io, &sl->t0);
		slot_grant_put(sl, gres);
		slot_send(w, sl, true);
		slot_budget_count(w, sl);
	}
	return n;
}

/* ---- TCP ------------------------------------------------------------- */

static void tcp_close(fg_worker_t *w, unsigned slot)
{
	tcp_conn_t *c = w->conns[slot];
	if (!c || c->fd < 0)
		return;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	free(c->wbuf);
	c->wbuf = NULL;
	atomic_fetch_sub(&w->srv->tcp_clients, 1);
	pthread_mutex_lock(&w->srv->src_mu);
	fg_srclimit_release(w->srv->src, (const struct sockaddr *)&c->peer);
	pthread_mutex_unlock(&w->srv->src_mu);
}

/* The table is full: close this worker's connection that has idled the
 * longest between queries (as Knot and NSD do) rather than refuse a new
 * client. A connection with a query in progress is left alone: its own
 * deadline bounds it. Returns false when there is none to close. */
static bool tcp_evict_idle(fg_worker_t *w)
{
	unsigned victim = w->nconns_cap;
	uint64_t oldest = UINT64_MAX;
	for (unsigned s = 0; s < w->nconns_cap; s++) {
		const tcp_conn_t *c = w->conns[s];
		if (c && c->fd >= 0 && !c->query_ms && c->last_ms < oldest) {
			oldest = c->last_ms;
			victim = s;
		}
	}
	if (victim == w->nconns_cap)
		return false;
	w->stats.tcp_evicted++;
	tcp_close(w, victim);
	return true;
}

/* Take a place for a new client from `peer`: its source's share, then one
 * of the global slots (evicting an idle connection when they are taken). */
static bool tcp_admit(fg_worker_t *w, const struct sockaddr_storage *peer)
{
	fg_server_t *srv = w->srv;
	pthread_mutex_lock(&srv->src_mu);
	int rc = fg_srclimit_acquire(srv->src, (const struct sockaddr *)peer,
				     atomic_load_explicit(&srv->tcp_per_source, memory_order_relaxed));
	pthread_mutex_unlock(&srv->src_mu);
	if (rc < 0) {
		w->stats.tcp_source_rejected++;
		return false;
	}
	for (int attempt = 0; attempt < 2; attempt++) {
		if (atomic_fetch_add(&srv->tcp_clients, 1) < (int)srv->tcp_max)
			return true;
		atomic_fetch_sub(&srv->tcp_clients, 1);
		/* another worker may take the freed place first: then refuse */
		if (attempt == 0 && !tcp_evict_idle(w))
			break;
	}
	w->stats.tcp_rejected++;
	pthread_mutex_lock(&srv->src_mu);
	fg_srclimit_release(srv->src, (const struct sockaddr *)peer);
	pthread_mutex_unlock(&srv->src_mu);
	return false;
}

static void tcp_accept(fg_worker_t *w, int lfd)
{
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		/* a free slot exists whenever tcp_admit() grants a place: each
		 * worker has tcp_max slots, the global count is at most that */
		if (!tcp_admit(w, &peer)) {
			close(fd);
			continue;
		}
		unsigned slot = 0;
		while (slot < w->nconns_cap && w->conns[slot] && w->conns[slot]->fd >= 0)
			slot++;
		if (slot < w->nconns_cap && !w->conns[slot]) {
			w->conns[slot] = malloc(sizeof(tcp_conn_t));
			if (w->conns[slot])
				w->conns[slot]->wbuf = NULL;
		}
		tcp_conn_t *c = slot < w->nconns_cap ? w->conns[slot] : NULL;
		if (!c) {
			/* give the place back as tcp_close() would */
			atomic_fetch_sub(&w->srv->tcp_clients, 1);
			pthread_mutex_lock(&w->srv->src_mu);
			fg_srclimit_release(w->srv->src, (const struct sockaddr *)&peer);
			pthread_mutex_unlock(&w->srv->src_mu);
			w->stats.tcp_rejected++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->peer = peer;
		c->rlen = c->wlen = c->woff = 0;
		c->last_ms = now_ms();
		c->query_ms = 0;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_PACK(EV_TCP_CONN, slot) };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			tcp_close(w, slot);
			continue;
		}
		w->stats.tcp_accepted++;
	}
}

/* Try to flush pending output; returns <0 when the connection is dead. */
static int tcp_flush(fg_worker_t *w, unsigned slot)
{
	tcp_conn_t *c = w->conns[slot];
	while (c->woff < c->wlen) {
		ssize_t k = send(c->fd, c->wbuf + c->woff, c->wlen - c->woff, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK)
				break;
			if (errno == EINTR)
				continue;
			return -1;
		}
		c->woff += (uint32_t)k;
	}
	struct epoll_event ev = { .data.u64 = EV_PACK(EV_TCP_CONN, slot) };
	if (c->woff < c->wlen) {
		ev.events = EPOLLOUT;            /* stop reading until flushed */
	} else {
		c->woff = c->wlen = 0;
		c->query_ms = 0;                 /* answered: the next query has its own clock */
		ev.events = EPOLLIN;
	}
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	return 0;
}

/* Answer one DNS message of a stream (TCP, TLS) from `peer` into
 * out[cap]: TSIG and the answer engine, then the grant step for a service
 * name, then the TSIG signature over the answer. */
static void stream_answer(fg_worker_t *w, const fg_snapshot_t *snap,
			  const struct sockaddr_storage *peer, const uint8_t *msg, size_t mlen,
			  uint8_t *out, size_t cap, fg_dns_result_t *r)
{
	fg_dns_query_t q;
	fg_tsigq_t tq;
	enum fg_dns_parse_action act;
	int rcode;
	uint64_t now_s = (uint64_t)time(NULL);
	fg_tsigq_stats_t tst = { w->stats.tsig, w->stats.private_denied };
	int prc = fg_dns_parse_query(msg, mlen, &q, &act, &rcode);
	fg_tsigq_answer_parsed(snap->db, snap->conf, msg, mlen, &q, prc, act, rcode, true, now_s, out, cap,
			       r, &tq, &tst);
	if (q.has_question)
		w->stats.qtype[fg_metrics_qtype_index(q.qtype)]++;
	if (r->kind == FG_ANSWER_SERVICE) {
		fg_grant_req_t g = { .q = &q, .peer = peer,
				     .service_id = r->service_id, .qtype = r->qtype,
				     .role = tq.role,
				     .hidden = fg_tsigq_hidden(snap->conf, &tq, r->service_id) };
		uint8_t *o = out;
		const fg_tsigq_t *tqp = &tq;
		grant_io_t io = { .out = &o, .cap = &cap, .tq = &tqp, .now_s = now_s, .res = r };
		grant_and_answer(w, snap, &g, 1, true, &io);   /* built and signed */
	} else {
		fg_tsigq_sign(&tq, &q, true, now_s, out, cap, r);
	}
	count_result(w, r);
}

/* fg_dot_answer_fn: a DNS-over-TLS message answered as over TCP. */
static int dot_answer(void *ctx, const struct sockaddr_storage *peer, const uint8_t *msg,
		      size_t len, uint8_t *out, size_t cap)
{
	fg_worker_t *w = ctx;
	fg_dns_result_t r;
	stream_answer(w, fg_server_snapshot(w->srv), peer, msg, len, out, cap, &r);
	return r.kind == FG_ANSWER_READY && r.len > 0 && r.len <= cap ? (int)r.len : -1;
}

/* Answer every complete message in the read buffer, in order. Stops when
 * output is pending (backpressure: one answer in flight per connection). */
static int tcp_process(fg_worker_t *w, unsigned slot, const fg_snapshot_t *snap)
{
	tcp_conn_t *c = w->conns[slot];
	uint32_t off = 0;

	while (c->wlen == 0 && c->rlen - off >= 2) {
		uint32_t mlen = ((uint32_t)c->rbuf[off] << 8) | c->rbuf[off + 1];
		if (c->rlen - off - 2 < mlen)
			break;
		if (!c->wbuf && !(c->wbuf = malloc(2 + TCP_MSG_MAX)))
			return -1;
		w->stats.queries_tcp++;
		fg_dns_result_t r;
		stream_answer(w, snap, &c->peer, c->rbuf + off + 2, mlen, c->wbuf + 2,
			      TCP_MSG_MAX, &r);
		off += 2 + mlen;
		if (r.kind != FG_ANSWER_READY || r.len == 0)
			return -1;   /* unparsable stream: close it, as Knot does */
		c->wbuf[0] = (uint8_t)(r.len >> 8);
		c->wbuf[1] = (uint8_t)r.len;
		c->wlen = (uint32_t)r.len + 2;
		c->woff = 0;
		if (tcp_flush(w, slot) < 0)
			return -1;
	}
	if (off) {
		memmove(c->rbuf, c->rbuf + off, c->rlen - off);
		c->rlen -= off;
	}
	return 0;
}

static void tcp_event(fg_worker_t *w, unsigned slot, uint32_t events)
{
	const fg_snapshot_t *snap = fg_server_snapshot(w->srv);
	tcp_conn_t *c = w->conns[slot];

	if (!c || c->fd < 0)
		return;
	c->last_ms = now_ms();
	if (events & (EPOLLERR | EPOLLHUP)) {
		tcp_close(w, slot);
		return;
	}
	if (events & EPOLLOUT) {
		if (tcp_flush(w, slot) < 0 || tcp_process(w, slot, snap) < 0)
			tcp_close(w, slot);
		else if (c->rlen && !c->query_ms)
			c->query_ms = c->last_ms;
		return;
	}
	if (c->wlen)
		return;
	ssize_t k = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, 0);
	if (k == 0 || (k < 0 && errno != EAGAIN && errno != EINTR)) {
		tcp_close(w, slot);
		return;
	}
	if (k > 0) {
		c->rlen += (uint32_t)k;
		/* the deadline runs from a query's first byte, whatever
		 * trickles in after it */
		if (!c->query_ms)
			c->query_ms = c->last_ms;
	}
	if (tcp_process(w, slot, snap) < 0)
		tcp_close(w, slot);
	else if (c->rlen && !c->query_ms)
		c->query_ms = c->last_ms;   /* a pipelined query already begun */
}

/* Close connections idle past tcp-idle-timeout between queries, and those
 * whose query is not answered within tcp-query-timeout of its first byte
 * (bytes trickling in do not extend it). */
static void tcp_sweep(fg_worker_t *w)
{
	uint64_t now = now_ms();
	uint32_t idle = atomic_load_explicit(&w->srv->tcp_idle_ms, memory_order_relaxed);
	uint32_t query = atomic_load_explicit(&w->srv->tcp_query_ms, memory_order_relaxed);
	for (unsigned s = 0; s < w->nconns_cap; s++) {
		tcp_conn_t *c = w->conns[s];
		if (!c || c->fd < 0)
			continue;
		if (c->query_ms && now - c->query_ms >= query) {
			w->stats.tcp_query_timeouts++;
			tcp_close(w, s);
		} else if (now - c->last_ms > idle) {
			w->stats.tcp_idle_closed++;
			tcp_close(w, s);
		}
	}
}

/* ---- worker ---------------------------------------------------------- */

/* A batch boundary (quiescent-state reclamation): the worker holds no
 * pointer into a snapshot older than the current one. Batches in flight
 * hold theirs; a boundary reached with some is one only when no reload
 * waits, else they are completed first. */
static void worker_quiescent(fg_worker_t *w)
{
	if (w->ninflight) {
		uint64_t g = atomic_load(&w->srv->swap_gen);
		if (g == w->swap_seen)
			return;
		worker_drain(w);
		w->swap_seen = g;
	}
	atomic_fetch_add_explicit(&w->quiescent, 1, memory_order_release);
}

static void *worker_main(void *arg)
{
	fg_worker_t *w = arg;
	struct epoll_event evs[64];
	uint64_t last_sweep = now_ms();

	while (!atomic_load_explicit(&w->srv->stop, memory_order_relaxed)) {
		int n = epoll_wait(w->epfd, evs, 64, EPOLL_TICK_MS);
		for (int i = 0; i < n; i++) {
			uint32_t kind = (uint32_t)(evs[i].data.u64 >> 32);
			uint32_t idx = (uint32_t)evs[i].data.u64;
			if (kind == EV_UDP) {
				/* drain a few batches, then let other sockets run;
				 * a short batch means the socket is empty: no
				 * recvmmsg only to learn EAGAIN */
				for (int b = 0; b < 8; b++) {
					if (udp_batch(w, w->udp_fds[idx]) < UDP_BATCH)
						break;
					worker_grant_ready(w);
				}
			} else if (kind == EV_GRANT) {
				worker_grant_ready(w);
			} else if (kind == EV_TCP_LISTEN) {
				tcp_accept(w, w->tcp_fds[idx]);
			} else if (kind == EV_TCP_CONN) {
				tcp_event(w, idx, evs[i].events);
			} else if (w->dot) {
				fg_dot_event(w->dot, kind, idx, evs[i].events);
			}
			worker_quiescent(w);
		}
		worker_quiescent(w);
		uint64_t now = now_ms();
		if (now - last_sweep >= EPOLL_TICK_MS) {
			tcp_sweep(w);
			if (w->dot)
				fg_dot_sweep(w->dot);
			last_sweep = now;
		}
	}
	worker_drain(w);   /* every answer owed is sent (or SERVFAIL) */
	return NULL;
}

static void worker_free(fg_worker_t *w)
{
	if (!w)
		return;
	for (unsigned s = 0; s < w->nconns_cap; s++) {
		if (w->conns[s]) {
			tcp_close(w, s);
			free(w->conns[s]);
		}
	}
	free(w->conns);
	fg_dot_worker_free(w->dot);
	for (size_t i = 0; i < w->srv->nlisten; i++) {
		if (w->udp_fds && w->udp_fds[i] >= 0)
			close(w->udp_fds[i]);
		if (w->tcp_fds && w->tcp_fds[i] >= 0)
			close(w->tcp_fds[i]);
	}
	free(w->udp_fds);
	free(w->tcp_fds);
	if (w->gw)
		fg_grant_worker_free(w->gw);
	fg_siphash_free(w->sip);
	if (w->epfd >= 0)
		close(w->epfd);
	free(w);
}

static int worker_new(fg_server_t *srv, unsigned idx, fg_worker_t **out)
{
	fg_worker_t *w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->srv = srv;
	w->idx = idx;
	w->grant_fd = -1;
	for (unsigned k = 0; k < UDP_PIPE; k++)
		slot_init(&w->slot[k]);
	w->epfd = epoll_create1(EPOLL_CLOEXEC);
	w->udp_fds = malloc(srv->nlisten * sizeof(int));
	w->tcp_fds = malloc(srv->nlisten * sizeof(int));
	/* each worker may hold up to the global limit; the atomic counter
	 * enforces the real limit */
	w->nconns_cap = srv->tcp_max;
	w->conns = calloc(w->nconns_cap, sizeof(*w->conns));
	int src = fg_siphash_new(&w->sip);
	if (w->epfd < 0 || !w->udp_fds || !w->tcp_fds || !w->conns || src < 0) {
		free(w->udp_fds);
		free(w->tcp_fds);
		w->udp_fds = w->tcp_fds = NULL;
		worker_free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < srv->nlisten; i++)
		w->udp_fds[i] = w->tcp_fds[i] = -1;
	for (size_t i = 0; i < srv->nlisten; i++) {
		char at[80];
		fg_addr_text(&srv->listen[i].ss, at, sizeof(at));
		int u = fg_listen_bind(&srv->listen[i], SOCK_DGRAM);
		int t = u < 0 ? u : fg_listen_bind(&srv->listen[i], SOCK_STREAM);
		if (u < 0 || t < 0) {
			int e = u < 0 ? u : t;
			log_err("cannot listen on %s: %s", at, fg_strerror(e));
			if (u >= 0)
				close(u);
			worker_free(w);
			return e;
		}
		w->udp_fds[i] = u;
		w->tcp_fds[i] = t;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_PACK(EV_UDP, i) };
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, u, &ev);
		ev.data.u64 = EV_PACK(EV_TCP_LISTEN, i);
		epoll_ctl(w->epfd, EPOLL_CTL_ADD, t, &ev);
		if (idx == 0)
			log_info("listening on %s (UDP, TCP)", at);
	}
	if (srv->dot) {
		int rc = fg_dot_worker_new(srv->dot, idx, w->epfd, dot_answer, w, &w->stats.dot, &w->dot);
		if (rc < 0) {
			worker_free(w);
			return rc;
		}
	}
	*out = w;
	return 0;
}

/* The TCP limits that a reload applies at once (the client table is sized
 * at start: tcp-max-clients needs a restart). */
static void tcp_limits_set(fg_server_t *srv, const fg_conf_t *conf)
{
	uint32_t idle = conf->server.tcp_idle_timeout_ms, query = conf->server.tcp_query_timeout_ms;
	unsigned per = conf->server.tcp_max_per_source;
	atomic_store(&srv->tcp_idle_ms, idle ? idle : 10000);
	atomic_store(&srv->tcp_query_ms, query ? query : 5000);
	atomic_store(&srv->tcp_per_source, per ? per : 16);
}

int fg_server_bind(fg_snapshot_t *snap, fg_server_t **out)
{
	const fg_conf_t *conf = snap->conf;
	fg_server_t *srv = calloc(1, sizeof(*srv));
	int rc;

	if (!srv)
		return -ENOMEM;
	/* an agent answers no DNS: its controllers do */
	srv->nlisten = conf->role == FG_ROLE_AGENT ? 0 : conf->server.nlisten;
	srv->listen = calloc(srv->nlisten ? srv->nlisten : 1, sizeof(*srv->listen));
	if (!srv->listen) {
		free(srv);
		return -ENOMEM;
	}
	memcpy(srv->listen, conf->server.listen, srv->nlisten * sizeof(*srv->listen));
	srv->nworkers = conf->server.workers;
	if (srv->nworkers == 0) {
		long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
		srv->nworkers = ncpu > 0 ? (unsigned)ncpu : 1;
	}
	srv->tcp_max = conf->server.tcp_max_clients ? conf->server.tcp_max_clients : 1024;
	tcp_limits_set(srv, conf);
	pthread_mutex_init(&srv->src_mu, NULL);
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = now_ms() ^ (uint64_t)getpid() << 32;   /* still distinct per run */
	/* room for one source per client, plus one new one per worker
	 * between taking its source's share and evicting for a place */
	rc = fg_srclimit_new(srv->tcp_max + srv->nworkers, seed, &srv->src);
	if (rc < 0) {
		srv->workers = NULL;
		goto fail;
	}
	atomic_store(&srv->snap, snap);
	rc = fg_floods_new(conf, &srv->floods);
	if (rc < 0) {
		log_err("rrl/cookies: %s", fg_strerror(rc));
		goto fail;
	}
	/* the TLS key is read here, before the privilege drop */
	rc = fg_dot_new(conf, srv->nworkers, &srv->dot);
	if (rc < 0)
		goto fail;
	srv->workers = calloc(srv->nworkers, sizeof(*srv->workers));
	if (!srv->workers) {
		rc = -ENOMEM;
		goto fail;
	}
	for (unsigned i = 0; i < srv->nworkers; i++) {
		rc = worker_new(srv, i, &srv->workers[i]);
		if (rc < 0)
			goto fail;
	}
	*out = srv;
	return 0;
fail:
	if (srv->workers)
		for (unsigned i = 0; i < srv->nworkers; i++)
			worker_free(srv->workers[i]);
	free(srv->workers);
	fg_srclimit_free(srv->src);
	pthread_mutex_destroy(&srv->src_mu);
	fg_floods_free(srv->floods);
	fg_dot_free(srv->dot);
	free(srv->listen);
	free(srv);
	return rc;
}

int fg_server_run(fg_server_t *srv)
{
	/* workers inherit a fully blocked signal mask: signals go to main */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		if (pthread_create(&srv->workers[i]->thread, NULL, worker_main, srv->workers[i])) {
			pthread_sigmask(SIG_SETMASK, &old, NULL);
			atomic_store(&srv->stop, true);
			for (unsigned j = 0; j < i; j++)
				pthread_join(srv->workers[j]->thread, NULL);
			srv->nstarted = 0;
			return -EAGAIN;
		}
		srv->nstarted = i + 1;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	log_info("%u workers started", srv->nworkers);
	return 0;
}

/* Wait until every worker passed a batch boundary after the swap, so none
 * can still hold a pointer into the old snapshot. */
static void wait_quiescent(fg_server_t *srv)
{
	uint64_t seen[srv->nworkers];
	for (unsigned i = 0; i < srv->nworkers; i++)
		seen[i] = atomic_load_explicit(&srv->workers[i]->quiescent, memory_order_acquire);
	for (unsigned i = 0; i < srv->nworkers; i++) {
		while (atomic_load_explicit(&srv->workers[i]->quiescent, memory_order_acquire) == seen[i]) {
			struct timespec ts = { 0, 5 * 1000 * 1000 };
			nanosleep(&ts, NULL);
		}
	}
}

void fg_server_swap(fg_server_t *srv, fg_snapshot_t *snap)
{
	const fg_conf_t *nc = snap->conf;
	/* keys that need a restart (listen, workers, tcp-max-clients) are
	 * named by the reload (fg_conf_restart_keys); these apply now */
	tcp_limits_set(srv, nc);
	fg_dot_limits_set(srv->dot, nc);
	fg_floods_reload(srv->floods, nc);
	fg_snapshot_t *old = atomic_exchange_explicit(&srv->snap, snap, memory_order_acq_rel);
	atomic_fetch_add(&srv->swap_gen, 1);   /* workers with batches in flight drain */
	wait_quiescent(srv);
	fg_snapshot_free(old);
}

void fg_server_set_evlog(fg_server_t *srv, fg_evlog_t *ev)
{
	srv->evlog = ev;
}

void fg_server_stop(fg_server_t *srv)
{
	if (!srv)
		return;
	atomic_store(&srv->stop, true);
	for (unsigned i = 0; i < srv->nstarted; i++)
		pthread_join(srv->workers[i]->thread, NULL);
	for (unsigned i = 0; i < srv->nworkers; i++)
		worker_free(srv->workers[i]);
	free(srv->workers);
	fg_srclimit_free(srv->src);
	pthread_mutex_destroy(&srv->src_mu);
	fg_snapshot_free(atomic_load(&srv->snap));
	fg_floods_free(srv->floods);
	fg_dot_free(srv->dot);
	free(srv->listen);
	free(srv);
}

uint64_t fg_server_unverified_live(const fg_server_t *srv, uint64_t *limit)
{
	return fg_floods_budget_live(srv->floods, now_ms(), limit);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * fluxlab traffic engine: one thread, one epoll, thousands of clients, each
 * a small state machine with its own source address (bound before connect,
 * from an AnyIP /16 of the thread's namespace), so 10000 clients need no
 * namespace each. A session is: think time, [DNS lookup of the protected
 * name], connect to the answered (or guessed) address, one application
 * exchange, and a verdict from the marker the server answered with
 * ("fluxlab-real" on the protected server, "fluxlab-decoy" on the decoy bed).
 * Userspace latency: every send step (query, SYN, request) waits the
 * one-way latency drawn for it first, as netem would have delayed it.
 * Used for legitimate clients and the attackers that speak TCP (invalid
 * sessions, the defence-aware random prober, the sweep, the hitlist).
 * An engine is of one address family: IPv6 engines ask AAAA, bind sources
 * of a /64 and draw pool addresses with random interface ids.
 */
#include "fluxlab/lab.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

enum cstate { ST_IDLE, ST_DNS_DELAY, ST_DNS, ST_CONN_DELAY, ST_CONNECTING, ST_TLS,
	      ST_SEND_DELAY, ST_READING, ST_DONE };
enum outcome { OUT_REAL, OUT_DECOY, OUT_FAIL_DNS, OUT_FAIL_CONN, OUT_FAIL_TIMEOUT, OUT_FAIL_OTHER };

typedef struct client {
	uint32_t src, target;       /* host order */
	int fd;
	uint8_t state, proto, tries;
	uint16_t dns_id;
	uint32_t gen;
	double deadline, t_sess, t_dns;
	double t_answer, t_syn;     /* the answer this session uses arrived (kernel receive
				     * time); its first SYN left (right after connect()) */
	double t_seen, t_conn;      /* the engine read that answer; the connection was up */
	uint32_t ttl;               /* that answer's remaining TTL (s) */
	uint32_t syn_retrans;       /* SYNs the kernel retransmitted before the connection */
	uint8_t from;               /* that answer: 0 fresh, 1 resolver cache, 2 host cache */
	bool hcache;                /* keeps answers for legit.host-cache.ttl, whatever the TTL */
	uint32_t rq_next, rq_end;   /* replay: this client's openings left, in e->rq */
	uint32_t hc_addr, hc_ttl;   /* the cached answer, its TTL when received */
	uint8_t src6[16], target6[16], hc_addr6[16];   /* IPv6 engines */
	double hc_t, hc_until;      /* when it was received; until when it is used */
	uint64_t probe_no;
	SSL *ssl;
	uint16_t rlen, sport;       /* sport: the connection's source port */
	char rbuf[256];
	/* legit.sizes: this session's drawn bytes; reading the reply to its
	 * end, the marker is looked for line by line in the header */
	bool sized, in_body;
	uint8_t verdict;            /* 0 none yet, 1 real, 2 decoy */
	uint32_t req_sz, rep_sz;
	uint64_t body;              /* reply body bytes received */
} client_t;

typedef struct tentry {
	double t;
	uint32_t idx, gen;
} tentry_t;

typedef struct eng {
	lab_engine_cfg_t *cfg;
	lab_run_t *run;
	lab_role_stats_t *st;
	client_t *c;
	unsigned n;
	int ep;
	tentry_t *heap;
	size_t hn, hcap;
	uint64_t rng;
	double t_start, t_end;      /* absolute */
	bool stopping;
	unsigned active;
	double pace_next;           /* probers: next probe slot */
	uint64_t probes_started;
	uint64_t sweep_pos;         /* sweep: next pool index over all rounds */
	uint32_t *perm;             /* sweep: pool order */
	bool sweep_done;
	SSL_CTX *tls;
	lab_pcap_start_t *rq;       /* replay: openings grouped by client */
} eng_t;

/* ------------------------------------------------------------ timers */

static void heap_push(eng_t *e, double t, uint32_t idx, uint32_t gen)
{
	if (e->hn == e->hcap) {
		size_t nc = e->hcap ? e->hcap * 2 : 1024;
		tentry_t *h = realloc(e->heap, nc * sizeof *h);
		if (!h)
			abort();   /* a lab tool: no sensible way to go on */
		e->heap = h;
		e->hcap = nc;
	}
	size_t i = e->hn++;
	while (i) {
		size_t p = (i - 1) / 2;
		if (e->heap[p].t <= t)
			break;
		e->heap[i] = e->heap[p];
		i = p;
	}
	e->heap[i] = (tentry_t){ t, idx, gen };
}

static tentry_t heap_pop(eng_t *e)
{
	tentry_t top = e->heap[0], last = e->heap[--e->hn];
	size_t i = 0;
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		double mt = last.t;
		if (l < e->hn && e->heap[l].t < mt) {
			m = l;
			mt = e->heap[l].t;
		}
		if (r < e->hn && e->heap[r].t < mt)
			m = r;
		if (m == i)
			break;
		e->heap[i] = e->heap[m];
		i = m;
	}
	if (e->hn)
		e->heap[i] = last;
	return top;
}

static void set_timer(eng_t *e, client_t *c, double t)
{
	c->deadline = t;
	c->gen++;
	heap_push(e, t, (uint32_t)(c - e->c), c->gen);
}

/* ------------------------------------------------------------ helpers */

static const uint16_t proto_port[4] = { 80, 443, 22, 25 };

static void close_fd(eng_t *e, client_t *c)
{
	if (c->ssl) {
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		epoll_ctl(e->ep, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
		c->fd = -1;
	}
}

static double latency_ms(eng_t *e)
{
	return e->cfg->latency ? lab_sample(e->cfg->latency, &e->rng) : 0;
}

static void schedule_next(eng_t *e, client_t *c, double now);
static void begin_tcp(eng_t *e, client_t *c, double now);

/* The grant made for the answer this session used lives TTL + grace from
 * when fluxgated sent it: at least remaining TTL + grace from when the
 * client got it. A SYN later than that is the client's lateness. */
static bool late(eng_t *e, const client_t *c)
{
	double window = c->ttl + e->run->sc->gateway.grace_ms / 1000.0;
	return c->t_syn - c->t_answer > window;
}

/* the timeline of a misroute (decoy, or a SYN nobody answered) */
static void record_misroute(eng_t *e, const client_t *c, enum outcome o, bool is_late, double now)
{
	lab_run_t *r = e->run;
	pthread_mutex_lock(&r->mis_lock);
	if (r->nmis == r->mis_cap && r->mis_cap < LAB_MIS_MAX) {
		size_t nc = r->mis_cap ? r->mis_cap * 2 : 256;
		lab_misroute_t *nm = realloc(r->mis, nc * sizeof *nm);
		if (nm) {
			r->mis = nm;
			r->mis_cap = nc;
		}
	}
	if (r->nmis >= r->mis_cap) {
		pthread_mutex_unlock(&r->mis_lock);
		return;
	}
	lab_misroute_t *m = &r->mis[r->nmis++];
	memset(m, 0, sizeof *m);
	m->fam = e->cfg->v6 ? 6 : 4;
	m->proto = c->proto;
	m->outcome = o == OUT_DECOY ? 1 : 2;
	m->late = is_late;
	m->from = c->from;
	m->ttl = c->ttl;
	m->syn_retrans = c->syn_retrans;
	m->sport = c->sport;
	if (e->cfg->v6) {
		memcpy(m->src, c->src6, 16);
		memcpy(m->dst, c->target6, 16);
	} else {
		for (int i = 0; i < 4; i++) {
			m->src[i] = (uint8_t)(c->src >> (24 - 8 * i));
			m->dst[i] = (uint8_t)(c->target >> (24 - 8 * i));
		}
	}
	m->t_query = c->from == 2 ? 0 : c->t_dns - r->t0;
	m->t_answer = c->t_answer - r->t0;
	m->t_answer_seen = c->t_seen - r->t0;
	m->t_syn = c->t_syn - r->t0;
	m->t_conn = c->t_conn > 0 ? c->t_conn - r->t0 : 0;
	m->t_end = now - r->t0;
	pthread_mutex_unlock(&r->mis_lock);
}

static void finish(eng_t *e, client_t *c, enum outcome o, double now)
{
	lab_role_stats_t *st = e->st;
	lab_series_t *s = e->run->ser;
	unsigned sec = lab_sec_index(e->run, now);
	close_fd(e, c);
	atomic_fetch_add(&st->sessions, 1);
	/* distributed mode: by the share of the pool (the agent) it went to */
	if (e->run->dist && e->cfg->legit && !e->cfg->v6)
		lab_dist_outcome(e->run, c->target,
				 o == OUT_REAL ? 0 : o == OUT_DECOY ? 1 : o == OUT_FAIL_DNS ? 3 : 2, c->t_syn, now,
				 o != OUT_FAIL_DNS && late(e, c));
	switch (o) {
	case OUT_REAL:
		atomic_fetch_add(&st->real, 1);
		atomic_fetch_add(&st->per_proto_real[c->proto], 1);
		atomic_fetch_add(e->cfg->legit ? &s->legit_real[sec] : &s->atk_real[sec], 1);
		if (!e->cfg->legit) {
			int64_t none = -1;
			atomic_compare_exchange_strong(&st->first_hit, &none, (int64_t)c->probe_no);
			if (e->cfg->kind == LAB_ATK_SWEEP)
				e->sweep_done = true;   /* the sweep stops at its first hit */
		}
		break;
	case OUT_DECOY:
		if (e->cfg->legit) {
			bool lt = late(e, c);
			atomic_fetch_add(lt ? &st->mis_late : &st->mis_product, 1);
			record_misroute(e, c, o, lt, now);
		}
		atomic_fetch_add(&st->decoy, 1);
		atomic_fetch_add(&st->per_proto_decoy[c->proto], 1);
		atomic_fetch_add(e->cfg->legit ? &s->legit_decoy[sec] : &s->atk_decoy[sec], 1);
		break;
	default:
		/* each failure counted once, by its kind (a DNS failure used to
		 * count as "other" too, a timeout after the SYN not at all) */
		if (o == OUT_FAIL_DNS)
			atomic_fetch_add(&st->fail_dns, 1);
		else if (o == OUT_FAIL_CONN)
			atomic_fetch_add(&st->fail_conn, 1);
		else if (o == OUT_FAIL_TIMEOUT)
			atomic_fetch_add(&st->fail_timeout, 1);
		else
			atomic_fetch_add(&st->fail_other, 1);
		/* a SYN that got no answer: explained like a misroute (a pin
		 * past its backend's horizon is dropped, never sent to a decoy) */
		if (e->cfg->legit && c->t_syn > 0 && (o == OUT_FAIL_CONN || o == OUT_FAIL_TIMEOUT)) {
			bool lt = late(e, c);
			atomic_fetch_add(lt ? &st->fail_late : &st->fail_product, 1);
			record_misroute(e, c, o, lt, now);
		}
		atomic_fetch_add(e->cfg->legit ? &s->legit_fail[sec] : &s->atk_fail[sec], 1);
		break;
	}
	schedule_next(e, c, now);
}

static bool is_prober(eng_t *e)
{
	return !e->cfg->legit && (e->cfg->kind == LAB_ATK_AWARE || e->cfg->kind == LAB_ATK_SWEEP ||
				  e->cfg->kind == LAB_ATK_HITLIST);
}

/* sweep length: the whole IPv4 pool, or the sample of the IPv6 one */
static uint64_t sweep_len(eng_t *e)
{
	return e->cfg->v6 ? e->cfg->sample : e->run->pool_size;
}

static void schedule_next(eng_t *e, client_t *c, double now)
{
	c->state = ST_IDLE;
	if (e->stopping) {
		c->state = ST_DONE;
		e->active--;
		return;
	}
	double t;
	if (e->rq) {
		/* replay: the trace's next opening for this client, or done */
		if (c->rq_next >= c->rq_end) {
			c->state = ST_DONE;
			e->active--;
			return;
		}
		t = e->t_start + e->rq[c->rq_next].t;
		if (t < now)
			t = now;
		set_timer(e, c, t);
		return;
	}
	if (is_prober(e)) {
		/* probers are paced globally at `rate`, whichever slot is free */
		if (e->pace_next < now)
			e->pace_next = now;
		t = e->pace_next;
		e->pace_next += 1.0 / e->cfg->rate;
	} else {
		t = now + lab_sample(e->cfg->think, &e->rng) / 1000.0;
	}
	set_timer(e, c, t);
}

/* ------------------------------------------------------------ DNS */

/* A socket address of the engine's family: the client's own source (c)
 * or, with c NULL, an unset peer address; the port in host order. */
static socklen_t sockaddr_of(eng_t *e, struct sockaddr_storage *ss, const client_t *c, uint16_t port)
{
	memset(ss, 0, sizeof *ss);
	if (e->cfg->v6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		if (c)
			memcpy(&s6->sin6_addr, c->src6, 16);
		return sizeof *s6;
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	if (c)
		s4->sin_addr.s_addr = htonl(c->src);
	return sizeof *s4;
}

static size_t dns_query(uint8_t *b, uint16_t id, bool rd, uint16_t qtype)
{
	size_t o = 0;
	b[o++] = (uint8_t)(id >> 8);
	b[o++] = (uint8_t)id;
	b[o++] = rd ? 0x01 : 0x00;
	b[o++] = 0;
	b[o++] = 0; b[o++] = 1;       /* QDCOUNT */
	memset(b + o, 0, 6);
	o += 6;
	const char *name = LAB_SERVICE_NAME;
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t l = dot ? (size_t)(dot - name) : strlen(name);
		b[o++] = (uint8_t)l;
		memcpy(b + o, name, l);
		o += l;
		name += l + (dot ? 1 : 0);
	}
	b[o++] = 0;
	b[o++] = (uint8_t)(qtype >> 8); b[o++] = (uint8_t)qtype;   /* A or AAAA */
	b[o++] = 0; b[o++] = 1;       /* IN */
	return o;
}

/* skip a possibly compressed name; returns the offset after it or 0 */
static size_t skip_name(const uint8_t *b, size_t len, size_t o)
{
	while (o < len) {
		uint8_t l = b[o];
		if ((l & 0xc0) == 0xc0)
			return o + 2 <= len ? o + 2 : 0;
		if (l & 0xc0)
			return 0;
		o += 1u + l;
		if (l == 0)
			return o <= len ? o : 0;
	}
	return 0;
}

/* First A (alen 4) or AAAA (alen 16) record of the answer section, in
 * network order, and its TTL; -1 bad/other id, 0 no address, 1 ok */
static int dns_parse(const uint8_t *b, size_t len, uint16_t id, uint8_t *addr, size_t alen, uint32_t *ttl)
{
	if (len < 12 || ((b[0] << 8) | b[1]) != id || !(b[2] & 0x80))
		return -1;
	if ((b[3] & 0x0f) != 0)
		return 0;
	unsigned qd = (unsigned)(b[4] << 8 | b[5]), an = (unsigned)(b[6] << 8 | b[7]);
	size_t o = 12;
	for (unsigned i = 0; i < qd; i++) {
		o = skip_name(b, len, o);
		if (!o || o + 4 > len)
			return 0;
		o += 4;
	}
	for (unsigned i = 0; i < an; i++) {
		o = skip_name(b, len, o);
		if (!o || o + 10 > len)
			return 0;
		uint16_t type = (uint16_t)(b[o] << 8 | b[o + 1]);
		uint16_t rdlen = (uint16_t)(b[o + 8] << 8 | b[o + 9]);
		o += 10;
		if (o + rdlen > len)
			return 0;
		if (type == (alen == 16 ? 28 : 1) && rdlen == alen) {
			*ttl = (uint32_t)b[o - 6] << 24 | (uint32_t)b[o - 5] << 16 | (uint32_t)b[o - 4] << 8 | b[o - 3];
			memcpy(addr, b + o, alen);
			return 1;
		}
		o += rdlen;
	}
	return 0;
}

static void dns_send(eng_t *e, client_t *c, double now)
{
	uint8_t q[64];
	c->dns_id = (uint16_t)lab_rand(&e->rng);
	bool res = e->run->sc->dns.resolver;
	size_t n = dns_query(q, c->dns_id, res, e->cfg->v6 ? 28 : 1);
	struct sockaddr_storage to;
	socklen_t tl = sockaddr_of(e, &to, NULL, 53);
	if (e->cfg->v6)
		inet_pton(AF_INET6, res ? LAB_RESOLVER6 : LAB_GW_CLI6, &((struct sockaddr_in6 *)&to)->sin6_addr);
	else
		((struct sockaddr_in *)&to)->sin_addr.s_addr = htonl(res ? LAB_RESOLVER : LAB_GW_CLI);
	atomic_fetch_add(&e->st->dns_queries, 1);
	if (sendto(c->fd, q, n, 0, (struct sockaddr *)&to, tl) < 0 && errno != EAGAIN) {
		finish(e, c, OUT_FAIL_DNS, now);
		return;
	}
	c->state = ST_DNS;
	set_timer(e, c, now + e->run->sc->dns.timeout_ms / 1000.0);
}

static void dns_start(eng_t *e, client_t *c, double now)
{
	c->fd = socket(e->cfg->v6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	struct sockaddr_storage sa;
	socklen_t sl = sockaddr_of(e, &sa, c, 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = (uint64_t)(c - e->c) };
	/* the answer's kernel receive time: a loaded engine reads it late,
	 * while its TTL (and the grant behind it) counts down from arrival */
	int one = 1;
	setsockopt(c->fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof one);
	if (bind(c->fd, (struct sockaddr *)&sa, sl) < 0 ||
	    epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	c->tries = 0;
	c->t_dns = now;
	dns_send(e, c, now);
}

/* ------------------------------------------------------------ TCP */

static void tcp_connect(eng_t *e, client_t *c, double now)
{
	c->fd = socket(e->cfg->v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	int one = 1;
	/* the port is picked at connect(): many clients, one port space each */
	setsockopt(c->fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	if (c->sized) {
		/* the whole request goes in one write (send_request does not
		 * resume a partial one) */
		int sb = (int)c->req_sz + 65536;
		setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sb, sizeof sb);
	}
	struct sockaddr_storage sa, to;
	socklen_t sl = sockaddr_of(e, &sa, c, 0);
	sockaddr_of(e, &to, NULL, e->cfg->legit || e->cfg->kind == LAB_ATK_INVALID ? proto_port[c->proto]
										 : (uint16_t)e->cfg->port);
	if (e->cfg->v6)
		memcpy(&((struct sockaddr_in6 *)&to)->sin6_addr, c->target6, 16);
	else
		((struct sockaddr_in *)&to)->sin_addr.s_addr = htonl(c->target);
	if (bind(c->fd, (struct sockaddr *)&sa, sl) < 0) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	if (connect(c->fd, (struct sockaddr *)&to, sl) < 0 && errno != EINPROGRESS) {
		finish(e, c, OUT_FAIL_CONN, now);
		return;
	}
	/* the first SYN left inside connect(): its time, not the loop's
	 * (timers of a busy batch all carry the batch's start) */
	double t_syn = lab_now();
	c->t_conn = 0;
	c->syn_retrans = 0;
	struct sockaddr_storage me;
	socklen_t ml = sizeof me;
	c->sport = 0;
	if (getsockname(c->fd, (struct sockaddr *)&me, &ml) == 0)
		c->sport = ntohs(me.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&me)->sin6_port
							  : ((struct sockaddr_in *)&me)->sin_port);
	struct epoll_event ev = { .events = EPOLLOUT, .data.u64 = (uint64_t)(c - e->c) };
	if (epoll_ctl(e->ep, EPOLL_CTL_ADD, c->fd, &ev) < 0) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	c->state = ST_CONNECTING;
	c->t_syn = t_syn;
	if (e->cfg->legit) {
		lab_hist_add(e->run->syn_delay, (uint64_t)((t_syn - c->t_answer) * 1e6));
		if (e->run->trace) {
			size_t k = atomic_fetch_add(&e->run->ntrace, 1);
			if (k < e->run->trace_cap)
				e->run->trace[k] = (lab_pcap_start_t){ now - e->run->t0,
								       (uint32_t)(c - e->c) + e->cfg->first,
								       proto_port[c->proto] };
		}
	}
	set_timer(e, c, now + e->run->sc->legit.timeout_ms / 1000.0);
}

static void want(eng_t *e, client_t *c, uint32_t events)
{
	struct epoll_event ev = { .events = events, .data.u64 = (uint64_t)(c - e->c) };
	epoll_ctl(e->ep, EPOLL_CTL_MOD, c->fd, &ev);
}

static ssize_t c_write(client_t *c, const void *b, size_t n)
{
	if (c->ssl) {
		int r = SSL_write(c->ssl, b, (int)n);
		return r > 0 ? r : -1;
	}
	return send(c->fd, b, n, MSG_NOSIGNAL);
}

/* legit.sizes: GET of the first rep_sz bytes of the servers' size file
 * (a Range; 0 bytes: the empty file), padded with a header to req_sz bytes
 * in all. Returns the length written to *out (malloc'd) or 0. */
static size_t sized_request(const client_t *c, char **out)
{
	char head[256];
	int n;
	if (c->rep_sz)
		n = snprintf(head, sizeof head, "GET /" LAB_SIZE_FILE " HTTP/1.1\r\nHost: " LAB_SERVICE_NAME
			     "\r\nUser-Agent: fluxlab\r\nConnection: close\r\nRange: bytes=0-%u\r\n", c->rep_sz - 1);
	else
		n = snprintf(head, sizeof head, "GET /" LAB_EMPTY_FILE " HTTP/1.1\r\nHost: " LAB_SERVICE_NAME
			     "\r\nUser-Agent: fluxlab\r\nConnection: close\r\n");
	static const char pad_name[] = "X-Pad: ";
	size_t h = (size_t)n, min = h + sizeof pad_name - 1 + 4;   /* + pad CRLF + final CRLF */
	size_t len = c->req_sz > min ? c->req_sz : h + 2;
	char *b = malloc(len);
	if (!b)
		return 0;
	memcpy(b, head, h);
	if (len > h + 2) {
		memcpy(b + h, pad_name, sizeof pad_name - 1);
		memset(b + h + sizeof pad_name - 1, 'p', len - min);
		memcpy(b + len - 4, "\r\n\r\n", 4);
	} else {
		memcpy(b + h, "\r\n", 2);
	}
	*out = b;
	return len;
}

static void send_request(eng_t *e, client_t *c, double now)
{
	static const char req[] = "GET / HTTP/1.0\r\nHost: " LAB_SERVICE_NAME "\r\nUser-Agent: fluxlab\r\n\r\n";
	if (c->sized) {
		char *b = NULL;
		size_t len = sized_request(c, &b);
		ssize_t w = len ? c_write(c, b, len) : -1;
		free(b);
		if (w != (ssize_t)len) {
			finish(e, c, OUT_FAIL_OTHER, now);
			return;
		}
	} else if (c_write(c, req, sizeof req - 1) < 0) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	c->state = ST_READING;
	want(e, c, EPOLLIN);
	set_timer(e, c, now + e->run->sc->legit.timeout_ms / 1000.0);
}

/* banner protocols: the server speaks first */
static bool speaks_first(unsigned proto)
{
	return proto == 2 || proto == 3;
}

static void after_connect(eng_t *e, client_t *c, double now)
{
	if (speaks_first(c->proto)) {
		c->state = ST_READING;
		want(e, c, EPOLLIN);
		return;
	}
	double lat = latency_ms(e);
	if (lat > 0) {
		c->state = ST_SEND_DELAY;
		want(e, c, 0);
		set_timer(e, c, now + lat / 1000.0);
	} else {
		send_request(e, c, now);
	}
}

static void tls_step(eng_t *e, client_t *c, double now)
{
	int r = SSL_connect(c->ssl);
	if (r == 1) {
		after_connect(e, c, now);
		return;
	}
	int err = SSL_get_error(c->ssl, r);
	if (err == SSL_ERROR_WANT_READ)
		want(e, c, EPOLLIN);
	else if (err == SSL_ERROR_WANT_WRITE)
		want(e, c, EPOLLOUT);
	else
		finish(e, c, OUT_FAIL_OTHER, now);
}

/* legit.sizes: the reply is read to its end (Connection: close; HTTP/1.1
 * since lighttpd honours a Range only there);
 * header lines are checked for the marker one by one, body bytes counted */
static void sized_bytes(client_t *c, const char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (c->in_body) {
			c->body += n - i;
			return;
		}
		if (b[i] != '\n') {
			if (c->rlen < sizeof c->rbuf - 1)
				c->rbuf[c->rlen++] = b[i];
			continue;
		}
		c->rbuf[c->rlen] = 0;
		if (!c->verdict && strstr(c->rbuf, LAB_MARK_REAL))
			c->verdict = 1;
		else if (!c->verdict && strstr(c->rbuf, LAB_MARK_DECOY))
			c->verdict = 2;
		if (c->rlen == 0 || (c->rlen == 1 && c->rbuf[0] == '\r'))
			c->in_body = true;   /* the empty line */
		c->rlen = 0;
	}
}

static void sized_done(eng_t *e, client_t *c, double now)
{
	if (!c->verdict) {
		finish(e, c, OUT_FAIL_OTHER, now);
		return;
	}
	lab_size_stats_t *zs = &e->run->sizes[c->proto];
	atomic_fetch_add(&zs->answered, 1);
	atomic_fetch_add(&zs->rep_bytes, c->rep_sz);
	atomic_fetch_add(&zs->got_bytes, c->body);
	lab_hist_add(&zs->got, c->body * 1000);
	if (c->body != c->rep_sz)
		atomic_fetch_add(c->verdict == 1 ? &zs->mismatch_real : &zs->mismatch_decoy, 1);
	finish(e, c, c->verdict == 1 ? OUT_REAL : OUT_DECOY, now);
}

static void on_readable(eng_t *e, client_t *c, double now)
{
	char buf[4096];
	for (;;) {
		ssize_t n;
		if (c->ssl) {
			int r = SSL_read(c->ssl, buf, sizeof buf);
			if (r <= 0) {
				int err = SSL_get_error(c->ssl, r);
				if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
					return;
				n = 0;
			} else {
				n = r;
			}
		} else {
			n = recv(c->fd, buf, sizeof buf, 0);
			if (n < 0 && (errno == EAGAIN || errno == EINTR))
				return;
		}
		if (c->sized) {
			if (n < 0) {
				finish(e, c, OUT_FAIL_CONN, now);
				return;
			}
			if (n == 0) {
				sized_done(e, c, now);
				return;
			}
			sized_bytes(c, buf, (size_t)n);
			continue;
		}
		if (n <= 0) {
			finish(e, c, n == 0 ? OUT_FAIL_OTHER : OUT_FAIL_CONN, now);
			return;
		}
		/* keep a tail so a marker split across reads is still found */
		for (ssize_t i = 0; i < n; i++) {
			if (c->rlen == sizeof c->rbuf - 1) {
				memmove(c->rbuf, c->rbuf + 128, c->rlen - 128);
				c->rlen -= 128;
			}
			c->rbuf[c->rlen++] = buf[i];
		}
		c->rbuf[c->rlen] = 0;
		enum outcome o;
		if (strstr(c->rbuf, LAB_MARK_REAL))
			o = OUT_REAL;
		else if (strstr(c->rbuf, LAB_MARK_DECOY))
			o = OUT_DECOY;
		else
			continue;
		if (speaks_first(c->proto)) {
			/* end the dialogue politely, as a real client would */
			static const char ssh_id[] = "SSH-2.0-fluxlab\r\n", quit[] = "QUIT\r\n";
			if (c->proto == 2)
				c_write(c, ssh_id, sizeof ssh_id - 1);
			else
				c_write(c, quit, sizeof quit - 1);
		}
		finish(e, c, o, now);
		return;
	}
}

/* ------------------------------------------------------------ sessions */

/* the attacker's next address into c->target / c->target6; false when
 * it has none yet (a hitlist that has seen no answer old enough) */
static bool pick_target(eng_t *e, client_t *c, double now)
{
	lab_run_t *r = e->run;
	if (e->cfg->kind == LAB_ATK_HITLIST) {
		uint8_t a[16];
		if (!lab_seen_pick(r->seen[e->cfg->v6], now, e->cfg->delay_s, &e->rng, a, e->cfg->v6 ? 16 : 4))
			return false;
		if (e->cfg->v6)
			memcpy(c->target6, a, 16);
		else
			c->target = (uint32_t)a[0] << 24 | (uint32_t)a[1] << 16 | (uint32_t)a[2] << 8 | a[3];
		return true;
	}
	if (e->cfg->v6) {
		/* a /64 cannot be swept: the sweep visits `sample` random
		 * interface ids (64 random bits: no repeats in practice) */
		if (e->cfg->kind == LAB_ATK_SWEEP)
			e->sweep_pos++;
		lab_pool6_random(r, &e->rng, c->target6);
		return true;
	}
	if (e->cfg->kind == LAB_ATK_SWEEP) {
		uint64_t i = e->sweep_pos++;
		c->target = r->pool_base + e->perm[i % r->pool_size];
		return true;
	}
	c->target = r->pool_base + (uint32_t)(lab_rand(&e->rng) % r->pool_size);
	return true;
}

static void start_session(eng_t *e, client_t *c, double now)
{
	if (e->stopping || now >= e->t_end || e->sweep_done ||
	    (is_prober(e) && e->cfg->probes && e->probes_started >= e->cfg->probes) ||
	    (!e->cfg->legit && e->cfg->kind == LAB_ATK_SWEEP &&
	     e->sweep_pos >= sweep_len(e) * e->cfg->rounds)) {
		c->state = ST_DONE;
		e->active--;
		return;
	}
	c->t_sess = now;
	c->t_syn = 0;
	c->rlen = 0;
	int rproto = -1;
	if (e->rq && c->rq_next < c->rq_end) {
		/* replay: the opening's port says the protocol, when it is one of ours */
		uint16_t dp = e->rq[c->rq_next++].dport;
		for (unsigned i = 0; i < 4; i++)
			if (dp == proto_port[i] && (e->cfg->protocols & (1u << i)))
				rproto = (int)i;
	}
	if (rproto >= 0) {
		c->proto = (uint8_t)rproto;
	} else if (e->cfg->legit || e->cfg->kind == LAB_ATK_INVALID) {
		unsigned choices[4], nc = 0;
		for (unsigned i = 0; i < 4; i++)
			if (e->cfg->protocols & (1u << i))
				choices[nc++] = i;
		c->proto = (uint8_t)choices[lab_rand(&e->rng) % nc];
	} else {
		c->proto = e->cfg->port == 443 ? 1 : e->cfg->port == 22 ? 2 : e->cfg->port == 25 ? 3 : 0;
	}
	c->sized = false;
	if (e->cfg->legit && e->run->sizes && c->proto < 2 && e->run->sc->legit.sizes[c->proto].set) {
		const lab_size_pair_t *sp = &e->run->sc->legit.sizes[c->proto];
		lab_size_stats_t *zs = &e->run->sizes[c->proto];
		c->req_sz = (uint32_t)(lab_sample_bytes(&sp->request, &e->rng, LAB_REQ_MAX) + 0.5);
		c->rep_sz = (uint32_t)(lab_sample_bytes(&sp->reply, &e->rng, LAB_SIZE_MAX) + 0.5);
		if (c->req_sz > LAB_REQ_MAX)
			c->req_sz = (uint32_t)LAB_REQ_MAX;
		if (c->rep_sz > LAB_SIZE_MAX)
			c->rep_sz = (uint32_t)LAB_SIZE_MAX;
		c->sized = true;
		c->in_body = false;
		c->verdict = 0;
		c->body = 0;
		lab_hist_add(&zs->req, (uint64_t)c->req_sz * 1000);
		lab_hist_add(&zs->rep, (uint64_t)c->rep_sz * 1000);
		atomic_fetch_add(&zs->drawn, 1);
	}
	if (!e->cfg->legit) {
		if (!pick_target(e, c, now)) {
			c->state = ST_IDLE;
			set_timer(e, c, now + 0.1);
			return;
		}
		c->probe_no = ++e->probes_started;
		atomic_fetch_add(&e->st->probes, 1);
	}
	double lat = latency_ms(e);
	if (e->cfg->legit && c->hcache && c->hc_addr && now < c->hc_until) {
		/* a host cache (nscd) answers: no query, whatever the TTL said */
		c->target = c->hc_addr;
		memcpy(c->target6, c->hc_addr6, 16);
		c->t_answer = c->hc_t;
		c->t_seen = c->hc_t;
		c->ttl = c->hc_ttl;
		c->from = 2;
		atomic_fetch_add(&e->st->ans_host_cache, 1);
		begin_tcp(e, c, now);
		return;
	}
	if (e->cfg->legit) {
		if (lat > 0) {
			c->state = ST_DNS_DELAY;
			set_timer(e, c, now + lat / 1000.0);
		} else {
			dns_start(e, c, now);
		}
	} else {
		if (lat > 0) {
			c->state = ST_CONN_DELAY;
			set_timer(e, c, now + lat / 1000.0);
		} else {
			tcp_connect(e, c, now);
		}
	}
}

static void begin_tcp(eng_t *e, client_t *c, double now)
{
	double lat = latency_ms(e);
	if (lat > 0) {
		c->state = ST_CONN_DELAY;
		set_timer(e, c, now + lat / 1000.0);
	} else {
		tcp_connect(e, c, now);
	}
}

static void on_timer(eng_t *e, client_t *c, double now)
{
	switch (c->state) {
	case ST_IDLE: start_session(e, c, now); break;
	case ST_DNS_DELAY: dns_start(e, c, now); break;
	case ST_DNS:
		if (++c->tries > e->run->sc->dns.retries) {
			finish(e, c, OUT_FAIL_DNS, now);
		} else {
			dns_send(e, c, now);
		}
		break;
	case ST_CONN_DELAY: tcp_connect(e, c, now); break;
	case ST_SEND_DELAY: send_request(e, c, now); break;
	case ST_CONNECTING: {
		/* no answer to any SYN: how many the kernel retransmitted */
		struct tcp_info ti;
		socklen_t tl = sizeof ti;
		if (c->fd >= 0 && getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
			c->syn_retrans = ti.tcpi_total_retrans;
		finish(e, c, OUT_FAIL_CONN, now);
		break;
	}
	case ST_TLS:
	case ST_READING: finish(e, c, OUT_FAIL_TIMEOUT, now); break;
	default: break;
	}
}

static void on_io(eng_t *e, client_t *c, uint32_t ev, double now)
{
	switch (c->state) {
	case ST_DNS: {
		uint8_t b[1500];
		union { char buf[CMSG_SPACE(sizeof(struct timespec))]; struct cmsghdr align; } cm;
		struct iovec iov = { b, sizeof b };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cm.buf,
				     .msg_controllen = sizeof cm.buf };
		ssize_t n = recvmsg(c->fd, &mh, 0);
		if (n < 0)
			return;
		double rx = now;
		for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
			if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec ts, rt;
				memcpy(&ts, CMSG_DATA(h), sizeof ts);
				clock_gettime(CLOCK_REALTIME, &rt);
				double age = (double)(rt.tv_sec - ts.tv_sec) + (rt.tv_nsec - ts.tv_nsec) / 1e9;
				if (age > 0 && age < 60)
					rx = lab_now() - age;
			}
		uint8_t ab[16];
		uint32_t ttl = 0;
		size_t alen = e->cfg->v6 ? 16 : 4;
		int rc = dns_parse(b, (size_t)n, c->dns_id, ab, alen, &ttl);
		if (rc < 0)
			return;   /* stale answer to an earlier try */
		atomic_fetch_add(&e->st->dns_answers, 1);
		lab_hist_add(e->run->dns_lat, (uint64_t)((now - c->t_dns) * 1e6));
		if (rc == 0) {
			finish(e, c, OUT_FAIL_DNS, now);
			return;
		}
		close_fd(e, c);
		uint32_t a = (uint32_t)ab[0] << 24 | (uint32_t)ab[1] << 16 | (uint32_t)ab[2] << 8 | ab[3];
		c->target = a;
		if (e->cfg->v6)
			memcpy(c->target6, ab, 16);
		c->t_answer = rx;
		c->t_seen = now;
		c->ttl = ttl;
		/* what an observer of the answers (the hitlist attacker) learns */
		lab_seen_add(e->run->seen[e->cfg->v6], now, ab, alen);
		if (c->hcache) {
			memcpy(c->hc_addr6, ab, 16);
			c->hc_addr = a ? a : 1;   /* non-zero: "has an answer" for both families */
			c->hc_ttl = ttl;
			c->hc_t = rx;
			c->hc_until = rx + e->run->sc->legit.host_cache_ttl_ms / 1000.0;
		}
		/* a resolver's cached copy counts down; a fresh one has the zone's
		 * TTL, or the resolver's minimum when it stretches it */
		uint64_t ms = (uint64_t)ttl * 1000u;
		bool fresh = ms == e->run->sc->gateway.ttl_ms ||
			     (e->run->sc->dns.min_ttl_ms && ms == e->run->sc->dns.min_ttl_ms);
		atomic_fetch_add(fresh ? &e->st->ans_fresh : &e->st->ans_cached, 1);
		c->from = fresh ? 0 : 1;
		if (e->run->dist && e->cfg->legit && !e->cfg->v6)
			lab_dist_answer(e->run, c->t_dns, now, a, fresh);
		begin_tcp(e, c, now);
		break;
	}
	case ST_CONNECTING: {
		int err = 0;
		socklen_t l = sizeof err;
		getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &l);
		struct tcp_info ti;
		socklen_t tl = sizeof ti;
		if (getsockopt(c->fd, IPPROTO_TCP, TCP_INFO, &ti, &tl) == 0)
			c->syn_retrans = ti.tcpi_total_retrans;
		if (err || (ev & (EPOLLERR | EPOLLHUP))) {
			finish(e, c, OUT_FAIL_CONN, now);
			return;
		}
		c->t_conn = now;
		if (c->proto == 1) {
			if (!e->tls || !(c->ssl = SSL_new(e->tls))) {
				finish(e, c, OUT_FAIL_OTHER, now);
				return;
			}
			SSL_set_fd(c->ssl, c->fd);
			SSL_set_tlsext_host_name(c->ssl, LAB_SERVICE_NAME);
			c->state = ST_TLS;
			tls_step(e, c, now);
			return;
		}
		after_connect(e, c, now);
		break;
	}
	case ST_TLS: tls_step(e, c, now); break;
	case ST_READING: on_readable(e, c, now); break;
	default: break;
	}
}

void *engine_thread(void *arg)
{
	lab_engine_cfg_t *cfg = arg;
	eng_t e = { .cfg = cfg, .run = cfg->run, .st = cfg->st, .n = cfg->clients, .rng = cfg->seed };
	e.ep = epoll_create1(EPOLL_CLOEXEC);
	e.c = calloc(e.n ? e.n : 1, sizeof *e.c);
	if (e.ep < 0 || !e.c) {
		lab_log("engine: out of resources");
		free(e.c);
		return NULL;
	}
	if (cfg->protocols & LAB_HTTPS) {
		e.tls = SSL_CTX_new(TLS_client_method());
		/* the lab's servers use a throwaway self-signed certificate: the
		 * exchange is measured, not the PKI */
		if (e.tls)
			SSL_CTX_set_verify(e.tls, SSL_VERIFY_NONE, NULL);
	}
	if (!cfg->legit && cfg->kind == LAB_ATK_SWEEP && !cfg->v6) {
		/* a random permutation of the pool, like scanners' randomized order */
		e.perm = malloc(cfg->run->pool_size * sizeof *e.perm);
		for (uint32_t i = 0; e.perm && i < cfg->run->pool_size; i++)
			e.perm[i] = i;
		for (uint32_t i = cfg->run->pool_size - 1; e.perm && i > 0; i--) {
			uint32_t j = (uint32_t)(lab_rand(&e.rng) % (i + 1)), t = e.perm[i];
			e.perm[i] = e.perm[j];
			e.perm[j] = t;
		}
	}
	uint32_t *rq_off = NULL;
	if (cfg->legit && cfg->run->replay && e.n) {
		/* group the trace's openings by lab client: trace source k is
		 * client k mod clients; this shard keeps its own clients' */
		const lab_pcap_t *tr = cfg->run->replay;
		unsigned total = cfg->run->sc->legit.clients;
		rq_off = calloc(e.n + 1, sizeof *rq_off);
		e.rq = malloc((tr->nstarts ? tr->nstarts : 1) * sizeof *e.rq);
		if (!rq_off || !e.rq) {
			lab_log("engine: out of memory for the replay");
			free(rq_off);
			free(e.rq);
			free(e.c);
			return NULL;
		}
		for (size_t i = 0; i < tr->nstarts; i++) {
			unsigned cl = tr->starts[i].src % total;
			if (cl >= cfg->first && cl < cfg->first + e.n)
				rq_off[cl - cfg->first + 1]++;
		}
		for (unsigned i = 0; i < e.n; i++)
			rq_off[i + 1] += rq_off[i];
		uint32_t *fill = calloc(e.n, sizeof *fill);
		for (size_t i = 0; fill && i < tr->nstarts; i++) {
			unsigned cl = tr->starts[i].src % total;
			if (cl >= cfg->first && cl < cfg->first + e.n) {
				unsigned k = cl - cfg->first;
				e.rq[rq_off[k] + fill[k]++] = tr->starts[i];
			}
		}
		free(fill);
	}
	atomic_store(&cfg->st->first_hit, -1);
	double t0 = cfg->run->t0;
	e.t_start = t0 + cfg->start_s;
	e.t_end = t0 + cfg->end_s;
	e.pace_next = e.t_start;
	cfg->st->t_start = cfg->start_s;
	for (unsigned i = 0; i < e.n; i++) {
		client_t *c = &e.c[i];
		c->fd = -1;
		/* 10.x.0.2 .. : skip .0/.1 and .255 of every /24 */
		unsigned g = cfg->first + i;
		c->src = cfg->src_net + ((g / 250) << 8) + (g % 250) + 2;
		memcpy(c->src6, cfg->src_net6, 16);
		c->src6[12] = (uint8_t)((g + 2) >> 24);
		c->src6[13] = (uint8_t)((g + 2) >> 16);
		c->src6[14] = (uint8_t)((g + 2) >> 8);
		c->src6[15] = (uint8_t)(g + 2);
		c->state = ST_IDLE;
		/* the first share of all legit clients has a host cache */
		c->hcache = cfg->legit &&
			    (double)g < cfg->run->sc->legit.host_cache_share * cfg->run->sc->legit.clients;
		e.active++;
		if (e.rq) {
			c->rq_next = rq_off[i];
			c->rq_end = rq_off[i + 1];
			schedule_next(&e, c, e.t_start);   /* its first opening, or done */
			continue;
		}
		/* spread the first sessions over a think time (no thundering herd) */
		double first = e.t_start;
		if (!is_prober(&e))
			first += lab_sample(cfg->think, &e.rng) / 1000.0 * lab_rand01(&e.rng);
		set_timer(&e, c, first);
	}
	struct epoll_event evs[512];
	while (e.active > 0) {
		double now = lab_now();
		if (!e.stopping && (now >= e.t_end || atomic_load(&cfg->run->stop))) {
			/* no new sessions; let those in flight finish */
			e.stopping = true;
			for (unsigned i = 0; i < e.n; i++)
				if (e.c[i].state == ST_IDLE) {
					e.c[i].state = ST_DONE;
					e.c[i].gen++;
					e.active--;
				}
		}
		if (e.stopping && (atomic_load(&cfg->run->stop) > 1 ||
				   now > e.t_end + cfg->run->sc->legit.timeout_ms / 1000.0 + 3))
			break;
		while (e.hn && e.heap[0].t <= now) {
			tentry_t t = heap_pop(&e);
			client_t *c = &e.c[t.idx];
			if (t.gen == c->gen && c->state != ST_DONE)
				on_timer(&e, c, now);
		}
		int to = 50;
		if (e.hn) {
			double d = (e.heap[0].t - now) * 1000.0;
			if (d < to)
				to = d < 0 ? 0 : (int)d + 1;
		}
		int n = epoll_wait(e.ep, evs, 512, to);
		now = lab_now();
		for (int i = 0; i < n; i++) {
			client_t *c = &e.c[evs[i].data.u64];
			if (c->fd >= 0)
				on_io(&e, c, evs[i].events, now);
		}
	}
	for (unsigned i = 0; i < e.n; i++)
		close_fd(&e, &e.c[i]);
	cfg->st->t_end = lab_now() - t0;
	close(e.ep);
	free(e.c);
	free(e.heap);
	free(e.perm);
	free(e.rq);
	free(rq_off);
	if (e.tls)
		SSL_CTX_free(e.tls);
	return NULL;
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "decoy/binding.h"
#include "decoy/reflectdns.h"
#include "decoy/scanfilter.h"
#include "decoy/privmsg.h"
#include "fluxdecoy/contain.h"
#include "fluxdecoy/hi.h"
#include "fluxdecoy/udp.h"

#define SPLICE_BUF 16384
#define DNS_BURST 32

enum end_kind { END_CLIENT, END_BACKEND, END_DNS, END_PRIV, END_UDP };
enum { SLOT_FREE, SLOT_SPAWNING, SLOT_LIVE };

/* Relay sockets (open UDP flows) one binding may hold. */
#define HI_UDP_FLOWS_PER_BINDING 64

struct hi_flow;
struct hi_uflow;

struct hi_end {
	int type;                 /* FD_OBJ_HI: first, as the loop reads it */
	enum end_kind kind;
	int fd;
	uint32_t mask;
	struct hi_flow *f;
	bool reg;                 /* in the epoll set */
	struct hi_uflow *uf;      /* END_UDP */
};

struct pipe_buf {
	uint8_t b[SPLICE_BUF];
	size_t len, off;
	bool eof;                 /* the reading side ended */
	bool shut;                /* and the writing side was shut down */
	uint64_t bytes;
};

struct hi_flow {
	struct hi_end c, bk;
	struct pipe_buf up, down;  /* client -> backend, backend -> client */
	bool connected;
	struct sockaddr_storage src, dst, baddr;
	size_t pidx;
	fd_binding_t *bind;
	uint64_t start_ms, last_ms;
	uint64_t start_us;            /* accept, for the time to a live backend */
	struct hi_flow *next, *prev;
};

/* A relayed UDP flow: one (source, pool destination) to its backend. */
struct hi_uflow {
	struct hi_end bk;          /* the socket connected to the backend */
	int lfd;                   /* the persona socket (udp.c's, borrowed) */
	struct sockaddr_storage src, dst, baddr;
	size_t pidx;
	fd_binding_t *bind;
	uint64_t start_ms, last_ms, start_us;
	uint64_t up_bytes, down_bytes, up_dg, down_dg;
	bool answered;
	uint8_t *held;             /* the first datagram, while a clone starts */
	size_t held_len;
	struct hi_uflow *next, *prev;
};

struct hi_stats {
	uint64_t udp_flows, udp_filtered, udp_refused, udp_dg_up, udp_dg_down;
	uint64_t udp_bytes_up, udp_bytes_down, udp_answers, udp_answer_us_sum;
	uint64_t udp_send_err, udp_held_dropped, udp_backend_unreach;
	uint64_t deals, deal_err;
	uint64_t flows, filtered, filtered_full, bindings_full, backend_err;
	uint64_t created, expired, dns_queries, dns_bad, priv_bad;
	uint64_t connect_us_sum, connects;
	uint64_t spawned, spawn_err, stopped;
};

struct fd_hi {
	const fd_conf_t *conf;
	fd_event_t *ev;
	int ep;
	fd_scanfilter_t *sf;
	fd_bindings_t *bt;
	unsigned **load;          /* per persona, per backend: bindings */
	uint8_t **slot;           /* per template persona, per slot: SLOT_* */
	/* per persona, per backend: the universe of its last binding (a
	 * template slot's: its owner, with the address it clones) */
	struct owner { fd_universe_t u; fd_addr_t dst; } **owner;
	struct hi_flow *flows;
	unsigned nflows;
	struct hi_uflow *uflows;
	unsigned nuflows;
	struct hi_end dns, priv;
	bool priv_pending;
	uint64_t priv_sent_ms;
	fd_contain_counts_t *counts, *seen;
	uint64_t hkey;
	struct hi_stats st;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void ep_set(fd_hi_t *h, struct hi_end *e, uint32_t mask)
{
	struct epoll_event ev = { .events = mask, .data.ptr = e };

	if (e->fd < 0 || (e->reg && mask == e->mask) || (!e->reg && mask == 0))
		return;
	if (epoll_ctl(h->ep, e->reg ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, e->fd, &ev) == 0) {
		e->mask = mask;
		e->reg = true;
	}
}

int fd_hi_new(const fd_conf_t *conf, fd_event_t *ev, int ep, fd_hi_t **out,
	      char *err, size_t errlen)
{
	fd_hi_t *h = calloc(1, sizeof(*h));
	int rc;

	*out = NULL;
	if (!h)
		return fg_errf(err, errlen, -ENOMEM, "out of memory");
	h->conf = conf;
	h->ev = ev;
	h->ep = ep;
	h->dns = (struct hi_end){ FD_OBJ_HI, END_DNS, -1, 0, NULL, false, NULL };
	h->priv = (struct hi_end){ FD_OBJ_HI, END_PRIV, -1, 0, NULL, false, NULL };
	if (RAND_bytes((unsigned char *)&h->hkey, sizeof(h->hkey)) != 1) {
		free(h);
		return fg_errf(err, errlen, -EIO, "no random bytes for the hash key");
	}
	h->load = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*h->load));
	h->slot = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*h->slot));
	h->owner = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*h->owner));
	h->counts = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*h->counts));
	h->seen = calloc(conf->npersonas ? conf->npersonas : 1, sizeof(*h->seen));
	if (!h->load || !h->slot || !h->owner || !h->counts || !h->seen)
		goto oom;
	for (size_t i = 0; i < conf->npersonas; i++) {
		size_t nb = fd_conf_nbackends(&conf->personas[i]);
		if (nb && (!(h->load[i] = calloc(nb, sizeof(unsigned))) ||
			   !(h->owner[i] = calloc(nb, sizeof(**h->owner)))))
			goto oom;
		if (conf->personas[i].ntmpl && nb && !(h->slot[i] = calloc(nb, 1)))
			goto oom;
	}
	if (fd_scanfilter_new(conf->decoy.scan_window_ms, conf->decoy.scan_filter_size,
			      h->hkey ^ 0x5ca9f11e7ULL, &h->sf) < 0 ||
	    fd_bindings_new(conf->decoy.max_bindings, h->hkey, &h->bt) < 0)
		goto oom;
	if (conf->decoy.reflect_dns.len) {
		int one = 1;
		int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd >= 0) {
			setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
			/* a UDP persona's wildcard socket on port 53 (udp.h) may
			 * share the port: this address stays this socket's */
			setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		}
		if (fd < 0 || bind(fd, (const struct sockaddr *)&conf->decoy.reflect_dns.ss,
				   conf->decoy.reflect_dns.len) < 0) {
			rc = -errno;
			if (fd >= 0)
				close(fd);
			fd_hi_free(h);
			return fg_errf(err, errlen, rc, "reflect-dns: bind: %s", fg_strerror(rc));
		}
		h->dns.fd = fd;
		ep_set(h, &h->dns, EPOLLIN);
	}
	*out = h;
	return 0;
oom:
	fd_hi_free(h);
	return fg_errf(err, errlen, -ENOMEM, "out of memory");
}

void fd_hi_set_priv(fd_hi_t *h, int fd)
{
	h->priv.fd = fd;
	if (fd >= 0)
		ep_set(h, &h->priv, EPOLLIN);
}

/* ---------------------------------------------------------------- events */

static json_t *detail(const fd_hi_t *h, const char *event, size_t pidx)
{
	json_t *d = json_object();

	json_object_set_new(d, "event", json_string(event));
	if (pidx < h->conf->npersonas)
		json_object_set_new(d, "persona", json_string(h->conf->personas[pidx].id));
	return d;
}

static void set_addr(json_t *d, const char *key, const struct sockaddr_storage *ss)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;

	fd_sockaddr_text(ss, ip, sizeof(ip), &port);
	json_object_set_new(d, key, json_string(ip));
}

static void set_universe(json_t *d, const fd_universe_t *u)
{
	char id[17], t[64];

	fd_universe_id_text(u, id);
	fd_universe_text(u, t);
	json_object_set_new(d, "universe", json_string(id));
	json_object_set_new(d, "universe_prefix", json_string(t));
}

/* Out of the epoll set and closed; fd -1 after. */
static void end_close(fd_hi_t *h, struct hi_end *e)
{
	if (!e || e->fd < 0)
		return;
	epoll_ctl(h->ep, EPOLL_CTL_DEL, e->fd, NULL);
	close(e->fd);
	e->fd = -1;
	e->reg = false;
}

/* The TCP flows' and the UDP flows' lists: the same links in two types. */
#define LIST_PUSH(head, f) do {                                         \
		(f)->next = (head);                                     \
		if (head)                                               \
			(head)->prev = (f);                             \
		(head) = (f);                                           \
	} while (0)
#define LIST_UNLINK(head, f) do {                                       \
		if ((f)->prev)                                          \
			(f)->prev->next = (f)->next;                    \
		else                                                    \
			(head) = (f)->next;                             \
		if ((f)->next)                                          \
			(f)->next->prev = (f)->prev;                    \
	} while (0)

/* A relayed flow, TCP or UDP, as its end sees it: what the flow_end event
 * says and what the flow holds. */
struct flow_end {
	size_t pidx;
	const struct sockaddr_storage *src, *dst, *baddr;
	fd_binding_t *bind;             /* NULL: none taken */
	struct hi_end *c, *bk;          /* closed here; c NULL for UDP */
	uint64_t start_ms, up_bytes, down_bytes;
	bool udp;                       /* a UDP flow, and its datagrams: */
	uint64_t up_dg, down_dg;
};

/* Emit flow_end, give the binding back, close the sockets; the caller
 * unlinks and frees. A UDP flow's event also names the persona, the
 * universe and the datagrams, at their places among the TCP fields. */
static void end_flow(fd_hi_t *h, const struct flow_end *e, const char *reason)
{
	uint64_t now = now_ms();
	json_t *d = detail(h, "flow_end", e->pidx);

	json_object_set_new(d, "interaction", json_string("high"));
	if (e->udp)
		json_object_set_new(d, "persona_name",
				    json_string(h->conf->personas[e->pidx].persona->name));
	set_addr(d, "backend", e->baddr);
	if (e->udp)
		set_universe(d, &e->bind->key.u);
	json_object_set_new(d, "reason", json_string(reason));
	json_object_set_new(d, "bytes_toserver", json_integer((json_int_t)e->up_bytes));
	json_object_set_new(d, "bytes_toclient", json_integer((json_int_t)e->down_bytes));
	if (e->udp) {
		json_object_set_new(d, "pkts_toserver", json_integer((json_int_t)e->up_dg));
		json_object_set_new(d, "pkts_toclient", json_integer((json_int_t)e->down_dg));
	}
	json_object_set_new(d, "duration_ms", json_integer((json_int_t)(now - e->start_ms)));
	fd_event_emit_proto(h->ev, e->src, e->dst, e->udp ? "UDP" : "TCP", d);
	if (e->bind)
		fd_binding_close(e->bind, now);
	end_close(h, e->c);
	end_close(h, e->bk);
}

/* ---------------------------------------------------------------- splice */

static void flow_close(fd_hi_t *h, struct hi_flow *f, const char *reason)
{
	end_flow(h, &(struct flow_end){ .pidx = f->pidx, .src = &f->src, .dst = &f->dst,
			.baddr = &f->baddr, .bind = f->bind, .c = &f->c, .bk = &f->bk,
			.start_ms = f->start_ms, .up_bytes = f->up.bytes,
			.down_bytes = f->down.bytes }, reason);
	LIST_UNLINK(h->flows, f);
	h->nflows--;
	free(f);
}

/* The backend failed: as if the address had no such service, the client
 * sees RST (SO_LINGER 0), then the flow ends. */
static void backend_failed(fd_hi_t *h, struct hi_flow *f, const char *reason)
{
	struct linger lg = { 1, 0 };

	h->st.backend_err++;
	setsockopt(f->c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	end_close(h, &f->c);
	flow_close(h, f, reason);
}

/* Move what can be moved from `from` into p, and from p to `to`.
 * Returns -1 on a socket error. */
static int pump(int from, int to, struct pipe_buf *p)
{
	for (;;) {
		bool progress = false;
		if (p->off < p->len) {
			ssize_t w = send(to, p->b + p->off, p->len - p->off, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
			if (w > 0) {
				p->off += (size_t)w;
				p->bytes += (uint64_t)w;
				progress = true;
			}
		}
		if (p->off == p->len)
			p->off = p->len = 0;
		if (!p->eof && p->len < sizeof(p->b)) {
			ssize_t r = recv(from, p->b + p->len, sizeof(p->b) - p->len, 0);
			if (r == 0)
				p->eof = true;
			else if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				return -1;
			else if (r > 0) {
				p->len += (size_t)r;
				progress = true;
			}
		}
		if (p->eof && p->len == 0 && !p->shut) {
			shutdown(to, SHUT_WR);
			p->shut = true;
		}
		if (!progress)
			return 0;
	}
}

static void flow_update(fd_hi_t *h, struct hi_flow *f)
{
	uint32_t cm = 0, bm = 0;

	if (!f->connected) {
		ep_set(h, &f->bk, EPOLLOUT);
		ep_set(h, &f->c, 0);
		return;
	}
	if (!f->up.eof && f->up.len < sizeof(f->up.b))
		cm |= EPOLLIN;
	if (f->down.len > f->down.off)
		cm |= EPOLLOUT;
	if (!f->down.eof && f->down.len < sizeof(f->down.b))
		bm |= EPOLLIN;
	if (f->up.len > f->up.off)
		bm |= EPOLLOUT;
	ep_set(h, &f->c, cm);
	ep_set(h, &f->bk, bm);
}

static void flow_run(fd_hi_t *h, struct hi_flow *f)
{
	f->last_ms = now_ms();
	if (pump(f->c.fd, f->bk.fd, &f->up) < 0 || pump(f->bk.fd, f->c.fd, &f->down) < 0) {
		flow_close(h, f, "socket-error");
		return;
	}
	if (f->up.shut && f->down.shut) {
		flow_close(h, f, "done");
		return;
	}
	flow_update(h, f);
}

static void backend_ready(fd_hi_t *h, struct hi_flow *f)
{
	int e = 0;
	socklen_t l = sizeof(e);

	if (getsockopt(f->bk.fd, SOL_SOCKET, SO_ERROR, &e, &l) < 0)
		e = errno;
	if (e == EINPROGRESS || e == EALREADY)
		return;
	uint64_t us = now_us() - f->start_us;
	json_t *d = detail(h, e ? "backend_error" : "backend_connected", f->pidx);
	set_addr(d, "backend", &f->baddr);
	json_object_set_new(d, "connect_ms", json_integer((json_int_t)(us / 1000)));
	json_object_set_new(d, "connect_us", json_integer((json_int_t)us));
	if (e)
		json_object_set_new(d, "error", json_string(strerror(e)));
	fd_event_emit(h->ev, &f->src, &f->dst, d);
	if (e) {
		backend_failed(h, f, "backend-error");
		return;
	}
	h->st.connects++;
	h->st.connect_us_sum += us;
	f->connected = true;
	flow_run(h, f);
}

/* Address of backend `bi` of persona p, port `port`. */
static void backend_addr(const fd_conf_persona_t *p, size_t bi, uint16_t port,
			 struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (p->nbackends) {
		*ss = p->backends[bi].ss;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		fd_conf_slot_addr(p, bi, (uint8_t *)&s4->sin_addr);
	}
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons(port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

static void priv_send(fd_hi_t *h, uint32_t kind, size_t pidx, uint32_t slot)
{
	fd_priv_req_t rq = { kind, (uint32_t)pidx, slot };
	uint8_t b[FD_PRIV_REQ_LEN];
	size_t n = fd_priv_build_request(&rq, b, sizeof(b));

	if (h->priv.fd < 0 || send(h->priv.fd, b, n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)n)
		log_warn("cannot ask the privileged part (%s %u)",
			 kind == FD_PRIV_SPAWN ? "spawn of slot" : kind == FD_PRIV_STOP ?
			 "stop of slot" : "deal, forced shuffle", slot);
}

void fd_hi_deal(fd_hi_t *h, uint64_t epoch, uint64_t gen)
{
	/* only with shuffled UDP ports: [priv] refuses a deal it has no use for */
	if (h && h->priv.fd >= 0 && fd_contain_udp_shuffled(h->conf))
		priv_send(h, FD_PRIV_DEAL, (size_t)(uint32_t)epoch, (uint32_t)gen);
}

/* Connect a flow to its backend; false when it was closed. */
static bool backend_connect(fd_hi_t *h, struct hi_flow *f)
{
	int bfd = socket(f->baddr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t bl = f->baddr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6);

	if (bfd < 0 || (connect(bfd, (struct sockaddr *)&f->baddr, bl) < 0 &&
			errno != EINPROGRESS)) {
		if (bfd >= 0)
			close(bfd);
		backend_failed(h, f, "backend-error");
		return false;
	}
	f->bk.fd = bfd;
	flow_update(h, f);
	return true;
}

static bool splice_start(fd_hi_t *h, int fd, const struct sockaddr_storage *src,
			 const struct sockaddr_storage *dst, size_t pidx, fd_binding_t *b)
{
	const fd_conf_persona_t *p = &h->conf->personas[pidx];
	struct hi_flow *f = calloc(1, sizeof(*f));
	uint16_t port = 0;
	fd_addr_t da;

	if (!f)
		return false;
	fd_addr_from_sockaddr(dst, &da, &port);
	backend_addr(p, b->backend, port, &f->baddr);
	f->c = (struct hi_end){ FD_OBJ_HI, END_CLIENT, fd, 0, f, false, NULL };
	f->bk = (struct hi_end){ FD_OBJ_HI, END_BACKEND, -1, 0, f, false, NULL };
	f->src = *src;
	f->dst = *dst;
	f->pidx = pidx;
	f->start_ms = f->last_ms = now_ms();
	f->start_us = now_us();
	f->bind = b;
	fd_binding_open(b, f->start_ms);
	LIST_PUSH(h->flows, f);
	h->nflows++;
	h->st.flows++;
	json_t *d = detail(h, "flow_start", pidx);
	json_object_set_new(d, "interaction", json_string("high"));
	set_addr(d, "backend", &f->baddr);
	set_universe(d, &b->key.u);
	fd_event_emit(h->ev, src, dst, d);
	uint8_t *sl = h->slot[pidx] ? &h->slot[pidx][b->backend] : NULL;
	if (sl && *sl != SLOT_LIVE) {
		/* flash clone: the flow waits for its backend */
		if (*sl == SLOT_FREE) {
			*sl = SLOT_SPAWNING;
			priv_send(h, FD_PRIV_SPAWN, pidx, b->backend);
		}
		return true;
	}
	backend_connect(h, f);
	return true;
}

/* Template personas: one cloned machine per (universe, address), shared
 * by its ports: the slot that (universe, address) holds, else a free one
 * (*bi is the pick to start from). -ENOSPC when every slot is taken. */
static int template_slot(fd_hi_t *h, size_t pidx, const fd_binding_key_t *k, uint32_t *bi)
{
	size_t nb = fd_conf_nbackends(&h->conf->personas[pidx]);

	for (size_t i = 0; i < nb; i++)
		if (h->load[pidx][i] && fd_universe_eq(&h->owner[pidx][i].u, &k->u) &&
		    fd_addr_eq(&h->owner[pidx][i].dst, &k->dst)) {
			*bi = (uint32_t)i;
			return 0;
		}
	for (size_t j = 0; j < nb; j++) {
		size_t i = (*bi + j) % nb;
		if (!h->load[pidx][i] && h->slot[pidx][i] != SLOT_SPAWNING) {
			*bi = (uint32_t)i;
			return 0;
		}
	}
	return -ENOSPC;
}

/* The binding of a new flow of `proto` from src to dst (persona pidx):
 * the one its (universe, address, port, proto) has, else a new one when
 * the flow passes the scan filter. NULL: the low-interaction persona
 * answers (a backend's own flow, filtered, or max-bindings live). */
static fd_binding_t *bind_for(fd_hi_t *h, const struct sockaddr_storage *src,
			      const struct sockaddr_storage *dst, size_t pidx,
			      const fd_universes_t *uni, uint8_t proto)
{
	const fd_conf_persona_t *p;
	fd_addr_t sa, da;
	uint16_t sport, dport;
	uint64_t now = now_ms();

	if (!h || !uni || pidx >= h->conf->npersonas)
		return NULL;
	p = &h->conf->personas[pidx];
	size_t nb = fd_conf_nbackends(p);
	if (!nb || !fd_addr_from_sockaddr(src, &sa, &sport) ||
	    !fd_addr_from_sockaddr(dst, &da, &dport))
		return NULL;
	/* a backend's own flows (reflected into the bed) never bind: no
	 * loops, and the fake Internet stays low-interaction */
	if (fd_conf_backend_persona(h->conf, sa.family, sa.a) >= 0)
		return NULL;
	if (h->nflows + h->nuflows >= h->conf->decoy.max_clients)
		return NULL;
	fd_binding_key_t k;
	memset(&k, 0, sizeof(k));
	k.u = fd_universe_of(uni, &sa);
	k.dst = da;
	k.port = dport;
	k.proto = proto;
	fd_binding_t *b = fd_bindings_find(h->bt, &k);
	if (b)
		return b;
	bool full = false;
	const char *pn = proto == IPPROTO_UDP ? "UDP" : "TCP";
	if (!fd_scanfilter_pass(h->sf, &sa, dport, proto, now, &full)) {
		h->st.filtered++;
		if (full)
			h->st.filtered_full++;
		if (proto == IPPROTO_UDP) {
			/* per datagram: udp.c's own event (bucket-limited)
			 * says so, a flood must not flood the log */
			h->st.udp_filtered++;
			return NULL;
		}
		json_t *d = detail(h, "filtered", pidx);
		json_object_set_new(d, "reason", json_string(full ? "scan-filter-full"
								  : "scan-filter"));
		set_universe(d, &k.u);
		fd_event_emit_proto(h->ev, src, dst, pn, d);
		return NULL;
	}
	uint32_t bi = fd_backend_pick(h->load[pidx], nb, fd_universe_hash(&k.u, h->hkey));
	int rc = 0;
	if (h->slot[pidx])
		rc = template_slot(h, pidx, &k, &bi);
	if (rc == 0)
		rc = fd_bindings_add(h->bt, &k, (uint32_t)pidx, bi, now, &b);
	if (rc < 0) {
		h->st.bindings_full++;
		return NULL;
	}
	h->owner[pidx][bi].u = k.u;
	h->owner[pidx][bi].dst = k.dst;
	h->load[pidx][bi]++;
	h->st.created++;
	json_t *d = detail(h, "binding_created", pidx);
	set_universe(d, &k.u);
	struct sockaddr_storage ba;
	backend_addr(p, bi, dport, &ba);
	set_addr(d, "backend", &ba);
	json_object_set_new(d, "bindings", json_integer((json_int_t)fd_bindings_count(h->bt)));
	fd_event_emit_proto(h->ev, src, dst, pn, d);
	return b;
}

bool fd_hi_accept(fd_hi_t *h, int fd, const struct sockaddr_storage *src,
		  const struct sockaddr_storage *dst, size_t pidx,
		  const fd_universes_t *uni)
{
	fd_binding_t *b = bind_for(h, src, dst, pidx, uni, IPPROTO_TCP);

	return b && splice_start(h, fd, src, dst, pidx, b);
}

/* ------------------------------------------------------------ UDP relay */

/* Why a relay and not DNAT: the binding is decided here, per datagram of
 * a new (source, destination), from the universe and the scan filter,
 * exactly as for a TCP flow; the kernel would need a rule per binding and
 * the UDP persona socket (the wildcard on the port) would have to give the
 * datagram back. The relay's connected socket makes the backend's replies
 * the bed's own established flow, so contain.c's table holds a UDP backend
 * exactly as a TCP one: anything it starts itself is dropped, replied or
 * reflected by its persona's policy, and counted. */

static bool sockaddr_eq(const struct sockaddr_storage *x, const struct sockaddr_storage *y)
{
	fd_addr_t a, b;
	uint16_t pa = 0, pb = 0;

	return fd_addr_from_sockaddr(x, &a, &pa) && fd_addr_from_sockaddr(y, &b, &pb) &&
	       pa == pb && fd_addr_eq(&a, &b);
}

static struct hi_uflow *uflow_find(fd_hi_t *h, const struct sockaddr_storage *src,
				   const struct sockaddr_storage *dst)
{
	for (struct hi_uflow *f = h->uflows; f; f = f->next)
		if (sockaddr_eq(&f->src, src) && sockaddr_eq(&f->dst, dst))
			return f;
	return NULL;
}

static void uflow_close(fd_hi_t *h, struct hi_uflow *f, const char *reason)
{
	end_flow(h, &(struct flow_end){ .pidx = f->pidx, .src = &f->src, .dst = &f->dst,
			.baddr = &f->baddr, .bind = f->bind, .bk = &f->bk,
			.start_ms = f->start_ms, .up_bytes = f->up_bytes,
			.down_bytes = f->down_bytes, .udp = true, .up_dg = f->up_dg,
			.down_dg = f->down_dg }, reason);
	LIST_UNLINK(h->uflows, f);
	h->nuflows--;
	free(f->held);
	free(f);
}

static void uflow_send(fd_hi_t *h, struct hi_uflow *f, const uint8_t *d, size_t len)
{
	if (send(f->bk.fd, d, len, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)len) {
		f->up_bytes += len;
		f->up_dg++;
		h->st.udp_dg_up++;
		h->st.udp_bytes_up += len;
	} else {
		h->st.udp_send_err++;
	}
}

/* The connected socket to the backend; false when it cannot be made. */
static bool uflow_connect(fd_hi_t *h, struct hi_uflow *f)
{
	int fd = socket(f->baddr.ss_family, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	socklen_t bl = f->baddr.ss_family == AF_INET ? sizeof(struct sockaddr_in)
						     : sizeof(struct sockaddr_in6);

	if (fd < 0 || connect(fd, (struct sockaddr *)&f->baddr, bl) < 0) {
		if (fd >= 0)
			close(fd);
		h->st.backend_err++;
		return false;
	}
	f->bk.fd = fd;
	ep_set(h, &f->bk, EPOLLIN);
	if (f->held) {
		uflow_send(h, f, f->held, f->held_len);
		free(f->held);
		f->held = NULL;
	}
	return true;
}

bool fd_hi_udp(fd_hi_t *h, int lfd, const struct sockaddr_storage *src,
	       const struct sockaddr_storage *dst, size_t pidx,
	       const fd_universes_t *uni, const uint8_t *d, size_t len)
{
	if (!h || pidx >= h->conf->npersonas || !h->conf->personas[pidx].udp_backends)
		return false;
	struct hi_uflow *f = uflow_find(h, src, dst);
	if (f) {
		f->last_ms = now_ms();
		if (f->bk.fd >= 0)
			uflow_send(h, f, d, len);
		else
			h->st.udp_held_dropped++;   /* the clone is not up yet */
		return true;
	}
	fd_binding_t *b = bind_for(h, src, dst, pidx, uni, IPPROTO_UDP);
	if (!b)
		return false;
	if (b->open >= HI_UDP_FLOWS_PER_BINDING) {
		/* a source spraying source ports holds one binding and at
		 * most this many relay sockets */
		h->st.udp_refused++;
		return false;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return false;
	const fd_conf_persona_t *p = &h->conf->personas[pidx];
	uint16_t port = 0;
	fd_addr_t da;
	fd_addr_from_sockaddr(dst, &da, &port);
	backend_addr(p, b->backend, port, &f->baddr);
	f->bk = (struct hi_end){ FD_OBJ_HI, END_UDP, -1, 0, NULL, false, f };
	f->lfd = lfd;
	f->src = *src;
	f->dst = *dst;
	f->pidx = pidx;
	f->bind = b;
	f->start_ms = f->last_ms = now_ms();
	f->start_us = now_us();
	fd_binding_open(b, f->start_ms);
	LIST_PUSH(h->uflows, f);
	h->nuflows++;
	h->st.udp_flows++;
	json_t *ev = detail(h, "flow_start", pidx);
	json_object_set_new(ev, "interaction", json_string("high"));
	json_object_set_new(ev, "persona_name", json_string(p->persona->name));
	set_addr(ev, "backend", &f->baddr);
	set_universe(ev, &b->key.u);
	fd_event_emit_proto(h->ev, src, dst, "UDP", ev);
	uint8_t *sl = h->slot[pidx] ? &h->slot[pidx][b->backend] : NULL;
	if (sl && *sl != SLOT_LIVE) {
		/* flash clone: the first datagram waits for its backend */
		if ((f->held = malloc(len ? len : 1)) != NULL) {
			memcpy(f->held, d, len);
			f->held_len = len;
		}
		if (*sl == SLOT_FREE) {
			*sl = SLOT_SPAWNING;
			priv_send(h, FD_PRIV_SPAWN, pidx, b->backend);
		}
		return true;
	}
	if (!uflow_connect(h, f)) {
		uflow_close(h, f, "backend-error");
		return true;    /* as a host whose daemon is gone: silence */
	}
	uflow_send(h, f, d, len);
	return true;
}

/* The backend answered: each datagram leaves the persona socket from the
 * pool address the attacker used. */
static void uflow_read(fd_hi_t *h, struct hi_uflow *f)
{
	uint8_t b[65536];

	for (int i = 0; i < DNS_BURST; i++) {
		ssize_t n = recv(f->bk.fd, b, sizeof(b), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			/* ECONNREFUSED: the backend's ICMP unreachable; the
			 * attacker's client times out, as against a real host
			 * whose daemon went away */
			h->st.udp_backend_unreach++;
			continue;
		}
		f->last_ms = now_ms();
		if (!f->answered) {
			uint64_t us = now_us() - f->start_us;
			f->answered = true;
			h->st.udp_answers++;
			h->st.udp_answer_us_sum += us;
			json_t *d = detail(h, "backend_answered", f->pidx);
			set_addr(d, "backend", &f->baddr);
			json_object_set_new(d, "answer_us", json_integer((json_int_t)us));
			fd_event_emit_proto(h->ev, &f->src, &f->dst, "UDP", d);
		}
		if (!fd_udp_send_from(f->lfd, &f->src, &f->dst, b, (size_t)n)) {
			h->st.udp_send_err++;
			continue;
		}
		f->down_bytes += (uint64_t)n;
		f->down_dg++;
		h->st.udp_dg_down++;
		h->st.udp_bytes_down += (uint64_t)n;
	}
}

bool fd_hi_backend_universe(const fd_hi_t *h, const fd_addr_t *src, fd_universe_t *out)
{
	for (size_t p = 0; h && p < h->conf->npersonas; p++) {
		const fd_conf_persona_t *cp = &h->conf->personas[p];
		size_t nb = fd_conf_nbackends(cp);
		for (size_t i = 0; i < nb; i++) {
			struct sockaddr_storage ba;
			fd_addr_t a;
			backend_addr(cp, i, 0, &ba);
			if (!h->load[p][i] || !fd_addr_from_sockaddr(&ba, &a, NULL) ||
			    !fd_addr_eq(&a, src))
				continue;
			*out = h->owner[p][i].u;
			return true;
		}
	}
	return false;
}

/* ------------------------------------------------------------ fake DNS */

static void dns_read(fd_hi_t *h)
{
	uint8_t q[1500], a[1500];
	uint8_t a4[4];

	memcpy(a4, &((const struct sockaddr_in *)&h->conf->decoy.reflect_address.ss)->sin_addr, 4);
	for (int i = 0; i < DNS_BURST; i++) {
		struct sockaddr_storage from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(h->dns.fd, q, sizeof(q), 0, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		uint16_t qtype = 0;
		char qname[256];
		int m = fd_reflect_dns_answer(q, (size_t)n, a4, a, sizeof(a), &qtype, qname);
		h->st.dns_queries++;
		if (m <= 0)
			h->st.dns_bad++;
		json_t *d = detail(h, "reflect_dns", (size_t)-1);
		json_object_set_new(d, "rrname", json_string(qname));
		json_object_set_new(d, "rrtype", json_integer(qtype));
		if (m > 0 && qtype == 1)
			set_addr(d, "answer", &h->conf->decoy.reflect_address.ss);
		fd_event_emit(h->ev, &from, &h->conf->decoy.reflect_dns.ss, d);
		if (m > 0)
			sendto(h->dns.fd, a, (size_t)m, 0, (struct sockaddr *)&from, fl);
	}
}

/* ------------------------------------------------------------ [priv] */

/* [priv] answered a spawn: connect the flows waiting for that slot, or
 * reset them when it failed. */
static void spawned(fd_hi_t *h, const uint8_t *buf, size_t n)
{
	fd_priv_req_t rq;
	int32_t status;

	if (fd_priv_parse_spawned(buf, n, &rq, &status) == 0 && rq.kind == FD_PRIV_DEAL) {
		if (status == 0) {
			h->st.deals++;
			return;
		}
		h->st.deal_err++;
		log_err("closed UDP ports of the shuffled pools: the deal of epoch %u.%u "
			"failed: %s", rq.persona, rq.slot, fg_strerror(status));
		return;
	}
	if (fd_priv_parse_spawned(buf, n, &rq, &status) < 0 || rq.persona >= h->conf->npersonas ||
	    !h->slot[rq.persona] || rq.slot >= fd_conf_nbackends(&h->conf->personas[rq.persona])) {
		h->st.priv_bad++;
		return;
	}
	if (rq.kind != FD_PRIV_SPAWN)
		return;
	uint8_t *sl = &h->slot[rq.persona][rq.slot];
	if (*sl != SLOT_SPAWNING)
		return;
	*sl = status == 0 ? SLOT_LIVE : SLOT_FREE;
	if (status == 0)
		h->st.spawned++;
	else
		h->st.spawn_err++;
	json_t *d = detail(h, status == 0 ? "backend_spawned" : "backend_spawn_failed", rq.persona);
	struct sockaddr_storage ba;
	backend_addr(&h->conf->personas[rq.persona], rq.slot, 0, &ba);
	set_addr(d, "backend", &ba);
	json_object_set_new(d, "slot", json_integer(rq.slot));
	if (status)
		json_object_set_new(d, "error", json_string(fg_strerror(status)));
	fd_event_emit(h->ev, NULL, NULL, d);
	for (struct hi_uflow *f = h->uflows, *nx; f; f = nx) {
		nx = f->next;
		if (f->pidx != rq.persona || f->bind->backend != rq.slot || f->bk.fd >= 0)
			continue;
		if (status != 0 || !uflow_connect(h, f))
			uflow_close(h, f, "backend-spawn-failed");
	}
	for (struct hi_flow *f = h->flows, *nx; f; f = nx) {
		nx = f->next;
		if (f->pidx != rq.persona || !f->bind || f->bind->backend != rq.slot ||
		    f->bk.fd >= 0)
			continue;
		if (status == 0)
			backend_connect(h, f);
		else
			backend_failed(h, f, "backend-spawn-failed");
	}
}

static void priv_read(fd_hi_t *h)
{
	uint8_t buf[FD_PRIV_MAX];
	ssize_t n = recv(h->priv.fd, buf, sizeof(buf), 0);

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
			log_err("privileged part gone: containment counters no longer read");
			end_close(h, &h->priv);
		}
		return;
	}
	if (n >= 4 && memcmp(buf, "FDS1", 4) == 0) {
		spawned(h, buf, (size_t)n);
		return;
	}
	h->priv_pending = false;
	if (fd_priv_parse_counts(buf, (size_t)n, h->counts, h->conf->npersonas) < 0) {
		h->st.priv_bad++;
		return;
	}
	for (size_t i = 0; i < h->conf->npersonas; i++) {
		fd_contain_counts_t *c = &h->counts[i], *s = &h->seen[i];
		if (c->contained > s->contained || c->replied > s->replied ||
		    c->reflected > s->reflected) {
			json_t *d = detail(h, "contained", i);
			json_object_set_new(d, "policy", json_string(
				fd_containment_names[h->conf->personas[i].containment]));
			json_object_set_new(d, "dropped", json_integer((json_int_t)(c->contained - s->contained)));
			json_object_set_new(d, "replied", json_integer((json_int_t)(c->replied - s->replied)));
			json_object_set_new(d, "reflected", json_integer((json_int_t)(c->reflected - s->reflected)));
			fd_event_emit(h->ev, NULL, NULL, d);
		}
		*s = *c;
	}
}

void fd_hi_event(fd_hi_t *h, void *obj, uint32_t events)
{
	struct hi_end *e = obj;

	switch (e->kind) {
	case END_DNS:
		dns_read(h);
		return;
	case END_PRIV:
		priv_read(h);
		return;
	case END_UDP:
		uflow_read(h, e->uf);
		return;
	case END_BACKEND:
		if (!e->f->connected) {
			backend_ready(h, e->f);
			return;
		}
		flow_run(h, e->f);
		return;
	case END_CLIENT:
		if (e->f->connected)
			flow_run(h, e->f);
		else if (events & (EPOLLHUP | EPOLLERR))
			flow_close(h, e->f, "closed-by-client");
		return;
	}
}

static void binding_gone(void *ctx, const fd_binding_t *b)
{
	fd_hi_t *h = ctx;
	struct sockaddr_storage dst;
	json_t *d = detail(h, "binding_expired", b->persona);

	memset(&dst, 0, sizeof(dst));
	if (b->key.dst.family == AF_INET) {
		struct sockaddr_in *s = (struct sockaddr_in *)&dst;
		s->sin_family = AF_INET;
		memcpy(&s->sin_addr, b->key.dst.a, 4);
		s->sin_port = htons(b->key.port);
	} else {
		struct sockaddr_in6 *s = (struct sockaddr_in6 *)&dst;
		s->sin6_family = AF_INET6;
		memcpy(&s->sin6_addr, b->key.dst.a, 16);
		s->sin6_port = htons(b->key.port);
	}
	set_universe(d, &b->key.u);
	json_object_set_new(d, "flows", json_integer((json_int_t)b->flows));
	json_object_set_new(d, "lifetime_ms", json_integer((json_int_t)(now_ms() - b->created_ms)));
	fd_event_emit(h->ev, NULL, &dst, d);
	if (h->load[b->persona] && h->load[b->persona][b->backend])
		h->load[b->persona][b->backend]--;
	h->st.expired++;
	uint8_t *sl = h->slot[b->persona] ? &h->slot[b->persona][b->backend] : NULL;
	if (sl && h->load[b->persona][b->backend] == 0 && *sl == SLOT_LIVE) {
		/* recycled: its last binding is gone */
		*sl = SLOT_FREE;
		h->st.stopped++;
		priv_send(h, FD_PRIV_STOP, b->persona, b->backend);
	}
}

void fd_hi_tick(fd_hi_t *h)
{
	uint64_t now = now_ms();

	if (!h)
		return;
	for (struct hi_flow *f = h->flows, *nx; f; f = nx) {
		nx = f->next;
		if (now - f->last_ms >= h->conf->decoy.idle_timeout_ms)
			flow_close(h, f, f->connected ? "idle-timeout" : "backend-timeout");
	}
	for (struct hi_uflow *f = h->uflows, *nx; f; f = nx) {
		nx = f->next;
		if (now - f->last_ms >= h->conf->decoy.idle_timeout_ms)
			uflow_close(h, f, f->bk.fd >= 0 ? "idle-timeout" : "backend-timeout");
	}
	fd_bindings_expire(h->bt, now, h->conf->decoy.binding_idle_ms, binding_gone, h);
	fd_scanfilter_expire(h->sf, now);
	if (h->priv.fd >= 0 && (!h->priv_pending || now - h->priv_sent_ms > 5000)) {
		fd_priv_req_t rq = { FD_PRIV_COUNTERS, 0, 0 };
		uint8_t req[FD_PRIV_REQ_LEN];
		size_t n = fd_priv_build_request(&rq, req, sizeof(req));
		if (send(h->priv.fd, req, n, MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)n) {
			h->priv_pending = true;
			h->priv_sent_ms = now;
		}
	}
}

void fd_hi_free(fd_hi_t *h)
{
	if (!h)
		return;
	while (h->flows)
		flow_close(h, h->flows, "shutdown");
	while (h->uflows)
		uflow_close(h, h->uflows, "shutdown");
	if (h->dns.fd >= 0)
		close(h->dns.fd);
	if (h->priv.fd >= 0)
		close(h->priv.fd);
	fd_scanfilter_free(h->sf);
	fd_bindings_free(h->bt);
	for (size_t i = 0; i < h->conf->npersonas; i++) {
		if (h->load)
			free(h->load[i]);
		if (h->slot)
			free(h->slot[i]);
		if (h->owner)
			free(h->owner[i]);
	}
	free(h->load);
	free(h->slot);
	free(h->owner);
	free(h->counts);
	free(h->seen);
	free(h);
}

/* -------------------------------------------------------------- metrics */

static void add(char **p, size_t *n, size_t *cap, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void add(char **p, size_t *n, size_t *cap, const char *fmt, ...)
{
	va_list ap;

	if (!*p)
		return;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(*p + *n, *cap - *n, fmt, ap);
		va_end(ap);
		if (w < 0) {
			free(*p);
			*p = NULL;
			return;
		}
		if ((size_t)w < *cap - *n) {
			*n += (size_t)w;
			return;
		}
		char *np = realloc(*p, *cap * 2 + (size_t)w);
		if (!np) {
			free(*p);
			*p = NULL;
			return;
		}
		*p = np;
		*cap = *cap * 2 + (size_t)w;
	}
}

char *fd_hi_metrics(const fd_hi_t *h)
{
	size_t n = 0, cap = 4096;
	char *p = malloc(cap);
	const struct hi_stats *s = &h->st;

	if (!p)
		return NULL;
	p[0] = '\0';
#define C(name, help, v) add(&p, &n, &cap, "# HELP " name " " help "\n# TYPE " name \
			     " counter\n" name " %llu\n", (unsigned long long)(v))
	C("fluxdecoy_hi_flows_total", "Flows spliced to a high-interaction backend.", s->flows);
	C("fluxdecoy_scan_filtered_total", "Flows the scan filter gave to the "
	  "low-interaction persona.", s->filtered);
	C("fluxdecoy_scan_filter_full_total", "Of those, flows filtered because the "
	  "scan filter table was full.", s->filtered_full);
	C("fluxdecoy_bindings_created_total", "Late bindings made.", s->created);
	C("fluxdecoy_bindings_expired_total", "Late bindings collected after binding-idle.",
	  s->expired);
	C("fluxdecoy_bindings_refused_total", "Flows that passed the scan filter while "
	  "max-bindings were live (low interaction instead).", s->bindings_full);
	C("fluxdecoy_backend_errors_total", "Flows whose backend failed (TCP: client reset; UDP: relay not connected).",
	  s->backend_err);
	C("fluxdecoy_backend_connects_total", "Flows whose backend connection came up.",
	  s->connects);
	C("fluxdecoy_reflect_dns_queries_total", "Queries the fake Internet's DNS took.",
	  s->dns_queries);
	C("fluxdecoy_reflect_dns_errors_total", "Of those, queries that got no answer or "
	  "an error answer.", s->dns_bad);
	C("fluxdecoy_backends_spawned_total", "Template backends started (flash clones).",
	  s->spawned);
	C("fluxdecoy_backend_spawn_errors_total", "Template backends that failed to start.",
	  s->spawn_err);
	C("fluxdecoy_backends_recycled_total", "Template backends stopped after their "
	  "last binding expired.", s->stopped);
	C("fluxdecoy_udp_closed_deals_total", "Deals of the shuffle applied to the "
	  "closed UDP ports of the shuffled pools (kernel sets).", s->deals);
	C("fluxdecoy_udp_closed_deal_errors_total", "Deals the privileged part could "
	  "not apply.", s->deal_err);
	C("fluxdecoy_udp_hi_flows_total", "UDP flows (source, pool address) relayed "
	  "to a high-interaction backend.", s->udp_flows);
	C("fluxdecoy_udp_hi_filtered_total", "UDP datagrams the scan filter gave to "
	  "the low-interaction persona.", s->udp_filtered);
	C("fluxdecoy_udp_hi_refused_total", "UDP datagrams of a new flow refused "
	  "because their binding holds its most relay flows (low interaction instead).",
	  s->udp_refused);
	C("fluxdecoy_udp_hi_send_errors_total", "UDP datagrams the relay could not "
	  "send on.", s->udp_send_err);
	C("fluxdecoy_udp_hi_held_dropped_total", "UDP datagrams dropped while their "
	  "flash clone was starting (the first one is held).", s->udp_held_dropped);
	C("fluxdecoy_udp_hi_backend_unreachable_total", "ICMP errors the UDP "
	  "backends sent the relay.", s->udp_backend_unreach);
	C("fluxdecoy_udp_hi_answers_total", "Relayed UDP flows whose backend answered.",
	  s->udp_answers);
	add(&p, &n, &cap, "# HELP fluxdecoy_udp_hi_answer_seconds_total Sum of the "
	    "first-datagram-to-answer times of answered UDP flows.\n"
	    "# TYPE fluxdecoy_udp_hi_answer_seconds_total counter\n"
	    "fluxdecoy_udp_hi_answer_seconds_total %.6f\n", (double)s->udp_answer_us_sum / 1e6);
	add(&p, &n, &cap, "# HELP fluxdecoy_udp_hi_datagrams_total UDP datagrams "
	    "relayed, by direction.\n# TYPE fluxdecoy_udp_hi_datagrams_total counter\n"
	    "fluxdecoy_udp_hi_datagrams_total{direction=\"toserver\"} %llu\n"
	    "fluxdecoy_udp_hi_datagrams_total{direction=\"toclient\"} %llu\n",
	    (unsigned long long)s->udp_dg_up, (unsigned long long)s->udp_dg_down);
	add(&p, &n, &cap, "# HELP fluxdecoy_udp_hi_bytes_total UDP payload bytes "
	    "relayed, by direction.\n# TYPE fluxdecoy_udp_hi_bytes_total counter\n"
	    "fluxdecoy_udp_hi_bytes_total{direction=\"toserver\"} %llu\n"
	    "fluxdecoy_udp_hi_bytes_total{direction=\"toclient\"} %llu\n",
	    (unsigned long long)s->udp_bytes_up, (unsigned long long)s->udp_bytes_down);
	add(&p, &n, &cap, "# HELP fluxdecoy_udp_hi_flows UDP flows relayed now.\n"
	    "# TYPE fluxdecoy_udp_hi_flows gauge\nfluxdecoy_udp_hi_flows %u\n", h->nuflows);
	C("fluxdecoy_priv_replies_rejected_total", "Replies of the privileged part that "
	  "did not parse.", s->priv_bad);
#undef C
	add(&p, &n, &cap, "# HELP fluxdecoy_backend_connect_seconds_total Sum of the "
	    "first-packet-to-live-backend times of connected flows.\n"
	    "# TYPE fluxdecoy_backend_connect_seconds_total counter\n"
	    "fluxdecoy_backend_connect_seconds_total %.6f\n", (double)s->connect_us_sum / 1e6);
	add(&p, &n, &cap, "# HELP fluxdecoy_bindings Late bindings live now.\n"
	    "# TYPE fluxdecoy_bindings gauge\nfluxdecoy_bindings %zu\n",
	    fd_bindings_count(h->bt));
	add(&p, &n, &cap, "# HELP fluxdecoy_contained_packets_total Packets of flows "
	    "backends started, by persona and verdict (kernel counters).\n"
	    "# TYPE fluxdecoy_contained_packets_total counter\n");
	for (size_t i = 0; i < h->conf->npersonas; i++) {
		/* every entry, 0 for those without backends: the family is
		 * always there for dashboards */
		const char *id = h->conf->personas[i].id;
		add(&p, &n, &cap, "fluxdecoy_contained_packets_total{persona=\"%s\",verdict=\"dropped\"} %llu\n"
		    "fluxdecoy_contained_packets_total{persona=\"%s\",verdict=\"replied\"} %llu\n"
		    "fluxdecoy_contained_packets_total{persona=\"%s\",verdict=\"reflected\"} %llu\n",
		    id, (unsigned long long)h->counts[i].contained, id,
		    (unsigned long long)h->counts[i].replied, id,
		    (unsigned long long)h->counts[i].reflected);
	}
	return p;
}

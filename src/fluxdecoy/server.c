/* SPDX-License-Identifier: GPL-3.0-or-later */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/err.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "decoy/httpwire.h"
#include "decoy/smtpwire.h"
#include "decoy/sshsess.h"
#include "decoy/sshwire.h"
#include "decoy/universe.h"
#include "decoy/h2sess.h"
#include "fluxdecoy/hi.h"
#include "fluxdecoy/hostkeys.h"
#include "fluxdecoy/server.h"
#include "fluxdecoy/tls.h"
#include "fluxdecoy/udp.h"
#include "fluxdecoy/universe.h"

#define IN_MAX   (FD_HTTP_MAX_HEAD + 4096)  /* a whole lighttpd-sized head */
#define OUT_MAX  (1u << 20)      /* queued output per flow before it is cut */
/* A client that sends requests without reading the answers is not read
 * from while this much waits for it: memory per flow stays bounded. */
#define OUT_HIGH (64u << 10)
#define H2_SIZED_MAX (1u << 20)  /* largest sized page served over h2 */
#define MAX_EVENTS 64

enum obj_type { OBJ_LISTEN, OBJ_METRICS_LISTEN, OBJ_CONN, OBJ_CONTROL, OBJ_HI = FD_OBJ_HI };

struct listener {
	enum obj_type type;
	int fd;
};

struct conn {
	enum obj_type type;
	int fd;
	bool metrics;                 /* a scrape, not a decoy flow */
	const fd_conf_persona_t *cp;
	const fd_service_t *svc;
	SSL *ssl;
	bool tls_done;
	fd_h2_t *h2;                  /* the TLS handshake selected ALPN h2 */
	struct sockaddr_storage src, dst;
	uint8_t in[IN_MAX];
	size_t inlen;
	char *out;
	size_t outlen, outoff, outcap;
	bool close_after;
	bool eof;                     /* the client finished sending (FIN) */
	uint32_t ev_mask;
	uint64_t last_ms, start_ms;
	uint64_t rx, tx;
	fd_ssh_sess_t *ssh;
	uint64_t skip;                /* http: request body bytes to drop */
	uint64_t zeros;               /* http: body of a sized page still to queue */
	const char *zsrc;             /* ...taken from here (the persona), NULL:
				       * zero bytes */
	fd_smtp_t smtp;
	char smtp_host[256];
	bool smtp_discard;            /* dropping the rest of an overlong line */
	unsigned requests;
	struct conn *next, *prev;
};

struct stats {
	uint64_t flows[FD_NKINDS], rx[FD_NKINDS], tx[FD_NKINDS];
	uint64_t proto_err[FD_NKINDS];
	uint64_t reset_no_persona, reset_full, tls_fail, idle_closed;
	uint64_t http_requests, ssh_clients, ssh_kexinit, smtp_messages, smtp_rcpts;
	uint64_t ssh_kex, ssh_auth;
	uint64_t scrapes;
};

struct fd_server {
	const fd_conf_t *conf;
	fd_event_t *ev;
	int ep;
	struct listener *ls;
	size_t nls;
	SSL_CTX **ctx;                /* per persona, per service (https) */
	struct sshsvc *ssh;           /* per persona, per service (ssh) */
	uint64_t key_rotations;       /* `rotate-keys` requests */
	fd_ctl_t *ctl;                /* NULL: no control socket */
	struct listener ctl_obj;
	uint64_t start_s;             /* CLOCK_REALTIME at start */
	struct conn *conns;
	unsigned active;
	struct stats st;
	fd_hi_t *hi;                  /* high interaction (fluxdecoy/hi.h) */
	fd_udp_t *udp;                /* UDP personas (fluxdecoy/udp.h) */
	/* the shuffled pools (universe.h) and their listening sockets */
	fd_bed_t *bed;
	struct listener **bls;
	size_t nbls;
	volatile sig_atomic_t *force_shuffle;
	uint64_t last_tick;
};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- setup ---- */

static int add_listener(fd_server_t *s, const struct sockaddr_storage *ss,
			socklen_t len, enum obj_type type, char *err, size_t errlen)
{
	char ip[INET6_ADDRSTRLEN];
	unsigned port;
	int one = 1;
	int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	fd_sockaddr_text(ss, ip, sizeof(ip), &port);
	if (fd < 0)
		goto fail;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ss->ss_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* a listen address need not be configured locally yet (a pool
	 * address whose local route comes later) */
	if (ss->ss_family == AF_INET)
		setsockopt(fd, IPPROTO_IP, IP_FREEBIND, &one, sizeof(one));
	else
		setsockopt(fd, IPPROTO_IPV6, IPV6_FREEBIND, &one, sizeof(one));
	if (bind(fd, (const struct sockaddr *)ss, len) < 0 || listen(fd, 1024) < 0)
		goto fail;
	struct listener *nl = realloc(s->ls, (s->nls + 1) * sizeof(*nl));
	if (!nl) {
		close(fd);
		return -ENOMEM;
	}
	s->ls = nl;
	s->ls[s->nls] = (struct listener){ type, fd };
	s->nls++;
	return 0;
fail:;
	int rc = -errno;
	snprintf(err, errlen, "listen on %s port %u: %s", ip, port, fg_strerror(rc));
	if (fd >= 0)
		close(fd);
	return rc;
}

static void set_port(struct sockaddr_storage *ss, unsigned port)
{
	if (ss->ss_family == AF_INET)
		((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
	else
		((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int setup_tls(fd_server_t *s, char *err, size_t errlen)
{
	const fd_conf_t *c = s->conf;
	size_t n = 0;

	for (size_t i = 0; i < c->npersonas; i++)
		n += c->personas[i].persona->nservices;
	s->ctx = calloc(n ? n : 1, sizeof(*s->ctx));
	if (!s->ctx)
		return -ENOMEM;
	n = 0;
	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *cp = &c->personas[i];
		for (size_t j = 0; j < cp->persona->nservices; j++, n++) {
			const fd_service_t *sv = &cp->persona->services[j];
			char e[300] = "";
			if (sv->kind != FD_HTTPS)
				continue;
			if (cp->tls_cert)
				s->ctx[n] = fd_tls_ctx_from_files(cp->tls_cert, cp->tls_key,
								  e, sizeof(e));
			else if (sv->tls_chain)
				s->ctx[n] = fd_tls_ctx_shaped(sv->tls_chain, e, sizeof(e));
			else
				snprintf(e, sizeof(e), "no tls-cert/tls-key and no "
					 "captured tls-chain");
			if (!s->ctx[n]) {
				snprintf(err, errlen, "persona '%s' port %u: %s", cp->id,
					 sv->port, e);
				return -EINVAL;
			}
			fd_tls_set_alpn(s->ctx[n], sv);
		}
	}
	return 0;
}

struct sshsvc {
	fd_hostkeys_t hk;
	fd_ssh_cfg_t cfg;
	const fd_conf_persona_t *cp;
};

static size_t nservices(const fd_conf_t *c)
{
	size_t n = 0;

	for (size_t i = 0; i < c->npersonas; i++)
		n += c->personas[i].persona->nservices;
	return n;
}

static int setup_ssh(fd_server_t *s, char *err, size_t errlen)
{
	const fd_conf_t *c = s->conf;
	size_t n = 0;

	s->ssh = calloc(nservices(c) + 1, sizeof(*s->ssh));
	if (!s->ssh)
		return -ENOMEM;
	for (size_t i = 0; i < c->npersonas; i++) {
		const fd_conf_persona_t *cp = &c->personas[i];
		for (size_t j = 0; j < cp->persona->nservices; j++, n++) {
			const fd_service_t *sv = &cp->persona->services[j];
			struct sshsvc *x = &s->ssh[n];
			char e[400];
			if (sv->kind != FD_SSH)
				continue;
			int rc = fd_hostkeys_load(cp, sv, &x->hk, e, sizeof(e));
			if (rc < 0) {
				snprintf(err, errlen, "persona '%s' port %u: %s", cp->id,
					 sv->port, e);
				return rc;
			}
			x->cp = cp;
			x->cfg.version = sv->ssh_version;
			x->cfg.kex = sv->kex;
			x->cfg.auth_methods = sv->ssh_auth_methods;
			x->cfg.max_auth_tries = sv->ssh_max_auth_tries;
			x->cfg.auth_delay_ms = sv->ssh_auth_delay_ms;
			x->cfg.server_sig_algs = sv->ssh_server_sig_algs;
			for (size_t k = 0; k < sv->kex[0].n; k++)
				if (!fd_ssh_kex_known(sv->kex[0].v[k]) &&
				    strncmp(sv->kex[0].v[k], "kex-strict-", 11) != 0 &&
				    strcmp(sv->kex[0].v[k], "ext-info-s") != 0)
					log_warn("persona '%s' port %u: key exchange %s is "
						 "offered but not implemented: a client "
						 "that picks it is disconnected", cp->id,
						 sv->port, sv->kex[0].v[k]);
		}
	}
	return 0;
}

/* The SSH settings of (cp, sv), with the host key set of this moment. */
static const fd_ssh_cfg_t *ssh_cfg_of(fd_server_t *s, const fd_conf_persona_t *cp,
				      const fd_service_t *sv)
{
	size_t n = 0;

	for (size_t i = 0; i < s->conf->npersonas; i++) {
		const fd_conf_persona_t *p = &s->conf->personas[i];
		if (p == cp) {
			struct sshsvc *x = &s->ssh[n + (size_t)(sv - p->persona->services)];
			uint64_t set = s->key_rotations;
			if (cp->ssh_key_rotation_s)
				set += (uint64_t)time(NULL) / cp->ssh_key_rotation_s;
			fd_hostkeys_pick(&x->hk, set, x->cfg.hostkey);
			return &x->cfg;
		}
		n += p->persona->nservices;
	}
	return NULL;
}

static SSL_CTX *ctx_of(const fd_server_t *s, const fd_conf_persona_t *cp,
		       const fd_service_t *sv)
{
	size_t n = 0;

	for (size_t i = 0; i < s->conf->npersonas; i++) {
		const fd_conf_persona_t *p = &s->conf->personas[i];
		if (p == cp)
			return s->ctx[n + (size_t)(sv - p->persona->services)];
		n += p->persona->nservices;
	}
	return NULL;
}

/* Does a persona without pool: serve `port` on addresses of `family`?
 * (Only then a wildcard listener of that family is bound, which leaves the
 * port of the other family to a shuffled pool's own sockets.) */
static bool family_needed(const fd_conf_t *conf, unsigned port, int family)
{
	for (size_t i = 0; i < conf->npersonas; i++) {
		const fd_conf_persona_t *p = &conf->personas[i];
		if (p->npools || !fd_persona_find(p->persona, port))
			continue;
		if (p->naddresses == 0)
			return true;
		for (size_t k = 0; k < p->naddresses; k++)
			if (p->addresses[k].family == family)
				return true;
	}
	return false;
}

int fd_server_new(const fd_conf_t *conf, fd_event_t *ev, fd_server_t **out,
		  char *err, size_t errlen)
{
	fd_server_t *s = calloc(1, sizeof(*s));
	int rc;

	if (!s)
		return -ENOMEM;
	s->conf = conf;
	s->ev = ev;
	s->start_s = (uint64_t)time(NULL);
	s->ep = epoll_create1(EPOLL_CLOEXEC);
	if (s->ep < 0) {
		rc = -errno;
		snprintf(err, errlen, "epoll_create1: %s", fg_strerror(rc));
		goto fail;
	}
	rc = setup_tls(s, err, errlen);
	if (rc == 0)
		rc = setup_ssh(s, err, errlen);
	if (rc < 0)
		goto fail;
	rc = fd_hi_new(conf, ev, s->ep, &s->hi, err, errlen);
	if (rc == 0)
		rc = fd_udp_new(conf, ev, s->ep, &s->udp, err, errlen);
	if (rc < 0)
		goto fail;
	/* one listener per (listen address, distinct port) */
	for (unsigned port = 1; port <= 65535; port++) {
		bool used = false;
		/* shuffled personas listen per address (universe.h) */
		for (size_t i = 0; i < conf->npersonas && !used; i++)
			used = !conf->personas[i].npools &&
			       fd_persona_find(conf->personas[i].persona, port) != NULL;
		if (!used)
			continue;
		for (size_t i = 0; i < conf->decoy.nlisten; i++) {
			struct sockaddr_storage ss = conf->decoy.listen[i].ss;
			if (!family_needed(conf, port, ss.ss_family))
				continue;
			set_port(&ss, port);
			rc = add_listener(s, &ss, conf->decoy.listen[i].len, OBJ_LISTEN,
					  err, errlen);
			if (rc < 0)
				goto fail;
		}
	}
	if (conf->decoy.metrics.len) {
		rc = add_listener(s, &conf->decoy.metrics.ss, conf->decoy.metrics.len,
				  OBJ_METRICS_LISTEN, err, errlen);
		if (rc < 0)
			goto fail;
	}
	for (size_t i = 0; i < s->nls; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = &s->ls[i] };
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ls[i].fd, &e) < 0) {
			rc = -errno;
			snprintf(err, errlen, "epoll_ctl: %s", fg_strerror(rc));
			goto fail;
		}
	}
	*out = s;
	return 0;
fail:
	fd_server_free(s);
	return rc;
}

/* ---- connections ---- */

static json_t *detail(const struct conn *c, const char *event)
{
	json_t *d = json_object();

	if (!d)
		return NULL;
	json_object_set_new(d, "event", json_string(event));
	if (c->cp) {
		json_object_set_new(d, "persona", json_string(c->cp->id));
		json_object_set_new(d, "service", json_string(fd_kind_names[c->svc->kind]));
	}
	return d;
}

static void emit(fd_server_t *s, const struct conn *c, json_t *d)
{
	fd_event_emit(s->ev, &c->src, &c->dst, d);
}

static void conn_close(fd_server_t *s, struct conn *c, const char *reason)
{
	if (!c->metrics) {
		json_t *d = detail(c, "flow_end");
		if (d) {
			json_object_set_new(d, "reason", json_string(reason));
			json_object_set_new(d, "bytes_toserver", json_integer((json_int_t)c->rx));
			json_object_set_new(d, "bytes_toclient", json_integer((json_int_t)c->tx));
			json_object_set_new(d, "duration_ms",
					    json_integer((json_int_t)(now_ms() - c->start_ms)));
		}
		emit(s, c, d);
		s->st.rx[c->svc->kind] += c->rx;
		s->st.tx[c->svc->kind] += c->tx;
	}
	epoll_ctl(s->ep, EPOLL_CTL_DEL, c->fd, NULL);
	fd_ssh_sess_free(c->ssh);
	fd_h2_free(c->h2);
	if (c->ssl) {
		if (c->tls_done)
			SSL_shutdown(c->ssl);
		/* a failed shutdown ("shutdown while in init" before the
		 * tickets went out) queues an error; left there, the next
		 * flow's SSL_get_error() reads it as its own and that flow is
		 * cut */
		ERR_clear_error();
		SSL_free(c->ssl);
	}
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->active--;
	free(c->out);
	free(c);
}

static void reset_close(int fd)
{
	struct linger lg = { 1, 0 };

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void set_mask(fd_server_t *s, struct conn *c, uint32_t mask)
{
	if (mask == c->ev_mask)
		return;
	struct epoll_event e = { .events = mask, .data.ptr = c };
	if (epoll_ctl(s->ep, EPOLL_CTL_MOD, c->fd, &e) == 0)
		c->ev_mask = mask;
}

/* >0 bytes, 0 end of stream, -EAGAIN (want read), -EINPROGRESS (TLS wants
 * to write first), other negative: error. */
static ssize_t conn_recv(struct conn *c, void *buf, size_t n)
{
	if (!c->ssl) {
		ssize_t r = recv(c->fd, buf, n, 0);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
			       ? -EAGAIN : -errno;
		return r;
	}
	ERR_clear_error();  /* SSL_get_error() must see this call's errors only */
	int r = SSL_read(c->ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
		return -EAGAIN;
	case SSL_ERROR_WANT_WRITE:
		return -EINPROGRESS;
	case SSL_ERROR_ZERO_RETURN:
		return 0;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

static ssize_t conn_send(struct conn *c, const void *buf, size_t n)
{
	if (!c->ssl) {
		ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
		if (r < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR
			       ? -EAGAIN : -errno;
		return r;
	}
	ERR_clear_error();
	int r = SSL_write(c->ssl, buf, (int)n);
	if (r > 0)
		return r;
	switch (SSL_get_error(c->ssl, r)) {
	case SSL_ERROR_WANT_READ:
	case SSL_ERROR_WANT_WRITE:
		return -EAGAIN;
	default:
		ERR_clear_error();
		return -EIO;
	}
}

static int queue_out(struct conn *c, const void *data, size_t n)
{
	if (c->outlen - c->outoff + n > OUT_MAX)
		return -ENOBUFS;
	if (c->outoff && c->outoff == c->outlen)
		c->outoff = c->outlen = 0;
	if (c->outlen + n > c->outcap) {
		size_t cap = c->outcap ? c->outcap : 4096;
		while (cap < c->outlen + n)
			cap *= 2;
		char *nb = realloc(c->out, cap);
		if (!nb)
			return -ENOMEM;
		c->out = nb;
		c->outcap = cap;
	}
	memcpy(c->out + c->outlen, data, n);
	c->outlen += n;
	return 0;
}

/* A request the real server refuses: a protocol_error event, then its
 * captured answer (`tmpl`, none when not captured); the caller closes. */
static void http_refuse(fd_server_t *s, struct conn *c, const char *why, const char *tmpl)
{
	s->st.proto_err[c->svc->kind]++;
	json_t *d = detail(c, "protocol_error");
	json_object_set_new(d, "message", json_string(why));
	emit(s, c, d);
	size_t cap = tmpl ? strlen(tmpl) + 64 : 0;
	char *resp = tmpl ? malloc(cap) : NULL;
	int n = resp ? fd_http_render(tmpl, time(NULL), 0, resp, cap) : -1;
	if (n > 0)
		queue_out(c, resp, (size_t)n);
	free(resp);
}

static size_t pending(const struct conn *c)
{
	return c->outlen - c->outoff + (c->zeros > OUT_MAX ? OUT_MAX : (size_t)c->zeros);
}

/* The body of a sized page (its captured bytes, or zero bytes) is queued
 * as the flow drains, up to OUT_HIGH at a time: a 10 MB answer never sits
 * in memory. */
static int top_up(struct conn *c)
{
	static const char z[16384];

	if (!c->zeros)
		return 0;
	if (c->outoff) {              /* keep the buffer from growing */
		memmove(c->out, c->out + c->outoff, c->outlen - c->outoff);
		c->outlen -= c->outoff;
		c->outoff = 0;
	}
	while (c->zeros && c->outlen < OUT_HIGH) {
		size_t n = c->zeros < sizeof(z) ? (size_t)c->zeros : sizeof(z);
		if (queue_out(c, c->zsrc ? c->zsrc : z, n) < 0)
			return -1;
		c->zeros -= n;
		if (c->zsrc)
			c->zsrc += n;
	}
	return 0;
}

/* Write what is queued. Returns false when the flow was closed. */
static bool flush(fd_server_t *s, struct conn *c)
{
	while ((c->outoff < c->outlen || c->zeros) && top_up(c) == 0) {
		ssize_t w = conn_send(c, c->out + c->outoff, c->outlen - c->outoff);
		if (w == -EAGAIN) {
			/* after the client's FIN, EPOLLIN would fire for ever */
			set_mask(s, c, pending(c) >= OUT_HIGH || c->eof ? EPOLLOUT
								       : EPOLLIN | EPOLLOUT);
			return true;
		}
		if (w < 0) {
			conn_close(s, c, "write-error");
			return false;
		}
		c->outoff += (size_t)w;
		c->tx += (uint64_t)w;
	}
	if (c->close_after) {
		if (!c->ssl)
			shutdown(c->fd, SHUT_WR);
		conn_close(s, c, "done");
		return false;
	}
	set_mask(s, c, EPOLLIN);
	return true;
}

/* ---- protocols: each consumes c->in and queues output; returns -1 to
 * close the flow (after flushing when c->close_after), 0 to go on ---- */

/* The body of a sized page: the bytes captured with its response-get when
 * there are `size` of them, else NULL (zero bytes, a sparse file). */
static const char *sized_body(const fd_page_t *pg)
{
	const char *b = strstr(pg->response_get, "\r\n\r\n");

	return b && strlen(b + 4) == pg->size ? b + 4 : NULL;
}

/* The answer to a GET or HEAD of a sized page, as lighttpd builds it from
 * the file: the 206 template for one range, the 416 for an unsatisfiable
 * one, else the 200 head; *zeros, *zsrc: the body bytes to queue and where
 * from. Returns the length of the head in out (malloc'd) or an error. */
static int sized_response(const fd_page_t *pg, const char *range, int range_cut,
			  bool head, char **out, uint64_t *zeros, const char **zsrc,
			  const char **tmpl)
{
	uint64_t f = 0, l = 0;
	int k = range[0] && !range_cut ? fd_http_range(range, pg->size, &f, &l)
				       : FD_RANGE_NONE;
	const char *src = pg->response_get;
	uint64_t cl = pg->size;
	char cr[64];

	*zeros = 0;
	*zsrc = NULL;
	if (k == FD_RANGE_UNSATISFIABLE && pg->response_range_unsatisfiable) {
		src = *tmpl = pg->response_range_unsatisfiable;
		size_t cap = strlen(src) + 64;
		*out = malloc(cap);
		return *out ? fd_http_render(src, time(NULL), head, *out, cap) : -ENOMEM;
	}
	if (k == FD_RANGE_OK) {
		src = pg->response_range;
		cl = l - f + 1;
		snprintf(cr, sizeof(cr), "bytes %llu-%llu/%u", (unsigned long long)f,
			 (unsigned long long)l, pg->size);
	}
	*tmpl = src;
	*zsrc = sized_body(pg);
	if (*zsrc && k == FD_RANGE_OK)
		*zsrc += f;
	size_t cap = strlen(src) + 128;
	*out = malloc(cap);
	if (!*out)
		return -ENOMEM;
	*zeros = head ? 0 : cl;
	return fd_http_render_sized(src, time(NULL), cl, k == FD_RANGE_OK ? cr : NULL,
				    *out, cap);
}

/* The captured answer of `sv` to METHOD TARGET; *head_only: drop its body
 * (a HEAD answered from a GET capture). */
static const char *pick_response(const fd_service_t *sv, const char *method,
				 const char *target, bool *head_only)
{
	bool head = strcmp(method, "HEAD") == 0;
	const fd_page_t *pg = fd_service_page(sv, target);
	const char *get = NULL, *hd = NULL;

	if (strcmp(target, "/") == 0) {
		get = sv->response_get;
		hd = sv->response_head;
	} else if (pg) {
		get = pg->response_get;
		hd = pg->response_head;
	} else {
		get = sv->response_not_found ? sv->response_not_found : sv->response_get;
	}
	/* a captured HEAD response has no body to drop */
	*head_only = head && !hd;
	return head && hd ? hd : get;
}

/* ---- HTTP/2 (decoy/h2sess.h): the same answers, in h2 frames ---- */

struct h2_io_ctx {
	fd_server_t *s;
	struct conn *c;
};

static int h2_out(void *ctx, const uint8_t *p, size_t n)
{
	struct h2_io_ctx *x = ctx;
	return queue_out(x->c, p, n);
}

static char *h2_request(void *ctx, const fd_h2_req_t *rq, size_t *len, int *head_only)
{
	struct h2_io_ctx *x = ctx;
	struct conn *c = x->c;
	bool ho;
	const char *src = pick_response(c->svc, rq->method, rq->path, &ho);
	const fd_page_t *pg = fd_service_page(c->svc, rq->path);
	char *resp = NULL;
	int n;
	if (pg && pg->sized && (strcmp(rq->method, "GET") == 0 ||
				strcmp(rq->method, "HEAD") == 0)) {
		/* ranges as over HTTP/1.1; the answer is held in memory for
		 * the stream, so a body over H2_SIZED_MAX resets it */
		uint64_t body;
		const char *from;
		n = sized_response(pg, rq->range, rq->range_cut, strcmp(rq->method, "HEAD") == 0,
				   &resp, &body, &from, &src);
		char *nr = n >= 0 && body <= H2_SIZED_MAX ? realloc(resp, (size_t)n + body + 1)
							  : NULL;
		if (!nr) {
			n = -ENOMEM;
		} else {
			resp = nr;
			if (from)
				memcpy(resp + n, from, (size_t)body);
			else
				memset(resp + n, 0, (size_t)body);
			n += (int)body;
		}
	} else {
		size_t cap = strlen(src) + 64;  /* room for a longer Date value */
		resp = malloc(cap);
		n = resp ? fd_http_render(src, time(NULL), 0, resp, cap) : -ENOMEM;
	}

	c->requests++;
	x->s->st.http_requests++;
	json_t *d = detail(c, "http");
	json_object_set_new(d, "method", json_string(rq->method));
	json_object_set_new(d, "url", json_string(rq->path));
	json_object_set_new(d, "protocol", json_string("HTTP/2"));
	if (rq->authority[0])
		json_object_set_new(d, "hostname", json_string(rq->authority));
	if (rq->user_agent[0])
		json_object_set_new(d, "http_user_agent", json_string(rq->user_agent));
	if (n > 0)
		json_object_set_new(d, "status", json_integer(atoi(src + 9)));
	emit(x->s, c, d);
	if (n < 0) {                  /* the stream is reset */
		free(resp);
		return NULL;
	}
	*len = (size_t)n;
	*head_only = ho;
	return resp;
}

static void h2_error(void *ctx, const char *msg)
{
	struct h2_io_ctx *x = ctx;

	x->s->st.proto_err[x->c->svc->kind]++;
	json_t *d = detail(x->c, "protocol_error");
	json_object_set_new(d, "message", json_string(msg));
	emit(x->s, x->c, d);
}

static int h2_input(fd_server_t *s, struct conn *c)
{
	struct h2_io_ctx x = { s, c };
	fd_h2_io_t io = { &x, h2_out, h2_request, h2_error };
	int rc = fd_h2_input(c->h2, c->in, c->inlen, &io);

	c->inlen = 0;
	return rc == 0 ? 0 : -1;
}

/* After a handshake that selected h2: the server's SETTINGS go first. */
static bool h2_start(fd_server_t *s, struct conn *c)
{
	struct h2_io_ctx x = { s, c };
	fd_h2_io_t io = { &x, h2_out, h2_request, h2_error };

	c->h2 = fd_h2_new(c->svc);
	if (!c->h2 || fd_h2_send(c->h2, &io) != 0) {
		conn_close(s, c, "h2-setup-failed");
		return false;
	}
	return flush(s, c);
}

static int http_input(fd_server_t *s, struct conn *c)
{
	size_t off = 0;
	int rc = 0;

	while (off < c->inlen && pending(c) < OUT_HIGH && !c->zeros) {
		if (c->skip) {
			size_t n = c->inlen - off < c->skip ? c->inlen - off : (size_t)c->skip;
			off += n;
			c->skip -= n;
			continue;
		}
		fd_http_req_t rq;
		size_t avail = c->inlen - off;
		int r = fd_http_parse(c->in + off, avail, &rq);
		if ((r == -EAGAIN && avail > c->svc->max_request_head) ||
		    (r == -FG_EMALF && avail >= FD_HTTP_MAX_HEAD) ||
		    (r == 0 && rq.head_len > c->svc->max_request_head)) {
			/* over the real server's limit: its 431, then close */
			http_refuse(s, c, "request head too large", c->svc->response_too_large);
			rc = -1;
			off = c->inlen;
			break;
		}
		if (r == -EAGAIN)
			break;
		if (r < 0) {
			/* the real server's 400, then close as it does */
			http_refuse(s, c, "not an HTTP/1 request", c->svc->response_bad_request);
			rc = -1;
			off = c->inlen;
			break;
		}
		off += rq.head_len;
		c->skip = rq.content_length;
		c->requests++;
		s->st.http_requests++;

		bool head_only;
		const char *src = pick_response(c->svc, rq.method, rq.target, &head_only);
		const fd_page_t *pg = fd_service_page(c->svc, rq.target);
		char *resp = NULL;
		uint64_t zeros = 0;
		const char *zsrc = NULL;
		int n;
		if (pg && pg->sized && (strcmp(rq.method, "GET") == 0 ||
					strcmp(rq.method, "HEAD") == 0)) {
			n = sized_response(pg, rq.range, rq.range_cut,
					   strcmp(rq.method, "HEAD") == 0, &resp, &zeros, &zsrc,
					   &src);
		} else {
			size_t cap = strlen(src) + 64;  /* room for a longer Date value */
			resp = malloc(cap);
			n = resp ? fd_http_render(src, time(NULL), head_only, resp, cap)
				 : -ENOMEM;
		}

		json_t *d = detail(c, "http");
		json_object_set_new(d, "method", json_string(rq.method));
		json_object_set_new(d, "url", json_string(rq.target));
		json_object_set_new(d, "protocol", json_string(rq.version));
		if (rq.host[0])
			json_object_set_new(d, "hostname", json_string(rq.host));
		if (rq.user_agent[0])
			json_object_set_new(d, "http_user_agent", json_string(rq.user_agent));
		if (n > 0)
			json_object_set_new(d, "status", json_integer(atoi(src + 9)));
		emit(s, c, d);
		int q = n < 0 ? n : queue_out(c, resp, (size_t)n);
		if (q == 0 && zeros) {
			c->zeros = zeros;
			c->zsrc = zsrc;
			q = top_up(c);
		}
		free(resp);
		if (q < 0) {
			rc = -1;
			break;
		}
		if (strcasestr(src, "\r\nConnection: close\r\n") ||
		    strcmp(rq.version, "HTTP/1.0") == 0) {
			c->close_after = true;
			break;
		}
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return rc;
}

/* ---- ssh: the session (decoy/sshsess.h) does the protocol ---- */

static void conn_event(fd_server_t *s, struct conn *c, uint32_t events);

struct ssh_io_ctx {
	fd_server_t *s;
	struct conn *c;
};

static int ssh_out(void *ctx, const uint8_t *p, size_t n)
{
	struct ssh_io_ctx *x = ctx;
	return queue_out(x->c, p, n);
}

static void ssh_event(void *ctx, const char *event, json_t *fields)
{
	struct ssh_io_ctx *x = ctx;
	json_t *d = detail(x->c, event);

	if (strcmp(event, "ssh") == 0)
		x->s->st.ssh_clients++;
	else if (strcmp(event, "ssh_kexinit") == 0)
		x->s->st.ssh_kexinit++;
	else if (strcmp(event, "ssh_kex") == 0)
		x->s->st.ssh_kex++;
	else if (strcmp(event, "ssh_auth") == 0)
		x->s->st.ssh_auth++;
	if (d && fields)
		json_object_update(d, fields);
	json_decref(fields);
	emit(x->s, x->c, d);
}

static int ssh_input(fd_server_t *s, struct conn *c)
{
	struct ssh_io_ctx x = { s, c };
	fd_ssh_io_t io = { &x, ssh_out, ssh_event };
	size_t used = 0;
	int rc = fd_ssh_sess_input(c->ssh, c->in, c->inlen, now_ms(), &io, &used);

	memmove(c->in, c->in + used, c->inlen - used);
	c->inlen -= used;
	if (rc < 0) {
		s->st.proto_err[FD_SSH]++;
		return -1;
	}
	return rc == FD_SSH_DONE ? -1 : 0;
}

/* Deferred SSH answers (sshd's delay after a failed login) that are due. */
static void ssh_timers(fd_server_t *s)
{
	uint64_t now = now_ms();
	struct conn *c = s->conns;

	while (c) {
		struct conn *next = c->next;
		uint64_t due = c->ssh ? fd_ssh_sess_due(c->ssh) : 0;
		if (due && due <= now) {
			struct ssh_io_ctx x = { s, c };
			fd_ssh_io_t io = { &x, ssh_out, ssh_event };
			c->last_ms = now;
			if (fd_ssh_sess_release(c->ssh, &io) == FD_SSH_DONE)
				c->close_after = true;
			if (flush(s, c) && c->inlen && !c->close_after)
				conn_event(s, c, 0);  /* input that waited */
		}
		c = next;
	}
}

/* A command line over the RFC 5321 limit: counted, logged, refused. */
static int smtp_too_long(fd_server_t *s, struct conn *c)
{
	s->st.proto_err[FD_SMTP]++;
	json_t *d = detail(c, "protocol_error");
	json_object_set_new(d, "message", json_string("command line longer than 1000 bytes"));
	emit(s, c, d);
	return queue_out(c, "500 5.5.0 Error: line too long\r\n", 32);
}

static int smtp_input(fd_server_t *s, struct conn *c)
{
	size_t off = 0;
	int rc = 0;

	while (off < c->inlen) {
		uint8_t *nl = memchr(c->in + off, '\n', c->inlen - off);
		if (!nl) {
			if (c->inlen - off >= FD_SMTP_MAX_LINE) {
				if (c->smtp.state == FD_SMTP_DATA)
					c->smtp.data_bytes += c->inlen - off;
				else if (!c->smtp_discard) {
					c->smtp_discard = true;  /* until its newline */
					if (smtp_too_long(s, c) < 0)
						rc = -1;
				}
				off = c->inlen;
			}
			break;
		}
		size_t len = (size_t)(nl - (c->in + off));
		const char *line = (const char *)c->in + off;
		off += len + 1;
		if (c->smtp_discard) {  /* the tail of an overlong line */
			c->smtp_discard = false;
			continue;
		}
		if (len && line[len - 1] == '\r')
			len--;
		if (c->smtp.state != FD_SMTP_DATA && len > FD_SMTP_MAX_LINE - 2) {
			if (smtp_too_long(s, c) < 0) {
				rc = -1;
				break;
			}
			continue;
		}
		fd_smtp_out_t o;
		const fd_service_t *sv = c->svc;
		fd_smtp_replies_t rp = { sv->smtp_ehlo, sv->smtp_quit, sv->smtp_mail,
					 sv->smtp_rcpt, sv->smtp_rset, sv->smtp_noop,
					 c->smtp_host };
		fd_smtp_line(&c->smtp, line, len, &rp, &o);
		if (o.event != FD_SMTP_EV_NONE) {
			static const char *const names[] = { "", "helo", "mail_from",
							     "rcpt_to", "message" };
			json_t *d = detail(c, "smtp");
			json_object_set_new(d, "command", json_string(names[o.event]));
			json_object_set_new(d, o.event == FD_SMTP_EV_MESSAGE ? "bytes" : "arg",
					    json_string(o.arg));
			emit(s, c, d);
			if (o.event == FD_SMTP_EV_RCPT)
				s->st.smtp_rcpts++;
			if (o.event == FD_SMTP_EV_MESSAGE)
				s->st.smtp_messages++;
		}
		if (o.reply && queue_out(c, o.reply, strlen(o.reply)) < 0) {
			rc = -1;
			break;
		}
		if (c->smtp.state == FD_SMTP_QUIT) {
			c->close_after = true;
			rc = -1;
			break;
		}
	}
	memmove(c->in, c->in + off, c->inlen - off);
	c->inlen -= off;
	return rc;
}

static int metrics_input(fd_server_t *s, struct conn *c)
{
	fd_http_req_t rq;
	int r = fd_http_parse(c->in, c->inlen, &rq);
	char head[256];

	if (r == -EAGAIN)
		return 0;
	c->inlen = 0;
	c->close_after = true;
	if (r == 0 && strcmp(rq.method, "GET") == 0 &&
	    (strcmp(rq.target, "/metrics") == 0 || strncmp(rq.target, "/metrics?", 9) == 0)) {
		s->st.scrapes++;
		char *body = fd_server_metrics(s);
		if (!body)
			return -1;
		int n = snprintf(head, sizeof(head), "HTTP/1.1 200 OK\r\nContent-Type: "
				 "text/plain; version=0.0.4\r\nContent-Length: %zu\r\n"
				 "Connection: close\r\n\r\n", strlen(body));
		queue_out(c, head, (size_t)n);
		queue_out(c, body, strlen(body));
		free(body);
	} else {
		static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
					 "Connection: close\r\n\r\n";
		queue_out(c, nf, sizeof(nf) - 1);
	}
	return -1;
}

static int dispatch_input(fd_server_t *s, struct conn *c)
{
	if (c->metrics)
		return metrics_input(s, c);
	switch (c->svc->kind) {
	case FD_HTTP:
	case FD_HTTPS:
		return c->h2 ? h2_input(s, c) : http_input(s, c);
	case FD_SSH:
		return ssh_input(s, c);
	case FD_SMTP:
		return smtp_input(s, c);
	default:
		return -1;
	}
}

/* Run the TLS handshake; false when the flow was closed. */
static bool tls_step(fd_server_t *s, struct conn *c)
{
	ERR_clear_error();
	int r = SSL_do_handshake(c->ssl);

	if (r == 1) {
		c->tls_done = true;
		json_t *d = detail(c, "tls");
		const char *sni = SSL_get_servername(c->ssl, TLSEXT_NAMETYPE_host_name);
		if (sni)
			json_object_set_new(d, "sni", json_string(sni));
		json_object_set_new(d, "version", json_string(SSL_get_version(c->ssl)));
		const unsigned char *ap = NULL;
		unsigned al = 0;
		SSL_get0_alpn_selected(c->ssl, &ap, &al);
		if (al)
			json_object_set_new(d, "alpn", json_stringn((const char *)ap, al));
		emit(s, c, d);
		if (fd_tls_is_h2(c->ssl))
			return h2_start(s, c);
		return true;
	}
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		set_mask(s, c, EPOLLIN);
		return true;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		set_mask(s, c, EPOLLIN | EPOLLOUT);
		return true;
	}
	ERR_clear_error();
	s->st.tls_fail++;
	conn_close(s, c, "tls-handshake-failed");
	return false;
}

static void conn_event(fd_server_t *s, struct conn *c, uint32_t events)
{
	c->last_ms = now_ms();
	if (c->ssl && !c->tls_done) {
		if (!tls_step(s, c) || !c->tls_done)
			return;
	}
	if ((events & EPOLLOUT) && !flush(s, c))
		return;
	bool readable = ((events & (EPOLLIN | EPOLLHUP | EPOLLERR)) || c->ssl) && !c->eof;
	for (;;) {
		/* parse what is buffered, also input held back while the
		 * client was not reading its answers */
		if (c->inlen && pending(c) < OUT_HIGH && dispatch_input(s, c) < 0) {
			c->close_after = true;
			flush(s, c);
			return;
		}
		if (pending(c) >= OUT_HIGH) {
			if (!flush(s, c))
				return;
			if (pending(c) >= OUT_HIGH)
				return;       /* not reading until EPOLLOUT */
			continue;             /* drained: parse the rest */
		}
		if (c->eof) {
			/* everything it sent is parsed: answer, then close, as
			 * a server does after a half-close */
			c->close_after = true;
			break;
		}
		if (!readable)
			break;
		if (c->inlen == sizeof(c->in)) {
			/* a full buffer no parser could use */
			s->st.proto_err[c->metrics ? 0 : c->svc->kind]++;
			conn_close(s, c, "input-overflow");
			return;
		}
		ssize_t r = conn_recv(c, c->in + c->inlen, sizeof(c->in) - c->inlen);
		if (r == -EAGAIN)
			break;
		if (r == -EINPROGRESS) {
			set_mask(s, c, EPOLLIN | EPOLLOUT);
			break;
		}
		if (r == 0 && (c->inlen || pending(c))) {
			c->eof = true;        /* answer what is buffered first */
			continue;
		}
		if (r <= 0) {
			conn_close(s, c, r == 0 ? "closed-by-client" : "read-error");
			return;
		}
		c->rx += (uint64_t)r;
		c->inlen += (size_t)r;
	}
	flush(s, c);
}

static void norm_addr(struct sockaddr_storage *ss, int *family, uint8_t a[16],
		      unsigned *port)
{
	if (ss->ss_family == AF_INET) {
		struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
		*family = AF_INET;
		memcpy(a, &v4->sin_addr, 4);
		*port = ntohs(v4->sin_port);
	} else {
		struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
		*port = ntohs(v6->sin6_port);
		if (IN6_IS_ADDR_V4MAPPED(&v6->sin6_addr)) {
			*family = AF_INET;
			memcpy(a, &v6->sin6_addr.s6_addr[12], 4);
		} else {
			*family = AF_INET6;
			memcpy(a, &v6->sin6_addr, 16);
		}
	}
}

static void accept_one(fd_server_t *s, int lfd, bool metrics)
{
	struct sockaddr_storage src, dst;
	socklen_t sl = sizeof(src), dl = sizeof(dst);
	int fd = accept4(lfd, (struct sockaddr *)&src, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	const fd_conf_persona_t *cp = NULL;
	const fd_service_t *sv = NULL;

	if (fd < 0)
		return;
	if (getsockname(fd, (struct sockaddr *)&dst, &dl) < 0) {
		reset_close(fd);
		return;
	}
	if (!metrics) {
		int fam;
		uint8_t a[16];
		unsigned port;
		norm_addr(&dst, &fam, a, &port);
		bool in_bed = false;
		const fd_conf_persona_t *bp = fd_bed_persona(s->bed, fam, a, &in_bed);
		if (in_bed) {            /* the epoch's deal decides */
			cp = bp;
			sv = cp ? fd_persona_find(cp->persona, port) : NULL;
		}
		for (size_t i = 0; i < s->conf->npersonas && !sv && !in_bed; i++) {
			cp = &s->conf->personas[i];
			if (fd_conf_persona_covers(cp, fam, a))
				sv = fd_persona_find(cp->persona, port);
		}
		if (!sv) {
			s->st.reset_no_persona++;
			json_t *d = json_object();
			json_object_set_new(d, "event", json_string("reset"));
			json_object_set_new(d, "reason", json_string("no-persona"));
			fd_event_emit(s->ev, &src, &dst, d);
			reset_close(fd);
			return;
		}
	}
	if (!metrics && fd_hi_accept(s->hi, fd, &src, &dst, (size_t)(cp - s->conf->personas),
					 fd_bed_universes(s->bed)))
		return;
	if (s->active >= s->conf->decoy.max_clients) {
		s->st.reset_full++;
		reset_close(fd);
		return;
	}
	struct conn *c = calloc(1, sizeof(*c));
	if (!c) {
		reset_close(fd);
		return;
	}
	c->type = OBJ_CONN;
	c->fd = fd;
	c->metrics = metrics;
	c->cp = cp;
	c->svc = sv;
	c->src = src;
	c->dst = dst;
	c->start_ms = c->last_ms = now_ms();
	c->ev_mask = EPOLLIN;
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = c };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
		free(c);
		reset_close(fd);
		return;
	}
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->active++;
	if (metrics)
		return;
	s->st.flows[sv->kind]++;
	json_t *d = detail(c, "flow_start");
	json_object_set_new(d, "persona_name", json_string(cp->persona->name));
	fd_addr_t sa;
	bool have_sa = fd_addr_from_sockaddr(&src, &sa, NULL);
	bool reflected = have_sa && fd_conf_backend_persona(s->conf, sa.family, sa.a) >= 0;
	if (reflected)
		json_object_set_new(d, "reflected", json_true());  /* a backend's */
	if (have_sa && s->bed) {
		/* a flow reflected into the bed is in its attacker's universe
		 * (fd_hi_backend_universe); any other in its source's */
		fd_universe_t u;
		if (!reflected || !fd_hi_backend_universe(s->hi, &sa, &u))
			u = fd_universe_of(fd_bed_universes(s->bed), &sa);
		char uid[17];
		fd_universe_id_text(&u, uid);
		json_object_set_new(d, "universe", json_string(uid));
		json_object_set_new(d, "epoch", json_integer((json_int_t)u.epoch));
		json_object_set_new(d, "generation", json_integer((json_int_t)u.gen));
	}
	emit(s, c, d);
	switch (sv->kind) {
	case FD_HTTPS:
		c->ssl = SSL_new(ctx_of(s, cp, sv));
		if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
			conn_close(s, c, "tls-setup-failed");
			return;
		}
		SSL_set_accept_state(c->ssl);
		break;
	case FD_SSH: {
		char line[260];
		const fd_ssh_cfg_t *sc = ssh_cfg_of(s, cp, sv);
		if (!sc || fd_ssh_sess_new(sc, &c->ssh) < 0) {
			conn_close(s, c, "ssh-setup-failed");
			return;
		}
		int n = snprintf(line, sizeof(line), "%s\r\n", sv->ssh_version);
		queue_out(c, line, (size_t)n);
		flush(s, c);
		break;
	}
	case FD_SMTP:
		fd_smtp_host(sv->smtp_ehlo, c->smtp_host, sizeof(c->smtp_host));
		queue_out(c, sv->smtp_greeting, strlen(sv->smtp_greeting));
		flush(s, c);
		break;
	default:
		break;
	}
}

static void sweep_idle(fd_server_t *s)
{
	uint64_t now = now_ms();
	struct conn *c = s->conns;

	while (c) {
		struct conn *next = c->next;
		if (now - c->last_ms >= s->conf->decoy.idle_timeout_ms) {
			s->st.idle_closed++;
			conn_close(s, c, "idle-timeout");
		}
		c = next;
	}
}

/* ---- the shuffle (universe.h) ---- */

static uint64_t wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A socket of the bed starts or stops listening. */
static void bed_listen(void *ctx, int fd, bool add)
{
	fd_server_t *s = ctx;

	if (add) {
		struct listener *l = malloc(sizeof(*l));
		struct listener **nv = realloc(s->bls, (s->nbls + 1) * sizeof(*nv));
		if (nv)
			s->bls = nv;
		if (!l || !nv) {
			free(l);
			return;
		}
		*l = (struct listener){ OBJ_LISTEN, fd };
		struct epoll_event e = { .events = EPOLLIN, .data.ptr = l };
		if (epoll_ctl(s->ep, EPOLL_CTL_ADD, fd, &e) < 0) {
			free(l);
			return;
		}
		s->bls[s->nbls++] = l;
		return;
	}
	for (size_t i = 0; i < s->nbls; i++)
		if (s->bls[i]->fd == fd) {
			epoll_ctl(s->ep, EPOLL_CTL_DEL, fd, NULL);
			free(s->bls[i]);
			s->bls[i] = s->bls[--s->nbls];
			return;
		}
}

/* Between event batches, so no pending event names a listener freed here. */
static void shuffle_tick(fd_server_t *s, bool first)
{
	bool force = s->force_shuffle && *s->force_shuffle;

	if (!s->bed)
		return;
	if (!first && !force && now_ms() - s->last_tick < 500)
		return;
	if (force)
		*s->force_shuffle = 0;
	s->last_tick = now_ms();
	int rc = fd_bed_tick(s->bed, wall_ms(), force);
	if (rc < 0)
		log_err("shuffle: %s", fg_strerror(rc));
	if (rc == 1) {        /* the kernel's closed UDP ports follow the deal */
		const fd_universes_t *u = fd_bed_universes(s->bed);
		fd_hi_deal(s->hi, u->epoch, u->gen);
	}
}

int fd_server_shuffle(fd_server_t *s, const uint8_t *root, size_t rootlen,
		      volatile sig_atomic_t *force, char *err, size_t errlen)
{
	int rc = fd_bed_new(s->conf, root, rootlen, bed_listen, s, &s->bed, err, errlen);

	if (rc < 0)
		return rc;
	s->force_shuffle = force;
	fd_udp_set_bed(s->udp, s->bed);
	fd_udp_set_hi(s->udp, s->hi);
	shuffle_tick(s, true);
	return 0;
}

int fd_server_run(fd_server_t *s, volatile sig_atomic_t *stop)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t last_sweep = now_ms();

	while (!*stop) {
		/* 50 ms: the resolution of sshd-like delayed answers */
		int n = epoll_wait(s->ep, evs, MAX_EVENTS, 50);
		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++) {
			enum obj_type *t = evs[i].data.ptr;
			if (*t == OBJ_CONN) {
				conn_event(s, evs[i].data.ptr, evs[i].events);
			} else if (*t == OBJ_HI) {
				fd_hi_event(s->hi, evs[i].data.ptr, evs[i].events);
			} else if (*t == FD_OBJ_UDP) {
				fd_udp_event(s->udp, evs[i].data.ptr);
			} else if (*t == OBJ_CONTROL) {
				fd_ctl_serve(s->ctl);
			} else {
				struct listener *l = evs[i].data.ptr;
				for (int k = 0; k < 32; k++)  /* bounded per wakeup */
					accept_one(s, l->fd, *t == OBJ_METRICS_LISTEN);
			}
		}
		ssh_timers(s);
		if (now_ms() - last_sweep >= 500) {
			sweep_idle(s);
			fd_hi_tick(s->hi);
			if (s->ctl)
				fd_ctl_serve(s->ctl);  /* its deadlines, when idle */
			last_sweep = now_ms();
		}
		shuffle_tick(s, false);
	}
	return 0;
}

void fd_server_set_priv(fd_server_t *s, int fd)
{
	fd_hi_set_priv(s->hi, fd);
}

void fd_server_free(fd_server_t *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s, s->conns, "shutdown");
	fd_hi_free(s->hi);
	fd_udp_free(s->udp);
	for (size_t i = 0; i < s->nls; i++)
		close(s->ls[i].fd);
	free(s->ls);
	for (size_t i = 0; i < s->nbls; i++)
		free(s->bls[i]);      /* their sockets are the bed's */
	free(s->bls);
	fd_bed_free(s->bed);
	if (s->ctx && s->conf) {
		size_t n = 0;
		for (size_t i = 0; i < s->conf->npersonas; i++)
			n += s->conf->personas[i].persona->nservices;
		for (size_t i = 0; i < n; i++)
			SSL_CTX_free(s->ctx[i]);
	}
	free(s->ctx);
	if (s->ssh && s->conf) {
		size_t n = nservices(s->conf);
		for (size_t i = 0; i < n; i++)
			fd_hostkeys_free(&s->ssh[i].hk);
	}
	free(s->ssh);
	if (s->ep >= 0)
		close(s->ep);
	free(s);
}

/* ---- metrics ---- */

struct sb {
	char *p;
	size_t n, cap;
	bool oom;
};

static void sbf(struct sb *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sbf(struct sb *b, const char *fmt, ...)
{
	va_list ap;

	if (b->oom)
		return;
	for (;;) {
		va_start(ap, fmt);
		int w = vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
		va_end(ap);
		if (w < 0) {
			b->oom = true;
			return;
		}
		if ((size_t)w < b->cap - b->n) {
			b->n += (size_t)w;
			return;
		}
		size_t cap = b->cap * 2 + (size_t)w;
		char *np = realloc(b->p, cap);
		if (!np) {
			b->oom = true;
			return;
		}
		b->p = np;
		b->cap = cap;
	}
}

static void bed_text(void *ctx, const char *text)
{
	sbf(ctx, "%s", text);
}

char *fd_server_metrics(const fd_server_t *s)
{
	struct sb b = { malloc(4096), 0, 4096, false };
	const struct stats *st = &s->st;

	if (!b.p)
		return NULL;
	b.p[0] = '\0';
	sbf(&b, "# HELP fluxdecoy_flows_total Decoy flows accepted, by service kind.\n"
		"# TYPE fluxdecoy_flows_total counter\n");
	for (int k = 0; k < FD_NKINDS; k++)
		sbf(&b, "fluxdecoy_flows_total{service=\"%s\"} %llu\n", fd_kind_names[k],
		    (unsigned long long)st->flows[k]);
	sbf(&b, "# HELP fluxdecoy_received_bytes_total Bytes received from clients "
		"of closed flows.\n# TYPE fluxdecoy_received_bytes_total counter\n");
	for (int k = 0; k < FD_NKINDS; k++)
		sbf(&b, "fluxdecoy_received_bytes_total{service=\"%s\"} %llu\n",
		    fd_kind_names[k], (unsigned long long)st->rx[k]);
	sbf(&b, "# HELP fluxdecoy_sent_bytes_total Bytes sent to clients of closed "
		"flows.\n# TYPE fluxdecoy_sent_bytes_total counter\n");
	for (int k = 0; k < FD_NKINDS; k++)
		sbf(&b, "fluxdecoy_sent_bytes_total{service=\"%s\"} %llu\n",
		    fd_kind_names[k], (unsigned long long)st->tx[k]);
	sbf(&b, "# HELP fluxdecoy_protocol_errors_total Flows ended by input the "
		"persona's protocol rejects.\n# TYPE fluxdecoy_protocol_errors_total counter\n");
	for (int k = 0; k < FD_NKINDS; k++)
		sbf(&b, "fluxdecoy_protocol_errors_total{service=\"%s\"} %llu\n",
		    fd_kind_names[k], (unsigned long long)st->proto_err[k]);
	sbf(&b, "# HELP fluxdecoy_resets_total Connections reset on accept.\n"
		"# TYPE fluxdecoy_resets_total counter\n"
		"fluxdecoy_resets_total{reason=\"no-persona\"} %llu\n"
		"fluxdecoy_resets_total{reason=\"max-clients\"} %llu\n",
		(unsigned long long)st->reset_no_persona,
		(unsigned long long)st->reset_full);
	sbf(&b, "# HELP fluxdecoy_tls_handshake_failures_total TLS handshakes that "
		"failed.\n# TYPE fluxdecoy_tls_handshake_failures_total counter\n"
		"fluxdecoy_tls_handshake_failures_total %llu\n",
		(unsigned long long)st->tls_fail);
	sbf(&b, "# HELP fluxdecoy_idle_closed_total Flows closed by idle-timeout.\n"
		"# TYPE fluxdecoy_idle_closed_total counter\n"
		"fluxdecoy_idle_closed_total %llu\n", (unsigned long long)st->idle_closed);
	sbf(&b, "# HELP fluxdecoy_http_requests_total HTTP requests answered.\n"
		"# TYPE fluxdecoy_http_requests_total counter\n"
		"fluxdecoy_http_requests_total %llu\n",
		(unsigned long long)st->http_requests);
	sbf(&b, "# HELP fluxdecoy_ssh_clients_total SSH client version lines read.\n"
		"# TYPE fluxdecoy_ssh_clients_total counter\n"
		"fluxdecoy_ssh_clients_total %llu\n", (unsigned long long)st->ssh_clients);
	sbf(&b, "# HELP fluxdecoy_ssh_kex_total SSH key exchanges completed by "
		"the decoy.\n# TYPE fluxdecoy_ssh_kex_total counter\n"
		"fluxdecoy_ssh_kex_total %llu\n", (unsigned long long)st->ssh_kex);
	sbf(&b, "# HELP fluxdecoy_ssh_auth_attempts_total SSH login attempts "
		"logged (all of them failed).\n"
		"# TYPE fluxdecoy_ssh_auth_attempts_total counter\n"
		"fluxdecoy_ssh_auth_attempts_total %llu\n", (unsigned long long)st->ssh_auth);
	sbf(&b, "# HELP fluxdecoy_smtp_messages_total SMTP messages taken (never "
		"relayed).\n# TYPE fluxdecoy_smtp_messages_total counter\n"
		"fluxdecoy_smtp_messages_total %llu\n",
		(unsigned long long)st->smtp_messages);
	sbf(&b, "# HELP fluxdecoy_smtp_recipients_total SMTP recipients accepted.\n"
		"# TYPE fluxdecoy_smtp_recipients_total counter\n"
		"fluxdecoy_smtp_recipients_total %llu\n",
		(unsigned long long)st->smtp_rcpts);
	sbf(&b, "# HELP fluxdecoy_active_flows Flows open now.\n"
		"# TYPE fluxdecoy_active_flows gauge\nfluxdecoy_active_flows %u\n",
		s->active);
	sbf(&b, "# HELP fluxdecoy_events_total Event log lines, written or lost.\n"
		"# TYPE fluxdecoy_events_total counter\n"
		"fluxdecoy_events_total{result=\"written\"} %llu\n"
		"fluxdecoy_events_total{result=\"dropped\"} %llu\n",
		(unsigned long long)fd_event_written(s->ev),
		(unsigned long long)fd_event_dropped(s->ev));
	char *hm = fd_hi_metrics(s->hi);
	if (hm)
		sbf(&b, "%s", hm);
	else
		b.oom = true;
	free(hm);
	char *um = fd_udp_metrics(s->udp);
	if (um)
		sbf(&b, "%s", um);
	else
		b.oom = true;
	free(um);
	fd_bed_metrics(s->bed, bed_text, &b);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

/* ---- control commands (fluxdecoy(8), CONTROL) ---- */

static int cmd_status(void *ctx, int argc, const char *const *argv, json_t **reply,
		      char *err, size_t errlen)
{
	fd_server_t *s = ctx;

	(void)argc; (void)argv; (void)err; (void)errlen;
	*reply = json_pack("{s:I,s:I,s:I,s:I,s:I}",
			   "pid", (json_int_t)getpid(),
			   "uptime_s", (json_int_t)((uint64_t)time(NULL) - s->start_s),
			   "personas", (json_int_t)s->conf->npersonas,
			   "listeners", (json_int_t)s->nls,
			   "active_flows", (json_int_t)s->active);
	return *reply ? 0 : -ENOMEM;
}

static int cmd_stats(void *ctx, int argc, const char *const *argv, json_t **reply,
		     char *err, size_t errlen)
{
	fd_server_t *s = ctx;
	const struct stats *st = &s->st;
	json_t *flows = json_object(), *perr = json_object();

	(void)argc; (void)argv; (void)err; (void)errlen;
	for (int k = 0; k < FD_NKINDS; k++) {
		json_object_set_new(flows, fd_kind_names[k], json_integer((json_int_t)st->flows[k]));
		json_object_set_new(perr, fd_kind_names[k], json_integer((json_int_t)st->proto_err[k]));
	}
	*reply = json_pack("{s:o,s:o,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I,s:I}",
		"flows", flows, "protocol_errors", perr,
		"resets_no_persona", (json_int_t)st->reset_no_persona,
		"resets_max_clients", (json_int_t)st->reset_full,
		"tls_handshake_failures", (json_int_t)st->tls_fail,
		"idle_closed", (json_int_t)st->idle_closed,
		"http_requests", (json_int_t)st->http_requests,
		"ssh_clients", (json_int_t)st->ssh_clients,
		"ssh_kex", (json_int_t)st->ssh_kex,
		"ssh_auth_attempts", (json_int_t)st->ssh_auth,
		"smtp_messages", (json_int_t)st->smtp_messages,
		"smtp_recipients", (json_int_t)st->smtp_rcpts,
		"events_written", (json_int_t)fd_event_written(s->ev),
		"control_errors", (json_int_t)fd_ctl_errors(s->ctl),
		"control_dropped", (json_int_t)fd_ctl_dropped(s->ctl));
	return *reply ? 0 : -ENOMEM;
}

/* The fingerprints of the keys one SSH service hands out now. */
static json_t *active_keys(fd_server_t *s, size_t idx)
{
	struct sshsvc *x = &s->ssh[idx];
	EVP_PKEY *k[FD_SSHK_NTYPES];
	json_t *o = json_object();
	uint64_t set = s->key_rotations;

	if (x->cp->ssh_key_rotation_s)
		set += (uint64_t)time(NULL) / x->cp->ssh_key_rotation_s;
	fd_hostkeys_pick(&x->hk, set, k);
	for (int t = 0; t < FD_SSHK_NTYPES; t++) {
		uint8_t blob[2048];
		char fp[64];
		int n = k[t] ? fd_sshkey_blob(k[t], blob, sizeof(blob)) : -1;
		if (n < 0)
			continue;
		fd_ssh_fingerprint(blob, (size_t)n, fp);
		json_object_set_new(o, fd_sshk_names[t], json_string(fp));
	}
	return o;
}

static int cmd_keys(void *ctx, int argc, const char *const *argv, json_t **reply,
		    char *err, size_t errlen)
{
	fd_server_t *s = ctx;
	json_t *list = json_array();
	size_t n = 0;

	(void)argc; (void)argv; (void)err; (void)errlen;
	for (size_t i = 0; i < s->conf->npersonas; i++) {
		const fd_conf_persona_t *cp = &s->conf->personas[i];
		for (size_t j = 0; j < cp->persona->nservices; j++, n++) {
			if (cp->persona->services[j].kind != FD_SSH)
				continue;
			size_t cnt = 0;
			for (int t = 0; t < FD_SSHK_NTYPES; t++)
				cnt += s->ssh[n].hk.n[t];
			json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:I,s:o}",
				"persona", cp->id, "port", (json_int_t)cp->persona->services[j].port,
				"keys", (json_int_t)cnt,
				"rotation_s", (json_int_t)cp->ssh_key_rotation_s,
				"active", active_keys(s, n)));
		}
	}
	*reply = json_pack("{s:I,s:o}", "key_set", (json_int_t)s->key_rotations,
			   "services", list);
	return *reply ? 0 : -ENOMEM;
}

static int cmd_rotate(void *ctx, int argc, const char *const *argv, json_t **reply,
		      char *err, size_t errlen)
{
	fd_server_t *s = ctx;

	(void)argc; (void)argv; (void)err; (void)errlen;
	s->key_rotations++;
	log_info("control: rotate-keys: key set offset %llu",
		 (unsigned long long)s->key_rotations);
	*reply = json_pack("{s:I}", "key_set", (json_int_t)s->key_rotations);
	return *reply ? 0 : -ENOMEM;
}

/* Re-read every host key file; all or nothing. The rest of the config
 * and the persona files apply at the next start. */
static int cmd_reload(void *ctx, int argc, const char *const *argv, json_t **reply,
		      char *err, size_t errlen)
{
	fd_server_t *s = ctx;
	size_t total = nservices(s->conf), n = 0, keys = 0;
	fd_hostkeys_t *fresh = calloc(total + 1, sizeof(*fresh));
	int rc = 0;

	(void)argc; (void)argv;
	if (!fresh)
		return -ENOMEM;
	for (size_t i = 0; i < s->conf->npersonas && rc == 0; i++) {
		const fd_conf_persona_t *cp = &s->conf->personas[i];
		for (size_t j = 0; j < cp->persona->nservices && rc == 0; j++, n++) {
			const fd_service_t *sv = &cp->persona->services[j];
			char e[400];
			if (sv->kind != FD_SSH)
				continue;
			rc = fd_hostkeys_load(cp, sv, &fresh[n], e, sizeof(e));
			if (rc < 0)
				snprintf(err, errlen, "persona '%s': %s (nothing changed)",
					 cp->id, e);
		}
	}
	for (size_t i = 0; i < total; i++) {
		if (rc == 0) {
			fd_hostkeys_free(&s->ssh[i].hk);  /* flows keep their refs */
			s->ssh[i].hk = fresh[i];
			for (int t = 0; t < FD_SSHK_NTYPES; t++)
				keys += fresh[i].n[t];
		} else {
			fd_hostkeys_free(&fresh[i]);
		}
	}
	free(fresh);
	if (rc < 0) {
		log_warn("control: reload refused: %s", err);
		return rc;
	}
	log_info("control: reload: %zu host keys read", keys);
	*reply = json_pack("{s:b,s:I,s:s}", "reloaded", 1, "host_keys", (json_int_t)keys,
			   "restart_needed", "every other setting and the persona files");
	return *reply ? 0 : -ENOMEM;
}

int fd_server_set_control(fd_server_t *s, fd_ctl_t *ctl)
{
	s->ctl = ctl;
	s->ctl_obj = (struct listener){ OBJ_CONTROL, fd_ctl_fd(ctl) };
	struct epoll_event e = { .events = EPOLLIN, .data.ptr = &s->ctl_obj };
	if (epoll_ctl(s->ep, EPOLL_CTL_ADD, s->ctl_obj.fd, &e) < 0)
		return -errno;
	fd_ctl_add(ctl, "status", "pid, uptime, personas, listeners, open flows",
		   cmd_status, s);
	fd_ctl_add(ctl, "stats", "the counters (as the metrics endpoint)", cmd_stats, s);
	fd_ctl_add(ctl, "keys", "the SSH host keys each persona hands out now",
		   cmd_keys, s);
	fd_ctl_add(ctl, "rotate-keys", "switch every SSH persona to its next key set",
		   cmd_rotate, s);
	fd_ctl_add(ctl, "reload", "re-read the SSH host key files (all or nothing)",
		   cmd_reload, s);
	return 0;
}

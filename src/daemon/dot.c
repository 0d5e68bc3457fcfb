/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/dot.h"
#include "daemon/listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "common/err.h"
#include "common/log.h"
#include "daemon/dot_tickets.h"
#include "daemon/srclimit.h"

#define DOT_MSG_MAX       65535
#define DOT_TICKET_MS     (3600u * 1000u)  /* ticket key rotation (a ticket lives < 2 h) */
#define DOT_BURST         32               /* steps per event before others get a turn */
#define DOT_CACHE_SIZE    4096             /* TLS 1.2 session-ID cache entries */
#define DOT_COALESCE      16384            /* pipelined answers gathered into one write */
#define DOT_GATHER        64               /* at most this many answers per write */

#define EV_PACK(kind, idx) (((uint64_t)(kind) << 32) | (uint32_t)(idx))

typedef struct dot_conn {
	int fd;                    /* -1 = free slot */
	SSL *ssl;
	struct sockaddr_storage peer;
	bool handshaken;
	uint32_t events;           /* epoll interest now */
	uint64_t last_ms;
	uint64_t query_ms;         /* handshake or query in progress since, 0: none */
	bool wpending;             /* SSL_write of wbuf[0..wlen) to be retried as is */
	bool doomed;               /* a message got no answer: close once the output is out */
	uint32_t rlen;
	uint32_t wlen, wcap;       /* answers to write, framed */
	uint8_t rbuf[2 + DOT_MSG_MAX];
	uint8_t *wbuf;             /* grown on demand, < DOT_COALESCE + 2 + DOT_MSG_MAX */
} dot_conn_t;

struct fg_dot {
	SSL_CTX *ctx;
	fg_tkr_t *tkr;
	fg_conf_addr_t *listen;
	size_t nlisten;
	unsigned max_clients;
	_Atomic int clients;
	_Atomic uint32_t idle_ms, query_ms, per_source;
	pthread_mutex_t src_mu;    /* connections are spread over workers */
	fg_srclimit_t *src;
};

struct fg_dot_worker {
	fg_dot_t *d;
	unsigned idx;
	int epfd;
	int *lfds;
	dot_conn_t **conns;        /* slots, up to max_clients */
	unsigned cap;
	fg_dot_answer_fn answer;
	void *actx;
	fg_dot_stats_t *st;
	uint8_t scratch[DOT_MSG_MAX];  /* one answer, before it joins a connection's output */
};

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The first queued OpenSSL error, for logs; clears the queue. */
static const char *ssl_reason(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();
	if (!e)
		snprintf(buf, len, "unknown OpenSSL error");
	else
		ERR_error_string_n(e, buf, len);
	ERR_clear_error();
	return buf;
}

/* ---- the TLS context ------------------------------------------------ */

static int ticket_cb(SSL *s, unsigned char name[16], unsigned char *iv, EVP_CIPHER_CTX *c,
		     EVP_MAC_CTX *h, int enc)
{
	fg_dot_t *d = SSL_CTX_get_app_data(SSL_get_SSL_CTX(s));
	return fg_tkr_crypt(d->tkr, now_ms(), name, iv, c, h, enc);
}

/* ALPN "dot" (RFC 7858 has none; RFC 9461 registers it) when the client
 * offers it; a client offering only other protocols gets none, as
 * RFC 7301 allows. */
static int alpn_cb(SSL *s, const unsigned char **out, unsigned char *outlen,
		   const unsigned char *in, unsigned inlen, void *arg)
{
	static const unsigned char dot[] = { 3, 'd', 'o', 't' };
	unsigned char *sel;
	(void)s;
	(void)arg;
	if (SSL_select_next_proto(&sel, outlen, dot, sizeof(dot), in, inlen) != OPENSSL_NPN_NEGOTIATED)
		return SSL_TLSEXT_ERR_NOACK;
	*out = sel;
	return SSL_TLSEXT_ERR_OK;
}

static int key_file_ok(const char *path)
{
	struct stat st;
	if (stat(path, &st) < 0) {
		int e = errno;
		log_err("server.tls-key %s: %s", path, strerror(e));
		return -e;
	}
	if (st.st_mode & S_IROTH) {
		log_err("server.tls-key %s is readable by others (chmod 600 or 640)", path);
		return -EPERM;
	}
	return 0;
}

static int ctx_new(fg_dot_t *d, const fg_conf_t *conf)
{
	char why[256];
	const char *cert = conf->server.tls_certificate, *key = conf->server.tls_key;
	if (!cert || !key) {
		log_err("server.tls-listen needs server.tls-certificate and server.tls-key");
		return -EINVAL;
	}
	int rc = key_file_ok(key);
	if (rc < 0)
		return rc;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (!ctx) {
		log_err("DNS over TLS: %s", ssl_reason(why, sizeof(why)));
		return -ENOMEM;
	}
	d->ctx = ctx;
	SSL_CTX_set_app_data(ctx, d);
	SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* forward secrecy and AEAD only for 1.2; 1.3's suites are all AEAD */
	SSL_CTX_set_cipher_list(ctx, "ECDHE+AESGCM:ECDHE+CHACHA20");
	SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE |
					 SSL_OP_NO_COMPRESSION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	if (SSL_CTX_use_certificate_chain_file(ctx, cert) != 1) {
		log_err("server.tls-certificate %s: %s", cert, ssl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) != 1) {
		log_err("server.tls-key %s: %s", key, ssl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	if (SSL_CTX_check_private_key(ctx) != 1) {
		log_err("server.tls-key %s does not match server.tls-certificate %s: %s", key, cert,
			ssl_reason(why, sizeof(why)));
		return -EINVAL;
	}
	/* resumption: tickets (TLS 1.2 and 1.3) sealed by a rotating key,
	 * and the session-ID cache for TLS 1.2 clients without tickets */
	rc = fg_tkr_new(DOT_TICKET_MS, now_ms(), &d->tkr);
	if (rc < 0)
		return rc;
	SSL_CTX_set_tlsext_ticket_key_evp_cb(ctx, ticket_cb);
	static const unsigned char sid_ctx[] = "fluxgate-dot";
	SSL_CTX_set_session_id_context(ctx, sid_ctx, sizeof(sid_ctx) - 1);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_SERVER);
	SSL_CTX_sess_set_cache_size(ctx, DOT_CACHE_SIZE);
	SSL_CTX_set_timeout(ctx, DOT_TICKET_MS / 1000);
	/* one TLS 1.3 ticket per handshake (OpenSSL sends two): a DNS client
	 * keeps one connection per server */
	SSL_CTX_set_num_tickets(ctx, 1);
	SSL_CTX_set_alpn_select_cb(ctx, alpn_cb, NULL);
	return 0;
}

int fg_dot_new(const fg_conf_t *conf, unsigned nworkers, fg_dot_t **out)
{
	*out = NULL;
	if (!conf->server.ntls_listen)
		return 0;
	fg_dot_t *d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->src_mu, NULL);
	d->nlisten = conf->server.ntls_listen;
	d->listen = calloc(d->nlisten, sizeof(*d->listen));
	d->max_clients = conf->server.tls_max_clients ? conf->server.tls_max_clients : 256;
	fg_dot_limits_set(d, conf);
	uint64_t seed = 0;
	if (getrandom(&seed, sizeof(seed), 0) != (ssize_t)sizeof(seed))
		seed = now_ms() ^ (uint64_t)getpid() << 32;
	int rc = d->listen ? 0 : -ENOMEM;
	if (rc == 0) {
		memcpy(d->listen, conf->server.tls_listen, d->nlisten * sizeof(*d->listen));
		/* one source per client, plus one per worker between taking
		 * its share and finding the cap reached */
		rc = fg_srclimit_new(d->max_clients + nworkers, seed, &d->src);
	}
	if (rc == 0)
		rc = ctx_new(d, conf);
	if (rc < 0) {
		fg_dot_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

void fg_dot_free(fg_dot_t *d)
{
	if (!d)
		return;
	SSL_CTX_free(d->ctx);
	fg_tkr_free(d->tkr);
	fg_srclimit_free(d->src);
	pthread_mutex_destroy(&d->src_mu);
	free(d->listen);
	free(d);
}

void fg_dot_limits_set(fg_dot_t *d, const fg_conf_t *conf)
{
	if (!d)
		return;
	uint32_t idle = conf->server.tls_idle_timeout_ms, query = conf->server.tcp_query_timeout_ms;
	unsigned per = conf->server.tcp_max_per_source;
	atomic_store(&d->idle_ms, idle ? idle : 10000);
	atomic_store(&d->query_ms, query ? query : 5000);
	atomic_store(&d->per_source, per ? per : 16);
}

/* ---- sockets -------------------------------------------------------- */


int fg_dot_worker_new(fg_dot_t *d, unsigned idx, int epfd, fg_dot_answer_fn fn, void *ctx,
		      fg_dot_stats_t *stats, fg_dot_worker_t **out)
{
	fg_dot_worker_t *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->d = d;
	w->idx = idx;
	w->epfd = epfd;
	w->answer = fn;
	w->actx = ctx;
	w->st = stats;
	/* each worker may hold up to the global cap; the atomic count
	 * enforces the real one */
	w->cap = d->max_clients;
	w->conns = calloc(w->cap, sizeof(*w->conns));
	w->lfds = malloc(d->nlisten * sizeof(int));
	if (!w->conns || !w->lfds) {
		free(w->conns);
		free(w->lfds);
		free(w);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->nlisten; i++)
		w->lfds[i] = -1;
	for (size_t i = 0; i < d->nlisten; i++) {
		char at[80];
		fg_addr_text(&d->listen[i].ss, at, sizeof(at));
		int fd = fg_listen_bind(&d->listen[i], SOCK_STREAM);
		if (fd < 0) {
			log_err("cannot listen on %s (TLS): %s", at, fg_strerror(fd));
			fg_dot_worker_free(w);
			return fd;
		}
		w->lfds[i] = fd;
		struct epoll_event ev = { .events = EPOLLIN,
					  .data.u64 = EV_PACK(FG_DOT_EV_LISTEN, i) };
		if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			int e = -errno;
			fg_dot_worker_free(w);
			return e;
		}
		if (idx == 0)
			log_info("listening on %s (DNS over TLS)", at);
	}
	*out = w;
	return 0;
}

/* ---- connections ---------------------------------------------------- */

static void conn_close(fg_dot_worker_t *w, unsigned slot, bool notify)
{
	dot_conn_t *c = w->conns[slot];
	if (!c || c->fd < 0)
		return;
	if (notify && c->handshaken) {
		/* close_notify, best effort: a full socket loses it */
		SSL_shutdown(c->ssl);
	}
	ERR_clear_error();
	SSL_free(c->ssl);
	c->ssl = NULL;
	epoll_ctl(w->epfd, EPOLL_CTL_DEL, c->fd, NULL);
	close(c->fd);
	c->fd = -1;
	free(c->wbuf);
	c->wbuf = NULL;
	c->wcap = 0;
	atomic_fetch_sub(&w->d->clients, 1);
	pthread_mutex_lock(&w->d->src_mu);
	fg_srclimit_release(w->d->src, (const struct sockaddr *)&c->peer);
	pthread_mutex_unlock(&w->d->src_mu);
}

void fg_dot_worker_free(fg_dot_worker_t *w)
{
	if (!w)
		return;
	for (unsigned s = 0; s < w->cap; s++) {
		if (w->conns[s]) {
			conn_close(w, s, false);
			free(w->conns[s]);
		}
	}
	free(w->conns);
	for (size_t i = 0; i < w->d->nlisten; i++)
		if (w->lfds[i] >= 0) {
			epoll_ctl(w->epfd, EPOLL_CTL_DEL, w->lfds[i], NULL);
			close(w->lfds[i]);
		}
	free(w->lfds);
	free(w);
}

/* A place for a client from `peer`: its source's share, then one of the
 * tls-max-clients places. Over either, the connection is refused (closed
 * before the handshake) and counted. */
static bool conn_admit(fg_dot_worker_t *w, const struct sockaddr_storage *peer)
{
	fg_dot_t *d = w->d;
	pthread_mutex_lock(&d->src_mu);
	int rc = fg_srclimit_acquire(d->src, (const struct sockaddr *)peer,
				     atomic_load_explicit(&d->per_source, memory_order_relaxed));
	pthread_mutex_unlock(&d->src_mu);
	if (rc < 0) {
		w->st->source_rejected++;
		return false;
	}
	if (atomic_fetch_add(&d->clients, 1) < (int)d->max_clients)
		return true;
	atomic_fetch_sub(&d->clients, 1);
	w->st->rejected++;
	pthread_mutex_lock(&d->src_mu);
	fg_srclimit_release(d->src, (const struct sockaddr *)peer);
	pthread_mutex_unlock(&d->src_mu);
	return false;
}

static void conn_watch(fg_dot_worker_t *w, unsigned slot, uint32_t events)
{
	dot_conn_t *c = w->conns[slot];
	if (c->events == events)
		return;
	struct epoll_event ev = { .events = events, .data.u64 = EV_PACK(FG_DOT_EV_CONN, slot) };
	epoll_ctl(w->epfd, EPOLL_CTL_MOD, c->fd, &ev);
	c->events = events;
}

static void dot_accept(fg_dot_worker_t *w, int lfd)
{
	for (int burst = 0; burst < 64; burst++) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);
		int fd = accept4(lfd, (struct sockaddr *)&peer, &plen, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		if (!conn_admit(w, &peer)) {
			close(fd);
			continue;
		}
		/* a handshake flight and an answer are each one write: do not
		 * let Nagle hold the next one back for the peer's delayed ACK */
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		unsigned slot = 0;
		while (slot < w->cap && w->conns[slot] && w->conns[slot]->fd >= 0)
			slot++;
		if (slot < w->cap && !w->conns[slot]) {
			w->conns[slot] = malloc(sizeof(dot_conn_t));
			if (w->conns[slot]) {
				w->conns[slot]->fd = -1;
				w->conns[slot]->wbuf = NULL;
				w->conns[slot]->wcap = 0;
				w->conns[slot]->ssl = NULL;
			}
		}
		dot_conn_t *c = slot < w->cap ? w->conns[slot] : NULL;
		SSL *ssl = c ? SSL_new(w->d->ctx) : NULL;
		if (!ssl || SSL_set_fd(ssl, fd) != 1) {
			SSL_free(ssl);
			ERR_clear_error();
			atomic_fetch_sub(&w->d->clients, 1);
			pthread_mutex_lock(&w->d->src_mu);
			fg_srclimit_release(w->d->src, (const struct sockaddr *)&peer);
			pthread_mutex_unlock(&w->d->src_mu);
			w->st->rejected++;
			close(fd);
			continue;
		}
		SSL_set_accept_state(ssl);
		c->fd = fd;
		c->ssl = ssl;
		c->peer = peer;
		c->handshaken = false;
		c->wpending = c->doomed = false;
		c->rlen = c->wlen = 0;
		c->last_ms = c->query_ms = now_ms();   /* the handshake has a deadline */
		c->events = EPOLLIN;
		struct epoll_event ev = { .events = EPOLLIN, .data.u64 = EV_PACK(FG_DOT_EV_CONN, slot) };
		if (epoll_ctl(w->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
			conn_close(w, slot, false);
			continue;
		}
		w->st->accepted++;
	}
}

/* What an SSL call's failure means: wait for `*events`, or close. */
enum step { STEP_WAIT, STEP_CLOSE, STEP_FAIL };

static enum step ssl_step(dot_conn_t *c, int r, uint32_t *events)
{
	int e = SSL_get_error(c->ssl, r);
	if (e == SSL_ERROR_WANT_READ) {
		*events = EPOLLIN;
		return STEP_WAIT;
	}
	if (e == SSL_ERROR_WANT_WRITE) {
		*events = EPOLLOUT;
		return STEP_WAIT;
	}
	if (e == SSL_ERROR_ZERO_RETURN)
		return STEP_CLOSE;              /* close_notify */
	if (e == SSL_ERROR_SSL &&
	    ERR_GET_REASON(ERR_peek_error()) == SSL_R_UNEXPECTED_EOF_WHILE_READING &&
	    c->rlen == 0 && !SSL_has_pending(c->ssl)) {
		/* EOF between messages without close_notify: common, and
		 * harmless for DNS (every message is framed) */
		return STEP_CLOSE;
	}
	if (e == SSL_ERROR_SYSCALL)
		return STEP_CLOSE;              /* reset by the peer */
	return STEP_FAIL;
}

/* Answer the complete messages in the read buffer, in order, appending
 * the framed answers to the output (pipelined answers leave in one TLS
 * write, up to DOT_COALESCE octets). Not while a write waits to be
 * retried (OpenSSL wants the same buffer again). Returns <0 when a
 * message gets no answer or memory runs out: close. */
static int conn_gather(fg_dot_worker_t *w, dot_conn_t *c)
{
	for (int k = 0; k < DOT_GATHER && !c->wpending && c->wlen < DOT_COALESCE; k++) {
		if (c->rlen < 2)
			break;
		uint32_t mlen = ((uint32_t)c->rbuf[0] << 8) | c->rbuf[1];
		if (c->rlen - 2 < mlen)
			break;
		w->st->queries++;
		int n = w->answer(w->actx, &c->peer, c->rbuf + 2, mlen, w->scratch, DOT_MSG_MAX);
		if (n <= 0 || n > DOT_MSG_MAX) {
			/* unparsable stream: close it, as for TCP */
			w->st->dns_errors++;
			return -1;
		}
		uint32_t need = c->wlen + 2 + (uint32_t)n;
		if (need > c->wcap) {
			uint32_t cap = need < DOT_COALESCE ? DOT_COALESCE : need;
			uint8_t *nb = realloc(c->wbuf, cap);
			if (!nb)
				return -1;
			c->wbuf = nb;
			c->wcap = cap;
		}
		c->wbuf[c->wlen] = (uint8_t)(n >> 8);
		c->wbuf[c->wlen + 1] = (uint8_t)n;
		memcpy(c->wbuf + c->wlen + 2, w->scratch, (size_t)n);
		c->wlen = need;
		memmove(c->rbuf, c->rbuf + 2 + mlen, c->rlen - 2 - mlen);
		c->rlen -= 2 + mlen;
	}
	return 0;
}

/* Run connection `slot` as far as it goes without waiting: handshake,
 * then answer the complete messages, write the answers, read more.
 * Returns false when the connection was closed. */
static bool conn_pump(fg_dot_worker_t *w, unsigned slot)
{
	dot_conn_t *c = w->conns[slot];
	uint32_t events = EPOLLIN;
	enum step st;

	ERR_clear_error();
	if (!c->handshaken) {
		int r = SSL_do_handshake(c->ssl);
		if (r != 1) {
			st = ssl_step(c, r, &events);
			if (st == STEP_WAIT) {
				conn_watch(w, slot, events);
				return true;
			}
			w->st->handshake_failed++;
			goto close;
		}
		c->handshaken = true;
		c->query_ms = 0;
		if (SSL_session_reused(c->ssl))
			w->st->resumed++;
	}
	for (int it = 0; it < DOT_BURST; it++) {
		ERR_clear_error();
		if (!c->doomed && conn_gather(w, c) < 0)
			c->doomed = true;   /* the answers before it still go out */
		if (c->doomed && !c->wlen)
			goto close;
		if (c->wlen) {
			int r = SSL_write(c->ssl, c->wbuf, (int)c->wlen);
			if (r <= 0) {
				st = ssl_step(c, r, &events);
				if (st == STEP_WAIT) {
					c->wpending = true;
					goto wait;
				}
				if (st == STEP_FAIL)
					w->st->tls_errors++;
				goto close;
			}
			c->wpending = false;
			c->wlen = 0;
			c->query_ms = c->rlen ? now_ms() : 0;   /* answered: the next one has its own clock */
			continue;
		}
		/* a complete message would have been answered: there is room */
		int r = SSL_read(c->ssl, c->rbuf + c->rlen, (int)(sizeof(c->rbuf) - c->rlen));
		if (r <= 0) {
			st = ssl_step(c, r, &events);
			if (st == STEP_WAIT)
				goto wait;
			if (st == STEP_FAIL)
				w->st->tls_errors++;
			goto close;
		}
		if (!c->query_ms)
			c->query_ms = now_ms();     /* its deadline runs from the first byte */
		c->rlen += (uint32_t)r;
	}
	/* more to do: let the other sockets run, come back at once (the
	 * socket is writable, so EPOLLOUT fires on the next wait) */
	events = EPOLLIN | EPOLLOUT;
wait:
	conn_watch(w, slot, events);
	return true;
close:
	conn_close(w, slot, false);
	return false;
}

void fg_dot_event(fg_dot_worker_t *w, uint32_t kind, uint32_t idx, uint32_t events)
{
	if (kind == FG_DOT_EV_LISTEN) {
		if (idx < w->d->nlisten)
			dot_accept(w, w->lfds[idx]);
		return;
	}
	if (kind != FG_DOT_EV_CONN || idx >= w->cap)
		return;
	dot_conn_t *c = w->conns[idx];
	if (!c || c->fd < 0)
		return;
	c->last_ms = now_ms();
	if ((events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLIN)) {
		conn_close(w, idx, false);
		return;
	}
	conn_pump(w, idx);
}

void fg_dot_sweep(fg_dot_worker_t *w)
{
	uint64_t now = now_ms();
	uint32_t idle = atomic_load_explicit(&w->d->idle_ms, memory_order_relaxed);
	uint32_t query = atomic_load_explicit(&w->d->query_ms, memory_order_relaxed);
	for (unsigned s = 0; s < w->cap; s++) {
		dot_conn_t *c = w->conns[s];
		if (!c || c->fd < 0)
			continue;
		if (c->query_ms && now - c->query_ms >= query) {
			w->st->timeouts++;
			conn_close(w, s, false);
		} else if (!c->query_ms && now - c->last_ms > idle) {
			w->st->idle_closed++;
			conn_close(w, s, true);
		}
	}
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The agent's command listener: see agent.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "common/err.h"
#include "common/log.h"
#include "dataplane/natcfg.h"
#include "dist/agent.h"
#include "dist/digest.h"

#define HANDSHAKE_MS 5000
#define HELLO_MS     5000
#define WRITE_MS     5000
/* longest quarantine applied (as the [priv] side: 49 days) */
#define QUARANTINE_MAX_MS (49u * 86400000u)

struct peer {
	fg_dist_key_t key;
	pthread_mutex_t mu;      /* serialises one controller's commands */
	uint64_t epoch, last_seq, commands;
	unsigned conns;
	fg_nat_prefix_t *pools;  /* controller[].pool: what it may grant (npools 0: all) */
	size_t npools;
};

struct conn {
	fg_dist_agent_t *a;
	int fd;
	bool used, done;
	pthread_t th;
	char from[64];
};

struct fg_dist_agent {
	SSL_CTX *ctx;
	const fg_nat_ops_t *ops;
	fg_nat_cfgbuf_t *nat;
	char self[FG_DIST_ID_MAX + 1];
	int lfd, stopfd;
	pthread_t th;
	bool started;
	struct peer *peers;
	size_t npeers;
	pthread_mutex_t mu;      /* conns and counters */
	struct conn conns[FG_DIST_AGENT_MAX_CONNS];
	fg_dist_agent_counters_t c;
	volatile bool stop;
};

static void count(fg_dist_agent_t *a, uint64_t *field)
{
	pthread_mutex_lock(&a->mu);
	(*field)++;
	pthread_mutex_unlock(&a->mu);
}

static const fg_dist_key_t *lookup(void *ctx, const char *id)
{
	fg_dist_agent_t *a = ctx;
	for (size_t i = 0; i < a->npeers; i++)
		if (!strcmp(a->peers[i].key.id, id))
			return &a->peers[i].key;
	return NULL;
}

static void sa_text(const struct sockaddr_storage *ss, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s@%u", ip, ntohs(s->sin_port));
	} else {
		const struct sockaddr_in6 *s = (const void *)ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		snprintf(out, cap, "%s@%u", ip, ntohs(s->sin6_port));
	}
}

int fg_dist_agent_new(const fg_conf_t *conf, const fg_dist_key_t *keys, const fg_nat_ops_t *ops,
		      fg_dist_agent_t **out, char *err, size_t errlen)
{
	fg_dist_agent_t *a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	a->lfd = a->stopfd = -1;
	a->ops = ops;
	pthread_mutex_init(&a->mu, NULL);
	snprintf(a->self, sizeof(a->self), "%s", conf->dist.id ? conf->dist.id : "");
	int rc = fg_nat_config_build(conf, &a->nat);
	if (rc < 0) {
		fg_dist_agent_free(a);
		return fg_errf(err, errlen, rc, "data plane description: %s", fg_strerror(rc));
	}
	a->peers = calloc(conf->ncontrollers ? conf->ncontrollers : 1, sizeof(*a->peers));
	if (!a->peers) {
		fg_dist_agent_free(a);
		return -ENOMEM;
	}
	for (size_t i = 0; i < conf->ncontrollers; i++) {
		struct peer *p = &a->peers[i];
		const fg_conf_controller_t *cc = &conf->controllers[i];
		p->key = keys[i];
		pthread_mutex_init(&p->mu, NULL);
		a->npeers++;
		if (!cc->npools)
			continue;
		p->pools = calloc(cc->npools, sizeof(*p->pools));
		if (!p->pools) {
			fg_dist_agent_free(a);
			return -ENOMEM;
		}
		for (size_t k = 0; k < cc->npools; k++)
			for (size_t q = 0; q < conf->npools; q++)
				if (!strcmp(cc->pools[k], conf->pools[q].id)) {
					fg_nat_prefix_t *r = &p->pools[p->npools++];
					r->family = conf->pools[q].prefix.family;
					memcpy(r->first, conf->pools[q].prefix.first, 16);
					memcpy(r->last, conf->pools[q].prefix.last, 16);
					break;
				}
	}
	fg_dist_tls_files_t files = { conf->dist.tls_ca, conf->dist.tls_cert, conf->dist.tls_key };
	a->ctx = fg_dist_tls_ctx(true, conf->dist.tls_cert ? &files : NULL, err, errlen);
	if (!a->ctx) {
		fg_dist_agent_free(a);
		return -FG_EAUTH;
	}
	a->stopfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	const fg_conf_addr_t *l = &conf->dist.listen;
	a->lfd = socket(l->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (a->lfd >= 0)
		setsockopt(a->lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	char at[64];
	sa_text(&l->ss, at, sizeof(at));
	if (a->stopfd < 0 || a->lfd < 0 || bind(a->lfd, (const struct sockaddr *)&l->ss, l->len) < 0 ||
	    listen(a->lfd, 16) < 0) {
		rc = -errno;
		fg_dist_agent_free(a);
		return fg_errf(err, errlen, rc, "dist.listen %s: %s", at, strerror(-rc));
	}
	log_info("agent %s: listening for controllers on %s (TLS 1.3)", a->self, at);
	*out = a;
	return 0;
}

static int send_ack(SSL *ssl, int fd, uint64_t seq, int status, const char *text)
{
	fg_dist_msg_t m;
	uint8_t buf[FG_DIST_HDR_LEN + 8 + FG_DIST_TEXT_MAX];
	memset(&m, 0, offsetof(fg_dist_msg_t, grants));
	m.h.type = FG_DIST_ACK;
	m.h.seq = seq;
	m.status = status;
	snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
	int n = fg_dist_encode(&m, buf, sizeof(buf));
	return n < 0 ? n : fg_dist_tls_write(ssl, fd, buf, (size_t)n, WRITE_MS);
}

static void grant_text(const fg_grant_t *g, char *out, size_t cap)
{
	char a[INET6_ADDRSTRLEN], c[INET6_ADDRSTRLEN], b[INET6_ADDRSTRLEN];
	inet_ntop(g->family, g->addr, a, sizeof(a));
	inet_ntop(g->family, g->client, c, sizeof(c));
	inet_ntop(g->family, g->backend, b, sizeof(b));
	snprintf(out, cap, "%s/%u -> %s -> %s:%u", c, g->client_plen, a, b, g->backend_port);
}

/* Is g's address in a pool controller p may grant from? */
static bool peer_may(const struct peer *p, const fg_grant_t *g)
{
	if (!p->npools)
		return true;
	size_t len = g->family == AF_INET ? 4 : 16;
	for (size_t i = 0; i < p->npools; i++)
		if (p->pools[i].family == g->family && memcmp(g->addr, p->pools[i].first, len) >= 0 &&
		    memcmp(g->addr, p->pools[i].last, len) <= 0)
			return true;
	return false;
}

/* ---- reconciliation: digests and grants of one controller's share ---- */

struct share_walk {
	const struct peer *p;
	fg_siphash_t *h;
	const uint8_t *salt;
	const uint64_t *want;       /* KEYREQ: the buckets asked for; NULL: digest */
	fg_dist_digest_t *d;
	fg_grant_t *g;              /* KEYREQ: the grants found */
	size_t n, cap;
	int err;
};

static void share_cb(void *ctx, const fg_grant_t *g)
{
	struct share_walk *w = ctx;
	uint64_t x;
	/* the controller's share only, and not what is about to lapse (digest.h) */
	if (w->err || !peer_may(w->p, g) || (g->timeout_ms && g->timeout_ms <= FG_DIST_RECON_GUARD_MS))
		return;
	if ((w->err = fg_dist_grant_hash(w->h, w->salt, g, &x)) < 0)
		return;
	if (!w->want) {
		fg_dist_digest_add(w->d, g->family, x);
		return;
	}
	if (!fg_dist_digest_wants(w->want, g->family, x))
		return;
	if (w->n == w->cap) {
		size_t cap = w->cap ? w->cap * 2 : 256;
		fg_grant_t *ng = realloc(w->g, cap * sizeof(*ng));
		if (!ng) {
			w->err = -ENOMEM;
			return;
		}
		w->g = ng;
		w->cap = cap;
	}
	w->g[w->n] = *g;
	if (!g->timeout_ms)   /* no expiry (not one of ours): the wire needs one */
		w->g[w->n].timeout_ms = UINT32_MAX;
	w->n++;
}

/* Answer a SUMREQ (SUMS) or a KEYREQ (KEYS frames) from the kernel's
 * grants of p's share (p->mu held: no command of p runs meanwhile). */
static int answer_reconcile(fg_dist_agent_t *a, struct peer *p, fg_nat_t *nat, SSL *ssl, int fd,
			    const fg_dist_msg_t *req, fg_dist_msg_t *out)
{
	static __thread uint8_t buf[FG_DIST_MAX_FRAME];
	struct share_walk w = { .p = p, .salt = req->salt };
	int rc = fg_siphash_new(&w.h);
	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	if (req->h.type == FG_DIST_KEYREQ)
		w.want = req->want;
	else
		w.d = &out->digest;
	/* a backend that cannot read its grants back reports none: the
	 * controller then sends all it holds (idempotent) and revokes nothing */
	rc = a->ops->dump ? a->ops->dump(nat, share_cb, &w) : 0;
	if (rc == 0)
		rc = w.err;
	fg_siphash_free(w.h);
	if (rc < 0) {
		free(w.g);
		log_warn("agent: controller %s: reconciliation: reading the grants: %s", p->key.id,
			 fg_strerror(rc));
		return rc;
	}
	if (req->h.type == FG_DIST_SUMREQ) {
		count(a, &a->c.reconciles);
		out->h.type = FG_DIST_SUMS;
		out->generation = p->last_seq;
		/* a controller without pools of its own may grant where another
		 * does: its digests cover grants that may be the other's */
		if (!p->npools && a->npeers > 1)
			out->flags |= FG_DIST_SUMS_SHARED;
		int n = fg_dist_encode(out, buf, sizeof(buf));
		return n < 0 ? n : fg_dist_tls_write(ssl, fd, buf, (size_t)n, WRITE_MS);
	}
	size_t i = 0;
	do {
		size_t k = w.n - i > FG_DIST_KEYS_MAX ? FG_DIST_KEYS_MAX : w.n - i;
		out->h.type = FG_DIST_KEYS;
		out->ngrants = (uint16_t)k;
		if (k)   /* none found: w.g is NULL, one empty KEYS says so */
			memcpy(out->grants, w.g + i, k * sizeof(*w.g));
		i += k;
		out->last = i == w.n;
		int n = fg_dist_encode(out, buf, sizeof(buf));
		rc = n < 0 ? n : fg_dist_tls_write(ssl, fd, buf, (size_t)n, WRITE_MS);
	} while (rc == 0 && i < w.n);
	if (rc == 0) {
		pthread_mutex_lock(&a->mu);
		a->c.keys_sent += w.n;
		pthread_mutex_unlock(&a->mu);
	}
	free(w.g);
	return rc;
}

/* Check and apply one command of controller p; the ACK's status and text. */
static int apply(fg_dist_agent_t *a, const struct peer *p, fg_nat_t *nat, const fg_dist_msg_t *m,
		 char *text, size_t cap)
{
	const fg_nat_config_t *cfg = &a->nat->cfg;
	switch (m->h.type) {
	case FG_DIST_GRANT:
	case FG_DIST_REVOKE:
		for (unsigned i = 0; i < m->ngrants; i++) {
			int rc = fg_nat_grant_allowed(cfg, &m->grants[i]);
			if (rc < 0 || !peer_may(p, &m->grants[i])) {
				char g[160];
				grant_text(&m->grants[i], g, sizeof(g));
				count(a, &a->c.refused);
				return fg_errf(text, cap, -EPERM, rc < 0 ? "grant %u (%s, %u ms) is outside this "
					       "agent's configuration" : "grant %u (%s, %u ms) is outside the "
					       "pools of this controller (controller.pool)", i, g,
					       m->grants[i].timeout_ms);
			}
		}
		if (m->h.type == FG_DIST_REVOKE) {
			if (!a->ops->revoke)
				return fg_errf(text, cap, -EOPNOTSUPP, "revoke: not supported by backend %s",
					       a->ops->name);
			int rc = a->ops->revoke(nat, m->grants, m->ngrants);
			if (rc < 0) {
				count(a, &a->c.failed);
				return fg_errf(text, cap, rc, "revoke: %s", fg_strerror(rc));
			}
			return 0;
		} else {
			int rc = a->ops->commit(nat, m->grants, m->ngrants);
			if (rc < 0) {
				count(a, &a->c.failed);
				return fg_errf(text, cap, rc, "commit: %s", fg_strerror(rc));
			}
		}
		return 0;
	case FG_DIST_QUARANTINE:
		if (m->timeout_ms > QUARANTINE_MAX_MS) {
			count(a, &a->c.refused);
			return fg_errf(text, cap, -EPERM, "quarantine of %u ms exceeds 49 days", m->timeout_ms);
		}
		return a->ops->quarantine(nat, m->family, m->src, m->timeout_ms) < 0
		       ? fg_errf(text, cap, -FG_EGRANT, "quarantine failed") : 0;
	case FG_DIST_RELEASE:
		return a->ops->release(nat, m->family, m->src) < 0
		       ? fg_errf(text, cap, -FG_EGRANT, "release failed") : 0;
	default:
		return fg_errf(text, cap, -FG_EMALF, "%s is not a command", fg_dist_type_name(m->h.type));
	}
}

static void serve(struct conn *cn, SSL *ssl, struct peer *p, uint64_t epoch)
{
	fg_dist_agent_t *a = cn->a;
	static __thread fg_dist_rbuf_t rb;
	static __thread fg_dist_msg_t m;
	char err[256], text[FG_DIST_TEXT_MAX + 1];
	fg_nat_t *nat = NULL;
	int rc = a->ops->open(&a->nat->cfg, &nat);
	if (rc < 0) {
		log_err("agent: controller %s: data plane: %s", p->key.id, fg_strerror(rc));
		return;
	}
	rb.have = 0;
	while (!a->stop) {
		int flen;
		while ((flen = fg_dist_rbuf_frame(&rb, err, sizeof(err))) > 0) {
			rc = fg_dist_decode(rb.buf, (size_t)flen, &m, err, sizeof(err));
			fg_dist_rbuf_consume(&rb, (size_t)flen);
			if (rc < 0) {
				count(a, &a->c.bad_frames);
				log_warn("agent: controller %s (%s): bad frame, closing: %s", p->key.id,
					 cn->from, err);
				goto out;
			}
			if (m.h.type == FG_DIST_PING) {
				if (send_ack(ssl, cn->fd, 0, 0, NULL) < 0)
					goto out;
				continue;
			}
			if (m.h.type != FG_DIST_SUMREQ && m.h.type != FG_DIST_KEYREQ &&
			    m.h.type != FG_DIST_GRANT && m.h.type != FG_DIST_REVOKE &&
			    m.h.type != FG_DIST_QUARANTINE && m.h.type != FG_DIST_RELEASE) {
				count(a, &a->c.bad_frames);
				log_warn("agent: controller %s (%s): unexpected %s, closing", p->key.id,
					 cn->from, fg_dist_type_name(m.h.type));
				goto out;
			}
			pthread_mutex_lock(&p->mu);
			if (p->epoch == epoch && (m.h.type == FG_DIST_SUMREQ || m.h.type == FG_DIST_KEYREQ)) {
				static __thread fg_dist_msg_t ans;
				rc = answer_reconcile(a, p, nat, ssl, cn->fd, &m, &ans);
				pthread_mutex_unlock(&p->mu);
				if (rc < 0)
					goto out;
				continue;
			}
			if (p->epoch != epoch) {
				/* the controller restarted and reconnected: this
				 * connection is of its previous run */
				pthread_mutex_unlock(&p->mu);
				goto out;
			}
			int st = 0;
			text[0] = '\0';
			if (m.h.seq <= p->last_seq) {
				count(a, &a->c.duplicates);
				snprintf(text, sizeof(text), "duplicate: already applied");
			} else {
				st = apply(a, p, nat, &m, text, sizeof(text));
				p->last_seq = m.h.seq;
				p->commands++;
				if (st == 0)
					count(a, &a->c.commands);
				else
					log_warn("agent: controller %s: %s %llu refused: %s", p->key.id,
						 fg_dist_type_name(m.h.type), (unsigned long long)m.h.seq, text);
			}
			pthread_mutex_unlock(&p->mu);
			if (send_ack(ssl, cn->fd, m.h.seq, st, text) < 0)
				goto out;
		}
		if (flen < 0) {
			count(a, &a->c.bad_frames);
			log_warn("agent: controller %s (%s): bad frame, closing: %s", p->key.id, cn->from, err);
			goto out;
		}
		int r = fg_dist_tls_read(ssl, &rb, err, sizeof(err));
		if (r > 0)
			continue;
		if (r < 0) {
			if (r != -ECONNRESET) {
				count(a, &a->c.tls_errors);
				log_warn("agent: controller %s (%s): connection torn down: %s", p->key.id,
					 cn->from, err);
			} else {
				log_info("agent: controller %s (%s): disconnected", p->key.id, cn->from);
			}
			goto out;
		}
		if (fg_dist_wait(cn->fd, a->stopfd, -1) == 2)
			goto out;
	}
out:
	a->ops->close(nat);
}

static void *conn_main(void *arg)
{
	struct conn *cn = arg;
	fg_dist_agent_t *a = cn->a;
	char err[256];
	fg_dist_rbuf_t *rb = calloc(1, sizeof(*rb));
	fg_dist_msg_t *m = calloc(1, sizeof(*m));
	SSL *ssl = fg_dist_tls_server(a->ctx, cn->fd, lookup, a);
	int rc = ssl && rb && m ? fg_dist_tls_handshake(ssl, cn->fd, HANDSHAKE_MS, err, sizeof(err))
		 : fg_errf(err, sizeof(err), -ENOMEM, "out of memory");
	if (rc < 0) {
		count(a, &a->c.handshake_refused);
		log_warn("agent: connection from %s refused at the TLS handshake: %s", cn->from, err);
		goto done;
	}
	/* HELLO: who it says it is must be who authenticated */
	uint64_t deadline_loops = HELLO_MS / 100;
	int flen = 0;
	while ((flen = fg_dist_rbuf_frame(rb, err, sizeof(err))) == 0 && deadline_loops--) {
		int r = fg_dist_tls_read(ssl, rb, err, sizeof(err));
		if (r < 0) {
			flen = r;
			break;
		}
		if (r == 0 && fg_dist_wait(cn->fd, a->stopfd, 100) == 2)
			break;
	}
	if (flen > 0)
		rc = fg_dist_decode(rb->buf, (size_t)flen, m, err, sizeof(err));
	else
		rc = flen < 0 ? flen : fg_errf(err, sizeof(err), -ETIMEDOUT, "no HELLO in time");
	if (flen > 0)
		fg_dist_rbuf_consume(rb, (size_t)flen);
	struct peer *p = NULL;
	if (rc == 0 && m->h.type != FG_DIST_HELLO)
		rc = fg_errf(err, sizeof(err), -FG_EMALF, "%s before HELLO", fg_dist_type_name(m->h.type));
	for (size_t i = 0; rc == 0 && i < a->npeers && !p; i++)
		if (!strcmp(a->peers[i].key.id, m->id))
			p = &a->peers[i];
	if (rc == 0 && !p)
		rc = fg_errf(err, sizeof(err), -FG_EAUTH, "HELLO from '%s', not a controller of this agent",
			     m->id);
	if (rc == 0 && !fg_dist_tls_peer_is(ssl, m->id))
		rc = fg_errf(err, sizeof(err), -FG_EAUTH, "HELLO says '%s' but TLS authenticated %s%s%s",
			     m->id, fg_dist_tls_psk_id(ssl)[0] ? "PSK identity '" : "a certificate not naming it",
			     fg_dist_tls_psk_id(ssl), fg_dist_tls_psk_id(ssl)[0] ? "'" : "");
	if (rc < 0) {
		count(a, &a->c.hello_refused);
		log_warn("agent: connection from %s refused: %s", cn->from, err);
		goto done;
	}
	pthread_mutex_lock(&p->mu);
	uint64_t epoch = m->epoch;
	memset(m, 0, offsetof(fg_dist_msg_t, grants));
	m->h.type = FG_DIST_WELCOME;
	m->epoch = p->epoch;
	m->last_seq = p->epoch == epoch ? p->last_seq : 0;
	snprintf(m->id, sizeof(m->id), "%s", a->self);
	if (p->epoch != epoch) {
		if (p->epoch)
			log_info("agent: controller %s restarted (new epoch)", p->key.id);
		p->epoch = epoch;
		p->last_seq = 0;
	}
	p->conns++;
	pthread_mutex_unlock(&p->mu);
	uint8_t buf[FG_DIST_HDR_LEN + 32 + FG_DIST_ID_MAX];
	int n = fg_dist_encode(m, buf, sizeof(buf));
	if (n > 0 && fg_dist_tls_write(ssl, cn->fd, buf, (size_t)n, WRITE_MS) == 0) {
		log_info("agent: controller %s connected from %s", p->key.id, cn->from);
		free(m);
		m = NULL;
		serve(cn, ssl, p, epoch);
	}
	pthread_mutex_lock(&p->mu);
	p->conns--;
	pthread_mutex_unlock(&p->mu);
done:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	free(rb);
	free(m);
	close(cn->fd);
	pthread_mutex_lock(&a->mu);
	cn->done = true;
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

/* Join the threads of finished connections (a->mu held). */
static void reap(fg_dist_agent_t *a)
{
	for (size_t i = 0; i < FG_DIST_AGENT_MAX_CONNS; i++)
		if (a->conns[i].used && a->conns[i].done) {
			pthread_join(a->conns[i].th, NULL);
			a->conns[i].used = false;
		}
}

static void *accept_main(void *arg)
{
	fg_dist_agent_t *a = arg;
	while (!a->stop) {
		int w = fg_dist_wait(a->lfd, a->stopfd, 1000);
		pthread_mutex_lock(&a->mu);
		reap(a);
		pthread_mutex_unlock(&a->mu);
		if (w == 2 || w < 0)
			break;
		if (w == 0)
			continue;
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(a->lfd, (struct sockaddr *)&ss, &sl, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0)
			continue;
		int one = 1;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		pthread_mutex_lock(&a->mu);
		a->c.connections++;
		struct conn *cn = NULL;
		for (size_t i = 0; i < FG_DIST_AGENT_MAX_CONNS && !cn; i++)
			if (!a->conns[i].used)
				cn = &a->conns[i];
		if (!cn) {
			a->c.conn_limit++;
			pthread_mutex_unlock(&a->mu);
			close(fd);
			continue;
		}
		memset(cn, 0, sizeof(*cn));
		cn->a = a;
		cn->fd = fd;
		cn->used = true;
		sa_text(&ss, cn->from, sizeof(cn->from));
		if (pthread_create(&cn->th, NULL, conn_main, cn) != 0) {
			cn->used = false;
			close(fd);
		}
		pthread_mutex_unlock(&a->mu);
	}
	return NULL;
}

int fg_dist_agent_start(fg_dist_agent_t *a)
{
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &old);
	int rc = pthread_create(&a->th, NULL, accept_main, a);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0)
		return -rc;
	a->started = true;
	return 0;
}

void fg_dist_agent_free(fg_dist_agent_t *a)
{
	if (!a)
		return;
	a->stop = true;
	if (a->stopfd >= 0) {
		uint64_t one = 1;
		if (write(a->stopfd, &one, sizeof(one)) < 0) { /* threads also poll a->stop */ }
	}
	if (a->started)
		pthread_join(a->th, NULL);
	for (size_t i = 0; i < FG_DIST_AGENT_MAX_CONNS; i++)
		if (a->conns[i].used)
			pthread_join(a->conns[i].th, NULL);
	if (a->lfd >= 0)
		close(a->lfd);
	if (a->stopfd >= 0)
		close(a->stopfd);
	for (size_t i = 0; i < a->npeers; i++) {
		OPENSSL_cleanse(&a->peers[i].key, sizeof(a->peers[i].key));
		pthread_mutex_destroy(&a->peers[i].mu);
		free(a->peers[i].pools);
	}
	free(a->peers);
	SSL_CTX_free(a->ctx);
	fg_nat_cfgbuf_free(a->nat);
	pthread_mutex_destroy(&a->mu);
	free(a);
}

uint16_t fg_dist_agent_port(const fg_dist_agent_t *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	if (getsockname(a->lfd, (struct sockaddr *)&ss, &sl) < 0)
		return 0;
	return ntohs(ss.ss_family == AF_INET ? ((struct sockaddr_in *)&ss)->sin_port
					     : ((struct sockaddr_in6 *)&ss)->sin6_port);
}

void fg_dist_agent_counters(fg_dist_agent_t *a, fg_dist_agent_counters_t *out)
{
	pthread_mutex_lock(&a->mu);
	*out = a->c;
	pthread_mutex_unlock(&a->mu);
}

size_t fg_dist_agent_npeers(const fg_dist_agent_t *a)
{
	return a ? a->npeers : 0;
}

int fg_dist_agent_peer(fg_dist_agent_t *a, size_t i, fg_dist_peer_status_t *o)
{
	if (!a || i >= a->npeers)
		return -ENOENT;
	struct peer *p = &a->peers[i];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", p->key.id);
	pthread_mutex_lock(&p->mu);
	o->connected = p->conns > 0;
	o->epoch = p->epoch;
	o->last_seq = p->last_seq;
	o->commands = p->commands;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

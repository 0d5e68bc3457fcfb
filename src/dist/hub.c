/* SPDX-License-Identifier: GPL-3.0-or-later */
/* The controller's links to its agents: see hub.h. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "common/err.h"
#include "common/log.h"
#include "dist/gview.h"
#include "dist/hub.h"

#define HANDSHAKE_MS 5000
#define CONNECT_MS   2000
#define PING_MS      1000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 2000
/* reconciliation: the longest wait for one of its answers (the agent reads
 * its kernel's grant maps to give it), and how often an idle link checks */
#define RECON_MS        30000
#define RECON_PERIOD_MS 30000
/* past this many grants the periodic check is left out: the agent reads
 * its whole grant maps to answer, and holds its commands meanwhile */
#define RECON_PERIODIC_MAX 65536

/* the same bounds as the daemon's latency histograms (metrics.h) */
static const double lat_bounds[FG_DIST_LAT_BUCKETS] = {
	0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
	0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0,
};

struct cmd {
	uint64_t seq;            /* 0: free slot */
	uint8_t type;
	bool done, cancelled;
	bool partial;            /* sent without some grants that had expired */
	int32_t status;
	uint64_t queued_ms;      /* monotonic, for what is left of a lifetime */
	uint64_t sent_ns;        /* ACK latency */
	uint16_t n;
	fg_grant_t g[FG_DIST_MAX_GRANTS];
	uint8_t family, src[16];
	uint32_t timeout_ms;
};

struct link {
	fg_dist_hub_t *hub;
	char id[FG_DIST_ID_MAX + 1];
	char addrtxt[64];
	fg_conf_addr_t addr;
	fg_dist_key_t key;
	uint32_t timeout_ms;
	fg_nat_prefix_t *pools;  /* served ranges (all pools when the entry lists none) */
	size_t npools;
	struct link *pair;       /* the other gateway of its failover pair, or NULL */
	pthread_t th;
	bool started;
	int wake;                /* eventfd: commands queued */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct cmd *log;
	size_t cap;
	uint64_t next, sent, acked;
	int state;
	uint64_t epoch_seen;
	uint64_t acks, refused, timeouts, connects, handshake_failures, replayed;
	uint64_t pair_queued;    /* commands queued while down, its pair partner ACKing */
	uint64_t lat_bucket[FG_DIST_LAT_BUCKETS + 1], lat_sum_ns;
	char last_error[160];
	/* reconciliation (dist/gview.h): what this agent should hold */
	fg_dist_gview_t *view;
	fg_siphash_t *sip;       /* the link thread's */
	uint64_t recon_to;       /* GRANT/REVOKE of the log up to here: superseded */
	uint64_t replay_to;      /* commands up to here were queued before this session */
	bool adopted;            /* its grants of our share learnt (first contact) */
	uint64_t recon_runs, recon_buckets, recon_differing, recon_sent, recon_revoked,
		 recon_adopted, generation;
};

struct fg_dist_hub {
	char self[FG_DIST_ID_MAX + 1];
	uint64_t epoch;
	SSL_CTX *ctx;
	struct link *links;
	size_t n;
	volatile bool stop;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t mono_ms(void)
{
	return mono_ns() / 1000000u;
}

const char *fg_dist_link_state_name(int state)
{
	switch (state) {
	case FG_LINK_CONNECTING: return "connecting";
	case FG_LINK_UP: return "up";
	case FG_LINK_STALLED: return "stalled";
	default: return "down";
	}
}

static void addr_text(const fg_conf_addr_t *a, char *out, size_t cap)
{
	char ip[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (a->ss.ss_family == AF_INET) {
		const struct sockaddr_in *s = (const void *)&a->ss;
		inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
		port = ntohs(s->sin_port);
		snprintf(out, cap, "%s@%u", ip, port);
	} else {
		const struct sockaddr_in6 *s = (const void *)&a->ss;
		inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
		port = ntohs(s->sin6_port);
		snprintf(out, cap, "%s@%u", ip, port);
	}
}

int fg_dist_hub_new(const fg_conf_t *conf, const fg_dist_key_t *keys, fg_dist_hub_t **out,
		    char *err, size_t errlen)
{
	fg_dist_hub_t *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	snprintf(h->self, sizeof(h->self), "%s", conf->dist.id ? conf->dist.id : "");
	do {
		if (RAND_bytes((unsigned char *)&h->epoch, sizeof(h->epoch)) != 1) {
			free(h);
			return fg_errf(err, errlen, -EIO, "no randomness for the epoch");
		}
	} while (h->epoch == 0);
	fg_dist_tls_files_t files = { conf->dist.tls_ca, conf->dist.tls_cert, conf->dist.tls_key };
	h->ctx = fg_dist_tls_ctx(false, conf->dist.tls_cert ? &files : NULL, err, errlen);
	if (!h->ctx) {
		free(h);
		return -FG_EAUTH;
	}
	h->links = calloc(conf->nagents ? conf->nagents : 1, sizeof(*h->links));
	if (!h->links) {
		fg_dist_hub_free(h);
		return -ENOMEM;
	}
	for (size_t i = 0; i < conf->nagents; i++) {
		const fg_conf_agent_t *a = &conf->agents[i];
		struct link *l = &h->links[h->n];
		l->hub = h;
		l->wake = -1;
		snprintf(l->id, sizeof(l->id), "%s", a->id);
		l->addr = a->address;
		addr_text(&a->address, l->addrtxt, sizeof(l->addrtxt));
		l->key = keys[i];
		l->timeout_ms = a->timeout_ms;
		l->cap = conf->dist.log_size ? conf->dist.log_size : 1024;
		l->log = calloc(l->cap, sizeof(*l->log));
		l->pools = calloc(conf->npools ? conf->npools : 1, sizeof(*l->pools));
		size_t vmax = 2 * (size_t)(conf->nat.grant_set_size ? conf->nat.grant_set_size : 1048576);
		int vrc = l->log && l->pools ? fg_dist_gview_new(vmax, &l->view) : -ENOMEM;
		if (vrc == 0)
			vrc = fg_siphash_new(&l->sip);
		if (vrc < 0) {
			free(l->log);
			free(l->pools);
			fg_dist_gview_free(l->view);
			fg_siphash_free(l->sip);
			fg_dist_hub_free(h);
			return vrc;
		}
		for (size_t p = 0; p < conf->npools; p++) {
			bool serves = a->npools == 0;
			for (size_t k = 0; k < a->npools && !serves; k++)
				serves = !strcmp(a->pools[k], conf->pools[p].id);
			if (!serves)
				continue;
			fg_nat_prefix_t *np = &l->pools[l->npools++];
			np->family = conf->pools[p].prefix.family;
			memcpy(np->first, conf->pools[p].prefix.first, 16);
			memcpy(np->last, conf->pools[p].prefix.last, 16);
		}
		pthread_mutex_init(&l->mu, NULL);
		pthread_condattr_t ca;
		pthread_condattr_init(&ca);
		pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
		pthread_cond_init(&l->cv, &ca);
		pthread_condattr_destroy(&ca);
		l->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		h->n++;
		if (l->wake < 0) {
			fg_dist_hub_free(h);
			return -errno;
		}
	}
	for (size_t i = 0; i < h->n; i++)
		for (size_t j = 0; j < h->n && conf->agents[i].pair; j++)
			if (j != i && !strcmp(conf->agents[i].pair, h->links[j].id))
				h->links[i].pair = &h->links[j];
	*out = h;
	return 0;
}

static bool in_range(const fg_nat_prefix_t *p, int family, const uint8_t *addr)
{
	size_t len = family == AF_INET ? 4 : 16;
	return p->family == family && memcmp(addr, p->first, len) >= 0 &&
	       memcmp(addr, p->last, len) <= 0;
}

static bool link_serves(const struct link *l, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < l->npools; i++)
		if (in_range(&l->pools[i], family, addr))
			return true;
	return false;
}

/* ---- the link thread ---- */

static void set_error(struct link *l, const char *msg)
{
	pthread_mutex_lock(&l->mu);
	bool changed = strcmp(l->last_error, msg) != 0;
	snprintf(l->last_error, sizeof(l->last_error), "%s", msg);
	pthread_mutex_unlock(&l->mu);
	if (changed)   /* once per distinct reason, not once per retry */
		log_warn("agent %s (%s): %s", l->id, l->addrtxt, msg);
}

static void set_state(struct link *l, int state)
{
	pthread_mutex_lock(&l->mu);
	l->state = state;
	pthread_cond_broadcast(&l->cv);
	pthread_mutex_unlock(&l->mu);
}

static int connect_to(struct link *l, char *err, size_t errlen)
{
	int fd = socket(l->addr.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return fg_errf(err, errlen, -errno, "socket: %s", strerror(errno));
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (const struct sockaddr *)&l->addr.ss, l->addr.len) < 0 && errno != EINPROGRESS) {
		int e = errno;
		close(fd);
		return fg_errf(err, errlen, -e, "connect: %s", strerror(e));
	}
	struct pollfd p = { .fd = fd, .events = POLLOUT };
	int n = poll(&p, 1, CONNECT_MS);
	int soerr = 0;
	socklen_t sl = sizeof(soerr);
	if (n <= 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0 || soerr) {
		close(fd);
		return fg_errf(err, errlen, -ECONNREFUSED, "connect: %s",
			       n <= 0 ? "timed out" : strerror(soerr ? soerr : errno));
	}
	return fd;
}

/* Read one whole frame within timeout_ms (handshake phase). */
static int read_frame(SSL *ssl, int fd, fg_dist_rbuf_t *rb, fg_dist_msg_t *m, int timeout_ms,
		      char *err, size_t errlen)
{
	uint64_t deadline = mono_ms() + (uint64_t)timeout_ms;
	for (;;) {
		int len = fg_dist_rbuf_frame(rb, err, errlen);
		if (len < 0)
			return len;
		if (len > 0) {
			int rc = fg_dist_decode(rb->buf, (size_t)len, m, err, errlen);
			fg_dist_rbuf_consume(rb, (size_t)len);
			return rc;
		}
		int r = fg_dist_tls_read(ssl, rb, err, errlen);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		uint64_t now = mono_ms();
		if (now >= deadline)
			return fg_errf(err, errlen, -ETIMEDOUT, "no WELCOME within %d ms", timeout_ms);
		if (fg_dist_wait(fd, -1, (int)(deadline - now)) < 0)
			return fg_errf(err, errlen, -EIO, "poll: %s", strerror(errno));
	}
}

static void observe(struct link *l, uint64_t ns)
{
	double s = (double)ns / 1e9;
	size_t b = 0;
	while (b < FG_DIST_LAT_BUCKETS && s > lat_bounds[b])
		b++;
	l->lat_bucket[b]++;
	l->lat_sum_ns += ns;
}

/* An ACK: the command it names is done (l->mu held). */
static void take_ack(struct link *l, const fg_dist_msg_t *m)
{
	if (m->h.seq == 0)
		return;   /* a PING's */
	struct cmd *c = &l->log[m->h.seq % l->cap];
	if (c->seq != m->h.seq || m->h.seq > l->sent)
		return;   /* not ours (an agent bug): the waiter times out */
	if (!c->done) {
		c->done = true;
		c->status = m->status < 0 ? m->status : c->partial ? -ETIME : 0;
		if (c->sent_ns)
			observe(l, mono_ns() - c->sent_ns);
		if (m->status < 0) {
			l->refused++;
			snprintf(l->last_error, sizeof(l->last_error), "%s %llu refused: %.100s",
				 fg_dist_type_name(c->type), (unsigned long long)c->seq, m->text);
		}
		l->acks++;
	}
	if (m->h.seq > l->acked)
		l->acked = m->h.seq;
	if (l->state == FG_LINK_STALLED && l->acked == l->sent)
		l->state = FG_LINK_UP;
	pthread_cond_broadcast(&l->cv);
}

/* Encode the commands after l->sent into buf (l->mu held). Grants carry
 * what is left of their lifetime (a replayed one may be seconds old);
 * expired and cancelled ones are skipped (and counted done: nobody waits
 * for them). Commands up to `replay_to` were queued before this session:
 * counted as replayed. */
static size_t encode_pending(struct link *l, uint8_t *buf, size_t cap, uint64_t replay_to)
{
	size_t used = 0;
	uint64_t now = mono_ms();
	static __thread fg_dist_msg_t m;
	while (l->sent < l->next) {
		struct cmd *c = &l->log[(l->sent + 1) % l->cap];
		if (c->seq != l->sent + 1)
			break;   /* cannot happen: the window keeps unsent ones */
		memset(&m, 0, offsetof(fg_dist_msg_t, grants));
		m.h.type = c->type;
		m.h.seq = c->seq;
		/* grants and revokes reconciliation superseded: it sent the
		 * difference itself (a waiter, if any, is failed: a retry is
		 * cheaper than reasoning about which half the agent has) */
		bool skip = c->cancelled || ((c->type == FG_DIST_GRANT || c->type == FG_DIST_REVOKE) &&
					     c->seq <= l->recon_to);
		bool replay = c->seq <= replay_to, expired = false;
		if (c->type == FG_DIST_GRANT || c->type == FG_DIST_REVOKE) {
			m.ngrants = 0;
			for (unsigned i = 0; i < c->n; i++) {
				fg_grant_t g = c->g[i];
				uint64_t age = now - c->queued_ms;
				if (c->type == FG_DIST_GRANT) {
					if (age >= g.timeout_ms)
						continue;
					g.timeout_ms -= (uint32_t)age;
				}
				m.grants[m.ngrants++] = g;
			}
			/* a batch missing any grant can no longer be answered:
			 * whoever still waits for it gets a failure */
			c->partial = m.ngrants < c->n;
			expired = m.ngrants == 0;
		} else {
			m.family = c->family;
			memcpy(m.src, c->src, 16);
			m.timeout_ms = c->timeout_ms;
			if (c->type == FG_DIST_QUARANTINE && c->timeout_ms) {
				uint64_t age = now - c->queued_ms;
				expired = age >= c->timeout_ms;
				if (!expired)
					m.timeout_ms -= (uint32_t)age;
			}
		}
		if (skip || expired) {
			/* never "done, 0": that would answer what no agent applied */
			l->sent++;
			if (!c->done) {
				c->done = true;
				c->status = c->cancelled ? -ECANCELED : -ETIME;
			}
			continue;
		}
		if (cap - used < FG_DIST_MAX_FRAME)
			break;
		int n = fg_dist_encode(&m, buf + used, cap - used);
		if (n < 0) {
			/* a command we built ourselves: a bug; fail it */
			l->sent++;
			c->done = true;
			c->status = n;
			continue;
		}
		used += (size_t)n;
		c->sent_ns = mono_ns();
		if (replay)
			l->replayed++;
		l->sent++;
	}
	pthread_cond_broadcast(&l->cv);
	return used;
}

/* ---- reconciliation (dist/digest.h, dist/gview.h) ---- */

static void put(struct link *l, const struct cmd *tmpl, uint64_t *seq);

/* Write what is pending in l's log (l->mu not held). */
static int flush_pending(struct link *l, SSL *ssl, int fd, uint8_t *out, size_t cap)
{
	pthread_mutex_lock(&l->mu);
	size_t len = encode_pending(l, out, cap, l->replay_to);
	pthread_mutex_unlock(&l->mu);
	return len ? fg_dist_tls_write(ssl, fd, out, len, RECON_MS) : 0;
}

/* The next frame other than an ACK (ACKs are taken on the way), or with
 * until_seq, read until that command is ACKed. Commands queued meanwhile
 * are written as they come (a periodic check must not hold them up). */
static int recon_read(struct link *l, SSL *ssl, int fd, fg_dist_rbuf_t *rb, fg_dist_msg_t *m,
		      uint64_t until_seq, uint8_t *out, size_t cap, char *err, size_t errlen)
{
	uint64_t deadline = mono_ms() + RECON_MS;
	for (;;) {
		if (until_seq) {
			pthread_mutex_lock(&l->mu);
			bool done = l->acked >= until_seq;
			pthread_mutex_unlock(&l->mu);
			if (done)
				return 0;
		}
		int rc = flush_pending(l, ssl, fd, out, cap);
		if (rc == 0)
			rc = read_frame(ssl, fd, rb, m, 100, err, errlen);
		if (rc == -ETIMEDOUT && mono_ms() < deadline)
			continue;
		if (rc == -ETIMEDOUT)
			return fg_errf(err, errlen, rc, "reconciliation: no answer within %d ms", RECON_MS);
		if (rc < 0)
			return rc;
		if (m->h.type != FG_DIST_ACK)
			return until_seq ? fg_errf(err, errlen, -FG_EMALF, "%s while waiting for an ACK",
						   fg_dist_type_name(m->h.type)) : 0;
		pthread_mutex_lock(&l->mu);
		take_ack(l, m);
		pthread_mutex_unlock(&l->mu);
	}
}

static int send_one(SSL *ssl, int fd, const fg_dist_msg_t *m, uint8_t *out, size_t cap)
{
	int n = fg_dist_encode(m, out, cap);
	return n < 0 ? n : fg_dist_tls_write(ssl, fd, out, (size_t)n, RECON_MS);
}

struct recon_list {
	fg_siphash_t *h;
	const uint8_t *salt;
	const uint64_t *want;
	const fg_dist_gview_t *other;  /* grants it holds are left out */
	uint64_t now;
	fg_grant_t *g;
	size_t n, cap;
	int err;
};

/* Collect a grant of the wanted buckets that `other` does not hold. */
static void recon_collect(void *ctx, const fg_grant_t *g)
{
	struct recon_list *r = ctx;
	uint64_t x;
	if (r->err || (r->err = fg_dist_grant_hash(r->h, r->salt, g, &x)) < 0)
		return;
	if (!fg_dist_digest_wants(r->want, g->family, x) || fg_dist_gview_has(r->other, g, r->now, NULL))
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 64;
		fg_grant_t *ng = realloc(r->g, cap * sizeof(*ng));
		if (!ng) {
			r->err = -ENOMEM;
			return;
		}
		r->g = ng;
		r->cap = cap;
	}
	r->g[r->n++] = *g;
}

/* Send g[n] as GRANT or REVOKE commands, a batch at a time, each ACKed
 * before the next (the log may be smaller than the difference). */
static int recon_send(struct link *l, SSL *ssl, int fd, fg_dist_rbuf_t *rb, fg_dist_msg_t *m,
		      uint8_t type, const fg_grant_t *g, size_t n, uint8_t *out, size_t cap,
		      char *err, size_t errlen)
{
	static __thread struct cmd c;
	for (size_t i = 0; i < n;) {
		size_t k = n - i > FG_DIST_MAX_GRANTS ? FG_DIST_MAX_GRANTS : n - i;
		memset(&c, 0, offsetof(struct cmd, g));
		c.type = type;
		c.n = (uint16_t)k;
		memcpy(c.g, g + i, k * sizeof(*g));
		uint64_t seq;
		pthread_mutex_lock(&l->mu);
		put(l, &c, &seq);
		if (type == FG_DIST_GRANT)
			l->recon_sent += k;
		else
			l->recon_revoked += k;
		pthread_mutex_unlock(&l->mu);
		int rc = flush_pending(l, ssl, fd, out, cap);
		if (rc == 0)
			rc = recon_read(l, ssl, fd, rb, m, seq, out, cap, err, errlen);
		if (rc < 0)
			return rc;
		i += k;
	}
	return 0;
}

/* One reconciliation of l's share with the agent's kernel. `adopt` (the
 * first contact of this run, whose view is empty): learn what the agent
 * holds of our share (grants a previous run of this controller made, which
 * its clients may still use) and send nothing. Otherwise compare digests
 * and send only what differs: the grants it lacks with what is left of
 * them, revokes of those of our share we no longer hold. */
static int reconcile(struct link *l, SSL *ssl, int fd, fg_dist_rbuf_t *rb, fg_dist_msg_t *m,
		     bool adopt, uint8_t *out, size_t cap, char *err, size_t errlen)
{
	uint8_t salt[FG_DIST_SALT_LEN];
	uint64_t want[FG_DIST_NSETS] = { ~0ULL, ~0ULL };
	static __thread fg_dist_digest_t mine;
	bool shared = false;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return fg_errf(err, errlen, -EIO, "reconciliation: no randomness for the salt");
	pthread_mutex_lock(&l->mu);
	l->recon_runs++;
	pthread_mutex_unlock(&l->mu);
	int rc;
	if (!adopt) {
		memset(m, 0, sizeof(*m));
		m->h.type = FG_DIST_SUMREQ;
		memcpy(m->salt, salt, sizeof(salt));
		rc = send_one(ssl, fd, m, out, cap);
		if (rc == 0)
			rc = recon_read(l, ssl, fd, rb, m, 0, out, cap, err, errlen);
		if (rc < 0)
			return rc;
		if (m->h.type != FG_DIST_SUMS)
			return fg_errf(err, errlen, -FG_EMALF, "%s in answer to SUMREQ",
				       fg_dist_type_name(m->h.type));
		pthread_mutex_lock(&l->mu);
		uint64_t now = mono_ms();
		fg_dist_gview_prune(l->view, now);
		rc = fg_dist_gview_digest(l->view, l->sip, salt, now, &mine);
		unsigned differing = 0;
		for (unsigned s = 0; s < FG_DIST_NSETS; s++) {
			want[s] = fg_dist_digest_diff(&m->digest, &mine, s);
			differing += (unsigned)__builtin_popcountll(want[s]);
		}
		l->generation = m->generation;
		shared = m->flags & FG_DIST_SUMS_SHARED;
		l->recon_buckets += FG_DIST_NSETS * FG_DIST_BUCKETS;
		l->recon_differing += differing;
		pthread_mutex_unlock(&l->mu);
		if (rc < 0)
			return fg_errf(err, errlen, rc, "reconciliation: digest: %s", fg_strerror(rc));
		if (!differing)
			return 0;
		log_info("agent %s: reconciliation: %u of %u buckets differ (it holds %u+%u grants of "
			 "ours, we %u+%u)", l->id, differing, FG_DIST_NSETS * FG_DIST_BUCKETS,
			 m->digest.count[0], m->digest.count[1], mine.count[0], mine.count[1]);
	}
	memset(m, 0, sizeof(*m));
	m->h.type = FG_DIST_KEYREQ;
	memcpy(m->salt, salt, sizeof(salt));
	memcpy(m->want, want, sizeof(want));
	rc = send_one(ssl, fd, m, out, cap);
	if (rc < 0)
		return rc;
	/* what it holds of those buckets */
	fg_dist_gview_t *theirs = NULL;
	size_t got = 0, vmax = 4u << 20;
	rc = fg_dist_gview_new(vmax, &theirs);
	uint64_t now = mono_ms();
	while (rc == 0) {
		rc = recon_read(l, ssl, fd, rb, m, 0, out, cap, err, errlen);
		if (rc < 0)
			break;
		if (m->h.type != FG_DIST_KEYS) {
			rc = fg_errf(err, errlen, -FG_EMALF, "%s in answer to KEYREQ",
				     fg_dist_type_name(m->h.type));
			break;
		}
		for (unsigned i = 0; i < m->ngrants; i++)
			if (link_serves(l, m->grants[i].family, m->grants[i].addr))
				fg_dist_gview_put(theirs, &m->grants[i], now);
		got += m->ngrants;
		if (got > vmax)
			rc = fg_errf(err, errlen, -FG_EMALF, "reconciliation: more than %zu grants", vmax);
		else if (m->last)
			break;
	}
	if (rc < 0) {
		fg_dist_gview_free(theirs);
		return rc;
	}
	struct recon_list missing = { .h = l->sip, .salt = salt, .want = want, .other = theirs };
	struct recon_list extra = { .h = l->sip, .salt = salt, .want = want };
	pthread_mutex_lock(&l->mu);
	now = mono_ms();
	if (adopt) {
		struct recon_list learn = { .h = l->sip, .salt = salt, .want = want, .other = l->view,
					    .now = now };
		fg_dist_gview_each(theirs, now, 0, recon_collect, &learn);
		for (size_t i = 0; i < learn.n; i++)
			fg_dist_gview_put(l->view, &learn.g[i], now);
		l->recon_adopted += learn.n;
		if (learn.n)
			log_info("agent %s: first contact: it holds %zu grants of our share (a previous "
				 "run's): kept", l->id, learn.n);
		free(learn.g);
		if (learn.err < 0) {
			pthread_mutex_unlock(&l->mu);
			fg_dist_gview_free(theirs);
			return learn.err;
		}
		/* and it is sent what was queued for it before (below) */
	}
	missing.now = now;
	fg_dist_gview_each(l->view, now, FG_DIST_RECON_GUARD_MS, recon_collect, &missing);
	/* a view that could not take every grant never revokes on its word,
	 * nor one whose share another controller may grant in */
	if (fg_dist_gview_complete(l->view) && !shared && !adopt) {
		extra.other = l->view;
		extra.now = now;
		fg_dist_gview_each(theirs, now, 0, recon_collect, &extra);
	}
	pthread_mutex_unlock(&l->mu);
	fg_dist_gview_free(theirs);
	rc = missing.err < 0 ? missing.err : extra.err;
	if (rc == 0)
		rc = recon_send(l, ssl, fd, rb, m, FG_DIST_GRANT, missing.g, missing.n, out, cap, err,
				errlen);
	if (rc == 0)
		rc = recon_send(l, ssl, fd, rb, m, FG_DIST_REVOKE, extra.g, extra.n, out, cap, err,
				errlen);
	if (rc == 0)
		log_info("agent %s: reconciled: %zu grants sent, %zu revoked", l->id, missing.n, extra.n);
	free(missing.g);
	free(extra.g);
	return rc;
}

static void session(struct link *l, int fd, SSL *ssl)
{
	static __thread fg_dist_rbuf_t rb;
	static __thread fg_dist_msg_t m;
	static __thread uint8_t out[8 * FG_DIST_MAX_FRAME];
	char err[256];
	rb.have = 0;

	memset(&m, 0, offsetof(fg_dist_msg_t, grants));
	m.h.type = FG_DIST_HELLO;
	m.epoch = l->hub->epoch;
	snprintf(m.id, sizeof(m.id), "%s", l->hub->self);
	int n = fg_dist_encode(&m, out, sizeof(out));
	if (n < 0 || fg_dist_tls_write(ssl, fd, out, (size_t)n, HANDSHAKE_MS) < 0) {
		set_error(l, "HELLO not sent");
		return;
	}
	int rc = read_frame(ssl, fd, &rb, &m, HANDSHAKE_MS, err, sizeof(err));
	if (rc == 0 && (m.h.type != FG_DIST_WELCOME || strcmp(m.id, l->id)))
		rc = fg_errf(err, sizeof(err), -FG_EAUTH, "expected WELCOME from %s, got %s from '%s'",
			     l->id, fg_dist_type_name(m.h.type), m.id);
	if (rc < 0) {
		set_error(l, err);
		return;
	}
	pthread_mutex_lock(&l->mu);
	l->epoch_seen = m.epoch;
	uint64_t oldest = l->next >= l->cap ? l->next - l->cap + 1 : 1;
	uint64_t from;
	bool known = m.epoch == l->hub->epoch && m.last_seq <= l->next;
	/* first contact of this run: learn its grants of our share; a gap the
	 * log does not cover (or a restarted agent): reconcile. Either way the
	 * log's grants and revokes are superseded (its quarantines are still
	 * replayed): the exchange sends what the agent lacks. */
	bool adopt = !l->adopted;
	bool recon = adopt || !(known && m.last_seq + 1 >= oldest);
	if (known) {
		/* it applied everything up to last_seq: those are done */
		for (uint64_t s = l->acked + 1; s <= m.last_seq; s++) {
			struct cmd *c = &l->log[s % l->cap];
			if (c->seq == s && !c->done) {
				c->done = true;
				c->status = c->partial ? -ETIME : 0;
			}
		}
		if (m.last_seq > l->acked)
			l->acked = m.last_seq;
		from = m.last_seq + 1 > oldest ? m.last_seq + 1 : oldest;
		if (m.last_seq + 1 < oldest)
			/* the digests cover the grant maps only: say so, since
			 * a quarantine or release among these is not replayed */
			log_warn("agent %s: %llu commands older than the replay log (dist.log-size): "
				 "reconciling its grants; quarantines and releases among them are not "
				 "replayed", l->id, (unsigned long long)(oldest - m.last_seq - 1));
	} else {
		/* a restarted agent: the log's quarantines are replayed, its
		 * grants reconciled */
		from = oldest;
	}
	if (recon) {
		l->recon_to = l->next;
		if (l->acked < l->recon_to)
			l->acked = l->recon_to;   /* superseded: nothing to wait for */
	}
	l->sent = from - 1;
	l->connects++;
	l->last_error[0] = '\0';
	uint64_t replay_to = l->replay_to = l->next;
	pthread_mutex_unlock(&l->mu);
	log_info("agent %s (%s): connected (its last command of this epoch: %llu; %s from %llu)",
		 l->id, l->addrtxt, m.epoch == l->hub->epoch ? (unsigned long long)m.last_seq : 0ULL,
		 adopt ? "learning its grants, replaying" : recon ? "reconciling, replaying quarantines"
		 : "replaying", (unsigned long long)from);
	if (recon) {
		rc = reconcile(l, ssl, fd, &rb, &m, adopt, out, sizeof(out), err, sizeof(err));
		if (rc < 0) {
			char msg[300];
			snprintf(msg, sizeof(msg), "reconciliation failed: %s", err);
			set_error(l, msg);
			return;
		}
	}
	pthread_mutex_lock(&l->mu);
	if (adopt)
		l->adopted = true;
	l->state = FG_LINK_UP;
	pthread_cond_broadcast(&l->cv);
	size_t len = encode_pending(l, out, sizeof(out), replay_to);
	pthread_mutex_unlock(&l->mu);
	uint64_t last_recon = mono_ms();

	uint64_t last_io = mono_ms(), last_rx = last_io;
	/* An agent answers every PING: silence this long means it is gone
	 * (a dead gateway whose link is down sends no RST; TCP alone would
	 * notice only at its retransmission timeout, minutes later). */
	uint64_t dead_ms = 3 * PING_MS + l->timeout_ms;
	for (;;) {
		if (len && fg_dist_tls_write(ssl, fd, out, len, (int)l->timeout_ms) < 0) {
			set_error(l, "write timed out or failed: connection dropped");
			return;
		}
		if (len)
			last_io = mono_ms();
		len = 0;
		if (l->hub->stop)
			return;
		/* ACKs first: SSL may hold decrypted data poll does not see */
		int r;
		while ((r = fg_dist_tls_read(ssl, &rb, err, sizeof(err))) > 0)
			;
		if (r < 0) {
			set_error(l, err);
			return;
		}
		int flen;
		while ((flen = fg_dist_rbuf_frame(&rb, err, sizeof(err))) > 0) {
			rc = fg_dist_decode(rb.buf, (size_t)flen, &m, err, sizeof(err));
			fg_dist_rbuf_consume(&rb, (size_t)flen);
			if (rc < 0 || m.h.type != FG_DIST_ACK) {
				set_error(l, rc < 0 ? err : "a frame other than ACK from the agent");
				return;
			}
			pthread_mutex_lock(&l->mu);
			take_ack(l, &m);
			pthread_mutex_unlock(&l->mu);
			last_io = last_rx = mono_ms();
		}
		if (flen < 0) {
			set_error(l, err);
			return;
		}
		pthread_mutex_lock(&l->mu);
		len = encode_pending(l, out, sizeof(out), replay_to);
		bool idle = l->sent == l->next && l->acked >= l->next &&
			    fg_dist_gview_count(l->view) <= RECON_PERIODIC_MAX;
		pthread_mutex_unlock(&l->mu);
		if (len)
			continue;
		uint64_t now = mono_ms();
		if (idle && now - last_recon >= RECON_PERIOD_MS) {
			/* the periodic check: a digest exchange, nothing more
			 * when nothing differs */
			rc = reconcile(l, ssl, fd, &rb, &m, false, out, sizeof(out), err, sizeof(err));
			if (rc < 0) {
				char msg[300];
				snprintf(msg, sizeof(msg), "reconciliation failed: %s", err);
				set_error(l, msg);
				return;
			}
			last_recon = last_io = last_rx = mono_ms();
			continue;
		}
		if (now - last_rx >= dead_ms) {
			char msg[96];
			snprintf(msg, sizeof(msg), "no frame from the agent for %llu ms: connection dropped",
				 (unsigned long long)(now - last_rx));
			set_error(l, msg);
			return;
		}
		if (now - last_io >= PING_MS) {
			memset(&m, 0, offsetof(fg_dist_msg_t, grants));
			m.h.type = FG_DIST_PING;
			n = fg_dist_encode(&m, out, sizeof(out));
			len = n > 0 ? (size_t)n : 0;
			last_io = now;
			continue;
		}
		int w = fg_dist_wait(fd, l->wake, (int)(PING_MS - (now - last_io)));
		if (w == 2) {
			uint64_t v;
			if (read(l->wake, &v, sizeof(v)) < 0 && errno != EAGAIN)
				return;
		}
	}
}

static void *link_main(void *arg)
{
	struct link *l = arg;
	unsigned backoff = BACKOFF_MIN_MS;
	char err[256];
	while (!l->hub->stop) {
		set_state(l, FG_LINK_CONNECTING);
		int fd = connect_to(l, err, sizeof(err));
		if (fd >= 0) {
			SSL *ssl = fg_dist_tls_client(l->hub->ctx, fd, l->hub->self, &l->key);
			int rc = ssl ? fg_dist_tls_handshake(ssl, fd, HANDSHAKE_MS, err, sizeof(err))
				     : -ENOMEM;
			if (rc == 0 && !l->key.psklen && !fg_dist_tls_peer_is(ssl, l->id))
				rc = fg_errf(err, sizeof(err), -FG_EAUTH, "certificate does not name %s", l->id);
			if (rc == 0) {
				backoff = BACKOFF_MIN_MS;
				session(l, fd, ssl);
				SSL_shutdown(ssl);
			} else {
				pthread_mutex_lock(&l->mu);
				l->handshake_failures++;
				pthread_mutex_unlock(&l->mu);
				set_error(l, err);
			}
			SSL_free(ssl);
			close(fd);
		} else {
			set_error(l, err);
		}
		set_state(l, FG_LINK_DOWN);
		for (unsigned t = 0; t < backoff && !l->hub->stop; t += 50)
			usleep(50000);
		backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
	}
	return NULL;
}

int fg_dist_hub_start(fg_dist_hub_t *h)
{
	for (size_t i = 0; i < h->n; i++) {
		if (pthread_create(&h->links[i].th, NULL, link_main, &h->links[i]) != 0)
			return -errno;
		h->links[i].started = true;
	}
	return 0;
}

void fg_dist_hub_free(fg_dist_hub_t *h)
{
	if (!h)
		return;
	h->stop = true;
	for (size_t i = 0; i < h->n; i++) {
		struct link *l = &h->links[i];
		if (l->wake >= 0) {
			uint64_t one = 1;
			if (write(l->wake, &one, sizeof(one)) < 0) { /* the thread polls anyway */ }
		}
		if (l->started)
			pthread_join(l->th, NULL);
		if (l->wake >= 0)
			close(l->wake);
		OPENSSL_cleanse(&l->key, sizeof(l->key));
		pthread_mutex_destroy(&l->mu);
		pthread_cond_destroy(&l->cv);
		free(l->log);
		free(l->pools);
		fg_dist_gview_free(l->view);
		fg_siphash_free(l->sip);
	}
	free(h->links);
	SSL_CTX_free(h->ctx);
	free(h);
}

/* ---- submitting commands ---- */

struct pending {
	struct link *l;
	uint64_t seq;
	bool nowait;   /* queued for a down gateway whose pair partner ACKs */
};

static bool link_up(struct link *l)
{
	pthread_mutex_lock(&l->mu);
	bool up = l->state == FG_LINK_UP;
	pthread_mutex_unlock(&l->mu);
	return up;
}

/* A link that is down is no reason to fail when it is one gateway of a
 * failover pair and its partner is up: only the VRRP master forwards, and
 * a gateway the controller cannot reach is taken to be the dead one. The
 * command is queued anyway (past a full window the oldest ones are
 * overwritten, as in any long outage), so the gateway is replayed what it
 * missed when it comes back, before it can be master again. The partner
 * must still ACK: a batch is never answered on no ACK at all. */
static bool waived(struct link *l)
{
	return l->pair && link_up(l->pair);
}

/* Append a command to l's log (l->mu held). 0, or why the link cannot
 * take it now: down, stalled, or its window of unacknowledged commands full. */
static int append(struct link *l, const struct cmd *tmpl, uint64_t *seq)
{
	if (l->state == FG_LINK_STALLED)
		return -ETIMEDOUT;
	if (l->state != FG_LINK_UP)
		return -ENOTCONN;
	if (l->next + 1 - l->acked > l->cap) {
		l->state = FG_LINK_STALLED;
		return -ENOBUFS;
	}
	put(l, tmpl, seq);
	return 0;
}

/* Write a command at l's next sequence number (l->mu held). */
static void put(struct link *l, const struct cmd *tmpl, uint64_t *seq)
{
	uint64_t s = ++l->next;
	struct cmd *c = &l->log[s % l->cap];
	size_t body = tmpl->type == FG_DIST_GRANT || tmpl->type == FG_DIST_REVOKE
		      ? offsetof(struct cmd, g) + tmpl->n * sizeof(fg_grant_t) : sizeof(*c);
	memcpy(c, tmpl, body);
	c->seq = s;
	c->done = false;
	c->cancelled = false;
	c->partial = false;
	c->status = 0;
	c->sent_ns = 0;
	c->queued_ms = mono_ms();
	*seq = s;
	for (unsigned i = 0; c->type == FG_DIST_GRANT && i < c->n; i++)
		fg_dist_gview_put(l->view, &c->g[i], c->queued_ms);
	for (unsigned i = 0; c->type == FG_DIST_REVOKE && i < c->n; i++)
		fg_dist_gview_del(l->view, &c->g[i]);
}

static void kick(struct link *l)
{
	uint64_t one = 1;
	if (write(l->wake, &one, sizeof(one)) < 0) { /* full: already woken */ }
}

/* Wait for (l, seq) until deadline_ns. 0, the agent's refusal, or
 * -ETIMEDOUT (the link is then stalled: later commits fail at once). */
static int wait_one(struct link *l, uint64_t seq, uint64_t deadline_ns)
{
	struct timespec until = { (time_t)(deadline_ns / 1000000000u), (long)(deadline_ns % 1000000000u) };
	pthread_mutex_lock(&l->mu);
	struct cmd *c = &l->log[seq % l->cap];
	while (c->seq == seq && !c->done && !l->hub->stop)
		if (pthread_cond_timedwait(&l->cv, &l->mu, &until) == ETIMEDOUT)
			break;
	int rc;
	if (c->seq == seq && c->done)
		rc = c->status < 0 ? c->status : 0;
	else {
		rc = -ETIMEDOUT;
		l->timeouts++;
		if (l->state == FG_LINK_UP)
			l->state = FG_LINK_STALLED;
		snprintf(l->last_error, sizeof(l->last_error), "no ACK for command %llu within %u ms",
			 (unsigned long long)seq, l->timeout_ms);
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* A grant batch that is not answered: cancel it where it was not sent and
 * revoke it where it may have been applied, so no kernel keeps a grant
 * nobody was told about. */
static void undo(struct pending *p, size_t np, const struct cmd *tmpl)
{
	static __thread struct cmd rev;
	for (size_t i = 0; i < np; i++) {
		struct link *l = p[i].l;
		pthread_mutex_lock(&l->mu);
		struct cmd *c = &l->log[p[i].seq % l->cap];
		bool sent = c->seq == p[i].seq && p[i].seq <= l->sent;
		if (c->seq == p[i].seq)
			c->cancelled = true;
		/* unanswered: no longer one this agent should hold */
		for (unsigned k = 0; k < tmpl->n; k++)
			fg_dist_gview_del(l->view, &tmpl->g[k]);
		bool refused = c->seq == p[i].seq && c->done && c->status < 0;
		if (sent && !refused) {
			/* the revoke goes even to a stalled link (it is queued behind) */
			rev.type = FG_DIST_REVOKE;
			rev.n = 0;
			for (unsigned k = 0; k < tmpl->n; k++)
				if (link_serves(l, tmpl->g[k].family, tmpl->g[k].addr))
					rev.g[rev.n++] = tmpl->g[k];
			if (rev.n && l->next + 1 - l->acked <= l->cap) {
				uint64_t s = ++l->next;
				struct cmd *r = &l->log[s % l->cap];
				memcpy(r, &rev, offsetof(struct cmd, g) + rev.n * sizeof(fg_grant_t));
				r->seq = s;
				r->done = r->cancelled = r->partial = false;
				r->status = 0;
				r->sent_ns = 0;
				r->queued_ms = mono_ms();
			}
		}
		pthread_mutex_unlock(&l->mu);
		kick(l);
	}
}

static int submit(fg_dist_hub_t *h, struct cmd *tmpl, bool per_link_grants)
{
	struct pending p[FG_CONF_MAX_AGENTS];
	size_t np = 0;
	int rc = 0;
	static __thread struct cmd one;
	uint64_t start = mono_ns();

	/* an address no agent serves would be answered with no data plane
	 * behind it: refuse (the config check makes every pool served) */
	for (unsigned k = 0; per_link_grants && k < tmpl->n; k++) {
		bool served = false;
		for (size_t i = 0; i < h->n && !served; i++)
			served = link_serves(&h->links[i], tmpl->g[k].family, tmpl->g[k].addr);
		if (!served)
			return -FG_EGRANT;
	}

	for (size_t i = 0; i < h->n && rc == 0; i++) {
		struct link *l = &h->links[i];
		const struct cmd *c = tmpl;
		if (per_link_grants) {
			/* only the grants of the pools this agent serves */
			one.type = tmpl->type;
			one.n = 0;
			for (unsigned k = 0; k < tmpl->n; k++)
				if (link_serves(l, tmpl->g[k].family, tmpl->g[k].addr))
					one.g[one.n++] = tmpl->g[k];
			if (!one.n)
				continue;
			c = &one;
		}
		bool waive = waived(l);
		pthread_mutex_lock(&l->mu);
		uint64_t seq = 0;
		rc = append(l, c, &seq);
		if (rc == -ENOTCONN && waive) {
			put(l, c, &seq);
			l->pair_queued++;
			p[np].l = l;
			p[np].seq = seq;
			p[np].nowait = true;
			np++;
			pthread_mutex_unlock(&l->mu);
			rc = 0;
			continue;
		}
		if (rc < 0)
			snprintf(l->last_error, sizeof(l->last_error), "%s refused locally: %s",
				 fg_dist_type_name(c->type), rc == -ENOTCONN ? "link down" :
				 rc == -ETIMEDOUT ? "link stalled (an earlier command got no ACK)" :
				 "too many unacknowledged commands");
		pthread_mutex_unlock(&l->mu);
		if (rc == 0) {
			p[np].l = l;
			p[np].seq = seq;
			p[np].nowait = false;
			np++;
			kick(l);
		}
	}
	for (size_t i = 0; i < np && rc == 0; i++)
		if (!p[i].nowait)
			rc = wait_one(p[i].l, p[i].seq, start + (uint64_t)p[i].l->timeout_ms * 1000000u);
	if (rc < 0 && tmpl->type == FG_DIST_GRANT)
		undo(p, np, tmpl);
	return rc < 0 ? -FG_EGRANT : 0;
}

int fg_dist_hub_grant(fg_dist_hub_t *h, const fg_grant_t *g, size_t n)
{
	static __thread struct cmd c;
	while (n) {
		size_t k = n > FG_DIST_MAX_GRANTS ? FG_DIST_MAX_GRANTS : n;
		c.type = FG_DIST_GRANT;
		c.n = (uint16_t)k;
		memcpy(c.g, g, k * sizeof(*g));
		int rc = submit(h, &c, true);
		if (rc < 0)
			return rc;
		g += k;
		n -= k;
	}
	return 0;
}

int fg_dist_hub_quarantine(fg_dist_hub_t *h, int family, const uint8_t *src, uint32_t timeout_ms)
{
	static __thread struct cmd c;
	memset(&c, 0, offsetof(struct cmd, g));
	c.type = FG_DIST_QUARANTINE;
	c.family = (uint8_t)family;
	memcpy(c.src, src, family == AF_INET ? 4 : 16);
	c.timeout_ms = timeout_ms;
	return submit(h, &c, false);
}

int fg_dist_hub_release(fg_dist_hub_t *h, int family, const uint8_t *src)
{
	static __thread struct cmd c;
	memset(&c, 0, offsetof(struct cmd, g));
	c.type = FG_DIST_RELEASE;
	c.family = (uint8_t)family;
	memcpy(c.src, src, family == AF_INET ? 4 : 16);
	return submit(h, &c, false);
}

bool fg_dist_hub_addr_healthy(fg_dist_hub_t *h, int family, const uint8_t *addr)
{
	for (size_t i = 0; i < h->n; i++) {
		struct link *l = &h->links[i];
		if (!link_serves(l, family, addr))
			continue;
		pthread_mutex_lock(&l->mu);
		int st = l->state;
		pthread_mutex_unlock(&l->mu);
		if (st != FG_LINK_UP && !(st != FG_LINK_STALLED && waived(l)))
			return false;
	}
	return true;
}

size_t fg_dist_hub_nagents(const fg_dist_hub_t *h)
{
	return h ? h->n : 0;
}

uint64_t fg_dist_hub_epoch(const fg_dist_hub_t *h)
{
	return h->epoch;
}

int fg_dist_hub_status(fg_dist_hub_t *h, size_t i, fg_dist_agent_status_t *o)
{
	if (!h || i >= h->n)
		return -ENOENT;
	struct link *l = &h->links[i];
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", l->id);
	snprintf(o->address, sizeof(o->address), "%s", l->addrtxt);
	pthread_mutex_lock(&l->mu);
	o->state = l->state;
	o->epoch_seen = l->epoch_seen;
	o->sent = l->sent;
	o->acked = l->acked;
	o->lag = l->next - l->acked;
	o->acks = l->acks;
	o->refused = l->refused;
	o->timeouts = l->timeouts;
	o->connects = l->connects;
	o->handshake_failures = l->handshake_failures;
	o->replayed = l->replayed;
	o->pair_queued = l->pair_queued;
	o->recon_runs = l->recon_runs;
	o->recon_buckets = l->recon_buckets;
	o->recon_differing = l->recon_differing;
	o->recon_sent = l->recon_sent;
	o->recon_revoked = l->recon_revoked;
	o->recon_adopted = l->recon_adopted;
	o->generation = l->generation;
	o->view_grants = fg_dist_gview_count(l->view);
	memcpy(o->lat_bucket, l->lat_bucket, sizeof(o->lat_bucket));
	o->lat_sum_ns = l->lat_sum_ns;
	snprintf(o->last_error, sizeof(o->last_error), "%s", l->last_error);
	pthread_mutex_unlock(&l->mu);
	return 0;
}

/* ---- the "agents" NAT backend ---- */

static fg_dist_hub_t *bound_hub;

void fg_dist_hub_bind(fg_dist_hub_t *hub)
{
	bound_hub = hub;
}

struct fg_nat {
	fg_dist_hub_t *hub;
};

static int ag_open(const fg_nat_config_t *cfg, fg_nat_t **out)
{
	(void)cfg;
	if (!bound_hub)
		return -ENOTCONN;
	fg_nat_t *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->hub = bound_hub;
	*out = n;
	return 0;
}

/* each agent builds its data plane from its own configuration */
static int ag_setup(fg_nat_t *n, const fg_nat_config_t *cfg)
{
	(void)n;
	(void)cfg;
	return 0;
}

static int ag_commit(fg_nat_t *n, const fg_grant_t *g, size_t count)
{
	return count ? fg_dist_hub_grant(n->hub, g, count) : 0;
}

static int ag_unsupported(fg_nat_t *n)
{
	(void)n;
	return -EOPNOTSUPP;
}

static int ag_dump(fg_nat_t *n, fg_nat_dump_fn fn, void *ctx)
{
	(void)fn;
	(void)ctx;
	return ag_unsupported(n);
}

static int ag_count(fg_nat_t *n, fg_nat_counts_t *out)
{
	(void)out;
	return ag_unsupported(n);
}

static int ag_quarantine(fg_nat_t *n, int family, const uint8_t *src, uint32_t timeout_ms)
{
	return fg_dist_hub_quarantine(n->hub, family, src, timeout_ms);
}

static int ag_release(fg_nat_t *n, int family, const uint8_t *src)
{
	return fg_dist_hub_release(n->hub, family, src);
}

static void ag_close(fg_nat_t *n)
{
	free(n);
}

const fg_nat_ops_t fg_nat_agents_ops = {
	.name = "agents",
	.open = ag_open,
	.setup = ag_setup,
	.commit = ag_commit,
	.dump = ag_dump,
	.count = ag_count,
	.quarantine = ag_quarantine,
	.release = ag_release,
	.destroy = ag_unsupported,
	.close = ag_close,
};

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privilege separation, the [dns] side's client (privsep.h): the NAT
 * backend fg_nat_priv_ops over the channels (a handle takes a free channel
 * for its lifetime), and the requests for the configuration text, the
 * event log's descriptor and the refusal count.
 */
#include "daemon/privsep.h"


#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "daemon/privsep_msg.h"
#include "daemon/privsep_int.h"

/* ---- process-wide state (program layer) --------------------------------- */

static struct {
	bool active;                  /* [dns] side: channels in use */
	int sigfd;                    /* [dns] side: signals relayed by [priv] */
	int *fds;                     /* [dns] side channel ends */
	bool *busy;
	unsigned n;
	pthread_mutex_t mu;
	pthread_cond_t cv;
} dns_side = { .sigfd = -1, .mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER };

int fg_privsep_signal_fd(void)
{
	return dns_side.sigfd;
}

bool fg_privsep_active(void)
{
	return dns_side.active;
}

int fg_ps_client_init(int sigfd, int *fds, unsigned n)
{
	dns_side.sigfd = sigfd;
	dns_side.fds = fds;
	dns_side.n = n;
	dns_side.busy = calloc(n, sizeof(bool));
	dns_side.active = dns_side.busy != NULL;
	return dns_side.active ? 0 : -ENOMEM;
}

/* ---- [dns] side: the NAT backend over the channels ---------------------- */

struct fg_nat {
	int fd;
	unsigned slot;
	unsigned inflight;        /* COMMITs sent, status not read yet */
	bool cancelled;           /* fg_privsep_cancel(): the slot stays taken */
};

static int chan_acquire(void)
{
	pthread_mutex_lock(&dns_side.mu);
	for (;;) {
		for (unsigned i = 0; i < dns_side.n; i++) {
			if (!dns_side.busy[i]) {
				dns_side.busy[i] = true;
				pthread_mutex_unlock(&dns_side.mu);
				return (int)i;
			}
		}
		pthread_cond_wait(&dns_side.cv, &dns_side.mu);
	}
}

static void chan_release(unsigned slot)
{
	pthread_mutex_lock(&dns_side.mu);
	dns_side.busy[slot] = false;
	pthread_cond_signal(&dns_side.cv);
	pthread_mutex_unlock(&dns_side.mu);
}

static int priv_open(const fg_nat_config_t *cfg, fg_nat_t **out)
{
	(void)cfg;
	if (!dns_side.active)
		return -ENOTCONN;
	fg_nat_t *n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->slot = (unsigned)chan_acquire();
	n->fd = dns_side.fds[n->slot];
	*out = n;
	return 0;
}

static void priv_close(fg_nat_t *n)
{
	if (!n)
		return;
	if (!n->cancelled)
		chan_release(n->slot);
	free(n);
}

void fg_privsep_cancel(fg_nat_t *n)
{
	n->cancelled = true;
	(void)shutdown(n->fd, SHUT_RDWR);
}

/* Wait for the final status message of a request, handing data messages
 * (DUMP, READCONF) to `data`. */
static int wait_status(fg_nat_t *n, uint16_t op,
		       void (*data)(void *ctx, const struct ps_hdr *h, const uint8_t *pl),
		       void *ctx)
{
	static __thread uint8_t buf[PS_MSG_MAX];
	for (;;) {
		struct ps_hdr h;
		int len = fg_ps_recv(n->fd, buf, sizeof(buf), &h);
		if (len < 0)
			return len == -EPIPE ? -ENOTCONN : len;
		if (h.op != op && h.op != 0)
			return -FG_EMALF;
		if (h.len == 0 && h.count == 0)
			return h.status;
		if (data)
			data(ctx, &h, buf + sizeof(h));
	}
}

/* Pipelined commits: the [priv] side answers the requests of one channel
 * in order, so the status read next is that of the oldest one sent. */
static int priv_commit_start(fg_nat_t *n, const fg_grant_t *g, size_t count)
{
	if (count == 0 || count > FG_PS_MAX_GRANTS)
		return -EINVAL;
	if (n->inflight >= FG_NAT_PIPE_MAX)
		return -EBUSY;
	int rc = fg_ps_send(n->fd, PS_COMMIT, (uint16_t)count, 0, g, (uint32_t)(count * sizeof(*g)));
	if (rc == 0)
		n->inflight++;
	return rc;
}

static int priv_commit_result(fg_nat_t *n)
{
	if (!n->inflight)
		return -EINVAL;
	n->inflight--;
	return wait_status(n, PS_COMMIT, NULL, NULL);
}

static int priv_commit_fd(fg_nat_t *n)
{
	return n->fd;
}

/* COMMIT or REVOKE, synchronous: never while pipelined COMMITs wait for
 * their status (it would be read as this one's) */
static int priv_grants(fg_nat_t *n, uint16_t op, const fg_grant_t *g, size_t count)
{
	if (n->inflight)
		return -EBUSY;
	while (count) {
		size_t k = count > FG_PS_MAX_GRANTS ? FG_PS_MAX_GRANTS : count;
		int rc = fg_ps_send(n->fd, op, (uint16_t)k, 0, g, (uint32_t)(k * sizeof(*g)));
		if (rc == 0)
			rc = wait_status(n, op, NULL, NULL);
		if (rc < 0)
			return rc;
		g += k;
		count -= k;
	}
	return 0;
}

static int priv_commit(fg_nat_t *n, const fg_grant_t *g, size_t count)
{
	return priv_grants(n, PS_COMMIT, g, count);
}

static int priv_revoke(fg_nat_t *n, const fg_grant_t *g, size_t count)
{
	return priv_grants(n, PS_REVOKE, g, count);
}

static int priv_setup(fg_nat_t *n, const fg_nat_config_t *cfg)
{
	struct ps_natcfg c;
	memset(&c, 0, sizeof(c));
	if (!cfg->table || strlen(cfg->table) >= sizeof(c.table) || cfg->npools > FG_PS_MAX_POOLS)
		return -EINVAL;
	strcpy(c.table, cfg->table);
	c.npools = (uint32_t)cfg->npools;
	memcpy(c.pools, cfg->pools, cfg->npools * sizeof(*cfg->pools));
	c.decoy_set = cfg->decoy_set;
	c.decoy6_set = cfg->decoy6_set;
	c.decoy_family = cfg->decoy_family;
	memcpy(c.decoy_via, cfg->decoy_via, 16);
	memcpy(c.decoy_via6, cfg->decoy_via6, 16);
	c.pin_ms = cfg->pin_ms;
	c.pin_set_size = cfg->pin_set_size;
	c.grant_set_size = cfg->grant_set_size;
	c.decoy_mark = cfg->decoy_mark;
	c.route_table = cfg->route_table;
	c.nflog_group = cfg->nflog_group;
	int rc = fg_ps_send(n->fd, PS_SETUP, 0, 0, &c, sizeof(c));
	return rc < 0 ? rc : wait_status(n, PS_SETUP, NULL, NULL);
}

struct dump_ctx {
	fg_nat_dump_fn fn;
	void *ctx;
};

static void dump_data(void *vctx, const struct ps_hdr *h, const uint8_t *pl)
{
	struct dump_ctx *d = vctx;
	if (h->len != h->count * sizeof(fg_grant_t))
		return;
	for (unsigned i = 0; i < h->count; i++) {
		fg_grant_t g;
		memcpy(&g, pl + i * sizeof(g), sizeof(g));
		d->fn(d->ctx, &g);
	}
}

static int priv_dump(fg_nat_t *n, fg_nat_dump_fn fn, void *ctx)
{
	struct dump_ctx d = { fn, ctx };
	int rc = fg_ps_send(n->fd, PS_DUMP, 0, 0, NULL, 0);
	return rc < 0 ? rc : wait_status(n, PS_DUMP, dump_data, &d);
}

static int priv_dump_any(fg_nat_t *n, fg_nat_dump_fn fn, void *ctx)
{
	struct dump_ctx d = { fn, ctx };
	int rc = fg_ps_send(n->fd, PS_DUMPANY, 0, 0, NULL, 0);
	return rc < 0 ? rc : wait_status(n, PS_DUMPANY, dump_data, &d);
}

/* The one data message of a COUNT answer. */
struct count_acc {
	fg_nat_counts_t k;
	unsigned got;
	bool bad;
};

static void count_data(void *vctx, const struct ps_hdr *h, const uint8_t *pl)
{
	struct count_acc *a = vctx;
	if (a->got++ || h->count != 1 || h->len != sizeof(a->k)) {
		a->bad = true;
		return;
	}
	memcpy(&a->k, pl, sizeof(a->k));
}

static int priv_count(fg_nat_t *n, fg_nat_counts_t *out)
{
	struct count_acc a;
	memset(&a, 0, sizeof(a));
	int rc = fg_ps_send(n->fd, PS_COUNT, 0, 0, NULL, 0);
	if (rc == 0)
		rc = wait_status(n, PS_COUNT, count_data, &a);
	if (rc == 0 && (a.bad || a.got != 1))
		rc = -FG_EMALF;
	if (rc == 0)
		*out = a.k;
	return rc;
}

/* The one data message of a STATS answer. */
struct stats_acc {
	uint64_t refused;
	unsigned got;
	bool bad;
};

static void stats_data(void *vctx, const struct ps_hdr *h, const uint8_t *pl)
{
	struct stats_acc *a = vctx;
	if (a->got++ || h->count != 1 || h->len != sizeof(a->refused)) {
		a->bad = true;
		return;
	}
	memcpy(&a->refused, pl, sizeof(a->refused));
}

int fg_privsep_refused_total(uint64_t *out)
{
	fg_nat_t *n = NULL;
	int rc = priv_open(NULL, &n);
	if (rc < 0)
		return rc;
	struct stats_acc a = { 0, 0, false };
	rc = fg_ps_send(n->fd, PS_STATS, 0, 0, NULL, 0);
	if (rc == 0)
		rc = wait_status(n, PS_STATS, stats_data, &a);
	priv_close(n);
	if (rc == 0 && (a.bad || a.got != 1))
		rc = -FG_EMALF;
	if (rc == 0)
		*out = a.refused;
	return rc;
}

int fg_privsep_evlog_fd(int *out)
{
	fg_nat_t *n = NULL;
	int rc = priv_open(NULL, &n);
	if (rc < 0)
		return rc;
	static __thread uint8_t buf[PS_MSG_MAX];
	int got = -1;
	rc = fg_ps_send(n->fd, PS_EVLOG, 0, 0, NULL, 0);
	while (rc == 0) {
		struct ps_hdr h;
		int fd = -1;
		int len = fg_ps_recv_fd(n->fd, buf, sizeof(buf), &h, &fd);
		if (len < 0) {
			rc = len == -EPIPE ? -ENOTCONN : len == -EPROTO ? -FG_EMALF : len;
			break;
		}
		if ((h.op != PS_EVLOG && h.op != 0) || len != 0) {
			if (fd >= 0)
				close(fd);
			rc = -FG_EMALF;
			break;
		}
		if (h.count == 0) {           /* the final status */
			if (fd >= 0)
				close(fd);
			rc = h.status < 0 ? h.status : got < 0 ? -FG_EMALF : 0;
			if (h.status > 0)
				rc = -FG_EMALF;
			break;
		}
		/* the one data message: exactly one descriptor */
		if (h.count != 1 || fd < 0 || got >= 0) {
			if (fd >= 0)
				close(fd);
			rc = -FG_EMALF;
			break;
		}
		got = fd;
	}
	priv_close(n);
	/* what [priv] sent must be what was asked for: a regular file open
	 * for appending only */
	struct stat st;
	int fl = got >= 0 ? fcntl(got, F_GETFL) : -1;
	if (rc == 0 && (fstat(got, &st) < 0 || !S_ISREG(st.st_mode) || fl < 0 ||
			(fl & O_ACCMODE) != O_WRONLY || !(fl & O_APPEND)))
		rc = -FG_EMALF;
	if (rc < 0) {
		if (got >= 0)
			close(got);
		return rc;
	}
	*out = got;
	return 0;
}

static int priv_quar(fg_nat_t *n, uint16_t op, int family, const uint8_t *src, uint32_t ms)
{
	struct ps_quar q;
	memset(&q, 0, sizeof(q));
	q.family = family;
	memcpy(q.addr, src, family == AF_INET ? 4 : 16);
	q.timeout_ms = ms;
	int rc = fg_ps_send(n->fd, op, 0, 0, &q, sizeof(q));
	return rc < 0 ? rc : wait_status(n, op, NULL, NULL);
}

static int priv_quarantine(fg_nat_t *n, int family, const uint8_t *src, uint32_t ms)
{
	return priv_quar(n, PS_QUARANTINE, family, src, ms);
}

static int priv_release(fg_nat_t *n, int family, const uint8_t *src)
{
	return priv_quar(n, PS_RELEASE, family, src, 0);
}

static int priv_destroy(fg_nat_t *n)
{
	(void)n;
	return -EPERM;    /* the DNS side never removes the table */
}

const fg_nat_ops_t fg_nat_priv_ops = {
	.name = "nft (privilege separated)",
	.open = priv_open,
	.setup = priv_setup,
	.commit = priv_commit,
	.commit_start = priv_commit_start,
	.commit_result = priv_commit_result,
	.commit_fd = priv_commit_fd,
	.dump = priv_dump,
	.dump_any = priv_dump_any,
	.count = priv_count,
	.quarantine = priv_quarantine,
	.release = priv_release,
	.revoke = priv_revoke,
	.destroy = priv_destroy,
	.close = priv_close,
};

struct conf_acc {
	char *buf;
	size_t len, cap;
	int err;
};

/* Grows by doubling into a fresh buffer and wipes the old one (no realloc:
 * it would leave copies of secrets behind); the payload is wiped too (the
 * receive buffer is this thread's, reused by later requests). */
static void conf_data(void *vctx, const struct ps_hdr *h, const uint8_t *pl)
{
	struct conf_acc *a = vctx;
	if (!a->err && a->len + h->len > (16u << 20))
		a->err = -EFBIG;
	if (!a->err && a->len + h->len + 1 > a->cap) {
		size_t nc = a->cap ? a->cap : 4096;
		while (nc < a->len + h->len + 1)
			nc *= 2;
		char *nb = malloc(nc);
		if (nb) {
			if (a->buf) {
				memcpy(nb, a->buf, a->len);
				explicit_bzero(a->buf, a->cap);
				free(a->buf);
			}
			a->buf = nb;
			a->cap = nc;
		} else {
			a->err = -ENOMEM;
		}
	}
	if (!a->err) {
		memcpy(a->buf + a->len, pl, h->len);
		a->len += h->len;
		a->buf[a->len] = '\0';
	}
	explicit_bzero((void *)(uintptr_t)pl, h->len);
}

int fg_privsep_fetch(uint16_t op, char **buf, size_t *len)
{
	fg_nat_t *n = NULL;
	int rc = priv_open(NULL, &n);
	if (rc < 0)
		return rc;
	struct conf_acc a = { NULL, 0, 0, 0 };
	rc = fg_ps_send(n->fd, op, 0, 0, NULL, 0);
	if (rc == 0)
		rc = wait_status(n, op, conf_data, &a);
	priv_close(n);
	if (rc == 0)
		rc = a.err;
	if (rc < 0) {
		if (a.buf)
			explicit_bzero(a.buf, a.cap);
		free(a.buf);
		return rc;
	}
	if (!a.buf && !(a.buf = calloc(1, 1)))
		return -ENOMEM;
	*buf = a.buf;
	*len = a.len;
	return 0;
}


int fg_privsep_read_conf(char **buf, size_t *len)
{
	return fg_privsep_fetch(PS_READCONF, buf, len);
}

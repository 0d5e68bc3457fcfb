/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Privilege separation, the [priv] side's request dispatcher (privsep.h):
 * one thread per channel reads a request, checks it against the policy of
 * the configuration this process read itself (daemon/privsep_policy.h),
 * runs it on the NAT backend and answers with its status. Nothing the
 * [dns] side sends is trusted: a refused request is counted and answered.
 */
#include "daemon/privsep.h"


#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "daemon/privsep_keys.h"
#include "daemon/privsep_msg.h"
#include "daemon/privsep_policy.h"
#include "daemon/privsep_int.h"

/* ---- [priv] side -------------------------------------------------------- */

/* The [priv] side's own view of the configuration. `cur` is the policy
 * of the data plane set up last; `pending` the one of the file read last
 * (a reload), which becomes `cur` when the [dns] side sets it up. Both are
 * built by this process from the file it reads itself. */
static struct {
	char table[64];
	char conf_path[PATH_MAX];
	char log_path[PATH_MAX];      /* log.file read at start, or "" */
	const fg_nat_ops_t *ops;      /* fg_nat_nft_ops but in tests */
	pthread_rwlock_t lock;
	fg_ps_policy_t *cur, *pending;
	unsigned gen;                 /* bumped by every accepted SETUP */
	bool set_up;                  /* the kernel holds cur's data plane */
	uint64_t refused[FG_PS_R_COUNT];
} priv = { .lock = PTHREAD_RWLOCK_INITIALIZER };

/* the status a refusal answers with */
static int refusal_status(enum fg_ps_refusal r)
{
	switch (r) {
	case FG_PS_OK: return 0;
	case FG_PS_R_NOCONF: return -EAGAIN;
	case FG_PS_R_FRAME: case FG_PS_R_FAMILY: case FG_PS_R_SCOPE: return -FG_EMALF;
	default: return -EPERM;
	}
}

/* At most REFUSE_LOG_BURST refusal lines per second: queries can provoke
 * refusals (e.g. a too wide client subnet), the log must not be theirs. */
#define REFUSE_LOG_BURST 10
static struct {
	pthread_mutex_t mu;
	time_t second;
	unsigned logged;
	uint64_t suppressed;
} refuse_log = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int refuse(enum fg_ps_refusal r, unsigned op, const char *detail)
{
	__atomic_add_fetch(&priv.refused[r], 1, __ATOMIC_RELAXED);
	struct timespec now;
	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&refuse_log.mu);
	if (now.tv_sec != refuse_log.second) {
		refuse_log.second = now.tv_sec;
		refuse_log.logged = 0;
	}
	bool say = refuse_log.logged < REFUSE_LOG_BURST;
	uint64_t before = 0;
	if (say) {
		refuse_log.logged++;
		before = refuse_log.suppressed;
		refuse_log.suppressed = 0;
	} else {
		refuse_log.suppressed++;
	}
	pthread_mutex_unlock(&refuse_log.mu);
	if (say && before)
		log_warn("privsep: %llu more refusals were not logged (rate limit)",
			 (unsigned long long)before);
	if (say)
		log_warn("privsep: refused request op %u from the DNS process: %s%s%s", op,
			 fg_ps_refusal_name(r), detail ? ": " : "", detail ? detail : "");
	return refusal_status(r);
}

uint64_t fg_privsep_refused(unsigned reason)
{
	uint64_t n = 0;
	for (unsigned r = 1; r < FG_PS_R_COUNT; r++)
		if (reason == 0 || reason == r)
			n += __atomic_load_n(&priv.refused[r], __ATOMIC_RELAXED);
	return n;
}

static void conf_diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	log_err("privsep: %s:%d: %s", file, line, msg);
}

/* Parse the configuration text this process read and make it the pending
 * policy. */
static int priv_take_conf(const char *text, size_t len, bool initial)
{
	fg_conf_t *conf = NULL;
	fg_ps_policy_t *p = NULL;
	int rc = fg_conf_load_text(priv.conf_path, text, len, &conf, conf_diag, NULL);
	/* the event log stays the one of the start, as on the [dns] side */
	if (rc == 0 && initial && conf->log.file &&
	    (size_t)snprintf(priv.log_path, sizeof(priv.log_path), "%s", conf->log.file) >=
		    sizeof(priv.log_path))
		rc = -ENAMETOOLONG;
	if (rc == 0)
		rc = fg_ps_policy_new(conf, &p);
	fg_conf_free(conf);
	if (rc < 0)
		return rc;
	pthread_rwlock_wrlock(&priv.lock);
	fg_ps_policy_free(priv.pending);
	priv.pending = p;
	pthread_rwlock_unlock(&priv.lock);
	return 0;
}

/* Read the whole configuration file (bounded like the [dns] side's
 * reassembly). Caller frees *out. */
static int priv_slurp(char **out, size_t *outlen)
{
	int fd = open(priv.conf_path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;
	for (;;) {
		if (cap - len < FG_PS_CONF_CHUNK) {
			if (cap >= (16u << 20)) {
				rc = -EFBIG;
				break;
			}
			char *nb = realloc(buf, cap + FG_PS_CONF_CHUNK + 1);
			if (!nb) {
				rc = -ENOMEM;
				break;
			}
			buf = nb;
			cap += FG_PS_CONF_CHUNK;
		}
		ssize_t k = read(fd, buf + len, cap - len);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			rc = -errno;
			break;
		}
		if (k == 0)
			break;
		len += (size_t)k;
	}
	close(fd);
	if (rc < 0) {
		free(buf);
		return rc;
	}
	if (!buf && !(buf = malloc(1)))
		return -ENOMEM;
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return 0;
}

/* Make nf_conntrack_tcp_loose 0 in this network namespace: with the kernel
 * default (1) a mid-stream packet (the decoy's peer ACKing its SYN-ACK)
 * is picked up by conntrack and the untracked decoy flows stall. The
 * table's ct rules have loaded nf_conntrack by now. Where /proc/sys is
 * read-only (systemd ProtectKernelTunables) the value set at boot
 * (sysctl.d) must already be right. */
#define TCP_LOOSE "/proc/sys/net/netfilter/nf_conntrack_tcp_loose"
static int priv_sysctls(void)
{
	int fd = open(TCP_LOOSE, O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t k = write(fd, "0\n", 2);
		int e = errno;
		close(fd);
		if (k == 2)
			return 0;
		errno = e;
	}
	int e = errno;
	char v = '?';
	fd = open(TCP_LOOSE, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		if (read(fd, &v, 1) != 1)
			v = '?';
		close(fd);
	}
	if (v == '0')
		return 0;
	log_err("privsep: net.netfilter.nf_conntrack_tcp_loose must be 0 (decoy sessions "
		"hang otherwise) and cannot be set here: %s; install sysctl.d/50-fluxgate.conf "
		"or run `sysctl -w net.netfilter.nf_conntrack_tcp_loose=0` in this network "
		"namespace", strerror(e));
	return -EPERM;
}

/* COMMITs of one channel taken into one netlink transaction: the [dns]
 * worker pipelines up to FG_NAT_PIPE_MAX, [priv] commits what is queued
 * together (fewer, bigger transactions under load). */
#define PV_COALESCE FG_NAT_PIPE_MAX

struct fg_ps_chan {
	int fd;
	fg_nat_t *nat;
	unsigned gen;
	fg_grant_t cg[PV_COALESCE * FG_PS_MAX_GRANTS];  /* the coalesced grants */
	uint8_t buf[PS_MSG_MAX];
	uint8_t out[PS_MSG_MAX];
	fg_grant_t dump[FG_PS_MAX_GRANTS];
	unsigned ndump;
	int dump_err;
	uint16_t dump_op;         /* PS_DUMP or PS_DUMPANY: the data messages' op */
};

/* (Re)open this channel's netlink handle after a SETUP changed the data
 * plane. Called with priv.lock held (read or write). */
static int chan_nat_locked(struct fg_ps_chan *c)
{
	if (!priv.gen || !priv.cur)
		return -EAGAIN;       /* no SETUP yet */
	if (c->nat && c->gen == priv.gen)
		return 0;
	if (c->nat)
		priv.ops->close(c->nat);
	c->nat = NULL;
	int rc = priv.ops->open(fg_ps_policy_natcfg(priv.cur), &c->nat);
	if (rc == 0)
		c->gen = priv.gen;
	return rc;
}

static int chan_nat(struct fg_ps_chan *c)
{
	pthread_rwlock_rdlock(&priv.lock);
	int rc = chan_nat_locked(c);
	pthread_rwlock_unlock(&priv.lock);
	return rc;
}

/* The [dns] side asks for the data plane of the configuration it loaded;
 * [priv] sets up the one of the configuration *it* read, and refuses when
 * the two differ (a [dns] process asking for another table, next hop,
 * mark or route table is not one we trust). */
static int pv_setup(struct fg_ps_chan *c, const struct ps_natcfg *m)
{
	fg_nat_prefix_t pools[FG_PS_MAX_POOLS];
	if (memchr(m->table, 0, sizeof(m->table)) == NULL || m->npools > FG_PS_MAX_POOLS)
		return refuse(FG_PS_R_FRAME, PS_SETUP, "table name or pool count");
	memcpy(pools, m->pools, sizeof(pools));
	fg_nat_config_t got = {
		.table = m->table, .pools = pools, .npools = m->npools,
		.decoy_set = m->decoy_set, .decoy_family = m->decoy_family,
		.decoy6_set = m->decoy6_set,
		.pin_ms = m->pin_ms, .pin_set_size = m->pin_set_size,
		.grant_set_size = m->grant_set_size, .decoy_mark = m->decoy_mark,
		.route_table = m->route_table, .nflog_group = m->nflog_group,
	};
	memcpy(got.decoy_via, m->decoy_via, 16);
	memcpy(got.decoy_via6, m->decoy_via6, 16);

	pthread_rwlock_wrlock(&priv.lock);
	fg_ps_policy_t *want = priv.pending ? priv.pending : priv.cur;
	if (!want) {
		pthread_rwlock_unlock(&priv.lock);
		return refuse(FG_PS_R_NOCONF, PS_SETUP, "no configuration read");
	}
	const char *diff = strcmp(fg_ps_policy_natcfg(want)->table, priv.table) != 0
				   ? "table (not the one fluxgated started with)"
				   : fg_ps_natcfg_diff(fg_ps_policy_natcfg(want), &got);
	if (diff) {
		pthread_rwlock_unlock(&priv.lock);
		char d[PATH_MAX + 96];
		snprintf(d, sizeof(d), "data plane differs from %s in %s", priv.conf_path, diff);
		return refuse(FG_PS_R_SETUP, PS_SETUP, d);
	}
	bool kernel = priv.ops == &fg_nat_nft_ops;
	if (kernel && access(TCP_LOOSE, F_OK) == 0)
		(void)priv_sysctls();  /* already loaded: right before the rules exist */
	/* a new configuration becomes the one commits are checked against only
	 * once its data plane is set up */
	if (c->nat)
		priv.ops->close(c->nat);
	c->nat = NULL;
	/* unchanged data plane (most reloads): nothing to write */
	bool same = priv.set_up && priv.cur &&
		    fg_ps_natcfg_same_kernel(fg_ps_policy_natcfg(priv.cur), fg_ps_policy_natcfg(want));
	int rc = priv.ops->open(fg_ps_policy_natcfg(want), &c->nat);
	if (rc == 0 && !same)
		rc = priv.ops->setup(c->nat, fg_ps_policy_natcfg(want));
	priv.set_up = rc == 0;
	if (rc == 0 && want == priv.pending) {
		fg_ps_policy_free(priv.cur);
		priv.cur = priv.pending;
		priv.pending = NULL;
		priv.gen++;
	}
	if (rc == 0)
		c->gen = priv.gen;
	else
		c->gen = 0;           /* reopen with the current one next time */
	pthread_rwlock_unlock(&priv.lock);
	if (rc == 0 && kernel)
		rc = priv_sysctls();
	return rc;
}

static int pv_request(struct fg_ps_chan *c, const struct ps_hdr *h, const uint8_t *pl);

/* Check one COMMIT against [priv]'s own policy (priv.lock held) and copy
 * its grants to `g`: 0, or the refusal's status. */
static int pv_commit_check(const struct ps_hdr *h, const uint8_t *pl, fg_grant_t *g, int nrc)
{
	if (h->count == 0 || h->count > FG_PS_MAX_GRANTS ||
	    h->len != h->count * sizeof(fg_grant_t))
		return refuse(FG_PS_R_FRAME, PS_COMMIT, "grant count and length disagree");
	if (nrc < 0)
		return nrc;           /* no data plane set up (yet) */
	memcpy(g, pl, h->len);
	for (unsigned i = 0; i < h->count; i++) {
		enum fg_ps_refusal why = fg_ps_check_grant(priv.cur, &g[i]);
		if (why == FG_PS_OK)
			continue;
		char d[160], a[INET6_ADDRSTRLEN] = "?", b[INET6_ADDRSTRLEN] = "?";
		if (g[i].family == AF_INET || g[i].family == AF_INET6) {
			inet_ntop(g[i].family, g[i].addr, a, sizeof(a));
			inet_ntop(g[i].family, g[i].backend, b, sizeof(b));
		}
		snprintf(d, sizeof(d), "grant %u of %u (%s -> %s, scope %u/%u, %u ms)", i + 1,
			 h->count, a, b, g[i].scope, g[i].client_plen, g[i].timeout_ms);
		return refuse(why, PS_COMMIT, d);
	}
	return 0;
}

/* A COMMIT (`h`, payload in c->buf), and every COMMIT queued behind it on
 * the channel (up to PV_COALESCE), in one transaction; each gets its own
 * status, in order. Should the joint transaction be refused, each request
 * is committed on its own, so one batch's refusal is never another's.
 * A non-COMMIT message found queued is handled after them. */
static int pv_commits(struct fg_ps_chan *c, const struct ps_hdr *h0)
{
	struct { int status; size_t off, n; } m[PV_COALESCE];
	unsigned nm = 0, nok = 0;
	size_t total = 0;
	struct ps_hdr h = *h0;
	int stash = 0;            /* >0: a message of another kind waits in c->buf */

	pthread_rwlock_rdlock(&priv.lock);
	int nrc = chan_nat_locked(c);
	for (;;) {
		m[nm].off = total;
		m[nm].n = 0;
		m[nm].status = h.status != 0
				       ? refuse(FG_PS_R_FRAME, PS_COMMIT, "count or status set")
				       : pv_commit_check(&h, c->buf + sizeof(h), c->cg + total, nrc);
		if (m[nm].status == 0) {
			m[nm].n = h.count;
			total += h.count;
			nok++;
		}
		nm++;
		if (nm == PV_COALESCE)
			break;
		int k = fg_ps_recv_ex(c->fd, c->buf, sizeof(c->buf), &h, NULL, MSG_DONTWAIT);
		if (k == -EAGAIN || k == -EWOULDBLOCK)
			break;
		if (k < 0 || h.op != PS_COMMIT) {
			stash = k < 0 ? k : 1;
			break;
		}
	}
	int rc = 0;
	if (nok)
		rc = priv.ops->commit(c->nat, c->cg, total);
	for (unsigned i = 0; i < nm; i++) {
		if (m[i].status != 0)
			continue;
		if (nok == 1 || rc == 0)
			m[i].status = rc;
		else      /* judged one by one */
			m[i].status = priv.ops->commit(c->nat, c->cg + m[i].off, m[i].n);
	}
	pthread_rwlock_unlock(&priv.lock);
	for (unsigned i = 0; i < nm; i++)
		if (fg_ps_send(c->fd, PS_COMMIT, 0, m[i].status, NULL, 0) < 0)
			return -EPIPE;
	if (stash == -EPIPE || stash == -EBADF || stash == -ENOTSOCK)
		return -EPIPE;
	if (stash < 0) {
		if (fg_ps_send(c->fd, 0, 0,
			    refuse(FG_PS_R_FRAME, 0,
				   stash == -EPROTO ? "descriptors or credentials attached"
						    : "bad magic or header length"),
			    NULL, 0) < 0)
			return -EPIPE;
	} else if (stash > 0) {
		int src = pv_request(c, &h, c->buf + sizeof(h));
		if (fg_ps_send(c->fd, h.op, 0, src, NULL, 0) < 0)
			return -EPIPE;
	}
	return 0;
}

/* COMMIT and REVOKE: the same checks of every grant of the batch */
static int pv_commit(struct fg_ps_chan *c, const struct ps_hdr *h, const uint8_t *pl)
{
	if (h->count == 0 || h->count > FG_PS_MAX_GRANTS ||
	    h->len != h->count * sizeof(fg_grant_t))
		return refuse(FG_PS_R_FRAME, h->op, "grant count and length disagree");
	fg_grant_t g[FG_PS_MAX_GRANTS];
	memcpy(g, pl, h->len);
	pthread_rwlock_rdlock(&priv.lock);
	int rc = chan_nat_locked(c);
	enum fg_ps_refusal why = FG_PS_OK;
	unsigned bad = 0;
	if (rc == 0)
		for (unsigned i = 0; i < h->count && why == FG_PS_OK; i++)
			if ((why = fg_ps_check_grant(priv.cur, &g[i])) != FG_PS_OK)
				bad = i;
	if (rc == 0 && why == FG_PS_OK)
		rc = h->op == PS_REVOKE ? (priv.ops->revoke ? priv.ops->revoke(c->nat, g, h->count)
							    : -EOPNOTSUPP)
					: priv.ops->commit(c->nat, g, h->count);
	pthread_rwlock_unlock(&priv.lock);
	if (why != FG_PS_OK) {
		char d[160], a[INET6_ADDRSTRLEN] = "?", b[INET6_ADDRSTRLEN] = "?";
		if (g[bad].family == AF_INET || g[bad].family == AF_INET6) {
			inet_ntop(g[bad].family, g[bad].addr, a, sizeof(a));
			inet_ntop(g[bad].family, g[bad].backend, b, sizeof(b));
		}
		snprintf(d, sizeof(d), "grant %u of %u (%s -> %s, scope %u/%u, %u ms)", bad + 1,
			 h->count, a, b, g[bad].scope, g[bad].client_plen, g[bad].timeout_ms);
		return refuse(why, h->op, d);
	}
	return rc;
}

static void dump_cb(void *vctx, const fg_grant_t *g)
{
	struct fg_ps_chan *c = vctx;
	if (c->dump_err)
		return;
	c->dump[c->ndump++] = *g;
	if (c->ndump == FG_PS_MAX_GRANTS) {
		c->dump_err = fg_ps_send(c->fd, c->dump_op, (uint16_t)c->ndump, 0, c->dump,
				      (uint32_t)(c->ndump * sizeof(fg_grant_t)));
		c->ndump = 0;
	}
}

/* PS_DUMPANY on a backend without its own dump_any: filter a full dump */
static void dump_any_cb(void *vctx, const fg_grant_t *g)
{
	if (g->scope == FG_SCOPE_ANY)
		dump_cb(vctx, g);
}

/* Read the file, take its policy for the next SETUP, hand its text over. */
static int priv_read_conf(struct fg_ps_chan *c)
{
	char *text = NULL;
	size_t len = 0;
	int rc = priv_slurp(&text, &len);
	if (rc < 0)
		return rc;
	/* a file that does not load here will not load on the [dns] side
	 * either; its text still goes over so the operator sees why */
	if (priv_take_conf(text, len, false) < 0)
		log_warn("privsep: %s does not load; the data plane stays as it is",
			 priv.conf_path);
	for (size_t off = 0; off < len && rc == 0; off += FG_PS_CONF_CHUNK) {
		size_t k = len - off > FG_PS_CONF_CHUNK ? FG_PS_CONF_CHUNK : len - off;
		rc = fg_ps_send(c->fd, PS_READCONF, 0, 0, text + off, (uint32_t)k);
	}
	free(text);
	return rc;
}

static int pv_quarantine(struct fg_ps_chan *c, const struct ps_hdr *h, const uint8_t *pl)
{
	if (h->len != sizeof(struct ps_quar))
		return refuse(FG_PS_R_FRAME, h->op, "length");
	struct ps_quar q;
	memcpy(&q, pl, sizeof(q));
	enum fg_ps_refusal why = fg_ps_check_quarantine(q.family, q.addr, q.timeout_ms,
							h->op == PS_RELEASE);
	if (why != FG_PS_OK)
		return refuse(why, h->op, "source or timeout");
	int rc = chan_nat(c);
	if (rc == 0)
		rc = h->op == PS_QUARANTINE
			     ? priv.ops->quarantine(c->nat, q.family, q.addr, q.timeout_ms)
			     : priv.ops->release(c->nat, q.family, q.addr);
	return rc;
}

/* Open the event log of this process's own configuration (never a path
 * the [dns] side names: the request carries none) and send it over. */
static int pv_evlog(struct fg_ps_chan *c)
{
	if (!priv.log_path[0]) {
		refuse(FG_PS_R_NOCONF, PS_EVLOG, "no log.file in the configuration read at start");
		return -ENOENT;
	}
	/* O_NONBLOCK: a FIFO planted at the path must not hang this thread */
	int fd = open(priv.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY |
				     O_NONBLOCK, 0640);
	if (fd < 0) {
		int e = errno;
		log_err("privsep: event log %s: %s", priv.log_path, strerror(e));
		return -e;
	}
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) < 0)
		rc = -errno;
	else if (!S_ISREG(st.st_mode))
		rc = -EINVAL;
	else if (fcntl(fd, F_SETFL, O_APPEND) < 0)
		rc = -errno;
	if (rc < 0) {
		log_err("privsep: event log %s: %s", priv.log_path,
			rc == -EINVAL ? "not a regular file" : strerror(-rc));
		close(fd);
		return rc;
	}
	struct ps_hdr hd = { PS_MAGIC, PS_EVLOG, 1, 0, 0 };
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &hd, sizeof(hd) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	ssize_t k;
	do
		k = sendmsg(c->fd, &mh, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	rc = k < 0 ? -errno : (size_t)k == sizeof(hd) ? 0 : -EIO;
	close(fd);                /* the [dns] side has its own copy now */
	return rc;
}

static int pv_request(struct fg_ps_chan *c, const struct ps_hdr *h, const uint8_t *pl)
{
	/* only a COMMIT or REVOKE carries a count; no request carries a status */
	if (h->status != 0 || (h->op != PS_COMMIT && h->op != PS_REVOKE && h->count != 0))
		return refuse(FG_PS_R_FRAME, h->op, "count or status set");
	int rc;
	switch (h->op) {
	case PS_COMMIT:
	case PS_REVOKE:
		return pv_commit(c, h, pl);
	case PS_SETUP:
		if (h->len != sizeof(struct ps_natcfg))
			return refuse(FG_PS_R_FRAME, h->op, "length");
		return pv_setup(c, (const struct ps_natcfg *)(const void *)pl);
	case PS_DUMP:
	case PS_DUMPANY:
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		rc = chan_nat(c);
		if (rc == 0) {
			c->ndump = 0;
			c->dump_err = 0;
			c->dump_op = h->op;
			if (h->op == PS_DUMP)
				rc = priv.ops->dump(c->nat, dump_cb, c);
			else if (priv.ops->dump_any)
				rc = priv.ops->dump_any(c->nat, dump_cb, c);
			else
				rc = priv.ops->dump(c->nat, dump_any_cb, c);
			if (rc == 0 && c->dump_err)
				rc = c->dump_err;
			if (rc == 0 && c->ndump)
				rc = fg_ps_send(c->fd, h->op, (uint16_t)c->ndump, 0, c->dump,
					     (uint32_t)(c->ndump * sizeof(fg_grant_t)));
		}
		return rc;
	case PS_QUARANTINE:
	case PS_RELEASE:
		return pv_quarantine(c, h, pl);
	case PS_READCONF:
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		return priv_read_conf(c);
	case PS_COUNT: {
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		fg_nat_counts_t k;
		rc = chan_nat(c);
		if (rc == 0)
			rc = priv.ops->count(c->nat, &k);
		if (rc == 0)
			rc = fg_ps_send(c->fd, PS_COUNT, 1, 0, &k, sizeof(k));
		return rc;
	}
	case PS_STATS: {
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		uint64_t n = fg_privsep_refused(0);
		return fg_ps_send(c->fd, PS_STATS, 1, 0, &n, sizeof(n));
	}
	case PS_EVLOG:
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		return pv_evlog(c);
	case PS_KEYS:
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		return fg_ps_keys_serve(c->fd, priv.conf_path, fg_ps_send);
	default:
		return refuse(FG_PS_R_FRAME, h->op, "unknown operation");
	}
}

void *fg_ps_chan_run(void *arg)
{
	struct fg_ps_chan *c = arg;
	struct ps_hdr h;

	for (;;) {
		int n = fg_ps_recv(c->fd, c->buf, sizeof(c->buf), &h);
		if (n == -EPIPE || n == -EBADF || n == -ENOTSOCK)
			break;
		if (n < 0) {
			fg_ps_send(c->fd, 0, 0,
				refuse(FG_PS_R_FRAME, 0,
				       n == -EPROTO ? "descriptors or credentials attached"
						    : "bad magic or header length"),
				NULL, 0);
			continue;
		}
		if (h.op == PS_COMMIT) {
			if (pv_commits(c, &h) < 0)
				break;
			continue;
		}
		int rc = pv_request(c, &h, c->buf + sizeof(h));
		/* the final message of every request carries its status */
		if (fg_ps_send(c->fd, h.op, 0, rc, NULL, 0) < 0)
			break;
	}
	if (c->nat)
		priv.ops->close(c->nat);
	close(c->fd);
	return NULL;
}

/* Load the file once before serving: the policy is this process's own. */
int fg_ps_priv_init(const char *table, const char *conf_path, const fg_nat_ops_t *ops)
{
	if (strlen(table) >= sizeof(priv.table) || !realpath(conf_path, priv.conf_path))
		return -EINVAL;
	snprintf(priv.table, sizeof(priv.table), "%s", table);
	priv.log_path[0] = '\0';
	priv.ops = ops;
	char *text = NULL;
	size_t len = 0;
	int rc = priv_slurp(&text, &len);
	if (rc == 0)
		rc = priv_take_conf(text, len, true);
	free(text);
	return rc;
}

void fg_ps_priv_fini(void)
{
	pthread_rwlock_wrlock(&priv.lock);
	fg_ps_policy_free(priv.cur);
	fg_ps_policy_free(priv.pending);
	priv.cur = priv.pending = NULL;
	priv.gen = 0;
	priv.set_up = false;
	pthread_rwlock_unlock(&priv.lock);
}

fg_ps_chan_t *fg_ps_chan_new(int fd)
{
	fg_ps_chan_t *c = calloc(1, sizeof(*c));
	if (c)
		c->fd = fd;
	return c;
}

int fg_ps_chan_fd(const fg_ps_chan_t *c)
{
	return c->fd;
}

void fg_ps_chan_free(fg_ps_chan_t *c)
{
	free(c);
}

int fg_privsep_test_serve(int fd, const char *table, const char *conf_path,
			  const fg_nat_ops_t *ops)
{
	int rc = fg_ps_priv_init(table, conf_path, ops);
	if (rc < 0)
		return rc;
	struct fg_ps_chan *c = calloc(1, sizeof(*c));
	if (!c) {
		fg_ps_priv_fini();
		return -ENOMEM;
	}
	c->fd = fd;
	fg_ps_chan_run(c);
	free(c);
	fg_ps_priv_fini();
	return 0;
}


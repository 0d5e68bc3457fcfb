/* SPDX-License-Identifier: GPL-3.0-or-later */
#include "daemon/privsep.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <seccomp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/netlink.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "daemon/privsep_keys.h"
#include "daemon/privsep_msg.h"
#include "daemon/privsep_policy.h"

/* largest message either way */
#define PS_MSG_MAX (sizeof(struct ps_hdr) + \
		    (FG_PS_CONF_CHUNK > sizeof(struct ps_natcfg) ? FG_PS_CONF_CHUNK : sizeof(struct ps_natcfg)) + \
		    FG_PS_MAX_GRANTS * sizeof(fg_grant_t))

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

/* ---- message helpers ---------------------------------------------------- */

static int ps_send(int fd, uint16_t op, uint16_t count, int32_t status,
		   const void *payload, uint32_t len)
{
	struct ps_hdr h = { PS_MAGIC, op, count, status, len };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)payload, len } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };
	ssize_t k;
	do
		k = sendmsg(fd, &mh, MSG_NOSIGNAL);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	return (size_t)k == sizeof(h) + len ? 0 : -EIO;
}

/* Receive one message; checks the framing. Returns payload length.
 * With `passed`, takes at most one descriptor sent along (SCM_RIGHTS,
 * close-on-exec) into *passed (-1 when none); without it, a message that
 * carried any (their copies are closed by the kernel) is -EPROTO: no side
 * expects descriptors but the [dns] side in fg_privsep_evlog_fd(). */
static int ps_recv_ex(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h, int *passed, int flags)
{
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(int))];
	} ctl;
	struct iovec iov = { buf, cap };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	if (passed) {
		*passed = -1;
		mh.msg_control = ctl.b;
		mh.msg_controllen = sizeof(ctl.b);
	}
	ssize_t k;
	do
		k = recvmsg(fd, &mh, MSG_TRUNC | MSG_CMSG_CLOEXEC | flags);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		return -EPIPE;
	if (k < 0)
		return -errno;
	bool extra = (mh.msg_flags & MSG_CTRUNC) != 0;
	if (passed) {
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS &&
			    c->cmsg_len == CMSG_LEN(sizeof(int)) && *passed < 0) {
				memcpy(passed, CMSG_DATA(c), sizeof(int));
			} else {
				extra = true;
				if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
					size_t nfd = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
					for (size_t i = 0; i < nfd; i++) {
						int x;
						memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof(x));
						close(x);
					}
				}
			}
		}
		if (extra && *passed >= 0) {
			close(*passed);
			*passed = -1;
		}
	}
	if (extra)
		return -EPROTO;
	if ((size_t)k > cap || (size_t)k < sizeof(*h))
		goto malformed;
	memcpy(h, buf, sizeof(*h));
	if (h->magic != PS_MAGIC || h->len != (size_t)k - sizeof(*h))
		goto malformed;
	return (int)h->len;
malformed:
	if (passed && *passed >= 0) {
		close(*passed);
		*passed = -1;
	}
	return -FG_EMALF;
}

static int ps_recv_fd(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h, int *passed)
{
	return ps_recv_ex(fd, buf, cap, h, passed, 0);
}

static int ps_recv(int fd, uint8_t *buf, size_t cap, struct ps_hdr *h)
{
	return ps_recv_fd(fd, buf, cap, h, NULL);
}

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

struct chan_ctx {
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
static int chan_nat_locked(struct chan_ctx *c)
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

static int chan_nat(struct chan_ctx *c)
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
static int pv_setup(struct chan_ctx *c, const struct ps_natcfg *m)
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

static int pv_request(struct chan_ctx *c, const struct ps_hdr *h, const uint8_t *pl);

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
static int pv_commits(struct chan_ctx *c, const struct ps_hdr *h0)
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
		int k = ps_recv_ex(c->fd, c->buf, sizeof(c->buf), &h, NULL, MSG_DONTWAIT);
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
		if (ps_send(c->fd, PS_COMMIT, 0, m[i].status, NULL, 0) < 0)
			return -EPIPE;
	if (stash == -EPIPE || stash == -EBADF || stash == -ENOTSOCK)
		return -EPIPE;
	if (stash < 0) {
		if (ps_send(c->fd, 0, 0,
			    refuse(FG_PS_R_FRAME, 0,
				   stash == -EPROTO ? "descriptors or credentials attached"
						    : "bad magic or header length"),
			    NULL, 0) < 0)
			return -EPIPE;
	} else if (stash > 0) {
		int src = pv_request(c, &h, c->buf + sizeof(h));
		if (ps_send(c->fd, h.op, 0, src, NULL, 0) < 0)
			return -EPIPE;
	}
	return 0;
}

/* COMMIT and REVOKE: the same checks of every grant of the batch */
static int pv_commit(struct chan_ctx *c, const struct ps_hdr *h, const uint8_t *pl)
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
	struct chan_ctx *c = vctx;
	if (c->dump_err)
		return;
	c->dump[c->ndump++] = *g;
	if (c->ndump == FG_PS_MAX_GRANTS) {
		c->dump_err = ps_send(c->fd, c->dump_op, (uint16_t)c->ndump, 0, c->dump,
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
static int priv_read_conf(struct chan_ctx *c)
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
		rc = ps_send(c->fd, PS_READCONF, 0, 0, text + off, (uint32_t)k);
	}
	free(text);
	return rc;
}

static int pv_quarantine(struct chan_ctx *c, const struct ps_hdr *h, const uint8_t *pl)
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
static int pv_evlog(struct chan_ctx *c)
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

static int pv_request(struct chan_ctx *c, const struct ps_hdr *h, const uint8_t *pl)
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
				rc = ps_send(c->fd, h->op, (uint16_t)c->ndump, 0, c->dump,
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
			rc = ps_send(c->fd, PS_COUNT, 1, 0, &k, sizeof(k));
		return rc;
	}
	case PS_STATS: {
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		uint64_t n = fg_privsep_refused(0);
		return ps_send(c->fd, PS_STATS, 1, 0, &n, sizeof(n));
	}
	case PS_EVLOG:
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		return pv_evlog(c);
	case PS_KEYS:
		if (h->len != 0)
			return refuse(FG_PS_R_FRAME, h->op, "length");
		return fg_ps_keys_serve(c->fd, priv.conf_path, ps_send);
	default:
		return refuse(FG_PS_R_FRAME, h->op, "unknown operation");
	}
}

static void *chan_thread(void *arg)
{
	struct chan_ctx *c = arg;
	struct ps_hdr h;

	for (;;) {
		int n = ps_recv(c->fd, c->buf, sizeof(c->buf), &h);
		if (n == -EPIPE || n == -EBADF || n == -ENOTSOCK)
			break;
		if (n < 0) {
			ps_send(c->fd, 0, 0,
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
		if (ps_send(c->fd, h.op, 0, rc, NULL, 0) < 0)
			break;
	}
	if (c->nat)
		priv.ops->close(c->nat);
	close(c->fd);
	return NULL;
}

/* Load the file once before serving: the policy is this process's own. */
static int priv_init(const char *table, const char *conf_path, const fg_nat_ops_t *ops)
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

static void priv_fini(void)
{
	pthread_rwlock_wrlock(&priv.lock);
	fg_ps_policy_free(priv.cur);
	fg_ps_policy_free(priv.pending);
	priv.cur = priv.pending = NULL;
	priv.gen = 0;
	priv.set_up = false;
	pthread_rwlock_unlock(&priv.lock);
}

int fg_privsep_test_serve(int fd, const char *table, const char *conf_path,
			  const fg_nat_ops_t *ops)
{
	int rc = priv_init(table, conf_path, ops);
	if (rc < 0)
		return rc;
	struct chan_ctx *c = calloc(1, sizeof(*c));
	if (!c) {
		priv_fini();
		return -ENOMEM;
	}
	c->fd = fd;
	chan_thread(c);
	free(c);
	priv_fini();
	return 0;
}

/* Keep CAP_NET_ADMIN only: the [priv] side needs nothing else. */
static int keep_net_admin(void)
{
	cap_t caps = cap_init();
	cap_value_t v[1] = { CAP_NET_ADMIN };
	int rc = -1;
	if (caps && cap_set_flag(caps, CAP_PERMITTED, 1, v, CAP_SET) == 0 &&
	    cap_set_flag(caps, CAP_EFFECTIVE, 1, v, CAP_SET) == 0)
		rc = cap_set_proc(caps);
	int e = errno;
	if (caps)
		cap_free(caps);
	return rc < 0 ? -e : 0;
}

static int priv_main(int *fds, unsigned n, pid_t child, int sigw)
{
	pthread_t *th = calloc(n, sizeof(*th));
	struct chan_ctx **cs = calloc(n, sizeof(*cs));
	sigset_t sigs;
	int status = 0;
	bool fatal = false;

	prctl(PR_SET_NAME, "fluxgated-priv");
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	sigaddset(&sigs, SIGCHLD);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	int rc = keep_net_admin();
	if (rc < 0) {
		/* fail closed: serve nothing; the [dns] side sees the channels
		 * and the signal pipe close and stops */
		log_err("privsep: cannot reduce capabilities to CAP_NET_ADMIN: %s; exiting",
			strerror(-rc));
		fatal = true;
	}

	for (unsigned i = 0; !fatal && th && cs && i < n; i++) {
		cs[i] = calloc(1, sizeof(**cs));
		if (!cs[i])
			break;
		cs[i]->fd = fds[i];
		fds[i] = -1;
		if (pthread_create(&th[i], NULL, chan_thread, cs[i]) != 0) {
			fds[i] = cs[i]->fd;
			free(cs[i]);
			cs[i] = NULL;
		}
	}
	for (unsigned i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	if (fatal) {
		close(sigw);
		sigw = -1;
	}
	/* relay signals to the [dns] side; leave when it leaves */
	for (;;) {
		siginfo_t si;
		int sig = sigwaitinfo(&sigs, &si);
		if (sig < 0)
			continue;
		if (sig == SIGCHLD) {
			pid_t w = waitpid(child, &status, WNOHANG);
			if (w == child)
				break;
			continue;
		}
		/* a pipe, not kill(2): the [dns] side runs as another user and
		 * this process has no CAP_KILL */
		uint8_t b = (uint8_t)sig;
		if (sigw >= 0 && write(sigw, &b, 1) < 0)
			log_warn("privsep: cannot relay signal %d: %s", sig, strerror(errno));
	}
	if (sigw >= 0)
		close(sigw);
	for (unsigned i = 0; i < n; i++) {
		if (cs && cs[i]) {
			shutdown(cs[i]->fd, SHUT_RDWR);
			pthread_join(th[i], NULL);
			free(cs[i]);
		}
	}
	free(cs);
	free(th);
	free(fds);
	priv_fini();
	if (fatal)
		return 1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	log_err("privsep: the DNS process died (signal %d)",
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return 1;
}

static void close_pairs(int *pfds, int *cfds, unsigned n)
{
	for (unsigned i = 0; i < n; i++) {
		close(pfds[i]);
		close(cfds[i]);
	}
	free(pfds);
	free(cfds);
}

int fg_privsep_fork(unsigned nchannels, const char *table, const char *conf_path,
		    bool *is_child)
{
	int *pfds = calloc(nchannels, sizeof(int));
	int *cfds = calloc(nchannels, sizeof(int));
	int rc = pfds && cfds ? priv_init(table, conf_path, &fg_nat_nft_ops) : -ENOMEM;
	if (rc < 0) {
		free(pfds);
		free(cfds);
		priv_fini();
		return rc;
	}
	for (unsigned i = 0; i < nchannels; i++) {
		int sp[2];
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
			int e = errno;
			close_pairs(pfds, cfds, i);
			priv_fini();
			return -e;
		}
		pfds[i] = sp[0];
		cfds[i] = sp[1];
	}
	int sp[2];
	if (pipe2(sp, O_CLOEXEC) < 0) {
		int e = errno;
		close_pairs(pfds, cfds, nchannels);
		priv_fini();
		return -e;
	}
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close_pairs(pfds, cfds, nchannels);
		close(sp[0]);
		close(sp[1]);
		priv_fini();
		return -e;
	}
	if (pid == 0) {
		priv_fini();          /* the [priv] policy is not the [dns] side's */
		close(sp[1]);
		dns_side.sigfd = sp[0];
		for (unsigned i = 0; i < nchannels; i++)
			close(pfds[i]);
		free(pfds);
		/* the [dns] side dies with the [priv] side, never orphaned */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dns_side.fds = cfds;
		dns_side.n = nchannels;
		dns_side.busy = calloc(nchannels, sizeof(bool));
		dns_side.active = dns_side.busy != NULL;
		*is_child = true;
		return dns_side.active ? 0 : -ENOMEM;
	}
	for (unsigned i = 0; i < nchannels; i++)
		close(cfds[i]);
	free(cfds);
	close(sp[0]);
	*is_child = false;
	log_info("privsep: DNS process %d, netlink kept in %d", (int)pid, (int)getpid());
	return priv_main(pfds, nchannels, pid, sp[1]);
}

/* ---- [dns] side: dropping privileges ------------------------------------ */

static int install_seccomp(void)
{
	/* A deny list with EPERM rather than an allow list: the libraries
	 * under the DNS workers (libc, libyaml, jansson, microhttpd) call a
	 * varying set of syscalls, and killing the daemon on an unlisted one
	 * would be a worse outage than the risk these rules remove. */
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
	if (!ctx)
		return -ENOMEM;
	int rc = 0;
	static const int denied[] = {
		SCMP_SYS(execve), SCMP_SYS(execveat), SCMP_SYS(ptrace),
		SCMP_SYS(process_vm_readv), SCMP_SYS(process_vm_writev),
		SCMP_SYS(mount), SCMP_SYS(umount2), SCMP_SYS(pivot_root), SCMP_SYS(chroot),
		SCMP_SYS(unshare), SCMP_SYS(setns), SCMP_SYS(bpf), SCMP_SYS(perf_event_open),
		SCMP_SYS(init_module), SCMP_SYS(finit_module), SCMP_SYS(delete_module),
		SCMP_SYS(kexec_load), SCMP_SYS(reboot), SCMP_SYS(swapon), SCMP_SYS(swapoff),
		SCMP_SYS(keyctl), SCMP_SYS(add_key), SCMP_SYS(request_key),
		SCMP_SYS(open_by_handle_at), SCMP_SYS(userfaultfd), SCMP_SYS(setuid),
		SCMP_SYS(setgid), SCMP_SYS(setreuid), SCMP_SYS(setregid),
		SCMP_SYS(setresuid), SCMP_SYS(setresgid), SCMP_SYS(setgroups),
		SCMP_SYS(capset),
	};
	for (size_t i = 0; i < sizeof(denied) / sizeof(denied[0]) && rc == 0; i++)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), denied[i], 0);
	/* no netlink (nftables, routes, conntrack) and no raw packet sockets */
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_NETLINK));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				      SCMP_A0(SCMP_CMP_EQ, AF_PACKET));
	if (rc == 0)
		rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(socket), 1,
				      SCMP_A1(SCMP_CMP_MASKED_EQ, 0xf, SOCK_RAW));
	/* No TSYNC: the drop happens before any thread starts, and without it
	 * libseccomp can fall back to prctl(PR_SET_SECCOMP) where seccomp(2)
	 * is unavailable (valgrind does not know the syscall). */
	if (rc == 0)
		rc = seccomp_load(ctx);
	seccomp_release(ctx);
	return rc;
}

int fg_privsep_drop(const char *user)
{
	struct passwd *pw;
	if (getuid() != 0 && geteuid() != 0) {
		/* started unprivileged (systemd User= with ambient
		 * capabilities): stay that user, only the capabilities go */
		pw = getpwuid(getuid());
		user = pw ? pw->pw_name : "(unnamed)";
	} else {
		pw = getpwnam(user);
		if (!pw) {
			log_err("privsep: user '%s' does not exist", user);
			return -ENOENT;
		}
		if (setgroups(1, &pw->pw_gid) < 0 || setgid(pw->pw_gid) < 0 ||
		    setuid(pw->pw_uid) < 0) {
			int e = errno;
			log_err("privsep: cannot become %s: %s", user, strerror(e));
			return -e;
		}
	}
	/* a credential change clears the parent-death signal: set it again */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	/* clear every capability, ambient ones included, for good */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	cap_t none = cap_init();
	if (!none || cap_set_proc(none) < 0) {
		if (none)
			cap_free(none);
		log_err("privsep: cannot clear capabilities: %s", strerror(errno));
		return -EPERM;
	}
	cap_free(none);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		int e = errno;
		log_err("privsep: cannot set no_new_privs: %s", strerror(e));
		return -e;
	}
	int rc = install_seccomp();
	if (rc < 0) {
		log_err("privsep: seccomp filter not installed: %s", strerror(-rc));
		return rc;
	}
	/* fail closed: prove the DNS process can no longer touch netlink */
	int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_NETFILTER);
	if (nl >= 0) {
		close(nl);
		log_err("privsep: netlink socket still allowed after the drop");
		return -EPERM;
	}
	cap_t now = cap_get_proc();
	cap_flag_value_t v = CAP_CLEAR;
	if (now)
		cap_get_flag(now, CAP_NET_ADMIN, CAP_EFFECTIVE, &v);
	if (now)
		cap_free(now);
	if (v == CAP_SET)
		return -EPERM;
	log_info("privsep: DNS process runs as %s (uid %d) without capabilities; "
		 "netlink socket refused: %s", user, (int)getuid(), strerror(errno));
	return 0;
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
		int len = ps_recv(n->fd, buf, sizeof(buf), &h);
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
	int rc = ps_send(n->fd, PS_COMMIT, (uint16_t)count, 0, g, (uint32_t)(count * sizeof(*g)));
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
		int rc = ps_send(n->fd, op, (uint16_t)k, 0, g, (uint32_t)(k * sizeof(*g)));
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
	int rc = ps_send(n->fd, PS_SETUP, 0, 0, &c, sizeof(c));
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
	int rc = ps_send(n->fd, PS_DUMP, 0, 0, NULL, 0);
	return rc < 0 ? rc : wait_status(n, PS_DUMP, dump_data, &d);
}

static int priv_dump_any(fg_nat_t *n, fg_nat_dump_fn fn, void *ctx)
{
	struct dump_ctx d = { fn, ctx };
	int rc = ps_send(n->fd, PS_DUMPANY, 0, 0, NULL, 0);
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
	int rc = ps_send(n->fd, PS_COUNT, 0, 0, NULL, 0);
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
	rc = ps_send(n->fd, PS_STATS, 0, 0, NULL, 0);
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
	rc = ps_send(n->fd, PS_EVLOG, 0, 0, NULL, 0);
	while (rc == 0) {
		struct ps_hdr h;
		int fd = -1;
		int len = ps_recv_fd(n->fd, buf, sizeof(buf), &h, &fd);
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
	int rc = ps_send(n->fd, op, 0, 0, &q, sizeof(q));
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
	rc = ps_send(n->fd, op, 0, 0, NULL, 0);
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

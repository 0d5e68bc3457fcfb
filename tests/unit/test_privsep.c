/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The privileged side of privilege separation trusts nothing the DNS side
 * sends: this test runs the [priv] request loop (over the in-memory NAT
 * backend) on one end of a socketpair, plays a compromised DNS process on
 * the other end, and checks that every forged request is refused with the
 * right status and counted, and that valid requests still work afterwards.
 * It also checks the pure policy (daemon/privsep_policy.h) directly.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/err.h"
#include "common/log.h"
#include "conf/conf.h"
#include "daemon/privsep.h"
#include "daemon/privsep_msg.h"
#include "daemon/privsep_policy.h"
#include "dataplane/nat.h"

static const char CONF[] =
	"server:\n  listen: [ 127.0.0.1@5353 ]\n"
	"zone:\n  - domain: example.test\n"
	"    soa: { mname: ns1.example.test, rname: h.example.test }\n"
	"pool:\n  - id: web4\n    prefix: 198.51.100.0/24\n"
	"  - id: small\n    prefix: 203.0.113.0/28\n"
	"  - id: web6\n    prefix: 2001:db8:77::/64\n"
	"service:\n"
	"  - id: www\n    name: www.example.test\n    backend: [ 10.0.2.10, 'fd00:2::10' ]\n"
	"    ports: [ any ]\n    pool: [ web4, web6 ]\n    ttl: 5s\n    grace: 2s\n"
	"  - id: other\n    name: other.example.test\n    backend: 10.0.2.11\n"
	"    ports: [ any ]\n    pool: small\n    ttl: 30s\n    grace: 30s\n"
	"decoy:\n  route-via: 10.0.3.1\n"
	"nat:\n  table: fg_pstest\n";

static struct {
	char path[64];
	char evdir[64];
	char evpath[96];              /* log.file of the file [priv] reads at start */
	int fd;                       /* the forged [dns] end */
	pthread_t th;
	int serve_rc;
	int sp[2];
	fg_conf_t *conf;
	fg_ps_policy_t *pol;
} T;

static void *serve_main(void *arg)
{
	(void)arg;
	T.serve_rc = fg_privsep_test_serve(T.sp[0], "fg_pstest", T.path, &fg_nat_mem_ops);
	return NULL;
}

static void quiet(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	fprintf(stderr, "%s:%d: %s\n", file, line, msg);
}

static int group_setup(void **state)
{
	(void)state;
	fg_log_init("test_privsep", FG_LOG_ERR);
	snprintf(T.evdir, sizeof(T.evdir), "/tmp/fg_pstest_ev.XXXXXX");
	if (!mkdtemp(T.evdir))
		return -1;
	snprintf(T.evpath, sizeof(T.evpath), "%s/eve.json", T.evdir);
	snprintf(T.path, sizeof(T.path), "/tmp/fg_pstest.XXXXXX");
	int f = mkstemp(T.path);
	char logsec[160];
	int ln = snprintf(logsec, sizeof(logsec), "log:\n  file: %s\n", T.evpath);
	if (f < 0 || write(f, CONF, sizeof(CONF) - 1) != (ssize_t)(sizeof(CONF) - 1) ||
	    write(f, logsec, (size_t)ln) != ln)
		return -1;
	close(f);
	if (fg_conf_load(T.path, &T.conf, quiet, NULL) < 0 || fg_ps_policy_new(T.conf, &T.pol) < 0)
		return -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, T.sp) < 0)
		return -1;
	T.fd = T.sp[1];
	return pthread_create(&T.th, NULL, serve_main, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	close(T.fd);
	pthread_join(T.th, NULL);
	fg_ps_policy_free(T.pol);
	fg_conf_free(T.conf);
	unlink(T.path);
	char old[128];
	snprintf(old, sizeof(old), "%s.1", T.evpath);
	unlink(old);
	unlink(T.evpath);
	rmdir(T.evdir);
	return T.serve_rc;
}

/* Send one raw message. */
static void send_raw(const void *buf, size_t len)
{
	assert_int_equal(send(T.fd, buf, len, 0), (ssize_t)len);
}

/* Send a request, read every reply up to the final status one; returns the
 * status and the number of data messages. */
static int req_hdr(uint16_t op, uint16_t count, int32_t status, uint32_t hlen,
		   const void *pl, uint32_t len, unsigned *ndata, fg_grant_t *dumped)
{
	static uint8_t buf[sizeof(struct ps_hdr) + FG_PS_CONF_CHUNK + sizeof(struct ps_natcfg) +
			   FG_PS_MAX_GRANTS * sizeof(fg_grant_t)];
	struct ps_hdr h = { PS_MAGIC, op, count, status, hlen };
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), pl, len);
	send_raw(buf, sizeof(h) + len);
	unsigned n = 0;
	for (;;) {
		ssize_t k = recv(T.fd, buf, sizeof(buf), 0);
		assert_true(k >= (ssize_t)sizeof(h));
		memcpy(&h, buf, sizeof(h));
		assert_int_equal(h.magic, PS_MAGIC);
		assert_int_equal(h.len, (size_t)k - sizeof(h));
		if (h.len == 0 && h.count == 0)
			break;
		if (dumped && (h.op == PS_DUMP || h.op == PS_DUMPANY))
			memcpy(dumped + n, buf + sizeof(h), h.len);
		n += h.count ? h.count : 1;
	}
	if (ndata)
		*ndata = n;
	return h.status;
}

static int req(uint16_t op, uint16_t count, const void *pl, uint32_t len)
{
	return req_hdr(op, count, 0, len, pl, len, NULL, NULL);
}

static void natcfg_msg(const fg_nat_config_t *c, struct ps_natcfg *m)
{
	memset(m, 0, sizeof(*m));
	snprintf(m->table, sizeof(m->table), "%s", c->table);
	m->npools = (uint32_t)c->npools;
	memcpy(m->pools, c->pools, c->npools * sizeof(*c->pools));
	m->decoy_set = c->decoy_set;
	m->decoy6_set = c->decoy6_set;
	m->decoy_family = c->decoy_family;
	memcpy(m->decoy_via, c->decoy_via, 16);
	memcpy(m->decoy_via6, c->decoy_via6, 16);
	m->pin_ms = c->pin_ms;
	m->pin_set_size = c->pin_set_size;
	m->grant_set_size = c->grant_set_size;
	m->decoy_mark = c->decoy_mark;
	m->route_table = c->route_table;
	m->nflog_group = c->nflog_group;
}

static fg_grant_t grant4(const char *addr, const char *backend, uint32_t ms)
{
	fg_grant_t g;
	memset(&g, 0, sizeof(g));
	g.family = AF_INET;
	g.scope = FG_SCOPE_CLIENT;
	g.client_plen = 32;
	inet_pton(AF_INET, "192.0.2.7", g.client);
	inet_pton(AF_INET, addr, g.addr);
	inet_pton(AF_INET, backend, g.backend);
	g.timeout_ms = ms;
	return g;
}

/* a refusal answers `status` and bumps the counter of `reason` by one */
#define REFUSED(reason, status, call) do { \
		uint64_t before_ = fg_privsep_refused(reason); \
		uint64_t all_ = fg_privsep_refused(0); \
		assert_int_equal((call), (status)); \
		assert_int_equal(fg_privsep_refused(reason), before_ + 1); \
		assert_int_equal(fg_privsep_refused(0), all_ + 1); \
	} while (0)

static void test_commit_before_setup(void **state)
{
	(void)state;
	fg_grant_t g = grant4("198.51.100.9", "10.0.2.10", 7000);
	assert_int_equal(req(PS_COMMIT, 1, &g, sizeof(g)), -EAGAIN);
}

static void test_setup_forged_refused(void **state)
{
	(void)state;
	struct ps_natcfg m;
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);

	/* the host's main table: would replace the default route */
	m.route_table = 254;
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);
	inet_pton(AF_INET, "10.9.9.9", m.decoy_via);
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);
	m.decoy_mark = 0x1;
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);
	inet_pton(AF_INET, "10.0.0.0", m.pools[0].first);   /* widen a pool */
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);
	snprintf(m.table, sizeof(m.table), "filter");
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	/* nothing was set up: commits still wait for a setup */
	fg_grant_t g = grant4("198.51.100.9", "10.0.2.10", 7000);
	assert_int_equal(req(PS_COMMIT, 1, &g, sizeof(g)), -EAGAIN);

	/* the configuration's own data plane is accepted */
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);
	assert_int_equal(fg_ps_policy_natcfg(T.pol)->route_table, 4666);
	assert_int_equal(req(PS_SETUP, 0, &m, sizeof(m)), 0);
}

static void test_commit_forged_refused(void **state)
{
	(void)state;
	fg_grant_t g = grant4("192.0.2.99", "10.0.2.10", 7000);    /* outside the pools */
	REFUSED(FG_PS_R_POOL, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.1.1.1", 7000);             /* an internal host */
	REFUSED(FG_PS_R_BACKEND, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.11", 7000);            /* another service's */
	REFUSED(FG_PS_R_BACKEND, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.10", 7000);
	g.backend_port = 22;                                       /* another port */
	REFUSED(FG_PS_R_BACKEND, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.10", 7001);            /* > ttl + grace */
	REFUSED(FG_PS_R_TIMEOUT, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.10", 0);
	REFUSED(FG_PS_R_TIMEOUT, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.10", 7000);
	g.scope = FG_SCOPE_NET;
	g.client_plen = 1;                                         /* half the Internet */
	REFUSED(FG_PS_R_PREFIX, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g.client_plen = 23;
	REFUSED(FG_PS_R_PREFIX, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	g.client_plen = 33;
	REFUSED(FG_PS_R_SCOPE, -FG_EMALF, req(PS_COMMIT, 1, &g, sizeof(g)));
	g.scope = 7;
	REFUSED(FG_PS_R_SCOPE, -FG_EMALF, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.10", 7000);
	g.family = AF_UNIX;
	REFUSED(FG_PS_R_FAMILY, -FG_EMALF, req(PS_COMMIT, 1, &g, sizeof(g)));
	g = grant4("198.51.100.9", "10.0.2.10", 7000);
	g.addr[8] = 1;                                             /* IPv4 with a tail */
	REFUSED(FG_PS_R_FAMILY, -FG_EMALF, req(PS_COMMIT, 1, &g, sizeof(g)));

	/* one bad grant refuses its whole batch */
	fg_grant_t two[2] = { grant4("198.51.100.9", "10.0.2.10", 7000),
			      grant4("192.0.2.99", "10.0.2.10", 7000) };
	REFUSED(FG_PS_R_POOL, -EPERM, req(PS_COMMIT, 2, two, sizeof(two)));
	unsigned n = 9;
	assert_int_equal(req_hdr(PS_DUMP, 0, 0, 0, NULL, 0, &n, NULL), 0);
	assert_int_equal(n, 0);
}

static void test_frames_refused(void **state)
{
	(void)state;
	fg_grant_t g = grant4("198.51.100.9", "10.0.2.10", 7000);
	/* header announces more than was sent */
	REFUSED(FG_PS_R_FRAME, -FG_EMALF,
		req_hdr(PS_COMMIT, 1, 0, sizeof(g) + 4, &g, sizeof(g), NULL, NULL));
	/* count and length disagree */
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_COMMIT, 2, &g, sizeof(g)));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_COMMIT, 0, NULL, 0));
	/* a status or a count where none belongs */
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req_hdr(PS_DUMP, 0, 5, 0, NULL, 0, NULL, NULL));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req_hdr(PS_COUNT, 3, 0, 0, NULL, 0, NULL, NULL));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_DUMP, 0, &g, 4));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_DUMPANY, 0, &g, 4));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req_hdr(PS_DUMPANY, 2, 0, 0, NULL, 0, NULL, NULL));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_COUNT, 0, &g, 4));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_READCONF, 0, &g, 4));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_SETUP, 0, &g, sizeof(g)));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_OP_MAX + 3, 0, NULL, 0));
	/* bad magic and a runt */
	struct ps_hdr h = { 0xdeadbeef, PS_DUMP, 0, 0, 0 };
	uint64_t before = fg_privsep_refused(FG_PS_R_FRAME);
	send_raw(&h, sizeof(h));
	send_raw(&h, 3);
	for (int i = 0; i < 2; i++) {
		struct ps_hdr r;
		assert_int_equal(recv(T.fd, &r, sizeof(r), 0), (ssize_t)sizeof(r));
		assert_int_equal(r.status, -FG_EMALF);
	}
	assert_int_equal(fg_privsep_refused(FG_PS_R_FRAME), before + 2);
}

static void test_quarantine_checked(void **state)
{
	(void)state;
	struct ps_quar q;
	memset(&q, 0, sizeof(q));
	q.family = AF_PACKET;
	REFUSED(FG_PS_R_FAMILY, -FG_EMALF, req(PS_QUARANTINE, 0, &q, sizeof(q)));
	q.family = AF_INET;
	inet_pton(AF_INET, "192.0.2.66", q.addr);
	q.addr[12] = 9;
	REFUSED(FG_PS_R_FAMILY, -FG_EMALF, req(PS_RELEASE, 0, &q, sizeof(q)));
	q.addr[12] = 0;
	q.timeout_ms = FG_PS_QUARANTINE_MAX_MS + 1;
	REFUSED(FG_PS_R_TIMEOUT, -EPERM, req(PS_QUARANTINE, 0, &q, sizeof(q)));
	REFUSED(FG_PS_R_TIMEOUT, -EPERM, req(PS_RELEASE, 0, &q, sizeof(q)));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_QUARANTINE, 0, &q, sizeof(q) - 1));
	/* valid ones work */
	q.timeout_ms = 60000;
	assert_int_equal(req(PS_QUARANTINE, 0, &q, sizeof(q)), 0);
	q.timeout_ms = 0;
	assert_int_equal(req(PS_RELEASE, 0, &q, sizeof(q)), 0);
}

static void test_valid_after_forgeries(void **state)
{
	(void)state;
	uint64_t refused = fg_privsep_refused(0);
	fg_grant_t g[4] = {
		grant4("198.51.100.9", "10.0.2.10", 7000),
		grant4("203.0.113.3", "10.0.2.11", 60000),
		grant4("198.51.100.10", "10.0.2.10", 7000),
		grant4("198.51.100.11", "10.0.2.10", 1000),
	};
	g[2].scope = FG_SCOPE_NET;
	g[2].client_plen = 24;
	g[3].scope = FG_SCOPE_ANY;
	g[3].client_plen = 0;
	memset(g[3].client, 0, sizeof(g[3].client));
	memset(g[2].client + 3, 0, 1);
	assert_int_equal(req(PS_COMMIT, 4, g, sizeof(g)), 0);
	fg_grant_t six;
	memset(&six, 0, sizeof(six));
	six.family = AF_INET6;
	six.scope = FG_SCOPE_NET;
	six.client_plen = 56;
	inet_pton(AF_INET6, "2001:db8:1:200::", six.client);
	inet_pton(AF_INET6, "2001:db8:77::42", six.addr);
	inet_pton(AF_INET6, "fd00:2::10", six.backend);
	six.timeout_ms = 7000;
	assert_int_equal(req(PS_COMMIT, 1, &six, sizeof(six)), 0);
	six.client_plen = 48;
	REFUSED(FG_PS_R_PREFIX, -EPERM, req(PS_COMMIT, 1, &six, sizeof(six)));
	refused++;

	fg_grant_t back[8];
	unsigned n = 0;
	assert_int_equal(req_hdr(PS_DUMP, 0, 0, 0, NULL, 0, &n, back), 0);
	assert_int_equal(n, 5);
	/* restart recovery's read-back: the one anyone grant alone */
	memset(back, 0, sizeof(back));
	assert_int_equal(req_hdr(PS_DUMPANY, 0, 0, 0, NULL, 0, &n, back), 0);
	assert_int_equal(n, 1);
	assert_int_equal(back[0].scope, FG_SCOPE_ANY);
	assert_memory_equal(back[0].addr, g[3].addr, 4);
	fg_nat_counts_t k;
	(void)k;
	assert_int_equal(req_hdr(PS_COUNT, 0, 0, 0, NULL, 0, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(fg_privsep_refused(0), refused);

	/* the [dns] side's metric reads the same total */
	uint64_t total = 0;
	static uint8_t buf[64];
	struct ps_hdr h = { PS_MAGIC, PS_STATS, 0, 0, 0 };
	send_raw(&h, sizeof(h));
	assert_int_equal(recv(T.fd, buf, sizeof(buf), 0), (ssize_t)(sizeof(h) + sizeof(total)));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.count, 1);
	memcpy(&total, buf + sizeof(h), sizeof(total));
	assert_int_equal(total, refused);
	assert_int_equal(recv(T.fd, buf, sizeof(buf), 0), (ssize_t)sizeof(h));
	memcpy(&h, buf, sizeof(h));
	assert_int_equal(h.status, 0);
}

/* A reload: [priv] takes the file it reads itself at READCONF and applies
 * it at the next matching SETUP; until then the old policy holds. */
static void test_reload_rereads(void **state)
{
	(void)state;
	char *next = strdup(CONF);
	char *p = strstr(next, "198.51.100.0/24");
	assert_non_null(p);
	memcpy(p, "198.51.101.0/24", 15);
	FILE *f = fopen(T.path, "w");
	assert_non_null(f);
	fputs(next, f);
	fclose(f);
	fg_conf_t *nc = NULL;
	fg_ps_policy_t *np = NULL;
	assert_int_equal(fg_conf_load(T.path, &nc, quiet, NULL), 0);
	assert_int_equal(fg_ps_policy_new(nc, &np), 0);
	struct ps_natcfg m;

	/* the new data plane before the file was re-read: refused */
	natcfg_msg(fg_ps_policy_natcfg(np), &m);
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	unsigned n = 0;
	assert_int_equal(req_hdr(PS_READCONF, 0, 0, 0, NULL, 0, &n, NULL), 0);
	assert_true(n >= 1);
	/* still the old policy until the setup */
	fg_grant_t g = grant4("198.51.101.9", "10.0.2.10", 7000);
	REFUSED(FG_PS_R_POOL, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));
	/* the old data plane no longer matches the file */
	natcfg_msg(fg_ps_policy_natcfg(T.pol), &m);
	REFUSED(FG_PS_R_SETUP, -EPERM, req(PS_SETUP, 0, &m, sizeof(m)));
	natcfg_msg(fg_ps_policy_natcfg(np), &m);
	assert_int_equal(req(PS_SETUP, 0, &m, sizeof(m)), 0);
	assert_int_equal(req(PS_COMMIT, 1, &g, sizeof(g)), 0);
	g = grant4("198.51.100.9", "10.0.2.10", 7000);
	REFUSED(FG_PS_R_POOL, -EPERM, req(PS_COMMIT, 1, &g, sizeof(g)));

	fg_ps_policy_free(T.pol);
	fg_conf_free(T.conf);
	T.pol = np;
	T.conf = nc;
	free(next);
}

/* PS_EVLOG: one data message with exactly one descriptor, then the status.
 * Returns the status; *fd gets the descriptor (or -1). */
static int req_evlog(int *fd)
{
	struct ps_hdr h = { PS_MAGIC, PS_EVLOG, 0, 0, 0 };
	send_raw(&h, sizeof(h));
	*fd = -1;
	for (;;) {
		union {
			struct cmsghdr c;
			uint8_t b[CMSG_SPACE(4 * sizeof(int))];
		} ctl;
		struct iovec iov = { &h, sizeof(h) };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
				     .msg_controllen = sizeof(ctl.b) };
		assert_int_equal(recvmsg(T.fd, &mh, MSG_CMSG_CLOEXEC), (ssize_t)sizeof(h));
		assert_int_equal(h.magic, PS_MAGIC);
		assert_int_equal(h.len, 0);
		struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
		if (h.count == 0) {
			assert_null(c);       /* the status carries nothing */
			return h.status;
		}
		assert_int_equal(h.count, 1);
		assert_int_equal(*fd, -1);
		assert_non_null(c);
		assert_int_equal(c->cmsg_type, SCM_RIGHTS);
		assert_int_equal(c->cmsg_len, CMSG_LEN(sizeof(int)));
		assert_null(CMSG_NXTHDR(&mh, c));
		memcpy(fd, CMSG_DATA(c), sizeof(int));
	}
}

static void assert_evlog_fd(int fd)
{
	struct stat st;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	assert_true(S_ISREG(st.st_mode));
	mode_t um = umask(0);
	umask(um);
	assert_int_equal(st.st_mode & 07777, 0640 & ~um);
	int fl = fcntl(fd, F_GETFL);
	assert_int_equal(fl & O_ACCMODE, O_WRONLY);
	assert_true(fl & O_APPEND);
	assert_false(fl & O_NONBLOCK);
}

static size_t file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 ? (size_t)st.st_size : (size_t)-1;
}

/* [priv] opens the event log of the file it read at start and hands it
 * over; after a rename (logrotate) the next request creates a new file. */
static void test_evlog_handed_over(void **state)
{
	(void)state;
	int fd = -1;
	assert_int_equal(req_evlog(&fd), 0);
	assert_evlog_fd(fd);
	assert_int_equal(write(fd, "one\n", 4), 4);
	close(fd);
	assert_int_equal(file_size(T.evpath), 4);

	char old[128];
	snprintf(old, sizeof(old), "%s.1", T.evpath);
	assert_int_equal(rename(T.evpath, old), 0);
	assert_int_equal(req_evlog(&fd), 0);
	assert_evlog_fd(fd);
	assert_int_equal(write(fd, "two!!\n", 6), 6);
	close(fd);
	assert_int_equal(file_size(T.evpath), 6);
	assert_int_equal(file_size(old), 4);

	/* appended to, never truncated */
	assert_int_equal(req_evlog(&fd), 0);
	assert_int_equal(write(fd, "3\n", 2), 2);
	close(fd);
	assert_int_equal(file_size(T.evpath), 8);
}

/* Something else planted at the path is refused, not handed over. */
static void test_evlog_not_regular(void **state)
{
	(void)state;
	int fd = -1;
	unlink(T.evpath);
	/* a FIFO without a reader: not waited for (O_NONBLOCK) */
	assert_int_equal(mkfifo(T.evpath, 0600), 0);
	int rc = req_evlog(&fd);
	unlink(T.evpath);
	assert_int_equal(rc, -ENXIO);
	assert_int_equal(fd, -1);
	/* a device behind a symlink */
	assert_int_equal(symlink("/dev/null", T.evpath), 0);
	rc = req_evlog(&fd);
	unlink(T.evpath);
	assert_int_equal(rc, -EINVAL);
	assert_int_equal(fd, -1);
}

/* The request names no path: one with a payload, a count, or descriptors
 * attached is refused and counted. */
/* PS_KEYS: a request with a payload or a count is refused; the [priv]
 * side's answer holds the secret files and the .private files its own
 * configuration names, and nothing when one is readable by others. */
static void test_keys_forged_refused(void **state)
{
	(void)state;
	char path[] = "/etc/shadow";
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_KEYS, 0, path, sizeof(path)));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req_hdr(PS_KEYS, 1, 0, 0, NULL, 0, NULL, NULL));
	/* the test configuration names no key: an empty answer */
	unsigned n = 9;
	assert_int_equal(req_hdr(PS_KEYS, 0, 0, 0, NULL, 0, &n, NULL), 0);
	assert_int_equal(n, 0);
}

static void test_evlog_forged_refused(void **state)
{
	(void)state;
	char path[] = "/etc/shadow";
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req(PS_EVLOG, 0, path, sizeof(path)));
	REFUSED(FG_PS_R_FRAME, -FG_EMALF, req_hdr(PS_EVLOG, 1, 0, 0, NULL, 0, NULL, NULL));

	/* a [dns] side passing a descriptor along */
	uint64_t before = fg_privsep_refused(FG_PS_R_FRAME);
	struct ps_hdr h = { PS_MAGIC, PS_DUMP, 0, 0, 0 };
	int pass = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(pass >= 0);
	union {
		struct cmsghdr c;
		uint8_t b[CMSG_SPACE(sizeof(int))];
	} ctl;
	memset(&ctl, 0, sizeof(ctl));
	struct iovec iov = { &h, sizeof(h) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.b,
			     .msg_controllen = sizeof(ctl.b) };
	struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &pass, sizeof(int));
	assert_int_equal(sendmsg(T.fd, &mh, 0), (ssize_t)sizeof(h));
	close(pass);
	struct ps_hdr r;
	assert_int_equal(recv(T.fd, &r, sizeof(r), 0), (ssize_t)sizeof(r));
	assert_int_equal(r.status, -FG_EMALF);
	assert_int_equal(fg_privsep_refused(FG_PS_R_FRAME), before + 1);

	/* the channel still serves */
	int fd = -1;
	assert_int_equal(req_evlog(&fd), 0);
	assert_evlog_fd(fd);
	close(fd);
}

/* the pure checks, without the channel */
/* Pipelined COMMITs queued on one channel ([priv] may take them into one
 * transaction): each gets its own status, in order; a forged one among
 * them is refused alone, the valid ones around it are committed, and a
 * request of another kind queued behind them is still answered. */
static void test_pipelined_commits(void **state)
{
	(void)state;
	uint64_t refused = fg_privsep_refused(0);
	fg_grant_t g[3] = {
		grant4("198.51.100.30", "10.0.2.10", 7000),
		grant4("192.0.2.99", "10.0.2.10", 7000),     /* outside the pools */
		grant4("198.51.100.31", "10.0.2.10", 7000),
	};
	uint8_t buf[sizeof(struct ps_hdr) + sizeof(fg_grant_t)];
	for (int i = 0; i < 3; i++) {
		struct ps_hdr h = { PS_MAGIC, PS_COMMIT, 1, 0, sizeof(fg_grant_t) };
		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), &g[i], sizeof(g[i]));
		send_raw(buf, sizeof(buf));
	}
	struct ps_hdr hc = { PS_MAGIC, PS_COUNT, 0, 0, 0 };
	send_raw(&hc, sizeof(hc));
	int want[3] = { 0, -EPERM, 0 };
	for (int i = 0; i < 3; i++) {
		struct ps_hdr h;
		assert_int_equal(recv(T.fd, &h, sizeof(h), 0), (ssize_t)sizeof(h));
		assert_int_equal(h.magic, PS_MAGIC);
		assert_int_equal(h.op, PS_COMMIT);
		assert_int_equal(h.count, 0);
		assert_int_equal(h.status, want[i]);
	}
	/* the COUNT: one data message, then its status */
	uint8_t rb[512];
	struct ps_hdr h;
	ssize_t k = recv(T.fd, rb, sizeof(rb), 0);
	assert_true(k >= (ssize_t)sizeof(h));
	memcpy(&h, rb, sizeof(h));
	assert_int_equal(h.op, PS_COUNT);
	assert_int_equal(h.count, 1);
	k = recv(T.fd, rb, sizeof(rb), 0);
	assert_int_equal(k, (ssize_t)sizeof(h));
	memcpy(&h, rb, sizeof(h));
	assert_int_equal(h.status, 0);
	assert_int_equal(fg_privsep_refused(FG_PS_R_POOL) > 0, 1);
	assert_int_equal(fg_privsep_refused(0), refused + 1);
	/* both valid grants are in the data plane */
	static fg_grant_t back[4096];
	unsigned n = 0;
	assert_int_equal(req_hdr(PS_DUMP, 0, 0, 0, NULL, 0, &n, back), 0);
	int seen = 0;
	for (unsigned i = 0; i < n && i < 4096; i++)
		if (!memcmp(back[i].addr, g[0].addr, 4) || !memcmp(back[i].addr, g[2].addr, 4))
			seen++;
	assert_int_equal(seen, 2);
}

static void test_policy_pure(void **state)
{
	(void)state;
	fg_grant_t g = grant4("203.0.113.15", "10.0.2.11", 60000);   /* last of /28 */
	assert_int_equal(fg_ps_check_grant(T.pol, &g), FG_PS_OK);
	g = grant4("203.0.113.16", "10.0.2.11", 60000);
	assert_int_equal(fg_ps_check_grant(T.pol, &g), FG_PS_R_POOL);
	g = grant4("203.0.113.1", "10.0.2.11", 60001);
	assert_int_equal(fg_ps_check_grant(T.pol, &g), FG_PS_R_TIMEOUT);
	g = grant4("203.0.113.1", "10.0.2.10", 1000);
	assert_int_equal(fg_ps_check_grant(T.pol, &g), FG_PS_R_BACKEND);

	fg_nat_config_t c = *fg_ps_policy_natcfg(T.pol);
	assert_null(fg_ps_natcfg_diff(fg_ps_policy_natcfg(T.pol), &c));
	c.route_table = 254;
	assert_string_equal(fg_ps_natcfg_diff(fg_ps_policy_natcfg(T.pol), &c), "route_table");
	c = *fg_ps_policy_natcfg(T.pol);
	c.npools--;
	assert_string_equal(fg_ps_natcfg_diff(fg_ps_policy_natcfg(T.pol), &c), "pools");
	assert_string_equal(fg_ps_refusal_name(FG_PS_R_BACKEND), "backend");

	/* a reload writes the kernel only when its state would differ */
	const fg_nat_config_t *p = fg_ps_policy_natcfg(T.pol);
	c = *p;
	assert_true(fg_ps_natcfg_same_kernel(p, &c));
	c.nbackends = 0;                  /* backends only check commits */
	assert_true(fg_ps_natcfg_same_kernel(p, &c));
	c = *p;
	c.pin_ms++;
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
	c = *p;
	c.net_hash_plen4 = 20;            /* ecs-min-prefix4: another hash map */
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
	c = *p;
	c.net_hash_plen6 = 48;
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
	assert_true(p->nsvcports > 0 && p->nlisten > 0);
	fg_nat_svcport_t sp[64];
	assert_true(p->nsvcports <= 64);
	memcpy(sp, p->svcports, p->nsvcports * sizeof(*sp));
	c = *p;
	c.svcports = sp;
	assert_true(fg_ps_natcfg_same_kernel(p, &c));
	sp[0].port_last--;                /* a service's ports changed */
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
	c = *p;
	c.nsvcports--;
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
	fg_nat_listen_t ls[16];
	assert_true(p->nlisten <= 16);
	memcpy(ls, p->listen, p->nlisten * sizeof(*ls));
	ls[0].port++;                     /* a DNS listener moved */
	c = *p;
	c.listen = ls;
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
	c = *p;
	c.ports_set = !c.ports_set;
	assert_false(fg_ps_natcfg_same_kernel(p, &c));
}

/* the subnet minimum is the configuration's policy.ecs-min-prefix4/6 */
static void test_policy_ecs_min_from_conf(void **state)
{
	(void)state;
	static const char extra[] = "policy:\n  ecs-min-prefix4: 28\n  ecs-min-prefix6: 64\n";
	char buf[sizeof(CONF) + sizeof(extra)];
	snprintf(buf, sizeof(buf), "%s%s", CONF, extra);
	fg_conf_t *c = NULL;
	fg_ps_policy_t *p = NULL;
	assert_int_equal(fg_conf_load_buffer("t.conf", buf, strlen(buf), &c, quiet, NULL), 0);
	assert_int_equal(fg_ps_policy_new(c, &p), 0);
	fg_grant_t g = grant4("198.51.100.9", "10.0.2.10", 7000);
	g.scope = FG_SCOPE_NET;
	g.client_plen = 24;
	assert_int_equal(fg_ps_check_grant(T.pol, &g), FG_PS_OK);     /* default /24 */
	assert_int_equal(fg_ps_check_grant(p, &g), FG_PS_R_PREFIX);
	g.client_plen = 28;
	assert_int_equal(fg_ps_check_grant(p, &g), FG_PS_OK);
	fg_grant_t six;
	memset(&six, 0, sizeof(six));
	six.family = AF_INET6;
	six.scope = FG_SCOPE_NET;
	six.client_plen = 56;
	inet_pton(AF_INET6, "2001:db8:77::42", six.addr);
	inet_pton(AF_INET6, "fd00:2::10", six.backend);
	six.timeout_ms = 7000;
	assert_int_equal(fg_ps_check_grant(p, &six), FG_PS_R_PREFIX);
	six.client_plen = 64;
	assert_int_equal(fg_ps_check_grant(p, &six), FG_PS_OK);
	fg_ps_policy_free(p);
	fg_conf_free(c);
}

/* an external service's grants live epoch + ttl + grace, no longer, and
 * only that service gets the longer lifetime */
static void test_policy_external_timeout(void **state)
{
	(void)state;
	static const char extra[] =
		"key:\n  - { id: k, algorithm: hmac-sha256, secret: \"c2VjcmV0c2VjcmV0\" }\n";
	static const char ext[] =
		"  - id: ext\n    name: ext.mtd.other.test\n    backend: 10.0.2.12\n"
		"    ports: [ any ]\n    pool: ext4\n    ttl: 5s\n    grace: 2s\n"
		"    external: { server: 192.0.2.53, zone: other.test, key: k, epoch: 30s }\n";
	char buf[sizeof(CONF) + sizeof(extra) + sizeof(ext) + 64];
	/* the service goes at the end of the service list, its pool with the others */
	const char *svc_end = strstr(CONF, "decoy:");
	const char *pool_end = strstr(CONF, "service:");
	snprintf(buf, sizeof(buf), "%.*s  - id: ext4\n    prefix: 192.0.2.0/28\n%.*s%s%s%s",
		 (int)(pool_end - CONF), CONF, (int)(svc_end - pool_end), pool_end, ext, svc_end,
		 extra);
	fg_conf_t *c = NULL;
	fg_ps_policy_t *p = NULL;
	assert_int_equal(fg_conf_load_buffer("t.conf", buf, strlen(buf), &c, quiet, NULL), 0);
	assert_int_equal(fg_ps_policy_new(c, &p), 0);
	fg_grant_t g = grant4("192.0.2.5", "10.0.2.12", 37000);
	g.scope = FG_SCOPE_ANY;
	g.client_plen = 0;
	memset(g.client, 0, sizeof(g.client));
	assert_int_equal(fg_ps_check_grant(p, &g), FG_PS_OK);
	g.timeout_ms = 37001;
	assert_int_equal(fg_ps_check_grant(p, &g), FG_PS_R_TIMEOUT);
	/* the plain service next to it keeps ttl + grace */
	g = grant4("198.51.100.9", "10.0.2.10", 7001);
	assert_int_equal(fg_ps_check_grant(p, &g), FG_PS_R_TIMEOUT);
	fg_ps_policy_free(p);
	fg_conf_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_external_timeout),
		cmocka_unit_test(test_commit_before_setup),
		cmocka_unit_test(test_setup_forged_refused),
		cmocka_unit_test(test_commit_forged_refused),
		cmocka_unit_test(test_frames_refused),
		cmocka_unit_test(test_quarantine_checked),
		cmocka_unit_test(test_valid_after_forgeries),
		cmocka_unit_test(test_pipelined_commits),
		cmocka_unit_test(test_policy_pure),
		cmocka_unit_test(test_policy_ecs_min_from_conf),
		cmocka_unit_test(test_evlog_handed_over),
		cmocka_unit_test(test_evlog_not_regular),
		cmocka_unit_test(test_evlog_forged_refused),
		cmocka_unit_test(test_keys_forged_refused),
		cmocka_unit_test(test_reload_rereads),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Unit tests: distributed mode. The command frames (dist/frame.h), PSK
 * files, the TLS 1.3 handshake (PSK right, wrong, unknown, plaintext) over
 * socketpairs, the role checks of the config, and a controller hub and an
 * agent talking over loopback TCP to a recording NAT backend of this file:
 * grant before answer (a refused, a stalled, a dead agent fail the
 * commit), revoke of an unanswered batch, idempotent replay.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/err.h"
#include "conf/conf.h"
#include "dist/agent.h"
#include "dist/digest.h"
#include "dist/frame.h"
#include "dist/hub.h"
#include "dist/tls.h"

/* ---- frames ---- */

static fg_grant_t grant4(const char *client, const char *addr)
{
	fg_grant_t g;
	memset(&g, 0, sizeof(g));
	g.family = AF_INET;
	g.scope = FG_SCOPE_CLIENT;
	g.client_plen = 32;
	inet_pton(AF_INET, client, g.client);
	inet_pton(AF_INET, addr, g.addr);
	inet_pton(AF_INET, "10.9.0.10", g.backend);
	g.backend_port = 8080;
	g.timeout_ms = 61000;   /* within the test service's ttl + grace */
	return g;
}

static int roundtrip(const fg_dist_msg_t *in, fg_dist_msg_t *out, uint8_t *buf, size_t cap)
{
	char err[128];
	int n = fg_dist_encode(in, buf, cap);
	if (n < 0)
		return n;
	return fg_dist_decode(buf, (size_t)n, out, err, sizeof(err)) == 0 ? n : -1;
}

static void test_frame_roundtrip(void **st)
{
	(void)st;
	static fg_dist_msg_t m, o;
	uint8_t buf[FG_DIST_MAX_FRAME];
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_HELLO;
	m.epoch = 0x0102030405060708ull;
	strcpy(m.id, "ctl-1");
	assert_true(roundtrip(&m, &o, buf, sizeof(buf)) > 0);
	assert_int_equal(o.h.type, FG_DIST_HELLO);
	assert_true(o.epoch == m.epoch);
	assert_string_equal(o.id, "ctl-1");

	m.h.type = FG_DIST_WELCOME;
	m.last_seq = 1ull << 40;
	assert_true(roundtrip(&m, &o, buf, sizeof(buf)) > 0);
	assert_true(o.last_seq == 1ull << 40);

	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_GRANT;
	m.h.seq = 77;
	m.ngrants = FG_DIST_MAX_GRANTS;
	for (unsigned i = 0; i < m.ngrants; i++)
		m.grants[i] = grant4("192.0.2.7", "198.51.100.9");
	m.grants[3].scope = FG_SCOPE_NET;
	m.grants[3].client_plen = 24;
	int n = roundtrip(&m, &o, buf, sizeof(buf));
	assert_int_equal(n, FG_DIST_MAX_FRAME);
	assert_int_equal(o.ngrants, FG_DIST_MAX_GRANTS);
	assert_true(o.h.seq == 77);
	assert_memory_equal(&o.grants[3], &m.grants[3], sizeof(fg_grant_t));

	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_QUARANTINE;
	m.h.seq = 5;
	m.family = AF_INET6;
	m.src[0] = 0x20;
	m.timeout_ms = 60000;
	assert_true(roundtrip(&m, &o, buf, sizeof(buf)) > 0);
	assert_int_equal(o.family, AF_INET6);
	assert_int_equal(o.timeout_ms, 60000);

	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_ACK;
	m.h.seq = 5;
	m.status = -EPERM;
	strcpy(m.text, "grant 0 refused\n");
	assert_true(roundtrip(&m, &o, buf, sizeof(buf)) > 0);
	assert_int_equal(o.status, -EPERM);
	assert_string_equal(o.text, "grant 0 refused?");   /* no control characters reach a log */
}

static void expect_refused(const uint8_t *buf, size_t len, const char *why)
{
	static fg_dist_msg_t o;
	char err[160] = "";
	assert_true(fg_dist_decode(buf, len, &o, err, sizeof(err)) < 0);
	if (!strstr(err, why))
		fail_msg("expected '%s' in '%s'", why, err);
}

static void test_frame_refusals(void **st)
{
	(void)st;
	static fg_dist_msg_t m;
	uint8_t buf[FG_DIST_MAX_FRAME], b2[FG_DIST_MAX_FRAME];
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_GRANT;
	m.h.seq = 1;
	m.ngrants = 1;
	m.grants[0] = grant4("192.0.2.7", "198.51.100.9");
	int n = fg_dist_encode(&m, buf, sizeof(buf));
	assert_true(n > 0);

	/* every truncation is refused */
	for (int k = 0; k < n; k++) {
		char err[160] = "";
		assert_true(fg_dist_decode(buf, (size_t)k, &m, err, sizeof(err)) < 0);
		assert_true(err[0] != '\0');
	}
	memcpy(b2, buf, (size_t)n);
	b2[0] = 'X';
	expect_refused(b2, (size_t)n, "bad magic");
	memcpy(b2, buf, (size_t)n);
	b2[2] = 9;
	expect_refused(b2, (size_t)n, "unsupported version 9");
	memcpy(b2, buf, (size_t)n);
	b2[3] = 42;
	expect_refused(b2, (size_t)n, "unknown frame type 42");
	memcpy(b2, buf, (size_t)n);
	b2[FG_DIST_HDR_LEN + 2] = 7;             /* family */
	expect_refused(b2, (size_t)n, "family 7");
	memcpy(b2, buf, (size_t)n);
	b2[FG_DIST_HDR_LEN + 3] = 3;             /* scope */
	expect_refused(b2, (size_t)n, "unknown scope 3");
	memcpy(b2, buf, (size_t)n);
	b2[FG_DIST_HDR_LEN + 4] = 33;            /* prefix length */
	expect_refused(b2, (size_t)n, "/33");
	memcpy(b2, buf, (size_t)n);
	b2[FG_DIST_HDR_LEN + 2 + 3 + 16 + 9] = 1; /* an IPv4 address's 10th octet */
	expect_refused(b2, (size_t)n, "past the 4th");
	memcpy(b2, buf, (size_t)n);
	b2[15] = 0;                               /* sequence number 0 */
	expect_refused(b2, (size_t)n, "sequence number 0");
	memcpy(b2, buf, (size_t)n);
	b2[FG_DIST_HDR_LEN + 1] = 0;             /* zero grants */
	expect_refused(b2, (size_t)n, "of 0 grants");
	/* a payload length beyond the largest frame */
	memcpy(b2, buf, (size_t)n);
	b2[4] = 1;
	expect_refused(b2, (size_t)n, "exceeds");
	/* trailing octets the header counts */
	memcpy(b2, buf, (size_t)n);
	b2[n] = 0;
	b2[7]++;
	expect_refused(b2, (size_t)n + 1, "after the payload");
	/* a HELLO with a sequence number, an ACK with a positive status */
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_HELLO;
	m.h.seq = 3;
	strcpy(m.id, "c");
	n = fg_dist_encode(&m, buf, sizeof(buf));
	expect_refused(buf, (size_t)n, "must be 0");
	m.h.seq = 0;
	strcpy(m.id, "bad id");
	n = fg_dist_encode(&m, buf, sizeof(buf));
	expect_refused(buf, (size_t)n, "outside [A-Za-z0-9._-]");
	memset(&m, 0, sizeof(m));
	m.h.type = FG_DIST_ACK;
	m.h.seq = 1;
	m.status = 5;
	n = fg_dist_encode(&m, buf, sizeof(buf));
	expect_refused(buf, (size_t)n, "status 5");
}

static void test_psk_parse(void **st)
{
	(void)st;
	uint8_t k[FG_DIST_PSK_MAX];
	size_t len = 0;
	char err[160];
	char hex[200];
	for (int i = 0; i < 64; i++)
		hex[i] = "0123456789abcdef"[i % 16];
	hex[64] = '\n';
	hex[65] = '\0';
	assert_int_equal(fg_dist_psk_parse(hex, k, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 32);
	assert_int_equal(k[0], 0x01);
	hex[62] = '\0';
	assert_true(fg_dist_psk_parse(hex, k, &len, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "62 hex digits"));
	hex[62] = 'x';
	hex[63] = 'y';
	assert_true(fg_dist_psk_parse(hex, k, &len, err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "not hex"));
	assert_true(fg_dist_psk_parse("", k, &len, err, sizeof(err)) < 0);
}

/* ---- TLS over a socketpair ---- */

static fg_dist_key_t srv_key, cli_key;

static const fg_dist_key_t *lookup(void *ctx, const char *id)
{
	(void)ctx;
	return strcmp(id, srv_key.id) ? NULL : &srv_key;
}

struct hs { int fd; int rc; char err[256]; bool plaintext; };

static void *server_side(void *arg)
{
	struct hs *h = arg;
	SSL_CTX *c = fg_dist_tls_ctx(true, NULL, h->err, sizeof(h->err));
	SSL *s = fg_dist_tls_server(c, h->fd, lookup, NULL);
	h->rc = fg_dist_tls_handshake(s, h->fd, 3000, h->err, sizeof(h->err));
	if (h->rc == 0 && !fg_dist_tls_peer_is(s, "ctl"))
		h->rc = -1000;
	SSL_free(s);
	SSL_CTX_free(c);
	close(h->fd);
	return NULL;
}

static int handshake(const char *self, bool plaintext, struct hs *srv)
{
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	pthread_t t;
	memset(srv, 0, sizeof(*srv));
	srv->fd = sv[1];
	pthread_create(&t, NULL, server_side, srv);
	int rc;
	if (plaintext) {
		rc = write(sv[0], "GET / HTTP/1.0\r\n\r\n", 18) == 18 ? 0 : -1;
		char b[64];
		rc = read(sv[0], b, sizeof(b)) > 0 ? -2 : rc;   /* an alert at most */
	} else {
		char err[256];
		SSL_CTX *c = fg_dist_tls_ctx(false, NULL, err, sizeof(err));
		SSL *s = fg_dist_tls_client(c, sv[0], self, &cli_key);
		rc = fg_dist_tls_handshake(s, sv[0], 3000, err, sizeof(err));
		SSL_free(s);
		SSL_CTX_free(c);
	}
	close(sv[0]);
	pthread_join(t, NULL);
	return rc;
}

static void test_tls_psk(void **st)
{
	(void)st;
	struct hs srv;
	strcpy(srv_key.id, "ctl");
	srv_key.psklen = 32;
	memset(srv_key.psk, 0x5a, 32);
	cli_key = srv_key;
	strcpy(cli_key.id, "agent-a");
	assert_int_equal(handshake("ctl", false, &srv), 0);
	assert_int_equal(srv.rc, 0);
	/* a wrong key */
	cli_key.psk[7] ^= 1;
	assert_true(handshake("ctl", false, &srv) < 0);
	assert_true(srv.rc < 0);
	cli_key.psk[7] ^= 1;
	/* an identity the server does not know */
	assert_true(handshake("intruder", false, &srv) < 0);
	assert_true(srv.rc < 0);
	/* plaintext */
	handshake("ctl", true, &srv);
	assert_true(srv.rc < 0);
}

/* ---- config: roles ---- */

static unsigned diags;
static char last_diag[512];
static void diag(void *ctx, const char *file, int line, const char *msg)
{
	(void)ctx;
	(void)file;
	(void)line;
	diags++;
	size_t l = strlen(last_diag);
	snprintf(last_diag + l, sizeof(last_diag) - l, "%s\n", msg);
}

#define COMMON \
	"server: { listen: [ \"127.0.0.1@5353\" ], workers: 1 }\n" \
	"zone:\n  - domain: example.test\n    soa: { mname: ns1.example.test, rname: h.example.test }\n" \
	"pool:\n  - id: p4\n    prefix: 198.51.100.0/24\n" \
	"service:\n  - id: www\n    name: www.example.test\n    backend: 10.9.0.10@8080\n    pool: p4\n    ttl: 60s\n"

static fg_conf_t *load(const char *text)
{
	fg_conf_t *c = NULL;
	diags = 0;
	last_diag[0] = '\0';
	if (fg_conf_load_buffer("t.conf", text, strlen(text), &c, diag, NULL) < 0)
		return NULL;
	return c;
}

static void test_conf_roles(void **st)
{
	(void)st;
	fg_conf_t *c = load(COMMON);
	assert_non_null(c);
	assert_int_equal(c->role, FG_ROLE_STANDALONE);
	fg_conf_free(c);
	assert_null(load("role: controller\n" COMMON));
	assert_non_null(strstr(last_diag, "at least one agent"));
	assert_null(load("role: agent\ndist: { id: a }\n" COMMON));
	assert_non_null(strstr(last_diag, "controller"));
	assert_null(load("role: controller\ndist: { id: c }\nagent:\n  - id: a\n    address: 127.0.0.1\n" COMMON));
	assert_non_null(strstr(last_diag, "could not authenticate"));
	assert_null(load("role: controller\ndist: { id: c }\nagent:\n  - id: a\n    address: 127.0.0.1\n"
			 "    psk-file: /k\n    pool: [ nope ]\n" COMMON));
	assert_null(load("agent:\n  - id: a\n    address: 127.0.0.1\n    psk-file: /k\n" COMMON));
	assert_non_null(strstr(last_diag, "only with role: controller"));
	c = load("role: controller\ndist: { id: c }\nagent:\n  - id: a\n    address: 127.0.0.1\n"
		 "    psk-file: /k\n" COMMON);
	assert_non_null(c);
	assert_int_equal(c->nagents, 1);
	assert_int_equal(c->agents[0].timeout_ms, 2000);
	assert_int_equal(c->dist.log_size, 1024);
	fg_conf_free(c);
	/* an external service whose key the file lacks: refused where the
	 * epoch thread would publish it, loaded by an agent (which never
	 * starts that thread) */
#define EXT \
	"server: { listen: [ \"127.0.0.1@5353\" ], workers: 1 }\n" \
	"pool:\n  - id: p5\n    prefix: 198.51.101.0/24\n" \
	"service:\n  - id: ext\n    name: ext.knot.test\n    backend: 10.9.0.10@8080\n" \
	"    pool: p5\n" \
	"    external: { server: 127.0.0.1@5354, zone: knot.test, key: nokey.knot.test }\n"
	assert_null(load(EXT));
	assert_non_null(strstr(last_diag, "external.key 'nokey.knot.test' is not defined"));
	c = load("role: agent\ndist: { id: ga, listen: 127.0.0.1@4700 }\ncontroller:\n"
		 "  - id: ctl\n    psk-file: /k\n" EXT);
	assert_non_null(c);
	assert_true(c->services[0].external.set);
	fg_conf_free(c);
#undef EXT
}

/* ---- hub and agent over loopback ---- */

/* A recording NAT backend: what the agent applied. */
static pthread_mutex_t rec_mu = PTHREAD_MUTEX_INITIALIZER;
static unsigned rec_commits, rec_grants, rec_revokes, rec_quarantines;
static int rec_fail;            /* next commit fails with this */
static unsigned rec_delay_ms;   /* each commit sleeps this long */

struct fg_nat { int unused; };
static int r_open(const fg_nat_config_t *cfg, fg_nat_t **out)
{
	(void)cfg;
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}
static int r_commit(fg_nat_t *n, const fg_grant_t *g, size_t k)
{
	(void)n;
	(void)g;
	pthread_mutex_lock(&rec_mu);
	unsigned d = rec_delay_ms;
	int f = rec_fail;
	rec_fail = 0;
	if (!f) {
		rec_commits++;
		rec_grants += (unsigned)k;
	}
	pthread_mutex_unlock(&rec_mu);
	if (d)
		usleep(d * 1000);
	return f;
}
static int r_revoke(fg_nat_t *n, const fg_grant_t *g, size_t k)
{
	(void)n;
	(void)g;
	pthread_mutex_lock(&rec_mu);
	rec_revokes++;
	rec_grants -= (unsigned)k;
	pthread_mutex_unlock(&rec_mu);
	return 0;
}
static int r_quar(fg_nat_t *n, int family, const uint8_t *src, uint32_t ms)
{
	(void)n; (void)family; (void)src; (void)ms;
	pthread_mutex_lock(&rec_mu);
	rec_quarantines++;
	pthread_mutex_unlock(&rec_mu);
	return 0;
}
static int r_rel(fg_nat_t *n, int family, const uint8_t *src)
{
	(void)n; (void)family; (void)src;
	return 0;
}
static void r_close(fg_nat_t *n)
{
	free(n);
}
static const fg_nat_ops_t rec_ops = {
	.name = "record", .open = r_open, .commit = r_commit, .revoke = r_revoke,
	.quarantine = r_quar, .release = r_rel, .close = r_close,
};

static unsigned rec(unsigned *v)
{
	pthread_mutex_lock(&rec_mu);
	unsigned x = *v;
	pthread_mutex_unlock(&rec_mu);
	return x;
}

static bool wait_state(fg_dist_hub_t *hub, int state)
{
	for (int i = 0; i < 600; i++) {   /* 30 s: generous on a loaded machine */
		fg_dist_agent_status_t s;
		fg_dist_hub_status(hub, 0, &s);
		if (s.state == state && (state != FG_LINK_UP || s.lag == 0))
			return true;
		usleep(50000);
	}
	return false;
}

/* A loopback port free now (the config takes no port 0). */
static unsigned free_port(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	close(fd);
	return ntohs(sa.sin_port);
}

static void test_hub_agent(void **st)
{
	(void)st;
	char atext0[2048];
	snprintf(atext0, sizeof(atext0), "role: agent\ndist: { id: ga, listen: 127.0.0.1@%u }\n"
		 "controller:\n  - id: ctl\n    psk-file: /k\n" COMMON, free_port());
	fg_conf_t *ac = load(atext0);
	assert_non_null(ac);
	fg_dist_key_t k;
	memset(&k, 0, sizeof(k));
	strcpy(k.id, "ctl");
	k.psklen = 32;
	memset(k.psk, 0x33, 32);
	char err[256];
	fg_dist_agent_t *ag = NULL;
	assert_int_equal(fg_dist_agent_new(ac, &k, &rec_ops, &ag, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_agent_start(ag), 0);
	char ctext[2048];
	snprintf(ctext, sizeof(ctext), "role: controller\ndist: { id: ctl }\nagent:\n  - id: ga\n"
		 "    address: 127.0.0.1@%u\n    psk-file: /k\n    timeout: 500ms\n" COMMON,
		 fg_dist_agent_port(ag));
	fg_conf_t *cc = load(ctext);
	assert_non_null(cc);
	fg_dist_key_t ck = k;
	strcpy(ck.id, "ga");
	fg_dist_hub_t *hub = NULL;
	assert_int_equal(fg_dist_hub_new(cc, &ck, &hub, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_hub_start(hub), 0);
	assert_true(wait_state(hub, FG_LINK_UP));

	/* granted only once the agent applied it */
	fg_grant_t g[2] = { grant4("192.0.2.7", "198.51.100.9"), grant4("192.0.2.8", "198.51.100.10") };
	assert_int_equal(fg_dist_hub_grant(hub, g, 2), 0);
	assert_int_equal(rec(&rec_grants), 2);
	/* an address no agent serves: refused before anything is sent */
	fg_grant_t bad = grant4("192.0.2.7", "203.0.113.1");
	assert_true(fg_dist_hub_grant(hub, &bad, 1) < 0);
	/* outside the agent's configuration (another backend): refused
	 * there, the commit fails */
	bad = grant4("192.0.2.7", "198.51.100.11");
	inet_pton(AF_INET, "10.9.0.11", bad.backend);
	assert_true(fg_dist_hub_grant(hub, &bad, 1) < 0);
	fg_dist_agent_counters_t ctr;
	fg_dist_agent_counters(ag, &ctr);
	assert_int_equal(ctr.refused, 1);
	/* the data plane refuses: the commit fails */
	pthread_mutex_lock(&rec_mu);
	rec_fail = -ENOSPC;
	pthread_mutex_unlock(&rec_mu);
	assert_true(fg_dist_hub_grant(hub, g, 1) < 0);
	assert_int_equal(rec(&rec_grants), 2);
	/* a slow agent: no answer before its ACK; past the timeout the
	 * commit fails and the batch is revoked once applied */
	pthread_mutex_lock(&rec_mu);
	rec_delay_ms = 3000;
	pthread_mutex_unlock(&rec_mu);
	assert_true(fg_dist_hub_grant(hub, g, 1) < 0);
	fg_dist_agent_status_t s;
	fg_dist_hub_status(hub, 0, &s);
	assert_true(s.timeouts >= 1);
	/* stalled: the next one fails at once */
	assert_true(fg_dist_hub_grant(hub, g, 1) < 0);
	pthread_mutex_lock(&rec_mu);
	rec_delay_ms = 0;
	pthread_mutex_unlock(&rec_mu);
	assert_true(wait_state(hub, FG_LINK_UP));
	assert_int_equal(rec(&rec_revokes), 1);
	assert_int_equal(rec(&rec_grants), 2);   /* applied, then revoked */
	/* quarantine fans out */
	uint8_t src[16] = { 192, 0, 2, 99 };
	assert_int_equal(fg_dist_hub_quarantine(hub, AF_INET, src, 1000), 0);
	assert_int_equal(rec(&rec_quarantines), 1);

	/* the agent restarts: the controller reconciles (this backend reads
	 * nothing back: it is sent every grant the controller holds for it,
	 * idempotent in the kernel) */
	assert_int_equal(fg_dist_hub_grant(hub, g, 2), 0);
	uint16_t port = fg_dist_agent_port(ag);
	fg_dist_agent_free(ag);
	assert_true(wait_state(hub, FG_LINK_DOWN) || wait_state(hub, FG_LINK_CONNECTING));
	assert_true(fg_dist_hub_grant(hub, g, 1) < 0);   /* no agent: no answer */
	char atext[2048];
	snprintf(atext, sizeof(atext), "role: agent\ndist: { id: ga, listen: 127.0.0.1@%u }\n"
		 "controller:\n  - id: ctl\n    psk-file: /k\n" COMMON, port);
	fg_conf_t *ac2 = load(atext);
	assert_non_null(ac2);
	unsigned before = rec(&rec_commits);
	assert_int_equal(fg_dist_agent_new(ac2, &k, &rec_ops, &ag, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_agent_start(ag), 0);
	assert_true(wait_state(hub, FG_LINK_UP));
	fg_dist_hub_status(hub, 0, &s);
	assert_true(s.recon_runs >= 2);   /* the first contact, the restart */
	assert_true(s.recon_sent >= 2);
	assert_int_equal(s.recon_revoked, 0);
	assert_true(rec(&rec_commits) > before);
	assert_int_equal(fg_dist_hub_grant(hub, g, 2), 0);

	fg_dist_hub_free(hub);
	fg_dist_agent_free(ag);
	fg_conf_free(ac);
	fg_conf_free(ac2);
	fg_conf_free(cc);
}

/* A backend that keeps its grants and reads them back (dump): the agent's
 * kernel, for reconciliation. */
#define STORE_MAX 64
static fg_grant_t store[STORE_MAX];
static size_t nstore;
static unsigned store_commits, store_revokes;

static void store_put(const fg_grant_t *g)
{
	for (size_t i = 0; i < nstore; i++)
		if (fg_dist_grant_same(&store[i], g)) {
			store[i] = *g;
			return;
		}
	if (nstore < STORE_MAX)
		store[nstore++] = *g;
}
static void store_del(const fg_grant_t *g)
{
	for (size_t i = 0; i < nstore; i++)
		if (fg_dist_grant_same(&store[i], g)) {
			store[i] = store[--nstore];
			return;
		}
}
static bool store_has(const fg_grant_t *g)
{
	pthread_mutex_lock(&rec_mu);
	bool has = false;
	for (size_t i = 0; i < nstore && !has; i++)
		has = fg_dist_grant_same(&store[i], g);
	pthread_mutex_unlock(&rec_mu);
	return has;
}
static int s_commit(fg_nat_t *n, const fg_grant_t *g, size_t k)
{
	(void)n;
	pthread_mutex_lock(&rec_mu);
	for (size_t i = 0; i < k; i++)
		store_put(&g[i]);
	store_commits += (unsigned)k;
	pthread_mutex_unlock(&rec_mu);
	return 0;
}
static int s_revoke(fg_nat_t *n, const fg_grant_t *g, size_t k)
{
	(void)n;
	pthread_mutex_lock(&rec_mu);
	for (size_t i = 0; i < k; i++)
		store_del(&g[i]);
	store_revokes += (unsigned)k;
	pthread_mutex_unlock(&rec_mu);
	return 0;
}
static int s_dump(fg_nat_t *n, fg_nat_dump_fn fn, void *ctx)
{
	(void)n;
	pthread_mutex_lock(&rec_mu);
	fg_grant_t copy[STORE_MAX];
	size_t k = nstore;
	memcpy(copy, store, k * sizeof(*copy));
	pthread_mutex_unlock(&rec_mu);
	for (size_t i = 0; i < k; i++)
		fn(ctx, &copy[i]);
	return 0;
}
static const fg_nat_ops_t store_ops = {
	.name = "store", .open = r_open, .commit = s_commit, .revoke = s_revoke, .dump = s_dump,
	.quarantine = r_quar, .release = r_rel, .close = r_close,
};

static fg_dist_agent_t *store_agent(unsigned port, const fg_dist_key_t *k, fg_conf_t **conf)
{
	char text[2048], err[256];
	snprintf(text, sizeof(text), "role: agent\ndist: { id: ga, listen: 127.0.0.1@%u }\n"
		 "controller:\n  - id: ctl\n    psk-file: /k\n" COMMON, port);
	*conf = load(text);
	assert_non_null(*conf);
	fg_dist_agent_t *ag = NULL;
	assert_int_equal(fg_dist_agent_new(*conf, k, &store_ops, &ag, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_agent_start(ag), 0);
	return ag;
}

/* Wait until the hub's link ran more than `runs` reconciliations and is
 * up with nothing unacknowledged. */
static bool wait_recon(fg_dist_hub_t *hub, uint64_t runs, fg_dist_agent_status_t *s)
{
	for (int i = 0; i < 600; i++) {
		fg_dist_hub_status(hub, 0, s);
		if (s->recon_runs > runs && s->state == FG_LINK_UP && s->lag == 0)
			return true;
		usleep(50000);
	}
	return false;
}

/* Reconciliation end to end: the agent restarts with a kernel that lacks
 * one grant and holds one the controller never made; only those two
 * travel, and a restart with nothing changed sends nothing. */
static void test_reconcile_hub(void **st)
{
	(void)st;
	fg_dist_key_t k;
	memset(&k, 0, sizeof(k));
	strcpy(k.id, "ctl");
	k.psklen = 32;
	memset(k.psk, 0x55, 32);
	unsigned port = free_port();
	fg_conf_t *ac = NULL;
	nstore = 0;
	/* a previous run's grant, in the kernel before the controller starts */
	fg_grant_t old = grant4("192.0.2.40", "198.51.100.40");
	store_put(&old);
	fg_dist_agent_t *ag = store_agent(port, &k, &ac);
	char ctext[2048], err[256];
	snprintf(ctext, sizeof(ctext), "role: controller\ndist: { id: ctl, log-size: 16 }\nagent:\n"
		 "  - id: ga\n    address: 127.0.0.1@%u\n    psk-file: /k\n    timeout: 2s\n" COMMON, port);
	fg_conf_t *cc = load(ctext);
	assert_non_null(cc);
	fg_dist_key_t ck = k;
	strcpy(ck.id, "ga");
	fg_dist_hub_t *hub = NULL;
	assert_int_equal(fg_dist_hub_new(cc, &ck, &hub, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_hub_start(hub), 0);
	fg_dist_agent_status_t s;
	assert_true(wait_recon(hub, 0, &s));
	/* first contact: learnt, not revoked */
	assert_int_equal(s.recon_adopted, 1);
	assert_int_equal(s.recon_revoked, 0);
	assert_int_equal(s.view_grants, 1);
	assert_true(store_has(&old));

	fg_grant_t g[3] = { grant4("192.0.2.41", "198.51.100.41"), grant4("192.0.2.42", "198.51.100.42"),
			    grant4("192.0.2.43", "198.51.100.43") };
	assert_int_equal(fg_dist_hub_grant(hub, g, 3), 0);
	/* the agent goes away; its kernel loses g[1] and gains a stale one */
	fg_dist_agent_free(ag);
	fg_conf_free(ac);
	fg_grant_t stale = grant4("192.0.2.44", "198.51.100.44");
	pthread_mutex_lock(&rec_mu);
	store_del(&g[1]);
	store_put(&stale);
	unsigned c0 = store_commits, r0 = store_revokes;
	pthread_mutex_unlock(&rec_mu);
	uint64_t runs = s.recon_runs;
	ag = store_agent(port, &k, &ac);
	assert_true(wait_recon(hub, runs, &s));
	/* only the difference travelled */
	assert_int_equal(s.recon_sent, 1);
	assert_int_equal(s.recon_revoked, 1);
	assert_true(s.recon_differing >= 1 && s.recon_differing <= 2);
	assert_int_equal(s.recon_buckets, FG_DIST_NSETS * FG_DIST_BUCKETS);   /* the first contact compares none */
	assert_int_equal(rec(&store_commits) - c0, 1);
	assert_int_equal(rec(&store_revokes) - r0, 1);
	assert_true(store_has(&g[1]));
	assert_false(store_has(&stale));
	assert_true(store_has(&old) && store_has(&g[0]) && store_has(&g[2]));
	/* again, nothing changed: nothing sent */
	fg_dist_agent_free(ag);
	fg_conf_free(ac);
	runs = s.recon_runs;
	uint64_t differing = s.recon_differing;
	c0 = rec(&store_commits);
	ag = store_agent(port, &k, &ac);
	assert_true(wait_recon(hub, runs, &s));
	assert_int_equal(s.recon_sent, 1);
	assert_int_equal(s.recon_revoked, 1);
	assert_int_equal(s.recon_differing, differing);
	assert_int_equal(rec(&store_commits), c0);
	fg_dist_agent_counters_t ctr;
	fg_dist_agent_counters(ag, &ctr);
	assert_int_equal(ctr.reconciles, 1);
	assert_int_equal(ctr.keys_sent, 0);

	fg_dist_hub_free(hub);
	fg_dist_agent_free(ag);
	fg_conf_free(ac);
	fg_conf_free(cc);
}

/* Two controllers (pools partitioned between them by configuration)
 * command one agent, each with its own epoch and sequence numbers. */
static void test_two_controllers(void **st)
{
	(void)st;
	char text[4096];
	unsigned port = free_port();
	snprintf(text, sizeof(text), "role: agent\ndist: { id: ga, listen: 127.0.0.1@%u }\n"
		 "controller:\n  - id: c1\n    psk-file: /k\n  - id: c2\n    psk-file: /k\n" COMMON, port);
	fg_conf_t *ac = load(text);
	assert_non_null(ac);
	fg_dist_key_t k[2];
	memset(k, 0, sizeof(k));
	strcpy(k[0].id, "c1");
	strcpy(k[1].id, "c2");
	k[0].psklen = k[1].psklen = 32;
	memset(k[0].psk, 0x11, 32);
	memset(k[1].psk, 0x22, 32);
	char err[256];
	fg_dist_agent_t *ag = NULL;
	assert_int_equal(fg_dist_agent_new(ac, k, &rec_ops, &ag, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_agent_start(ag), 0);
	fg_dist_hub_t *hub[2];
	fg_conf_t *cc[2];
	for (int i = 0; i < 2; i++) {
		snprintf(text, sizeof(text), "role: controller\ndist: { id: c%d }\nagent:\n  - id: ga\n"
			 "    address: 127.0.0.1@%u\n    psk-file: /k\n" COMMON, i + 1, port);
		cc[i] = load(text);
		assert_non_null(cc[i]);
		fg_dist_key_t ck = k[i];
		strcpy(ck.id, "ga");
		assert_int_equal(fg_dist_hub_new(cc[i], &ck, &hub[i], err, sizeof(err)), 0);
		assert_int_equal(fg_dist_hub_start(hub[i]), 0);
		assert_true(wait_state(hub[i], FG_LINK_UP));
	}
	unsigned before = rec(&rec_commits);
	/* each controller hands out its own part of the pool */
	fg_grant_t g1 = grant4("192.0.2.1", "198.51.100.20"), g2 = grant4("192.0.2.2", "198.51.100.200");
	for (int n = 0; n < 3; n++) {
		assert_int_equal(fg_dist_hub_grant(hub[0], &g1, 1), 0);
		assert_int_equal(fg_dist_hub_grant(hub[1], &g2, 1), 0);
	}
	assert_int_equal(rec(&rec_commits), before + 6);
	fg_dist_peer_status_t p;
	assert_int_equal(fg_dist_agent_peer(ag, 0, &p), 0);
	assert_string_equal(p.id, "c1");
	assert_true(p.connected);
	assert_true(p.last_seq == 3);
	assert_int_equal(fg_dist_agent_peer(ag, 1, &p), 0);
	assert_true(p.last_seq == 3);
	/* the loss of one controller loses nothing the other does */
	fg_dist_hub_free(hub[0]);
	assert_int_equal(fg_dist_hub_grant(hub[1], &g2, 1), 0);
	fg_dist_hub_free(hub[1]);
	fg_dist_agent_free(ag);
	fg_conf_free(ac);
	fg_conf_free(cc[0]);
	fg_conf_free(cc[1]);
}

/* agent[].pair: a failover pair of gateways. The config checks, then a
 * hub whose agent gb is down: with the pair declared, ga's ACK answers
 * the batch and gb is replayed it when it comes up; without, the batch
 * fails; with both down, it fails. */
static bool wait_link(fg_dist_hub_t *hub, size_t i, int state)
{
	for (int n = 0; n < 600; n++) {   /* 30 s: generous on a loaded machine */
		fg_dist_agent_status_t s;
		fg_dist_hub_status(hub, i, &s);
		if (s.state == state && (state != FG_LINK_UP || s.lag == 0))
			return true;
		usleep(50000);
	}
	return false;
}

static bool wait_gone(fg_dist_hub_t *hub, size_t i)   /* down or reconnecting */
{
	for (int n = 0; n < 600; n++) {
		fg_dist_agent_status_t s;
		fg_dist_hub_status(hub, i, &s);
		if (s.state == FG_LINK_DOWN || s.state == FG_LINK_CONNECTING)
			return true;
		usleep(50000);
	}
	return false;
}

static fg_dist_agent_t *pair_agent(const char *id, unsigned port, const fg_dist_key_t *k,
				   fg_conf_t **conf)
{
	char text[2048];
	snprintf(text, sizeof(text), "role: agent\ndist: { id: %s, listen: 127.0.0.1@%u }\n"
		 "controller:\n  - id: ctl\n    psk-file: /k\n" COMMON, id, port);
	*conf = load(text);
	assert_non_null(*conf);
	char err[256];
	fg_dist_agent_t *ag = NULL;
	assert_int_equal(fg_dist_agent_new(*conf, k, &rec_ops, &ag, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_agent_start(ag), 0);
	return ag;
}

#define AGENT(id, port, extra) \
	"  - id: " id "\n    address: 127.0.0.1@" port "\n    psk-file: /k\n    timeout: 2s\n" extra

static void test_failover_pair(void **st)
{
	(void)st;
	const char *head = "role: controller\ndist: { id: ctl }\nagent:\n";
	char text[4096];
	snprintf(text, sizeof(text), "%s" AGENT("ga", "4700", "    pair: gx\n") COMMON, head);
	assert_null(load(text));
	assert_non_null(strstr(last_diag, "agent ga: pair 'gx' is not an agent"));
	snprintf(text, sizeof(text), "%s" AGENT("ga", "4700", "    pair: ga\n") COMMON, head);
	assert_null(load(text));
	assert_non_null(strstr(last_diag, "agent ga: pair names itself"));
	snprintf(text, sizeof(text), "%s" AGENT("ga", "4700", "    pair: gb\n") AGENT("gb", "4701", "")
		 COMMON, head);
	assert_null(load(text));
	assert_non_null(strstr(last_diag, "agent ga: pair gb does not name ga as its pair"));
	snprintf(text, sizeof(text), "%s" AGENT("ga", "4700", "    pair: gb\n    pool: [ p4 ]\n")
		 AGENT("gb", "4701", "    pair: ga\n") COMMON, head);
	assert_null(load(text));
	assert_non_null(strstr(last_diag, "agent ga: pair gb serves other pools"));

	fg_dist_key_t k;
	memset(&k, 0, sizeof(k));
	strcpy(k.id, "ctl");
	k.psklen = 32;
	memset(k.psk, 0x44, 32);
	unsigned pa = free_port(), pb = free_port();
	fg_conf_t *aca, *acb = NULL;
	fg_dist_agent_t *ga = pair_agent("ga", pa, &k, &aca), *gb = NULL;
	fg_dist_key_t ck[2] = { k, k };
	strcpy(ck[0].id, "ga");
	strcpy(ck[1].id, "gb");
	char pas[16], pbs[16], err[256];
	snprintf(pas, sizeof(pas), "%u", pa);
	snprintf(pbs, sizeof(pbs), "%u", pb);
	fg_conf_t *cc[2];
	fg_dist_hub_t *hub[2];
	for (int paired = 0; paired < 2; paired++) {
		snprintf(text, sizeof(text),
			 "%s  - id: ga\n    address: 127.0.0.1@%s\n    psk-file: /k\n%s"
			 "  - id: gb\n    address: 127.0.0.1@%s\n    psk-file: /k\n%s" COMMON, head,
			 pas, paired ? "    pair: gb\n" : "", pbs, paired ? "    pair: ga\n" : "");
		cc[paired] = load(text);
		assert_non_null(cc[paired]);
		assert_int_equal(fg_dist_hub_new(cc[paired], ck, &hub[paired], err, sizeof(err)), 0);
		assert_int_equal(fg_dist_hub_start(hub[paired]), 0);
		assert_true(wait_link(hub[paired], 0, FG_LINK_UP));
	}
	fg_grant_t g = grant4("192.0.2.31", "198.51.100.31");
	/* gb down, no pair: fails closed */
	assert_true(fg_dist_hub_grant(hub[0], &g, 1) < 0);
	assert_false(fg_dist_hub_addr_healthy(hub[0], AF_INET, g.addr));
	/* gb down, paired: ga's ACK answers, gb's copy is queued */
	unsigned before = rec(&rec_grants);
	assert_true(fg_dist_hub_addr_healthy(hub[1], AF_INET, g.addr));
	assert_int_equal(fg_dist_hub_grant(hub[1], &g, 1), 0);
	assert_int_equal(rec(&rec_grants), before + 1);
	fg_dist_agent_status_t s;
	assert_int_equal(fg_dist_hub_status(hub[1], 1, &s), 0);
	assert_true(s.pair_queued == 1);
	/* gb comes up: it is sent what it missed */
	fg_dist_hub_free(hub[0]);
	gb = pair_agent("gb", pb, &k, &acb);
	assert_true(wait_link(hub[1], 1, FG_LINK_UP));
	for (int n = 0; n < 600 && rec(&rec_grants) < before + 2; n++)
		usleep(50000);
	assert_int_equal(rec(&rec_grants), before + 2);
	assert_int_equal(fg_dist_hub_status(hub[1], 1, &s), 0);
	assert_int_equal(s.recon_sent, 1);   /* its first contact: reconciled */
	/* ga dies: gb alone answers; then both down: fails */
	fg_dist_agent_free(ga);
	assert_true(wait_gone(hub[1], 0));
	g = grant4("192.0.2.32", "198.51.100.32");
	assert_int_equal(fg_dist_hub_grant(hub[1], &g, 1), 0);
	fg_dist_agent_free(gb);
	assert_true(wait_gone(hub[1], 1));
	assert_true(fg_dist_hub_grant(hub[1], &g, 1) < 0);
	fg_dist_hub_free(hub[1]);
	fg_conf_free(cc[0]);
	fg_conf_free(cc[1]);
	fg_conf_free(aca);
	fg_conf_free(acb);
}

/* controller[].pool on an agent: each controller grants only from its own
 * pools (checked there, whatever the controller's file says), and two
 * controllers may not both claim one pool. */
#define TWO_POOLS \
	"server: { listen: [ \"127.0.0.1@5353\" ], workers: 1 }\n" \
	"zone:\n  - domain: example.test\n    soa: { mname: ns1.example.test, rname: h.example.test }\n" \
	"pool:\n  - id: pa\n    prefix: 198.51.100.0/25\n  - id: pb\n    prefix: 198.51.100.128/25\n" \
	"service:\n  - id: www\n    name: www.example.test\n    backend: 10.9.0.10@8080\n" \
	"    pool: [ pa, pb ]\n    ttl: 60s\n"

static void test_controller_pools(void **st)
{
	(void)st;
	char text[4096];
	const char *ahead = "role: agent\ndist: { id: ga, listen: 127.0.0.1@%u }\ncontroller:\n";
	snprintf(text, sizeof(text), "role: agent\ndist: { id: ga, listen: 127.0.0.1@4700 }\n"
		 "controller:\n  - id: c1\n    psk-file: /k\n    pool: [ pz ]\n" TWO_POOLS);
	assert_null(load(text));
	assert_non_null(strstr(last_diag, "controller c1: pool 'pz' is not defined"));
	snprintf(text, sizeof(text), "role: agent\ndist: { id: ga, listen: 127.0.0.1@4700 }\n"
		 "controller:\n  - id: c1\n    psk-file: /k\n    pool: [ pa, pb ]\n"
		 "  - id: c2\n    psk-file: /k\n    pool: [ pb ]\n" TWO_POOLS);
	assert_null(load(text));
	assert_non_null(strstr(last_diag, "controllers c1 and c2 both grant from pool 'pb'"));

	char fmt[1024];
	snprintf(fmt, sizeof(fmt), "%s  - id: c1\n    psk-file: /k\n    pool: [ pa ]\n"
		 "  - id: c2\n    psk-file: /k\n    pool: [ pb ]\n" TWO_POOLS, ahead);
	snprintf(text, sizeof(text), fmt, free_port());
	fg_conf_t *ac = load(text);
	assert_non_null(ac);
	assert_int_equal(ac->controllers[0].npools, 1);
	fg_dist_key_t k[2];
	memset(k, 0, sizeof(k));
	strcpy(k[0].id, "c1");
	strcpy(k[1].id, "c2");
	k[0].psklen = k[1].psklen = 32;
	memset(k[0].psk, 0x55, 32);
	memset(k[1].psk, 0x66, 32);
	char err[256];
	fg_dist_agent_t *ag = NULL;
	assert_int_equal(fg_dist_agent_new(ac, k, &rec_ops, &ag, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_agent_start(ag), 0);
	/* c1's file claims both pools: the agent still refuses pb from it */
	snprintf(text, sizeof(text), "role: controller\ndist: { id: c1 }\nagent:\n  - id: ga\n"
		 "    address: 127.0.0.1@%u\n    psk-file: /k\n" TWO_POOLS, fg_dist_agent_port(ag));
	fg_conf_t *cc = load(text);
	assert_non_null(cc);
	fg_dist_key_t ck = k[0];
	strcpy(ck.id, "ga");
	fg_dist_hub_t *hub = NULL;
	assert_int_equal(fg_dist_hub_new(cc, &ck, &hub, err, sizeof(err)), 0);
	assert_int_equal(fg_dist_hub_start(hub), 0);
	assert_true(wait_state(hub, FG_LINK_UP));
	unsigned before = rec(&rec_grants);
	fg_dist_agent_counters_t c0, c1;
	fg_dist_agent_counters(ag, &c0);
	fg_grant_t g = grant4("192.0.2.41", "198.51.100.41");
	assert_int_equal(fg_dist_hub_grant(hub, &g, 1), 0);
	g = grant4("192.0.2.41", "198.51.100.141");
	assert_true(fg_dist_hub_grant(hub, &g, 1) < 0);
	assert_int_equal(rec(&rec_grants), before + 1);
	fg_dist_agent_counters(ag, &c1);
	assert_true(c1.refused == c0.refused + 1);
	fg_dist_agent_status_t s;
	fg_dist_hub_status(hub, 0, &s);
	assert_non_null(strstr(s.last_error, "refused: grant 0"));
	fg_dist_hub_free(hub);
	fg_dist_agent_free(ag);
	fg_conf_free(ac);
	fg_conf_free(cc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_roundtrip),
		cmocka_unit_test(test_frame_refusals),
		cmocka_unit_test(test_psk_parse),
		cmocka_unit_test(test_tls_psk),
		cmocka_unit_test(test_conf_roles),
		cmocka_unit_test(test_hub_agent),
		cmocka_unit_test(test_two_controllers),
		cmocka_unit_test(test_failover_pair),
		cmocka_unit_test(test_controller_pools),
		cmocka_unit_test(test_reconcile_hub),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

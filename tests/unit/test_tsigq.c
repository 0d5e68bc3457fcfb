/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * TSIG in the config and on the query path: `key:` and `policy.keys` load
 * (and refuse what is wrong, with lines, never echoing a secret); a key's
 * role decides the grant scope (grant/policy.h); daemon/tsigq.h answers
 * refused TSIGs NOTAUTH, hides private services from askers without a
 * role key (NXDOMAIN, or a decoy address that gets no grant) and signs
 * the answers of verified queries so that a client verifies them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "common/err.h"
#include "conf/conf.h"
#include "conf/zonebuild.h"
#include "daemon/tsigq.h"
#include "dataplane/nat_mem.h"
#include "grant/engine.h"
#include "grant/policy.h"
#include "dns/msg.h"
#include "dns/tsig.h"

#define CLI_SECRET "Y2xpZW50LWtleS1mb3ItZmx1eGdhdGUtdHNpZy1uZXRucy10ZXN0LXNoYTUxMi0wMDAwMDAwMDAwMDAwMDAw"
#define RES_SECRET "cmVzb2x2ZXIta2V5LWZvci1mbHV4Z2F0ZS10c2lnLXRlc3Q="
#define SPARE_SECRET "c3BhcmUta2V5LWZvci1mbHV4Z2F0ZS10c2lnLXRlc3QhIQ=="

static const char *const CONF_TEXT =
	"server:\n  listen: 127.0.0.1@5300\n"
	"zone:\n  - domain: example.test\n"
	"    soa: { mname: ns1.example.test, rname: h.example.test }\n"
	"key:\n"
	"  - id: Cli-Key\n    algorithm: hmac-sha512\n    secret: " CLI_SECRET "\n"
	"  - id: res-key.\n    algorithm: hmac-sha256\n    secret: " RES_SECRET "\n"
	"  - id: spare\n    algorithm: hmac-sha256\n    secret: " SPARE_SECRET "\n"
	"pool:\n  - id: web4\n    prefix: 198.51.100.0/26\n"
	"  - id: priv4\n    prefix: 198.51.100.64/26\n"
	"  - id: privd4\n    prefix: 198.51.100.128/26\n"
	"service:\n"
	"  - id: www\n    name: www.example.test\n    backend: 10.0.2.10\n    ports: [tcp/80]\n"
	"    pool: web4\n"
	"  - id: priv\n    name: priv.example.test\n    backend: 10.0.2.10\n    ports: [tcp/80]\n"
	"    pool: priv4\n    access: private\n"
	"  - id: privd\n    name: privd.example.test\n    backend: 10.0.2.10\n    ports: [tcp/80]\n"
	"    pool: privd4\n    access: private\n    unauthenticated: decoy\n"
	"policy:\n  direct: [ 10.0.1.0/24 ]\n  resolvers: [ 192.0.2.53/32 ]\n"
	"  keys:\n    - { key: cli-key., role: client }\n    - { key: RES-KEY, role: resolver }\n"
	"nat:\n  backend: memory\n";

struct diags {
	char text[4096];
	size_t len;
};

static void diag(void *ctx, const char *file, int line, const char *msg)
{
	struct diags *d = ctx;
	if (!d) {
		fprintf(stderr, "%s:%d: %s\n", file, line, msg);
		return;
	}
	int n = snprintf(d->text + d->len, sizeof(d->text) - d->len, "%s:%d: %s\n", file, line, msg);
	if (n > 0 && d->len + (size_t)n < sizeof(d->text))
		d->len += (size_t)n;
}

struct fx {
	fg_conf_t *conf;
	fg_zonedb_t *db;
	fg_grant_engine_t *eng;
	fg_grant_worker_t *w;
	_Atomic uint64_t res[FG_TSIGQ_NRESULTS], denied[2];
	fg_tsigq_stats_t st;
};

static int setup(void **state)
{
	static struct fx f;
	memset(&f, 0, sizeof(f));
	if (fg_conf_load_buffer("t.conf", CONF_TEXT, strlen(CONF_TEXT), &f.conf, diag, NULL) ||
	    fg_conf_build_zonedb(f.conf, &f.db, diag, NULL))
		return -1;
	if (fg_grant_engine_new(f.conf, NULL, &f.eng) || fg_grant_engine_setup(f.eng) ||
	    fg_grant_worker_new(f.eng, &f.w))
		return -1;
	if (fg_nat_mem_ops.setup(fg_grant_worker_nat(f.w), fg_grant_engine_natcfg(f.eng)))
		return -1;
	f.st.result = f.res;
	f.st.private_denied = f.denied;
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;
	fg_grant_worker_free(f->w);
	fg_grant_engine_free(f->eng);
	fg_zonedb_free(f->db);
	fg_conf_free(f->conf);
	return 0;
}

static void keys_load(void **state)
{
	struct fx *f = *state;
	assert_int_equal(f->conf->nkeys, 3);
	assert_non_null(f->conf->tsig_keys);
	assert_int_equal(f->conf->tsig_keys[0].alg, FG_TSIG_HMAC_SHA512);
	assert_memory_equal(f->conf->tsig_keys[0].name, "\x07" "cli-key", 9);  /* lowercased */
	assert_int_equal(f->conf->tsig_keys[1].secret_len, 35);
	/* names match case-insensitively, with or without the final dot */
	assert_int_equal(f->conf->key_roles[0], FG_ROLE_CLIENT);
	assert_int_equal(f->conf->key_roles[1], FG_ROLE_RESOLVER);
	assert_int_equal(f->conf->key_roles[2], FG_ROLE_NONE);
	assert_int_equal(f->conf->services[1].access, FG_ACCESS_PRIVATE);
	assert_int_equal(f->conf->services[1].unauthenticated, FG_UNAUTH_NXDOMAIN);
	assert_int_equal(f->conf->services[2].unauthenticated, FG_UNAUTH_DECOY);
	assert_int_equal(f->conf->services[0].access, FG_ACCESS_PUBLIC);   /* default */
}

static void keys_refused(void **state)
{
	(void)state;
	static const char *const text =
		"server:\n  listen: 127.0.0.1@5300\n"            /* 1-2 */
		"key:\n"                                           /* 3 */
		"  - id: a\n    algorithm: hmac-sha256\n    secret: Zm9vYmFy\n"   /* 4-6 */
		"  - id: A.\n    algorithm: hmac-sha256\n    secret: Zm9vYmFy\n"  /* 7-9 */
		"  - id: b\n    algorithm: hmac-md5\n    secret: Zm9vYmFy\n"      /* 10-12 */
		"  - id: c\n    algorithm: hmac-sha512\n    secret: s3cr*t\n"     /* 13-15 */
		"  - id: d\n    algorithm: hmac-sha512\n"                          /* 16-17 */
		"policy:\n  keys:\n"                                               /* 18-19 */
		"    - { key: nokey, role: client }\n"                             /* 20 */
		"    - { key: a, role: resolver }\n"                               /* 21 */
		"    - { key: a, role: client }\n"                                 /* 22 */
		"    - { key: a, role: admin }\n";                                 /* 23 */
	struct diags d = { .len = 0 };
	fg_conf_t *c = NULL;
	assert_true(fg_conf_load_buffer("k.conf", text, strlen(text), &c, diag, &d) < 0);
	assert_null(c);
	d.text[d.len] = '\0';
	assert_non_null(strstr(d.text, "k.conf:7: key 'A.': duplicate id (first on line 4)"));
	assert_non_null(strstr(d.text, "k.conf:11:"));
	assert_non_null(strstr(d.text, "hmac-md5"));
	assert_non_null(strstr(d.text, "k.conf:15:"));
	assert_non_null(strstr(d.text, "invalid TSIG secret"));
	assert_null(strstr(d.text, "s3cr*t"));              /* never echoed */
	assert_non_null(strstr(d.text, "k.conf:16: key 'd': missing required key 'secret'"));
	assert_non_null(strstr(d.text, "k.conf:20: policy.keys: key 'nokey' is not defined"));
	assert_non_null(strstr(d.text, "k.conf:22: policy.keys: key 'a' is listed twice"));
	assert_non_null(strstr(d.text, "k.conf:23:"));
	assert_non_null(strstr(d.text, "admin"));
}

static void private_without_roles_warns(void **state)
{
	struct fx *f = *state;
	struct diags d = { .len = 0 };
	/* the fixture's config has role keys: no private-service warning */
	assert_int_equal(fg_conf_warnings(f->conf, diag, &d), 0);
	static const char *const text =
		"server:\n  listen: 127.0.0.1@5300\n"
		"zone:\n  - domain: example.test\n"
		"    soa: { mname: ns1.example.test, rname: h.example.test }\n"
		"pool:\n  - id: p4\n    prefix: 198.51.100.0/26\n"
		"service:\n  - id: hid\n    name: hid.example.test\n    backend: 10.0.2.10\n"
		"    ports: [tcp/80]\n    pool: p4\n    access: private\n"
		"policy:\n  resolvers: [ 192.0.2.53/32 ]\n";
	fg_conf_t *c = NULL;
	assert_int_equal(fg_conf_load_buffer("w.conf", text, strlen(text), &c, diag, NULL), 0);
	assert_int_equal(fg_conf_warnings(c, diag, &d), 1);
	d.text[d.len] = '\0';
	assert_non_null(strstr(d.text, "w.conf:10: warning: service 'hid' is private"));
	fg_conf_free(c);
}

static struct sockaddr_storage peer4(const char *a)
{
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
	s4->sin_family = AF_INET;
	s4->sin_port = htons(5353);
	assert_int_equal(inet_pton(AF_INET, a, &s4->sin_addr), 1);
	return ss;
}

/* the role decides, whatever the source address */
static void roles_decide_scope(void **state)
{
	struct fx *f = *state;
	const fg_conf_t *c = f->conf;
	fg_scope_policy_t pol = { c->policy.direct, c->policy.ndirect, c->policy.resolvers,
				  c->policy.nresolvers, 24, 56 };
	fg_dns_query_t q;
	memset(&q, 0, sizeof(q));
	fg_scope_decision_t sd;
	struct sockaddr_storage p = peer4("203.0.113.9");   /* neither direct nor resolver */

	fg_scope_decide_role(&p, &q, AF_INET, &pol, FG_ROLE_NONE, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_CLIENT);
	fg_scope_decide_role(&p, &q, AF_INET, &pol, FG_ROLE_RESOLVER, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_ANY);           /* no ECS: anyone */
	q.has_ecs = true;
	q.ecs.family = 1;
	q.ecs.source_prefix = 24;
	q.ecs.addr[0] = 192;
	q.ecs.addr[1] = 0;
	q.ecs.addr[2] = 2;
	fg_scope_decide_role(&p, &q, AF_INET, &pol, FG_ROLE_RESOLVER, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_NET);
	assert_int_equal(sd.client_plen, 24);
	/* a client key is the client: its ECS buys nothing wider */
	fg_scope_decide_role(&p, &q, AF_INET, &pol, FG_ROLE_CLIENT, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_CLIENT);
	assert_int_equal(sd.client_plen, 32);
	/* even from a listed resolver address */
	struct sockaddr_storage r = peer4("192.0.2.53");
	fg_scope_decide_role(&r, &q, AF_INET, &pol, FG_ROLE_CLIENT, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_CLIENT);
	/* AAAA asked over IPv4 with a client key: no scope narrow enough */
	q.has_ecs = false;
	fg_scope_decide_role(&p, &q, AF_INET6, &pol, FG_ROLE_CLIENT, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_NONE);
	/* fg_scope_decide() is the no-key case */
	fg_scope_decide(&r, &q, AF_INET, &pol, &sd);
	assert_int_equal(sd.scope, FG_SCOPE_ANY);
}

/* a query for `name` A, signed with key k when k is not NULL */
static size_t query(const char *name, const fg_tsig_key_t *k, uint64_t now, uint8_t *buf,
		    size_t cap, fg_tsig_ctx_t *cli)
{
	uint8_t qn[FG_DNS_MAXNAME];
	int nl = fg_dns_name_from_text(name, NULL, qn);
	assert_true(nl > 0);
	static const uint8_t hdr[12] = { 0x4a, 0x11, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0 };
	memcpy(buf, hdr, 12);
	memcpy(buf + 12, qn, (size_t)nl);
	size_t len = 12 + (size_t)nl;
	buf[len++] = 0;
	buf[len++] = 1;
	buf[len++] = 0;
	buf[len++] = 1;
	if (!k)
		return len;
	int n = fg_tsig_sign_request(buf, len, cap, k, now, 0, cli);
	assert_true(n > 0);
	return (size_t)n;
}

struct step {
	fg_dns_query_t q;
	fg_tsigq_t t;
	fg_dns_result_t res;
	uint8_t out[FG_DNS_UDP_MAX];
};

static void step(struct fx *f, const uint8_t *pkt, size_t len, uint64_t now, struct step *s)
{
	enum fg_dns_parse_action act;
	int rcode;
	int prc = fg_dns_parse_query(pkt, len, &s->q, &act, &rcode);
	fg_tsigq_answer_parsed(f->db, f->conf, pkt, len, &s->q, prc, act, rcode, false, now,
			       s->out, sizeof(s->out), &s->res, &s->t, &f->st);
}

static void refused_notauth(void **state)
{
	struct fx *f = *state;
	uint8_t pkt[512];
	fg_tsig_ctx_t cli;
	struct step s;
	uint64_t now = 1764633600;
	fg_tsig_key_t wrong;
	char err[64];
	assert_int_equal(fg_tsig_key_init(&wrong, "cli-key", "hmac-sha512", "Zm9vYmFy", err,
					  sizeof(err)), 0);

	uint64_t before = f->res[FG_TSIGQ_BADSIG];
	size_t len = query("www.example.test.", &wrong, now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	assert_int_equal(s.res.rcode, FG_RCODE_NOTAUTH);
	assert_int_equal(s.out[3] & 0xF, FG_RCODE_NOTAUTH);
	assert_false(s.t.sign);
	assert_int_equal(f->res[FG_TSIGQ_BADSIG], before + 1);
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(s.out, s.res.len, &rr), 1);
	assert_int_equal(rr.error, FG_TSIG_BADSIG);
	assert_int_equal(rr.mac_len, 0);
	/* the client reads BADSIG back */
	uint16_t terr = 0;
	assert_int_equal(fg_tsig_verify_response(s.out, s.res.len, &cli, now, &terr, NULL), -FG_EAUTH);
	assert_int_equal(terr, FG_TSIG_BADSIG);

	/* the right key, but the clock is off by 10 minutes: BADTIME, signed */
	len = query("www.example.test.", &f->conf->tsig_keys[0], now - 600, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.rcode, FG_RCODE_NOTAUTH);
	assert_int_equal(f->res[FG_TSIGQ_BADTIME], 1);
	uint64_t srv = 0;
	assert_int_equal(fg_tsig_verify_response(s.out, s.res.len, &cli, now - 600, &terr, &srv),
			 -FG_EAUTH);
	assert_int_equal(terr, FG_TSIG_BADTIME);
	assert_int_equal(srv, now);
	fg_tsig_key_clear(&wrong);
}

static void signed_answer_and_roles(void **state)
{
	struct fx *f = *state;
	uint8_t pkt[512];
	fg_tsig_ctx_t cli;
	struct step s;
	uint64_t now = 1764633600;

	size_t len = query("www.example.test.", &f->conf->tsig_keys[0], now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.kind, FG_ANSWER_SERVICE);
	assert_true(s.t.sign);
	assert_int_equal(s.t.role, FG_ROLE_CLIENT);
	/* without EDNS the answer must fit 512 octets with its TSIG */
	size_t cap = fg_tsigq_cap(&s.t, &s.q, false, sizeof(s.out));
	assert_int_equal(cap + fg_tsig_response_size(&s.t.ctx), 512);
	static const uint8_t addr[4] = { 198, 51, 100, 7 };
	fg_dns_answer_service(f->db, &s.q, false, addr, 5, 0, s.out, cap, &s.res);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	fg_tsigq_sign(&s.t, &s.q, false, now, s.out, sizeof(s.out), &s.res);
	uint16_t terr = 99;
	assert_int_equal(fg_tsig_verify_response(s.out, s.res.len, &cli, now, &terr, NULL), 0);
	assert_int_equal(terr, 0);

	/* static answers are signed too (the SOA of the zone) */
	len = query("example.test.", NULL, now, pkt, sizeof(pkt), &cli);
	pkt[len - 3] = FG_TYPE_SOA;
	len = (size_t)fg_tsig_sign_request(pkt, len, sizeof(pkt), &f->conf->tsig_keys[1], now, 0, &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	assert_int_equal(s.t.role, FG_ROLE_RESOLVER);
	fg_tsigq_sign(&s.t, &s.q, false, now, s.out, sizeof(s.out), &s.res);
	assert_int_equal(fg_tsig_verify_response(s.out, s.res.len, &cli, now, &terr, NULL), 0);

	/* a key without a role is verified but proves nothing */
	len = query("priv.example.test.", &f->conf->tsig_keys[2], now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_true(s.t.sign);
	assert_int_equal(s.t.role, FG_ROLE_NONE);
	assert_true(fg_tsigq_hidden(f->conf, &s.t, 1));
	assert_false(fg_tsigq_hidden(f->conf, &s.t, 0));      /* public */
	len = query("priv.example.test.", &f->conf->tsig_keys[1], now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_false(fg_tsigq_hidden(f->conf, &s.t, 1));      /* resolver key */
}

static void private_services(void **state)
{
	struct fx *f = *state;
	uint8_t pkt[512];
	fg_tsig_ctx_t cli;
	struct step s;
	uint64_t now = 1764633600;
	struct sockaddr_storage p = peer4("10.0.1.5");

	/* no key, nxdomain */
	size_t len = query("priv.example.test.", NULL, now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.kind, FG_ANSWER_SERVICE);
	assert_false(s.t.sign);
	assert_true(fg_tsigq_hidden(f->conf, &s.t, s.res.service_id));
	fg_grant_req_t g = { .q = &s.q, .peer = &p, .service_id = s.res.service_id,
			     .qtype = FG_TYPE_A, .hidden = true };
	/* the engine skips a hidden request: no grant, not ok */
	fg_nat_mem_stats_t before, after;
	fg_nat_mem_stats(fg_grant_worker_nat(f->w), &before);
	assert_int_equal(fg_grant_resolve(f->eng, f->w, &g, 1), 0);
	assert_false(g.ok);
	fg_tsigq_private_answer(f->db, f->conf, f->eng, f->w, &g, false, s.out, sizeof(s.out),
				&s.res, &f->st);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	assert_int_equal(s.res.rcode, FG_RCODE_NXDOMAIN);
	assert_int_equal(s.out[3] & 0xF, FG_RCODE_NXDOMAIN);
	assert_int_equal(f->denied[FG_UNAUTH_NXDOMAIN], 1);

	/* no key, decoy: an address of the pool, not granted */
	len = query("privd.example.test.", NULL, now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.kind, FG_ANSWER_SERVICE);
	fg_grant_req_t d = { .q = &s.q, .peer = &p, .service_id = s.res.service_id,
			     .qtype = FG_TYPE_A, .hidden = true };
	fg_tsigq_private_answer(f->db, f->conf, f->eng, f->w, &d, false, s.out, sizeof(s.out),
				&s.res, &f->st);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	assert_int_equal(s.res.rcode, FG_RCODE_NOERROR);
	assert_false(d.ok);
	assert_int_equal(d.addr[0], 198);
	assert_int_equal(d.addr[2], 100);
	assert_true(d.addr[3] >= 128 && d.addr[3] < 192);
	/* the answer carries it */
	assert_non_null(memmem(s.out, s.res.len, d.addr, 4));
	fg_nat_mem_stats(fg_grant_worker_nat(f->w), &after);
	assert_int_equal(after.grants_written, before.grants_written);
	assert_int_equal(after.live_grants, before.live_grants);
	/* the client at it lands on the decoys */
	uint8_t cl[16] = { 10, 0, 1, 5 }, be[16];
	assert_false(fg_nat_mem_granted(fg_grant_worker_nat(f->w), AF_INET, cl, d.addr, be));
	assert_int_equal(f->denied[FG_UNAUTH_DECOY], 1);

	/* a listed resolver sending ECS: the decoy echoes the scope a real
	 * grant would (nothing tells it apart) */
	struct sockaddr_storage rp = peer4("192.0.2.53");
	s.q.has_edns = true;
	s.q.has_ecs = true;
	s.q.ecs.family = 1;
	s.q.ecs.source_prefix = 24;
	memset(s.q.ecs.addr, 0, sizeof(s.q.ecs.addr));
	s.q.ecs.addr[0] = 203;
	s.q.ecs.addr[2] = 113;
	fg_grant_req_t e = { .q = &s.q, .peer = &rp, .service_id = s.res.service_id,
			     .qtype = FG_TYPE_A, .hidden = true };
	assert_int_equal(fg_grant_decoy_pick(f->eng, f->w, &e), 0);
	assert_false(e.nodata);
	assert_int_equal(e.ecs_scope, 24);
	/* AAAA of an IPv4-only service: NODATA, as a real answer */
	fg_grant_req_t n6 = { .q = &s.q, .peer = &p, .service_id = s.res.service_id,
			      .qtype = FG_TYPE_AAAA, .hidden = true };
	assert_int_equal(fg_grant_decoy_pick(f->eng, f->w, &n6), 0);
	assert_true(n6.nodata);

	/* with the client key: granted */
	len = query("privd.example.test.", &f->conf->tsig_keys[0], now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_false(fg_tsigq_hidden(f->conf, &s.t, s.res.service_id));
	fg_grant_req_t k = { .q = &s.q, .peer = &p, .service_id = s.res.service_id,
			     .qtype = FG_TYPE_A, .role = s.t.role };
	assert_int_equal(fg_grant_resolve(f->eng, f->w, &k, 1), 1);
	assert_true(k.ok);
	assert_int_equal(k.scope, FG_SCOPE_CLIENT);
	assert_true(fg_nat_mem_granted(fg_grant_worker_nat(f->w), AF_INET, cl, k.addr, be));
}

/* A key nobody configured: NOTAUTH with BADKEY, unsigned. A TSIG whose MAC
 * size runs past its record: FORMERR. An answer too big to sign within the
 * caller's room is dropped, never sent unsigned. */
static void other_verdicts(void **state)
{
	struct fx *f = *state;
	uint8_t pkt[512];
	fg_tsig_ctx_t cli;
	struct step s;
	uint64_t now = 1764633600;
	fg_tsig_key_t stranger;
	char err[64];

	assert_int_equal(fg_tsig_key_init(&stranger, "stranger", "hmac-sha256", "Zm9vYmFy", err,
					  sizeof(err)), 0);
	uint64_t before = f->res[FG_TSIGQ_BADKEY];
	size_t len = query("www.example.test.", &stranger, now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.rcode, FG_RCODE_NOTAUTH);
	assert_int_equal(f->res[FG_TSIGQ_BADKEY], before + 1);
	fg_tsig_rr_t rr;
	assert_int_equal(fg_tsig_find(s.out, s.res.len, &rr), 1);
	assert_int_equal(rr.error, FG_TSIG_BADKEY);
	fg_tsig_key_clear(&stranger);

	/* the MAC size field of a hmac-sha512 TSIG (64-byte MAC, then original
	 * id, error, other length: 6 bytes) set past the end */
	len = query("www.example.test.", &f->conf->tsig_keys[0], now, pkt, sizeof(pkt), &cli);
	size_t ms = len - 6 - 64 - 2;
	assert_int_equal(pkt[ms] << 8 | pkt[ms + 1], 64);
	pkt[ms] = 0xff;
	before = f->res[FG_TSIGQ_FORMERR];
	step(f, pkt, len, now, &s);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	assert_int_equal(s.res.rcode, FG_RCODE_FORMERR);
	assert_int_equal(f->res[FG_TSIGQ_FORMERR], before + 1);
	assert_false(s.t.sign);

	/* a verified query: the room left for the answer is the limit less
	 * the TSIG's size, and a signature that does not fit drops it */
	len = query("example.test.", &f->conf->tsig_keys[0], now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	assert_true(s.t.sign);
	size_t need = fg_tsig_response_size(&s.t.ctx);
	assert_int_equal(fg_tsigq_cap(&s.t, &s.q, false, need + 10), 10);
	assert_int_equal(fg_tsigq_cap(&s.t, &s.q, false, need / 2), 0);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
	fg_tsigq_sign(&s.t, &s.q, false, now, s.out, s.res.len + 5, &s.res);
	assert_int_equal(s.res.kind, FG_ANSWER_DROP);
	/* an unsigned query's answer is left alone */
	len = query("example.test.", NULL, now, pkt, sizeof(pkt), &cli);
	step(f, pkt, len, now, &s);
	size_t plain = s.res.len;
	fg_tsigq_sign(&s.t, &s.q, false, now, s.out, sizeof(s.out), &s.res);
	assert_int_equal(s.res.len, plain);
	assert_int_equal(s.res.kind, FG_ANSWER_READY);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(keys_load),
		cmocka_unit_test(keys_refused),
		cmocka_unit_test(private_without_roles_warns),
		cmocka_unit_test(roles_decide_scope),
		cmocka_unit_test(refused_notauth),
		cmocka_unit_test(signed_answer_and_roles),
		cmocka_unit_test(private_services),
		cmocka_unit_test(other_verdicts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}

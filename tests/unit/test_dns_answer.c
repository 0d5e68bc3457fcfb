/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Answer engine tests: every RR type, every rcode path, truncation, EDNS and
 * ECS echo, compression (responses are decoded back by an independent
 * decoder below), service names, referrals, CNAME chains, wildcards.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "dns/msg.h"
#include "dns/zone.h"

/* ---- independent response decoder ------------------------------------- */

typedef struct rrx {
	char owner[1024];
	uint16_t type, cls;
	uint32_t ttl;
	uint16_t rdlen;
	char data[4096];
} rrx_t;

typedef struct resp {
	size_t len;
	uint16_t id, flags, qd, an, ns, ar;
	char qname[1024];
	uint16_t qtype, qclass;
	rrx_t rr[80];           /* an, then ns, then ar (OPT excluded) */
	unsigned nrr;
	bool has_opt;
	uint16_t opt_size;
	uint32_t opt_ttl;
	bool has_ecs;
	uint16_t ecs_family;
	uint8_t ecs_src, ecs_scope;
	uint8_t ecs_addr[16];
	unsigned nptr;          /* compression pointers seen */
} resp_t;

static int dname(const uint8_t *p, size_t len, size_t *pos, char *out, resp_t *r)
{
	size_t at = *pos, o = 0;
	bool jumped = false;
	int hops = 0;
	out[0] = '\0';
	for (;;) {
		if (at >= len)
			return -1;
		uint8_t b = p[at];
		if (b == 0) {
			if (!jumped)
				*pos = at + 1;
			if (o == 0)
				strcpy(out, ".");
			else
				out[o] = '\0';
			return 0;
		}
		if ((b & 0xC0) == 0xC0) {
			if (at + 1 >= len || ++hops > 64)
				return -1;
			size_t t = ((size_t)(b & 0x3F) << 8) | p[at + 1];
			if (t >= at)
				return -1;
			if (!jumped)
				*pos = at + 2;
			jumped = true;
			r->nptr++;
			at = t;
			continue;
		}
		if (b > 63 || at + 1 + b > len || o + b + 2 > 1000)
			return -1;
		memcpy(out + o, p + at + 1, b);
		o += b;
		out[o++] = '.';
		at += 1u + b;
	}
}

static uint16_t g16(const uint8_t *p)
{
	return (uint16_t)((p[0] << 8) | p[1]);
}

static uint32_t g32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3];
}

static int rdata_text(const uint8_t *p, size_t len, size_t at, rrx_t *x, resp_t *r)
{
	char n1[1024], n2[1024];
	size_t pos = at, end = at + x->rdlen;
	char *d = x->data;
	switch (x->type) {
	case 1:
		if (x->rdlen != 4) return -1;
		inet_ntop(AF_INET, p + at, d, 64);
		return 0;
	case 28:
		if (x->rdlen != 16) return -1;
		inet_ntop(AF_INET6, p + at, d, 64);
		return 0;
	case 2: case 5: case 12:
		if (dname(p, len, &pos, d, r) || pos != end) return -1;
		return 0;
	case 15:
		pos += 2;
		if (dname(p, len, &pos, n1, r) || pos != end) return -1;
		sprintf(d, "%u %s", g16(p + at), n1);
		return 0;
	case 33:
		pos += 6;
		if (dname(p, len, &pos, n1, r) || pos != end) return -1;
		sprintf(d, "%u %u %u %s", g16(p + at), g16(p + at + 2), g16(p + at + 4), n1);
		return 0;
	case 6:
		if (dname(p, len, &pos, n1, r) || dname(p, len, &pos, n2, r) || pos + 20 != end)
			return -1;
		sprintf(d, "%s %s %u %u %u %u %u", n1, n2, g32(p + pos), g32(p + pos + 4),
			g32(p + pos + 8), g32(p + pos + 12), g32(p + pos + 16));
		return 0;
	case 16: {
		size_t o = 0;
		while (pos < end) {
			uint8_t l = p[pos++];
			if (pos + l > end) return -1;
			if (o) d[o++] = ' ';
			d[o++] = '"';
			memcpy(d + o, p + pos, l);
			o += l;
			d[o++] = '"';
			pos += l;
		}
		d[o] = '\0';
		return 0;
	}
	default:
		return -1;
	}
}

static int decode(const uint8_t *p, size_t len, resp_t *r)
{
	memset(r, 0, sizeof(*r));
	r->len = len;
	if (len < 12)
		return -1;
	r->id = g16(p); r->flags = g16(p + 2); r->qd = g16(p + 4);
	r->an = g16(p + 6); r->ns = g16(p + 8); r->ar = g16(p + 10);
	size_t pos = 12;
	if (r->qd > 1)
		return -1;
	if (r->qd == 1) {
		if (dname(p, len, &pos, r->qname, r) || pos + 4 > len)
			return -1;
		r->qtype = g16(p + pos); r->qclass = g16(p + pos + 2);
		pos += 4;
	}
	unsigned total = (unsigned)r->an + r->ns + r->ar;
	for (unsigned i = 0; i < total; i++) {
		rrx_t x;
		memset(&x, 0, sizeof(x));
		if (dname(p, len, &pos, x.owner, r) || pos + 10 > len)
			return -1;
		x.type = g16(p + pos); x.cls = g16(p + pos + 2);
		x.ttl = g32(p + pos + 4); x.rdlen = g16(p + pos + 8);
		pos += 10;
		if (pos + x.rdlen > len)
			return -1;
		if (x.type == 41) {
			if (r->has_opt || i < (unsigned)r->an + r->ns || strcmp(x.owner, "."))
				return -1;
			r->has_opt = true;
			r->opt_size = x.cls;
			r->opt_ttl = x.ttl;
			size_t o = pos;
			while (o < pos + x.rdlen) {
				uint16_t code = g16(p + o), olen = g16(p + o + 2);
				if (code == 8) {
					r->has_ecs = true;
					r->ecs_family = g16(p + o + 4);
					r->ecs_src = p[o + 6];
					r->ecs_scope = p[o + 7];
					memcpy(r->ecs_addr, p + o + 8, olen - 4u);
				}
				o += 4u + olen;
			}
			if (o != pos + x.rdlen)
				return -1;
		} else {
			if (x.cls != 1 || rdata_text(p, len, pos, &x, r))
				return -1;
			if (r->nrr == 80)
				return -1;
			r->rr[r->nrr++] = x;
		}
		pos += x.rdlen;
	}
	return pos == len ? 0 : -1;
}

#define F_QR 0x8000
#define F_AA 0x0400
#define F_TC 0x0200
#define F_RD 0x0100
#define F_CD 0x0010
#define RCODE(r) ((r)->flags & 0xF)
#define NAN_(r) ((r)->an)

/* ---- query builder ---------------------------------------------------- */

typedef struct qopt {
	bool edns;
	uint16_t size;
	bool do_bit;
	uint8_t version;
	bool ecs;
	uint16_t fam;
	uint8_t src;
	const char *addr;       /* text */
	uint16_t qclass;
	uint16_t flags;         /* extra header flags */
} qopt_t;

static size_t put_name(uint8_t *b, const char *text)
{
	size_t o = 0;
	const char *s = text;
	while (*s && strcmp(s, ".") != 0) {
		const char *dot = strchr(s, '.');
		size_t l = dot ? (size_t)(dot - s) : strlen(s);
		b[o++] = (uint8_t)l;
		memcpy(b + o, s, l);
		o += l;
		s += l;
		if (*s == '.')
			s++;
	}
	b[o++] = 0;
	return o;
}

static size_t mkquery(uint8_t *b, const char *name, uint16_t type, const qopt_t *o)
{
	size_t n = 0;
	b[n++] = 0xAB; b[n++] = 0xCD;
	uint16_t fl = F_RD | (o ? o->flags : 0);
	b[n++] = (uint8_t)(fl >> 8); b[n++] = (uint8_t)fl;
	b[n++] = 0; b[n++] = 1; b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0;
	b[n++] = 0; b[n++] = (o && o->edns) ? 1 : 0;
	n += put_name(b + n, name);
	b[n++] = (uint8_t)(type >> 8); b[n++] = (uint8_t)type;
	uint16_t cls = (o && o->qclass) ? o->qclass : 1;
	b[n++] = (uint8_t)(cls >> 8); b[n++] = (uint8_t)cls;
	if (o && o->edns) {
		b[n++] = 0; b[n++] = 0; b[n++] = 41;
		b[n++] = (uint8_t)(o->size >> 8); b[n++] = (uint8_t)o->size;
		b[n++] = 0; b[n++] = o->version; b[n++] = o->do_bit ? 0x80 : 0; b[n++] = 0;
		if (o->ecs) {
			uint8_t a[16] = { 0 };
			inet_pton(o->fam == 1 ? AF_INET : AF_INET6, o->addr, a);
			unsigned al = (o->src + 7u) / 8u;
			b[n++] = 0; b[n++] = (uint8_t)(8 + al);
			b[n++] = 0; b[n++] = 8; b[n++] = 0; b[n++] = (uint8_t)(4 + al);
			b[n++] = 0; b[n++] = (uint8_t)o->fam; b[n++] = o->src; b[n++] = 0;
			memcpy(b + n, a, al);
			n += al;
		} else {
			b[n++] = 0; b[n++] = 0;
		}
	}
	return n;
}

/* ---- fixture ---------------------------------------------------------- */

static fg_zonedb_t *db;

static const char *const recs[] = {
	"@ NS ns1",
	"@ NS ns2.example.test.",
	"@ MX 10 mail",
	"@ MX 20 mail.example.test.",
	"@ TXT \"v=spf1 -all\" \"say \\\"hi\\\" \\065\"",
	"ns1 A 192.0.2.1",
	"ns1 AAAA 2001:db8::1",
	"ns2 IN 7200 A 192.0.2.2",
	"mail A 192.0.2.3",
	"www 60 A 192.0.2.10",
	"www 60 A 192.0.2.11",
	"www AAAA 2001:db8::10",
	"_sip._udp SRV 10 5 5060 sip",
	"sip A 192.0.2.20",
	"alias CNAME www",
	"c1 CNAME c2",
	"c2 CNAME c3",
	"c3 CNAME www",
	"loop1 CNAME loop2",
	"loop2 CNAME loop1",
	"ext CNAME www.other.invalid.",
	"dangling CNAME nothere",
	"torev CNAME 10.2.0.192.in-addr.arpa.",
	"a.b.c A 192.0.2.30",
	"sub NS ns.sub",
	"sub NS ns.outside.invalid.",
	"ns.sub A 192.0.2.53",
	"sub A 192.0.2.54",
	"*.wild A 192.0.2.99",
	"*.wild TXT \"wild\"",
	"wcn.wild CNAME www",
	"ptr PTR www",
	"svc-alias CNAME app",
	"app TXT \"service\"",
	"l1 CNAME l2", "l2 CNAME l3", "l3 CNAME l4", "l4 CNAME l5", "l5 CNAME l6",
	"l6 CNAME l7", "l7 CNAME l8", "l8 CNAME l9", "l9 CNAME l10", "l10 A 192.0.2.77",
	"k1 CNAME k2", "k2 CNAME k3", "k3 CNAME k4", "k4 CNAME k5", "k5 CNAME k6",
	"k6 CNAME k7", "k7 CNAME k8", "k8 CNAME k9", "k9 A 192.0.2.78",
};

static int setup(void **state)
{
	(void)state;
	char err[256] = "";
	fg_zone_t *z, *rev;
	fg_soa_params_t soa = { "ns1", "hostmaster", 2024010101, 7200, 900, 1209600, 300 };
	db = fg_zonedb_new();
	assert_non_null(db);
	assert_int_equal(fg_zonedb_add_zone(db, "Example.TEST", 3600, &soa, &z, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(recs) / sizeof(recs[0]); i++) {
		int rc = fg_zone_add_record(z, recs[i], err, sizeof(err));
		if (rc)
			fail_msg("record '%s': %s", recs[i], err);
	}
	/* big TXT RRset: does not fit 512 octets */
	for (int i = 0; i < 12; i++) {
		char t[128];
		snprintf(t, sizeof(t), "big TXT \"%02d-0123456789012345678901234567890123456789\"", i);
		assert_int_equal(fg_zone_add_record(z, t, err, sizeof(err)), 0);
	}
	/* referral whose in-domain glue cannot fit in 512 */
	for (int i = 0; i < 14; i++) {
		char t[128];
		snprintf(t, sizeof(t), "fat NS ns%02d.a-long-label-to-waste-space-xxxxxxxxxx.fat", i);
		assert_int_equal(fg_zone_add_record(z, t, err, sizeof(err)), 0);
		snprintf(t, sizeof(t), "ns%02d.a-long-label-to-waste-space-xxxxxxxxxx.fat AAAA 2001:db8::%d", i, i);
		assert_int_equal(fg_zone_add_record(z, t, err, sizeof(err)), 0);
	}
	assert_int_equal(fg_zone_add_service(z, "app.example.test", 7, err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_service(z, "app6", 8, err, sizeof(err)), 0);
	fg_soa_params_t soa2 = { "ns1.example.test.", "hostmaster.example.test.", 1, 2, 3, 4, 5000 };
	assert_int_equal(fg_zonedb_add_zone(db, "2.0.192.in-addr.arpa.", 600, &soa2, &rev,
					    err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_record(rev, "10 PTR www.example.test.", err, sizeof(err)), 0);
	assert_int_equal(fg_zone_add_record(rev, "@ NS ns1.example.test.", err, sizeof(err)), 0);
	assert_int_equal(fg_zonedb_set_nsid(db, (const uint8_t *)"ns-a.test", 9), 0);
	if (fg_zonedb_finalize(db, err, sizeof(err)))
		fail_msg("finalize: %s", err);
	/* frozen: the NSID can no longer change */
	assert_true(fg_zonedb_set_nsid(db, (const uint8_t *)"x", 1) < 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	fg_zonedb_free(db);
	return 0;
}

static uint8_t out[65536];
static fg_dns_query_t lastq;

static fg_dns_result_t ask(const char *name, uint16_t type, const qopt_t *o, bool tcp,
			   resp_t *r)
{
	uint8_t pkt[1024];
	size_t n = mkquery(pkt, name, type, o);
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, n, tcp, out, sizeof(out), &lastq, &res);
	if (res.kind == FG_ANSWER_READY) {
		if (decode(out, res.len, r))
			fail_msg("undecodable response for %s/%u", name, type);
		assert_int_equal(r->id, 0xABCD);
		assert_true(r->flags & F_QR);
		assert_int_equal(RCODE(r), res.rcode & 0xF);
	}
	return res;
}

static int find(const resp_t *r, unsigned from, unsigned to, uint16_t type, const char *data)
{
	for (unsigned i = from; i < to && i < r->nrr; i++)
		if (r->rr[i].type == type && (!data || strcmp(r->rr[i].data, data) == 0))
			return (int)i;
	return -1;
}

#define IN_AN(r, t, d) (find((r), 0, (r)->an, (t), (d)) >= 0)
#define IN_NS(r, t, d) (find((r), (r)->an, (r)->an + (r)->ns, (t), (d)) >= 0)
#define IN_AR(r, t, d) (find((r), (r)->an + (r)->ns, (r)->nrr, (t), (d)) >= 0)

/* ---- tests ------------------------------------------------------------ */

static void test_a_case_preserved(void **state)
{
	(void)state;
	resp_t r;
	fg_dns_result_t res = ask("wWw.ExAmPlE.tEsT", 1, NULL, false, &r);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.flags & F_AA);
	assert_true(r.flags & F_RD);
	assert_false(r.flags & F_TC);
	assert_string_equal(r.qname, "wWw.ExAmPlE.tEsT.");
	assert_int_equal(r.an, 2);
	assert_int_equal(r.ns, 0);
	assert_string_equal(r.rr[0].owner, "wWw.ExAmPlE.tEsT.");
	assert_string_equal(r.rr[1].owner, "wWw.ExAmPlE.tEsT.");
	assert_string_equal(r.rr[0].data, "192.0.2.10");
	assert_string_equal(r.rr[1].data, "192.0.2.11");
	assert_int_equal(r.rr[0].ttl, 60);
	assert_false(r.has_opt);
	/* owner written as a pointer to the question: 12+18+4 + 2x(2+10+4) */
	assert_int_equal(r.len, 12 + 18 + 4 + 2 * 16);
}

static void test_every_type(void **state)
{
	(void)state;
	resp_t r;
	ask("www.example.test", 28, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_string_equal(r.rr[0].data, "2001:db8::10");
	assert_int_equal(r.rr[0].ttl, 3600);

	ask("example.test", 2, NULL, false, &r);
	assert_int_equal(r.an, 2);
	assert_true(IN_AN(&r, 2, "ns1.example.test."));
	assert_true(IN_AN(&r, 2, "ns2.example.test."));
	assert_true(IN_AR(&r, 1, "192.0.2.1"));
	assert_true(IN_AR(&r, 28, "2001:db8::1"));
	assert_true(IN_AR(&r, 1, "192.0.2.2"));
	assert_int_equal(r.ar, 3);

	ask("example.test", 6, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_string_equal(r.rr[0].data,
			    "ns1.example.test. hostmaster.example.test. 2024010101 7200 900 1209600 300");
	assert_int_equal(r.rr[0].ttl, 3600);

	ask("example.test", 15, NULL, false, &r);
	assert_int_equal(r.an, 2);
	assert_true(IN_AN(&r, 15, "10 mail.example.test."));
	assert_true(IN_AN(&r, 15, "20 mail.example.test."));
	assert_int_equal(r.ar, 1);      /* the same target once */
	assert_true(IN_AR(&r, 1, "192.0.2.3"));

	ask("example.test", 16, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_string_equal(r.rr[0].data, "\"v=spf1 -all\" \"say \"hi\" A\"");

	ask("_sip._udp.example.test", 33, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_string_equal(r.rr[0].data, "10 5 5060 sip.example.test.");
	assert_true(IN_AR(&r, 1, "192.0.2.20"));

	ask("ptr.example.test", 12, NULL, false, &r);
	assert_string_equal(r.rr[0].data, "www.example.test.");
	ask("10.2.0.192.in-addr.arpa", 12, NULL, false, &r);
	assert_true(r.flags & F_AA);
	assert_string_equal(r.rr[0].data, "www.example.test.");
	assert_int_equal(r.rr[0].ttl, 600);

	ask("alias.example.test", 5, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.rr[0].type, 5);
	assert_string_equal(r.rr[0].data, "www.example.test.");
}

static void test_srv_target_not_compressed(void **state)
{
	(void)state;
	uint8_t pkt[512];
	size_t n = mkquery(pkt, "_sip._udp.example.test", 33, NULL);
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	/* answer RR starts right after the question */
	size_t a = 12 + n - 12;
	assert_int_equal(out[a], 0xC0);                 /* owner: pointer */
	uint16_t rdlen = (uint16_t)((out[a + 10] << 8) | out[a + 11]);
	assert_int_equal(rdlen, 6 + 18);                /* sip.example.test in full */
	assert_memory_equal(out + a + 12 + 6, "\003sip\007example\004test\0", 18);
}

static void test_nodata_nxdomain_ent(void **state)
{
	(void)state;
	resp_t r;
	/* NODATA: SOA in authority with TTL min(3600, 300) */
	ask("www.example.test", 15, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	assert_int_equal(r.rr[0].type, 6);
	assert_string_equal(r.rr[0].owner, "example.test.");
	assert_int_equal(r.rr[0].ttl, 300);

	ask("NoSuch.Example.Test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 3);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	assert_string_equal(r.rr[0].owner, "example.test.");    /* zone case, like Knot */

	/* empty non-terminals b.c and c: NODATA, not NXDOMAIN */
	ask("b.c.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	ask("c.example.test", 16, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	ask("x.c.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 3);
	ask("a.b.c.example.test", 1, NULL, false, &r);
	assert_int_equal(r.an, 1);

	/* SOA minimum above the SOA TTL: the TTL wins */
	ask("nx.2.0.192.in-addr.arpa", 12, NULL, false, &r);
	assert_int_equal(RCODE(&r), 3);
	assert_int_equal(r.rr[0].ttl, 600);
}

static void test_refused_and_class(void **state)
{
	(void)state;
	resp_t r;
	fg_dns_result_t res = ask("www.other.invalid", 1, NULL, false, &r);
	assert_int_equal(res.rcode, 5);
	assert_false(r.flags & F_AA);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an + r.ns + r.ar, 0);
	ask("test", 6, NULL, false, &r);        /* parent of our zone */
	assert_int_equal(RCODE(&r), 5);

	qopt_t ch = { .qclass = 3 };
	res = ask("www.example.test", 16, &ch, false, &r);
	assert_int_equal(res.rcode, 5);
	assert_false(r.flags & F_AA);
	qopt_t any = { .qclass = 255 };
	ask("www.example.test", 1, &any, false, &r);
	assert_int_equal(RCODE(&r), 5);
}

static void test_axfr_ixfr_meta(void **state)
{
	(void)state;
	resp_t r;
	assert_int_equal(ask("example.test", 252, NULL, false, &r).rcode, 4);
	assert_int_equal(ask("example.test", 252, NULL, true, &r).rcode, 5);
	assert_int_equal(ask("example.test", 251, NULL, false, &r).rcode, 4);
	assert_int_equal(ask("example.test", 251, NULL, true, &r).rcode, 5);
	assert_int_equal(r.qd, 1);
	/* unknown and meta types are just NODATA (as Knot does) */
	static const uint16_t odd[] = { 99, 41, 249, 250, 253, 254, 65535 };
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		fg_dns_result_t res = ask("www.example.test", odd[i], NULL, false, &r);
		assert_int_equal(res.rcode, 0);
		assert_true(r.flags & F_AA);
		assert_int_equal(r.an, 0);
		assert_int_equal(r.ns, 1);
	}
}

static void test_opcodes(void **state)
{
	(void)state;
	resp_t r;
	for (uint16_t op = 1; op < 16; op++) {
		qopt_t o = { .flags = (uint16_t)(op << 11 | F_CD) };   /* RD too */
		fg_dns_result_t res = ask("www.example.test", 1, &o, false, &r);
		assert_int_equal(res.kind, FG_ANSWER_READY);
		assert_int_equal(res.rcode, 4);
		assert_int_equal((r.flags >> 11) & 0xF, op);    /* opcode echoed */
		assert_int_equal(r.an, 0);
		/* RD and CD mean something for QUERY only (ISC genreport
		 * opcodeflg): not copied into the NOTIMP */
		assert_false(r.flags & F_RD);
		assert_false(r.flags & F_CD);
	}
	/* QUERY still copies both */
	qopt_t o = { .flags = F_CD };
	ask("www.example.test", 1, &o, false, &r);
	assert_true(r.flags & F_RD);
	assert_true(r.flags & F_CD);
}

/* ---- NSID (RFC 5001) and EXPIRE (RFC 7314) ------------------------------ */

/* A query with EDNS whose OPT RDATA is `opts` (raw TLVs). */
static size_t mkq_opts(uint8_t *b, const char *name, uint16_t type, uint16_t flags,
		       const void *opts, size_t optlen)
{
	size_t n = 0;
	b[n++] = 0xAB; b[n++] = 0xCD;
	b[n++] = (uint8_t)(flags >> 8); b[n++] = (uint8_t)flags;
	b[n++] = 0; b[n++] = 1; b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0;
	b[n++] = 0; b[n++] = 1;
	n += put_name(b + n, name);
	b[n++] = (uint8_t)(type >> 8); b[n++] = (uint8_t)type;
	b[n++] = 0; b[n++] = 1;
	b[n++] = 0; b[n++] = 0; b[n++] = 41; b[n++] = 0x04; b[n++] = 0xd0;
	b[n++] = 0; b[n++] = 0; b[n++] = 0; b[n++] = 0;
	b[n++] = (uint8_t)(optlen >> 8); b[n++] = (uint8_t)optlen;
	memcpy(b + n, opts, optlen);
	return n + optlen;
}

/* The option `code` in the response's OPT: its data and length, or NULL.
 * Fails the test if the option appears twice. */
static const uint8_t *resp_opt(const uint8_t *p, size_t len, uint16_t code, uint16_t *olen)
{
	resp_t r;
	char nm[1024];
	const uint8_t *found = NULL;
	assert_int_equal(decode(p, len, &r), 0);
	size_t pos = 12;
	if (r.qd)
		assert_int_equal(dname(p, len, &pos, nm, &r), 0), pos += 4;
	for (unsigned i = 0; i < (unsigned)r.an + r.ns + r.ar; i++) {
		assert_int_equal(dname(p, len, &pos, nm, &r), 0);
		uint16_t type = g16(p + pos), rdlen = g16(p + pos + 8);
		pos += 10;
		if (type == 41)
			for (size_t o = pos; o < pos + rdlen; o += 4u + g16(p + o + 2))
				if (g16(p + o) == code) {
					assert_null(found);
					found = p + o + 4;
					*olen = g16(p + o + 2);
				}
		pos += rdlen;
	}
	return found;
}

static fg_dns_result_t ask_opts(const char *name, uint16_t type, const void *opts,
				size_t optlen, bool tcp)
{
	uint8_t pkt[1024];
	size_t n = mkq_opts(pkt, name, type, 0x0100, opts, optlen);
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, n, tcp, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	return res;
}

static void test_nsid(void **state)
{
	(void)state;
	uint16_t l;
	const uint8_t *d;
	fg_dns_result_t res;

	/* asked with an empty NSID: given, on answers and errors alike */
	const char *names[] = { "www.example.test", "nope.example.test", "other.invalid",
				"big.example.test" };
	for (size_t i = 0; i < 4; i++) {
		res = ask_opts(names[i], i == 3 ? 16 : 1, "\000\003\000\000", 4, false);
		d = resp_opt(out, res.len, 3, &l);
		assert_non_null(d);
		assert_int_equal(l, 9);
		assert_memory_equal(d, "ns-a.test", 9);
	}
	assert_int_equal(res.rcode, 0);
	/* not asked: not given */
	res = ask_opts("www.example.test", 1, "", 0, false);
	assert_null(resp_opt(out, res.len, 3, &l));
	res = ask_opts("www.example.test", 1, "\000\012\000\010" "12345678", 12, false);
	assert_null(resp_opt(out, res.len, 3, &l));
	/* a payload in the query is ignored (RFC 5001 2.2): still answered */
	res = ask_opts("www.example.test", 1, "\000\003\000\002xy", 6, false);
	d = resp_opt(out, res.len, 3, &l);
	assert_non_null(d);
	assert_int_equal(l, 9);
	/* twice: answered once */
	res = ask_opts("www.example.test", 1, "\000\003\000\000\000\003\000\000", 8, true);
	assert_non_null(resp_opt(out, res.len, 3, &l));
	/* with ECS: both options */
	res = ask_opts("www.example.test", 1, "\000\010\000\007\000\001\030\000\300\000\002" "\000\003\000\000",
		       15, false);
	assert_non_null(resp_opt(out, res.len, 3, &l));
	assert_non_null(resp_opt(out, res.len, 8, &l));
	/* a truncated NSID TLV is a broken OPT: FORMERR, no OPT echoed */
	res = ask_opts("www.example.test", 1, "\000\003\000\005" "ab", 6, false);
	assert_int_equal(res.rcode, 1);
	/* an EDNS version we do not speak: BADVERS, options unread */
	uint8_t pkt[256];
	size_t n = mkq_opts(pkt, "www.example.test", 1, 0x0100, "\000\003\000\000", 4);
	pkt[n - 4 - 2 - 3] = 1;                 /* OPT TTL: version 1 */
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.rcode, 16);
	assert_null(resp_opt(out, res.len, 3, &l));
}

static void test_nsid_service(void **state)
{
	(void)state;
	uint8_t pkt[256];
	uint16_t l;
	fg_dns_query_t q;
	fg_dns_result_t res;
	static const uint8_t a4[4] = { 198, 51, 100, 7 };

	/* the granted answer and the SERVFAIL of a failed grant carry it */
	size_t n = mkq_opts(pkt, "app.example.test", 1, 0x0100, "\000\003\000\000", 4);
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	fg_dns_answer_service(db, &q, false, a4, 5, 0, out, sizeof(out), &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_non_null(resp_opt(out, res.len, 3, &l));
	fg_dns_answer_service(db, &q, false, NULL, 5, 0, out, sizeof(out), &res);
	assert_int_equal(res.rcode, 2);
	assert_non_null(resp_opt(out, res.len, 3, &l));
}

static void test_nsid_off(void **state)
{
	(void)state;
	char err[256];
	uint8_t pkt[256];
	uint16_t l;
	fg_zone_t *z;
	fg_dns_result_t res;
	fg_soa_params_t soa = { "ns1", "hostmaster", 1, 2, 3, 4, 5 };
	fg_zonedb_t *d2 = fg_zonedb_new();

	assert_non_null(d2);
	assert_int_equal(fg_zonedb_add_zone(d2, "example.test", 60, &soa, &z, err, sizeof(err)), 0);
	uint8_t big[129];
	memset(big, 'x', sizeof(big));
	assert_true(fg_zonedb_set_nsid(d2, big, 129) < 0);  /* over FG_DNS_NSID_MAX */
	assert_int_equal(fg_zonedb_set_nsid(d2, big, 128), 0);
	assert_int_equal(fg_zonedb_set_nsid(d2, NULL, 0), 0);      /* off again */
	assert_int_equal(fg_zonedb_finalize(d2, err, sizeof(err)), 0);
	size_t n = mkq_opts(pkt, "example.test", 6, 0x0100, "\000\003\000\000", 4);
	fg_dns_answer(d2, pkt, n, false, out, sizeof(out), NULL, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_null(resp_opt(out, res.len, 3, &l));
	fg_zonedb_free(d2);
}

static void test_expire(void **state)
{
	(void)state;
	uint16_t l;
	const uint8_t *d;
	fg_dns_result_t res;

	/* the apex SOA: our SOA expire (1209600 = 0x00127500) */
	res = ask_opts("example.test", 6, "\000\011\000\000", 4, false);
	d = resp_opt(out, res.len, 9, &l);
	assert_non_null(d);
	assert_int_equal(l, 4);
	assert_memory_equal(d, "\000\022u\000", 4);
	res = ask_opts("EXAMPLE.test", 6, "\000\011\000\000\000\003\000\000", 8, true);
	d = resp_opt(out, res.len, 9, &l);
	assert_non_null(d);
	assert_memory_equal(d, "\000\022u\000", 4);
	assert_non_null(resp_opt(out, res.len, 3, &l));
	/* each zone its own */
	res = ask_opts("2.0.192.in-addr.arpa", 6, "\000\011\000\000", 4, false);
	d = resp_opt(out, res.len, 9, &l);
	assert_non_null(d);
	assert_memory_equal(d, "\000\000\000\004", 4);
	/* not asked; not an SOA answer: none */
	res = ask_opts("example.test", 6, "", 0, false);
	assert_null(resp_opt(out, res.len, 9, &l));
	const struct { const char *name; uint16_t type; } no[] = {
		{ "example.test", 1 },          /* NODATA with the SOA in authority */
		{ "example.test", 2 },
		{ "www.example.test", 6 },      /* below the apex */
		{ "nope.example.test", 6 },
		{ "example.test", 255 },        /* ANY */
		{ "example.test", 252 },        /* AXFR: not offered */
		{ "other.invalid", 6 },
	};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		res = ask_opts(no[i].name, no[i].type, "\000\011\000\000", 4, false);
		if (resp_opt(out, res.len, 9, &l))
			fail_msg("EXPIRE in the answer to %s/%u", no[i].name, no[i].type);
	}
	/* a payload in the query's EXPIRE is ignored */
	res = ask_opts("example.test", 6, "\000\011\000\004\000\000\000\001", 8, false);
	d = resp_opt(out, res.len, 9, &l);
	assert_non_null(d);
	assert_memory_equal(d, "\000\022u\000", 4);
}

static void test_any(void **state)
{
	(void)state;
	resp_t r;
	ask("example.test", 255, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 2);                      /* one RRset: NS */
	assert_int_equal(r.rr[0].type, 2);
	assert_int_equal(r.rr[1].type, 2);
	ask("example.test", 255, NULL, true, &r);
	assert_int_equal(r.an, 2 + 1 + 2 + 1);          /* NS SOA MX TXT */
	assert_true(IN_AN(&r, 6, NULL));
	assert_true(IN_AN(&r, 16, NULL));
	ask("b.c.example.test", 255, NULL, true, &r);   /* ENT */
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	ask("alias.example.test", 255, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.rr[0].type, 5);
}

static void test_cname(void **state)
{
	(void)state;
	resp_t r;
	ask("ALIAS.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.an, 3);
	assert_string_equal(r.rr[0].owner, "ALIAS.example.test.");
	assert_int_equal(r.rr[0].type, 5);
	assert_string_equal(r.rr[1].owner, "www.example.test.");
	assert_string_equal(r.rr[1].data, "192.0.2.10");

	ask("c1.example.test", 28, NULL, false, &r);
	assert_int_equal(r.an, 4);
	assert_string_equal(r.rr[2].owner, "c3.example.test.");
	assert_string_equal(r.rr[3].data, "2001:db8::10");

	/* loop: stops, NOERROR */
	fg_dns_result_t res = ask("loop1.example.test", 1, NULL, false, &r);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 2);

	/* leaves our zones: just the CNAME */
	ask("ext.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 0);

	/* to a missing name: NXDOMAIN (RFC 6604) with the CNAME */
	ask("dangling.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 3);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 1);
	assert_int_equal(r.rr[1].type, 6);

	/* to another of our zones */
	ask("torev.example.test", 12, NULL, false, &r);
	assert_int_equal(r.an, 2);
	assert_string_equal(r.rr[1].data, "www.example.test.");
	/* chain into NODATA in the other zone: its SOA */
	ask("torev.example.test", 1, NULL, false, &r);
	assert_int_equal(r.an, 1);
	assert_int_equal(r.ns, 1);
	assert_string_equal(r.rr[1].owner, "2.0.192.in-addr.arpa.");

	/* 8 CNAMEs are followed (k1..k8 -> k9 A), the 9th is not */
	ask("k1.example.test", 1, NULL, false, &r);
	assert_int_equal(r.an, 9);
	assert_int_equal(r.rr[8].type, 1);
	ask("l1.example.test", 1, NULL, false, &r);
	assert_int_equal(r.an, 8);
	for (unsigned i = 0; i < 8; i++)
		assert_int_equal(r.rr[i].type, 5);
}

static void test_referral(void **state)
{
	(void)state;
	resp_t r;
	ask("host.deep.SUB.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_false(r.flags & F_AA);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 2);
	/* names keep the zone's case (compression is case-sensitive) */
	assert_string_equal(r.rr[0].owner, "sub.example.test.");
	assert_true(IN_NS(&r, 2, "ns.sub.example.test."));
	assert_true(IN_NS(&r, 2, "ns.outside.invalid."));
	assert_int_equal(r.ar, 1);
	assert_true(IN_AR(&r, 1, "192.0.2.53"));
	/* at the cut itself, even for A (occluded data is not served) */
	ask("sub.example.test", 1, NULL, false, &r);
	assert_false(r.flags & F_AA);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 2);
	/* DS at the cut is the parent's: NODATA, authoritative */
	ask("sub.example.test", 43, NULL, false, &r);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.ns, 1);
	assert_int_equal(r.rr[0].type, 6);
	/* glue that cannot fit in 512: TC */
	ask("x.fat.example.test", 1, NULL, false, &r);
	assert_true(r.flags & F_TC);
	assert_int_equal(r.an + r.ns + r.ar, 0);
	ask("x.fat.example.test", 1, NULL, true, &r);
	assert_false(r.flags & F_TC);
	assert_int_equal(r.ns, 14);
	assert_int_equal(r.ar, 14);
}

static void test_wildcard(void **state)
{
	(void)state;
	resp_t r;
	ask("Foo.wild.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.an, 1);
	assert_string_equal(r.rr[0].owner, "Foo.wild.example.test.");
	assert_string_equal(r.rr[0].data, "192.0.2.99");
	ask("a.b.wild.example.test", 16, NULL, false, &r);
	assert_string_equal(r.rr[0].data, "\"wild\"");
	ask("x.wild.example.test", 15, NULL, false, &r);       /* NODATA */
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	/* an existing name below the wildcard's parent is not covered */
	ask("wcn.wild.example.test", 1, NULL, false, &r);
	assert_int_equal(r.rr[0].type, 5);
	ask("x.wcn.wild.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 3);
	/* the wildcard's parent itself is an ENT */
	ask("wild.example.test", 1, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 0);
}

static void test_truncation(void **state)
{
	(void)state;
	resp_t r;
	qopt_t e = { .edns = true, .size = 4096 };
	qopt_t small = { .edns = true, .size = 100 };   /* treated as 512 */
	fg_dns_result_t res = ask("big.example.test", 16, NULL, false, &r);
	assert_true(res.len <= 512);
	assert_true(r.flags & F_TC);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.qd, 1);
	assert_int_equal(r.an + r.ns + r.ar, 0);
	assert_string_equal(r.qname, "big.example.test.");
	res = ask("big.example.test", 16, &small, false, &r);
	assert_true(r.flags & F_TC);
	assert_true(r.has_opt);         /* OPT kept */
	assert_int_equal(r.opt_size, 1232);
	res = ask("big.example.test", 16, &e, false, &r);
	assert_false(r.flags & F_TC);
	assert_int_equal(r.an, 12);
	assert_true(res.len > 512 && res.len <= 1232);
	res = ask("big.example.test", 16, NULL, true, &r);
	assert_false(r.flags & F_TC);
	assert_int_equal(r.an, 12);
	assert_false(r.has_opt);
	/* a small caller buffer limits TCP too */
	uint8_t pkt[128], small_out[200];
	size_t n = mkquery(pkt, "big.example.test", 16, NULL);
	fg_dns_answer(db, pkt, n, true, small_out, sizeof(small_out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_true(res.len <= sizeof(small_out));
	assert_int_equal(small_out[2] & 0x02, 0x02);
	/* too small even for the question: dropped */
	fg_dns_answer(db, pkt, n, true, small_out, 20, &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_DROP);
}

static void test_additional_dropped_not_tc(void **state)
{
	(void)state;
	/* the MX answer fits in 512 with its additional; verify additional
	 * is optional by checking the TC bit is never set for it */
	resp_t r;
	ask("example.test", 15, NULL, false, &r);
	assert_false(r.flags & F_TC);
}

static void test_edns(void **state)
{
	(void)state;
	resp_t r;
	qopt_t e = { .edns = true, .size = 4096, .do_bit = true };
	ask("www.example.test", 1, &e, false, &r);
	assert_true(r.has_opt);
	assert_int_equal(r.opt_size, 1232);
	assert_int_equal(r.opt_ttl, 0x8000);            /* DO echoed, version 0 */
	assert_int_equal(r.ar, 1);
	e.do_bit = false;
	ask("www.example.test", 1, &e, false, &r);
	assert_int_equal(r.opt_ttl, 0);
	/* NXDOMAIN and REFUSED carry OPT too */
	ask("nx.example.test", 1, &e, false, &r);
	assert_true(r.has_opt);
	ask("nx.invalid", 1, &e, false, &r);
	assert_int_equal(RCODE(&r), 5);
	assert_true(r.has_opt);

	/* BADVERS: extended rcode 16 = 1 in the OPT TTL top octet, rcode 0 */
	qopt_t v1 = { .edns = true, .size = 1232, .version = 1, .do_bit = true };
	fg_dns_result_t res = ask("www.example.test", 1, &v1, false, &r);
	assert_int_equal(res.rcode, 16);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.has_opt);
	assert_int_equal(r.opt_ttl >> 24, 1);
	assert_int_equal((r.opt_ttl >> 16) & 0xFF, 0);
	assert_int_equal(r.an, 0);
}

static void test_ecs(void **state)
{
	(void)state;
	resp_t r;
	qopt_t e4 = { .edns = true, .size = 1232, .ecs = true, .fam = 1, .src = 24,
		      .addr = "198.51.100.0" };
	ask("www.example.test", 1, &e4, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.has_ecs);
	assert_int_equal(r.ecs_family, 1);
	assert_int_equal(r.ecs_src, 24);
	assert_int_equal(r.ecs_scope, 0);
	assert_memory_equal(r.ecs_addr, "\xc6\x33\x64", 3);
	qopt_t e6 = { .edns = true, .size = 1232, .ecs = true, .fam = 2, .src = 56,
		      .addr = "2001:db8:1234:5600::" };
	ask("www.example.test", 28, &e6, false, &r);
	assert_true(r.has_ecs);
	assert_int_equal(r.ecs_family, 2);
	assert_int_equal(r.ecs_src, 56);
	assert_memory_equal(r.ecs_addr, "\x20\x01\x0d\xb8\x12\x34\x56", 7);
	/* nonzero bits past the prefix: FORMERR, OPT without ECS */
	qopt_t bad = { .edns = true, .size = 1232, .ecs = true, .fam = 1, .src = 20,
		       .addr = "198.51.100.0" };       /* 0x64 has bits past /20 */
	fg_dns_result_t res = ask("www.example.test", 1, &bad, false, &r);
	assert_int_equal(res.rcode, 1);
	assert_true(r.has_opt);
	assert_false(r.has_ecs);
	qopt_t badfam = { .edns = true, .size = 1232, .ecs = true, .fam = 3, .src = 8,
			  .addr = "0.0.0.0" };
	assert_int_equal(ask("www.example.test", 1, &badfam, false, &r).rcode, 1);
	qopt_t badpfx = { .edns = true, .size = 1232, .ecs = true, .fam = 1, .src = 33,
			  .addr = "0.0.0.0" };
	assert_int_equal(ask("www.example.test", 1, &badpfx, false, &r).rcode, 1);
	qopt_t zero = { .edns = true, .size = 1232, .ecs = true, .fam = 1, .src = 0,
			.addr = "0.0.0.0" };
	ask("www.example.test", 1, &zero, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_true(r.has_ecs);
	assert_int_equal(r.ecs_src, 0);
}

static void test_service(void **state)
{
	(void)state;
	resp_t r;
	uint8_t pkt[512];
	qopt_t e = { .edns = true, .size = 1232, .ecs = true, .fam = 1, .src = 24,
		     .addr = "203.0.113.0" };
	size_t n = mkquery(pkt, "App.Example.Test", 1, &e);
	fg_dns_query_t q;
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 7);
	assert_int_equal(res.qtype, 1);
	assert_int_equal(res.len, 0);

	const uint8_t a4[4] = { 100, 64, 0, 9 };
	fg_dns_answer_service(db, &q, false, a4, 5, 24, out, sizeof(out), &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_int_equal(res.rcode, 0);
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_true(r.flags & F_AA);
	assert_int_equal(r.an, 1);
	assert_string_equal(r.rr[0].owner, "App.Example.Test.");
	assert_string_equal(r.rr[0].data, "100.64.0.9");
	assert_int_equal(r.rr[0].ttl, 5);
	assert_true(r.has_ecs);
	assert_int_equal(r.ecs_scope, 24);

	/* grant failed: SERVFAIL, no address */
	fg_dns_answer_service(db, &q, false, NULL, 5, 0, out, sizeof(out), &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_int_equal(res.rcode, 2);
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_int_equal(RCODE(&r), 2);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.qd, 1);
	assert_true(r.has_opt);

	/* AAAA */
	n = mkquery(pkt, "app6.example.test", 28, NULL);
	fg_dns_answer(db, pkt, n, true, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 8);
	assert_int_equal(res.qtype, 28);
	uint8_t a6[16] = { 0xfd, 0, [15] = 1 };
	fg_dns_answer_service(db, &q, true, a6, 30, 0, out, sizeof(out), &res);
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_string_equal(r.rr[0].data, "fd00::1");
	assert_false(r.has_opt);

	/* other types at a service name: static data or NODATA */
	ask("app.example.test", 16, NULL, false, &r);
	assert_string_equal(r.rr[0].data, "\"service\"");
	ask("app.example.test", 15, NULL, false, &r);
	assert_int_equal(RCODE(&r), 0);
	assert_int_equal(r.an, 0);
	assert_int_equal(r.ns, 1);
	assert_int_equal(r.rr[0].type, 6);

	/* through a CNAME: the chain is rebuilt, the A is owned by the target */
	n = mkquery(pkt, "svc-alias.example.test", 1, NULL);
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &q, &res);
	assert_int_equal(res.kind, FG_ANSWER_SERVICE);
	assert_int_equal(res.service_id, 7);
	fg_dns_answer_service(db, &q, false, a4, 5, 0, out, sizeof(out), &res);
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_int_equal(r.an, 2);
	assert_int_equal(r.rr[0].type, 5);
	assert_string_equal(r.rr[1].owner, "app.example.test.");
	assert_string_equal(r.rr[1].data, "100.64.0.9");
}

static void test_compression(void **state)
{
	(void)state;
	resp_t r;
	/* NS answer: every name after the question must be compressed */
	ask("example.test", 2, NULL, false, &r);
	/* owners of 2 NS + 3 additional are pointers; rdata names end in
	 * pointers: at least 2 + 2 + 3 pointers */
	assert_true(r.nptr >= 7);
	size_t full = 12 + 14 + 4;      /* header + question */
	full += 2 * (2 + 10 + 18) + 2 * (2 + 10 + 4) + (2 + 10 + 16);
	assert_true(r.len <= full);
	/* SOA rdata in a NODATA compresses against the question */
	ask("www.example.test", 15, NULL, false, &r);
	assert_int_equal(r.len, 12 + 18 + 4 + (2 + 10 + (4 + 2) + (11 + 2) + 20));
}

static void test_malformed_via_answer(void **state)
{
	(void)state;
	fg_dns_result_t res;
	uint8_t pkt[64] = { 0xAB, 0xCD, 0x01, 0x00, 0, 2, 0, 0, 0, 0, 0, 0, 0 };
	fg_dns_answer(db, pkt, 11, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_DROP);
	fg_dns_answer(db, pkt, 12, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_READY);
	assert_int_equal(res.rcode, 1);
	resp_t r;
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_int_equal(r.qd, 0);
	assert_int_equal(r.id, 0xABCD);
	assert_true(r.flags & F_RD);
	/* QR set: dropped */
	pkt[2] = 0x81;
	fg_dns_answer(db, pkt, 12, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.kind, FG_ANSWER_DROP);
	/* trailing garbage */
	size_t n = mkquery(pkt, "www.example.test", 1, NULL);
	pkt[n++] = 0;
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.rcode, 1);
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_int_equal(r.qd, 1);      /* question echoed */
	assert_int_equal(r.an, 0);
	/* a query struct without question (failed parse): nothing to answer */
	n = mkquery(pkt, "www.example.test", 1, NULL);
	pkt[5] = 2;     /* QDCOUNT 2 */
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(res.rcode, 1);
	fg_dns_answer_service(db, &lastq, false, NULL, 1, 0, out, sizeof(out), &res);
	assert_int_equal(res.kind, FG_ANSWER_DROP);
	/* a non-service query with NULL addr: SERVFAIL all the same */
	n = mkquery(pkt, "www.example.test", 1, NULL);
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &lastq, &res);
	fg_dns_answer_service(db, &lastq, false, NULL, 1, 0, out, sizeof(out), &res);
	assert_int_equal(res.rcode, 2);
}

static void test_cd_rd_copied(void **state)
{
	(void)state;
	resp_t r;
	qopt_t o = { .flags = F_CD };
	ask("www.example.test", 1, &o, false, &r);
	assert_true(r.flags & F_CD);
	assert_true(r.flags & F_RD);
	uint8_t pkt[128];
	size_t n = mkquery(pkt, "www.example.test", 1, NULL);
	pkt[2] = 0;     /* RD off */
	fg_dns_result_t res;
	fg_dns_answer(db, pkt, n, false, out, sizeof(out), &lastq, &res);
	assert_int_equal(decode(out, res.len, &r), 0);
	assert_false(r.flags & F_RD);
	assert_false(r.flags & 0x0080);         /* RA never */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_a_case_preserved),
		cmocka_unit_test(test_every_type),
		cmocka_unit_test(test_srv_target_not_compressed),
		cmocka_unit_test(test_nodata_nxdomain_ent),
		cmocka_unit_test(test_refused_and_class),
		cmocka_unit_test(test_axfr_ixfr_meta),
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_nsid),
		cmocka_unit_test(test_nsid_service),
		cmocka_unit_test(test_nsid_off),
		cmocka_unit_test(test_expire),
		cmocka_unit_test(test_any),
		cmocka_unit_test(test_cname),
		cmocka_unit_test(test_referral),
		cmocka_unit_test(test_wildcard),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_additional_dropped_not_tc),
		cmocka_unit_test(test_edns),
		cmocka_unit_test(test_ecs),
		cmocka_unit_test(test_service),
		cmocka_unit_test(test_compression),
		cmocka_unit_test(test_malformed_via_answer),
		cmocka_unit_test(test_cd_rd_copied),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
